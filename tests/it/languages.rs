//! The reset page in the user's language (issue 20), against the real binary over HTTP: the
//! browser's Accept-Language with quality values and regional fallback, the switch (`?lang=`,
//! no script), form errors and the other pages in the chosen language, and English for
//! anything else.

use std::net::SocketAddr;
use std::time::Duration;

use crate::reset::{csrf_of, form_body, path_of};
use crate::support::{HttpResponse, Server, cli, exchange, parse_response};
use crate::xss::{capabilities_ok, register};

/// A request with an `Accept-Language` header (none when empty).
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    accept_language: &str,
    body: &str,
) -> HttpResponse {
    let language = if accept_language.is_empty() {
        String::new()
    } else {
        format!("Accept-Language: {accept_language}\r\n")
    };
    let raw = format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{language}\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let bytes = exchange(addr, raw.as_bytes(), Duration::from_secs(30));
    parse_response(&bytes).unwrap().0
}

fn lang_of(html: &str) -> &str {
    let start = html.find("<html lang=\"").unwrap() + 12;
    &html[start..start + html[start..].find('"').unwrap()]
}

fn md5(text: &str) -> String {
    passlink::hex::md5_hex(text.as_bytes())
}

/// A reset link for a new user, printed by `passlink user reset-link`.
fn link(server: &Server, email: &str) -> (String, String) {
    let usernum = register(server, email, &md5("Quartz-Harbor-41"));
    let out =
        String::from_utf8(cli(&server.config, &["user", "reset-link", email]).stdout).unwrap();
    let link = out.lines().find(|l| l.contains("/reset/")).unwrap();
    (usernum, path_of(link))
}

#[test]
fn the_page_follows_accept_language_and_the_switch() {
    let server = Server::start();
    let (_, path) = link(&server, "lea@example.org");
    let get = |accept: &str, path: &str| request(server.addr, "GET", path, accept, "").text();
    for (accept, lang, heading) in [
        (
            "fr-CA,fr;q=0.9,en;q=0.5",
            "fr",
            "Choisir un nouveau mot de passe",
        ),
        ("de-AT", "de", "Neues Passwort festlegen"),
        ("en;q=0.2, ja", "ja", "新しいパスワードの設定"),
        ("pt-PT", "pt-BR", "Crie uma nova senha"),
        ("es-MX,es;q=0.8", "es", "Elige una contraseña nueva"),
        ("zh-CN, *;q=0.5", "en", "Set a new password"),
        ("", "en", "Set a new password"),
        (
            "de;q=nonsense, ;;, q=1, en-x-ünï",
            "en",
            "Set a new password",
        ),
    ] {
        let html = get(accept, &path);
        assert_eq!(lang_of(&html), lang, "{accept:?}: {html}");
        assert!(html.contains(heading), "{accept:?}: {html}");
        assert!(html.contains("lea@example.org"), "{html}");
    }
    // The rules under the field, in the language.
    let de = get("de", &path);
    assert!(de.contains("8 bis 128 Zeichen"), "{de}");
    let ja = get("ja", &path);
    assert!(ja.contains("8～128文字"), "{ja}");
    // The expiry in the language's own form, UTC named.
    let fr = get("fr", &path);
    assert!(fr.contains(" h ") && fr.contains(" UTC"), "{fr}");
    let ja = get("ja", &path);
    assert!(ja.contains("日 ") && ja.contains("（UTC）"), "{ja}");
    // The switch: a link per language, the current one marked; a picked language wins over
    // the browser's.
    let html = get("de", &format!("{path}?lang=es"));
    assert_eq!(lang_of(&html), "es");
    for tag in ["en", "de", "fr", "es", "pt-BR", "ja"] {
        assert!(
            html.contains(&format!("?lang={tag}\" lang=\"{tag}\"")),
            "{tag}: {html}"
        );
    }
    assert!(
        html.contains("hreflang=\"es\" aria-current=\"true\">Español</a>"),
        "{html}"
    );
    assert!(html.contains("<nav aria-label=\"Idioma\">"), "{html}");
    // An unknown pick is ignored, not an error.
    assert_eq!(lang_of(&get("de", &format!("{path}?lang=xx"))), "de");
}

