//! Crash and fault tests: kill -9 under write load, a full database, and a write lock held by
//! another process. Acknowledged writes survive, partial ones are never visible, errors are
//! answered in the protocol's own form, and nothing hangs.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{Server, passlink};
use crate::xcp::Xcp;
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
            let sig = passlink::xcp::resellers::signature(body.as_bytes(), &x_key);
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
