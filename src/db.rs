//! The one SQLite file: opening it with the pragmas passlink relies on, migrating it forward
//! from `schema.sql`, online backups and integrity checks. [`check`] is `db check`, [`watch`]
//! notices the file vanishing under a running server, and [`shutdown`] closes the server's last
//! connection so that the file is complete on its own.
//!
//! Each worker thread owns one connection. Writes use `BEGIN IMMEDIATE` (see [`write`]) so that a
//! writer takes the lock up front and waits within the busy timeout, instead of failing with
//! SQLITE_BUSY halfway through a transaction that started as a reader.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub mod check;
pub mod shutdown;
pub mod watch;

/// The migration history, embedded so the binary carries its own schema.
pub const SCHEMA_SQL: &str = include_str!("../schema.sql");

#[derive(Debug)]
pub enum DbError {
    Sqlite(rusqlite::Error),
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    Missing(PathBuf),
    /// The file exists (or should be created) but SQLite cannot open or write it: nearly
    /// always an owner or mode that is not the running user's.
    Open {
        path: PathBuf,
        error: rusqlite::Error,
    },
    /// The file was written by a newer passlink; running an older one against it could lose data.
    TooNew {
        found: i64,
        supported: i64,
    },
    Schema(String),
    NotWal(String),
    /// `db check` found the file is not a whole passlink database.
    Unusable {
        path: PathBuf,
        problems: Vec<String>,
    },
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Sqlite(e) => write!(f, "database error: {e}"),
            DbError::Io { path, error } => {
                write!(f, "{}: {error}", path.display())?;
                if error.kind() == std::io::ErrorKind::PermissionDenied {
                    write!(f, " ({})", crate::owners::describe(path))?;
                }
                Ok(())
            }
            DbError::Missing(path) => write!(f, "no database at {}", path.display()),
            DbError::Open { path, error } => {
                let dir = path.parent().unwrap_or(path);
                let owner = crate::owners::owner_of(dir).map_or_else(
                    || "its owner".to_string(),
                    |(_, uid)| crate::owners::user_name(uid),
                );
                write!(
                    f,
                    "cannot open the database {}: {error} ({}). The data directory and every \
                     file in it must belong to the user passlink runs as: run passlink as \
                     {owner} (sudo -u {owner} passlink ...), or give the files back with \
                     chown -R {owner}: {}",
                    path.display(),
                    crate::owners::describe(path),
                    dir.display()
                )
            }
            DbError::TooNew { found, supported } => write!(
                f,
                "database schema version {found} is newer than this passlink supports \
                 ({supported}); upgrade passlink instead of downgrading"
            ),
            DbError::Schema(msg) => write!(f, "schema.sql: {msg}"),
            DbError::NotWal(mode) => write!(
                f,
                "the database could not be put in WAL mode (journal_mode is {mode}); \
                 is the data directory on a network filesystem?"
            ),
            DbError::Unusable { path, problems } => write!(
                f,
                "{} is not a usable passlink database: {}. Restore it from a backup (README: \
                 \"Restoring\")",
                path.display(),
                problems.join("; ")
            ),
        }
    }
}

impl std::error::Error for DbError {}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError::Sqlite(e)
    }
}

/// One migration: the SQL that takes `user_version` from `version - 1` to `version`.
#[derive(Debug, PartialEq, Eq)]
pub struct Migration<'a> {
    pub version: i64,
    pub sql: &'a str,
}

/// Splits `schema.sql` at its `-- migrate: N` markers, insisting on 1, 2, 3, … in order.
pub fn migrations(schema: &str) -> Result<Vec<Migration<'_>>, DbError> {
    let mut found: Vec<Migration<'_>> = Vec::new();
    let mut offset = 0;
    let mut current: Option<(i64, usize)> = None;
    for line in schema.split_inclusive('\n') {
        if let Some(rest) = line.trim().strip_prefix("-- migrate:") {
            let version: i64 = rest
                .trim()
                .parse()
                .map_err(|_| DbError::Schema(format!("bad migration marker {:?}", line.trim())))?;
            if let Some((v, start)) = current.take() {
                found.push(Migration {
                    version: v,
                    sql: &schema[start..offset],
                });
            }
            let expected = found.len() as i64 + 1;
            if version != expected {
                return Err(DbError::Schema(format!(
                    "migration {version} found where {expected} was expected"
                )));
            }
            current = Some((version, offset + line.len()));
        }
        offset += line.len();
    }
    if let Some((v, start)) = current {
        found.push(Migration {
            version: v,
            sql: &schema[start..],
        });
    }
    if found.is_empty() {
        return Err(DbError::Schema("no migrations".into()));
    }
    Ok(found)
}

