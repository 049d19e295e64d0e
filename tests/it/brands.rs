//! Mails in the reader's language and a reseller's brand (issue 20), through a real SMTP
//! server: `passlink reseller brand` and its refusals, XCP `send_password` for a domain and
//! its sub-user of a reseller branded "Acme Domains" in German, the page behind the link,
//! `mailPasswordToUser` in the language the user chose on the page, and the operator's
//! per-language templates as `check-config` and `serve` read them.

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::reset::{Smtp, csrf_of, form_body, http, link_in, path_of, smtp_config};
use crate::support::{Server, cli, write_config};
use crate::xcp::{OWNER_PASSWORD, Xcp};
use crate::xss::{capabilities_ok, post, register, xmlrpc_call};

fn run(config: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = cli(config, args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One header of a raw mail (the first), unfolded.
fn header<'a>(mail: &'a str, name: &str) -> Option<&'a str> {
    mail.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

/// What smtp_server.py decoded: the subject and the text parts.
fn decoded(mail: &str) -> &str {
    mail.split("--- decoded ---").nth(1).unwrap_or("")
}

fn lang_of(html: &str) -> &str {
    let start = html.find("<html lang=\"").unwrap() + 12;
    &html[start..start + html[start..].find('"').unwrap()]
}

/// The page's CSP allows exactly the style sheet it sends, by hash.
fn assert_style_hashed(page: &crate::support::HttpResponse) {
    let html = page.text();
    let start = html.find("<style>").unwrap() + 7;
    let style = &html[start..start + html[start..].find("</style>").unwrap()];
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style.as_bytes()));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains(&format!("style-src 'sha256-{hash}'")), "{csp}");
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
}

/// A GET with `Accept-Language`.
fn get(addr: std::net::SocketAddr, path: &str, accept: &str) -> crate::support::HttpResponse {
    let raw = format!(
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAccept-Language: {accept}\r\n\r\n"
    );
    let bytes = crate::support::exchange(addr, raw.as_bytes(), std::time::Duration::from_secs(30));
    crate::support::parse_response(&bytes).unwrap().0
}

