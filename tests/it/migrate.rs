//! `passlink import pycs` against a real PostgreSQL export, and `passlink import virtuoso`:
//! users keep their passwords (or get a link), files come back byte for byte at their old
//! URLs, and a second run changes nothing.

use std::path::Path;
use std::process::Command;

use crate::support::postgres::Postgres;
use crate::support::{Server, cli, get};

/// The export command README.md gives (run by the test exactly as written there).
pub(crate) const PYCS_COPY: &str = "\\copy (SELECT usernum, email, password, name, disabled, \
alias, flmanila, membersince, weblogtitle FROM pycs_users ORDER BY usernum) TO 'pycs_users.csv' \
CSV HEADER";

/// `pycs_users` with PyCS's own columns (`src/pycs_db.py`, database version 11).
const PYCS_TABLE: &str = "CREATE TABLE pycs_users (usernum INT PRIMARY KEY, \
email VARCHAR(1024), password CHAR(32), name VARCHAR(1024), weblogTitle VARCHAR(1024), \
serialNumber VARCHAR(1024), organization VARCHAR(1024), flBehindFirewall INT, hitstoday INT, \
hitsyesterday INT, hitsalltime INT, membersince TIMESTAMP, lastping TIMESTAMP, pings INT, \
lastupstream TIMESTAMP, upstreams INT, lastdelete TIMESTAMP, deletes INT, bytesupstreamed INT, \
signons INT, signedon INT, lastsignon TIMESTAMP, lastsignoff TIMESTAMP, clientPort INT, \
disabled INT, alias VARCHAR(256), flManila INT, bytesused INT, stylesheet VARCHAR(2048), \
commentsdisabled INT)";

const MD5_SECRET: &str = "5ebe2294ecd0e0f08eab7690d2a6ee69"; // md5("secret")
const MD5_HUNTER2: &str = "2ab96390c7dbe3439de74d0c9b0b1767"; // md5("hunter2")

