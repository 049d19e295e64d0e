//! The audit trail: credential events, for a dispute between a reseller and a registrant ("I
//! never asked for that reset") and for the operator after an incident. This module owns the
//! `audit_events` table; [`failed`] counts failed logins in memory and writes them at most once
//! a minute per account and client address, so that a flood of wrong passwords never becomes
//! a flood of writes.
//!
//! An event is written in the transaction of the change it describes (a password set, a link
//! issued, a session opened), so the trail holds exactly what was committed. What a row may
//! hold is fixed here: an account's name, a client address or "admin", an outcome and a
//! detail written by passlink's own code. Never a token, a password, an MD5 or a key: the
//! callers pass none, and [`Entry`] has no field for one.

pub mod failed;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, params};

use crate::logins::Login;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// A login was made: an xmlStorageSystem account (registerUser, `passlink user add`, an
    /// import) or an XCP sub-user (add subuser).
    Registered,
    /// Logins refused: a wrong password, an unknown or disabled login, or held back by the
    /// per-login throttle. Counted per account, client and minute.
    LoginFailed,
    /// Someone asked for a reset link (mailPasswordToUser, XCP send_password).
    ResetRequested,
    /// A link was made: on request, or by the operator (`reset-link`), or by an import.
    LinkIssued,
    /// A reset link set a new password.
    LinkUsed,
    /// The operator ended a pending link (`passlink reset revoke`).
    LinkRevoked,
    /// A password was changed, and by which path (the detail).
    PasswordChanged,
    /// The "this wasn't me" link of a password-changed notice locked the login.
    NotMeUsed,
    /// An XCP session (cookie) was opened.
    CookieSet,
    /// A login changed other than by its password: an xmlStorageSystem user the operator
    /// disabled, enabled or removed, an XCP sub-user its reseller renamed or removed.
    UserChanged,
    /// The operator changed a reseller (added, key rotated, allow-list, removed).
    ResellerChanged,
    /// The operator changed a domain (added, imported, expiry, removed).
    DomainChanged,
}

impl Event {
    pub const ALL: [Event; 12] = [
        Event::Registered,
        Event::LoginFailed,
        Event::ResetRequested,
        Event::LinkIssued,
        Event::LinkUsed,
        Event::LinkRevoked,
        Event::PasswordChanged,
        Event::NotMeUsed,
        Event::CookieSet,
        Event::UserChanged,
        Event::ResellerChanged,
        Event::DomainChanged,
    ];

    /// The name stored, shown, given to `passlink audit --event` and used as the `/metrics`
    /// label.
    pub fn name(self) -> &'static str {
        match self {
            Event::Registered => "registered",
            Event::LoginFailed => "login_failed",
            Event::ResetRequested => "reset_requested",
            Event::LinkIssued => "link_issued",
            Event::LinkUsed => "link_used",
            Event::LinkRevoked => "link_revoked",
            Event::PasswordChanged => "password_changed",
            Event::NotMeUsed => "not_me_used",
            Event::CookieSet => "cookie_set",
            Event::UserChanged => "user_changed",
            Event::ResellerChanged => "reseller_changed",
            Event::DomainChanged => "domain_changed",
        }
    }

    pub fn parse(name: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.name() == name)
    }

    fn index(self) -> usize {
        Event::ALL.iter().position(|e| *e == self).unwrap_or(0)
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Refused: a wrong password, a limit, a rule. The detail says which.
    Refused,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
        }
    }
}

/// Who did it when no client address did: the operator's command line.
pub const ADMIN: &str = "admin";
/// ... or an import (`passlink import`).
pub const IMPORT: &str = "import";

/// Longest account name, client and detail kept, in characters: a failed login's name is
/// whatever the client sent.
const MAX_ACCOUNT: usize = 200;
const MAX_CLIENT: usize = 64;
const MAX_DETAIL: usize = 400;