/// Waits for a mail that `wanted` accepts.
fn wait_for(smtp: &Smtp, wanted: impl Fn(&str) -> bool) -> String {
    let start = std::time::Instant::now();
    loop {
        if let Some(mail) = smtp.mails().into_iter().find(|m| wanted(m)) {
            return mail;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "no such mail in {:?}",
            smtp.mails()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_branded_reseller_s_customers_get_german_mail_from_acme_and_a_german_page() {
    let smtp = Smtp::start_on(0, false);
    let x = Xcp::start_with("", &smtp_config(smtp.port, false));
    let config = &x.server.config;
    let dir = tempfile::tempdir().unwrap();
    let bad_template = dir.path().join("bad.txt");
    std::fs::write(&bad_template, "Subject: Hallo\n\n{link} bis {expiyr}\n").unwrap();
    let bad = format!("reset.de.txt={}", bad_template.display());
    let bad_lang = format!("reset.pt_BR.txt={}", bad_template.display());
    // Each refusal says what is wrong and what to do, and stores nothing.
    for (args, why) in [
        (vec!["--accent", "#ffd700"], "contrast of 1.4:1"),
        (vec!["--accent", "red"], "#rrggbb"),
        (
            vec!["--support", "javascript:alert(1)"],
            "neither a mail address nor an https:// page",
        ),
        (vec!["--language", "pt"], "not a shipped language"),
        (
            vec!["--from", "Acme <passwords@acme.example>"],
            "not a mail address",
        ),
        (
            vec!["--display-name", "Acme\nBcc: x@evil.example"],
            "no line breaks",
        ),
        (
            vec!["--template", &bad],
            "line 3: unknown placeholder {expiyr}",
        ),
        (
            vec!["--template", &bad_lang],
            "\"pt_BR\" is not a shipped language",
        ),
        (vec!["--clear", "colour"], "the parts are display-name"),
        (
            vec!["--display-name", "Acme\u{202e}"],
            "invisible characters",
        ),
        (
            vec!["--remove-template", "reset.fr.txt"],
            "reseller resellerx has no such mail text",
        ),
    ] {
        let mut all = vec!["reseller", "brand", "resellerx"];
        all.extend(args.iter().copied());
        let (ok, _, stderr) = run(config, &all);
        assert!(!ok, "{args:?} was accepted");
        assert!(stderr.contains(why), "{args:?}: {why:?} in {stderr}");
    }
    let (ok, _, stderr) = run(
        config,
        &["reseller", "brand", "nobody", "--accent", "#0b5394"],
    );
    assert!(!ok && stderr.contains("no reseller \"nobody\""), "{stderr}");
    let (_, show, _) = run(config, &["reseller", "show", "resellerx"]);
    assert!(show.contains("brand name:  (not set)"), "{show}");

    let (ok, out, stderr) = run(
        config,
        &[
            "reseller",
            "brand",
            "resellerx",
            "--display-name",
            "Acme Domains",
            "--support",
            "help@acme.example",
            "--language",
            "de",
            "--accent",
            "#0B5394",
        ],
    );
    assert!(ok, "{stderr}");
    assert!(out.contains("brand updated"), "{out}");
    let (_, show, _) = run(config, &["reseller", "show", "resellerx"]);
    for line in [
        "brand name:  Acme Domains",
        "support:     help@acme.example",
        "accent:      #0b5394",
        "language:    de",
        "mail from:   (not set: [smtp] from)",
    ] {
        assert!(show.contains(line), "{line:?} in {show}");
    }

    // The owner asks through the reseller's site: the mail is German, from Acme's name at the
    // server's address (DMARC), with Acme's support address to reply to.
    let reply = x.call(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "example.info"), ("send_to", "owner")],
    );
    assert_eq!(reply.code(), ("1".into(), "200".into()), "{}", reply.xml);
    let mail = smtp.wait_mails(1).remove(0);
    assert_eq!(
        header(&mail, "From"),
        Some("\"Acme Domains\" <passlink@test.example>"),
        "{mail}"
    );
    assert_eq!(
        header(&mail, "X-Envelope-From"),
        Some("passlink@test.example")
    );
    assert_eq!(
        header(&mail, "Reply-To"),
        Some("<help@acme.example>"),
        "{mail}"
    );
    assert_eq!(header(&mail, "Content-Language"), Some("de"), "{mail}");
    let text = decoded(&mail);
    for words in [
        "Subject: Passwort",
        "example.info",
        "Acme Domains",
        "help@acme.example",
        "Uhr UTC",
    ] {
        assert!(text.contains(words), "{words:?} in {text}");
    }
    for protocol in ["XCP", "OpenSRS", "profile", "xmlStorageSystem", "passlink"] {
        assert!(!text.contains(protocol), "{protocol:?} in {text}");
    }

    // Its link opens a German page with Acme's name, even for an English browser.
    let path = path_of(&link_in(&mail));
    let page = get(x.server.addr, &path, "en-US,en;q=0.9");
    let html = page.text();
    assert_eq!(page.status, 200);
    assert_eq!(lang_of(&html), "de", "{html}");
    assert_eq!(page.header("content-language"), Some("de"));
    assert!(
        html.contains("<p class=\"site\">Acme Domains</p>"),
        "{html}"
    );
    assert!(html.contains("<strong>example.info</strong>"), "{html}");
    assert!(
        html.contains("<a href=\"mailto:help@acme.example\">help@acme.example</a>"),
        "{html}"
    );
    assert!(html.contains("button{background:#0b5394}"), "{html}");
    assert_style_hashed(&page);
    // The switch still wins, and the new password is set in German.
    let english = get(x.server.addr, &format!("{path}?lang=en"), "de");
    assert_eq!(lang_of(&english.text()), "en");
    let done = http(
        x.server.addr,
        "POST",
        &path,
        &form_body(&csrf_of(&html), "Kupfer-Wiese-52x", "Kupfer-Wiese-52x"),
    );
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(done.text().contains("Passwort geändert"), "{}", done.text());
    let login = x.call(
        "set",
        "cookie",
        &[],
        &[
            ("reg_username", "resellerx"),
            ("reg_password", "Kupfer-Wiese-52x"),
            ("domain", "example.info"),
        ],
    );
    assert_eq!(login.code(), ("1".into(), "200".into()), "{}", login.xml);

    // The same for its sub-user, and now from Acme's own address.
    let cookie = login.field("cookie");
    let add = x.call(
        "add",
        "subuser",
        &[("cookie", &cookie)],
        &[
            ("sub_username", "helper"),
            ("sub_password", "Helper-Brass-Lamp-9"),
            ("sub_permission", "2"),
        ],
    );
    assert_eq!(add.code(), ("1".into(), "200".into()), "{}", add.xml);
    let (ok, _, stderr) = run(
        config,
        &[
            "reseller",
            "brand",
            "resellerx",
            "--from",
            "passwords@acme.example",
        ],
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("DMARC"),
        "the operator is told why: {stderr}"
    );
    let reply = x.call(
        "send_password",
        "domain",
        &[],
        &[
            ("domain_name", "example.info"),
            ("send_to", "admin"),
            ("sub_user", "1"),
        ],
    );
    assert_eq!(reply.code(), ("1".into(), "200".into()), "{}", reply.xml);
    let mail = &wait_for(&smtp, |m| decoded(m).contains("helper"));
    assert_eq!(
        header(mail, "From"),
        Some("\"Acme Domains\" <passwords@acme.example>"),
        "{mail}"
    );
    assert_eq!(
        header(mail, "X-Envelope-From"),
        Some("passlink@test.example")
    );
    assert!(
        header(mail, "X-Envelope-To")
            .unwrap()
            .contains("admin@example.info")
    );
    assert!(decoded(mail).contains("helper (example.info)"), "{mail}");
    let page = get(x.server.addr, &path_of(&link_in(mail)), "");
    assert_eq!(lang_of(&page.text()), "de");
    assert!(page.text().contains("Acme Domains"), "{}", page.text());
    assert!(
        page.text()
            .contains("<strong>helper (example.info)</strong>")
    );

    // The owner set a password on a page in the reseller's language without choosing it: that
    // is not remembered, so the reseller's new language applies to their next mail.
    let (ok, _, _) = run(
        config,
        &["reseller", "brand", "resellerx", "--language", "fr"],
    );
    assert!(ok);
    x.call(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "example.info"), ("send_to", "owner")],
    );
    let french = wait_for(&smtp, |m| header(m, "Content-Language") == Some("fr"));
    assert!(decoded(&french).contains("mot de passe"), "{french}");

    // A reseller without a brand is untouched: English, the server's sender.
    let (_, show, _) = run(config, &["reseller", "show", "other", "--json"]);
    let json: serde_json::Value = serde_json::from_str(show.trim()).unwrap();
    assert_eq!(json["brand"]["display_name"], serde_json::Value::Null);
    let (_, show, _) = run(config, &["reseller", "show", "resellerx", "--json"]);
    let json: serde_json::Value = serde_json::from_str(show.trim()).unwrap();
    assert_eq!(json["brand"]["mail_from"], "passwords@acme.example");
}

