//! `passlink db check`: is this file a whole passlink database? The restore procedure accepts a
//! file on this check's word, so "ok" means more than "SQLite can read it": the file has a
//! schema version this passlink knows, every table `schema.sql` creates up to that version is
//! there, and SQLite's `integrity_check` and `foreign_key_check` find nothing. An empty file,
//! an empty SQLite database or someone else's database is refused, saying what is missing.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{DbError, SCHEMA_SQL, integrity_problems, migrations, schema_version};

/// The first bytes of every SQLite database file.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// At most this many lines of one kind of problem are listed.
const MAX_LISTED: usize = 20;

/// What the check found.
#[derive(Debug, Default)]
pub struct Report {
    /// Why the file is not a usable passlink database; empty when it is one.
    pub problems: Vec<String>,
    /// Worth knowing but not wrong (an older schema that a migration brings up to date).
    pub notes: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the database at `path` without changing it (it is not even switched to WAL mode).
pub fn check_file(path: &Path, busy_timeout: Duration) -> Result<Report, DbError> {
    if let Some(problem) = header_problem(path)? {
        return Ok(Report {
            problems: vec![problem],
            notes: Vec::new(),
        });
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(busy_timeout)?;
    check_connection(&conn)
}

/// Whether the file starts as an SQLite database does. Read before SQLite opens the file: once
/// it has, closing another descriptor of the file would drop SQLite's locks on it.
fn header_problem(path: &Path) -> Result<Option<String>, DbError> {
    let io = |error| DbError::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DbError::Missing(path.to_path_buf()));
        }
        Err(e) => return Err(io(e)),
    };
    let mut head = Vec::with_capacity(MAGIC.len());
    file.by_ref()
        .take(MAGIC.len() as u64)
        .read_to_end(&mut head)
        .map_err(io)?;
    Ok(if head.is_empty() {
        Some("the file is empty (0 bytes): there is no database in it".to_string())
    } else if head != MAGIC {
        Some("the file is not an SQLite database (it lacks SQLite's header)".to_string())
    } else {
        None
    })
}

/// The checks that need SQLite, on an open connection.
pub fn check_connection(conn: &Connection) -> Result<Report, DbError> {
    let mut report = Report::default();
    let latest = super::latest_version();
    let version = schema_version(conn)?;
    let expected_at = if version == 0 {
        report
            .problems
            .push("schema version 0: passlink's schema was never applied to this file".to_string());
        latest
    } else if version > latest {
        report.problems.push(format!(
            "schema version {version} is newer than this passlink knows ({latest}); \
             check it with the passlink that wrote it"
        ));
        latest
    } else {
        if version < latest {
            report.notes.push(format!(
                "schema version {version} of {latest}: `passlink db migrate` (or starting the \
                 server) brings it up to date"
            ));
        }
        version
    };
    let missing = missing_tables(conn, expected_at)?;
    if !missing.is_empty() {
        report.problems.push(format!(
            "missing {} of passlink's tables: {}",
            missing.len(),
            missing.join(", ")
        ));
    }
    report.problems.extend(
        listed(integrity_problems(conn)?)
            .into_iter()
            .map(|p| format!("integrity check: {p}")),
    );
    report.problems.extend(listed(foreign_key_problems(conn)?));
    Ok(report)
}

