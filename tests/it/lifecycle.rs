//! Starting on embedded defaults and stopping gracefully: a stop leaves `passlink.sqlite3`
//! complete on its own, one server per data directory, and a private mail spool.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{Server, parse_response, passlink, read_to_close, spawn_and_wait};
use crate::xcp::{OWNER_PASSWORD, Xcp};
use crate::xss::{MD5_ASDF, post, register, xmlrpc_call};

#[test]
fn serve_on_embedded_defaults_answers_healthz_within_5s() {
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let mut cmd = passlink();
    cmd.arg("serve");
    let (mut child, addr, log) = spawn_and_wait(cmd, dir.path());
    let resp = crate::support::get(addr, "/healthz");
    let elapsed = start.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(addr.to_string(), "127.0.0.1:5445");
    assert_eq!(resp.status, 200);
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    let log = log.lock().unwrap().join("\n");
    let data = dir.path().canonicalize().unwrap().join("passlink-data");
    assert!(
        log.contains(&format!("data in {}", data.display())),
        "start line names the data path:\n{log}"
    );
    assert!(data.join("passlink.sqlite3").is_file());
}

#[test]
fn sigterm_lets_an_in_flight_request_finish_then_exits_0() {
    let mut server = crate::support::Server::start();
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(300));
    // No new connections once stopping...
    assert!(
        TcpStream::connect(server.addr).is_err(),
        "still accepting after SIGTERM"
    );
    // ...but the request already in flight is completed.
    slow.write_all(b"\r\n").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let bytes = read_to_close(&mut slow, Duration::from_secs(5));
    let (resp, _) = parse_response(&bytes).expect("the in-flight request is answered");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("Connection"), Some("close"));
    let status = server.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "log:\n{}", server.log());
    assert!(server.log().contains("passlink stopped"));
}

#[test]
fn sigint_with_idle_keepalive_connections_exits_promptly() {
    let mut server = crate::support::Server::start();
    let mut idle = TcpStream::connect(server.addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    server.signal("INT");
    let status = server.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "an idle keep-alive connection must not hold up shutdown"
    );
}

#[test]
fn tells_systemd_when_ready_reloading_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let systemd = UnixDatagram::bind(&socket_path).unwrap();
    systemd
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let config = crate::support::write_config(dir.path(), "", "");
    let mut cmd = passlink();
    cmd.arg("serve")
        .arg("--config")
        .arg(&config)
        .env("NOTIFY_SOCKET", &socket_path);
    let (mut child, addr, _log) = spawn_and_wait(cmd, dir.path());
    let mut buf = [0u8; 512];
    let n = systemd.recv(&mut buf).unwrap();
    let ready = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(ready.starts_with("READY=1\n"), "{ready}");
    assert!(
        ready.contains(&format!("MAINPID={}", child.id())),
        "{ready}"
    );
    // Ready means ready: the listener answers.
    assert_eq!(crate::support::get(addr, "/healthz").status, 200);
    let kill = |signal: &str| {
        std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap()
    };
    kill("HUP");
    let n = systemd.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"READY=1");
    kill("TERM");
    let n = systemd.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"STOPPING=1");
    assert!(child.wait().unwrap().success());
}

/// Rows per table of passlink's schema, read from the database at `db`.
fn row_counts(db: &Path) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    passlink::db::check::tables_at(passlink::db::latest_version())
        .unwrap()
        .into_iter()
        .map(|table| {
            let n = conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap();
            (table, n)
        })
        .collect()
}

