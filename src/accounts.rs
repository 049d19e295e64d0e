//! xmlStorageSystem user accounts: the `users` table and the wire credential its clients send
//! (the lower-case MD5 hex of the password). Hashing and checking credentials is
//! [`crate::credentials`]'s job.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::hex::{is_md5_hex, md5_hex};

/// The wire credential for a password given to `registerUser`: Radio and PyCS send the MD5 hex
/// already, Virtuoso's clients send the clear password, which is hashed here.
pub fn wire_credential(password: &str) -> String {
    if is_md5_hex(password) {
        password.to_ascii_lowercase()
    } else {
        md5_hex(password.as_bytes())
    }
}

/// The policy for xmlStorageSystem passwords set on this server: 8 to 128 printable ASCII
/// characters (what every legacy client can type and hash the same way).
pub fn check_password_policy(password: &str) -> Result<(), String> {
    password_rule(password).map_err(|r| r.to_string())
}

/// [`check_password_policy`], with the reason as a value.
pub fn password_rule(password: &str) -> Result<(), crate::logins::Refusal> {
    let len = password.chars().count();
    if !(8..=128).contains(&len) {
        return Err(crate::logins::Refusal::WeblogLength { has: len });
    }
    if !password.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(crate::logins::Refusal::WeblogCharacters);
    }
    Ok(())
}

/// One row of `users`.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub disabled: bool,
    pub client_port: Option<i64>,
    pub user_agent: String,
    pub serial_number: String,
    pub weblog_title: String,
    pub organization: String,
    pub url: String,
    pub behind_firewall: bool,
    pub signed_on: bool,
    pub ct_signons: i64,
    pub ct_upstreams: i64,
    pub ct_bytes_upstreamed: i64,
    pub ct_file_deletions: i64,
    pub ct_accesses: i64,
    pub last_ip: String,
    pub created_at: i64,
    pub last_access_at: Option<i64>,
    pub last_upstream_at: Option<i64>,
    pub last_signon_at: Option<i64>,
    pub last_signoff_at: Option<i64>,
}

impl User {
    /// The usernum as clients see it: seven digits, zero-padded.
    pub fn usernum(&self) -> String {
        format_usernum(self.id)
    }

    /// The account as reset links, their mails, `passlink reset list` and the audit trail name
    /// it.
    pub fn account(&self) -> String {
        account_name(&self.email, self.id)
    }
}

/// An xmlStorageSystem account's name from its email and id (see [`User::account`]).
pub fn account_name(email: &str, id: i64) -> String {
    format!("{email} (xmlStorageSystem user {})", format_usernum(id))
}

pub fn format_usernum(id: i64) -> String {
    format!("{id:07}")
}

const USER_COLUMNS: &str = "id, email, name, password_hash, disabled, client_port, user_agent, \
    serial_number, weblog_title, organization, url, behind_firewall, signed_on, ct_signons, \
    ct_upstreams, ct_bytes_upstreamed, ct_file_deletions, ct_accesses, last_ip, created_at, \
    last_access_at, last_upstream_at, last_signon_at, last_signoff_at";

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        password_hash: r.get(3)?,
        disabled: r.get::<_, i64>(4)? != 0,
        client_port: r.get(5)?,
        user_agent: r.get(6)?,
        serial_number: r.get(7)?,
        weblog_title: r.get(8)?,
        organization: r.get(9)?,
        url: r.get(10)?,
        behind_firewall: r.get::<_, i64>(11)? != 0,
        signed_on: r.get::<_, i64>(12)? != 0,
        ct_signons: r.get(13)?,
        ct_upstreams: r.get(14)?,
        ct_bytes_upstreamed: r.get(15)?,
        ct_file_deletions: r.get(16)?,
        ct_accesses: r.get(17)?,
        last_ip: r.get(18)?,
        created_at: r.get(19)?,
        last_access_at: r.get(20)?,
        last_upstream_at: r.get(21)?,
        last_signon_at: r.get(22)?,
        last_signoff_at: r.get(23)?,
    })
}

// Looked up on every authenticated call: the statements are prepared once per connection
// (prepare_cached), since parsing SQL showed up as the largest cost in a profile.
pub fn find(conn: &Connection, id: i64) -> rusqlite::Result<Option<User>> {
    conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))?
        .query_row(params![id], user_from_row)
        .optional()
}

pub fn find_by_email(conn: &Connection, email: &str) -> rusqlite::Result<Option<User>> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE email_key = ?1"
    ))?
    .query_row(params![email_key(email)], user_from_row)
    .optional()
}

