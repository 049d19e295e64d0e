//! Passwords, per kind of login: the policy a new one must meet (and the text that says it),
//! the credential that is hashed (xmlStorageSystem clients send the MD5 hex of the password;
//! XCP sends the password), setting the new hash, and ending the sessions of the old one.

use rusqlite::Connection;

use super::Login;
use crate::accounts;
use crate::config::XcpConfig;
use crate::hex::md5_hex;
use crate::xcp::{cookies, domains, profiles};

/// Whether `password` meets the login's policy; the reason, in lower case, if not.
pub fn check(login: Login, password: &str, xcp: &XcpConfig) -> Result<(), String> {
    rule(login, password, xcp).map_err(|r| r.to_string())
}

/// [`check`], with the reason as a value.
pub fn rule(login: Login, password: &str, xcp: &XcpConfig) -> Result<(), super::Refusal> {
    match login {
        Login::XssUser(_) => accounts::password_rule(password),
        Login::Profile(_) | Login::SubUser(_) => domains::password_rule(password, xcp),
    }
}

/// What is hashed and stored for `password`: what the login's clients send.
pub fn credential(login: Login, password: &str) -> String {
    match login {
        Login::XssUser(_) => md5_hex(password.as_bytes()),
        Login::Profile(_) | Login::SubUser(_) => password.to_string(),
    }
}

/// Stores `hash` as the login's password and ends the sessions opened with the old one.
/// `false` if the login no longer exists.
pub fn set_hash(conn: &Connection, login: Login, hash: &str) -> rusqlite::Result<bool> {
    let updated = match login {
        Login::XssUser(id) => accounts::set_password_hash(conn, id, hash)?,
        Login::Profile(_) | Login::SubUser(_) => profiles::set_password_hash(conn, login, hash)?,
    };
    end_sessions(conn, login)?;
    Ok(updated)
}

/// Ends the sessions a login holds: XCP cookies. (xmlStorageSystem clients hold none: they
/// send the credential with every call.)
pub fn end_sessions(conn: &Connection, login: Login) -> rusqlite::Result<()> {
    match login {
        Login::XssUser(_) => {}
        Login::Profile(_) | Login::SubUser(_) => {
            cookies::delete_for_login(conn, login)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_own_rule_and_credential() {
        let xcp = XcpConfig::default();
        let user = Login::XssUser(1);
        let profile = Login::Profile(1);
        assert!(
            check(user, "a b c d e", &xcp).is_ok(),
            "spaces are printable ASCII"
        );
        assert!(
            check(profile, "a b c d e", &xcp).is_err(),
            "OpenSRS has no spaces"
        );
        assert!(check(user, "short", &xcp).is_err());
        assert_eq!(credential(user, "asdf"), "912ec803b2ce49e4a541068d495ab570");
        assert_eq!(credential(profile, "asdf"), "asdf");
    }
}
