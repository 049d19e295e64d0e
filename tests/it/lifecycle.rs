//! Starting on embedded defaults and stopping gracefully.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::{parse_response, passlink, read_to_close, spawn_and_wait};

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
