//! OpenSRS XCP over HTTP: the real Net::OpenSRS client, the captured requests of the two common
//! clients replayed byte for byte, parser tolerance, authentication, and hostile input.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use passlink::xcp::envelope::signature;

use crate::support::{self, HttpResponse, Server, cli_with_stdin, exchange, parse_response};

pub(crate) const OWNER_PASSWORD: &str = "Owner-pass-1";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/opensrs");

/// A running server with a reseller and its domains.
pub(crate) struct Xcp {
    pub(crate) server: Server,
    reseller: String,
    pub(crate) key: String,
}

/// Runs a `passlink` admin command against the server's config; returns stdout.
fn admin(server: &Server, args: &[&str], stdin: Option<&str>) -> String {
    let out = cli_with_stdin(&server.config, args, stdin.unwrap_or(""));
    assert!(
        out.status.success(),
        "passlink {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Adds a reseller and returns its key.
pub(crate) fn add_reseller(server: &Server, name: &str, allow: &[&str]) -> String {
    let mut args = vec!["reseller", "add", name];
    for cidr in allow {
        args.extend(["--allow-ip", cidr]);
    }
    let out = admin(server, &args, None);
    out.lines()
        .find_map(|l| l.split("(shown only now): ").nth(1))
        .unwrap_or_else(|| panic!("no key in {out:?}"))
        .trim()
        .to_string()
}

pub(crate) fn add_domain(server: &Server, domain: &str, reseller: &str, profile: &str) {
    add_domain_with(server, domain, reseller, profile, &[]);
}

/// [`add_domain`] with more `domain add` options, such as `--expiredate`.
pub(crate) fn add_domain_with(
    server: &Server,
    domain: &str,
    reseller: &str,
    profile: &str,
    more: &[&str],
) {
    let owner = format!("owner@{domain}");
    let admin_email = format!("admin@{domain}");
    let mut args = vec![
        "domain",
        "add",
        domain,
        "--reseller",
        reseller,
        "--profile",
        profile,
        "--owner-email",
        &owner,
        "--admin-email",
        &admin_email,
        "--password-stdin",
    ];
    args.extend_from_slice(more);
    admin(server, &args, Some(&format!("{OWNER_PASSWORD}\n")));
}

/// What `example.info` is added with: OpenSRS answers it as the cookie's `expiredate`.
pub(crate) const EXAMPLE_INFO_EXPIRES: &str = "2027-03-14";

impl Xcp {
    /// Reseller `resellerx` (the name in the captured requests) owns example.info and
    /// example.org under profile `resellerx` (Net::OpenSRS sends the profile name as
    /// `X-Username`); reseller `other` owns other.net.
    pub(crate) fn start() -> Xcp {
        Xcp::start_with("", "")
    }

    pub(crate) fn start_with(server_table: &str, rest: &str) -> Xcp {
        // These tests ask for many links for one domain; the limits have their own tests.
        let rest = format!("{rest}\n[reset]\nmax_per_login_per_hour = 1000\nip_burst = 1000\n");
        let server = Server::start_with(server_table, &rest);
        let key = add_reseller(&server, "resellerx", &[]);
        add_domain_with(
            &server,
            "example.info",
            "resellerx",
            "resellerx",
            &["--expiredate", EXAMPLE_INFO_EXPIRES],
        );
        add_domain(&server, "example.org", "resellerx", "resellerx");
        add_reseller(&server, "other", &[]);
        add_domain(&server, "other.net", "other", "olga");
        Xcp {
            server,
            reseller: "resellerx".into(),
            key,
        }
    }

    fn post(&self, body: &str) -> HttpResponse {
        post_signed(self.server.addr, "/", &self.reseller, &self.key, body)
    }

    /// A signed command; returns the reply's fields.
    pub(crate) fn call(
        &self,
        action: &str,
        object: &str,
        top: &[(&str, &str)],
        attrs: &[(&str, &str)],
    ) -> Reply {
        let resp = self.post(&envelope(action, object, top, attrs));
        Reply::of(&resp)
    }
}

pub(crate) fn post_signed(
    addr: SocketAddr,
    target: &str,
    user: &str,
    key: &str,
    body: &str,
) -> HttpResponse {
    let sig = signature(body.as_bytes(), key);
    post_raw(
        addr,
        target,
        &[("X-Username", user), ("X-Signature", &sig)],
        body,
    )
}

fn post_raw(addr: SocketAddr, target: &str, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    let request = request_bytes(target, headers, body);
    let bytes = exchange(addr, &request, Duration::from_secs(10));
    parse_response(&bytes)
        .unwrap_or_else(|| panic!("no response: {:?}", String::from_utf8_lossy(&bytes)))
        .0
}

/// A signed XCP request for `POST /`, with further headers, as bytes to send.
pub(crate) fn signed_request(user: &str, key: &str, body: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let sig = signature(body.as_bytes(), key);
    let mut headers = vec![("X-Username", user), ("X-Signature", sig.as_str())];
    headers.extend_from_slice(extra);
    request_bytes("/", &headers, body)
}

fn request_bytes(target: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut request = format!(
        "POST {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Type: text/xml\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    request.into_bytes()
}

/// The docs' layout: declaration, DOCTYPE, header, one dt_assoc.
pub(crate) fn envelope(
    action: &str,
    object: &str,
    top: &[(&str, &str)],
    attrs: &[(&str, &str)],
) -> String {
    let item = |(k, v): &(&str, &str)| format!("    <item key=\"{k}\">{v}</item>\n");
    let top: String = top.iter().map(item).collect();
    let attrs: String = attrs.iter().map(item).collect();
    format!(
        "<?xml version='1.0' encoding='UTF-8' standalone='no' ?>\n\
         <!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'>\n<OPS_envelope>\n<header>\n<version>0.9</version>\n\
         </header>\n<body>\n<data_block>\n<dt_assoc>\n    <item key=\"protocol\">XCP</item>\n\
         <item key=\"action\">{action}</item>\n<item key=\"object\">{object}</item>\n{top}\
         <item key=\"attributes\">\n<dt_assoc>\n{attrs}</dt_assoc>\n</item>\n</dt_assoc>\n\
         </data_block>\n</body>\n</OPS_envelope>\n"
    )
}

/// The fields of an OPS reply that the tests look at, read as text.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) xml: String,
}

impl Reply {
    pub(crate) fn of(resp: &HttpResponse) -> Reply {
        // Every XCP answer, errors included, is HTTP 200 text/xml with a length.
        assert_eq!(resp.status, 200, "{resp:?}");
        assert_eq!(resp.header("content-type"), Some("text/xml"));
        assert!(resp.header("content-length").is_some());
        let xml = resp.text();
        assert!(xml.contains("<item key=\"protocol\">XCP</item>"), "{xml}");
        assert!(xml.contains("<item key=\"action\">REPLY</item>"), "{xml}");
        Reply { xml }
    }

    pub(crate) fn field(&self, key: &str) -> String {
        let open = format!("<item key=\"{key}\">");
        let start = self
            .xml
            .find(&open)
            .unwrap_or_else(|| panic!("no {key} in {}", self.xml))
            + open.len();
        let end = self.xml[start..].find("</item>").unwrap() + start;
        self.xml[start..end].to_string()
    }

    pub(crate) fn status(&self) -> (String, String, String) {
        (
            self.field("is_success"),
            self.field("response_code"),
            self.field("response_text"),
        )
    }

    pub(crate) fn code(&self) -> (String, String) {
        (self.field("is_success"), self.field("response_code"))
    }
}

pub(crate) fn st(ok: &str, code: &str, text: &str) -> (String, String, String) {
    (ok.into(), code.into(), text.into())
}

pub(crate) fn cd(ok: &str, code: &str) -> (String, String) {
    (ok.into(), code.into())
}

#[test]
fn net_opensrs_client_sends_password_sets_cookie_and_changes_password() {
    let x = Xcp::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scripts/net_opensrs.pl");
    let url = format!("http://{}/", x.server.addr);
    let out = Command::new("perl")
        .arg(script)
        .args([
            &url,
            &x.key,
            "resellerx",
            OWNER_PASSWORD,
            "example.info",
            "New-pass-22",
        ])
        .output()
        .expect("perl (Debian's libnet-opensrs-perl; .ci/run installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "send_password 1 200 Message sent",
            "cookie 64 expires 2027-03-14 00:00:00",
            "set_cookie 1 200 Command Successful",
            "change_password 1 200 Password successfully changed.",
            "old_password 0 415 Registrant authentication error: invalid username, password or domain.",
            "new_password 1 200 Command Successful",
        ],
        "{stdout}"
    );
    x.server
        .wait_log("reset: link issued for profile", Duration::from_secs(5));
    let log = x.server.settled_log();
    // Neither the passwords nor the key reach the log.
    for secret in [OWNER_PASSWORD, "New-pass-22", x.key.as_str()] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}

/// The captured bytes, with the signature replaced by one made with the test reseller's key.
fn resigned(name: &str, key: &str) -> Vec<u8> {
    let raw = std::fs::read(format!("{FIXTURES}/{name}")).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let (head, body) = raw.split_at(split);
    let sig = signature(body, key);
    let head = String::from_utf8(head.to_vec()).unwrap();
    let head: String = head
        .split_inclusive("\r\n")
        .map(|line| {
            if line.to_ascii_lowercase().starts_with("x-signature:") {
                format!("X-Signature: {sig}\r\n")
            } else {
                line.to_string()
            }
        })
        .collect();
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

#[test]
fn captured_requests_replayed_get_an_http11_reply_with_content_length() {
    let x = Xcp::start();
    for name in [
        "php-toolkit-send_password.request.http",
        "net-opensrs-send_password.request.http",
    ] {
        let bytes = exchange(
            x.server.addr,
            &resigned(name, &x.key),
            Duration::from_secs(10),
        );
        // The PHP toolkit matches exactly this status line and needs a Content-Length.
        assert!(
            bytes.starts_with(b"HTTP/1.1 200 OK\r\n"),
            "{name}: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        let (resp, used) = parse_response(&bytes).unwrap();
        assert_eq!(used, bytes.len(), "{name}: one reply, then close");
        let length: usize = resp.header("content-length").unwrap().parse().unwrap();
        assert_eq!(length, resp.body.len());
        let reply = Reply::of(&resp);
        assert_eq!(reply.status(), st("1", "200", "Message sent"), "{name}");
        assert_eq!(reply.field("object"), "DOMAIN");
    }
    // The original signatures were made with another key.
    let original =
        std::fs::read(format!("{FIXTURES}/php-toolkit-send_password.request.http")).unwrap();
    let bytes = exchange(x.server.addr, &original, Duration::from_secs(10));
    let reply = Reply::of(&parse_response(&bytes).unwrap().0);
    assert_eq!(reply.status(), st("0", "401", "Authentication Failed"));
}

#[test]
fn the_decoder_is_lenient_the_way_real_clients_need() {
    let x = Xcp::start();
    let ok = st("1", "200", "Message sent");
    let docs = envelope(
        "send_password",
        "domain",
        &[],
        &[
            ("domain_name", "example.info"),
            ("send_to", "owner"),
            ("sub_user", "0"),
        ],
    );
    let variants = [
        ("the docs' form", docs.clone()),
        (
            "no DOCTYPE, double quotes",
            docs.replace("<!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'>\n", "")
                .replace("<?xml version='1.0' encoding='UTF-8' standalone='no' ?>", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        ),
        (
            "dt_scalar and dt_scalarref wrapping",
            docs.replace(">example.info<", "><dt_scalar>example.info</dt_scalar><")
                .replace(">owner<", "><dt_scalarref>owner</dt_scalarref><"),
        ),
        (
            "self-closing items and class attributes",
            docs.replace("<item key=\"sub_user\">0</item>", "<item key=\"sub_user\"/>")
                .replace("<item key=\"send_to\">", "<item key=\"send_to\" class=\"Some::Class\">"),
        ),
        ("upper case", docs.replace(">send_password<", ">SEND_PASSWORD<").replace(">domain<", ">DOMAIN<")),
        ("mixed case", docs.replace(">send_password<", ">Send_Password<").replace(">XCP<", ">xcp<")),
        (
            "msg_id and msg_type in the header",
            docs.replace("<version>0.9</version>", "<version>0.9</version><msg_id>6b03802a161371</msg_id><msg_type>standard</msg_type>"),
        ),
        (
            "PyPI style: one line, no whitespace",
            docs.lines().map(str::trim).collect::<String>(),
        ),
    ];
    for (what, body) in &variants {
        let reply = Reply::of(&x.post(body));
        assert_eq!(reply.status(), ok, "{what}: {body}");
    }
    // `domain` at the top level or inside attributes, both for get domain.
    for (top, attrs) in [
        (vec![("domain", "example.info")], vec![("type", "owner")]),
        (vec![], vec![("domain", "example.info"), ("type", "owner")]),
    ] {
        let reply = x.call("get", "domain", &top, &attrs);
        assert_eq!(reply.code(), cd("1", "200"));
        assert!(reply.xml.contains("owner@example.info"), "{}", reply.xml);
    }
    x.server.assert_healthy(Duration::from_secs(2));
}

#[test]
fn a_billion_laughs_doctype_is_never_expanded() {
    let x = Xcp::start();
    let mut dtd = String::from("<!DOCTYPE OPS_envelope [\n<!ENTITY lol \"lol\">\n");
    for i in 1..=9 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        dtd.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    dtd.push_str("]>");
    let docs = envelope(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "example.info")],
    );
    let doctype = "<!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'>";
    // Declared but unused: the DOCTYPE is skipped, not processed, and the request works.
    let unused = docs.replace(doctype, &dtd);
    assert_eq!(Reply::of(&x.post(&unused)).code(), cd("1", "200"));
    // Used: the entity is unknown, so the request is malformed; nothing is expanded.
    let used = unused.replace(">send_password<", ">&lol9;<");
    let reply = Reply::of(&x.post(&used));
    assert_eq!(reply.code(), cd("0", "400"));
    assert!(
        reply
            .field("response_text")
            .starts_with("Malformed request"),
        "{}",
        reply.xml
    );
    assert!(reply.xml.len() < 2000);
    // An external DTD or entity is not fetched either: there is nothing listening there.
    let external = docs.replace(
        doctype,
        "<!DOCTYPE OPS_envelope SYSTEM \"http://127.0.0.1:9/ops.dtd\" [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>",
    );
    assert_eq!(Reply::of(&x.post(&external)).code(), cd("1", "200"));
    let used = external.replace(">example.info<", ">&x;<");
    let reply = Reply::of(&x.post(&used));
    assert_eq!(reply.code(), cd("0", "400"));
    assert!(!reply.xml.contains("root:"), "{}", reply.xml);
    x.server.assert_healthy(Duration::from_secs(2));
}

#[test]
fn authentication_failures_are_xcp_replies_and_leave_no_signature_in_the_log() {
    let x = Xcp::start();
    let body = envelope(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "example.info")],
    );
    let auth_failed = st("0", "401", "Authentication Failed");
    let bad_sig = "0123456789abcdef0123456789abcdef";
    let good_sig = signature(body.as_bytes(), &x.key);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("no headers", vec![]),
        ("no signature", vec![("X-Username", "resellerx")]),
        (
            "wrong signature",
            vec![("X-Username", "resellerx"), ("X-Signature", bad_sig)],
        ),
        (
            "unknown reseller",
            vec![("X-Username", "nobody"), ("X-Signature", &good_sig)],
        ),
        (
            "another reseller's name",
            vec![("X-Username", "other"), ("X-Signature", &good_sig)],
        ),
    ];
    for (what, headers) in &cases {
        let reply = Reply::of(&post_raw(x.server.addr, "/", headers, &body));
        assert_eq!(reply.status(), auth_failed, "{what}");
    }
    // Upper-case hex and a header name in another case are fine.
    let upper = good_sig.to_ascii_uppercase();
    let reply = Reply::of(&post_raw(
        x.server.addr,
        "/",
        &[("x-username", "resellerx"), ("X-SIGNATURE", &upper)],
        &body,
    ));
    assert_eq!(reply.code(), cd("1", "200"));
    // A signature over other bytes (one byte more) fails.
    let sig = signature(format!("{body} ").as_bytes(), &x.key);
    let reply = Reply::of(&post_raw(
        x.server.addr,
        "/",
        &[("X-Username", "resellerx"), ("X-Signature", &sig)],
        &body,
    ));
    assert_eq!(reply.status(), auth_failed);
    let log = x.server.settled_log();
    assert!(
        log.contains("xcp: authentication failed for reseller resellerx"),
        "{log}"
    );
    for sig in [bad_sig, good_sig.as_str(), sig.as_str()] {
        assert!(!log.contains(sig), "a signature reached the log");
    }
    x.server.assert_healthy(Duration::from_secs(2));
}

