//! passlink: xmlStorageSystem and OpenSRS XCP password services on one SQLite file.
//!
//! The flow of a request is one way: bytes, codec, method, store, result, codec, bytes.
//! [`http`] turns bytes into requests, [`router`] picks the handler, and the modules that own
//! the tables hold the SQL.

#![forbid(unsafe_code)]

pub mod accounts;
pub mod cli;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod db;
mod endpoints;
pub mod files;
pub mod hex;
pub mod http;
pub mod lock;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod reset;
pub mod serve;
pub mod soap;
pub mod systemd;
pub mod value;
pub mod xcp;
pub mod xml;
pub mod xmlrpc;
pub mod xss;
