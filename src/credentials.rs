//! Password hashing and checking for every kind of login: argon2id with a bounded pool of work
//! areas, a verified-credential cache, and the dummy hash that makes an unknown login cost the
//! same as a known one. What a credential *is* (the MD5 hex for xmlStorageSystem, the password
//! for XCP) is the caller's business; this module sees opaque strings.
//!
//! The cache key is a keyed SHA-256 over the account id, the credential *and the stored hash*.
//! A password change writes a new stored hash, so every cached entry for the old one stops
//! matching at once, whichever process changed it (the server, a reset link, the CLI).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use crate::hash_cost::{HashCost, argon2_limits};
use crate::metrics::{Argon2Work, METRICS, RateLimit};

/// How long a request waits for an argon2 slot (if it may wait at all, see `Permits`) before
/// it is told the server is busy.
const PERMIT_WAIT: Duration = Duration::from_secs(2);
/// Beyond this many cached credentials, expired ones are dropped, then all if still full.
const CACHE_CAPACITY: usize = 10_000;

#[derive(Debug)]
pub enum CredentialError {
    /// Every argon2 slot stayed busy for `PERMIT_WAIT`.
    Busy,
    Hash(String),
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialError::Busy => f.write_str("the server is busy; try again shortly"),
            CredentialError::Hash(e) => write!(f, "password hashing failed: {e}"),
        }
    }
}

impl std::error::Error for CredentialError {}

/// The argon2 work area, one per permitted computation: at most that many argon2
/// computations run at once (so a flood of wrong passwords cannot occupy every core and starve
/// other requests), and their memory is allocated once and reused. Allocating 7 MiB per hash
/// left glibc's arenas holding hundreds of MiB after a burst of logins.
struct Permits {
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    free: Vec<Vec<Block>>,
    /// Callers waiting for a work area. At most `capacity` may wait (at most one per work
    /// area, fewer when the worker pool is small); anyone beyond that is told "busy" at once,
    /// so that a flood of logins sheds load in microseconds instead of parking every worker
    /// thread on argon2 (which would starve requests that need no hashing at all).
    waiting: usize,
    capacity: usize,
}

struct Permit<'a> {
    pool: &'a Permits,
    memory: Vec<Block>,
}

impl Permits {
    fn new(count: usize, waiters: usize, blocks: usize) -> Permits {
        Permits {
            state: Mutex::new(PoolState {
                free: (0..count).map(|_| vec![Block::new(); blocks]).collect(),
                waiting: 0,
                capacity: waiters,
            }),
            freed: Condvar::new(),
        }
    }

    fn acquire(&self, wait: Duration) -> Option<Permit<'_>> {
        let deadline = Instant::now() + wait;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(memory) = state.free.pop() {
            return Some(Permit { pool: self, memory });
        }
        if state.waiting >= state.capacity {
            return None;
        }
        state.waiting += 1;
        let memory = loop {
            if let Some(memory) = state.free.pop() {
                break Some(memory);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break None;
            }
            state = self
                .freed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        state.waiting -= 1;
        memory.map(|memory| Permit { pool: self, memory })
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let memory = std::mem::take(&mut self.memory);
        let mut state = self
            .pool
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.free.push(memory);
        self.pool.freed.notify_one();
    }
}

/// The error for a computation refused because every argon2 slot stayed busy, counted as
/// load shedding.
fn shed() -> CredentialError {
    METRICS.rate_limited(RateLimit::Argon2Busy);
    CredentialError::Busy
}

/// Password hashing and checking, shared by all workers.
pub struct Credentials {
    argon2: Argon2<'static>,
    permits: Permits,
    cache_key: [u8; 32],
    cache_ttl: Duration,
    cache: Mutex<HashMap<[u8; 32], Instant>>,
    /// A valid hash that no credential matches, verified for unknown logins so that a login
    /// for an account that does not exist costs the same time as one that does.
    dummy_hash: OnceLock<String>,
    /// How every hash this instance makes begins (`$argon2id$v=19$m=…,t=…,p=…$`).
    own_prefix: String,
}

/// The account a credential is checked against: its id (part of the cache key) and its
/// stored PHC string.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    pub id: i64,
    pub hash: &'a str,
}

/// Whether a successful check is remembered: yes for the xmlStorageSystem calls that repeat
/// the credential on every request, no for a login that opens a session (XCP `set cookie`),
/// where the session, not the password, is what repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    Cached,
    Uncached,
}

