//! Behind a reverse proxy: real nginx (Debian's nginx-light) and real Caddy (Debian's caddy) in
//! front of passlink on loopback, each configured with the README's own blocks and lines for
//! the `server.client_ip_header` under test, and `server.trusted_proxies` naming them. A client
//! bound to 127.0.0.5 that forges every forwarding header is seen as 127.0.0.5 by the request
//! log, the XCP IP allowlist and the reset mail; a client that is not a trusted proxy is seen
//! as itself whatever it forwards.
//!
//! The memory attacks of memory.rs come through the same front door too, with passlink given the
//! README's own `[server]` lines (`trusted_proxies = ["127.0.0.1", "::1"]`), and passlink's
//! process is measured (not the proxy's):
//! - 200 connections from one address, each sending all but the last byte of an 8 MiB body:
//!   nginx buffers them all in its temp files and passlink sees nothing until the bodies are
//!   whole, then refuses all but its share for that address with 503 and `Retry-After: 1`;
//!   Caddy streams them, and passlink's share for the address Caddy forwards refuses most at
//!   once. From twenty addresses through Caddy, the budget as a whole refuses the rest. RSS
//!   stays under 128 MiB; the refusals are charged to the attacker's own address; a good client
//!   from another address is answered throughout (by passlink within a second).
//! - Six parallel XML-RPC calls of 240,000 values (~6 MB each) through each proxy: peak RSS
//!   under 160 MiB and under 48 MiB again within 10 s, every call answered in XML-RPC form or
//!   with a 503.
//!
//! These tests print their figures (run them with `--nocapture`): peak RSS, how long the good
//! client waited in each phase, what each attacking connection got back.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::memory::{
    MIB, PeakRss, decode_attack_via, one_attack_at_a_time, partial_bodies, status_bytes,
    xmlrpc_i4_call,
};
use crate::support::{
    HttpResponse, Server, assert_healthy_from, connect_from, parse_response, read_to_close,
};
use crate::xcp::{Reply, add_domain, add_reseller, cd, envelope, signed_request, st};

const CLIENT: &str = "127.0.0.5";
/// What forging clients claim to be: an address in reseller `far`'s allowlist.
const FORGED: &str = "10.9.8.7";
const README: &str = include_str!("../../README.md");

/// Every forwarding header a client can forge, each naming `ip`, some twice, and https.
fn forged_headers(ip: &str) -> Vec<(&'static str, String)> {
    vec![
        ("X-Forwarded-For", ip.to_string()),
        ("Forwarded", format!("for={ip};proto=https")),
        ("Forwarded", format!("for={ip}")),
        ("X-Real-IP", ip.to_string()),
        ("X-Real-IP", ip.to_string()),
        ("X-Forwarded-Proto", "https".to_string()),
    ]
}

fn as_pairs<'a>(headers: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    headers.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

/// The README's section under `heading` (a whole heading line), up to the next heading.
fn readme_section(heading: &str) -> &'static str {
    let start = README
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README.md has no heading {heading:?}"));
    let rest = &README[start + heading.len() + 2..];
    // The next heading of level 2 or 3 (a "# " line may be a comment in a code block).
    let end = ["\n## ", "\n### "]
        .iter()
        .filter_map(|h| rest.find(h))
        .min()
        .map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

/// The fenced `lang` code blocks of a README section, each without the fence's indentation.
fn fenced_blocks(section: &str, lang: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if line.trim() != format!("```{lang}") {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| l.trim() != "```")
            .map(|l| l.get(indent..).unwrap_or("").trim_end())
            .collect();
        blocks.push(body.join("\n") + "\n");
    }
    blocks
}

