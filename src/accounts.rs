//! xmlStorageSystem user accounts: the `users` table, argon2id hashing of the wire credential
//! (the lower-case MD5 hex of the password, which is what every client sends), and credential
//! checks with a verified-credential cache and a bound on concurrent argon2 work.
//!
//! The cache key is a keyed SHA-256 over the usernum, the credential *and the stored hash*.
//! A password change writes a new stored hash, so every cached entry for the old one stops
//! matching at once, whichever process changed it (the server, a reset link, the CLI).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use md5::{Digest, Md5};
use rusqlite::{Connection, OptionalExtension, Row, params};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::metrics::{Argon2Work, METRICS, RateLimit};

/// argon2id with 7 MiB and 5 passes: OWASP's listed equivalent of its 19 MiB/2-pass default,
/// chosen so that a core's worth of concurrent verifications stays within a small RSS.
const ARGON2_MEMORY_KIB: u32 = 7 * 1024;
const ARGON2_PASSES: u32 = 5;
/// How long a request waits for an argon2 slot (if it may wait at all, see `Permits`) before
/// it is told the server is busy.
const PERMIT_WAIT: Duration = Duration::from_secs(2);
/// Beyond this many cached credentials, expired ones are dropped, then all if still full.
const CACHE_CAPACITY: usize = 10_000;

#[derive(Debug)]
pub enum AccountError {
    Db(rusqlite::Error),
    /// Every argon2 slot stayed busy for `PERMIT_WAIT`.
    Busy,
    Hash(String),
}

impl fmt::Display for AccountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountError::Db(e) => write!(f, "database error: {e}"),
            AccountError::Busy => f.write_str("the server is busy; try again shortly"),
            AccountError::Hash(e) => write!(f, "password hashing failed: {e}"),
        }
    }
}

impl std::error::Error for AccountError {}

impl From<rusqlite::Error> for AccountError {
    fn from(e: rusqlite::Error) -> Self {
        AccountError::Db(e)
    }
}

