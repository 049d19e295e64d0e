//! The operator's first hour: the traps a newcomer walks into (links to nowhere, root-owned
//! files, files the config names that cannot be used), and errors that say what to do. Each
//! runs the real binary the way an operator would type it.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::support::{Server, cli, cli_with_stdin, passlink, write_config};
use crate::xss::{MD5_ASDF, capabilities_ok, post, register, xmlrpc_call};

const EXIT_CONFIG: i32 = 78;
const EXIT_NOPERM: i32 = 77;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `serve` with this config must exit on its own (with a config error, say): its status and
/// stderr.
fn serve_exits(config: &Path) -> (Option<i32>, String) {
    let mut child = passlink()
        .arg("serve")
        .arg("--config")
        .arg(config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            return (status.code(), err);
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("serve did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1).map(|id| id == "0"))
        .unwrap_or(false)
}

#[test]
fn a_wildcard_listener_without_public_url_is_a_config_error_not_links_to_nowhere() {
    for address in ["0.0.0.0:0", "[::]:0"] {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("passlink.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\nlisten = \"{address}\"\n[storage]\ndata_dir = {:?}\n",
                dir.path().join("data").display().to_string()
            ),
        )
        .unwrap();
        let out = cli(&config, &["check-config"]);
        assert_eq!(out.status.code(), Some(EXIT_CONFIG), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("key `server.public_url`")
                && err.contains("wildcard address")
                && err.contains("https://passlink.example.org"),
            "{err}"
        );
        let (code, err) = serve_exits(&config);
        assert_eq!(code, Some(EXIT_CONFIG), "{err}");
        assert!(err.contains("server.public_url"), "{err}");
        assert!(
            !dir.path().join("data").exists(),
            "a config error must not create the data directory"
        );
        // With the URL users open, the same listener is fine.
        std::fs::write(
            &config,
            format!(
                "[server]\nlisten = \"{address}\"\npublic_url = \"https://pl.example.org\"\n\
                 [storage]\ndata_dir = {:?}\n",
                dir.path().join("data").display().to_string()
            ),
        )
        .unwrap();
        let out = cli(&config, &["check-config"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).contains("# links: reset https://pl.example.org/reset/..."),
            "{}",
            stdout(&out)
        );
    }
}

#[test]
fn a_loopback_link_while_others_can_connect_is_warned_at_check_and_start() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[storage]\n{}\n[[listener]]\naddress = \"127.0.0.1:0\"\n\
         serve = [\"xmlstorage\", \"files\", \"reset\", \"status\"]\n\
         [[listener]]\naddress = \"0.0.0.0:0\"\nserve = [\"xcp\"]\n",
        crate::support::data_dir_line(dir.path())
    );
    let config = dir.path().join("passlink.toml");
    std::fs::write(&config, &text).unwrap();
    let out = cli(&config, &["check-config"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("passlink: warning: server.public_url is not set: links in reset mails")
            && err.contains("http://127.0.0.1:0")
            && err.contains("0.0.0.0:0 accepts other clients"),
        "{err}"
    );
    // The spool (no smtp.host) is said too, and standard output stays a valid config.
    assert!(
        err.contains("passlink: warning: smtp.host is not set"),
        "{err}"
    );
    let printed = stdout(&out);
    toml::from_str::<toml::Table>(&printed).unwrap_or_else(|e| panic!("{e}\n{printed}"));
    let server = Server::start_config(dir, &text);
    server.wait_log(
        "WARN  server.public_url is not set: links in reset mails",
        Duration::from_secs(5),
    );
}

