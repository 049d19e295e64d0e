//! OpenSRS XCP: the reseller API for domain-owner credentials. `envelope` is the OPS envelope
//! codec (bytes to typed values and back) and the request signature.

pub mod domains;
pub mod envelope;
pub mod resellers;
