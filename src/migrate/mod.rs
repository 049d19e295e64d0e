//! Importers from the servers passlink replaces: PyCS ([`pycs`]) and OpenLink Virtuoso's ODS
//! weblog ([`virtuoso`]). Each reads the old server's export into [`SourceUser`]s; [`run`]
//! brings them over:
//!
//! - a reader thread streams the export's records;
//! - worker threads (one per core) look each user up and do the argon2 work (hashing a new
//!   password, or checking an imported one on a second run), outside any write transaction;
//! - this thread writes each user, their redirects and files in short transactions, so a
//!   running server's writes never wait long for the lock.
//!
//! Channels between them are bounded, and files are copied in pieces, so memory stays flat
//! however many users and files there are. Every write is idempotent: running an import again
//! finds what the last run wrote and changes nothing, and finishes what an interrupted run
//! left undone.

mod error;
pub mod pycs;
mod report;
mod table;
mod tree;
pub mod virtuoso;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::accounts::{self, ImportedUser};
use crate::audit;
use crate::clock;
use crate::credentials::Credentials;
use crate::files::{self, Existing, ImportedFile};
use crate::logins::Login;
use crate::redirects::{self, Added};
pub use error::MigrateError;
pub use report::Report;
use report::{Account, OverQuota, Redirect, Skipped};

/// Files written per transaction at most, and bytes: a batch takes milliseconds, well inside
/// any `busy_timeout` a server waits.
const BATCH_FILES: usize = 200;
const BATCH_BYTES: u64 = 8 * 1024 * 1024;
/// The largest file an import brings over. passlink reads a file whole to serve it, so a
/// larger one would cost the server that much memory per request; it is reported instead.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads an export's CSV once: the number of records, or every malformed record with its line
/// (then nothing is imported).
pub fn count_records(path: &Path) -> Result<u64, MigrateError> {
    table::Table::check(path)
}

