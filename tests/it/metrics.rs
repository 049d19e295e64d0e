//! `GET /metrics` against the real binary: after a known sequence of requests every counter has
//! exactly the expected value, the page parses with the Prometheus project's own Python parser,
//! and no label carries the test's user, domain or address.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::reset::{csrf_of, form_body, http, link_in, mails_in, path_of};
use crate::support::Server;
use crate::xcp::{OWNER_PASSWORD, add_domain, add_reseller, envelope, post_signed};
use crate::xss::{MD5_ASDF, post, register, xmlrpc_call};

const EMAIL: &str = "metrics-user@user-domain.example";
const DOMAIN: &str = "metrics-domain.example";

/// One parsed sample: (name, labels as `k=v,k=v` sorted by name) → value.
type Samples = BTreeMap<(String, String), f64>;

/// Parses `page` with `prometheus_client.parser` (and the script's own checks); panics with
/// the script's output if it finds a problem.
fn parse(page: &str) -> Samples {
    let script = format!(
        "{}/tests/scripts/metrics_parse.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("ALL OK"),
        "{text}\npage:\n{page}"
    );
    text.lines()
        .filter_map(|l| l.strip_prefix("SAMPLE\t"))
        .map(|l| {
            let mut fields = l.split('\t');
            let name = fields.next().unwrap().to_string();
            let labels = fields.next().unwrap().to_string();
            let value: f64 = fields.next().unwrap().parse().unwrap();
            ((name, labels), value)
        })
        .collect()
}

