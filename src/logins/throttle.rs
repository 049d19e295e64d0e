//! A limit on guessing one login (NIST SP 800-63B §5.2.2: at most 100 failed attempts per
//! account). Consecutive failures are counted per login, in memory: after [`FREE_FAILURES`],
//! each further attempt must wait a doubling interval (1 s, 2 s, … up to [`MAX_WAIT`]), and an
//! attempt inside the interval is refused at once, without argon2, so a flood against one login
//! costs the server nothing. At most about 90 failures per login per day are ever verified. A
//! success, or a password set through a reset link, clears the count; the owner can always
//! take the account back with a link. Unknown logins are counted by their name the same way,
//! so the throttle says nothing about which logins exist. After a restart the counts start
//! again from nothing.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::Login;

/// Failures allowed at full speed (a user mistyping) before the waits begin.
pub const FREE_FAILURES: u32 = 5;
/// The longest wait between two verified attempts: 20 minutes, 72 a day.
pub const MAX_WAIT: Duration = Duration::from_secs(20 * 60);
/// Logins tracked at most (about 48 bytes each). When full, unknown names go first, then
/// accounts whose last failure is a day old; an account held back is never forgotten for room.
const CAPACITY: usize = 50_000;
/// An account's count is kept this long after its last failure when room is needed.
const FORGET_AFTER: Duration = Duration::from_secs(86_400);

/// What is throttled: an account, or a login name that matched none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Account(Login),
    /// A hash of the name as the lookup reads it (see [`Key::unknown`]), so no name is kept
    /// in memory.
    Unknown(u64),
}

impl Key {
    /// The key of a name that matched no account. `name` must be normalised the way the
    /// lookup reads it (a usernum as its number, an email as its key), so that two spellings
    /// of one login share a count, as an account's do: otherwise the difference would tell
    /// which logins exist.
    pub fn unknown(kind: &str, name: &str) -> Key {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        kind.hash(&mut hasher);
        name.hash(&mut hasher);
        Key::Unknown(hasher.finish())
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    /// No verification before this instant.
    next: Instant,
    last_failure: Instant,
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<Key, Entry>>,
}

/// The wait after `failures` consecutive failures.
fn wait_after(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let doublings = (failures - FREE_FAILURES).min(20);
    Duration::from_secs(1u64 << doublings).min(MAX_WAIT)
}

impl LoginThrottle {
    /// Whether an attempt for `key` may be verified now; `false` means "answer as for a wrong
    /// password, without verifying". An attempt let through takes the next slot at once (the
    /// wait it would cause if it fails), so that requests arriving together when a wait ends
    /// are not all verified.
    pub fn allowed(&self, key: Key, now: Instant) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get_mut(&key) {
            None => true,
            Some(entry) if now < entry.next => false,
            Some(entry) => {
                entry.next = now + wait_after(entry.failures.saturating_add(1));
                true
            }
        }
    }

    /// A verified attempt failed.
    pub fn failed(&self, key: Key, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.retain(|k, e| matches!(k, Key::Account(_)) || e.next > now);
            if entries.len() >= CAPACITY {
                entries.retain(|_, e| {
                    e.next > now || now.saturating_duration_since(e.last_failure) < FORGET_AFTER
                });
            }
            if entries.len() >= CAPACITY {
                // Everything here is held back or recent: an unknown name is not counted (it
                // already costs its sender an argon2 computation per try); an account is.
                if matches!(key, Key::Unknown(_)) {
                    return;
                }
            }
        }
        let entry = entries.entry(key).or_insert(Entry {
            failures: 0,
            next: now,
            last_failure: now,
        });
        entry.failures = entry.failures.saturating_add(1);
        entry.next = now + wait_after(entry.failures);
        entry.last_failure = now;
    }

    /// The login proved itself (a right password, or a new one set through a reset link).
    pub fn clear(&self, key: Key) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_failures_and_a_success_clears_them() {
        let throttle = LoginThrottle::default();
        let key = Key::Account(Login::XssUser(1));
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES - 1 {
            assert!(throttle.allowed(key, t0));
            throttle.failed(key, t0);
        }
        assert!(throttle.allowed(key, t0));
        throttle.failed(key, t0);
        assert!(
            !throttle.allowed(key, t0),
            "held back after the free failures"
        );
        assert!(throttle.allowed(key, t0 + Duration::from_secs(1)));
        throttle.failed(key, t0 + Duration::from_secs(1));
        assert!(!throttle.allowed(key, t0 + Duration::from_millis(2500)));
        assert!(throttle.allowed(key, t0 + Duration::from_secs(3)));
        // Another login is not affected.
        assert!(throttle.allowed(Key::Account(Login::XssUser(2)), t0));
        throttle.clear(key);
        assert!(throttle.allowed(key, t0));
    }

    #[test]
    fn requests_arriving_together_when_a_wait_ends_are_verified_once() {
        let throttle = LoginThrottle::default();
        let key = Key::Account(Login::Profile(3));
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES {
            throttle.failed(key, t0);
        }
        let later = t0 + Duration::from_secs(2);
        let let_through = (0..16).filter(|_| throttle.allowed(key, later)).count();
        assert_eq!(let_through, 1);
    }

    #[test]
    fn at_most_about_ninety_verified_failures_a_day() {
        let throttle = LoginThrottle::default();
        let key = Key::unknown("xss", "nobody@example.org");
        let start = Instant::now();
        let (mut now, mut verified) = (start, 0);
        // An attacker who tries again the moment the wait is over, for a day.
        while now < start + Duration::from_secs(86_400) {
            if throttle.allowed(key, now) {
                throttle.failed(key, now);
                verified += 1;
            }
            now += Duration::from_secs(1);
        }
        assert!(verified <= 100, "{verified} verified failures in a day");
        assert!(verified >= 70, "{verified}");
    }
}