#[test]
fn a_reseller_s_own_template_is_checked_stored_and_mailed() {
    let smtp = Smtp::start_on(0, false);
    let x = Xcp::start_with("", &smtp_config(smtp.port, false));
    let config = &x.server.config;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acme-de.txt");
    std::fs::write(
        &file,
        "Subject: Acme: Ihr Zugang zu {account}\n\nGuten Tag,\n\n{link}\n\nbis {expiry}. \
         Fragen: {support}\n",
    )
    .unwrap();
    let (ok, _, stderr) = run(
        config,
        &[
            "reseller",
            "brand",
            "resellerx",
            "--language",
            "de",
            "--support",
            "https://acme.example/hilfe",
            "--template",
            &format!("reset.de.txt={}", file.display()),
        ],
    );
    assert!(ok, "{stderr}");
    let (_, show, _) = run(config, &["reseller", "show", "resellerx"]);
    assert!(show.contains("mail texts:  reset.de.txt"), "{show}");
    let reply = x.call(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "example.org"), ("send_to", "owner")],
    );
    assert_eq!(reply.code(), ("1".into(), "200".into()), "{}", reply.xml);
    let mail = smtp.wait_mails(1).remove(0);
    let text = decoded(&mail);
    assert!(
        text.contains("Subject: Acme: Ihr Zugang zu example.org"),
        "{text}"
    );
    assert!(
        text.contains("Fragen: https://acme.example/hilfe"),
        "{text}"
    );
    assert!(text.contains("Uhr UTC"), "{text}");
    assert_eq!(header(&mail, "Reply-To"), None, "a web page is no address");
    assert!(
        !text.contains("[text/html]"),
        "its own text goes without the built-in HTML"
    );
    // Removed, the built-in German mail is back.
    let (ok, _, _) = run(
        config,
        &[
            "reseller",
            "brand",
            "resellerx",
            "--remove-template",
            "reset.de.txt",
        ],
    );
    assert!(ok);
    x.call(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "example.org"), ("send_to", "owner")],
    );
    let mail = smtp.wait_mails(2).remove(1);
    assert!(decoded(&mail).contains("[text/html]"), "{mail}");
    assert!(decoded(&mail).contains("Passwort"), "{mail}");
    let _ = OWNER_PASSWORD;
}

