//! TLS for a listener: rustls with the ring provider (the crypto mail-send already uses; no
//! OpenSSL, no aws-lc), TLS 1.2 and 1.3, HTTP/1.1 only (no ALPN: passlink speaks no h2).
//!
//! The certificate chain and key are PEM files, read at start and again on SIGHUP. A reload
//! that fails keeps the certificate in use and says which file was wrong; connections take
//! whatever configuration is current when they are accepted.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Debug)]
pub enum TlsError {
    /// A file could not be read or held no usable PEM item.
    File { path: PathBuf, message: String },
    /// The chain and key do not make a server configuration (mismatch, unsupported key).
    Config {
        cert: PathBuf,
        key: PathBuf,
        error: rustls::Error,
    },
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::File { path, message } => write!(f, "{}: {message}", path.display()),
            TlsError::Config { cert, key, error } => write!(
                f,
                "{} with {}: not a usable certificate and key: {error}",
                cert.display(),
                key.display()
            ),
        }
    }
}

impl std::error::Error for TlsError {}

/// A listener's TLS configuration, replaceable while the server runs.
pub struct TlsAcceptor {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<Arc<ServerConfig>>,
}

impl fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAcceptor")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .finish_non_exhaustive()
    }
}

impl TlsAcceptor {
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<TlsAcceptor, TlsError> {
        let config = server_config(cert_file, key_file)?;
        Ok(TlsAcceptor {
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            current: RwLock::new(config),
        })
    }

    /// Reads the files again. On error the configuration in use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = server_config(&self.cert_file, &self.key_file)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = config;
        Ok(())
    }

    pub fn cert_file(&self) -> &Path {
        &self.cert_file
    }

    pub(super) fn accept(&self) -> Result<rustls::ServerConnection, rustls::Error> {
        let config = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut conn = rustls::ServerConnection::new(config)?;
        // A response is sealed whole (it is already in memory); rustls's default 64 KiB cap on
        // buffered plaintext would cut a large file short.
        conn.set_buffer_limit(None);
        Ok(conn)
    }
}

fn server_config(cert_file: &Path, key_file: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let file_error = |path: &Path, message: String| TlsError::File {
        path: path.to_path_buf(),
        message,
    };
    let chain = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| file_error(cert_file, format!("cannot read certificates: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(cert_file, format!("not a PEM certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(file_error(
            cert_file,
            "no CERTIFICATE in the file (expected a PEM chain, leaf first)".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
        file_error(
            key_file,
            format!("no usable private key (PKCS#8, RSA or EC, in PEM): {e}"),
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|error| TlsError::Config {
            cert: cert_file.to_path_buf(),
            key: key_file.to_path_buf(),
            error,
        })?;
    Ok(Arc::new(config))
}
