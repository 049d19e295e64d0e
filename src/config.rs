//! The configuration file: TOML, every table `deny_unknown_fields`, every key defaulted so that
//! no file at all is a valid configuration (the embedded defaults).
//!
//! Errors name the file, line, column and the dotted key, because an operator editing
//! `/etc/passlink/passlink.toml` over ssh needs to know exactly where to look.

use std::fmt;
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use crate::secret::Secret;

mod listeners;
mod warnings;
pub use listeners::{Group, ListenAddress, ListenerConfig, TlsFiles};

/// Where the packaged config lives; used when no `--config` or `PASSLINK_CONFIG` is given.
pub const SYSTEM_CONFIG_PATH: &str = "/etc/passlink/passlink.toml";

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub log: LogConfig,
    pub smtp: SmtpConfig,
    pub xmlstorage: XmlStorageConfig,
    pub xcp: XcpConfig,
    pub reset: ResetConfig,
    pub passwords: PasswordsConfig,
    pub audit: AuditConfig,
    /// `[[listener]]` tables; none means `server.listen` serves everything.
    #[serde(rename = "listener", skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<ListenerConfig>,
}

/// What a new password must be: how hard to guess (zxcvbn's score), and not on the operator's
/// blocklist.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordsConfig {
    /// zxcvbn's score, 0 (anything) to 4 (very hard to guess), that a new password needs.
    pub min_score: u8,
    /// Passwords no login may take: one per line, plain text or SHA-1 hex as Have I Been Pwned
    /// publishes them (`HASH:count`). Reloaded with the config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocklist_file: Option<PathBuf>,
    /// argon2id's memory per hash, KiB, for new hashes; stored ones are upgraded at the next
    /// successful login.
    pub argon2_memory_kib: u32,
    /// argon2id's passes for new hashes.
    pub argon2_passes: u32,
}

impl Default for PasswordsConfig {
    fn default() -> Self {
        let cost = crate::hash_cost::HashCost::default();
        PasswordsConfig {
            min_score: 3,
            blocklist_file: None,
            argon2_memory_kib: cost.memory_kib,
            argon2_passes: cost.passes,
        }
    }
}

impl PasswordsConfig {
    pub fn hash_cost(&self) -> crate::hash_cost::HashCost {
        crate::hash_cost::HashCost {
            memory_kib: self.argon2_memory_kib,
            passes: self.argon2_passes,
        }
    }
}

/// The audit trail of credential events (`passlink audit`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Days an event is kept; housekeeping deletes older ones.
    pub keep_days: NonZeroU32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            keep_days: nz_u32(365),
        }
    }
}

/// The memory passlink allows itself for argon2's work areas, all of them together (one per
/// core is held for the life of the server), or the defaults' share on a machine with so many
/// cores that they need more.
const ARGON2_BUDGET_KIB: u64 = 96 * 1024;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResetConfig {
    /// How long a reset link works.
    pub ttl_secs: NonZeroU64,
    /// Links per login per hour; further requests get the same answer and no mail.
    pub max_per_login_per_hour: u32,
    /// Per client IP token bucket for "mail my password" requests: this many at once, refilled
    /// at `ip_refill_per_minute`.
    pub ip_burst: NonZeroU32,
    pub ip_refill_per_minute: NonZeroU32,
    /// Invalid reset-link hits per IP per minute before the page answers 429.
    pub invalid_hits_per_minute: NonZeroU32,
    /// `reset.txt` and `reset.html` here replace the built-in mail templates (`reset.de.txt`
    /// and so on for one language).
    pub templates_dir: PathBuf,
    /// The language of mails to a login that chose none and has no reseller's language, and
    /// of pages when the browser asks for no shipped language: a tag such as `de` or `pt-BR`.
    pub language: String,
}