#[test]
fn check_config_reads_tls_files_and_templates_as_serve_does() {
    let dir = tempfile::tempdir().unwrap();
    let base = format!("[storage]\n{}\n", crate::support::data_dir_line(dir.path()));
    let config = dir.path().join("passlink.toml");
    // A certificate that does not exist.
    let missing = dir.path().join("missing.pem");
    std::fs::write(
        &config,
        format!(
            "{base}[[listener]]\naddress = \"127.0.0.1:0\"\nserve = [\"xcp\"]\n\
             tls = {{ cert_file = {:?}, key_file = {:?} }}\n",
            missing.display().to_string(),
            missing.display().to_string()
        ),
    )
    .unwrap();
    let out = cli(&config, &["check-config"]);
    assert_eq!(out.status.code(), Some(EXIT_CONFIG), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("key `listener[0].tls`") && err.contains("missing.pem"),
        "{err}"
    );
    let (code, err) = serve_exits(&config);
    assert_eq!(code, Some(EXIT_CONFIG), "{err}");

    // A certificate and a key of two different pairs.
    let mut pki = crate::tls::Pki::new(dir.path(), "op");
    let (cert_a, key_a) = (dir.path().join("a.pem"), dir.path().join("a.key"));
    let (cert_b, key_b) = (dir.path().join("b.pem"), dir.path().join("b.key"));
    pki.issue("a", crate::tls::KeyForm::EcPkcs8, &cert_a, &key_a);
    pki.issue("b", crate::tls::KeyForm::EcPkcs8, &cert_b, &key_b);
    for (cert, key, what) in [
        (&cert_a, &key_b, "mismatched"),
        (&key_a, &cert_a, "swapped"),
    ] {
        std::fs::write(
            &config,
            format!(
                "{base}[[listener]]\naddress = \"127.0.0.1:0\"\nserve = [\"xcp\"]\n\
                 tls = {{ cert_file = {:?}, key_file = {:?} }}\n",
                cert.display().to_string(),
                key.display().to_string()
            ),
        )
        .unwrap();
        let out = cli(&config, &["check-config"]);
        assert_eq!(
            out.status.code(),
            Some(EXIT_CONFIG),
            "{what}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("listener[0].tls"),
            "{what}: {}",
            stderr(&out)
        );
        let (code, err) = serve_exits(&config);
        assert_eq!(code, Some(EXIT_CONFIG), "{what}: {err}");
    }

    // Templates: a misspelt placeholder, then no link at all.
    let templates = dir.path().join("templates");
    std::fs::create_dir(&templates).unwrap();
    let with_templates = format!(
        "{base}[reset]\ntemplates_dir = {:?}\n",
        templates.display().to_string()
    );
    std::fs::write(&config, &with_templates).unwrap();
    std::fs::write(
        templates.join("reset.txt"),
        "Subject: Your password\n\nHello {acount},\n\n{link}\n",
    )
    .unwrap();
    let out = cli(&config, &["check-config"]);
    assert_eq!(out.status.code(), Some(EXIT_CONFIG), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("key `reset.templates_dir`")
            && err.contains("reset.txt:3: unknown placeholder {acount}"),
        "{err}"
    );
    std::fs::write(templates.join("reset.txt"), "Hello {account}, bye\n").unwrap();
    let out = cli(&config, &["check-config"]);
    assert_eq!(out.status.code(), Some(EXIT_CONFIG), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("reset.txt:1: no {link}"),
        "{}",
        stderr(&out)
    );
    let (code, err) = serve_exits(&config);
    assert_eq!(code, Some(EXIT_CONFIG), "{err}");
    // Fixed, both accept it.
    std::fs::write(templates.join("reset.txt"), "Hello {account}: {link}\n").unwrap();
    let out = cli(&config, &["check-config"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_port_in_use_stops_the_start_before_the_disk_is_touched() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "", "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    std::fs::write(&config, text).unwrap();
    let (code, err) = serve_exits(&config);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}"))
            && err.contains("another program listens there"),
        "{err}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "the data directory was created although the start failed"
    );
}

#[test]
fn read_only_commands_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "", "");
    for args in [
        &["user", "list"][..],
        &["reseller", "list"],
        &["domain", "list"],
        &["outbox", "list"],
    ] {
        let out = cli(&config, args);
        assert!(!out.status.success(), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains("no database at") && err.contains("passlink db migrate"),
            "{args:?}: {err}"
        );
        assert!(
            !dir.path().join("data/passlink.sqlite3").exists(),
            "{args:?} created the database"
        );
    }
    // A command that changes something creates it, as serve would.
    let out = cli(&config, &["reseller", "add", "first"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(&config, &["reseller", "list"]);
    assert!(stdout(&out).contains("first"), "{}", stdout(&out));
}

#[test]
fn db_backup_into_a_directory_or_a_missing_one_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "", "");
    assert!(cli(&config, &["db", "migrate"]).status.success());
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let target = format!("{}/", backups.display());
    let out = cli(&config, &["db", "backup", &target]);
    assert!(out.status.success(), "{}", stderr(&out));
    let made: Vec<_> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    assert!(
        made[0].starts_with("passlink-") && made[0].ends_with("Z.sqlite3"),
        "{made:?}"
    );
    assert!(stdout(&out).contains(&made[0]), "{}", stdout(&out));
    let out = cli(&config, &["db", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let missing = dir.path().join("nope/x.sqlite3");
    let out = cli(&config, &["db", "backup", missing.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}: no such directory",
            dir.path().join("nope").display()
        )) && !err.contains("partial"),
        "{err}"
    );
    let out = cli(
        &config,
        &["db", "backup", &format!("{}/", missing.display())],
    );
    assert!(
        stderr(&out).contains("no such directory"),
        "{}",
        stderr(&out)
    );
}

