//! xmlStorageSystem: the methods, shared by the XML-RPC (`/RPC2`) and SOAP
//! (`/xmlStorageSystem`) endpoints. Methods take and return typed [`Value`]s and know nothing
//! of XML; the codecs know nothing of methods. This module also owns the `notifications` and
//! `weblog_pings` tables.
//!
//! Application errors (a wrong password, a quota) are ordinary results with `flError` true, as
//! every client expects; only protocol errors (unknown method, wrong parameters, bad XML) are
//! faults.

use std::net::{IpAddr, TcpStream};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::Duration;

use rusqlite::{Connection, params};

use crate::accounts::{self, User};
use crate::clock;
use crate::credentials::{Caching, CredentialError, Stored};
use crate::db;
use crate::endpoints::worker::Worker;
use crate::files;
use crate::http::{Request, Response};
use crate::metrics::{self, Outcome};
use crate::reset::ResetError;
use crate::value::{Call, Fault, Kind, MethodSpec, Value, structure};
use crate::xml::{Allowance, Encoding};
use crate::{soap, xmlrpc};

const BAD_LOGIN: &str = "Can't access because user does not exist or password is incorrect.";
const NO_MAIL: &str = "Mail service is not available on that server.";
const STORAGE_FULL: &str =
    "The server's storage is full, so nothing was saved. Please try again later.";
const BUSY: &str = "The server is busy, so nothing was saved. Please try again in a moment.";
const DB_UNAVAILABLE: &str = "The server's database is unavailable, so nothing was saved. Its \
     operator has to restore it; please try again later.";
/// The same answer whether or not the address has an account.
const MAIL_SENT: &str =
    "If that address has an account, a password reset link has been mailed to it.";
const REGISTRATION_REFUSED: &str = "Can't register with that email address and password. If you registered before, use the \
     password you registered with.";
/// rssCloud's convention: registrations expire after 25 hours.
const NOTIFICATION_LIFETIME_SECS: i64 = 25 * 3600;
/// A read-only call updates the user's last-access time at most this often.
const ACCESS_RECORD_INTERVAL_SECS: i64 = 60;
/// How many recent weblogUpdates pings are kept for changes.xml.
const WEBLOG_PINGS_KEPT: i64 = 1000;

use Kind::{Any, BinaryArray, Bool, Int, String as Str, StringArray, Struct};

/// Every method, its parameters and its result members: the dispatch table, the WSDL, and the
/// names SOAP parameters are matched against.
pub const METHODS: &[MethodSpec] = &[
    MethodSpec {
        name: "xmlStorageSystem.registerUser",
        params: &[
            ("email", Str),
            ("name", Str),
            ("password", Str),
            ("clientPort", Int),
            ("userAgent", Str),
            ("serialNumber", Str),
        ],
        required: 5,
        returns: &[("usernum", Str), ("flError", Bool), ("message", Str)],
    },
    MethodSpec {
        name: "xmlStorageSystem.getServerCapabilities",
        params: &[("email", Str), ("password", Str)],
        required: 2,
        returns: &[
            ("flError", Bool),
            ("message", Str),
            ("yourUpstreamFolderUrl", Str),
            ("ctBytesInUse", Int),
            ("maxFileSize", Int),
            ("maxBytesPerUser", Int),
            ("legalFileExtensions", StringArray),
            ("community", Struct),
            ("weblogUpdates", Struct),
            ("minutesBetweenPings", Int),
            ("flSearchableCommunity", Bool),
            ("staticUrls", StringArray),
            ("urlRankingsByPageReads", Str),
            ("urlReferers", Str),
            ("urlSpamFreeMailto", Str),
            ("urlWeblogUpdates", Str),
            ("webBugUrl", Str),
        ],
    },
    MethodSpec {
        name: "xmlStorageSystem.saveMultipleFiles",
        params: &[
            ("email", Str),
            ("password", Str),
            ("relativepathList", StringArray),
            ("fileTextList", BinaryArray),
        ],
        required: 4,
        returns: &[
            ("flError", Bool),
            ("message", Str),
            ("urlList", StringArray),
            ("yourUpstreamFolderUrl", Str),
        ],
    },
    MethodSpec {
        name: "xmlStorageSystem.deleteMultipleFiles",
        params: &[
            ("email", Str),
            ("password", Str),
            ("relativepathList", StringArray),
        ],
        required: 3,
        returns: &[
            ("flError", Bool),
            ("message", Str),
            ("errorList", StringArray),
        ],
    },
    MethodSpec {
        name: "xmlStorageSystem.getMyDirectory",
        params: &[("email", Str), ("password", Str)],
        required: 2,
        returns: &[
            ("flError", Bool),
            ("message", Str),
            ("directory", Struct),
            ("yourUpstreamFolderUrl", Str),
        ],
    },
    MethodSpec {
        name: "xmlStorageSystem.mailPasswordToUser",
        params: &[("email", Str)],
        required: 1,
        returns: &[("flError", Bool), ("message", Str)],
    },
    MethodSpec {
        name: "xmlStorageSystem.ping",
        params: &[
            ("email", Str),
            ("password", Str),
            ("status", Int),
            ("clientPort", Int),
            ("userinfo", Any),
        ],
        required: 4,
        returns: &[
            ("flError", Bool),
            ("message", Str),
            ("yourUpstreamFolderUrl", Str),
            ("cloudData", Struct),
        ],
    },
    MethodSpec {
        name: "xmlStorageSystem.requestNotification",
        params: &[
            ("notifyProcedure", Str),
            ("port", Int),
            ("path", Str),
            ("protocol", Str),
            ("urlList", StringArray),
            ("userinfo", Any),
        ],
        required: 5,
        returns: &[("flError", Bool), ("message", Str)],
    },
    MethodSpec {
        name: "xmlStorageSystem.pleaseNotify",
        params: &[
            ("notifyProcedure", Str),
            ("port", Int),
            ("path", Str),
            ("protocol", Str),
            ("urlList", StringArray),
        ],
        required: 5,
        returns: &[("flError", Bool), ("message", Str)],
    },
    MethodSpec {
        name: "xmlStorageSystem.rssPleaseNotify",
        params: &[
            ("notifyProcedure", Str),
            ("port", Int),
            ("path", Str),
            ("protocol", Str),
            ("urlList", StringArray),
        ],
        required: 5,
        returns: &[],
    },
    MethodSpec {
        name: "radioCommunityServer.getInitialResources",
        params: &[],
        required: 0,
        returns: &[("defaultCategories", Str), ("defaultFeeds", Str)],
    },
    MethodSpec {
        name: "weblogUpdates.ping",
        params: &[
            ("weblogName", Str),
            ("weblogUrl", Str),
            ("changesUrl", Str),
            ("category", Str),
        ],
        required: 2,
        returns: &[("flError", Bool), ("message", Str)],
    },
];