/// What the importers remember of each email they have read, to find duplicates (case-blind,
/// as passlink's logins are): 16 bytes of its key's SHA-256, so a million users cost 16 MiB at
/// most, not their addresses.
pub(crate) fn email_digest(email: &str) -> [u8; 16] {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(accounts::email_key(email).as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// One account of the old server, as an importer read it.
#[derive(Debug, Clone, Default)]
pub struct SourceUser {
    /// Where it was read: `FILE:LINE`.
    pub at: String,
    /// The usernum to keep (PyCS); `None` gives the next free one (Virtuoso).
    pub usernum: Option<i64>,
    pub email: String,
    pub name: String,
    /// The MD5 hex the user's client sends as its password, lower case; `None` when the
    /// account comes over without a usable password (`no_password` says why).
    pub credential: Option<String>,
    pub no_password: Option<String>,
    pub disabled: bool,
    pub weblog_title: String,
    pub created_at: Option<i64>,
    /// Old folder paths that should lead to the user's files ([`crate::redirects`]).
    pub redirects: Vec<String>,
    /// The folder holding the user's files on the old server, if any.
    pub files: Option<PathBuf>,
    /// The old server's quota for the user, when it had one of its own.
    pub quota: Option<u64>,
}

/// A user left out before anything was looked up (a bad row, a duplicate).
#[derive(Debug, Clone)]
pub struct Refused {
    pub at: String,
    pub what: String,
    pub why: String,
}

/// What the reader thread hands on: a user to import, a row left out, or a warning.
pub enum Read {
    User(Box<SourceUser>),
    Refused(Refused),
    Warning(String),
}

/// How an import writes and what it may change.
pub struct Options {
    pub dry_run: bool,
    /// Replace existing accounts and files that differ from the export.
    pub overwrite: bool,
    /// Hashing threads.
    pub jobs: usize,
    /// `[xmlstorage] max_bytes_per_user`, to list users over it.
    pub max_bytes_per_user: u64,
    pub busy_timeout: Duration,
    /// The argon2id cost of the hashes it writes (`[passwords]`).
    pub hash_cost: crate::hash_cost::HashCost,
    /// Mail each newly imported user a link to set a password ([`Mailing`]).
    pub mailing: Option<Box<dyn Mailing>>,
    pub progress: bool,
}

/// Writes, in the transaction that creates an imported user, the mail that tells them to set a
/// password (`import virtuoso --force-reset`).
pub trait Mailing: Send + Sync {
    fn queue(
        &self,
        tx: &rusqlite::Transaction<'_>,
        user_id: i64,
        user: &SourceUser,
        index: u64,
        now: i64,
    ) -> rusqlite::Result<()>;
}

/// What a worker decided for one user.
enum Plan {
    New { hash: Option<String> },
    Unchanged { id: i64 },
    Overwrite { id: i64, hash: Option<String> },
    Conflict { why: String },
}

/// Imports the users `read` produces into the database at `db_path`. `conn` is a connection
/// to it for the writes; each worker opens its own for reads. The report comes back whatever
/// happens, so that a failed run still says what it did.
pub fn run(
    conn: &mut Connection,
    db_path: &Path,
    source: &'static str,
    total: u64,
    read: impl FnOnce(&SyncSender<Read>) -> Result<(), MigrateError> + Send,
    options: &Options,
) -> (Report, Result<(), MigrateError>) {
    let mut report = Report {
        source,
        dry_run: options.dry_run,
        ..Report::default()
    };
    let jobs = options.jobs.max(1);
    let credentials = Credentials::with_cost(jobs, jobs, Duration::ZERO, options.hash_cost);
    let (read_tx, read_rx) = sync_channel::<Read>(jobs * 4);
    let (plan_tx, plan_rx) = sync_channel::<Planned>(jobs * 4);
    // Shared by the workers. Taken out (and so dropped) when the writer stops early, so that
    // the reader's next send fails and it stops instead of waiting on a full channel forever.
    let read_rx = Mutex::new(Some(read_rx));
    let mut progress = Progress::new(options.progress, total);
    let mut failure: Option<MigrateError> = None;
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || read(&read_tx));
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                let plan_tx = plan_tx.clone();
                let (read_rx, credentials) = (&read_rx, &credentials);
                scope.spawn(move || work(read_rx, &plan_tx, credentials, db_path, options))
            })
            .collect();
        drop(plan_tx);
        for planned in plan_rx.iter() {
            let result = match planned {
                Planned::Side(side) => {
                    note_side(&mut report, side);
                    Ok(())
                }
                Planned::User(user, plan) => {
                    let result = plan.and_then(|plan| {
                        write_user(conn, &user, plan, options, &mut report, &mut progress)
                    });
                    progress.user_done(&report);
                    result
                }
            };
            if let Err(e) = result {
                failure = Some(e);
                break;
            }
        }
        // Stops the reader (its sends fail) and the workers (theirs too).
        drop(plan_rx);
        lock(&read_rx).take();
        for worker in workers {
            let result = worker
                .join()
                .unwrap_or_else(|_| Err(MigrateError::Data("a hashing thread panicked".into())));
            if let (Err(e), None) = (result, &failure) {
                failure = Some(e);
            }
        }
        let result = reader
            .join()
            .unwrap_or_else(|_| Err(MigrateError::Data("the export reader panicked".into())));
        if let (Err(e), None) = (result, &failure) {
            failure = Some(e);
        }
        progress.finish(&report);
    });
    if options.mailing.is_some() && report.users_unchanged > 0 {
        report.warnings.push(format!(
            "{} account(s) were already in passlink from an earlier import: their passwords \
             and links were left as they are (--force-reset acts on the accounts it creates)",
            report.users_unchanged
        ));
    }
    (report, failure.map_or(Ok(()), Err))
}

