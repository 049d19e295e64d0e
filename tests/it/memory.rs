//! What hostile clients can make passlink hold, with no login: partial bodies from one address
//! and from many, slow bodies, and XML bodies that decode into many small values. RSS is read
//! from /proc/PID/status and checked only as a bound; the figures are in bench/memory.sh.
//! Every attack checks that a good client is answered while it runs and afterwards. The same
//! attacks through nginx and Caddy, configured as the README says, are in proxy.rs.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{Server, assert_healthy_from, connect_from, parse_response};

pub(crate) const MIB: u64 = 1024 * 1024;

/// Holds off other attacks while one runs: each checks how fast a good client is answered on a
/// machine that may have two cores, and two at once would measure each other. For the attacks
/// here and the same through a proxy (proxy.rs).
pub(crate) fn one_attack_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static ATTACKS: Mutex<()> = Mutex::new(());
    ATTACKS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// VmRSS (or another kB field) of a process, in bytes.
pub(crate) fn status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// Samples the server's RSS every 10 ms while alive; the largest seen.
pub(crate) struct PeakRss {
    peak: Arc<Mutex<u64>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PeakRss {
    pub(crate) fn start(pid: u32) -> PeakRss {
        let peak = Arc::new(Mutex::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                let rss = status_bytes(pid, "VmRSS");
                let mut peak = p.lock().unwrap();
                *peak = (*peak).max(rss);
                drop(peak);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        PeakRss {
            peak,
            stop,
            thread: Some(thread),
        }
    }

    pub(crate) fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        *self.peak.lock().unwrap()
    }
}

/// A good client that asks for /healthz every 50 ms until stopped, and fails the test if an
/// answer takes a second or more. It keeps the longest wait it saw.
struct GoodClient {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<(usize, Duration)>>,
}

impl GoodClient {
    /// From 127.0.0.1.
    fn start(addr: SocketAddr) -> GoodClient {
        GoodClient::start_from(addr, "127.0.0.1")
    }

