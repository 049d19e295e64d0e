//! The xmlStorageSystem methods, on typed values: each takes the [`Env`] handles, the
//! [`Caller`] and its bound [`Args`], and answers a [`Value`]. No XML and no HTTP here; the
//! codecs and the endpoint do that. Application errors (a wrong password, a quota) are
//! ordinary results with `flError` true, as every client expects.

use super::args::Args;
use super::env::{Caller, Env, MethodError, MethodResult, flag};
use super::{notify, weblog};
use std::time::Instant;

use crate::accounts::{self, User};
use crate::audit;
use crate::clock;
use crate::credentials::{Caching, CredentialError, Stored};
use crate::db;
use crate::files;
use crate::logins::Login;
use crate::logins::throttle::Key;
use crate::metrics::{METRICS, RateLimit};
use crate::reset::ResetError;
use crate::value::{Fault, Value, structure};

const BAD_LOGIN: &str = "Can't access because user does not exist or password is incorrect.";
const NO_MAIL: &str = "Mail service is not available on that server.";
/// The same answer whether or not the address has an account.
const MAIL_SENT: &str =
    "If that address has an account, a password reset link has been mailed to it.";
const REGISTRATION_REFUSED: &str = "Can't register with that email address and password. If you registered before, use the \
     password you registered with.";
/// A read-only call updates the user's last-access time at most this often.
const ACCESS_RECORD_INTERVAL_SECS: i64 = 60;

/// Records the request; the mailer thread decides whether the address has an account, so the
/// answer and its timing say nothing about it.
pub fn mail_password_to_user(
    env: &mut Env<'_>,
    caller: &Caller<'_>,
    args: &Args<'_>,
) -> MethodResult {
    let email = args.string(0)?;
    match env.reset.request_for_email(&email, caller.ip) {
        Ok(()) => Ok(flag(false, MAIL_SENT)),
        Err(ResetError::MailDisabled) => Ok(flag(true, NO_MAIL)),
        Err(ResetError::Db(e)) => Err(MethodError::Db(e)),
        // Not produced for address requests, which fail quietly when over the limit.
        Err(ResetError::RateLimited) => Ok(flag(false, MAIL_SENT)),
    }
}

/// Checks the usernum-or-email and MD5 credential of a call. An unknown user costs the same
/// argon2 work as a known one, so timing does not reveal which accounts exist.
/// The user a call's first two parameters (usernum or email, and the MD5 credential) log in
/// as; a refusal (bad login, busy server) is a [`MethodError::Reply`] the method returns as is.
fn authenticated(env: &Env<'_>, caller: &Caller<'_>, args: &Args<'_>) -> Result<User, MethodError> {
    let login = args.string(0)?;
    let credential = args.string(1)?;
    authenticate(env, caller, &login, &credential)
}

