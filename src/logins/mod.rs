//! What a login is: an xmlStorageSystem user, an XCP domain profile or a profile's sub-user.
//! [`Login`] names one; [`passwords`] knows, for each kind, its password policy, the credential
//! its clients send, and how a new password is set (and its sessions ended). The reset page and
//! the XCP commands go through it, so neither reaches into the other's tables, and a new kind
//! of login is added here.

pub mod blocklist;
pub mod passwords;
pub mod strength;
pub mod throttle;

use std::fmt;

/// A login: an account whose password passlink keeps, in any protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Login {
    /// An xmlStorageSystem user (`users.id`).
    XssUser(i64),
    /// A domain owner's management profile (`profiles.id`).
    Profile(i64),
    /// A profile's sub-user (`subusers.id`).
    SubUser(i64),
}

impl Login {
    /// Its kind as stored beside its id (`reset_tokens.login_kind`).
    pub fn kind(self) -> &'static str {
        match self {
            Login::XssUser(_) => "user",
            Login::Profile(_) => "profile",
            Login::SubUser(_) => "subuser",
        }
    }

    /// Its row id in its own table.
    pub fn id(self) -> i64 {
        match self {
            Login::XssUser(id) | Login::Profile(id) | Login::SubUser(id) => id,
        }
    }

    /// The login a stored kind and id name.
    pub fn from_kind(kind: &str, id: i64) -> Option<Login> {
        match kind {
            "user" => Some(Login::XssUser(id)),
            "profile" => Some(Login::Profile(id)),
            "subuser" => Some(Login::SubUser(id)),
            _ => None,
        }
    }
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