impl Credentials {
    /// `concurrency` argon2 computations at once (the core count); verified credentials are
    /// remembered for `cache_ttl` (zero disables the cache).
    pub fn new(concurrency: usize, cache_ttl: Duration) -> Credentials {
        Credentials::with_waiters(concurrency, concurrency, cache_ttl)
    }

    /// [`Credentials::new`] with at most `waiters` callers waiting for a work area (the
    /// server sizes this to its worker pool, see [`argon2_limits`]).
    pub fn with_waiters(concurrency: usize, waiters: usize, cache_ttl: Duration) -> Credentials {
        Credentials::with_cost(concurrency, waiters, cache_ttl, HashCost::default())
    }

    /// [`Credentials::with_waiters`] with the cost new hashes are made with.
    pub fn with_cost(
        concurrency: usize,
        waiters: usize,
        cache_ttl: Duration,
        cost: HashCost,
    ) -> Credentials {
        let params = Params::new(cost.memory_kib, cost.passes, 1, None)
            .unwrap_or_else(|_| Params::default());
        let blocks = params.block_count();
        let mut cache_key = [0u8; 32];
        rand::fill(&mut cache_key);
        let own_prefix = format!(
            "$argon2id$v=19$m={},t={},p={}$",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        );
        Credentials {
            own_prefix,
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            permits: Permits::new(concurrency.max(1), waiters, blocks),
            cache_key,
            cache_ttl,
            cache: Mutex::new(HashMap::new()),
            dummy_hash: OnceLock::new(),
        }
    }

    /// Computes the dummy hash now, so that the first unknown login is not the one that pays
    /// for it (the server calls this at start-up).
    pub fn prepare_dummy(&self) -> Result<(), CredentialError> {
        if self.dummy_hash.get().is_none() {
            let hash = self.hash(&crate::hex::hex(&rand::random::<[u8; 16]>()))?;
            let _ = self.dummy_hash.set(hash);
        }
        Ok(())
    }

    /// Checks `credential` against `account`, or, for a login that matched no account,
    /// against the dummy hash and answers `false`: the same argon2 work either way, so timing
    /// does not tell which logins exist.
    pub fn verify_or_dummy(
        &self,
        account: Option<Stored<'_>>,
        credential: &str,
        caching: Caching,
    ) -> Result<bool, CredentialError> {
        let (account, known) = match account {
            Some(account) => (account, true),
            None => {
                self.prepare_dummy()?;
                // The same path as a real check, the cache lookup (and its miss) included; no
                // credential matches the dummy, so nothing is ever cached for it.
                let dummy = self.dummy_hash.get().map_or("", String::as_str);
                (Stored { id: 0, hash: dummy }, false)
            }
        };
        let verified = match caching {
            Caching::Cached => self.verify(account.id, credential, account.hash)?,
            Caching::Uncached => self.verify_uncached(credential, account.hash)?,
        };
        Ok(known && verified)
    }