/// The schema version this binary writes.
pub fn latest_version() -> i64 {
    migrations(SCHEMA_SQL).map_or(0, |m| m.len() as i64)
}

/// Opens (creating if needed) the database under `data_dir` for the server and `db migrate`.
pub fn open_or_create(path: &Path, busy_timeout: Duration) -> Result<Connection, DbError> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let existed = path.exists();
    let conn = Connection::open(path).map_err(|e| opening(path, e))?;
    if !existed {
        restrict_file(path)?;
    }
    configure(&conn, busy_timeout).map_err(|e| opening_db(path, e))?;
    Ok(conn)
}

/// An open error with the path and, when it is about access, who owns what.
fn opening(path: &Path, error: rusqlite::Error) -> DbError {
    use rusqlite::ErrorCode::{CannotOpen, PermissionDenied, ReadOnly};
    match error.sqlite_error_code() {
        Some(CannotOpen | PermissionDenied | ReadOnly) => DbError::Open {
            path: path.to_path_buf(),
            error,
        },
        _ => DbError::Sqlite(error),
    }
}

fn opening_db(path: &Path, error: DbError) -> DbError {
    match error {
        DbError::Sqlite(e) => opening(path, e),
        other => other,
    }
}

/// Opens an existing database; for `db backup`, which must never create one.
pub fn open_existing(path: &Path, busy_timeout: Duration) -> Result<Connection, DbError> {
    // Only "not found" is a missing database: a directory we may not enter hides the file,
    // and saying "no database" then would send the operator the wrong way.
    if let Err(error) = std::fs::metadata(path) {
        return Err(match error.kind() {
            std::io::ErrorKind::NotFound => DbError::Missing(path.to_path_buf()),
            _ => DbError::Io {
                path: path.to_path_buf(),
                error,
            },
        });
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| opening(path, e))?;
    configure(&conn, busy_timeout).map_err(|e| opening_db(path, e))?;
    Ok(conn)
}

/// The pragmas every connection gets. `synchronous=FULL` because an acknowledged write must
/// survive power loss, not just a process crash.
fn configure(conn: &Connection, busy_timeout: Duration) -> Result<(), DbError> {
    conn.busy_timeout(busy_timeout)?;
    // Every hot query is a cached statement; rusqlite's default of 16 is fewer than the
    // statements one worker uses, which would evict and re-parse them.
    conn.set_prepared_statement_cache_capacity(128);
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(DbError::NotWal(mode));
    }
    // A small page cache per connection: there is one connection per worker, and SQLite's
    // default of 2 MiB each was most of passlink's memory under load. The kernel's page cache
    // keeps the file's hot pages for all of them, so a miss here costs a pread, not a disk read.
    // Measured (bench/run.sh): peak RSS 44 MiB at 2 MiB, 30.6 MiB at 512 KiB, 28.2 MiB at
    // 256 KiB, with no throughput change beyond the run-to-run noise.
    conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-256;")?;
    // A mail holds its reset link until it is sent, then the link is scrubbed from the row.
    // Without this, the bytes a write frees inside a page (the old row, or what a page split
    // leaves behind) stay in the file: the token would outlive its scrub. FAST zeroes them
    // only where that costs no extra I/O; the scrub itself zeroes freed overflow pages too
    // (`mail::mark_sent`).
    conn.execute_batch("PRAGMA secure_delete=FAST;")?;
    Ok(())
}

/// Caps the database at about `max_bytes` (SQLite's `max_page_count`), for this connection. A
/// write that would grow the file beyond it fails with `SQLITE_FULL` and changes nothing; reads
/// are unaffected. A cap below the current size holds the file at its current size.
pub fn limit_size(conn: &Connection, max_bytes: Option<u64>) -> Result<(), DbError> {
    let Some(max_bytes) = max_bytes else {
        return Ok(());
    };
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let page_size = u64::try_from(page_size).unwrap_or(4096).max(512);
    let pages = max_bytes.div_ceil(page_size).max(1);
    conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
    Ok(())
}

