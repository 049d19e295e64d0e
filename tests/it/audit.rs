//! The audit trail (`passlink audit`) against the real binary: the whole story of a reset
//! over XCP with a real SMTP server and the real page, with no secret in the trail, the
//! database file or the log; a flood of wrong passwords written as one row per login, client
//! and minute; the operator's changes; the filters and their errors; retention.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::reset::{Smtp, csrf_of, form_body, http, link_in, path_of, smtp_config};
use crate::support::{Server, cli, cli_with_stdin};
use crate::xcp::{OWNER_PASSWORD, Xcp, cd};
use crate::xss::{capabilities_ok, post, register, xmlrpc_call};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `passlink audit --json ARGS`, one value per event.
fn audit(config: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["audit", "--json"];
    all.extend_from_slice(args);
    let out = cli(config, &all);
    assert!(
        out.status.success(),
        "passlink {all:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn events(rows: &[serde_json::Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["event"].as_str().unwrap().to_string())
        .collect()
}

fn md5(text: &str) -> String {
    passlink::hex::md5_hex(text.as_bytes())
}

fn wait_mails(smtp: &Smtp, n: usize) -> Vec<String> {
    let start = Instant::now();
    loop {
        let mails = smtp.mails();
        if mails.len() >= n {
            return mails;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no mail");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every file of the data directory (the database, its -wal, the spool) as bytes, for
/// looking for secrets.
fn data_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                out.push((
                    entry.path().display().to_string(),
                    std::fs::read(entry.path()).unwrap(),
                ));
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[test]
fn the_story_of_an_xcp_reset_is_in_the_audit_with_no_secret_anywhere() {
    let smtp = Smtp::start_on(0, false);
    let mut x = Xcp::start_with("", &smtp_config(smtp.port, false));
    // The reseller asks for a link for the owner; the owner uses it and logs in.
    let sent = x.call(
        "send_password",
        "domain",
        &[],
        &[
            ("domain_name", "example.info"),
            ("send_to", "owner"),
            ("sub_user", "0"),
        ],
    );
    assert_eq!(sent.code(), cd("1", "200"));
    let mail = wait_mails(&smtp, 1).remove(0);
    let link = link_in(&mail);
    let token = link.rsplit('/').next().unwrap().to_string();
    let path = path_of(&link);
    let page = http(x.server.addr, "GET", &path, "");
    let new = "Granite-Lantern-93";
    let done = http(
        x.server.addr,
        "POST",
        &path,
        &form_body(&csrf_of(&page.text()), new, new),
    );
    assert_eq!(done.status, 200, "{}", done.text());
    let wrong = x.call(
        "set",
        "cookie",
        &[],
        &[
            ("reg_username", "resellerx"),
            ("reg_password", OWNER_PASSWORD),
            ("domain", "example.info"),
        ],
    );
    assert_eq!(wrong.code(), cd("0", "415"), "the old password is gone");
    let login = x.call(
        "set",
        "cookie",
        &[],
        &[
            ("reg_username", "resellerx"),
            ("reg_password", new),
            ("domain", "example.info"),
        ],
    );
    assert_eq!(login.code(), cd("1", "200"));
    let cookie = login.field("cookie");
    // The password-changed notice goes to the owner and admin contacts of the profile's two
    // domains, each with the same "this wasn't me" link, which is scrubbed from the outbox
    // once the mail is sent.
    let mails = wait_mails(&smtp, 5);
    let not_me = link_in(&mails[1]);
    let not_me_token = not_me.rsplit('/').next().unwrap().to_string();
    let start = Instant::now();
    loop {
        let out = text(&cli(&x.server.config, &["outbox", "list", "--json"]).stdout);
        if out.lines().count() == 5 && out.lines().all(|l| l.contains("\"state\":\"sent\"")) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "outbox: {out}");
        std::thread::sleep(Duration::from_millis(50));
    }

    let story = audit(&x.server.config, &["--account", "EXAMPLE.INFO"]);
    let names = events(&story);
    let expected = [
        "domain_changed",
        "reset_requested",
        "link_issued",
        "link_used",
        "password_changed",
        "cookie_set",
    ];
    let mut at = 0;
    for want in expected {
        at += names[at..]
            .iter()
            .position(|n| n == want)
            .unwrap_or_else(|| panic!("no {want} after {:?} in {names:?}", &names[..at]));
        at += 1;
    }
    let find = |event: &str| story.iter().find(|r| r["event"] == event).unwrap().clone();
    let requested = find("reset_requested");
    assert_eq!(requested["client"], "127.0.0.1");
    assert_eq!(requested["outcome"], "ok");
    assert_eq!(requested["account"], "profile resellerx for example.info");
    assert_eq!(requested["login"]["kind"], "profile");
    assert!(
        requested["detail"]
            .as_str()
            .unwrap()
            .contains("XCP send_password by reseller resellerx, to the owner contact"),
        "{requested}"
    );
    let issued = find("link_issued");
    assert!(
        issued["detail"]
            .as_str()
            .unwrap()
            .starts_with("mailed to owner@example.info; expires "),
        "{issued}"
    );
    assert_eq!(find("password_changed")["detail"], "through a reset link");
    assert_eq!(find("domain_changed")["client"], "admin");
    // The failed login is counted in memory and written at the latest at a clean stop.
    x.server.signal("TERM");
    assert!(x.server.wait_exit(Duration::from_secs(20)).success());
    let failed = audit(
        &x.server.config,
        &["--event", "login_failed", "--account", "example.info"],
    );
    assert_eq!(failed.len(), 1, "{failed:?}\n{}", x.server.log());
    assert_eq!(failed[0]["outcome"], "refused");
    assert_eq!(failed[0]["count"], 1);
    assert_eq!(failed[0]["account"], "profile resellerx for example.info");

    // No secret in the trail, the data directory (database, -wal, spool) or the log.
    let secrets = [
        token.clone(),
        not_me_token,
        new.to_string(),
        md5(new),
        OWNER_PASSWORD.to_string(),
        md5(OWNER_PASSWORD),
        cookie,
    ];
    let trail = text(&cli(&x.server.config, &["audit", "--json"]).stdout);
    let log = x.server.log();
    for secret in &secrets {
        assert!(!trail.contains(secret.as_str()), "{secret} in the trail");
        assert!(!log.contains(secret.as_str()), "{secret} in the log");
    }
    assert!(!trail.contains(&x.key), "the reseller's key in the trail");
    // The token itself (not its hash) must not be anywhere in the data directory; the reset
    // and not-me links were delivered, so the outbox holds them no more.
    for (file, bytes) in data_bytes(&x.server.dir.path().join("data")) {
        for secret in &secrets[..4] {
            assert!(!contains(&bytes, secret), "{secret} in {file}");
        }
    }
}

/// Sends wrong passwords for `login` as fast as they are answered, for `secs` seconds; returns
/// how many were answered.
fn flood(server: &Server, login: &str, secs: u64) -> u64 {
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(secs) {
        let answer = post(
            server,
            "/RPC2",
            &xmlrpc_call(
                "xmlStorageSystem.getServerCapabilities",
                &[login, &md5(&format!("guess-{n}"))],
            ),
        )
        .text();
        assert!(answer.contains("<boolean>1</boolean>"), "{answer}");
        n += 1;
    }
    n
}

#[test]
fn a_ten_second_flood_of_wrong_passwords_is_one_row_per_login_client_and_minute() {
    let mut server = Server::start();
    let usernum = register(&server, "ivy@example.org", &md5("Quartz-Harbor-41"));
    // Two floods at once: a known login and a name that is no account.
    let (known, unknown) = std::thread::scope(|s| {
        let known = s.spawn(|| flood(&server, "ivy@example.org", 10));
        let unknown = s.spawn(|| flood(&server, "nobody@example.org", 10));
        (known.join().unwrap(), unknown.join().unwrap())
    });
    // Unknown resellers with a new name each time, straight to XCP: still one row.
    let envelope = crate::xcp::envelope(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "x.example")],
    );
    for i in 0..300 {
        let reply =
            crate::xcp::post_signed(server.addr, "/", &format!("nobody{i}"), "k", &envelope);
        assert!(
            reply.text().contains("Authentication Failed"),
            "{}",
            reply.text()
        );
    }
    assert!(known > 50 && unknown > 50, "{known} and {unknown} attempts");
    // Counted on /metrics as they happen, attempts not rows.
    let metrics = server.get("/metrics").text();
    let counted: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("passlink_audit_events_total{event=\"login_failed\"} "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(counted, known + unknown + 300);
    // A good request is served after the flood (for another login: the flooded one is held
    // back by the per-login throttle, as it should be).
    let other = register(&server, "joy@example.org", &md5("Copper-Meadow-52"));
    assert!(capabilities_ok(&server, &other, &md5("Copper-Meadow-52")));
    let _ = usernum;
    // Nothing written yet (under a minute); the stop writes the counts.
    assert!(audit(&server.config, &["--event", "login_failed"]).is_empty());
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(20)).success());
    let rows = audit(&server.config, &["--event", "login_failed"]);
    assert_eq!(rows.len(), 3, "{rows:?}");
    let resellers = rows
        .iter()
        .find(|r| r["account"] == "(reseller refused)")
        .unwrap();
    assert_eq!(resellers["count"], 300);
    assert!(
        resellers["detail"]
            .as_str()
            .unwrap()
            .starts_with("300 × unknown reseller or bad signature"),
        "{resellers}"
    );
    let row = |account: &str| {
        rows.iter()
            .find(|r| r["account"].as_str().unwrap().contains(account))
            .unwrap_or_else(|| panic!("no row for {account} in {rows:?}"))
    };
    let ivy = row("ivy@example.org");
    assert_eq!(ivy["count"].as_u64().unwrap(), known);
    assert_eq!(ivy["login"]["kind"], "user");
    assert_eq!(ivy["client"], "127.0.0.1");
    assert!(
        ivy["detail"]
            .as_str()
            .unwrap()
            .contains("held back without checking"),
        "the throttle answered most of them: {ivy}"
    );
    // A name that is no account is no key: such attempts are counted per client, with the
    // names given as samples, so new names cannot make new rows.
    let nobody = row("(unknown login)");
    assert_eq!(nobody["count"].as_u64().unwrap(), unknown);
    assert!(nobody["login"].is_null());
    assert!(
        nobody["detail"]
            .as_str()
            .unwrap()
            .ends_with("names given: nobody@example.org"),
        "{nobody}"
    );
    // The text form says the same in one line each.
    let out = text(&cli(&server.config, &["audit", "--event", "login_failed"]).stdout);
    assert!(out.starts_with("TIME (UTC)"), "{out}");
    assert!(out.contains(&format!("({known} attempts)")), "{out}");
}

