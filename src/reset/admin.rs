//! The operator's view of reset links: the pending ones (`passlink reset list`) and ending them
//! (`passlink reset revoke`). Issuing one is [`super::issue_in`].
//!
//! A link is named by its row's `rowid`. The table's key is the token's hash, which must never
//! be shown, and passlink never runs VACUUM (the one thing that renumbers rowids of a table
//! without an `INTEGER PRIMARY KEY`), so the rowid is a stable handle for as long as the row
//! lives. Nothing here reads or returns the hash, the token or the anti-CSRF value.

use rusqlite::{Connection, OptionalExtension, params};

use crate::logins::Login;

/// A link that still works: not used, not voided, not expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The row's rowid, the handle `revoke` takes.
    pub id: i64,
    pub login: Login,
    /// The account as the page and the mail name it.
    pub account: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// The client address the request came from, or "admin" / "import" for links the operator
    /// issued.
    pub requested_by: String,
}

/// The result of revoking one link by its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// It was pending and is ended now.
    Ended(Pending),
    /// The row exists but no longer works: used, voided by a newer link, or expired.
    NotPending,
    /// No such row (never was, or purged since it ended).
    Unknown,
}

/// Whether `account` contains `filter`, ignoring case. Done in Rust rather than with SQL's
/// `LIKE`, whose case folding stops at ASCII (accounts are email addresses and domain names,
/// and an operator types them in any case).
pub fn account_matches(account: &str, filter: &str) -> bool {
    account.to_lowercase().contains(&filter.to_lowercase())
}

/// The pending links, oldest first, optionally only those whose account contains `filter`.
pub fn pending(
    conn: &Connection,
    filter: Option<&str>,
    now: i64,
) -> rusqlite::Result<Vec<Pending>> {
    // Few rows: links expire within `ttl_secs` and housekeeping deletes ended ones, so the
    // substring filter runs over a handful of rows in Rust.
    let mut stmt = conn.prepare(
        "SELECT rowid, login_kind, login_id, account, created_at, expires_at, requester_ip \
         FROM reset_tokens WHERE ended_at IS NULL AND expires_at > ?1 AND purpose = 'reset' \
         ORDER BY created_at, rowid",
    )?;
    let rows = stmt.query_map(params![now], pending_row)?;
    let mut out = Vec::new();
    for row in rows {
        let row = row?;
        if filter.is_none_or(|f| account_matches(&row.account, f)) {
            out.push(row);
        }
    }
    Ok(out)
}

fn pending_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Pending> {
    let id: i64 = r.get(0)?;
    let kind: String = r.get(1)?;
    let login_id: i64 = r.get(2)?;
    // The schema's CHECK allows only the kinds `Login` knows; a row that breaks it is damage,
    // reported with its id rather than skipped.
    let login = Login::from_kind(&kind, login_id).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            1,
            rusqlite::types::Type::Text,
            format!("reset_tokens row {id}: unknown login kind {kind:?}").into(),
        )
    })?;
    Ok(Pending {
        id,
        login,
        account: r.get(3)?,
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
        requested_by: r.get(6)?,
    })
}

