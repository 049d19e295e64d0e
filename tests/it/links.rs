//! Reset links an operator issues, lists and revokes from the command line (`user reset-link`,
//! `domain reset-link`, `reset list`, `reset revoke`), against the real binary: the printed
//! link works in the page and the new password over the real protocols, a mailed one arrives
//! through a real SMTP server, a revoked one answers 410, and no token reaches the listing, the
//! log or standard error.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::reset::{Smtp, csrf_of, form_body, http, link_in, path_of, smtp_config};
use crate::support::{Server, cli, cli_with_stdin, write_config};
use crate::xcp::{OWNER_PASSWORD, Xcp};
use crate::xss::{MD5_ASDF, capabilities_ok, register};

const MAIL_WAIT: Duration = Duration::from_secs(30);

/// The keys of one `reset list --json` line, exactly (sorted).
const JSON_KEYS: [&str; 7] = [
    "account",
    "created_at",
    "expires_at",
    "id",
    "login_id",
    "login_kind",
    "requested_by",
];

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `passlink ARGS`, which must succeed; returns its standard output.
fn ok(config: &Path, args: &[&str]) -> String {
    let out = cli(config, args);
    assert!(
        out.status.success(),
        "passlink {args:?} failed ({}): {}{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `passlink ARGS`, which must fail with `needle` in its message on standard error.
fn refused(config: &Path, args: &[&str], needle: &str) -> Output {
    let out = cli(config, args);
    assert!(
        !out.status.success(),
        "passlink {args:?} should have failed: {}",
        text(&out.stdout)
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(needle),
        "passlink {args:?}: {needle:?} not in {err:?}"
    );
    out
}

/// The link `reset-link` printed: the one line that is a URL.
fn printed_link(stdout: &str) -> String {
    let links: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("http") && l.contains("/reset/"))
        .collect();
    assert_eq!(links.len(), 1, "one link in {stdout:?}");
    links[0].to_string()
}

fn token_of(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_string()
}

/// The pending links, as `reset list --json` gives them.
fn pending(config: &Path, more: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["reset", "list", "--json"];
    args.extend_from_slice(more);
    ok(config, &args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn unix(rfc3339: &str) -> i64 {
    let text = rfc3339.replace('T', " ");
    passlink::clock::parse_utc(text.trim_end_matches('Z')).unwrap()
}

/// Opens the link's page and sets `password` with its form.
fn use_link(server: &Server, link: &str, password: &str) {
    let path = path_of(link);
    let form = http(server.addr, "GET", &path, "");
    assert_eq!(form.status, 200, "{}", form.text());
    let csrf = csrf_of(&form.text());
    let done = http(
        server.addr,
        "POST",
        &path,
        &form_body(&csrf, password, password),
    );
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(done.text().contains("id=\"done\""), "{}", done.text());
}

fn status_of(server: &Server, link: &str) -> u16 {
    http(server.addr, "GET", &path_of(link), "").status
}

#[test]
fn a_printed_user_link_works_is_listed_and_a_revoked_one_is_gone() {
    let server = Server::start();
    let config = &server.config;
    let usernum = register(&server, "ann@example.org", MD5_ASDF);

    let out = cli(config, &["user", "reset-link", &usernum]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let link = printed_link(&stdout);
    let token = token_of(&link);
    assert!(stdout.contains("ann@example.org"), "{stdout}");
    assert!(
        stdout.contains("expires ") && stdout.contains(" UTC"),
        "{stdout}"
    );
    // The test's listener has port 0, so the command warns that the link names it.
    let stderr = text(&out.stderr);
    assert!(stderr.contains("public_url"), "{stderr}");
    assert!(!stderr.contains(&token), "the token on standard error");

    // The listing shows it, asked for by "admin", and never the token.
    let links = pending(config, &[]);
    assert_eq!(links.len(), 1, "{links:?}");
    let entry = &links[0];
    let mut keys: Vec<&str> = entry
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, JSON_KEYS);
    assert_eq!(entry["requested_by"], "admin");
    assert_eq!(entry["login_kind"], "user");
    assert_eq!(entry["login_id"], usernum.parse::<i64>().unwrap());
    assert!(
        entry["account"]
            .as_str()
            .unwrap()
            .contains("ann@example.org"),
        "{entry}"
    );
    let ttl =
        unix(entry["expires_at"].as_str().unwrap()) - unix(entry["created_at"].as_str().unwrap());
    assert_eq!(ttl, 1800, "the default [reset] ttl_secs");
    let table = ok(config, &["reset", "list"]);
    let json = ok(config, &["reset", "list", "--json"]);
    for shown in [&table, &json] {
        assert!(!shown.contains(&token), "the token in the listing: {shown}");
    }
    assert!(
        table.contains("admin") && table.contains("ann@example.org"),
        "{table}"
    );

    // The link works in the page; the new password's MD5 then logs in, the old one not.
    use_link(&server, &link, "Violet-harbour-lantern-58");
    let new_md5 = passlink::hex::md5_hex(b"Violet-harbour-lantern-58");
    assert!(capabilities_ok(&server, &usernum, &new_md5));
    assert!(!capabilities_ok(&server, &usernum, MD5_ASDF));
    assert_eq!(status_of(&server, &link), 410);
    assert!(
        pending(config, &[]).is_empty(),
        "a used link is not pending"
    );

    // An unknown user is refused, and a good command works after it.
    refused(
        config,
        &["user", "reset-link", "nobody@example.org"],
        "no user",
    );
    refused(config, &["user", "reset-link", "9999"], "no user");
    let link = printed_link(&ok(config, &["user", "reset-link", "ANN@example.org"]));
    assert_eq!(status_of(&server, &link), 200);

    // Revoked by its id: the page answers 410 at once.
    let id = pending(config, &[])[0]["id"].as_i64().unwrap();
    let out = ok(config, &["reset", "revoke", &id.to_string()]);
    assert!(out.contains(&format!("revoked 1 link: {id}")), "{out}");
    assert!(!out.contains(&token_of(&link)), "{out}");
    assert_eq!(status_of(&server, &link), 410);
    assert!(pending(config, &[]).is_empty());
    refused(
        config,
        &["reset", "revoke", &id.to_string()],
        "no longer pending",
    );
    refused(config, &["reset", "revoke", "99999"], "no link 99999");
    refused(config, &["reset", "revoke"], "--account");
    refused(
        config,
        &["reset", "revoke", "1", "--account", "ann"],
        "cannot be used with",
    );
    refused(config, &["reset", "revoke", "--account", " "], "every link");

    // Revoked by account, any case; other accounts' links stay.
    let bo = register(&server, "bo@example.net", MD5_ASDF);
    let ann_link = printed_link(&ok(config, &["user", "reset-link", &usernum]));
    let bo_link = printed_link(&ok(config, &["user", "reset-link", &bo, "--ttl", "2h"]));
    let only_bo = pending(config, &["--account", "BO@EXAMPLE"]);
    assert_eq!(only_bo.len(), 1, "{only_bo:?}");
    let bo_ttl = unix(only_bo[0]["expires_at"].as_str().unwrap())
        - unix(only_bo[0]["created_at"].as_str().unwrap());
    assert_eq!(bo_ttl, 7200, "--ttl 2h");
    let out = ok(config, &["reset", "revoke", "--account", "Ann@Example.ORG"]);
    assert!(out.contains("revoked 1 link(s)"), "{out}");
    assert_eq!(status_of(&server, &ann_link), 410);
    assert_eq!(status_of(&server, &bo_link), 200);
    refused(
        config,
        &["reset", "revoke", "--account", "ann@example.org"],
        "nothing was revoked",
    );
    refused(
        config,
        &["user", "reset-link", &bo, "--ttl", "91d"],
        "at most 90d",
    );
    refused(
        config,
        &["user", "reset-link", &bo, "--ttl", "soon"],
        "--ttl",
    );
    assert_eq!(
        status_of(&server, &bo_link),
        200,
        "a refused command voids nothing"
    );

    // A disabled user gets no link; enabled again, they do.
    ok(config, &["user", "disable", &bo]);
    refused(config, &["user", "reset-link", &bo], "disabled");
    assert_eq!(
        status_of(&server, &bo_link),
        200,
        "a refused command voids nothing"
    );
    ok(config, &["user", "enable", &bo]);
    let link = printed_link(&ok(config, &["user", "reset-link", &bo]));
    assert_eq!(status_of(&server, &link), 200);
    assert_eq!(
        status_of(&server, &bo_link),
        410,
        "a new link voids the older one"
    );

    // No token ever reached the server's log.
    let log = server.settled_log();
    for token in [
        &token,
        &token_of(&ann_link),
        &token_of(&bo_link),
        &token_of(&link),
    ] {
        assert!(!log.contains(token.as_str()), "a token in the log");
    }
}

#[test]
fn a_mailed_user_link_goes_out_through_the_running_server() {
    let smtp = Smtp::start_on(0, false);
    let server = Server::start_with("", &smtp_config(smtp.port, false));
    let config = &server.config;
    let usernum = register(&server, "cy@example.org", MD5_ASDF);

    let out = cli(config, &["user", "reset-link", "cy@example.org", "--mail"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        !stdout.contains("/reset/"),
        "--mail prints no link: {stdout}"
    );
    assert!(stdout.contains("queued to cy@example.org"), "{stdout}");
    assert!(stdout.contains("outbox message"), "{stdout}");
    assert!(stdout.contains("passlink serve"), "{stdout}");

    let start = Instant::now();
    let mail = loop {
        if let Some(mail) = smtp.mails().into_iter().next() {
            break mail;
        }
        assert!(start.elapsed() < MAIL_WAIT, "no mail within {MAIL_WAIT:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(mail.contains("cy@example.org"), "{mail}");
    let link = link_in(&mail);
    assert_eq!(pending(config, &[])[0]["requested_by"], "admin");
    use_link(&server, &link, "Copper-meadow-quiet-74");
    let new_md5 = passlink::hex::md5_hex(b"Copper-meadow-quiet-74");
    assert!(capabilities_ok(&server, &usernum, &new_md5));
    assert_eq!(status_of(&server, &link), 410);
    assert_eq!(smtp.mails().len(), 1);
}

#[test]
fn a_domain_link_sets_the_profile_or_sub_user_password_for_xcp() {
    let x = Xcp::start();
    let config = &x.server.config;
    let login = |user: &str, password: &str| {
        x.call(
            "set",
            "cookie",
            &[],
            &[
                ("reg_username", user),
                ("reg_password", password),
                ("domain", "example.info"),
            ],
        )
        .code()
    };

    let out = ok(
        config,
        &["domain", "reset-link", "example.info", "--to", "owner"],
    );
    assert!(out.contains("owner@example.info"), "{out}");
    assert!(out.contains("profile resellerx for example.info"), "{out}");
    let link = printed_link(&out);
    let form = http(x.server.addr, "GET", &path_of(&link), "");
    // The page names the domain and its reseller, not the operator's label.
    assert!(
        form.text().contains("<strong>example.info</strong>")
            && form
                .text()
                .contains("<p class=\"site\">passlink community server</p>"),
        "{}",
        form.text()
    );
    let entry = &pending(config, &["--account", "EXAMPLE.INFO"])[0];
    assert_eq!(
        (entry["login_kind"].as_str(), entry["requested_by"].as_str()),
        (Some("profile"), Some("admin"))
    );
    use_link(&x.server, &link, "Zq7-Harbor-Kite-31");
    assert_eq!(
        login("resellerx", OWNER_PASSWORD),
        ("0".into(), "415".into())
    );
    assert_eq!(
        login("resellerx", "Zq7-Harbor-Kite-31"),
        ("1".into(), "200".into())
    );

    // The admin contact is named; bad input is refused, and a good command works after it.
    let out = ok(
        config,
        &["domain", "reset-link", "EXAMPLE.info", "--to", "admin"],
    );
    assert!(out.contains("admin@example.info"), "{out}");
    refused(
        config,
        &[
            "domain",
            "reset-link",
            "example.info",
            "--to",
            "admin",
            "--sub-user",
        ],
        "no sub-user",
    );
    refused(
        config,
        &["domain", "reset-link", "nowhere.example", "--to", "owner"],
        "no domain",
    );
    let out = cli(
        config,
        &["domain", "reset-link", "example.info", "--to", "billing"],
    );
    assert!(!out.status.success(), "{}", text(&out.stdout));

    // A sub-user's link, once the profile has one.
    let cookie = x
        .call(
            "set",
            "cookie",
            &[],
            &[
                ("reg_username", "resellerx"),
                ("reg_password", "Zq7-Harbor-Kite-31"),
                ("domain", "example.info"),
            ],
        )
        .field("cookie");
    let add = x.call(
        "add",
        "subuser",
        &[("cookie", &cookie), ("username", "resellerx")],
        &[
            ("sub_username", "helper"),
            ("sub_password", "Wb4-Ember-Sloop-66"),
            ("sub_permission", "2"),
        ],
    );
    assert_eq!(add.code(), ("1".into(), "200".into()), "{}", add.xml);
    let out = ok(
        config,
        &[
            "domain",
            "reset-link",
            "example.info",
            "--to",
            "admin",
            "--sub-user",
        ],
    );
    assert!(out.contains("sub-user helper for example.info"), "{out}");
    assert!(out.contains("admin@example.info"), "{out}");
    use_link(&x.server, &printed_link(&out), "Pm3-Cobalt-Fjord-85");
    assert_eq!(
        login("helper", "Pm3-Cobalt-Fjord-85"),
        ("1".into(), "200".into())
    );
}

#[test]
fn a_mailed_domain_link_goes_to_the_contact() {
    let smtp = Smtp::start_on(0, false);
    let x = Xcp::start_with("", &smtp_config(smtp.port, false));
    let config = &x.server.config;
    let out = ok(
        config,
        &[
            "domain",
            "reset-link",
            "example.org",
            "--to",
            "admin",
            "--mail",
        ],
    );
    assert!(!out.contains("/reset/"), "{out}");
    assert!(out.contains("queued to admin@example.org"), "{out}");
    let start = Instant::now();
    let mail = loop {
        if let Some(mail) = smtp.mails().into_iter().next() {
            break mail;
        }
        assert!(start.elapsed() < MAIL_WAIT, "no mail within {MAIL_WAIT:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(mail.contains("admin@example.org"), "{mail}");
    assert!(mail.contains("Reset your password: example.org"), "{mail}");
    assert_eq!(status_of(&x.server, &link_in(&mail)), 200);
}

#[test]
fn without_a_database_or_mail_nothing_is_created_or_issued() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "", "[smtp]\nenabled = false\n");
    let database = dir.path().join("data").join("passlink.sqlite3");
    // Read-only commands never create a database.
    refused(&config, &["reset", "list"], "no database");
    refused(&config, &["reset", "list", "--json"], "no database");
    refused(&config, &["reset", "revoke", "1"], "no database");
    assert!(
        !database.exists(),
        "a read-only command created the database"
    );

    let out = cli_with_stdin(
        &config,
        &["user", "add", "dee@example.org"],
        "Saffron-glacier-wander-27\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(ok(&config, &["reset", "list"]).contains("no pending links"));
    // --mail with mail turned off issues nothing.
    refused(
        &config,
        &["user", "reset-link", "dee@example.org", "--mail"],
        "mail is turned off",
    );
    assert!(pending(&config, &[]).is_empty());
    let out = ok(
        &config,
        &["user", "reset-link", "dee@example.org", "--ttl", "90m"],
    );
    printed_link(&out);
    let links = pending(&config, &[]);
    let ttl = unix(links[0]["expires_at"].as_str().unwrap())
        - unix(links[0]["created_at"].as_str().unwrap());
    assert_eq!(ttl, 5400);
}
