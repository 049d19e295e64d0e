//! `passlink serve`: opens the store, binds the listener, starts the HTTP server and runs until
//! SIGTERM or SIGINT, then drains in-flight requests and closes the database.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use rusqlite::Connection;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::audit::failed::Trail;
use crate::config::{Config, ConfigError, ListenAddress, LogLevel, PublicUrls, Source};
use crate::credentials::Credentials;
use crate::db::{self, DbError};
use crate::endpoints::router::{self, Router, Serves};
use crate::endpoints::worker::{Shared, Worker};
use crate::housekeeping::Housekeeping;
use crate::http::{self, Server, ServerOptions};
use crate::lock::{self, DataDirLock, LockError};
use crate::logging;
use crate::logins::strength::Policy;
use crate::mail;
use crate::reset::{Mails, ResetService};
use crate::xss::notify::Notifier;

#[derive(Debug)]
pub enum AppError {
    Config(ConfigError),
    Db(DbError),
    Io {
        what: String,
        error: std::io::Error,
    },
    /// What a command was asked to act on does not exist.
    NotFound(String),
    /// A command's input breaks a rule (a password policy).
    Invalid(String),
    /// Another `passlink serve` runs on the data directory.
    Lock(LockError),
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Config(e) => e.fmt(f),
            AppError::Db(e) => e.fmt(f),
            AppError::Io { what, error } => write!(f, "{what}: {error}"),
            AppError::NotFound(what) | AppError::Invalid(what) => f.write_str(what),
            AppError::Lock(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AppError {}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        AppError::Db(e)
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        AppError::Db(e.into())
    }
}

impl From<LockError> for AppError {
    fn from(e: LockError) -> Self {
        AppError::Lock(e)
    }
}

impl From<ConfigError> for AppError {
    fn from(e: ConfigError) -> Self {
        AppError::Config(e)
    }
}

/// The level from `PASSLINK_LOG` if set and valid, else from the config.
pub fn log_level(config: &Config) -> LogLevel {
    std::env::var("PASSLINK_LOG")
        .ok()
        .and_then(|v| LogLevel::parse(&v))
        .unwrap_or(config.log.level)
}

pub fn busy_timeout(config: &Config) -> Duration {
    Duration::from_millis(config.storage.busy_timeout_ms.get())
}

fn server_options(config: &Config, body_limit: &http::BodyLimit) -> ServerOptions {
    let s = &config.server;
    ServerOptions {
        queue_depth: s.queue_depth.get(),
        max_connections: s.max_connections.get(),
        max_connections_per_ip: s.max_connections_per_ip.get(),
        max_body_bytes: s.max_body_bytes.get(),
        max_buffered_bytes: s.max_buffered_bytes.get(),
        body_min_rate: s.body_min_bytes_per_sec,
        head_timeout: Duration::from_secs(s.head_timeout_secs.get()),
        read_timeout: Duration::from_secs(s.read_timeout_secs.get()),
        write_timeout: Duration::from_secs(s.write_timeout_secs.get()),
        keepalive_timeout: Duration::from_secs(s.keepalive_timeout_secs.get()),
        shutdown_grace: Duration::from_secs(s.shutdown_grace_secs.get()),
        log_path: router::log_path,
        body_limit: body_limit.clone(),
        trusted_proxies: s.trusted_proxies.clone(),
        client_ip_header: s.client_ip_header,
    }
}

