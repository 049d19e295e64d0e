//! Password reset links: the one way passlink answers "mail my password", since it keeps only
//! hashes.
//!
//! The entry points (`xmlStorageSystem.mailPasswordToUser`, XCP `send_password`) and the
//! password changes that must void outstanding links talk to [`ResetLinks`]; [`ResetService`]
//! is the implementation. A link carries 32 random bytes; only their SHA-256 is stored, with
//! the login, the expiry and the requesting address. The token row and its mail are written in
//! one transaction, and the mailer thread ([`crate::mail`]) delivers the mail. The page behind
//! the link is in [`page`]. Links an operator issues, lists and ends from the command line
//! go through [`issue_in`] and [`admin`].

pub mod admin;
pub mod audience;
pub mod form;
pub mod limits;
pub mod notice;
pub mod templates;
mod tokens;

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use rusqlite::{Connection, OptionalExtension, params};

use crate::accounts;
use crate::audit::{self, failed::Refusal, failed::Trail};
use crate::clock;
use crate::config::ResetConfig;
use crate::logins::Login;
use crate::mail::{self, Waker};
use crate::metrics::{METRICS, RateLimit, ResetEvent};
pub use audience::{Audience, Site};
use limits::Buckets;
pub use templates::Mails;
use tokens::{NewToken, token_hash};
pub use tokens::{Purpose, new_token};

/// A request for a link.
#[derive(Debug, Clone)]
pub struct LinkRequest<'a> {
    pub login: Login,
    /// The account's name as the page and the mail show it ("profile alice for example.com").
    pub account: &'a str,
    /// Where the link goes. Never logged.
    pub email: &'a str,
    /// The address the request came from, for rate limits and the record.
    pub requester: IpAddr,
    /// How it was asked for, for the audit trail ("XCP send_password by reseller acme, to the
    /// owner contact").
    pub via: &'a str,
    /// The domain an XCP request named, which the mail and the page name.
    pub domain: Option<&'a str>,
}

#[derive(Debug)]
pub enum ResetError {
    /// Too many requests for this login or from this address; try later.
    RateLimited,
    /// Mail is turned off in the config.
    MailDisabled,
    Db(rusqlite::Error),
}

impl fmt::Display for ResetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResetError::RateLimited => f.write_str("too many reset requests; try again later"),
            ResetError::MailDisabled => f.write_str("mail is turned off"),
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

