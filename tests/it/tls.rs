//! TLS listeners against real clients: a test CA and certificates made with the `openssl`
//! command, Python's xmlrpc.client and urllib trusting that CA, Debian's Net::OpenSRS over
//! LWP::Protocol::https, rustls as a client for the hostile-input and reload checks.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::support::{HttpResponse, Server, data_dir_line, parse_response};
use crate::xcp::{OWNER_PASSWORD, add_domain, add_reseller};

const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scripts");
const ALL_GROUPS: &str = r#"["xmlstorage", "files", "xcp", "reset", "status"]"#;

/// Runs `openssl` in `dir`; panics with its stderr if it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command (Debian's openssl; .ci/run installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How a leaf's private key is written: the three forms passlink reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyForm {
    /// An EC P-256 key in PKCS#8 (`PRIVATE KEY`).
    EcPkcs8,
    /// An RSA 2048 key in PKCS#1 (`RSA PRIVATE KEY`).
    RsaPkcs1,
    /// An EC P-256 key in SEC1 (`EC PRIVATE KEY`).
    EcSec1,
}

/// A test CA in a directory, issuing server certificates for 127.0.0.1 and localhost.
pub(crate) struct Pki {
    dir: PathBuf,
    pub(crate) ca: PathBuf,
    serial: u32,
}

impl Pki {
    /// A new CA (EC P-256, valid two days) with its files in `dir`, named after `name`.
    pub(crate) fn new(dir: &Path, name: &str) -> Pki {
        let ca_key = format!("{name}-ca.key");
        let ca = format!("{name}-ca.pem");
        openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &ca_key,
            ],
        );
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                &ca_key,
                "-subj",
                &format!("/CN=passlink test CA {name}"),
                "-days",
                "2",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-out",
                &ca,
            ],
        );
        Pki {
            dir: dir.to_path_buf(),
            ca: dir.join(ca),
            serial: 1,
        }
    }

    /// Issues a certificate with subject `CN=cn` and subjectAltName IP:127.0.0.1 and
    /// DNS:localhost. Writes the chain (leaf, then the CA, as certbot's fullchain.pem) to
    /// `chain` and the key to `key`, each through a rename, the way a renewal replaces them.
    pub(crate) fn issue(&mut self, cn: &str, form: KeyForm, chain: &Path, key: &Path) {
        let dir = &self.dir;
        let stem = format!("{cn}-{}", self.serial);
        let (leaf_key, leaf_csr, leaf_pem, ext) = (
            format!("{stem}.key"),
            format!("{stem}.csr"),
            format!("{stem}.pem"),
            format!("{stem}.ext"),
        );
        match form {
            KeyForm::EcPkcs8 => openssl(
                dir,
                &[
                    "genpkey",
                    "-algorithm",
                    "EC",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-out",
                    &leaf_key,
                ],
            ),
            KeyForm::RsaPkcs1 => {
                openssl(dir, &["genrsa", "-traditional", "-out", &leaf_key, "2048"])
            }
            KeyForm::EcSec1 => openssl(
                dir,
                &[
                    "ecparam",
                    "-name",
                    "prime256v1",
                    "-genkey",
                    "-noout",
                    "-out",
                    &leaf_key,
                ],
            ),
        }
        let key_text = std::fs::read_to_string(dir.join(&leaf_key)).unwrap();
        let header = match form {
            KeyForm::EcPkcs8 => "-----BEGIN PRIVATE KEY-----",
            KeyForm::RsaPkcs1 => "-----BEGIN RSA PRIVATE KEY-----",
            KeyForm::EcSec1 => "-----BEGIN EC PRIVATE KEY-----",
        };
        assert!(key_text.starts_with(header), "{form:?}: {key_text}");
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-key",
                &leaf_key,
                "-subj",
                &format!("/CN={cn}"),
                "-out",
                &leaf_csr,
            ],
        );
        std::fs::write(
            dir.join(&ext),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n\
             subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
        )
        .unwrap();
        let ca = self.ca.file_name().unwrap().to_str().unwrap().to_string();
        let ca_key = ca.replace("-ca.pem", "-ca.key");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &leaf_csr,
                "-CA",
                &ca,
                "-CAkey",
                &ca_key,
                "-set_serial",
                &format!("{}", 1000 + self.serial),
                "-days",
                "2",
                "-extfile",
                &ext,
                "-out",
                &leaf_pem,
            ],
        );
        self.serial += 1;
        let mut fullchain = std::fs::read(dir.join(&leaf_pem)).unwrap();
        fullchain.extend(std::fs::read(&self.ca).unwrap());
        replace_file(chain, &fullchain);
        replace_file(key, &std::fs::read(dir.join(&leaf_key)).unwrap());
    }
}

