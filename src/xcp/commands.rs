//! The XCP commands: [`parse`] turns a decoded OPS request into a typed [`Command`] (or the
//! reply that says what is missing), and [`execute`] runs it for an authenticated reseller.
//!
//! Response codes follow the OpenSRS catalogue (`opensrs.md` §4.3): 200 success, 400 invalid
//! command, 415 end-user authentication, 435 sub-user permission, 447 sub-user limit,
//! 460 missing field, 465 invalid data, 480 not found, 485 already exists. Where the real
//! service's exact text is unknown, the text follows the catalogue's style.
//!
//! Choices where the OpenSRS documentation is silent (`opensrs.md` §4.4, §8):
//! - A domain that is unknown, another reseller's, or not a domain name at all is 480
//!   "Domain not found", so a reseller learns nothing about other resellers' domains.
//! - `send_password`: an empty or missing `send_to` means `admin` (the docs' default), an
//!   empty `sub_user` means 0 (the PHP toolkit's own test sends both empty), and a contact
//!   without an address is 465.
//! - `set cookie`: one 415 text for a wrong username, password or domain, and an unknown
//!   login costs the same argon2 verification as a known one. Logins are never cached:
//!   the cookie is what repeats. `last_access_time`/`last_ip` report the login before this
//!   one, so an owner can notice one that was not theirs; `expiredate` is the domain's.
//! - When a request carries both a `cookie` and a `domain`, the cookie (the end user's own
//!   session) decides whose command it is. A cookie works only with the reseller whose domain
//!   it was issued for.
//! - `update cookie` checks `reg_username`/`reg_password` when a client sends them (the PHP
//!   toolkit does), and moves the session only within the same profile.
//! - Sub-user commands need the owner (or the reseller): a sub-user's cookie gets 435. A
//!   `username` item, when sent, must name the domain's profile (480 otherwise). The
//!   sub-user's username may not equal the owner's (485), since `set cookie` tells them apart
//!   by name.

use std::time::Instant;

use std::net::IpAddr;

use rusqlite::Connection;

use super::cookies::{self, Session};
use super::domains::{self, Contact};
use super::envelope::{OpsRequest, OpsValue};
use super::profiles::{self, Account, OwnedDomain};
use super::resellers::Reseller;
use crate::audit::{self, failed::Trail};
use crate::clock;
use crate::config::XcpConfig;
use crate::credentials::Credentials;
use crate::credentials::{Caching, CredentialError, Stored};
use crate::db;
use crate::logins::Login;
use crate::logins::passwords;
use crate::logins::strength::Policy;
use crate::logins::throttle::{Key, LoginThrottle};
use crate::metrics::{self, Note};
use crate::metrics::{METRICS, RateLimit};
use crate::reset::notice;
use crate::reset::templates::{By, Method};
use crate::reset::{LinkRequest, ResetError, ResetLinks};
use crate::secret::Secret;

/// The same text for a wrong username, a wrong password and a domain outside the profile, so
/// `set cookie` tells an attacker nothing about which was wrong.
pub const BAD_LOGIN: &str =
    "Registrant authentication error: invalid username, password or domain.";
const BAD_COOKIE: &str = "Invalid Cookie Supplied.";
const NO_DOMAIN: &str = "Domain not found";
const SUBUSER_DENIED: &str = "Permission denied, subuser permissions.";

/// A reply's status and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub is_success: bool,
    pub code: u16,
    pub text: String,
    pub attributes: Vec<(String, OpsValue)>,
}

impl Outcome {
    pub fn success(text: &str) -> Outcome {
        Outcome {
            is_success: true,
            code: 200,
            text: text.to_string(),
            attributes: Vec::new(),
        }
    }

    pub fn failure(code: u16, text: impl Into<String>) -> Outcome {
        Outcome {
            is_success: false,
            code,
            text: text.into(),
            attributes: Vec::new(),
        }
    }

    fn with(mut self, key: &str, value: OpsValue) -> Outcome {
        self.attributes.push((key.to_string(), value));
        self
    }
}

fn scalar(text: impl Into<String>) -> OpsValue {
    OpsValue::Scalar(text.into())
}

/// Who a command acts for: an end user's session cookie, or (reseller mode) a domain, which
/// acts as the domain's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Cookie(String),
    Domain(String),
}

/// Which contact `send_password` mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    Owner,
    Admin,
}

impl Recipient {
    fn role(self) -> &'static str {
        match self {
            Recipient::Owner => "owner",
            Recipient::Admin => "admin",
        }
    }
}

/// What `get domain` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoType {
    /// One contact: `owner`, `admin`, `billing` or `tech`.
    Contact(&'static str),
    /// The profile's domains.
    List,
    /// Every contact and the domain's dates.
    AllInfo,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    SendPassword {
        domain: String,
        to: Recipient,
        sub_user: bool,
    },
    SetCookie {
        username: String,
        password: Secret,
        domain: String,
    },
    UpdateCookie {
        cookie: String,
        domain_new: String,
        username: Option<String>,
        password: Option<Secret>,
    },
    DeleteCookie {
        cookie: String,
    },
    QuitSession,
    ChangePassword {
        subject: Subject,
        password: Secret,
    },
    GetDomain {
        subject: Subject,
        info: InfoType,
    },
    AddSubuser {
        subject: Subject,
        parent: Option<String>,
        username: String,
        password: Secret,
        permission: i64,
    },
    ModifySubuser {
        subject: Subject,
        parent: Option<String>,
        id: i64,
        username: Option<String>,
        password: Option<Secret>,
        permission: Option<i64>,
    },
    DeleteSubuser {
        subject: Subject,
        parent: Option<String>,
        id: i64,
    },
    GetSubuser {
        subject: Subject,
        parent: Option<String>,
    },
}

/// Every command [`parse`] knows: its action and object (matched in any case), its name as
/// `/metrics` labels it (anything else is counted as `other`, so the label stays bounded), and
/// its parser. One row per command: a command added here is parsed and counted.
struct Known {
    action: &'static str,
    object: &'static str,
    name: &'static str,
    parse: fn(&OpsRequest) -> Result<Command, Outcome>,
}

const KNOWN: &[Known] = &[
    Known {
        action: "send_password",
        object: "domain",
        name: "send_password domain",
        parse: parse_send_password_domain,
    },
    Known {
        action: "set",
        object: "cookie",
        name: "set cookie",
        parse: parse_set_cookie,
    },
    Known {
        action: "update",
        object: "cookie",
        name: "update cookie",
        parse: parse_update_cookie,
    },
    Known {
        action: "delete",
        object: "cookie",
        name: "delete cookie",
        parse: parse_delete_cookie,
    },
    Known {
        action: "quit",
        object: "session",
        name: "quit session",
        parse: parse_quit_session,
    },
    Known {
        action: "change",
        object: "password",
        name: "change password",
        parse: parse_change_password,
    },
    Known {
        action: "get",
        object: "domain",
        name: "get domain",
        parse: parse_get_domain,
    },
    Known {
        action: "add",
        object: "subuser",
        name: "add subuser",
        parse: parse_add_subuser,
    },
    Known {
        action: "modify",
        object: "subuser",
        name: "modify subuser",
        parse: parse_modify_subuser,
    },
    Known {
        action: "delete",
        object: "subuser",
        name: "delete subuser",
        parse: parse_delete_subuser,
    },
    Known {
        action: "get",
        object: "subuser",
        name: "get subuser",
        parse: parse_get_subuser,
    },
];

/// The request's command as `/metrics` names it, if it is one [`parse`] knows.
pub fn known_name(req: &OpsRequest) -> Option<&'static str> {
    known(req).map(|k| k.name)
}

/// An attribute as sent, `None` when missing or blank.
fn attr<'a>(req: &'a OpsRequest, key: &str) -> Option<&'a str> {
    req.attributes.get_str(key).filter(|v| !v.trim().is_empty())
}

/// A trimmed attribute, or the 460 reply that names it.
fn required<'a>(req: &'a OpsRequest, key: &str) -> Result<&'a str, Outcome> {
    attr(req, key).map(str::trim).ok_or_else(|| missing(key))
}

