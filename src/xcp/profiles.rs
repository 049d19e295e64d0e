//! Domain owners' logins for XCP: reading and changing `profiles` and `subusers`, and the
//! domains and contacts a login can see. (Onboarding, which creates profiles with their first
//! domain, is in [`super::domains`].)

use rusqlite::{Connection, OptionalExtension, params};

use super::domains::Contact;
use crate::logins::Login;

/// A domain as the XCP commands see it: only when it belongs to the asking reseller.
#[derive(Debug, Clone)]
pub struct OwnedDomain {
    pub id: i64,
    pub name: String,
    pub reseller_id: i64,
    pub profile_id: i64,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// A profile or sub-user login, with what `set cookie` reports.
#[derive(Debug, Clone)]
pub struct Account {
    pub login: Login,
    /// The profile this login belongs to (itself for a profile).
    pub profile_id: i64,
    pub username: String,
    pub password_hash: String,
    /// The sub-user's permission bitmask; `None` for the profile itself (the owner).
    pub permission: Option<i64>,
    pub last_login_at: Option<i64>,
    pub last_login_ip: Option<String>,
}

impl Account {
    pub fn is_owner(&self) -> bool {
        matches!(self.login, Login::Profile(_))
    }

    /// The row id in `profiles` or `subusers`.
    pub fn id(&self) -> i64 {
        login_id(self.login)
    }

    /// The account as reset links, their mails, `passlink reset list` and the audit trail name
    /// it: "profile alice for example.com", "sub-user bob for example.com".
    pub fn label(&self, domain: &str) -> String {
        let kind = if self.is_owner() {
            "profile"
        } else {
            "sub-user"
        };
        format!("{kind} {} for {domain}", self.username)
    }
}

const DOMAIN_COLUMNS: &str = "id, name, reseller_id, profile_id, created_at, expires_at";

fn domain_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OwnedDomain> {
    Ok(OwnedDomain {
        id: r.get(0)?,
        name: r.get(1)?,
        reseller_id: r.get(2)?,
        profile_id: r.get(3)?,
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
    })
}

/// The domain `name` (already normalised) if it belongs to `reseller_id`. A domain of another
/// reseller is `None`, exactly like one that does not exist.
pub fn domain_of_reseller(
    conn: &Connection,
    reseller_id: i64,
    name: &str,
) -> rusqlite::Result<Option<OwnedDomain>> {
    conn.prepare_cached(&format!(
        "SELECT {DOMAIN_COLUMNS} FROM domains WHERE name = ?1 AND reseller_id = ?2"
    ))?
    .query_row(params![name, reseller_id], domain_row)
    .optional()
}

pub fn domain_by_id(conn: &Connection, id: i64) -> rusqlite::Result<Option<OwnedDomain>> {
    conn.prepare_cached(&format!(
        "SELECT {DOMAIN_COLUMNS} FROM domains WHERE id = ?1"
    ))?
    .query_row(params![id], domain_row)
    .optional()
}

/// The profile's domains, by name.
pub fn domains_of_profile(
    conn: &Connection,
    profile_id: i64,
) -> rusqlite::Result<Vec<OwnedDomain>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DOMAIN_COLUMNS} FROM domains WHERE profile_id = ?1 ORDER BY name"
    ))?;
    let rows = stmt.query_map(params![profile_id], domain_row)?;
    rows.collect()
}

pub fn domain_count(conn: &Connection, profile_id: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT count(*) FROM domains WHERE profile_id = ?1")?
        .query_row(params![profile_id], |r| r.get(0))
}

/// One contact of a domain; `role` is one of [`super::domains::ROLES`].
pub fn contact(conn: &Connection, domain_id: i64, role: &str) -> rusqlite::Result<Option<Contact>> {
    conn.prepare_cached(
        "SELECT first_name, last_name, org_name, email, phone FROM contacts \
         WHERE domain_id = ?1 AND role = ?2",
    )?
    .query_row(params![domain_id, role], |r| {
        Ok(Contact {
            first_name: r.get(0)?,
            last_name: r.get(1)?,
            org_name: r.get(2)?,
            email: r.get(3)?,
            phone: r.get(4)?,
        })
    })
    .optional()
}

pub fn profile(conn: &Connection, id: i64) -> rusqlite::Result<Option<Account>> {
    conn.prepare_cached(
        "SELECT id, username, password_hash, last_login_at, last_login_ip FROM profiles \
         WHERE id = ?1",
    )?
    .query_row(params![id], |r| {
        Ok(Account {
            login: Login::Profile(r.get(0)?),
            profile_id: r.get(0)?,
            username: r.get(1)?,
            password_hash: r.get(2)?,
            permission: None,
            last_login_at: r.get(3)?,
            last_login_ip: r.get(4)?,
        })
    })
    .optional()
}