/// The reset-link service as its callers see it. `invalidate` runs on the caller's connection,
/// so a caller that changes a password voids the links in its own transaction; `send` and
/// `request_for_email` write through the service's group commit and return once durable.
pub trait ResetLinks: Send + Sync {
    /// Issues a link for `request.login` and queues the mail to `request.email`, in one
    /// transaction. Returns once both are durable. `conn` is the caller's, for reading whom
    /// the mail is for (language, brand) before the transaction, outside the group commit.
    fn send(&self, conn: &Connection, request: &LinkRequest<'_>) -> Result<(), ResetError>;

    /// Records a request for the xmlStorageSystem account with this address. Whether the
    /// address has an account is decided later, by the mailer thread, so this takes the same
    /// time either way; over the rate limit it quietly records nothing.
    fn request_for_email(&self, email: &str, requester: IpAddr) -> Result<(), ResetError>;

    /// Voids every outstanding link for `login` (its password just changed, or it is gone).
    fn invalidate(&self, conn: &Connection, login: Login) -> Result<(), ResetError>;

    /// Queues the password-changed notice for `change` in the caller's transaction (the one
    /// that changed the password). Nothing when mail is off.
    fn notify_change(
        &self,
        conn: &Connection,
        change: &notice::Change<'_>,
    ) -> Result<(), ResetError> {
        let _ = (conn, change);
        Ok(())
    }
}

/// Whether `text` could be a token at all (43 base64url characters), so that junk in a URL
/// never reaches the database.
pub fn plausible_token(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A token row.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub login: Login,
    pub account: String,
    pub csrf: Vec<u8>,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
    pub purpose: Purpose,
    /// The language its mail was in, when the login or its reseller chose it.
    pub language: Option<crate::i18n::Lang>,
    /// The domain an XCP request named.
    pub domain: Option<String>,
}

impl TokenRow {
    pub fn usable(&self, now: i64) -> bool {
        self.ended_at.is_none() && self.expires_at > now
    }
}

pub fn find_token(conn: &Connection, token: &str) -> rusqlite::Result<Option<TokenRow>> {
    if !plausible_token(token) {
        return Ok(None);
    }
    conn.prepare_cached(
        "SELECT login_kind, login_id, account, csrf, expires_at, ended_at, purpose, \
         language, domain FROM reset_tokens WHERE token_hash = ?1",
    )?
    .query_row(params![token_hash(token).as_slice()], |r| {
        let kind: String = r.get(0)?;
        let purpose: String = r.get(6)?;
        let language: Option<String> = r.get(7)?;
        let Some(login) = Login::from_kind(&kind, r.get(1)?) else {
            return Ok(None);
        };
        Ok(Some(TokenRow {
            login,
            account: r.get(2)?,
            csrf: r.get(3)?,
            expires_at: r.get(4)?,
            ended_at: r.get(5)?,
            purpose: if purpose == "not_me" {
                Purpose::NotMe
            } else {
                Purpose::Reset
            },
            language: language.as_deref().and_then(crate::i18n::Lang::exactly),
            domain: r.get(8)?,
        }))
    })
    .optional()
    .map(Option::flatten)
}

/// Ends the token if it is still usable; `false` if it was used, voided or expired meanwhile.
/// Run in the transaction that sets the new password.
pub fn consume(conn: &Connection, token: &str, now: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE reset_tokens SET ended_at = ?2 WHERE token_hash = ?1 AND ended_at IS NULL \
         AND expires_at > ?2",
        params![token_hash(token).as_slice(), now],
    )? == 1)
}

/// Issues a link in the caller's transaction with its own expiry, for a caller that writes the
/// mail itself or hands the link on (an import's "your weblog has moved" mail,
/// [`crate::migrate`]; an operator's `reset-link`); returns the token, which only the mail or
/// the operator may hold. `requester` is what `passlink reset list` shows as having asked
/// ("import", "admin"), since no client address did. No hourly limit applies: these callers
/// are the operator.
pub fn issue_in(conn: &Connection, link: &Issue<'_>, now: i64) -> rusqlite::Result<String> {
    void_tokens(conn, link.login, now)?;
    NewToken {
        login: link.login,
        account: link.account,
        expires_at: link.expires_at,
        requester: link.requester,
        purpose: Purpose::Reset,
        language: link.language,
        domain: link.domain,
    }
    .insert(conn, now)
}

/// A link an operator or an import issues ([`issue_in`]).
#[derive(Debug, Clone, Copy)]
pub struct Issue<'a> {
    pub login: Login,
    /// The account as `passlink reset list` names it.
    pub account: &'a str,
    pub expires_at: i64,
    /// Who asked: "import", "admin".
    pub requester: &'a str,
    /// The language of its mail, when the login or its reseller chose it.
    pub language: Option<crate::i18n::Lang>,
    /// The domain a domain link is for.
    pub domain: Option<&'a str>,
}

/// Voids the login's outstanding reset links. A "this wasn't me" link stays: a later change,
/// or a reset link someone asked for, must not take away the owner's way to lock the login.
pub fn void_tokens(conn: &Connection, login: Login, now: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "UPDATE reset_tokens SET ended_at = ?3 WHERE login_kind = ?1 AND login_id = ?2 \
         AND ended_at IS NULL AND purpose = 'reset'",
    )?
    .execute(params![login.kind(), login.id(), now])
}

/// Voids every outstanding token of the login, "this wasn't me" links included (the login
/// was just locked by one).
pub fn void_all_tokens(conn: &Connection, login: Login, now: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "UPDATE reset_tokens SET ended_at = ?3 WHERE login_kind = ?1 AND login_id = ?2 \
         AND ended_at IS NULL",
    )?
    .execute(params![login.kind(), login.id(), now])
}

