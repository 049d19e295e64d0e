//! Tokens as links carry them and as they are stored: 32 random bytes, only their SHA-256 in
//! the database, with what the token is for.

use base64::Engine as _;
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};

use crate::logins::Login;

/// A reset token as the link carries it: 32 random bytes, base64url without padding.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token.
pub(super) fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A reset link: its page sets a new password.
    Reset,
    /// The "this wasn't me" link of a password-changed notice: its page locks the login and
    /// mails a fresh reset link ([`notice`]).
    NotMe,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Reset => "reset",
            Purpose::NotMe => "not_me",
        }
    }
}

/// Stores a new token of `purpose` and returns it.
pub(super) fn insert_token(
    conn: &Connection,
    login: Login,
    account: &str,
    expires_at: i64,
    now: i64,
    requester: &str,
    purpose: Purpose,
) -> rusqlite::Result<String> {
    let token = new_token();
    let mut csrf = [0u8; 16];
    rand::fill(&mut csrf);
    conn.prepare_cached(
        "INSERT INTO reset_tokens (token_hash, login_kind, login_id, account, csrf, \
         requester_ip, created_at, expires_at, purpose) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        token_hash(&token).as_slice(),
        login.kind(),
        login.id(),
        account,
        csrf.as_slice(),
        requester,
        now,
        expires_at,
        purpose.as_str()
    ])?;
    Ok(token)
}