#[test]
fn mail_password_to_user_after_choosing_japanese_on_the_page_is_japanese() {
    let smtp = Smtp::start_on(0, false);
    let server = Server::start_with("", &smtp_config(smtp.port, false));
    let usernum = register(
        &server,
        "kenji@example.org",
        &passlink::hex::md5_hex(b"asdf"),
    );
    let ask = || {
        post(
            &server,
            "/RPC2",
            &xmlrpc_call(
                "xmlStorageSystem.mailPasswordToUser",
                &["kenji@example.org"],
            ),
        )
    };
    ask();
    let first = smtp.wait_mails(1).remove(0);
    assert_eq!(header(&first, "Content-Language"), Some("en"), "{first}");
    assert!(
        decoded(&first).contains("on passlink community server"),
        "{first}"
    );
    // The user picks Japanese on the page and sets the password there.
    let path = format!("{}?lang=ja", path_of(&link_in(&first)));
    let page = http(server.addr, "GET", &path, "");
    assert_eq!(lang_of(&page.text()), "ja");
    let done = http(
        server.addr,
        "POST",
        &path,
        &form_body(
            &csrf_of(&page.text()),
            "Sakura-Lantern-Koi-38",
            "Sakura-Lantern-Koi-38",
        ),
    );
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(capabilities_ok(
        &server,
        &usernum,
        &passlink::hex::md5_hex(b"Sakura-Lantern-Koi-38")
    ));
    // From now on its mails are Japanese: the notice of that change, and the next reset mail.
    let notice = smtp.wait_mails(2).remove(1);
    assert_eq!(header(&notice, "Content-Language"), Some("ja"), "{notice}");
    ask();
    let mails = smtp.wait_mails(3);
    let mail = &mails[2];
    assert_eq!(header(mail, "Content-Language"), Some("ja"), "{mail}");
    let text = decoded(mail);
    assert!(text.contains("Subject: パスワードの再設定"), "{text}");
    assert!(text.contains("（UTC）"), "{text}");
    assert!(text.contains("kenji@example.org"), "{text}");
    // Its link opens a Japanese page for any browser.
    let page = get(server.addr, &path_of(&link_in(mail)), "de");
    assert_eq!(lang_of(&page.text()), "ja", "{}", page.text());
}

#[test]
fn the_operator_s_templates_per_language_are_checked_and_used() {
    let smtp = Smtp::start_on(0, false);
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    std::fs::create_dir(&templates).unwrap();
    let rest = |language: &str| {
        format!(
            "{}[reset]\ntemplates_dir = {:?}\nlanguage = {language:?}\n",
            smtp_config(smtp.port, false),
            templates.display().to_string()
        )
    };
    let config = write_config(dir.path(), "", &rest("xx"));
    let (ok, _, stderr) = run(&config, &["check-config"]);
    assert!(!ok, "an unknown [reset] language");
    assert!(
        stderr.contains("reset.language") && stderr.contains("en, de, fr, es, pt-BR, ja"),
        "{stderr}"
    );
    let config = write_config(dir.path(), "", &rest("de"));
    // A file for a language passlink does not ship (a typo, a backup) is not used, and
    // check-config says so; it does not stop the server.
    std::fs::write(templates.join("reset.pt_BR.txt"), "{link}\n").unwrap();
    std::fs::write(templates.join("changed.old.txt"), "{nonsense}\n").unwrap();
    let (ok, out, stderr) = run(&config, &["check-config"]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("reset.pt_BR.txt: not used: \"pt_BR\" is not a shipped language")
            && stderr.contains("changed.old.txt: not used"),
        "{stderr}"
    );
    assert!(
        out.contains("# mails: in de by default; from ")
            && out.contains("none (the built-in texts)"),
        "{out}"
    );
    std::fs::write(
        templates.join("reset.de.txt"),
        "Subject: Neues Passwort für {account}\n\nHallo,\n\n{link}\n\ngilt bis {expiry} ({sitename})\n",
    )
    .unwrap();
    let (ok, _, stderr) = run(&config, &["check-config"]);
    assert!(!ok);
    assert!(
        stderr.contains("reset.de.txt:7: unknown placeholder {sitename}"),
        "{stderr}"
    );
    std::fs::write(
        templates.join("reset.de.txt"),
        "Subject: Neues Passwort für {account}\n\nHallo,\n\n{link}\n\ngilt bis {expiry} ({site})\n",
    )
    .unwrap();
    let (ok, out, stderr) = run(&config, &["check-config"]);
    assert!(ok, "{out}{stderr}");
    assert!(out.contains("reset (de)"), "{out}");
    let server = Server::start_with("", &rest("de"));
    register(&server, "uwe@example.org", &passlink::hex::md5_hex(b"asdf"));
    post(
        &server,
        "/RPC2",
        &xmlrpc_call("xmlStorageSystem.mailPasswordToUser", &["uwe@example.org"]),
    );
    let mail = smtp.wait_mails(1).remove(0);
    let text = decoded(&mail);
    assert!(
        text.contains("Subject: Neues Passwort für uwe@example.org"),
        "{text}"
    );
    assert!(
        text.contains("Uhr UTC (passlink community server)"),
        "{text}"
    );
    assert_eq!(header(&mail, "Content-Language"), Some("de"));
}