#[test]
fn the_operators_changes_and_links_are_in_the_audit_and_the_filters_say_what_is_wrong() {
    let server = Server::start();
    let add = cli_with_stdin(
        &server.config,
        &["user", "add", "jo@example.org"],
        "Velvet-Canyon-38\nVelvet-Canyon-38\n",
    );
    assert!(add.status.success(), "{}", text(&add.stderr));
    for args in [
        &["user", "disable", "jo@example.org"][..],
        &["user", "enable", "jo@example.org"],
        &["user", "reset-link", "jo@example.org"],
        &["reseller", "add", "acme"],
    ] {
        let out = cli(&server.config, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    let out = cli(
        &server.config,
        &["reset", "revoke", "--account", "jo@example.org"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let jo = audit(&server.config, &["--account", "JO@example.org"]);
    assert_eq!(
        events(&jo),
        [
            "registered",
            "user_changed",
            "user_changed",
            "link_issued",
            "link_revoked"
        ]
    );
    assert!(jo.iter().all(|r| r["client"] == "admin"), "{jo:?}");
    assert_eq!(jo[1]["detail"], "disabled");
    assert!(
        jo[3]["detail"]
            .as_str()
            .unwrap()
            .starts_with("by the operator, printed on the command line"),
        "{}",
        jo[3]
    );
    let resellers = audit(&server.config, &["--event", "reseller_changed"]);
    assert_eq!(resellers.len(), 1);
    assert_eq!(resellers[0]["account"], "reseller acme");
    // Both events at once, by repeating the option or with a comma.
    let two = audit(
        &server.config,
        &["--event", "link_issued,link_revoked", "--since", "1h"],
    );
    assert_eq!(events(&two), ["link_issued", "link_revoked"]);
    assert!(audit(&server.config, &["--since", "2099-01-01"]).is_empty());
    // Mistakes are named, with what would be right.
    let bad = cli(&server.config, &["audit", "--event", "login"]);
    assert!(!bad.status.success());
    let err = text(&bad.stderr);
    assert!(
        err.contains("\"login\" is not an event") && err.contains("login_failed"),
        "{err}"
    );
    let bad = cli(&server.config, &["audit", "--since", "last week"]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("90m, 48h or 7d"),
        "{}",
        text(&bad.stderr)
    );
    server.assert_healthy(Duration::from_secs(2));
}

#[test]
fn registrations_and_address_requests_are_recorded_and_old_events_are_purged() {
    let smtp = Smtp::start_on(0, false);
    let mut server = Server::start_with(
        "",
        &format!(
            "{}\n[audit]\nkeep_days = 30\n",
            smtp_config(smtp.port, false)
        ),
    );
    register(&server, "kim@example.org", &md5("Pepper-Lagoon-64"));
    for email in ["kim@example.org", "ghost@example.org"] {
        post(
            &server,
            "/RPC2",
            &xmlrpc_call("xmlStorageSystem.mailPasswordToUser", &[email]),
        );
    }
    wait_mails(&smtp, 1);
    let registered = audit(&server.config, &["--event", "registered"]);
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0]["client"], "127.0.0.1");
    let asked = audit(&server.config, &["--event", "reset_requested"]);
    assert_eq!(asked.len(), 1, "the one that made a link: {asked:?}");
    assert_eq!(asked[0]["detail"], "mailPasswordToUser");
    assert!(
        asked[0]["account"]
            .as_str()
            .unwrap()
            .starts_with("kim@example.org (xmlStorageSystem user 0"),
        "{}",
        asked[0]
    );

    // Events older than keep_days go at the next purge (one runs at start).
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(20)).success());
    // The request that matched no account is counted, like a failed login, and written by the
    // stop at the latest: under the client, with the address given as a sample.
    let refused: Vec<_> = audit(&server.config, &["--event", "reset_requested"])
        .into_iter()
        .filter(|r| r["outcome"] == "refused")
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["account"], "(no account)");
    assert_eq!(refused[0]["client"], "127.0.0.1");
    assert_eq!(
        refused[0]["detail"],
        "1 × no active account has the address; names given: ghost@example.org"
    );
    let db = rusqlite::Connection::open(server.dir.path().join("data/passlink.sqlite3")).unwrap();
    let old = passlink::clock::unix_now() - 31 * 86_400;
    db.execute(
        "UPDATE audit_events SET at = ?1 WHERE event = 'registered'",
        [old],
    )
    .unwrap();
    // A long trail piped into `head`: the reader stops early, and passlink ends quietly.
    let now = passlink::clock::unix_now();
    for i in 0..3000 {
        db.execute(
            "INSERT INTO audit_events (at, event, account, client, outcome, detail) \
             VALUES (?1, 'user_changed', ?2, 'admin', 'ok', 'disabled')",
            rusqlite::params![
                now,
                format!("user{i}@example.org (xmlStorageSystem user 0000042)")
            ],
        )
        .unwrap();
    }
    drop(db);
    let piped = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#""$0" audit --config "$1" | head -n 1"#)
        .arg(crate::support::BIN)
        .arg(&server.config)
        .env_remove("PASSLINK_CONFIG")
        .env_remove("PASSLINK_LOG")
        .output()
        .unwrap();
    assert_eq!(text(&piped.stdout).lines().count(), 1);
    assert!(piped.stdout.starts_with(b"TIME (UTC)"));
    assert_eq!(
        text(&piped.stderr),
        "",
        "nothing said about the closed pipe"
    );
    server.kill_and_restart(
        "",
        &format!(
            "{}\n[audit]\nkeep_days = 30\n",
            smtp_config(smtp.port, false)
        ),
    );
    let start = Instant::now();
    while !audit(&server.config, &["--event", "registered"]).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "not purged:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        audit(&server.config, &["--event", "reset_requested"]).len(),
        2
    );
    server.assert_healthy(Duration::from_secs(2));
}

