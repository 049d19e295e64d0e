//! The command line: `serve`, `check-config`, `db …` and `version`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::{self, AppError};
use crate::config::{Config, Source};
use crate::db;

/// Exit status for a configuration error (sysexits EX_CONFIG), so that systemd's
/// `RestartPreventExitStatus=` can stop a restart loop on a broken config.
const EXIT_CONFIG: u8 = 78;

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
    /// Print the version, schema version and SQLite version.
    Version,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the database if needed and bring its schema up to date.
    Migrate,
    /// Write a consistent copy of the live database to PATH (safe while the server runs).
    Backup {
        /// Where to write the copy; an existing file is replaced atomically.
        path: PathBuf,
    },
    /// Run SQLite's integrity check; exits non-zero if the file is damaged.
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
    let result = match cli.command {
        Command::Serve => app::serve(config, source, cli.config.clone()),
        Command::CheckConfig => {
            check_config(&config, &source);
            Ok(())
        }
        Command::Db { command } => run_db(&config, command),
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

fn check_config(config: &Config, source: &Source) {
    let mut effective = config.clone();
    if effective.server.public_url.is_none() {
        effective.server.public_url = Some(config.server.public_url_for(config.server.listen));
    }
    effective.smtp.port = Some(config.smtp.effective_port());
    let text = toml::to_string_pretty(&effective)
        .unwrap_or_else(|e| format!("# cannot print the configuration: {e}\n"));
    println!("# passlink configuration from {source}: valid");
    println!(
        "# effective values; server.workers = 0 means {} on this machine",
        config.server.worker_count()
    );
    print!("{text}");
}

fn run_db(config: &Config, command: DbCommand) -> Result<(), AppError> {
    let path = config.storage.database_path();
    let timeout = app::busy_timeout(config);
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
            let conn = db::open_existing(&path, timeout)?;
            let problems = db::integrity_problems(&conn)?;
            if problems.is_empty() {
                println!("{}: ok", path.display());
            } else {
                for problem in &problems {
                    println!("{}: {problem}", path.display());
                }
                return Err(AppError::Db(db::DbError::Schema(format!(
                    "integrity check found {} problem(s)",
                    problems.len()
                ))));
            }
        }
    }
    Ok(())
}
