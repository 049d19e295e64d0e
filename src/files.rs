//! Users' stored files: the `files` table, path rules, quotas, and serving the files over HTTP
//! at `/users/NNNNNNN/<path>`. Files live in the database so that one file holds all state.

use std::fmt;

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::accounts;
use crate::app::Ctx;
use crate::clock;
use crate::http::{Request, Response};

const MAX_PATH_BYTES: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    path: String,
    why: &'static str,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}: {}",
            crate::logging::sanitize(&self.path, 80),
            self.why
        )
    }
}

/// Checks a client's relative path and returns it as stored: one leading `/` is dropped
/// (Radio-style paths); `..`, `.`, empty segments, backslashes and control characters are
/// refused, so no path can escape the user's folder or confuse a URL.
pub fn validate_path(raw: &str) -> Result<String, PathError> {
    let err = |why| PathError {
        path: raw.to_string(),
        why,
    };
    let path = raw.strip_prefix('/').unwrap_or(raw);
    if path.is_empty() {
        return Err(err("the path is empty"));
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(err("the path is longer than 255 bytes"));
    }
    if path.chars().any(|c| c.is_control()) {
        return Err(err("the path contains control characters"));
    }
    if path.contains('\\') {
        return Err(err("the path contains a backslash"));
    }
    if path.ends_with('/') {
        return Err(err("the path names a folder, not a file"));
    }
    for segment in path.split('/') {
        match segment {
            "" => return Err(err("the path has an empty segment")),
            ".." => return Err(err("the path may not contain \"..\" segments")),
            "." => return Err(err("the path may not contain \".\" segments")),
            _ => {}
        }
    }
    Ok(path.to_string())
}

/// Size limits, from `[xmlstorage]`.
pub struct Limits {
    pub max_file_size: u64,
    pub max_bytes_per_user: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveError {
    Path(PathError),
    Extension(String),
    /// Over `maxFileSize` or `maxBytesPerUser`; the text is Virtuoso's.
    Quota,
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaveError::Path(e) => e.fmt(f),
            SaveError::Extension(path) => {
                let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
                write!(
                    f,
                    "{:?}: files of type .{} are not accepted",
                    crate::logging::sanitize(path, 80),
                    crate::logging::sanitize(ext, 16)
                )
            }
            SaveError::Quota => f.write_str("Storage limit exceeded."),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteError {
    Path(PathError),
    NotFound(String),
}

impl fmt::Display for DeleteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeleteError::Path(e) => e.fmt(f),
            DeleteError::NotFound(path) => {
                write!(f, "{:?}: no such file", crate::logging::sanitize(path, 80))
            }
        }
    }
}

fn etag_of(content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    format!("\"{}\"", accounts::hex(&digest[..16]))
}

fn size_of(conn: &Connection, user_id: i64, path: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT size FROM files WHERE user_id = ?1 AND path = ?2",
        params![user_id, path],
        |r| r.get(0),
    )
    .optional()
}

/// Saves each file, or gives it its own error; run it inside the caller's transaction so a
/// batch is all-or-nothing on disk.
pub fn save_many(
    conn: &Connection,
    user_id: i64,
    files: &[(String, Vec<u8>)],
    limits: &Limits,
    legal: &dyn Fn(&str) -> bool,
    now: i64,
) -> rusqlite::Result<Vec<Result<(), SaveError>>> {
    let mut in_use = bytes_in_use(conn, user_id)?;
    let mut outcomes = Vec::with_capacity(files.len());
    for (raw, content) in files {
        let path = match validate_path(raw) {
            Ok(p) => p,
            Err(e) => {
                outcomes.push(Err(SaveError::Path(e)));
                continue;
            }
        };
        if !legal(&path) {
            outcomes.push(Err(SaveError::Extension(path)));
            continue;
        }
        let size = content.len() as i64;
        let replaced = size_of(conn, user_id, &path)?.unwrap_or(0);
        let after = in_use - replaced + size;
        if content.len() as u64 > limits.max_file_size
            || u64::try_from(after).unwrap_or(u64::MAX) > limits.max_bytes_per_user
        {
            outcomes.push(Err(SaveError::Quota));
            continue;
        }
        conn.execute(
            "INSERT INTO files (user_id, path, content, size, etag, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) \
             ON CONFLICT (user_id, path) DO UPDATE SET content = excluded.content, \
             size = excluded.size, etag = excluded.etag, updated_at = excluded.updated_at",
            params![user_id, path, content, size, etag_of(content), now],
        )?;
        in_use = after;
        outcomes.push(Ok(()));
    }
    Ok(outcomes)
}