/// Links that reached their expiry unused in `(since, now]`: never ended, or ended (voided by
/// a newer link) only after they had expired.
pub fn expired_between(conn: &Connection, since: i64, now: i64) -> rusqlite::Result<u64> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM reset_tokens WHERE expires_at > ?1 AND expires_at <= ?2 \
             AND (ended_at IS NULL OR ended_at >= expires_at)",
        )?
        .query_row(params![since, now], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Counts links that expired since the previous call, for `/metrics`, before [`purge`] can
/// delete them. The first call in a process only sets the mark: expiries while no passlink
/// ran are not this process's to count.
fn count_expired(conn: &Connection, now: i64) -> rusqlite::Result<()> {
    static COUNTED_UNTIL: AtomicI64 = AtomicI64::new(i64::MIN);
    let since = COUNTED_UNTIL.load(Ordering::Relaxed);
    if since != i64::MIN && now > since {
        METRICS.reset_link(ResetEvent::Expired, expired_between(conn, since, now)?);
    }
    if now > since {
        COUNTED_UNTIL.store(now, Ordering::Relaxed);
    }
    Ok(())
}

/// Drops tokens that can no longer be used and no longer count for the hourly limit, and
/// address requests that were never processed for a day (the mailer was down). Links that
/// expired since the last purge are counted first.
pub fn purge(conn: &Connection, now: i64) -> rusqlite::Result<usize> {
    count_expired(conn, now)?;
    let tokens = conn.execute(
        "DELETE FROM reset_tokens WHERE created_at < ?1 AND (ended_at IS NOT NULL OR expires_at <= ?2)",
        params![now - 3600, now],
    )?;
    conn.execute(
        "DELETE FROM reset_requests WHERE created_at < ?1",
        params![now - 86_400],
    )?;
    Ok(tokens)
}

/// Whether a link was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Issued {
    Yes,
    /// The login had its hourly number of links.
    Limited,
}

/// The mails as `config` has them: the operator's files from `[reset] templates_dir`, in
/// `[reset] language` by default. `serve`, its reload, `check-config` and the commands that
/// mail all read them here.
pub fn load_mails(config: &crate::config::Config) -> Result<Mails, String> {
    let catalogues = crate::i18n::Catalogues::shared()
        .map_err(|e| format!("the built-in message catalogues: {e}"))?;
    let default =
        crate::i18n::Lang::exactly(&config.reset.language).unwrap_or(crate::i18n::Lang::ENGLISH);
    Mails::load(&config.reset.templates_dir, catalogues, default).map_err(|e| e.to_string())
}

/// The site as `config` names it: the community's name and the public URL of links.
pub fn site(config: &crate::config::Config, reset_url: &str) -> Site {
    Site {
        name: config.xmlstorage.community_name.clone(),
        url: reset_url.to_string(),
    }
}

/// What a config reload can change.
struct Settings {
    config: ResetConfig,
    mail_enabled: bool,
    mails: Mails,
    site: Site,
}

/// The reset-link service: tokens, their mails, and the limits.
pub struct ResetService {
    settings: RwLock<Arc<Settings>>,
    /// Token and request rows go through group commit.
    writer: crate::db::GroupWriter,
    buckets: Mutex<Buckets>,
    mailer: Waker,
    /// Where refused requests are counted.
    trail: Arc<Trail>,
}

impl ResetService {
    pub fn new(
        config: ResetConfig,
        mail_enabled: bool,
        site: Site,
        mails: Mails,
        mailer: Waker,
        writer: crate::db::GroupWriter,
        trail: Arc<Trail>,
    ) -> ResetService {
        ResetService {
            trail,
            writer,
            buckets: Mutex::new(Buckets::new(&config)),
            settings: RwLock::new(Arc::new(Settings {
                config,
                mail_enabled,
                mails,
                site,
            })),
            mailer,
        }
    }