/// Runs the appliance until a stop signal. Returns once every worker has finished and every
/// database connection is closed, the last one after a checkpoint: `passlink.sqlite3` alone is
/// then a complete copy.
pub fn serve(config: Config, source: Source, config_path: Option<PathBuf>) -> Result<(), AppError> {
    logging::init(log_level(&config).filter());
    // Read before anything else: a certificate or template the config names that cannot be
    // used is a configuration error (exit 78), as `check-config` reports it.
    let files = load_files(&config, &source)?;
    // Bound before the disk is touched: a port in use must not leave a new data directory
    // and database behind.
    let bound = bind_listeners(&config, files.tls)?;
    // Held until serve returns. Taken before anything is changed: the migrations, the outbox
    // recovery, the spool.
    let _lock = lock_data_dir(&config.storage.data_dir)?;
    let db_path = config.storage.database_path();
    // The first connection opened is the last one closed: see `db::shutdown`.
    let conn = open_and_migrate(&db_path, &config)?;
    let credentials = start_credentials(&config)?;
    let notifier = Notifier::start().map_err(|error| AppError::Io {
        what: "starting the notification thread".into(),
        error,
    })?;
    let mail_waker = mail::Waker::default();
    let audit = Arc::new(Trail::new(config.audit.keep_days.get()));
    let reset_service = start_reset_service(
        &config,
        files.mails,
        &bound.urls,
        &db_path,
        &mail_waker,
        &audit,
    )?;
    let (mailer, mailer_settings) =
        start_mailer(&config, &db_path, &reset_service, &audit, mail_waker)?;
    if let Some(list) = &files.policy.blocklist {
        log::info!(
            "password blocklist {}: {} entries in {} KiB",
            list.path.display(),
            list.entries,
            list.bytes() / 1024
        );
    }
    let app = Arc::new(Shared::new(
        config,
        bound.urls,
        credentials,
        notifier,
        reset_service.clone(),
        files.policy,
        audit.clone(),
        crate::i18n::Catalogues::shared().map_err(|e| AppError::Io {
            what: format!("reading the built-in message catalogues: {e}"),
            error: std::io::Error::other("invalid catalogue"),
        })?,
    ));
    let config = app.config();

    let workers = config.server.worker_count();
    let mut states = Vec::with_capacity(workers);
    for _ in 0..workers {
        states.push(Worker::new(app.clone(), open_worker_db(&db_path, &config)?));
    }

    let signals = Signals::new([SIGTERM, SIGINT, SIGHUP]).map_err(|error| AppError::Io {
        what: "installing signal handlers".into(),
        error,
    })?;
    let body_limit = router::body_limits(bound.serves.clone());
    let router = Router::new(bound.serves);
    let server = Server::start(
        bound.listeners,
        server_options(&config, &body_limit),
        app.http_stats.clone(),
        states,
        move |ctx: &mut Worker, req| router.dispatch(ctx, req),
    )
    .map_err(|error| AppError::Io {
        what: "starting the HTTP server".into(),
        error,
    })?;

    let data_dir = absolute(&config.storage.data_dir);
    logging::announce(&format!(
        "passlink {} listening on {} (public URL {}), data in {}, config: {source}, {workers} workers",
        env!("CARGO_PKG_VERSION"),
        bound.described.join("; "),
        app.urls.reset,
        data_dir.display(),
    ));
    for warning in config.start_warnings() {
        log::warn!("{warning}");
    }

    crate::systemd::notify(&format!(
        "READY=1\nSTATUS=listening on {}\nMAINPID={}",
        bound.first,
        std::process::id()
    ));
    let live = Live {
        app: app.clone(),
        reset: reset_service.clone(),
        mailer: mailer_settings,
        server: server.shutdown_handle(),
        certificates: bound.acceptors,
        body_limit,
    };
    let signal_handle = signals.handle();
    let signal_thread = start_signal_thread(signals, live, config_path)?;

    // Every worker ends, and with it its connection.
    server.wait();
    let grace = Duration::from_secs(app.config().server.shutdown_grace_secs.get());
    let mailer_ended = mailer.stop(grace);
    signal_handle.close();
    let _ = signal_thread.join();
    // The last holders of the reset service are gone with the threads above; the app's own
    // reference goes now, and with the service its group-commit thread and connection.
    drop(app);
    let closed = close_reset_service(reset_service);
    if !(mailer_ended && closed) {
        log::warn!(
            "database: a connection is still open at the stop (the mailer's or the \
             group-commit thread's); the checkpoint below copies what is committed, but a \
             write it makes later stays in the -wal file"
        );
    }
    // The failed logins counted in the last minute: written now, not lost with the process.
    if let Err(e) = audit.flush(&conn, crate::clock::unix_now(), true) {
        log::error!("audit: the failed logins of the last minute could not be written: {e}");
    }
    db::shutdown::close_last(conn, &db_path, busy_timeout(&config));
    log::info!("passlink stopped");
    Ok(())
}