    /// Whether `stored` was made with another algorithm or cost than this instance's, and
    /// should be made again from the credential that just verified against it.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        // The common case, checked on every login, costs a prefix comparison: a hash this
        // instance made starts with exactly its own parameters.
        if stored.starts_with(&self.own_prefix) {
            return false;
        }
        let ours = self.argon2.params();
        let Ok(hash) = PasswordHash::new(stored) else {
            return false;
        };
        let Ok(params) = Params::try_from(&hash) else {
            return false;
        };
        hash.algorithm.as_str() != "argon2id"
            || params.m_cost() != ours.m_cost()
            || params.t_cost() != ours.t_cost()
            || params.p_cost() != ours.p_cost()
    }

    /// A verified credential hashed again with this instance's cost; counted as an upgrade.
    pub fn rehash(&self, credential: &str) -> Result<String, CredentialError> {
        self.hash_as(credential, Argon2Work::Rehash)
    }

    /// The argon2id PHC string to store for a credential.
    pub fn hash(&self, credential: &str) -> Result<String, CredentialError> {
        self.hash_as(credential, Argon2Work::Hash)
    }

    fn hash_as(&self, credential: &str, work: Argon2Work) -> Result<String, CredentialError> {
        let mut salt = [0u8; 16];
        rand::fill(&mut salt);
        let mut out = [0u8; 32];
        {
            let mut permit = self.permits.acquire(PERMIT_WAIT).ok_or_else(shed)?;
            let _running = METRICS.argon2(work);
            self.argon2
                .hash_password_into_with_memory(
                    credential.as_bytes(),
                    &salt,
                    &mut out,
                    &mut permit.memory[..],
                )
                .map_err(|e| CredentialError::Hash(e.to_string()))?;
        }
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
        let params = self.argon2.params();
        Ok(format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            base64::Engine::encode(&b64, salt),
            base64::Engine::encode(&b64, out)
        ))
    }

    /// Checks `credential` against `stored` (a PHC string) with no cache: for logins that
    /// open a session (XCP `set cookie`), where the session, not the password, is what repeats.
    /// Hashes made with other parameters (an older release) still verify.
    pub fn verify_uncached(&self, credential: &str, stored: &str) -> Result<bool, CredentialError> {
        let parsed = PasswordHash::new(stored).ok().and_then(|hash| {
            let params = Params::try_from(&hash).ok()?;
            let algorithm = Algorithm::try_from(hash.algorithm.as_str()).ok()?;
            let version = hash
                .version
                .map_or(Ok(Version::V0x13), Version::try_from)
                .ok()?;
            let expected = hash.hash?.as_bytes().to_vec();
            let salt = hash.salt?.as_ref().to_vec();
            Some((algorithm, version, params, salt, expected))
        });
        let Some((algorithm, version, params, salt, expected)) = parsed else {
            log::error!("a stored password hash is not a valid argon2 PHC string");
            return Ok(false);
        };
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let mut out = vec![0u8; expected.len()];
        let computed = {
            let mut permit = self.permits.acquire(PERMIT_WAIT).ok_or_else(shed)?;
            let _running = METRICS.argon2(Argon2Work::Verify);
            if params.block_count() <= permit.memory.len() {
                argon2.hash_password_into_with_memory(
                    credential.as_bytes(),
                    &salt,
                    &mut out,
                    &mut permit.memory[..params.block_count()],
                )
            } else {
                // Larger than this release's own parameters: its own allocation.
                argon2.hash_password_into(credential.as_bytes(), &salt, &mut out)
            }
        };
        Ok(computed.is_ok() && bool::from(out.ct_eq(&expected)))
    }

    /// Whether `credential` verified against `stored` for account `id` recently (a cache hit),
    /// without any argon2 work. The key covers the stored hash, so a hit proves the credential.
    pub fn is_cached(&self, id: i64, credential: &str, stored: &str) -> bool {
        if self.cache_ttl.is_zero() {
            return false;
        }
        let key = self.cache_entry_key(id, credential, stored);
        let now = Instant::now();
        let hit = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .is_some_and(|expires| *expires > now);
        if hit {
            METRICS.credential_cache(true);
        }
        hit
    }

    /// Checks `credential` against `stored` (a PHC string) for account `id`. A match is
    /// cached; a mismatch never is.
    pub fn verify(&self, id: i64, credential: &str, stored: &str) -> Result<bool, CredentialError> {
        let key = self.cache_entry_key(id, credential, stored);
        let now = Instant::now();
        {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if cache.get(&key).is_some_and(|expires| *expires > now) {
                METRICS.credential_cache(true);
                return Ok(true);
            }
        }
        METRICS.credential_cache(false);
        let ok = self.verify_uncached(credential, stored)?;
        if ok && !self.cache_ttl.is_zero() {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if cache.len() >= CACHE_CAPACITY {
                cache.retain(|_, expires| *expires > now);
                if cache.len() >= CACHE_CAPACITY {
                    cache.clear();
                }
            }
            cache.insert(key, now + self.cache_ttl);
        }
        Ok(ok)
    }

    /// Drops every cached verification (on a password change made in this process; entries
    /// for an old stored hash can no longer match anyway).
    pub fn forget_all(&self) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn cache_entry_key(&self, id: i64, credential: &str, stored: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.cache_key);
        h.update(id.to_le_bytes());
        h.update((credential.len() as u64).to_le_bytes());
        h.update(credential.as_bytes());
        h.update(stored.as_bytes());
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_made_with_another_cost_is_upgraded() {
        let old = Credentials::new(1, Duration::ZERO);
        let stored = old.hash("secret").unwrap();
        assert!(!old.needs_rehash(&stored));
        let new = Credentials::with_cost(
            1,
            1,
            Duration::ZERO,
            HashCost {
                memory_kib: 8 * 1024,
                passes: 3,
            },
        );
        assert!(new.needs_rehash(&stored));
        // The old hash still verifies with the new settings; the upgraded one has the new cost.
        assert!(new.verify_uncached("secret", &stored).unwrap());
        let upgraded = new.rehash("secret").unwrap();
        assert!(
            upgraded.starts_with("$argon2id$v=19$m=8192,t=3,p=1$"),
            "{upgraded}"
        );
        assert!(!new.needs_rehash(&upgraded));
        assert!(new.verify_uncached("secret", &upgraded).unwrap());
    }

    #[test]
    fn argon2_never_holds_every_worker() {
        // The default pool, three per core: one running and one waiting per core.
        assert_eq!(argon2_limits(6, 2), (2, 2));
        assert_eq!(argon2_limits(24, 8), (8, 8));
        // Small pools keep `cores` workers (or one) free of argon2.
        assert_eq!(argon2_limits(4, 2), (2, 0));
        assert_eq!(argon2_limits(2, 2), (1, 0));
        assert_eq!(argon2_limits(1, 4), (1, 0));
        assert_eq!(argon2_limits(8, 2), (2, 2));
        for workers in 1..40 {
            for cores in 1..9 {
                let (running, waiting) = argon2_limits(workers, cores);
                assert!(running >= 1 && waiting <= running);
                if workers > 1 {
                    assert!(running + waiting < workers, "{workers} {cores}");
                }
            }
        }
    }

    #[test]
    fn pooled_hashes_verify_and_so_do_hashes_from_the_argon2_crate() {
        use argon2::password_hash::PasswordHasher;
        let c = Credentials::new(2, Duration::ZERO);
        let stored = c.hash("secret").unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"),
            "{stored}"
        );
        assert!(c.verify_uncached("secret", &stored).unwrap());
        assert!(!c.verify_uncached("Secret", &stored).unwrap());
        assert!(!c.verify_uncached("secret", "$argon2id$garbage").unwrap());
        // What releases before the memory pool stored, and other parameters, still verify.
        let params = Params::new(1024, 2, 1, None).unwrap();
        let other = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"secret")
            .unwrap()
            .to_string();
        assert!(c.verify_uncached("secret", &other).unwrap());
        assert!(!c.verify_uncached("nope", &other).unwrap());
    }

    #[test]
    fn hash_verify_and_cache_follow_the_stored_hash() {
        let creds = Credentials::new(2, Duration::from_secs(60));
        let old = creds.hash("aaaa").unwrap();
        assert!(old.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{old}");
        assert!(creds.verify(1, "aaaa", &old).unwrap());
        assert!(!creds.verify(1, "bbbb", &old).unwrap());
        // Cached now; a new stored hash (password change) must not reuse the entry.
        let new = creds.hash("cccc").unwrap();
        assert!(!creds.verify(1, "aaaa", &new).unwrap());
        assert!(creds.verify(1, "cccc", &new).unwrap());
        // Another account with the same credential and hash text is a different entry.
        assert!(creds.verify(2, "cccc", &new).unwrap());
        assert!(!creds.verify(1, "aaaa", "not a phc string").unwrap());
    }

    #[test]
    fn an_unknown_login_costs_a_verification_and_never_matches() {
        let creds = Credentials::new(2, Duration::from_secs(60));
        let stored = creds.hash("aaaa").unwrap();
        let known = Some(Stored {
            id: 1,
            hash: &stored,
        });
        assert!(
            creds
                .verify_or_dummy(known, "aaaa", Caching::Cached)
                .unwrap()
        );
        assert!(
            creds
                .verify_or_dummy(known, "aaaa", Caching::Uncached)
                .unwrap()
        );
        assert!(
            !creds
                .verify_or_dummy(known, "bbbb", Caching::Uncached)
                .unwrap()
        );
        assert!(creds.dummy_hash.get().is_none(), "made only when needed");
        for credential in ["aaaa", "", "anything"] {
            assert!(
                !creds
                    .verify_or_dummy(None, credential, Caching::Cached)
                    .unwrap()
            );
        }
        assert!(
            creds
                .dummy_hash
                .get()
                .is_some_and(|h| h.starts_with("$argon2id$"))
        );
    }

    #[test]
    fn permits_bound_concurrency() {
        let permits = std::sync::Arc::new(Permits::new(1, 1, 8));
        let held = permits.acquire(Duration::ZERO).unwrap();
        assert_eq!(held.memory.len(), 8);
        assert!(permits.acquire(Duration::from_millis(20)).is_none());
        // One caller may wait for the work area; a second is refused at once.
        let waiter = {
            let permits = permits.clone();
            std::thread::spawn(move || permits.acquire(Duration::from_secs(5)).is_some())
        };
        while permits.state.lock().unwrap().waiting == 0 {
            std::thread::yield_now();
        }
        let start = Instant::now();
        assert!(permits.acquire(Duration::from_secs(5)).is_none());
        assert!(start.elapsed() < Duration::from_secs(1));
        drop(held);
        assert!(waiter.join().unwrap());
        assert!(permits.acquire(Duration::ZERO).is_some());
    }
}