fn missing(key: &str) -> Outcome {
    Outcome::failure(460, format!("Missing required field: {key}."))
}

/// A password attribute: exactly as sent (spaces are not the client's to lose), but not
/// blank. The OpenSRS texts for these two fields are known, so they are used.
fn password(req: &OpsRequest, key: &str) -> Result<Secret, Outcome> {
    attr(req, key)
        .map(Secret::new)
        .ok_or_else(|| Outcome::failure(460, format!("Required field '{key}' not provided.")))
}

/// `domain`, `username` and `cookie` are read at the top level or in `attributes`.
fn param<'a>(req: &'a OpsRequest, key: &str) -> Option<&'a str> {
    req.param(key).map(str::trim).filter(|v| !v.is_empty())
}

fn subject(req: &OpsRequest) -> Result<Subject, Outcome> {
    // A cookie is the end user's own session, so it wins when a client sends both.
    if let Some(cookie) = param(req, "cookie") {
        return Ok(Subject::Cookie(cookie.to_string()));
    }
    match param(req, "domain") {
        Some(domain) => Ok(Subject::Domain(domain.to_string())),
        None => Err(Outcome::failure(
            460,
            "Missing required field: cookie or domain.",
        )),
    }
}

fn cookie(req: &OpsRequest) -> Result<String, Outcome> {
    param(req, "cookie")
        .map(str::to_string)
        .ok_or_else(|| Outcome::failure(460, "No Cookie Supplied."))
}

fn permission(text: &str) -> Result<i64, Outcome> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|p| (0..=63).contains(p))
        .ok_or_else(|| {
            Outcome::failure(
                465,
                "Invalid sub_permission: a sum of 1 owner, 2 admin, 4 billing, 8 tech, \
                 16 nameservers and 32 rsp_whois_info (0 to 63).",
            )
        })
}

fn sub_id(req: &OpsRequest) -> Result<i64, Outcome> {
    required(req, "sub_id")?
        .parse()
        .map_err(|_| Outcome::failure(465, "Invalid sub_id: expected a number."))
}

/// Turns a decoded request into its typed command, or the reply that says what is missing or
/// that the command is not one passlink knows.
pub fn parse(req: &OpsRequest) -> Result<Command, Outcome> {
    match known(req) {
        Some(known) => (known.parse)(req),
        None => Err(Outcome::failure(
            400,
            format!(
                "Invalid Command: {} {}",
                short(&req.action),
                short(&req.object)
            ),
        )),
    }
}

fn known(req: &OpsRequest) -> Option<&'static Known> {
    KNOWN
        .iter()
        .find(|k| req.action_is(k.action) && req.object_is(k.object))
}

fn parse_send_password_domain(req: &OpsRequest) -> Result<Command, Outcome> {
    let domain = required(req, "domain_name")?.to_string();
    let to = match attr(req, "send_to").map(str::trim) {
        None => Recipient::Admin,
        Some(v) if v.eq_ignore_ascii_case("admin") => Recipient::Admin,
        Some(v) if v.eq_ignore_ascii_case("owner") => Recipient::Owner,
        Some(_) => {
            return Err(Outcome::failure(
                465,
                "Invalid value for send_to: use owner or admin.",
            ));
        }
    };
    let sub_user = match attr(req, "sub_user").map(str::trim) {
        None | Some("0") => false,
        Some("1") => true,
        Some(_) => {
            return Err(Outcome::failure(
                465,
                "Invalid value for sub_user: use 0 or 1.",
            ));
        }
    };
    Ok(Command::SendPassword {
        domain,
        to,
        sub_user,
    })
}

fn parse_set_cookie(req: &OpsRequest) -> Result<Command, Outcome> {
    let username = attr(req, "reg_username")
        .map(|u| u.trim().to_string())
        .ok_or_else(|| Outcome::failure(460, "Required field 'reg_username' not provided."))?;
    let password = password(req, "reg_password")?;
    let domain = param(req, "domain")
        .map(str::to_string)
        .ok_or_else(|| Outcome::failure(460, "No Domain Supplied."))?;
    Ok(Command::SetCookie {
        username,
        password,
        domain,
    })
}

fn parse_update_cookie(req: &OpsRequest) -> Result<Command, Outcome> {
    Ok(Command::UpdateCookie {
        cookie: cookie(req)?,
        domain_new: required(req, "domain_new")?.to_string(),
        username: attr(req, "reg_username").map(|u| u.trim().to_string()),
        password: attr(req, "reg_password").map(Secret::new),
    })
}

fn parse_delete_cookie(req: &OpsRequest) -> Result<Command, Outcome> {
    Ok(Command::DeleteCookie {
        cookie: cookie(req)?,
    })
}

fn parse_quit_session(_req: &OpsRequest) -> Result<Command, Outcome> {
    Ok(Command::QuitSession)
}

fn parse_change_password(req: &OpsRequest) -> Result<Command, Outcome> {
    Ok(Command::ChangePassword {
        subject: subject(req)?,
        password: password(req, "reg_password")?,
    })
}

fn parse_get_domain(req: &OpsRequest) -> Result<Command, Outcome> {
    let subject = subject(req)?;
    let kind = attr(req, "type")
        .map(str::trim)
        .ok_or_else(|| Outcome::failure(460, "Info type not specified."))?;
    let info = match kind.to_ascii_lowercase().as_str() {
        "owner" => InfoType::Contact("owner"),
        "admin" => InfoType::Contact("admin"),
        "billing" => InfoType::Contact("billing"),
        "tech" => InfoType::Contact("tech"),
        "list" => InfoType::List,
        "all_info" => InfoType::AllInfo,
        _ => {
            return Err(Outcome::failure(
                465,
                format!(
                    "Invalid info type {:?}: use owner, admin, billing, tech, list or all_info.",
                    short(kind)
                ),
            ));
        }
    };
    Ok(Command::GetDomain { subject, info })
}

fn parse_add_subuser(req: &OpsRequest) -> Result<Command, Outcome> {
    let parent = || param(req, "username").map(str::to_string);
    Ok(Command::AddSubuser {
        subject: subject(req)?,
        parent: parent(),
        username: required(req, "sub_username")?.to_string(),
        password: attr(req, "sub_password")
            .map(Secret::new)
            .ok_or_else(|| missing("sub_password"))?,
        permission: permission(required(req, "sub_permission")?)?,
    })
}

fn parse_modify_subuser(req: &OpsRequest) -> Result<Command, Outcome> {
    let parent = || param(req, "username").map(str::to_string);
    Ok(Command::ModifySubuser {
        subject: subject(req)?,
        parent: parent(),
        id: sub_id(req)?,
        username: attr(req, "sub_username").map(|u| u.trim().to_string()),
        password: attr(req, "sub_password").map(Secret::new),
        permission: attr(req, "sub_permission").map(permission).transpose()?,
    })
}

fn parse_delete_subuser(req: &OpsRequest) -> Result<Command, Outcome> {
    let parent = || param(req, "username").map(str::to_string);
    Ok(Command::DeleteSubuser {
        subject: subject(req)?,
        parent: parent(),
        id: sub_id(req)?,
    })
}

fn parse_get_subuser(req: &OpsRequest) -> Result<Command, Outcome> {
    let parent = || param(req, "username").map(str::to_string);
    Ok(Command::GetSubuser {
        subject: subject(req)?,
        parent: parent(),
    })
}

/// Client text echoed in a reply, capped so a reply never mirrors a large input.
fn short(text: &str) -> String {
    text.chars().take(64).collect()
}

/// The caller of a command, once authenticated.
pub struct Caller<'a> {
    pub reseller: &'a Reseller,
    /// The end user's address: `registrant_ip` when the reseller relays it, else the peer.
    pub ip: IpAddr,
}

/// Why a command stopped before its end.
#[derive(Debug)]
enum Stop {
    /// An answer for the client (a 4xx outcome).
    Reply(Outcome),
    Db(rusqlite::Error),
    /// Too many password hashes in progress.
    Busy,
    Reset(ResetError),
}