/// Who is calling: what the methods may know of the connection.
pub struct Caller<'a> {
    pub ip: IpAddr,
    pub user_agent: &'a str,
}

/// Records the request; the mailer thread decides whether the address has an account, so the
/// answer and its timing say nothing about it.
fn mail_password_to_user(
    ctx: &mut Worker,
    caller: &Caller<'_>,
    args: &Args<'_>,
) -> Result<Value, MethodError> {
    let email = args.string(0)?;
    match ctx.shared.reset.request_for_email(&email, caller.ip) {
        Ok(()) => Ok(flag(false, MAIL_SENT)),
        Err(ResetError::MailDisabled) => Ok(flag(true, NO_MAIL)),
        Err(ResetError::Db(e)) => Err(MethodError::Db(e)),
        // Not produced for address requests, which fail quietly when over the limit.
        Err(ResetError::RateLimited) => Ok(flag(false, MAIL_SENT)),
    }
}

/// Finds a method by its XML-RPC name, or by its bare SOAP operation name.
pub fn method_spec(name: &str) -> Option<&'static MethodSpec> {
    METHODS.iter().find(|m| m.name == name).or_else(|| {
        (!name.contains('.'))
            .then(|| METHODS.iter().find(|m| m.operation() == name))
            .flatten()
    })
}

/// Runs one call, and notes its method and outcome for `/metrics`.
pub fn call(ctx: &mut Worker, caller: &Caller<'_>, call: &Call) -> Result<Value, Fault> {
    let spec = method_spec(&call.method);
    ctx.note
        .method(spec.map_or(metrics::OTHER, |spec| spec.name));
    let result = match spec {
        Some(spec) => run(ctx, caller, spec, call),
        None => Err(Fault::protocol(format!("unknown method {:?}", call.method))),
    };
    ctx.note.outcome(match &result {
        Ok(value) if failed(value) => Outcome::Error,
        Ok(_) => Outcome::Ok,
        Err(fault) if fault.client => Outcome::Fault,
        Err(_) => Outcome::ServerError,
    });
    result
}

/// Whether a method's result reports failure: `flError` true, or `false` from
/// `rssPleaseNotify` (which returns a bare boolean).
fn failed(value: &Value) -> bool {
    matches!(value, Value::Bool(false)) || value.member("flError") == Some(&Value::Bool(true))
}

