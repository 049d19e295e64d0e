//! Housekeeping: the chores that keep the tables bounded, in one place on one timer. The
//! mailer thread runs [`Housekeeping::run`] before each delivery pass (about once a second, and
//! whenever woken): address requests for reset links become links and mails at once, and
//! rows that served their purpose go at most once a minute.
//!
//! What goes, and when:
//! - reset links used, voided or expired more than an hour ago, and reset requests older than
//!   a day (`reset::purge`, which first counts the links that expired unused);
//! - XCP sessions (cookies) past their expiry;
//! - rssCloud registrations past their 25 hours;
//! - audit events older than `[audit] keep_days` (at most 10,000 rows a minute).
//!
//! Each pass also writes the failed logins counted over a minute ago (`audit::failed`).
//!
//! Two bounds stay with their writes, because they bound a table however fast requests come:
//! the weblogUpdates log keeps its newest 1,000 pings (`xss::weblog::record`), and `set
//! cookie` drops expired sessions before it adds one. Sent mails stay in the outbox until an
//! operator runs `passlink outbox purge`.

use std::cell::Cell;
use std::sync::Arc;

use rusqlite::Connection;

use crate::audit::{self, failed::Trail};
use crate::clock;
use crate::reset::{self, ResetService};
use crate::xcp::cookies;
use crate::xss::notify;

/// How often the purges run, at most.
const PURGE_INTERVAL_SECS: i64 = 60;

/// The chores, with the time of the last purge.
pub struct Housekeeping {
    reset: Arc<ResetService>,
    audit: Arc<Trail>,
    last_purge: Cell<i64>,
}

impl Housekeeping {
    pub fn new(reset: Arc<ResetService>, audit: Arc<Trail>) -> Housekeeping {
        Housekeeping {
            reset,
            audit,
            last_purge: Cell::new(0),
        }
    }

    /// One pass: pending reset requests and failed logins a minute old, then the purges if a
    /// minute has passed.
    pub fn run(&self, conn: &mut Connection) {
        if let Err(e) = self.reset.process_requests(conn) {
            log::error!("reset: cannot process requests: {e}");
        }
        let now = clock::unix_now();
        if let Err(e) = self.audit.flush(conn, now, false) {
            log::error!(
                "audit: cannot write the failed logins counted (kept for the next pass): {e}"
            );
        }
        if self.last_purge.get() + PURGE_INTERVAL_SECS <= now {
            self.last_purge.set(now);
            Housekeeping::purge(conn, now);
            let keep = i64::from(self.audit.keep_days()) * 86_400;
            if let Err(e) = audit::purge(conn, now.saturating_sub(keep)) {
                log::error!(
                    "audit: purging events older than {} days failed: {e}",
                    self.audit.keep_days()
                );
            }
        }
    }

    /// Deletes every row that has served its purpose by `now`; a failure is logged, and the
    /// next purge tries again.
    fn purge(conn: &Connection, now: i64) {
        let purged = reset::purge(conn, now).and_then(|_| cookies::purge_expired(conn, now));
        if let Err(e) = purged {
            log::error!("purging expired tokens and cookies failed: {e}");
        }
        if let Err(e) = notify::purge_expired(conn, now) {
            log::error!("notifications: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::params;

    #[test]
    fn expired_notifications_go_and_live_ones_stay() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let insert = |url: &str, expires_at: i64| {
            conn.execute(
                "INSERT INTO notifications (url, host, port, path, procedure, protocol, \
                 expires_at) VALUES (?1, '127.0.0.1', 5335, '/RPC2', 'p', 'xml-rpc', ?2)",
                params![url, expires_at],
            )
            .unwrap();
        };
        insert("http://files/users/0000001/a", 100);
        insert("http://files/users/0000001/b", 200);
        Housekeeping::purge(&conn, 150);
        let left: Vec<String> = conn
            .prepare("SELECT url FROM notifications")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(left, ["http://files/users/0000001/b"]);
    }
}