impl Default for ResetConfig {
    fn default() -> Self {
        ResetConfig {
            ttl_secs: nz_u64(1800),
            max_per_login_per_hour: 3,
            ip_burst: nz_u32(10),
            ip_refill_per_minute: nz_u32(10),
            invalid_hits_per_minute: nz_u32(30),
            templates_dir: PathBuf::from("/etc/passlink/templates"),
            language: "en".to_string(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Base of every link passlink hands out. Derived from `listen` when absent.
    #[serde(
        deserialize_with = "de_public_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub public_url: Option<String>,
    /// Base URL for users' stored files, to serve them from a separate origin. Defaults to
    /// `public_url`.
    #[serde(
        deserialize_with = "de_public_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub files_url: Option<String>,
    /// Worker threads; 0 means three per CPU core.
    pub workers: usize,
    pub queue_depth: NonZeroUsize,
    pub max_connections: NonZeroUsize,
    pub max_connections_per_ip: NonZeroU32,
    pub max_body_bytes: NonZeroU64,
    /// Bytes of request heads and bodies held at once across all connections; one client
    /// address may hold a quarter (or one largest request). Decoding XML bodies into values
    /// may take as much again.
    pub max_buffered_bytes: NonZeroU64,
    /// The slowest a body may arrive on average, in bytes per second; 0 turns it off.
    pub body_min_bytes_per_sec: u64,
    pub head_timeout_secs: NonZeroU64,
    pub read_timeout_secs: NonZeroU64,
    pub write_timeout_secs: NonZeroU64,
    pub keepalive_timeout_secs: NonZeroU64,
    pub shutdown_grace_secs: NonZeroU64,
    /// Reverse proxies (address blocks) whose `client_ip_header` is believed. Empty: every
    /// peer is the client itself.
    pub trusted_proxies: Vec<crate::http::Cidr>,
    /// The one header a trusted proxy names the client in; every other forwarding header is
    /// ignored, since proxies pass the client's own through untouched.
    pub client_ip_header: crate::http::ClientIpHeader,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 5445)),
            public_url: None,
            files_url: None,
            workers: 0,
            queue_depth: nz_usize(1024),
            max_connections: nz_usize(4096),
            max_connections_per_ip: nz_u32(256),
            max_body_bytes: nz_u64(8 * 1024 * 1024),
            max_buffered_bytes: nz_u64(32 * 1024 * 1024),
            body_min_bytes_per_sec: 16 * 1024,
            head_timeout_secs: nz_u64(10),
            read_timeout_secs: nz_u64(30),
            write_timeout_secs: nz_u64(30),
            keepalive_timeout_secs: nz_u64(30),
            shutdown_grace_secs: nz_u64(10),
            trusted_proxies: Vec::new(),
            client_ip_header: crate::http::ClientIpHeader::default(),
        }
    }
}

impl ServerConfig {
    /// The worker pool size, resolving 0 to three per core: argon2 may hold at most two per
    /// core (one running, one waiting), so one per core is always free for requests that
    /// need no hashing. More workers only add threads competing for the same cores (measured:
    /// p99 of cached logins 5.1 ms with eight on two cores, 4.6 ms with six).
    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            return self.workers;
        }
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        3 * cores
    }
}

/// The base URLs passlink writes into what it hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrls {
    /// Reset links (`{reset}/reset/<token>`).
    pub reset: String,
    /// Users' files (`urlList`, `yourUpstreamFolderUrl`).
    pub files: String,
    /// The xmlStorageSystem endpoints (the WSDL's SOAP address).
    pub xmlstorage: String,
}

impl Config {
    /// The listeners in effect: the `[[listener]]` tables, or else `server.listen` serving
    /// every group and each `xcp.listen` address serving XCP alone.
    pub fn effective_listeners(&self) -> Vec<ListenerConfig> {
        if !self.listeners.is_empty() {
            return self.listeners.clone();
        }
        std::iter::once(ListenerConfig {
            address: ListenAddress::Tcp(self.server.listen),
            serve: Group::ALL.to_vec(),
            tls: None,
        })
        .chain(self.xcp.listen.iter().map(|addr| ListenerConfig {
            address: ListenAddress::Tcp(*addr),
            serve: vec![Group::Xcp],
            tls: None,
        }))
        .collect()
    }

    /// How the client address is decided, in words, for `check-config`: which header is read,
    /// from which peers. An operator reads this to see that it matches what their proxy sets.
    pub fn client_address_summary(&self) -> String {
        let mut trusted: Vec<String> = self
            .server
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        if self
            .effective_listeners()
            .iter()
            .any(|l| matches!(l.address, ListenAddress::Unix(_)))
        {
            trusted.push("a unix socket".into());
        }
        let header = self.server.client_ip_header;
        if trusted.is_empty() {
            return format!(
                "the connection's peer, always (no trusted_proxies, so {header} is never read)"
            );
        }
        format!(
            "{header} (the scheme from {}) when the peer is {}; else the peer itself",
            header.scheme_source(),
            one_of(&trusted)
        )
    }

    /// [`Config::public_urls`] from the configured addresses, for a command that binds
    /// nothing (`check-config`, the importers, `reset-link`); port 0 stays 0.
    pub fn configured_urls(&self) -> PublicUrls {
        let addresses: Vec<Option<SocketAddr>> = self
            .effective_listeners()
            .iter()
            .map(|l| match l.address {
                ListenAddress::Tcp(addr) => Some(addr),
                ListenAddress::Unix(_) => None,
            })
            .collect();
        self.public_urls(&addresses)
    }