#[test]
fn errors_and_the_other_pages_are_in_the_chosen_language_and_the_link_still_works() {
    let server = Server::start();
    let (usernum, path) = link(&server, "max@example.org");
    let page = request(server.addr, "GET", &path, "de", "").text();
    let mismatch = request(
        server.addr,
        "POST",
        &path,
        "de-DE",
        &form_body(&csrf_of(&page), "Kupfer-Wiese-52", "Kupfer-Wiese-53"),
    );
    assert_eq!(mismatch.status, 422);
    let html = mismatch.text();
    assert_eq!(lang_of(&html), "de");
    assert!(
        html.contains("id=\"password2-error\">Die beiden Passwörter stimmen nicht überein.</p>"),
        "{html}"
    );
    // A stale form, in Japanese.
    let stale = request(
        server.addr,
        "POST",
        &path,
        "ja",
        &form_body(&"0".repeat(32), "Kupfer-Wiese-52", "Kupfer-Wiese-52"),
    );
    assert_eq!(stale.status, 403);
    assert!(
        stale.text().contains("このフォームは古くなっています"),
        "{}",
        stale.text()
    );
    // A link that does not exist, in Brazilian Portuguese.
    let gone = request(
        server.addr,
        "GET",
        &format!("/reset/{}", "A".repeat(43)),
        "pt-BR",
        "",
    );
    assert_eq!(gone.status, 410);
    assert!(
        gone.text().contains("Este link não funciona mais"),
        "{}",
        gone.text()
    );
    // After all that, the link works, and says so in Japanese.
    let page = request(server.addr, "GET", &path, "ja", "").text();
    let done = request(
        server.addr,
        "POST",
        &format!("{path}?lang=ja"),
        "",
        &form_body(&csrf_of(&page), "Kupfer-Wiese-52", "Kupfer-Wiese-52"),
    );
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(
        done.text().contains("<strong>max@example.org</strong>"),
        "{}",
        done.text()
    );
    assert!(
        done.text().contains("パスワードを変更しました"),
        "{}",
        done.text()
    );
    assert!(
        done.text()
            .contains("次にウェブログのソフトから求められたときに"),
        "what to do next, in Japanese: {}",
        done.text()
    );
    assert!(capabilities_ok(&server, &usernum, &md5("Kupfer-Wiese-52")));
    server.assert_healthy(Duration::from_secs(2));
}

