//! Crash and fault tests: kill -9 under write load, a full database, a write lock held by
//! another process, and the database file truncated, deleted or replaced under the server.
//! Acknowledged writes survive, partial ones are never visible, errors are answered in the
//! protocol's own form, and nothing hangs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::reset::{csrf_of, form_body, http, link_in, mails_in, path_of};
use crate::support::{Server, passlink};
use crate::xcp::{OWNER_PASSWORD, Xcp, st};
use crate::xss::{MD5_ASDF, capabilities_ok, post, register, xmlrpc_call};

fn save_call(usernum: &str, files: &[(&str, &str)]) -> String {
    let paths: String = files
        .iter()
        .map(|(p, _)| format!("<value>{p}</value>"))
        .collect();
    let contents: String = files
        .iter()
        .map(|(_, c)| format!("<value>{c}</value>"))
        .collect();
    xmlrpc_call(
        "xmlStorageSystem.saveMultipleFiles",
        &[
            usernum,
            MD5_ASDF,
            &format!("<array><data>{paths}</data></array>"),
            &format!("<array><data>{contents}</data></array>"),
        ],
    )
}

fn saved_ok(reply: &str) -> bool {
    reply.contains("<name>flError</name><value><boolean>0</boolean>")
}

fn db_check(server: &Server) -> String {
    let out = passlink()
        .args(["db", "check", "--config"])
        .arg(&server.config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "integrity check failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn kill_9_under_write_load_loses_no_acknowledged_write() {
    let x = Xcp::start();
    let mut users = Vec::new();
    for c in 0..4 {
        users.push(register(
            &x.server,
            &format!("load{c}@example.org"),
            MD5_ASDF,
        ));
    }
    let addr = x.server.addr;
    let stop = Arc::new(AtomicBool::new(false));
    // Per file client: the last iteration acknowledged. Send-password clients count their acks.
    let acked_saves: Arc<Mutex<Vec<i64>>> = Arc::new(Mutex::new(vec![-1; users.len()]));
    let acked_links = Arc::new(Mutex::new(0usize));
    let mut threads = Vec::new();
    for (c, usernum) in users.iter().enumerate() {
        let (usernum, stop, acked) = (usernum.clone(), stop.clone(), acked_saves.clone());
        threads.push(std::thread::spawn(move || {
            for i in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                // Two files per call, with the same stamp: a partial save would show as two
                // different stamps.
                let stamp = format!("client{c}-iteration{i:06}-{}", "x".repeat(2000));
                let body = save_call(&usernum, &[("a.txt", &stamp), ("b.txt", &stamp)]);
                let Some(reply) = try_post(addr, "/RPC2", &body, &[]) else {
                    break;
                };
                if saved_ok(&reply) {
                    acked.lock().unwrap()[c] = i;
                }
            }
        }));
    }
    for domain in ["example.info", "example.org", "example.info", "example.org"] {
        let (stop, acked, x_key) = (stop.clone(), acked_links.clone(), x.key.clone());
        threads.push(std::thread::spawn(move || {
            let body =
                crate::xcp::envelope("send_password", "domain", &[], &[("domain_name", domain)]);
            let sig = passlink::xcp::envelope::signature(body.as_bytes(), &x_key);
            while !stop.load(Ordering::SeqCst) {
                let headers = [("X-Username", "resellerx"), ("X-Signature", sig.as_str())];
                let Some(reply) = try_post(addr, "/", &body, &headers) else {
                    break;
                };
                if reply.contains("<item key=\"response_code\">200</item>") {
                    *acked.lock().unwrap() += 1;
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let mut server = x.server;
    // SIGKILL: no destructor, no final commit, no clean shutdown.
    server.kill_and_restart(
        "",
        "[reset]\nmax_per_login_per_hour = 1000000\nip_burst = 1000000\n",
    );
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    assert!(db_check(&server).contains("ok"));

    let acked = acked_saves.lock().unwrap().clone();
    assert!(
        acked.iter().all(|i| *i >= 0),
        "every client got some acks: {acked:?}"
    );
    for (c, usernum) in users.iter().enumerate() {
        let a = server.get(&format!("/users/{usernum}/a.txt"));
        let b = server.get(&format!("/users/{usernum}/b.txt"));
        assert_eq!((a.status, b.status), (200, 200));
        assert_eq!(a.body, b.body, "client {c}: a partial save is visible");
        let text = a.text();
        let iteration: i64 = text
            .split("iteration")
            .nth(1)
            .and_then(|rest| rest.get(..6))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("client {c}: unexpected content {text:.60}"));
        assert!(text.starts_with(&format!("client{c}-")));
        // Everything acknowledged is there; at most the one unacknowledged call after it.
        assert!(
            iteration == acked[c] || iteration == acked[c] + 1,
            "client {c}: acked up to {}, found {iteration}",
            acked[c]
        );
        assert!(capabilities_ok(&server, usernum, MD5_ASDF));
    }
    let links = *acked_links.lock().unwrap();
    assert!(links > 0);
    let out = passlink()
        .args(["outbox", "list", "--config"])
        .arg(&server.config)
        .output()
        .unwrap();
    let queued = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(
        queued >= links,
        "{links} send_password replies acknowledged, {queued} mails in the outbox"
    );
}

/// One POST on its own connection; `None` when the server is gone.
fn try_post(
    addr: std::net::SocketAddr,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: text/xml\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).ok()?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    text.starts_with("HTTP/1.1 200").then_some(text)
}

#[test]
fn a_full_database_refuses_writes_cleanly_and_keeps_serving_reads() {
    // An empty database is a few hundred KiB; the cap leaves room for about a dozen files.
    let cap = 600 * 1024;
    let mut server = Server::start_with("", &format!("[storage]\nmax_db_bytes = {cap}\n"));
    let usernum = register(&server, "full@example.org", MD5_ASDF);
    let content = "y".repeat(40 * 1024);
    let mut saved = Vec::new();
    let mut full_reply = None;
    for i in 0..100 {
        let name = format!("f{i}.txt");
        let reply = post(&server, "/RPC2", &save_call(&usernum, &[(&name, &content)])).text();
        if saved_ok(&reply) {
            saved.push(name);
        } else {
            full_reply = Some(reply);
            break;
        }
    }
    let reply = full_reply.expect("the cap was never reached");
    assert!(!saved.is_empty());
    // A protocol answer, not a dropped connection or a bare 500.
    assert!(reply.contains("storage is full"), "{reply}");
    assert!(reply.contains("<boolean>1</boolean>"), "{reply}");
    // Reads go on: stored files, capabilities, health.
    for name in &saved {
        let resp = server.get(&format!("/users/{usernum}/{name}"));
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body.len(), content.len());
    }
    assert!(capabilities_ok(&server, &usernum, MD5_ASDF));
    server.assert_healthy(Duration::from_secs(2));
    // The file that did not fit is not there, not even in part.
    let missing = format!("f{}.txt", saved.len());
    assert_eq!(
        server.get(&format!("/users/{usernum}/{missing}")).status,
        404
    );
    db_check(&server);

    // Raise the cap (a restart applies it) and writes work again.
    server.kill_and_restart("", &format!("[storage]\nmax_db_bytes = {}\n", cap * 4));
    let reply = post(
        &server,
        "/RPC2",
        &save_call(&usernum, &[(&missing, &content)]),
    )
    .text();
    assert!(saved_ok(&reply), "{reply}");
    assert_eq!(
        server.get(&format!("/users/{usernum}/{missing}")).status,
        200
    );
}

/// Holds a write lock on the database from another process for `secs`.
fn hold_write_lock(db: &std::path::Path, secs: f64) -> std::process::Child {
    let script = format!(
        "import sqlite3, sys, time\n\
         c = sqlite3.connect({db:?}, isolation_level=None)\n\
         c.execute('BEGIN IMMEDIATE')\n\
         print('LOCKED', flush=True)\n\
         time.sleep({secs})\n\
         c.execute('COMMIT')\n",
        db = db.display().to_string()
    );
    let mut child = Command::new("python3")
        .args(["-c", &script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "LOCKED");
    child
}

#[test]
fn a_write_lock_held_elsewhere_delays_or_fails_requests_cleanly() {
    // With the default 5 s busy timeout, a 2 s lock only delays writes.
    let server = Server::start();
    let usernum = register(&server, "lock@example.org", MD5_ASDF);
    let db = server.dir.path().join("data/passlink.sqlite3");
    let mut holder = hold_write_lock(&db, 2.0);
    let start = Instant::now();
    let reply = post(
        &server,
        "/RPC2",
        &save_call(&usernum, &[("w.txt", "waited")]),
    )
    .text();
    let waited = start.elapsed();
    assert!(saved_ok(&reply), "{reply}");
    assert!(
        waited >= Duration::from_millis(1500),
        "did not wait: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(6),
        "waited too long: {waited:?}"
    );
    holder.wait().unwrap();

    // With a 300 ms busy timeout the write gives up in time, with a protocol answer, while
    // reads (WAL) are not blocked at all.
    let short = Server::start_with("", "[storage]\nbusy_timeout_ms = 300\n");
    let usernum = register(&short, "lock2@example.org", MD5_ASDF);
    let db = short.dir.path().join("data/passlink.sqlite3");
    let mut holder = hold_write_lock(&db, 2.0);
    let start = Instant::now();
    let reply = post(
        &short,
        "/RPC2",
        &save_call(&usernum, &[("w.txt", "refused")]),
    )
    .text();
    assert!(
        start.elapsed() < Duration::from_millis(1800),
        "{:?}",
        start.elapsed()
    );
    assert!(reply.contains("server is busy"), "{reply}");
    short.assert_healthy(Duration::from_millis(500));
    assert!(capabilities_ok(&short, &usernum, MD5_ASDF));
    holder.wait().unwrap();
    // Afterwards the same write works, and the file is whole.
    let reply = post(&short, "/RPC2", &save_call(&usernum, &[("w.txt", "later")])).text();
    assert!(saved_ok(&reply), "{reply}");
    assert_eq!(
        short.get(&format!("/users/{usernum}/w.txt")).text(),
        "later"
    );
    db_check(&short);
}

/// How the database file is taken from under the running server.
#[derive(Debug, Clone, Copy)]
enum TakeAway {
    /// `truncate -s 0 passlink.sqlite3`
    Truncate,
    /// `rm passlink.sqlite3 passlink.sqlite3-wal passlink.sqlite3-shm`
    Delete,
    /// `mv passlink.sqlite3 moved.sqlite3`, its `-wal` and `-shm` deleted, and another
    /// database renamed into its place.
    RenameAndReplace,
}

fn with_suffix(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Does it; returns the bytes of the replacement, if there is one.
fn take_away(db: &Path, how: TakeAway) -> Option<Vec<u8>> {
    let remove_wal_and_shm = || {
        for suffix in ["-wal", "-shm"] {
            std::fs::remove_file(with_suffix(db, suffix)).unwrap();
        }
    };
    match how {
        TakeAway::Truncate => {
            let file = std::fs::OpenOptions::new().write(true).open(db).unwrap();
            file.set_len(0).unwrap();
            None
        }
        TakeAway::Delete => {
            std::fs::remove_file(db).unwrap();
            remove_wal_and_shm();
            None
        }
        TakeAway::RenameAndReplace => {
            std::fs::rename(db, db.with_file_name("moved.sqlite3")).unwrap();
            remove_wal_and_shm();
            let other = db.with_file_name("other.sqlite3");
            rusqlite::Connection::open(&other)
                .unwrap()
                .execute_batch(
                    "CREATE TABLE somebody_elses (x); INSERT INTO somebody_elses VALUES (1);",
                )
                .unwrap();
            let bytes = std::fs::read(&other).unwrap();
            std::fs::rename(&other, db).unwrap();
            Some(bytes)
        }
    }
}

/// The one mail in the spool, once the mailer has written it.
fn spooled_mail(spool: &Path) -> String {
    let start = Instant::now();
    loop {
        if spool.is_dir()
            && let Some(mail) = mails_in(spool).pop()
        {
            return mail;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no mail in {spool:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn soap_register(email: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><soap:Envelope \
         xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><registerUser>\
         <email>{email}</email><name>Soap</name><password>{MD5_ASDF}</password>\
         <clientPort>5335</clientPort><userAgent>test</userAgent></registerUser></soap:Body>\
         </soap:Envelope>"
    )
}

const RESET_LIMITS: &str = "[reset]\nmax_per_login_per_hour = 1000\nip_burst = 1000\n";

/// The database file goes away under a running server: it says so on /healthz, refuses every
/// write in the protocol's own form, keeps serving reads, logs it once, and at a clean stop
/// copies out everything it had acknowledged; that copy, put in place, is the whole database.
fn a_database_taken_away_is_noticed_and_nothing_acknowledged_is_lost(how: TakeAway, reason: &str) {
    let mut x = Xcp::start();
    let addr = x.server.addr;
    let data = x.server.dir.path().join("data");
    let db = data.join("passlink.sqlite3");
    // Acknowledged before: a user and a file (worker connections), a reset link and its mail
    // (group commit, then the mailer).
    let usernum = register(&x.server, "kept@example.org", MD5_ASDF);
    let saved = post(
        &x.server,
        "/RPC2",
        &save_call(&usernum, &[("kept.txt", "acknowledged")]),
    );
    assert!(saved_ok(&saved.text()), "{}", saved.text());
    let sent = x.call(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "example.info")],
    );
    assert_eq!(sent.code(), ("1".into(), "200".into()));
    let link = path_of(&link_in(&spooled_mail(&data.join("spool"))));
    let csrf = csrf_of(&http(addr, "GET", &link, "").text());
    let login = [
        ("reg_username", "resellerx"),
        ("reg_password", OWNER_PASSWORD),
        ("domain", "example.info"),
    ];
    let cookie = x.call("set", "cookie", &[], &login).field("cookie");

    let replacement = take_away(&db, how);

    let health = x.server.get("/healthz");
    assert_eq!(health.status, 503, "{}", health.text());
    assert!(health.text().contains(reason), "{}", health.text());
    // Writes are refused, in each protocol's own form.
    let reply = post(
        &x.server,
        "/RPC2",
        &save_call(&usernum, &[("lost.txt", "no")]),
    )
    .text();
    assert!(reply.contains("<boolean>1</boolean>"), "{reply}");
    assert!(reply.contains("database is unavailable"), "{reply}");
    let reply = post(
        &x.server,
        "/xmlStorageSystem",
        &soap_register("soap@example.org"),
    )
    .text();
    assert!(reply.contains(">1</flError>"), "{reply}");
    assert!(reply.contains("database is unavailable"), "{reply}");
    let refused = st(
        "0",
        "400",
        "Server database unavailable: the request was not completed.",
    );
    let reply = x.call(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "example.org")],
    );
    assert_eq!(reply.status(), refused);
    assert_eq!(x.call("set", "cookie", &[], &login).status(), refused);
    let logout = x.call("delete", "cookie", &[("cookie", &cookie)], &[]);
    assert_eq!(logout.status(), refused);
    let page = http(
        addr,
        "POST",
        &link,
        &form_body(&csrf, "Reset-pass-42", "Reset-pass-42"),
    );
    assert_eq!(page.status, 503, "{}", page.text());
    assert!(
        page.text().contains("cannot be changed right now"),
        "{}",
        page.text()
    );
    // Reads go on, from what the server still has open.
    assert_eq!(
        x.server.get(&format!("/users/{usernum}/kept.txt")).text(),
        "acknowledged"
    );
    assert_eq!(
        x.server.get(&format!("/users/{usernum}/lost.txt")).status,
        404
    );
    assert!(capabilities_ok(&x.server, &usernum, MD5_ASDF));
    let owner = x.call(
        "get",
        "domain",
        &[("cookie", &cookie)],
        &[("type", "owner")],
    );
    assert!(owner.xml.contains("owner@example.info"), "{}", owner.xml);
    let log = x.server.settled_log();
    assert_eq!(
        log.matches("while passlink was running").count(),
        1,
        "logged once:\n{log}"
    );
    assert!(log.contains(&format!("{} {reason}", db.display())), "{log}");

    x.server.signal("TERM");
    assert_eq!(x.server.wait_exit(Duration::from_secs(15)).code(), Some(0));
    let log = x.server.log();
    assert!(log.contains("which passes `passlink db check`"), "{log}");
    if let Some(bytes) = replacement {
        assert_eq!(
            std::fs::read(&db).unwrap(),
            bytes,
            "somebody else's file is untouched"
        );
    }
    let rescued: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("passlink.sqlite3.rescued-"))
        .collect();
    assert_eq!(rescued.len(), 1, "{rescued:?}");

    // The README's steps: the files at the path aside, the rescued copy in place, check, start.
    let aside = x.server.dir.path().join("aside");
    std::fs::create_dir(&aside).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let from = with_suffix(&db, suffix);
        if from.exists() {
            std::fs::rename(&from, aside.join(format!("passlink.sqlite3{suffix}"))).unwrap();
        }
    }
    std::fs::rename(&rescued[0], &db).unwrap();
    assert!(db_check(&x.server).contains(": ok"));
    x.server.kill_and_restart("", RESET_LIMITS);
    x.server.assert_healthy(Duration::from_secs(2));
    assert!(capabilities_ok(&x.server, &usernum, MD5_ASDF));
    let kept = x.server.get(&format!("/users/{usernum}/kept.txt"));
    assert_eq!(kept.text(), "acknowledged");
    // The reset link acknowledged before works, and the writes refused then work now.
    let done = http(
        x.server.addr,
        "POST",
        &link,
        &form_body(&csrf, "Reset-pass-42", "Reset-pass-42"),
    );
    assert_eq!(done.status, 200, "{}", done.text());
    let reply = post(
        &x.server,
        "/RPC2",
        &save_call(&usernum, &[("later.txt", "yes")]),
    )
    .text();
    assert!(saved_ok(&reply), "{reply}");
}

#[test]
fn a_truncated_database_is_noticed_and_nothing_acknowledged_is_lost() {
    // Everything since the start is still in the -wal file here, which a truncation leaves
    // alone, so the rescued copy is whole. Pages already checkpointed into the file would be
    // gone with it, and then the log says the rescued copy is damaged.
    a_database_taken_away_is_noticed_and_nothing_acknowledged_is_lost(
        TakeAway::Truncate,
        "was truncated to 0 bytes",
    );
}

#[test]
fn a_deleted_database_is_noticed_and_nothing_acknowledged_is_lost() {
    a_database_taken_away_is_noticed_and_nothing_acknowledged_is_lost(
        TakeAway::Delete,
        "was deleted or renamed",
    );
}

#[test]
fn a_replaced_database_is_noticed_and_nothing_acknowledged_is_lost() {
    a_database_taken_away_is_noticed_and_nothing_acknowledged_is_lost(
        TakeAway::RenameAndReplace,
        "was replaced by another file",
    );
}