fn authenticate(
    env: &Env<'_>,
    caller: &Caller<'_>,
    login: &str,
    credential: &str,
) -> Result<User, MethodError> {
    let credential = credential.trim().to_ascii_lowercase();
    let user = accounts::find_by_login(env.db, login)?;
    let key = match &user {
        Some(u) => Key::Account(Login::XssUser(u.id)),
        None => unknown_key(login),
    };
    let now = Instant::now();
    // A credential that verified moments ago (the cache) is the owner's: it is never held
    // back, so someone guessing cannot keep the owner's weblog from publishing.
    let known_good = user.as_ref().is_some_and(|u| {
        env.credentials
            .is_cached(u.id, &credential, &u.password_hash)
    });
    if !known_good && !env.throttle.allowed(key, now) {
        // Held back after repeated failures: the ordinary answer, at once, without argon2.
        METRICS.rate_limited(RateLimit::LoginThrottle);
        audit_failure(env, caller, user.as_ref(), login, true);
        log::warn!(
            "xmlstorage: login failed from {} for \"{}\" (held back after repeated failures)",
            caller.ip,
            crate::logging::sanitize(login, 64)
        );
        return Err(MethodError::Reply(flag(true, BAD_LOGIN)));
    }
    let stored = user.as_ref().map(|u| Stored {
        id: u.id,
        hash: &u.password_hash,
    });
    // A cache hit has answered already: no second lookup.
    let checked = if known_good {
        Ok(true)
    } else {
        env.credentials
            .verify_or_dummy(stored, &credential, Caching::Cached)
    };
    let verified = match checked {
        Ok(ok) => ok,
        Err(CredentialError::Busy) => {
            return Err(MethodError::Reply(flag(
                true,
                "The server is busy; try again in a moment.",
            )));
        }
        Err(e) => {
            log::error!("credential check failed: {e}");
            false
        }
    };
    match user {
        Some(u) if verified && !u.disabled => {
            env.throttle.clear(key);
            upgrade_hash(env, &u, &credential);
            Ok(u)
        }
        _ => {
            env.throttle.failed(key, now);
            audit_failure(env, caller, user.as_ref(), login, false);
            // For fail2ban: the address comes before the client's own text, so no login can
            // forge it. Which of the three it was is not said: that would enumerate accounts.
            log::warn!(
                "xmlstorage: login failed from {} for \"{}\" (unknown login, wrong password or disabled account)",
                caller.ip,
                crate::logging::sanitize(login, 64)
            );
            Err(MethodError::Reply(flag(true, BAD_LOGIN)))
        }
    }
}

/// Counts a refused login for the audit trail (written once a minute per account and client):
/// under the account's name when the login named one, else under the name as given.
fn audit_failure(
    env: &Env<'_>,
    caller: &Caller<'_>,
    user: Option<&User>,
    login: &str,
    held_back: bool,
) {
    let (login_id, account) = match user {
        Some(u) => (Some(Login::XssUser(u.id)), u.account()),
        None => (None, login.trim().to_string()),
    };
    env.audit.login_failed(
        login_id,
        &account,
        caller.ip,
        held_back,
        crate::clock::unix_now(),
    );
}

/// The throttle's key for a login that matched no account, read the way
/// [`accounts::find_by_login`] reads it (a usernum as its number, an email case-blind), so
/// that "42" and "042" share a count as they would if the account existed.
fn unknown_key(login: &str) -> Key {
    let login = login.trim();
    match login.parse::<u64>() {
        Ok(number) if login.bytes().all(|b| b.is_ascii_digit()) => {
            Key::unknown("xss-usernum", &number.to_string())
        }
        _ => Key::unknown("xss-email", &accounts::email_key(login)),
    }
}

/// A stored hash made with another cost than `[passwords]` sets is made again now, while the
/// credential that just verified is at hand (OWASP: raise the work factor over time). A
/// failure leaves the old hash, which still works.
fn upgrade_hash(env: &Env<'_>, user: &User, credential: &str) {
    if !env.credentials.needs_rehash(&user.password_hash) {
        return;
    }
    let upgraded = env
        .credentials
        .rehash(credential)
        .map_err(|e| e.to_string());
    // Only over the hash that verified: a password changed meanwhile is not undone.
    let stored = upgraded.and_then(|hash| {
        crate::db::write_shared(env.db, |tx| {
            accounts::replace_password_hash(tx, user.id, &user.password_hash, &hash)
        })
        .map_err(|e| e.to_string())
    });
    match stored {
        Ok(_) => log::info!(
            "xmlstorage: the password hash of user {} upgraded to the configured cost",
            user.usernum()
        ),
        Err(e) => log::warn!(
            "xmlstorage: could not upgrade the password hash of user {}: {e}",
            user.usernum()
        ),
    }
}

fn folder_url(env: &Env<'_>, user: &User) -> String {
    files::folder_url(&env.urls.files, user.id)
}

