//! Refusals anyone can cause without a credential (failed logins, reset requests for addresses
//! with no account, links over a login's hourly limit), counted in memory and written as one
//! row per event, account and client address a minute ([`Trail::flush`], from housekeeping):
//! a flood costs a counter increment per attempt, never a write.
//!
//! What bounds the rows, whatever a client sends:
//! - a name that matched no login is not a key: such attempts are counted per client under one
//!   account ("(unknown login)", "(no account)", "(reseller refused)"), with the first few names
//!   given kept as samples in the detail;
//! - one client has at most [`MAX_PER_CLIENT`] counts open; more accounts from it are summed
//!   under "(other accounts)";
//! - at most [`MAX_WINDOWS`] counts are open at once; beyond that, attempts are summed under
//!   "(other accounts)" from "(several clients)".
//!
//! So a minute writes at most about [`MAX_WINDOWS`] rows, and one client about
//! [`MAX_PER_CLIENT`]. A count not yet written when the process is killed is lost (at most a
//! minute of refusals; nothing acknowledged). A clean stop writes them all.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

use rusqlite::Connection;

use super::{Entry, Event, count, insert};
use crate::logins::Login;

/// A window is written this long after its first attempt.
pub const WINDOW_SECS: i64 = 60;
/// Open counts at most (each a few hundred bytes at worst, with its sample names).
const MAX_WINDOWS: usize = 512;
/// Open counts of one client at most.
const MAX_PER_CLIENT: usize = 16;
/// Names kept per count as samples, and their length.
const MAX_SAMPLES: usize = 5;
const MAX_SAMPLE_CHARS: usize = 64;

/// Why something was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A wrong password, or a login that is unknown or disabled.
    WrongPassword,
    /// Held back by the per-login throttle without checking.
    HeldBack,
    /// XCP: an unknown reseller, or a missing or wrong signature.
    BadSignature,
    /// XCP: a reseller's correct signature from an address outside its allowlist.
    AddressNotAllowed,
    /// mailPasswordToUser: no active account has the address.
    NoAccount,
    /// A reset link asked for a login that had its hourly number of links.
    HourlyLimit,
}

impl Refusal {
    const ALL: [Refusal; 6] = [
        Refusal::WrongPassword,
        Refusal::HeldBack,
        Refusal::BadSignature,
        Refusal::AddressNotAllowed,
        Refusal::NoAccount,
        Refusal::HourlyLimit,
    ];

    fn index(self) -> usize {
        Refusal::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }

    fn event(self) -> Event {
        match self {
            Refusal::WrongPassword
            | Refusal::HeldBack
            | Refusal::BadSignature
            | Refusal::AddressNotAllowed => Event::LoginFailed,
            Refusal::NoAccount | Refusal::HourlyLimit => Event::ResetRequested,
        }
    }

    /// The account a refusal that named no login is counted under.
    fn unnamed(self) -> &'static str {
        match self {
            Refusal::WrongPassword | Refusal::HeldBack => "(unknown login)",
            Refusal::BadSignature | Refusal::AddressNotAllowed => "(reseller refused)",
            Refusal::NoAccount | Refusal::HourlyLimit => "(no account)",
        }
    }

    fn describe(self, n: u64) -> String {
        let what = match self {
            Refusal::WrongPassword => "wrong password or unknown login",
            Refusal::HeldBack => "held back without checking (repeated failures)",
            Refusal::BadSignature => "unknown reseller or bad signature",
            Refusal::AddressNotAllowed => "from an address outside the reseller's allowlist",
            Refusal::NoAccount => "no active account has the address",
            Refusal::HourlyLimit => "the login had its hourly number of links",
        };
        format!("{n} × {what}")
    }
}

const OTHER_ACCOUNTS: &str = "(other accounts)";
const SEVERAL_CLIENTS: &str = "(several clients)";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    event: Event,
    account: String,
    client: String,
}

#[derive(Debug, Clone)]
struct Window {
    login: Option<Login>,
    first_at: i64,
    last_at: i64,
    /// By [`Refusal::ALL`].
    counts: [u64; Refusal::ALL.len()],
    /// The first few names given that matched no login.
    samples: Vec<String>,
    /// Names given beyond the samples.
    more: u64,
}

impl Window {
    fn new(login: Option<Login>, now: i64) -> Window {
        Window {
            login,
            first_at: now,
            last_at: now,
            counts: [0; Refusal::ALL.len()],
            samples: Vec::new(),
            more: 0,
        }
    }

    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn add_sample(&mut self, name: &str) {
        let name = super::clean(name, MAX_SAMPLE_CHARS);
        if self.samples.contains(&name) {
            return;
        }
        if self.samples.len() < MAX_SAMPLES {
            self.samples.push(name);
        } else {
            self.more += 1;
        }
    }

