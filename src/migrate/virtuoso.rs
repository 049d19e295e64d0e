//! OpenLink Virtuoso's ODS weblog: the export `packaging/migrate/virtuoso-export` writes, a
//! `users.csv` (`email,name,password,quota`) and a folder per user, `<email>/<path>`, holding
//! the files of `/DAV/<email>/blog/`.
//!
//! Virtuoso kept passwords reversibly, so the export has them in plain text. Each becomes
//! `argon2id(md5hex(password))`, what passlink would have stored at registration, and the
//! plain text goes no further: not into the database, a log line or the report. Because
//! Virtuoso mailed passwords in plain text, `--force-reset` imports every account without a
//! usable password instead and mails each user a link to choose one.

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc::SyncSender;

use super::table::Table;
use super::{Mailing, MigrateError, Read, Refused, SourceUser, email_digest};
use crate::audit;
use crate::logins::Login;
use crate::mail;
use crate::reset::{self, Audience, Mails, Site, templates};
use crate::{accounts, clock, redirects};

pub const REQUIRED: [&str; 3] = ["email", "name", "password"];

/// Where Virtuoso served a user's weblog: `/DAV/<email>/blog/`.
pub fn dav_prefix(email: &str) -> String {
    format!("DAV/{email}/blog")
}

/// Reads the export and hands each user on. `files` is the export's folder of user folders.
pub fn read(
    users_csv: &Path,
    files: &Path,
    force_reset: bool,
    out: &SyncSender<Read>,
) -> Result<(), MigrateError> {
    let mut table = Table::open(users_csv)?;
    let required = table.require(&REQUIRED)?;
    let (email_col, name_col, password_col) = (required[0], required[1], required[2]);
    let quota_col = table.column("quota");
    let path = table.path().to_path_buf();
    let mut emails: HashMap<[u8; 16], u64> = HashMap::new();
    while let Some(row) = table.next_row() {
        let row = row?;
        let at = format!("{}:{}", path.display(), row.line);
        if !row.latin1.is_empty() {
            let _ = out.send(Read::Warning(format!(
                "{at}: {} not UTF-8; read as Latin-1",
                row.latin1.join(", ")
            )));
        }
        let email = row.get(Some(email_col)).to_string();
        let refuse = |why: String| {
            Read::Refused(Refused {
                at: at.clone(),
                what: if email.is_empty() {
                    "a user".into()
                } else {
                    email.clone()
                },
                why,
            })
        };
        if !email.contains('@') || email.contains('/') {
            let _ = out.send(refuse(format!("email {email:?} is not an address")));
            continue;
        }
        let key = email_digest(&email);
        if let Some(first) = emails.get(&key) {
            let _ = out.send(refuse(format!(
                "the email is already used on line {first}; the first is kept"
            )));
            continue;
        }
        emails.insert(key, row.line);
        let prefix = dav_prefix(&email);
        if let Err(why) = redirects::check_prefix(&prefix) {
            let _ = out.send(refuse(why));
            continue;
        }
        let quota_text = row.get(quota_col);
        let quota = if quota_text.is_empty() {
            None
        } else {
            match quota_text.parse::<u64>() {
                Ok(q) => Some(q),
                Err(_) => {
                    let _ = out.send(Read::Warning(format!(
                        "{at}: quota {quota_text:?} is not a number of bytes; ignored"
                    )));
                    None
                }
            }
        };
        // Not trimmed: a password may begin or end with a space.
        let password = row.fields.get(password_col).map_or("", String::as_str);
        let (credential, no_password) = if force_reset {
            (
                None,
                Some("--force-reset: mailed a link to choose a password".to_string()),
            )
        } else if password.is_empty() {
            (None, Some("no password in the export".to_string()))
        } else {
            (Some(client_credential(password)), None)
        };
        let user = SourceUser {
            at: at.clone(),
            usernum: None,
            files: Some(files.join(&email)),
            email,
            name: row.get(Some(name_col)).to_string(),
            credential,
            no_password,
            disabled: false,
            weblog_title: String::new(),
            created_at: None,
            redirects: vec![prefix],
            quota,
        };
        let _ = out.send(Read::User(Box::new(user)));
    }
    Ok(())
}

/// The MD5 hex a client sent Virtuoso for `password`. Virtuoso keeps text in ISO-8859-1 and
/// compares the MD5 of those bytes, so that is what its users' clients were sending; a
/// password with a character outside Latin-1 (stored by Virtuoso as `?`) is hashed as UTF-8.
fn client_credential(password: &str) -> String {
    let latin1: Option<Vec<u8>> = password
        .chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect();
    match latin1 {
        Some(bytes) => crate::hex::md5_hex(&bytes),
        None => crate::hex::md5_hex(password.as_bytes()),
    }
}

/// `--force-reset`: each new account gets a link that lives `ttl_secs`, in a "your weblog has
/// moved" mail, sent `per_minute` at a time through the outbox.
pub struct MovedMail {
    pub mails: Mails,
    pub site: Site,
    pub ttl_secs: i64,
    pub per_minute: u32,
}

impl Mailing for MovedMail {
    fn queue(
        &self,
        tx: &rusqlite::Transaction<'_>,
        user_id: i64,
        user: &SourceUser,
        index: u64,
        now: i64,
    ) -> rusqlite::Result<()> {
        let account = accounts::account_name(&user.email, user_id);
        // Paced: the n-th mail leaves n / rate minutes after the first, and its link lives
        // the whole TTL from then.
        let per_minute = u64::from(self.per_minute.max(1));
        let delay = i64::try_from(index.saturating_mul(60) / per_minute).unwrap_or(i64::MAX);
        let send_at = now.saturating_add(delay);
        let expires_at = send_at.saturating_add(self.ttl_secs);
        let login = Login::XssUser(user_id);
        let link = reset::Issue {
            login,
            account: &account,
            expires_at,
            requester: "import",
            language: None,
            domain: None,
        };
        let token = reset::issue_in(tx, &link, now)?;
        let link = format!("{}/reset/{token}", self.site.url);
        let audience = reset::audience::for_mail(tx, login, None, &self.site)?
            .unwrap_or_else(|| Audience::fallback(login, &user.email, &self.site));
        let message = self.mails.render(&templates::Mail {
            kind: templates::Kind::Moved,
            audience: &audience,
            recipient: &user.email,
            link: &link,
            expires_at,
            by: templates::By::Import,
            changed: None,
        });
        mail::enqueue_at(tx, &message, now, send_at)?;
        let detail = format!(
            "by the import (import virtuoso --force-reset), mailed to {} at {}; expires {}",
            user.email,
            clock::rfc3339(send_at),
            clock::rfc3339(expires_at)
        );
        let entry = audit::Entry::new(audit::Event::LinkIssued, &account, audit::IMPORT)
            .login(Login::XssUser(user_id))
            .detail(&detail);
        audit::record(tx, &entry, now)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_is_the_md5_of_what_virtuoso_compared() {
        // ASCII: the same either way.
        assert_eq!(client_credential("secret"), crate::hex::md5_hex(b"secret"));
        // Latin-1 text: the MD5 of its ISO-8859-1 bytes.
        assert_eq!(client_credential("wörd"), crate::hex::md5_hex(b"w\xf6rd"));
        // Beyond Latin-1: UTF-8.
        assert_eq!(
            client_credential("x€y"),
            crate::hex::md5_hex("x€y".as_bytes())
        );
    }
}