/// The lower-case hex MD5 of `text`.
pub fn md5_hex(text: &[u8]) -> String {
    hex(&Md5::digest(text))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Whether `text` is already an MD5 hex digest (any case).
pub fn is_md5_hex(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The wire credential for a password given to `registerUser`: Radio and PyCS send the MD5 hex
/// already, Virtuoso's clients send the clear password, which is hashed here.
pub fn wire_credential(password: &str) -> String {
    if is_md5_hex(password) {
        password.to_ascii_lowercase()
    } else {
        md5_hex(password.as_bytes())
    }
}

/// The policy for xmlStorageSystem passwords set on this server: 8 to 128 printable ASCII
/// characters (what every legacy client can type and hash the same way).
pub fn check_password_policy(password: &str) -> Result<(), String> {
    let len = password.chars().count();
    if !(8..=128).contains(&len) {
        return Err(format!(
            "the password must be 8 to 128 characters long (it has {len})"
        ));
    }
    if !password.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err("the password may only contain printable ASCII characters".into());
    }
    Ok(())
}

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

/// How many argon2 computations may run at once and how many callers may wait for one, for a
/// server with `workers` worker threads on `cores` cores: one running per core, and waiting
/// places only as long as `cores` workers (at least one) stay free of argon2 for everything
/// else. With the default pool (three workers per core) that is one running and one waiting
/// per core, and a flood of wrong passwords never holds more than two thirds of the workers.
pub fn argon2_limits(workers: usize, cores: usize) -> (usize, usize) {
    let cores = cores.max(1);
    let running = cores.min(workers.saturating_sub(1)).max(1);
    let waiting = running.min(workers.saturating_sub(running + cores));
    (running, waiting)
}

/// The error for a computation refused because every argon2 slot stayed busy, counted as
/// load shedding.
fn shed() -> AccountError {
    METRICS.rate_limited(RateLimit::Argon2Busy);
    AccountError::Busy
}

/// Password hashing and checking, shared by all workers.
pub struct Credentials {
    argon2: Argon2<'static>,
    permits: Permits,
    cache_key: [u8; 32],
    cache_ttl: Duration,
    cache: Mutex<HashMap<[u8; 32], Instant>>,
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
        let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, 1, None)
            .unwrap_or_else(|_| Params::default());
        let blocks = params.block_count();
        let mut cache_key = [0u8; 32];
        rand::fill(&mut cache_key);
        Credentials {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            permits: Permits::new(concurrency.max(1), waiters, blocks),
            cache_key,
            cache_ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The argon2id PHC string to store for a credential.
    pub fn hash(&self, credential: &str) -> Result<String, AccountError> {
        let mut salt = [0u8; 16];
        rand::fill(&mut salt);
        let mut out = [0u8; 32];
        {
            let mut permit = self.permits.acquire(PERMIT_WAIT).ok_or_else(shed)?;
            let _running = METRICS.argon2(Argon2Work::Hash);
            self.argon2
                .hash_password_into_with_memory(
                    credential.as_bytes(),
                    &salt,
                    &mut out,
                    &mut permit.memory[..],
                )
                .map_err(|e| AccountError::Hash(e.to_string()))?;
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
    pub fn verify_uncached(&self, credential: &str, stored: &str) -> Result<bool, AccountError> {
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

    /// Checks `credential` against `stored` (a PHC string) for account `id`. A match is
    /// cached; a mismatch never is.
    pub fn verify(&self, id: i64, credential: &str, stored: &str) -> Result<bool, AccountError> {
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

/// One row of `users`.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub disabled: bool,
    pub client_port: Option<i64>,
    pub user_agent: String,
    pub serial_number: String,
    pub weblog_title: String,
    pub organization: String,
    pub url: String,
    pub behind_firewall: bool,
    pub signed_on: bool,
    pub ct_signons: i64,
    pub ct_upstreams: i64,
    pub ct_bytes_upstreamed: i64,
    pub ct_file_deletions: i64,
    pub ct_accesses: i64,
    pub last_ip: String,
    pub created_at: i64,
    pub last_access_at: Option<i64>,
    pub last_upstream_at: Option<i64>,
    pub last_signon_at: Option<i64>,
    pub last_signoff_at: Option<i64>,
}

impl User {
    /// The usernum as clients see it: seven digits, zero-padded.
    pub fn usernum(&self) -> String {
        format_usernum(self.id)
    }
}

pub fn format_usernum(id: i64) -> String {
    format!("{id:07}")
}

const USER_COLUMNS: &str = "id, email, name, password_hash, disabled, client_port, user_agent, \
    serial_number, weblog_title, organization, url, behind_firewall, signed_on, ct_signons, \
    ct_upstreams, ct_bytes_upstreamed, ct_file_deletions, ct_accesses, last_ip, created_at, \
    last_access_at, last_upstream_at, last_signon_at, last_signoff_at";

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        password_hash: r.get(3)?,
        disabled: r.get::<_, i64>(4)? != 0,
        client_port: r.get(5)?,
        user_agent: r.get(6)?,
        serial_number: r.get(7)?,
        weblog_title: r.get(8)?,
        organization: r.get(9)?,
        url: r.get(10)?,
        behind_firewall: r.get::<_, i64>(11)? != 0,
        signed_on: r.get::<_, i64>(12)? != 0,
        ct_signons: r.get(13)?,
        ct_upstreams: r.get(14)?,
        ct_bytes_upstreamed: r.get(15)?,
        ct_file_deletions: r.get(16)?,
        ct_accesses: r.get(17)?,
        last_ip: r.get(18)?,
        created_at: r.get(19)?,
        last_access_at: r.get(20)?,
        last_upstream_at: r.get(21)?,
        last_signon_at: r.get(22)?,
        last_signoff_at: r.get(23)?,
    })
}

// Looked up on every authenticated call: the statements are prepared once per connection
// (prepare_cached), since parsing SQL showed up as the largest cost in a profile.
pub fn find(conn: &Connection, id: i64) -> rusqlite::Result<Option<User>> {
    conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))?
        .query_row(params![id], user_from_row)
        .optional()
}

pub fn find_by_email(conn: &Connection, email: &str) -> rusqlite::Result<Option<User>> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE email_key = ?1"
    ))?
    .query_row(params![email_key(email)], user_from_row)
    .optional()
}

/// Finds a user by what clients send as the first parameter: a usernum (`5`, `"5"`,
/// `"0000005"`) or an email address.
pub fn find_by_login(conn: &Connection, login: &str) -> rusqlite::Result<Option<User>> {
    let login = login.trim();
    if !login.is_empty() && login.len() <= 18 && login.bytes().all(|b| b.is_ascii_digit()) {
        return match login.parse::<i64>() {
            Ok(id) => find(conn, id),
            Err(_) => Ok(None),
        };
    }
    find_by_email(conn, login)
}

fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<User>> {
    let mut stmt = conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))?;
    let rows = stmt.query_map([], user_from_row)?;
    rows.collect()
}

pub fn count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))
}

/// What `registerUser` stores about a new account.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub client_port: Option<i64>,
    pub user_agent: &'a str,
    pub serial_number: &'a str,
}

/// Inserts a user and returns the new usernum; `None` when the email is already taken.
pub fn create(conn: &Connection, user: &NewUser<'_>, now: i64) -> rusqlite::Result<Option<i64>> {
    let inserted = conn.execute(
        "INSERT INTO users (email, email_key, name, password_hash, client_port, user_agent, \
         serial_number, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT (email_key) DO NOTHING",
        params![
            user.email.trim(),
            email_key(user.email),
            user.name,
            user.password_hash,
            user.client_port,
            user.user_agent,
            user.serial_number,
            now
        ],
    )?;
    Ok((inserted == 1).then(|| conn.last_insert_rowid()))
}

pub fn set_password_hash(conn: &Connection, id: i64, hash: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![id, hash],
    )? == 1)
}