fn run(
    ctx: &mut Worker,
    caller: &Caller<'_>,
    spec: &'static MethodSpec,
    call: &Call,
) -> Result<Value, Fault> {
    let args = Args::bind(spec, call)?;
    let result = match spec.name {
        "xmlStorageSystem.registerUser" => register_user(ctx, caller, &args),
        "xmlStorageSystem.getServerCapabilities" => get_server_capabilities(ctx, caller, &args),
        "xmlStorageSystem.saveMultipleFiles" => save_multiple_files(ctx, caller, &args),
        "xmlStorageSystem.deleteMultipleFiles" => delete_multiple_files(ctx, caller, &args),
        "xmlStorageSystem.getMyDirectory" => get_my_directory(ctx, caller, &args),
        "xmlStorageSystem.mailPasswordToUser" => mail_password_to_user(ctx, caller, &args),
        "xmlStorageSystem.ping" => ping(ctx, caller, &args),
        "xmlStorageSystem.requestNotification" | "xmlStorageSystem.pleaseNotify" => {
            request_notification(ctx, caller, &args)
        }
        "xmlStorageSystem.rssPleaseNotify" => request_notification(ctx, caller, &args)
            .map(|result| Value::Bool(result.member("flError") == Some(&Value::Bool(false)))),
        "radioCommunityServer.getInitialResources" => Ok(initial_resources(ctx)),
        "weblogUpdates.ping" => weblog_updates_ping(ctx, &args),
        other => Err(MethodError::Fault(Fault::protocol(format!(
            "unknown method {other:?}"
        )))),
    };
    match result {
        Ok(value) => Ok(value),
        Err(MethodError::Fault(f)) => Err(f),
        // Conditions the operator can fix, told in the protocol's own terms: the client shows
        // the message, nothing was changed, and the next try may work.
        // Logged once, where it was noticed (`db::watch`), not once per refused write.
        Err(MethodError::Db(e)) if db::is_vanished(&e) => {
            ctx.note.outcome(Outcome::ServerError);
            Ok(flag(true, DB_UNAVAILABLE))
        }
        Err(MethodError::Db(e)) if db::is_full(&e) => {
            ctx.note.outcome(Outcome::ServerError);
            log::error!(
                "{}: the database is full (storage.max_db_bytes or the disk)",
                spec.name
            );
            Ok(flag(true, STORAGE_FULL))
        }
        Err(MethodError::Db(e)) if db::is_busy(&e) => {
            ctx.note.outcome(Outcome::ServerError);
            log::warn!(
                "{}: the database stayed locked past the busy timeout",
                spec.name
            );
            Ok(flag(true, BUSY))
        }
        Err(MethodError::Db(e)) => {
            log::error!("{}: database error: {e}", spec.name);
            Err(Fault::server(
                "internal error; the request was not completed",
            ))
        }
    }
}

enum MethodError {
    Fault(Fault),
    Db(rusqlite::Error),
}

impl From<Fault> for MethodError {
    fn from(f: Fault) -> Self {
        MethodError::Fault(f)
    }
}

impl From<rusqlite::Error> for MethodError {
    fn from(e: rusqlite::Error) -> Self {
        MethodError::Db(e)
    }
}

type MethodResult = Result<Value, MethodError>;

/// The call's parameters in the method's declared order: SOAP parameters matched by name
/// (case-insensitively), falling back to position.
struct Args<'a> {
    spec: &'static MethodSpec,
    values: Vec<Option<&'a Value>>,
}

impl<'a> Args<'a> {
    fn bind(spec: &'static MethodSpec, call: &'a Call) -> Result<Args<'a>, Fault> {
        let n = call.params.len();
        if n < spec.required || n > spec.params.len() {
            let expected = if spec.required == spec.params.len() {
                format!("{}", spec.required)
            } else {
                format!("{} to {}", spec.required, spec.params.len())
            };
            return Err(Fault::protocol(format!(
                "{} takes {expected} parameters, got {n}",
                spec.name
            )));
        }
        let mut values: Vec<Option<&Value>> = vec![None; spec.params.len()];
        let mut used = vec![false; n];
        for (i, (name, _)) in spec.params.iter().enumerate() {
            if let Some(j) = call.params.iter().position(|p| {
                p.name
                    .as_deref()
                    .is_some_and(|pn| pn.eq_ignore_ascii_case(name))
            }) {
                values[i] = Some(&call.params[j].value);
                used[j] = true;
            }
        }
        // Unmatched parameters fill the remaining slots in order.
        let mut rest = (0..n).filter(|j| !used[*j]);
        for slot in values.iter_mut() {
            if slot.is_none() {
                match rest.next() {
                    Some(j) => *slot = Some(&call.params[j].value),
                    None => break,
                }
            }
        }
        for (i, slot) in values.iter().enumerate().take(spec.required) {
            if slot.is_none() {
                return Err(Fault::protocol(format!(
                    "{}: parameter {:?} is missing",
                    spec.name, spec.params[i].0
                )));
            }
        }
        Ok(Args { spec, values })
    }

    fn get(&self, i: usize) -> Option<&'a Value> {
        self.values.get(i).copied().flatten()
    }

    fn type_error(&self, i: usize, expected: &str, got: &Value) -> Fault {
        let name = self.spec.params.get(i).map_or("?", |p| p.0);
        Fault::protocol(format!(
            "{}: parameter {} ({name}) must be {expected}, got {}",
            self.spec.name,
            i + 1,
            got.kind()
        ))
    }

    /// A string; an int is accepted where clients send numbers (the usernum).
    fn string(&self, i: usize) -> Result<String, Fault> {
        match self.get(i) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Int(n)) => Ok(n.to_string()),
            Some(Value::Nil) | None => Ok(String::new()),
            Some(other) => Err(self.type_error(i, "a string", other)),
        }
    }

    /// An int; a numeric string is accepted (Radio sent clientPort as a string).
    fn int(&self, i: usize) -> Result<Option<i64>, Fault> {
        match self.get(i) {
            Some(Value::Int(n)) => Ok(Some(*n)),
            Some(Value::Bool(b)) => Ok(Some(i64::from(*b))),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.type_error(i, "an int", &Value::String(s.clone()))),
            Some(Value::Nil) | None => Ok(None),
            Some(other) => Err(self.type_error(i, "an int", other)),
        }
    }

    fn array(&self, i: usize) -> Result<&'a [Value], Fault> {
        match self.get(i) {
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(self.type_error(i, "an array", other)),
            None => Ok(&[]),
        }
    }

    /// An array of strings (paths, URLs).
    fn strings(&self, i: usize) -> Result<Vec<String>, Fault> {
        self.array(i)?
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(self.type_error(i, "an array of strings", other)),
            })
            .collect()
    }

    fn structure(&self, i: usize) -> Result<Option<&'a Value>, Fault> {
        match self.get(i) {
            Some(v @ Value::Struct(_)) => Ok(Some(v)),
            // An empty userinfo often arrives as an empty string or array.
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::Array(a)) if a.is_empty() => Ok(None),
            Some(Value::Nil) | None => Ok(None),
            Some(other) => Err(self.type_error(i, "a struct", other)),
        }
    }
}