    /// The base URLs: `public_url` (and `files_url`) where set, else derived from the first
    /// listener that serves the group, `https` when it has TLS. `bound[i]` is the address
    /// listener `i` actually got (`None` for a unix socket), so port 0 works.
    pub fn public_urls(&self, bound: &[Option<SocketAddr>]) -> PublicUrls {
        let listeners = self.effective_listeners();
        let derive = |group: Group| -> String {
            if let Some(url) = &self.server.public_url {
                return url.trim_end_matches('/').to_string();
            }
            listeners
                .iter()
                .zip(bound)
                .find(|(l, _)| l.serves(group))
                .and_then(|(l, addr)| addr.map(|a| format!("{}://{a}", l.scheme())))
                // Nothing to derive from (check_rules refuses a unix socket without
                // public_url); the first TCP address is the best guess.
                .or_else(|| bound.iter().flatten().next().map(|a| format!("http://{a}")))
                .unwrap_or_else(|| format!("http://{}", self.server.listen))
        };
        let files = match &self.server.files_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => derive(Group::Files),
        };
        PublicUrls {
            reset: derive(Group::Reset),
            files,
            xmlstorage: derive(Group::Xmlstorage),
        }
    }
}

/// The xmlStorageSystem service: quotas, the extension allowlist, and what
/// `getServerCapabilities` advertises.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct XmlStorageConfig {
    pub max_file_size: NonZeroU64,
    pub max_bytes_per_user: NonZeroU64,
    /// Lower-case extensions without the dot. Files with other extensions are refused.
    pub legal_file_extensions: Vec<String>,
    /// How long a verified credential is remembered, sparing an argon2 verification per call.
    pub credential_cache_ttl_secs: u64,
    /// `community.name` in getServerCapabilities; Radio UserLand fails without it.
    pub community_name: String,
    pub minutes_between_pings: NonZeroU32,
    /// `messageOfTheDay` in the ping reply's cloudData.
    pub message_of_the_day: String,
    /// Register no more users than this (0 = no limit).
    pub max_users: u64,
}

impl Default for XmlStorageConfig {
    fn default() -> Self {
        XmlStorageConfig {
            max_file_size: nz_u64(1024 * 1024),
            max_bytes_per_user: nz_u64(40 * 1024 * 1024),
            legal_file_extensions: [
                "css", "htm", "html", "opml", "text", "rss", "txt", "svg", "xml", "root", "pdf",
                "doc", "xls", "ppt", "ftsc", "fttb", "gif", "ico", "jpeg", "jpg", "png", "wav",
                "swf", "sit", "hqx", "gz", "zip",
            ]
            .iter()
            .map(|e| e.to_string())
            .collect(),
            credential_cache_ttl_secs: 300,
            community_name: "passlink community server".to_string(),
            minutes_between_pings: nz_u32(20),
            message_of_the_day: String::new(),
            max_users: 0,
        }
    }
}

impl XmlStorageConfig {
    pub fn allows_extension(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => self
                .legal_file_extensions
                .iter()
                .any(|legal| legal.eq_ignore_ascii_case(ext)),
            _ => false,
        }
    }
}

/// The OpenSRS XCP service.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct XcpConfig {
    /// Extra addresses that serve XCP alone (OpenSRS clients expect a port of their own,
    /// 55443 by convention). `server.listen` serves XCP at `POST /` in any case. One address
    /// or a list.
    #[serde(deserialize_with = "de_one_or_many")]
    pub listen: Vec<SocketAddr>,
    /// Length bounds for domain-owner and sub-user passwords.
    pub password_min_length: NonZeroUsize,
    pub password_max_length: NonZeroUsize,
    /// How long a cookie from `set cookie` stays valid.
    pub cookie_ttl_secs: NonZeroU64,
}

impl Default for XcpConfig {
    fn default() -> Self {
        XcpConfig {
            listen: Vec::new(),
            password_min_length: nz_usize(10),
            password_max_length: nz_usize(20),
            cookie_ttl_secs: nz_u64(7200),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Holds `passlink.sqlite3` (and later the mail spool). Relative paths are taken from the
    /// working directory at start.
    pub data_dir: PathBuf,
    pub busy_timeout_ms: NonZeroU64,
    /// A cap on the database file's size; writes beyond it fail cleanly, reads go on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_db_bytes: Option<NonZeroU64>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("./passlink-data"),
            busy_timeout_ms: nz_u64(5000),
            max_db_bytes: None,
        }
    }
}

impl StorageConfig {
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("passlink.sqlite3")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }

    pub fn parse(text: &str) -> Option<LogLevel> {
        match text.trim().to_ascii_lowercase().as_str() {
            "error" => Some(LogLevel::Error),
            "warn" | "warning" => Some(LogLevel::Warn),
            "info" => Some(LogLevel::Info),
            "debug" => Some(LogLevel::Debug),
            "trace" => Some(LogLevel::Trace),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Overridden by the `PASSLINK_LOG` environment variable.
    pub level: LogLevel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    #[default]
    Starttls,
    Tls,
    None,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// `false` turns mail off: nobody can ask for a reset link.
    pub enabled: bool,
    /// No host means mail is written to the spool directory instead of being sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Defaults by `security`: 587 for starttls, 465 for tls, 25 for none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    pub security: SmtpSecurity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// Read the password from this file instead (systemd `LoadCredential=`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    pub from: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helo: Option<String>,
    /// Turning certificate checks off must be explicit; it is never implied.
    pub accept_invalid_certs: bool,
    pub timeout_secs: NonZeroU64,
    /// The first retry of an undelivered message waits this long; each further one twice as
    /// long, up to an hour.
    pub retry_first_secs: NonZeroU64,
    /// How long a message is retried before it is marked failed.
    pub retry_horizon_secs: NonZeroU64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            enabled: true,
            host: None,
            port: None,
            security: SmtpSecurity::default(),
            username: None,
            password: None,
            password_file: None,
            from: "passlink@localhost".to_string(),
            helo: None,
            accept_invalid_certs: false,
            timeout_secs: nz_u64(30),
            retry_first_secs: nz_u64(60),
            retry_horizon_secs: nz_u64(24 * 3600),
        }
    }
}