/// The profile's sub-user, if it has one (there is at most one).
pub fn subuser_of(conn: &Connection, profile_id: i64) -> rusqlite::Result<Option<Account>> {
    conn.prepare_cached(
        "SELECT id, profile_id, username, password_hash, permission, last_login_at, \
         last_login_ip FROM subusers WHERE profile_id = ?1",
    )?
    .query_row(params![profile_id], |r| {
        Ok(Account {
            login: Login::SubUser(r.get(0)?),
            profile_id: r.get(1)?,
            username: r.get(2)?,
            password_hash: r.get(3)?,
            permission: Some(r.get(4)?),
            last_login_at: r.get(5)?,
            last_login_ip: r.get(6)?,
        })
    })
    .optional()
}

/// The profile or sub-user behind a login.
pub fn account(conn: &Connection, login: Login) -> rusqlite::Result<Option<Account>> {
    match login {
        Login::Profile(id) => profile(conn, id),
        Login::SubUser(id) => {
            let profile_id: Option<i64> = conn
                .prepare_cached("SELECT profile_id FROM subusers WHERE id = ?1")?
                .query_row(params![id], |r| r.get(0))
                .optional()?;
            match profile_id {
                Some(p) => subuser_of(conn, p),
                None => Ok(None),
            }
        }
        Login::XssUser(_) => Ok(None),
    }
}

/// What the reset mails and pages need of a profile or sub-user: the reseller whose brand
/// they carry, the language the login chose (if any), and the profile's first domain.
#[derive(Debug, Clone)]
pub struct Facing {
    pub reseller_id: i64,
    pub username: String,
    pub language: Option<String>,
    pub first_domain: Option<String>,
}

/// [`Facing`] for a profile or sub-user login; `None` for anything else or a login gone.
pub fn facing(conn: &Connection, login: Login) -> rusqlite::Result<Option<Facing>> {
    let sql = match login {
        Login::Profile(_) => {
            "SELECT p.reseller_id, p.username, p.language, \
             (SELECT name FROM domains WHERE profile_id = p.id ORDER BY name LIMIT 1) \
             FROM profiles p WHERE p.id = ?1"
        }
        Login::SubUser(_) => {
            "SELECT p.reseller_id, s.username, s.language, \
             (SELECT name FROM domains WHERE profile_id = p.id ORDER BY name LIMIT 1) \
             FROM subusers s JOIN profiles p ON p.id = s.profile_id WHERE s.id = ?1"
        }
        Login::XssUser(_) => return Ok(None),
    };
    conn.prepare_cached(sql)?
        .query_row(params![login_id(login)], |r| {
            Ok(Facing {
                reseller_id: r.get(0)?,
                username: r.get(1)?,
                language: r.get(2)?,
                first_domain: r.get(3)?,
            })
        })
        .optional()
}

/// Remembers the language a profile or sub-user chose on a passlink page, for its mails.
pub fn set_language(conn: &Connection, login: Login, tag: &str) -> rusqlite::Result<()> {
    let sql = match login {
        Login::Profile(_) => "UPDATE profiles SET language = ?2 WHERE id = ?1",
        Login::SubUser(_) => "UPDATE subusers SET language = ?2 WHERE id = ?1",
        Login::XssUser(_) => return Ok(()),
    };
    conn.prepare_cached(sql)?
        .execute(params![login_id(login), tag])?;
    Ok(())
}

/// Remembers a successful login, which the next one reports.
pub fn record_login(conn: &Connection, login: Login, now: i64, ip: &str) -> rusqlite::Result<()> {
    let sql = match login {
        Login::Profile(_) => {
            "UPDATE profiles SET last_login_at = ?2, last_login_ip = ?3 WHERE id = ?1"
        }
        Login::SubUser(_) => {
            "UPDATE subusers SET last_login_at = ?2, last_login_ip = ?3 WHERE id = ?1"
        }
        Login::XssUser(_) => return Ok(()),
    };
    conn.prepare_cached(sql)?
        .execute(params![login_id(login), now, ip])?;
    Ok(())
}

fn login_id(login: Login) -> i64 {
    match login {
        Login::XssUser(id) | Login::Profile(id) | Login::SubUser(id) => id,
    }
}

pub fn set_password_hash(conn: &Connection, login: Login, hash: &str) -> rusqlite::Result<bool> {
    let sql = match login {
        Login::Profile(_) => "UPDATE profiles SET password_hash = ?2 WHERE id = ?1",
        Login::SubUser(_) => "UPDATE subusers SET password_hash = ?2 WHERE id = ?1",
        Login::XssUser(_) => return Ok(false),
    };
    Ok(conn.execute(sql, params![login_id(login), hash])? == 1)
}