    fn merge(&mut self, other: &Window) {
        self.first_at = self.first_at.min(other.first_at);
        self.last_at = self.last_at.max(other.last_at);
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        for s in &other.samples {
            self.add_sample(s);
        }
        self.more += other.more;
        if self.login != other.login {
            self.login = None;
        }
    }

    fn describe(&self) -> String {
        let mut parts: Vec<String> = Refusal::ALL
            .iter()
            .zip(self.counts)
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| r.describe(n))
            .collect();
        if self.last_at > self.first_at {
            parts.push(format!("over {} s", self.last_at - self.first_at));
        }
        let mut text = parts.join(", ");
        if !self.samples.is_empty() {
            text.push_str("; names given: ");
            text.push_str(&self.samples.join(", "));
            if self.more > 0 {
                text.push_str(&format!(", and other names in {} attempts", self.more));
            }
        }
        text
    }
}

/// The audit trail's state in memory: refusals being counted, and how long rows are kept
/// (`[audit] keep_days`, which a reload may change).
#[derive(Debug)]
pub struct Trail {
    windows: Mutex<HashMap<Key, Window>>,
    keep_days: AtomicU32,
}

impl Trail {
    pub fn new(keep_days: u32) -> Trail {
        Trail {
            windows: Mutex::new(HashMap::new()),
            keep_days: AtomicU32::new(keep_days),
        }
    }

    pub fn keep_days(&self) -> u32 {
        self.keep_days.load(Ordering::Relaxed)
    }

    pub fn set_keep_days(&self, days: u32) {
        self.keep_days.store(days, Ordering::Relaxed);
    }

    /// A login was refused: `login` and `account` (as the trail names it) when the name given
    /// matched one; otherwise `None` and the name as given.
    pub fn login_failed(
        &self,
        login: Option<Login>,
        account: &str,
        client: IpAddr,
        held_back: bool,
        now: i64,
    ) {
        let why = if held_back {
            Refusal::HeldBack
        } else {
            Refusal::WrongPassword
        };
        self.refused(why, login, account, client, now);
    }

    /// Counts a refusal. With `login` `None`, `account` is a name the client gave, kept only as
    /// a sample: the count goes under the client and [`Refusal::unnamed`]. A reseller refused
    /// for its address is counted under its name (`account`), which exists.
    pub fn refused(
        &self,
        why: Refusal,
        login: Option<Login>,
        account: &str,
        client: IpAddr,
        now: i64,
    ) {
        let event = why.event();
        count(event, 1);
        let named = login.is_some() || why == Refusal::AddressNotAllowed;
        let client = client.to_string();
        let mut key = Key {
            event,
            account: if named {
                super::clean(account, super::MAX_ACCOUNT)
            } else {
                why.unnamed().to_string()
            },
            client,
        };
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let mut login = login;
        if !windows.contains_key(&key) {
            if windows.len() >= MAX_WINDOWS {
                key = Key {
                    event,
                    account: OTHER_ACCOUNTS.to_string(),
                    client: SEVERAL_CLIENTS.to_string(),
                };
                login = None;
            } else if windows.keys().filter(|k| k.client == key.client).count() >= MAX_PER_CLIENT {
                key.account = OTHER_ACCOUNTS.to_string();
                login = None;
            }
        }
        let window = windows
            .entry(key)
            .or_insert_with(|| Window::new(login, now));
        window.last_at = now;
        window.counts[why.index()] += 1;
        if !named {
            window.add_sample(account.trim());
        }
    }