pub fn register_user(env: &mut Env<'_>, caller: &Caller<'_>, args: &Args<'_>) -> MethodResult {
    let email = args.string(0)?;
    let name = args.string(1)?;
    let password = args.string(2)?;
    let client_port = args.int(3).unwrap_or(None);
    let user_agent = args.string(4).unwrap_or_default();
    let serial_number = args.string(5).unwrap_or_default();
    let email = email.trim();
    if email.is_empty() || email.len() > 254 || email.chars().any(char::is_control) {
        return Ok(flag(true, "A valid email address is required."));
    }
    if password.is_empty() {
        return Ok(flag(true, "A password is required."));
    }
    let name = if name.trim().is_empty() {
        email.to_string()
    } else {
        name.trim().to_string()
    };
    let credential = accounts::wire_credential(&password);
    if let Some(existing) = accounts::find_by_email(env.db, email)? {
        // PyCS: registering again with the same password is a log-in, and is limited like
        // one: otherwise it would be a way around the per-login throttle.
        let key = Key::Account(Login::XssUser(existing.id));
        let now = Instant::now();
        let known_good =
            env.credentials
                .is_cached(existing.id, &credential, &existing.password_hash);
        if !known_good && !env.throttle.allowed(key, now) {
            METRICS.rate_limited(RateLimit::LoginThrottle);
            audit_failure(env, caller, Some(&existing), email, true);
            return Ok(structure([
                ("usernum", Value::string("")),
                ("flError", Value::Bool(true)),
                ("message", Value::string(REGISTRATION_REFUSED)),
            ]));
        }
        let same = match env
            .credentials
            .verify(existing.id, &credential, &existing.password_hash)
        {
            Ok(ok) => ok && !existing.disabled,
            Err(CredentialError::Busy) => {
                return Ok(flag(true, "The server is busy; try again in a moment."));
            }
            Err(_) => false,
        };
        if same {
            env.throttle.clear(key);
        } else {
            env.throttle.failed(key, now);
            audit_failure(env, caller, Some(&existing), email, false);
        }
        if !same {
            return Ok(structure([
                ("usernum", Value::string("")),
                ("flError", Value::Bool(true)),
                ("message", Value::string(REGISTRATION_REFUSED)),
            ]));
        }
        return Ok(structure([
            ("usernum", Value::string(existing.usernum())),
            ("flError", Value::Bool(false)),
            (
                "message",
                Value::string(format!("Welcome back, {}!", existing.name)),
            ),
        ]));
    }
    let max_users = env.config.max_users;
    if max_users > 0 && accounts::count(env.db)? >= i64::try_from(max_users).unwrap_or(i64::MAX) {
        return Ok(flag(true, "Sorry, this server is not accepting new users."));
    }
    // A new account's password: most clients send only its MD5, which can still be compared
    // with the most common passwords'; a client that sends it in clear (Virtuoso's style) gets
    // the whole check.
    let strength = if crate::hex::is_md5_hex(&password) {
        env.policy.check_md5(&password)
    } else {
        env.policy.check(&password, &[email, &name])
    };
    if let Err(why) = strength {
        let mut why = why;
        if let Some(first) = why.get(..1) {
            why = format!("{}{}", first.to_uppercase(), &why[1..]);
        }
        return Ok(flag(true, &why));
    }
    let hash = match env.credentials.hash(&credential) {
        Ok(hash) => hash,
        Err(CredentialError::Busy) => {
            return Ok(flag(true, "The server is busy; try again in a moment."));
        }
        Err(e) => {
            log::error!("registerUser: {e}");
            return Err(MethodError::Fault(Fault::server("internal error")));
        }
    };
    let new = accounts::NewUser {
        email,
        name: &name,
        password_hash: &hash,
        client_port,
        user_agent: &user_agent,
        serial_number: &serial_number,
    };
    let now = clock::unix_now();
    let client = caller.ip.to_string();
    let detail = format!(
        "registerUser from {}",
        crate::logging::sanitize(&user_agent, 80)
    );
    let created = crate::db::write(env.db, |tx| -> rusqlite::Result<Option<i64>> {
        let id = accounts::create(tx, &new, now)?;
        if let Some(id) = id {
            let account = accounts::account_name(email, id);
            let entry = audit::Entry::new(audit::Event::Registered, &account, &client)
                .login(Login::XssUser(id))
                .detail(&detail);
            audit::record(tx, &entry, now)?;
        }
        Ok(id)
    })?;
    let Some(id) = created else {
        // Someone registered the same email between our check and the insert.
        return Ok(structure([
            ("usernum", Value::string("")),
            ("flError", Value::Bool(true)),
            ("message", Value::string(REGISTRATION_REFUSED)),
        ]));
    };
    log::info!(
        "xmlStorageSystem: registered user {} from {}",
        accounts::format_usernum(id),
        caller.ip
    );
    Ok(structure([
        ("usernum", Value::string(accounts::format_usernum(id))),
        ("flError", Value::Bool(false)),
        (
            "message",
            Value::string(format!("Good to have you here, {name}!")),
        ),
    ]))
}