/// Calls an XML-RPC method with Python's standard client (the one PyCS's own tools use);
/// returns the result as JSON text, or `FAULT …`.
fn xmlrpc(server: &Server, method: &str, args: &[&str]) -> String {
    let script = r#"
import json, sys, xmlrpc.client
url, method, args = sys.argv[1], sys.argv[2], sys.argv[3:]
proxy = xmlrpc.client.ServerProxy(url)
try:
    print(json.dumps(getattr(proxy, method)(*args), default=str))
except xmlrpc.client.Fault as f:
    print("FAULT", f.faultString)
"#;
    let out = Command::new("python3")
        .args([
            "-c",
            script,
            &format!("http://{}/RPC2", server.addr),
            method,
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn readme_gives_the_pycs_export_command_this_test_runs() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains(PYCS_COPY), "README.md lacks: {PYCS_COPY}");
}

#[test]
fn a_pycs_server_moves_over_from_its_postgresql_export() {
    let pg = Postgres::start();
    pg.psql("pycs", PYCS_TABLE);
    // A good account with an alias, a bad stored password, a disabled account, a duplicate
    // email (another case), a name with accents, and an uppercase MD5.
    pg.psql(
        "pycs",
        &format!(
            "INSERT INTO pycs_users (usernum, email, password, name, weblogTitle, membersince, \
             disabled, alias, flManila) VALUES \
             (1, 'alice@example.com', '{MD5_SECRET}', 'Alice', 'Alice''s log', \
              '2003-04-05 06:07:08.25', 0, 'alice', 0), \
             (2, 'bob@example.com', 'not-an-md5', 'Bob', '', NULL, 0, NULL, 0), \
             (3, 'carol@example.com', '{MD5_SECRET}', 'Carol', '', NULL, 1, '', 0), \
             (4, 'ALICE@example.com', '{MD5_HUNTER2}', 'Alice again', '', NULL, 0, NULL, 0), \
             (5, 'jose@example.com', '{}', 'José Müller', '', NULL, 0, NULL, 0), \
             (12, 'dave@example.com', '{MD5_HUNTER2}', 'Dave', '', NULL, 0, NULL, 0)",
            MD5_HUNTER2.to_uppercase()
        ),
    );
    let scratch = pg.scratch();
    pg.psql_in("pycs", PYCS_COPY, &scratch, &[]);
    let csv = scratch.join("pycs_users.csv");
    let exported = std::fs::read_to_string(&csv).unwrap();
    assert!(
        exported.starts_with(
            "usernum,email,password,name,disabled,alias,flmanila,membersince,weblogtitle\n"
        ),
        "{exported}"
    );

    // PyCS's www folder: munged names, binary files, nested folders, a symlink.
    let old = tempfile::tempdir().unwrap();
    let www = old.path().join("www");
    let binary: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let alice = www.join("users/0000001");
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("index.html", b"<html>Alice</html>".to_vec()),
        ("my@20file.html", b"spaces, munged".to_vec()),
        ("gems/2003/04/05.html", b"<p>nested</p>".to_vec()),
        ("images/logo.gif", binary.clone()),
    ];
    for (path, bytes) in &files {
        write(&alice.join(path), bytes);
    }
    std::os::unix::fs::symlink("/etc/passwd", alice.join("passwd")).unwrap();
    write(&www.join("users/0000012/index.html"), b"Dave");
    write(&www.join("users/0000099/orphan.html"), b"nobody");
    let conf = old.path().join("pycs.conf");
    std::fs::write(
        &conf,
        "[main]\nserverurl = http://old.example/\n[aliases]\n0000012 = dave\n",
    )
    .unwrap();

    let server = Server::start();
    let args = |more: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "import",
            "pycs",
            "--users",
            csv.to_str().unwrap(),
            "--www",
            www.to_str().unwrap(),
            "--conf",
            conf.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(more.iter().map(|s| s.to_string()));
        a
    };
    let run = |more: &[&str]| {
        let a = args(more);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        cli(&server.config, &a)
    };

    // A dry run reports and writes nothing.
    let out = run(&["--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("users would be imported: 5"),
        "{}",
        stdout(&out)
    );
    assert!(
        xmlrpc(
            &server,
            "xmlStorageSystem.getServerCapabilities",
            &["0000001", MD5_SECRET]
        )
        .contains("FAULT")
            || xmlrpc(
                &server,
                "xmlStorageSystem.getServerCapabilities",
                &["0000001", MD5_SECRET]
            )
            .contains("\"flError\": true")
    );

    let out = run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = stdout(&out);
    for expected in [
        "users imported: 5; already there, unchanged: 0; overwritten: 0; skipped: 1",
        "files imported: 5 (",
        "the email is already used on line 2",
        "0000002 bob@example.com: the stored password is not an MD5 hex (10 characters)",
        "passwd: a file of alice@example.com: a symbolic link (not followed)",
        "/alice/ -> /users/0000001/",
        "/dave/ -> /users/0000012/",
        "no user 0000099 imported from",
        "PyCS published its files under http://old.example/users/",
    ] {
        assert!(report.contains(expected), "{expected:?} not in:\n{report}");
    }

    // Each user signs in with the MD5 they had; the folder URL is PyCS's shape.
    let caps = xmlrpc(
        &server,
        "xmlStorageSystem.getServerCapabilities",
        &["0000001", MD5_SECRET],
    );
    assert!(
        caps.contains(&format!(
            "\"yourUpstreamFolderUrl\": \"http://{}/users/0000001/\"",
            server.addr
        )),
        "{caps}"
    );
    let caps = xmlrpc(
        &server,
        "xmlStorageSystem.getServerCapabilities",
        &["0000005", MD5_HUNTER2],
    );
    assert!(
        caps.contains("\"flError\": false"),
        "uppercase MD5 stored lower: {caps}"
    );
    let caps = xmlrpc(
        &server,
        "xmlStorageSystem.getServerCapabilities",
        &["alice@example.com", MD5_HUNTER2],
    );
    assert!(
        !caps.contains("\"flError\": false"),
        "wrong password accepted: {caps}"
    );
    let caps = xmlrpc(
        &server,
        "xmlStorageSystem.getServerCapabilities",
        &["0000003", MD5_SECRET],
    );
    assert!(
        !caps.contains("\"flError\": false"),
        "disabled account signed in: {caps}"
    );
    let shown = stdout(&cli(&server.config, &["user", "show", "0000005"]));
    assert!(shown.contains("José Müller"), "{shown}");

    // Every file at its old URL, byte for byte; the munged name as PyCS published it.
    for (path, bytes) in &files {
        let resp = get(server.addr, &format!("/users/0000001/{path}"));
        assert_eq!(resp.status, 200, "{path}");
        assert_eq!(&resp.body, bytes, "{path}");
    }
    assert_eq!(get(server.addr, "/users/0000001/passwd").status, 404);
    // The alias redirects, keeping the rest of the path.
    let resp = get(server.addr, "/alice/gems/2003/04/05.html");
    assert_eq!(resp.status, 301);
    assert_eq!(
        resp.header("location"),
        Some("/users/0000001/gems/2003/04/05.html")
    );
    assert_eq!(
        get(server.addr, "/dave/").header("location"),
        Some("/users/0000012/")
    );
    assert_eq!(get(server.addr, "/nobody/x").status, 404);
    // New registrations follow the highest imported usernum.
    let reg = xmlrpc(
        &server,
        "xmlStorageSystem.registerUser",
        &["new@example.com", "New", MD5_SECRET, "5335", "x"],
    );
    assert!(reg.contains("\"usernum\": \"0000013\""), "{reg}");

    // Again: nothing changes, and it says so.
    let out = run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = stdout(&out);
    assert!(
        report.contains("users imported: 0; already there, unchanged: 5"),
        "{report}"
    );
    assert!(
        report.contains("files imported: 0 (0 bytes); already there, unchanged: 5"),
        "{report}"
    );
    assert!(report.contains("nothing changed"), "{report}");

    // A file changed in passlink since is reported, not overwritten.
    write(
        &alice.join("index.html"),
        b"<html>Alice, edited on PyCS</html>",
    );
    let out = run(&["--json"]);
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(json["files_imported"], 0);
    assert!(
        json["files_skipped"]
            .to_string()
            .contains("--overwrite replaces it"),
        "{json}"
    );
    assert_eq!(
        get(server.addr, "/users/0000001/index.html").body,
        b"<html>Alice</html>"
    );
    let out = run(&["--overwrite", "--json"]);
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(json["files_imported"], 1, "{json}");
    assert_eq!(
        get(server.addr, "/users/0000001/index.html").body,
        b"<html>Alice, edited on PyCS</html>"
    );

    // The same export written by psql in Latin-1 reads with a warning, and the name is intact.
    pg.psql_in(
        "pycs",
        PYCS_COPY,
        &scratch,
        &[("PGCLIENTENCODING", "LATIN1")],
    );
    let out = run(&["--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(":6: name not UTF-8; read as Latin-1"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("users would be imported: 0; already there, unchanged: 5"),
        "{}",
        stdout(&out)
    );
    server.assert_healthy(std::time::Duration::from_secs(1));
}

#[test]
fn a_broken_export_is_refused_with_every_line_and_nothing_imported() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir_all(www.join("users")).unwrap();
    let csv = dir.path().join("users.csv");
    std::fs::write(
        &csv,
        format!("usernum,email,password,name,disabled\n1,a@example.com,{MD5_SECRET},A,0\n2,b@example.com\n3,c@example.com,{MD5_SECRET},C,0,extra\n\"4,unterminated\n"),
    )
    .unwrap();
    let out = cli(
        &server.config,
        &[
            "import",
            "pycs",
            "--users",
            csv.to_str().unwrap(),
            "--www",
            www.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    let at = |line: usize| format!("{}:{line}: ", csv.display());
    assert!(
        err.contains(&format!("{}2 fields where the header has 5", at(3))),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}6 fields where the header has 5", at(4))),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    std::fs::write(&csv, "usernum,email,name\n1,a@example.com,A\n").unwrap();
    let out = cli(
        &server.config,
        &[
            "import",
            "pycs",
            "--users",
            csv.to_str().unwrap(),
            "--www",
            www.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(":1: no column \"password\", \"disabled\""),
        "{}",
        stderr(&out)
    );
    let out = cli(
        &server.config,
        &[
            "import",
            "pycs",
            "--users",
            csv.to_str().unwrap(),
            "--www",
            "/nonexistent",
        ],
    );
    assert!(
        stderr(&out).contains("--www /nonexistent: no such folder"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        stdout(&cli(&server.config, &["user", "list", "--json"])),
        ""
    );
    server.assert_healthy(std::time::Duration::from_secs(1));
}

/// A Virtuoso export as `packaging/migrate/virtuoso-export` writes it: `users.csv` and
/// `files/<email>/<path>`.
fn virtuoso_export(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let csv = dir.join("users.csv");
    std::fs::write(
        &csv,
        "email,name,password,quota\n\
         ann@example.org,Ann Ånström,\"pa,ss\"\"wörd\",1000000000\n\
         bob@example.org,Bob,hunter2,\n\
         not-an-address,Nobody,x,\n",
    )
    .unwrap();
    let files = dir.join("files");
    let binary: Vec<u8> = (0..=255u8).rev().cycle().take(10_000).collect();
    write(
        &files.join("ann@example.org/index.html"),
        b"<p>Ann's blog</p>",
    );
    write(&files.join("ann@example.org/2004/01/pic.gif"), &binary);
    write(&files.join("bob@example.org/notes.txt"), b"Bob");
    (csv, files, binary)
}

fn usernum_of(server: &Server, email: &str) -> String {
    let out = cli(&server.config, &["user", "show", email, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    json["usernum"].as_str().unwrap().to_string()
}

fn md5(text: &str) -> String {
    passlink::hex::md5_hex(text.as_bytes())
}

#[test]
fn a_virtuoso_export_moves_over_and_old_dav_urls_redirect() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let (csv, files, binary) = virtuoso_export(dir.path());
    let import = |more: &[&str]| {
        let mut a = vec![
            "import",
            "virtuoso",
            "--users",
            csv.to_str().unwrap(),
            "--files",
            files.to_str().unwrap(),
        ];
        a.extend_from_slice(more);
        cli(&server.config, &a)
    };
    let out = import(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = stdout(&out);
    for expected in [
        "users imported: 2; already there, unchanged: 0; overwritten: 0; skipped: 1",
        "not-an-address: email \"not-an-address\" is not an address",
        "files imported: 3 (",
        "/DAV/ann@example.org/blog/ -> /users/",
        "had a quota of 1000000000 bytes on the old server",
    ] {
        assert!(report.contains(expected), "{expected:?} not in:\n{report}");
    }
    assert!(
        !report.contains("wörd"),
        "the report shows a password: {report}"
    );

    // Virtuoso clients sign in with the email and md5(password), over XML-RPC and SOAP.
    let ann = usernum_of(&server, "ann@example.org");
    let caps = xmlrpc(
        &server,
        "xmlStorageSystem.getServerCapabilities",
        // What a Virtuoso client sent: the MD5 of the ISO-8859-1 bytes.
        &[
            "ann@example.org",
            &passlink::hex::md5_hex(b"pa,ss\"w\xf6rd"),
        ],
    );
    assert!(caps.contains("\"flError\": false"), "{caps}");
    let caps = xmlrpc(
        &server,
        "xmlStorageSystem.getServerCapabilities",
        &[&ann, &md5("wrong")],
    );
    assert!(!caps.contains("\"flError\": false"), "{caps}");
    let soap = crate::xss::post(
        &server,
        "/xmlStorageSystem",
        &format!(
            "<?xml version=\"1.0\"?><SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\">\
             <SOAP-ENV:Body><getServerCapabilities><email>bob@example.org</email>\
             <password>{}</password></getServerCapabilities></SOAP-ENV:Body></SOAP-ENV:Envelope>",
            md5("hunter2")
        ),
    );
    assert!(soap.text().contains("<flError"), "{}", soap.text());
    assert!(!soap.text().contains("Fault"), "{}", soap.text());

    // The plain-text password is nowhere in passlink's database.
    let db = std::fs::read(server.dir.path().join("data/passlink.sqlite3")).unwrap();
    for secret in ["pa,ss\"wörd", "hunter2"] {
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is in the database"
        );
    }

    // Files at the new URL, and the old /DAV/ URLs (with @ raw or %40) redirect there.
    let resp = get(server.addr, &format!("/users/{ann}/2004/01/pic.gif"));
    assert_eq!(resp.body, binary);
    for old in [
        "/DAV/ann@example.org/blog/2004/01/pic.gif",
        "/DAV/ann%40example.org/blog/2004/01/pic.gif",
    ] {
        let resp = get(server.addr, old);
        assert_eq!(resp.status, 301, "{old}");
        assert_eq!(
            resp.header("location"),
            Some(format!("/users/{ann}/2004/01/pic.gif").as_str())
        );
    }
    // Only imported users' folders redirect.
    assert_eq!(
        get(server.addr, "/DAV/other@example.org/blog/x").status,
        404
    );

    // Again: nothing changes.
    let out = import(&[]);
    assert!(stdout(&out).contains("nothing changed"), "{}", stdout(&out));
    // A passlink account that no import made is not taken over.
    let fresh = tempfile::tempdir().unwrap();
    std::fs::write(
        fresh.path().join("users.csv"),
        "email,name,password,quota\nnew@example.org,New,pw,\n",
    )
    .unwrap();
    crate::xss::register(&server, "new@example.org", &md5("theirs"));
    let out = cli(
        &server.config,
        &[
            "import",
            "virtuoso",
            "--users",
            fresh.path().join("users.csv").to_str().unwrap(),
            "--files",
            fresh.path().to_str().unwrap(),
        ],
    );
    assert!(
        stdout(&out).contains("already has an account in passlink"),
        "{}",
        stdout(&out)
    );
    let caps = xmlrpc(
        &server,
        "xmlStorageSystem.getServerCapabilities",
        &["new@example.org", &md5("theirs")],
    );
    assert!(caps.contains("\"flError\": false"), "{caps}");
    server.assert_healthy(std::time::Duration::from_secs(1));
}

#[test]
fn force_reset_mails_each_user_a_link_and_the_old_password_fails() {
    use crate::reset::{Smtp, csrf_of, form_body, http, link_in, path_of, smtp_config};
    let smtp = Smtp::start_on(0, false);
    let server = Server::start_with("", &smtp_config(smtp.port, false));
    let dir = tempfile::tempdir().unwrap();
    let (csv, files, _) = virtuoso_export(dir.path());
    let out = cli(
        &server.config,
        &[
            "import",
            "virtuoso",
            "--users",
            csv.to_str().unwrap(),
            "--files",
            files.to_str().unwrap(),
            "--force-reset",
            "--link-ttl",
            "2d",
            "--mails-per-minute",
            "600",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("reset mails queued: 2"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("--force-reset: mailed a link"),
        "{}",
        stdout(&out)
    );
    let caps = xmlrpc(
        &server,
        "xmlStorageSystem.getServerCapabilities",
        &["bob@example.org", &md5("hunter2")],
    );
    assert!(
        !caps.contains("\"flError\": false"),
        "the old password still works: {caps}"
    );

    let start = std::time::Instant::now();
    while smtp.mails().len() < 2 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "{} mails",
            smtp.mails().len()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mails = smtp.mails();
    let bob = mails
        .iter()
        .find(|m| m.contains("bob@example.org"))
        .unwrap();
    assert!(bob.contains("has moved"), "{bob}");
    let path = path_of(&link_in(bob));
    let page = http(server.addr, "GET", &path, "");
    assert_eq!(page.status, 200, "{}", page.text());
    let done = http(
        server.addr,
        "POST",
        &path,
        &form_body(&csrf_of(&page.text()), "a-new-secret-9", "a-new-secret-9"),
    );
    assert_eq!(done.status, 200, "{}", done.text());
    let caps = xmlrpc(
        &server,
        "xmlStorageSystem.getServerCapabilities",
        &["bob@example.org", &md5("a-new-secret-9")],
    );
    assert!(caps.contains("\"flError\": false"), "{caps}");
    // A second run mails nobody again.
    let out = cli(
        &server.config,
        &[
            "import",
            "virtuoso",
            "--users",
            csv.to_str().unwrap(),
            "--files",
            files.to_str().unwrap(),
            "--force-reset",
        ],
    );
    assert!(
        stdout(&out).contains("reset mails queued: 0"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_import_killed_midway_is_finished_by_the_next_run_and_over_quota_users_are_listed() {
    // A small quota, so that one user is over it once imported.
    let server = Server::start_with("", "[xmlstorage]\nmax_bytes_per_user = 60000\n");
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    let mut csv = String::from("usernum,email,password,name,disabled\n");
    let (users, files_each) = (40u32, 25u32);
    for n in 1..=users {
        csv.push_str(&format!(
            "{n},u{n}@example.com,{},User {n},0\n",
            md5(&format!("pw{n}"))
        ));
        for f in 0..files_each {
            let size = if n == 7 { 4000 } else { 100 };
            write(
                &www.join(format!("users/{n:07}/f/{f}.html")),
                &vec![b'a' + (f % 26) as u8; size],
            );
        }
    }
    let csv_path = dir.path().join("users.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let args = [
        "import",
        "pycs",
        "--users",
        csv_path.to_str().unwrap(),
        "--www",
        www.to_str().unwrap(),
        "--json",
        "--jobs",
        "1",
    ];
    // Killed with SIGKILL a moment in: wherever that lands, nothing half-written stays.
    let mut child = crate::support::passlink()
        .arg("--config")
        .arg(&server.config)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    child.kill().unwrap();
    child.wait().unwrap();

    let out = cli(&server.config, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let (imported, unchanged) = (
        json["users_imported"].as_u64().unwrap(),
        json["users_unchanged"].as_u64().unwrap(),
    );
    assert_eq!(imported + unchanged, u64::from(users), "{json}");
    assert_eq!(
        json["files_imported"].as_u64().unwrap() + json["files_unchanged"].as_u64().unwrap(),
        u64::from(users * files_each),
        "{json}"
    );
    let over = json["over_quota"]["items"].as_array().unwrap();
    assert_eq!(over.len(), 1, "{json}");
    assert_eq!(over[0]["usernum"], "0000007");
    assert_eq!(over[0]["bytes"], 100_000);
    // Every file is whole, and every user signs in.
    for n in [1u32, 7, users] {
        let caps = xmlrpc(
            &server,
            "xmlStorageSystem.getServerCapabilities",
            &[&format!("{n:07}"), &md5(&format!("pw{n}"))],
        );
        assert!(caps.contains("\"flError\": false"), "{caps}");
        let resp = get(server.addr, &format!("/users/{n:07}/f/24.html"));
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body.len(), if n == 7 { 4000 } else { 100 });
    }
    let out = cli(&server.config, &args);
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(json["users_unchanged"], u64::from(users), "{json}");
    assert_eq!(json["files_imported"], 0, "{json}");
}

#[test]
fn a_real_virtuoso_exports_with_the_shipped_script_and_imports() {
    use crate::reset::{Smtp, csrf_of, form_body, http, link_in, path_of, smtp_config};
    use crate::support::virtuoso::Virtuoso;
    let v = Virtuoso::start();
    // Accounts and files go in through Virtuoso's own SOAP endpoint, with SOAP::Lite.
    let ann_pw = "pa,ss\"wörd";
    v.register("ann@example.org", "Ann Ånström", ann_pw);
    v.register("bob@example.org", "Bob", "hunter2");
    let binary: Vec<u8> = (0..=255u8).rev().cycle().take(10_000).collect();
    let ann_files: Vec<(&str, &[u8])> = vec![
        ("index.html", b"<p>Ann's weblog</p>"),
        ("2004/01/pic.gif", &binary),
        ("café.html", "<p>Café</p>".as_bytes()),
    ];
    v.save_all("ann@example.org", ann_pw, &ann_files);
    v.save("bob@example.org", "hunter2", "notes.txt", b"Bob's notes");
    let export = tempfile::tempdir().unwrap();
    let out = export.path().join("export");
    v.export(&out);
    let users = out.join("users.csv");
    let files = out.join("files");

    let server = Server::start();
    let import = cli(
        &server.config,
        &[
            "import",
            "virtuoso",
            "--users",
            users.to_str().unwrap(),
            "--files",
            files.to_str().unwrap(),
        ],
    );
    assert!(import.status.success(), "{}", stderr(&import));
    let report = stdout(&import);
    assert!(report.contains("users imported: 2;"), "{report}");
    assert!(report.contains("files imported: 4 ("), "{report}");
    assert!(!report.contains("hunter2"), "{report}");

    // Logged in to passlink with what a Virtuoso client sends: md5 of the ISO-8859-1 bytes,
    // over XML-RPC and over SOAP.
    let ann_md5 = passlink::hex::md5_hex(b"pa,ss\"w\xf6rd");
    let caps = xmlrpc(
        &server,
        "xmlStorageSystem.getServerCapabilities",
        &["ann@example.org", &ann_md5],
    );
    assert!(caps.contains("\"flError\": false"), "{caps}");
    let soap = crate::xss::post(
        &server,
        "/xmlStorageSystem",
        &format!(
            "<?xml version=\"1.0\"?><SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\">\
             <SOAP-ENV:Body><getServerCapabilities><email>bob@example.org</email>\
             <password>{}</password></getServerCapabilities></SOAP-ENV:Body></SOAP-ENV:Envelope>",
            md5("hunter2")
        ),
    );
    assert!(
        soap.text().contains("<flError") && !soap.text().contains("Fault"),
        "{}",
        soap.text()
    );

    // Every file, fetched from Virtuoso and from passlink through the old URL's redirect.
    let ann = usernum_of(&server, "ann@example.org");
    for (path, bytes) in ann_files
        .iter()
        .chain([("notes.txt", &b"Bob's notes"[..])].iter())
    {
        let owner = if *path == "notes.txt" { "bob" } else { "ann" };
        // Virtuoso's own spelling of the URL: each ISO-8859-1 byte of the path escaped.
        let old: String = path
            .chars()
            .map(|c| {
                if c.is_ascii() {
                    c.to_string()
                } else {
                    format!("%{:02X}", u32::from(c))
                }
            })
            .collect();
        let old = format!("/DAV/{owner}%40example.org/blog/{old}");
        let (status, theirs) = v.fetch(&old);
        assert_eq!((status, theirs.as_slice()), (200, *bytes), "Virtuoso {old}");
        let moved = get(server.addr, &old);
        assert_eq!(moved.status, 301, "{old}");
        let location = moved.header("location").unwrap().to_string();
        let ours = get(server.addr, &location);
        assert_eq!(
            (ours.status, ours.body.as_slice()),
            (200, *bytes),
            "passlink {location}"
        );
    }
    assert!(get(server.addr, &format!("/users/{ann}/caf%C3%A9.html")).status == 200);

    // --force-reset into a second passlink: the old password fails, one mail per user, and
    // the link sets a new one.
    let smtp = Smtp::start_on(0, false);
    let fresh = Server::start_with("", &smtp_config(smtp.port, false));
    let import = cli(
        &fresh.config,
        &[
            "import",
            "virtuoso",
            "--users",
            users.to_str().unwrap(),
            "--files",
            files.to_str().unwrap(),
            "--force-reset",
            "--mails-per-minute",
            "600",
        ],
    );
    assert!(import.status.success(), "{}", stderr(&import));
    let caps = xmlrpc(
        &fresh,
        "xmlStorageSystem.getServerCapabilities",
        &["ann@example.org", &ann_md5],
    );
    assert!(!caps.contains("\"flError\": false"), "{caps}");
    let start = std::time::Instant::now();
    while smtp.mails().len() < 2 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "{} mails",
            smtp.mails().len()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2, "one mail per user");
    for (email, password) in [
        ("ann@example.org", "new-pass-ann-1"),
        ("bob@example.org", "new-pass-bob-1"),
    ] {
        let mail = mails.iter().find(|m| m.contains(email)).unwrap();
        let path = path_of(&link_in(mail));
        let page = http(fresh.addr, "GET", &path, "");
        assert_eq!(page.status, 200);
        let done = http(
            fresh.addr,
            "POST",
            &path,
            &form_body(&csrf_of(&page.text()), password, password),
        );
        assert_eq!(done.status, 200, "{}", done.text());
        let caps = xmlrpc(
            &fresh,
            "xmlStorageSystem.getServerCapabilities",
            &[email, &md5(password)],
        );
        assert!(caps.contains("\"flError\": false"), "{caps}");
    }
}

#[test]
fn a_database_that_fills_up_stops_the_import_with_a_report_not_a_hang() {
    let server = Server::start_with("", "[storage]\nmax_db_bytes = 600000\n");
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    let mut csv = String::from("usernum,email,password,name,disabled\n");
    for n in 1..=60u32 {
        csv.push_str(&format!("{n},u{n}@example.com,{},U{n},0\n", md5("x")));
        write(
            &www.join(format!("users/{n:07}/big.bin")),
            &vec![n as u8; 50_000],
        );
    }
    let csv_path = dir.path().join("users.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let mut child = crate::support::passlink()
        .arg("--config")
        .arg(&server.config)
        .args([
            "import",
            "pycs",
            "--users",
            csv_path.to_str().unwrap(),
            "--www",
            www.to_str().unwrap(),
            "--jobs",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > std::time::Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the import hung after the database filled up");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let out = child.wait_with_output().unwrap();
    assert!(!status.success());
    let (report, err) = (stdout(&out), stderr(&out));
    assert!(
        report.contains("users imported: "),
        "the report of what was done: {report}"
    );
    assert!(
        err.contains("max_db_bytes") || err.contains("full"),
        "{err}"
    );
    assert!(err.contains("running it again carries on"), "{err}");
    // The server still answers, and what was imported works.
    server.assert_healthy(std::time::Duration::from_secs(1));
    let caps = xmlrpc(
        &server,
        "xmlStorageSystem.getServerCapabilities",
        &["0000001", &md5("x")],
    );
    assert!(caps.contains("\"flError\": false"), "{caps}");
}