impl SmtpConfig {
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        })
    }
}

/// Where the effective configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Defaults,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Defaults => f.write_str("embedded defaults"),
        }
    }
}

#[derive(Debug)]
pub enum ConfigError {
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A syntax, type or unknown-key error at a place in the file.
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        key: String,
        message: String,
    },
    /// Two keys that cannot be given together, each with its place in the file.
    Conflict {
        path: PathBuf,
        /// Key, line and column of each (boxed: this error travels in every `Result`).
        places: Box<[(String, (usize, usize)); 2]>,
        message: String,
    },
    /// A rule that spans keys, or a file a key points to.
    Semantic {
        path: String,
        key: String,
        message: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, error } => {
                write!(f, "{}: cannot read config file: {error}", path.display())
            }
            ConfigError::Invalid {
                path,
                line,
                column,
                key,
                message,
            } => {
                let key = if key.is_empty() { "(top level)" } else { key };
                write!(
                    f,
                    "{}:{line}:{column}: key `{key}`: {message}",
                    path.display()
                )
            }
            ConfigError::Conflict {
                path,
                places,
                message,
            } => {
                let [(first, (l1, c1)), (second, (l2, c2))] = &**places;
                let path = path.display();
                write!(
                    f,
                    "{path}:{l1}:{c1}: key `{first}` and {path}:{l2}:{c2}: key `{second}`: {message}"
                )
            }
            ConfigError::Semantic { path, key, message } => {
                write!(f, "{path}: key `{key}`: {message}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Finds and loads the configuration: an explicit path (from `--config` or
    /// `PASSLINK_CONFIG`), else the system file if it exists, else the embedded defaults.
    pub fn load(explicit: Option<&Path>) -> Result<(Config, Source), ConfigError> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None => {
                let system = PathBuf::from(SYSTEM_CONFIG_PATH);
                if !system.exists() {
                    return Ok((Config::default(), Source::Defaults));
                }
                system
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|error| ConfigError::Read {
            path: path.clone(),
            error,
        })?;
        let config = Config::parse(&text, &path)?;
        Ok((config, Source::File(path)))
    }

    /// Parses and validates config text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let deserializer =
            toml::Deserializer::parse(text).map_err(|e| invalid(path, text, "", &e))?;
        let mut config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let key = e.path().to_string();
            let key = if key == "." { String::new() } else { key };
            invalid(path, text, &key, e.inner())
        })?;
        config.resolve_secrets(path)?;
        config.check_rules(path)?;
        config.check_listeners(path, text)?;
        Ok(config)
    }

    /// Rules that span keys.
    fn check_rules(&self, path: &Path) -> Result<(), ConfigError> {
        let semantic = |key: &str, message: String| ConfigError::Semantic {
            path: path.display().to_string(),
            key: key.into(),
            message,
        };
        let xcp = &self.xcp;
        if xcp.password_min_length > xcp.password_max_length {
            return Err(semantic(
                "xcp.password_min_length",
                format!(
                    "{} is more than xcp.password_max_length ({})",
                    xcp.password_min_length, xcp.password_max_length
                ),
            ));
        }
        if self.passwords.min_score > 4 {
            return Err(semantic(
                "passwords.min_score",
                format!(
                    "{} is not a zxcvbn score: 0 (accept anything) to 4 (very hard to guess); \
                     the default is 3",
                    self.passwords.min_score
                ),
            ));
        }
        let passwords = &self.passwords;
        if !(1024..=1024 * 1024).contains(&passwords.argon2_memory_kib) {
            return Err(semantic(
                "passwords.argon2_memory_kib",
                format!(
                    "{} KiB is outside 1024 to 1048576 (OWASP: 7168 with 5 passes, 19456 with 2)",
                    passwords.argon2_memory_kib
                ),
            ));
        }
        if !(1..=64).contains(&passwords.argon2_passes) {
            return Err(semantic(
                "passwords.argon2_passes",
                format!("{} is outside 1 to 64", passwords.argon2_passes),
            ));
        }
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let (running, _) = crate::hash_cost::argon2_limits(self.server.worker_count(), cores);
        let total = u64::from(passwords.argon2_memory_kib) * running as u64;
        // The defaults always fit, however many cores.
        let default_total =
            u64::from(crate::hash_cost::HashCost::default().memory_kib) * running as u64;
        let budget = ARGON2_BUDGET_KIB.max(default_total);
        if total > budget {
            return Err(semantic(
                "passwords.argon2_memory_kib",
                format!(
                    "{} KiB per hash × {running} hashes at once (one per core) = {} MiB held for \
                     password hashing, over the {} MiB passlink allows itself; lower \
                     argon2_memory_kib to {} or less and raise argon2_passes instead",
                    passwords.argon2_memory_kib,
                    total / 1024,
                    budget / 1024,
                    budget / running.max(1) as u64
                ),
            ));
        }
        if crate::i18n::Lang::exactly(&self.reset.language).is_none() {
            return Err(semantic(
                "reset.language",
                format!(
                    "{:?} is not a shipped language; the languages are {}",
                    self.reset.language,
                    crate::i18n::Lang::tags().join(", ")
                ),
            ));
        }
        let server = &self.server;
        if server.max_body_bytes > server.max_buffered_bytes {
            return Err(semantic(
                "server.max_buffered_bytes",
                format!(
                    "{} is less than server.max_body_bytes ({}), so the largest body could never \
                     be held; raise max_buffered_bytes or lower max_body_bytes",
                    server.max_buffered_bytes, server.max_body_bytes
                ),
            ));
        }
        let mut seen = vec![self.server.listen];
        for addr in &xcp.listen {
            if addr.port() != 0 && seen.contains(addr) {
                return Err(semantic(
                    "xcp.listen",
                    format!("{addr} is given twice (server.listen and xcp.listen together)"),
                ));
            }
            seen.push(*addr);
        }
        Ok(())
    }

    /// `[[listener]]` against `server.listen` / `xcp.listen`, addresses given twice, and the
    /// public URL a unix socket cannot provide. Conflicts name both places, line and column.
    fn check_listeners(&self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let spans: Spans = toml::from_str(text).unwrap_or_default();
        let at = |span: std::ops::Range<usize>| line_column(text, span.start);
        let conflict =
            |first: (String, (usize, usize)), second: (String, (usize, usize)), message: &str| {
                ConfigError::Conflict {
                    path: path.to_path_buf(),
                    places: Box::new([first, second]),
                    message: message.to_string(),
                }
            };
        if let Some(first) = spans.listener.first() {
            let table = ("listener".to_string(), at(first.address.span()));
            if let Some(listen) = spans.server.as_ref().and_then(|s| s.listen.as_ref()) {
                return Err(conflict(
                    ("server.listen".into(), at(listen.span())),
                    table,
                    "give either server.listen or [[listener]] tables, not both",
                ));
            }
            // `listen = []` (the shipped example's value, and what check-config prints) asks
            // for no XCP address: nothing to conflict with.
            if let Some(listen) = spans
                .xcp
                .as_ref()
                .and_then(|s| s.listen.as_ref())
                .filter(|_| !self.xcp.listen.is_empty())
            {
                return Err(conflict(
                    ("xcp.listen".into(), at(listen.span())),
                    table,
                    "give either xcp.listen or [[listener]] tables (one with serve = [\"xcp\"]), not both",
                ));
            }
        }
        for (i, listener) in self.listeners.iter().enumerate() {
            let place = |i: usize| {
                spans
                    .listener
                    .get(i)
                    .map_or((1, 1), |l| at(l.address.span()))
            };
            if listener.serve.is_empty() {
                return Err(ConfigError::Semantic {
                    path: path.display().to_string(),
                    key: format!("listener[{i}].serve"),
                    message: "serves nothing; list any of xmlstorage, files, xcp, reset, status"
                        .into(),
                });
            }
            if let Some(j) = self.listeners[..i].iter().position(|l| {
                l.address == listener.address
                    && !matches!(l.address, ListenAddress::Tcp(a) if a.port() == 0)
            }) {
                return Err(conflict(
                    (format!("listener[{j}].address"), place(j)),
                    (format!("listener[{i}].address"), place(i)),
                    &format!("{} is given twice", listener.address),
                ));
            }
        }
        let listeners = self.effective_listeners();
        let mut needs: Vec<Group> = Vec::new();
        if self.server.public_url.is_none() {
            needs.extend([Group::Reset, Group::Xmlstorage]);
            if self.server.files_url.is_none() {
                needs.push(Group::Files);
            }
        }
        for group in needs {
            let Some(first) = listeners.iter().find(|l| l.serves(group)) else {
                continue;
            };
            let why = match &first.address {
                ListenAddress::Unix(_) => "a unix socket, from which no URL can be derived",
                ListenAddress::Tcp(addr) if addr.ip().is_unspecified() => {
                    "a wildcard address: every link passlink mails or hands out would point \
                     there, and no client can reach it"
                }
                ListenAddress::Tcp(_) => continue,
            };
            return Err(ConfigError::Semantic {
                path: path.display().to_string(),
                key: "server.public_url".into(),
                message: format!(
                    "required: the first listener that serves {group} is {}, {why} (set the URL \
                     clients use, such as \"https://passlink.example.org\")",
                    first.address
                ),
            });
        }
        Ok(())
    }

    /// Turns `*_file` keys into the secrets they point at, so the rest of the program sees one
    /// field.
    fn resolve_secrets(&mut self, path: &Path) -> Result<(), ConfigError> {
        let smtp = &mut self.smtp;
        if let Some(file) = smtp.password_file.as_ref() {
            if smtp.password.is_some() {
                return Err(ConfigError::Semantic {
                    path: path.display().to_string(),
                    key: "smtp.password_file".into(),
                    message: "give either `smtp.password` or `smtp.password_file`, not both".into(),
                });
            }
            smtp.password =
                Some(
                    read_secret_file(file).map_err(|message| ConfigError::Semantic {
                        path: path.display().to_string(),
                        key: "smtp.password_file".into(),
                        message,
                    })?,
                );
        }
        Ok(())
    }
}