/// What a worker hands the writer, in one bounded channel.
enum Planned {
    User(Box<SourceUser>, Result<Plan, MigrateError>),
    /// A row refused or a warning from the reader, passed on in order.
    Side(Read),
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A worker: takes the reader's items one at a time and plans each user.
fn work(
    read_rx: &Mutex<Option<Receiver<Read>>>,
    plan_tx: &SyncSender<Planned>,
    credentials: &Credentials,
    db_path: &Path,
    options: &Options,
) -> Result<(), MigrateError> {
    let db = open_reader(db_path, options.busy_timeout)?;
    loop {
        let next = match lock(read_rx).as_ref() {
            Some(rx) => rx.recv(),
            None => return Ok(()),
        };
        let Ok(item) = next else {
            return Ok(());
        };
        let planned = match item {
            Read::User(user) => {
                let plan = plan(&db, credentials, &user, options);
                Planned::User(user, plan)
            }
            side => Planned::Side(side),
        };
        if plan_tx.send(planned).is_err() {
            return Ok(());
        }
    }
}

fn note_side(report: &mut Report, side: Read) {
    match side {
        Read::Refused(r) => {
            report.users_read += 1;
            report.users_skipped.push(Skipped {
                at: r.at,
                what: r.what,
                why: r.why,
            });
        }
        Read::Warning(w) => report.warnings.push(w),
        Read::User(_) => {}
    }
}

fn open_reader(path: &Path, busy_timeout: Duration) -> Result<Connection, MigrateError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    Ok(conn)
}

/// Decides what to do with one user: look them up and do the argon2 work the write will need.
fn plan(
    db: &Connection,
    credentials: &Credentials,
    user: &SourceUser,
    options: &Options,
) -> Result<Plan, MigrateError> {
    let by_email = accounts::find_by_email(db, &user.email)?;
    let by_num = match user.usernum {
        Some(n) => accounts::find(db, n)?,
        None => None,
    };
    let existing = match (user.usernum, by_num, by_email) {
        (_, None, None) => None,
        (Some(n), Some(a), _)
            if accounts::email_key(&a.email) != accounts::email_key(&user.email) =>
        {
            return Ok(Plan::Conflict {
                why: format!(
                    "usernum {} already belongs to {} in passlink",
                    accounts::format_usernum(n),
                    a.email
                ),
            });
        }
        (Some(n), None, Some(b)) => {
            return Ok(Plan::Conflict {
                why: format!(
                    "{} already has usernum {} in passlink, not {}",
                    user.email,
                    b.usernum(),
                    accounts::format_usernum(n)
                ),
            });
        }
        (None, _, Some(b)) => {
            // Without a usernum, only a redirect this importer made says the account is ours.
            let ours = user
                .redirects
                .iter()
                .any(|p| redirects::owner(db, p).ok().flatten() == Some(b.id));
            // Never taken over, not even with --overwrite: anyone could have registered the
            // address (Virtuoso published it in every URL) to catch the real user's files.
            if !ours {
                return Ok(Plan::Conflict {
                    why: format!(
                        "{} already has an account in passlink (usernum {}) that no import \
                         made; if it is not this user's, remove it (`passlink user remove {}`) \
                         and run the import again",
                        user.email,
                        b.usernum(),
                        b.usernum()
                    ),
                });
            }
            Some(b)
        }
        (Some(_), Some(a), _) => Some(a),
        (None, Some(_), None) => None,
    };
    let hash = |credential: Option<&str>| -> Result<Option<String>, MigrateError> {
        if options.dry_run {
            return Ok(None);
        }
        // No usable password: the hash of a random secret nobody has, so a login costs the
        // same argon2 work as any other and simply fails.
        let secret;
        let credential = match credential {
            Some(c) => c,
            None => {
                secret = crate::hex::hex(&rand::random::<[u8; 32]>());
                &secret
            }
        };
        credentials
            .hash(credential)
            .map(Some)
            .map_err(|e| MigrateError::Hash(e.to_string()))
    };
    let Some(existing) = existing else {
        return Ok(Plan::New {
            hash: hash(user.credential.as_deref())?,
        });
    };
    let mut differences = Vec::new();
    if existing.name != user.name {
        differences.push("name");
    }
    if existing.disabled != user.disabled {
        differences.push("disabled");
    }
    if let Some(credential) = &user.credential {
        let same = credentials
            .verify_uncached(credential, &existing.password_hash)
            .map_err(|e| MigrateError::Hash(e.to_string()))?;
        if !same {
            differences.push("password");
        }
    }
    if differences.is_empty() {
        return Ok(Plan::Unchanged { id: existing.id });
    }
    if options.overwrite {
        // Without a password in the export, the one in passlink stays (a user may have set it
        // through a mailed link since).
        let hash = match &user.credential {
            Some(credential) => hash(Some(credential))?,
            None => None,
        };
        return Ok(Plan::Overwrite {
            id: existing.id,
            hash,
        });
    }
    Ok(Plan::Conflict {
        why: format!(
            "usernum {} in passlink differs ({}); --overwrite replaces it",
            existing.usernum(),
            differences.join(", ")
        ),
    })
}