#[test]
fn an_ip_allowlist_refuses_other_sources() {
    let server = Server::start();
    let far = add_reseller(&server, "far", &["10.0.0.0/8"]);
    let near = add_reseller(&server, "near", &["127.0.0.0/8", "::1/128"]);
    add_domain(&server, "far.example", "far", "farprofile");
    add_domain(&server, "near.example", "near", "nearprofile");
    let body = |d: &str| envelope("send_password", "domain", &[], &[("domain_name", d)]);
    let reply = Reply::of(&post_signed(
        server.addr,
        "/",
        "far",
        &far,
        &body("far.example"),
    ));
    assert_eq!(
        reply.status(),
        st("0", "400", "Access denied: invalid IP address.")
    );
    let reply = Reply::of(&post_signed(
        server.addr,
        "/",
        "near",
        &near,
        &body("near.example"),
    ));
    assert_eq!(reply.code(), cd("1", "200"));
    server.wait_log(
        "reseller far refused: 127.0.0.1 is not in its allowlist",
        Duration::from_secs(5),
    );
    server.assert_healthy(Duration::from_secs(2));
}

#[test]
fn protocol_malformed_and_unknown_commands() {
    let x = Xcp::start();
    let no_protocol = envelope(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "example.info")],
    )
    .replace("<item key=\"protocol\">XCP</item>", "");
    assert_eq!(
        Reply::of(&x.post(&no_protocol)).status(),
        st("0", "500", "Unrecognized protocol")
    );
    let tpp = envelope("send_password", "domain", &[], &[]).replace(">XCP<", ">TPP<");
    assert_eq!(
        Reply::of(&x.post(&tpp)).status(),
        st("0", "500", "Unrecognized protocol")
    );
    let reply = x.call("lookup", "domain", &[], &[("domain", "example.info")]);
    assert_eq!(
        reply.status(),
        st("0", "400", "Invalid Command: lookup domain")
    );
    assert_eq!(reply.field("object"), "DOMAIN");

    let hostile: Vec<(&str, String)> = vec![
        ("empty body", String::new()),
        ("not XML", "hello".into()),
        ("truncated", envelope("send_password", "domain", &[], &[])[..200].to_string()),
        ("wrong root", "<methodCall><methodName>x</methodName></methodCall>".into()),
        ("no action", "<OPS_envelope><header><version>0.9</version></header><body><data_block><dt_assoc><item key=\"protocol\">XCP</item></dt_assoc></data_block></body></OPS_envelope>".into()),
        ("too deep", format!(
            "<OPS_envelope><header><version>0.9</version></header><body><data_block>{}{}</data_block></body></OPS_envelope>",
            "<dt_assoc><item key=\"a\">".repeat(40),
            "</item></dt_assoc>".repeat(40)
        )),
        ("control characters", envelope("send_password", "domain", &[], &[("domain_name", "a\u{1}b")])),
    ];
    for (what, body) in &hostile {
        let reply = Reply::of(&x.post(body));
        assert_eq!(reply.field("is_success"), "0", "{what}: {}", reply.xml);
        let code = reply.field("response_code");
        assert!(
            ["400", "460", "465", "480"].contains(&code.as_str()),
            "{what}: {}",
            reply.xml
        );
        // The reply is itself well-formed: no control characters escape into it.
        assert!(
            !reply.xml.chars().any(|c| c.is_control() && c != '\n'),
            "{what}"
        );
        x.server.assert_healthy(Duration::from_secs(2));
    }
    // A good request still works after all that.
    let reply = x.call(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "example.info")],
    );
    assert_eq!(reply.code(), cd("1", "200"));
}

