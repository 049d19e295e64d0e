//! Users' stored files: the `files` table, the path rules, quotas, and serving the files over
//! HTTP at `/users/NNNNNNN/<path>`.
//!
//! Files live in the database rather than on disk so that one SQLite file holds all state: a
//! backup is one online copy, and a `saveMultipleFiles` batch commits or rolls back as a whole
//! with the counters that describe it. This module holds every statement that touches `files`
//! and knows nothing of XML-RPC or SOAP; callers turn its per-file outcomes into replies.

use std::fmt;

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::accounts;

/// The longest stored path. Radio's paths are short; the cap keeps URLs, log lines and error
/// messages bounded whatever a client sends.
pub const MAX_PATH_BYTES: usize = 255;

/// How much of a client's path an error message repeats back.
const SHOWN_CHARS: usize = 80;

/// A client's path, quoted and escaped for an error message: control characters and quotes
/// come out as escapes (so the message cannot break a log line), other Unicode stays readable,
/// and a long path is cut short.
fn shown(path: &str) -> String {
    let mut cut: String = path.chars().take(SHOWN_CHARS).collect();
    if cut.len() < path.len() {
        cut.push_str("...");
    }
    format!("{cut:?}")
}

/// Why [`validate_path`] refused a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathProblem {
    Empty,
    TooLong,
    ControlCharacter,
    Backslash,
    TrailingSlash,
    EmptySegment,
    DotDotSegment,
    DotSegment,
}

impl PathProblem {
    fn describe(self) -> &'static str {
        match self {
            PathProblem::Empty => "path is empty",
            PathProblem::TooLong => "path is longer than 255 bytes",
            PathProblem::ControlCharacter => "path may not contain control characters",
            PathProblem::Backslash => "path may not contain backslashes",
            PathProblem::TrailingSlash => "path names a folder, not a file",
            PathProblem::EmptySegment => "path may not contain empty segments (\"//\")",
            PathProblem::DotDotSegment => "path may not contain \"..\" segments",
            PathProblem::DotSegment => "path may not contain \".\" segments",
        }
    }
}

/// A refused path; its `Display` is meant for the client (`"a/../b": path may not contain ".."
/// segments`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    /// The path as the client sent it.
    pub path: String,
    pub problem: PathProblem,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", shown(&self.path), self.problem.describe())
    }
}

impl std::error::Error for PathError {}

/// Checks a client's relative path and returns it as stored.
///
/// One leading `/` is dropped because Radio-style clients send `/rpctest/test.html` and PyCS's
/// send `test.html`, and both mean the same file. Everything that could escape the user's
/// folder (`..`), give one file two names (`.`, `a//b`), be read differently by another system
/// (backslashes) or corrupt a URL, header or log line (control characters) is refused rather
/// than rewritten, so what is stored is exactly what the client will later ask for.
pub fn validate_path(raw: &str) -> Result<String, PathError> {
    let refuse = |problem| {
        Err(PathError {
            path: raw.to_string(),
            problem,
        })
    };
    let path = raw.strip_prefix('/').unwrap_or(raw);
    if path.is_empty() {
        return refuse(PathProblem::Empty);
    }
    if path.len() > MAX_PATH_BYTES {
        return refuse(PathProblem::TooLong);
    }
    // `is_control` also covers DEL and the C1 range, which are no more printable.
    if path.chars().any(char::is_control) {
        return refuse(PathProblem::ControlCharacter);
    }
    if path.contains('\\') {
        return refuse(PathProblem::Backslash);
    }
    if path.ends_with('/') {
        return refuse(PathProblem::TrailingSlash);
    }
    for segment in path.split('/') {
        match segment {
            "" => return refuse(PathProblem::EmptySegment),
            ".." => return refuse(PathProblem::DotDotSegment),
            "." => return refuse(PathProblem::DotSegment),
            _ => {}
        }
    }
    Ok(path.to_string())
}

