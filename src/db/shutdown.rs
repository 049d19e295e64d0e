//! The end of a server's life: its last connection leaves `passlink.sqlite3` complete on its
//! own, so that a copy of that one file after `systemctl stop passlink` is a full backup.
//!
//! In WAL mode a commit goes to `-wal`; the database file catches up at checkpoints, which
//! SQLite makes every 1,000 WAL pages and when the last connection closes. So every other
//! connection of the server must be closed first (`serve::serve` sees to that), and then this
//! one checkpoints with `TRUNCATE`, which copies every page back and empties `-wal`, and
//! closes (which deletes `-wal`).
//!
//! If the file was deleted, replaced or truncated while the server ran (see [`super::watch`]),
//! checkpointing would write into a file that is no longer the database, and closing would
//! delete a `-wal` that may belong to whatever now sits at the path. Instead, everything the
//! connection can still read is copied to `passlink.sqlite3.rescued-<time>` beside it, checked,
//! and the files at the path are left exactly as they are.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::config::DbConfig;

use super::watch::{self, Vanished};
use super::{backup, check};

/// The final checkpoint waits at most this long for other processes. A command line write is
/// over in milliseconds; Litestream holds a read transaction for as long as it runs, which no
/// wait would outlast, and the stop should not drag on for it.
const FINAL_WAIT: Duration = Duration::from_secs(2);

/// Closes the server's last connection to `path`, checkpointing first (or rescuing, if the
/// file vanished). Logs what happened; nothing here is worth failing the stop for.
pub fn close_last(conn: Connection, path: &Path, busy_timeout: Duration) {
    match watch::installed().map(|w| w.check()) {
        Some(Err(found)) => {
            rescue(&conn, path, found, busy_timeout);
            close_untouched(conn, path);
        }
        _ => {
            checkpoint(&conn, path, busy_timeout.min(FINAL_WAIT));
            close(conn, path);
        }
    }
}

/// What `PRAGMA wal_checkpoint` answers: whether it was blocked, the WAL's frames, and how
/// many of them are in the database file now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub busy: bool,
    pub wal_frames: i64,
    pub copied: i64,
}

/// `PRAGMA wal_checkpoint(TRUNCATE)`: every page into the database file and `-wal` emptied,
/// unless another connection is in the way (`busy`), when as much as possible is copied.
pub fn checkpoint_truncate(conn: &Connection) -> rusqlite::Result<Checkpoint> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        Ok(Checkpoint {
            busy: r.get::<_, i64>(0)? != 0,
            wal_frames: r.get(1)?,
            copied: r.get(2)?,
        })
    })
}

fn checkpoint(conn: &Connection, path: &Path, wait: Duration) {
    if let Err(e) = conn.busy_timeout(wait) {
        log::warn!("database: cannot set the final checkpoint's wait: {e}");
    }
    match checkpoint_truncate(conn) {
        Ok(c) if !c.busy => log::info!(
            "database checkpointed: {} is complete on its own and its -wal is empty",
            path.display()
        ),
        // The pages are all in the file; only emptying -wal had to wait for the other reader.
        Ok(c) if c.copied == c.wal_frames => log::info!(
            "database checkpointed: {} is complete on its own; its -wal was not emptied \
             because another process (Litestream, or a passlink command) has it open",
            path.display()
        ),
        Ok(c) => log::warn!(
            "database: the final checkpoint could not finish within {wait:?} ({} of {} WAL \
             frames copied): another process (Litestream, or a passlink command) has {} open. \
             Until it closes the database, copy {} together with its -wal file, or use \
             `passlink db backup`",
            c.copied,
            c.wal_frames,
            path.display(),
            path.display()
        ),
        Err(e) => log::error!(
            "database: the final checkpoint of {} failed: {e}; the last writes are in its -wal \
             file, which SQLite applies at the next start. Copy both files, or use `passlink db \
             backup`",
            path.display()
        ),
    }
}

