//! `passlink import pycs` and `passlink import virtuoso`: the command-line side of
//! [`crate::migrate`] (options, the database, the report).

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::migrate::{self, MigrateError, Options, Report, pycs, virtuoso};
use crate::serve::{self, AppError};

/// Opens (creating and migrating if need be) the configured database, as every writing
/// command does.
pub type Open<'a> = dyn Fn() -> Result<rusqlite::Connection, AppError> + 'a;

/// What both importers take.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// Read and check everything and print the report; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Replace passlink accounts and files that differ from the export (by default they are
    /// reported and left alone).
    #[arg(long)]
    pub overwrite: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Threads hashing passwords (default: one per core). Fewer leave cores to a running
    /// server.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
}

impl From<MigrateError> for AppError {
    fn from(e: MigrateError) -> Self {
        match e {
            MigrateError::Db(e) => AppError::Db(e.into()),
            MigrateError::Io { what, error } => AppError::Io { what, error },
            MigrateError::Data(what) | MigrateError::Hash(what) => AppError::Invalid(what),
        }
    }
}

/// `import pycs`.
pub fn pycs(
    config: &Config,
    open: &Open<'_>,
    users: &Path,
    www: &Path,
    conf: Option<&Path>,
    common: &Common,
) -> Result<(), AppError> {
    let conf = match conf {
        Some(path) => pycs::read_conf(path)?,
        None => pycs::Conf::default(),
    };
    check_folder(www, "--www")?;
    let total = migrate::count_records(users)?;
    let mut warnings = Vec::new();
    if let Some(old) = &conf.serverurl {
        let old = old.trim_end_matches('/');
        let new = files_url(config);
        if old != new {
            warnings.push(format!(
                "PyCS published its files under {old}/users/…; passlink's are under {new}/users/…. \
                 Keep the old links working by serving passlink at {old} (set \
                 [server] public_url = \"{old}\") or by redirecting that host to it"
            ));
        }
    }
    let outcome = with_database(config, open, common, "PyCS", total, None, |tx| {
        pycs::read(users, www, &conf, tx)
    })?;
    finish(outcome, warnings, common)
}

/// `import virtuoso`.
#[allow(clippy::too_many_arguments)]
pub fn virtuoso(
    config: &Config,
    open: &Open<'_>,
    users: &Path,
    files: &Path,
    force_reset: bool,
    link_ttl: &str,
    mails_per_minute: u32,
    common: &Common,
) -> Result<(), AppError> {
    check_folder(files, "--files")?;
    let total = migrate::count_records(users)?;
    let mailing: Option<Box<dyn migrate::Mailing>> = if force_reset {
        if !config.smtp.enabled {
            return Err(AppError::Invalid(
                "--force-reset mails every user a link, but mail is turned off ([smtp] in the \
                 config): set up [smtp] first (check it with `passlink mail test ADDRESS`)"
                    .into(),
            ));
        }
        let mails = crate::reset::load_mails(config).map_err(AppError::Invalid)?;
        let ttl_secs = parse_ttl(link_ttl).ok_or_else(|| {
            AppError::Invalid(format!(
                "--link-ttl {link_ttl:?} is not a duration such as 7d, 48h, 90m or 3600s"
            ))
        })?;
        Some(Box::new(virtuoso::MovedMail {
            mails,
            site: crate::reset::site(config, &reset_url(config)),
            ttl_secs,
            per_minute: mails_per_minute,
        }))
    } else {
        None
    };
    let outcome = with_database(config, open, common, "Virtuoso", total, mailing, |tx| {
        virtuoso::read(users, files, force_reset, tx)
    })?;
    finish(outcome, Vec::new(), common)
}

/// `7d`, `48h`, `90m`, `3600s` or plain seconds. Also `reset-link --ttl`'s reader
/// (`cli/links.rs`), so that both options take the same durations.
pub(crate) fn parse_ttl(text: &str) -> Option<i64> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let n: i64 = digits.parse().ok().filter(|n| *n > 0)?;
    let unit = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    n.checked_mul(unit)
}

fn check_folder(path: &Path, option: &str) -> Result<(), AppError> {
    if path.is_dir() {
        Ok(())
    } else {
        Err(AppError::NotFound(format!(
            "{option} {}: no such folder",
            path.display()
        )))
    }
}