/// The database's first connection, on a file migrated to this release's schema and watched
/// from now on (`db::watch`).
fn open_and_migrate(db_path: &Path, config: &Config) -> Result<Connection, AppError> {
    let mut conn = db::open_or_create(db_path, busy_timeout(config))?;
    let (from, to) = db::migrate(&mut conn)?;
    if from != to {
        log::info!("database migrated from schema version {from} to {to}");
    }
    db::watch::install(db_path).map_err(|error| AppError::Io {
        what: format!("cannot examine the database file {}", db_path.display()),
        error,
    })?;
    Ok(conn)
}

/// The listeners, bound, and what follows from their addresses.
struct Bound {
    listeners: Vec<http::Listener>,
    /// What each listener serves, by index.
    serves: Vec<Serves>,
    /// The TLS listeners' certificates, re-read on every reload.
    acceptors: Vec<Arc<http::TlsAcceptor>>,
    urls: PublicUrls,
    /// One line per listener for the start-up announcement.
    described: Vec<String>,
    /// The first TCP address, for systemd's status line.
    first: SocketAddr,
}

/// The files the configuration names, read as `serve` uses them.
pub struct Files {
    /// Each listener's TLS acceptor, by listener index.
    pub tls: Vec<Option<Arc<http::TlsAcceptor>>>,
    /// Every mail in every language, with the operator's templates.
    pub mails: Mails,
    /// The password policy, with the blocklist file read.
    pub policy: Policy,
}

/// Reads every file the configuration names: each TLS listener's certificate chain and key
/// (and that they belong together), and the mail templates (every placeholder known, the
/// link there). `serve` and `check-config` both call it, so what one accepts the other does;
/// a failure is a configuration error that names the key and the file.
pub fn load_files(config: &Config, source: &Source) -> Result<Files, ConfigError> {
    let semantic = |key: String, message: String| ConfigError::Semantic {
        path: source.to_string(),
        key,
        message,
    };
    let mut tls = Vec::new();
    for (i, listener) in config.effective_listeners().iter().enumerate() {
        tls.push(match &listener.tls {
            Some(files) => Some(Arc::new(
                http::TlsAcceptor::load(&files.cert_file, &files.key_file)
                    .map_err(|e| semantic(format!("listener[{i}].tls"), e.to_string()))?,
            )),
            None => None,
        });
    }
    let mails =
        crate::reset::load_mails(config).map_err(|e| semantic("reset.templates_dir".into(), e))?;
    for warning in mails.warnings() {
        log::warn!("reset.templates_dir: {warning}");
    }
    let policy = Policy::load(&config.passwords)
        .map_err(|e| semantic("passwords.blocklist_file".into(), e))?;
    Ok(Files { tls, mails, policy })
}

