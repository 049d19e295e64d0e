//! XCP resellers: the `resellers` table, their private keys and IP allowlists, and the check
//! of a request's `X-Username` and `X-Signature`.

use std::net::IpAddr;

use rusqlite::{Connection, OptionalExtension, params};

use super::envelope::signature_matches;
use crate::hex::hex;

/// Allowlist entries: the same address blocks as `server.trusted_proxies`.
pub use crate::http::Cidr;

#[derive(Debug, Clone)]
pub struct Reseller {
    pub id: i64,
    pub username: String,
    /// Kept out of `Debug` by [`crate::secret::Secret`].
    pub private_key: crate::secret::Secret,
    pub allowed_ips: Vec<Cidr>,
    pub created_at: i64,
}

/// A new private key: 32 random bytes as 64 hex characters.
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex(&bytes)
}

/// Why a request was not accepted as coming from a reseller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// Unknown username, missing or wrong signature: XCP 401 "Authentication Failed".
    Unauthenticated,
    /// The source address is outside the reseller's allowlist: XCP 400.
    IpDenied,
}

/// Checks `X-Username`/`X-Signature` over the exact body, then the source address.
pub fn authenticate(
    conn: &Connection,
    username: Option<&str>,
    signature_header: Option<&str>,
    body: &[u8],
    peer: IpAddr,
) -> rusqlite::Result<Result<Reseller, AuthFailure>> {
    let (Some(username), Some(given)) = (username, signature_header) else {
        return Ok(Err(AuthFailure::Unauthenticated));
    };
    let Some(reseller) = find(conn, username.trim())? else {
        return Ok(Err(AuthFailure::Unauthenticated));
    };
    if !signature_matches(body, reseller.private_key.expose(), given) {
        return Ok(Err(AuthFailure::Unauthenticated));
    }
    if !reseller.allowed_ips.is_empty() && !reseller.allowed_ips.iter().any(|c| c.contains(peer)) {
        return Ok(Err(AuthFailure::IpDenied));
    }
    Ok(Ok(reseller))
}

fn parse_allowlist(text: &str) -> Vec<Cidr> {
    text.split_whitespace()
        .filter_map(|c| c.parse().ok())
        .collect()
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Reseller> {
    Ok(Reseller {
        id: r.get(0)?,
        username: r.get(1)?,
        private_key: crate::secret::Secret::new(r.get::<_, String>(2)?),
        allowed_ips: parse_allowlist(&r.get::<_, String>(3)?),
        created_at: r.get(4)?,
    })
}

pub fn find(conn: &Connection, username: &str) -> rusqlite::Result<Option<Reseller>> {
    conn.prepare_cached(
        "SELECT id, username, private_key, allowed_ips, created_at FROM resellers \
         WHERE username = ?1",
    )?
    .query_row(params![username], from_row)
    .optional()
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<Reseller>> {
    let mut stmt = conn.prepare(
        "SELECT id, username, private_key, allowed_ips, created_at FROM resellers \
         ORDER BY username",
    )?;
    let rows = stmt.query_map([], from_row)?;
    rows.collect()
}

/// A reseller username: what `X-Username` can carry cleanly.
pub fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// Adds a reseller and returns its new key; `None` if the name is taken.
pub fn add(
    conn: &Connection,
    username: &str,
    allowed: &[Cidr],
    now: i64,
) -> rusqlite::Result<Option<String>> {
    let key = generate_key();
    let allowed: Vec<String> = allowed.iter().map(Cidr::to_string).collect();
    let n = conn.execute(
        "INSERT INTO resellers (username, private_key, allowed_ips, created_at) \
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (username) DO NOTHING",
        params![username, key, allowed.join(" "), now],
    )?;
    Ok((n == 1).then_some(key))
}

/// Replaces a reseller's key; the old one stops working at once. `None` if unknown.
pub fn rotate_key(conn: &Connection, username: &str) -> rusqlite::Result<Option<String>> {
    let key = generate_key();
    let n = conn.execute(
        "UPDATE resellers SET private_key = ?2 WHERE username = ?1",
        params![username, key],
    )?;
    Ok((n == 1).then_some(key))
}

/// Replaces a reseller's allowlist (empty: every address); the key stays. `false` if unknown.
pub fn set_allowed(conn: &Connection, username: &str, allowed: &[Cidr]) -> rusqlite::Result<bool> {
    let allowed: Vec<String> = allowed.iter().map(Cidr::to_string).collect();
    Ok(conn.execute(
        "UPDATE resellers SET allowed_ips = ?2 WHERE username = ?1",
        params![username, allowed.join(" ")],
    )? == 1)
}

/// Removes a reseller, and with it (`ON DELETE CASCADE`) its profiles, domains and their
/// sessions: callers say so and ask first.
pub fn remove(conn: &Connection, username: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "DELETE FROM resellers WHERE username = ?1",
        params![username],
    )? == 1)
}

/// What a reseller's customers see on reset mails and pages in place of the server's
/// defaults (`passlink reseller brand`). Each part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Brand {
    /// "Acme Domains": the site's name on pages and mails.
    pub name: Option<String>,
    /// The mails' `From:` address; the SMTP envelope sender stays the server's.
    pub mail_from: Option<String>,
    /// An address or an https URL, shown on pages and in mails, and the mails' `Reply-To:`
    /// when it is an address.
    pub support: Option<String>,
    /// `#rrggbb`, for the page's heading rule and button.
    pub accent: Option<String>,
    /// A shipped language tag: the mails' language when the login chose none.
    pub language: Option<String>,
    /// Whether it stored mail texts of its own ([`templates`]): most have none, and a mail
    /// then reads no more.
    pub has_templates: bool,
}

