//! Domain owners for XCP: the `profiles`, `domains`, `contacts` and `subusers` tables, the
//! OpenSRS password rules, and bulk onboarding from CSV.

use std::fmt;

use rusqlite::{Connection, OptionalExtension, params};

use crate::config::XcpConfig;

/// Characters OpenSRS allows in passwords besides letters and digits (the docs' change-password
/// set and the legacy manage.cgi pattern together).
pub const PASSWORD_SYMBOLS: &str = "[]()!@$^,.~|=-+_{}#\"";

/// Checks a profile or sub-user password against the OpenSRS character set and the configured
/// length bounds.
pub fn check_password(password: &str, rules: &XcpConfig) -> Result<(), String> {
    password_rule(password, rules).map_err(|r| r.to_string())
}

/// [`check_password`], with the reason as a value.
pub fn password_rule(password: &str, rules: &XcpConfig) -> Result<(), crate::logins::Refusal> {
    let (min, max) = (
        rules.password_min_length.get(),
        rules.password_max_length.get(),
    );
    let len = password.chars().count();
    if len < min || len > max {
        return Err(crate::logins::Refusal::DomainLength { min, max });
    }
    if let Some(bad) = password
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !PASSWORD_SYMBOLS.contains(*c))
    {
        return Err(crate::logins::Refusal::DomainCharacter {
            bad,
            allowed: PASSWORD_SYMBOLS,
        });
    }
    Ok(())
}

/// A random password that meets the rules: letters and digits only, at the maximum length
/// (capped at 20, the OpenSRS maximum).
pub fn generate_password(rules: &XcpConfig) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let len = rules.password_max_length.get().clamp(
        rules.password_min_length.get(),
        20.max(rules.password_min_length.get()),
    );
    let mut bytes = vec![0u8; len];
    rand::fill(&mut bytes[..]);
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// Lower-cases and checks a domain name: labels of letters, digits and hyphens, at least two
/// labels, at most 253 characters.
pub fn normalize_domain(name: &str) -> Result<String, String> {
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = name.split('.').collect();
    let ok = name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(name)
    } else {
        Err(format!("{name:?} is not a valid domain name"))
    }
}

/// One contact of a domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub first_name: String,
    pub last_name: String,
    pub org_name: String,
    pub email: String,
    pub phone: String,
}

pub const ROLES: [&str; 4] = ["owner", "admin", "billing", "tech"];

/// What onboarding a domain needs.
#[derive(Debug, Clone, Default)]
pub struct NewDomain {
    pub domain: String,
    pub reseller: String,
    pub profile: String,
    /// The argon2id hash for a new profile; ignored when the profile exists.
    pub password_hash: Option<String>,
    /// owner, admin, billing, tech; billing and tech default to the admin contact.
    pub contacts: [Contact; 4],
    /// When the registration expires (Unix time), if known: what `set cookie` and
    /// `get domain` answer as `expiredate`.
    pub expires_at: Option<i64>,
}

#[derive(Debug)]
pub enum DomainError {
    Db(rusqlite::Error),
    Invalid(String),
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainError::Db(e) => write!(f, "database error: {e}"),
            DomainError::Invalid(why) => f.write_str(why),
        }
    }
}

impl From<rusqlite::Error> for DomainError {
    fn from(e: rusqlite::Error) -> Self {
        DomainError::Db(e)
    }
}