pub fn get_server_capabilities(
    env: &mut Env<'_>,
    caller: &Caller<'_>,
    args: &Args<'_>,
) -> MethodResult {
    let user = authenticated(env, caller, args)?;
    let now = clock::unix_now();
    let ip = caller.ip.to_string();
    // Radio polls this; recording every call would turn a read into a synchronous disk write.
    // An access is recorded at most once a minute per user (or when the address changes).
    if user
        .last_access_at
        .is_none_or(|t| now - t >= ACCESS_RECORD_INTERVAL_SECS)
        || user.last_ip != ip
    {
        // Bookkeeping, not the answer: a full or locked database must not fail the read.
        let recorded =
            crate::db::write(env.db, |tx| accounts::record_access(tx, user.id, &ip, now));
        match recorded {
            Ok(()) => {}
            Err(e) if db::is_vanished(&e) => {}
            Err(e) if db::is_full(&e) || db::is_busy(&e) => {
                log::warn!("getServerCapabilities: access not recorded: {e}");
            }
            Err(e) => return Err(e.into()),
        }
    }
    let xs = env.config;
    let public = &env.urls.xmlstorage;
    let (host, port) = host_and_port(public);
    Ok(structure([
        ("flError", Value::Bool(false)),
        (
            "message",
            Value::string(format!("Hello, {}, from passlink!", user.name)),
        ),
        (
            "yourUpstreamFolderUrl",
            Value::string(folder_url(env, &user)),
        ),
        (
            "ctBytesInUse",
            Value::Int(files::bytes_in_use(env.db, user.id)?),
        ),
        ("maxFileSize", Value::Int(to_i64(xs.max_file_size.get()))),
        (
            "maxBytesPerUser",
            Value::Int(to_i64(xs.max_bytes_per_user.get())),
        ),
        (
            "legalFileExtensions",
            Value::Array(
                xs.legal_file_extensions
                    .iter()
                    .map(|e| Value::string(e.clone()))
                    .collect(),
            ),
        ),
        (
            "community",
            structure([
                ("name", Value::string(xs.community_name.clone())),
                ("flCanHostComments", Value::Bool(false)),
                ("flCanHostTrackback", Value::Bool(false)),
                ("flCanHostAccessRestrictions", Value::Bool(false)),
                ("flCanMirrorPosts", Value::Bool(false)),
                ("flHasSearch", Value::Bool(false)),
                ("flPublic", Value::Bool(false)),
                ("domainName", Value::string(host.clone())),
                ("discussionGroupUrl", Value::string("")),
                ("mailListUrl", Value::string("")),
                ("urlSearch", Value::string("")),
            ]),
        ),
        (
            "weblogUpdates",
            structure([
                ("server", Value::string(host)),
                ("port", Value::Int(port)),
                ("protocol", Value::string("xml-rpc")),
                ("rpcPath", Value::string("/RPC2")),
            ]),
        ),
        (
            "minutesBetweenPings",
            Value::Int(i64::from(xs.minutes_between_pings.get())),
        ),
        ("flSearchableCommunity", Value::Bool(false)),
        ("staticUrls", Value::Array(Vec::new())),
        ("urlRankingsByPageReads", Value::string("")),
        ("urlReferers", Value::string("")),
        ("urlSpamFreeMailto", Value::string("")),
        (
            "urlWeblogUpdates",
            Value::string(format!("{public}/weblogUpdates/changes.xml")),
        ),
        ("webBugUrl", Value::string("")),
    ]))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Host and port of a URL, for `weblogUpdates {server, port}`.
fn host_and_port(url: &str) -> (String, i64) {
    let (default_port, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (443, rest)
    } else {
        (80, url.strip_prefix("http://").unwrap_or(url))
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    // A bracketed IPv6 literal keeps its colons.
    if let Some(end) = authority.find(']') {
        let host = authority[..=end].to_string();
        let port = authority[end + 1..]
            .strip_prefix(':')
            .and_then(|p| p.parse().ok())
            .unwrap_or(default_port);
        return (host, port);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => (host.to_string(), port.parse().unwrap_or(default_port)),
        None => (authority.to_string(), default_port),
    }
}

pub fn save_multiple_files(
    env: &mut Env<'_>,
    caller: &Caller<'_>,
    args: &Args<'_>,
) -> MethodResult {
    let paths = args.strings(2)?;
    let contents = args.array(3)?;
    if paths.len() != contents.len() {
        return Err(Fault::protocol(format!(
            "xmlStorageSystem.saveMultipleFiles: relativepathList has {} items but fileTextList \
             has {}; nothing was saved",
            paths.len(),
            contents.len()
        ))
        .into());
    }
    let user = authenticated(env, caller, args)?;
    let mut batch: Vec<(String, Vec<u8>)> = Vec::with_capacity(paths.len());
    let mut refused: Vec<Option<String>> = Vec::with_capacity(paths.len());
    for (i, (path, content)) in paths.iter().zip(contents).enumerate() {
        let bytes = match content {
            Value::String(s) => Some(s.as_bytes().to_vec()),
            Value::Base64(b) => Some(b.clone()),
            _ => None,
        };
        match bytes {
            Some(bytes) => {
                batch.push((path.clone(), bytes));
                refused.push(None);
            }
            None => refused.push(Some(format!(
                "{path:?}: file {} must be a string or base64, got {}",
                i + 1,
                content.kind()
            ))),
        }
    }
    let xs = env.config;
    let limits = files::Limits {
        max_file_size: xs.max_file_size.get(),
        max_bytes_per_user: xs.max_bytes_per_user.get(),
    };
    let legal = |path: &str| xs.allows_extension(path);
    let now = clock::unix_now();
    let outcomes = crate::db::write(env.db, |tx| {
        let outcomes = files::save_many(tx, user.id, &batch, &limits, &legal, now)?;
        let saved_bytes: i64 = batch
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| o.is_ok())
            .map(|((_, b), _)| b.len() as i64)
            .sum();
        accounts::record_upstream(tx, user.id, saved_bytes, now)?;
        Ok::<_, rusqlite::Error>(outcomes)
    })?;
    let files_url = &env.urls.files;
    let mut url_list = Vec::with_capacity(paths.len());
    let mut errors = Vec::new();
    let mut changed = Vec::new();
    let mut saved = 0;
    let mut outcome_iter = outcomes.into_iter();
    let mut batch_iter = batch.iter();
    for refusal in refused {
        if let Some(reason) = refusal {
            url_list.push(Value::string(""));
            errors.push(reason);
            continue;
        }
        let (Some(outcome), Some((path, _))) = (outcome_iter.next(), batch_iter.next()) else {
            break;
        };
        match outcome {
            Ok(()) => {
                let stored = files::validate_path(path).unwrap_or_else(|_| path.clone());
                let url = files::file_url(files_url, user.id, &stored);
                changed.push(url.clone());
                url_list.push(Value::string(url));
                saved += 1;
            }
            Err(e) => {
                url_list.push(Value::string(""));
                errors.push(e.to_string());
            }
        }
    }
    notify::notify_changes(env.db, env.notifier, &changed);
    let message = outcome_message(saved, "saved", &user.name, &errors);
    Ok(structure([
        ("flError", Value::Bool(!errors.is_empty())),
        ("message", Value::string(message)),
        ("urlList", Value::Array(url_list)),
        (
            "yourUpstreamFolderUrl",
            Value::string(folder_url(env, &user)),
        ),
    ]))
}

/// PyCS's summary ("2 files have been saved for you, Name.") with each failure appended.
fn outcome_message(count: usize, done: &str, name: &str, errors: &[String]) -> String {
    let files = if count == 1 { "file has" } else { "files have" };
    let mut message = format!("{count} {files} been {done} for you, {name}.");
    for error in errors {
        message.push_str("; ");
        message.push_str(error);
    }
    message
}

pub fn delete_multiple_files(
    env: &mut Env<'_>,
    caller: &Caller<'_>,
    args: &Args<'_>,
) -> MethodResult {
    let paths = args.strings(2)?;
    let user = authenticated(env, caller, args)?;
    let outcomes = crate::db::write(env.db, |tx| {
        let outcomes = files::delete_many(tx, user.id, &paths)?;
        let deleted = outcomes.iter().filter(|o| o.is_ok()).count() as i64;
        accounts::record_deletions(tx, user.id, deleted)?;
        Ok::<_, rusqlite::Error>(outcomes)
    })?;
    let mut error_list = Vec::with_capacity(outcomes.len());
    let mut errors = Vec::new();
    let mut changed = Vec::new();
    for (path, outcome) in paths.iter().zip(outcomes) {
        match outcome {
            Ok(()) => {
                error_list.push(Value::string(""));
                if let Ok(stored) = files::validate_path(path) {
                    changed.push(files::file_url(&env.urls.files, user.id, &stored));
                }
            }
            Err(e) => {
                let text = e.to_string();
                error_list.push(Value::string(text.clone()));
                errors.push(text);
            }
        }
    }
    notify::notify_changes(env.db, env.notifier, &changed);
    let deleted = paths.len() - errors.len();
    let message = outcome_message(deleted, "deleted", &user.name, &errors);
    Ok(structure([
        ("flError", Value::Bool(!errors.is_empty())),
        ("message", Value::string(message)),
        ("errorList", Value::Array(error_list)),
    ]))
}

pub fn get_my_directory(env: &mut Env<'_>, caller: &Caller<'_>, args: &Args<'_>) -> MethodResult {
    let user = authenticated(env, caller, args)?;
    let listing = files::list(env.db, user.id)?;
    let directory: Vec<(String, Value)> = listing
        .iter()
        .enumerate()
        .map(|(i, f)| {
            (
                format!("file{:05}", i + 1),
                structure([
                    ("relativePath", Value::string(f.path.clone())),
                    ("size", Value::Int(f.size)),
                    (
                        "url",
                        Value::string(files::file_url(&env.urls.files, user.id, &f.path)),
                    ),
                    ("whenCreated", Value::DateTime(f.created_at)),
                    ("whenLastUploaded", Value::DateTime(f.updated_at)),
                ]),
            )
        })
        .collect();
    Ok(structure([
        ("flError", Value::Bool(false)),
        ("message", Value::string("")),
        ("directory", Value::Struct(directory)),
        (
            "yourUpstreamFolderUrl",
            Value::string(folder_url(env, &user)),
        ),
    ]))
}

fn text_member<'v>(info: Option<&'v Value>, name: &str) -> Option<&'v str> {
    match info?.member(name)? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

