//! What the xmlStorageSystem methods work with ([`Env`], [`Caller`]) and how they stop
//! ([`MethodError`]).

use std::net::IpAddr;

use rusqlite::Connection;

use super::notify::Notifier;
use crate::audit::failed::Trail;
use crate::config::{PublicUrls, XmlStorageConfig};
use crate::credentials::Credentials;
use crate::logins::strength::Policy;
use crate::logins::throttle::LoginThrottle;
use crate::metrics::Note;
use crate::reset::ResetLinks;
use crate::value::{Fault, Value, structure};

/// Answers for conditions the operator can fix, told in the protocol's own terms.
pub const STORAGE_FULL: &str =
    "The server's storage is full, so nothing was saved. Please try again later.";
pub const BUSY: &str = "The server is busy, so nothing was saved. Please try again in a moment.";
pub const DB_UNAVAILABLE: &str = "The server's database is unavailable, so nothing was saved. Its \
     operator has to restore it; please try again later.";

/// The borrowed handles a method may use: the worker's connection, the `[xmlstorage]`
/// settings in effect for this request, the public URLs, the credential checker, the reset
/// links, the change notifier and the request's `/metrics` note.
pub struct Env<'a> {
    pub db: &'a mut Connection,
    pub config: &'a XmlStorageConfig,
    pub urls: &'a PublicUrls,
    pub credentials: &'a Credentials,
    pub reset: &'a dyn ResetLinks,
    pub notifier: &'a Notifier,
    pub note: &'a mut Note,
    /// What a new account's password must be (how guessable).
    pub policy: &'a Policy,
    /// Failed logins per login: the waits that limit guessing.
    pub throttle: &'a LoginThrottle,
    /// The audit trail's failed-login counts.
    pub audit: &'a Trail,
}

/// Who is calling: what the methods may know of the connection.
pub struct Caller<'a> {
    pub ip: IpAddr,
    pub user_agent: &'a str,
}

/// Why a method stopped before its ordinary answer.
#[derive(Debug)]
pub enum MethodError {
    /// A protocol error: the codec's fault form.
    Fault(Fault),
    Db(rusqlite::Error),
    /// An answer that ends the method early, as is: a refused login, a busy server.
    Reply(Value),
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

pub type MethodResult = Result<Value, MethodError>;

pub fn flag(error: bool, message: &str) -> Value {
    structure([
        ("flError", Value::Bool(error)),
        ("message", Value::string(message)),
    ])
}