/// Reads a secret from a file, dropping one trailing newline (editors and `echo` add one).
pub fn read_secret_file(file: &Path) -> Result<Secret, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read secret file {}: {e}", file.display()))?;
    let text = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if text.is_empty() {
        return Err(format!("secret file {} is empty", file.display()));
    }
    Ok(Secret::new(text))
}

fn invalid(path: &Path, text: &str, key: &str, error: &toml::de::Error) -> ConfigError {
    let (line, column) = error
        .span()
        .map_or((1, 1), |span| line_column(text, span.start));
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        key: key.to_string(),
        message: error.message().trim().to_string(),
    }
}

/// Where `server.listen`, `xcp.listen` and each listener's address are in the file, for
/// errors that name two places. Unknown keys are ignored here: the real parse checks them.
#[derive(Default, Deserialize)]
struct Spans {
    #[serde(default)]
    server: Option<ListenSpan>,
    #[serde(default)]
    xcp: Option<ListenSpan>,
    #[serde(default)]
    listener: Vec<AddressSpan>,
}

#[derive(Deserialize)]
struct ListenSpan {
    listen: Option<toml::Spanned<toml::Value>>,
}

#[derive(Deserialize)]
struct AddressSpan {
    address: toml::Spanned<toml::Value>,
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// `a`, `a or b`, `a, b or c`.
fn one_of(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// `"addr"` or `["addr", …]`.
fn de_one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SocketAddr>, D::Error> {
    #[derive(Deserialize)]
    #[serde(
        untagged,
        expecting = "an address such as \"0.0.0.0:55443\", or a list of them"
    )]
    enum OneOrMany {
        One(SocketAddr),
        Many(Vec<SocketAddr>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(addr) => vec![addr],
        OneOrMany::Many(list) => list,
    })
}