/// Writes `bytes` to `path` through a temporary name and a rename.
pub(crate) fn replace_file(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The DER of the first certificate in a PEM file: the leaf of a chain.
fn leaf_der(chain: &Path) -> Vec<u8> {
    CertificateDer::pem_file_iter(chain)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

/// A rustls client (ring, TLS 1.2 and 1.3) that trusts the CA in `ca` and nothing else.
pub(crate) fn client_config(ca: &Path) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// A verified TLS connection to `addr`, the certificate checked for `name`.
pub(crate) struct TlsClient {
    stream: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    /// Bytes read past the last response.
    buf: Vec<u8>,
}

impl TlsClient {
    pub(crate) fn connect(
        addr: SocketAddr,
        config: &Arc<rustls::ClientConfig>,
        name: &str,
    ) -> std::io::Result<TlsClient> {
        let tcp = TcpStream::connect(addr)?;
        tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
        tcp.set_write_timeout(Some(Duration::from_secs(10)))?;
        let name = ServerName::try_from(name.to_string()).unwrap();
        let conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        // Complete the handshake now, so that errors are about it.
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(TlsClient {
            stream,
            buf: Vec::new(),
        })
    }

    /// The certificate the server presented (the leaf), as DER.
    pub(crate) fn leaf(&self) -> Vec<u8> {
        self.stream.conn.peer_certificates().unwrap()[0].to_vec()
    }

    /// Sends one request and reads one response (keep-alive).
    pub(crate) fn request(&mut self, request: &[u8]) -> HttpResponse {
        self.stream.write_all(request).unwrap();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some((resp, used)) = parse_response(&self.buf) {
                self.buf.drain(..used);
                return resp;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!(
                    "connection closed before a whole response: {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("reading a response over TLS: {e}"),
            }
        }
    }

    pub(crate) fn get(&mut self, path: &str) -> HttpResponse {
        self.request(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
    }
}

/// GET over a new verified TLS connection; returns the response and the leaf certificate.
pub(crate) fn tls_get(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
    path: &str,
) -> (HttpResponse, Vec<u8>) {
    let mut client = TlsClient::connect(addr, config, "127.0.0.1")
        .unwrap_or_else(|e| panic!("TLS connection to {addr}: {e}"));
    let resp = client.get(path);
    (resp, client.leaf())
}

/// A new TLS connection must get `/healthz` answered within `within`.
fn assert_tls_healthy(addr: SocketAddr, config: &Arc<rustls::ClientConfig>, within: Duration) {
    let start = Instant::now();
    let (resp, _) = tls_get(addr, config, "/healthz");
    let elapsed = start.elapsed();
    assert_eq!((resp.status, resp.text().as_str()), (200, "ok\n"));
    assert!(elapsed < within, "a TLS /healthz took {elapsed:?}");
}

/// A server with the `[[listener]]` tables `listeners`, where `TLS_FILES` stands for
/// `cert_file = …, key_file = …` of a fresh certificate (`CN=passlink-first`, EC PKCS#8) from a
/// fresh CA. `rest` holds further tables, such as `[server]`.
struct TlsServer {
    server: Server,
    pki: Pki,
    chain: PathBuf,
    key: PathBuf,
    client: Arc<rustls::ClientConfig>,
}

impl TlsServer {
    fn start(listeners: &str, rest: &str) -> TlsServer {
        let dir = tempfile::tempdir().unwrap();
        let mut pki = Pki::new(dir.path(), "test");
        let chain = dir.path().join("fullchain.pem");
        let key = dir.path().join("privkey.pem");
        pki.issue("passlink-first", KeyForm::EcPkcs8, &chain, &key);
        let tls = format!(
            "cert_file = {:?}, key_file = {:?}",
            chain.display().to_string(),
            key.display().to_string()
        );
        let text = format!(
            "[storage]\n{}\n\n{rest}\n\n{}\n",
            data_dir_line(dir.path()),
            listeners.replace("TLS_FILES", &tls)
        );
        let client = client_config(&pki.ca);
        let server = Server::start_config(dir, &text);
        TlsServer {
            server,
            pki,
            chain,
            key,
            client,
        }
    }

    /// One listener for everything, over TLS.
    fn everything(rest: &str) -> TlsServer {
        TlsServer::start(
            &format!(
                "[[listener]]\naddress = \"127.0.0.1:0\"\nserve = {ALL_GROUPS}\ntls = {{ TLS_FILES }}\n"
            ),
            rest,
        )
    }
}

/// How often `needle` is in the log.
fn count_in_log(server: &Server, needle: &str) -> usize {
    server.log().matches(needle).count()
}

/// Waits until `needle` is in the log `n` times; returns the log.
fn wait_log_count(server: &Server, needle: &str, n: usize) -> String {
    let start = Instant::now();
    loop {
        let log = server.log();
        if log.matches(needle).count() >= n {
            return log;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{needle:?} not logged {n} times within 5 s; log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn xmlrpc_client_over_tls_registers_saves_and_reads_files_back() {
    let t = TlsServer::everything("");
    let announced = t.server.listeners();
    assert_eq!(announced.len(), 1);
    assert_eq!(
        announced[0].at,
        format!("https://{}", t.server.addr),
        "{announced:?}"
    );
    let base = format!("https://{}", t.server.addr);
    let out = Command::new("python3")
        .arg(format!("{SCRIPTS}/xss_tls.py"))
        .arg(&base)
        .arg(&t.pki.ca)
        .output()
        .expect("python3 (.ci/run installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ALL OK"), "{text}");
    // The client that trusted only the system's CAs failed its handshake; the server lives on.
    t.server.wait_log(
        "TLS handshake with 127.0.0.1 failed",
        Duration::from_secs(5),
    );
    assert_tls_healthy(t.server.addr, &t.client, Duration::from_secs(2));
}

/// The spooled mails' text (there is no SMTP host in these configs).
fn spooled_mail(server: &Server, within: Duration) -> String {
    let spool = server.dir.path().join("data").join("spool");
    let start = Instant::now();
    loop {
        let mails: Vec<String> = std::fs::read_dir(&spool)
            .into_iter()
            .flatten()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        if let Some(mail) = mails.into_iter().next() {
            // Undo quoted-printable soft line breaks.
            return mail.replace("=\r\n", "").replace("=\n", "");
        }
        assert!(
            start.elapsed() < within,
            "no mail in {} within {within:?}",
            spool.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn net_opensrs_over_https_sends_a_password_link_that_opens_over_tls() {
    // The OpenSRS convention: XCP on a TLS port of its own (with the reset pages here too, so
    // links are https), everything else on a plain listener.
    let t = TlsServer::start(
        "[[listener]]\naddress = \"127.0.0.1:0\"\nserve = [\"xcp\", \"reset\"]\n\
         tls = { TLS_FILES, hsts_max_age = 300 }\n\n\
         [[listener]]\naddress = \"127.0.0.1:0\"\nserve = [\"xmlstorage\", \"files\", \"status\"]\n",
        "[reset]\nip_burst = 1000\n",
    );
    let tls_addr = t.server.addr;
    let plain = t.server.listener_addr("xmlstorage, files, status");
    let key = add_reseller(&t.server, "resellerx", &[]);
    add_domain(&t.server, "example.info", "resellerx", "resellerx");
    let run = |ca: &Path| {
        let out = Command::new("perl")
            .arg(format!("{SCRIPTS}/net_opensrs.pl"))
            .arg("--send-password-only")
            .args([
                &format!("https://{tls_addr}/"),
                &key,
                "resellerx",
                OWNER_PASSWORD,
                "example.info",
            ])
            .env("PERL_LWP_SSL_CA_FILE", ca)
            .env_remove("PERL_LWP_SSL_CA_PATH")
            .env_remove("PERL_LWP_SSL_VERIFY_HOSTNAME")
            .env_remove("HTTPS_CA_FILE")
            .env_remove("HTTPS_CA_DIR")
            .output()
            .expect("perl (Debian's libnet-opensrs-perl and liblwp-protocol-https-perl; .ci/run installs them)");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (stdout, stderr) = run(&t.pki.ca);
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["send_password 1 200 Message sent"],
        "Net::OpenSRS over HTTPS needs Debian's liblwp-protocol-https-perl (.ci/run installs \
         it):\n{stdout}\n{stderr}"
    );
    // The link in the mail is on the TLS listener that serves reset, and opens there.
    let mail = spooled_mail(&t.server, Duration::from_secs(10));
    let prefix = format!("https://{tls_addr}/reset/");
    let at = mail
        .find(&prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in the mail:\n{mail}"));
    let link: String = mail[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    let (page, _) = tls_get(tls_addr, &t.client, &link[tls_addr.to_string().len() + 8..]);
    assert_eq!(page.status, 200, "{}", page.text());
    // HSTS, as configured for this listener, and only here.
    assert_eq!(
        page.header("strict-transport-security"),
        Some("max-age=300"),
        "{page:?}"
    );
    let plain_reply = crate::support::get(plain, "/healthz");
    assert_eq!(plain_reply.header("strict-transport-security"), None);
    assert!(page.text().contains("<form"), "{}", page.text());

    // A client that trusts another CA refuses the certificate and sends nothing.
    let other = Pki::new(t.server.dir.path(), "other");
    let (stdout, stderr) = run(&other.ca);
    assert_eq!(stdout.trim(), "send_password undef", "{stdout}\n{stderr}");
    assert!(stderr.contains("certificate verify failed"), "{stderr}");

    // The plain listener does not take XCP: 404 in XCP's form, and it is healthy.
    let body = crate::xcp::envelope(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "example.info")],
    );
    let bytes = crate::support::exchange(
        plain,
        &crate::xcp::signed_request("resellerx", &key, &body, &[]),
        Duration::from_secs(10),
    );
    let (resp, _) = parse_response(&bytes).unwrap();
    assert_eq!(resp.status, 404, "{}", resp.text());
    assert!(
        resp.text().contains("OPS_envelope")
            && resp
                .text()
                .contains("OpenSRS XCP is not served on this address"),
        "{}",
        resp.text()
    );
    crate::support::assert_healthy_from(plain, None, Duration::from_secs(2));
    // The TLS listener answers too, and /healthz is not among what it serves.
    let (resp, _) = tls_get(tls_addr, &t.client, "/healthz");
    assert_eq!(
        (resp.status, resp.text().as_str()),
        (404, "not found (status is not served on this address)\n")
    );
}

/// Bytes that are neither TLS nor HTTP, the same on every run (xorshift), starting with a
/// byte that is no TLS record type.
fn garbage(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    let mut out: Vec<u8> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    out[0] = 0xff;
    out
}

/// What the server sent before it closed the connection, if it closed it within `limit`.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(start.elapsed());
        if left.is_zero() {
            return None;
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return Some(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // A reset is a close too.
            Err(_) => return Some(got),
        }
    }
}

/// Sends `bytes` on a new connection to the TLS port; the server must close it soon, without
/// an HTTP answer.
fn assert_closed_after(addr: SocketAddr, what: &str, bytes: &[u8]) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let _ = stream.write_all(bytes);
    let got = closed_within(&mut stream, Duration::from_secs(3))
        .unwrap_or_else(|| panic!("{what}: the connection stayed open"));
    assert!(!got.starts_with(b"HTTP/"), "{what}: {got:?}");
    // At most a TLS alert record (type 21).
    assert!(got.is_empty() || got[0] == 21, "{what}: {got:?}");
}

#[test]
fn hostile_tls_clients_do_not_stop_anyone_else() {
    // A short head deadline, which the handshake runs under too.
    let t = TlsServer::everything("[server]\nhead_timeout_secs = 2\n");
    let addr = t.server.addr;
    // 200 connections that say nothing, and 20 that start a ClientHello and stall.
    let opened = Instant::now();
    let silent: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    let stalled: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])
                .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    assert_tls_healthy(addr, &t.client, Duration::from_secs(1));

    // Plain HTTP on the TLS port, garbage, and a handshake record holding garbage.
    assert_closed_after(
        addr,
        "plain HTTP",
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_closed_after(addr, "random bytes", &garbage(4096));
    let mut record = vec![0x16, 0x03, 0x01, 0x00, 0x40];
    record.extend(garbage(0x40));
    assert_closed_after(addr, "a handshake record of garbage", &record);
    let log = wait_log_count(&t.server, "TLS handshake with 127.0.0.1 failed", 3);
    assert!(!log.contains("panicked"), "{log}");
    // Counted for /metrics: those three, not the silent or stalled ones (still waiting).
    let (resp, _) = tls_get(addr, &t.client, "/metrics");
    let page = resp.text();
    assert!(
        page.contains("\npasslink_tls_handshake_failures_total 3\n"),
        "{page}"
    );

    // Still healthy with the idle ones open.
    assert_tls_healthy(addr, &t.client, Duration::from_secs(1));
    // The head deadline closes the silent and the stalled ones, with nothing sent back but
    // perhaps a TLS alert.
    for mut stream in silent.into_iter().chain(stalled) {
        let limit = Duration::from_secs(4).saturating_sub(opened.elapsed());
        let got = closed_within(&mut stream, limit).unwrap_or_else(|| {
            panic!(
                "a silent connection still open after {:?}",
                opened.elapsed()
            )
        });
        assert!(got.is_empty() || got[0] == 21, "{got:?}");
    }
    let waited = opened.elapsed();
    assert!(
        waited > Duration::from_millis(1500) && waited < Duration::from_secs(4),
        "closed after {waited:?}, with a 2 s deadline"
    );
    assert_tls_healthy(addr, &t.client, Duration::from_secs(1));
}

#[test]
fn sighup_reloads_the_certificate_and_a_broken_file_keeps_the_old_one() {
    let mut t = TlsServer::everything("");
    let addr = t.server.addr;
    let first = leaf_der(&t.chain);
    let (resp, leaf) = tls_get(addr, &t.client, "/healthz");
    assert_eq!(resp.status, 200);
    assert_eq!(leaf, first);
    // A connection that stays open across the reloads.
    let mut kept = TlsClient::connect(addr, &t.client, "localhost").unwrap();
    assert_eq!(kept.get("/healthz").status, 200);

    // A new certificate (another subject, an RSA key in PKCS#1) replaces the files.
    let (chain, key) = (t.chain.clone(), t.key.clone());
    t.pki
        .issue("passlink-second", KeyForm::RsaPkcs1, &chain, &key);
    let second = leaf_der(&chain);
    assert!(second.windows(15).any(|w| w == b"passlink-second"));
    t.server.signal("HUP");
    let loaded = format!("reload: TLS certificate {} loaded", chain.display());
    wait_log_count(&t.server, &loaded, 1);
    let (resp, leaf) = tls_get(addr, &t.client, "/healthz");
    assert_eq!(resp.status, 200);
    assert_eq!(leaf, second, "a new connection gets the new certificate");
    assert_eq!(kept.get("/healthz").status, 200);
    assert_eq!(kept.leaf(), first, "an open connection keeps its session");

    // Broken files: each reload fails, names the file, and the certificate in use stays.
    let not_replaced = "reload: TLS certificate not replaced, the one in use stays: ";
    let good_chain = std::fs::read(&chain).unwrap();
    replace_file(&chain, b"this is not a certificate\n");
    t.server.signal("HUP");
    let log = wait_log_count(&t.server, not_replaced, 1);
    assert!(
        log.contains(&format!("{not_replaced}{}: ", chain.display())),
        "{log}"
    );
    assert_eq!(tls_get(addr, &t.client, "/healthz").1, second);

    replace_file(&chain, &good_chain);
    replace_file(&key, b"this is not a key\n");
    t.server.signal("HUP");
    let log = wait_log_count(&t.server, not_replaced, 2);
    assert!(
        log.contains(&format!("{not_replaced}{}: ", key.display())),
        "{log}"
    );
    assert_eq!(tls_get(addr, &t.client, "/healthz").1, second);

    // A key that does not belong to the certificate (another certificate's key).
    let scratch = t.server.dir.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    let (other_chain, other_key) = (scratch.join("chain.pem"), scratch.join("key.pem"));
    t.pki
        .issue("passlink-other", KeyForm::EcSec1, &other_chain, &other_key);
    replace_file(&key, &std::fs::read(&other_key).unwrap());
    t.server.signal("HUP");
    let log = wait_log_count(&t.server, not_replaced, 3);
    assert!(
        log.contains(&format!(
            "{not_replaced}{} with {}: ",
            chain.display(),
            key.display()
        )),
        "{log}"
    );
    assert_eq!(tls_get(addr, &t.client, "/healthz").1, second);

    // Put right (an EC key in SEC1 this time), the next reload takes it.
    t.pki.issue("passlink-third", KeyForm::EcSec1, &chain, &key);
    let third = leaf_der(&chain);
    let before = count_in_log(&t.server, &loaded);
    t.server.signal("HUP");
    wait_log_count(&t.server, &loaded, before + 1);
    assert_eq!(tls_get(addr, &t.client, "/healthz").1, third);
    assert_eq!(kept.get("/healthz").status, 200);
    assert_tls_healthy(addr, &t.client, Duration::from_secs(2));
}
