//! xmlStorageSystem user accounts: the `users` table, argon2id hashing of the wire credential
//! (the MD5 hex of the password), and credential checks with a verified-credential cache and a
//! bound on concurrent argon2 work.

use rusqlite::{Connection, OptionalExtension, params};

/// Whether `usernum` names an existing, enabled user (for serving their files).
pub fn user_active(conn: &Connection, usernum: i64) -> rusqlite::Result<bool> {
    let disabled: Option<i64> = conn
        .query_row(
            "SELECT disabled FROM users WHERE id = ?1",
            params![usernum],
            |r| r.get(0),
        )
        .optional()?;
    Ok(disabled == Some(0))
}