#[test]
fn a_resellers_sub_user_changes_are_in_the_audit() {
    let x = Xcp::start();
    let login = [
        ("reg_username", "resellerx"),
        ("reg_password", OWNER_PASSWORD),
        ("domain", "example.info"),
    ];
    let cookie = x.call("set", "cookie", &[], &login).field("cookie");
    let add = x.call(
        "add",
        "subuser",
        &[("cookie", &cookie)],
        &[
            ("sub_username", "helper"),
            ("sub_password", "Helper-pass-9"),
            ("sub_permission", "2"),
        ],
    );
    assert_eq!(add.code(), cd("1", "200"));
    let id = add.field("sub_id");
    let modify = x.call(
        "modify",
        "subuser",
        &[("cookie", &cookie)],
        &[
            ("sub_id", &id),
            ("sub_username", "aide"),
            ("sub_password", "Aide-pass-14"),
        ],
    );
    assert_eq!(modify.code(), cd("1", "200"));
    let del = x.call(
        "delete",
        "subuser",
        &[("cookie", &cookie)],
        &[("sub_id", &id)],
    );
    assert_eq!(del.code(), cd("1", "200"));
    let rows = audit(&x.server.config, &["--account", "sub-user"]);
    assert_eq!(
        events(&rows),
        [
            "registered",
            "user_changed",
            "password_changed",
            "user_changed"
        ],
        "{rows:?}"
    );
    assert_eq!(rows[0]["account"], "sub-user helper for example.info");
    assert_eq!(rows[0]["login"]["kind"], "subuser");
    assert!(
        rows[1]["detail"]
            .as_str()
            .unwrap()
            .starts_with("renamed from helper to aide"),
        "{}",
        rows[1]
    );
    assert_eq!(
        rows[2]["detail"],
        "XCP modify subuser by reseller resellerx"
    );
    assert_eq!(rows[3]["account"], "sub-user aide for example.info");
    assert!(rows.iter().all(|r| r["client"] == "127.0.0.1"));
    let trail = text(&cli(&x.server.config, &["audit", "--json"]).stdout);
    for secret in ["Helper-pass-9", "Aide-pass-14", OWNER_PASSWORD, &cookie] {
        assert!(!trail.contains(secret), "{secret} in the trail");
    }
    x.server.assert_healthy(Duration::from_secs(2));
}

