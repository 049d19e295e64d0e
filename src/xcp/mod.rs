//! OpenSRS XCP: the reseller API for domain-owner credentials.
//!
//! A request is one `OPS_envelope` POSTed with `X-Username` and `X-Signature`. The flow is
//! bytes → [`envelope::decode`] → reseller authentication ([`resellers::authenticate`]) →
//! [`commands::parse`] → [`commands::execute`] → [`envelope::encode_reply`] → bytes; the
//! HTTP half lives in `endpoints::xcp`. Every answer, errors included,
//! is an OPS reply with HTTP status 200: the known clients ignore the body of anything else.

pub mod commands;
pub mod cookies;
pub mod domains;
pub mod envelope;
pub mod profiles;
pub mod resellers;

/// Nesting limit for the envelope's XML (the figure; real requests use 8 levels).
pub const MAX_DEPTH: usize = 32;