impl From<rusqlite::Error> for Stop {
    fn from(e: rusqlite::Error) -> Self {
        Stop::Db(e)
    }
}

impl From<Outcome> for Stop {
    fn from(o: Outcome) -> Self {
        Stop::Reply(o)
    }
}

impl From<CredentialError> for Stop {
    fn from(e: CredentialError) -> Self {
        match e {
            CredentialError::Busy => Stop::Busy,
            other => {
                log::error!("xcp: password hashing failed: {other}");
                Stop::Busy
            }
        }
    }
}

impl From<ResetError> for Stop {
    fn from(e: ResetError) -> Self {
        Stop::Reset(e)
    }
}

impl Stop {
    /// Whether the server, not the request, is why the command stopped (for `/metrics`).
    fn is_server_side(&self) -> bool {
        matches!(self, Stop::Db(_) | Stop::Reset(ResetError::Db(_)))
    }

    fn into_outcome(self) -> Outcome {
        match self {
            Stop::Reply(outcome) => outcome,
            Stop::Db(e) => match db::Trouble::of(&e, "xcp") {
                db::Trouble::Vanished => Outcome::failure(
                    400,
                    "Server database unavailable: the request was not completed.",
                ),
                db::Trouble::Full => {
                    Outcome::failure(400, "Storage full: the request was not completed.")
                }
                db::Trouble::Busy => Outcome::failure(400, "Server busy; try again in a moment."),
                db::Trouble::Other => Outcome::failure(400, "Internal server error."),
            },
            Stop::Busy => Outcome::failure(400, "Server busy; try again in a moment."),
            Stop::Reset(ResetError::RateLimited) => {
                Outcome::failure(300, "Exceeded max command rate. Request deferred.")
            }
            Stop::Reset(ResetError::MailDisabled) => {
                Outcome::failure(400, "Mail service is not available on that server.")
            }
            Stop::Reset(ResetError::Db(e)) => Stop::Db(e).into_outcome(),
        }
    }
}

type Step<T> = Result<T, Stop>;

fn fail<T>(code: u16, text: impl Into<String>) -> Step<T> {
    Err(Stop::Reply(Outcome::failure(code, text)))
}

/// What the commands work with: the worker's connection, the `[xcp]` settings in effect for
/// this request, the credential checker, the reset links and the request's `/metrics` note.
pub struct Env<'a> {
    pub db: &'a mut Connection,
    pub config: &'a XcpConfig,
    pub credentials: &'a Credentials,
    pub reset: &'a dyn ResetLinks,
    pub note: &'a mut Note,
    /// What a new password must be beyond OpenSRS's charset (how guessable).
    pub policy: &'a Policy,
    /// Failed logins per login: the waits that limit guessing.
    pub throttle: &'a LoginThrottle,
    /// The audit trail's failed-login counts.
    pub audit: &'a Trail,
}

/// Runs a command for an authenticated reseller.
pub fn execute(env: &mut Env<'_>, caller: &Caller<'_>, command: Command) -> Outcome {
    let result = match command {
        Command::SendPassword {
            domain,
            to,
            sub_user,
        } => send_password(env, caller, &domain, to, sub_user),
        Command::SetCookie {
            username,
            password,
            domain,
        } => set_cookie(env, caller, &username, &password, &domain),
        Command::UpdateCookie {
            cookie,
            domain_new,
            username,
            password,
        } => update_cookie(
            env,
            caller,
            &cookie,
            &domain_new,
            username.as_deref(),
            password.as_ref(),
        ),
        Command::DeleteCookie { cookie } => delete_cookie(env, caller, &cookie),
        Command::QuitSession => Ok(Outcome::success("Closing Connection.")),
        Command::ChangePassword { subject, password } => {
            change_password(env, caller, &subject, &password)
        }
        Command::GetDomain { subject, info } => get_domain(env, caller, &subject, info),
        Command::AddSubuser {
            subject,
            parent,
            username,
            password,
            permission,
        } => add_subuser(
            env,
            caller,
            &subject,
            parent.as_deref(),
            &username,
            &password,
            permission,
        ),
        Command::ModifySubuser {
            subject,
            parent,
            id,
            username,
            password,
            permission,
        } => modify_subuser(
            env,
            caller,
            &subject,
            parent.as_deref(),
            id,
            username.as_deref(),
            password.as_ref(),
            permission,
        ),
        Command::DeleteSubuser {
            subject,
            parent,
            id,
        } => delete_subuser(env, caller, &subject, parent.as_deref(), id),
        Command::GetSubuser { subject, parent } => {
            get_subuser(env, caller, &subject, parent.as_deref())
        }
    };
    result.unwrap_or_else(|stop| {
        if stop.is_server_side() {
            env.note.outcome(metrics::Outcome::ServerError);
        }
        stop.into_outcome()
    })
}

/// The reseller's domain `name`, or 480 whether it is unknown, another reseller's or not a
/// domain name at all: a reseller learns nothing about domains that are not theirs.
fn reseller_domain(conn: &Connection, reseller: &Reseller, name: &str) -> Step<OwnedDomain> {
    let Ok(name) = domains::normalize_domain(name) else {
        return fail(480, NO_DOMAIN);
    };
    match profiles::domain_of_reseller(conn, reseller.id, &name)? {
        Some(domain) => Ok(domain),
        None => fail(480, NO_DOMAIN),
    }
}

/// What a command acts on once its subject is resolved.
struct Scope {
    account: Account,
    domain: OwnedDomain,
}

fn resolve(env: &Env<'_>, caller: &Caller<'_>, subject: &Subject) -> Step<Scope> {
    let conn = &env.db;
    match subject {
        Subject::Cookie(token) => {
            let ip = caller.ip.to_string();
            let Some(session) = cookies::use_token(conn, token, clock::unix_now(), &ip)? else {
                return fail(415, BAD_COOKIE);
            };
            // A cookie is only good with the reseller whose domain it was issued for.
            let domain = profiles::domain_by_id(conn, session.domain_id)?
                .filter(|d| d.reseller_id == caller.reseller.id);
            let account = profiles::account(conn, session.login)?;
            match (domain, account) {
                (Some(domain), Some(account)) => Ok(Scope { account, domain }),
                _ => fail(415, BAD_COOKIE),
            }
        }
        Subject::Domain(name) => {
            let domain = reseller_domain(conn, caller.reseller, name)?;
            match profiles::profile(conn, domain.profile_id)? {
                Some(account) => Ok(Scope { account, domain }),
                None => fail(480, NO_DOMAIN),
            }
        }
    }
}

fn send_password(
    env: &mut Env<'_>,
    caller: &Caller<'_>,
    name: &str,
    to: Recipient,
    sub_user: bool,
) -> Step<Outcome> {
    let conn = &env.db;
    let domain = reseller_domain(conn, caller.reseller, name)?;
    let account = if sub_user {
        match profiles::subuser_of(conn, domain.profile_id)? {
            Some(sub) => sub,
            None => return fail(480, "Sub-user not found"),
        }
    } else {
        match profiles::profile(conn, domain.profile_id)? {
            Some(profile) => profile,
            None => return fail(480, NO_DOMAIN),
        }
    };
    let role = to.role();
    let email = profiles::contact(conn, domain.id, role)?
        .map(|c| c.email.trim().to_string())
        .unwrap_or_default();
    if !email.contains('@') {
        return fail(
            465,
            format!(
                "The {role} contact of {} has no email address.",
                domain.name
            ),
        );
    }
    let label = account.label(&domain.name);
    let via = format!(
        "XCP send_password by reseller {}, to the {role} contact",
        caller.reseller.username
    );
    env.reset.send(
        conn,
        &LinkRequest {
            login: account.login,
            account: &label,
            email: &email,
            requester: caller.ip,
            via: &via,
            domain: Some(&domain.name),
        },
    )?;
    Ok(Outcome::success("Message sent"))
}