/// Binds every listener, with its TLS acceptor from [`load_files`], before anything is
/// started, so that a port in use stops the start-up with a clear error.
fn bind_listeners(
    config: &Config,
    tls: Vec<Option<Arc<http::TlsAcceptor>>>,
) -> Result<Bound, AppError> {
    let listener_configs = config.effective_listeners();
    let mut listeners = Vec::with_capacity(listener_configs.len());
    let mut serves = Vec::with_capacity(listener_configs.len());
    let mut acceptors: Vec<Arc<http::TlsAcceptor>> = Vec::new();
    for (listener, tls) in listener_configs.iter().zip(tls) {
        let cannot = |error: std::io::Error| {
            let hint = match error.kind() {
                std::io::ErrorKind::AddrInUse => {
                    "; another program listens there (`ss -ltnp` names it; is passlink already \
                     running as a service?): stop it, or change the address in the config"
                }
                std::io::ErrorKind::PermissionDenied => {
                    "; ports below 1024 need root or CAP_NET_BIND_SERVICE: use a port above \
                     1024 behind a reverse proxy"
                }
                std::io::ErrorKind::AddrNotAvailable => {
                    "; no network interface of this machine has that address"
                }
                _ => "",
            };
            AppError::Io {
                what: format!("cannot listen on {}", listener.address),
                error: std::io::Error::new(error.kind(), format!("{error}{hint}")),
            }
        };
        let socket = match &listener.address {
            ListenAddress::Tcp(addr) => http::Socket::Tcp(http::bind(*addr).map_err(cannot)?),
            ListenAddress::Unix(path) => http::Socket::Unix(http::bind_unix(path).map_err(cannot)?),
        };
        if let Some(acceptor) = &tls {
            acceptors.push(acceptor.clone());
        }
        listeners.push(http::Listener {
            socket,
            tls,
            hsts_max_age: listener.tls.as_ref().and_then(|t| t.hsts_max_age),
        });
        serves.push(Serves::of(&listener.serve));
    }
    let bound_all = listeners
        .iter()
        .map(http::Listener::local_addr)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| AppError::Io {
            what: "listener address".into(),
            error,
        })?;
    let urls = config.public_urls(&bound_all);
    let described: Vec<String> = listener_configs
        .iter()
        .zip(&bound_all)
        .map(|(l, bound)| {
            let serve: Vec<&str> = l.serve.iter().map(|g| g.name()).collect();
            let at = match bound {
                Some(addr) => format!("{}://{addr}", l.scheme()),
                None if l.tls.is_some() => format!("{} (TLS)", l.address),
                None => l.address.to_string(),
            };
            format!("{at} ({})", serve.join(", "))
        })
        .collect();
    let bound = bound_all
        .iter()
        .flatten()
        .next()
        .copied()
        .unwrap_or(config.server.listen);
    Ok(Bound {
        listeners,
        serves,
        acceptors,
        urls,
        described,
        first: bound,
    })
}

/// Password hashing sized to the worker pool, its dummy hash computed now.
fn start_credentials(config: &Config) -> Result<Credentials, AppError> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let (running, waiting) = crate::credentials::argon2_limits(config.server.worker_count(), cores);
    let credentials = Credentials::with_cost(
        running,
        waiting,
        Duration::from_secs(config.xmlstorage.credential_cache_ttl_secs),
        config.passwords.hash_cost(),
    );
    credentials.prepare_dummy().map_err(|e| AppError::Io {
        what: "preparing password hashing".into(),
        error: std::io::Error::other(e.to_string()),
    })?;
    Ok(credentials)
}

/// The reset-link service, with its group-commit thread on a connection of its own.
fn start_reset_service(
    config: &Config,
    mails: Mails,
    urls: &PublicUrls,
    db_path: &Path,
    mail_waker: &mail::Waker,
    audit: &Arc<Trail>,
) -> Result<Arc<ResetService>, AppError> {
    Ok(Arc::new(ResetService::new(
        config.reset.clone(),
        config.smtp.enabled,
        crate::reset::site(config, &urls.reset),
        mails,
        mail_waker.clone(),
        db::GroupWriter::start(open_worker_db(db_path, config)?).map_err(|error| AppError::Io {
            what: "starting the group-commit thread".into(),
            error,
        })?,
        audit.clone(),
    )))
}