    /// Applies a reloaded config: limits, TTL, whether mail is on, the site's name and the
    /// mails.
    pub fn reload(&self, config: ResetConfig, mail_enabled: bool, site: Site, mails: Mails) {
        {
            let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
            buckets.set_rates(&config);
        }
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(Settings {
            config,
            mail_enabled,
            mails,
            site,
        });
    }

    fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn take_token(&self, ip: IpAddr) -> bool {
        let taken = self
            .buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(ip);
        if !taken {
            METRICS.rate_limited(RateLimit::ResetIp);
        }
        taken
    }

    /// Issues a token and enqueues its mail, in one transaction, unless the login had its
    /// hourly number of links. The mail is written beforehand, from what `conn` reads: the
    /// group-commit thread, which every writer waits on, only stores.
    fn issue(&self, conn: &Connection, request: &LinkRequest<'_>) -> Result<Issued, ResetError> {
        let settings = self.settings();
        let now = clock::unix_now();
        let token = new_token();
        let ttl = i64::try_from(settings.config.ttl_secs.get()).unwrap_or(i64::MAX);
        let expires_at = now.saturating_add(ttl);
        let link = format!("{}/reset/{token}", settings.site.url);
        let requester = request.requester.to_string();
        // The mail speaks the login's language and carries its reseller's brand.
        let audience = audience::for_mail(conn, request.login, request.domain, &settings.site)?
            .unwrap_or_else(|| Audience::fallback(request.login, request.account, &settings.site));
        let message = settings.mails.render(&templates::Mail {
            kind: templates::Kind::Reset,
            audience: &audience,
            recipient: request.email,
            link: &link,
            expires_at,
            by: templates::By::Address(&requester),
            changed: None,
        });
        let language = audience.language;
        let domain = request.domain.map(str::to_string);
        // One transaction for the count, the token and its mail, shared (group commit) with
        // other requests' writes: the reply waits for the commit, so an acknowledged link is
        // durable, but concurrent requests share one fsync.
        let login = request.login;
        let max = i64::from(settings.config.max_per_login_per_hour);
        let account = request.account.to_string();
        let via = request.via.to_string();
        let mailed = format!(
            "mailed to {}; expires {}",
            request.email,
            clock::rfc3339(expires_at)
        );
        let issued = self.writer.run(move |tx| -> Result<Issued, ResetError> {
            let asked = audit::Entry::new(audit::Event::ResetRequested, &account, &requester)
                .login(login)
                .detail(&via);
            let recent: i64 = tx
                .prepare_cached(
                    "SELECT count(*) FROM (SELECT 1 FROM reset_tokens WHERE login_kind = ?1 \
                     AND login_id = ?2 AND created_at > ?3 AND purpose = 'reset' LIMIT ?4)",
                )?
                .query_row(params![login.kind(), login.id(), now - 3600, max], |r| {
                    r.get(0)
                })?;
            if recent >= max {
                // Counted, not written here: anyone may ask again and again (`audit::failed`).
                return Ok(Issued::Limited);
            }
            audit::record(tx, &asked, now)?;
            // A new link replaces the older ones.
            void_tokens(tx, login, now)?;
            NewToken {
                login,
                account: &account,
                expires_at,
                requester: &requester,
                purpose: Purpose::Reset,
                language,
                domain: domain.as_deref(),
            }
            .store(tx, &token, now)?;
            mail::enqueue(tx, &message, now)?;
            let issued = audit::Entry::new(audit::Event::LinkIssued, &account, &requester)
                .login(login)
                .detail(&mailed);
            audit::record(tx, &issued, now)?;
            Ok(Issued::Yes)
        })?;
        if issued == Issued::Limited {
            METRICS.rate_limited(RateLimit::ResetLogin);
            self.trail.refused(
                Refusal::HourlyLimit,
                Some(request.login),
                request.account,
                request.requester,
                now,
            );
            return Ok(Issued::Limited);
        }
        METRICS.reset_link(ResetEvent::Issued, 1);
        self.mailer.wake();
        log::info!(
            "reset: link issued for {} (requested from {})",
            request.login,
            request.requester
        );
        Ok(Issued::Yes)
    }

