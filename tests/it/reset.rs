//! Reset links end to end: a real SMTP server (Debian's python3-aiosmtpd, plain and STARTTLS),
//! the link from the mail, the page over HTTP and in headless Chromium, and the new password
//! over the real protocols. Also no enumeration, the rate limit, an SMTP outage and a crash
//! during sending.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{HttpResponse, Server, exchange, parse_response, passlink};
use crate::xcp::{OWNER_PASSWORD, Xcp};
use crate::xss::{MD5_ASDF, capabilities_ok, post, register, xmlrpc_call};

const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scripts");
/// Debian's interpreter: python3-aiosmtpd is installed for it, not for other pythons.
const DEBIAN_PYTHON: &str = "/usr/bin/python3";
const MAIL_WAIT: Duration = Duration::from_secs(30);
pub(crate) const SAME_ANSWER: &str =
    "If that address has an account, a password reset link has been mailed to it.";

/// A real SMTP server that files every message it receives in a directory.
pub(crate) struct Smtp {
    child: Child,
    pub(crate) port: u16,
    maildir: tempfile::TempDir,
    _certs: Option<tempfile::TempDir>,
}

impl Smtp {
    fn start(starttls: bool) -> Smtp {
        Smtp::start_on(0, starttls)
    }

    pub(crate) fn start_on(port: u16, starttls: bool) -> Smtp {
        let maildir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(DEBIAN_PYTHON);
        cmd.arg(format!("{SCRIPTS}/smtp_server.py"))
            .args(["--port", &port.to_string()])
            .arg("--maildir")
            .arg(maildir.path());
        let certs = starttls.then(|| {
            let dir = tempfile::tempdir().unwrap();
            let ok = Command::new(DEBIAN_PYTHON)
                .arg(format!("{SCRIPTS}/smtp_server.py"))
                .arg("--make-cert")
                .arg(dir.path())
                .status()
                .unwrap()
                .success();
            assert!(ok, "cannot make a test certificate");
            cmd.arg("--starttls")
                .arg("--cert")
                .arg(dir.path().join("cert.pem"))
                .arg("--key")
                .arg(dir.path().join("key.pem"));
            dir
        });
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("/usr/bin/python3 with python3-aiosmtpd (.ci/run installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr: SocketAddr = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("SMTP server did not start: {line:?}"))
            .parse()
            .unwrap();
        Smtp {
            child,
            port: addr.port(),
            maildir,
            _certs: certs,
        }
    }

    /// The `[smtp]` table that points passlink here.
    fn config(&self, starttls: bool) -> String {
        smtp_config(self.port, starttls)
    }

    pub(crate) fn mails(&self) -> Vec<String> {
        mails_in(self.maildir.path())
    }

    /// Waits until `n` messages have arrived and returns them.
    pub(crate) fn wait_mails(&self, n: usize) -> Vec<String> {
        let start = Instant::now();
        loop {
            let mails = self.mails();
            if mails.len() >= n {
                return mails;
            }
            assert!(
                start.elapsed() < MAIL_WAIT,
                "{} of {n} mails arrived within {MAIL_WAIT:?}",
                mails.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn smtp_config(port: u16, starttls: bool) -> String {
    let security = if starttls {
        "security = \"starttls\"\naccept_invalid_certs = true"
    } else {
        "security = \"none\""
    };
    format!(
        "[smtp]\nhost = \"127.0.0.1\"\nport = {port}\n{security}\nfrom = \"passlink@test.example\"\n\
         helo = \"passlink.test.example\"\ntimeout_secs = 5\nretry_first_secs = 1\n"
    )
}

pub(crate) fn mails_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    names.sort();
    // Each mail as sent, then its subject and text parts decoded (smtp_server.py writes
    // them beside it), so that a test can look for words in any language and encoding.
    names
        .iter()
        .map(|p| {
            let raw = String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
            let mut decoded = p.clone().into_os_string();
            decoded.push(".decoded");
            match std::fs::read_to_string(&decoded) {
                Ok(text) => format!("{raw}\r\n\r\n--- decoded ---\r\n{text}"),
                Err(_) => raw,
            }
        })
        .collect()
}

/// The reset link in a mail (the text part; quoted-printable soft breaks undone).
pub(crate) fn link_in(mail: &str) -> String {
    let flat = mail.replace("=\r\n", "").replace("=\n", "");
    let reset = flat.find("/reset/").expect("a link in the mail");
    let start = flat[..reset].rfind("http://").expect("a link in the mail");
    let link: String = flat[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    assert!(link.contains("/reset/"), "{link}");
    link
}

/// The path of a link, to request it from the test's server address.
pub(crate) fn path_of(link: &str) -> String {
    let rest = link.strip_prefix("http://").unwrap();
    rest[rest.find('/').unwrap()..].to_string()
}

pub(crate) fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> HttpResponse {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let bytes = exchange(addr, request.as_bytes(), Duration::from_secs(30));
    parse_response(&bytes)
        .unwrap_or_else(|| panic!("no response: {}", String::from_utf8_lossy(&bytes)))
        .0
}

pub(crate) fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[start..start + 32].to_string()
}

pub(crate) fn form_body(csrf: &str, password: &str, password2: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    format!(
        "csrf={}&password={}&password2={}",
        enc(csrf),
        enc(password),
        enc(password2)
    )
}

fn assert_reset_headers(resp: &HttpResponse) {
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    assert_eq!(resp.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(resp.header("x-frame-options"), Some("DENY"));
    let csp = resp.header("content-security-policy").unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe"), "{csp}");
}

fn mail_password(server: &Server, email: &str) -> String {
    post(
        server,
        "/RPC2",
        &xmlrpc_call("xmlStorageSystem.mailPasswordToUser", &[email]),
    )
    .text()
}

/// Runs the xmlStorageSystem flow against an SMTP server: request, mail, page, new password.
fn xmlrpc_flow(starttls: bool) {
    let smtp = Smtp::start(starttls);
    let server = Server::start_with("", &smtp.config(starttls));
    let usernum = register(&server, "ann@example.org", MD5_ASDF);
    // The same answer for an address with an account and one without.
    let known = mail_password(&server, "ann@example.org");
    let unknown = mail_password(&server, "nobody@example.org");
    for answer in [&known, &unknown] {
        assert!(answer.contains(SAME_ANSWER), "{answer}");
        assert!(answer.contains("<boolean>0</boolean>"), "{answer}");
    }
    let mails = smtp.wait_mails(1);
    server.wait_log("matched no account", MAIL_WAIT);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(smtp.mails().len(), 1, "the unknown address got no mail");
    let mail = &mails[0];
    assert!(mail.contains("ann@example.org"), "{mail}");
    assert!(mail.contains("ignore this mail"), "{mail}");
    let link = link_in(mail);
    assert!(
        link.starts_with(&format!("http://{}/reset/", server.addr)),
        "{link}"
    );
    let path = path_of(&link);

    let form = http(server.addr, "GET", &path, "");
    assert_eq!(form.status, 200);
    assert_reset_headers(&form);
    let html = form.text();
    assert!(
        html.contains("ann@example.org"),
        "the page names the account: {html}"
    );
    assert!(html.contains("<label for=\"password\">"), "{html}");
    let csrf = csrf_of(&html);

    let bad = http(
        server.addr,
        "POST",
        &path,
        &form_body(&csrf, "new-secret-1", "other-1"),
    );
    assert_eq!(bad.status, 422);
    assert!(
        bad.text().contains("id=\"password2-error\""),
        "{}",
        bad.text()
    );
    let short = http(
        server.addr,
        "POST",
        &path,
        &form_body(&csrf, "short", "short"),
    );
    assert_eq!(short.status, 422);
    assert!(short.text().contains("id=\"password-error\""));
    let forged = http(
        server.addr,
        "POST",
        &path,
        &form_body("0".repeat(32).as_str(), "new-secret-1", "new-secret-1"),
    );
    assert_eq!(forged.status, 403);

    let done = http(
        server.addr,
        "POST",
        &path,
        &form_body(&csrf, "new-secret-1", "new-secret-1"),
    );
    assert_eq!(done.status, 200, "{}", done.text());
    assert_reset_headers(&done);
    assert!(done.text().contains("id=\"done\""));
    // The old credential fails at once, the new one (its MD5, as clients send) works.
    let new_md5 = passlink::hex::md5_hex(b"new-secret-1");
    assert!(!capabilities_ok(&server, &usernum, MD5_ASDF));
    assert!(capabilities_ok(&server, &usernum, &new_md5));
    // The link works once.
    assert_eq!(http(server.addr, "GET", &path, "").status, 410);
    let again = http(
        server.addr,
        "POST",
        &path,
        &form_body(&csrf, "x-secret-22", "x-secret-22"),
    );
    assert_eq!(again.status, 410);
    assert!(capabilities_ok(&server, &usernum, &new_md5));
    // No token in the log.
    let token = path.trim_start_matches("/reset/");
    let log = server.settled_log();
    assert!(!log.contains(token), "the token reached the log");
    assert!(log.contains("path=/reset/[redacted]"), "{log}");
}

#[test]
fn mail_password_to_user_over_plain_smtp() {
    xmlrpc_flow(false);
}

#[test]
fn mail_password_to_user_over_starttls() {
    xmlrpc_flow(true);
}

#[test]
fn send_password_flow_ends_in_a_new_xcp_login() {
    let smtp = Smtp::start(false);
    let x = Xcp::start_with("", &smtp.config(false));
    let reply = x.call(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "example.info"), ("send_to", "owner")],
    );
    assert_eq!(reply.code(), ("1".into(), "200".into()));
    let mails = smtp.wait_mails(1);
    assert!(mails[0].contains("owner@example.info"), "{}", mails[0]);
    let path = path_of(&link_in(&mails[0]));
    let form = http(x.server.addr, "GET", &path, "");
    assert!(
        form.text().contains("For <strong>example.info</strong>."),
        "{}",
        form.text()
    );
    let csrf = csrf_of(&form.text());
    // The OpenSRS rules apply: no spaces, 10 to 20 characters.
    let bad = http(
        x.server.addr,
        "POST",
        &path,
        &form_body(&csrf, "has spaces in it", "has spaces in it"),
    );
    assert_eq!(bad.status, 422);
    let done = http(
        x.server.addr,
        "POST",
        &path,
        &form_body(&csrf, "Reset-pass-42", "Reset-pass-42"),
    );
    assert_eq!(done.status, 200, "{}", done.text());
    let login = |password: &str| {
        x.call(
            "set",
            "cookie",
            &[],
            &[
                ("reg_username", "resellerx"),
                ("reg_password", password),
                ("domain", "example.info"),
            ],
        )
        .code()
    };
    assert_eq!(login(OWNER_PASSWORD), ("0".into(), "415".into()));
    assert_eq!(login("Reset-pass-42"), ("1".into(), "200".into()));
    assert_eq!(http(x.server.addr, "GET", &path, "").status, 410);
}

#[test]
fn links_expire_and_the_hourly_limit_holds() {
    let smtp = Smtp::start(false);
    let rest = format!("{}\n[reset]\nttl_secs = 1\n", smtp.config(false));
    let server = Server::start_with("", &rest);
    register(&server, "bo@example.org", MD5_ASDF);
    for _ in 0..4 {
        assert!(mail_password(&server, "bo@example.org").contains(SAME_ANSWER));
    }
    let mails = smtp.wait_mails(3);
    server.wait_log("hourly limit reached", MAIL_WAIT);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        smtp.mails().len(),
        3,
        "the fourth request in an hour sends nothing"
    );
    // Each new link voided the one before; the newest has expired by now.
    std::thread::sleep(Duration::from_millis(1100));
    for mail in &mails {
        let resp = http(server.addr, "GET", &path_of(&link_in(mail)), "");
        assert_eq!(resp.status, 410);
        assert!(
            resp.text().contains("ask for your password again"),
            "{}",
            resp.text()
        );
        assert_reset_headers(&resp);
    }
    // Junk tokens get the same page, and a flood of them is throttled.
    let mut statuses = Vec::new();
    for i in 0..40 {
        statuses.push(http(server.addr, "GET", &format!("/reset/junk{i}"), "").status);
    }
    assert_eq!(statuses[0], 410);
    assert_eq!(*statuses.last().unwrap(), 429);
    server.assert_healthy(Duration::from_secs(2));
}

#[test]
fn mail_disabled_says_so() {
    let server = Server::start_with("", "[smtp]\nenabled = false\n");
    let answer = mail_password(&server, "any@example.org");
    assert!(
        answer.contains("Mail service is not available on that server."),
        "{answer}"
    );
    assert!(answer.contains("<boolean>1</boolean>"), "{answer}");
}

/// A free loopback port with nothing listening on it.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn outbox(server: &Server, state: &str) -> String {
    let out = passlink()
        .args(["outbox", "list", "--state", state, "--config"])
        .arg(&server.config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < MAIL_WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_smtp_outage_loses_nothing() {
    let port = free_port();
    let server = Server::start_with("", &smtp_config(port, false));
    for i in 0..3 {
        let email = format!("user{i}@example.org");
        register(&server, &email, MD5_ASDF);
        assert!(mail_password(&server, &email).contains(SAME_ANSWER));
    }
    // Every request was answered; the mails wait.
    wait_for("three pending mails with an error", || {
        let list = outbox(&server, "pending");
        list.lines().count() == 3 && list.contains("last_error")
    });
    let smtp = Smtp::start_on(port, false);
    let mails = smtp.wait_mails(3);
    for i in 0..3 {
        assert!(
            mails
                .iter()
                .any(|m| m.contains(&format!("user{i}@example.org")))
        );
    }
    wait_for("all sent", || outbox(&server, "sent").lines().count() == 3);
    let admin = |args: &[&str]| {
        passlink()
            .args(args)
            .arg("--config")
            .arg(&server.config)
            .output()
            .unwrap()
    };
    let retry = admin(&["outbox", "retry", "1"]);
    assert!(!retry.status.success(), "a sent message is not sent again");
    let purge = admin(&["outbox", "purge", "--sent-before", "2999-01-01"]);
    assert!(
        purge.status.success(),
        "{}",
        String::from_utf8_lossy(&purge.stderr)
    );
    assert!(String::from_utf8_lossy(&purge.stdout).contains("deleted 3"));
    assert!(outbox(&server, "sent").contains("no messages"));
    let bad = admin(&["outbox", "list", "--state", "lost"]);
    assert!(!bad.status.success());
}

#[test]
fn a_crash_during_sending_still_delivers_after_restart() {
    // An SMTP server that accepts the connection and then says nothing: the mailer waits
    // (timeout 5 s at each step) with the message in `sending`.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for conn in silent.incoming().take(1) {
            conns.push(conn);
        }
        std::thread::sleep(Duration::from_secs(20));
        drop(conns);
    });
    let mut server = Server::start_with("", &smtp_config(silent_port, false));
    register(&server, "cy@example.org", MD5_ASDF);
    assert!(mail_password(&server, "cy@example.org").contains(SAME_ANSWER));
    wait_for("the message in sending", || {
        outbox(&server, "sending").lines().count() == 1
    });