#[test]
fn any_request_target_reaches_xcp() {
    let x = Xcp::start();
    let body = envelope(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "example.org")],
    );
    let sig = signature(body.as_bytes(), &x.key);
    // HTTP/1.0 without Host: an empty target (read as /) and a bare host name.
    for target in ["", "example.opensrs.net", "/"] {
        let request = format!(
            "POST {target} HTTP/1.0\r\nContent-Type: text/xml\r\nX-Username: resellerx\r\n\
             X-Signature: {sig}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let bytes = exchange(x.server.addr, request.as_bytes(), Duration::from_secs(10));
        assert!(bytes.starts_with(b"HTTP/1.1 200 OK\r\n"), "{target:?}");
        let reply = Reply::of(&parse_response(&bytes).unwrap().0);
        assert_eq!(reply.code(), cd("1", "200"), "{target:?}");
    }
    // A POST elsewhere that is not an envelope is not XCP's.
    let resp = post_raw(x.server.addr, "/elsewhere", &[], "<a/>");
    assert_eq!(resp.status, 404);
    // The other endpoints keep their own paths.
    assert_eq!(x.server.get("/healthz").status, 200);
}

#[test]
fn an_xcp_listener_serves_xcp_alone_on_any_path() {
    let x = Xcp::start_with("", "[xcp]\nlisten = [\"127.0.0.1:0\"]\n");
    let log = x.server.wait_log(" (xcp)", Duration::from_secs(5));
    let addr: SocketAddr = log
        .split("; http://")
        .nth(1)
        .and_then(|rest| {
            rest.strip_suffix(" (xcp)")
                .or_else(|| rest.split(' ').next())
        })
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no XCP address announced: {log}"))
        .parse()
        .unwrap();
    let body = envelope(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "example.info")],
    );
    for target in ["/", "/RPC2", "/anything"] {
        let reply = Reply::of(&post_signed(addr, target, &x.reseller, &x.key, &body));
        assert_eq!(reply.code(), cd("1", "200"), "{target}");
    }
    // What the address does not serve is not found there.
    let resp = support::get(addr, "/healthz");
    assert_eq!(resp.status, 404);
    // The main address still serves everything, XCP included.
    assert_eq!(x.server.get("/healthz").status, 200);
    assert_eq!(Reply::of(&x.post(&body)).code(), cd("1", "200"));
}

