//! One `passlink serve` per data directory. Two servers on one database would each run the
//! start-up recovery (putting the other's in-flight mails back in the queue, so they go out
//! twice) and each keep their own rate limits. `serve` holds an exclusive lock on
//! `DATA_DIR/passlink.lock` for its whole life, taken before it changes anything; the file
//! holds the PID, so a second `serve` can say which process is in the way.
//!
//! The lock is `flock`, on a file of its own: SQLite's POSIX locks on the database are
//! untouched, and the command line (which never takes this lock) keeps working beside the
//! server. The kernel drops the lock when the process ends, however it ends; the file stays
//! (removing it would let a third process lock a new file while the second holds the old).

use std::fmt;
use std::fs::{File, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "passlink.lock";

#[derive(Debug)]
pub enum LockError {
    /// Another process holds the lock.
    Held {
        data_dir: PathBuf,
        /// As that process wrote it; `None` if it could not be read (it may be starting).
        pid: Option<u32>,
    },
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Held { data_dir, pid } => {
                let who = pid.map_or_else(|| "PID unknown".to_string(), |p| format!("PID {p}"));
                write!(
                    f,
                    "another passlink serve ({who}) is running on data directory {}; stop it \
                     first (it holds {})",
                    data_dir.display(),
                    data_dir.join(LOCK_FILE).display()
                )
            }
            LockError::Io { path, error } => {
                write!(f, "cannot lock {}: {error}", path.display())?;
                if error.kind() == std::io::ErrorKind::PermissionDenied {
                    write!(f, " ({})", crate::owners::describe(path))?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LockError {}

/// The lock, held until dropped.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Takes the data directory's lock (which must exist) or says who holds it. Never waits.
pub fn acquire(data_dir: &Path) -> Result<DataDirLock, LockError> {
    let path = data_dir.join(LOCK_FILE);
    let io = |error| LockError::Io {
        path: path.clone(),
        error,
    };
    let mut file = open(&path).map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(LockError::Held {
                data_dir: std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.into()),
                pid: read_pid(&mut file),
            });
        }
        Err(TryLockError::Error(error)) => return Err(io(error)),
    }
    write_pid(&mut file).map_err(io)?;
    Ok(DataDirLock { _file: file })
}

fn open(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// Replaces the previous holder's PID with ours. The file was just opened, so the offset is 0.
fn write_pid(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.write_all(format!("{}\n", std::process::id()).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), "99999999\n").unwrap();
        let held = acquire(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        assert_eq!(
            text,
            format!("{}\n", std::process::id()),
            "a stale PID is replaced"
        );
        // flock locks belong to the open file, so a second open in this process conflicts too.
        let err = acquire(dir.path()).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains(&format!("(PID {})", std::process::id())),
            "{message}"
        );
        assert!(message.contains("stop it first"), "{message}");
        drop(held);
        assert!(acquire(dir.path()).is_ok(), "free again once dropped");
    }
}