fn write_user(
    conn: &mut Connection,
    user: &SourceUser,
    plan: Plan,
    options: &Options,
    report: &mut Report,
    progress: &mut Progress,
) -> Result<(), MigrateError> {
    report.users_read += 1;
    // The n-th mail of the run goes out n / rate minutes after the first.
    let index = report.mails_queued;
    let now = clock::unix_now();
    let skip = |report: &mut Report, why: String| {
        report.users_skipped.push(Skipped {
            at: user.at.clone(),
            what: user.email.clone(),
            why,
        });
    };
    let mut redirects_added = None;
    let (id, new) = match plan {
        Plan::Conflict { why } => {
            skip(report, why);
            return Ok(());
        }
        Plan::Unchanged { id } => {
            report.users_unchanged += 1;
            (Some(id), false)
        }
        Plan::Overwrite { id, hash } => {
            report.users_overwritten += 1;
            if let Some(hash) = hash {
                crate::db::write(conn, |tx| {
                    accounts::overwrite_imported(tx, id, &imported(user, &hash, now))?;
                    let account = accounts::account_name(&user.email, id);
                    let entry =
                        audit::Entry::new(audit::Event::PasswordChanged, &account, audit::IMPORT)
                            .login(Login::XssUser(id))
                            .detail("by an import (--overwrite), with the profile");
                    audit::record(tx, &entry, now)
                })?;
            }
            (Some(id), false)
        }
        Plan::New { hash: None } => {
            // A dry run: nothing is written, so there is no usernum to show but the kept one.
            report.users_imported += 1;
            if options.mailing.is_some() {
                report.mails_queued += 1;
            }
            (user.usernum, true)
        }
        Plan::New { hash: Some(hash) } => {
            let mailing = options.mailing.as_deref();
            let imported_detail = match &user.no_password {
                None => "imported with the password it had".to_string(),
                Some(why) => format!("imported without a usable password: {why}"),
            };
            // The user, their redirects (by which a later run knows the account is the
            // import's) and their mail, in one transaction.
            let inserted = crate::db::write(
                conn,
                |tx| -> rusqlite::Result<Option<(i64, AddedRedirects)>> {
                    let id = match accounts::insert_imported(tx, &imported(user, &hash, now)) {
                        Ok(id) => id,
                        // Taken since the lookup (a registration on the running server).
                        Err(rusqlite::Error::SqliteFailure(e, _))
                            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                        {
                            return Ok(None);
                        }
                        Err(e) => return Err(e),
                    };
                    let account = accounts::account_name(&user.email, id);
                    let entry =
                        audit::Entry::new(audit::Event::Registered, &account, audit::IMPORT)
                            .login(Login::XssUser(id))
                            .detail(&imported_detail);
                    audit::record(tx, &entry, now)?;
                    let mut added = Vec::new();
                    for prefix in &user.redirects {
                        added.push((prefix.clone(), redirects::add(tx, prefix, id, now)?));
                    }
                    if let Some(mailing) = mailing {
                        mailing.queue(tx, id, user, index, now)?;
                    }
                    Ok(Some((id, added)))
                },
            )?;
            let Some((id, added)) = inserted else {
                skip(
                    report,
                    "its usernum or email was taken while the import ran".into(),
                );
                return Ok(());
            };
            report.users_imported += 1;
            if mailing.is_some() {
                report.mails_queued += 1;
            }
            redirects_added = Some(added);
            (Some(id), true)
        }
    };
    let usernum = id.map_or_else(|| "(new)".to_string(), accounts::format_usernum);
    if let Some(why) = &user.no_password
        && (new || options.overwrite)
    {
        report.without_password.push(Account {
            usernum: usernum.clone(),
            email: user.email.clone(),
            why: why.clone(),
        });
    }
    let added = match redirects_added {
        Some(added) => added,
        None => {
            let mut added = Vec::new();
            for prefix in &user.redirects {
                let outcome = match id {
                    Some(id) if !options.dry_run => {
                        crate::db::write(conn, |tx| redirects::add(tx, prefix, id, now))?
                    }
                    _ => match redirects::owner(conn, prefix)? {
                        None => Added::New,
                        Some(owner) if Some(owner) == id => Added::Unchanged,
                        Some(owner) => Added::Taken(owner),
                    },
                };
                added.push((prefix.clone(), outcome));
            }
            added
        }
    };
    for (prefix, added) in added {
        let to = format!("/users/{usernum}/");
        match added {
            Added::New => report.redirects.push(Redirect {
                from: format!("/{prefix}/"),
                to,
            }),
            Added::Unchanged => {}
            Added::Taken(owner) => report.warnings.push(format!(
                "{}: /{prefix}/ already leads to usernum {}; not changed",
                user.at,
                accounts::format_usernum(owner)
            )),
        }
    }
    let mut bytes_new = 0;
    if let Some(folder) = &user.files {
        bytes_new = import_files(conn, id, user, folder, options, report, progress)?;
    }
    if let Some(id) = id.or(user.usernum) {
        let stored = u64::try_from(files::bytes_in_use(conn, id)?).unwrap_or(0);
        // A dry run wrote nothing: what is stored and what would be added.
        let bytes = if options.dry_run {
            stored + bytes_new
        } else {
            stored
        };
        if bytes > options.max_bytes_per_user {
            report.over_quota.push(OverQuota {
                usernum: usernum.clone(),
                email: user.email.clone(),
                bytes,
                quota: options.max_bytes_per_user,
            });
        }
    }
    if let Some(quota) = user.quota
        && quota > options.max_bytes_per_user
        && new
    {
        report.warnings.push(format!(
            "{}: {} had a quota of {quota} bytes on the old server; passlink's \
             [xmlstorage] max_bytes_per_user is {}",
            user.at, user.email, options.max_bytes_per_user
        ));
    }
    Ok(())
}