/// Replaces a profile's or sub-user's hash only if it is still `old` (an upgrade to a new
/// argon2 cost must not undo a password changed meanwhile).
pub fn replace_password_hash(
    conn: &Connection,
    login: Login,
    old: &str,
    new: &str,
) -> rusqlite::Result<bool> {
    let sql = match login {
        Login::Profile(_) => {
            "UPDATE profiles SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2"
        }
        Login::SubUser(_) => {
            "UPDATE subusers SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2"
        }
        Login::XssUser(_) => return Ok(false),
    };
    Ok(conn.execute(sql, params![login_id(login), old, new])? == 1)
}

/// A sub-user username: what a profile username may be.
pub fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// Adds the profile's sub-user. `None` when it already has one.
pub fn add_subuser(
    conn: &Connection,
    profile_id: i64,
    username: &str,
    password_hash: &str,
    permission: i64,
    now: i64,
) -> rusqlite::Result<Option<i64>> {
    let n = conn.execute(
        "INSERT INTO subusers (profile_id, username, password_hash, permission, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (profile_id) DO NOTHING",
        params![profile_id, username, password_hash, permission, now],
    )?;
    Ok((n == 1).then(|| conn.last_insert_rowid()))
}

/// Changes what is given of a sub-user.
pub fn modify_subuser(
    conn: &Connection,
    id: i64,
    username: Option<&str>,
    password_hash: Option<&str>,
    permission: Option<i64>,
) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE subusers SET username = coalesce(?2, username), \
         password_hash = coalesce(?3, password_hash), permission = coalesce(?4, permission) \
         WHERE id = ?1",
        params![id, username, password_hash, permission],
    )? == 1)
}

/// Removes a sub-user; its cookies go with it (foreign key cascade).
pub fn delete_subuser(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM subusers WHERE id = ?1", params![id])? == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xcp::domains::{self, NewDomain};

    fn seeded() -> (tempfile::TempDir, Connection, i64) {
        let (dir, conn) = crate::db::migrated_temp_db();
        crate::xcp::resellers::add(&conn, "r1", &[], 1).unwrap();
        let mut new = NewDomain {
            domain: "Example.COM".into(),
            reseller: "r1".into(),
            profile: "alice".into(),
            password_hash: Some("hash".into()),
            ..NewDomain::default()
        };
        new.contacts[0].email = "owner@example.net".into();
        new.contacts[1].email = "admin@example.net".into();
        domains::add(&conn, &new, 1).unwrap();
        let reseller: i64 = conn
            .query_row("SELECT id FROM resellers", [], |r| r.get(0))
            .unwrap();
        (dir, conn, reseller)
    }

    #[test]
    fn a_domain_is_seen_only_by_its_reseller() {
        let (_dir, conn, reseller) = seeded();
        let d = domain_of_reseller(&conn, reseller, "example.com")
            .unwrap()
            .unwrap();
        assert_eq!(d.name, "example.com");
        assert!(
            domain_of_reseller(&conn, reseller + 1, "example.com")
                .unwrap()
                .is_none()
        );
        assert_eq!(domain_count(&conn, d.profile_id).unwrap(), 1);
        let c = contact(&conn, d.id, "admin").unwrap().unwrap();
        assert_eq!(c.email, "admin@example.net");
        // Billing falls back to the admin contact.
        assert_eq!(
            contact(&conn, d.id, "billing").unwrap().unwrap().email,
            "admin@example.net"
        );
    }

    #[test]
    fn one_subuser_per_profile_and_logins_are_recorded() {
        let (_dir, conn, reseller) = seeded();
        let d = domain_of_reseller(&conn, reseller, "example.com")
            .unwrap()
            .unwrap();
        let id = add_subuser(&conn, d.profile_id, "bob", "h1", 2, 5)
            .unwrap()
            .unwrap();
        assert!(
            add_subuser(&conn, d.profile_id, "carol", "h2", 2, 5)
                .unwrap()
                .is_none()
        );
        assert!(modify_subuser(&conn, id, None, Some("h3"), Some(6)).unwrap());
        let sub = subuser_of(&conn, d.profile_id).unwrap().unwrap();
        assert_eq!(
            (
                sub.username.as_str(),
                sub.password_hash.as_str(),
                sub.permission
            ),
            ("bob", "h3", Some(6))
        );
        record_login(&conn, Login::SubUser(id), 99, "192.0.2.1").unwrap();
        let sub = account(&conn, Login::SubUser(id)).unwrap().unwrap();
        assert_eq!(sub.last_login_at, Some(99));
        assert_eq!(sub.last_login_ip.as_deref(), Some("192.0.2.1"));
        assert!(delete_subuser(&conn, id).unwrap());
        assert!(subuser_of(&conn, d.profile_id).unwrap().is_none());
    }
}
