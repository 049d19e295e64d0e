//! Behind a reverse proxy: real nginx (Debian's nginx-light) in front of passlink, on loopback,
//! with `server.trusted_proxies` naming it. A client bound to 127.0.0.5 is seen as 127.0.0.5
//! by the request log, the XCP IP allowlist and the reset mail; a client that is not a trusted
//! proxy is seen as itself whatever it forwards.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{HttpResponse, Server, connect_from, parse_response, read_to_close};
use crate::xcp::{Reply, add_domain, add_reseller, cd, envelope, signed_request, st};

const CLIENT: &str = "127.0.0.5";

/// nginx with its own config, pid file, logs and temp paths in a temporary directory, in the
/// foreground as one process (`master_process off`), so that killing the child stops it all.
struct Nginx {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

fn nginx_binary() -> PathBuf {
    for candidate in ["/usr/sbin/nginx", "/usr/local/sbin/nginx"] {
        if Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    "nginx".into()
}

impl Nginx {
    /// nginx on a free loopback port, proxying everything to `upstream`.
    fn start(upstream: SocketAddr) -> Nginx {
        // The port is found free, then given to nginx: another process may take it in
        // between, so a failed start is tried again on another port.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            match Nginx::start_on(port, upstream) {
                Ok(nginx) => return nginx,
                Err(e) => last_error = e,
            }
        }
        panic!("nginx did not start: {last_error}");
    }

    fn start_on(port: u16, upstream: SocketAddr) -> Result<Nginx, String> {
        let binary = nginx_binary();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let build = Command::new(&binary)
            .arg("-V")
            .output()
            .expect("nginx (Debian's nginx-light; .ci/run installs it)");
        let build = String::from_utf8_lossy(&build.stderr).into_owned();
        // Temp-path directives only for the modules this build has.
        let mut temp_paths = format!("client_body_temp_path {d}/client_body;\n");
        for module in ["proxy", "fastcgi", "uwsgi", "scgi"] {
            if !build.contains(&format!("--without-http_{module}_module")) {
                temp_paths.push_str(&format!("    {module}_temp_path {d}/{module};\n"));
            }
        }
        let config = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log warn;\n\
             events {{\n    worker_connections 256;\n}}\n\
             http {{\n    access_log {d}/access.log;\n    {temp_paths}\
                 server {{\n        listen 127.0.0.1:{port};\n\
                     location / {{\n\
                         proxy_pass http://{upstream};\n\
                         proxy_http_version 1.1;\n\
                         proxy_set_header Connection \"\";\n\
                         proxy_set_header Host $host;\n\
                         proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
                         proxy_set_header X-Forwarded-Proto $scheme;\n\
                     }}\n\
                 }}\n\
             }}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), config).unwrap();
        let child = Command::new(&binary)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-p")
            .arg(format!("{d}/"))
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx (Debian's nginx-light; .ci/run installs it)");
        let mut nginx = Nginx {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        };
        // Ready once /healthz answers through it.
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Some(status) = nginx.child.try_wait().unwrap() {
                return Err(format!("nginx exited ({status}): {}", nginx.error_log()));
            }
            if let Ok(resp) = request_from(nginx.addr, None, &get_request("/healthz", &[]))
                && resp.status == 200
            {
                return Ok(nginx);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("no answer through nginx: {}", nginx.error_log()))
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
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

#[test]
fn through_nginx_the_client_is_the_address_nginx_saw() {
    let server = Server::start_with("trusted_proxies = [\"127.0.0.1\"]", "");
    let (near, far) = resellers(&server);
    let nginx = Nginx::start(server.addr);

    // The request log.
    let resp = request_from(
        nginx.addr,
        Some(CLIENT),
        &get_request("/healthz?from-5", &[]),
    )
    .unwrap();
    assert_eq!((resp.status, resp.text().as_str()), (200, "ok\n"));
    server.wait_log(
        "request client=127.0.0.5 method=GET path=/healthz ",
        Duration::from_secs(5),
    );

    // The XCP allowlist: near (127.0.0.5 only) is let in, far is refused, by that address.
    let reply = send_password(
        nginx.addr,
        Some(CLIENT),
        ("near", &near),
        "near.example",
        &[],
    );
    assert_eq!(reply.code(), cd("1", "200"), "{reply:?}");
    let reply = send_password(nginx.addr, Some(CLIENT), ("far", &far), "far.example", &[]);
    assert_eq!(
        reply.status(),
        st("0", "400", "Access denied: invalid IP address.")
    );
    server.wait_log(
        "reseller far refused: 127.0.0.5 is not in its allowlist",
        Duration::from_secs(5),
    );
    // The reset mail names the address the request came from.
    let mails = spooled_mails(&server, 1);
    assert!(
        mails[0].contains("The request came from the address 127.0.0.5."),
        "{}",
        mails[0]
    );

    // A client behind nginx that forges X-Forwarded-For is still seen as itself: nginx
    // appends the address it saw, and that is the rightmost one no trusted proxy vouches for.
    let reply = send_password(
        nginx.addr,
        Some("127.0.0.6"),
        ("near", &near),
        "near.example",
        &[("X-Forwarded-For", CLIENT)],
    );
    assert_eq!(
        reply.status(),
        st("0", "400", "Access denied: invalid IP address.")
    );
    server.wait_log(
        "reseller near refused: 127.0.0.6 is not in its allowlist",
        Duration::from_secs(5),
    );

    // A direct client that is not a trusted proxy, forging the header: seen as itself.
    let reply = send_password(
        server.addr,
        Some("127.0.0.7"),
        ("near", &near),
        "near.example",
        &[("X-Forwarded-For", CLIENT), ("Forwarded", "for=127.0.0.5")],
    );
    assert_eq!(
        reply.status(),
        st("0", "400", "Access denied: invalid IP address.")
    );
    let log = server.wait_log(
        "reseller near refused: 127.0.0.7 is not in its allowlist",
        Duration::from_secs(5),
    );
    assert!(
        log.contains("request client=127.0.0.7 method=POST path=/ "),
        "{log}"
    );

    // Still served, directly and through nginx.
    server.assert_healthy(Duration::from_secs(2));
    let resp = request_from(nginx.addr, Some(CLIENT), &get_request("/healthz", &[])).unwrap();
    assert_eq!(resp.status, 200);
    assert!(
        nginx.error_log().lines().all(|l| !l.contains("[error]")),
        "{}",
        nginx.error_log()
    );
}

#[test]
fn with_the_default_config_a_forged_forwarding_header_is_ignored() {
    let server = Server::start();
    let (near, _) = resellers(&server);
    let forged = [
        ("X-Forwarded-For", CLIENT),
        ("Forwarded", "for=127.0.0.5;proto=https"),
        ("X-Forwarded-Proto", "https"),
    ];
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
    let nginx = Nginx::start(server.addr);
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