fn imported<'a>(user: &'a SourceUser, hash: &'a str, now: i64) -> ImportedUser<'a> {
    ImportedUser {
        id: user.usernum,
        email: &user.email,
        name: &user.name,
        password_hash: hash,
        disabled: user.disabled,
        weblog_title: &user.weblog_title,
        created_at: user.created_at.unwrap_or(now),
    }
}

/// Each redirect prefix of a user and what adding it found.
type AddedRedirects = Vec<(String, Added)>;

/// Why a batch of files stopped the import.
enum Stop {
    Db(rusqlite::Error),
    Write(PathBuf, std::io::Error),
}

impl From<rusqlite::Error> for Stop {
    fn from(e: rusqlite::Error) -> Self {
        Stop::Db(e)
    }
}

/// A file about to be written: checked and hashed, not yet copied.
struct Pending {
    path: PathBuf,
    relative: String,
    size: u64,
    etag: String,
    modified_at: i64,
}

fn import_files(
    conn: &mut Connection,
    id: Option<i64>,
    user: &SourceUser,
    folder: &Path,
    options: &Options,
    report: &mut Report,
    progress: &mut Progress,
) -> Result<u64, MigrateError> {
    let skip = |report: &mut Report, at: String, why: String| {
        report.files_skipped.push(Skipped {
            at,
            what: format!("a file of {}", user.email),
            why,
        });
    };
    let walk = match tree::Walk::new(folder) {
        Ok(walk) => walk,
        // No folder: the user never uploaded anything.
        Err(_) if !folder.exists() => return Ok(0),
        Err(why) => {
            skip(report, folder.display().to_string(), why);
            return Ok(0);
        }
    };
    let mut bytes_new = 0u64;
    let root = walk.root().to_path_buf();
    let mut batch: Vec<Pending> = Vec::new();
    let mut batch_bytes = 0u64;
    for entry in walk {
        let (relative, path, size, modified_at) = match entry {
            tree::Entry::Skipped { relative, why } => {
                skip(report, root.join(&relative).display().to_string(), why);
                continue;
            }
            tree::Entry::File {
                relative,
                path,
                size,
                modified_at,
            } => (relative, path, size, modified_at),
        };
        if let Err(e) = files::validate_path(&relative) {
            skip(report, path.display().to_string(), e.to_string());
            continue;
        }
        if size > MAX_FILE_BYTES {
            skip(
                report,
                path.display().to_string(),
                format!(
                    "{size} bytes: larger than the {} MiB an import brings over (passlink reads \
                     a file whole to serve it); publish it elsewhere and link to it",
                    MAX_FILE_BYTES >> 20
                ),
            );
            continue;
        }
        let hashed = tree::open_file(&path).and_then(|mut f| files::etag_of_reader(&mut f));
        let (etag, read_size) = match hashed {
            Ok(found) => found,
            Err(e) => {
                skip(
                    report,
                    path.display().to_string(),
                    format!("cannot read: {e}"),
                );
                continue;
            }
        };
        if read_size != size {
            skip(
                report,
                path.display().to_string(),
                "changed while it was read; run the import again".into(),
            );
            continue;
        }
        let existing = match id {
            Some(id) => files::existing(conn, id, &relative, size, &etag)?,
            None => Existing::Nothing,
        };
        match existing {
            Existing::Same => {
                report.files_unchanged += 1;
                continue;
            }
            Existing::Different if !options.overwrite => {
                skip(
                    report,
                    path.display().to_string(),
                    format!(
                        "{relative} is already stored with other content (changed in passlink \
                         since?); --overwrite replaces it"
                    ),
                );
                continue;
            }
            _ => {}
        }
        bytes_new += size;
        if options.dry_run {
            report.files_imported += 1;
            report.bytes_imported += size;
            continue;
        }
        // A large file goes in a transaction of its own, so none holds the lock for long.
        if !batch.is_empty() && batch_bytes + size > BATCH_BYTES {
            write_batch(conn, id, &mut batch, user, report)?;
            batch_bytes = 0;
            progress.tick(report);
        }
        batch_bytes += size;
        batch.push(Pending {
            path,
            relative,
            size,
            etag,
            modified_at: modified_at.unwrap_or_else(clock::unix_now),
        });
        if batch.len() >= BATCH_FILES || batch_bytes >= BATCH_BYTES {
            write_batch(conn, id, &mut batch, user, report)?;
            batch_bytes = 0;
            progress.tick(report);
        }
    }
    write_batch(conn, id, &mut batch, user, report)?;
    Ok(bytes_new)
}