/// The packaged trap: `sudo passlink …` on the service's data directory. Needs root (to own
/// nothing, and to make a directory another user's); packaging/test.sh does the same on the
/// installed package.
#[test]
fn root_is_refused_on_a_data_directory_that_belongs_to_another_user() {
    if !running_as_root() {
        eprintln!("skipped: needs root (packaging/test.sh covers it with sudo)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "", "");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let chown = Command::new("chown")
        .arg("nobody:")
        .arg(&data)
        .status()
        .unwrap();
    assert!(chown.success());
    for args in [
        &["user", "list"][..],
        &["reseller", "add", "x"],
        &["db", "migrate"],
        &["serve"],
    ] {
        let out = cli(&config, args);
        assert_eq!(
            out.status.code(),
            Some(EXIT_NOPERM),
            "{args:?}: {}",
            stderr(&out)
        );
        let err = stderr(&out);
        assert!(
            err.contains(&format!("{} belongs to nobody", data.display()))
                && err.contains(&format!("sudo -u nobody passlink {}", args.join(" "))),
            "{args:?}: {err}"
        );
    }
    assert_eq!(
        std::fs::read_dir(&data).unwrap().count(),
        0,
        "a refused command left files behind"
    );
    // Reading the config touches no data: allowed.
    assert!(cli(&config, &["check-config"]).status.success());
}

/// What an operator sees when the files are already wrong: the path, its owner and mode, and
/// who passlink runs as.
#[test]
fn a_database_passlink_cannot_open_names_its_owner_and_mode() {
    if !running_as_root() {
        eprintln!("skipped: needs root to run passlink as another user (setpriv)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Readable to all, so that `nobody` can read the config and reach the data directory.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let config = write_config(dir.path(), "", "");
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    assert!(cli(&config, &["db", "migrate"]).status.success());
    let data = dir.path().join("data");
    std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let as_nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(crate::support::BIN)
            .args(args)
            .arg("--config")
            .arg(&config)
            .env_remove("PASSLINK_CONFIG")
            .output()
            .unwrap()
    };
    for args in [&["user", "remove", "x"][..], &["db", "check"]] {
        let out = as_nobody(args);
        assert!(!out.status.success(), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "{} is owned by root:root, mode 0600; passlink runs as nobody (uid ",
                data.join("passlink.sqlite3").display()
            )),
            "{args:?}: {err}"
        );
    }
    let out = as_nobody(&["user", "remove", "x"]);
    assert!(
        stderr(&out).contains(&format!("chown -R root: {}", data.display())),
        "{}",
        stderr(&out)
    );
    // A data directory that cannot be created: the directory above it, owned and moded.
    let text = std::fs::read_to_string(&config).unwrap().replace(
        &data.display().to_string(),
        &dir.path().join("new").display().to_string(),
    );
    std::fs::write(&config, text).unwrap();
    let out = as_nobody(&["db", "migrate"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!(
            "{}: Permission denied (os error 13) ({} is owned by root:root, mode 0755; \
             passlink runs as nobody (uid ",
            dir.path().join("new").display(),
            dir.path().display()
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_failed_xmlstorage_login_is_logged_with_address_and_login_for_fail2ban() {
    let server = Server::start();
    let usernum = register(&server, "fan@example.com", MD5_ASDF);
    let wrong = "0123456789abcdef0123456789abcdef";
    assert!(!capabilities_ok(&server, &usernum, wrong));
    let log = server.wait_log("xmlstorage: login failed", Duration::from_secs(5));
    assert!(
        log.contains(&format!(
            "WARN  xmlstorage: login failed from 127.0.0.1 for \"{usernum}\" (unknown login, \
             wrong password or disabled account)"
        )),
        "{log}"
    );
    // An unknown login reads the same, so the log enumerates nothing either.
    assert!(!capabilities_ok(&server, "nobody@example.com", wrong));
    let log = server.wait_log("for \"nobody@example.com\"", Duration::from_secs(5));
    assert!(!log.contains(wrong) && !log.contains(MD5_ASDF), "{log}");
    assert!(capabilities_ok(&server, &usernum, MD5_ASDF));
}

#[test]
fn a_string_sent_as_base64_is_taken_as_its_text() {
    let server = Server::start();
    // As Perl's XMLRPC::Lite sends a name with a non-ASCII letter.
    let body = xmlrpc_call(
        "xmlStorageSystem.registerUser",
        &[
            "zoe@example.com",
            "<base64>Wm/DqyDDhW5nc3Ryw7Zt</base64>",
            MD5_ASDF,
            "<int>5335</int>",
            "perl",
        ],
    );
    let text = post(&server, "/RPC2", &body).text();
    assert!(text.contains("<boolean>0</boolean>"), "{text}");
    let out = Command::new(crate::support::BIN)
        .args(["user", "show", "zoe@example.com", "--config"])
        .arg(&server.config)
        .output()
        .unwrap();
    assert!(stdout(&out).contains("Zoë Ångström"), "{}", stdout(&out));
    // Bytes that are not UTF-8 text are still refused, saying which parameter.
    let body = xmlrpc_call(
        "xmlStorageSystem.registerUser",
        &[
            "x@example.com",
            "<base64>//4=</base64>",
            MD5_ASDF,
            "<int>1</int>",
            "p",
        ],
    );
    let text = post(&server, "/RPC2", &body).text();
    assert!(
        text.contains("faultString") && text.contains("parameter 2 (name)"),
        "{text}"
    );
    server.assert_healthy(Duration::from_secs(5));
}

#[test]
fn xmlrpc_introspection_answers_from_the_method_table() {
    let server = Server::start();
    let script = r#"
import sys, xmlrpc.client
s = xmlrpc.client.ServerProxy(sys.argv[1])
names = s.system.listMethods()
assert "xmlStorageSystem.registerUser" in names and "system.methodHelp" in names, names
assert len(names) == 15, names
print(s.system.methodHelp("xmlStorageSystem.registerUser"))
print(s.system.methodSignature("xmlStorageSystem.registerUser"))
print(s.system.methodSignature("xmlStorageSystem.rssPleaseNotify"))
try:
    s.system.methodHelp("nope")
except xmlrpc.client.Fault as f:
    print("fault", f.faultString)
"#;
    let out = Command::new("python3")
        .args(["-c", script, &format!("http://{}/RPC2", server.addr)])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains("Creates an account and answers its usernum")
            && text.contains("  1. email (string)")
            && text.contains("  6. serialNumber (string, optional)")
            && text.contains("Answers: a struct with usernum (string), flError (boolean)"),
        "{text}"
    );
    assert!(
        text.contains(
            "[['struct', 'string', 'string', 'string', 'int', 'string'], \
             ['struct', 'string', 'string', 'string', 'int', 'string', 'string']]"
        ),
        "{text}"
    );
    assert!(
        text.contains("[['boolean', 'string', 'int', 'string', 'string', 'array']]"),
        "{text}"
    );
    assert!(
        text.contains("fault system.methodHelp: unknown method \"nope\""),
        "{text}"
    );
    server.assert_healthy(Duration::from_secs(5));
}

#[test]
fn an_smtp_server_that_refuses_is_named_in_the_log() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let server = Server::start_with(
        "",
        &format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n\
             from = \"passlink@example.org\"\n"
        ),
    );
    register(&server, "mail@example.com", MD5_ASDF);
    let body = xmlrpc_call("xmlStorageSystem.mailPasswordToUser", &["mail@example.com"]);
    assert!(
        post(&server, "/RPC2", &body)
            .text()
            .contains("<boolean>0</boolean>")
    );
    let log = server.wait_log("not delivered", Duration::from_secs(20));
    assert!(
        log.contains(&format!("SMTP 127.0.0.1:{port}: "))
            && log.contains("nothing listens there: check smtp.host, smtp.port and smtp.security"),
        "{log}"
    );
    server.assert_healthy(Duration::from_secs(5));
}

/// The shipped fail2ban filter, run by Debian's `fail2ban-regex` over what passlink really
/// logged: both kinds of failure are found, with the client's address and not an address a
/// client wrote into its login.
#[test]
fn the_shipped_fail2ban_filter_finds_real_failures_and_no_forged_address() {
    let server = Server::start();
    let usernum = register(&server, "f2b@example.com", MD5_ASDF);
    let wrong = "0123456789abcdef0123456789abcdef";
    assert!(!capabilities_ok(&server, &usernum, wrong));
    // A login that names another address, to get that one banned.
    assert!(!capabilities_ok(
        &server,
        "x\" from 10.9.9.9 for \"y",
        wrong
    ));
    let body = crate::xcp::envelope(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "a.example")],
    );
    let reply = crate::xcp::post_signed(
        server.addr,
        "/",
        "nobody from 10.8.8.8 (unknown reseller, or missing or wrong signature)",
        "0000",
        &body,
    );
    assert_eq!(reply.status, 200);
    assert!(capabilities_ok(&server, &usernum, MD5_ASDF));
    let log = server.settled_log();
    let file = server.dir.path().join("passlink.log");
    std::fs::write(&file, &log).unwrap();
    let filter = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/fail2ban/passlink.conf"
    );
    let out = Command::new("fail2ban-regex")
        .args(["-v", file.to_str().unwrap(), filter])
        .output()
        .expect("fail2ban-regex (Debian's fail2ban; .ci/run installs it)");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("3 matched"), "{text}\nlog:\n{log}");
    // Every address found is the client's own.
    let found: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim_start_matches(['|', ' ']).split_whitespace().next())
        .filter(|w| w.parse::<std::net::IpAddr>().is_ok())
        .collect();
    assert_eq!(found, ["127.0.0.1"; 3], "{text}");
}