/// `text` with its one line that reads `from` (trimmed) replaced by `to`; a README that no
/// longer has that line fails here, naming it.
fn replace_line(text: &str, from: &str, to: &str) -> String {
    let hits = text.lines().filter(|l| l.trim() == from).count();
    assert_eq!(
        hits, 1,
        "expected the line {from:?} once in the README block the test adapts for loopback:\n{text}"
    );
    text.lines()
        .map(|l| if l.trim() == from { to } else { l })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The inline code after ``- `"choice"`: add `` in a README section's list.
fn readme_added_line(section: &str, choice: &str) -> String {
    let item = format!("- `\"{choice}\"`: add `");
    let start = section
        .find(&item)
        .unwrap_or_else(|| panic!("README has no item {item:?} in:\n{section}"))
        + item.len();
    let len = section[start..]
        .find('`')
        .unwrap_or_else(|| panic!("README item {item:?} has no closing backtick"));
    section[start..start + len].to_string()
}

fn nginx_binary() -> PathBuf {
    for candidate in ["/usr/sbin/nginx", "/usr/local/sbin/nginx"] {
        if Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    "nginx".into()
}

/// The README's nginx `server` block for `choice`: only the listen address (plain HTTP on
/// loopback, no certificate) and the upstream are changed, plus the README's line for
/// `choice` and, for `forwarded`, its `map`.
fn nginx_site(port: u16, ipv6: bool, upstream: SocketAddr, choice: &str) -> String {
    let section = readme_section("### Behind nginx");
    let blocks = fenced_blocks(section, "nginx");
    let server = blocks
        .iter()
        .find(|b| b.starts_with("server {"))
        .unwrap_or_else(|| panic!("no nginx server block in the README:\n{section}"));
    let server: String = server
        .lines()
        .filter(|l| !l.trim().starts_with("ssl_certificate"))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut listen = format!("    listen 127.0.0.1:{port};");
    if ipv6 {
        listen.push_str(&format!("\n    listen [::1]:{port};"));
    }
    let server = replace_line(&server, "listen 443 ssl;", &listen);
    let mut pass = format!("        proxy_pass http://{upstream};");
    if choice != "x-forwarded-for" {
        pass.push_str(&format!("\n        {}", readme_added_line(section, choice)));
    }
    let server = replace_line(&server, "proxy_pass http://127.0.0.1:5445;", &pass);
    let map = match choice {
        "forwarded" => blocks
            .iter()
            .find(|b| b.starts_with("map $remote_addr $passlink_forwarded_for"))
            .unwrap_or_else(|| panic!("no Forwarded map in the README:\n{section}"))
            .clone(),
        _ => String::new(),
    };
    format!("{map}{server}")
}

/// nginx's own settings around the README's site: everything in `dir`, in the foreground as
/// one process (`master_process off`), so that killing the child stops it all. 768 connections
/// a worker, as Debian's nginx.conf has: with 256, 200 attacking connections and their upstream
/// connections ran nginx out of them ("worker_connections are not enough"), and the good client
/// got no answer at all.
fn nginx_config(dir: &Path, site: &str) -> String {
    let d = dir.display();
    let build = Command::new(nginx_binary())
        .arg("-V")
        .output()
        .expect("nginx (Debian's nginx-light; .ci/run installs it)");
    let build = String::from_utf8_lossy(&build.stderr).into_owned();
    // Temp-path directives only for the modules this build has.
    let mut temp_paths = format!("client_body_temp_path {d}/client_body;\n");
    for module in ["proxy", "fastcgi", "uwsgi", "scgi"] {
        if !build.contains(&format!("--without-http_{module}_module")) {
            temp_paths.push_str(&format!("{module}_temp_path {d}/{module};\n"));
        }
    }
    format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\nevents {{\n    worker_connections 768;\n}}\n\
         http {{\naccess_log {d}/access.log;\n{temp_paths}{site}}}\n"
    )
}

fn spawn_nginx(dir: &Path, site: &str) -> Child {
    std::fs::write(dir.join("nginx.conf"), nginx_config(dir, site)).unwrap();
    Command::new(nginx_binary())
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-p")
        .arg(format!("{}/", dir.display()))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx (Debian's nginx-light; .ci/run installs it)")
}

/// The README's Caddy site for `choice`. The site address is a name Caddy would get a
/// certificate for; here it becomes plain HTTP on the port, bound to loopback, for any Host
/// (the tests send `Host: test`, which a `http://127.0.0.1:PORT` address would not match).
/// `reverse_proxy` gets the upstream and, for `choice`, the README's `header_up` line.
fn caddy_site(port: u16, ipv6: bool, upstream: SocketAddr, choice: &str) -> String {
    let section = readme_section("### Behind Caddy");
    let blocks = fenced_blocks(section, "caddyfile");
    let site = blocks
        .iter()
        .find(|b| b.starts_with("passlink.example.org {"))
        .unwrap_or_else(|| panic!("no Caddy site block in the README:\n{section}"));
    let bind = if ipv6 { "127.0.0.1 [::1]" } else { "127.0.0.1" };
    let site = replace_line(
        site,
        "passlink.example.org {",
        &format!("http://:{port} {{\n    bind {bind}"),
    );
    let proxy = match choice {
        "x-forwarded-for" => format!("    reverse_proxy {upstream}"),
        _ => format!(
            "    reverse_proxy {upstream} {{\n        {}\n    }}",
            caddy_header_up(&blocks, choice)
        ),
    };
    replace_line(&site, "reverse_proxy 127.0.0.1:5445", &proxy)
}

/// The README's `header_up` line under its `# client_ip_header = "choice"` comment.
fn caddy_header_up(blocks: &[String], choice: &str) -> String {
    let comment = format!("# client_ip_header = \"{choice}\"");
    blocks
        .iter()
        .flat_map(|b| {
            let lines: Vec<&str> = b.lines().map(str::trim).collect();
            lines
                .windows(2)
                .filter(|w| w[0].starts_with(&comment) && w[1].starts_with("header_up "))
                .map(|w| w[1].to_string())
                .collect::<Vec<_>>()
        })
        .next()
        .unwrap_or_else(|| panic!("no header_up line under {comment:?} in the README"))
}

/// Caddy's global options: no admin endpoint, no certificates, and all its files in `dir`
/// (with HOME and XDG_* pointed there too), so it never touches the network or /root.
fn caddy_config(dir: &Path, site: &str) -> String {
    format!(
        "{{\n    admin off\n    auto_https off\n    storage file_system {}\n}}\n\n{site}",
        dir.join("storage").display()
    )
}

fn spawn_caddy(dir: &Path, site: &str) -> Child {
    std::fs::write(dir.join("Caddyfile"), caddy_config(dir, site)).unwrap();
    let log = File::create(dir.join("error.log")).unwrap();
    Command::new("caddy")
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(dir.join("Caddyfile"))
        .current_dir(dir)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("caddy (Debian's caddy; .ci/run installs it)")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Nginx,
    Caddy,
}

/// A reverse proxy in front of passlink, killed when dropped.
struct Proxy {
    kind: Kind,
    child: Child,
    addr: SocketAddr,
    /// The same proxy on `[::1]`, where this machine has IPv6 loopback.
    addr6: Option<SocketAddr>,
    dir: tempfile::TempDir,
}

/// Whether `[::1]` can be listened on: a container may have no IPv6 at all.
fn has_ipv6_loopback() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

impl Proxy {
    /// `kind` on a free loopback port, configured as the README says for `choice`, proxying
    /// everything to `upstream`.
    fn start(kind: Kind, choice: &str, upstream: SocketAddr) -> Proxy {
        // The port is found free, then given to the proxy: another process may take it in
        // between, so a failed start is tried again on another port.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            match Proxy::start_on(kind, choice, port, upstream) {
                Ok(proxy) => return proxy,
                Err(e) => last_error = e,
            }
        }
        panic!("{kind:?} did not start: {last_error}");
    }

    fn start_on(
        kind: Kind,
        choice: &str,
        port: u16,
        upstream: SocketAddr,
    ) -> Result<Proxy, String> {
        let dir = tempfile::tempdir().unwrap();
        let ipv6 = has_ipv6_loopback();
        let child = match kind {
            Kind::Nginx => spawn_nginx(dir.path(), &nginx_site(port, ipv6, upstream, choice)),
            Kind::Caddy => spawn_caddy(dir.path(), &caddy_site(port, ipv6, upstream, choice)),
        };
        let proxy = Proxy {
            kind,
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            addr6: ipv6.then(|| SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port))),
            dir,
        };
        proxy.ready()
    }

    /// The proxy once /healthz answers through it, on every address it listens on.
    fn ready(mut self) -> Result<Proxy, String> {
        let start = Instant::now();
        let addrs: Vec<SocketAddr> = std::iter::once(self.addr).chain(self.addr6).collect();
        while start.elapsed() < Duration::from_secs(10) {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!("{:?} exited ({status}): {}", self.kind, self.log()));
            }
            let answers = |addr: &SocketAddr| {
                request_from(*addr, None, &get_request("/healthz", &[]))
                    .is_ok_and(|r| (r.status, r.text().as_str()) == (200, "ok\n"))
            };
            if addrs.iter().all(answers) {
                return Ok(self);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("no answer through {:?}: {}", self.kind, self.log()))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// The error lines of its log (nginx writes `[error]`, Caddy JSON with a level).
    fn errors(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| match self.kind {
                Kind::Nginx => ["[error]", "[crit]", "[alert]", "[emerg]"]
                    .iter()
                    .any(|level| l.contains(level)),
                Kind::Caddy => {
                    l.contains("\"level\":\"error\"") || l.contains("\"level\":\"fatal\"")
                }
            })
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get_request(path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

/// Sends `request` to `addr` from the loopback address `source` (or the default one).
fn request_from(
    addr: SocketAddr,
    source: Option<&str>,
    request: &[u8],
) -> std::io::Result<HttpResponse> {
    request_within(addr, source, request, Duration::from_secs(10))
}

/// [`request_from`], waiting up to `limit` for the whole answer.
fn request_within(
    addr: SocketAddr,
    source: Option<&str>,
    request: &[u8],
    limit: Duration,
) -> std::io::Result<HttpResponse> {
    let mut stream = connect_from(addr, source)?;
    stream.set_read_timeout(Some(limit))?;
    stream.write_all(request)?;
    let bytes = read_to_close(&mut stream, limit);
    parse_response(&bytes).map(|(resp, _)| resp).ok_or_else(|| {
        std::io::Error::other(format!(
            "no response: {:?}",
            String::from_utf8_lossy(&bytes)
        ))
    })
}

/// A signed XCP send_password for `domain` from `source` to `addr`, with further headers.
fn send_password(
    addr: SocketAddr,
    source: Option<&str>,
    (reseller, key): (&str, &str),
    domain: &str,
    extra: &[(&str, &str)],
) -> Reply {
    let body = envelope(
        "send_password",
        "domain",
        &[],
        &[("domain_name", domain), ("send_to", "owner")],
    );
    let resp = request_from(addr, source, &signed_request(reseller, key, &body, extra))
        .unwrap_or_else(|e| panic!("send_password via {addr}: {e}"));
    Reply::of(&resp)
}

/// Resellers `near` (allowlisting 127.0.0.5 alone) and `far` (allowlisting 10.0.0.0/8), each
/// with a domain. Returns their keys.
fn resellers(server: &Server) -> (String, String) {
    let near = add_reseller(server, "near", &["127.0.0.5/32"]);
    add_domain(server, "near.example", "near", "nearprofile");
    let far = add_reseller(server, "far", &["10.0.0.0/8"]);
    add_domain(server, "far.example", "far", "farprofile");
    (near, far)
}

/// The spooled reset mails' text, once there are `n`.
fn spooled_mails(server: &Server, n: usize) -> Vec<String> {
    let spool = server.dir.path().join("data").join("spool");
    let start = Instant::now();
    loop {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&spool)
            .into_iter()
            .flatten()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        if paths.len() >= n {
            paths.sort();
            return paths
                .iter()
                .map(|p| {
                    std::fs::read_to_string(p)
                        .unwrap()
                        .replace("=\r\n", "")
                        .replace("=\n", "")
                })
                .collect();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} of {n} mails in {} within 10 s",
            paths.len(),
            spool.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// passlink reading `choice` behind `kind` configured for it as the README says, and clients
/// forging every forwarding header: the request log, the XCP allowlist and the reset mail see
/// the address each client connects from; then a good client is served.
fn forgers_are_seen_as_themselves(kind: Kind, choice: &str) {
    let server = Server::start_with(
        &format!("trusted_proxies = [\"127.0.0.1\"]\nclient_ip_header = \"{choice}\""),
        "",
    );
    let (near, far) = resellers(&server);
    let proxy = Proxy::start(kind, choice, server.addr);
    let claims_far = forged_headers(FORGED);
    let claims_far = as_pairs(&claims_far);
    let claims_client = forged_headers(CLIENT);
    let claims_client = as_pairs(&claims_client);

    // The request log: the address and scheme the client came with.
    let resp = request_from(
        proxy.addr,
        Some(CLIENT),
        &get_request("/forged-log", &claims_far),
    )
    .unwrap();
    assert_eq!(resp.status, 404, "{resp:?}");
    let log = server.wait_log("path=/forged-log ", Duration::from_secs(5));
    let line = log
        .lines()
        .find(|l| l.contains("path=/forged-log "))
        .unwrap();
    assert!(
        line.contains("request client=127.0.0.5 method=GET path=/forged-log ")
            && line.ends_with(" proto=http"),
        "{kind:?} with {choice}: {line}"
    );

    // The XCP allowlist: near (127.0.0.5 alone) lets the client in whatever it claims; far
    // (10.0.0.0/8) refuses it though it claims 10.9.8.7.
    let reply = send_password(
        proxy.addr,
        Some(CLIENT),
        ("near", &near),
        "near.example",
        &claims_far,
    );
    assert_eq!(
        reply.code(),
        cd("1", "200"),
        "{kind:?} with {choice}: {reply:?}"
    );
    let reply = send_password(
        proxy.addr,
        Some(CLIENT),
        ("far", &far),
        "far.example",
        &claims_far,
    );
    assert_eq!(
        reply.status(),
        st("0", "400", "Access denied: invalid IP address."),
        "{kind:?} with {choice}"
    );
    server.wait_log(
        "reseller far refused: 127.0.0.5 is not in its allowlist",
        Duration::from_secs(5),
    );
    // Another client claiming to be 127.0.0.5 is refused by near, as itself.
    let reply = send_password(
        proxy.addr,
        Some("127.0.0.6"),
        ("near", &near),
        "near.example",
        &claims_client,
    );
    assert_eq!(
        reply.status(),
        st("0", "400", "Access denied: invalid IP address."),
        "{kind:?} with {choice}"
    );
    server.wait_log(
        "reseller near refused: 127.0.0.6 is not in its allowlist",
        Duration::from_secs(5),
    );

    // The reset mail names the address the request came from.
    let mails = spooled_mails(&server, 1);
    assert!(
        mails[0].contains("The request came from the address 127.0.0.5.")
            && !mails[0].contains(FORGED),
        "{kind:?} with {choice}: {}",
        mails[0]
    );

    // An IPv6 client, which the proxy writes as the README's config says.
    if let Some(addr6) = proxy.addr6 {
        let resp = request_from(addr6, None, &get_request("/forged-v6", &claims_far)).unwrap();
        assert_eq!(resp.status, 404, "{resp:?}");
        server.wait_log(
            "request client=::1 method=GET path=/forged-v6 ",
            Duration::from_secs(5),
        );
    } else {
        eprintln!("no IPv6 loopback on this machine: the IPv6 client is not checked");
    }

    // A good client is served afterwards, through the proxy and directly.
    let reply = send_password(
        proxy.addr,
        Some(CLIENT),
        ("near", &near),
        "near.example",
        &[],
    );
    assert_eq!(
        reply.code(),
        cd("1", "200"),
        "{kind:?} with {choice}: {reply:?}"
    );
    let mails = spooled_mails(&server, 2);
    assert!(
        mails
            .iter()
            .all(|m| m.contains("The request came from the address 127.0.0.5.")),
        "{mails:?}"
    );
    server.assert_healthy(Duration::from_secs(2));
    let log = server.settled_log();
    assert!(!log.contains(FORGED), "{log}");
    assert!(proxy.errors().is_empty(), "{}", proxy.log());
}

#[test]
fn through_nginx_with_x_forwarded_for_forgers_are_seen_as_themselves() {
    forgers_are_seen_as_themselves(Kind::Nginx, "x-forwarded-for");
}

#[test]
fn through_nginx_with_forwarded_forgers_are_seen_as_themselves() {
    forgers_are_seen_as_themselves(Kind::Nginx, "forwarded");
}

#[test]
fn through_nginx_with_x_real_ip_forgers_are_seen_as_themselves() {
    forgers_are_seen_as_themselves(Kind::Nginx, "x-real-ip");
}

#[test]
fn through_caddy_with_x_forwarded_for_forgers_are_seen_as_themselves() {
    forgers_are_seen_as_themselves(Kind::Caddy, "x-forwarded-for");
}

#[test]
fn through_caddy_with_forwarded_forgers_are_seen_as_themselves() {
    forgers_are_seen_as_themselves(Kind::Caddy, "forwarded");
}

#[test]
fn through_caddy_with_x_real_ip_forgers_are_seen_as_themselves() {
    forgers_are_seen_as_themselves(Kind::Caddy, "x-real-ip");
}

/// The log line of the request for `path`, once it is in.
fn request_line(server: &Server, path: &str) -> String {
    let needle = format!("path={path} ");
    let log = server.wait_log(&needle, Duration::from_secs(5));
    log.lines()
        .find(|l| l.contains(&needle))
        .unwrap_or_default()
        .to_string()
}

/// Rewrites the config to read `choice`, sends SIGHUP and waits until it is applied.
fn reload_choice(server: &Server, choice: &str, reloads: usize) {
    crate::support::write_config(
        server.dir.path(),
        &format!("trusted_proxies = [\"127.0.0.1\"]\nclient_ip_header = \"{choice}\""),
        "",
    );
    server.signal("HUP");
    let start = Instant::now();
    while server.log().matches("reloaded ").count() < reloads {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "reload {reloads} not logged:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The I/O thread takes the new options at its next turn; a round trip makes sure it has.
    server.settled_log();
}

#[test]
fn a_trusted_peer_is_read_in_the_chosen_header_alone_and_sighup_changes_it() {
    let server = Server::start_with(
        "trusted_proxies = [\"127.0.0.1\"]\nclient_ip_header = \"x-forwarded-for\"",
        "",
    );
    let (near, _) = resellers(&server);
    // Each header names someone else; the request comes straight from 127.0.0.1, trusted.
    let each = [
        ("X-Forwarded-For", "192.0.2.1"),
        ("Forwarded", "for=192.0.2.2;proto=https"),
        ("X-Real-IP", "192.0.2.3"),
    ];
    let expected = [
        ("x-forwarded-for", "192.0.2.1", "http"),
        ("forwarded", "192.0.2.2", "https"),
        ("x-real-ip", "192.0.2.3", "http"),
    ];
    let claims_client = forged_headers(CLIENT);
    let claims_client = as_pairs(&claims_client);
    for (n, (choice, ip, proto)) in expected.into_iter().enumerate() {
        if n > 0 {
            reload_choice(&server, choice, n);
        }
        let path = format!("/chosen-{choice}");
        let resp = request_from(server.addr, None, &get_request(&path, &each)).unwrap();
        assert_eq!(resp.status, 404);
        let line = request_line(&server, &path);
        assert!(
            line.contains(&format!("request client={ip} method=GET path={path} "))
                && line.ends_with(&format!(" proto={proto}")),
            "{choice}: {line}"
        );
        // A direct client that is not a trusted proxy, forging every header: seen as itself.
        let reply = send_password(
            server.addr,
            Some("127.0.0.7"),
            ("near", &near),
            "near.example",
            &claims_client,
        );
        assert_eq!(
            reply.status(),
            st("0", "400", "Access denied: invalid IP address."),
            "{choice}"
        );
        let path = format!("/untrusted-{choice}");
        let resp = request_from(
            server.addr,
            Some("127.0.0.7"),
            &get_request(&path, &claims_client),
        )
        .unwrap();
        assert_eq!(resp.status, 404);
        let line = request_line(&server, &path);
        assert!(
            line.contains(&format!("request client=127.0.0.7 method=GET path={path} "))
                && line.ends_with(" proto=http"),
            "{choice}: {line}"
        );
    }
    let log = server.settled_log();
    assert_eq!(
        log.matches("reseller near refused: 127.0.0.7 is not in its allowlist")
            .count(),
        3,
        "{log}"
    );
    assert!(!log.contains("client=127.0.0.5"), "{log}");
    server.assert_healthy(Duration::from_secs(2));
}

#[test]
fn with_the_default_config_a_forged_forwarding_header_is_ignored() {
    let server = Server::start();
    let (near, _) = resellers(&server);
    let forged = forged_headers(CLIENT);
    let forged = as_pairs(&forged);
    let reply = send_password(server.addr, None, ("near", &near), "near.example", &forged);
    assert_eq!(
        reply.status(),
        st("0", "400", "Access denied: invalid IP address.")
    );
    let resp = request_from(server.addr, None, &get_request("/healthz", &forged)).unwrap();
    assert_eq!(resp.status, 200);
    let log = server.settled_log();
    assert!(
        log.contains("reseller near refused: 127.0.0.1 is not in its allowlist"),
        "{log}"
    );
    assert!(
        log.contains("request client=127.0.0.1 method=POST path=/ "),
        "{log}"
    );
    assert!(
        log.contains("request client=127.0.0.1 method=GET path=/healthz "),
        "{log}"
    );
    // Nor does a forged X-Forwarded-Proto make the request https.
    assert!(
        log.lines()
            .filter(|l| l.contains("path=/healthz "))
            .all(|l| l.ends_with(" proto=http")),
        "{log}"
    );
    assert!(!log.contains("client=127.0.0.5"), "{log}");
    // From 127.0.0.5 itself, the allowlist lets it in: the refusal was about the address.
    let reply = send_password(
        server.addr,
        Some(CLIENT),
        ("near", &near),
        "near.example",
        &[],
    );
    assert_eq!(reply.code(), cd("1", "200"), "{reply:?}");
    server.assert_healthy(Duration::from_secs(2));
}

#[test]
fn through_nginx_each_client_has_its_own_rate_limit() {
    // One reset request per address, refilled once a minute.
    let server = Server::start_with(
        "trusted_proxies = [\"127.0.0.1\"]",
        "[reset]\nip_burst = 1\nip_refill_per_minute = 1\n",
    );
    let key = add_reseller(&server, "open", &[]);
    add_domain(&server, "open.example", "open", "openprofile");
    let nginx = Proxy::start(Kind::Nginx, "x-forwarded-for", server.addr);
    let ask = |source: &str| {
        send_password(
            nginx.addr,
            Some(source),
            ("open", &key),
            "open.example",
            &[],
        )
    };
    assert_eq!(ask(CLIENT).code(), cd("1", "200"));
    let limited = st("0", "300", "Exceeded max command rate. Request deferred.");
    assert_eq!(ask(CLIENT).status(), limited);
    // Another client behind the same nginx has a bucket of its own.
    assert_eq!(ask("127.0.0.6").code(), cd("1", "200"));
    assert_eq!(ask("127.0.0.6").status(), limited);
    let mails = spooled_mails(&server, 2);
    let from = |ip: &str| format!("The request came from the address {ip}.");
    assert!(
        mails.iter().any(|m| m.contains(&from(CLIENT)))
            && mails.iter().any(|m| m.contains(&from("127.0.0.6"))),
        "{mails:?}"
    );
    server.assert_healthy(Duration::from_secs(2));
}

// Memory attacks through the front door: the attacks of memory.rs, sent through nginx and
// Caddy configured as the README says, to passlink configured with the README's own lines.

/// The attacking address, as the proxy sees it.
const ATTACKER: &str = "127.0.0.2";
/// The good client, through the proxy.
const GOOD: &str = "127.0.0.99";
/// A good client straight to passlink: how long passlink itself takes to answer, beside what
/// the proxy adds.
const DIRECT: &str = "127.0.0.98";
/// A body under the README's Caddy `request_body { max_size 8MiB }`, as Caddy lets through;
/// with `8MB` (which Caddy reads as 10^6 bytes) it once cut 8 MiB bodies off itself.
const CADDY_MAX_BODY: u64 = 8_000_000;

/// The README's `[server]` lines for passlink behind a proxy, as they stand (`listen` aside: the
/// test's config puts passlink on a free loopback port).
fn readme_server_settings() -> String {
    let section = readme_section("### Behind nginx");
    let block = fenced_blocks(section, "toml")
        .into_iter()
        .find(|b| b.starts_with("[server]\n"))
        .unwrap_or_else(|| panic!("no [server] block in the README:\n{section}"));
    let settings: String = block
        .lines()
        .skip(1)
        .filter(|l| !l.trim_start().starts_with("listen "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        settings.contains("trusted_proxies = [\"127.0.0.1\", \"::1\"]"),
        "{settings}"
    );
    settings
}

/// One /healthz a [`Probe`] asked for.
struct Asked {
    at: Instant,
    took: Duration,
    status: Result<u16, String>,
}

/// A good client asking for /healthz at `addr` from `source` every 50 ms until finished. Unlike
/// memory.rs's `GoodClient` it does not give up after a second: it keeps when each request was
/// made and how long its answer took (up to [`PROBE_PATIENCE`]), so that each phase of an
/// attack can be held to its own bound.
/// How long a probe waits for one answer before calling it lost. Through nginx, while nginx
/// spools 200 bodies of 8 MiB (1.6 GB) to its temporary files, an answer once took over 10 s
/// on a 2-core CI machine running the whole suite: nginx's wait, not passlink's (passlink's
/// part of every answer is held to a second by its log, and the answers after the attack to a
/// second by the phase bounds). A worker hung for good still fails here.
const PROBE_PATIENCE: Duration = Duration::from_secs(30);

struct Probe {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<Asked>>>,
}

impl Probe {
    fn start(addr: SocketAddr, source: &'static str) -> Probe {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut asked = Vec::new();
            while !s.load(Ordering::SeqCst) {
                let at = Instant::now();
                let status = request_within(
                    addr,
                    Some(source),
                    &get_request("/healthz", &[]),
                    PROBE_PATIENCE,
                )
                .map(|r| r.status)
                .map_err(|e| e.to_string());
                asked.push(Asked {
                    at,
                    took: at.elapsed(),
                    status,
                });
                std::thread::sleep(Duration::from_millis(50));
            }
            asked
        });
        Probe {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops it. Every request it made was answered 200.
    fn finish(mut self, what: &str) -> Vec<Asked> {
        self.stop.store(true, Ordering::SeqCst);
        let asked = self.thread.take().unwrap().join().unwrap();
        assert!(!asked.is_empty(), "{what}: no request made");
        for a in &asked {
            assert_eq!(
                a.status,
                Ok(200),
                "{what}: /healthz after {:?} of waiting",
                a.took
            );
        }
        asked
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The longest wait of the requests made from `from` up to `to` (zero if none).
fn worst(asked: &[Asked], from: Instant, to: Instant) -> Duration {
    asked
        .iter()
        .filter(|a| a.at >= from && a.at < to)
        .map(|a| a.took)
        .max()
        .unwrap_or_default()
}

/// What one attacking connection got back by `deadline`: `"<status> retry-after=<value> <what
/// the body says>"` (its first line, or which XML-RPC answer it is), or `closed`, `reset`,
/// `no reply`, or the start of what came.
fn outcome(stream: &mut TcpStream, deadline: Instant) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let end = loop {
        // Once the deadline has passed, only what has already come is read.
        let left = deadline.saturating_duration_since(Instant::now());
        stream.set_nonblocking(left.is_zero()).unwrap();
        if !left.is_zero() {
            stream.set_read_timeout(Some(left)).unwrap();
        }
        match stream.read(&mut buf) {
            Ok(0) => break "closed",
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if parse_response(&got).is_some() {
                    break "";
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break "reset",
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break "no reply",
        }
    };
    let Some((resp, _)) = parse_response(&got) else {
        return match got.is_empty() {
            true => end.to_string(),
            false => format!(
                "{end} after {:?}",
                String::from_utf8_lossy(&got[..got.len().min(80)])
            ),
        };
    };
    let text = resp.text();
    let says = if text.contains("<methodResponse><fault>") {
        "an XML-RPC fault"
    } else if text.starts_with("<?xml") {
        "XML"
    } else {
        text.lines().next().unwrap_or("")
    };
    format!(
        "{} retry-after={} {says}",
        resp.status,
        resp.header("Retry-After").unwrap_or("-")
    )
}

type Counted = BTreeMap<String, usize>;

/// [`outcome`] of each connection, counted. They are read in turn until `deadline`, then only
/// what has come.
fn outcomes(streams: &mut [TcpStream], deadline: Instant) -> Counted {
    let mut seen = Counted::new();
    for stream in streams {
        *seen.entry(outcome(stream, deadline)).or_insert(0) += 1;
    }
    seen
}

/// How many of `seen` start with `prefix`.
fn count(seen: &Counted, prefix: &str) -> usize {
    seen.iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(_, n)| n)
        .sum()
}

/// The clients named by the request lines of passlink's log that contain `needle`, counted.
fn clients_logged(log: &str, needle: &str) -> Counted {
    let mut seen = Counted::new();
    for line in log.lines().filter(|l| l.contains(needle)) {
        if let Some(client) = line
            .split("request client=")
            .nth(1)
            .and_then(|r| r.split(' ').next())
        {
            *seen.entry(client.to_string()).or_insert(0) += 1;
        }
    }
    seen
}

/// passlink's `passlink_http_open_connections`, asked directly.
fn open_connections(server: &Server) -> u64 {
    let page = server.get("/metrics").text();
    page.lines()
        .find_map(|l| l.strip_prefix("passlink_http_open_connections "))
        .unwrap_or_else(|| panic!("no passlink_http_open_connections in:\n{page}"))
        .trim()
        .parse()
        .unwrap()
}

/// The request bodies nginx holds in its temp files (which it unlinks at once, so they are
/// found through its open files): how many, and their bytes. Waits until there are `files`
/// holding `bytes` or more, for up to `within`.
fn nginx_body_files(proxy: &Proxy, files: usize, bytes: u64, within: Duration) -> (usize, u64) {
    let temp = proxy.dir.path().join("client_body");
    let fds = format!("/proc/{}/fd", proxy.child.id());
    let start = Instant::now();
    loop {
        let (mut n, mut total) = (0, 0);
        for entry in std::fs::read_dir(&fds).unwrap().flatten() {
            if std::fs::read_link(entry.path()).is_ok_and(|to| to.starts_with(&temp)) {
                n += 1;
                total += std::fs::metadata(entry.path()).map_or(0, |m| m.len());
            }
        }
        if (n >= files && total >= bytes) || start.elapsed() >= within {
            return (n, total);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The good client's requests for /healthz, `asked` or more, each took passlink less than a
/// second by its log (`ms=`: from the request's first byte to its response).
fn assert_passlink_was_quick(log: &str, asked: usize) {
    let needle = format!("request client={GOOD} method=GET path=/healthz status=200 ");
    let times: Vec<f64> = log
        .lines()
        .filter(|l| l.contains(&needle))
        .map(|l| {
            let ms = l.split(" ms=").nth(1).and_then(|r| r.split(' ').next());
            ms.and_then(|ms| ms.parse().ok())
                .unwrap_or_else(|| panic!("no ms= in {l}"))
        })
        .collect();
    assert!(
        times.len() >= asked,
        "{} of {asked} requests of the good client logged",
        times.len()
    );
    let worst = times.iter().copied().fold(0.0, f64::max);
    assert!(worst < 1000.0, "passlink took {worst} ms over a /healthz");
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// Through nginx as the README configures it, 200 connections from one address each send all
/// but the last byte of an 8 MiB body (nginx's `client_max_body_size 8m` lets it in). nginx
/// buffers request bodies (`proxy_request_buffering` is on unless turned off): it takes the
/// 1.6 GB into its temp files, and passlink sees none of it, no connection, no log line, no
/// memory. Then the last bytes come, and nginx forwards the 200 whole bodies at once, at
/// loopback speed: passlink's share for the forwarded address lets them in one at a time and
/// refuses the rest at once with 503 and `Retry-After: 1`, which nginx passes on. A few of those
/// refusals reach the client as nginx's own 502 instead: passlink reads and drops at most 4 MiB
/// after an early reply before it closes, and nginx, still sending the 8 MiB, may meet the closed
/// socket before it reads the reply ("writev() failed (32: Broken pipe) while sending request to
/// upstream"). Every refusal, 503 or 502 at the client, is passlink's, charged to the attacker.
///
/// The good client through nginx is answered every time, and passlink takes less than a second
/// over each of its requests (the time its log gives) while a client asking passlink directly
/// is answered within a second throughout; through nginx, within a second once the attack is
/// over. While nginx spools the flood (1.6 GB into its temp files, then out again), its one
/// worker may keep the good client waiting for seconds, on a machine of two cores shared with
/// the attacker and a disk busy writing the bodies: that is nginx's time, not passlink's, and
/// it is printed rather than bounded.
#[test]
fn through_nginx_partial_bodies_from_one_address_cannot_exhaust_memory() {
    let _alone = one_attack_at_a_time();
    let server = Server::start_with(&readme_server_settings(), "");
    let proxy = Proxy::start(Kind::Nginx, "x-forwarded-for", server.addr);
    let rss = PeakRss::start(server.pid());
    let proxy_rss = PeakRss::start(proxy.child.id());
    let through = Probe::start(proxy.addr, GOOD);
    let direct = Probe::start(server.addr, DIRECT);
    let start = Instant::now();
    let mut held = partial_bodies(proxy.addr, &[ATTACKER.to_string()], 200, 8 * MIB);
    assert_eq!(held.len(), 200);
    // nginx has it all, but for what its body buffer (8 or 16 KiB) holds of each.
    let (files, in_nginx) = nginx_body_files(
        &proxy,
        200,
        200 * (8 * MIB - 16 * 1024),
        Duration::from_secs(10),
    );
    let parked = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    let open = open_connections(&server);
    let log_parked = server.settled_log();
    let seen_parked = outcomes(&mut held, Instant::now() + Duration::from_millis(100));
    let rss_parked = status_bytes(server.pid(), "VmRSS");

    // The last bytes: nginx forwards 200 whole bodies.
    let last = Instant::now();
    for stream in &mut held {
        stream.write_all(b"x").expect("nginx takes the last byte");
    }
    let seen_whole = outcomes(&mut held, Instant::now() + Duration::from_secs(30));
    let answered = Instant::now();
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    assert_healthy_from(proxy.addr, Some(GOOD), Duration::from_secs(1));
    let end = Instant::now();
    let through = through.finish("the good client through nginx");
    let direct = direct.finish("the good client straight to passlink");
    let (peak, proxy_peak) = (rss.finish(), proxy_rss.finish());
    let log = server.settled_log();
    let refusals = clients_logged(&log, " status=503 ");
    let errors = proxy.errors();
    eprintln!(
        "through nginx, 200 partial 8 MiB bodies from {ATTACKER}: in nginx {files} temp files, \
         {} MiB, after {} ms; passlink RSS {} MiB while parked, peak {} MiB (nginx {} MiB); \
         open connections while parked {open}; replies while parked {seen_parked:?}, once whole \
         {seen_whole:?} ({} ms); passlink's refusals {refusals:?}; good client through nginx worst \
         {} ms upload, {} ms parked, {} ms forwarding, {} ms after; straight to passlink worst {} ms; \
         nginx errors {errors:?}",
        in_nginx / MIB,
        ms(parked - start),
        rss_parked / MIB,
        peak / MIB,
        proxy_peak / MIB,
        ms(answered - last),
        ms(worst(&through, start, parked)),
        ms(worst(&through, parked, last)),
        ms(worst(&through, last, answered)),
        ms(worst(&through, answered, end)),
        ms(worst(&direct, start, end)),
    );

    // While parked, the bodies are in nginx alone.
    assert!(
        files == 200 && in_nginx >= 200 * (8 * MIB - 16 * 1024),
        "nginx holds {files} bodies, {in_nginx} bytes"
    );
    assert_eq!(seen_parked, Counted::from([("no reply".to_string(), 200)]));
    // The /metrics request itself, and perhaps a /healthz of the good client.
    assert!(open <= 2, "passlink has {open} connections open");
    assert!(
        !log_parked.contains(&format!("client={ATTACKER} ")),
        "{log_parked}"
    );
    assert!(peak < 128 * MIB, "peak RSS {} MiB", peak / MIB);

    // Once whole: one decoded at a time (a fault: the body is not XML), the rest refused by
    // passlink, a few of them turned into 502 by nginx.
    let refused = format!(
        "503 retry-after=1 {}",
        "your address has as much request data in flight as it may; try again shortly"
    );
    let faults = count(&seen_whole, "200 retry-after=- an XML-RPC fault");
    let (r503, r502) = (
        count(&seen_whole, &refused),
        count(&seen_whole, "502 retry-after=- "),
    );
    assert_eq!(faults + r503 + r502, 200, "{seen_whole:?}");
    assert!(faults >= 1 && r503 >= 150, "{seen_whole:?}");
    assert_eq!(
        refusals,
        Counted::from([(ATTACKER.to_string(), r503 + r502)]),
        "passlink refused, and charged to the attacker, every one that was not decoded \
         (replies {seen_whole:?})"
    );
    assert_eq!(
        errors.len(),
        r502,
        "nginx's errors are its 502s:\n{}",
        errors.join("\n")
    );
    assert!(
        errors
            .iter()
            .all(|e| e.contains("while sending request to upstream")
                || e.contains("while reading response header from upstream")),
        "{}",
        errors.join("\n")
    );

    // The good client: passlink's part under a second throughout, and through nginx once the
    // attack is over; passlink asked directly, a second throughout.
    assert_passlink_was_quick(&log, through.len());
    let w = worst(&through, answered, end);
    assert!(w < Duration::from_secs(1), "after: /healthz took {w:?}");
    let w = worst(&direct, start, end);
    assert!(w < Duration::from_secs(1), "passlink itself took {w:?}");
    server.assert_healthy(Duration::from_secs(1));
}

/// Through Caddy as the README configures it, which streams request bodies to passlink as they
/// come: 200 connections spread over `sources`, in two waves.
///
/// First each declares an 8 MiB body and sends all but its last byte, as against passlink
/// directly: passlink's budget, charged to the address Caddy forwards, refuses most at once with
/// 503 and `Retry-After: 1` (the address's share, or the whole budget), which Caddy passes on as
/// it is, and holds the few it admits. (With the README's earlier `max_size 8MB`, 8,000,000
/// bytes, Caddy cut those off itself: an empty 502 for the client, "HTTP 413: http: request
/// body too large" in its log.) A refusal could reach the client as a 502 too, when passlink
/// closed after reading and dropping 4 MiB while Caddy was still sending the body; a trusted
/// proxy's refused body is now read to its end first.
///
/// Then bodies of 8,000,000 bytes, which Caddy lets through, each sent but for its last byte:
/// passlink holds those its budget admits (one per address, four in all at most) while they
/// wait, and refuses the rest at once. In some runs a few refused clients (one to three of 200)
/// see no reply within the test's wait though passlink logged their refusal and holds nothing
/// for them; the likeliest cause is Go's HTTP server, which reads the rest of a small unread
/// body (under 256 KiB) before it answers, and this client never sends its last byte. Such a
/// 503 can also reach the client as a 502, as in the first wave.
///
/// The good client through Caddy is held to a second while the second wave waits and
/// afterwards, passlink itself (asked directly) throughout; the figures are printed.
fn partial_bodies_through_caddy(sources: &[String]) {
    let _alone = one_attack_at_a_time();
    let server = Server::start_with(&readme_server_settings(), "");
    let proxy = Proxy::start(Kind::Caddy, "x-forwarded-for", server.addr);
    let rss = PeakRss::start(server.pid());
    let proxy_rss = PeakRss::start(proxy.child.id());
    let through = Probe::start(proxy.addr, GOOD);
    let direct = Probe::start(server.addr, DIRECT);
    let refusals_now = || clients_logged(&server.settled_log(), " status=503 ");

    let start = Instant::now();
    let mut held = partial_bodies(proxy.addr, sources, 200, 8 * MIB);
    let seen_mib = outcomes(&mut held, Instant::now() + Duration::from_secs(2));
    let first_done = Instant::now();
    drop(held);
    let errors = proxy.errors();
    let refusals_mib = refusals_now();

    let mut held = partial_bodies(proxy.addr, sources, 200, CADDY_MAX_BODY);
    let parked = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    let seen_mb = outcomes(&mut held, Instant::now() + Duration::from_millis(100));
    let open = open_connections(&server);
    let rss_parked = status_bytes(server.pid(), "VmRSS");
    let refusals = refusals_now();
    let last = Instant::now();
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    assert_healthy_from(proxy.addr, Some(GOOD), Duration::from_secs(1));
    let end = Instant::now();

    let through = through.finish("the good client through Caddy");
    let direct = direct.finish("the good client straight to passlink");
    let (peak, proxy_peak) = (rss.finish(), proxy_rss.finish());
    let total = |c: &Counted| c.values().sum::<usize>();
    let refused_mb = total(&refusals) - total(&refusals_mib);
    let in_passlink = 200 - refused_mb;
    eprintln!(
        "through Caddy, 200 partial bodies from {} address(es): 8 MiB ones got {seen_mib:?} \
         ({} ms), passlink refused {}; 8,000,000-byte ones got {seen_mb:?}, passlink refused \
         {refused_mb} and held {in_passlink} ({open} connections open); passlink RSS {} MiB \
         with those parked, peak {} MiB (Caddy {} MiB); refusals charged to {} address(es); \
         good client through Caddy worst {} ms first wave, {} ms second wave sent, {} ms \
         parked, {} ms after; straight to passlink worst {} ms; Caddy errors {:?}",
        sources.len(),
        ms(first_done - start),
        total(&refusals_mib),
        rss_parked / MIB,
        peak / MIB,
        proxy_peak / MIB,
        refusals.len(),
        ms(worst(&through, start, first_done)),
        ms(worst(&through, first_done, parked)),
        ms(worst(&through, parked, last)),
        ms(worst(&through, last, end)),
        ms(worst(&direct, start, end)),
        errors
            .iter()
            .map(|e| e
                .split("\"msg\":")
                .nth(1)
                .unwrap_or(e)
                .split(",\"request\"")
                .next())
            .collect::<Vec<_>>(),
    );

    assert!(peak < 128 * MIB, "peak RSS {} MiB", peak / MIB);
    // passlink's 503s, as Caddy passes them on: the address's share, or the whole budget.
    let refused = |seen: &Counted| {
        count(
            seen,
            "503 retry-after=1 your address has as much request data in flight as it may",
        ) + count(
            seen,
            "503 retry-after=1 the server holds as much request data as it allows",
        )
    };
    // Every attacker got passlink's 503, or a 502 from Caddy, which logged why: it cut the body
    // off at 8,000,000 bytes (413), or passlink had closed while Caddy was still sending it.
    let all_errors = proxy.errors();
    let r502 = |seen: &Counted| count(seen, "502 retry-after=- ");
    assert_eq!(errors.len(), r502(&seen_mib), "{}", errors.join("\n"));
    assert_eq!(
        all_errors.len(),
        r502(&seen_mib) + r502(&seen_mb),
        "{}",
        all_errors.join("\n")
    );
    assert!(
        all_errors.iter().all(|e| {
            e.contains("HTTP 413: http: request body too large")
                || e.contains("write: broken pipe")
                || e.contains("connection reset by peer")
        }),
        "{}",
        all_errors.join("\n")
    );
    // 8 MiB, which the README's `max_size 8MiB` lets through: held by passlink within its
    // budget (waiting for the last byte) or refused; a few refusals may become 502s.
    assert_eq!(
        refused(&seen_mib) + count(&seen_mib, "no reply") + r502(&seen_mib),
        200,
        "{seen_mib:?}"
    );
    assert!(refused(&seen_mib) >= 150, "{seen_mib:?}");
    let refused_mib = total(&refusals_mib);
    assert!(
        refused_mib >= refused(&seen_mib) && refused_mib < 200,
        "passlink refused {refused_mib}: {seen_mib:?}"
    );
    // 8,000,000 bytes: held by passlink within its budget (one body per address, four in
    // all); the rest refused, a few of those answers held back by Caddy or turned into 502s.
    assert!(
        in_passlink >= 1 && in_passlink <= sources.len().min(4),
        "passlink holds {in_passlink}: {seen_mb:?}"
    );
    assert!(open >= in_passlink as u64, "{open} connections open");
    let waiting = count(&seen_mb, "no reply");
    assert_eq!(
        refused(&seen_mb) + waiting + r502(&seen_mb),
        200,
        "{seen_mb:?}"
    );
    assert!(waiting >= in_passlink, "{seen_mb:?}");
    assert!(refused(&seen_mb) >= 150, "{seen_mb:?}");
    // Every refusal charged to the address the attacker came from, as Caddy forwarded it.
    assert!(refusals.keys().all(|c| sources.contains(c)), "{refusals:?}");

    // The good client: a second while the bodies wait and after; passlink itself throughout.
    assert_passlink_was_quick(&server.settled_log(), through.len());
    for (phase, from, to) in [("parked", parked, last), ("after", last, end)] {
        let w = worst(&through, from, to);
        assert!(w < Duration::from_secs(1), "{phase}: /healthz took {w:?}");
    }
    let w = worst(&direct, start, end);
    assert!(w < Duration::from_secs(1), "passlink itself took {w:?}");
    server.assert_healthy(Duration::from_secs(1));
}

#[test]
fn through_caddy_partial_bodies_from_one_address_cannot_exhaust_memory() {
    partial_bodies_through_caddy(&[ATTACKER.to_string()]);
}

#[test]
fn through_caddy_partial_bodies_from_twenty_addresses_cannot_exhaust_memory() {
    let sources: Vec<String> = (10..30).map(|n| format!("127.0.0.{n}")).collect();
    partial_bodies_through_caddy(&sources);
}

/// memory.rs's six parallel XML-RPC calls of 240,000 `<i4>` values (~6 MB each, from six
/// addresses), through `kind`: nginx sends each whole body at once, Caddy as it comes. passlink
/// decodes them in bounded memory as when they come straight: peak RSS under 160 MiB, under
/// 48 MiB again within 10 s, every call answered (a fault in XML-RPC form, or a 503, charged to
/// the caller's own address), and the good client through the proxy answered within a second
/// throughout.
fn decode_through(kind: Kind) {
    let _alone = one_attack_at_a_time();
    let server = Server::start_with(&readme_server_settings(), "");
    let proxy = Proxy::start(kind, "x-forwarded-for", server.addr);
    let figures = decode_attack_via(
        &server,
        proxy.addr,
        GOOD,
        1,
        "/RPC2",
        &xmlrpc_i4_call(240_000),
        "takes 2 parameters, got 3",
    );
    let log = server.settled_log();
    let callers: Vec<String> = (70..76).map(|n| format!("127.0.0.{n}")).collect();
    let calls = clients_logged(&log, " path=/RPC2 ");
    let refusals = clients_logged(&log, " method=- path=- status=503 ");
    let replies: Vec<&str> = figures
        .replies
        .iter()
        .map(|r| r.get(..r.find('\n').unwrap_or(r.len())).unwrap_or(r))
        .collect();
    eprintln!(
        "through {kind:?}, six 6 MB XML-RPC calls: passlink peak RSS {} MiB, {} MiB {} ms \
         later; good client worst {} ms; replies {replies:?}; decoded for {calls:?}, refused \
         for {refusals:?}",
        figures.peak / MIB,
        figures.after / MIB,
        ms(figures.fell_within),
        ms(figures.good_worst),
    );
    // Each call, decoded or refused, charged to its own caller.
    assert_eq!(
        calls.values().sum::<usize>() + refusals.values().sum::<usize>(),
        6,
        "{calls:?} {refusals:?}"
    );
    assert!(
        calls
            .keys()
            .chain(refusals.keys())
            .all(|c| callers.contains(c)),
        "{calls:?} {refusals:?}"
    );
    assert!(proxy.errors().is_empty(), "{}", proxy.log());
}

#[test]
fn through_nginx_six_parallel_xmlrpc_calls_of_240000_values_are_decoded_in_bounded_memory() {
    decode_through(Kind::Nginx);
}

#[test]
fn through_caddy_six_parallel_xmlrpc_calls_of_240000_values_are_decoded_in_bounded_memory() {
    decode_through(Kind::Caddy);
}