/// Finds a user by what clients send as the first parameter: a usernum (`5`, `"5"`,
/// `"0000005"`) or an email address.
pub fn find_by_login(conn: &Connection, login: &str) -> rusqlite::Result<Option<User>> {
    let login = login.trim();
    if !login.is_empty() && login.len() <= 18 && login.bytes().all(|b| b.is_ascii_digit()) {
        return match login.parse::<i64>() {
            Ok(id) => find(conn, id),
            Err(_) => Ok(None),
        };
    }
    find_by_email(conn, login)
}

pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<User>> {
    let mut stmt = conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))?;
    let rows = stmt.query_map([], user_from_row)?;
    rows.collect()
}

pub fn count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))
}

/// What `registerUser` stores about a new account.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub client_port: Option<i64>,
    pub user_agent: &'a str,
    pub serial_number: &'a str,
}

/// Inserts a user and returns the new usernum; `None` when the email is already taken.
pub fn create(conn: &Connection, user: &NewUser<'_>, now: i64) -> rusqlite::Result<Option<i64>> {
    let inserted = conn.execute(
        "INSERT INTO users (email, email_key, name, password_hash, client_port, user_agent, \
         serial_number, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT (email_key) DO NOTHING",
        params![
            user.email.trim(),
            email_key(user.email),
            user.name,
            user.password_hash,
            user.client_port,
            user.user_agent,
            user.serial_number,
            now
        ],
    )?;
    Ok((inserted == 1).then(|| conn.last_insert_rowid()))
}

/// A user as an importer ([`crate::migrate`]) brings them over from another server.
pub struct ImportedUser<'a> {
    /// The usernum to keep (PyCS), or `None` for the next one (Virtuoso).
    pub id: Option<i64>,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub disabled: bool,
    pub weblog_title: &'a str,
    pub created_at: i64,
}

/// Inserts an imported user and returns their usernum. An explicit usernum above every
/// existing one moves AUTOINCREMENT's counter past it, so later registrations follow on.
pub fn insert_imported(conn: &Connection, user: &ImportedUser<'_>) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO users (id, email, email_key, name, password_hash, disabled, weblog_title, \
         created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        user.id,
        user.email.trim(),
        email_key(user.email),
        user.name,
        user.password_hash,
        i64::from(user.disabled),
        user.weblog_title,
        user.created_at
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Replaces what an import brings (`--overwrite`) in an existing user; counters, sessions and
/// files stay.
pub fn overwrite_imported(
    conn: &Connection,
    id: i64,
    user: &ImportedUser<'_>,
) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE users SET email = ?2, email_key = ?3, name = ?4, password_hash = ?5, \
         disabled = ?6, weblog_title = ?7 WHERE id = ?1",
        params![
            id,
            user.email.trim(),
            email_key(user.email),
            user.name,
            user.password_hash,
            i64::from(user.disabled),
            user.weblog_title
        ],
    )? == 1)
}

pub fn set_password_hash(conn: &Connection, id: i64, hash: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![id, hash],
    )? == 1)
}

/// Replaces the password hash only if it is still `old`: an upgrade to a new argon2 cost
/// must not undo a password changed meanwhile. `false` when it changed.
pub fn replace_password_hash(
    conn: &Connection,
    id: i64,
    old: &str,
    new: &str,
) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE users SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2",
        params![id, old, new],
    )? == 1)
}

/// User `id`'s email address and the language it last chose on a passlink page (a tag), if
/// any: what its reset mails and pages need, in one narrow read.
pub fn facing(conn: &Connection, id: i64) -> rusqlite::Result<Option<(String, Option<String>)>> {
    conn.prepare_cached("SELECT email, language FROM users WHERE id = ?1")?
        .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

/// Remembers the language user `id` chose on a passlink page, for its mails.
pub fn set_language(conn: &Connection, id: i64, tag: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE users SET language = ?2 WHERE id = ?1")?
        .execute(params![id, tag])?;
    Ok(())
}

pub fn set_disabled(conn: &Connection, id: i64, disabled: bool) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE users SET disabled = ?2 WHERE id = ?1",
        params![id, i64::from(disabled)],
    )? == 1)
}

/// Removes a user; their files go with them (ON DELETE CASCADE).
pub fn remove(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM users WHERE id = ?1", params![id])? == 1)
}