    /// Writes the windows a minute old (all of them when `all`, at a stop) in one
    /// transaction; returns how many rows. Windows that could not be written are kept for the
    /// next pass, within the bound on open counts.
    pub fn flush(&self, conn: &Connection, now: i64, all: bool) -> rusqlite::Result<usize> {
        let due: Vec<(Key, Window)> = {
            let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
            if windows.is_empty() {
                return Ok(0);
            }
            let keys: Vec<Key> = windows
                .iter()
                .filter(|(_, w)| all || w.first_at + WINDOW_SECS <= now)
                .map(|(k, _)| k.clone())
                .collect();
            keys.into_iter()
                .filter_map(|k| windows.remove(&k).map(|w| (k, w)))
                .collect()
        };
        if due.is_empty() {
            return Ok(0);
        }
        let written = crate::db::write_shared(conn, |tx| {
            if !super::has_room(tx)? {
                // Kept in memory, within its bound, until there is room.
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                    Some("the database is nearly full; the audit trail leaves the rest".into()),
                ));
            }
            for (key, w) in &due {
                let detail = w.describe();
                let entry = Entry {
                    login: w.login,
                    ..Entry::new(key.event, &key.account, &key.client).refused(&detail)
                };
                insert(tx, &entry, w.first_at, w.total())?;
            }
            Ok(due.len())
        });
        if written.is_err() {
            self.put_back(due);
        }
        written
    }

    /// Returns windows a failed write took out, merged with what was counted meanwhile; what
    /// no longer fits is summed under "(other accounts)", so memory stays bounded while the
    /// database refuses writes (a full disk).
    fn put_back(&self, due: Vec<(Key, Window)>) {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        for (key, w) in due {
            let key = if windows.contains_key(&key) || windows.len() < MAX_WINDOWS {
                key
            } else {
                Key {
                    event: key.event,
                    account: OTHER_ACCOUNTS.to_string(),
                    client: SEVERAL_CLIENTS.to_string(),
                }
            };
            match windows.get_mut(&key) {
                Some(slot) => slot.merge(&w),
                None => {
                    windows.insert(key, w);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Filter, query};

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    fn open(trail: &Trail) -> usize {
        trail
            .windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    #[test]
    fn a_flood_is_one_row_per_account_client_and_minute() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let trail = Trail::new(365);
        for i in 0..1000 {
            let now = 1000 + i / 100; // ten seconds
            let account = "alice (user 1)";
            trail.login_failed(Some(Login::XssUser(1)), account, ip(1), i >= 5, now);
            trail.login_failed(None, &format!("mallory{}", i % 7), ip(2), false, now);
        }
        assert_eq!(
            trail.flush(&conn, 1030, false).unwrap(),
            0,
            "not a minute yet"
        );
        assert_eq!(trail.flush(&conn, 1060, false).unwrap(), 2);
        trail.login_failed(Some(Login::XssUser(1)), "alice (user 1)", ip(1), true, 1061);
        assert_eq!(
            trail.flush(&conn, 1062, true).unwrap(),
            1,
            "a stop writes all"
        );
        let rows = query(&conn, &Filter::default()).unwrap();
        assert_eq!(rows.len(), 3);
        let alice = rows
            .iter()
            .find(|r| r.account == "alice (user 1)" && r.at == 1000)
            .unwrap();
        assert_eq!(alice.count, 1000);
        assert_eq!(alice.login, Some(Login::XssUser(1)));
        assert_eq!(
            alice.detail,
            "5 × wrong password or unknown login, 995 × held back without checking (repeated \
             failures), over 9 s"
        );
        let unknown = rows
            .iter()
            .find(|r| r.account == "(unknown login)")
            .unwrap();
        assert_eq!(unknown.count, 1000);
        assert_eq!(unknown.client, "192.0.2.2");
        assert!(
            unknown
                .detail
                .ends_with("names given: mallory0, mallory1, mallory2, mallory3, mallory4, and other names in 285 attempts"),
            "{}",
            unknown.detail
        );
        assert!(rows.iter().all(|r| r.outcome == "refused"));
    }

    #[test]
    fn names_are_no_keys_and_memory_is_bounded_without_losing_a_count() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let trail = Trail::new(365);
        // Distinct names from one client: one count.
        for i in 0..5000 {
            trail.refused(
                Refusal::BadSignature,
                None,
                &format!("reseller r{i}"),
                ip(3),
                10,
            );
        }
        assert_eq!(open(&trail), 1);
        // Distinct accounts that exist, from one client: at most MAX_PER_CLIENT + 1.
        for i in 0..100 {
            trail.login_failed(
                Some(Login::XssUser(i)),
                &format!("user {i}"),
                ip(4),
                false,
                10,
            );
        }
        assert_eq!(open(&trail), 1 + MAX_PER_CLIENT + 1);
        // Many clients: at most MAX_WINDOWS + the overflow.
        for i in 0..2000u32 {
            let client = IpAddr::from([10, 0, (i / 256) as u8, (i % 256) as u8]);
            trail.login_failed(Some(Login::XssUser(7)), "user 7", client, false, 10);
        }
        assert_eq!(open(&trail), MAX_WINDOWS + 1);
        trail.flush(&conn, 100, false).unwrap();
        let rows = query(&conn, &Filter::default()).unwrap();
        assert_eq!(rows.iter().map(|r| r.count).sum::<i64>(), 5000 + 100 + 2000);
        assert!(rows.len() <= MAX_WINDOWS + 1);
    }

    #[test]
    fn a_failed_write_keeps_the_counts_within_the_bound() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let trail = Trail::new(365);
        conn.execute_batch("DROP TABLE audit_events").unwrap();
        for round in 0..4i64 {
            for i in 0..MAX_WINDOWS as u32 {
                let client = IpAddr::from([10, 1, round as u8, (i % 256) as u8]);
                trail.login_failed(Some(Login::XssUser(i.into())), "u", client, false, round);
            }
            assert!(trail.flush(&conn, 1000, true).is_err());
            assert!(open(&trail) <= MAX_WINDOWS + 1, "{} open", open(&trail));
        }
    }
}
