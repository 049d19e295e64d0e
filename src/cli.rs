//! The command line: `serve`, `check-config`, `db …` and `version`. Some commands live in
//! `cli/`; those modules never name this one (the layers test forbids the cycle), so what they
//! need from here, such as the database opener, is passed in.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::audit::{self, Event};
use crate::config::{Config, Source};
use crate::logins::{Login, passwords};
use crate::serve::{self, AppError};

mod audit_trail;
mod brand;
mod import;
mod links;
mod migrate;
mod password;
use crate::{db, owners};

/// Exit status for a configuration error (sysexits EX_CONFIG), so that systemd's
/// `RestartPreventExitStatus=` can stop a restart loop on a broken config.
const EXIT_CONFIG: u8 = 78;
/// EX_NOPERM: run as a user that must not run this command here (root, on the service's files).
const EXIT_NOPERM: u8 = 77;

#[derive(Debug, Parser)]
#[command(
    name = "passlink",
    version,
    about = "Password reset links for xmlStorageSystem and OpenSRS XCP clients",
    long_about = "passlink serves the xmlStorageSystem (XML-RPC and SOAP) and OpenSRS XCP \
APIs from one SQLite file. Passwords are stored only as argon2id hashes, so every \
\"mail my password\" request mails a single-use, time-limited reset link instead.\n\n\
With no config file it runs on built-in defaults: it listens on 127.0.0.1:5445 and keeps \
its data in ./passlink-data/."
)]
pub struct Cli {
    /// Configuration file. Default: /etc/passlink/passlink.toml if it exists, else the
    /// built-in defaults.
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "PASSLINK_CONFIG",
        value_name = "PATH"
    )]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process; boxing the big variant would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server until SIGTERM or SIGINT.
    Serve,
    /// Validate the configuration and print it as it takes effect, secrets redacted.
    CheckConfig,
    /// Manage the database.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Manage xmlStorageSystem users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage OpenSRS XCP resellers.
    Reseller {
        #[command(subcommand)]
        command: ResellerCommand,
    },
    /// Manage OpenSRS domains and their owners' profiles.
    Domain {
        #[command(subcommand)]
        command: DomainCommand,
    },
    /// List and revoke pending password reset links (issue one with `user reset-link` or
    /// `domain reset-link`).
    Reset {
        #[command(subcommand)]
        command: links::ResetCommand,
    },
    /// Show the audit trail of credential events: registrations, failed logins, reset links
    /// asked for, issued, used and revoked, password changes, "this wasn't me", XCP sessions
    /// and the operator's changes.
    Audit(audit_trail::AuditArgs),
    /// Inspect and retry queued mail.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Move the users and files of a PyCS or Virtuoso community server to passlink.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Check that mail goes out.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// Print the version, schema version and SQLite version.
    Version,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import a PyCS server: users from its pycs_users table (exported with psql \copy as CSV
    /// with a header; see README.md), files from its www folder. Usernums, passwords (the MD5
    /// PyCS stored) and file names are kept, so clients and published links keep working.
    Pycs {
        /// The pycs_users export: usernum, email, password, name, disabled (required) and
        /// alias, flmanila, membersince, weblogtitle, in any order and case.
        #[arg(long, value_name = "FILE.csv")]
        users: std::path::PathBuf,
        /// PyCS's www folder, holding users/NNNNNNN/.
        #[arg(long, value_name = "DIR")]
        www: std::path::PathBuf,
        /// PyCS's pycs.conf, for its [aliases] and serverurl.
        #[arg(long, value_name = "FILE")]
        conf: Option<std::path::PathBuf>,
        #[command(flatten)]
        common: migrate::Common,
    },
    /// Import a Virtuoso ODS weblog server from what packaging/migrate/virtuoso-export wrote:
    /// users.csv (email, name, password, quota) and a folder per user. Each user gets a new
    /// usernum; /DAV/<email>/blog/ URLs redirect to it.
    Virtuoso {
        /// The users.csv the export wrote.
        #[arg(long, value_name = "FILE.csv")]
        users: std::path::PathBuf,
        /// The export's folder of user folders (<email>/<path>).
        #[arg(long, value_name = "DIR")]
        files: std::path::PathBuf,
        /// Import no password: mail each user a link to choose one (Virtuoso mailed passwords
        /// in plain text, so they may be known to others).
        #[arg(long)]
        force_reset: bool,
        /// How long a --force-reset link works: 7d, 48h, 90m, 3600s.
        #[arg(long, value_name = "DURATION", default_value = "7d")]
        link_ttl: String,
        /// How many --force-reset mails go out per minute, so the SMTP server's limits hold.
        #[arg(long, value_name = "N", default_value_t = 30)]
        mails_per_minute: u32,
        #[command(flatten)]
        common: migrate::Common,
    },
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Send one test message to ADDRESS through the configured [smtp] (or write it to the
    /// spool when no host is set), reporting each step: the name, the connection, the SMTP
    /// session. Touches no database.
    Test {
        /// Where to send the test message.
        address: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List messages, oldest first (recipient, subject, state, attempts, last error).
    List {
        /// Only messages in this state: pending, sending, sent or failed.
        #[arg(long, value_name = "STATE")]
        state: Option<String>,
        /// One JSON object per line, with stable keys, instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Send a pending or failed message again now.
    Retry {
        /// The message's number, as `outbox list` shows it.
        id: i64,
    },
    /// Delete sent messages finished before DATE (YYYY-MM-DD, UTC).
    Purge {
        /// The first day to keep, YYYY-MM-DD (UTC).
        #[arg(long, value_name = "DATE")]
        sent_before: String,
    },
}

// Parsed once per process; boxing the big variant would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Add a domain to a reseller, under a new or existing owner profile. A new profile's
    /// password is read from standard input with --password-stdin, else generated and printed.
    Add {
        /// The domain name.
        domain: String,
        /// The reseller the domain belongs to.
        #[arg(long)]
        reseller: String,
        /// The owner's profile (management login) username.
        #[arg(long)]
        profile: String,
        /// The owner contact's email address.
        #[arg(long)]
        owner_email: String,
        /// The admin contact's email address (also the billing and tech contacts').
        #[arg(long)]
        admin_email: String,
        /// The owner contact's first name.
        #[arg(long, default_value = "")]
        owner_first_name: String,
        /// The owner contact's last name.
        #[arg(long, default_value = "")]
        owner_last_name: String,
        /// The admin contact's first name.
        #[arg(long, default_value = "")]
        admin_first_name: String,
        /// The admin contact's last name.
        #[arg(long, default_value = "")]
        admin_last_name: String,
        /// The organisation, for every contact.
        #[arg(long, default_value = "")]
        org_name: String,
        /// Read the new profile's password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// When the registration expires (YYYY-MM-DD, UTC): what XCP answers as expiredate.
        #[arg(long, value_name = "DATE")]
        expiredate: Option<String>,
    },
    /// List every domain with its reseller and profile.
    List {
        /// One JSON object per line, with stable keys, instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Show a domain and its contacts.
    Show {
        /// The domain name.
        domain: String,
        /// One JSON object per line, with stable keys, instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Set when a domain's registration expires (what XCP answers as expiredate), or forget it
    /// with --unknown.
    SetExpiry {
        /// The domain name.
        domain: String,
        /// The expiry date, YYYY-MM-DD or YYYY-MM-DD HH:MM:SS (UTC).
        #[arg(value_name = "DATE", required_unless_present = "unknown")]
        expiredate: Option<String>,
        /// Forget the expiry date: XCP answers an empty expiredate.
        #[arg(long, conflicts_with = "expiredate")]
        unknown: bool,
    },
    /// Remove a domain (and its profile, if it has no other domain).
    Remove {
        /// The domain name.
        domain: String,
    },
    /// Add many domains from a CSV file (UTF-8, a byte-order mark is fine), all or none. The
    /// first line names the columns: domain, reseller, profile, owner_email, admin_email
    /// (required) and password, owner_first_name, owner_last_name, admin_first_name,
    /// admin_last_name, org_name, phone, billing_email, tech_email, expiredate. The expiry date
    /// is written YYYY-MM-DD. Every bad row is reported with its line. A new profile with an
    /// empty password gets a generated one, written to --passwords-file.
    Import {
        /// The CSV file (UTF-8).
        file: std::path::PathBuf,
        /// Check every row and report what would be imported; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write generated profile passwords here (a new file, mode 0600), as
        /// `profile,password` lines. Required when a new profile has no password.
        #[arg(long, value_name = "PATH")]
        passwords_file: Option<std::path::PathBuf>,
    },
    /// Issue a password reset link for the domain's profile (or its sub-user) and print it
    /// with its expiry, naming the contact it is for; or, with --mail, mail it to that
    /// contact. A new link voids the login's older ones.
    ResetLink {
        /// The domain name.
        domain: String,
        /// Whose address the link goes to (with --mail) or is meant for.
        #[arg(long, value_enum)]
        to: links::Recipient,
        /// A link for the profile's sub-user instead of the profile.
        #[arg(long)]
        sub_user: bool,
        #[command(flatten)]
        link: links::LinkOptions,
    },
}

#[derive(Debug, Subcommand)]
pub enum ResellerCommand {
    /// Add a reseller and print its private key. The key is shown this once: store it now.
    Add {
        /// The reseller's username: 1 to 64 letters, digits, '-', '_' or '.'.
        name: String,
        /// Accept requests only from this address or CIDR range (repeatable). Without any,
        /// every address is accepted.
        #[arg(long = "allow-ip", value_name = "CIDR")]
        allow_ip: Vec<String>,
    },
    /// List resellers and their allowlists (never their keys).
    List {
        /// One JSON object per line, with stable keys, instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Replace a reseller's private key and print the new one; the old key stops working.
    RotateKey {
        /// The reseller's username.
        name: String,
    },
    /// Show a reseller: its allowlist, when it was added and what it holds (never its key).
    Show {
        /// The reseller's username.
        name: String,
        /// One JSON object per line, with stable keys, instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Replace a reseller's IP allowlist; its key stays the same. Without --allow-ip every
    /// address is accepted.
    Allow {
        /// The reseller's username.
        name: String,
        /// Accept requests only from this address or CIDR range (repeatable).
        #[arg(long = "allow-ip", value_name = "CIDR")]
        allow_ip: Vec<String>,
    },
    /// Brand a reseller's reset mails and pages for its customers: its name, From: address,
    /// support address or page, accent colour, language and own mail texts. Only the parts
    /// given change; without any, prints the brand.
    Brand(brand::BrandArgs),
    /// Remove a reseller. One that still holds domains is refused unless --cascade is given,
    /// which removes its domains and owner profiles with it (and says which).
    Remove {
        /// The reseller's username.
        name: String,
        /// Also remove every domain and owner profile of the reseller.
        #[arg(long)]
        cascade: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List every user.
    List {
        /// One JSON object per line, with stable keys, instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Show one user, by usernum or email.
    Show {
        /// The user's usernum or email address.
        user: String,
        /// One JSON object per line, with stable keys, instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Refuse the user's logins and stop serving their files (reversible).
    Disable {
        /// The user's usernum or email address.
        user: String,
    },
    /// Undo `disable`.
    Enable {
        /// The user's usernum or email address.
        user: String,
    },
    /// Delete the user and every file they stored. Their usernum is never reused.
    Remove {
        /// The user's usernum or email address.
        user: String,
    },
    /// Set a new password (8 to 128 printable ASCII characters): asked twice without echo at
    /// a terminal, else read from the first line of standard input. Clients then send its
    /// MD5, as always.
    SetPassword {
        /// The user's usernum or email address.
        user: String,
    },
    /// Create an account, as registerUser would, with a password asked for as set-password
    /// does; prints its usernum.
    Add {
        /// The account's email address, which is also its login.
        email: String,
        /// The name shown to the user; the email address when not given.
        #[arg(long)]
        name: Option<String>,
    },
    /// Issue a password reset link and print it with its expiry; or, with --mail, mail it to
    /// the user's address. A new link voids the user's older ones.
    ResetLink {
        /// The user's usernum or email address.
        user: String,
        #[command(flatten)]
        link: links::LinkOptions,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the database if needed and bring its schema up to date.
    Migrate,
    /// Write a consistent copy of the live database to PATH (safe while the server runs). When
    /// PATH is a directory, the copy is passlink-YYYYMMDDTHHMMSSZ.sqlite3 inside it.
    Backup {
        /// Where to write the copy; an existing file is replaced atomically.
        path: PathBuf,
    },
    /// Check that the file is a whole passlink database: a schema version this passlink
    /// knows, every table of that version, and SQLite's integrity and foreign key checks.
    /// Exits non-zero, saying what is wrong, for anything else (an empty file too).
    Check,
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Version = cli.command {
        println!(
            "passlink {} (schema version {}, SQLite {})",
            env!("CARGO_PKG_VERSION"),
            db::latest_version(),
            rusqlite::version()
        );
        return ExitCode::SUCCESS;
    }
    let (config, source) = match Config::load(cli.config.as_deref()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("passlink: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if !matches!(cli.command, Command::CheckConfig | Command::Version)
        && let Some(refusal) = refuse_as_root(&config)
    {
        eprintln!("passlink: {refusal}");
        return ExitCode::from(EXIT_NOPERM);
    }
    let result = match cli.command {
        Command::Serve => serve::serve(config, source, cli.config.clone()),
        Command::CheckConfig => serve::load_files(&config, &source)
            .map(|files| check_config(&config, &source, &files.mails))
            .map_err(AppError::Config),
        Command::Db { command } => run_db(&config, command),
        Command::User { command } => run_user(&config, command),
        Command::Reseller { command } => run_reseller(&config, command),
        Command::Domain { command } => run_domain(&config, command),
        Command::Reset { command } => {
            links::reset(&|read_only| open_db(&config, read_only), command)
        }
        Command::Audit(args) => audit_trail::run(&|read_only| open_db(&config, read_only), &args),
        Command::Outbox { command } => run_outbox(&config, command),
        Command::Import {
            command:
                ImportCommand::Pycs {
                    users,
                    www,
                    conf,
                    common,
                },
        } => migrate::pycs(
            &config,
            &|| open_db(&config, false),
            &users,
            &www,
            conf.as_deref(),
            &common,
        ),
        Command::Import {
            command:
                ImportCommand::Virtuoso {
                    users,
                    files,
                    force_reset,
                    link_ttl,
                    mails_per_minute,
                    common,
                },
        } => migrate::virtuoso(
            &config,
            &|| open_db(&config, false),
            &users,
            &files,
            force_reset,
            &link_ttl,
            mails_per_minute,
            &common,
        ),
        Command::Mail {
            command: MailCommand::Test { address },
        } => mail_test(&config, &address),
        Command::Version => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(AppError::Config(e)) => {
            eprintln!("passlink: {e}");
            ExitCode::from(EXIT_CONFIG)
        }
        Err(e) => {
            eprintln!("passlink: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Run as root on a data directory that belongs to another user (the packaged service's
/// `passlink`), a command would leave files behind that belong to root: a database, its `-wal`
/// and `-shm` files, a spool directory. The service could then no longer open them. There is
/// no safe way to act as that user without unsafe code (setuid), so the command is refused,
/// with the one that works.
fn refuse_as_root(config: &Config) -> Option<String> {
    if !owners::running_as_root() {
        return None;
    }
    let data_dir = &config.storage.data_dir;
    let (dir, uid) = owners::owner_of(data_dir)?;
    // A directory that does not exist yet is root's to create, like any other.
    if uid == 0 || dir != *data_dir {
        return None;
    }
    let owner = owners::user_name(uid);
    let args: Vec<String> = std::env::args().skip(1).collect();
    Some(format!(
        "{} belongs to {owner}, but this command runs as root: a database, journal or spool \
         file it created would belong to root, and passlink running as {owner} (the service) \
         could no longer open it. Run it as the owner instead: sudo -u {owner} passlink {}",
        data_dir.display(),
        args.join(" ")
    ))
}

fn check_config(config: &Config, source: &Source, mails: &crate::reset::Mails) {
    let mut effective = config.clone();
    let listeners = config.effective_listeners();
    let urls = config.configured_urls();
    if effective.server.public_url.is_none() {
        effective.server.public_url = Some(urls.reset.clone());
    }
    effective.smtp.port = Some(config.smtp.effective_port());
    let text = match toml::Table::try_from(&effective) {
        Ok(mut table) => {
            if !config.listeners.is_empty()
                && let Some(toml::Value::Table(server)) = table.get_mut("server")
            {
                // [[listener]] replaces it; printing the default would read as in effect.
                server.remove("listen");
            }
            toml::to_string_pretty(&table)
        }
        Err(e) => Err(e),
    }
    .unwrap_or_else(|e| format!("# cannot print the configuration: {e}\n"));
    println!("# passlink configuration from {source}: valid");
    println!(
        "# effective values; server.workers = 0 means {} on this machine",
        config.server.worker_count()
    );
    println!("# listeners:");
    for listener in &listeners {
        let serve: Vec<&str> = listener.serve.iter().map(|g| g.name()).collect();
        let tls = match &listener.tls {
            Some(tls) => format!(
                ", TLS with {} and {}{}",
                tls.cert_file.display(),
                tls.key_file.display(),
                tls.hsts_max_age
                    .map(|age| format!(", HSTS max-age={age}"))
                    .unwrap_or_default()
            ),
            None => String::new(),
        };
        println!(
            "#   {} {} serves {}{tls}",
            listener.scheme(),
            listener.address,
            serve.join(", ")
        );
    }
    println!(
        "# links: reset {}/reset/..., files {}/users/..., xmlStorageSystem {}/RPC2",
        urls.reset, urls.files, urls.xmlstorage
    );
    println!("# client address: {}", config.client_address_summary());
    let replaced = mails.replaced_names();
    println!(
        "# mails: in {} by default; from {}: {}",
        config.reset.language,
        config.reset.templates_dir.display(),
        if replaced.is_empty() {
            "none (the built-in texts)".to_string()
        } else {
            replaced.join(", ")
        }
    );
    print!("{text}");
    for warning in mails.warnings() {
        eprintln!("passlink: warning: {warning}");
    }
    // On standard error, so that standard output stays a file one can copy.
    for warning in config.warnings() {
        eprintln!("passlink: warning: {warning}");
    }
}

fn run_db(config: &Config, command: DbCommand) -> Result<(), AppError> {
    let path = config.storage.database_path();
    let timeout = serve::busy_timeout(config);
    match command {
        DbCommand::Migrate => {
            let mut conn = db::open_or_create(&path, timeout)?;
            let (from, to) = db::migrate(&mut conn)?;
            if from == to {
                println!("{}: already at schema version {to}", path.display());
            } else {
                println!("{}: migrated schema version {from} -> {to}", path.display());
            }
        }
        DbCommand::Backup { path: dest } => {
            let dest = db::backup_target(&dest, crate::clock::unix_now())?;
            let conn = db::open_existing(&path, timeout)?;
            db::backup(&conn, &dest)?;
            let size = std::fs::metadata(&dest).map_or(0, |m| m.len());
            println!(
                "{}: backed up to {} ({size} bytes)",
                path.display(),
                dest.display()
            );
        }
        DbCommand::Check => {
            let report = db::check::check_file(&path, timeout)?;
            for line in report.notes.iter().chain(&report.problems) {
                println!("{}: {line}", path.display());
            }
            if !report.ok() {
                return Err(AppError::Db(db::DbError::Unusable {
                    path,
                    problems: report.problems,
                }));
            }
            println!("{}: ok", path.display());
        }
    }
    Ok(())
}

/// The database for a command, at this release's schema. A command that changes something may
/// create it, as `serve` would; one that only reads never does.
fn open_db(config: &Config, read_only: bool) -> Result<rusqlite::Connection, AppError> {
    let path = config.storage.database_path();
    let timeout = serve::busy_timeout(config);
    let mut conn = if read_only {
        db::open_existing(&path, timeout).map_err(|e| match e {
            db::DbError::Missing(path) => AppError::NotFound(format!(
                "no database at {} yet, so there is nothing to show: passlink creates it when \
                 it first starts (or run `passlink db migrate`); is storage.data_dir right?",
                path.display()
            )),
            other => AppError::Db(other),
        })?
    } else {
        db::open_or_create(&path, timeout)?
    };
    db::migrate(&mut conn)?;
    Ok(conn)
}

fn run_user(config: &Config, command: UserCommand) -> Result<(), AppError> {
    use crate::{accounts, clock, files};
    let read_only = matches!(command, UserCommand::List { .. } | UserCommand::Show { .. });
    let mut conn = open_db(config, read_only)?;
    let find = |conn: &rusqlite::Connection, who: &str| -> Result<accounts::User, AppError> {
        accounts::find_by_login(conn, who)
            .map_err(|e| AppError::Db(e.into()))?
            .ok_or_else(|| AppError::NotFound(format!("no user {who:?}")))
    };
    let db_err = |e: rusqlite::Error| AppError::Db(e.into());
    match command {
        UserCommand::List { json: true } => {
            for u in accounts::list(&conn).map_err(db_err)? {
                let bytes = files::bytes_in_use(&conn, u.id).map_err(db_err)?;
                json_line(&user_json(&u, bytes));
            }
        }
        UserCommand::List { json: false } => {
            let users = accounts::list(&conn).map_err(db_err)?;
            println!(
                "{:<8} {:<8} {:>10} {:<20} {:<30} NAME",
                "USERNUM", "STATUS", "BYTES", "CREATED", "EMAIL"
            );
            for u in users {
                let bytes = files::bytes_in_use(&conn, u.id).map_err(db_err)?;
                println!(
                    "{:<8} {:<8} {:>10} {:<20} {:<30} {}",
                    u.usernum(),
                    if u.disabled { "disabled" } else { "active" },
                    bytes,
                    clock::rfc3339(u.created_at),
                    u.email,
                    u.name
                );
            }
        }
        UserCommand::Show { user, json: true } => {
            let u = find(&conn, &user)?;
            let listing = files::list(&conn, u.id).map_err(db_err)?;
            let bytes = listing.iter().map(|f| f.size).sum::<i64>();
            let mut object = user_json(&u, bytes);
            object["files"] = listing
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "path": f.path,
                        "size": f.size,
                        "updated": clock::rfc3339(f.updated_at),
                    })
                })
                .collect();
            json_line(&object);
        }
        UserCommand::Show { user, json: false } => {
            let u = find(&conn, &user)?;
            let listing = files::list(&conn, u.id).map_err(db_err)?;
            let when = |t: Option<i64>| t.map_or_else(|| "never".to_string(), clock::rfc3339);
            println!("usernum:        {}", u.usernum());
            println!("email:          {}", u.email);
            println!("name:           {}", u.name);
            println!(
                "status:         {}",
                if u.disabled { "disabled" } else { "active" }
            );
            println!("created:        {}", clock::rfc3339(u.created_at));
            println!(
                "last access:    {} from {}",
                when(u.last_access_at),
                if u.last_ip.is_empty() {
                    "-"
                } else {
                    &u.last_ip
                }
            );
            println!("last upstream:  {}", when(u.last_upstream_at));
            println!("user agent:     {}", u.user_agent);
            println!("weblog title:   {}", u.weblog_title);
            println!(
                "files:          {} ({} bytes)",
                listing.len(),
                listing.iter().map(|f| f.size).sum::<i64>()
            );
            for f in listing {
                println!(
                    "  {:>10}  {}  {}",
                    f.size,
                    clock::rfc3339(f.updated_at),
                    f.path
                );
            }
        }
        UserCommand::Disable { user } => {
            let u = find(&conn, &user)?;
            db::write(&mut conn, |tx| {
                accounts::set_disabled(tx, u.id, true)?;
                let login = Some(Login::XssUser(u.id));
                audit::admin(tx, Event::UserChanged, login, &u.account(), "disabled")
            })
            .map_err(db_err)?;
            println!("user {} ({}) disabled", u.usernum(), u.email);
        }
        UserCommand::Enable { user } => {
            let u = find(&conn, &user)?;
            db::write(&mut conn, |tx| {
                accounts::set_disabled(tx, u.id, false)?;
                let login = Some(Login::XssUser(u.id));
                audit::admin(tx, Event::UserChanged, login, &u.account(), "enabled")
            })
            .map_err(db_err)?;
            println!("user {} ({}) enabled", u.usernum(), u.email);
        }
        UserCommand::SetPassword { user } => {
            let u = find(&conn, &user)?;
            let password = password::read_new(&format!("{} ({})", u.usernum(), u.email))?;
            let password = password.as_str();
            let login = Login::XssUser(u.id);
            if let Err(why) = passwords::check(login, password, &config.xcp)
                .and_then(|()| strength_policy(config)?.check(password, &[&u.email, &u.name]))
            {
                return Err(AppError::Invalid(why));
            }
            let credentials = crate::credentials::Credentials::with_cost(
                1,
                1,
                std::time::Duration::ZERO,
                config.passwords.hash_cost(),
            );
            let hash = credentials
                .hash(&passwords::credential(login, password))
                .map_err(|e| AppError::Invalid(e.to_string()))?;
            // The owner hears of it like of any change, with a way to undo it.
            let notice = if config.smtp.enabled {
                Some(crate::reset::load_mails(config).map_err(AppError::Invalid)?)
            } else {
                None
            };
            let account = u.account();
            let site = crate::reset::site(config, &migrate::reset_url(config));
            let queued = db::write(&mut conn, |tx| -> rusqlite::Result<usize> {
                passwords::set_hash(tx, login, &hash)?;
                crate::reset::void_tokens(tx, login, crate::clock::unix_now())?;
                let path = "passlink user set-password";
                audit::admin(tx, Event::PasswordChanged, Some(login), &account, path)?;
                match &notice {
                    Some(mails) => crate::reset::notice::queue(
                        tx,
                        &crate::reset::notice::Change {
                            login,
                            account: &account,
                            method: crate::reset::templates::Method::Operator,
                            by: crate::reset::templates::By::Operator,
                            domain: None,
                        },
                        mails,
                        &site,
                        crate::clock::unix_now(),
                    ),
                    None => Ok(0),
                }
            })
            .map_err(db_err)?;
            println!("user {} ({}): password changed", u.usernum(), u.email);
            if queued > 0 {
                println!(
                    "a notice with a \"this wasn't me\" link is queued to {} (a running \
                     passlink serve sends it)",
                    u.email
                );
            }
        }
        UserCommand::Add { email, name } => {
            let email = email.trim();
            if email.is_empty()
                || email.len() > 254
                || !email.contains('@')
                || email.chars().any(|c| c.is_control() || c.is_whitespace())
            {
                return Err(AppError::Invalid(format!(
                    "{email:?} is not an email address; the account is named by one"
                )));
            }
            if accounts::find_by_email(&conn, email)
                .map_err(db_err)?
                .is_some()
            {
                return Err(AppError::Invalid(format!(
                    "an account with {email} exists already (passlink user show {email})"
                )));
            }
            let password = password::read_new(email)?;
            // The policy and the credential depend on the kind of login only.
            let kind = Login::XssUser(0);
            passwords::check(kind, &password, &config.xcp)
                .and_then(|()| {
                    strength_policy(config)?
                        .check(&password, &[email, name.as_deref().unwrap_or("")])
                })
                .map_err(AppError::Invalid)?;
            let credentials = crate::credentials::Credentials::with_cost(
                1,
                1,
                std::time::Duration::ZERO,
                config.passwords.hash_cost(),
            );
            let hash = credentials
                .hash(&passwords::credential(kind, &password))
                .map_err(|e| AppError::Invalid(e.to_string()))?;
            let name = name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .unwrap_or(email);
            let new = accounts::NewUser {
                email,
                name,
                password_hash: &hash,
                client_port: None,
                user_agent: "passlink user add",
                serial_number: "",
            };
            let created = db::write(&mut conn, |tx| {
                let id = accounts::create(tx, &new, clock::unix_now())?;
                if let Some(id) = id {
                    let account = accounts::account_name(email, id);
                    let login = Some(Login::XssUser(id));
                    audit::admin(tx, Event::Registered, login, &account, "passlink user add")?;
                }
                Ok(id)
            })
            .map_err(db_err)?
            .ok_or_else(|| AppError::Invalid(format!("an account with {email} exists already")))?;
            println!("user {} ({email}) added", accounts::format_usernum(created));
        }
        UserCommand::ResetLink { user, link } => links::user_link(config, &mut conn, &user, &link)?,
        UserCommand::Remove { user } => {
            let u = find(&conn, &user)?;
            let removed_files = files::count(&conn, u.id).map_err(db_err)?;
            let detail = format!("removed with {removed_files} file(s)");
            db::write(&mut conn, |tx| {
                // A link or "this wasn't me" link must not outlive the account.
                crate::reset::void_all_tokens(tx, Login::XssUser(u.id), clock::unix_now())?;
                accounts::remove(tx, u.id)?;
                let login = Some(Login::XssUser(u.id));
                audit::admin(tx, Event::UserChanged, login, &u.account(), &detail)
            })
            .map_err(db_err)?;
            println!(
                "user {} ({}) removed with {removed_files} file(s)",
                u.usernum(),
                u.email
            );
        }
    }
    Ok(())
}

fn mail_test(config: &Config, address: &str) -> Result<(), AppError> {
    if !config.smtp.enabled {
        return Err(AppError::Invalid(
            "mail is turned off ([smtp] enabled = false): nothing to test".into(),
        ));
    }
    let mut step = |text: String| println!("ok: {text}");
    crate::mail::send_test(&config.smtp, &config.storage.data_dir, address, &mut step)
        .map_err(|e| AppError::Invalid(format!("mail test failed: {e}")))?;
    println!("mail test passed");
    Ok(())
}

fn run_outbox(config: &Config, command: OutboxCommand) -> Result<(), AppError> {
    use crate::clock;
    use crate::mail::{self, State};
    let read_only = matches!(command, OutboxCommand::List { .. });
    let conn = open_db(config, read_only)?;
    match command {
        OutboxCommand::List { state, json } => {
            let state = match state.as_deref() {
                None => None,
                Some(text) => Some(State::parse(text).ok_or_else(|| {
                    AppError::Invalid(format!(
                        "{text:?}: a state is pending, sending, sent or failed"
                    ))
                })?),
            };
            let entries = mail::list(&conn, state)?;
            if json {
                for e in entries {
                    json_line(&serde_json::json!({
                        "id": e.id,
                        "state": e.state.to_string(),
                        "attempts": e.attempts,
                        "recipient": e.recipient,
                        "subject": e.subject,
                        "queued": clock::rfc3339(e.created_at),
                        "next_attempt": e.finished_at.is_none().then(|| clock::rfc3339(e.next_attempt_at)),
                        "finished": e.finished_at.map(clock::rfc3339),
                        "last_error": e.last_error,
                    }));
                }
                return Ok(());
            }
            if entries.is_empty() {
                println!("no messages");
            }
            for e in entries {
                let when = match e.finished_at {
                    Some(t) => format!("finished {}", clock::rfc3339(t)),
                    None => format!("next attempt {}", clock::rfc3339(e.next_attempt_at)),
                };
                println!(
                    "{:>6}  {:<8} attempts={} queued {}  {when}  to={}  subject={:?}{}",
                    e.id,
                    e.state,
                    e.attempts,
                    clock::rfc3339(e.created_at),
                    e.recipient,
                    e.subject,
                    e.last_error
                        .map(|err| format!("  last_error={err:?}"))
                        .unwrap_or_default()
                );
            }
        }
        OutboxCommand::Retry { id } => {
            if !mail::retry(&conn, id, clock::unix_now())? {
                return Err(AppError::NotFound(format!(
                    "no pending or failed message {id}"
                )));
            }
            println!("message {id} is due now; the running server sends it within a second");
        }
        OutboxCommand::Purge { sent_before } => {
            let day = parse_date(&sent_before).ok_or_else(|| {
                AppError::Invalid(format!("{sent_before:?}: expected a date as YYYY-MM-DD"))
            })?;
            let n = mail::purge_sent_before(&conn, day)?;
            println!("deleted {n} sent message(s) finished before {sent_before}");
        }
    }
    Ok(())
}

/// `YYYY-MM-DD` as the Unix time of its midnight, UTC.
fn parse_date(text: &str) -> Option<i64> {
    // A date alone: a time of day would read as a finer cut-off than the option promises.
    if text.trim().contains(' ') {
        return None;
    }
    crate::clock::parse_utc(text)
}

fn run_reseller(config: &Config, command: ResellerCommand) -> Result<(), AppError> {
    use crate::clock;
    use crate::xcp::resellers;
    let read_only = matches!(
        command,
        ResellerCommand::List { .. } | ResellerCommand::Show { .. }
    );
    let mut conn = open_db(config, read_only)?;
    let db_err = |e: rusqlite::Error| AppError::Db(e.into());
    match command {
        ResellerCommand::Add { name, allow_ip } => {
            if !resellers::valid_username(&name) {
                return Err(AppError::Invalid(format!(
                    "{name:?}: a reseller name is 1 to 64 letters, digits, '-', '_' or '.'"
                )));
            }
            let allowed = parse_allowlist(&allow_ip)?;
            let now = clock::unix_now();
            let detail = format!("added, allowed ips {}", allowlist_text(&allowed));
            let key = db::write(&mut conn, |tx| {
                let key = resellers::add(tx, &name, &allowed, now)?;
                if key.is_some() {
                    let account = format!("reseller {name}");
                    audit::admin(tx, Event::ResellerChanged, None, &account, &detail)?;
                }
                Ok(key)
            })
            .map_err(db_err)?
            .ok_or_else(|| AppError::Invalid(format!("reseller {name:?} already exists")))?;
            println!("reseller {name} added");
            println!("private key (shown only now): {key}");
        }
        ResellerCommand::List { json: true } => {
            for r in resellers::list(&conn).map_err(db_err)? {
                json_line(&reseller_json(&r));
            }
        }
        ResellerCommand::List { json: false } => {
            println!("{:<24} {:<20} ALLOWED IPS", "RESELLER", "CREATED");
            for r in resellers::list(&conn).map_err(db_err)? {
                let allowed = allowlist_text(&r.allowed_ips);
                println!(
                    "{:<24} {:<20} {allowed}",
                    r.username,
                    clock::rfc3339(r.created_at)
                );
            }
        }
        ResellerCommand::RotateKey { name } => {
            let key = db::write(&mut conn, |tx| {
                let key = resellers::rotate_key(tx, &name)?;
                if key.is_some() {
                    let account = format!("reseller {name}");
                    audit::admin(tx, Event::ResellerChanged, None, &account, "key rotated")?;
                }
                Ok(key)
            })
            .map_err(db_err)?
            .ok_or_else(|| AppError::NotFound(format!("no reseller {name:?}")))?;
            println!("reseller {name}: new private key (shown only now): {key}");
        }
        ResellerCommand::Show { name, json } => {
            let r = resellers::find(&conn, &name)
                .map_err(db_err)?
                .ok_or_else(|| AppError::NotFound(format!("no reseller {name:?}")))?;
            let (domains, profiles) =
                crate::xcp::domains::held_by_reseller(&conn, r.id).map_err(db_err)?;
            if json {
                let brand = resellers::brand(&conn, r.id).map_err(db_err)?;
                let mut object = reseller_json(&r);
                object["profiles"] = profiles.into();
                object["domains"] = domains.into();
                let templates = brand::template_names(&conn, r.id)?;
                object["brand"] = serde_json::json!({
                    "display_name": brand.name,
                    "mail_from": brand.mail_from,
                    "support": brand.support,
                    "accent": brand.accent,
                    "language": brand.language,
                    "templates": templates,
                });
                json_line(&object);
                return Ok(());
            }
            println!("reseller:    {}", r.username);
            println!("created:     {}", clock::rfc3339(r.created_at));
            println!("allowed ips: {}", allowlist_text(&r.allowed_ips));
            brand::print(&conn, r.id)?;
            println!("profiles:    {profiles}");
            println!("domains:     {}", domains.len());
            for d in domains {
                println!("  {d}");
            }
        }
        ResellerCommand::Brand(args) => brand::run(&mut conn, &args, &config.reset.language)?,
        ResellerCommand::Allow { name, allow_ip } => {
            let allowed = parse_allowlist(&allow_ip)?;
            let detail = format!("allowed ips set to {}", allowlist_text(&allowed));
            let set = db::write(&mut conn, |tx| {
                let set = resellers::set_allowed(tx, &name, &allowed)?;
                if set {
                    let account = format!("reseller {name}");
                    audit::admin(tx, Event::ResellerChanged, None, &account, &detail)?;
                }
                Ok(set)
            })
            .map_err(db_err)?;
            if !set {
                return Err(AppError::NotFound(format!("no reseller {name:?}")));
            }
            println!(
                "reseller {name}: allowed ips now {} (key unchanged)",
                allowlist_text(&allowed)
            );
        }
        ResellerCommand::Remove { name, cascade } => {
            let r = resellers::find(&conn, &name)
                .map_err(db_err)?
                .ok_or_else(|| AppError::NotFound(format!("no reseller {name:?}")))?;
            // Read and removed in one transaction, so what is printed is what went.
            let (domains, profiles) = db::write(&mut conn, |tx| {
                let held = crate::xcp::domains::held_by_reseller(tx, r.id)?;
                if held.0.is_empty() || cascade {
                    resellers::remove(tx, &name)?;
                    let detail = format!(
                        "removed with {} domain(s) and {} owner profile(s)",
                        held.0.len(),
                        held.1
                    );
                    let account = format!("reseller {name}");
                    audit::admin(tx, Event::ResellerChanged, None, &account, &detail)?;
                }
                Ok(held)
            })
            .map_err(db_err)?;
            if !domains.is_empty() && !cascade {
                return Err(AppError::Invalid(format!(
                    "reseller {name} still holds {} domain(s) and {profiles} owner profile(s) \
                     ({}); nothing was removed. Remove them first (passlink domain remove), \
                     or run again with --cascade to remove them with the reseller",
                    domains.len(),
                    summarize(&domains)
                )));
            }
            println!(
                "reseller {name} removed, with {} domain(s) and {profiles} owner profile(s)",
                domains.len()
            );
            for d in domains {
                println!("  removed domain {d}");
            }
        }
    }
    Ok(())
}

/// One JSON object on its own line: what `--json` prints, for scripts (`jq`), with keys that
/// stay the same from release to release.
fn json_line(value: &serde_json::Value) {
    println!("{value}");
}

fn user_json(u: &crate::accounts::User, bytes: i64) -> serde_json::Value {
    use crate::clock::rfc3339;
    serde_json::json!({
        "usernum": u.usernum(),
        "email": u.email,
        "name": u.name,
        "status": if u.disabled { "disabled" } else { "active" },
        "bytes": bytes,
        "created": rfc3339(u.created_at),
        "last_access": u.last_access_at.map(rfc3339),
        "last_ip": (!u.last_ip.is_empty()).then_some(&u.last_ip),
        "last_upstream": u.last_upstream_at.map(rfc3339),
        "user_agent": u.user_agent,
        "weblog_title": u.weblog_title,
    })
}

fn reseller_json(r: &crate::xcp::resellers::Reseller) -> serde_json::Value {
    let allowed: Vec<String> = r.allowed_ips.iter().map(ToString::to_string).collect();
    serde_json::json!({
        "name": r.username,
        "created": crate::clock::rfc3339(r.created_at),
        "allowed_ips": allowed,
    })
}

fn domain_json(d: &crate::xcp::domains::DomainInfo) -> serde_json::Value {
    let contacts: serde_json::Map<String, serde_json::Value> = d
        .contacts
        .iter()
        .map(|(role, c)| {
            (
                role.clone(),
                serde_json::json!({
                    "first_name": c.first_name,
                    "last_name": c.last_name,
                    "org_name": c.org_name,
                    "email": c.email,
                    "phone": c.phone,
                }),
            )
        })
        .collect();
    serde_json::json!({
        "domain": d.name,
        "reseller": d.reseller,
        "profile": d.profile,
        "created": crate::clock::rfc3339(d.created_at),
        "expiredate": d.expires_at.map(crate::clock::sql_datetime),
        "contacts": contacts,
    })
}

fn parse_allowlist(given: &[String]) -> Result<Vec<crate::xcp::resellers::Cidr>, AppError> {
    given
        .iter()
        .map(|c| c.parse::<crate::xcp::resellers::Cidr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AppError::Invalid(e.to_string()))
}

fn allowlist_text(allowed: &[crate::xcp::resellers::Cidr]) -> String {
    if allowed.is_empty() {
        return "any".to_string();
    }
    let all: Vec<String> = allowed.iter().map(ToString::to_string).collect();
    all.join(" ")
}

/// The first few names and how many more: enough to recognise, short enough for one line.
fn summarize(names: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

/// The password policy of `[passwords]`, its blocklist read, for a command that sets one.
fn strength_policy(config: &Config) -> Result<crate::logins::strength::Policy, String> {
    crate::logins::strength::Policy::load(&config.passwords)
}

/// An expiry date given on the command line, as `what` (the option or argument) names it.
fn parse_expiredate(what: &str, text: &str) -> Result<i64, AppError> {
    crate::clock::parse_utc(text).ok_or_else(|| {
        AppError::Invalid(format!(
            "{what} {text:?} is not YYYY-MM-DD or YYYY-MM-DD HH:MM:SS (UTC)"
        ))
    })
}

fn run_domain(config: &Config, command: DomainCommand) -> Result<(), AppError> {
    use crate::clock;
    use crate::credentials::Credentials;
    use crate::xcp::domains::{self, Contact, DomainError, NewDomain};
    let read_only = matches!(
        command,
        DomainCommand::List { .. } | DomainCommand::Show { .. }
    );
    let mut conn = open_db(config, read_only)?;
    let db_err = |e: rusqlite::Error| AppError::Db(e.into());
    let dom_err = |e: DomainError| match e {
        DomainError::Db(e) => AppError::Db(e.into()),
        DomainError::Invalid(why) => AppError::Invalid(why),
    };
    let rules = &config.xcp;
    let credentials = Credentials::with_cost(
        1,
        1,
        std::time::Duration::ZERO,
        config.passwords.hash_cost(),
    );
    let hash = |password: &str| {
        credentials
            .hash(password)
            .map_err(|e| AppError::Invalid(e.to_string()))
    };
    match command {
        DomainCommand::Add {
            domain,
            reseller,
            profile,
            owner_email,
            admin_email,
            owner_first_name,
            owner_last_name,
            admin_first_name,
            admin_last_name,
            org_name,
            password_stdin,
            expiredate,
        } => {
            let expires_at = expiredate
                .as_deref()
                .map(|text| parse_expiredate("--expiredate", text))
                .transpose()?;
            let mut generated = None;
            let password_hash =
                if domains::profile_exists(&conn, &reseller, &profile).map_err(db_err)? {
                    None
                } else {
                    let password = if password_stdin {
                        let mut line = String::new();
                        std::io::stdin()
                            .read_line(&mut line)
                            .map_err(|error| AppError::Io {
                                what: "reading the password from standard input".into(),
                                error,
                            })?;
                        line.trim_end_matches(['\r', '\n']).to_string()
                    } else {
                        let p = domains::generate_password(rules);
                        generated = Some(p.clone());
                        p
                    };
                    domains::check_password(&password, rules)
                        .and_then(|()| {
                            if generated.is_some() {
                                return Ok(());
                            }
                            strength_policy(config)?
                                .check(&password, &[&domain, &profile, &owner_email, &admin_email])
                        })
                        .map_err(AppError::Invalid)?;
                    Some(hash(&password)?)
                };
            let contact = |first: String, last: String, email: String| Contact {
                first_name: first,
                last_name: last,
                org_name: org_name.clone(),
                email,
                phone: String::new(),
            };
            let new = NewDomain {
                domain: domain.clone(),
                reseller,
                profile: profile.clone(),
                password_hash,
                contacts: [
                    contact(owner_first_name, owner_last_name, owner_email),
                    contact(admin_first_name, admin_last_name, admin_email),
                    Contact::default(),
                    Contact::default(),
                ],
                expires_at,
            };
            let now = clock::unix_now();
            let account = format!("domain {}", domain.to_ascii_lowercase());
            let detail = format!(
                "added under {} profile {profile} of reseller {}",
                if new.password_hash.is_some() {
                    "a new"
                } else {
                    "the existing"
                },
                new.reseller
            );
            db::write(&mut conn, |tx| {
                domains::add(tx, &new, now).map_err(dom_err)?;
                audit::admin(tx, Event::DomainChanged, None, &account, &detail).map_err(db_err)
            })?;
            println!(
                "domain {} added under profile {profile}",
                domain.to_ascii_lowercase()
            );
            if let Some(password) = generated {
                println!("profile {profile} password (shown only now): {password}");
            }
        }
        DomainCommand::List { json: true } => {
            for d in domains::list(&conn).map_err(db_err)? {
                json_line(&domain_json(&d));
            }
        }
        DomainCommand::List { json: false } => {
            println!(
                "{:<40} {:<20} {:<20} CREATED",
                "DOMAIN", "RESELLER", "PROFILE"
            );
            for d in domains::list(&conn).map_err(db_err)? {
                println!(
                    "{:<40} {:<20} {:<20} {}",
                    d.name,
                    d.reseller,
                    d.profile,
                    clock::rfc3339(d.created_at)
                );
            }
        }
        DomainCommand::Show { domain, json } => {
            let d = domains::show(&conn, &domain)
                .map_err(db_err)?
                .ok_or_else(|| AppError::NotFound(format!("no domain {domain:?}")))?;
            if json {
                json_line(&domain_json(&d));
                return Ok(());
            }
            println!("domain:   {}", d.name);
            println!("reseller: {}", d.reseller);
            println!("profile:  {}", d.profile);
            println!("created:  {}", clock::rfc3339(d.created_at));
            println!(
                "expires:  {}",
                d.expires_at
                    .map_or_else(|| "unknown".to_string(), clock::sql_datetime)
            );
            for (role, c) in d.contacts {
                println!(
                    "{role:<8}  {} {} <{}> {} {}",
                    c.first_name, c.last_name, c.email, c.org_name, c.phone
                );
            }
        }
        DomainCommand::SetExpiry {
            domain, expiredate, ..
        } => {
            let expires_at = expiredate
                .as_deref()
                .map(|text| parse_expiredate("DATE", text))
                .transpose()?;
            let detail = match expires_at {
                Some(at) => format!("expiry set to {} UTC", clock::sql_datetime(at)),
                None => "expiry set to unknown".to_string(),
            };
            let account = format!("domain {}", domain.to_ascii_lowercase());
            let set = db::write(&mut conn, |tx| {
                let set = domains::set_expiry(tx, &domain, expires_at)?;
                if set {
                    audit::admin(tx, Event::DomainChanged, None, &account, &detail)?;
                }
                Ok(set)
            })
            .map_err(db_err)?;
            if !set {
                return Err(AppError::NotFound(format!("no domain {domain:?}")));
            }
            match expires_at {
                Some(at) => println!(
                    "domain {} expires {} UTC",
                    domain.to_ascii_lowercase(),
                    clock::sql_datetime(at)
                ),
                None => println!(
                    "domain {}: expiry date now unknown",
                    domain.to_ascii_lowercase()
                ),
            }
        }
        DomainCommand::Remove { domain } => {
            let account = format!("domain {}", domain.to_ascii_lowercase());
            let removed = db::write(&mut conn, |tx| {
                let removed = domains::remove(tx, &domain)?;
                if removed {
                    audit::admin(tx, Event::DomainChanged, None, &account, "removed")?;
                }
                Ok(removed)
            })
            .map_err(db_err)?;
            if !removed {
                return Err(AppError::NotFound(format!("no domain {domain:?}")));
            }
            println!("domain {domain} removed");
        }
        DomainCommand::Import {
            file,
            dry_run,
            passwords_file,
        } => {
            import::run(
                &mut conn,
                config,
                &import::Options {
                    file: &file,
                    dry_run,
                    passwords_file: passwords_file.as_deref(),
                },
            )?;
        }
        DomainCommand::ResetLink {
            domain,
            to,
            sub_user,
            link,
        } => links::domain_link(config, &mut conn, &domain, to, sub_user, &link)?,
    }
    Ok(())
}