pub fn ping(env: &mut Env<'_>, caller: &Caller<'_>, args: &Args<'_>) -> MethodResult {
    let status = args.int(2)?.unwrap_or(0);
    let client_port = args.int(3).unwrap_or(None);
    let info = args.structure(4)?;
    let user = authenticated(env, caller, args)?;
    let signing_on = status == 0;
    let ping = accounts::PingInfo {
        signing_on,
        client_port,
        weblog_title: text_member(info, "weblogTitle"),
        organization: text_member(info, "organization"),
        url: text_member(info, "url"),
        serial_number: text_member(info, "serialNumber"),
        behind_firewall: info
            .and_then(|i| i.member("flBehindFirewall"))
            .and_then(|v| match v {
                Value::Bool(b) => Some(*b),
                Value::Int(n) => Some(*n != 0),
                _ => None,
            }),
        user_agent: caller.user_agent,
    };
    let now = clock::unix_now();
    let ip = caller.ip.to_string();
    let first = crate::db::write(env.db, |tx| {
        accounts::record_access(tx, user.id, &ip, now)?;
        accounts::record_ping(tx, user.id, &ping, now)
    })?;
    let folder = folder_url(env, &user);
    if !signing_on {
        return Ok(structure([
            ("flError", Value::Bool(false)),
            (
                "message",
                Value::string(format!("See you later, {}!", user.name)),
            ),
            ("yourUpstreamFolderUrl", Value::string(folder)),
        ]));
    }
    let Some(user) = accounts::find(env.db, user.id)? else {
        return Ok(flag(true, BAD_LOGIN));
    };
    let when = |t: Option<i64>| Value::DateTime(t.unwrap_or(user.created_at));
    let mut cloud = vec![
        ("ctAccesses".to_string(), Value::Int(user.ct_accesses)),
        (
            "ctBytesInUse".to_string(),
            Value::Int(files::bytes_in_use(env.db, user.id)?),
        ),
        (
            "ctBytesUpstreamed".to_string(),
            Value::Int(user.ct_bytes_upstreamed),
        ),
        (
            "ctFileDeletions".to_string(),
            Value::Int(user.ct_file_deletions),
        ),
        ("ctSignons".to_string(), Value::Int(user.ct_signons)),
        ("ctUpstreams".to_string(), Value::Int(user.ct_upstreams)),
        ("email".to_string(), Value::string(user.email.clone())),
        (
            "flBehindFirewall".to_string(),
            Value::Bool(user.behind_firewall),
        ),
        ("flSignedOn".to_string(), Value::Bool(user.signed_on)),
        ("ip".to_string(), Value::string(ip)),
        (
            "messageOfTheDay".to_string(),
            Value::string(env.config.message_of_the_day.clone()),
        ),
        ("name".to_string(), Value::string(user.name.clone())),
        (
            "organization".to_string(),
            Value::string(user.organization.clone()),
        ),
        (
            "port".to_string(),
            Value::string(user.client_port.map_or(String::new(), |p| p.to_string())),
        ),
        (
            "serialNumber".to_string(),
            Value::string(user.serial_number.clone()),
        ),
        ("url".to_string(), Value::string(user.url.clone())),
        (
            "userAgent".to_string(),
            Value::string(user.user_agent.clone()),
        ),
        ("usernum".to_string(), Value::string(user.usernum())),
        (
            "weblogTitle".to_string(),
            Value::string(user.weblog_title.clone()),
        ),
        ("whenCreated".to_string(), Value::DateTime(user.created_at)),
        ("whenLastAccess".to_string(), when(user.last_access_at)),
        ("whenLastSignOff".to_string(), when(user.last_signoff_at)),
        ("whenLastSignOn".to_string(), when(user.last_signon_at)),
        ("whenLastUpstream".to_string(), when(user.last_upstream_at)),
    ];
    if first {
        cloud.push(("flNewUser".to_string(), Value::Bool(true)));
    }
    Ok(structure([
        ("flError", Value::Bool(false)),
        (
            "message",
            Value::string(format!("Thanks for the ping, {}!", user.name)),
        ),
        ("yourUpstreamFolderUrl", Value::string(folder)),
        ("cloudData", Value::Struct(cloud)),
    ]))
}