    /// The mailer thread's chore: turns recorded address requests into links and mails.
    pub fn process_requests(&self, conn: &Connection) -> Result<usize, ResetError> {
        let rows: Vec<(i64, String, String)> = {
            let mut stmt = conn.prepare_cached(
                "SELECT id, email, requester_ip FROM reset_requests ORDER BY id LIMIT 100",
            )?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?
        };
        for (id, email, ip) in &rows {
            let requester = ip.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
            match accounts::find_by_email(conn, email)? {
                Some(user) if !user.disabled => {
                    let account = user.account();
                    let request = LinkRequest {
                        login: Login::XssUser(user.id),
                        account: &account,
                        email: &user.email,
                        requester,
                        via: "mailPasswordToUser",
                        domain: None,
                    };
                    if self.issue(conn, &request)? == Issued::Limited {
                        log::info!(
                            "reset: no link for {} (hourly limit reached)",
                            request.login
                        );
                    }
                }
                _ => {
                    log::info!(
                        "reset: an address request from {ip} matched no account (or a disabled one)"
                    );
                    // Counted per client, with the address among the samples: the trail is
                    // the operator's, so it enumerates nothing, and a flood writes nothing.
                    self.trail.refused(
                        Refusal::NoAccount,
                        None,
                        email,
                        requester,
                        clock::unix_now(),
                    );
                }
            }
            crate::db::write_shared(conn, |tx| {
                tx.execute("DELETE FROM reset_requests WHERE id = ?1", params![id])
            })?;
        }
        Ok(rows.len())
    }
}

impl ResetLinks for ResetService {
    fn send(&self, conn: &Connection, request: &LinkRequest<'_>) -> Result<(), ResetError> {
        if !self.settings().mail_enabled {
            return Err(ResetError::MailDisabled);
        }
        if !self.take_token(request.requester) {
            return Err(ResetError::RateLimited);
        }
        match self.issue(conn, request)? {
            Issued::Yes => Ok(()),
            Issued::Limited => Err(ResetError::RateLimited),
        }
    }

    fn request_for_email(&self, email: &str, requester: IpAddr) -> Result<(), ResetError> {
        if !self.settings().mail_enabled {
            return Err(ResetError::MailDisabled);
        }
        let email = email.trim();
        if !self.take_token(requester) || email.is_empty() || email.len() > 254 {
            return Ok(());
        }
        let (email, requester) = (email.to_string(), requester.to_string());
        self.writer.run(move |tx| {
            tx.prepare_cached(
                "INSERT INTO reset_requests (email, requester_ip, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![email, requester, clock::unix_now()])
        })?;
        self.mailer.wake();
        Ok(())
    }

    fn invalidate(&self, conn: &Connection, login: Login) -> Result<(), ResetError> {
        void_tokens(conn, login, clock::unix_now())?;
        Ok(())
    }

    fn notify_change(
        &self,
        conn: &Connection,
        change: &notice::Change<'_>,
    ) -> Result<(), ResetError> {
        let settings = self.settings();
        if !settings.mail_enabled {
            return Ok(());
        }
        let queued = notice::queue(
            conn,
            change,
            &settings.mails,
            &settings.site,
            clock::unix_now(),
        )?;
        log::info!(
            "reset: password-changed notice for {} queued to {queued} address(es)",
            change.login
        );
        Ok(())
    }
}

/// Stand-in for unit tests: accepts requests and logs them.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct LogOnly;

#[cfg(test)]
impl ResetLinks for LogOnly {
    fn send(&self, _conn: &Connection, request: &LinkRequest<'_>) -> Result<(), ResetError> {
        log::info!("reset link requested for {}", request.login);
        Ok(())
    }

    fn request_for_email(&self, _: &str, _: IpAddr) -> Result<(), ResetError> {
        Ok(())
    }