#[test]
fn requests_over_the_hourly_limit_are_counted_not_written_one_by_one() {
    let smtp = Smtp::start_on(0, false);
    let mut server = Server::start_with(
        "",
        &format!(
            "{}\n[reset]\nmax_per_login_per_hour = 1\n",
            smtp_config(smtp.port, false)
        ),
    );
    register(&server, "lou@example.org", &md5("Pepper-Lagoon-64"));
    for _ in 0..4 {
        post(
            &server,
            "/RPC2",
            &xmlrpc_call("xmlStorageSystem.mailPasswordToUser", &["lou@example.org"]),
        );
    }
    wait_mails(&smtp, 1);
    // Wait until the mailer has looked at all four requests.
    let start = Instant::now();
    while !server.log().contains("hourly limit reached") {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let asked = audit(&server.config, &["--event", "reset_requested"]);
    assert_eq!(
        asked.len(),
        1,
        "only the request that made a link: {asked:?}"
    );
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(20)).success());
    let refused: Vec<_> = audit(&server.config, &["--event", "reset_requested"])
        .into_iter()
        .filter(|r| r["outcome"] == "refused")
        .collect();
    assert_eq!(refused.len(), 1, "one row for three refusals: {refused:?}");
    assert_eq!(refused[0]["count"], 3);
    assert!(
        refused[0]["account"]
            .as_str()
            .unwrap()
            .starts_with("lou@example.org (xmlStorageSystem user"),
        "{}",
        refused[0]
    );
    // ", over N s" follows when the three fell in different seconds.
    let detail = refused[0]["detail"].as_str().unwrap();
    assert!(
        detail == "3 × the login had its hourly number of links"
            || detail.starts_with("3 × the login had its hourly number of links, over "),
        "{detail}"
    );
}
