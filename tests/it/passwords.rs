//! The password policy (`[passwords]`): zxcvbn's estimate with the account's own words, the MD5
//! check for registerUser, and the operator's blocklist, reloaded on SIGHUP.

use std::time::{Duration, Instant};

use crate::reset::{Smtp, csrf_of, form_body, http, link_in, path_of, smtp_config};
use crate::support::{Server, cli, cli_with_stdin};
use crate::xcp::{OWNER_PASSWORD, Xcp, cd, st};
use crate::xss::{capabilities_ok, post, xmlrpc_call};

const STRONG: &str = "Tundra-47-Violet";

fn md5(text: &str) -> String {
    passlink::hex::md5_hex(text.as_bytes())
}

fn register_answer(server: &Server, email: &str, password: &str) -> String {
    post(
        server,
        "/RPC2",
        &xmlrpc_call(
            "xmlStorageSystem.registerUser",
            &[email, "Tester", password, "<int>5335</int>", "test"],
        ),
    )
    .text()
}

const REFUSED: &str = "<name>flError</name><value><boolean>1</boolean>";
const ACCEPTED: &str = "<name>flError</name><value><boolean>0</boolean>";

#[test]
fn register_user_refuses_the_md5_of_a_common_password() {
    let server = Server::start_with("", "[passwords]\nmin_score = 3\n");
    for common in ["password", "Password", "dragon", "letmein"] {
        let answer = register_answer(&server, "ann@example.org", &md5(common));
        assert!(answer.contains(REFUSED), "{common}: {answer}");
        assert!(answer.contains("choose a less common one"), "{answer}");
    }
    // Sent in clear (as Virtuoso's clients do): the whole check, with the account's words.
    let answer = register_answer(&server, "ann@example.org", "password2024");
    assert!(
        answer.contains(REFUSED) && answer.contains("too easy to guess"),
        "{answer}"
    );
    let answer = register_answer(&server, "ann@example.org", &md5(STRONG));
    assert!(answer.contains(ACCEPTED), "{answer}");
    let usernum = answer
        .split("<name>usernum</name><value><string>")
        .nth(1)
        .unwrap()[..7]
        .to_string();
    assert!(capabilities_ok(&server, &usernum, &md5(STRONG)));
}

/// A reset link for a new xmlStorageSystem user, mailed through a real SMTP server.
fn reset_link(server: &Server, smtp: &Smtp, email: &str) -> String {
    let answer = register_answer(server, email, &md5(STRONG));
    assert!(answer.contains(ACCEPTED), "{answer}");
    let before = smtp.mails().len();
    post(
        server,
        "/RPC2",
        &xmlrpc_call("xmlStorageSystem.mailPasswordToUser", &[email]),
    );
    let start = Instant::now();
    while smtp.mails().len() <= before {
        assert!(start.elapsed() < Duration::from_secs(30), "no mail");
        std::thread::sleep(Duration::from_millis(50));
    }
    path_of(&link_in(&smtp.mails()[before]))
}

#[test]
fn the_reset_page_refuses_a_guessable_password_with_zxcvbn_feedback_and_takes_a_passphrase() {
    let smtp = Smtp::start_on(0, false);
    let server = Server::start_with(
        "",
        &format!(
            "{}\n[passwords]\nmin_score = 3\n",
            smtp_config(smtp.port, false)
        ),
    );
    let path = reset_link(&server, &smtp, "bob@example.org");
    let page = http(server.addr, "GET", &path, "");
    assert!(
        page.text()
            .contains("common or easily guessed passwords are refused"),
        "{}",
        page.text()
    );
    for weak in ["password123", "qwertyuiop1", "aaaaaaaaaaaa"] {
        let page = http(server.addr, "GET", &path, "");
        let refused = http(
            server.addr,
            "POST",
            &path,
            &form_body(&csrf_of(&page.text()), weak, weak),
        );
        assert_eq!(refused.status, 422, "{weak}");
        let html = refused.text();
        assert!(html.contains("too easy to guess"), "{weak}: {html}");
        assert!(html.contains("aria-invalid=\"true\""), "{html}");
    }
    let passphrase = "my old weblog lives on at its own address";
    let page = http(server.addr, "GET", &path, "");
    let done = http(
        server.addr,
        "POST",
        &path,
        &form_body(&csrf_of(&page.text()), passphrase, passphrase),
    );
    assert_eq!(done.status, 200, "{}", done.text());
    let usernum = String::from_utf8(
        cli(
            &server.config,
            &["user", "show", "bob@example.org", "--json"],
        )
        .stdout,
    )
    .unwrap();
    let usernum: serde_json::Value = serde_json::from_str(usernum.trim()).unwrap();
    assert!(capabilities_ok(
        &server,
        usernum["usernum"].as_str().unwrap(),
        &md5(passphrase)
    ));
}