    fn invalidate(&self, _conn: &Connection, _login: Login) -> Result<(), ResetError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn service(dir: &tempfile::TempDir, max: u32) -> ResetService {
        let mut config = Config::default().reset;
        config.max_per_login_per_hour = max;
        let conn = crate::db::open_existing(
            &dir.path().join("test.sqlite3"),
            std::time::Duration::from_secs(5),
        )
        .unwrap();
        ResetService::new(
            config,
            true,
            Site {
                name: "a community".into(),
                url: "http://public".into(),
            },
            Mails::built_in(
                Arc::new(crate::i18n::Catalogues::built_in().unwrap()),
                crate::i18n::Lang::ENGLISH,
            ),
            Waker::default(),
            crate::db::GroupWriter::start(conn).unwrap(),
            Arc::new(Trail::new(365)),
        )
    }

    fn request(login: Login) -> LinkRequest<'static> {
        LinkRequest {
            login,
            account: "alice",
            email: "alice@example.org",
            requester: "192.0.2.1".parse().unwrap(),
            via: "a test",
            domain: None,
        }
    }

    #[test]
    fn a_link_is_a_hashed_token_and_a_queued_mail() {
        let (dir, conn) = crate::db::migrated_temp_db();
        let s = service(&dir, 3);
        s.send(&conn, &request(Login::Profile(7))).unwrap();
        let body: String = conn
            .query_row("SELECT body_text FROM outbox", [], |r| r.get(0))
            .unwrap();
        let token = body
            .split("http://public/reset/")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap()
            .to_string();
        assert!(plausible_token(&token), "{token}");
        let stored: Vec<u8> = conn
            .query_row("SELECT token_hash FROM reset_tokens", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, token_hash(&token));
        let row = find_token(&conn, &token).unwrap().unwrap();
        assert_eq!(row.login, Login::Profile(7));
        assert!(row.usable(clock::unix_now()));
        // A second link voids the first.
        s.send(&conn, &request(Login::Profile(7))).unwrap();
        assert!(
            !find_token(&conn, &token)
                .unwrap()
                .unwrap()
                .usable(clock::unix_now())
        );
        assert!(!consume(&conn, &token, clock::unix_now()).unwrap());
    }

    #[test]
    fn the_hourly_limit_is_per_login() {
        let (dir, conn) = crate::db::migrated_temp_db();
        let s = service(&dir, 3);
        for _ in 0..3 {
            s.send(&conn, &request(Login::SubUser(1))).unwrap();
        }
        assert!(matches!(
            s.send(&conn, &request(Login::SubUser(1))),
            Err(ResetError::RateLimited)
        ));
        s.send(&conn, &request(Login::SubUser(2))).unwrap();
        let mails: i64 = conn
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mails, 4);
    }

    #[test]
    fn expired_links_are_counted_once_whether_or_not_voided_later() {
        let (_dir, conn) = crate::db::migrated_temp_db();
        let insert = |hash: u8, expires_at: i64, ended_at: Option<i64>| {
            conn.execute(
                "INSERT INTO reset_tokens (token_hash, login_kind, login_id, account, csrf, \
                 requester_ip, created_at, expires_at, ended_at) \
                 VALUES (?1, 'user', 1, 'a', x'00', '192.0.2.1', 0, ?2, ?3)",
                params![vec![hash], expires_at, ended_at],
            )
            .unwrap();
        };
        insert(1, 100, None); // expired unused
        insert(2, 150, Some(170)); // expired, then voided by a newer link
        insert(3, 160, Some(120)); // used before its expiry
        insert(4, 300, None); // not expired yet
        insert(5, 50, None); // expired before the window
        assert_eq!(expired_between(&conn, 60, 200).unwrap(), 2);
        assert_eq!(expired_between(&conn, 200, 400).unwrap(), 1);
        assert_eq!(expired_between(&conn, 400, 500).unwrap(), 0);
    }

    #[test]
    fn junk_never_reaches_the_database() {
        assert!(!plausible_token("../../etc/passwd"));
        assert!(!plausible_token(&"a".repeat(44)));
        assert!(plausible_token(&new_token()));
    }
}