/// The mailer thread, which also runs the housekeeping, and the settings a reload replaces.
fn start_mailer(
    config: &Config,
    db_path: &Path,
    reset_service: &Arc<ResetService>,
    audit: &Arc<Trail>,
    mail_waker: mail::Waker,
) -> Result<(mail::Mailer, Arc<RwLock<mail::MailerSettings>>), AppError> {
    let transport = mail::Transport::from_config(&config.smtp, &config.storage.data_dir);
    let mailer_settings = Arc::new(RwLock::new(mail_settings(config)));
    if config.smtp.enabled {
        if let mail::Transport::Spool(dir) = &transport {
            mail::prepare_spool(dir).map_err(|error| AppError::Io {
                what: match error.kind() {
                    // Left by a `sudo passlink serve`, say: who owns it is the answer.
                    std::io::ErrorKind::PermissionDenied => format!(
                        "cannot prepare the mail spool {} ({})",
                        dir.display(),
                        crate::owners::describe(dir)
                    ),
                    _ => format!("cannot prepare the mail spool {}", dir.display()),
                },
                error,
            })?;
            log::warn!(
                "NO MAIL IS SENT: [smtp] has no host, so reset mails are written as .eml files to {}",
                absolute(dir).display()
            );
        }
    } else {
        log::warn!("mail is turned off ([smtp] enabled = false): nobody can ask for a reset link");
    }
    let mailer = {
        let housekeeping = Housekeeping::new(reset_service.clone(), audit.clone());
        let chore: mail::Chore = Box::new(move |conn| housekeeping.run(conn));
        mail::start(
            open_worker_db(db_path, config)?,
            mailer_settings.clone(),
            mail_waker.clone(),
            chore,
        )
        .map_err(|error| AppError::Io {
            what: "starting the mailer thread".into(),
            error,
        })?
    };
    Ok((mailer, mailer_settings))
}

/// The thread that turns SIGHUP into a reload and the first SIGTERM or SIGINT into a graceful
/// stop (a second one exits at once).
fn start_signal_thread(
    mut signals: Signals,
    live: Live,
    config_path: Option<PathBuf>,
) -> Result<std::thread::JoinHandle<()>, AppError> {
    let shutdown = live.server.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut stopping = false;
            for signal in signals.forever() {
                match signal {
                    SIGHUP => live.reload(config_path.as_deref()),
                    _ if stopping => {
                        log::warn!("second stop signal: exiting at once");
                        std::process::exit(1);
                    }
                    _ => {
                        stopping = true;
                        crate::systemd::notify("STOPPING=1");
                        log::info!("stop signal received; finishing in-flight requests");
                        shutdown.shutdown();
                    }
                }
            }
        })
        .map_err(|error| AppError::Io {
            what: "starting the signal thread".into(),
            error,
        })
}

/// Creates the data directory if needed and takes its lock (see [`crate::lock`]).
fn lock_data_dir(data_dir: &Path) -> Result<DataDirLock, AppError> {
    db::create_private_dir(data_dir)?;
    Ok(lock::acquire(data_dir)?)
}

/// Drops the reset service if nothing else holds it, which joins its group-commit thread and
/// closes that thread's connection. `false` if something still does.
fn close_reset_service(service: Arc<ResetService>) -> bool {
    match Arc::try_unwrap(service) {
        Ok(service) => {
            drop(service);
            true
        }
        Err(_) => false,
    }
}

/// A connection for a worker or the mailer: the usual pragmas and the size cap.
fn open_worker_db(path: &Path, config: &Config) -> Result<Connection, AppError> {
    let mut conn = db::open_or_create(path, busy_timeout(config))?;
    // Every commit on it first makes sure the file is still the database (`db::watch`).
    db::watch::guard(&mut conn)?;
    db::limit_size(
        &conn,
        config.storage.max_db_bytes.map(std::num::NonZeroU64::get),
    )?;
    Ok(conn)
}

fn mail_settings(config: &Config) -> mail::MailerSettings {
    mail::MailerSettings {
        transport: mail::Transport::from_config(&config.smtp, &config.storage.data_dir),
        from: config.smtp.from.clone(),
        retry_first_secs: secs(config.smtp.retry_first_secs.get()),
        retry_horizon_secs: secs(config.smtp.retry_horizon_secs.get()),
    }
}

/// Everything a reload (SIGHUP) changes in the running process.
struct Live {
    app: Arc<Shared>,
    reset: Arc<ResetService>,
    mailer: Arc<RwLock<mail::MailerSettings>>,
    server: http::ShutdownHandle,
    /// The TLS listeners' certificates, re-read on every reload.
    certificates: Vec<Arc<http::TlsAcceptor>>,
    /// The routes' body limits, by listener (fixed: listeners change only with a restart).
    body_limit: http::BodyLimit,
}

