//! Starting the real `passlink` binary and talking raw HTTP to it.

pub mod postgres;
pub mod virtuoso;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_passlink");

/// A `passlink` command that ignores any config of the machine it runs on.
pub fn passlink() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("PASSLINK_CONFIG").env_remove("PASSLINK_LOG");
    cmd
}

/// `passlink ARGS --config CONFIG`, run to completion.
pub fn cli(config: &Path, args: &[&str]) -> std::process::Output {
    passlink()
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

/// [`cli`] with `input` on standard input (a password, say), closed after it.
pub fn cli_with_stdin(config: &Path, args: &[&str], input: &str) -> std::process::Output {
    let mut child = passlink()
        .args(args)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A config for a test: an ephemeral loopback port and a data directory in `dir`.
/// `server` goes into `[server]`; `rest` is appended as further tables (a `[storage]` table
/// there is merged with the data directory).
pub fn write_config(dir: &Path, server: &str, rest: &str) -> PathBuf {
    let path = dir.join("passlink.toml");
    let data_dir = format!("data_dir = {:?}\n", dir.join("data").display().to_string());
    // A `[storage]` table in `rest` gets the data directory added to it.
    let (storage, rest) = if rest.contains("[storage]\n") {
        (
            String::new(),
            rest.replacen("[storage]\n", &format!("[storage]\n{data_dir}"), 1),
        )
    } else {
        (format!("[storage]\n{data_dir}"), rest.to_string())
    };
    // The tests of other areas use short passwords; the password policy has its own tests
    // (tests/it/passwords.rs), which set `[passwords]` themselves.
    let passwords = if rest.contains("[passwords]") {
        ""
    } else {
        "[passwords]\nmin_score = 0\n"
    };
    let text =
        format!("[server]\nlisten = \"127.0.0.1:0\"\n{server}\n\n{storage}\n{passwords}{rest}\n");
    std::fs::write(&path, text).unwrap();
    path
}

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with("", "")
    }

    pub fn start_with(server: &str, rest: &str) -> Server {
        Server::start_in(tempfile::tempdir().unwrap(), server, rest)
    }

    /// Starts on a directory prepared beforehand: its `data/` may already hold a database
    /// (one restored from a replica, say).
    pub fn start_in(dir: tempfile::TempDir, server: &str, rest: &str) -> Server {
        let config = write_config(dir.path(), server, rest);
        Server::serve(dir, config)
    }

    /// Starts with exactly `config_text` as the config file (`dir/passlink.toml`), for
    /// `[[listener]]` tables and TLS files the test made in `dir`. The text must set
    /// `[storage] data_dir` (see [`data_dir_line`]) and have at least one TCP listener: the
    /// first one becomes [`Server::addr`].
    pub fn start_config(dir: tempfile::TempDir, config_text: &str) -> Server {
        let config = dir.path().join("passlink.toml");
        // As write_config: short test passwords, unless the test sets the policy itself.
        let text = if config_text.contains("[passwords]") {
            config_text.to_string()
        } else {
            format!("{config_text}\n[passwords]\nmin_score = 0\n")
        };
        std::fs::write(&config, text).unwrap();
        Server::serve(dir, config)
    }

    /// [`Server::start_in`], with `passlink serve` run by `sh -c` under `umask` (as outside the
    /// packaged unit, whose `UMask=` does not apply then).
    pub fn start_in_with_umask(
        dir: tempfile::TempDir,
        umask: &str,
        server: &str,
        rest: &str,
    ) -> Server {
        let config = write_config(dir.path(), server, rest);
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!(
                "umask {umask} && exec \"$0\" serve --config \"$1\""
            ))
            .arg(BIN)
            .arg(&config)
            .env_remove("PASSLINK_CONFIG")
            .env_remove("PASSLINK_LOG");
        Server::spawn(dir, config, cmd)
    }

    /// `passlink serve --config CONFIG` with `dir` as its directory, once it has announced
    /// its address.
    fn serve(dir: tempfile::TempDir, config: PathBuf) -> Server {
        let mut cmd = passlink();
        cmd.arg("serve").arg("--config").arg(&config);
        Server::spawn(dir, config, cmd)
    }

    fn spawn(dir: tempfile::TempDir, config: PathBuf, cmd: Command) -> Server {
        let (child, addr, log) = spawn_and_wait(cmd, dir.path());
        Server {
            child,
            addr,
            dir,
            config,
            log,
        }
    }

    /// The listeners as the start line announced them, in config order.
    pub fn listeners(&self) -> Vec<Announced> {
        let log = self.log();
        let line = log
            .lines()
            .find(|l| l.contains(" listening on "))
            .unwrap_or_else(|| panic!("no start line in the log:\n{log}"));
        announced(line)
    }

    /// The TCP address of the listener that serves exactly `serve` (as announced, such as
    /// `"status"` or `"xmlstorage, files, xcp, reset, status"`).
    pub fn listener_addr(&self, serve: &str) -> SocketAddr {
        let all = self.listeners();
        all.iter()
            .find(|l| l.serve == serve)
            .and_then(|l| l.addr)
            .unwrap_or_else(|| panic!("no TCP listener serving exactly {serve:?}: {all:?}"))
    }

    /// The server's process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The whole log up to now: a marker request is made and its line awaited, so every line
    /// of earlier requests is in. For checks that something was *not* logged.
    pub fn settled_log(&self) -> String {
        static MARKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MARKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = format!("/log-marker-{n}");
        assert_eq!(self.get(&path).status, 404);
        self.wait_log(&format!("path={path} "), Duration::from_secs(5))
    }

    /// The log once it contains `needle`. stderr is read by another thread, so a line may
    /// arrive a moment after the reply that caused it.
    pub fn wait_log(&self, needle: &str, within: Duration) -> String {
        let start = Instant::now();
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            assert!(
                start.elapsed() < within,
                "{needle:?} not logged within {within:?}; log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills the process with SIGKILL (no chance to clean up), then starts a new one on the
    /// same data directory with a rewritten config.
    pub fn kill_and_restart(&mut self, server: &str, rest: &str) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.config = write_config(self.dir.path(), server, rest);
        let mut cmd = passlink();
        cmd.arg("serve").arg("--config").arg(&self.config);
        let (child, addr, log) = spawn_and_wait(cmd, self.dir.path());
        self.child = child;
        self.addr = addr;
        self.log = log;
    }

    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name} failed");
    }

    /// Waits for the process to exit on its own.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "passlink did not exit within {limit:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn get(&self, path: &str) -> HttpResponse {
        get(self.addr, path)
    }

    /// A good request must still be answered, quickly: the check after every hostile input.
    pub fn assert_healthy(&self, within: Duration) {
        assert_healthy_from(self.addr, None, within);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd`, collects its stderr, and waits for the "listening on" line.
pub fn spawn_and_wait(
    mut cmd: Command,
    cwd: &Path,
) -> (Child, SocketAddr, Arc<Mutex<Vec<String>>>) {
    let mut child = cmd
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let sink = log.clone();
    std::thread::spawn(move || {
        // Keep draining after the announcement so the server never blocks on a full pipe.
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            // The first TCP listener; a unix socket may come before it.
            let first = line
                .contains(" listening on ")
                .then(|| announced(&line).into_iter().find_map(|l| l.addr));
            // Into the log before the announcement is passed on, so the log has it.
            sink.lock().unwrap().push(line);
            if let Some(first) = first {
                let _ = tx.send(first.map_or_else(String::new, |a| a.to_string()));
            }
        }
    });
    let addr = match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(addr) => addr.parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "passlink announced no TCP listener; log:\n{}",
                log.lock().unwrap().join("\n")
            )
        }),
        Err(_) => {
            let _ = child.kill();
            panic!(
                "passlink did not announce its address; log:\n{}",
                log.lock().unwrap().join("\n")
            );
        }
    };
    (child, addr, log)
}

/// `data_dir = "…"` for a `[storage]` table: the data directory under `dir`.
pub fn data_dir_line(dir: &Path) -> String {
    format!("data_dir = {:?}", dir.join("data").display().to_string())
}

/// One listener of the start line, such as `https://127.0.0.1:4431 (xcp, status)` or
/// `unix:/tmp/x.sock (status)`.
#[derive(Debug, Clone)]
pub struct Announced {
    /// As printed: `https://127.0.0.1:4431`, `unix:/tmp/x.sock`.
    pub at: String,
    /// The TCP address, `None` for a unix socket.
    pub addr: Option<SocketAddr>,
    /// The groups as printed, comma-separated: `xmlstorage, files`.
    pub serve: String,
}

/// The listeners in a start line: `… listening on A (g, h); B (g) (public URL …), data in …`.
pub fn announced(line: &str) -> Vec<Announced> {
    let Some(rest) = line.split(" listening on ").nth(1) else {
        return Vec::new();
    };
    let list = rest.split(" (public URL ").next().unwrap_or(rest);
    list.split("; ")
        .filter_map(|item| {
            // The groups are the last parenthesised part; "(TLS)" may come before it.
            let open = item.rfind(" (")?;
            let serve = item[open + 2..].strip_suffix(')')?.to_string();
            let at = item[..open].trim_end_matches(" (TLS)").to_string();
            let addr = at
                .strip_prefix("http://")
                .or_else(|| at.strip_prefix("https://"))
                .and_then(|a| a.parse().ok());
            Some(Announced { at, addr, serve })
        })
        .collect()
}

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Parses one response from the front of `bytes`, returning it and the bytes it used.
pub fn parse_response(bytes: &[u8]) -> Option<(HttpResponse, usize)> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let start = end + 4;
    let body = bytes.get(start..start + length)?.to_vec();
    Some((
        HttpResponse {
            status,
            headers,
            body,
        },
        start + length,
    ))
}