/// The extension of a path's last segment, as [`crate::config::XmlStorageConfig`] reads it: a
/// leading dot (`.htaccess`) starts a name, not an extension.
fn extension(path: &str) -> Option<&str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => Some(ext),
        _ => None,
    }
}

/// Size limits, from `[xmlstorage]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_file_size: u64,
    pub max_bytes_per_user: u64,
}

/// Why one file of a batch was not saved. The rest of the batch is unaffected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveError {
    Path(PathError),
    /// The (validated) path, whose extension is not in `legal_file_extensions`.
    Extension(String),
    /// Over `maxFileSize` or `maxBytesPerUser`. One message for both, Virtuoso's, because
    /// that is the text clients already show their users.
    Quota,
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaveError::Path(e) => e.fmt(f),
            SaveError::Extension(path) => match extension(path) {
                Some(ext) => write!(
                    f,
                    "{}: files of type .{} are not accepted",
                    shown(path),
                    crate::logging::sanitize(ext, 16)
                ),
                None => write!(
                    f,
                    "{}: files without an extension are not accepted",
                    shown(path)
                ),
            },
            SaveError::Quota => f.write_str("Storage limit exceeded."),
        }
    }
}

impl std::error::Error for SaveError {}

/// Why one path of a delete batch was not deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteError {
    Path(PathError),
    /// The (validated) path, which names no stored file.
    NotFound(String),
}

impl fmt::Display for DeleteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeleteError::Path(e) => e.fmt(f),
            DeleteError::NotFound(path) => write!(f, "{}: no such file", shown(path)),
        }
    }
}

impl std::error::Error for DeleteError {}

/// A strong validator for `content`: a content hash rather than a counter, so that re-uploading
/// identical bytes (which Radio does on every publish) keeps caches valid.
fn etag_of(content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    format!("\"{}\"", crate::hex::hex(&digest[..16]))
}

fn size_of(conn: &Connection, user_id: i64, path: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT size FROM files WHERE user_id = ?1 AND path = ?2")?
        .query_row(params![user_id, path], |r| r.get(0))
        .optional()
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Saves each file of a batch or gives it its own error, in order.
///
/// Run it inside the caller's transaction (`crate::db::write`), so the batch and the caller's
/// counters commit together and the quota sums cannot race another writer. `legal` decides
/// extensions (the caller passes `XmlStorageConfig::allows_extension`). The per-user quota counts
/// the bytes a replaced file frees and the bytes earlier files of the same batch used, so a batch
/// cannot pass the check file by file and overshoot it together. The `Err` is a real database
/// failure, after which the caller should roll back.
pub fn save_many(
    conn: &Connection,
    user_id: i64,
    files: &[(String, Vec<u8>)],
    limits: &Limits,
    legal: &dyn Fn(&str) -> bool,
    now: i64,
) -> rusqlite::Result<Vec<Result<(), SaveError>>> {
    let mut in_use = to_u64(bytes_in_use(conn, user_id)?);
    let mut outcomes = Vec::with_capacity(files.len());
    for (raw, content) in files {
        let path = match validate_path(raw) {
            Ok(path) => path,
            Err(e) => {
                outcomes.push(Err(SaveError::Path(e)));
                continue;
            }
        };
        if !legal(&path) {
            outcomes.push(Err(SaveError::Extension(path)));
            continue;
        }
        let size = u64::try_from(content.len()).unwrap_or(u64::MAX);
        if size > limits.max_file_size {
            outcomes.push(Err(SaveError::Quota));
            continue;
        }
        let freed = to_u64(size_of(conn, user_id, &path)?.unwrap_or(0));
        let after = in_use.saturating_sub(freed).saturating_add(size);
        if after > limits.max_bytes_per_user {
            outcomes.push(Err(SaveError::Quota));
            continue;
        }
        // created_at is left out of the update, so it keeps the first upload's time.
        conn.prepare_cached(
            "INSERT INTO files (user_id, path, content, size, etag, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) \
             ON CONFLICT (user_id, path) DO UPDATE SET content = excluded.content, \
             size = excluded.size, etag = excluded.etag, updated_at = excluded.updated_at",
        )?
        .execute(params![
            user_id,
            path,
            content,
            i64::try_from(size).unwrap_or(i64::MAX),
            etag_of(content),
            now
        ])?;
        in_use = after;
        outcomes.push(Ok(()));
    }
    Ok(outcomes)
}

/// The size of the pieces [`import`] copies a file in: memory per file stays this, whatever
/// the file's size.
const IMPORT_CHUNK: usize = 64 * 1024;

/// What is stored at a path, compared with a file about to be imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Nothing,
    /// The same bytes (same size and validator).
    Same,
    Different,
}