pub fn delete_many(
    conn: &Connection,
    user_id: i64,
    paths: &[String],
) -> rusqlite::Result<Vec<Result<(), DeleteError>>> {
    let mut outcomes = Vec::with_capacity(paths.len());
    for raw in paths {
        let path = match validate_path(raw) {
            Ok(p) => p,
            Err(e) => {
                outcomes.push(Err(DeleteError::Path(e)));
                continue;
            }
        };
        let n = conn.execute(
            "DELETE FROM files WHERE user_id = ?1 AND path = ?2",
            params![user_id, path],
        )?;
        outcomes.push(if n == 1 {
            Ok(())
        } else {
            Err(DeleteError::NotFound(path))
        });
    }
    Ok(outcomes)
}

pub fn bytes_in_use(conn: &Connection, user_id: i64) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT coalesce(sum(size), 0) FROM files WHERE user_id = ?1",
        params![user_id],
        |r| r.get(0),
    )
}

pub fn count(conn: &Connection, user_id: i64) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM files WHERE user_id = ?1",
        params![user_id],
        |r| r.get(0),
    )
}

#[derive(Debug, Clone)]
pub struct FileInfo {
    pub path: String,
    pub size: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

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

pub fn delete_all(conn: &Connection, user_id: i64) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM files WHERE user_id = ?1", params![user_id])
}

/// `{files_url}/users/0000001/`
pub fn folder_url(files_url: &str, usernum: i64) -> String {
    format!("{files_url}/users/{}/", accounts::format_usernum(usernum))
}

/// The public URL of a stored file, its path percent-encoded.
pub fn file_url(files_url: &str, usernum: i64, path: &str) -> String {
    let mut url = folder_url(files_url, usernum);
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

pub fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "xml" | "opml" | "root" => "text/xml; charset=utf-8",
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
        _ => "application/octet-stream",
    }
}

/// Every response for a user file carries these, so an uploaded page can never act on the
/// appliance's own origin (no scripts, no forms, no same-origin access) nor be sniffed.
fn guarded(resp: Response) -> Response {
    resp.with_header("X-Content-Type-Options", "nosniff")
        .with_header("Content-Security-Policy", "sandbox")
}