#[test]
fn the_owner_commands_over_http() {
    let x = Xcp::start();
    let login = x.call(
        "set",
        "cookie",
        &[("registrant_ip", "198.51.100.9")],
        &[
            ("reg_username", "resellerx"),
            ("reg_password", OWNER_PASSWORD),
            ("domain", "example.info"),
        ],
    );
    assert_eq!(login.status(), st("1", "200", "Command Successful"));
    assert_eq!(login.field("f_owner"), "1");
    assert_eq!(login.field("domain_count"), "2");
    let cookie = login.field("cookie");

    let reply = x.call(
        "update",
        "cookie",
        &[("cookie", &cookie)],
        &[("domain_new", "example.org")],
    );
    assert_eq!(reply.code(), cd("1", "200"));
    let reply = x.call(
        "get",
        "domain",
        &[("cookie", &cookie)],
        &[("type", "admin")],
    );
    assert!(reply.xml.contains("admin@example.org"), "{}", reply.xml);
    let reply = x.call("get", "domain", &[("cookie", &cookie)], &[("type", "list")]);
    assert!(reply.xml.contains("example.info") && reply.xml.contains("example.org"));

    let add = x.call(
        "add",
        "subuser",
        &[("cookie", &cookie), ("username", "resellerx")],
        &[
            ("sub_username", "helper"),
            ("sub_password", "Helper-pass-9"),
            ("sub_permission", "2"),
        ],
    );
    assert_eq!(add.code(), cd("1", "200"));
    let again = x.call(
        "add",
        "subuser",
        &[("cookie", &cookie)],
        &[
            ("sub_username", "second"),
            ("sub_password", "Helper-pass-9"),
            ("sub_permission", "2"),
        ],
    );
    assert_eq!(again.status(), st("0", "447", "Sub-user limit exceeded."));
    let sub = x.call(
        "set",
        "cookie",
        &[],
        &[
            ("reg_username", "helper"),
            ("reg_password", "Helper-pass-9"),
            ("domain", "example.info"),
        ],
    );
    assert_eq!(
        (sub.field("f_owner"), sub.field("permission")),
        ("0".into(), "2".into())
    );
    let sub_cookie = sub.field("cookie");
    let denied = x.call("get", "subuser", &[("cookie", &sub_cookie)], &[]);
    assert_eq!(denied.code(), cd("0", "435"));
    let get = x.call("get", "subuser", &[("cookie", &cookie)], &[]);
    assert_eq!(get.field("username"), "helper");
    let id = get.field("id");
    let del = x.call(
        "delete",
        "subuser",
        &[("cookie", &cookie)],
        &[("sub_id", &id)],
    );
    assert_eq!(del.code(), cd("1", "200"));
    // The sub-user's session went with it.
    let gone = x.call(
        "get",
        "domain",
        &[("cookie", &sub_cookie)],
        &[("type", "owner")],
    );
    assert_eq!(gone.status(), st("0", "415", "Invalid Cookie Supplied."));

    // Another reseller's domain is not found.
    let reply = x.call(
        "change",
        "password",
        &[("domain", "other.net")],
        &[("reg_password", "Whatever-pass-1")],
    );
    assert_eq!(reply.status(), st("0", "480", "Domain not found"));

    let change = x.call(
        "change",
        "password",
        &[("cookie", &cookie)],
        &[("reg_password", "bad pass")],
    );
    assert_eq!(change.code(), cd("0", "465"));
    let change = x.call(
        "change",
        "password",
        &[("cookie", &cookie)],
        &[("reg_password", "Changed-pass-7")],
    );
    assert_eq!(
        change.status(),
        st("1", "200", "Password successfully changed.")
    );
    let stale = x.call("delete", "cookie", &[("cookie", &cookie)], &[]);
    assert_eq!(stale.status(), st("0", "415", "Invalid Cookie Supplied."));
    assert_eq!(x.call("quit", "session", &[], &[]).code(), cd("1", "200"));
    x.server.assert_healthy(Duration::from_secs(2));
}