fn run_ok(args: &[&str], config: &Path) -> String {
    let out = passlink()
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "passlink {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn after_sigterm_the_database_file_alone_is_a_complete_copy() {
    let mut x = Xcp::start();
    // Rows in every kind of table: users and files, resellers and domains (the command line),
    // reset tokens and the outbox (group commit), cookies, notifications, weblog pings.
    let usernum = register(&x.server, "stop@example.org", MD5_ASDF);
    let save = xmlrpc_call(
        "xmlStorageSystem.saveMultipleFiles",
        &[
            &usernum,
            MD5_ASDF,
            "<array><data><value>a.txt</value></data></array>",
            "<array><data><value>kept</value></data></array>",
        ],
    );
    assert!(
        post(&x.server, "/RPC2", &save)
            .text()
            .contains("<boolean>0</boolean>")
    );
    let sent = x.call(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "example.info")],
    );
    assert_eq!(sent.code(), ("1".into(), "200".into()));
    let login = [
        ("reg_username", "resellerx"),
        ("reg_password", OWNER_PASSWORD),
        ("domain", "example.info"),
    ];
    assert_eq!(
        x.call("set", "cookie", &[], &login).code(),
        ("1".into(), "200".into())
    );
    let ping = xmlrpc_call("weblogUpdates.ping", &["Stop", "http://example.org/"]);
    assert_eq!(post(&x.server, "/RPC2", &ping).status, 200);
    // A live, consistent copy to compare with.
    let live = x.server.dir.path().join("live.sqlite3");
    run_ok(&["db", "backup", live.to_str().unwrap()], &x.server.config);

    x.server.signal("TERM");
    assert_eq!(x.server.wait_exit(Duration::from_secs(15)).code(), Some(0));
    let log = x.server.log();
    assert!(log.contains("database checkpointed"), "{log}");
    let data = x.server.dir.path().join("data");
    let wal = data.join("passlink.sqlite3-wal");
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "-wal left with content after a clean stop"
    );
    // The cold backup the README describes: the one file, copied elsewhere.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir(elsewhere.path().join("data")).unwrap();
    let copy = elsewhere.path().join("data/passlink.sqlite3");
    std::fs::copy(data.join("passlink.sqlite3"), &copy).unwrap();
    let config = crate::support::write_config(elsewhere.path(), "", "");
    assert!(
        run_ok(&["db", "check"], &config)
            .trim_end()
            .ends_with(": ok")
    );
    let counts = row_counts(&copy);
    assert_eq!(counts, row_counts(&live));
    assert!(
        counts.iter().all(|(t, n)| *n > 0
            || t == "notifications"
            || t == "reset_requests"
            || t == "subusers"
            // Written only by `passlink import` (tests/it/migrate.rs).
            || t == "redirects"
            // Written only by `passlink reseller brand` (tests/it/languages.rs).
            || t == "reseller_templates"),
        "rows in every table the test wrote to: {counts:?}"
    );
}

#[test]
fn a_second_serve_on_the_same_data_directory_is_refused_and_names_the_holder() {
    let mut server = Server::start();
    let usernum = register(&server, "first@example.org", MD5_ASDF);
    let mut second = passlink()
        .args(["serve", "--config"])
        .arg(&server.config)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = second.kill();
            panic!("the second serve is still running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    let data_dir = server.dir.path().join("data").canonicalize().unwrap();
    assert!(
        stderr.contains(&format!(
            "another passlink serve (PID {}) is running on data directory {}",
            server.pid(),
            data_dir.display()
        )),
        "{stderr}"
    );
    // It stopped before touching anything: no migration, no outbox recovery, no listener.
    assert!(
        !stderr.contains("migrated") && !stderr.contains("listening"),
        "{stderr}"
    );

    // The first one goes on, and so do the commands beside it.
    server.assert_healthy(Duration::from_secs(2));
    assert!(run_ok(&["user", "list"], &server.config).contains("first@example.org"));
    run_ok(&["outbox", "list"], &server.config);
    let copy = server.dir.path().join("copy.sqlite3");
    run_ok(&["db", "backup", copy.to_str().unwrap()], &server.config);
    assert!(run_ok(&["db", "check"], &server.config).contains(": ok"));
    assert!(crate::xss::capabilities_ok(&server, &usernum, MD5_ASDF));

    // Once it is gone (even by SIGKILL), the lock is free.
    server.kill_and_restart("", "");
    server.assert_healthy(Duration::from_secs(2));
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Asks for a reset link over XML-RPC and waits for its `.eml` in `spool`.
fn spool_a_mail(server: &Server, spool: &Path, before: usize) -> std::path::PathBuf {
    register(server, "spool@example.org", MD5_ASDF);
    let ask = xmlrpc_call(
        "xmlStorageSystem.mailPasswordToUser",
        &["spool@example.org"],
    );
    assert_eq!(post(server, "/RPC2", &ask).status, 200);
    let start = Instant::now();
    loop {
        let mut mails: Vec<_> = std::fs::read_dir(spool)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        if mails.len() > before {
            mails.sort();
            return mails.pop().unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no mail spooled; log:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_spool_is_private_under_umask_022() {
    use std::os::unix::fs::PermissionsExt;
    // A data directory made by hand under umask 022, as outside the packaged unit.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = Server::start_in_with_umask(dir, "022", "", "");
    let spool = data.join("spool");
    let mail = spool_a_mail(&server, &spool, 0);
    assert_eq!((mode(&spool), mode(&mail)), (0o700, 0o600));

    // A spool left open by an earlier passlink is closed at start, and says so.
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("data/spool");
    std::fs::create_dir_all(&spool).unwrap();
    std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let old = spool.join("00009999.eml");
    std::fs::write(&old, "Subject: an old link\n").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    let server = Server::start_in_with_umask(dir, "022", "", "");
    let log = server.log();
    assert!(
        log.contains(&format!(
            "the spool directory {} was mode 0755, open to other users",
            spool.display()
        )),
        "{log}"
    );
    assert!(log.contains("1 file(s) in the spool"), "{log}");
    assert_eq!((mode(&spool), mode(&old)), (0o700, 0o600));
    let mail = spool_a_mail(&server, &spool, 1);
    assert_eq!(mode(&mail), 0o600);
    server.assert_healthy(Duration::from_secs(2));
}
