//! Password reset links: the one way passlink answers "mail my password", since it keeps only
//! hashes.
//!
//! The entry points (`xmlStorageSystem.mailPasswordToUser`, XCP `send_password`) and the
//! password changes that must void outstanding links talk to [`ResetLinks`]. The reset-link
//! issue fills it with tokens, the reset page and the mail outbox; until then
//! [`LogOnly`] accepts requests and records them in the log, so everything up to this
//! interface works and is tested.

use std::fmt;
use std::net::IpAddr;

use rusqlite::Connection;

/// Whose password a link resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Login {
    /// An xmlStorageSystem user (`users.id`).
    XssUser(i64),
    /// A domain owner's management profile (`profiles.id`).
    Profile(i64),
    /// A profile's sub-user (`subusers.id`).
    SubUser(i64),
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Login::XssUser(id) => write!(f, "user {id}"),
            Login::Profile(id) => write!(f, "profile {id}"),
            Login::SubUser(id) => write!(f, "sub-user {id}"),
        }
    }
}

/// A request for a link.
#[derive(Debug, Clone)]
pub struct LinkRequest<'a> {
    pub login: Login,
    /// The account's name as the page shows it ("profile alice for example.com").
    pub account: &'a str,
    /// Where the link goes. Never logged.
    pub email: &'a str,
    /// The address the request came from, for rate limits and the record.
    pub requester: IpAddr,
}

#[derive(Debug)]
pub enum ResetError {
    /// Too many requests for this login or from this address; try later.
    RateLimited,
    Db(rusqlite::Error),
}

impl fmt::Display for ResetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResetError::RateLimited => f.write_str("too many reset requests; try again later"),
            ResetError::Db(e) => write!(f, "database error: {e}"),
        }
    }
}

impl std::error::Error for ResetError {}

impl From<rusqlite::Error> for ResetError {
    fn from(e: rusqlite::Error) -> Self {
        ResetError::Db(e)
    }
}

/// The reset-link service as its callers see it. Both calls run on the caller's database
/// connection, so a caller that changes a password can void the links in the same
/// transaction.
pub trait ResetLinks: Send + Sync {
    /// Issues a link for `request.login` and queues the mail to `request.email`. Returns once
    /// the request is durable.
    fn send(&self, conn: &Connection, request: &LinkRequest<'_>) -> Result<(), ResetError>;

    /// Voids every outstanding link for `login` (its password just changed, or it is gone).
    fn invalidate(&self, conn: &Connection, login: Login) -> Result<(), ResetError>;
}

/// Stand-in until reset links exist: a request is accepted and logged (without the address
/// it would go to), and there are no links to void.
#[derive(Debug, Default)]
pub struct LogOnly;

impl ResetLinks for LogOnly {
    fn send(&self, _conn: &Connection, request: &LinkRequest<'_>) -> Result<(), ResetError> {
        log::info!(
            "reset link requested for {} ({}) from {}; mailing links is not built yet",
            request.login,
            crate::logging::sanitize(request.account, 200),
            request.requester
        );
        Ok(())
    }

    fn invalidate(&self, _conn: &Connection, _login: Login) -> Result<(), ResetError> {
        Ok(())
    }
}