/// The README's "Try it" block, run as written against a real server (its address and data
/// directory put in): a newcomer's first session must work.
#[test]
fn the_readme_try_it_block_works_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = &readme[readme.find("### Try it").expect("a Try it section")..];
    let start = section.find("```sh\n").unwrap() + 6;
    let block = &section[start..start + section[start..].find("```").unwrap()];
    // With the shipped password policy, as a newcomer runs it.
    let server = Server::start_with("", "[passwords]\nmin_score = 3\n");
    let data = server.dir.path().join("data");
    let script = block
        .replace("127.0.0.1:5445", &server.addr.to_string())
        .replace("passlink-data/", &format!("{}/", data.display()));
    assert_ne!(
        script, block,
        "the block names the quick start's address and data"
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("'flError': False"), "{text}");
    let link = text
        .lines()
        .find_map(|l| l.strip_prefix("open: "))
        .unwrap_or_else(|| panic!("no link printed: {text}"));
    let prefix = format!("http://{}", server.addr);
    let path = link
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{link}"));
    let page = server.get(path);
    assert_eq!(page.status, 200, "{link}");
    assert!(page.text().contains("you@example.org"), "{}", page.text());
}

/// `passlink ARGS` at a terminal (a pseudo-terminal from util-linux `script`), typing `input`:
/// what the terminal showed, and the exit status.
fn at_terminal(config: &Path, args: &str, input: &str) -> (String, bool) {
    use std::io::Write;
    let command = format!(
        "{} {args} --config {}",
        crate::support::BIN,
        config.display()
    );
    let mut child = Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .env_remove("PASSLINK_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux)");
    // Typed a line at a time, as a person would, once each prompt is up.
    let mut stdin = child.stdin.take().unwrap();
    for line in input.lines() {
        std::thread::sleep(Duration::from_millis(300));
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    (
        format!("{}{}", stdout(&out), stderr(&out)),
        out.status.success(),
    )
}

#[test]
fn set_password_at_a_terminal_asks_twice_without_echo_and_says_when_stdin_is_empty() {
    let server = Server::start();
    let usernum = register(&server, "tty@example.com", MD5_ASDF);
    let config = server.config.clone();
    // Two different entries: refused, nothing changed.
    let (screen, ok) = at_terminal(
        &config,
        &format!("user set-password {usernum}"),
        "first-secret-1\nsecond-secret-2\n",
    );
    assert!(!ok, "{screen}");
    assert!(
        screen.contains(&format!("New password for {usernum} (tty@example.com): "))
            && screen.contains("The same password again: ")
            && screen.contains("the two passwords differ; nothing was changed"),
        "{screen}"
    );
    assert!(!screen.contains("first-secret-1"), "echoed: {screen}");
    assert!(capabilities_ok(&server, &usernum, MD5_ASDF));
    // The same twice: changed, and the typing never shown.
    let (screen, ok) = at_terminal(
        &config,
        &format!("user set-password {usernum}"),
        "typed-at-a-tty\ntyped-at-a-tty\n",
    );
    assert!(ok, "{screen}");
    assert!(!screen.contains("typed-at-a-tty"), "echoed: {screen}");
    let md5 = passlink::hex::md5_hex(b"typed-at-a-tty");
    assert!(capabilities_ok(&server, &usernum, &md5));
    // Standard input that is empty (a script that forgot to pipe the password).
    let out = passlink()
        .args(["user", "set-password", &usernum, "--config"])
        .arg(&config)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("standard input is empty, so there is no new password"),
        "{}",
        stderr(&out)
    );
    assert!(capabilities_ok(&server, &usernum, &md5));
}

