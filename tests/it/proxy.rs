//! Behind a reverse proxy: real nginx (Debian's nginx-light) and real Caddy (Debian's caddy) in
//! front of passlink on loopback, each configured with the README's own blocks and lines for
//! the `server.client_ip_header` under test, and `server.trusted_proxies` naming them. A client
//! bound to 127.0.0.5 that forges every forwarding header is seen as 127.0.0.5 by the request
//! log, the XCP IP allowlist and the reset mail; a client that is not a trusted proxy is seen
//! as itself whatever it forwards.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{HttpResponse, Server, connect_from, parse_response, read_to_close};
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
/// one process (`master_process off`), so that killing the child stops it all.
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
         error_log {d}/error.log warn;\nevents {{\n    worker_connections 256;\n}}\n\
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
    use std::io::Write;
    let mut stream = connect_from(addr, source)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request)?;
    let bytes = read_to_close(&mut stream, Duration::from_secs(10));
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