#[test]
fn xcp_change_password_refuses_a_guessable_one_and_the_operators_blocklist_reloads() {
    use sha1::{Digest, Sha1};
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("blocklist.txt");
    let hibp = |p: &str| {
        format!(
            "{}:42\n",
            passlink::hex::hex(&Sha1::digest(p.as_bytes())).to_uppercase()
        )
    };
    std::fs::write(&list, hibp(STRONG)).unwrap();
    let x = Xcp::start_with(
        "",
        &format!(
            "[passwords]\nmin_score = 3\nblocklist_file = {:?}\n",
            list.display().to_string()
        ),
    );
    let change = |to: &str| {
        x.call(
            "change",
            "password",
            &[("domain", "example.info")],
            &[("reg_password", to)],
        )
    };
    let reply = change("Password12");
    assert_eq!(reply.code(), cd("0", "465"));
    assert!(
        reply.field("response_text").contains("too easy to guess"),
        "{}",
        reply.xml
    );
    // The domain's own name is no secret.
    assert_eq!(change("Example.info2027").code(), cd("0", "465"));
    let reply = change(STRONG);
    assert_eq!(reply.code(), cd("0", "465"));
    assert!(
        reply
            .field("response_text")
            .contains("breached or forbidden"),
        "{}",
        reply.xml
    );
    let other = "Saffron-83-Quarry";
    assert_eq!(
        change(other).status(),
        st("1", "200", "Password successfully changed.")
    );

    // A new entry, read on SIGHUP.
    let newer = "Copper-19-Lantern";
    std::fs::write(&list, format!("{}{}", hibp(STRONG), hibp(newer))).unwrap();
    x.server.signal("HUP");
    x.server
        .wait_log("password policy applied", Duration::from_secs(10));
    let reply = change(newer);
    assert!(
        reply
            .field("response_text")
            .contains("breached or forbidden"),
        "{}",
        reply.xml
    );
    assert_eq!(change(STRONG).code(), cd("0", "465"));
    // A blocklist that cannot be read stops check-config, with the key.
    std::fs::remove_file(&list).unwrap();
    let out = cli(&x.server.config, &["check-config"]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("passwords.blocklist_file") && err.contains("blocklist.txt"),
        "{err}"
    );
    let _ = OWNER_PASSWORD;
    x.server.assert_healthy(Duration::from_secs(1));
}

