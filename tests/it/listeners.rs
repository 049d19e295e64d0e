//! `[[listener]]` tables: what each address serves (a group it does not serve is 404 in that
//! protocol's form), and a unix-socket listener driven with `curl --unix-socket`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::{Server, assert_healthy_from, data_dir_line, exchange, parse_response};
use crate::xss::xmlrpc_call;

/// A request to `addr`; returns the response.
fn send(addr: SocketAddr, request: &str) -> crate::support::HttpResponse {
    let bytes = exchange(addr, request.as_bytes(), Duration::from_secs(10));
    parse_response(&bytes)
        .unwrap_or_else(|| panic!("no response: {:?}", String::from_utf8_lossy(&bytes)))
        .0
}

fn post(
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    body: &str,
) -> crate::support::HttpResponse {
    send(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// `curl --unix-socket SOCKET` with `args`; returns (HTTP status, body).
fn curl(socket: &Path, args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "10"])
        .arg("--unix-socket")
        .arg(socket)
        .args(["--write-out", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl (.ci/run installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "curl {args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (body, code) = stdout.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap(), body.to_string())
}

/// Everything on one address; `/healthz` alone on a second; XML-RPC and status on a unix
/// socket, as a local reverse proxy would reach it.
fn three_listeners() -> (Server, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("passlink.sock");
    let text = format!(
        "[storage]\n{}\n\n\
         [[listener]]\naddress = \"127.0.0.1:0\"\nserve = [\"xmlstorage\", \"files\", \"xcp\", \"reset\", \"status\"]\n\n\
         [[listener]]\naddress = \"127.0.0.1:0\"\nserve = [\"status\"]\n\n\
         [[listener]]\naddress = \"unix:{}\"\nserve = [\"xmlstorage\", \"status\"]\n",
        data_dir_line(dir.path()),
        socket.display()
    );
    (Server::start_config(dir, &text), socket)
}

#[test]
fn a_status_listener_answers_healthz_and_404s_the_rest_in_each_protocols_form() {
    let (server, socket) = three_listeners();
    let listeners = server.listeners();
    assert_eq!(
        listeners
            .iter()
            .map(|l| l.serve.as_str())
            .collect::<Vec<_>>(),
        [
            "xmlstorage, files, xcp, reset, status",
            "status",
            "xmlstorage, status"
        ],
        "{listeners:?}"
    );
    assert_eq!(listeners[2].at, format!("unix:{}", socket.display()));
    let status = server.listener_addr("status");
    assert_ne!(status, server.addr);
    assert_healthy_from(status, None, Duration::from_secs(2));

    // XML-RPC: a fault, as an XML-RPC client reads it.
    let call = xmlrpc_call("xmlStorageSystem.getServerCapabilities", &["1", "x"]);
    let resp = post(status, "/RPC2", "text/xml", &call);
    assert_eq!(resp.status, 404);
    assert_eq!(resp.header("content-type"), Some("text/xml"));
    let text = resp.text();
    assert!(
        text.contains("<fault>")
            && text.contains("faultString")
            && text.contains("xmlStorageSystem is not served on this address"),
        "{text}"
    );
    // SOAP: a SOAP fault.
    let envelope = "<?xml version=\"1.0\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">\
        <soap:Body><getServerCapabilities/></soap:Body></soap:Envelope>";
    let resp = post(status, "/xmlStorageSystem", "text/xml", envelope);
    assert_eq!(resp.status, 404);
    assert!(
        resp.text().contains("Fault>") && resp.text().contains("not served on this address"),
        "{}",
        resp.text()
    );
    // XCP: an OPS reply.
    let ops = crate::xcp::envelope(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "a.example")],
    );
    let resp = post(status, "/", "text/xml", &ops);
    assert_eq!(resp.status, 404);
    assert!(
        resp.text()
            .contains("OpenSRS XCP is not served on this address"),
        "{}",
        resp.text()
    );
    // The rest: plain text.
    for path in ["/users/0000001/index.html", "/reset/abc"] {
        let resp = send(
            status,
            &format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
        );
        assert_eq!(resp.status, 404, "{path}");
        assert!(
            resp.text().contains("not served on this address"),
            "{path}: {}",
            resp.text()
        );
    }
    // A GET of /RPC2 (405 where XML-RPC is served) is simply not found.
    let resp = send(
        status,
        "GET /RPC2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(resp.status, 404);
    // The same requests on the main address are served.
    let resp = post(server.addr, "/RPC2", "text/xml", &call);
    assert_eq!(resp.status, 200);
    assert!(resp.text().contains("flError"), "{}", resp.text());
    assert_healthy_from(status, None, Duration::from_secs(2));
    server.assert_healthy(Duration::from_secs(2));
}

#[test]
fn a_unix_socket_listener_serves_curl_and_trusts_its_proxy_headers() {
    let (server, socket) = three_listeners();
    let (code, body) = curl(&socket, &["http://localhost/healthz"]);
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    // XML-RPC over the socket: a wrong login is a normal struct, not a fault.
    let call = xmlrpc_call("xmlStorageSystem.getServerCapabilities", &["1", "x"]);
    let (code, body) = curl(
        &socket,
        &[
            "--header",
            "Content-Type: text/xml",
            "--data-binary",
            &call,
            "http://localhost/RPC2",
        ],
    );
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("flError") && body.contains("password is incorrect"),
        "{body}"
    );
    // What the socket does not serve is not found there.
    let (code, body) = curl(&socket, &["http://localhost/users/0000001/index.html"]);
    assert_eq!(code, 404, "{body}");
    assert!(
        body.contains("files is not served on this address"),
        "{body}"
    );
    // Only a local proxy reaches a unix socket, so its forwarding headers are believed.
    let (code, _) = curl(
        &socket,
        &[
            "--header",
            "X-Forwarded-For: 203.0.113.9",
            "--header",
            "X-Forwarded-Proto: https",
            "http://localhost/healthz?via-proxy",
        ],
    );
    assert_eq!(code, 200);
    let log = server.wait_log(
        "request client=203.0.113.9 method=GET path=/healthz ",
        Duration::from_secs(5),
    );
    // And it says the client used https.
    assert!(
        log.lines()
            .any(|l| l.contains("client=203.0.113.9 ") && l.ends_with(" proto=https")),
        "{log}"
    );
    // The same header over TCP from an untrusted peer changes nothing.
    let resp = send(
        server.addr,
        "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 203.0.113.10\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(resp.status, 200);
    let log = server.settled_log();
    assert!(!log.contains("client=203.0.113.10"), "{log}");
    // A request that is no HTTP on the socket: closed with a 400, and the socket serves on.
    let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    std::io::Write::write_all(&mut stream, b"\x00\x01garbage\r\n\r\n").unwrap();
    let mut reply = Vec::new();
    let _ = std::io::Read::read_to_end(&mut stream, &mut reply);
    assert!(
        reply.starts_with(b"HTTP/1.1 400 "),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
    let (code, body) = curl(&socket, &["http://localhost/healthz"]);
    assert_eq!((code, body.as_str()), (200, "ok\n"));
}
