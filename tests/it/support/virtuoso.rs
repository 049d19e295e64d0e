//! A real OpenLink Virtuoso with its xmlStorageSystem SOAP service, for tests of the export
//! (`packaging/migrate/virtuoso-export`) and of `passlink import virtuoso`.
//!
//! How it works:
//! * Debian's `virtuoso-t` (package `virtuoso-opensource`) runs in the foreground, in its own
//!   process group, on a fresh database in a temporary directory, from a `virtuoso.ini` written
//!   here: SQL and HTTP on free `127.0.0.1` ports (found by binding port 0, then released), no
//!   `[Zero Config]` (mDNS), no plugins, no `VADInstallDir` (so no Conductor is installed), mail
//!   to `127.0.0.1:1` (refused: `mailPasswordToUser` answers "Mail service is not available").
//!   Nothing listens on another address.
//! * xmlStorageSystem is Virtuoso's ODS-Blog code (package `virtuoso-vad-ods`). Rather than
//!   installing the whole ODS framework, the `-- xmlStorageSystem API` section of
//!   `blog2/blog.sql` is cut out of `ods_blog_dav.vad` (items of 1-byte tag, 4-byte big-endian
//!   length, data: a name, then its content) and loaded after `USE "BLOG"`, without
//!   `requestNotification` (it needs the Weblog tables). Then a `/xmlStorageSystem` SOAP vdir
//!   runs as a disabled SQL user `XSS_SOAP` granted just the 7 methods (and delete on RDF_QUAD,
//!   which `deleteMultipleFiles` needs): its WSDL lists exactly those 7 operations.
//! * The `dba` password is then changed to [`DBA_PASSWORD`], which holds the characters that
//!   need care in isql, SQL and shells, so that [`Virtuoso::export`] tests the script's
//!   password handling. isql gets it on its standard input (`SET PWD='\ooo…'`), never in argv.
//!   Careful: Virtuoso locks a client IP out of SQL for 60 s after 4 failed logins.
//! * Accounts and files go in through Virtuoso's own SOAP endpoint with a real client: Debian's
//!   SOAP::Lite (`libsoap-lite-perl`), driven by `tests/fixtures/virtuoso-client/xss_soap.pl`
//!   with a JSON request on its standard input.
//!
//! What Virtuoso does with what it is sent (seen with this harness, Virtuoso 7.2.5.1):
//! * Strings (email, name, password, path, `xsd:string` file text) are stored in Virtuoso's
//!   default charset, ISO-8859-1: a character outside it becomes `?`. Passwords are compared as
//!   md5 (lowercase hex) of those ISO-8859-1 bytes, so [`Virtuoso::save`] and
//!   [`Virtuoso::call`]'s `md5` parameters hash the ISO-8859-1 encoding, as a client must.
//! * `xsd:base64Binary` file content is stored as the decoded bytes, except that NUL bytes at
//!   the very end are dropped when they are not the first byte of the last 3-byte group
//!   (`ab\0` is stored as `ab`, `abc\0` intact). [`Virtuoso::save`] refuses such content.
//! * Files are served at `GET /DAV/<email>/blog/<path>`, anonymously, with each stored byte of
//!   the path percent-encoded (`café` is `caf%E9`).
//!
//! Timing on a 2-core machine: [`Virtuoso::start`] takes about 4 s (3 s to create the database).

// A test uses some of these helpers, not necessarily all (CI denies warnings).
#![allow(dead_code)]

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Where Debian puts ODS's VAD packages (`virtuoso-vad-ods`).
const BLOG_VAD: &str = "/usr/share/virtuoso-opensource-7/vad/ods_blog_dav.vad";
const INSTALL: &str = "apt-get install virtuoso-opensource virtuoso-vad-ods";
/// Debian's name for Virtuoso's isql (`isql` is unixODBC's).
const ISQL: &str = "isql-vt";
/// The DBA password after [`Virtuoso::start`]: a quote, an apostrophe, a semicolon, a
/// backslash, a space, a comma and a dollar.
pub(crate) const DBA_PASSWORD: &str = "d\"b'a;\\ p,$w";
/// The methods `blog.sql` defines, but requestNotification.
const METHODS: [&str; 7] = [
    "registerUser",
    "getServerCapabilities",
    "saveMultipleFiles",
    "deleteMultipleFiles",
    "getMyDirectory",
    "mailPasswordToUser",
    "ping",
];
/// How long a first start may take (it is about 4 s, but CI machines are slow and busy).
const START_LIMIT: Duration = Duration::from_secs(180);