/// One event, as a caller describes it.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub event: Event,
    pub login: Option<Login>,
    /// The account as `passlink reset list` names it ("alice@example.com (xmlStorageSystem
    /// user 0000001)", "profile alice for example.com"), a reseller's or domain's name, or the
    /// name a failed login gave.
    pub account: &'a str,
    /// The client address, or [`ADMIN`] / [`IMPORT`].
    pub client: &'a str,
    pub outcome: Outcome,
    /// What else there is to say, in passlink's own words: the path of a change, where a link
    /// was mailed, why something was refused.
    pub detail: &'a str,
}

impl<'a> Entry<'a> {
    /// A successful `event` on `account` by `client`, with no detail yet.
    pub fn new(event: Event, account: &'a str, client: &'a str) -> Entry<'a> {
        Entry {
            event,
            login: None,
            account,
            client,
            outcome: Outcome::Ok,
            detail: "",
        }
    }

    pub fn login(self, login: Login) -> Entry<'a> {
        Entry {
            login: Some(login),
            ..self
        }
    }

    pub fn detail(self, detail: &'a str) -> Entry<'a> {
        Entry { detail, ..self }
    }

    pub fn refused(self, why: &'a str) -> Entry<'a> {
        Entry {
            outcome: Outcome::Refused,
            detail: why,
            ..self
        }
    }
}

/// Events recorded by this process, by [`Event::ALL`], for `/metrics`. Failed logins count
/// attempts, not rows.
static COUNTS: [AtomicU64; Event::ALL.len()] = [const { AtomicU64::new(0) }; Event::ALL.len()];

fn count(event: Event, n: u64) {
    COUNTS[event.index()].fetch_add(n, Ordering::Relaxed);
}

/// The events this process recorded, by name, for the `/metrics` page.
pub fn counts() -> Vec<(&'static str, u64)> {
    Event::ALL
        .iter()
        .zip(&COUNTS)
        .map(|(e, n)| (e.name(), n.load(Ordering::Relaxed)))
        .collect()
}

/// Rows that could not be written (a full disk, `storage.max_db_bytes`), for `/metrics`.
static WRITE_FAILURES: AtomicU64 = AtomicU64::new(0);

/// How many events this process could not write.
pub fn write_failures() -> u64 {
    WRITE_FAILURES.load(Ordering::Relaxed)
}

/// Writes `entry` at `at` (Unix seconds) on `conn`, inside the caller's transaction.
///
/// The trail never takes the last [`RESERVED_PAGES`] of the database's room
/// (`storage.max_db_bytes`): when so little is left, the row is not written, the miss is
/// logged and counted, and the caller's change goes ahead. A database filled by a flood must
/// not stop a login from being locked or a password from being changed. (A failed insert
/// cannot simply be rolled back on its own: SQLite answers a full database by rolling back the
/// whole transaction.)
pub fn record(conn: &Connection, entry: &Entry<'_>, at: i64) -> rusqlite::Result<()> {
    if !has_room(conn)? {
        WRITE_FAILURES.fetch_add(1, Ordering::Relaxed);
        log::error!(
            "audit: the {} event for {} was not written: the database is nearly full; the \
             change itself went ahead. Raise storage.max_db_bytes, or lower [audit] keep_days",
            entry.event,
            crate::logging::sanitize(entry.account, 64)
        );
        return Ok(());
    }
    insert(conn, entry, at, 1)?;
    count(entry.event, 1);
    Ok(())
}

/// Pages (of 4 KiB) the trail leaves free for everything else: 256 KiB.
const RESERVED_PAGES: i64 = 64;

/// Whether the database has room for audit rows beyond [`RESERVED_PAGES`].
pub(crate) fn has_room(conn: &Connection) -> rusqlite::Result<bool> {
    let pragma = |name: &str| -> rusqlite::Result<i64> {
        conn.prepare_cached(&format!("PRAGMA {name}"))?
            .query_row([], |r| r.get(0))
    };
    let left = pragma("max_page_count")? - pragma("page_count")? + pragma("freelist_count")?;
    Ok(left >= RESERVED_PAGES)
}

/// Records a change the operator made from the command line (client "admin"), in the
/// change's own transaction.
pub fn admin(
    conn: &Connection,
    event: Event,
    login: Option<Login>,
    account: &str,
    detail: &str,
) -> rusqlite::Result<()> {
    let entry = Entry {
        login,
        ..Entry::new(event, account, ADMIN).detail(detail)
    };
    record(conn, &entry, crate::clock::unix_now())
}

/// `count` events of one kind summed in one row (failed logins).
fn insert(conn: &Connection, entry: &Entry<'_>, at: i64, n: u64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_events (at, event, login_kind, login_id, account, client, outcome, \
         detail, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        at,
        entry.event.name(),
        entry.login.map(Login::kind),
        entry.login.map(Login::id),
        clean(entry.account, MAX_ACCOUNT),
        clean(entry.client, MAX_CLIENT),
        entry.outcome.name(),
        clean(entry.detail, MAX_DETAIL),
        i64::try_from(n).unwrap_or(i64::MAX),
    ])?;
    Ok(())
}

