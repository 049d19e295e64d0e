//! Notices when the database file under a running server stops being the file it opened.
//!
//! SQLite keeps working on the file descriptors it opened: after `rm`, `mv` or a copy over
//! `passlink.sqlite3` it goes on committing into an inode that nothing names any more, and
//! after `truncate` into a file whose pages are gone. Every write would be acknowledged and
//! lost. So `serve` records the file's device and inode when it opens it, and a `stat` of the
//! path is compared with them: before every commit on the server's connections (a commit
//! hook), at each `/healthz`, and once a second from the mailer thread, so it is noticed with
//! no traffic at all. Once tripped the watch stays tripped until a restart: writes are refused,
//! `/healthz` answers 503, and one ERROR line says what happened and what to do.
//!
//! The file is only ever `stat`ed, never opened: closing any descriptor of a file releases
//! every POSIX lock the process holds on it, SQLite's included.

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::Connection;

/// What happened to the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vanished {
    /// No file at the path any more: deleted, or renamed away.
    Gone,
    /// A different file (another inode) at the path: renamed or copied over.
    Replaced,
    /// Smaller than it was. passlink never runs VACUUM and never turns on auto_vacuum, so its
    /// file only grows (freed pages go to SQLite's free list); smaller means cut off.
    Truncated { size: u64, was: u64 },
    /// The path cannot be examined (permissions on the data directory changed, say).
    Unreachable(std::io::ErrorKind),
}

impl fmt::Display for Vanished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Vanished::Gone => f.write_str("was deleted or renamed"),
            Vanished::Replaced => f.write_str("was replaced by another file"),
            Vanished::Truncated { size, was } => {
                write!(f, "was truncated to {size} bytes (it had {was})")
            }
            Vanished::Unreachable(kind) => write!(f, "can no longer be examined ({kind})"),
        }
    }
}

/// The database file as the server opened it.
#[derive(Debug)]
pub struct Watch {
    path: PathBuf,
    dev: u64,
    ino: u64,
    /// The largest size seen so far.
    largest: AtomicU64,
    tripped: OnceLock<Vanished>,
}

impl Watch {
    /// Records the file now at `path`. Call it right after opening the database.
    pub fn new(path: &Path) -> std::io::Result<Watch> {
        // Absolute, so a later change of the working directory cannot change what is looked at.
        let path = std::path::absolute(path)?;
        let meta = std::fs::metadata(&path)?;
        Ok(Watch {
            path,
            dev: meta.dev(),
            ino: meta.ino(),
            largest: AtomicU64::new(meta.len()),
            tripped: OnceLock::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What went wrong, if it has already been noticed (no system call).
    pub fn tripped(&self) -> Option<Vanished> {
        self.tripped.get().copied()
    }

    /// Looks at the path now (one `stat`). `Err` once the file is no longer the one opened.
    pub fn check(&self) -> Result<(), Vanished> {
        if let Some(found) = self.tripped() {
            return Err(found);
        }
        match self.look() {
            None => Ok(()),
            Some(found) => Err(self.trip(found)),
        }
    }

    fn look(&self) -> Option<Vanished> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(Vanished::Gone),
            Err(e) => return Some(Vanished::Unreachable(e.kind())),
        };
        if (meta.dev(), meta.ino()) != (self.dev, self.ino) {
            return Some(Vanished::Replaced);
        }
        let size = meta.len();
        let was = self.largest.fetch_max(size, Ordering::Relaxed);
        (size < was).then_some(Vanished::Truncated { size, was })
    }

    /// Records the first finding (a later, different one changes nothing) and logs it once.
    fn trip(&self, found: Vanished) -> Vanished {
        if self.tripped.set(found).is_ok() {
            log::error!(
                "the database file {} {found} while passlink was running. From now on every \
                 write is refused (clients get an error in their protocol) and /healthz answers \
                 503, so nothing more is acknowledged into a file that is no longer the \
                 database. Stop passlink (systemctl stop passlink): at a clean stop it copies \
                 everything it still has open to {}.rescued-<time>. Then move passlink.sqlite3 \
                 and its -wal and -shm files aside, put a good copy in place (the rescued one if \
                 `passlink db check` passes on it, else your latest backup) and start passlink \
                 again",
                self.path.display(),
                self.path.display()
            );
        }
        self.tripped().unwrap_or(found)
    }
}

/// The watch of the running server, if `serve` installed one. Nothing else does: the command
/// line and the unit tests never refuse a write because of it.
static WATCH: OnceLock<Watch> = OnceLock::new();

/// Starts watching the database at `path` for the rest of the process. Once per process.
pub fn install(path: &Path) -> std::io::Result<&'static Watch> {
    let watch = Watch::new(path)?;
    if WATCH.set(watch).is_err() {
        return Err(std::io::Error::other(
            "the database watch is already installed in this process",
        ));
    }
    WATCH
        .get()
        .ok_or_else(|| std::io::Error::other("database watch missing"))
}

pub fn installed() -> Option<&'static Watch> {
    WATCH.get()
}

/// Looks at the file now: what is wrong with it, if anything (one `stat`).
pub fn problem() -> Option<Vanished> {
    installed().and_then(|w| w.check().err())
}

/// What was found earlier, if anything (no system call).
pub fn tripped() -> Option<Vanished> {
    installed().and_then(Watch::tripped)
}

/// Makes every commit on `conn` look at the file first and roll back if it is no longer the
/// database: a write transaction or a single statement alike, whatever code path made it.
/// The refused commit fails with `SQLITE_CONSTRAINT_COMMITHOOK` (see [`super::is_vanished`]).
pub fn guard(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.commit_hook(Some(|| problem().is_some()))
}

/// The error a refused write gets before it starts, once the watch has tripped: the same code
/// a commit refused by [`guard`] gets, so that callers see one kind of error.
pub fn refusal(found: Vanished) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_COMMITHOOK),
        Some(format!(
            "the database file {found}; passlink refuses writes until it is restarted"
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grown_file_is_fine_and_a_cut_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        std::fs::write(&path, vec![1u8; 8192]).unwrap();
        let watch = Watch::new(&path).unwrap();
        assert_eq!(watch.check(), Ok(()));
        std::fs::write(&path, vec![1u8; 16384]).unwrap();
        assert_eq!(watch.check(), Ok(()), "growing is what a database does");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        assert_eq!(
            watch.check(),
            Err(Vanished::Truncated {
                size: 0,
                was: 16384
            })
        );
        // Tripped for good, even once the file is as large as before.
        std::fs::write(&path, vec![1u8; 16384]).unwrap();
        assert!(watch.check().is_err());
    }

    #[test]
    fn deleted_and_replaced_files_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        std::fs::write(&path, b"x").unwrap();
        let gone = Watch::new(&path).unwrap();
        std::fs::rename(&path, dir.path().join("elsewhere")).unwrap();
        assert_eq!(gone.check(), Err(Vanished::Gone));

        std::fs::write(&path, b"y").unwrap();
        let replaced = Watch::new(&path).unwrap();
        let other = dir.path().join("other");
        std::fs::write(&other, b"yy").unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert_eq!(replaced.check(), Err(Vanished::Replaced));
        assert_eq!(replaced.tripped(), Some(Vanished::Replaced));
    }

    #[test]
    fn a_refusal_is_recognised_as_one() {
        let e = refusal(Vanished::Gone);
        assert!(super::super::is_vanished(&e));
        assert!(!super::super::is_busy(&e) && !super::super::is_full(&e));
        assert!(e.to_string().contains("deleted or renamed"), "{e}");
    }
}
