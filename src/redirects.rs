//! Old URLs of imported weblogs: the `redirects` table. A PyCS alias (`/alice/…`) or a
//! Virtuoso weblog folder (`/DAV/alice@example.com/blog/…`) answers 301 to the same file under
//! the user's `/users/NNNNNNN/` folder, so links published years ago keep working.

use rusqlite::{Connection, OptionalExtension, params};

use crate::accounts;

/// The most path segments a prefix has (`DAV/<email>/blog`).
const MAX_PREFIX_SEGMENTS: usize = 3;

/// What [`add`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    New,
    /// The prefix already leads to this user.
    Unchanged,
    /// The prefix leads to another user (their usernum); nothing was changed.
    Taken(i64),
}

/// Whether `prefix` can be a redirect: one to three non-empty segments, none of them `.` or
/// `..`, and not the start of a path passlink serves itself.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    let segments: Vec<&str> = prefix.split('/').collect();
    if prefix.is_empty() || segments.len() > MAX_PREFIX_SEGMENTS {
        return Err(format!(
            "{prefix:?} is not an old folder path (1 to {MAX_PREFIX_SEGMENTS} segments)"
        ));
    }
    if segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == ".." || s.chars().any(char::is_control))
    {
        return Err(format!(
            "{prefix:?} has an empty, \".\", \"..\" or control-character segment"
        ));
    }
    // passlink's own paths, and the names other software looks up at a site's root (ACME's
    // /.well-known/, robots.txt, favicon.ico): an alias must never answer for them.
    const OWN: [&str; 10] = [
        "users",
        "reset",
        "xmlStorageSystem",
        "weblogUpdates",
        "initialResources",
        "healthz",
        "metrics",
        "robots.txt",
        "favicon.ico",
        "sitemap.xml",
    ];
    let first = segments[0];
    if OWN.iter().any(|own| first.eq_ignore_ascii_case(own))
        || first.starts_with('.')
        // `/RPC2…` in any case is XML-RPC's (the route matches the prefix).
        || first.len() >= 4 && first[..4].eq_ignore_ascii_case("rpc2")
    {
        return Err(format!(
            "{prefix:?} would hide passlink's own /{}/ paths",
            segments[0]
        ));
    }
    Ok(())
}