/// Whether a profile exists under the reseller (so the caller knows if a password is needed).
pub fn profile_exists(conn: &Connection, reseller: &str, profile: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM profiles p JOIN resellers r ON r.id = p.reseller_id \
         WHERE r.username = ?1 AND p.username = ?2",
        params![reseller, profile],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// Adds a domain (and its profile if new) with its contacts. Run inside a transaction.
pub fn add(conn: &Connection, new: &NewDomain, now: i64) -> Result<i64, DomainError> {
    let domain = normalize_domain(&new.domain).map_err(DomainError::Invalid)?;
    let reseller: i64 = conn
        .query_row(
            "SELECT id FROM resellers WHERE username = ?1",
            params![new.reseller],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| DomainError::Invalid(format!("no reseller {:?}", new.reseller)))?;
    if new.profile.is_empty()
        || new.profile.len() > 64
        || !new
            .profile
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(DomainError::Invalid(format!(
            "{:?}: a profile username is 1 to 64 letters, digits, '-', '_' or '.'",
            new.profile
        )));
    }
    let profile: Option<i64> = conn
        .query_row(
            "SELECT id FROM profiles WHERE reseller_id = ?1 AND username = ?2",
            params![reseller, new.profile],
            |r| r.get(0),
        )
        .optional()?;
    let profile = match (profile, &new.password_hash) {
        (Some(id), _) => id,
        (None, Some(hash)) => {
            conn.execute(
                "INSERT INTO profiles (reseller_id, username, password_hash, created_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![reseller, new.profile, hash, now],
            )?;
            conn.last_insert_rowid()
        }
        (None, None) => {
            return Err(DomainError::Invalid(format!(
                "profile {:?} is new and needs a password",
                new.profile
            )));
        }
    };
    let taken: bool = conn.query_row(
        "SELECT count(*) > 0 FROM domains WHERE name = ?1",
        params![domain],
        |r| r.get(0),
    )?;
    if taken {
        return Err(DomainError::Invalid(format!(
            "domain {domain} already exists"
        )));
    }
    for (role, contact) in ROLES.iter().zip(&new.contacts).take(2) {
        if !contact.email.contains('@') {
            return Err(DomainError::Invalid(format!(
                "{domain}: the {role} contact needs an email address"
            )));
        }
    }
    conn.execute(
        "INSERT INTO domains (name, reseller_id, profile_id, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![domain, reseller, profile, now, new.expires_at],
    )?;
    let id = conn.last_insert_rowid();
    for (role, contact) in ROLES.iter().zip(&new.contacts) {
        // Billing and tech fall back to the admin contact, as registrars do.
        let contact = if contact.email.is_empty() && (*role == "billing" || *role == "tech") {
            &new.contacts[1]
        } else {
            contact
        };
        conn.execute(
            "INSERT INTO contacts (domain_id, role, first_name, last_name, org_name, email, phone) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id,
                role,
                contact.first_name,
                contact.last_name,
                contact.org_name,
                contact.email,
                contact.phone
            ],
        )?;
    }
    Ok(id)
}

/// A domain as `domain list`/`show` print it.
#[derive(Debug, Clone)]
pub struct DomainInfo {
    pub name: String,
    pub reseller: String,
    pub profile: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub contacts: Vec<(String, Contact)>,
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<DomainInfo>> {
    let mut stmt = conn.prepare("SELECT d.name FROM domains d ORDER BY d.name")?;
    let names: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        if let Some(info) = show(conn, &name)? {
            out.push(info);
        }
    }
    Ok(out)
}

pub fn show(conn: &Connection, name: &str) -> rusqlite::Result<Option<DomainInfo>> {
    let Ok(name) = normalize_domain(name) else {
        return Ok(None);
    };
    let row = conn
        .query_row(
            "SELECT d.id, d.name, r.username, p.username, d.created_at, d.expires_at \
             FROM domains d \
             JOIN resellers r ON r.id = d.reseller_id JOIN profiles p ON p.id = d.profile_id \
             WHERE d.name = ?1",
            params![name],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((id, name, reseller, profile, created_at, expires_at)) = row else {
        return Ok(None);
    };
    let mut stmt = conn.prepare(
        "SELECT role, first_name, last_name, org_name, email, phone FROM contacts \
         WHERE domain_id = ?1 ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 \
         WHEN 'billing' THEN 2 ELSE 3 END",
    )?;
    let contacts = stmt
        .query_map(params![id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Contact {
                    first_name: r.get(1)?,
                    last_name: r.get(2)?,
                    org_name: r.get(3)?,
                    email: r.get(4)?,
                    phone: r.get(5)?,
                },
            ))
        })?
        .collect::<Result<_, _>>()?;
    Ok(Some(DomainInfo {
        name,
        reseller,
        profile,
        created_at,
        expires_at,
        contacts,
    }))
}