/// Text as stored: control characters escaped (a name with a newline must not forge a second
/// line in `passlink audit`), and the invisible ones that reorder or hide text (bidirectional
/// overrides, zero-width characters, line and paragraph separators), at most `max` characters.
fn clean(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for (n, c) in text.chars().enumerate() {
        if n >= max {
            out.push('…');
            break;
        }
        let invisible = matches!(
            c,
            '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        );
        if c.is_control() || invisible {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Most rows one purge deletes: the first purge after a long stop must not hold the write lock
/// for long. Housekeeping comes back a minute later for the rest.
const PURGE_BATCH: i64 = 10_000;

/// Deletes rows older than `before` (Unix seconds), at most [`PURGE_BATCH`] of them.
pub fn purge(conn: &Connection, before: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "DELETE FROM audit_events WHERE id IN \
         (SELECT id FROM audit_events WHERE at < ?1 ORDER BY at LIMIT ?2)",
    )?
    .execute(params![before, PURGE_BATCH])
}

/// Which rows `passlink audit` shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Rows whose account contains this text, any case.
    pub account: Option<String>,
    /// Rows at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Rows of these events; every event when empty.
    pub events: Vec<Event>,
}

/// One stored row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: i64,
    pub at: i64,
    /// The stored name; an unknown one (from a newer release) is shown as it is.
    pub event: String,
    pub login: Option<Login>,
    pub account: String,
    pub client: String,
    pub outcome: String,
    pub detail: String,
    pub count: i64,
}

/// The rows `filter` selects, oldest first.
pub fn query(conn: &Connection, filter: &Filter) -> rusqlite::Result<Vec<Record>> {
    let mut out = Vec::new();
    for_each(conn, filter, |row| {
        out.push(row);
        true
    })?;
    Ok(out)
}

/// Hands the rows `filter` selects to `f`, oldest first, one at a time (a year of rows need
/// not fit in memory), until `f` returns `false`.
pub fn for_each(
    conn: &Connection,
    filter: &Filter,
    mut f: impl FnMut(Record) -> bool,
) -> rusqlite::Result<()> {
    // Event names are the code's own, so they go into the SQL as literals.
    let events = if filter.events.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = filter.events.iter().map(|e| format!("'{e}'")).collect();
        format!(" AND event IN ({})", names.join(", "))
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT id, at, event, login_kind, login_id, account, client, outcome, detail, count \
         FROM audit_events WHERE at >= ?1{events} ORDER BY at, id"
    ))?;
    let mut rows = stmt.query(params![filter.since.unwrap_or(i64::MIN)])?;
    // Filtered in Rust: SQLite's LIKE folds ASCII case only, and accounts are email addresses
    // and domain names an operator types in any case.
    let wanted = filter.account.as_deref().map(str::to_lowercase);
    while let Some(r) = rows.next()? {
        let account: String = r.get(5)?;
        if let Some(w) = &wanted
            && !account.to_lowercase().contains(w.as_str())
        {
            continue;
        }
        let kind: Option<String> = r.get(3)?;
        let id: Option<i64> = r.get(4)?;
        let record = Record {
            id: r.get(0)?,
            at: r.get(1)?,
            event: r.get(2)?,
            login: kind.zip(id).and_then(|(k, i)| Login::from_kind(&k, i)),
            account,
            client: r.get(6)?,
            outcome: r.get(7)?,
            detail: r.get(8)?,
            count: r.get(9)?,
        };
        if !f(record) {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        for e in Event::ALL {
            assert_eq!(Event::parse(e.name()), Some(e));
        }
        let mut names: Vec<_> = Event::ALL.iter().map(|e| e.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Event::ALL.len());
        assert_eq!(Event::parse("nope"), None);
    }

    #[test]
    fn rows_are_written_filtered_and_purged() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let alice = "Alice@Example.com (xmlStorageSystem user 0000001)";
        record(
            &conn,
            &Entry::new(Event::Registered, alice, "192.0.2.1").login(Login::XssUser(1)),
            100,
        )
        .unwrap();
        record(
            &conn,
            &Entry::new(Event::PasswordChanged, alice, ADMIN)
                .login(Login::XssUser(1))
                .detail("passlink user set-password"),
            200,
        )
        .unwrap();
        record(
            &conn,
            &Entry::new(Event::LoginFailed, "bob\nforged line", "192.0.2.9").refused("wrong"),
            300,
        )
        .unwrap();
        let all = query(&conn, &Filter::default()).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].login, Some(Login::XssUser(1)));
        assert_eq!(
            all[2].account, "bob\\nforged line",
            "no raw control characters"
        );
        assert_eq!(all[2].outcome, "refused");
        let alices = query(
            &conn,
            &Filter {
                account: Some("alice@EXAMPLE".into()),
                ..Filter::default()
            },
        )
        .unwrap();
        assert_eq!(alices.len(), 2);
        let changes = query(
            &conn,
            &Filter {
                events: vec![Event::PasswordChanged],
                since: Some(150),
                ..Filter::default()
            },
        )
        .unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].detail, "passlink user set-password");
        assert_eq!(purge(&conn, 201).unwrap(), 2);
        assert_eq!(query(&conn, &Filter::default()).unwrap().len(), 1);
    }

    #[test]
    fn a_nearly_full_database_keeps_the_change_and_skips_the_row() {
        let (_dir, mut conn) = crate::db::migrated_temp_db();
        conn.execute_batch("CREATE TABLE filler (b BLOB); INSERT INTO filler VALUES (1);")
            .unwrap();
        let pages: i64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        conn.query_row(
            &format!("PRAGMA max_page_count = {}", pages + 10),
            [],
            |_| Ok(()),
        )
        .unwrap();
        let before = write_failures();
        let tx = conn.transaction().unwrap();
        tx.execute("UPDATE filler SET b = 2", []).unwrap();
        record(&tx, &Entry::new(Event::UserChanged, "x", ADMIN), 1).unwrap();
        tx.commit().unwrap();
        assert_eq!(write_failures(), before + 1);
        let b: i64 = conn
            .query_row("SELECT b FROM filler", [], |r| r.get(0))
            .unwrap();
        assert_eq!(b, 2, "the change went ahead");
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM audit_events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0);
        // With room, the row is written.
        conn.query_row("PRAGMA max_page_count = 1000000", [], |_| Ok(()))
            .unwrap();
        record(&conn, &Entry::new(Event::UserChanged, "x", ADMIN), 1).unwrap();
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM audit_events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1);
    }

    #[test]
    fn invisible_characters_are_escaped() {
        assert_eq!(clean("a\u{202e}b\u{2028}c", 10), "a\\u{202e}b\\u{2028}c");
    }

    #[test]
    fn long_text_is_cut() {
        let long = "x".repeat(1000);
        assert_eq!(clean(&long, MAX_ACCOUNT).chars().count(), MAX_ACCOUNT + 1);
    }
}