#[test]
fn domain_set_expiry_changes_the_expiredate_set_cookie_answers() {
    let x = Xcp::start();
    let expiredate = |domain: &str| {
        let reply = x.call(
            "set",
            "cookie",
            &[],
            &[
                ("reg_username", "resellerx"),
                ("reg_password", OWNER_PASSWORD),
                ("domain", domain),
            ],
        );
        assert_eq!(reply.status(), st("1", "200", "Command Successful"));
        reply.field("expiredate")
    };
    // Added without a date: the answer says nothing rather than inventing one.
    assert_eq!(expiredate("example.org"), "");

    let out = admin(
        &x.server,
        &["domain", "set-expiry", "Example.ORG", "2028-01-31"],
        None,
    );
    assert_eq!(out, "domain example.org expires 2028-01-31 00:00:00 UTC\n");
    assert_eq!(expiredate("example.org"), "2028-01-31 00:00:00");
    let shown = admin(&x.server, &["domain", "show", "example.org"], None);
    assert!(shown.contains("expires:  2028-01-31 00:00:00"), "{shown}");

    // Bad input: a clear error naming the argument, an unknown domain, and neither given.
    let config = &x.server.config;
    let out = cli_with_stdin(
        config,
        &["domain", "set-expiry", "example.org", "31/01/2028"],
        "",
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("DATE \"31/01/2028\" is not YYYY-MM-DD or YYYY-MM-DD HH:MM:SS (UTC)"),
        "{err}"
    );
    let out = cli_with_stdin(
        config,
        &["domain", "set-expiry", "nosuch.example", "2028-01-31"],
        "",
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no domain \"nosuch.example\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli_with_stdin(config, &["domain", "set-expiry", "example.org"], "");
    assert_eq!(out.status.code(), Some(2), "clap's usage error");
    // None of that changed the date.
    assert_eq!(expiredate("example.org"), "2028-01-31 00:00:00");

    let out = admin(
        &x.server,
        &["domain", "set-expiry", "example.org", "--unknown"],
        None,
    );
    assert_eq!(out, "domain example.org: expiry date now unknown\n");
    assert_eq!(expiredate("example.org"), "");
    // The other domain of the profile kept its own.
    assert_eq!(expiredate("example.info"), "2027-03-14 00:00:00");
}