/// The validator a file's content will be stored with, read from `reader` in pieces.
pub fn etag_of_reader(reader: &mut dyn std::io::Read) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; IMPORT_CHUNK];
    let mut size = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    let digest = hasher.finalize();
    Ok((format!("\"{}\"", crate::hex::hex(&digest[..16])), size))
}

/// Compares what is stored at `path` with a file of this size and validator.
pub fn existing(
    conn: &Connection,
    user_id: i64,
    path: &str,
    size: u64,
    etag: &str,
) -> rusqlite::Result<Existing> {
    let stored: Option<(i64, String)> = conn
        .prepare_cached("SELECT size, etag FROM files WHERE user_id = ?1 AND path = ?2")?
        .query_row(params![user_id, path], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match stored {
        None => Existing::Nothing,
        Some((s, e)) if to_u64(s) == size && e == etag => Existing::Same,
        Some(_) => Existing::Different,
    })
}

/// Why [`import`] stored nothing.
#[derive(Debug)]
pub enum ImportError {
    Db(rusqlite::Error),
    /// The file could not be read: that file is left out.
    Read(std::io::Error),
    /// The database could not take the bytes (its size cap, a full disk): the import stops.
    Write(std::io::Error),
    /// The file's size or bytes changed between the check and the copy.
    Changed,
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        ImportError::Db(e)
    }
}

/// A file an importer brings over, as [`import`] stores it.
#[derive(Debug, Clone, Copy)]
pub struct ImportedFile<'a> {
    pub path: &'a str,
    pub size: u64,
    pub etag: &'a str,
    /// When the old server last wrote it: kept as the file's `Last-Modified`, so clients'
    /// cached copies stay valid.
    pub modified_at: i64,
}

/// Stores a file an importer brings over, byte for byte, replacing what is at `path`. The
/// content is copied from `reader` into the row in pieces (SQLite's incremental blob I/O), so
/// memory stays one piece however large the file. `size` and `etag` are what
/// [`etag_of_reader`] found; a reader that gives other bytes is refused ([`ImportError::Changed`])
/// and the caller's transaction should roll back. No path, extension or quota rule applies:
/// the file was published under this path already (the caller validated it).
pub fn import(
    tx: &rusqlite::Transaction<'_>,
    user_id: i64,
    file: &ImportedFile<'_>,
    reader: &mut dyn std::io::Read,
) -> Result<(), ImportError> {
    use std::io::Write;
    let ImportedFile {
        path,
        size,
        etag,
        modified_at,
    } = *file;
    let len = i64::try_from(size).map_err(|_| ImportError::Changed)?;
    tx.prepare_cached(
        "INSERT INTO files (user_id, path, content, size, etag, created_at, updated_at) \
         VALUES (?1, ?2, zeroblob(?3), ?3, ?4, ?5, ?6) \
         ON CONFLICT (user_id, path) DO UPDATE SET content = excluded.content, \
         size = excluded.size, etag = excluded.etag, updated_at = excluded.updated_at",
    )?
    .execute(params![user_id, path, len, etag, modified_at, modified_at])?;
    let id: i64 = tx
        .prepare_cached("SELECT id FROM files WHERE user_id = ?1 AND path = ?2")?
        .query_row(params![user_id, path], |r| r.get(0))?;
    let mut blob = tx.blob_open(rusqlite::MAIN_DB, "files", "content", id, false)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; IMPORT_CHUNK];
    let mut written = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(ImportError::Read)?;
        if n == 0 {
            break;
        }
        written += n as u64;
        if written > size {
            return Err(ImportError::Changed);
        }
        hasher.update(&buf[..n]);
        blob.write_all(&buf[..n]).map_err(ImportError::Write)?;
    }
    let digest = hasher.finalize();
    if written != size || format!("\"{}\"", crate::hex::hex(&digest[..16])) != etag {
        return Err(ImportError::Changed);
    }
    Ok(())
}