/// The attributes `set cookie` and `update cookie` answer with.
fn session_attributes(
    env: &Env<'_>,
    outcome: Outcome,
    token: &str,
    account: &Account,
    domain: &OwnedDomain,
) -> Step<Outcome> {
    let count = profiles::domain_count(env.db, account.profile_id)?;
    let optional = |v: Option<String>| scalar(v.unwrap_or_default());
    Ok(outcome
        .with("cookie", scalar(token))
        .with("domain_count", scalar(count.to_string()))
        .with(
            "expiredate",
            optional(domain.expires_at.map(clock::sql_datetime)),
        )
        .with(
            "f_owner",
            scalar(if account.is_owner() { "1" } else { "0" }),
        )
        .with(
            "last_access_time",
            optional(account.last_login_at.map(|t| t.to_string())),
        )
        .with("last_ip", optional(account.last_login_ip.clone()))
        .with(
            "permission",
            optional(account.permission.map(|p| p.to_string())),
        )
        .with("waiting_requests_no", scalar("0"))
        .with("encoding_type", scalar("")))
}

fn set_cookie(
    env: &mut Env<'_>,
    caller: &Caller<'_>,
    username: &str,
    password: &Secret,
    name: &str,
) -> Step<Outcome> {
    let conn = &env.db;
    let domain = match domains::normalize_domain(name) {
        Ok(name) => profiles::domain_of_reseller(conn, caller.reseller.id, &name)?,
        Err(_) => None,
    };
    let account = match &domain {
        Some(d) => match profiles::profile(conn, d.profile_id)? {
            Some(p) if p.username == username => Some(p),
            _ => profiles::subuser_of(conn, d.profile_id)?.filter(|s| s.username == username),
        },
        None => None,
    };
    let key = match &account {
        Some(a) => Key::Account(a.login),
        // As the lookup reads it: the domain normalised, the username as given.
        None => Key::unknown(
            "xcp",
            &format!(
                "{}/{username}",
                domains::normalize_domain(name).unwrap_or_else(|_| name.to_ascii_lowercase())
            ),
        ),
    };
    let now_instant = Instant::now();
    // The audit trail names the account the login matched, or the login as given.
    let named = match (&account, &domain) {
        (Some(a), Some(d)) => (Some(a.login), a.label(&d.name)),
        _ => (None, format!("{username} for {name}")),
    };
    if !env.throttle.allowed(key, now_instant) {
        // Held back after repeated failures: the ordinary answer, at once, without argon2.
        METRICS.rate_limited(RateLimit::LoginThrottle);
        env.audit
            .login_failed(named.0, &named.1, caller.ip, true, clock::unix_now());
        log::info!(
            "xcp: set cookie refused for reseller {} (a login held back after repeated failures)",
            caller.reseller.username
        );
        return fail(415, BAD_LOGIN);
    }
    // An unknown login costs the same hash as a known one, so timing does not tell them apart.
    let stored = account.as_ref().map(|a| Stored {
        id: a.profile_id,
        hash: &a.password_hash,
    });
    let verified = env
        .credentials
        .verify_or_dummy(stored, password.expose(), Caching::Uncached)?;
    if verified && account.is_some() && domain.is_some() {
        env.throttle.clear(key);
    } else {
        env.throttle.failed(key, now_instant);
        env.audit
            .login_failed(named.0, &named.1, caller.ip, false, clock::unix_now());
    }
    let (Some(account), Some(domain), true) = (account, domain, verified) else {
        log::info!(
            "xcp: set cookie refused for reseller {} (bad username, password or domain)",
            caller.reseller.username
        );
        return fail(415, BAD_LOGIN);
    };
    // A hash made with another cost than `[passwords]` sets is made again while the password
    // is at hand; a failure keeps the old one, which still works.
    if env.credentials.needs_rehash(&account.password_hash) {
        // Only over the hash that verified: a password changed meanwhile is not undone. A
        // failure keeps the old hash, which still works; the login goes on.
        let upgraded = env
            .credentials
            .rehash(password.expose())
            .map_err(|e| e.to_string())
            .and_then(|hash| {
                db::write(env.db, |tx| {
                    profiles::replace_password_hash(
                        tx,
                        account.login,
                        &account.password_hash,
                        &hash,
                    )
                })
                .map_err(|e| e.to_string())
            });
        match upgraded {
            Ok(_) => log::info!(
                "xcp: the password hash of {} upgraded to the configured cost",
                account.login
            ),
            Err(e) => log::warn!(
                "xcp: could not upgrade the password hash of {}: {e}",
                account.login
            ),
        }
    }
    let token = cookies::new_token();
    let now = clock::unix_now();
    let ip = caller.ip.to_string();
    let session = Session {
        login: account.login,
        profile_id: account.profile_id,
        domain_id: domain.id,
        expires_at: now
            .saturating_add(i64::try_from(env.config.cookie_ttl_secs.get()).unwrap_or(i64::MAX)),
    };
    let opened = format!(
        "XCP set cookie by reseller {}, for {}",
        caller.reseller.username, domain.name
    );
    db::write(env.db, |tx| {
        cookies::purge_expired(tx, now)?;
        cookies::create(tx, &token, &session, now, &ip)?;
        profiles::record_login(tx, account.login, now, &ip)?;
        let entry = audit::Entry::new(audit::Event::CookieSet, &named.1, &ip)
            .login(account.login)
            .detail(&opened);
        audit::record(tx, &entry, now)
    })?;
    // The reply reports the login before this one.
    session_attributes(
        env,
        Outcome::success("Command Successful"),
        &token,
        &account,
        &domain,
    )
}

fn update_cookie(
    env: &mut Env<'_>,
    caller: &Caller<'_>,
    token: &str,
    domain_new: &str,
    username: Option<&str>,
    password: Option<&Secret>,
) -> Step<Outcome> {
    let scope = resolve(env, caller, &Subject::Cookie(token.to_string()))?;
    // Clients that send the login again (the PHP toolkit does) must send the right one.
    if username.is_some_and(|u| u != scope.account.username) {
        let account = scope.account.label(&scope.domain.name);
        let login = Some(scope.account.login);
        let now = clock::unix_now();
        env.audit
            .login_failed(login, &account, caller.ip, false, now);
        return fail(415, BAD_LOGIN);
    }
    if let Some(password) = password
        && !env
            .credentials
            .verify_uncached(password.expose(), &scope.account.password_hash)?
    {
        let account = scope.account.label(&scope.domain.name);
        env.audit.login_failed(
            Some(scope.account.login),
            &account,
            caller.ip,
            false,
            clock::unix_now(),
        );
        return fail(415, BAD_LOGIN);
    }
    let target = reseller_domain(env.db, caller.reseller, domain_new)?;
    if target.profile_id != scope.account.profile_id {
        return fail(480, NO_DOMAIN);
    }
    cookies::switch_domain(env.db, token, target.id)?;
    session_attributes(
        env,
        Outcome::success("Command Successful"),
        token,
        &scope.account,
        &target,
    )
}

fn delete_cookie(env: &mut Env<'_>, caller: &Caller<'_>, token: &str) -> Step<Outcome> {
    resolve(env, caller, &Subject::Cookie(token.to_string()))?;
    if !cookies::delete(env.db, token)? {
        return fail(415, BAD_COOKIE);
    }
    Ok(Outcome::success("Command Successful"))
}

fn change_password(
    env: &mut Env<'_>,
    caller: &Caller<'_>,
    subject: &Subject,
    password: &Secret,
) -> Step<Outcome> {
    let scope = resolve(env, caller, subject)?;
    let context = [scope.account.username.as_str(), scope.domain.name.as_str()];
    if let Err(why) = domains::check_password(password.expose(), env.config)
        .and_then(|()| env.policy.check(password.expose(), &context))
    {
        return fail(465, format!("Invalid password: {}", sentence(&why)));
    }
    let hash = env.credentials.hash(password.expose())?;
    let login = scope.account.login;
    let reset = env.reset;
    let account = scope.account.label(&scope.domain.name);
    let client = caller.ip.to_string();
    let path = format!(
        "XCP change password by reseller {}",
        caller.reseller.username
    );
    db::write(env.db, |tx| -> Step<()> {
        // Whoever holds an old session or an old reset link loses it with the old password.
        if !passwords::set_hash(tx, login, &hash)? {
            return fail(480, "Login not found");
        }
        reset.invalidate(tx, login)?;
        let changed = audit::Entry::new(audit::Event::PasswordChanged, &account, &client)
            .login(login)
            .detail(&path);
        audit::record(tx, &changed, clock::unix_now())?;
        reset.notify_change(
            tx,
            &notice::Change {
                login,
                account: &account,
                method: Method::XcpChange,
                by: By::Address(&client),
                domain: Some(&scope.domain.name),
            },
        )?;
        Ok(())
    })?;
    log::info!(
        "xcp: password changed for {login} by reseller {}",
        caller.reseller.username
    );
    Ok(Outcome::success("Password successfully changed."))
}