/// Parses every complete response in `bytes`, in order.
pub fn parse_all(mut bytes: &[u8]) -> Vec<HttpResponse> {
    let mut out = Vec::new();
    while let Some((resp, used)) = parse_response(bytes) {
        out.push(resp);
        bytes = &bytes[used..];
    }
    out
}

/// Sends `request` and reads until the server closes or `limit` passes.
pub fn exchange(addr: SocketAddr, request: &[u8], limit: Duration) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(limit)).unwrap();
    // The server may answer and close before a large request is fully written.
    let _ = stream.write_all(request);
    read_to_close(&mut stream, limit)
}

/// [`exchange`] from a chosen loopback source address.
pub fn exchange_from(
    addr: SocketAddr,
    source: Option<&str>,
    request: &[u8],
    limit: Duration,
) -> Vec<u8> {
    let mut stream = connect_from(addr, source).unwrap();
    stream.set_read_timeout(Some(limit)).unwrap();
    let _ = stream.write_all(request);
    read_to_close(&mut stream, limit)
}

pub fn read_to_close(stream: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    while start.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    out
}

pub fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    let bytes = exchange(addr, request.as_bytes(), Duration::from_secs(10));
    parse_response(&bytes)
        .unwrap_or_else(|| panic!("no response: {:?}", String::from_utf8_lossy(&bytes)))
        .0
}

/// A TCP connection to `addr` from a chosen loopback source address.
pub fn connect_from(addr: SocketAddr, source: Option<&str>) -> std::io::Result<TcpStream> {
    let Some(source) = source else {
        return TcpStream::connect(addr);
    };
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    let local: SocketAddr = format!("{source}:0").parse().unwrap();
    socket.bind(&local.into())?;
    socket.connect(&addr.into())?;
    Ok(socket.into())
}

/// GET /healthz (optionally from another loopback address) must answer 200 within `within`.
pub fn assert_healthy_from(addr: SocketAddr, source: Option<&str>, within: Duration) {
    let start = Instant::now();
    let mut stream = connect_from(addr, source).unwrap();
    stream.set_read_timeout(Some(within)).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .unwrap();
    let bytes = read_to_close(&mut stream, within);
    let elapsed = start.elapsed();
    let (resp, _) = parse_response(&bytes).unwrap_or_else(|| {
        panic!(
            "no /healthz answer within {within:?}: {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.text(), "ok\n");
    assert!(elapsed < within, "/healthz took {elapsed:?}");
}
