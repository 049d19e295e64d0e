//! passlink: xmlStorageSystem and OpenSRS XCP password services on one SQLite file.
//!
//! The flow of a request is one way: bytes, HTTP layer, endpoint, codec, method, store, result,
//! codec, bytes. [`http`] turns bytes into requests; the (private) endpoints layer routes them,
//! decodes them with a codec ([`xmlrpc`], [`soap`], [`xcp::envelope`]) and calls the methods
//! ([`xss`], [`xcp::commands`]), which work on typed values through narrow handles; the modules
//! that own the tables hold the SQL. `ARCHITECTURE.md` maps the house.

#![forbid(unsafe_code)]
// What has always been true, made a rule: a failure is an error value, never a panic.
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod accounts;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod db;
mod endpoints;
pub mod files;
pub mod hash_cost;
pub mod hex;
pub mod housekeeping;
pub mod http;
pub mod i18n;
pub mod lock;
pub mod logging;
pub mod logins;
pub mod mail;
pub mod metrics;
pub mod migrate;
pub mod owners;
pub mod redirects;
pub mod reset;
pub mod secret;
pub mod serve;
pub mod soap;
pub mod systemd;
pub mod value;
pub mod xcp;
pub mod xml;
pub mod xmlrpc;
pub mod xss;