    let smtp = Smtp::start(false);
    server.kill_and_restart("", &smtp.config(false));
    let mails = smtp.wait_mails(1);
    assert!(mails[0].contains("cy@example.org"));
    let link = link_in(&mails[0]);
    assert_eq!(http(server.addr, "GET", &path_of(&link), "").status, 200);
    server.wait_log("interrupted by a restart", MAIL_WAIT);
    drop(held);
}

#[test]
fn the_page_works_in_headless_chromium() {
    let smtp = Smtp::start(false);
    // The shipped password policy: the page must refuse a guessable password, saying why.
    let server = Server::start_with(
        "",
        &format!("{}\n[passwords]\nmin_score = 3\n", smtp.config(false)),
    );
    let strong_md5 = passlink::hex::md5_hex(b"Tundra-47-Violet-register");
    let usernum = register(&server, "dee@example.org", &strong_md5);
    assert!(mail_password(&server, "dee@example.org").contains(SAME_ANSWER));
    let link = link_in(&smtp.wait_mails(1)[0]);
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reset-page-screenshots");
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = Command::new("python3")
        .arg(format!("{SCRIPTS}/chromium_reset.py"))
        .arg(&link)
        .arg(&out_dir)
        .args([
            "--password",
            "Chromium-Velvet-83-Harbor",
            "--mismatch",
            "something-else",
            "--weak",
            "password123",
        ])
        .output()
        .expect("chromium and chromium-driver (.ci/run installs them)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (needle, what) in [
        (
            "\"mismatch_error\": \"The two passwords do not match.\"",
            "the mismatch error",
        ),
        ("\"describedby_ok\": true", "the error tied to its field"),
        ("\"done\": \"Password changed\"", "the success text"),
        (
            "\"weak_error\": \"This password is too easy to guess",
            "zxcvbn's refusal, read out",
        ),
        (
            "\"weak_describedby_ok\": true",
            "the strength error tied to its field",
        ),
        (
            "\"weak_aria_invalid\": \"true\"",
            "the field marked invalid",
        ),
    ] {
        assert!(stdout.contains(needle), "{what}: {stdout}");
    }
    for shot in ["1-form.png", "2-mismatch.png", "2b-weak.png", "3-done.png"] {
        let bytes = std::fs::read(out_dir.join(shot)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{shot}");
    }
    eprintln!("screenshots in {}", out_dir.display());
    let new_md5 = passlink::hex::md5_hex(b"Chromium-Velvet-83-Harbor");
    assert!(capabilities_ok(&server, &usernum, &new_md5));
}