fn close(conn: Connection, path: &Path) {
    if let Err((_, e)) = conn.close() {
        log::error!("database: closing {} failed: {e}", path.display());
        return;
    }
    let wal = wal_path(path);
    match std::fs::metadata(&wal) {
        Err(_) => log::info!("database closed; {} is gone", wal.display()),
        Ok(meta) if meta.len() == 0 => log::info!("database closed; {} is empty", wal.display()),
        // Another process still has the database open, and has written since the checkpoint.
        Ok(meta) => log::warn!(
            "database closed, but {} holds {} bytes another process wrote: copy it together \
             with {}",
            wal.display(),
            meta.len(),
            path.display()
        ),
    }
}

/// Closes without the checkpoint SQLite makes when the last connection closes, and so
/// without deleting the `-wal` at the path either.
fn close_untouched(conn: Connection, path: &Path) {
    if let Err(e) = conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true) {
        log::error!("database: cannot turn off the checkpoint on close: {e}");
    }
    if let Err((_, e)) = conn.close() {
        log::error!("database: closing {} failed: {e}", path.display());
    }
    log::error!(
        "database closed without a checkpoint: the files at {} were left as they are",
        path.display()
    );
}

/// Copies what the connection still reads (the file it opened and its WAL, deleted or not)
/// to a new file beside `path`, and says whether that copy is a whole passlink database.
fn rescue(conn: &Connection, path: &Path, found: Vanished, busy_timeout: Duration) {
    let dest = rescue_path(path, crate::clock::unix_now());
    if let Err(e) = backup(conn, &dest) {
        log::error!(
            "database: {} {found}, and copying what passlink still had open to {} failed: \
             {e}. Restore the latest backup",
            path.display(),
            dest.display()
        );
        return;
    }
    match check::check_file(&dest, busy_timeout) {
        Ok(report) if report.ok() => log::error!(
            "database: {} {found}; everything passlink still had open is in {}, which passes \
             `passlink db check`. Move {} and its -wal and -shm aside, put the rescued file in \
             its place, and start passlink",
            path.display(),
            dest.display(),
            path.display()
        ),
        Ok(report) => log::error!(
            "database: {} {found}; what passlink still had open is in {}, but it is damaged \
             ({}): restore the latest backup instead",
            path.display(),
            dest.display(),
            report.problems.join("; ")
        ),
        Err(e) => log::error!(
            "database: {} {found}; what passlink still had open is in {}, but it cannot be \
             checked: {e}",
            path.display(),
            dest.display()
        ),
    }
}

/// `DIR/passlink.sqlite3.rescued-20260102T030405Z`.
pub fn rescue_path(path: &Path, now: i64) -> PathBuf {
    let stamp: String = crate::clock::rfc3339(now)
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".rescued-{stamp}"));
    PathBuf::from(name)
}

pub fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_close_leaves_one_complete_file() {
        let (dir, conn) = crate::db::migrated_temp_db();
        let path = dir.path().join("test.sqlite3");
        conn.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')", [])
            .unwrap();
        // Another idle connection does not stop the checkpoint.
        let other = crate::db::open_existing(&path, Duration::from_secs(1)).unwrap();
        let c = checkpoint_truncate(&conn).unwrap();
        assert!(!c.busy, "{c:?}");
        drop(other);
        close_last(conn, &path, Duration::from_secs(1));
        assert!(!wal_path(&path).exists());
        let copy = dir.path().join("copy.sqlite3");
        std::fs::copy(&path, &copy).unwrap();
        let conn = Connection::open(&copy).unwrap();
        let v: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'k'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, "v");
    }

    #[test]
    fn rescue_files_are_named_by_the_time() {
        assert_eq!(
            rescue_path(Path::new("/d/passlink.sqlite3"), 0),
            Path::new("/d/passlink.sqlite3.rescued-19700101T000000Z")
        );
    }
}