    /// From the loopback address `source`.
    fn start_from(addr: SocketAddr, source: &str) -> GoodClient {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let source = source.to_string();
        let thread = std::thread::spawn(move || {
            let mut answered = 0;
            let mut worst = Duration::ZERO;
            while !s.load(Ordering::SeqCst) {
                let start = Instant::now();
                assert_healthy_from(addr, Some(&source), Duration::from_secs(1));
                worst = worst.max(start.elapsed());
                answered += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            (answered, worst)
        });
        GoodClient {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops it; panics (failing the test) if any of its requests was not answered in time.
    fn finish(self) -> usize {
        self.finish_timed().0
    }

    /// [`GoodClient::finish`], with the longest any answer took.
    fn finish_timed(mut self) -> (usize, Duration) {
        self.stop.store(true, Ordering::SeqCst);
        let (answered, worst) = self
            .thread
            .take()
            .unwrap()
            .join()
            .expect("the good client failed");
        assert!(answered > 0, "the good client was never answered");
        (answered, worst)
    }
}

impl Drop for GoodClient {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Opens `connections` connections spread over `sources`, each declaring `declared` bytes of
/// body and sending all but the last byte (or until the server stops taking them). Returns the
/// sockets, held open.
///
/// Eight threads drive the connections with non-blocking writes, round-robin: with a thread
/// per connection, 200 runnable threads in the test process would take the two cores from
/// the server under test, which a remote attacker's threads never do.
pub(crate) fn partial_bodies(
    addr: SocketAddr,
    sources: &[String],
    connections: usize,
    declared: u64,
) -> Vec<TcpStream> {
    const THREADS: usize = 8;
    let head = format!(
        "POST /RPC2 HTTP/1.1\r\nHost: t\r\nContent-Type: text/xml\r\nContent-Length: {declared}\r\n\r\n"
    );
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let sources: Vec<String> = (t..connections)
                .step_by(THREADS)
                .map(|i| sources[i % sources.len()].clone())
                .collect();
            let head = head.clone();
            std::thread::spawn(move || {
                // Per connection: the socket and the bytes of head and body still to send.
                let mut streams: Vec<(TcpStream, u64)> = sources
                    .iter()
                    .filter_map(|source| {
                        let mut stream = connect_from(addr, Some(source)).ok()?;
                        stream.write_all(head.as_bytes()).ok()?;
                        stream.set_nonblocking(true).ok()?;
                        Some((stream, declared - 1))
                    })
                    .collect();
                let piece = vec![b'x'; 64 * 1024];
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    let mut progress = false;
                    let mut pending = false;
                    for (stream, left) in streams.iter_mut().filter(|(_, left)| *left > 0) {
                        let n = (*left).min(piece.len() as u64) as usize;
                        match stream.write(&piece[..n]) {
                            Ok(written) => {
                                *left -= written as u64;
                                progress = true;
                                pending |= *left > 0;
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => pending = true,
                            // Refused and closed by the server: nothing more to send.
                            Err(_) => *left = 0,
                        }
                    }
                    if !pending || Instant::now() > deadline {
                        break;
                    }
                    if !progress {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
                streams
                    .into_iter()
                    .map(|(stream, _)| {
                        let _ = stream.set_nonblocking(false);
                        stream
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect()
}

/// POSTs an XML-RPC `call` from `source`: it must be answered with a methodResponse (a result
/// or a fault), in its protocol's form.
fn assert_xmlrpc_answered(addr: SocketAddr, source: &str, call: &str) {
    let request = format!(
        "POST /RPC2 HTTP/1.1\r\nHost: t\r\nContent-Type: text/xml\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n{call}",
        call.len()
    );
    let reply = crate::support::exchange_from(
        addr,
        Some(source),
        request.as_bytes(),
        Duration::from_secs(5),
    );
    let (resp, _) = parse_response(&reply).expect("an answer");
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(resp.text().contains("<methodResponse>"), "{}", resp.text());
}

/// What each held connection got back, counted by status line.
fn replies(streams: &mut [TcpStream]) -> std::collections::BTreeMap<String, usize> {
    let mut seen = std::collections::BTreeMap::new();
    for stream in streams {
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut buf = [0u8; 512];
        let line = match stream.read(&mut buf) {
            Ok(0) => "closed".to_string(),
            Ok(n) => String::from_utf8_lossy(&buf[..n])
                .lines()
                .next()
                .unwrap_or("")
                .to_string(),
            Err(_) => "no reply".to_string(),
        };
        *seen.entry(line).or_insert(0) += 1;
    }
    seen
}

fn partial_body_attack(sources: &[String]) {
    let _alone = one_attack_at_a_time();
    let server = Server::start_with("", "[log]\nlevel = \"warn\"\n");
    let pid = server.pid();
    let peak = PeakRss::start(pid);
    let good = GoodClient::start(server.addr);
    let mut held = partial_bodies(server.addr, sources, 200, 8 * MIB);
    // Held open a moment, as an attacker would.
    std::thread::sleep(Duration::from_millis(500));
    let answered = good.finish();
    let peak = peak.finish();
    let seen = replies(&mut held);
    assert!(
        peak < 128 * MIB,
        "peak RSS {} MiB with 200 partial 8 MiB bodies from {} address(es); replies {seen:?}",
        peak / MIB,
        sources.len()
    );
    // Most were refused at once with 503, in plain HTTP, with Retry-After.
    let refused = seen
        .iter()
        .filter(|(line, _)| line.starts_with("HTTP/1.1 503 "))
        .map(|(_, n)| n)
        .sum::<usize>();
    assert!(refused >= 150, "{seen:?}");
    drop(held);
    server.assert_healthy(Duration::from_secs(1));
    assert!(answered >= 2, "{answered}");
    // An operator sees the refusals on /metrics.
    let metrics = server.get("/metrics").text();
    let refusals: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("passlink_http_memory_refusals_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no memory refusals counter in\n{metrics}"));
    assert!(refusals >= refused as f64, "{refusals} < {refused}");
}

#[test]
fn partial_bodies_from_one_address_cannot_exhaust_memory() {
    partial_body_attack(&["127.0.0.2".to_string()]);
}

#[test]
fn partial_bodies_from_twenty_addresses_cannot_exhaust_memory() {
    let sources: Vec<String> = (10..30).map(|n| format!("127.0.0.{n}")).collect();
    partial_body_attack(&sources);
}

/// A small budget: three addresses park a 1 MiB body each, nearly all of it; a fourth is
/// refused. A client from yet another address with a request that does not fit in what is left
/// is served at once all the same, by closing the unfinished request of one that holds the most,
/// which is told so with a 503.
#[test]
fn a_request_is_served_when_others_hold_the_whole_budget() {
    let server = Server::start_with("max_body_bytes = 1048576\nmax_buffered_bytes = 3670016", "");
    let sources: Vec<String> = (40..44).map(|n| format!("127.0.0.{n}")).collect();
    let mut held = partial_bodies(server.addr, &sources, 4, MIB);
    let start = Instant::now();
    assert_healthy_from(server.addr, Some("127.0.0.50"), Duration::from_secs(1));
    // 700 KB of XML-RPC from yet another address, answered in its protocol's own form.
    let call = format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>xmlStorageSystem.ping</methodName>\
         <params><param><value>{}</value></param></params></methodCall>",
        "x".repeat(700_000)
    );
    assert_xmlrpc_answered(server.addr, "127.0.0.51", &call);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    let seen = replies(&mut held);
    assert!(
        seen.keys()
            .filter(|l| l.starts_with("HTTP/1.1 503 "))
            .count()
            >= 1,
        "no parked body was closed to make room: {seen:?}"
    );
    let log = server.wait_log("closed to make room", Duration::from_secs(5));
    assert!(log.contains("status=503"), "{log}");
    server.assert_healthy(Duration::from_secs(1));
}

/// One address may hold a quarter of the budget (or one largest request): its second large
/// body is refused at once, before it is read, while another address is served.
#[test]
fn one_address_gets_its_share_and_no_more() {
    let server = Server::start_with("max_body_bytes = 1048576\nmax_buffered_bytes = 8388608", "");
    let source = ["127.0.0.60".to_string()];
    let first = partial_bodies(server.addr, &source, 1, MIB);
    let start = Instant::now();
    let second = crate::support::exchange_from(
        server.addr,
        Some("127.0.0.60"),
        b"POST /RPC2 HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n",
        Duration::from_secs(5),
    );
    let (resp, _) = parse_response(&second).expect("an answer");
    assert_eq!(resp.status, 503, "{}", resp.text());
    assert_eq!(resp.header("Retry-After"), Some("1"));
    assert!(resp.text().contains("your address"), "{}", resp.text());
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_healthy_from(server.addr, Some("127.0.0.61"), Duration::from_secs(1));
    drop(first);
    // Once the first is gone, the same address is served again.
    let mut retried = false;
    for _ in 0..50 {
        let reply = crate::support::exchange_from(
            server.addr,
            Some("127.0.0.60"),
            b"POST /RPC2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 4\r\n\r\nnope",
            Duration::from_secs(5),
        );
        if parse_response(&reply).is_some_and(|(r, _)| r.status == 200) {
            retried = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        retried,
        "the address was not served again after its body was gone"
    );
}

/// A body must arrive at the minimum rate on average, not only without long pauses: one that
/// trickles in, never pausing long, is cut off with 408 once `read_timeout + received / rate`
/// has passed since it began.
#[test]
fn a_body_trickling_in_below_the_minimum_rate_is_cut_off() {
    let server = Server::start_with("read_timeout_secs = 2\nbody_min_bytes_per_sec = 50000", "");
    // Sent at ~10 KB/s against a minimum of 50,000 B/s: at t seconds ~10,000 t bytes have
    // arrived, buying 0.2 t s beyond the 2 s, so it is cut off at about t = 2.5 s, long
    // before its 150,000 bytes would be in.
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(b"POST /RPC2 HTTP/1.1\r\nHost: t\r\nContent-Length: 150000\r\n\r\n")
        .unwrap();
    let start = Instant::now();
    let piece = [b'x'; 1000];
    let mut cut_off = None;
    while start.elapsed() < Duration::from_secs(12) {
        if stream.write_all(&piece).is_err() {
            break;
        }
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut buf = [0u8; 512];
        match stream.read(&mut buf) {
            Ok(n) if n > 0 => {
                cut_off = Some((
                    start.elapsed(),
                    String::from_utf8_lossy(&buf[..n]).into_owned(),
                ));
                break;
            }
            Ok(_) => break,
            Err(_) => {}
        }
    }
    let (when, reply) = cut_off.expect("the trickling body was never cut off");
    assert!(reply.starts_with("HTTP/1.1 408 "), "{reply}");
    assert!(
        when >= Duration::from_secs(2) && when < Duration::from_secs(6),
        "cut off after {when:?}"
    );
    server.assert_healthy(Duration::from_secs(1));
}

#[test]
fn max_buffered_bytes_below_max_body_bytes_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::support::write_config(
        dir.path(),
        "max_body_bytes = 2000000\nmax_buffered_bytes = 1000000",
        "",
    );
    let out = crate::support::passlink()
        .args(["check-config", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.max_buffered_bytes"), "{err}");
    assert!(err.contains("max_body_bytes"), "{err}");
}

/// An XML-RPC call of ~6 MB: an array of 240,000 `<i4>` values (beside the two parameters
/// getServerCapabilities takes, so it is refused after decoding, with a fault).
pub(crate) fn xmlrpc_i4_call(items: usize) -> Vec<u8> {
    let values = "<value><i4>1</i4></value>".repeat(items);
    format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>xmlStorageSystem.getServerCapabilities\
         </methodName><params><param><value><string>0000001</string></value></param>\
         <param><value><string>0123456789abcdef0123456789abcdef</string></value></param>\
         <param><value><array><data>{values}</data></array></value></param></params></methodCall>"
    )
    .into_bytes()
}

/// The same as SOAP: 240,000 `xsd:int` items in a SOAP-ENC array.
fn soap_int_call(items: usize) -> Vec<u8> {
    let values = "<i xsi:type=\"xsd:int\">1</i>".repeat(items);
    format!(
        "<?xml version=\"1.0\"?><SOAP-ENV:Envelope \
         xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:SOAP-ENC=\"http://schemas.xmlsoap.org/soap/encoding/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><SOAP-ENV:Body>\
         <m:getServerCapabilities xmlns:m=\"urn:xmlStorageSystem\">\
         <email xsi:type=\"xsd:string\">a@example.org</email>\
         <password xsi:type=\"xsd:string\">0123456789abcdef0123456789abcdef</password>\
         <list xsi:type=\"SOAP-ENC:Array\" SOAP-ENC:arrayType=\"xsd:int[{items}]\">{values}</list>\
         </m:getServerCapabilities></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
    .into_bytes()
}

/// Six of `body` at once to `path`, from six addresses (so that no one address's share of
/// the request budget turns most of them away before they are decoded). What each got back:
/// its status line and the start of its body.
fn six_in_parallel(addr: SocketAddr, path: &str, body: &[u8]) -> Vec<String> {
    let request = |body: &[u8]| {
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: text/xml\r\n\
             SOAPAction: \"/xmlStorageSystem\"\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        request
    };
    let request = Arc::new(request(body));
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let request = request.clone();
            std::thread::spawn(move || {
                let reply = crate::support::exchange_from(
                    addr,
                    Some(&format!("127.0.0.{}", 70 + i)),
                    &request,
                    Duration::from_secs(60),
                );
                match parse_response(&reply) {
                    Some((resp, _)) => format!("{} {}", resp.status, resp.text()),
                    None => "no reply".to_string(),
                }
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn decode_attack(path: &str, body: &[u8], fault_marker: &str) {
    let _alone = one_attack_at_a_time();
    let server = Server::start_with("", "[log]\nlevel = \"warn\"\n");
    decode_attack_via(
        &server,
        server.addr,
        "127.0.0.1",
        2,
        path,
        body,
        fault_marker,
    );
}

/// What [`decode_attack_via`] saw.
#[derive(Debug)]
pub(crate) struct DecodeFigures {
    /// The server's largest RSS during the calls.
    pub peak: u64,
    /// Its RSS once it had fallen below 48 MiB.
    pub after: u64,
    /// How long that took after the calls were answered.
    pub fell_within: Duration,
    /// The longest the good client waited.
    pub good_worst: Duration,
    /// What each call got back (see [`six_in_parallel`]).
    pub replies: Vec<String>,
}

/// `rounds` of six parallel calls of `body` to `path`, sent to `target` (the server itself or
/// a proxy in front of it) while a good client from `good_source` asks for /healthz there:
/// the server's peak RSS stays under 160 MiB, falls below 48 MiB within 10 s, every call is
/// answered (with `fault_marker`, the decode pool's refusal, or a 503) and at least one was
/// decoded, and the good client is answered within a second throughout.
pub(crate) fn decode_attack_via(
    server: &Server,
    target: SocketAddr,
    good_source: &str,
    rounds: usize,
    path: &str,
    body: &[u8],
    fault_marker: &str,
) -> DecodeFigures {
    assert!(
        body.len() > 5_900_000 && body.len() < 7_000_000,
        "{}",
        body.len()
    );
    let pid = server.pid();
    let peak = PeakRss::start(pid);
    let good = GoodClient::start_from(target, good_source);
    let mut replies = Vec::new();
    for _ in 0..rounds {
        replies.extend(six_in_parallel(target, path, body));
    }
    let (_, good_worst) = good.finish_timed();
    let peak = peak.finish();
    assert!(
        peak < 160 * MIB,
        "peak RSS {} MiB; replies: {replies:?}",
        peak / MIB
    );
    // Every call was answered: decoded and refused by the method with a fault in its own
    // protocol; or refused, in its protocol's form, while the memory for decoding was taken
    // by the others; or turned away before it was read while the memory for requests was
    // taken (503, Retry-After).
    for reply in &replies {
        assert!(
            reply.contains(fault_marker)
                || reply.contains("server busy: the server is busy decoding")
                || reply.starts_with("503 "),
            "{}",
            &reply[..reply.len().min(300)]
        );
    }
    assert!(
        replies.iter().any(|r| r.contains(fault_marker)),
        "none was decoded: {replies:?}"
    );
    // The memory is given back: within 10 s, RSS is below 48 MiB again.
    let start = Instant::now();
    let mut rss = status_bytes(pid, "VmRSS");
    while rss >= 48 * MIB && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(200));
        rss = status_bytes(pid, "VmRSS");
    }
    assert!(
        rss < 48 * MIB,
        "RSS {} MiB 10 s after the calls (peak {} MiB)",
        rss / MIB,
        peak / MIB
    );
    let fell_within = start.elapsed();
    assert_healthy_from(target, Some(good_source), Duration::from_secs(1));
    server.assert_healthy(Duration::from_secs(1));
    DecodeFigures {
        peak,
        after: rss,
        fell_within,
        good_worst,
        replies,
    }
}

#[test]
fn six_parallel_xmlrpc_calls_of_240000_values_are_decoded_in_bounded_memory() {
    decode_attack(
        "/RPC2",
        &xmlrpc_i4_call(240_000),
        "takes 2 parameters, got 3",
    );
}

#[test]
fn six_parallel_soap_calls_of_240000_values_are_decoded_in_bounded_memory() {
    decode_attack(
        "/xmlStorageSystem",
        &soap_int_call(240_000),
        "takes 2 parameters, got 3",
    );
}

/// A body whose values would cost many times its size (a struct of 400,000 one-letter
/// members, ~60 bytes of values for each 4 bytes of XML) is refused with a fault saying so,
/// in each protocol's own form, without the memory being taken.
#[test]
fn a_body_that_would_cost_too_much_to_decode_is_refused_in_protocol_form() {
    let server = Server::start();
    let members = "<a/>".repeat(400_000);
    let soap = format!(
        "<?xml version=\"1.0\"?><e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         <e:Body><m:ping xmlns:m=\"urn:xmlStorageSystem\"><p>{members}</p></m:ping></e:Body></e:Envelope>"
    );
    let reply = crate::xss::post(&server, "/xmlStorageSystem", &soap).text();
    assert!(
        reply.contains("faultstring"),
        "{}",
        &reply[..reply.len().min(400)]
    );
    assert!(
        reply.contains("would need more than"),
        "{}",
        &reply[..reply.len().min(400)]
    );
    let ops_items = "<item key=\"a\"/>".repeat(400_000);
    let ops = format!(
        "<?xml version='1.0' encoding='UTF-8' standalone='no' ?><OPS_envelope><header>\
         <version>0.9</version></header><body><data_block><dt_assoc>\
         <item key=\"protocol\">XCP</item><item key=\"action\">SEND_PASSWORD</item>\
         <item key=\"object\">DOMAIN</item><item key=\"attributes\"><dt_array>{ops_items}</dt_array>\
         </item></dt_assoc></data_block></body></OPS_envelope>"
    );
    let reply = crate::xss::post(&server, "/", &ops).text();
    assert!(
        reply.contains("is_success"),
        "{}",
        &reply[..reply.len().min(400)]
    );
    assert!(
        reply.contains("would need more than") || reply.contains("Authentication"),
        "{}",
        &reply[..reply.len().min(400)]
    );
    server.assert_healthy(Duration::from_secs(1));
}

/// Clients that ask for large replies and never read them: what the socket does not take at
/// once is held for them, so it counts against the same budget. With an 8 MiB file and a
/// 16 MiB budget, twelve stalled downloads from six addresses would hold ~48 MiB (and held
/// ~150 MiB before replies were sent without copying the file); the replies that do not fit
/// are dropped (their connections closed, or the biggest holder's), RSS stays bounded, and a
/// good client is served and can download the file in full afterwards.
#[test]
fn stalled_downloads_cannot_exhaust_memory() {
    let server = Server::start_with(
        "max_body_bytes = 12582912\nmax_buffered_bytes = 16777216",
        "[xmlstorage]\nmax_file_size = 8388608\n",
    );
    let usernum = crate::xss::register(&server, "big@example.org", crate::xss::MD5_ASDF);
    let content = "x".repeat(8 * 1024 * 1024);
    let save = crate::xss::xmlrpc_call(
        "xmlStorageSystem.saveMultipleFiles",
        &[
            &usernum,
            crate::xss::MD5_ASDF,
            "<array><data><value>big.txt</value></data></array>",
            &format!("<array><data><value>{content}</value></data></array>"),
        ],
    );
    drop(content);
    let saved = crate::xss::post(&server, "/RPC2", &save).text();
    assert!(
        saved.contains("<boolean>0</boolean>"),
        "{}",
        &saved[..saved.len().min(400)]
    );
    let path = format!("/users/{usernum}/big.txt");
    let pid = server.pid();
    let before = status_bytes(pid, "VmRSS");
    let peak = PeakRss::start(pid);
    let good = GoodClient::start(server.addr);
    let stalled: Vec<TcpStream> = (0..12)
        .map(|i| {
            let source = format!("127.0.0.{}", 80 + i / 2);
            let socket =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            let local: SocketAddr = format!("{source}:0").parse().unwrap();
            socket.bind(&local.into()).unwrap();
            socket.connect(&server.addr.into()).unwrap();
            let mut stream: TcpStream = socket.into();
            stream
                .write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
                .unwrap();
            stream
        })
        .collect();
    // The workers are done after a moment (each held its file for a while: that is bounded
    // by the worker count and max_file_size); what stays is the unread replies, at most the
    // budget.
    std::thread::sleep(Duration::from_secs(3));
    let held = status_bytes(pid, "VmRSS");
    good.finish();
    let peak = peak.finish();
    assert!(
        held < before + 24 * MIB,
        "RSS went from {} MiB to {} MiB, and stays there, with 12 unread 8 MiB downloads",
        before / MIB,
        held / MIB
    );
    assert!(peak < 160 * MIB, "peak RSS {} MiB", peak / MIB);
    let log = server.settled_log();
    assert!(
        log.contains("response dropped") || log.contains("unread response data"),
        "no unread reply was dropped:\n{log}"
    );
    drop(stalled);
    // A good client downloads the whole file.
    let reply = crate::support::exchange_from(
        server.addr,
        Some("127.0.0.99"),
        format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        Duration::from_secs(20),
    );
    let (resp, _) = parse_response(&reply).expect("the file");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body.len(), 8 * 1024 * 1024);
}

/// `passlink_http_buffered_bytes` from /metrics.
fn buffered_bytes(server: &Server) -> f64 {
    let metrics = server.get("/metrics").text();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("passlink_http_buffered_bytes "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no buffered bytes gauge in\n{metrics}"))
}

/// Idle keep-alive connections hold no budget: a head that arrived in two reads (so its
/// buffer grew) followed by a stray CRLF left the buffer's capacity held for as long as the
/// connection stayed idle, and 1,000 such connections locked everyone else out.
#[test]
fn idle_keep_alive_connections_hold_nothing() {
    let server = Server::start();
    let mut idle = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        let pad = "p".repeat(15_000);
        stream
            .write_all(format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {pad}").as_bytes())
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        stream.write_all(b"\r\n\r\n\r\n").unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut reply = [0u8; 512];
        let n = stream.read(&mut reply).unwrap();
        assert!(reply[..n].starts_with(b"HTTP/1.1 200 "));
        idle.push(stream);
    }
    // Only the scrape's own request is in flight (its head, counted while it arrives).
    let held = buffered_bytes(&server);
    assert!(held < 4096.0, "{held} bytes held by 20 idle connections");
    server.assert_healthy(Duration::from_secs(1));
}

/// Many addresses each parking a body just under what would make them give way: a request
/// without a body still gets in (heads have a reserve bodies may not use), and a small POST
/// gets in by closing the unfinished request of one that holds more.
#[test]
fn many_small_holders_cannot_lock_others_out() {
    let server = Server::start_with("max_body_bytes = 262144\nmax_buffered_bytes = 1048576", "");
    let mut parked = Vec::new();
    for n in 0..20 {
        let mut stream = connect_from(server.addr, Some(&format!("127.0.1.{n}"))).unwrap();
        stream
            .write_all(b"POST /RPC2 HTTP/1.1\r\nHost: t\r\nContent-Length: 60000\r\n\r\n")
            .unwrap();
        parked.push(stream);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_healthy_from(server.addr, Some("127.0.2.1"), Duration::from_secs(1));
    let call = "<?xml version=\"1.0\"?><methodCall><methodName>xmlStorageSystem.ping</methodName><params/></methodCall>";
    assert_xmlrpc_answered(server.addr, "127.0.2.2", call);
    drop(parked);
}