/// Copies a batch of checked files in one transaction. A file that changed since it was
/// hashed is left out (and reported) without undoing the others.
fn write_batch(
    conn: &mut Connection,
    id: Option<i64>,
    batch: &mut Vec<Pending>,
    user: &SourceUser,
    report: &mut Report,
) -> Result<(), MigrateError> {
    let Some(id) = id else {
        batch.clear();
        return Ok(());
    };
    if batch.is_empty() {
        return Ok(());
    }
    let mut changed = Vec::new();
    let mut written = (0u64, 0u64);
    crate::db::write(conn, |tx| -> Result<(), Stop> {
        for (n, file) in batch.iter().enumerate() {
            let meta = ImportedFile {
                path: &file.relative,
                size: file.size,
                etag: &file.etag,
                modified_at: file.modified_at,
            };
            let savepoint = format!("file{n}");
            tx.execute_batch(&format!("SAVEPOINT {savepoint}"))?;
            let result = match tree::open_file(&file.path) {
                Ok(mut reader) => files::import(tx, id, &meta, &mut reader),
                Err(e) => Err(files::ImportError::Read(e)),
            };
            match result {
                Ok(()) => {
                    tx.execute_batch(&format!("RELEASE {savepoint}"))?;
                    written.0 += 1;
                    written.1 += file.size;
                }
                Err(files::ImportError::Db(e)) => return Err(Stop::Db(e)),
                Err(files::ImportError::Write(e)) => {
                    return Err(Stop::Write(file.path.clone(), e));
                }
                Err(files::ImportError::Read(e)) => {
                    tx.execute_batch(&format!("ROLLBACK TO {savepoint}; RELEASE {savepoint}"))?;
                    changed.push((file.path.clone(), format!("cannot read: {e}")));
                }
                Err(files::ImportError::Changed) => {
                    tx.execute_batch(&format!("ROLLBACK TO {savepoint}; RELEASE {savepoint}"))?;
                    changed.push((
                        file.path.clone(),
                        "changed while it was imported; run the import again".into(),
                    ));
                }
            }
        }
        Ok(())
    })
    .map_err(|stop| match stop {
        Stop::Db(e) => MigrateError::Db(e),
        Stop::Write(path, error) => MigrateError::Io {
            what: format!(
                "storing {}: the database would not take it (is [storage] max_db_bytes reached, \
                 or the disk full?)",
                path.display()
            ),
            error,
        },
    })?;
    report.files_imported += written.0;
    report.bytes_imported += written.1;
    for (path, why) in changed {
        report.files_skipped.push(Skipped {
            at: path.display().to_string(),
            what: format!("a file of {}", user.email),
            why,
        });
    }
    batch.clear();
    Ok(())
}

