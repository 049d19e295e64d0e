//! `[[listener]]`: where passlink listens, what each address serves, and which of them speak
//! TLS. With no `[[listener]]` table, `server.listen` serves everything (and each `xcp.listen`
//! address serves XCP alone), exactly as before the table existed.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The endpoint groups a listener can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    /// `/RPC2`, `/xmlStorageSystem` (SOAP and its WSDL), `/weblogUpdates/…`,
    /// `/initialResources/…`.
    Xmlstorage,
    /// Users' stored files under `/users/`.
    Files,
    /// A `POST` of an `OPS_envelope`.
    Xcp,
    /// The pages behind reset links, `/reset/…`.
    Reset,
    /// `/healthz` and `/metrics`.
    Status,
}

impl Group {
    pub const ALL: [Group; 5] = [
        Group::Xmlstorage,
        Group::Files,
        Group::Xcp,
        Group::Reset,
        Group::Status,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Group::Xmlstorage => "xmlstorage",
            Group::Files => "files",
            Group::Xcp => "xcp",
            Group::Reset => "reset",
            Group::Status => "status",
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A TCP address, or a unix socket path written `unix:/run/passlink/passlink.sock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddress {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddress::Tcp(addr) => write!(f, "{addr}"),
            ListenAddress::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

impl<'de> Deserialize<'de> for ListenAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if let Some(path) = text.strip_prefix("unix:") {
            if !path.starts_with('/') {
                return Err(serde::de::Error::custom(
                    "a unix socket needs an absolute path, such as \"unix:/run/passlink/passlink.sock\"",
                ));
            }
            return Ok(ListenAddress::Unix(PathBuf::from(path)));
        }
        text.parse().map(ListenAddress::Tcp).map_err(|_| {
            serde::de::Error::custom(
                "expected an address such as \"0.0.0.0:55443\" or \"[::]:55443\", or \
                 \"unix:/run/passlink/passlink.sock\"",
            )
        })
    }
}

impl Serialize for ListenAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `tls = { cert_file = …, key_file = … }`: PEM files, re-read on SIGHUP.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The certificate chain, leaf first (certbot's `fullchain.pem`).
    pub cert_file: PathBuf,
    /// A PKCS#8, RSA (PKCS#1) or EC (SEC1) private key.
    pub key_file: PathBuf,
    /// `Strict-Transport-Security: max-age=…` on this listener's responses. Off unless set:
    /// HSTS binds the whole host name in browsers, so it would also send them to https on a
    /// plain-HTTP listener of the same host (the one legacy clients need), which then fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hsts_max_age: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    pub address: ListenAddress,
    pub serve: Vec<Group>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsFiles>,
}

impl ListenerConfig {
    pub fn serves(&self, group: Group) -> bool {
        self.serve.contains(&group)
    }

    /// `http` or `https`, as links derived from this listener start.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}
