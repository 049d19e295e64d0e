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

/// Why a new password was refused, as a value: the protocols and the operator's commands show
/// it in English ([`fmt::Display`]), the reset page in the user's language.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// An xmlStorageSystem password outside 8 to 128 characters (`has` of them).
    WeblogLength { has: usize },
    /// An xmlStorageSystem password with a character outside printable ASCII.
    WeblogCharacters,
    /// An OpenSRS password outside the configured lengths.
    DomainLength { min: usize, max: usize },
    /// An OpenSRS password with a character OpenSRS does not allow.
    DomainCharacter { bad: char, allowed: &'static str },
    /// On the operator's blocklist.
    Blocklisted,
    /// zxcvbn's score under the minimum, with its advice.
    TooEasy {
        score: u8,
        min: u8,
        warning: Option<zxcvbn::feedback::Warning>,
        suggestions: Vec<zxcvbn::feedback::Suggestion>,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::WeblogLength { has } => write!(
                f,
                "the password must be 8 to 128 characters long (it has {has})"
            ),
            Refusal::WeblogCharacters => {
                f.write_str("the password may only contain printable ASCII characters")
            }
            Refusal::DomainLength { min, max } => {
                write!(f, "the password must be {min} to {max} characters long")
            }
            Refusal::DomainCharacter { bad, allowed } => write!(
                f,
                "the password may not contain {bad:?}; allowed are A-Z, a-z, 0-9 and {allowed}"
            ),
            Refusal::Blocklisted => f.write_str(
                "this password is on the list of breached or forbidden passwords: choose another",
            ),
            Refusal::TooEasy {
                score,
                min,
                warning,
                suggestions,
            } => {
                let mut why = format!(
                    "this password is too easy to guess (strength {score} of 4; at least {min} \
                     is needed)"
                );
                match warning {
                    Some(warning) => why.push_str(&format!(": {warning}")),
                    None => why.push('.'),
                }
                for suggestion in suggestions {
                    why.push_str(&format!(" {suggestion}"));
                }
                if !why.ends_with('.') {
                    why.push('.');
                }
                f.write_str(&why)
            }
        }
    }
}