pub(crate) struct Virtuoso {
    dir: tempfile::TempDir,
    child: Child,
    http: SocketAddr,
    isql: SocketAddr,
    /// The DBA password isql logs in with ("dba" until the setup changes it).
    password: String,
}

/// `name` on `$PATH`, or a panic saying which package to install.
fn program(name: &str, package: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| panic!("{name} is not installed: {package}"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A string as an isql string literal: every byte as an octal escape.
fn isql_literal(s: &str) -> String {
    let mut lit = String::from("'");
    for b in s.bytes() {
        write!(lit, "\\{b:03o}").unwrap();
    }
    lit.push('\'');
    lit
}

/// A string as a Virtuoso SQL expression: `chr` of each byte, so nothing needs quoting.
fn sql_chr(s: &str) -> String {
    let parts: Vec<String> = s.bytes().map(|b| format!("chr ({b})")).collect();
    format!("concat ({})", parts.join(", "))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        write!(s, "{b:02x}").unwrap();
        s
    })
}

/// The last `n` lines of a file, for a panic message.
fn tail(path: &Path, n: usize) -> String {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The `-- xmlStorageSystem API` section of ODS-Blog's `blog2/blog.sql`, from the VAD file,
/// without requestNotification, to be loaded into the BLOG qualifier.
fn xss_sql() -> String {
    let vad = std::fs::read(BLOG_VAD)
        .unwrap_or_else(|e| panic!("{BLOG_VAD}: {e} (install it: {INSTALL})"));
    // Items: tag (1 byte), length (4 bytes, big-endian), data.
    let mut items = Vec::new();
    let mut at = 0;
    while at + 5 <= vad.len() {
        let len = u32::from_be_bytes(vad[at + 1..at + 5].try_into().unwrap()) as usize;
        let data = vad
            .get(at + 5..at + 5 + len)
            .unwrap_or_else(|| panic!("{BLOG_VAD}: an item runs past the end at byte {at}"));
        items.push(data);
        at += 5 + len;
    }
    let blog = items
        .windows(2)
        .find(|w| w[0] == b"blog2/blog.sql")
        .map(|w| String::from_utf8_lossy(w[1]).into_owned())
        .unwrap_or_else(|| panic!("no blog2/blog.sql in {BLOG_VAD}"));
    let start = blog
        .find("-- xmlStorageSystem API")
        .expect("no '-- xmlStorageSystem API' in blog2/blog.sql");
    let end = start
        + blog[start..]
            .find("--\n-- Movable Type API")
            .expect("no '-- Movable Type API' after the xmlStorageSystem section of blog.sql");
    let statements: Vec<&str> = blog[start..end]
        .split("\n;\n")
        .filter(|s| !s.contains("requestNotification") && !s.trim().is_empty())
        .collect();
    format!(
        "USE \"BLOG\";\n{}\n;\nUSE \"DB\";\n",
        statements.join("\n;\n")
    )
}

/// Whether an answer's `flError` is false (Virtuoso sends booleans as 0/1).
fn ok(answer: &serde_json::Value) -> bool {
    matches!(answer.get("flError"), Some(v) if v == 0 || v == "0" || v == false)
}

/// How many NUL bytes at the end of `bytes` Virtuoso drops when they come as base64Binary:
/// those in the last 3-byte group, but its first byte.
fn dropped_nuls(bytes: &[u8]) -> usize {
    let group = match bytes.len() % 3 {
        0 => 3.min(bytes.len()),
        n => n,
    };
    bytes[bytes.len() - group..]
        .iter()
        .skip(1)
        .rev()
        .take_while(|b| **b == 0)
        .count()
}

impl Virtuoso {
    /// Starts Debian's virtuoso-t on free loopback ports in a fresh temporary directory, with
    /// the xmlStorageSystem SOAP service at `/xmlStorageSystem`. Panics with a clear message if
    /// Virtuoso is not installed, and with the end of its log if it does not come up.
    pub(crate) fn start() -> Virtuoso {
        let server = program("virtuoso-t", INSTALL);
        program(ISQL, INSTALL);
        assert!(
            Path::new(BLOG_VAD).is_file(),
            "{BLOG_VAD} is missing: {INSTALL}"
        );
        let sql = xss_sql();
        // A port found free may be taken again before Virtuoso binds it: then try new ones.
        let mut attempt = 0;
        let mut v = loop {
            attempt += 1;
            match Virtuoso::spawn(&server) {
                Ok(v) => break v,
                Err(why) if attempt < 3 && why.contains("listen") => {}
                Err(why) => panic!("{why}"),
            }
        };
        let mut setup = sql;
        setup.push_str(
            "DB.DBA.USER_CREATE ('XSS_SOAP', uuid (), vector ('DISABLED', 1, 'LOGIN_QUALIFIER', 'BLOG'));\n\
             grant select, delete on DB.DBA.RDF_QUAD to XSS_SOAP;\n",
        );
        for m in METHODS {
            writeln!(
                setup,
                "grant execute on BLOG.xmlStorageSystem.\"{m}\" to XSS_SOAP;"
            )
            .unwrap();
        }
        setup.push_str(
            "DB.DBA.VHOST_DEFINE (lpath => '/xmlStorageSystem', ppath => '/SOAP/', soap_user => 'XSS_SOAP');\n",
        );
        writeln!(
            setup,
            "USER_SET_PASSWORD ('dba', {});",
            sql_chr(DBA_PASSWORD)
        )
        .unwrap();
        v.sql(&setup);
        v.password = DBA_PASSWORD.to_string();
        // The new password works, and the service is there with its 7 operations.
        assert_eq!(v.sql("select 'ready';").trim(), "ready");
        let (status, wsdl) = v.fetch("/xmlStorageSystem/services.wsdl");
        let wsdl = String::from_utf8_lossy(&wsdl).into_owned();
        assert_eq!(status, 200, "GET /xmlStorageSystem/services.wsdl: {wsdl}");
        for m in METHODS {
            assert!(
                wsdl.contains(&format!("<operation name=\"{m}\"")),
                "no {m} in the WSDL:\n{wsdl}"
            );
        }
        v
    }

    /// One try at starting the server; `Err` with the log's end if it exits or never comes up.
    fn spawn(server: &Path) -> Result<Virtuoso, String> {
        let dir = tempfile::Builder::new()
            .prefix("virtuoso-")
            .tempdir()
            .unwrap();
        let (sql_port, http_port) = loop {
            let (a, b) = (free_port(), free_port());
            if a != b {
                break (a, b);
            }
        };
        let d = dir.path().display();
        std::fs::create_dir(dir.path().join("vsp")).unwrap();
        let ini = format!(
            "; Written by tests/it/support/virtuoso.rs: loopback only, no mDNS, no plugins.\n\
             [Database]\n\
             DatabaseFile = {d}/virtuoso.db\n\
             ErrorLogFile = {d}/virtuoso.log\n\
             LockFile = {d}/virtuoso.lck\n\
             TransactionFile = {d}/virtuoso.trx\n\
             xa_persistent_file = {d}/virtuoso.pxa\n\
             ErrorLogLevel = 7\n\
             FileExtend = 200\n\
             MaxCheckpointRemap = 2000\n\
             Striping = 0\n\
             TempStorage = TempDatabase\n\
             \n\
             [TempDatabase]\n\
             DatabaseFile = {d}/virtuoso-temp.db\n\
             TransactionFile = {d}/virtuoso-temp.trx\n\
             MaxCheckpointRemap = 2000\n\
             Striping = 0\n\
             \n\
             [Parameters]\n\
             ServerPort = 127.0.0.1:{sql_port}\n\
             DisableUnixSocket = 1\n\
             DisableTcpSocket = 0\n\
             MaxClientConnections = 10\n\
             CheckpointInterval = 60\n\
             O_DIRECT = 0\n\
             CaseMode = 2\n\
             MaxStaticCursorRows = 5000\n\
             AllowOSCalls = 0\n\
             SchedulerInterval = 10\n\
             DirsAllowed = ., {d}\n\
             ThreadCleanupInterval = 0\n\
             ThreadThreshold = 10\n\
             ResourcesCleanupInterval = 0\n\
             NumberOfBuffers = 2000\n\
             MaxDirtyBuffers = 1500\n\
             \n\
             [HTTPServer]\n\
             ServerPort = 127.0.0.1:{http_port}\n\
             ServerRoot = {d}/vsp\n\
             DavRoot = DAV\n\
             EnabledDavVSP = 0\n\
             HTTPProxyEnabled = 0\n\
             MaxClientConnections = 10\n\
             ServerThreads = 10\n\
             MaxKeepAlives = 10\n\
             KeepAliveTimeout = 10\n\
             DefaultMailServer = 127.0.0.1:1\n\
             Charset = UTF-8\n\
             EnabledGzipContent = 0\n\
             \n\
             [URIQA]\n\
             DynamicLocal = 0\n\
             DefaultHost = 127.0.0.1:{http_port}\n"
        );
        std::fs::write(dir.path().join("virtuoso.ini"), ini).unwrap();
        let out = std::fs::File::create(dir.path().join("stdout.log")).unwrap();
        let child = Command::new(server)
            .args(["-f", "-c", "virtuoso.ini"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", server.display()));
        let mut v = Virtuoso {
            http: SocketAddr::from(([127, 0, 0, 1], http_port)),
            isql: SocketAddr::from(([127, 0, 0, 1], sql_port)),
            dir,
            child,
            password: "dba".to_string(),
        };
        let log = v.dir.path().join("virtuoso.log");
        let began = Instant::now();
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Server online at") {
                return Ok(v);
            }
            if let Some(status) = v.child.try_wait().unwrap() {
                return Err(format!(
                    "virtuoso-t exited ({status}) before it was online; the end of its log:\n{}\n{}",
                    tail(&log, 30),
                    tail(&v.dir.path().join("stdout.log"), 10)
                ));
            }
            if began.elapsed() > START_LIMIT {
                return Err(format!(
                    "virtuoso-t was not online within {START_LIMIT:?}; the end of its log:\n{}",
                    tail(&log, 30)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(crate) fn http_addr(&self) -> SocketAddr {
        self.http
    }

    pub(crate) fn isql_addr(&self) -> SocketAddr {
        self.isql
    }

    /// The directory of the server's database, ini and logs.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs SQL statements (each ended by `;`, or by a line with `;` after a procedure) in one
    /// isql session as dba; returns isql's standard output (the rows, no headers). Panics on
    /// any error or warning.
    pub(crate) fn sql(&self, sql: &str) -> String {
        let mut child = Command::new(ISQL)
            .args(["VERBOSE=OFF", "BANNER=OFF", "PROMPT=OFF", "ECHO=OFF"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{ISQL}: {e} ({INSTALL})"));
        let input = format!(
            "SET DSN={};\nSET UID='dba';\nSET PWD={};\nCONNECT;\n{sql}\nEXIT;\n",
            isql_literal(&self.isql.to_string()),
            isql_literal(&self.password)
        );
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "{ISQL} ({}) failed: {stderr}\nSQL:\n{sql}",
            out.status
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs the shipped `packaging/migrate/virtuoso-export` against this server into `out`
    /// (the DBA password in a file); returns its standard error (the summary and any
    /// warnings). Panics if it fails.
    pub(crate) fn export(&self, out: &Path) -> String {
        let output = self.export_output(out);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            output.status.success(),
            "virtuoso-export failed ({}): {stderr}",
            output.status
        );
        stderr
    }

    /// [`Virtuoso::export`], without the check: for tests of its failures.
    pub(crate) fn export_output(&self, out: &Path) -> Output {
        let password = self.dir.path().join("dba.password");
        std::fs::write(&password, format!("{}\n", self.password)).unwrap();
        std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).unwrap();
        Command::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/packaging/migrate/virtuoso-export"
        ))
        .arg("--isql")
        .arg(self.isql.to_string())
        .args(["--user", "dba", "--password-file"])
        .arg(&password)
        .arg("--http")
        .arg(format!("http://{}", self.http))
        .arg("--out")
        .arg(out)
        .env_remove("VIRTUOSO_PASSWORD")
        .env_remove("ISQL")
        .stdin(Stdio::null())
        .output()
        .unwrap()
    }

    /// One SOAP call with SOAP::Lite (`tests/fixtures/virtuoso-client/xss_soap.pl`); `params`
    /// is a JSON array of `{"name", "type", "value"}` (types: string, int, md5, strings,
    /// base64s: see the script). Returns the Result struct as JSON, or `{"fault": …}`.
    pub(crate) fn call(&self, method: &str, params: serde_json::Value) -> serde_json::Value {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/virtuoso-client/xss_soap.pl"
        );
        let mut child = Command::new("perl")
            .arg(script)
            .arg(format!("http://{}/xmlStorageSystem", self.http))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("perl (Debian's perl, with libsoap-lite-perl)");
        let request = serde_json::json!({ "method": method, "params": params }).to_string();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(request.as_bytes()));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "xss_soap.pl {method} failed ({}): {stderr}{}",
            out.status,
            if stderr.contains("SOAP/Lite.pm") {
                " (apt-get install libsoap-lite-perl)"
            } else {
                ""
            }
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "xss_soap.pl {method}: {e}: {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// registerUser (the plaintext password, as Virtuoso wants it there); panics unless it
    /// succeeds. Virtuoso keeps the name and password in ISO-8859-1: other characters become `?`.
    pub(crate) fn register(&self, email: &str, name: &str, password: &str) {
        let answer = self.call(
            "registerUser",
            serde_json::json!([
                { "name": "email", "type": "string", "value": email },
                { "name": "name", "type": "string", "value": name },
                { "name": "password", "type": "string", "value": password },
                { "name": "clientPort", "type": "int", "value": 5335 },
                { "name": "userAgent", "type": "string", "value": "virtuoso.rs" },
                { "name": "serialNumber", "type": "string", "value": "" },
            ]),
        );
        assert!(ok(&answer), "registerUser {email}: {answer}");
    }

    /// saveMultipleFiles of one file, its content as base64Binary (stored byte for byte); the
    /// password in plaintext (sent as md5 of its ISO-8859-1 bytes).
    pub(crate) fn save(&self, email: &str, password: &str, rel_path: &str, bytes: &[u8]) {
        self.save_all(email, password, &[(rel_path, bytes)]);
    }

    /// saveMultipleFiles of several files in one call. Panics on content Virtuoso would not
    /// store as sent (NULs at the end: see the module's documentation), or unless it succeeds.
    pub(crate) fn save_all(&self, email: &str, password: &str, files: &[(&str, &[u8])]) {
        for (path, bytes) in files {
            let lost = dropped_nuls(bytes);
            assert!(
                lost == 0,
                "{path}: Virtuoso would drop the last {lost} NUL byte(s) of this content \
                 (its base64 decoding drops NULs at the end of the last 3-byte group): end it \
                 otherwise, or make its length 1 more than a multiple of 3"
            );
        }
        let paths: Vec<&str> = files.iter().map(|(p, _)| *p).collect();
        let contents: Vec<String> = files.iter().map(|(_, b)| hex(b)).collect();
        self.save_call(
            email,
            password,
            &paths,
            "base64s",
            serde_json::json!(contents),
        );
    }

    /// saveMultipleFiles of one file as xsd:string text: Virtuoso stores it in ISO-8859-1
    /// (`é` as the byte E9, a character outside ISO-8859-1 as `?`). [`Virtuoso::save`] is the
    /// way to store UTF-8.
    pub(crate) fn save_text(&self, email: &str, password: &str, rel_path: &str, text: &str) {
        self.save_call(
            email,
            password,
            &[rel_path],
            "strings",
            serde_json::json!([text]),
        );
    }

    fn save_call(
        &self,
        email: &str,
        password: &str,
        paths: &[&str],
        kind: &str,
        contents: serde_json::Value,
    ) {
        let answer = self.call(
            "saveMultipleFiles",
            serde_json::json!([
                { "name": "email", "type": "string", "value": email },
                { "name": "password", "type": "md5", "value": password },
                { "name": "relativepathList", "type": "strings", "value": paths },
                { "name": "fileTextList", "type": kind, "value": contents },
            ]),
        );
        assert!(ok(&answer), "saveMultipleFiles {email} {paths:?}: {answer}");
        let urls = answer["urllist"].as_array().map_or(0, Vec::len);
        assert_eq!(
            urls,
            paths.len(),
            "saveMultipleFiles {email} {paths:?}: {answer}"
        );
    }

    /// `GET path` (already percent-encoded) from Virtuoso's HTTP server: status and body.
    pub(crate) fn fetch(&self, path: &str) -> (u16, Vec<u8>) {
        let mut stream = TcpStream::connect(self.http).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.http
        )
        .unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let head_end = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("GET {path}: no HTTP head in {response:?}"));
        let head = String::from_utf8_lossy(&response[..head_end]).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("GET {path}: bad status line in {head}"));
        (status, response[head_end + 4..].to_vec())
    }
}

impl Drop for Virtuoso {
    /// Kills the server's whole process group and reaps it; the temporary directory goes with
    /// the `TempDir`.
    fn drop(&mut self) {
        // bash's kill: dash's takes no negative process group, procps may not be installed.
        let _ = Command::new("bash")
            .args(["-c", "kill -KILL -- \"-$1\"", "kill"])
            .arg(self.child.id().to_string())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