/// Progress on standard error: a line redrawn in place at a terminal, a plain line every few
/// seconds otherwise (a log, a pipe), and nothing when turned off.
struct Progress {
    enabled: bool,
    terminal: bool,
    total: u64,
    started: Instant,
    last: Instant,
}

impl Progress {
    fn new(enabled: bool, total: u64) -> Progress {
        let now = Instant::now();
        Progress {
            enabled,
            terminal: std::io::stderr().is_terminal(),
            total,
            started: now,
            last: now,
        }
    }

    fn user_done(&mut self, report: &Report) {
        self.tick(report);
    }

    fn tick(&mut self, report: &Report) {
        if !self.enabled {
            return;
        }
        let every = if self.terminal {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(5)
        };
        if self.last.elapsed() < every {
            return;
        }
        self.last = Instant::now();
        self.draw(report);
    }

    fn draw(&self, report: &Report) {
        let done = report.users_read;
        let percent = (done * 100).checked_div(self.total).unwrap_or(100);
        let line = format!(
            "{done}/{} users ({percent}%), {} files, {:.1} MB, {}s",
            self.total,
            report.files_imported + report.files_unchanged,
            report.bytes_imported as f64 / 1e6,
            self.started.elapsed().as_secs()
        );
        if self.terminal {
            let width = 30usize;
            let filled = usize::try_from(percent.min(100)).unwrap_or(0) * width / 100;
            eprint!(
                "\r[{}{}] {line}\x1b[K",
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
        } else {
            eprintln!("progress: {line}");
        }
    }

    fn finish(&self, report: &Report) {
        if self.enabled {
            self.draw(report);
            if self.terminal {
                eprintln!();
            }
        }
    }
}