/// The tables `schema.sql` has created by `version` that the file lacks, in schema order.
fn missing_tables(conn: &Connection, version: i64) -> Result<Vec<String>, DbError> {
    let present: BTreeSet<String> = {
        let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    Ok(tables_at(version)?
        .into_iter()
        .filter(|t| !present.contains(t))
        .collect())
}

/// The tables a database at schema `version` has, read from the migrations up to it.
pub fn tables_at(version: i64) -> Result<Vec<String>, DbError> {
    let mut tables: Vec<String> = Vec::new();
    for step in migrations(SCHEMA_SQL)?
        .iter()
        .filter(|m| m.version <= version)
    {
        for line in step.sql.lines() {
            if let Some(name) = named_after(line, "CREATE TABLE") {
                tables.push(name);
            } else if let Some(name) = named_after(line, "DROP TABLE") {
                tables.retain(|t| *t != name);
            }
        }
    }
    Ok(tables)
}

/// `users` from `CREATE TABLE users (` or `CREATE TABLE IF NOT EXISTS users(`.
fn named_after(line: &str, statement: &str) -> Option<String> {
    let rest = line.trim().strip_prefix(statement)?.trim_start();
    let rest = rest
        .strip_prefix("IF NOT EXISTS")
        .unwrap_or(rest)
        .trim_start();
    rest.strip_prefix("IF EXISTS")
        .unwrap_or(rest)
        .trim_start()
        .split(|c: char| c.is_whitespace() || c == '(' || c == ';')
        .next()
        .filter(|name| !name.is_empty())
        .map(str::to_string)
}

/// `PRAGMA foreign_key_check`: rows whose parent row is missing.
fn foreign_key_problems(conn: &Connection) -> Result<Vec<String>, DbError> {
    let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
    let rows = stmt.query_map([], |r| {
        Ok(format!(
            "foreign key check: {} row {} refers to a {} row that does not exist",
            r.get::<_, String>(0)?,
            r.get::<_, Option<i64>>(1)?
                .map_or_else(|| "(without rowid)".to_string(), |id| id.to_string()),
            r.get::<_, String>(2)?,
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The first [`MAX_LISTED`] lines, and how many more there were.
fn listed(mut lines: Vec<String>) -> Vec<String> {
    if lines.len() > MAX_LISTED {
        let more = lines.len() - MAX_LISTED;
        lines.truncate(MAX_LISTED);
        lines.push(format!("... and {more} more"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_of_the_schema_is_expected() {
        let all = tables_at(crate::db::latest_version()).unwrap();
        for table in [
            "meta",
            "users",
            "files",
            "resellers",
            "outbox",
            "reset_tokens",
        ] {
            assert!(all.iter().any(|t| t == table), "{table} in {all:?}");
        }
        assert_eq!(tables_at(1).unwrap(), ["meta"]);
        assert_eq!(
            named_after("CREATE TABLE IF NOT EXISTS t(x)", "CREATE TABLE").as_deref(),
            Some("t")
        );
        assert_eq!(named_after("-- CREATE TABLE t", "CREATE TABLE"), None);
    }

    #[test]
    fn a_migrated_database_passes() {
        let (dir, _conn) = crate::db::migrated_temp_db();
        let report = check_file(&dir.path().join("test.sqlite3"), Duration::from_secs(1)).unwrap();
        assert!(report.ok(), "{report:?}");
        assert!(report.notes.is_empty(), "{report:?}");
    }

    #[test]
    fn empty_foreign_and_partial_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        let report = check_file(&empty, Duration::from_secs(1)).unwrap();
        assert!(report.problems[0].contains("empty"), "{report:?}");
        assert_eq!(
            std::fs::metadata(&empty).unwrap().len(),
            0,
            "checking changes nothing"
        );

        let text = dir.path().join("text");
        std::fs::write(&text, b"hello, this is not a database at all").unwrap();
        let report = check_file(&text, Duration::from_secs(1)).unwrap();
        assert!(report.problems[0].contains("not an SQLite"), "{report:?}");

        let foreign = dir.path().join("foreign");
        Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE songs (title TEXT)")
            .unwrap();
        let report = check_file(&foreign, Duration::from_secs(1)).unwrap();
        let all = report.problems.join("\n");
        assert!(all.contains("schema version 0"), "{all}");
        assert!(all.contains("users") && all.contains("outbox"), "{all}");

        // Version 2 with version 2's tables is fine (and may be migrated); without them, not.
        let old = dir.path().join("old");
        let conn = Connection::open(&old).unwrap();
        conn.execute_batch("PRAGMA user_version = 2").unwrap();
        let report = check_connection(&conn).unwrap();
        assert!(!report.ok());
        assert!(
            report.problems[0].contains("meta, users, files"),
            "{report:?}"
        );
        for step in migrations(SCHEMA_SQL).unwrap().iter().take(2) {
            conn.execute_batch(step.sql).unwrap();
        }
        let report = check_connection(&conn).unwrap();
        assert!(report.ok(), "{report:?}");
        assert!(
            report.notes[0].contains("schema version 2 of"),
            "{report:?}"
        );
    }

    #[test]
    fn an_orphan_row_fails_the_foreign_key_check() {
        let (dir, conn) = crate::db::migrated_temp_db();
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF; INSERT INTO files (user_id, path, content, size, etag, \
             created_at, updated_at) VALUES (42, 'a', x'', 0, '\"e\"', 0, 0);",
        )
        .unwrap();
        drop(conn);
        let report = check_file(&dir.path().join("test.sqlite3"), Duration::from_secs(1)).unwrap();
        assert!(
            report.problems.iter().any(|p| p.contains("files row")),
            "{report:?}"
        );
    }
}