/// Ends the link `id` if it is pending. Run it in a write transaction, so that what is
/// reported is what was ended.
pub fn revoke(conn: &Connection, id: i64, now: i64) -> rusqlite::Result<Revoked> {
    let row = conn
        .prepare(
            "SELECT rowid, login_kind, login_id, account, created_at, expires_at, requester_ip \
             FROM reset_tokens WHERE rowid = ?1 AND ended_at IS NULL AND expires_at > ?2",
        )?
        .query_row(params![id, now], pending_row)
        .optional()?;
    if let Some(link) = row {
        end(conn, link.id, now)?;
        return Ok(Revoked::Ended(link));
    }
    let exists = conn
        .query_row(
            "SELECT 1 FROM reset_tokens WHERE rowid = ?1",
            params![id],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    Ok(if exists {
        Revoked::NotPending
    } else {
        Revoked::Unknown
    })
}

/// Ends every pending link whose account contains `filter` (ignoring case) and returns them.
/// Run it in a write transaction, so that the list and the update see the same rows.
pub fn revoke_matching(
    conn: &Connection,
    filter: &str,
    now: i64,
) -> rusqlite::Result<Vec<Pending>> {
    let found = pending(conn, Some(filter), now)?;
    for link in &found {
        end(conn, link.id, now)?;
    }
    Ok(found)
}

fn end(conn: &Connection, id: i64, now: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE reset_tokens SET ended_at = ?2 WHERE rowid = ?1 AND ended_at IS NULL",
        params![id, now],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reset::{find_token, issue_in};

    const NOW: i64 = 1_700_000_000;

    fn issue(conn: &Connection, login: Login, account: &str, by: &str) -> String {
        let link = crate::reset::Issue {
            login,
            account,
            expires_at: NOW + 1800,
            requester: by,
            language: None,
            domain: None,
        };
        issue_in(conn, &link, NOW).unwrap()
    }

    #[test]
    fn pending_links_are_listed_without_secrets_and_filtered_by_account() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        issue(
            &conn,
            Login::XssUser(1),
            "Ann@Example.org (user 1)",
            "admin",
        );
        issue(
            &conn,
            Login::Profile(2),
            "profile bob for example.info",
            "192.0.2.7",
        );
        // Voided by the newer link for the same login: not pending.
        issue(
            &conn,
            Login::SubUser(3),
            "sub-user cy for example.info",
            "import",
        );
        issue(
            &conn,
            Login::SubUser(3),
            "sub-user cy for example.info",
            "admin",
        );

        let all = pending(&conn, None, NOW).unwrap();
        let logins: Vec<Login> = all.iter().map(|p| p.login).collect();
        assert_eq!(
            logins,
            [Login::XssUser(1), Login::Profile(2), Login::SubUser(3)]
        );
        assert_eq!(all[0].requested_by, "admin");
        assert_eq!(all[1].requested_by, "192.0.2.7");
        assert_eq!(all[0].expires_at, NOW + 1800);
        assert_eq!(all[0].created_at, NOW);

        // Case-insensitive substring of the account text.
        let ann = pending(&conn, Some("ann@EXAMPLE"), NOW).unwrap();
        assert_eq!(ann.len(), 1);
        assert_eq!(ann[0].login, Login::XssUser(1));
        assert_eq!(pending(&conn, Some("EXAMPLE.INFO"), NOW).unwrap().len(), 2);
        assert!(pending(&conn, Some("nobody"), NOW).unwrap().is_empty());
        // Expired links are not pending.
        assert!(pending(&conn, None, NOW + 1800).unwrap().is_empty());
    }

    #[test]
    fn revoking_by_id_ends_exactly_that_link() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let ann = issue(&conn, Login::XssUser(1), "ann", "admin");
        let bob = issue(&conn, Login::XssUser(2), "bob", "admin");
        let id = pending(&conn, Some("ann"), NOW).unwrap()[0].id;

        match revoke(&conn, id, NOW + 5).unwrap() {
            Revoked::Ended(link) => {
                assert_eq!(link.id, id);
                assert_eq!(link.login, Login::XssUser(1));
            }
            other => panic!("{other:?}"),
        }
        let row = find_token(&conn, &ann).unwrap().unwrap();
        assert_eq!(row.ended_at, Some(NOW + 5));
        assert!(!row.usable(NOW + 5));
        assert!(find_token(&conn, &bob).unwrap().unwrap().usable(NOW + 5));
        // A second revoke finds it ended; an id that never was is unknown.
        assert_eq!(revoke(&conn, id, NOW + 6).unwrap(), Revoked::NotPending);
        assert_eq!(revoke(&conn, 9999, NOW + 6).unwrap(), Revoked::Unknown);
    }

    #[test]
    fn an_expired_link_is_not_pending_and_is_left_as_it_is() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let token = issue(&conn, Login::XssUser(1), "ann", "admin");
        let id = pending(&conn, None, NOW).unwrap()[0].id;
        assert_eq!(revoke(&conn, id, NOW + 1800).unwrap(), Revoked::NotPending);
        assert_eq!(find_token(&conn, &token).unwrap().unwrap().ended_at, None);
    }

    #[test]
    fn revoking_by_account_ends_every_match_and_nothing_else() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let a = issue(
            &conn,
            Login::Profile(1),
            "profile a for example.info",
            "admin",
        );
        let b = issue(
            &conn,
            Login::SubUser(1),
            "sub-user b for EXAMPLE.info",
            "10.0.0.1",
        );
        let c = issue(
            &conn,
            Login::Profile(2),
            "profile c for example.org",
            "admin",
        );
        let ended = revoke_matching(&conn, "Example.Info", NOW + 1).unwrap();
        let logins: Vec<Login> = ended.iter().map(|p| p.login).collect();
        assert_eq!(logins, [Login::Profile(1), Login::SubUser(1)]);
        for token in [&a, &b] {
            assert!(!find_token(&conn, token).unwrap().unwrap().usable(NOW + 1));
        }
        assert!(find_token(&conn, &c).unwrap().unwrap().usable(NOW + 1));
        assert!(
            revoke_matching(&conn, "example.info", NOW + 2)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn the_listing_holds_no_token() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let token = issue(&conn, Login::XssUser(1), "ann", "admin");
        let shown = format!("{:?}", pending(&conn, None, NOW).unwrap());
        assert!(!shown.contains(&token), "{shown}");
        assert!(!shown.contains(&crate::hex::hex(&crate::reset::token_hash(&token))));
    }
}