fn scrape(server: &Server) -> String {
    let resp = server.get("/metrics");
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(
        resp.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    resp.text()
}

fn value(samples: &Samples, name: &str, labels: &str) -> f64 {
    *samples
        .get(&(name.to_string(), labels.to_string()))
        .unwrap_or_else(|| panic!("no {name}{{{labels}}} in {samples:#?}"))
}

fn wait_for_mail(dir: &Path) -> String {
    let spool = dir.join("data").join("spool");
    let start = Instant::now();
    loop {
        if spool.is_dir()
            && let Some(mail) = mails_in(&spool).pop()
        {
            return mail;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no mail spooled");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn counters_after_a_known_sequence() {
    // One invalid reset link a minute per address, so the second one is refused by the limit.
    let server = Server::start_with("", "[reset]\ninvalid_hits_per_minute = 1\n");
    let key = add_reseller(&server, "metricsreseller", &[]);
    add_domain(&server, DOMAIN, "metricsreseller", "metricsprofile");

    // xmlStorageSystem: a registration, a login (argon2, cached), the same login again (from
    // the cache), a wrong password (argon2 again), and a method nobody knows.
    let usernum = register(&server, EMAIL, MD5_ASDF);
    let caps = |password: &str| {
        post(
            &server,
            "/RPC2",
            &xmlrpc_call(
                "xmlStorageSystem.getServerCapabilities",
                &[&usernum, password],
            ),
        )
        .text()
    };
    assert!(caps(MD5_ASDF).contains("<boolean>0</boolean>"));
    assert!(caps(MD5_ASDF).contains("<boolean>0</boolean>"));
    assert!(caps("0123456789abcdef0123456789abcdef").contains("<boolean>1</boolean>"));
    let unknown = post(
        &server,
        "/RPC2",
        &xmlrpc_call("xmlStorageSystem.tellMeEverything", &[EMAIL]),
    );
    assert!(unknown.text().contains("<name>faultCode</name>"));

    // XCP: send_password (a link and its mail), and a command nobody knows.
    let xcp = |action: &str, object: &str| {
        let body = envelope(
            action,
            object,
            &[],
            &[("domain_name", DOMAIN), ("send_to", "owner")],
        );
        post_signed(server.addr, "/", "metricsreseller", &key, &body).text()
    };
    assert!(xcp("send_password", "domain").contains("<item key=\"is_success\">1</item>"));
    assert!(xcp("steal", "domain").contains("Invalid Command"));

    // The link from the mail: its form, then a new password set through it.
    let mail = wait_for_mail(server.dir.path());
    assert!(mail.contains(&format!("owner@{DOMAIN}")));
    let path = path_of(&link_in(&mail));
    let form = http(server.addr, "GET", &path, "");
    assert_eq!(form.status, 200);
    let done = http(
        server.addr,
        "POST",
        &path,
        &form_body(&csrf_of(&form.text()), "Reset-pass-42", "Reset-pass-42"),
    );
    assert_eq!(done.status, 200, "{}", done.text());

    // Plain HTTP: a missing file, health, a path no route has, two invalid reset links (the
    // second one over the limit).
    assert_eq!(
        server.get(&format!("/users/{usernum}/missing.txt")).status,
        404
    );
    assert_eq!(server.get("/healthz").status, 200);
    assert_eq!(server.get("/nowhere").status, 404);
    assert_eq!(server.get("/reset/not-a-token").status, 410);
    assert_eq!(server.get("/reset/not-a-token").status, 429);

    // The mailer records the delivery a moment after the spool file appears: scrape until it
    // has, counting the scrapes (each is a status request the final page counts). Three mails:
    // the reset link, and the password-changed notice to the owner and admin contacts.
    let mut scrapes = 0;
    let start = Instant::now();
    let page = loop {
        let page = scrape(&server);
        let samples = parse(&page);
        let delivered = samples
            .get(&("passlink_mail_outbox_messages".into(), "state=sent".into()))
            .copied()
            == Some(3.0);
        if delivered {
            break page;
        }
        scrapes += 1;
        assert!(start.elapsed() < Duration::from_secs(10), "{page}");
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("---- /metrics after the test sequence ----\n{page}---- end ----");
    let samples = parse(&page);

    let requests: BTreeMap<&str, f64> = samples
        .iter()
        .filter(|((name, _), _)| name == "passlink_requests_total")
        .map(|((_, labels), v)| (labels.as_str(), *v))
        .collect();
    let status_requests = 1.0 + f64::from(scrapes);
    let expected: BTreeMap<&str, f64> = [
        // The missing file, and /nowhere: a GET no other route has is the files group's (an
        // imported weblog's old URL, else 404).
        ("group=files,method=GET,outcome=error", 2.0),
        ("group=reset,method=GET,outcome=error", 2.0),
        ("group=reset,method=GET,outcome=ok", 1.0),
        ("group=reset,method=POST,outcome=ok", 1.0),
        ("group=status,method=GET,outcome=ok", status_requests),
        ("group=xcp,method=other,outcome=fault", 1.0),
        ("group=xcp,method=send_password domain,outcome=ok", 1.0),
        (
            "group=xmlstorage,method=xmlStorageSystem.getServerCapabilities,outcome=error",
            1.0,
        ),
        (
            "group=xmlstorage,method=xmlStorageSystem.getServerCapabilities,outcome=ok",
            2.0,
        ),
        (
            "group=xmlstorage,method=xmlStorageSystem.registerUser,outcome=ok",
            1.0,
        ),
        ("group=xmlstorage,method=other,outcome=fault", 1.0),
    ]
    .into_iter()
    .collect();
    assert_eq!(requests, expected, "{page}");

    for (group, n) in [
        ("files", 2.0),
        ("reset", 4.0),
        ("status", status_requests),
        ("xcp", 2.0),
        ("xmlstorage", 5.0),
    ] {
        let labels = format!("group={group}");
        assert_eq!(
            value(&samples, "passlink_request_duration_seconds_count", &labels),
            n,
            "{group}"
        );
        assert_eq!(
            value(
                &samples,
                "passlink_request_duration_seconds_bucket",
                &format!("group={group},le=+Inf")
            ),
            n,
            "{group}"
        );
    }

    for (name, labels, expected) in [
        ("passlink_argon2_in_flight", "", 0.0),
        // Two logins that the cache did not answer.
        ("passlink_argon2_computations_total", "work=verify", 2.0),
        // The startup's unknown-user hash, the registration, the password set by the link.
        ("passlink_argon2_computations_total", "work=hash", 3.0),
        ("passlink_credential_cache_hits_total", "", 1.0),
        ("passlink_credential_cache_misses_total", "", 2.0),
        ("passlink_reset_links_issued_total", "", 1.0),
        ("passlink_reset_links_used_total", "", 1.0),
        ("passlink_reset_links_expired_total", "", 0.0),
        ("passlink_mail_outbox_messages", "state=pending", 0.0),
        ("passlink_mail_outbox_messages", "state=sending", 0.0),
        ("passlink_mail_outbox_messages", "state=sent", 3.0),
        ("passlink_mail_outbox_messages", "state=failed", 0.0),
        ("passlink_mail_deliveries_total", "result=sent", 3.0),
        ("passlink_mail_deliveries_total", "result=deferred", 0.0),
        ("passlink_mail_deliveries_total", "result=failed", 0.0),
        ("passlink_rate_limited_total", "kind=reset_ip", 0.0),
        ("passlink_rate_limited_total", "kind=reset_login", 0.0),
        (
            "passlink_rate_limited_total",
            "kind=reset_invalid_link",
            1.0,
        ),
        ("passlink_rate_limited_total", "kind=argon2_busy", 0.0),
        ("passlink_http_queue_full_total", "", 0.0),
        ("passlink_http_connections_refused_total", "", 0.0),
        ("passlink_http_memory_refusals_total", "", 0.0),
        ("passlink_tls_handshake_failures_total", "", 0.0),
        (
            "passlink_build_info",
            &format!("version={}", env!("CARGO_PKG_VERSION")),
            1.0,
        ),
    ] {
        assert_eq!(
            value(&samples, name, labels),
            expected,
            "{name}{{{labels}}}"
        );
    }
    // The scrape's own connection is open; earlier ones may still be closing.
    assert!(value(&samples, "passlink_http_open_connections", "") >= 1.0);
    let db_bytes = value(&samples, "passlink_database_size_bytes", "");
    assert!(db_bytes > 0.0 && db_bytes % 512.0 == 0.0, "{db_bytes}");

    // No label carries the user, the domains or the client's address.
    let domain_of_email = EMAIL.split('@').nth(1).unwrap();
    for (_, labels) in samples.keys() {
        for needle in [EMAIL, domain_of_email, DOMAIN, "127.0.0.1", &usernum] {
            assert!(!labels.contains(needle), "{needle} in a label: {labels}");
        }
    }
    assert!(!page.contains(OWNER_PASSWORD) && !page.contains(EMAIL));
}