/// Deletes each path of a batch or gives it its own error, in order; like [`save_many`], inside
/// the caller's transaction.
pub fn delete_many(
    conn: &Connection,
    user_id: i64,
    paths: &[String],
) -> rusqlite::Result<Vec<Result<(), DeleteError>>> {
    let mut outcomes = Vec::with_capacity(paths.len());
    for raw in paths {
        let path = match validate_path(raw) {
            Ok(path) => path,
            Err(e) => {
                outcomes.push(Err(DeleteError::Path(e)));
                continue;
            }
        };
        let deleted = conn
            .prepare_cached("DELETE FROM files WHERE user_id = ?1 AND path = ?2")?
            .execute(params![user_id, path])?;
        outcomes.push(if deleted > 0 {
            Ok(())
        } else {
            Err(DeleteError::NotFound(path))
        });
    }
    Ok(outcomes)
}

/// The bytes a user's files take, as the quota counts them (content only).
pub fn bytes_in_use(conn: &Connection, user_id: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT coalesce(sum(size), 0) FROM files WHERE user_id = ?1")?
        .query_row(params![user_id], |r| r.get(0))
}

/// How many files a user has.
pub fn count(conn: &Connection, user_id: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT count(*) FROM files WHERE user_id = ?1")?
        .query_row(params![user_id], |r| r.get(0))
}

/// One stored file, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub path: String,
    pub size: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A user's files ordered by path (byte order), so listings are stable between calls.
pub fn list(conn: &Connection, user_id: i64) -> rusqlite::Result<Vec<FileInfo>> {
    let mut stmt = conn.prepare_cached(
        "SELECT path, size, created_at, updated_at FROM files WHERE user_id = ?1 ORDER BY path",
    )?;
    let rows = stmt.query_map(params![user_id], |r| {
        Ok(FileInfo {
            path: r.get(0)?,
            size: r.get(1)?,
            created_at: r.get(2)?,
            updated_at: r.get(3)?,
        })
    })?;
    rows.collect()
}

/// Removes all of a user's files; returns how many there were. (Removing the user row also
/// does this through `ON DELETE CASCADE`.)
pub fn delete_all(conn: &Connection, user_id: i64) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM files WHERE user_id = ?1", params![user_id])
}

/// `{files_url}/users/0000001/`: the zero-padded seven digits that radio.weblogs.com and PyCS
/// used, so that links published by old clients keep their shape.
pub fn folder_url(files_url: &str, usernum: i64) -> String {
    format!("{files_url}/users/{}/", accounts::format_usernum(usernum))
}

/// The public URL of a stored file. Every byte outside the unreserved set and `/` is
/// percent-encoded, so a path with spaces, `?`, `#` or non-ASCII letters still gives one valid
/// URL that [`serve`] decodes back to the same path.
pub fn file_url(files_url: &str, usernum: i64, path: &str) -> String {
    let mut url = folder_url(files_url, usernum);
    push_url_path(&mut url, path);
    url
}

/// Appends `path` to `url` as file URLs spell it: every byte outside the unreserved set and
/// `/` percent-encoded.
pub fn push_url_path(url: &mut String, path: &str) {
    use std::fmt::Write;
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            url.push(char::from(b));
        } else {
            let _ = write!(url, "%{b:02X}");
        }
    }
}

