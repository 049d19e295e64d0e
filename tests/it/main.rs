//! The integration tests: each starts the real `passlink` binary on a free loopback port with
//! a temporary data directory and talks to it over HTTP or its command line.

mod audit;
mod brands;
mod cli;
mod config;
mod faults;
mod http;
mod languages;
mod layers;
mod lifecycle;
mod links;
mod listeners;
mod litestream;
mod man;
mod memory;
mod metrics;
mod migrate;
mod operator;
mod passwords;
mod perl;
mod props;
mod proxy;
mod reset;
mod support;
mod tls;
mod xcp;
mod xss;
