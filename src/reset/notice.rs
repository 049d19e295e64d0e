//! The "your password was changed" notice (OWASP's Forgot Password cheat sheet: tell the owner
//! after every change). After a change by any way (a reset link, XCP `change password` or a
//! sub-user's new password, `passlink user set-password`), the addresses the login's reset
//! links go to get a mail saying what changed, when, by which way and from which address, with
//! a "this wasn't me" link (single use, 7 days): using it locks the login and mails a fresh
//! reset link to the same addresses (`endpoints::reset`). The link is a token of its own
//! purpose, so newer reset links and later changes do not void it. The lock itself sends no
//! notice.

use rusqlite::Connection;

use super::audience::{self, Audience, Site};
use super::templates::{By, Kind, Mail, Mails, Method};
use super::tokens::{NewToken, Purpose};
use crate::logins::Login;
use crate::xcp::profiles;
use crate::{accounts, mail};

/// How long a "this wasn't me" link works.
pub const NOT_ME_TTL_SECS: i64 = 7 * 86_400;

/// A password change, as the notice tells it.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub login: Login,
    /// The account as the mails and pages name it.
    pub account: &'a str,
    /// By which way.
    pub method: Method,
    /// The client, by its address, or the operator.
    pub by: By<'a>,
    /// The domain an XCP request named, which the mail names.
    pub domain: Option<&'a str>,
}

/// Where the login's reset links go: the user's address; for a domain profile or sub-user,
/// the owner and admin contacts of the profile's domains.
pub fn recipients(conn: &Connection, login: Login) -> rusqlite::Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    match login {
        Login::XssUser(id) => {
            if let Some(user) = accounts::find(conn, id)? {
                out.push(user.email);
            }
        }
        Login::Profile(_) | Login::SubUser(_) => {
            let Some(account) = profiles::account(conn, login)? else {
                return Ok(out);
            };
            for domain in profiles::domains_of_profile(conn, account.profile_id)? {
                for role in ["owner", "admin"] {
                    if let Some(contact) = profiles::contact(conn, domain.id, role)? {
                        let email = contact.email.trim().to_string();
                        if email.contains('@')
                            && !out.iter().any(|e| e.eq_ignore_ascii_case(&email))
                        {
                            out.push(email);
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Queues the notice for `change` in the caller's transaction (the one that changed the
/// password): one "this wasn't me" link, one mail to each of the login's addresses. Returns
/// how many mails were queued.
pub fn queue(
    conn: &Connection,
    change: &Change<'_>,
    mails: &Mails,
    site: &Site,
    now: i64,
) -> rusqlite::Result<usize> {
    let recipients = recipients(conn, change.login)?;
    if recipients.is_empty() {
        return Ok(0);
    }
    let expires_at = now.saturating_add(NOT_ME_TTL_SECS);
    let audience = audience::for_mail(conn, change.login, change.domain, site)?
        .unwrap_or_else(|| Audience::fallback(change.login, change.account, site));
    let token = NewToken {
        login: change.login,
        account: change.account,
        expires_at,
        requester: "notice",
        purpose: Purpose::NotMe,
        language: audience.language,
        domain: change.domain,
    }
    .insert(conn, now)?;
    let link = format!("{}/reset/{token}", site.url);
    for recipient in &recipients {
        let message = mails.render(&Mail {
            kind: Kind::Changed,
            audience: &audience,
            recipient,
            link: &link,
            expires_at,
            by: change.by,
            changed: Some((now, change.method)),
        });
        mail::enqueue(conn, &message, now)?;
    }
    Ok(recipients.len())
}
