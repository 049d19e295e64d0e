//! What can stop an import.

use std::fmt;

#[derive(Debug)]
pub enum MigrateError {
    /// The export is not what the importer reads (a missing column, a malformed row).
    Data(String),
    Io {
        what: String,
        error: std::io::Error,
    },
    Db(rusqlite::Error),
    Hash(String),
}

impl fmt::Display for MigrateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrateError::Data(what) => f.write_str(what),
            MigrateError::Io { what, error } => write!(f, "{what}: {error}"),
            MigrateError::Db(e) => write!(f, "database error: {e}"),
            MigrateError::Hash(e) => write!(f, "password hashing failed: {e}"),
        }
    }
}

impl std::error::Error for MigrateError {}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Db(e)
    }
}
