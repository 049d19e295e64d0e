//! `passlink db …` and `version` against real database files.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::support::{Server, cli, passlink, write_config};

#[test]
fn version_names_schema_and_sqlite() {
    let out = passlink().arg("version").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.starts_with("passlink "), "{text}");
    assert!(text.contains("schema version"), "{text}");
    assert!(text.contains("SQLite 3."), "{text}");
}

#[test]
fn migrate_then_check() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "", "");
    let out = cli(&config, &["db", "check"]);
    assert!(!out.status.success(), "check never creates a database");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database at"));

    let out = cli(&config, &["db", "migrate"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("migrated schema version 0 -> "));
    let out = cli(&config, &["db", "migrate"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("already at schema version"));
    let out = cli(&config, &["db", "check"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .trim_end()
            .ends_with(": ok")
    );
}

#[test]
fn check_reports_a_damaged_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "", "");
    assert!(cli(&config, &["db", "migrate"]).status.success());
    let db = dir.path().join("data/passlink.sqlite3");
    // Fill some pages, then overwrite the middle of the file.
    let conn = passlink::db::open_existing(&db, Duration::from_secs(1)).unwrap();
    conn.execute_batch(
        "CREATE TABLE filler(x BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 2000) INSERT INTO filler SELECT randomblob(200) FROM n; PRAGMA wal_checkpoint(TRUNCATE);",
    )
    .unwrap();
    drop(conn);
    let mut bytes = std::fs::read(&db).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 8192] {
        *b = 0x5a;
    }
    std::fs::write(&db, bytes).unwrap();
    let out = cli(&config, &["db", "check"]);
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn backup_during_writes_while_serving_is_consistent() {
    let server = Server::start();
    let db = server.dir.path().join("data/passlink.sqlite3");
    let writer_conn = passlink::db::open_existing(&db, Duration::from_secs(5)).unwrap();
    writer_conn
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS scratch(n INTEGER PRIMARY KEY, payload BLOB NOT NULL)",
        )
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let stop = stop.clone();
        let written = written.clone();
        std::thread::spawn(move || {
            let mut conn = writer_conn;
            while !stop.load(Ordering::SeqCst) {
                passlink::db::write(&mut conn, |tx| {
                    tx.execute("INSERT INTO scratch(payload) VALUES (randomblob(512))", [])
                })
                .unwrap();
                written.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    for i in 0..3 {
        let before = written.load(Ordering::SeqCst);
        let dest = server.dir.path().join(format!("backup-{i}.sqlite3"));
        let out = passlink()
            .args(["db", "backup"])
            .arg(&dest)
            .arg("--config")
            .arg(&server.config)
            .output()
            .unwrap();
        let after = written.load(Ordering::SeqCst);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let copy = passlink::db::open_existing(&dest, Duration::from_secs(5)).unwrap();
        assert!(passlink::db::integrity_problems(&copy).unwrap().is_empty());
        let rows: i64 = copy
            .query_row("SELECT count(*) FROM scratch", [], |r| r.get(0))
            .unwrap();
        let rows = rows as u64;
        assert!(
            rows >= before && rows <= after,
            "backup holds {rows} rows, writes were at {before}..{after}"
        );
        server.assert_healthy(Duration::from_secs(1));
    }
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    assert!(
        written.load(Ordering::SeqCst) > 10,
        "the writer made progress"
    );
}

#[test]
fn a_database_from_schema_version_1_is_migrated_forward() {
    // Written by the first release's `passlink db migrate` (schema version 1).
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/db/passlink-schema-v1.sqlite3"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "", "");
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let db = dir.path().join("data/passlink.sqlite3");
    std::fs::copy(fixture, &db).unwrap();
    let before: String = {
        let conn = passlink::db::open_existing(&db, Duration::from_secs(1)).unwrap();
        assert_eq!(passlink::db::schema_version(&conn).unwrap(), 1);
        conn.query_row("SELECT value FROM meta WHERE key = 'created_at'", [], |r| {
            r.get(0)
        })
        .unwrap()
    };
    let out = cli(&config, &["db", "migrate"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let latest = passlink::db::latest_version();
    assert!(
        stdout.contains(&format!("migrated schema version 1 -> {latest}")),
        "{stdout}"
    );
    let conn = passlink::db::open_existing(&db, Duration::from_secs(1)).unwrap();
    assert_eq!(passlink::db::schema_version(&conn).unwrap(), latest);
    let after: String = conn
        .query_row("SELECT value FROM meta WHERE key = 'created_at'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(before, after, "existing data survives the migration");
    let users: i64 = conn
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(users, 0, "the new tables exist");
    assert!(passlink::db::integrity_problems(&conn).unwrap().is_empty());
    // And the server starts on it.
    drop(conn);
    let mut cmd = passlink();
    cmd.args(["serve", "--config"]).arg(&config);
    let (mut child, addr, _log) = crate::support::spawn_and_wait(cmd, dir.path());
    assert_eq!(crate::support::get(addr, "/healthz").status, 200);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn reseller_keys_are_shown_once_and_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "", "");
    let out = cli(
        &config,
        &[
            "reseller",
            "add",
            "resellerx",
            "--allow-ip",
            "127.0.0.0/8",
            "--allow-ip",
            "::1",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("private key (shown only now): "))
        .unwrap()
        .to_string();
    assert!(key.len() >= 32, "{key}");
    let listed = String::from_utf8_lossy(&cli(&config, &["reseller", "list"]).stdout).into_owned();
    assert!(
        listed.contains("resellerx") && listed.contains("127.0.0.0/8 ::1/128"),
        "{listed}"
    );
    assert!(!listed.contains(&key), "list never shows keys");
    assert!(
        !cli(&config, &["reseller", "add", "resellerx"])
            .status
            .success()
    );
    assert!(
        !cli(&config, &["reseller", "add", "bad name"])
            .status
            .success()
    );
    assert!(
        !cli(
            &config,
            &["reseller", "add", "r2", "--allow-ip", "300.1.1.1"]
        )
        .status
        .success()
    );

    let rotated =
        String::from_utf8_lossy(&cli(&config, &["reseller", "rotate-key", "resellerx"]).stdout)
            .into_owned();
    assert!(
        rotated.contains("new private key") && !rotated.contains(&key),
        "{rotated}"
    );
    assert!(
        cli(&config, &["reseller", "remove", "resellerx"])
            .status
            .success()
    );
    assert!(
        !cli(&config, &["reseller", "remove", "resellerx"])
            .status
            .success()
    );
}

#[test]
fn domains_are_added_listed_imported_all_or_nothing_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "", "");
    assert!(
        cli(&config, &["reseller", "add", "resellerx"])
            .status
            .success()
    );
    let out = cli(
        &config,
        &[
            "domain",
            "add",
            "Example.INFO",
            "--reseller",
            "resellerx",
            "--profile",
            "owner1",
            "--owner-email",
            "owner@example.info",
            "--admin-email",
            "admin@example.info",
            "--owner-first-name",
            "Olive",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("password (shown only now): "), "{text}");
    // A password from standard input must meet the OpenSRS rules.
    let mut child = passlink()
        .args([
            "domain",
            "add",
            "second.example",
            "--reseller",
            "resellerx",
            "--profile",
            "owner2",
            "--owner-email",
            "o@second.example",
            "--admin-email",
            "a@second.example",
            "--password-stdin",
            "--config",
        ])
        .arg(&config)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let failed = child.wait_with_output().unwrap();
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("10 to 20 characters"));

    let show = String::from_utf8_lossy(&cli(&config, &["domain", "show", "example.info"]).stdout)
        .into_owned();
    assert!(
        show.contains("profile:  owner1") && show.contains("Olive"),
        "{show}"
    );
    assert!(
        show.contains("billing") && show.contains("admin@example.info"),
        "{show}"
    );

    let csv = dir.path().join("domains.csv");
    std::fs::write(
        &csv,
        "domain,reseller,profile,owner_email,admin_email,password\n\
         a.example,resellerx,bulk,o@a.example,a@a.example,Bulk-password1\n\
         b.example,resellerx,bulk,o@b.example,a@b.example,\n\
         bad_domain,resellerx,bulk,o@c.example,a@c.example,\n",
    )
    .unwrap();
    let out = cli(&config, &["domain", "import", csv.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success());
    assert!(
        err.contains("domains.csv:4:"),
        "the bad row is named by line: {err}"
    );
    let listed = String::from_utf8_lossy(&cli(&config, &["domain", "list"]).stdout).into_owned();
    assert!(
        !listed.contains("a.example"),
        "nothing was imported: {listed}"
    );

    std::fs::write(
        &csv,
        "domain,reseller,profile,owner_email,admin_email,password\n\
         a.example,resellerx,bulk,o@a.example,a@a.example,Bulk-password1\n\
         \"b.example\",resellerx,bulk,o@b.example,a@b.example,short\n",
    )
    .unwrap();
    let out = cli(&config, &["domain", "import", csv.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // b.example joins the profile a.example created, so its (too short) password is unused
    // and no error; no password was generated either.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("imported 2 domain(s)"), "{stdout}");
    assert!(!stdout.contains("shown only now"), "{stdout}");
    let listed = String::from_utf8_lossy(&cli(&config, &["domain", "list"]).stdout).into_owned();
    assert!(
        listed.contains("a.example") && listed.contains("b.example"),
        "{listed}"
    );

    assert!(
        cli(&config, &["domain", "remove", "a.example"])
            .status
            .success()
    );
    assert!(
        !cli(&config, &["domain", "show", "a.example"])
            .status
            .success()
    );
}

/// `db check` on `file` placed as the database: it must fail and say `why`.
fn check_refuses(file: impl FnOnce(&std::path::Path), why: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "", "");
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let db = dir.path().join("data/passlink.sqlite3");
    file(&db);
    let before = std::fs::read(&db).unwrap();
    let out = cli(&config, &["db", "check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for reason in why {
        assert!(stderr.contains(reason), "{reason:?} in {stderr}");
    }
    assert!(!String::from_utf8_lossy(&out.stdout).contains(": ok"));
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "checking changes nothing"
    );
}

#[test]
fn check_refuses_empty_and_foreign_files_saying_why() {
    check_refuses(
        |db| std::fs::write(db, b"").unwrap(),
        &[
            "not a usable passlink database",
            "the file is empty (0 bytes)",
        ],
    );
    // A database SQLite made but nothing was ever put in.
    check_refuses(
        |db| {
            rusqlite::Connection::open(db)
                .unwrap()
                .execute_batch("PRAGMA journal_mode = WAL; VACUUM;")
                .unwrap()
        },
        &[
            "schema version 0",
            "missing 17 of passlink's tables: meta, users, files",
        ],
    );
    check_refuses(
        |db| {
            rusqlite::Connection::open(db)
                .unwrap()
                .execute_batch("CREATE TABLE songs (title TEXT); INSERT INTO songs VALUES ('x');")
                .unwrap()
        },
        &["schema version 0", "outbox"],
    );
    // Passlink's version number without its tables.
    check_refuses(
        |db| {
            rusqlite::Connection::open(db)
                .unwrap()
                .execute_batch("CREATE TABLE meta (k); PRAGMA user_version = 6;")
                .unwrap()
        },
        &["missing 13 of passlink's tables: users, files"],
    );
    check_refuses(
        |db| {
            rusqlite::Connection::open(db)
                .unwrap()
                .execute_batch("PRAGMA user_version = 999; CREATE TABLE t (x);")
                .unwrap()
        },
        &["schema version 999 is newer than this passlink knows"],
    );
    check_refuses(
        |db| std::fs::write(db, "not a database, just text").unwrap(),
        &["not an SQLite database"],
    );
}

#[test]
fn commands_leave_the_database_file_complete_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "", "");
    assert!(cli(&config, &["reseller", "add", "alone"]).status.success());
    assert!(cli(&config, &["user", "list"]).status.success());
    let db = dir.path().join("data/passlink.sqlite3");
    assert!(
        std::fs::metadata(dir.path().join("data/passlink.sqlite3-wal"))
            .map_or(true, |m| m.len() == 0),
        "-wal left with content"
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("copy.sqlite3");
    std::fs::copy(&db, &copy).unwrap();
    let n: i64 = rusqlite::Connection::open(&copy)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM resellers WHERE username = 'alone'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
}