/// Whether an error means the database reached its size cap (or the disk is full).
pub fn is_full(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
}

/// Whether an error means the write was refused because the database file is no longer the
/// one the server opened (see [`watch`]): deleted, renamed, replaced or truncated under it.
pub fn is_vanished(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(e, _)
        if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_COMMITHOOK)
}

/// What a database error means for the client, for the protocols to say in their own terms:
/// nothing was changed, and the operator (or a later try) can fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// The file is no longer the database the server opened ([`is_vanished`]).
    Vanished,
    /// `storage.max_db_bytes` or the disk is full ([`is_full`]).
    Full,
    /// Another writer held the lock past the busy timeout ([`is_busy`]).
    Busy,
    /// Anything else: an internal error.
    Other,
}

impl Trouble {
    /// Classifies `error` and logs it, prefixed with `what` (a method or a protocol). A vanished
    /// file is not logged here: `watch` logged it once, when it noticed.
    pub fn of(error: &rusqlite::Error, what: &str) -> Trouble {
        if is_vanished(error) {
            Trouble::Vanished
        } else if is_full(error) {
            log::error!("{what}: the database is full (storage.max_db_bytes or the disk)");
            Trouble::Full
        } else if is_busy(error) {
            log::warn!("{what}: the database stayed locked past the busy timeout");
            Trouble::Busy
        } else {
            log::error!("{what}: database error: {error}");
            Trouble::Other
        }
    }
}

/// Whether an error means another writer held the lock past the busy timeout.
pub fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Creates `dir` (and its parents) owner-only, whatever the umask; an existing one is left as
/// it is.
pub fn create_private_dir(dir: &Path) -> Result<(), DbError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|error| DbError::Io {
            path: dir.to_path_buf(),
            error,
        })
}

/// The database holds password hashes and tokens: owner-only, whatever the umask.
fn restrict_file(path: &Path) -> Result<(), DbError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|error| {
        DbError::Io {
            path: path.to_path_buf(),
            error,
        }
    })
}

pub fn schema_version(conn: &Connection) -> Result<i64, DbError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the database to the latest schema in one transaction; returns (from, to).
pub fn migrate(conn: &mut Connection) -> Result<(i64, i64), DbError> {
    let all = migrations(SCHEMA_SQL)?;
    let latest = all.len() as i64;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Read inside the write lock, so two processes migrating at once cannot both apply a step.
    let from = schema_version(&tx)?;
    if from > latest {
        return Err(DbError::TooNew {
            found: from,
            supported: latest,
        });
    }
    for step in all.iter().filter(|m| m.version > from) {
        tx.execute_batch(step.sql)?;
    }
    if from < latest {
        tx.pragma_update(None, "user_version", latest)?;
    }
    tx.commit()?;
    Ok((from, latest))
}

/// Writers of this process take turns here before `BEGIN IMMEDIATE`. SQLite's busy handler
/// would also serialise them, but by sleeping in steps of up to 100 ms, which under load turns
/// into long tails; a mutex hands the lock over at once. (Other processes, such as the CLI,
/// still meet the busy timeout.) Never nest: a body must not call `write` again.
static WRITER: Mutex<()> = Mutex::new(());

/// Runs `body` in a `BEGIN IMMEDIATE` transaction and commits it when `body` succeeds.
pub fn write<T, E: From<rusqlite::Error>>(
    conn: &mut Connection,
    body: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
) -> Result<T, E> {
    let _turn = WRITER.lock().unwrap_or_else(PoisonError::into_inner);
    refuse_if_vanished()?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let value = body(&tx)?;
    tx.commit()?;
    Ok(value)
}

/// [`write`] for a caller that holds only a shared reference to its connection (which must
/// not be in a transaction already).
pub fn write_shared<T, E: From<rusqlite::Error>>(
    conn: &Connection,
    body: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
) -> Result<T, E> {
    let _turn = WRITER.lock().unwrap_or_else(PoisonError::into_inner);
    refuse_if_vanished()?;
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    let value = body(&tx)?;
    tx.commit()?;
    Ok(value)
}