/// `GET`/`HEAD /users/NNNNNNN/<path>`.
pub fn serve(ctx: &mut Ctx, req: &Request) -> Response {
    let not_found = || guarded(Response::text(404, "not found"));
    let rest = req.path().strip_prefix("/users/").unwrap_or("");
    let (num, file) = match rest.split_once('/') {
        Some((num, file)) => (num, Some(file)),
        None => (rest, None),
    };
    if num.is_empty() || num.len() > 18 || !num.bytes().all(|b| b.is_ascii_digit()) {
        return not_found();
    }
    let Some(file) = file else {
        return guarded(
            Response::text(301, "moved").with_header("Location", format!("/users/{num}/")),
        );
    };
    let Ok(usernum) = num.parse::<i64>() else {
        return not_found();
    };
    let Some(mut path) = percent_decode(file) else {
        return not_found();
    };
    if path.is_empty() || path.ends_with('/') {
        path.push_str("index.html");
    }
    let Ok(path) = validate_path(&path) else {
        return not_found();
    };
    let row: rusqlite::Result<Option<(Vec<u8>, String, i64)>> = (|| {
        if !accounts::user_active(&ctx.db, usernum)? {
            return Ok(None);
        }
        ctx.db
            .query_row(
                "SELECT content, etag, updated_at FROM files WHERE user_id = ?1 AND path = ?2",
                params![usernum, path],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
    })();
    let (content, etag, updated) = match row {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(e) => {
            log::error!("files: {e}");
            return guarded(Response::text(503, "database unavailable"));
        }
    };
    let last_modified = clock::http_date(updated);
    let unchanged = match req.header("If-None-Match") {
        Some(tags) => tags.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        }),
        None => req
            .header("If-Modified-Since")
            .and_then(clock::parse_http_date)
            .is_some_and(|since| updated <= since),
    };
    let resp = if unchanged {
        Response::new(304)
    } else {
        Response::new(200).with_body(content_type(&path), content)
    };
    guarded(
        resp.with_header("ETag", etag)
            .with_header("Last-Modified", last_modified)
            .with_header("Cache-Control", "no-cache"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(validate_path("/a/b.html").unwrap(), "a/b.html");
        for bad in [
            "", "/", "a/../b", "..", "a//b", "a\\b", "a/", "./a", "a\u{0}b", "a\nb",
        ] {
            assert!(validate_path(bad).is_err(), "{bad:?}");
        }
        assert!(validate_path(&"a".repeat(256)).is_err());
        assert!(validate_path(&"a".repeat(255)).is_ok());
    }

    #[test]
    fn urls_are_encoded() {
        assert_eq!(
            file_url("http://h", 7, "a b/ü.html"),
            "http://h/users/0000007/a%20b/%C3%BC.html"
        );
    }

    #[test]
    fn quotas_and_upserts() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        conn.execute(
            "INSERT INTO users (email, email_key, name, password_hash, created_at) \
             VALUES ('a', 'a', 'A', 'x', 0)",
            [],
        )
        .unwrap();
        let limits = Limits {
            max_file_size: 10,
            max_bytes_per_user: 20,
        };
        let legal = |p: &str| !p.ends_with(".php");
        let batch = vec![
            ("a.html".to_string(), vec![b'x'; 10]),
            ("b.html".to_string(), vec![b'x'; 11]),
            ("c.php".to_string(), vec![b'x'; 1]),
            ("d.html".to_string(), vec![b'x'; 10]),
            ("e.html".to_string(), vec![b'x'; 1]),
        ];
        let out = save_many(&conn, 1, &batch, &limits, &legal, 5).unwrap();
        assert_eq!(out[0], Ok(()));
        assert_eq!(out[1], Err(SaveError::Quota));
        assert!(matches!(out[2], Err(SaveError::Extension(_))));
        assert_eq!(out[3], Ok(()));
        assert_eq!(out[4], Err(SaveError::Quota), "per-user total");
        assert_eq!(bytes_in_use(&conn, 1).unwrap(), 20);
        // Replacing a file frees its old size first.
        let out = save_many(
            &conn,
            1,
            &[("a.html".into(), vec![b'y'; 5])],
            &limits,
            &legal,
            9,
        )
        .unwrap();
        assert_eq!(out[0], Ok(()));
        let listed = list(&conn, 1).unwrap();
        assert_eq!(listed[0].path, "a.html");
        assert_eq!((listed[0].created_at, listed[0].updated_at), (5, 9));
        let out = delete_many(
            &conn,
            1,
            &["a.html".into(), "zz.html".into(), "../x".into()],
        )
        .unwrap();
        assert_eq!(out[0], Ok(()));
        assert!(matches!(out[1], Err(DeleteError::NotFound(_))));
        assert!(matches!(out[2], Err(DeleteError::Path(_))));
        assert_eq!(count(&conn, 1).unwrap(), 1);
    }
}