#[test]
fn user_add_creates_an_account_that_logs_in() {
    let server = Server::start();
    let config = server.config.clone();
    let add = |email: &str, input: &str| {
        cli_with_stdin(
            &config,
            &["user", "add", email, "--name", "Ada Admin"],
            input,
        )
    };
    let out = add("ada@example.com", "a fine password\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let usernum = text
        .strip_prefix("user ")
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("{text}"))
        .to_string();
    assert_eq!(text, format!("user {usernum} (ada@example.com) added\n"));
    let md5 = passlink::hex::md5_hex(b"a fine password");
    assert!(capabilities_ok(&server, &usernum, &md5));
    assert!(capabilities_ok(&server, "ada@example.com", &md5));
    // Again: refused, saying where to look; a short password: the policy.
    let out = add("ada@example.com", "another password\n");
    assert!(stderr(&out).contains("exists already"), "{}", stderr(&out));
    let out = add("bob@example.com", "short\n");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("8"), "{}", stderr(&out));
    let out = add("not-an-address", "a fine password\n");
    assert!(
        stderr(&out).contains("is not an email address"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn reseller_show_allow_and_remove_say_what_they_do() {
    let server = Server::start();
    let config = server.config.clone();
    let key = crate::xcp::add_reseller(&server, "acme", &["192.0.2.0/24"]);
    crate::xcp::add_domain(&server, "one.example", "acme", "owner1");
    crate::xcp::add_domain(&server, "two.example", "acme", "owner2");
    let out = cli(&config, &["reseller", "show", "acme"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains("allowed ips: 192.0.2.0/24")
            && text.contains("profiles:    2")
            && text.contains("domains:     2\n  one.example\n  two.example"),
        "{text}"
    );
    assert!(!text.contains(&key), "the key must never be shown again");
    // A new allowlist keeps the key: the reseller's signed request from loopback now works.
    let out = cli(
        &config,
        &["reseller", "allow", "acme", "--allow-ip", "127.0.0.1"],
    );
    assert!(stdout(&out).contains("allowed ips now 127.0.0.1/32 (key unchanged)"));
    let body = crate::xcp::envelope(
        "send_password",
        "domain",
        &[],
        &[("domain_name", "one.example")],
    );
    let reply = crate::xcp::Reply::of(&crate::xcp::post_signed(
        server.addr,
        "/",
        "acme",
        &key,
        &body,
    ));
    assert_eq!(reply.code().1, "200", "{}", reply.xml);
    // Remove: refused while it holds domains, naming them; --cascade removes and lists them.
    let out = cli(&config, &["reseller", "remove", "acme"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("still holds 2 domain(s) and 2 owner profile(s) (one.example, two.example)")
            && err.contains("--cascade")
            && err.contains("nothing was removed"),
        "{err}"
    );
    assert!(
        cli(&config, &["domain", "show", "one.example"])
            .status
            .success()
    );
    let out = cli(&config, &["reseller", "remove", "acme", "--cascade"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "reseller acme removed, with 2 domain(s) and 2 owner profile(s)\n  removed domain \
         one.example\n  removed domain two.example\n"
    );
    assert!(
        !cli(&config, &["domain", "show", "one.example"])
            .status
            .success()
    );
    server.assert_healthy(Duration::from_secs(5));
}

#[test]
fn mail_test_reports_each_step_through_a_real_smtp_server_and_where_it_breaks() {
    let smtp = crate::reset::Smtp::start_on(0, true);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "", &crate::reset::smtp_config(smtp.port, true));
    let out = cli(&config, &["mail", "test", "op@example.org"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains("ok: message built: from passlink@test.example to op@example.org")
            && text.contains("ok: 127.0.0.1 resolves to 127.0.0.1:")
            && text.contains("ok: TCP connection to 127.0.0.1:")
            && text.contains("the server accepted the message for op@example.org")
            && text.ends_with("mail test passed\n"),
        "{text}"
    );
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("passlink test mail"), "{}", mails[0]);
    // A port nothing listens on: the step that failed, with host and port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config = write_config(dir.path(), "", &crate::reset::smtp_config(port, false));
    let out = cli(&config, &["mail", "test", "op@example.org"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        stdout(&out).contains("ok: 127.0.0.1 resolves to")
            && err.contains(&format!("mail test failed: SMTP 127.0.0.1:{port}: "))
            && err.contains("Connection refused"),
        "{}{err}",
        stdout(&out)
    );
    // No host: the spool, named.
    let config = write_config(dir.path(), "", "");
    let out = cli(&config, &["mail", "test", "op@example.org"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("smtp.host is not set, so nothing is sent: the message is in")
            && stdout(&out).contains("/data/spool/test-"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn every_list_and_show_command_speaks_json_one_object_per_line() {
    let server = Server::start();
    let config = server.config.clone();
    let usernum = register(&server, "json@example.com", MD5_ASDF);
    crate::xcp::add_reseller(&server, "jsonr", &["192.0.2.0/24"]);
    crate::xcp::add_domain(&server, "json.example", "jsonr", "jprof");
    let body = xmlrpc_call("xmlStorageSystem.mailPasswordToUser", &["json@example.com"]);
    assert!(
        post(&server, "/RPC2", &body)
            .text()
            .contains("<boolean>0</boolean>")
    );
    let objects = |args: &[&str]| -> Vec<serde_json::Value> {
        let out = cli(&config, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{args:?}: {e}: {l}")))
            .collect()
    };
    let users = objects(&["user", "list", "--json"]);
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["usernum"], usernum.as_str());
    assert_eq!(users[0]["email"], "json@example.com");
    assert_eq!(users[0]["status"], "active");
    let user = &objects(&["user", "show", &usernum, "--json"])[0];
    assert!(user["files"].is_array(), "{user}");
    let resellers = objects(&["reseller", "list", "--json"]);
    assert_eq!(resellers[0]["name"], "jsonr");
    assert_eq!(resellers[0]["allowed_ips"][0], "192.0.2.0/24");
    let reseller = &objects(&["reseller", "show", "jsonr", "--json"])[0];
    assert_eq!(reseller["domains"][0], "json.example");
    assert_eq!(reseller["profiles"], 1);
    assert!(!reseller.to_string().contains("key"), "{reseller}");
    let domains = objects(&["domain", "list", "--json"]);
    assert_eq!(domains[0]["domain"], "json.example");
    let domain = &objects(&["domain", "show", "json.example", "--json"])[0];
    assert_eq!(domain["contacts"]["owner"]["email"], "owner@json.example");
    // The outbox: the reset mail above, once the mailer has taken it.
    let start = std::time::Instant::now();
    loop {
        let mails = objects(&["outbox", "list", "--json"]);
        if mails.first().is_some_and(|m| m["state"] == "sent") {
            assert_eq!(mails[0]["recipient"], "json@example.com");
            assert!(mails[0]["finished"].is_string(), "{}", mails[0]);
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{mails:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn domain_import_reports_every_bad_row_takes_a_bom_dry_runs_and_files_generated_passwords() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start();
    let config = server.config.clone();
    let key = crate::xcp::add_reseller(&server, "imp", &[]);
    let csv = server.dir.path().join("domains.csv");
    let header = "domain,reseller,profile,owner_email,admin_email,password,expiredate\n";
    // A byte-order mark, as Excel writes "CSV UTF-8", and three bad rows among good ones.
    std::fs::write(
        &csv,
        format!(
            "\u{feff}{header}\
             good1.example,imp,p1,o@good1.example,a@good1.example,Good-pass-11,2027-05-01\n\
             bad name!,imp,p2,o@x.example,a@x.example,Good-pass-22,\n\
             good2.example,nosuch,p3,o@good2.example,a@good2.example,Good-pass-33,\n\
             good3.example,imp,p4,o@good3.example,a@good3.example,Good-pass-44,31/12/2027\n"
        ),
    )
    .unwrap();
    let out = cli(&config, &["domain", "import", csv.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    let at = |line: usize| format!("{}:{line}: ", csv.display());
    assert!(
        err.contains(&at(3))
            && err.contains(&at(4))
            && err.contains("no reseller \"nosuch\"")
            && err.contains(&at(5))
            && err.contains("expiredate \"31/12/2027\"")
            && err.contains("3 problem(s); nothing was imported")
            && !err.contains(&at(2)),
        "{err}"
    );
    assert!(
        !cli(&config, &["domain", "show", "good1.example"])
            .status
            .success()
    );

    // Fixed: a dry run says what would happen and keeps nothing.
    std::fs::write(
        &csv,
        format!(
            "\u{feff}{header}\
             good1.example,imp,p1,o@good1.example,a@good1.example,Good-pass-11,2027-05-01\n\
             good2.example,imp,p2,o@good2.example,a@good2.example,,\n"
        ),
    )
    .unwrap();
    let out = cli(
        &config,
        &["domain", "import", "--dry-run", csv.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("2 domain(s) would be imported (1 new profile password(s) would be generated); nothing was changed"),
        "{}",
        stdout(&out)
    );
    assert!(
        !cli(&config, &["domain", "show", "good1.example"])
            .status
            .success()
    );
    // A generated password needs a file to go to; never the terminal.
    let out = cli(&config, &["domain", "import", csv.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--passwords-file"),
        "{}",
        stderr(&out)
    );
    let passwords = server.dir.path().join("passwords.csv");
    let out = cli(
        &config,
        &[
            "domain",
            "import",
            csv.to_str().unwrap(),
            "--passwords-file",
            passwords.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let written = std::fs::read_to_string(&passwords).unwrap();
    let mode = std::fs::metadata(&passwords).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let generated = written
        .strip_prefix("profile,password\np2,")
        .unwrap_or_else(|| panic!("{written}"))
        .trim();
    assert!(generated.len() >= 10, "{written}");
    assert!(
        stdout(&out).contains("imported 2 domain(s)")
            && stdout(&out).contains("1 generated profile password(s) written to")
            && !stdout(&out).contains(generated),
        "{}",
        stdout(&out)
    );
    let show = stdout(&cli(&config, &["domain", "show", "good1.example"]));
    assert!(show.contains("expires:  2027-05-01 00:00:00"), "{show}");
    // The generated password logs the new profile in, over XCP.
    let body = crate::xcp::envelope(
        "set",
        "cookie",
        &[],
        &[
            ("reg_username", "p2"),
            ("reg_password", generated),
            ("domain", "good2.example"),
        ],
    );
    let reply = crate::xcp::Reply::of(&crate::xcp::post_signed(
        server.addr,
        "/",
        "imp",
        &key,
        &body,
    ));
    assert_eq!(reply.code(), ("1".into(), "200".into()), "{}", reply.xml);
    server.assert_healthy(Duration::from_secs(5));
}

#[test]
fn debug_logging_shows_routing_proxy_decisions_and_smtp_exchanges_without_secrets() {
    let smtp = crate::reset::Smtp::start_on(0, false);
    let server = Server::start_with(
        "trusted_proxies = [\"127.0.0.1\"]",
        &format!(
            "[log]\nlevel = \"debug\"\n{}",
            crate::reset::smtp_config(smtp.port, false)
        ),
    );
    register(&server, "dbg@example.com", MD5_ASDF);
    let body = xmlrpc_call("xmlStorageSystem.mailPasswordToUser", &["dbg@example.com"]);
    let request = format!(
        "POST /RPC2 HTTP/1.1\r\nHost: t\r\nContent-Type: text/xml\r\nX-Forwarded-For: 203.0.113.9\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let reply = crate::support::exchange(server.addr, request.as_bytes(), Duration::from_secs(10));
    assert!(String::from_utf8_lossy(&reply).contains("<boolean>0</boolean>"));
    server.wait_log("the server accepted it", Duration::from_secs(20));
    let mail = smtp.mails().pop().expect("the reset mail");
    let link = crate::reset::link_in(&mail);
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(server.get(&format!("/reset/{token}")).status, 200);
    let log = server.wait_log("route: GET /reset/[redacted]", Duration::from_secs(5));
    assert!(
        log.contains("DEBUG route: POST /RPC2 on listener 0 -> xmlstorage")
            && log.contains(
                "DEBUG proxy: peer 127.0.0.1 is trusted; X-Forwarded-For lists 1 hop(s); \
                 client 203.0.113.9 (http)"
            )
            && log.contains(&format!(
                "DEBUG mail: message 1 to dbg@example.com via 127.0.0.1:{} (None)",
                smtp.port
            )),
        "{log}"
    );
    for secret in [MD5_ASDF, token] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

/// The issue's trap: a `sudo passlink serve` once leaves a root-owned `spool/`; the service,
/// running as its own user, must then say whose the directory is instead of deferring every
/// mail with "Permission denied".
#[test]
fn a_spool_left_by_root_stops_the_service_with_its_owner_named() {
    use std::os::unix::fs::PermissionsExt;
    if !running_as_root() {
        eprintln!("skipped: needs root to run passlink as another user (setpriv)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = write_config(dir.path(), "", "");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let spool = data.join("spool");
    std::fs::create_dir(&spool).unwrap();
    std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(
        Command::new("chown")
            .arg("nobody:")
            .arg(&data)
            .status()
            .unwrap()
            .success()
    );
    let out = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .arg(crate::support::BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("PASSLINK_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "cannot prepare the mail spool {} ({} is owned by root:root, mode 0700; passlink \
             runs as nobody (uid ",
            spool.display(),
            spool.display()
        )),
        "{err}"
    );
}