/// Once the server's database file is known to be gone, a write is refused before it does any
/// work. Until then the commit hook of [`watch::guard`] is what notices: this only reads what
/// it found, without a system call.
fn refuse_if_vanished() -> rusqlite::Result<()> {
    match watch::tripped() {
        Some(found) => Err(watch::refusal(found)),
        None => Ok(()),
    }
}

/// Answers whether the database is readable: the cheap check behind `/healthz`.
pub fn ping(conn: &Connection) -> Result<i64, DbError> {
    schema_version(conn)
}

/// The database's size as SQLite counts it, `page_count * page_size`: the figure
/// `storage.max_db_bytes` caps. Pages still only in the `-wal` file are included; the `-wal`
/// file's own size is not.
pub fn size_bytes(conn: &Connection) -> rusqlite::Result<u64> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(u64::try_from(pages)
        .unwrap_or(0)
        .saturating_mul(u64::try_from(page_size).unwrap_or(0)))
}

/// `PRAGMA integrity_check`: an empty list means the file is sound.
pub fn integrity_problems(conn: &Connection) -> Result<Vec<String>, DbError> {
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut problems = Vec::new();
    for row in rows {
        let row = row?;
        if row != "ok" {
            problems.push(row);
        }
    }
    Ok(problems)
}

/// An online, consistent copy through SQLite's backup API, written beside `dest` and renamed
/// into place so that `dest` is never a half-written file.
/// Where `db backup PATH` writes: PATH itself, or, when PATH is a directory (or ends in `/`),
/// `passlink-YYYYMMDDTHHMMSSZ.sqlite3` inside it, as `cp` would put a file there. A directory
/// that does not exist is an error that names it, not one about a temporary file.
pub fn backup_target(dest: &Path, now: i64) -> Result<PathBuf, DbError> {
    let missing = |dir: &Path| DbError::Io {
        path: dir.to_path_buf(),
        error: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such directory; create it first, or give a path in one that exists",
        ),
    };
    let as_dir = dest.as_os_str().to_string_lossy().ends_with('/');
    if as_dir || dest.is_dir() {
        if !dest.is_dir() {
            return Err(missing(dest));
        }
        let stamp: String = crate::clock::rfc3339(now)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        return Ok(dest.join(format!("passlink-{stamp}.sqlite3")));
    }
    match dest.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => Err(missing(dir)),
        _ => Ok(dest.to_path_buf()),
    }
}