/// Decodes `%XX` escapes. `None` for a malformed escape or a result that is not UTF-8: such a
/// request names no file that could have been stored.
pub fn percent_decode(text: &str) -> Option<String> {
    String::from_utf8(percent_decode_bytes(text)?).ok()
}

/// Decodes `%XX` escapes into bytes, whatever they are; `None` for a malformed escape.
pub fn percent_decode_bytes(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let high = crate::hex::digit_value(*bytes.get(i + 1)?)?;
            let low = crate::hex::digit_value(*bytes.get(i + 2)?)?;
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

/// The `Content-Type` for a stored file, by extension (any case). Unknown extensions, and
/// Frontier's binary formats (`.root`, `.ftsc`, `.fttb`), are served as opaque bytes.
pub fn content_type(path: &str) -> &'static str {
    let ext = extension(path).unwrap_or_default().to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "xml" | "opml" => "text/xml; charset=utf-8",
        "rss" => "application/rss+xml",
        "atom" => "application/atom+xml",
        "txt" | "text" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "wav" => "audio/wav",
        "swf" => "application/x-shockwave-flash",
        "doc" => "application/msword",
        "xls" => "application/vnd.ms-excel",
        "ppt" => "application/vnd.ms-powerpoint",
        "sit" => "application/x-stuffit",
        "hqx" => "application/mac-binhex40",
        _ => "application/octet-stream",
    }
}

/// What a `/users/…` request path asks for: the inverse of [`file_url`].
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// `/users/0000001`: the folder, without its slash.
    AddSlash(String),
    File {
        usernum: i64,
        path: String,
        /// The request named a folder and `index.html` was appended.
        index: bool,
    },
    Nothing,
}

pub fn parse_target(request_path: &str) -> Target {
    let Some(rest) = request_path.strip_prefix("/users/") else {
        return Target::Nothing;
    };
    let (num, file) = match rest.split_once('/') {
        Some((num, file)) => (num, Some(file)),
        None => (rest, None),
    };
    // Any number of digits: PyCS pads to seven, but a link typed without padding still works.
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Target::Nothing;
    }
    let Ok(usernum) = num.parse::<i64>() else {
        return Target::Nothing;
    };
    let Some(file) = file else {
        return Target::AddSlash(format!("/users/{num}/"));
    };
    let Some(mut path) = percent_decode(file) else {
        return Target::Nothing;
    };
    // Validation would strip a leading slash, giving one file a second URL (`/users/1//a`).
    if path.starts_with('/') {
        return Target::Nothing;
    }
    let index = path.is_empty() || path.ends_with('/');
    if index {
        path.push_str("index.html");
    }
    match validate_path(&path) {
        Ok(path) => Target::File {
            usernum,
            path,
            index,
        },
        Err(_) => Target::Nothing,
    }
}

/// A stored file's validators, read before its content so that a 304 never loads the blob.
pub struct Stored {
    pub id: i64,
    pub etag: String,
    pub updated_at: i64,
}

pub fn stored(conn: &Connection, usernum: i64, path: &str) -> rusqlite::Result<Option<Stored>> {
    conn.prepare_cached("SELECT id, etag, updated_at FROM files WHERE user_id = ?1 AND path = ?2")?
        .query_row(params![usernum, path], |r| {
            Ok(Stored {
                id: r.get(0)?,
                etag: r.get(1)?,
                updated_at: r.get(2)?,
            })
        })
        .optional()
}