pub fn set_disabled(conn: &Connection, id: i64, disabled: bool) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE users SET disabled = ?2 WHERE id = ?1",
        params![id, i64::from(disabled)],
    )? == 1)
}

/// Removes a user; their files go with them (ON DELETE CASCADE).
pub fn remove(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM users WHERE id = ?1", params![id])? == 1)
}

/// Whether `usernum` names an existing, enabled user (for serving their files).
pub fn user_active(conn: &Connection, usernum: i64) -> rusqlite::Result<bool> {
    let disabled: Option<i64> = conn
        .prepare_cached("SELECT disabled FROM users WHERE id = ?1")?
        .query_row(params![usernum], |r| r.get(0))
        .optional()?;
    Ok(disabled == Some(0))
}

/// Counts an authenticated call and remembers where it came from.
pub fn record_access(conn: &Connection, id: i64, ip: &str, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE users SET ct_accesses = ct_accesses + 1, last_access_at = ?2, last_ip = ?3 \
         WHERE id = ?1",
    )?
    .execute(params![id, now, ip])?;
    Ok(())
}

pub fn record_upstream(conn: &Connection, id: i64, bytes: i64, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE users SET ct_upstreams = ct_upstreams + 1, \
         ct_bytes_upstreamed = ct_bytes_upstreamed + ?2, last_upstream_at = ?3 WHERE id = ?1",
    )?
    .execute(params![id, bytes, now])?;
    Ok(())
}

pub fn record_deletions(conn: &Connection, id: i64, count: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE users SET ct_file_deletions = ct_file_deletions + ?2 WHERE id = ?1",
    )?
    .execute(params![id, count])?;
    Ok(())
}

/// What a `ping` tells about the client.
pub struct PingInfo<'a> {
    pub signing_on: bool,
    pub client_port: Option<i64>,
    pub weblog_title: Option<&'a str>,
    pub organization: Option<&'a str>,
    pub url: Option<&'a str>,
    pub serial_number: Option<&'a str>,
    pub behind_firewall: Option<bool>,
    pub user_agent: &'a str,
}

/// Records a ping: sign on (status 0) or off (status 1), and the client's details.
/// Returns whether this was the user's first sign-on.
pub fn record_ping(
    conn: &Connection,
    id: i64,
    ping: &PingInfo<'_>,
    now: i64,
) -> rusqlite::Result<bool> {
    let first: i64 = conn.query_row(
        "SELECT ct_signons = 0 FROM users WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )?;
    if ping.signing_on {
        conn.execute(
            "UPDATE users SET signed_on = 1, ct_signons = ct_signons + 1, last_signon_at = ?2 \
             WHERE id = ?1",
            params![id, now],
        )?;
    } else {
        conn.execute(
            "UPDATE users SET signed_on = 0, last_signoff_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
    }
    conn.execute(
        "UPDATE users SET client_port = coalesce(?2, client_port), \
         weblog_title = coalesce(?3, weblog_title), organization = coalesce(?4, organization), \
         url = coalesce(?5, url), serial_number = coalesce(?6, serial_number), \
         behind_firewall = coalesce(?7, behind_firewall), user_agent = ?8 WHERE id = ?1",
        params![
            id,
            ping.client_port,
            ping.weblog_title,
            ping.organization,
            ping.url,
            ping.serial_number,
            ping.behind_firewall.map(i64::from),
            ping.user_agent
        ],
    )?;
    Ok(first == 1 && ping.signing_on)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn md5_of_asdf_matches_pycs() {
        assert_eq!(md5_hex(b"asdf"), "912ec803b2ce49e4a541068d495ab570");
        assert_eq!(
            wire_credential("912EC803B2CE49E4A541068D495AB570"),
            "912ec803b2ce49e4a541068d495ab570"
        );
        assert_eq!(
            wire_credential("secret"),
            "5ebe2294ecd0e0f08eab7690d2a6ee69"
        );
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

    #[test]
    fn users_by_usernum_or_email() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let new = NewUser {
            email: "Me@Example.com",
            name: "Me",
            password_hash: "x",
            client_port: Some(5335),
            user_agent: "test",
            serial_number: "",
        };
        let id = create(&conn, &new, 1).unwrap().unwrap();
        assert_eq!(create(&conn, &new, 1).unwrap(), None, "email taken");
        for login in ["1", "0000001", "me@example.com", " ME@EXAMPLE.COM "] {
            assert_eq!(
                find_by_login(&conn, login).unwrap().unwrap().id,
                id,
                "{login}"
            );
        }
        assert!(find_by_login(&conn, "2").unwrap().is_none());
        assert_eq!(find(&conn, id).unwrap().unwrap().usernum(), "0000001");
        assert!(user_active(&conn, id).unwrap());
        set_disabled(&conn, id, true).unwrap();
        assert!(!user_active(&conn, id).unwrap());
        assert!(remove(&conn, id).unwrap());
        // Numbers are never reused.
        let again = create(&conn, &new, 2).unwrap().unwrap();
        assert!(again > id);
    }
}
