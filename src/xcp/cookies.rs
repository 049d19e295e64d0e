//! XCP session cookies (the `cookies` table): what `set cookie` hands a domain owner, and every
//! later command may carry instead of a password. Only a SHA-256 of a cookie is stored, so a
//! copy of the database opens no sessions.

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::logins::Login;

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub login: Login,
    pub profile_id: i64,
    pub domain_id: i64,
    pub expires_at: i64,
}

/// A new cookie: 32 random bytes, in lower-case hex so every client can carry it as plain
/// text. (OpenSRS's own look like `24128866:3210384`; clients treat them as opaque.)
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    crate::hex::hex(&bytes)
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

/// Stores a session for `token` until `now + ttl`.
pub fn create(
    conn: &Connection,
    token: &str,
    session: &Session,
    now: i64,
    ip: &str,
) -> rusqlite::Result<()> {
    let subuser = match session.login {
        Login::SubUser(id) => Some(id),
        _ => None,
    };
    conn.prepare_cached(
        "INSERT INTO cookies (token_hash, profile_id, subuser_id, domain_id, created_at, \
         expires_at, last_access_at, last_ip) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5, ?7)",
    )?
    .execute(params![
        token_hash(token).as_slice(),
        session.profile_id,
        subuser,
        session.domain_id,
        now,
        session.expires_at,
        ip
    ])?;
    Ok(())
}

/// The session behind `token`, if it exists and has not expired, and records this use.
pub fn use_token(
    conn: &Connection,
    token: &str,
    now: i64,
    ip: &str,
) -> rusqlite::Result<Option<Session>> {
    let hash = token_hash(token);
    let row = conn
        .prepare_cached(
            "SELECT profile_id, subuser_id, domain_id, expires_at FROM cookies \
             WHERE token_hash = ?1 AND expires_at > ?2",
        )?
        .query_row(params![hash.as_slice(), now], |r| {
            let profile_id: i64 = r.get(0)?;
            let subuser: Option<i64> = r.get(1)?;
            Ok(Session {
                login: subuser.map_or(Login::Profile(profile_id), Login::SubUser),
                profile_id,
                domain_id: r.get(2)?,
                expires_at: r.get(3)?,
            })
        })
        .optional()?;
    if row.is_some() {
        let touched = conn
            .prepare_cached(
                "UPDATE cookies SET last_access_at = ?2, last_ip = ?3 WHERE token_hash = ?1",
            )?
            .execute(params![hash.as_slice(), now, ip]);
        match touched {
            // Bookkeeping: with the database file gone (`db::watch`) it is refused, and the
            // command that carries it goes on as a read.
            Err(e) if crate::db::is_vanished(&e) => {}
            other => {
                other?;
            }
        }
    }
    Ok(row)
}

/// Points a session at another domain (of the same profile: the caller checks).
pub fn switch_domain(conn: &Connection, token: &str, domain_id: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE cookies SET domain_id = ?2 WHERE token_hash = ?1",
        params![token_hash(token).as_slice(), domain_id],
    )? == 1)
}

/// Ends one session; `false` if there was none.
pub fn delete(conn: &Connection, token: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "DELETE FROM cookies WHERE token_hash = ?1",
        params![token_hash(token).as_slice()],
    )? == 1)
}

/// Ends every session of a login: a profile's own (not its sub-user's), or a sub-user's.
pub fn delete_for_login(conn: &Connection, login: Login) -> rusqlite::Result<usize> {
    match login {
        Login::Profile(id) => conn.execute(
            "DELETE FROM cookies WHERE profile_id = ?1 AND subuser_id IS NULL",
            params![id],
        ),
        Login::SubUser(id) => {
            conn.execute("DELETE FROM cookies WHERE subuser_id = ?1", params![id])
        }
        Login::XssUser(_) => Ok(0),
    }
}

/// Drops expired sessions.
pub fn purge_expired(conn: &Connection, now: i64) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM cookies WHERE expires_at <= ?1", params![now])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xcp::domains::{self, NewDomain};

    fn seeded() -> (tempfile::TempDir, Connection, i64, i64) {
        let (dir, conn) = crate::db::migrated_temp_db();
        crate::xcp::resellers::add(&conn, "r1", &[], 1).unwrap();
        let mut new = NewDomain {
            domain: "example.com".into(),
            reseller: "r1".into(),
            profile: "alice".into(),
            password_hash: Some("hash".into()),
            ..NewDomain::default()
        };
        new.contacts[0].email = "o@example.net".into();
        new.contacts[1].email = "a@example.net".into();
        let domain = domains::add(&conn, &new, 1).unwrap();
        let profile: i64 = conn
            .query_row("SELECT id FROM profiles", [], |r| r.get(0))
            .unwrap();
        (dir, conn, profile, domain)
    }

    #[test]
    fn sessions_live_until_expiry_and_die_with_their_login() {
        let (_dir, conn, profile, domain) = seeded();
        let token = new_token();
        assert_eq!(token.len(), 64);
        let session = Session {
            login: Login::Profile(profile),
            profile_id: profile,
            domain_id: domain,
            expires_at: 100,
        };
        create(&conn, &token, &session, 10, "192.0.2.1").unwrap();
        // Only the hash is stored.
        let stored: Vec<u8> = conn
            .query_row("SELECT token_hash FROM cookies", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, token.as_bytes());
        assert_eq!(
            use_token(&conn, &token, 50, "192.0.2.2").unwrap(),
            Some(session)
        );
        assert_eq!(use_token(&conn, &token, 100, "192.0.2.2").unwrap(), None);
        assert_eq!(use_token(&conn, "nope", 50, "192.0.2.2").unwrap(), None);
        assert_eq!(delete_for_login(&conn, Login::Profile(profile)).unwrap(), 1);
        assert!(!delete(&conn, &token).unwrap());
    }

    #[test]
    fn expired_sessions_are_purged() {
        let (_dir, conn, profile, domain) = seeded();
        for (token, expiry) in [("a", 10), ("b", 20)] {
            let session = Session {
                login: Login::Profile(profile),
                profile_id: profile,
                domain_id: domain,
                expires_at: expiry,
            };
            create(&conn, token, &session, 1, "192.0.2.1").unwrap();
        }
        assert_eq!(purge_expired(&conn, 15).unwrap(), 1);
        assert!(delete(&conn, "b").unwrap());
    }
}