#[test]
fn admin_set_password_is_checked_too() {
    let server = Server::start_with("", "[passwords]\nmin_score = 3\n");
    let answer = register_answer(&server, "cid@example.org", &md5(STRONG));
    assert!(answer.contains(ACCEPTED), "{answer}");
    let out = cli_with_stdin(
        &server.config,
        &["user", "set-password", "cid@example.org"],
        "password123\npassword123\n",
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("too easy to guess"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli_with_stdin(
        &server.config,
        &["user", "set-password", "cid@example.org"],
        &format!("{STRONG}-2\n{STRONG}-2\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `name{labels} value` from `/metrics`.
fn metric(server: &Server, line_start: &str) -> f64 {
    let page = server.get("/metrics").text();
    page.lines()
        .find_map(|l| {
            l.strip_prefix(line_start)
                .map(|v| v.trim().parse::<f64>().unwrap())
        })
        .unwrap_or_else(|| panic!("no {line_start} in /metrics"))
}

#[test]
fn a_flood_of_wrong_passwords_for_one_login_runs_argon2_only_a_few_times() {
    let server = Server::start();
    let answer = register_answer(&server, "dee@example.org", &md5(STRONG));
    assert!(answer.contains(ACCEPTED), "{answer}");
    let verify = "passlink_argon2_computations_total{work=\"verify\"}";
    let throttled = "passlink_rate_limited_total{kind=\"login_throttle\"}";
    let before = metric(&server, verify);
    let caps = |login: &str, password_md5: &str| {
        post(
            &server,
            "/RPC2",
            &xmlrpc_call(
                "xmlStorageSystem.getServerCapabilities",
                &[login, password_md5],
            ),
        )
        .text()
    };
    for i in 0..200 {
        let answer = caps("dee@example.org", &md5(&format!("guess-{i}")));
        assert!(
            answer.contains("<boolean>1</boolean>"),
            "{answer}\n{}",
            server.log()
        );
    }
    let verified = metric(&server, verify) - before;
    assert!(
        verified <= 8.0,
        "argon2 ran {verified} times for 200 wrong passwords"
    );
    assert!(metric(&server, throttled) >= 190.0);
    // Another login is not held back; an unknown one is held back like a known one.
    let other = register_answer(&server, "eve@example.org", &md5(STRONG));
    assert!(other.contains(ACCEPTED), "{other}");
    assert!(caps("eve@example.org", &md5(STRONG)).contains("<boolean>0</boolean>"));
    // The right password now waits out the interval too.
    assert!(caps("dee@example.org", &md5(STRONG)).contains("<boolean>1</boolean>"));
    // A reset link gives the owner the login back at once.
    let link =
        String::from_utf8(cli(&server.config, &["user", "reset-link", "dee@example.org"]).stdout)
            .unwrap();
    let path = link
        .lines()
        .find(|l| l.contains("/reset/"))
        .map(path_of)
        .unwrap();
    let page = http(server.addr, "GET", &path, "");
    let new = "Harbour-62-Pebble";
    let done = http(
        server.addr,
        "POST",
        &path,
        &form_body(&csrf_of(&page.text()), new, new),
    );
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(caps("dee@example.org", &md5(new)).contains("<boolean>0</boolean>"));
    server.assert_healthy(Duration::from_secs(1));
}

/// The PHC string stored for a user, read from the database file.
fn stored_hash(server: &Server, email: &str) -> String {
    let db = rusqlite::Connection::open_with_flags(
        server.dir.path().join("data/passlink.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    db.query_row(
        "SELECT password_hash FROM users WHERE email = ?1",
        [email],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn a_raised_argon2_cost_rehashes_the_stored_hash_at_the_next_login() {
    let mut server = Server::start();
    let answer = register_answer(&server, "fay@example.org", &md5(STRONG));
    assert!(answer.contains(ACCEPTED), "{answer}");
    let before = stored_hash(&server, "fay@example.org");
    assert!(
        before.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"),
        "{before}"
    );
    server.kill_and_restart(
        "",
        "[passwords]\nmin_score = 0\nargon2_memory_kib = 9216\nargon2_passes = 3\n",
    );
    let caps = |password_md5: &str| {
        post(
            &server,
            "/RPC2",
            &xmlrpc_call(
                "xmlStorageSystem.getServerCapabilities",
                &["fay@example.org", password_md5],
            ),
        )
        .text()
    };
    assert!(
        caps(&md5(STRONG)).contains("<boolean>0</boolean>"),
        "the old hash still works"
    );
    let after = stored_hash(&server, "fay@example.org");
    assert!(
        after.starts_with("$argon2id$v=19$m=9216,t=3,p=1$"),
        "{after}"
    );
    assert!(
        caps(&md5(STRONG)).contains("<boolean>0</boolean>"),
        "and the new one"
    );
    assert!(caps(&md5("wrong")).contains("<boolean>1</boolean>"));
    assert_eq!(
        metric(
            &server,
            "passlink_argon2_computations_total{work=\"rehash\"}"
        ),
        1.0
    );
    // Too much memory for the cores is a config error that says why.
    let bad = crate::support::write_config(
        server.dir.path(),
        "",
        "[passwords]\nargon2_memory_kib = 1048576\n",
    );
    let out = cli(&bad, &["check-config"]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("passwords.argon2_memory_kib") && err.contains("96 MiB"),
        "{err}"
    );
}

/// Waits for the `n`-th mail (counting from 1) and returns it.
fn nth_mail(smtp: &Smtp, n: usize) -> String {
    let start = Instant::now();
    loop {
        let mails = smtp.mails();
        if mails.len() >= n {
            return mails[n - 1].clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{} of {n} mails",
            mails.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn every_change_is_noticed_and_this_wasnt_me_locks_the_login_and_mails_a_fresh_link() {
    let smtp = Smtp::start_on(0, false);
    let server = Server::start_with("", &smtp_config(smtp.port, false));
    // A change through a reset link.
    let path = reset_link(&server, &smtp, "gus@example.org");
    let page = http(server.addr, "GET", &path, "");
    let set = "Quiet-Meadow-28";
    let done = http(
        server.addr,
        "POST",
        &path,
        &form_body(&csrf_of(&page.text()), set, set),
    );
    assert_eq!(done.status, 200, "{}", done.text());
    let notice = nth_mail(&smtp, 2);
    for expected in [
        "was changed",
        "through a reset link",
        "from the address 127.0.0.1",
        "gus@example.org",
    ] {
        assert!(notice.contains(expected), "{expected:?} in {notice}");
    }
    // "This wasn't me": the page asks first (a scanner that opens links locks nothing) ...
    let not_me = path_of(&link_in(&notice));
    let page = http(server.addr, "GET", &not_me, "");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Lock the account"), "{}", page.text());
    let usernum: serde_json::Value = serde_json::from_str(
        String::from_utf8(
            cli(
                &server.config,
                &["user", "show", "gus@example.org", "--json"],
            )
            .stdout,
        )
        .unwrap()
        .trim(),
    )
    .unwrap();
    let usernum = usernum["usernum"].as_str().unwrap().to_string();
    assert!(capabilities_ok(&server, &usernum, &md5(set)));
    // ... then locks: the password just set no longer works, and a fresh link is mailed.
    let locked = http(
        server.addr,
        "POST",
        &not_me,
        &format!("csrf={}", csrf_of(&page.text())),
    );
    assert_eq!(locked.status, 200, "{}", locked.text());
    assert!(locked.text().contains("Account locked"));
    assert!(!capabilities_ok(&server, &usernum, &md5(set)));
    assert_eq!(
        http(server.addr, "GET", &not_me, "").status,
        410,
        "single use"
    );
    let fresh = nth_mail(&smtp, 3);
    assert!(fresh.contains("reset the password"), "{fresh}");
    let path = path_of(&link_in(&fresh));
    let page = http(server.addr, "GET", &path, "");
    let mine = "Amber-Orchard-71";
    let done = http(
        server.addr,
        "POST",
        &path,
        &form_body(&csrf_of(&page.text()), mine, mine),
    );
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(capabilities_ok(&server, &usernum, &md5(mine)));

    // An admin's change is noticed too.
    let out = cli_with_stdin(
        &server.config,
        &["user", "set-password", "gus@example.org"],
        "Ninth-Harbor-55\nNinth-Harbor-55\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let notice = nth_mail(&smtp, 5);
    assert!(notice.contains("by the site's operator"), "{notice}");
}

#[test]
fn an_xcp_password_change_notices_the_owner_and_admin_contacts() {
    let smtp = Smtp::start_on(0, false);
    let x = Xcp::start_with("", &smtp_config(smtp.port, false));
    let reply = x.call(
        "change",
        "password",
        &[("domain", "example.info")],
        &[("reg_password", "Changed-pass-7")],
    );
    assert_eq!(
        reply.status(),
        st("1", "200", "Password successfully changed.")
    );
    let first = nth_mail(&smtp, 2);
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2, "one per contact");
    let _ = first;
    for to in ["owner@example.info", "admin@example.info"] {
        let mail = mails
            .iter()
            .find(|m| m.contains(to))
            .unwrap_or_else(|| panic!("none to {to}"));
        // In the owner's words: the domain, the reseller's name, the control panel.
        assert!(
            mail.contains("in your domain provider's control panel"),
            "{mail}"
        );
        assert!(
            mail.contains("example.info on passlink community server"),
            "{mail}"
        );
        assert!(!mail.contains("XCP"), "{mail}");
    }
    let _ = OWNER_PASSWORD;
}