pub fn backup(src: &Connection, dest: &Path) -> Result<(), DbError> {
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dest.file_name().map_or_else(
        || "backup".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let partial = dir.join(format!(".{name}.partial-{}", std::process::id()));
    let io = |error, path: &Path| DbError::Io {
        path: path.to_path_buf(),
        error,
    };
    let _ = std::fs::remove_file(&partial);
    let result = (|| {
        let mut out = Connection::open(&partial)?;
        restrict_file(&partial)?;
        {
            use rusqlite::backup::{Backup, StepResult};
            let copy = Backup::new(src, &mut out)?;
            // All pages in one step (-1): one read transaction, so concurrent writers neither
            // block the copy (WAL) nor make it start over, as page-by-page steps would.
            let mut waits = 0;
            loop {
                match copy.step(-1)? {
                    StepResult::Done => break,
                    StepResult::More => {}
                    StepResult::Busy | StepResult::Locked if waits < 200 => {
                        waits += 1;
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    StepResult::Busy | StepResult::Locked => {
                        return Err(DbError::Sqlite(rusqlite::Error::SqliteFailure(
                            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                            Some("database stayed locked for 10 s".into()),
                        )));
                    }
                    _ => {}
                }
            }
        }
        out.close().map_err(|(_, e)| DbError::Sqlite(e))?;
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(e, &partial))?;
        std::fs::rename(&partial, dest).map_err(|e| io(e, dest))?;
        // Make the rename itself durable.
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(e, &dir))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Group commit: many small writes from many threads share one transaction and one fsync.
///
/// A caller hands [`GroupWriter::run`] a body; a committer thread gathers every body waiting,
/// runs each inside its own savepoint (so one failing body rolls back alone), commits once,
/// and only then answers each caller. A caller that gets `Ok` holds a durable write, exactly as
/// with [`write`]; under load the fsync is shared instead of queued for.
pub struct GroupWriter {
    /// `None` only while dropping: closing the channel is what tells the thread to end.
    jobs: Option<std::sync::mpsc::SyncSender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Runs one body against the batch's transaction and returns what to tell its caller once
/// the batch has committed (with the commit's error, if it failed). `None` in place of the
/// connection: the transaction never began, so the body is not run.
type Job = Box<dyn FnOnce(Option<&Connection>) -> Reply + Send>;
type Reply = Box<dyn FnOnce(Option<&rusqlite::Error>) + Send>;

/// Most bodies per transaction: bounds how long one commit holds the write lock.
const MAX_BATCH: usize = 256;

impl GroupWriter {
    /// Starts the committer thread on its own connection. The thread, and the connection with
    /// it, ends when the `GroupWriter` is dropped.
    pub fn start(mut conn: Connection) -> std::io::Result<GroupWriter> {
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(4096);
        let thread = std::thread::Builder::new()
            .name("group-commit".into())
            .spawn(move || {
                while let Ok(first) = queue.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match queue.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    commit_batch(&mut conn, batch);
                }
            })?;
        Ok(GroupWriter {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `body` in a transaction shared with other callers' bodies; returns after the
    /// commit. `body` must not write through another connection or call [`write`].
    pub fn run<T, E>(
        &self,
        body: impl FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<rusqlite::Error> + Send + 'static,
    {
        let (answer, result) = std::sync::mpsc::sync_channel::<Result<T, E>>(1);
        let job: Job = Box::new(move |conn| {
            let outcome = conn.map(|conn| in_savepoint(conn, body));
            Box::new(move |commit_error| {
                let outcome = match (outcome, commit_error) {
                    (Some(Ok(_)) | None, Some(e)) => Err(E::from(copy_error(e))),
                    (Some(outcome), _) => outcome,
                    (None, None) => Err(E::from(not_begun())),
                };
                let _ = answer.send(outcome);
            })
        });
        let jobs = self.jobs.as_ref().ok_or_else(|| E::from(stopped()))?;
        jobs.send(job).map_err(|_| E::from(stopped()))?;
        // No answer means the committer thread died with the job.
        result.recv().unwrap_or_else(|_| Err(E::from(not_begun())))
    }
}

impl Drop for GroupWriter {
    /// Lets the committer thread commit what is queued and end, closing its connection: a clean
    /// stop leaves no connection open (see `serve::serve`).
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::error!("the group-commit thread panicked");
        }
    }
}

fn in_savepoint<T, E: From<rusqlite::Error>>(
    conn: &Connection,
    body: impl FnOnce(&Connection) -> Result<T, E>,
) -> Result<T, E> {
    conn.execute_batch("SAVEPOINT job")?;
    match body(conn) {
        Ok(value) => {
            conn.execute_batch("RELEASE job")?;
            Ok(value)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
            Err(e)
        }
    }
}

fn commit_batch(conn: &mut Connection, batch: Vec<Job>) {
    let mut waiting = Some(batch);
    let mut replies = Vec::new();
    let committed = write(conn, |tx| -> rusqlite::Result<()> {
        for job in waiting.take().unwrap_or_default() {
            replies.push(job(Some(tx)));
        }
        Ok(())
    });
    // Still waiting: the transaction never began (the lock stayed busy, or the database file
    // is gone). The bodies did not run; each caller hears why.
    for job in waiting.take().unwrap_or_default() {
        replies.push(job(None));
    }
    let error = committed.err();
    if let Some(e) = &error
        && !is_vanished(e)
    {
        log::error!("group commit of {} write(s) failed: {e}", replies.len());
    }
    for reply in replies {
        reply(error.as_ref());
    }
}

fn not_begun() -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
        Some("the shared transaction could not begin".into()),
    )
}

fn stopped() -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISUSE),
        Some("the group-commit thread has stopped".into()),
    )
}

