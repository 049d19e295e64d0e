//! The weblogUpdates log: the `weblog_pings` table behind `changes.xml`, which keeps the most
//! recent pings.

use rusqlite::{Connection, params};

/// How many recent weblogUpdates pings are kept for changes.xml.
pub const WEBLOG_PINGS_KEPT: i64 = 1000;

/// One weblog's latest ping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    pub name: String,
    pub url: String,
    pub at: i64,
}

/// Records a ping (a weblog pings again: its name and time are updated) and drops all but the
/// newest [`WEBLOG_PINGS_KEPT`]. The trim is part of the write, not a timed purge: it is what
/// keeps the table, and the page built from it, bounded however fast pings come.
pub fn record(conn: &Connection, name: &str, url: &str, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO weblog_pings (name, url, at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (url) DO UPDATE SET name = excluded.name, at = excluded.at",
        params![name, url, now],
    )?;
    conn.execute(
        "DELETE FROM weblog_pings WHERE id NOT IN \
         (SELECT id FROM weblog_pings ORDER BY at DESC, id DESC LIMIT ?1)",
        params![WEBLOG_PINGS_KEPT],
    )?;
    Ok(())
}

/// The pings kept, newest first.
pub fn recent(conn: &Connection) -> rusqlite::Result<Vec<Ping>> {
    let mut stmt =
        conn.prepare_cached("SELECT name, url, at FROM weblog_pings ORDER BY at DESC, id DESC")?;
    let rows = stmt.query_map([], |r| {
        Ok(Ping {
            name: r.get(0)?,
            url: r.get(1)?,
            at: r.get(2)?,
        })
    })?;
    rows.collect()
}