/// A stored file's bytes, read straight from the database pages into one buffer of the exact
/// size (SQLite's incremental blob I/O). Reading the column in a query would have SQLite
/// assemble the whole blob in a buffer of its own first, then copy it: twice the memory, and
/// in glibc's heap, which keeps a multi-megabyte buffer after it is freed.
pub fn read_content(tx: &rusqlite::Transaction<'_>, id: i64) -> rusqlite::Result<Vec<u8>> {
    use std::io::Read;
    let mut blob = tx.blob_open(rusqlite::MAIN_DB, "files", "content", id, true)?;
    let mut content = Vec::with_capacity(blob.len());
    blob.read_to_end(&mut content).map_err(|e| {
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR),
            Some(format!("reading a stored file: {e}")),
        )
    })?;
    Ok(content)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::XmlStorageConfig;

    const LIMITS: Limits = Limits {
        max_file_size: 10,
        max_bytes_per_user: 20,
    };

    fn not_php(path: &str) -> bool {
        !path.ends_with(".php")
    }

    /// A user row with no more than the files need (also for the serving tests).
    pub(crate) fn add_user(conn: &Connection, email: &str) -> i64 {
        conn.execute(
            "INSERT INTO users (email, email_key, name, password_hash, created_at) \
             VALUES (?1, ?1, 'N', 'x', 0)",
            params![email],
        )
        .unwrap();
        conn.last_insert_rowid()
    }

    /// Saves `files` for `user`; each outcome as "ok" or the error's text.
    pub(crate) fn save(
        conn: &Connection,
        user: i64,
        files: &[(&str, &[u8])],
        now: i64,
    ) -> Vec<String> {
        let batch: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|(p, c)| (p.to_string(), c.to_vec()))
            .collect();
        save_many(conn, user, &batch, &LIMITS, &not_php, now)
            .unwrap()
            .into_iter()
            .map(|o| o.map_or_else(|e| e.to_string(), |()| "ok".to_string()))
            .collect()
    }

    pub(crate) fn etag(conn: &Connection, user: i64, path: &str) -> String {
        stored(conn, user, path).unwrap().unwrap().etag
    }

    #[test]
    fn valid_paths() {
        assert_eq!(validate_path("/a/b.html").unwrap(), "a/b.html");
        assert_eq!(validate_path("a/b.html").unwrap(), "a/b.html");
        assert_eq!(validate_path("a b/ü.html").unwrap(), "a b/ü.html");
        assert_eq!(validate_path("..a/b..c.txt").unwrap(), "..a/b..c.txt");
        assert_eq!(validate_path(&"a".repeat(255)).unwrap().len(), 255);
        assert_eq!(
            validate_path(&format!("/{}", "a".repeat(255)))
                .unwrap()
                .len(),
            255
        );
    }

    #[test]
    fn refused_paths() {
        use PathProblem::*;
        for (bad, problem) in [
            ("", Empty),
            ("/", Empty),
            ("//a", EmptySegment),
            ("a//b", EmptySegment),
            ("a/", TrailingSlash),
            ("a/../b", DotDotSegment),
            ("..", DotDotSegment),
            ("a/..", DotDotSegment),
            ("./a", DotSegment),
            ("a/./b", DotSegment),
            ("a\\b", Backslash),
            ("a\u{0}b", ControlCharacter),
            ("a\nb", ControlCharacter),
            ("a\u{1f}b", ControlCharacter),
            ("a\u{7f}b", ControlCharacter),
        ] {
            assert_eq!(validate_path(bad).unwrap_err().problem, problem, "{bad:?}");
        }
        assert_eq!(
            validate_path(&"a".repeat(256)).unwrap_err().problem,
            TooLong
        );
        // 128 two-byte characters: bytes count, not characters.
        assert_eq!(
            validate_path(&"é".repeat(128)).unwrap_err().problem,
            TooLong
        );
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            validate_path("a/../b").unwrap_err().to_string(),
            r#""a/../b": path may not contain ".." segments"#
        );
        assert_eq!(
            validate_path("a\nb").unwrap_err().to_string(),
            r#""a\nb": path may not contain control characters"#
        );
        assert_eq!(
            SaveError::Extension("notes.php".into()).to_string(),
            r#""notes.php": files of type .php are not accepted"#
        );
        assert_eq!(
            SaveError::Extension("a.d/README".into()).to_string(),
            r#""a.d/README": files without an extension are not accepted"#
        );
        assert_eq!(SaveError::Quota.to_string(), "Storage limit exceeded.");
        assert_eq!(
            DeleteError::NotFound("x.html".into()).to_string(),
            r#""x.html": no such file"#
        );
        let long = validate_path(&"a".repeat(300)).unwrap_err().to_string();
        assert!(
            long.starts_with(&format!("\"{}...\"", "a".repeat(80))),
            "{long}"
        );
    }

    #[test]
    fn quota_per_file_and_per_user() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let user = add_user(&conn, "a");
        let other = add_user(&conn, "b");
        let ten = [b'x'; 10];
        assert_eq!(
            save(
                &conn,
                user,
                &[
                    ("a.html", &ten),
                    ("big.html", &[b'x'; 11]),
                    ("c.php", b"x"),
                    ("../d.html", b"x"),
                    ("d.html", &ten),
                    ("e.html", b"x"),
                ],
                5
            ),
            [
                "ok",
                "Storage limit exceeded.",
                r#""c.php": files of type .php are not accepted"#,
                r#""../d.html": path may not contain ".." segments"#,
                "ok",
                "Storage limit exceeded.",
            ],
            "the batch's own earlier files count against the user's total"
        );
        assert_eq!(bytes_in_use(&conn, user).unwrap(), 20);
        assert_eq!(count(&conn, user).unwrap(), 2);
        // Another user's quota is their own.
        assert_eq!(save(&conn, other, &[("a.html", &ten)], 5), ["ok"]);
        // Replacing a file frees its old size first: 20 - 10 + 10 fits.
        assert_eq!(save(&conn, user, &[("a.html", &ten)], 6), ["ok"]);
        assert_eq!(
            save(&conn, user, &[("new.html", b"x")], 6),
            ["Storage limit exceeded."]
        );
        // Shrinking one file makes room for another in the same batch.
        assert_eq!(
            save(
                &conn,
                user,
                &[("a.html", b"y"), ("new.html", &[b'z'; 9])],
                7
            ),
            ["ok", "ok"]
        );
        assert_eq!(bytes_in_use(&conn, user).unwrap(), 20);
        // The same path twice in one batch counts once.
        assert_eq!(
            save(
                &conn,
                user,
                &[("new.html", &ten), ("new.html", &[b'q'; 9])],
                8
            ),
            ["Storage limit exceeded.", "ok"]
        );
    }

    #[test]
    fn upsert_keeps_created_at_and_changes_etag() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let user = add_user(&conn, "a");
        assert_eq!(save(&conn, user, &[("/a.html", b"one")], 100), ["ok"]);
        let first = etag(&conn, user, "a.html");
        assert!(first.starts_with('"') && first.ends_with('"') && first.len() == 34);
        assert_eq!(save(&conn, user, &[("a.html", b"two!")], 200), ["ok"]);
        let second = etag(&conn, user, "a.html");
        assert_ne!(first, second);
        assert_eq!(
            list(&conn, user).unwrap(),
            [FileInfo {
                path: "a.html".into(),
                size: 4,
                created_at: 100,
                updated_at: 200,
            }]
        );
        // The same bytes again: the same validator.
        assert_eq!(save(&conn, user, &[("a.html", b"two!")], 300), ["ok"]);
        assert_eq!(etag(&conn, user, "a.html"), second);
    }

    #[test]
    fn the_configured_extensions_apply() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let user = add_user(&conn, "a");
        let xs = XmlStorageConfig::default();
        let legal = |path: &str| xs.allows_extension(path);
        let batch = vec![
            ("ok.HTML".to_string(), b"x".to_vec()),
            ("x.php".to_string(), b"x".to_vec()),
            (".htaccess".to_string(), b"x".to_vec()),
        ];
        let out = save_many(&conn, user, &batch, &LIMITS, &legal, 1).unwrap();
        assert_eq!(out[0], Ok(()));
        assert_eq!(out[1], Err(SaveError::Extension("x.php".into())));
        assert_eq!(out[2], Err(SaveError::Extension(".htaccess".into())));
    }

    #[test]
    fn delete_list_and_delete_all() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let user = add_user(&conn, "a");
        let other = add_user(&conn, "b");
        save(
            &conn,
            user,
            &[
                ("b/z.html", b"1"),
                ("a.html", b"22"),
                ("B.html", b"3"),
                ("b.html", b"4"),
            ],
            1,
        );
        save(&conn, other, &[("a.html", b"x")], 1);
        let paths: Vec<String> = list(&conn, user)
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(paths, ["B.html", "a.html", "b.html", "b/z.html"]);

        let out = delete_many(
            &conn,
            user,
            &[
                "/a.html".into(),
                "a.html".into(),
                "zz.html".into(),
                "../x".into(),
            ],
        )
        .unwrap();
        assert_eq!(out[0], Ok(()));
        assert_eq!(out[1], Err(DeleteError::NotFound("a.html".into())));
        assert_eq!(out[2], Err(DeleteError::NotFound("zz.html".into())));
        assert!(matches!(out[3], Err(DeleteError::Path(_))));
        assert_eq!(count(&conn, user).unwrap(), 3);
        assert_eq!(bytes_in_use(&conn, user).unwrap(), 3);

        assert_eq!(delete_all(&conn, user).unwrap(), 3);
        assert_eq!(count(&conn, user).unwrap(), 0);
        assert_eq!(bytes_in_use(&conn, user).unwrap(), 0);
        assert_eq!(count(&conn, other).unwrap(), 1, "other users keep theirs");
    }

    #[test]
    fn urls_are_encoded_and_decode_back() {
        assert_eq!(folder_url("http://h", 7), "http://h/users/0000007/");
        assert_eq!(
            folder_url("http://h", 12_345_678),
            "http://h/users/12345678/"
        );
        let url = file_url("http://h", 7, "a b/ü.html?#%+");
        assert_eq!(url, "http://h/users/0000007/a%20b/%C3%BC.html%3F%23%25%2B");
        let tail = url.strip_prefix("http://h").unwrap();
        assert_eq!(
            parse_target(tail),
            Target::File {
                usernum: 7,
                path: "a b/ü.html?#%+".into(),
                index: false,
            }
        );
    }

    #[test]
    fn request_paths() {
        let file = |usernum, path: &str, index| Target::File {
            usernum,
            path: path.into(),
            index,
        };
        assert_eq!(
            parse_target("/users/0000001/a.html"),
            file(1, "a.html", false)
        );
        assert_eq!(
            parse_target("/users/1/a%2Fb.html"),
            file(1, "a/b.html", false)
        );
        assert_eq!(parse_target("/users/0000001/"), file(1, "index.html", true));
        assert_eq!(
            parse_target("/users/0000001/blog/"),
            file(1, "blog/index.html", true)
        );
        assert_eq!(
            parse_target("/users/0000001"),
            Target::AddSlash("/users/0000001/".into())
        );
        for bad in [
            "/users/",
            "/users/x/a.html",
            "/users/-1/a.html",
            "/users/99999999999999999999/a.html",
            "/users/1//a.html",
            "/users/1/%2Fa.html",
            "/users/1/a/../b.html",
            "/users/1/%2e%2e/b.html",
            "/users/1/a%00.html",
            "/users/1/a%zz.html",
            "/users/1/a%+1.html",
            "/users/1/a%.html",
            "/users/1/%ff.html",
            "/users/1/a%5Cb.html",
        ] {
            assert_eq!(parse_target(bad), Target::Nothing, "{bad}");
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("a/B.HTML"), "text/html; charset=utf-8");
        assert_eq!(content_type("rss.xml"), "text/xml; charset=utf-8");
        assert_eq!(content_type("feed.rss"), "application/rss+xml");
        assert_eq!(content_type("favicon.ico"), "image/x-icon");
        assert_eq!(content_type("a.txt"), "text/plain; charset=utf-8");
        assert_eq!(content_type("a.d/noext"), "application/octet-stream");
        assert_eq!(content_type("Radio.root"), "application/octet-stream");
        assert_eq!(content_type(".html"), "application/octet-stream");
    }
}