/// rusqlite errors are not `Clone`; a failed commit's error goes to every caller in the batch.
fn copy_error(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

/// A migrated database in a fresh temporary directory, for unit tests of the modules that own
/// tables. Keep the directory alive as long as the connection.
#[cfg(test)]
pub fn migrated_temp_db() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let mut conn =
        open_or_create(&dir.path().join("test.sqlite3"), Duration::from_secs(1)).unwrap();
    migrate(&mut conn).unwrap();
    (dir, conn)
}

#[cfg(test)]
mod tests {

    #[test]
    fn group_commit_answers_each_caller_after_one_shared_commit() {
        let (dir, conn) = migrated_temp_db();
        conn.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .unwrap();
        let writer_conn =
            open_existing(&dir.path().join("test.sqlite3"), Duration::from_secs(5)).unwrap();
        let writer = std::sync::Arc::new(GroupWriter::start(writer_conn).unwrap());
        let threads: Vec<_> = (0..16)
            .map(|n: i64| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    writer.run(move |tx| {
                        tx.execute("INSERT INTO t (n) VALUES (?1)", [n % 12])?;
                        Ok::<_, rusqlite::Error>(n)
                    })
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        // Four of the sixteen collide on the primary key: those fail alone, in their
        // savepoint; the other twelve are committed and visible to another connection.
        assert_eq!(results.iter().filter(|r| r.is_err()).count(), 4);
        let count: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 12);
    }

    use super::*;

    #[test]
    fn dropping_the_group_writer_closes_its_connection() {
        let (dir, conn) = migrated_temp_db();
        let path = dir.path().join("test.sqlite3");
        let writer =
            GroupWriter::start(open_existing(&path, Duration::from_secs(5)).unwrap()).unwrap();
        writer
            .run(|tx| tx.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')", []))
            .unwrap();
        drop(writer);
        // The last connection's close checkpoints and deletes -wal: only once the writer's
        // connection is closed too is this one the last.
        drop(conn);
        assert!(!shutdown::wal_path(&path).exists());
        let copy = dir.path().join("copy.sqlite3");
        std::fs::copy(&path, &copy).unwrap();
        let n: i64 = Connection::open(&copy)
            .unwrap()
            .query_row("SELECT count(*) FROM meta WHERE key = 'k'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn schema_sql_is_a_valid_history() {
        let all = migrations(SCHEMA_SQL).unwrap();
        assert_eq!(all[0].version, 1);
        assert_eq!(latest_version(), all.len() as i64);
    }

    #[test]
    fn markers_must_be_sequential() {
        let bad = "-- migrate: 1\nSELECT 1;\n-- migrate: 3\nSELECT 1;\n";
        assert!(migrations(bad).is_err());
        let good = "-- header\n-- migrate: 1\nA;\n-- migrate: 2\nB;\n";
        let got = migrations(good).unwrap();
        assert_eq!(got[0].sql, "A;\n");
        assert_eq!(got[1].sql, "B;\n");
    }

    #[test]
    fn create_migrate_and_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/passlink.sqlite3");
        let mut conn = open_or_create(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), (0, latest_version()));
        // A second run is a no-op.
        assert_eq!(
            migrate(&mut conn).unwrap(),
            (latest_version(), latest_version())
        );
        assert!(integrity_problems(&conn).unwrap().is_empty());
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "synchronous=FULL");
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn refuses_a_newer_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passlink.sqlite3");
        let mut conn = open_or_create(&path, Duration::from_secs(1)).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(matches!(err, DbError::TooNew { found: 999, .. }), "{err}");
    }

    #[test]
    fn backup_is_a_sound_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passlink.sqlite3");
        let mut conn = open_or_create(&path, Duration::from_secs(1)).unwrap();
        migrate(&mut conn).unwrap();
        let dest = dir.path().join("copy.sqlite3");
        backup(&conn, &dest).unwrap();
        let copy = open_existing(&dest, Duration::from_secs(1)).unwrap();
        assert!(integrity_problems(&copy).unwrap().is_empty());
        assert_eq!(schema_version(&copy).unwrap(), latest_version());
    }

    #[test]
    fn open_existing_never_creates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.sqlite3");
        assert!(matches!(
            open_existing(&path, Duration::from_secs(1)),
            Err(DbError::Missing(_))
        ));
        assert!(!path.exists());
    }
}