impl Brand {
    pub fn is_empty(&self) -> bool {
        *self == Brand::default()
    }
}

/// The brand of reseller `id` (empty when none is set or the reseller is gone).
pub fn brand(conn: &Connection, id: i64) -> rusqlite::Result<Brand> {
    Ok(conn
        .prepare_cached(
            "SELECT brand_name, mail_from, support, accent, language, \
             EXISTS (SELECT 1 FROM reseller_templates WHERE reseller_id = resellers.id) \
             FROM resellers WHERE id = ?1",
        )?
        .query_row(params![id], |r| {
            Ok(Brand {
                name: r.get(0)?,
                mail_from: r.get(1)?,
                support: r.get(2)?,
                accent: r.get(3)?,
                language: r.get(4)?,
                has_templates: r.get(5)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

/// Replaces reseller `username`'s brand (checked by the caller). `false` if unknown.
pub fn set_brand(conn: &Connection, username: &str, brand: &Brand) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE resellers SET brand_name = ?2, mail_from = ?3, support = ?4, accent = ?5, \
         language = ?6 WHERE username = ?1",
        params![
            username,
            brand.name,
            brand.mail_from,
            brand.support,
            brand.accent,
            brand.language
        ],
    )? == 1)
}

/// Reseller `id`'s own mail templates, by file name ("reset.de.txt"), sorted by name.
pub fn templates(conn: &Connection, id: i64) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, body FROM reseller_templates WHERE reseller_id = ?1 ORDER BY name",
    )?;
    let rows = stmt.query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Sets (or with `None` removes) one of reseller `id`'s templates.
pub fn set_template(
    conn: &Connection,
    id: i64,
    name: &str,
    body: Option<&str>,
) -> rusqlite::Result<()> {
    match body {
        Some(body) => conn.execute(
            "INSERT INTO reseller_templates (reseller_id, name, body) VALUES (?1, ?2, ?3) \
             ON CONFLICT (reseller_id, name) DO UPDATE SET body = excluded.body",
            params![id, name, body],
        )?,
        None => conn.execute(
            "DELETE FROM reseller_templates WHERE reseller_id = ?1 AND name = ?2",
            params![id, name],
        )?,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xcp::envelope::signature;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/opensrs/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn the_captured_signatures_verify() {
        for client in ["net-opensrs", "php-toolkit"] {
            let body = fixture(&format!("{client}-send_password.body.xml"));
            let record =
                String::from_utf8(fixture(&format!("{client}-send_password.signature.txt")))
                    .unwrap();
            let sig = record
                .lines()
                .find_map(|l| l.strip_prefix("x_signature="))
                .unwrap()
                .trim();
            assert_eq!(signature(&body, "testkey123"), sig, "{client}");
            assert!(signature_matches(
                &body,
                "testkey123",
                &sig.to_ascii_uppercase()
            ));
            assert!(!signature_matches(&body, "testkey124", sig));
            assert!(!signature_matches(&body, "testkey123", &sig[1..]));
        }
    }

    #[test]
    fn cidrs() {
        let net: Cidr = "192.0.2.0/24".parse().unwrap();
        assert!(net.contains("192.0.2.200".parse().unwrap()));
        assert!(net.contains("::ffff:192.0.2.1".parse().unwrap()));
        assert!(!net.contains("192.0.3.1".parse().unwrap()));
        let one: Cidr = "127.0.0.5".parse().unwrap();
        assert!(one.contains("127.0.0.5".parse().unwrap()));
        assert!(!one.contains("127.0.0.1".parse().unwrap()));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
        let any: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(any.contains("203.0.113.9".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nope".parse::<Cidr>().is_err());
    }

    #[test]
    fn add_authenticate_rotate_remove() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let allow = ["127.0.0.0/8".parse().unwrap()];
        let key = add(&conn, "resellerx", &allow, 1).unwrap().unwrap();
        assert_eq!(key.len(), 64);
        assert!(add(&conn, "resellerx", &[], 1).unwrap().is_none());
        let body = b"<OPS_envelope/>";
        let sig = signature(body, &key);
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let auth =
            |user, sig: &str, ip| authenticate(&conn, Some(user), Some(sig), body, ip).unwrap();
        assert!(auth("resellerx", &sig, local).is_ok());
        assert_eq!(
            auth("resellerx", "00", local).unwrap_err(),
            AuthFailure::Unauthenticated
        );
        assert_eq!(
            auth("nobody", &sig, local).unwrap_err(),
            AuthFailure::Unauthenticated
        );
        assert_eq!(
            auth("resellerx", &sig, "192.0.2.1".parse().unwrap()).unwrap_err(),
            AuthFailure::IpDenied
        );
        let new = rotate_key(&conn, "resellerx").unwrap().unwrap();
        assert_ne!(new, key);
        assert!(
            auth("resellerx", &sig, local).is_err(),
            "the old key stops working"
        );
        assert!(!format!("{:?}", find(&conn, "resellerx").unwrap()).contains(&new));
        assert!(remove(&conn, "resellerx").unwrap());
        assert!(list(&conn).unwrap().is_empty());
    }
}