/// Runs `tests/scripts/chromium_reset.py` on `link` with Chromium in `lang`; returns its JSON.
fn chromium(
    link: &str,
    lang: &str,
    switch_to: &str,
    out_dir: &std::path::Path,
) -> serde_json::Value {
    let out = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/scripts/chromium_reset.py"
        ))
        .arg(link)
        .arg(out_dir)
        .args([
            "--password",
            "Lantern-Quiet-Orchard-29",
            "--mismatch",
            "something-else",
            "--lang",
            lang,
            "--switch-to",
            switch_to,
        ])
        .output()
        .expect("chromium and chromium-driver (.ci/run installs them)");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn chromium_in_every_shipped_language_gets_the_page_in_its_language() {
    let server = Server::start();
    let out_dir =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reset-page-languages");
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&out_dir).unwrap();
    for (n, (lang, switch_to, expect)) in [
        (
            "de",
            "ja",
            [
                "de",
                "Neues Passwort festlegen",
                "Neues Passwort",
                "ja",
                "新しいパスワードの設定",
                "Die beiden Passwörter stimmen nicht überein.",
                "Passwort geändert",
            ],
        ),
        (
            "ja",
            "en",
            [
                "ja",
                "新しいパスワードの設定",
                "新しいパスワード",
                "en",
                "Set a new password",
                "2つのパスワードが一致しません。",
                "パスワードを変更しました",
            ],
        ),
        (
            "fr-CA",
            "es",
            [
                "fr",
                "Choisir un nouveau mot de passe",
                "Nouveau mot de passe",
                "es",
                "Elige una contraseña nueva",
                "Les deux mots de passe ne sont pas identiques.",
                "Mot de passe modifié",
            ],
        ),
        (
            "es-MX",
            "pt-BR",
            [
                "es",
                "Elige una contraseña nueva",
                "Contraseña nueva",
                "pt-BR",
                "Crie uma nova senha",
                "Las dos contraseñas no coinciden.",
                "Contraseña cambiada",
            ],
        ),
        (
            "pt-BR",
            "fr",
            [
                "pt-BR",
                "Crie uma nova senha",
                "Nova senha",
                "fr",
                "Choisir un nouveau mot de passe",
                "As duas senhas não são iguais.",
                "Senha alterada",
            ],
        ),
        (
            "en-GB",
            "de",
            [
                "en",
                "Set a new password",
                "New password",
                "de",
                "Neues Passwort festlegen",
                "The two passwords do not match.",
                "Password changed",
            ],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let (usernum, path) = link(&server, &format!("chromium{n}@example.org"));
        let url = format!("http://{}{path}", server.addr);
        let got = chromium(&url, lang, switch_to, &out_dir);
        let [html_lang, h1, label, switched, switched_h1, mismatch, done] = expect;
        assert_eq!(got["html_lang"], html_lang, "{lang}: {got}");
        assert_eq!(got["h1"], h1, "{lang}: {got}");
        assert_eq!(got["label"], label, "{lang}: {got}");
        assert_eq!(got["switched_lang"], switched, "{lang}: {got}");
        assert_eq!(got["switched_h1"], switched_h1, "{lang}: {got}");
        assert_eq!(got["back_lang"], html_lang, "{lang}: {got}");
        assert_eq!(got["mismatch_error"], mismatch, "{lang}: {got}");
        assert_eq!(got["describedby_ok"], true, "{lang}: {got}");
        assert_eq!(got["done"], done, "{lang}: {got}");
        assert!(capabilities_ok(
            &server,
            &usernum,
            &md5("Lantern-Quiet-Orchard-29")
        ));
        for shot in [
            "1-form.png",
            "1b-switched.png",
            "2-mismatch.png",
            "3-done.png",
        ] {
            let bytes = std::fs::read(out_dir.join(format!("{lang}-{shot}"))).unwrap();
            assert!(bytes.starts_with(b"\x89PNG"), "{lang}-{shot}");
        }
    }
    eprintln!("screenshots in {}", out_dir.display());
}

#[test]
fn a_refused_password_is_explained_in_the_language_with_zxcvbns_advice() {
    let server = Server::start_with("", "[passwords]\nmin_score = 3\n");
    let (_, path) = link(&server, "ida@example.org");
    let refused = |accept: &str, password: &str| {
        let page = request(server.addr, "GET", &path, accept, "").text();
        let reply = request(
            server.addr,
            "POST",
            &path,
            accept,
            &form_body(&csrf_of(&page), password, password),
        );
        assert_eq!(reply.status, 422, "{}", reply.text());
        let html = reply.text();
        let start = html.find("id=\"password-error\">").unwrap() + 20;
        html[start..start + html[start..].find("</p>").unwrap()].to_string()
    };
    assert_eq!(
        refused("de", "password123"),
        "Dieses Passwort ist zu leicht zu erraten (Stärke 0 von 4; nötig ist mindestens 3). \
         Dies ist ein sehr häufiges Passwort. Fügen Sie ein oder zwei Wörter \
         hinzu. Seltene Wörter sind besser."
    );
    let ja = refused("ja", "qwertyuiop1");
    assert!(
        ja.starts_with("このパスワードは推測されやすすぎます（強度 "),
        "{ja}"
    );
    assert!(!ja.is_ascii(), "{ja}");
    // The rules of the login itself, too: too short, in French.
    assert_eq!(
        refused("fr", "court"),
        "Le mot de passe doit compter de 8 à 128 caractères (il en a 5)."
    );
    // English stays English, zxcvbn's own words.
    let en = refused("en", "password123");
    assert!(
        en.starts_with("This password is too easy to guess (strength 0 of 4"),
        "{en}"
    );
}