/// requestNotification, pleaseNotify and rssPleaseNotify: register the caller for change
/// notifications. The callback target is always the caller's own address, never a host
/// named in the request, so the server cannot be used to reach anything else.
pub fn request_notification(
    env: &mut Env<'_>,
    caller: &Caller<'_>,
    args: &Args<'_>,
) -> MethodResult {
    let procedure = args.string(0)?;
    let port = args.int(1)?.unwrap_or(0);
    let path = args.string(2)?;
    let protocol = args.string(3)?.to_ascii_lowercase();
    let urls = args.strings(4)?;
    if protocol != "xml-rpc" && protocol != "soap" {
        return Ok(flag(true, "Not valid protocol identifier"));
    }
    if !(1..=65535).contains(&port) {
        return Ok(flag(true, "The port must be between 1 and 65535."));
    }
    if procedure.is_empty() || procedure.len() > 255 || procedure.chars().any(char::is_control) {
        return Ok(flag(true, "A valid notifyProcedure is required."));
    }
    let path = if path.is_empty() {
        "/RPC2".to_string()
    } else {
        path
    };
    if !path.starts_with('/')
        || path.len() > 1024
        || path.chars().any(|c| c.is_control() || c == ' ')
    {
        return Ok(flag(
            true,
            "The path must be an absolute path such as /RPC2.",
        ));
    }
    if urls.is_empty() {
        return Ok(flag(true, "urlList is empty."));
    }
    let ours = format!("{}/users/", env.urls.files);
    if let Some(bad) = urls.iter().find(|u| !u.starts_with(&ours)) {
        return Ok(flag(
            true,
            &format!("Not valid url: {bad} is not stored on this server"),
        ));
    }
    let host = caller.ip.to_string();
    let now = clock::unix_now();
    let registration = notify::Registration {
        host: &host,
        port,
        path: &path,
        procedure: &procedure,
        protocol: &protocol,
    };
    crate::db::write(env.db, |tx| notify::register(tx, &registration, &urls, now))?;
    Ok(flag(
        false,
        &format!(
            "Thanks for the registration. It expires in 25 hours; register again before then to \
             keep receiving notifications for {} URL(s).",
            urls.len()
        ),
    ))
}

