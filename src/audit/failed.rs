//! Failed logins, counted in memory per account and client address and written as one row per
//! minute each ([`Trail::flush`], from housekeeping): an attacker's flood of wrong passwords
//! costs a counter increment per attempt, never a write. Memory is bounded: at most
//! [`MAX_WINDOWS`] counts are open at once; attempts beyond that are summed in one row per
//! minute for every account ("(other logins)").
//!
//! A count not yet written when the process dies is lost (at most a minute of failed logins):
//! they were refused, so nothing acknowledged is lost. A clean stop writes them all.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

use rusqlite::Connection;

use super::{Entry, Event, count, insert};
use crate::logins::Login;

/// A window is written this long after its first attempt.
pub const WINDOW_SECS: i64 = 60;
/// Open counts at most (each a few hundred bytes at worst).
const MAX_WINDOWS: usize = 4096;
/// The account of the row that sums attempts beyond [`MAX_WINDOWS`].
const OVERFLOW: &str = "(other logins)";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    account: String,
    client: String,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    login: Option<Login>,
    first_at: i64,
    last_at: i64,
    /// Attempts verified and wrong (or naming no usable login).
    wrong: u64,
    /// Attempts the per-login throttle answered without verifying.
    held_back: u64,
}

/// The audit trail's state in memory: failed logins being counted, and how long rows are
/// kept (`[audit] keep_days`, which a reload may change).
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

    /// A login was refused: `login` when the name matched one, `account` as the name was
    /// given or as the account is named, `held_back` when the throttle answered without
    /// verifying.
    pub fn login_failed(
        &self,
        login: Option<Login>,
        account: &str,
        client: IpAddr,
        held_back: bool,
        now: i64,
    ) {
        count(Event::LoginFailed, 1);
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let mut key = Key {
            account: super::clean(account, super::MAX_ACCOUNT),
            client: client.to_string(),
        };
        let mut login = login;
        if windows.len() >= MAX_WINDOWS && !windows.contains_key(&key) {
            key = Key {
                account: OVERFLOW.to_string(),
                client: "(several)".to_string(),
            };
            login = None;
        }
        let window = windows.entry(key).or_insert(Window {
            login,
            first_at: now,
            last_at: now,
            wrong: 0,
            held_back: 0,
        });
        window.last_at = now;
        if held_back {
            window.held_back += 1;
        } else {
            window.wrong += 1;
        }
    }

    /// Writes the windows a minute old (all of them when `all`, at a stop) in one
    /// transaction; returns how many rows. Windows that could not be written are kept for the
    /// next pass.
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
            for (key, w) in &due {
                let detail = describe(w);
                let mut entry =
                    Entry::new(Event::LoginFailed, &key.account, &key.client).refused(&detail);
                entry.login = w.login;
                insert(tx, &entry, w.first_at, w.wrong + w.held_back)?;
            }
            Ok(due.len())
        });
        if written.is_err() {
            // Put them back, summed with anything counted meanwhile.
            let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
            for (key, w) in due {
                let slot = windows.entry(key).or_insert(Window {
                    wrong: 0,
                    held_back: 0,
                    ..w
                });
                slot.first_at = slot.first_at.min(w.first_at);
                slot.last_at = slot.last_at.max(w.last_at);
                slot.wrong += w.wrong;
                slot.held_back += w.held_back;
            }
        }
        written
    }
}

fn describe(w: &Window) -> String {
    let mut text = match w.wrong {
        0 => String::new(),
        1 => "1 wrong password or unknown login".to_string(),
        n => format!("{n} wrong passwords or unknown login"),
    };
    if w.held_back > 0 {
        if !text.is_empty() {
            text.push_str(", ");
        }
        text.push_str(&format!(
            "{} held back without checking (repeated failures)",
            w.held_back
        ));
    }
    if w.last_at > w.first_at {
        text.push_str(&format!(" over {} s", w.last_at - w.first_at));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Filter, query};

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn a_flood_is_one_row_per_account_client_and_minute() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let trail = Trail::new(365);
        for i in 0..1000 {
            let now = 1000 + i / 100; // ten seconds
            trail.login_failed(Some(Login::XssUser(1)), "alice", ip(1), i >= 5, now);
            trail.login_failed(None, "mallory", ip(2), false, now);
        }
        assert_eq!(
            trail.flush(&conn, 1030, false).unwrap(),
            0,
            "not a minute yet"
        );
        assert_eq!(trail.flush(&conn, 1060, false).unwrap(), 2);
        trail.login_failed(Some(Login::XssUser(1)), "alice", ip(1), true, 1061);
        assert_eq!(
            trail.flush(&conn, 1062, true).unwrap(),
            1,
            "a stop writes all"
        );
        let rows = query(&conn, &Filter::default()).unwrap();
        assert_eq!(rows.len(), 3);
        let alice = rows
            .iter()
            .find(|r| r.account == "alice" && r.at == 1000)
            .unwrap();
        assert_eq!(alice.count, 1000);
        assert_eq!(alice.login, Some(Login::XssUser(1)));
        assert_eq!(
            alice.detail,
            "5 wrong passwords or unknown login, 995 held back without checking (repeated \
             failures) over 9 s"
        );
        assert!(rows.iter().all(|r| r.outcome == "refused"));
    }

    #[test]
    fn memory_is_bounded_and_nothing_is_dropped() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let trail = Trail::new(365);
        for i in 0..(MAX_WINDOWS + 500) {
            trail.login_failed(None, &format!("user{i}"), ip(3), false, 10);
        }
        assert_eq!(
            trail
                .windows
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .len(),
            MAX_WINDOWS + 1
        );
        trail.flush(&conn, 100, false).unwrap();
        let rows = query(&conn, &Filter::default()).unwrap();
        assert_eq!(rows.iter().map(|r| r.count).sum::<i64>(), 4096 + 500);
        assert!(rows.iter().any(|r| r.account == OVERFLOW && r.count == 500));
    }
}