fn de_public_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let url = String::deserialize(d)?;
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !url.chars().any(char::is_whitespace) => Ok(Some(url)),
        _ => Err(serde::de::Error::custom(
            "expected an absolute http:// or https:// URL, such as \"https://passlink.example.org\"",
        )),
    }
}

// Const-friendly constructors for the defaults above; the literals are all non-zero.
fn nz_u64(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).unwrap_or(NonZeroU64::MIN)
}
fn nz_u32(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}
fn nz_usize(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/passlink/passlink.toml"))
    }

    #[test]
    fn empty_file_is_the_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:5445");
        assert_eq!(config.storage.data_dir, PathBuf::from("./passlink-data"));
        assert_eq!(config.server.max_body_bytes.get(), 8 * 1024 * 1024);
    }

    #[test]
    fn misspelled_key_names_line_column_and_key() {
        let err = parse("[server]\nworkers = 2\nlisen = \"127.0.0.1:1\"\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("/etc/passlink/passlink.toml:3:1: key `server"),
            "{text}"
        );
        assert!(text.contains("unknown field `lisen`"), "{text}");
        assert!(text.contains("expected one of"), "{text}");
    }

    #[test]
    fn wrong_type_names_the_dotted_key() {
        let err = parse("[server]\n\nworkers = \"many\"\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("/etc/passlink/passlink.toml:3:11: key `server.workers`"),
            "{text}"
        );
        assert!(text.contains("invalid type"), "{text}");
    }

    #[test]
    fn listener_tables() {
        let config = parse(
            "[[listener]]\naddress = \"0.0.0.0:55443\"\nserve = [\"xcp\"]\n\
             tls = { cert_file = \"/etc/passlink/tls/fullchain.pem\", key_file = \"/k.pem\" }\n\
             [[listener]]\naddress = \"unix:/run/passlink/passlink.sock\"\n\
             serve = [\"xmlstorage\", \"files\", \"reset\", \"status\"]\n\
             [server]\npublic_url = \"https://pl.example.org\"\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n",
        )
        .unwrap();
        let listeners = config.effective_listeners();
        assert_eq!(listeners.len(), 2);
        assert_eq!(listeners[0].scheme(), "https");
        assert!(listeners[0].serves(Group::Xcp) && !listeners[0].serves(Group::Reset));
        assert_eq!(
            listeners[1].address,
            ListenAddress::Unix("/run/passlink/passlink.sock".into())
        );
        assert_eq!(config.server.trusted_proxies.len(), 2);
        let text = toml::to_string(&config).unwrap();
        assert!(text.contains("[[listener]]"), "{text}");
    }

    #[test]
    fn no_listener_table_means_server_listen_serves_everything() {
        let config = parse("[xcp]\nlisten = \"127.0.0.1:55443\"\n").unwrap();
        let listeners = config.effective_listeners();
        assert_eq!(listeners[0].serve, Group::ALL);
        assert_eq!(listeners[1].serve, [Group::Xcp]);
        let bound = [Some("127.0.0.1:5445".parse().unwrap()), None];
        assert_eq!(config.public_urls(&bound).reset, "http://127.0.0.1:5445");
    }

    #[test]
    fn urls_come_from_the_first_listener_serving_the_group() {
        let config = parse(
            "[[listener]]\naddress = \"127.0.0.1:0\"\nserve = [\"xmlstorage\", \"files\"]\n\
             [[listener]]\naddress = \"127.0.0.1:0\"\nserve = [\"reset\"]\n\
             tls = { cert_file = \"/c\", key_file = \"/k\" }\n",
        )
        .unwrap();
        let bound = [
            Some("127.0.0.1:8080".parse().unwrap()),
            Some("127.0.0.1:8443".parse().unwrap()),
        ];
        let urls = config.public_urls(&bound);
        assert_eq!(urls.files, "http://127.0.0.1:8080");
        assert_eq!(urls.xmlstorage, "http://127.0.0.1:8080");
        assert_eq!(urls.reset, "https://127.0.0.1:8443");
    }

    #[test]
    fn listener_errors_name_both_places() {
        let err = parse(
            "[server]\nlisten = \"127.0.0.1:5445\"\n\n[[listener]]\naddress = \"127.0.0.1:5446\"\nserve = [\"status\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "/etc/passlink/passlink.toml:2:10: key `server.listen` and \
             /etc/passlink/passlink.toml:5:11: key `listener`: give either server.listen or \
             [[listener]] tables, not both"
        );
        let err = parse(
            "[[listener]]\naddress = \"127.0.0.1:5446\"\nserve = [\"status\"]\n\
             [[listener]]\naddress = \"127.0.0.1:5446\"\nserve = [\"xcp\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(":2:11: key `listener[0].address` and")
                && err.contains(":5:11: key `listener[1].address`")
                && err.contains("given twice"),
            "{err}"
        );
        // An empty xcp.listen is no XCP address, so no conflict; a non-empty one is.
        let config = parse(
            "[xcp]\nlisten = []\n\n[[listener]]\naddress = \"127.0.0.1:5446\"\nserve = [\"xcp\"]\n",
        )
        .unwrap();
        assert_eq!(config.effective_listeners().len(), 1);
        let err = parse(
            "[xcp]\nlisten = [\"127.0.0.1:55443\"]\n\n[[listener]]\naddress = \"127.0.0.1:5446\"\nserve = [\"xcp\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(":2:10: key `xcp.listen` and") && err.contains(":5:11: key `listener`"),
            "{err}"
        );
        let err = parse("[[listener]]\naddress = \"unix:/run/p.sock\"\nserve = [\"reset\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("server.public_url") && err.contains("unix socket"),
            "{err}"
        );
        let err = parse("[[listener]]\naddress = \"127.0.0.1:1\"\nserve = []\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("listener[0].serve"), "{err}");
        let err = parse("[[listener]]\naddress = \"127.0.0.1:1\"\nserve = [\"web\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("listener[0].serve"), "{err}");
        let err = parse("[[listener]]\naddress = \"unix:relative\"\nserve = [\"xcp\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("absolute path"), "{err}");
        let err = parse("[server]\ntrusted_proxies = [\"10.0.0.0/40\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.trusted_proxies"), "{err}");
    }

    #[test]
    fn client_ip_header_is_one_of_three_and_summarised() {
        use crate::http::ClientIpHeader;
        let config = parse("").unwrap();
        assert_eq!(
            config.server.client_ip_header,
            ClientIpHeader::XForwardedFor
        );
        assert_eq!(
            config.client_address_summary(),
            "the connection's peer, always (no trusted_proxies, so X-Forwarded-For is never read)"
        );
        for (text, choice) in [
            ("x-forwarded-for", ClientIpHeader::XForwardedFor),
            ("forwarded", ClientIpHeader::Forwarded),
            ("x-real-ip", ClientIpHeader::XRealIp),
        ] {
            let config = parse(&format!("[server]\nclient_ip_header = \"{text}\"\n")).unwrap();
            assert_eq!(config.server.client_ip_header, choice);
            // check-config prints it back as given.
            let printed = toml::to_string(&config).unwrap();
            assert!(
                printed.contains(&format!("client_ip_header = \"{text}\"")),
                "{printed}"
            );
        }
        let config = parse(
            "[server]\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\nclient_ip_header = \"forwarded\"\n",
        )
        .unwrap();
        assert_eq!(
            config.client_address_summary(),
            "Forwarded (the scheme from its proto=) when the peer is 127.0.0.1/32 or ::1/128; \
             else the peer itself"
        );
        let config = parse(
            "[server]\npublic_url = \"https://pl.example.org\"\nclient_ip_header = \"x-real-ip\"\n\
             [[listener]]\naddress = \"unix:/run/passlink/passlink.sock\"\nserve = [\"reset\"]\n",
        )
        .unwrap();
        assert_eq!(
            config.client_address_summary(),
            "X-Real-IP (the scheme from X-Forwarded-Proto) when the peer is a unix socket; \
             else the peer itself"
        );
        // A header name as HTTP spells it, or one passlink does not read, names the choices.
        for wrong in ["X-Forwarded-For", "x-client-ip"] {
            let err = parse(&format!("[server]\n\nclient_ip_header = \"{wrong}\"\n"))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("/etc/passlink/passlink.toml:3:20: key `server.client_ip_header`")
                    && err.contains("`x-forwarded-for`, `forwarded`, `x-real-ip`"),
                "{err}"
            );
        }
    }

    #[test]
    fn xcp_listeners_one_or_many_and_never_twice() {
        let one = parse("[xcp]\nlisten = \"0.0.0.0:55443\"\n").unwrap();
        assert_eq!(one.xcp.listen, ["0.0.0.0:55443".parse().unwrap()]);
        let many = parse("[xcp]\nlisten = [\"0.0.0.0:55443\", \"[::]:55443\"]\n").unwrap();
        assert_eq!(many.xcp.listen.len(), 2);
        let err = parse("[xcp]\nlisten = \"nowhere\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("xcp.listen") && err.contains("a list of them"),
            "{err}"
        );
        let err =
            parse("[server]\nlisten = \"127.0.0.1:5445\"\n[xcp]\nlisten = \"127.0.0.1:5445\"\n")
                .unwrap_err()
                .to_string();
        assert!(err.contains("xcp.listen") && err.contains("twice"), "{err}");
        let err = parse("[xcp]\npassword_min_length = 30\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("xcp.password_min_length"), "{err}");
    }

    #[test]
    fn zero_timeout_is_rejected() {
        let err = parse("[server]\nhead_timeout_secs = 0\n").unwrap_err();
        assert!(
            err.to_string().contains("server.head_timeout_secs"),
            "{err}"
        );
        assert!(err.to_string().contains("nonzero"), "{err}");
    }

    #[test]
    fn public_url_must_be_http() {
        let err = parse("[server]\npublic_url = \"ftp://x\"\n").unwrap_err();
        assert!(err.to_string().contains("server.public_url"), "{err}");
        let ok = parse("[server]\npublic_url = \"https://pl.example.org/\"\n").unwrap();
        let bound = [Some(SocketAddr::from(([127, 0, 0, 1], 1)))];
        assert_eq!(ok.public_urls(&bound).reset, "https://pl.example.org");
    }

    #[test]
    fn public_url_derives_from_bound_address() {
        let config = parse("").unwrap();
        let bound = [Some(SocketAddr::from(([127, 0, 0, 1], 40123)))];
        assert_eq!(config.public_urls(&bound).reset, "http://127.0.0.1:40123");
    }

    #[test]
    fn secret_never_prints() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        let config = parse("[smtp]\npassword = \"hunter2\"\n").unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(!toml::to_string(&config).unwrap().contains("hunter2"));
        assert_eq!(config.smtp.password.unwrap().expose(), "hunter2");
    }

    #[test]
    fn password_file_is_read_and_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("smtp-password");
        std::fs::write(&file, "s3cret\n").unwrap();
        let text = format!("[smtp]\npassword_file = {:?}\n", file.display().to_string());
        let config = parse(&text).unwrap();
        assert_eq!(config.smtp.password.unwrap().expose(), "s3cret");

        let both = format!("{text}password = \"x\"\n");
        let err = parse(&both).unwrap_err().to_string();
        assert!(err.contains("not both"), "{err}");

        let missing = "[smtp]\npassword_file = \"/nonexistent/pw\"\n";
        let err = parse(missing).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/pw"), "{err}");
    }

    #[test]
    fn smtp_port_follows_security() {
        let config = parse("[smtp]\nsecurity = \"tls\"\n").unwrap();
        assert_eq!(config.smtp.effective_port(), 465);
        let err = parse("[smtp]\nsecurity = \"ssl\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("smtp.security"), "{err}");
    }
}