/// `radioCommunityServer.getInitialResources`: where the OPML files below are served.
pub fn initial_resources(
    env: &mut Env<'_>,
    _caller: &Caller<'_>,
    _args: &Args<'_>,
) -> MethodResult {
    let base = &env.urls.xmlstorage;
    Ok(structure(INITIAL_RESOURCES.iter().map(|(stem, _)| {
        (
            *stem,
            Value::string(format!("{base}/initialResources/{stem}.opml")),
        )
    })))
}

/// The OPML files Radio fetches right after choosing a community server.
pub const INITIAL_RESOURCES: &[(&str, &str)] = &[
    (
        "defaultCategories",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"1.1\">\n<head><title>Default categories</title></head>\n<body>\n<outline text=\"General\"/>\n</body>\n</opml>\n",
    ),
    (
        "defaultFeeds",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"1.1\">\n<head><title>Default feeds</title></head>\n<body/>\n</opml>\n",
    ),
];

/// `weblogUpdates.ping`: a weblog says it changed; it is listed in `changes.xml`.
pub fn weblog_updates_ping(
    env: &mut Env<'_>,
    _caller: &Caller<'_>,
    args: &Args<'_>,
) -> MethodResult {
    let name = args.string(0)?;
    let url = args.string(1)?;
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://"))
        || url.len() > 1024
        || url.chars().any(|c| c.is_control() || c == ' ')
    {
        return Ok(flag(true, "The weblog URL must be an http or https URL."));
    }
    let name: String = name.chars().filter(|c| !c.is_control()).take(255).collect();
    let now = clock::unix_now();
    crate::db::write(env.db, |tx| weblog::record(tx, &name, &url, now))?;
    Ok(flag(false, "Thanks for the ping!"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_of_public_urls() {
        assert_eq!(
            host_and_port("http://127.0.0.1:5445"),
            ("127.0.0.1".into(), 5445)
        );
        assert_eq!(
            host_and_port("https://pl.example.org"),
            ("pl.example.org".into(), 443)
        );
        assert_eq!(host_and_port("http://[::1]:8080/x"), ("[::1]".into(), 8080));
    }
}
