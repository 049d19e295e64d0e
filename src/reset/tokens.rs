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

/// A token's row, besides the token itself.
pub(super) struct NewToken<'a> {
    pub login: Login,
    pub account: &'a str,
    pub expires_at: i64,
    /// The client address, or who else asked ("admin", "import", "notice").
    pub requester: &'a str,
    pub purpose: Purpose,
    /// The mail's language, when the login or its reseller chose it: the page opens in it.
    pub language: Option<crate::i18n::Lang>,
    /// The domain an XCP request named.
    pub domain: Option<&'a str>,
}

impl NewToken<'_> {
    /// Stores a new token and returns it.
    pub(super) fn insert(&self, conn: &Connection, now: i64) -> rusqlite::Result<String> {
        let token = new_token();
        self.store(conn, &token, now)?;
        Ok(token)
    }

    /// Stores `token` (its hash only) with a fresh anti-CSRF value, for a caller that made the
    /// token beforehand (to write it into a mail outside the transaction).
    pub(super) fn store(&self, conn: &Connection, token: &str, now: i64) -> rusqlite::Result<()> {
        let mut csrf = [0u8; 16];
        rand::fill(&mut csrf);
        conn.prepare_cached(
            "INSERT INTO reset_tokens (token_hash, login_kind, login_id, account, csrf, \
             requester_ip, created_at, expires_at, purpose, language, domain) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            token_hash(token).as_slice(),
            self.login.kind(),
            self.login.id(),
            self.account,
            csrf.as_slice(),
            self.requester,
            now,
            self.expires_at,
            self.purpose.as_str(),
            self.language.map(crate::i18n::Lang::tag),
            self.domain
        ])?;
        Ok(())
    }
}