fn files_url(config: &Config) -> String {
    config.configured_urls().files
}

/// The base of reset links as a command (not the running server) can know it: from
/// `public_url` or the configured listeners. Also used by `reset-link` (`cli/links.rs`).
pub(crate) fn reset_url(config: &Config) -> String {
    config.configured_urls().reset
}

/// Runs an import against the configured database: for a dry run, read as it is (never
/// created or migrated), or, before passlink ever started, an empty one made for the run in a
/// private folder and removed after it. Returns the report (of what was done even when the run
/// failed) and the failure.
fn with_database(
    config: &Config,
    open: &Open<'_>,
    common: &Common,
    source: &'static str,
    total: u64,
    mailing: Option<Box<dyn migrate::Mailing>>,
    read: impl FnOnce(&std::sync::mpsc::SyncSender<migrate::Read>) -> Result<(), MigrateError> + Send,
) -> Result<(Report, Result<(), AppError>), AppError> {
    let timeout = serve::busy_timeout(config);
    let configured = config.storage.database_path();
    let scratch = if common.dry_run && !configured.exists() {
        Some(ScratchDir::new()?)
    } else {
        None
    };
    let path = scratch
        .as_ref()
        .map_or(configured, |dir| dir.0.join("dry-run.sqlite3"));
    let mut conn = match &scratch {
        Some(_) => {
            let mut conn = crate::db::open_or_create(&path, timeout)?;
            crate::db::migrate(&mut conn)?;
            conn
        }
        None if common.dry_run => {
            let conn = crate::db::open_existing(&path, timeout)?;
            let (found, latest) = (
                crate::db::schema_version(&conn)?,
                crate::db::latest_version(),
            );
            if found != latest {
                return Err(AppError::Invalid(format!(
                    "{}: schema version {found}, this passlink's is {latest}: a dry run changes \
                     nothing, so run `passlink db migrate` first (or start the service once)",
                    path.display()
                )));
            }
            conn
        }
        None => open()?,
    };
    // The server's own cap on the database's size holds for the import too.
    crate::db::limit_size(
        &conn,
        config.storage.max_db_bytes.map(std::num::NonZeroU64::get),
    )?;
    let options = Options {
        dry_run: common.dry_run,
        overwrite: common.overwrite,
        jobs: common.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        }),
        max_bytes_per_user: config.xmlstorage.max_bytes_per_user.get(),
        busy_timeout: timeout,
        hash_cost: config.passwords.hash_cost(),
        mailing,
        progress: !common.json,
    };
    let (report, result) = migrate::run(&mut conn, &path, source, total, read, &options);
    drop(conn);
    drop(scratch);
    Ok((report, result.map_err(AppError::from)))
}

/// A folder only this user can enter, removed with what is in it when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Result<ScratchDir, AppError> {
        use std::os::unix::fs::DirBuilderExt;
        let path = std::env::temp_dir().join(format!(
            "passlink-dry-run-{}",
            crate::hex::hex(&rand::random::<[u8; 8]>())
        ));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|error| AppError::Io {
                what: format!("creating {}", path.display()),
                error,
            })?;
        Ok(ScratchDir(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Prints the report (also after a failure: it says what was done), then passes the failure
/// on.
fn finish(
    (mut report, result): (Report, Result<(), AppError>),
    warnings: Vec<String>,
    common: &Common,
) -> Result<(), AppError> {
    for warning in warnings {
        report.warnings.push(warning);
    }
    if common.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.render());
    }
    if result.is_err() {
        eprintln!(
            "the import stopped early; what it wrote is kept, and running it again carries on \
             from there"
        );
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_lifetimes() {
        assert_eq!(parse_ttl("7d"), Some(7 * 86_400));
        assert_eq!(parse_ttl("48h"), Some(48 * 3600));
        assert_eq!(parse_ttl("90m"), Some(5400));
        assert_eq!(parse_ttl("3600"), Some(3600));
        for bad in ["", "0d", "-1h", "7w", "d"] {
            assert_eq!(parse_ttl(bad), None, "{bad}");
        }
    }
}