/// What a reseller holds: its domains' names (sorted) and how many owner profiles.
pub fn held_by_reseller(
    conn: &Connection,
    reseller_id: i64,
) -> rusqlite::Result<(Vec<String>, i64)> {
    let mut stmt = conn.prepare("SELECT name FROM domains WHERE reseller_id = ?1 ORDER BY name")?;
    let domains = stmt
        .query_map(params![reseller_id], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    let profiles = conn.query_row(
        "SELECT count(*) FROM profiles WHERE reseller_id = ?1",
        params![reseller_id],
        |r| r.get(0),
    )?;
    Ok((domains, profiles))
}

/// Sets (or, with `None`, forgets) when a domain's registration expires. False when there is
/// no such domain.
pub fn set_expiry(
    conn: &Connection,
    name: &str,
    expires_at: Option<i64>,
) -> rusqlite::Result<bool> {
    let Ok(name) = normalize_domain(name) else {
        return Ok(false);
    };
    let changed = conn.execute(
        "UPDATE domains SET expires_at = ?2 WHERE name = ?1",
        params![name, expires_at],
    )?;
    Ok(changed > 0)
}

/// Removes a domain; a profile left without domains goes too (with its sub-user and cookies).
pub fn remove(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    let Ok(name) = normalize_domain(name) else {
        return Ok(false);
    };
    let profile: Option<i64> = conn
        .query_row(
            "SELECT profile_id FROM domains WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )
        .optional()?;
    let Some(profile) = profile else {
        return Ok(false);
    };
    conn.execute("DELETE FROM domains WHERE name = ?1", params![name])?;
    conn.execute(
        "DELETE FROM profiles WHERE id = ?1 AND NOT EXISTS \
         (SELECT 1 FROM domains WHERE profile_id = ?1)",
        params![profile],
    )?;
    Ok(true)
}

/// Splits CSV text into records of fields (RFC 4180: quoted fields, `""` escapes, CRLF or LF),
/// each with the line number it starts on.
pub fn parse_csv(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut records = Vec::new();
    let mut field = String::new();
    let mut record: Vec<String> = Vec::new();
    let mut line = 1;
    let mut start_line = 1;
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                if record.iter().any(|f| !f.is_empty()) {
                    records.push((start_line, std::mem::take(&mut record)));
                }
                record.clear();
                line += 1;
                start_line = line;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(format!("line {start_line}: unterminated quoted field"));
    }
    record.push(field);
    if record.iter().any(|f| !f.is_empty()) {
        records.push((start_line, record));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_follow_the_opensrs_rules() {
        let rules = XcpConfig::default();
        assert!(check_password("abcDEF123!", &rules).is_ok());
        assert!(check_password("short", &rules).is_err());
        assert!(check_password(&"a".repeat(21), &rules).is_err());
        assert!(check_password("abcdefghij k", &rules).is_err());
        assert!(check_password("abcdefghij%", &rules).is_err());
        let generated = generate_password(&rules);
        assert!(check_password(&generated, &rules).is_ok(), "{generated}");
    }

    #[test]
    fn domains_are_normalised() {
        assert_eq!(normalize_domain("Example.INFO.").unwrap(), "example.info");
        for bad in ["example", "-a.com", "a..com", "a b.com", "a_b.com", ""] {
            assert!(normalize_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn csv_records_with_quotes_and_lines() {
        let text = "domain,profile\r\n\"a.com\",\"x, \"\"y\"\"\"\n\nb.com,\"multi\nline\"\nc.com,z";
        let records = parse_csv(text).unwrap();
        assert_eq!(records[0], (1, vec!["domain".into(), "profile".into()]));
        assert_eq!(records[1], (2, vec!["a.com".into(), "x, \"y\"".into()]));
        assert_eq!(records[2], (4, vec!["b.com".into(), "multi\nline".into()]));
        assert_eq!(records[3], (6, vec!["c.com".into(), "z".into()]));
        assert!(parse_csv("a,\"open").is_err());
    }
}