/// Whether `usernum` names an existing, enabled user (for serving their files).
pub fn user_active(conn: &Connection, usernum: i64) -> rusqlite::Result<bool> {
    let disabled: Option<i64> = conn
        .prepare_cached("SELECT disabled FROM users WHERE id = ?1")?
        .query_row(params![usernum], |r| r.get(0))
        .optional()?;
    Ok(disabled == Some(0))
}

/// Counts an authenticated call and remembers where it came from.
pub fn record_access(conn: &Connection, id: i64, ip: &str, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE users SET ct_accesses = ct_accesses + 1, last_access_at = ?2, last_ip = ?3 \
         WHERE id = ?1",
    )?
    .execute(params![id, now, ip])?;
    Ok(())
}

pub fn record_upstream(conn: &Connection, id: i64, bytes: i64, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE users SET ct_upstreams = ct_upstreams + 1, \
         ct_bytes_upstreamed = ct_bytes_upstreamed + ?2, last_upstream_at = ?3 WHERE id = ?1",
    )?
    .execute(params![id, bytes, now])?;
    Ok(())
}

pub fn record_deletions(conn: &Connection, id: i64, count: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE users SET ct_file_deletions = ct_file_deletions + ?2 WHERE id = ?1",
    )?
    .execute(params![id, count])?;
    Ok(())
}

/// What a `ping` tells about the client.
pub struct PingInfo<'a> {
    pub signing_on: bool,
    pub client_port: Option<i64>,
    pub weblog_title: Option<&'a str>,
    pub organization: Option<&'a str>,
    pub url: Option<&'a str>,
    pub serial_number: Option<&'a str>,
    pub behind_firewall: Option<bool>,
    pub user_agent: &'a str,
}

/// Records a ping: sign on (status 0) or off (status 1), and the client's details.
/// Returns whether this was the user's first sign-on.
pub fn record_ping(
    conn: &Connection,
    id: i64,
    ping: &PingInfo<'_>,
    now: i64,
) -> rusqlite::Result<bool> {
    let first: i64 = conn.query_row(
        "SELECT ct_signons = 0 FROM users WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )?;
    if ping.signing_on {
        conn.execute(
            "UPDATE users SET signed_on = 1, ct_signons = ct_signons + 1, last_signon_at = ?2 \
             WHERE id = ?1",
            params![id, now],
        )?;
    } else {
        conn.execute(
            "UPDATE users SET signed_on = 0, last_signoff_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
    }
    conn.execute(
        "UPDATE users SET client_port = coalesce(?2, client_port), \
         weblog_title = coalesce(?3, weblog_title), organization = coalesce(?4, organization), \
         url = coalesce(?5, url), serial_number = coalesce(?6, serial_number), \
         behind_firewall = coalesce(?7, behind_firewall), user_agent = ?8 WHERE id = ?1",
        params![
            id,
            ping.client_port,
            ping.weblog_title,
            ping.organization,
            ping.url,
            ping.serial_number,
            ping.behind_firewall.map(i64::from),
            ping.user_agent
        ],
    )?;
    Ok(first == 1 && ping.signing_on)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_credential_is_the_lower_case_md5_hex() {
        assert_eq!(
            wire_credential("912EC803B2CE49E4A541068D495AB570"),
            "912ec803b2ce49e4a541068d495ab570"
        );
        assert_eq!(
            wire_credential("secret"),
            "5ebe2294ecd0e0f08eab7690d2a6ee69"
        );
    }

    #[test]
    fn users_by_usernum_or_email() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let new = NewUser {
            email: "Me@Example.com",
            name: "Me",
            password_hash: "x",
            client_port: Some(5335),
            user_agent: "test",
            serial_number: "",
        };
        let id = create(&conn, &new, 1).unwrap().unwrap();
        assert_eq!(create(&conn, &new, 1).unwrap(), None, "email taken");
        for login in ["1", "0000001", "me@example.com", " ME@EXAMPLE.COM "] {
            assert_eq!(
                find_by_login(&conn, login).unwrap().unwrap().id,
                id,
                "{login}"
            );
        }
        assert!(find_by_login(&conn, "2").unwrap().is_none());
        assert_eq!(find(&conn, id).unwrap().unwrap().usernum(), "0000001");
        assert!(user_active(&conn, id).unwrap());
        set_disabled(&conn, id, true).unwrap();
        assert!(!user_active(&conn, id).unwrap());
        assert!(remove(&conn, id).unwrap());
        // Numbers are never reused.
        let again = create(&conn, &new, 2).unwrap().unwrap();
        assert!(again > id);
    }
}