fn contact_value(contact: &Contact) -> OpsValue {
    OpsValue::Assoc(vec![
        ("first_name".into(), scalar(&contact.first_name)),
        ("last_name".into(), scalar(&contact.last_name)),
        ("org_name".into(), scalar(&contact.org_name)),
        ("email".into(), scalar(&contact.email)),
        ("phone".into(), scalar(&contact.phone)),
    ])
}

fn contact_set(conn: &Connection, domain: &OwnedDomain, roles: &[&str]) -> Step<OpsValue> {
    let mut set = Vec::with_capacity(roles.len());
    for role in roles {
        let contact = profiles::contact(conn, domain.id, role)?.unwrap_or_default();
        set.push(((*role).to_string(), contact_value(&contact)));
    }
    Ok(OpsValue::Assoc(set))
}

fn date(unix: Option<i64>) -> OpsValue {
    scalar(unix.map(clock::sql_datetime).unwrap_or_default())
}

fn get_domain(
    env: &mut Env<'_>,
    caller: &Caller<'_>,
    subject: &Subject,
    info: InfoType,
) -> Step<Outcome> {
    let scope = resolve(env, caller, subject)?;
    let conn = &env.db;
    let outcome = Outcome::success("Query Successful");
    Ok(match info {
        InfoType::Contact(role) => {
            outcome.with("contact_set", contact_set(conn, &scope.domain, &[role])?)
        }
        InfoType::AllInfo => outcome
            .with(
                "contact_set",
                contact_set(conn, &scope.domain, &domains::ROLES)?,
            )
            .with("registry_createdate", date(Some(scope.domain.created_at)))
            .with("registry_expiredate", date(scope.domain.expires_at))
            .with("expiredate", date(scope.domain.expires_at)),
        InfoType::List => {
            let list = profiles::domains_of_profile(conn, scope.account.profile_id)?;
            let total = list.len();
            let items = list
                .into_iter()
                .enumerate()
                .map(|(i, d)| {
                    (
                        i,
                        OpsValue::Assoc(vec![
                            ("name".into(), scalar(d.name)),
                            ("expiredate".into(), date(d.expires_at)),
                        ]),
                    )
                })
                .collect();
            outcome
                .with("domain_list", OpsValue::Array(items))
                .with("page", scalar("1"))
                .with("total", scalar(total.to_string()))
                .with("remainder", scalar("0"))
        }
    })
}

/// Resolves the subject of a sub-user command: only the owner (or the reseller) manages the
/// sub-user, and a `username` item, when given, must name the domain's profile.
fn owner_scope(
    env: &Env<'_>,
    caller: &Caller<'_>,
    subject: &Subject,
    parent: Option<&str>,
) -> Step<Scope> {
    let scope = resolve(env, caller, subject)?;
    if !scope.account.is_owner() {
        return fail(435, SUBUSER_DENIED);
    }
    if parent.is_some_and(|p| p != scope.account.username) {
        return fail(480, "Profile not found");
    }
    Ok(scope)
}

fn check_subuser_username(username: &str, owner: &Account) -> Step<()> {
    if !profiles::valid_username(username) {
        return fail(
            465,
            "Invalid sub_username: 1 to 64 letters, digits, '-', '_' or '.'.",
        );
    }
    if username == owner.username {
        return fail(485, "A login with that username already exists.");
    }
    Ok(())
}

/// A sub-user's new password: OpenSRS's charset, then how guessable it is with the sub-user's
/// and the domain's names as context.
fn check_new_password(env: &Env<'_>, password: &Secret, context: &[&str]) -> Step<()> {
    match domains::check_password(password.expose(), env.config)
        .and_then(|()| env.policy.check(password.expose(), context))
    {
        Ok(()) => Ok(()),
        Err(why) => fail(465, format!("Invalid sub_password: {}", sentence(&why))),
    }
}

/// A reason as the end of a sentence: one final full stop.
fn sentence(why: &str) -> String {
    if why.ends_with('.') {
        why.to_string()
    } else {
        format!("{why}.")
    }
}

fn add_subuser(
    env: &mut Env<'_>,
    caller: &Caller<'_>,
    subject: &Subject,
    parent: Option<&str>,
    username: &str,
    password: &Secret,
    permission: i64,
) -> Step<Outcome> {
    let scope = owner_scope(env, caller, subject, parent)?;
    let profile_id = scope.account.profile_id;
    // Checked before hashing, so a refused request costs no argon2 work.
    if profiles::subuser_of(env.db, profile_id)?.is_some() {
        return fail(447, "Sub-user limit exceeded.");
    }
    check_subuser_username(username, &scope.account)?;
    check_new_password(
        env,
        password,
        &[username, &scope.account.username, &scope.domain.name],
    )?;
    let hash = env.credentials.hash(password.expose())?;
    let now = clock::unix_now();
    let account = format!("sub-user {username} for {}", scope.domain.name);
    let client = caller.ip.to_string();
    let detail = format!("XCP add subuser by reseller {}", caller.reseller.username);
    let added = db::write(env.db, |tx| -> rusqlite::Result<Option<i64>> {
        let id = profiles::add_subuser(tx, profile_id, username, &hash, permission, now)?;
        if let Some(id) = id {
            let entry = audit::Entry::new(audit::Event::Registered, &account, &client)
                .login(Login::SubUser(id))
                .detail(&detail);
            audit::record(tx, &entry, now)?;
        }
        Ok(id)
    })?;
    match added {
        Some(id) => {
            Ok(Outcome::success("Command Successful").with("sub_id", scalar(id.to_string())))
        }
        // Another request added one since the check above.
        None => fail(447, "Sub-user limit exceeded."),
    }
}

#[allow(clippy::too_many_arguments)]
fn modify_subuser(
    env: &mut Env<'_>,
    caller: &Caller<'_>,
    subject: &Subject,
    parent: Option<&str>,
    id: i64,
    username: Option<&str>,
    password: Option<&Secret>,
    permission: Option<i64>,
) -> Step<Outcome> {
    let scope = owner_scope(env, caller, subject, parent)?;
    let Some(sub) = profiles::subuser_of(env.db, scope.account.profile_id)?
        .filter(|s| s.login == Login::SubUser(id))
    else {
        return fail(480, "Sub-user not found");
    };
    if let Some(username) = username {
        check_subuser_username(username, &scope.account)?;
    }
    let hash = match password {
        Some(password) => {
            let name = username.unwrap_or(&sub.username);
            check_new_password(
                env,
                password,
                &[name, &scope.account.username, &scope.domain.name],
            )?;
            Some(env.credentials.hash(password.expose())?)
        }
        None => None,
    };
    let reset = env.reset;
    let account = format!(
        "sub-user {} for {}",
        username.unwrap_or(&sub.username),
        scope.domain.name
    );
    let client = caller.ip.to_string();
    let path = format!(
        "XCP modify subuser by reseller {}",
        caller.reseller.username
    );
    let renamed = username
        .filter(|u| *u != sub.username)
        .map(|u| format!("renamed from {} to {u} ({path})", sub.username));
    db::write(env.db, |tx| -> Step<()> {
        profiles::modify_subuser(tx, id, username, hash.as_deref(), permission)?;
        if let Some(renamed) = &renamed {
            let entry = audit::Entry::new(audit::Event::UserChanged, &account, &client)
                .login(sub.login)
                .detail(renamed);
            audit::record(tx, &entry, clock::unix_now())?;
        }
        if hash.is_some() {
            passwords::end_sessions(tx, sub.login)?;
            reset.invalidate(tx, sub.login)?;
            let entry = audit::Entry::new(audit::Event::PasswordChanged, &account, &client)
                .login(sub.login)
                .detail(&path);
            audit::record(tx, &entry, clock::unix_now())?;
            reset.notify_change(
                tx,
                &notice::Change {
                    login: sub.login,
                    account: &account,
                    method: Method::XcpSubuser,
                    by: By::Address(&client),
                    domain: Some(&scope.domain.name),
                },
            )?;
        }
        Ok(())
    })?;
    Ok(Outcome::success("Command Successful"))
}

