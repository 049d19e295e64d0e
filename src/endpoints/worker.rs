//! The state request handlers work with: [`Shared`], fixed for the life of the process, and
//! each worker thread's [`Worker`], which adds its own database connection. Only the
//! endpoints layer (and the start-up code that builds these) sees them; the code below takes
//! the narrow handles it needs.

use std::sync::{Arc, PoisonError, RwLock};

use rusqlite::Connection;

use crate::audit::failed::Trail;
use crate::config::{Config, PublicUrls};
use crate::credentials::Credentials;
use crate::http;
use crate::i18n::Catalogues;
use crate::logins::strength::Policy;
use crate::logins::throttle::LoginThrottle;
use crate::reset::ResetLinks;
use crate::reset::limits::Throttle;
use crate::xss::notify::Notifier;

/// What every request handler may read: fixed for the life of the process.
pub struct Shared {
    /// Replaced as a whole by a reload (SIGHUP); read it through [`Shared::config`].
    config: RwLock<Arc<Config>>,
    /// Base URLs of reset links, users' files and the xmlStorageSystem endpoints, without a
    /// trailing slash.
    pub urls: PublicUrls,
    /// argon2id hashing and the verified-credential cache, shared by all workers.
    pub credentials: Credentials,
    /// Change notifications for rssCloud subscribers, delivered by a background thread.
    pub notifier: Notifier,
    /// Password reset links, for every "mail my password" entry point.
    pub reset: Arc<dyn ResetLinks>,
    /// Invalid reset links opened, per address.
    pub reset_hits: Throttle,
    /// The HTTP layer's counters (connections, full queue, TLS failures), for `/metrics`.
    pub http_stats: Arc<http::Stats>,
    /// Memory for the values request bodies decode into, shared by all workers (as much as
    /// `server.max_buffered_bytes`): see [`Shared::decode_memory`].
    decode_pool: Arc<http::Budget>,
    /// What a new password must be; replaced by a reload like the config.
    policy: RwLock<Arc<Policy>>,
    /// Consecutive failed logins, per login, for the waits that limit guessing.
    pub throttle: LoginThrottle,
    /// The audit trail's failed-login counts and retention.
    pub audit: Arc<Trail>,
    /// What users read, in their language.
    pub catalogues: Arc<Catalogues>,
}

impl Shared {
    // Each argument is one of the parts `serve` starts, in the order it starts them; a struct
    // of them would only repeat this list.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: Config,
        urls: PublicUrls,
        credentials: Credentials,
        notifier: Notifier,
        reset: Arc<dyn ResetLinks>,
        policy: Policy,
        audit: Arc<Trail>,
        catalogues: Arc<Catalogues>,
    ) -> Shared {
        Shared {
            catalogues,
            audit,
            policy: RwLock::new(Arc::new(policy)),
            throttle: LoginThrottle::default(),
            decode_pool: http::Budget::total_only(config.server.max_buffered_bytes.get()),
            config: RwLock::new(Arc::new(config)),
            urls,
            credentials,
            notifier,
            reset,
            reset_hits: Throttle::default(),
            http_stats: Arc::new(http::Stats::default()),
        }
    }

    /// Puts a reloaded configuration in effect for the requests that start from now on.
    pub fn replace_config(&self, config: Config) {
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
    }

    /// A reload's new `server.max_buffered_bytes`, for the memory decodes share.
    pub fn set_decode_limit(&self, bytes: u64) {
        self.decode_pool.set_limits(bytes, u64::MAX);
    }

    /// A hold on the memory shared by all decodes, for one request's decode: take from it with
    /// [`crate::xml::Allowance::with_pool`]; what it took is given back when it is dropped.
    pub fn decode_memory(&self) -> http::Hold {
        http::Hold::new(&self.decode_pool, None)
    }

    /// A reloaded password policy (the blocklist read again).
    pub fn replace_policy(&self, policy: Policy) {
        *self.policy.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(policy);
    }

    /// The password policy in effect now.
    pub fn policy(&self) -> Arc<Policy> {
        self.policy
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The configuration in effect now.
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A worker's own context: the shared state and the worker's database connection.
pub struct Worker {
    pub shared: Arc<Shared>,
    pub db: Connection,
    /// The request being served, as `/metrics` counts it (see [`crate::metrics::Note`]).
    pub note: crate::metrics::Note,
}

impl Worker {
    pub fn new(shared: Arc<Shared>, db: Connection) -> Worker {
        Worker {
            shared,
            db,
            note: Default::default(),
        }
    }
}

/// A worker on a fresh migrated database, for unit tests of handlers.
#[cfg(test)]
pub fn test_worker(reset: Arc<dyn ResetLinks>) -> (tempfile::TempDir, Worker) {
    let (dir, db) = crate::db::migrated_temp_db();
    let credentials = Credentials::new(2, std::time::Duration::from_secs(60));
    credentials.prepare_dummy().unwrap();
    let urls = PublicUrls {
        reset: "http://public".into(),
        files: "http://files".into(),
        xmlstorage: "http://public".into(),
    };
    let notifier = Notifier::disconnected();
    let shared = Shared::new(
        Config::default(),
        urls,
        credentials,
        notifier,
        reset,
        Policy::scoring(3),
        Arc::new(Trail::new(365)),
        Catalogues::shared().unwrap(),
    );
    (dir, Worker::new(Arc::new(shared), db))
}