impl Live {
    /// Re-reads the config file. The log level, limits and timeouts, xmlStorageSystem and XCP
    /// settings, reset-link settings, mail settings and templates take effect at once.
    /// Listeners, workers, the queue, storage and public URLs need a restart, and the log says
    /// which of those changed. An invalid file changes nothing.
    fn reload(&self, config_path: Option<&Path>) {
        // Certificates first, and whatever the config file says: a certbot deploy hook
        // reloads for the new certificate alone.
        for acceptor in &self.certificates {
            match acceptor.reload() {
                Ok(()) => log::info!(
                    "reload: TLS certificate {} loaded; new connections get it",
                    acceptor.cert_file().display()
                ),
                Err(e) => {
                    log::error!("reload: TLS certificate not replaced, the one in use stays: {e}")
                }
            }
        }
        self.apply(config_path);
        crate::systemd::notify("READY=1");
    }

    fn apply(&self, config_path: Option<&Path>) {
        let (config, source) = match Config::load(config_path) {
            Ok(loaded) => loaded,
            Err(e) => {
                log::error!("reload failed, keeping the running configuration: {e}");
                return;
            }
        };
        let mails = match crate::reset::load_mails(&config) {
            Ok(mails) => {
                for warning in mails.warnings() {
                    log::warn!("reset.templates_dir: {warning}");
                }
                mails
            }
            Err(e) => {
                log::error!(
                    "reload failed, keeping the running configuration: cannot read the mail \
                     templates in {}: {e}",
                    config.reset.templates_dir.display()
                );
                return;
            }
        };
        let policy = match Policy::load(&config.passwords) {
            Ok(policy) => policy,
            Err(e) => {
                log::error!("reload failed, keeping the running configuration: {e}");
                return;
            }
        };
        let old = self.app.config();
        let mut restart = Vec::new();
        let s = (&old.server, &config.server);
        if s.0.listen != s.1.listen {
            restart.push("server.listen");
        }
        if old.xcp.listen != config.xcp.listen {
            restart.push("xcp.listen");
        }
        if old.listeners != config.listeners {
            restart.push("listener (address, serve, tls files, hsts)");
        }
        if s.0.workers != s.1.workers {
            restart.push("server.workers");
        }
        if s.0.queue_depth != s.1.queue_depth {
            restart.push("server.queue_depth");
        }
        if s.0.public_url != s.1.public_url || s.0.files_url != s.1.files_url {
            restart.push("server.public_url/files_url");
        }
        if old.storage.data_dir != config.storage.data_dir
            || old.storage.busy_timeout_ms != config.storage.busy_timeout_ms
        {
            restart.push("storage");
        }
        if old.passwords.hash_cost() != config.passwords.hash_cost() {
            restart.push("passwords.argon2_memory_kib/argon2_passes");
        }
        if old.xmlstorage.credential_cache_ttl_secs != config.xmlstorage.credential_cache_ttl_secs {
            restart.push("xmlstorage.credential_cache_ttl_secs");
        }
        let config_keep_days = config.audit.keep_days.get();
        let level = log_level(&config);
        logging::init(level.filter());
        self.server
            .reload(server_options(&config, &self.body_limit));
        self.app
            .set_decode_limit(config.server.max_buffered_bytes.get());
        *self.mailer.write().unwrap_or_else(PoisonError::into_inner) = mail_settings(&config);
        let site = crate::reset::site(&config, &self.app.urls.reset);
        self.reset
            .reload(config.reset.clone(), config.smtp.enabled, site, mails);
        self.app.replace_config(config);
        self.app.replace_policy(policy);
        self.app.audit.set_keep_days(config_keep_days);
        log::info!(
            "reloaded {source}: log level {level:?}, limits, mail, templates and the password \
             policy applied"
        );
        if !restart.is_empty() {
            log::warn!(
                "reload: changes to {} take effect only after a restart",
                restart.join(", ")
            );
        }
    }
}

fn secs(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
