//! The endpoints layer: the only code that sees a [`crate::http::Request`], answers with a
//! [`crate::http::Response`], and holds the worker context ([`worker::Worker`]). Each file
//! serves one group of `config::Group`, turning requests into the typed calls of the layer
//! below and their results back into responses.

pub mod files;
pub mod reset;
pub mod router;
pub mod status;
pub mod worker;
pub mod xcp;
pub mod xmlstorage;