/// Adds a redirect from `prefix` to `user_id`'s folder, unless the prefix is taken.
pub fn add(conn: &Connection, prefix: &str, user_id: i64, now: i64) -> rusqlite::Result<Added> {
    let existing: Option<i64> = conn
        .prepare_cached("SELECT user_id FROM redirects WHERE prefix = ?1")?
        .query_row(params![prefix], |r| r.get(0))
        .optional()?;
    Ok(match existing {
        Some(id) if id == user_id => Added::Unchanged,
        Some(id) => Added::Taken(id),
        None => {
            conn.prepare_cached(
                "INSERT INTO redirects (prefix, user_id, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![prefix, user_id, now])?;
            Added::New
        }
    })
}

/// Whether `prefix` already leads to some user, and which.
pub fn owner(conn: &Connection, prefix: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT user_id FROM redirects WHERE prefix = ?1")?
        .query_row(params![prefix], |r| r.get(0))
        .optional()
}

/// Every redirect to `user_id`'s folder.
pub fn for_user(conn: &Connection, user_id: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT prefix FROM redirects WHERE user_id = ?1 ORDER BY prefix")?;
    let rows = stmt.query_map(params![user_id], |r| r.get(0))?;
    rows.collect()
}

/// Where an old URL's file now is: `/users/NNNNNNN/<rest>` (the rest as the request spelt it),
/// or `None` when no redirect covers the path or its user is disabled. The longest matching
/// prefix wins.
pub fn resolve(conn: &Connection, request_path: &str) -> rusqlite::Result<Option<String>> {
    let Some(raw) = request_path.strip_prefix('/') else {
        return Ok(None);
    };
    let raw_segments: Vec<&str> = raw.splitn(MAX_PREFIX_SEGMENTS + 1, '/').collect();
    let mut decoded = Vec::with_capacity(MAX_PREFIX_SEGMENTS);
    for segment in raw_segments.iter().take(MAX_PREFIX_SEGMENTS) {
        match crate::files::percent_decode(segment) {
            Some(segment) if !segment.is_empty() => decoded.push(segment),
            _ => break,
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT r.user_id FROM redirects r JOIN users u ON u.id = r.user_id \
         WHERE r.prefix = ?1 AND u.disabled = 0",
    )?;
    for count in (1..=decoded.len()).rev() {
        let prefix = decoded[..count].join("/");
        let Some(user_id) = stmt
            .query_row(params![prefix], |r| r.get::<_, i64>(0))
            .optional()?
        else {
            continue;
        };
        let rest = raw_segments
            .get(count..)
            .map_or(String::new(), |rest| as_utf8_url(&rest.join("/")));
        return Ok(Some(format!(
            "/users/{}/{rest}",
            accounts::format_usernum(user_id)
        )));
    }
    Ok(None)
}

/// The rest of an old URL as passlink spells it. Virtuoso kept names in ISO-8859-1 and
/// published `café.html` as `caf%E9.html`; the import stored the name as UTF-8, which
/// passlink's URL spells `caf%C3%A9.html`. An escape sequence that is not UTF-8 is read as
/// Latin-1 and written again; anything else is left as the client sent it.
fn as_utf8_url(rest: &str) -> String {
    let Some(bytes) = crate::files::percent_decode_bytes(rest) else {
        return rest.to_string();
    };
    if std::str::from_utf8(&bytes).is_ok() {
        return rest.to_string();
    }
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    let mut url = String::with_capacity(rest.len() * 2);
    crate::files::push_url_path(&mut url, &text);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        for (id, email, disabled) in [(7, "a@example.com", 0), (9, "b@example.com", 1)] {
            conn.execute(
                "INSERT INTO users (id, email, email_key, name, password_hash, disabled, \
                 created_at) VALUES (?1, ?2, ?2, '', 'x', ?3, 0)",
                params![id, email, disabled],
            )
            .unwrap();
        }
        conn
    }

    #[test]
    fn an_alias_and_a_dav_folder_lead_to_the_users_folder() {
        let conn = db();
        assert_eq!(add(&conn, "alice", 7, 0).unwrap(), Added::New);
        assert_eq!(add(&conn, "alice", 7, 0).unwrap(), Added::Unchanged);
        assert_eq!(add(&conn, "alice", 9, 0).unwrap(), Added::Taken(7));
        add(&conn, "DAV/a@example.com/blog", 7, 0).unwrap();
        let at = |path: &str| resolve(&conn, path).unwrap();
        assert_eq!(
            at("/alice/a/b%20c.html").as_deref(),
            Some("/users/0000007/a/b%20c.html")
        );
        assert_eq!(at("/alice").as_deref(), Some("/users/0000007/"));
        assert_eq!(at("/alice/").as_deref(), Some("/users/0000007/"));
        assert_eq!(
            at("/DAV/a%40example.com/blog/x/y.txt").as_deref(),
            Some("/users/0000007/x/y.txt")
        );
        assert_eq!(
            at("/DAV/a@example.com/blog/").as_deref(),
            Some("/users/0000007/")
        );
        assert_eq!(at("/DAV/a@example.com/other/x"), None);
        // Virtuoso's Latin-1 spelling of a name leads to passlink's UTF-8 one.
        assert_eq!(
            at("/DAV/a@example.com/blog/caf%E9.html").as_deref(),
            Some("/users/0000007/caf%C3%A9.html")
        );
        assert_eq!(
            at("/alice/caf%C3%A9.html").as_deref(),
            Some("/users/0000007/caf%C3%A9.html")
        );
        assert_eq!(at("/alicex/x"), None);
        assert_eq!(at("/%zz/x"), None);
        assert_eq!(at(""), None);
    }

    #[test]
    fn a_disabled_users_redirect_is_not_followed() {
        let conn = db();
        add(&conn, "bob", 9, 0).unwrap();
        assert_eq!(resolve(&conn, "/bob/x").unwrap(), None);
    }

    #[test]
    fn prefixes_that_would_hide_passlinks_own_paths_are_refused() {
        assert!(check_prefix("alice").is_ok());
        assert!(check_prefix("DAV/a@example.com/blog").is_ok());
        for bad in [
            "",
            "users",
            "Reset",
            "a/../b",
            "a//b",
            "a/b/c/d",
            "rpc2",
            "RPC2blog",
            ".well-known",
            "robots.txt",
        ] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
    }
}