fn flag(error: bool, message: &str) -> Value {
    structure([
        ("flError", Value::Bool(error)),
        ("message", Value::string(message)),
    ])
}

/// Outcome of checking a login and credential.
enum Auth {
    Ok(Box<User>),
    /// A struct to return as is: bad login, or the server is too busy to check.
    Refused(Value),
}

/// Checks the usernum-or-email and MD5 credential of a call. An unknown user costs the same
/// argon2 work as a known one, so timing does not reveal which accounts exist.
fn authenticate(ctx: &Worker, login: &str, credential: &str) -> Result<Auth, MethodError> {
    let credential = credential.trim().to_ascii_lowercase();
    let user = accounts::find_by_login(&ctx.db, login)?;
    let stored = user.as_ref().map(|u| Stored {
        id: u.id,
        hash: &u.password_hash,
    });
    let verified =
        match ctx
            .shared
            .credentials
            .verify_or_dummy(stored, &credential, Caching::Cached)
        {
            Ok(ok) => ok,
            Err(CredentialError::Busy) => {
                return Ok(Auth::Refused(flag(
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
        Some(u) if verified && !u.disabled => Ok(Auth::Ok(Box::new(u))),
        _ => Ok(Auth::Refused(flag(true, BAD_LOGIN))),
    }
}

macro_rules! authenticated {
    ($ctx:expr, $args:expr) => {{
        let login = $args.string(0)?;
        let credential = $args.string(1)?;
        match authenticate($ctx, &login, &credential)? {
            Auth::Ok(user) => user,
            Auth::Refused(reply) => return Ok(reply),
        }
    }};
}

fn folder_url(ctx: &Worker, user: &User) -> String {
    files::folder_url(&ctx.shared.urls.files, user.id)
}

fn register_user(ctx: &mut Worker, caller: &Caller<'_>, args: &Args<'_>) -> MethodResult {
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
    if let Some(existing) = accounts::find_by_email(&ctx.db, email)? {
        // PyCS: registering again with the same password is a log-in.
        let same =
            match ctx
                .shared
                .credentials
                .verify(existing.id, &credential, &existing.password_hash)
            {
                Ok(ok) => ok && !existing.disabled,
                Err(CredentialError::Busy) => {
                    return Ok(flag(true, "The server is busy; try again in a moment."));
                }
                Err(_) => false,
            };
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
    let max_users = ctx.shared.config().xmlstorage.max_users;
    if max_users > 0 && accounts::count(&ctx.db)? >= i64::try_from(max_users).unwrap_or(i64::MAX) {
        return Ok(flag(true, "Sorry, this server is not accepting new users."));
    }
    let hash = match ctx.shared.credentials.hash(&credential) {
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
    let created = crate::db::write(&mut ctx.db, |tx| accounts::create(tx, &new, now))?;
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

fn get_server_capabilities(ctx: &mut Worker, caller: &Caller<'_>, args: &Args<'_>) -> MethodResult {
    let user = authenticated!(ctx, args);
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
        let recorded = crate::db::write(&mut ctx.db, |tx| {
            accounts::record_access(tx, user.id, &ip, now)
        });
        match recorded {
            Ok(()) => {}
            Err(e) if db::is_vanished(&e) => {}
            Err(e) if db::is_full(&e) || db::is_busy(&e) => {
                log::warn!("getServerCapabilities: access not recorded: {e}");
            }
            Err(e) => return Err(e.into()),
        }
    }
    let config = ctx.shared.config();
    let xs = &config.xmlstorage;
    let public = &ctx.shared.urls.xmlstorage;
    let (host, port) = host_and_port(public);
    Ok(structure([
        ("flError", Value::Bool(false)),
        (
            "message",
            Value::string(format!("Hello, {}, from passlink!", user.name)),
        ),
        (
            "yourUpstreamFolderUrl",
            Value::string(folder_url(ctx, &user)),
        ),
        (
            "ctBytesInUse",
            Value::Int(files::bytes_in_use(&ctx.db, user.id)?),
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

fn save_multiple_files(ctx: &mut Worker, _caller: &Caller<'_>, args: &Args<'_>) -> MethodResult {
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
    let user = authenticated!(ctx, args);
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
    let config = ctx.shared.config();
    let xs = &config.xmlstorage;
    let limits = files::Limits {
        max_file_size: xs.max_file_size.get(),
        max_bytes_per_user: xs.max_bytes_per_user.get(),
    };
    let legal = |path: &str| xs.allows_extension(path);
    let now = clock::unix_now();
    let outcomes = crate::db::write(&mut ctx.db, |tx| {
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
    let files_url = &ctx.shared.urls.files;
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
    notify_changes(ctx, &changed);
    let message = outcome_message(saved, "saved", &user.name, &errors);
    Ok(structure([
        ("flError", Value::Bool(!errors.is_empty())),
        ("message", Value::string(message)),
        ("urlList", Value::Array(url_list)),
        (
            "yourUpstreamFolderUrl",
            Value::string(folder_url(ctx, &user)),
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

fn delete_multiple_files(ctx: &mut Worker, _caller: &Caller<'_>, args: &Args<'_>) -> MethodResult {
    let paths = args.strings(2)?;
    let user = authenticated!(ctx, args);
    let outcomes = crate::db::write(&mut ctx.db, |tx| {
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
                    changed.push(files::file_url(&ctx.shared.urls.files, user.id, &stored));
                }
            }
            Err(e) => {
                let text = e.to_string();
                error_list.push(Value::string(text.clone()));
                errors.push(text);
            }
        }
    }
    notify_changes(ctx, &changed);
    let deleted = paths.len() - errors.len();
    let message = outcome_message(deleted, "deleted", &user.name, &errors);
    Ok(structure([
        ("flError", Value::Bool(!errors.is_empty())),
        ("message", Value::string(message)),
        ("errorList", Value::Array(error_list)),
    ]))
}

fn get_my_directory(ctx: &mut Worker, _caller: &Caller<'_>, args: &Args<'_>) -> MethodResult {
    let user = authenticated!(ctx, args);
    let listing = files::list(&ctx.db, user.id)?;
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
                        Value::string(files::file_url(&ctx.shared.urls.files, user.id, &f.path)),
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
            Value::string(folder_url(ctx, &user)),
        ),
    ]))
}

fn text_member<'v>(info: Option<&'v Value>, name: &str) -> Option<&'v str> {
    match info?.member(name)? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

fn ping(ctx: &mut Worker, caller: &Caller<'_>, args: &Args<'_>) -> MethodResult {
    let status = args.int(2)?.unwrap_or(0);
    let client_port = args.int(3).unwrap_or(None);
    let info = args.structure(4)?;
    let user = authenticated!(ctx, args);
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
    let first = crate::db::write(&mut ctx.db, |tx| {
        accounts::record_access(tx, user.id, &ip, now)?;
        accounts::record_ping(tx, user.id, &ping, now)
    })?;
    let folder = folder_url(ctx, &user);
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
    let Some(user) = accounts::find(&ctx.db, user.id)? else {
        return Ok(flag(true, BAD_LOGIN));
    };
    let when = |t: Option<i64>| Value::DateTime(t.unwrap_or(user.created_at));
    let mut cloud = vec![
        ("ctAccesses".to_string(), Value::Int(user.ct_accesses)),
        (
            "ctBytesInUse".to_string(),
            Value::Int(files::bytes_in_use(&ctx.db, user.id)?),
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
            Value::string(ctx.shared.config().xmlstorage.message_of_the_day.clone()),
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
fn request_notification(ctx: &mut Worker, caller: &Caller<'_>, args: &Args<'_>) -> MethodResult {
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
    let ours = format!("{}/users/", ctx.shared.urls.files);
    if let Some(bad) = urls.iter().find(|u| !u.starts_with(&ours)) {
        return Ok(flag(
            true,
            &format!("Not valid url: {bad} is not stored on this server"),
        ));
    }
    let host = caller.ip.to_string();
    let now = clock::unix_now();
    crate::db::write(&mut ctx.db, |tx| {
        tx.execute(
            "DELETE FROM notifications WHERE expires_at <= ?1",
            params![now],
        )?;
        for url in &urls {
            tx.execute(
                "INSERT INTO notifications (url, host, port, path, procedure, protocol, \
                 expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (url, host, port, path, procedure) DO UPDATE SET \
                 protocol = excluded.protocol, expires_at = excluded.expires_at",
                params![
                    url,
                    host,
                    port,
                    path,
                    procedure,
                    protocol,
                    now + NOTIFICATION_LIFETIME_SECS
                ],
            )?;
        }
        Ok::<_, rusqlite::Error>(())
    })?;
    Ok(flag(
        false,
        &format!(
            "Thanks for the registration. It expires in 25 hours; register again before then to \
             keep receiving notifications for {} URL(s).",
            urls.len()
        ),
    ))
}

/// A change notification to deliver.
#[derive(Debug, Clone)]
pub struct Notification {
    pub host: String,
    pub port: u16,
    pub path: String,
    pub procedure: String,
    pub soap: bool,
    pub url: String,
}

/// Queues callbacks for registrations watching any of `urls`. Never blocks the request: a full
/// queue drops the notification with a log line.
fn notify_changes(ctx: &Worker, urls: &[String]) {
    if urls.is_empty() {
        return;
    }
    let due = match pending_notifications(&ctx.db, urls, clock::unix_now()) {
        Ok(due) => due,
        Err(e) => {
            log::error!("notifications: {e}");
            return;
        }
    };
    for n in due {
        match ctx.shared.notifier.try_send(n) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                log::warn!("notifications: queue full, a change notification was dropped");
            }
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}

fn pending_notifications(
    conn: &Connection,
    urls: &[String],
    now: i64,
) -> rusqlite::Result<Vec<Notification>> {
    let mut stmt = conn.prepare_cached(
        "SELECT host, port, path, procedure, protocol FROM notifications \
         WHERE url = ?1 AND expires_at > ?2",
    )?;
    let mut out = Vec::new();
    for url in urls {
        let rows = stmt.query_map(params![url, now], |r| {
            Ok(Notification {
                host: r.get(0)?,
                port: u16::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                path: r.get(2)?,
                procedure: r.get(3)?,
                soap: r.get::<_, String>(4)? == "soap",
                url: url.clone(),
            })
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// Starts the thread that delivers change notifications, and returns its queue.
pub fn start_notifier() -> std::io::Result<SyncSender<Notification>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1024);
    std::thread::Builder::new()
        .name("notifier".into())
        .spawn(move || run_notifier(&rx))?;
    Ok(tx)
}

fn run_notifier(rx: &Receiver<Notification>) {
    while let Ok(n) = rx.recv() {
        if let Err(e) = deliver(&n) {
            log::info!(
                "notifications: callback to {}:{}{} failed: {e}",
                n.host,
                n.port,
                crate::logging::sanitize(&n.path, 100)
            );
        }
    }
}

/// POSTs one callback, with short timeouts: the receiver is a desktop client that may be gone.
fn deliver(n: &Notification) -> std::io::Result<()> {
    use std::io::{Read, Write};
    const TIMEOUT: Duration = Duration::from_secs(5);
    let ip: IpAddr = n
        .host
        .parse()
        .map_err(|_| std::io::Error::other("stored host is not an IP address"))?;
    let addr = std::net::SocketAddr::new(ip, n.port);
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let url = Value::string(n.url.clone());
    let (body, soap_action) = if n.soap {
        let op = n.procedure.rsplit('.').next().unwrap_or(&n.procedure);
        (soap::encode_call(op, &[("url", url)]), true)
    } else {
        (xmlrpc::encode_call(&n.procedure, &[url]), false)
    };
    let host = match ip {
        IpAddr::V6(_) => format!("[{ip}]:{}", n.port),
        IpAddr::V4(_) => format!("{ip}:{}", n.port),
    };
    let mut head = format!(
        "POST {} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: passlink/{}\r\n\
         Content-Type: text/xml\r\nContent-Length: {}\r\n",
        n.path,
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    if soap_action {
        head.push_str(&format!("SOAPAction: \"{}\"\r\n", n.procedure));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)?;
    let mut status = [0u8; 12];
    stream.read_exact(&mut status)?;
    if !status.starts_with(b"HTTP/1.") || &status[9..10] != b"2" {
        return Err(std::io::Error::other(format!(
            "answered {}",
            String::from_utf8_lossy(&status)
        )));
    }
    Ok(())
}

fn initial_resources(ctx: &Worker) -> Value {
    let base = &ctx.shared.urls.xmlstorage;
    structure(INITIAL_RESOURCES.iter().map(|(stem, _)| {
        (
            *stem,
            Value::string(format!("{base}/initialResources/{stem}.opml")),
        )
    }))
}

/// The OPML files Radio fetches right after choosing a community server.
const INITIAL_RESOURCES: &[(&str, &str)] = &[
    (
        "defaultCategories",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"1.1\">\n<head><title>Default categories</title></head>\n<body>\n<outline text=\"General\"/>\n</body>\n</opml>\n",
    ),
    (
        "defaultFeeds",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"1.1\">\n<head><title>Default feeds</title></head>\n<body/>\n</opml>\n",
    ),
];

/// `GET /initialResources/<name>.opml`, served without authentication.
pub fn serve_initial_resource(_ctx: &mut Worker, req: &Request) -> Response {
    let name = req
        .path()
        .strip_prefix("/initialResources/")
        .and_then(|n| n.strip_suffix(".opml"));
    match INITIAL_RESOURCES
        .iter()
        .find(|(stem, _)| Some(*stem) == name)
    {
        Some((_, opml)) => {
            Response::new(200).with_body("text/x-opml; charset=utf-8", opml.as_bytes().to_vec())
        }
        None => Response::text(404, "not found"),
    }
}

fn weblog_updates_ping(ctx: &mut Worker, args: &Args<'_>) -> MethodResult {
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
    crate::db::write(&mut ctx.db, |tx| {
        tx.execute(
            "INSERT INTO weblog_pings (name, url, at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (url) DO UPDATE SET name = excluded.name, at = excluded.at",
            params![name, url, now],
        )?;
        tx.execute(
            "DELETE FROM weblog_pings WHERE id NOT IN \
             (SELECT id FROM weblog_pings ORDER BY at DESC, id DESC LIMIT ?1)",
            params![WEBLOG_PINGS_KEPT],
        )?;
        Ok::<_, rusqlite::Error>(())
    })?;
    Ok(flag(false, "Thanks for the ping!"))
}

/// `GET /weblogUpdates/changes.xml`: recently pinged weblogs, newest first.
pub fn serve_changes(ctx: &mut Worker, _req: &Request) -> Response {
    let rows: rusqlite::Result<Vec<(String, String, i64)>> = (|| {
        let mut stmt = ctx
            .db
            .prepare_cached("SELECT name, url, at FROM weblog_pings ORDER BY at DESC, id DESC")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect()
    })();
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            log::error!("changes.xml: {e}");
            return Response::text(503, "database unavailable");
        }
    };
    let now = clock::unix_now();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<weblogUpdates version=\"1\" updated=\"{}\" count=\"{}\">\n",
        clock::http_date(now),
        rows.len()
    );
    for (name, url, at) in rows {
        xml.push_str(&format!(
            "<weblog name=\"{}\" url=\"{}\" when=\"{}\"/>\n",
            quick_xml::escape::escape(name.as_str()),
            quick_xml::escape::escape(url.as_str()),
            (now - at).max(0)
        ));
    }
    xml.push_str("</weblogUpdates>\n");
    Response::new(200).with_body("text/xml; charset=utf-8", xml.into_bytes())
}

/// Which codec a body is in, from its root element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    XmlRpc,
    Soap,
}

/// Sniffs the root element: `methodCall` is XML-RPC, `Envelope` (any prefix) is SOAP.
fn sniff(body: &[u8]) -> Option<Codec> {
    let mut rest = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    loop {
        let start = rest.iter().position(|b| !b.is_ascii_whitespace())?;
        rest = &rest[start..];
        if rest.starts_with(b"<?") || rest.starts_with(b"<!--") || rest.starts_with(b"<!") {
            let close: &[u8] = if rest.starts_with(b"<!--") {
                b"-->"
            } else {
                b">"
            };
            let end = rest.windows(close.len()).position(|w| w == close)?;
            rest = &rest[end + close.len()..];
            continue;
        }
        let name_end = rest
            .iter()
            .position(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
            .unwrap_or(rest.len());
        let name = rest.get(1..name_end)?;
        let local = name.rsplit(|b| *b == b':').next().unwrap_or(name);
        return match local {
            b"methodCall" => Some(Codec::XmlRpc),
            b"Envelope" => Some(Codec::Soap),
            _ => None,
        };
    }
}

fn caller_of(req: &Request) -> Caller<'_> {
    Caller {
        ip: req.client,
        user_agent: req.header("User-Agent").unwrap_or(""),
    }
}

/// `POST /RPC2`: XML-RPC, or SOAP if the body is an envelope. XML-RPC faults go out with
/// HTTP 200, because davexmlrpc and Python treat any other status as a transport error.
pub fn handle_rpc2(ctx: &mut Worker, req: &Request) -> Response {
    match sniff(&req.body) {
        Some(Codec::Soap) => soap_exchange(ctx, req),
        _ => xmlrpc_exchange(ctx, req),
    }
}

/// `POST /xmlStorageSystem`: SOAP 1.1, or XML-RPC if the body is a methodCall.
pub fn handle_soap(ctx: &mut Worker, req: &Request) -> Response {
    match sniff(&req.body) {
        Some(Codec::XmlRpc) => xmlrpc_exchange(ctx, req),
        _ => soap_exchange(ctx, req),
    }
}

fn xmlrpc_exchange(ctx: &mut Worker, req: &Request) -> Response {
    let hold = ctx.shared.decode_memory();
    let mut take = |bytes: usize| hold.grow(bytes as u64).is_ok();
    let mut memory = Allowance::for_body(req.body.len()).with_pool(&mut take);
    let body = match xmlrpc::decode_call_within(&req.body, &mut memory) {
        Ok((decoded, encoding)) => match call(ctx, &caller_of(req), &decoded) {
            Ok(value) => xmlrpc::encode_response(&value, encoding),
            Err(fault) => xmlrpc::encode_fault(&fault, encoding),
        },
        Err(fault) => {
            ctx.note.method(metrics::OTHER);
            ctx.note.outcome(Outcome::Fault);
            xmlrpc::encode_fault(&fault, Encoding::Utf8)
        }
    };
    Response::new(200).with_body("text/xml", body)
}

fn soap_exchange(ctx: &mut Worker, req: &Request) -> Response {
    let hold = ctx.shared.decode_memory();
    let mut take = |bytes: usize| hold.grow(bytes as u64).is_ok();
    let mut memory = Allowance::for_body(req.body.len()).with_pool(&mut take);
    let decoded = soap::decode_call_within(&req.body, &mut memory);
    if decoded.is_err() {
        ctx.note.method(metrics::OTHER);
        ctx.note.outcome(Outcome::Fault);
    }
    let outcome = decoded.and_then(|(decoded, encoding)| {
        let value = call(ctx, &caller_of(req), &decoded)?;
        let op = decoded.method.rsplit('.').next().unwrap_or(&decoded.method);
        Ok(soap::encode_response(op, &value, encoding))
    });
    match outcome {
        Ok(body) => Response::new(200).with_body("text/xml; charset=utf-8", body),
        // SOAP 1.1 §6.2: a Fault goes out with 500.
        Err(fault) => {
            Response::new(500).with_body("text/xml; charset=utf-8", soap::encode_fault(&fault))
        }
    }
}

/// 404 on a listener that does not serve xmlStorageSystem: an XML-RPC or SOAP fault for a POST
/// (whichever the body is), plain text otherwise.
pub fn not_served(req: &Request) -> Response {
    let fault = Fault::protocol("xmlStorageSystem is not served on this address");
    if req.method != "POST" {
        return Response::text(404, &fault.message);
    }
    let soap_path = req.path() == "/xmlStorageSystem";
    match sniff(&req.body) {
        Some(Codec::Soap) => {
            Response::new(404).with_body("text/xml; charset=utf-8", soap::encode_fault(&fault))
        }
        Some(Codec::XmlRpc) => {
            Response::new(404).with_body("text/xml", xmlrpc::encode_fault(&fault, Encoding::Utf8))
        }
        None if soap_path => {
            Response::new(404).with_body("text/xml; charset=utf-8", soap::encode_fault(&fault))
        }
        None => {
            Response::new(404).with_body("text/xml", xmlrpc::encode_fault(&fault, Encoding::Utf8))
        }
    }
}

/// `GET /xmlStorageSystem?wsdl` (or `GET /xmlStorageSystem`): the WSDL 1.1 description.
pub fn handle_wsdl(ctx: &mut Worker, req: &Request) -> Response {
    if req.query() == Some("xsd=soapenc") {
        return Response::new(200).with_body(
            "text/xml; charset=utf-8",
            soap::ENCODING_SCHEMA.as_bytes().to_vec(),
        );
    }
    let endpoint = format!("{}/xmlStorageSystem", ctx.shared.urls.xmlstorage);
    Response::new(200).with_body(
        "text/xml; charset=utf-8",
        soap::wsdl(METHODS, &endpoint).into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Param;

    fn call_of(method: &str, params: Vec<(Option<&str>, Value)>) -> Call {
        Call {
            method: method.into(),
            params: params
                .into_iter()
                .map(|(n, value)| Param {
                    name: n.map(str::to_string),
                    value,
                })
                .collect(),
        }
    }

    #[test]
    fn soap_names_are_matched_case_insensitively_then_by_position() {
        let spec = method_spec("getServerCapabilities").unwrap();
        let c = call_of(
            "getServerCapabilities",
            vec![
                (Some("PASSWORD"), Value::string("pw")),
                (Some("email"), Value::string("me")),
            ],
        );
        let args = Args::bind(spec, &c).unwrap();
        assert_eq!(args.string(0).unwrap(), "me");
        assert_eq!(args.string(1).unwrap(), "pw");
        let c = call_of(
            "getServerCapabilities",
            vec![
                (Some("a"), Value::string("1")),
                (Some("b"), Value::string("2")),
            ],
        );
        let args = Args::bind(spec, &c).unwrap();
        assert_eq!(args.string(0).unwrap(), "1");
        assert_eq!(args.string(1).unwrap(), "2");
    }

    #[test]
    fn arity_and_types_are_protocol_faults() {
        let spec = method_spec("xmlStorageSystem.registerUser").unwrap();
        let c = call_of("xmlStorageSystem.registerUser", vec![(None, Value::Nil)]);
        let err = Args::bind(spec, &c).err().unwrap();
        assert_eq!(err.code, 1);
        assert!(
            err.message.contains("takes 5 to 6 parameters, got 1"),
            "{err}"
        );
        let spec = method_spec("xmlStorageSystem.deleteMultipleFiles").unwrap();
        let c = call_of(
            "xmlStorageSystem.deleteMultipleFiles",
            vec![
                (None, Value::Int(1)),
                (None, Value::string("x")),
                (None, Value::string("not an array")),
            ],
        );
        let args = Args::bind(spec, &c).unwrap();
        let err = args.strings(2).unwrap_err();
        assert!(
            err.message
                .contains("parameter 3 (relativepathList) must be an array"),
            "{err}"
        );
    }

    #[test]
    fn sniffing_the_root_element() {
        assert_eq!(
            sniff(b"<?xml version='1.0'?>\n<methodCall>"),
            Some(Codec::XmlRpc)
        );
        assert_eq!(
            sniff(b"\xef\xbb\xbf<!-- hi --><soap:Envelope xmlns:soap='x'>"),
            Some(Codec::Soap)
        );
        assert_eq!(sniff(b"<OPS_envelope>"), None);
        assert_eq!(sniff(b""), None);
    }

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

    #[test]
    fn every_method_is_dispatchable_by_both_names() {
        for spec in METHODS {
            assert!(method_spec(spec.name).is_some());
            if spec.name.starts_with("xmlStorageSystem.") {
                assert_eq!(method_spec(spec.operation()).unwrap().name, spec.name);
            }
        }
    }
}