fn delete_subuser(
    env: &mut Env<'_>,
    caller: &Caller<'_>,
    subject: &Subject,
    parent: Option<&str>,
    id: i64,
) -> Step<Outcome> {
    let scope = owner_scope(env, caller, subject, parent)?;
    let Some(sub) = profiles::subuser_of(env.db, scope.account.profile_id)?
        .filter(|s| s.login == Login::SubUser(id))
    else {
        return fail(480, "Sub-user not found");
    };
    let reset = env.reset;
    let account = sub.label(&scope.domain.name);
    let client = caller.ip.to_string();
    let detail = format!(
        "removed by XCP delete subuser, reseller {}",
        caller.reseller.username
    );
    db::write(env.db, |tx| -> Step<()> {
        reset.invalidate(tx, sub.login)?;
        profiles::delete_subuser(tx, id)?;
        let entry = audit::Entry::new(audit::Event::UserChanged, &account, &client)
            .login(sub.login)
            .detail(&detail);
        audit::record(tx, &entry, clock::unix_now())?;
        Ok(())
    })?;
    Ok(Outcome::success("Command Successful"))
}

fn get_subuser(
    env: &mut Env<'_>,
    caller: &Caller<'_>,
    subject: &Subject,
    parent: Option<&str>,
) -> Step<Outcome> {
    let scope = owner_scope(env, caller, subject, parent)?;
    let outcome = Outcome::success("Query Successful");
    Ok(
        match profiles::subuser_of(env.db, scope.account.profile_id)? {
            Some(sub) => outcome
                .with("id", scalar(sub.id().to_string()))
                .with(
                    "permission",
                    scalar(sub.permission.unwrap_or(0).to_string()),
                )
                .with("username", scalar(sub.username)),
            None => outcome,
        },
    )
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::reset::ResetLinks;
    use crate::xcp::domains::NewDomain;
    use crate::xcp::envelope;

    /// Records what reaches the reset-link interface.
    #[derive(Default)]
    struct Recorder {
        sent: Mutex<Vec<(Login, String, String)>>,
        voided: Mutex<Vec<Login>>,
    }

    struct Recording(Arc<Recorder>);

    impl ResetLinks for Recording {
        fn send(&self, _conn: &Connection, r: &LinkRequest<'_>) -> Result<(), ResetError> {
            let mut sent = self.0.sent.lock().unwrap();
            sent.push((r.login, r.email.to_string(), r.account.to_string()));
            Ok(())
        }

        fn request_for_email(&self, _: &str, _: IpAddr) -> Result<(), ResetError> {
            Ok(())
        }

        fn invalidate(&self, _: &Connection, login: Login) -> Result<(), ResetError> {
            self.0.voided.lock().unwrap().push(login);
            Ok(())
        }
    }

    const OWNER_PASSWORD: &str = "Owner-pass-1";

    struct World {
        _dir: tempfile::TempDir,
        db: Connection,
        config: XcpConfig,
        credentials: Credentials,
        reset: Recording,
        note: Note,
        recorder: Arc<Recorder>,
        r1: Reseller,
        r2: Reseller,
        throttle: LoginThrottle,
        audit: Trail,
    }

    fn world() -> World {
        let recorder = Arc::new(Recorder::default());
        let (dir, db) = crate::db::migrated_temp_db();
        let credentials = Credentials::new(2, std::time::Duration::from_secs(60));
        let hash = credentials.hash(OWNER_PASSWORD).unwrap();
        for name in ["r1", "r2"] {
            crate::xcp::resellers::add(&db, name, &[], 1).unwrap();
        }
        for (domain, reseller, profile) in [
            ("example.com", "r1", "alice"),
            ("example.net", "r1", "alice"),
            ("other.org", "r2", "zed"),
        ] {
            let mut new = NewDomain {
                domain: domain.into(),
                reseller: reseller.into(),
                profile: profile.into(),
                password_hash: Some(hash.clone()),
                ..NewDomain::default()
            };
            new.contacts[0].email = format!("owner@{domain}");
            new.contacts[1].email = format!("admin@{domain}");
            new.contacts[0].first_name = "Olive".into();
            domains::add(&db, &new, 1_700_000_000).unwrap();
        }
        let r1 = crate::xcp::resellers::find(&db, "r1").unwrap().unwrap();
        let r2 = crate::xcp::resellers::find(&db, "r2").unwrap().unwrap();
        World {
            _dir: dir,
            db,
            config: XcpConfig::default(),
            credentials,
            reset: Recording(recorder.clone()),
            note: Note::default(),
            recorder,
            r1,
            r2,
            throttle: LoginThrottle::default(),
            audit: Trail::new(365),
        }
    }

    /// An OPS request from top-level items and attributes, through the real decoder.
    fn request(
        action: &str,
        object: &str,
        top: &[(&str, &str)],
        attrs: &[(&str, &str)],
    ) -> OpsRequest {
        let item = |(k, v): &(&str, &str)| format!("<item key=\"{k}\">{v}</item>");
        let top: String = top.iter().map(item).collect();
        let attrs: String = attrs.iter().map(item).collect();
        let body = format!(
            "<?xml version='1.0' encoding='UTF-8' standalone='no' ?><OPS_envelope><header>\
             <version>0.9</version></header><body><data_block><dt_assoc>\
             <item key=\"protocol\">XCP</item><item key=\"action\">{action}</item>\
             <item key=\"object\">{object}</item>{top}<item key=\"attributes\"><dt_assoc>\
             {attrs}</dt_assoc></item></dt_assoc></data_block></body></OPS_envelope>"
        );
        envelope::decode(body.as_bytes(), 32).unwrap()
    }

    impl World {
        fn run_as(&mut self, reseller: &Reseller, req: &OpsRequest) -> Outcome {
            match parse(req) {
                Ok(command) => {
                    let caller = Caller {
                        reseller,
                        ip: "192.0.2.7".parse().unwrap(),
                    };
                    let mut env = Env {
                        db: &mut self.db,
                        config: &self.config,
                        credentials: &self.credentials,
                        reset: &self.reset,
                        note: &mut self.note,
                        // The unit tests' passwords are short; the policy has its own tests.
                        policy: &Policy::scoring(0),
                        throttle: &self.throttle,
                        audit: &self.audit,
                    };
                    execute(&mut env, &caller, command)
                }
                Err(outcome) => outcome,
            }
        }

        fn run(&mut self, req: &OpsRequest) -> Outcome {
            let r1 = self.r1.clone();
            self.run_as(&r1, req)
        }

        fn login(&mut self, user: &str, password: &str, domain: &str) -> Outcome {
            self.run(&request(
                "SET",
                "COOKIE",
                &[],
                &[
                    ("reg_username", user),
                    ("reg_password", password),
                    ("domain", domain),
                ],
            ))
        }
    }

    fn code(o: &Outcome) -> (bool, u16) {
        (o.is_success, o.code)
    }

    fn attr_of<'a>(o: &'a Outcome, key: &str) -> &'a str {
        o.attributes
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no attribute {key} in {o:?}"))
    }

    #[test]
    fn send_password_reaches_the_reset_interface() {
        let mut w = world();
        let sp = |attrs: &[(&str, &str)]| request("SEND_PASSWORD", "DOMAIN", &[], attrs);
        let o = w.run(&sp(&[
            ("domain_name", "Example.COM"),
            ("send_to", "owner"),
            ("sub_user", "0"),
        ]));
        assert_eq!((code(&o), o.text.as_str()), ((true, 200), "Message sent"));
        // Empty send_to and sub_user (the PHP toolkit's test sends them) mean admin and 0.
        let o = w.run(&sp(&[
            ("domain_name", "example.com"),
            ("send_to", ""),
            ("sub_user", ""),
        ]));
        assert_eq!(code(&o), (true, 200));
        let sent = w.recorder.sent.lock().unwrap().clone();
        let profile = profiles::domain_of_reseller(&w.db, w.r1.id, "example.com")
            .unwrap()
            .unwrap()
            .profile_id;
        assert_eq!(sent[0].0, Login::Profile(profile));
        assert_eq!(sent[0].1, "owner@example.com");
        assert_eq!(sent[0].2, "profile alice for example.com");
        assert_eq!(sent[1].1, "admin@example.com");
    }

    #[test]
    fn send_password_errors() {
        let mut w = world();
        let sp = |attrs: &[(&str, &str)]| request("send_password", "domain", &[], attrs);
        type Attrs<'a> = &'a [(&'a str, &'a str)];
        let cases: &[(Attrs<'_>, u16, &str)] = &[
            (&[], 460, "Missing required field: domain_name."),
            (
                &[("domain_name", " ")],
                460,
                "Missing required field: domain_name.",
            ),
            (
                &[("domain_name", "example.com"), ("send_to", "tech")],
                465,
                "Invalid value for send_to: use owner or admin.",
            ),
            (
                &[("domain_name", "example.com"), ("sub_user", "2")],
                465,
                "Invalid value for sub_user: use 0 or 1.",
            ),
            // Another reseller's domain is exactly as unknown as a missing one.
            (&[("domain_name", "other.org")], 480, "Domain not found"),
            (&[("domain_name", "nowhere.org")], 480, "Domain not found"),
            (&[("domain_name", "not a domain")], 480, "Domain not found"),
            (
                &[("domain_name", "example.com"), ("sub_user", "1")],
                480,
                "Sub-user not found",
            ),
        ];
        for (attrs, want, text) in cases {
            let o = w.run(&sp(attrs));
            assert_eq!(
                (code(&o), o.text.as_str()),
                ((false, *want), *text),
                "{attrs:?}"
            );
        }
        // A contact without an address cannot be mailed.
        w.db.execute("UPDATE contacts SET email = '' WHERE role = 'admin'", [])
            .unwrap();
        let o = w.run(&sp(&[("domain_name", "example.com")]));
        assert_eq!(code(&o), (false, 465));
        assert!(o.text.contains("admin contact"), "{}", o.text);
        assert!(w.recorder.sent.lock().unwrap().is_empty());
    }

    #[test]
    fn set_cookie_and_the_session_commands() {
        let mut w = world();
        let o = w.login("alice", OWNER_PASSWORD, "example.com");
        assert_eq!(code(&o), (true, 200), "{o:?}");
        let cookie = attr_of(&o, "cookie").to_string();
        assert_eq!(attr_of(&o, "domain_count"), "2");
        assert_eq!(attr_of(&o, "f_owner"), "1");
        assert_eq!(attr_of(&o, "permission"), "");
        assert_eq!(attr_of(&o, "waiting_requests_no"), "0");
        assert_eq!(attr_of(&o, "encoding_type"), "");
        // The first login has no previous one to report; the second reports the first.
        assert_eq!(attr_of(&o, "last_ip"), "");
        let again = w.login("alice", OWNER_PASSWORD, "example.com");
        assert_eq!(attr_of(&again, "last_ip"), "192.0.2.7");
        assert!(!attr_of(&again, "last_access_time").is_empty());

        // Switch the session to the profile's other domain; not to someone else's.
        let upd = |dn: &str| {
            request(
                "update",
                "cookie",
                &[("cookie", &cookie)],
                &[("domain_new", dn)],
            )
        };
        assert_eq!(code(&w.run(&upd("example.net"))), (true, 200));
        assert_eq!(code(&w.run(&upd("other.org"))), (false, 480));
        let o = w.run(&request(
            "get",
            "domain",
            &[("cookie", &cookie)],
            &[("type", "all_info")],
        ));
        assert_eq!(code(&o), (true, 200));
        assert!(format!("{o:?}").contains("owner@example.net"), "{o:?}");

        // The cookie is no good with another reseller.
        let r2 = w.r2.clone();
        let o = w.run_as(
            &r2,
            &request(
                "get",
                "domain",
                &[("cookie", &cookie)],
                &[("type", "owner")],
            ),
        );
        assert_eq!((code(&o), o.text.as_str()), ((false, 415), BAD_COOKIE));

        let del = request(
            "delete",
            "cookie",
            &[("cookie", &cookie)],
            &[("cookie", &cookie)],
        );
        assert_eq!(code(&w.run(&del)), (true, 200));
        assert_eq!(
            (code(&w.run(&del)), w.run(&del).text),
            ((false, 415), BAD_COOKIE.to_string())
        );
        let o = w.run(&request("delete", "cookie", &[], &[]));
        assert_eq!(
            (code(&o), o.text.as_str()),
            ((false, 460), "No Cookie Supplied.")
        );
        assert_eq!(
            code(&w.run(&request("QUIT", "SESSION", &[], &[]))),
            (true, 200)
        );
    }

    #[test]
    fn wrong_logins_all_look_the_same() {
        let mut w = world();
        for (user, password, domain) in [
            ("alice", "Wrong-pass-1", "example.com"),
            ("mallory", OWNER_PASSWORD, "example.com"),
            ("alice", OWNER_PASSWORD, "other.org"),
            ("alice", OWNER_PASSWORD, "nowhere.org"),
        ] {
            let o = w.login(user, password, domain);
            assert_eq!(
                (code(&o), o.text.as_str()),
                ((false, 415), BAD_LOGIN),
                "{user} {domain}"
            );
            assert!(o.attributes.is_empty());
        }
        let o = w.run(&request(
            "set",
            "cookie",
            &[],
            &[("reg_password", "x"), ("domain", "example.com")],
        ));
        assert_eq!(o.text, "Required field 'reg_username' not provided.");
        let o = w.run(&request(
            "set",
            "cookie",
            &[],
            &[("reg_username", "alice"), ("domain", "example.com")],
        ));
        assert_eq!(o.text, "Required field 'reg_password' not provided.");
        let o = w.run(&request(
            "set",
            "cookie",
            &[],
            &[("reg_username", "alice"), ("reg_password", "x")],
        ));
        assert_eq!(
            (code(&o), o.text.as_str()),
            ((false, 460), "No Domain Supplied.")
        );
    }

    #[test]
    fn change_password_ends_sessions_and_links() {
        let mut w = world();
        let cookie =
            attr_of(&w.login("alice", OWNER_PASSWORD, "example.com"), "cookie").to_string();
        let change = |pw: &str| {
            request(
                "change",
                "password",
                &[("cookie", &cookie)],
                &[("reg_password", pw)],
            )
        };
        let o = w.run(&change("short"));
        assert_eq!(code(&o), (false, 465));
        assert!(o.text.contains("10 to 20"), "{}", o.text);
        let o = w.run(&change("has space in it"));
        assert_eq!(code(&o), (false, 465));
        let o = w.run(&change("New-pass-22"));
        assert_eq!(
            (code(&o), o.text.as_str()),
            ((true, 200), "Password successfully changed.")
        );
        assert_eq!(w.recorder.voided.lock().unwrap().len(), 1);
        // The session that changed it is over, and only the new password works.
        assert_eq!(code(&w.run(&change("Other-pass-33"))), (false, 415));
        assert_eq!(
            code(&w.login("alice", OWNER_PASSWORD, "example.com")),
            (false, 415)
        );
        assert_eq!(
            code(&w.login("alice", "New-pass-22", "example.com")),
            (true, 200)
        );
        // Reseller mode: the domain instead of a cookie.
        let o = w.run(&request(
            "change",
            "password",
            &[("domain", "example.net")],
            &[("reg_password", "Third-pass-4")],
        ));
        assert_eq!(code(&o), (true, 200));
        assert_eq!(
            code(&w.login("alice", "Third-pass-4", "example.com")),
            (true, 200)
        );
        let o = w.run(&request(
            "change",
            "password",
            &[],
            &[("reg_password", "Third-pass-4")],
        ));
        assert_eq!(code(&o), (false, 460));
        let o = w.run(&request(
            "change",
            "password",
            &[("domain", "example.net")],
            &[],
        ));
        assert_eq!(o.text, "Required field 'reg_password' not provided.");
    }

    #[test]
    fn get_domain_types() {
        let mut w = world();
        let get = |t: &str| {
            request(
                "GET",
                "DOMAIN",
                &[("domain", "example.com")],
                &[("type", t)],
            )
        };
        let o = w.run(&get("owner"));
        assert_eq!(code(&o), (true, 200));
        let OpsValue::Assoc(set) = &o.attributes[0].1 else {
            panic!("{o:?}")
        };
        assert_eq!(set[0].0, "owner");
        assert_eq!(set[0].1.get_str("email"), Some("owner@example.com"));
        assert_eq!(set[0].1.get_str("first_name"), Some("Olive"));
        for t in ["admin", "billing", "tech"] {
            let o = w.run(&get(t));
            assert_eq!(code(&o), (true, 200), "{t}");
            assert!(format!("{o:?}").contains("admin@example.com"), "{t}: {o:?}");
        }
        let o = w.run(&get("list"));
        let list = o
            .attributes
            .iter()
            .find(|(k, _)| k == "domain_list")
            .unwrap();
        assert_eq!(
            list.1.at(0).and_then(|d| d.get_str("name")),
            Some("example.com")
        );
        assert_eq!(
            list.1.at(1).and_then(|d| d.get_str("name")),
            Some("example.net")
        );
        assert_eq!(attr_of(&o, "total"), "2");
        let o = w.run(&get("all_info"));
        assert_eq!(attr_of(&o, "registry_createdate"), "2023-11-14 22:13:20");
        assert_eq!(code(&w.run(&get("nameservers"))), (false, 465));
        let o = w.run(&request("get", "domain", &[("domain", "example.com")], &[]));
        assert_eq!(
            (code(&o), o.text.as_str()),
            ((false, 460), "Info type not specified.")
        );
        let o = w.run(&request(
            "get",
            "domain",
            &[("domain", "other.org")],
            &[("type", "owner")],
        ));
        assert_eq!(
            (code(&o), o.text.as_str()),
            ((false, 480), "Domain not found")
        );
    }

    #[test]
    fn subusers() {
        let mut w = world();
        let add = |name: &str, pw: &str, perm: &str| {
            request(
                "add",
                "subuser",
                &[("domain", "example.com"), ("username", "alice")],
                &[
                    ("sub_username", name),
                    ("sub_password", pw),
                    ("sub_permission", perm),
                ],
            )
        };
        assert_eq!(
            code(&w.run(&add("bob", "Bob-pass-123", "64"))),
            (false, 465)
        );
        assert_eq!(
            code(&w.run(&add("alice", "Bob-pass-123", "2"))),
            (false, 485)
        );
        assert_eq!(code(&w.run(&add("bob", "short", "2"))), (false, 465));
        let o = w.run(&add("bob", "Bob-pass-123", "2"));
        assert_eq!(code(&o), (true, 200), "{o:?}");
        let id = attr_of(&o, "sub_id").to_string();
        let o = w.run(&add("carol", "Carol-pass-1", "2"));
        assert_eq!(
            (code(&o), o.text.as_str()),
            ((false, 447), "Sub-user limit exceeded.")
        );

        let get = request(
            "get",
            "subuser",
            &[("domain", "example.com"), ("username", "alice")],
            &[],
        );
        let o = w.run(&get);
        assert_eq!(
            (
                attr_of(&o, "id"),
                attr_of(&o, "permission"),
                attr_of(&o, "username")
            ),
            (id.as_str(), "2", "bob")
        );

        // The sub-user logs in, gets f_owner 0, and may not manage sub-users.
        let o = w.login("bob", "Bob-pass-123", "example.com");
        assert_eq!(
            (attr_of(&o, "f_owner"), attr_of(&o, "permission")),
            ("0", "2")
        );
        let sub_cookie = attr_of(&o, "cookie").to_string();
        let o = w.run(&request("get", "subuser", &[("cookie", &sub_cookie)], &[]));
        assert_eq!((code(&o), o.text.as_str()), ((false, 435), SUBUSER_DENIED));
        // send_password for the sub-user goes through the interface as the sub-user's login.
        let o = w.run(&request(
            "send_password",
            "domain",
            &[],
            &[("domain_name", "example.com"), ("sub_user", "1")],
        ));
        assert_eq!(code(&o), (true, 200));
        assert!(matches!(
            w.recorder.sent.lock().unwrap()[0].0,
            Login::SubUser(_)
        ));

        // Modify: a new password ends the sub-user's sessions.
        let modify = request(
            "modify",
            "subuser",
            &[("domain", "example.com")],
            &[
                ("sub_id", &id),
                ("sub_password", "Bob-pass-456"),
                ("sub_permission", "6"),
            ],
        );
        assert_eq!(code(&w.run(&modify)), (true, 200));
        let o = w.run(&request(
            "get",
            "domain",
            &[("cookie", &sub_cookie)],
            &[("type", "owner")],
        ));
        assert_eq!(code(&o), (false, 415));
        assert_eq!(
            code(&w.login("bob", "Bob-pass-456", "example.com")),
            (true, 200)
        );
        let wrong = request(
            "modify",
            "subuser",
            &[("domain", "example.com")],
            &[("sub_id", "999")],
        );
        assert_eq!(code(&w.run(&wrong)), (false, 480));
        let wrong_parent = request(
            "get",
            "subuser",
            &[("domain", "example.com"), ("username", "zed")],
            &[],
        );
        assert_eq!(code(&w.run(&wrong_parent)), (false, 480));

        let del = request(
            "delete",
            "subuser",
            &[("domain", "example.com")],
            &[("sub_id", &id)],
        );
        assert_eq!(code(&w.run(&del)), (true, 200));
        assert_eq!(code(&w.run(&del)), (false, 480));
        let o = w.run(&get);
        assert_eq!(code(&o), (true, 200));
        assert!(o.attributes.is_empty());
        assert_eq!(
            code(&w.login("bob", "Bob-pass-456", "example.com")),
            (false, 415)
        );
        let o = w.run(&request(
            "delete",
            "subuser",
            &[("domain", "example.com")],
            &[],
        ));
        assert_eq!(
            (code(&o), o.text.as_str()),
            ((false, 460), "Missing required field: sub_id.")
        );
    }

    #[test]
    fn metric_names_are_exactly_the_commands_parse_knows() {
        for Known {
            action,
            object,
            name,
            ..
        } in KNOWN
        {
            let req = request(&action.to_uppercase(), object, &[], &[]);
            assert_eq!(known_name(&req), Some(*name));
            assert_eq!(*name, format!("{action} {object}"));
            let parsed = parse(&req);
            assert!(
                !matches!(&parsed, Err(o) if o.text.starts_with("Invalid Command")),
                "{name}: {parsed:?}"
            );
        }
        assert_eq!(known_name(&request("register", "domain", &[], &[])), None);
    }

    #[test]
    fn unknown_commands() {
        let mut w = world();
        let o = w.run(&request("register", "domain", &[], &[]));
        assert_eq!(
            (code(&o), o.text.as_str()),
            ((false, 400), "Invalid Command: register domain")
        );
        let o = w.run(&request("send_password", "transfer", &[], &[]));
        assert_eq!(o.text, "Invalid Command: send_password transfer");
        let long = "x".repeat(500);
        let o = w.run(&request(&long, "domain", &[], &[]));
        assert!(o.text.len() < 150);
    }
}
