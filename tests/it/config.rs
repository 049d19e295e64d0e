//! Config files: errors that point at the mistake, and `check-config`.

use std::time::Duration;

use crate::support::{Server, passlink, write_config};

/// Runs `check-config` and `serve` on the file; both must exit 78 (EX_CONFIG). Their stderr.
fn refused_as_invalid(path: &std::path::Path) -> Vec<(&'static str, String)> {
    ["check-config", "serve"]
        .into_iter()
        .map(|command| {
            let out = passlink()
                .args([command, "--config"])
                .arg(path)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(out.status.code(), Some(78), "{command}: {stderr}");
            (command, stderr)
        })
        .collect()
}

#[test]
fn misspelled_key_fails_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passlink.toml");
    std::fs::write(
        &path,
        "# test\n[server]\nlisten = \"127.0.0.1:0\"\nworkerz = 3\n",
    )
    .unwrap();
    for (command, stderr) in refused_as_invalid(&path) {
        assert!(
            stderr.contains(&format!("{}:4:1:", path.display())),
            "{command}: {stderr}"
        );
        assert!(stderr.contains("workerz"), "{command}: {stderr}");
        assert!(stderr.contains("expected one of"), "{command}: {stderr}");
    }
}

#[test]
fn check_config_prints_the_effective_config_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("smtp-password");
    std::fs::write(&secret_file, "from-a-credential-file\n").unwrap();
    let rest = format!(
        "[smtp]\nhost = \"mail.example.org\"\nusername = \"passlink\"\npassword_file = {:?}\n",
        secret_file.display().to_string()
    );
    let path = write_config(dir.path(), "", &rest);
    let out = passlink()
        .arg("check-config")
        .env("PASSLINK_CONFIG", &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains(&path.display().to_string()), "{stdout}");
    assert!(stdout.contains("password = \"[redacted]\""), "{stdout}");
    assert!(!stdout.contains("from-a-credential-file"), "{stdout}");
    assert!(
        stdout.contains("public_url = \"http://127.0.0.1:0\""),
        "{stdout}"
    );
    assert!(stdout.contains("port = 587"), "{stdout}");
    // The printed config is itself a valid config.
    let echo = dir.path().join("echo.toml");
    let printed: String = stdout
        .lines()
        .filter(|l| !l.contains("[redacted]"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&echo, printed).unwrap();
    let again = passlink()
        .args(["check-config", "--config"])
        .arg(&echo)
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn unreadable_secret_file_is_a_config_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        "",
        "[smtp]\npassword_file = \"/nonexistent/secret\"\n",
    );
    let out = passlink()
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78));
    assert!(stderr.contains("smtp.password_file"), "{stderr}");
    assert!(stderr.contains("/nonexistent/secret"), "{stderr}");
}

#[test]
fn the_shipped_example_config_is_valid_and_all_defaults() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/etc/passlink.toml");
    let out = passlink()
        .args(["check-config", "--config", shipped])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let defaults = passlink()
        .arg("check-config")
        .env("PASSLINK_CONFIG", "/dev/null")
        .output()
        .unwrap();
    let strip = |out: &[u8]| -> String {
        String::from_utf8_lossy(out)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&out.stdout),
        strip(&defaults.stdout),
        "etc/passlink.toml must spell out exactly the built-in defaults"
    );
}

#[test]
fn secrets_never_reach_the_log() {
    let server = Server::start_with("", "[smtp]\npassword = \"never-log-this-42\"\n");
    assert_eq!(server.get("/healthz").status, 200);
    server.signal("HUP");
    let log = server.wait_log("reloaded", Duration::from_secs(5));
    assert!(!log.contains("never-log-this-42"), "{log}");
}

#[test]
fn sighup_applies_mail_settings_and_limits_and_names_what_needs_a_restart() {
    use crate::xss::{post, xmlrpc_call};
    let server = Server::start_with("", "[smtp]\nenabled = false\n");
    let ask = || {
        post(
            &server,
            "/RPC2",
            &xmlrpc_call("xmlStorageSystem.mailPasswordToUser", &["a@example.org"]),
        )
        .text()
    };
    assert!(ask().contains("Mail service is not available"));
    // Mail on, a smaller body limit, and a new listen address (which needs a restart).
    crate::support::write_config(
        server.dir.path(),
        "max_body_bytes = 400",
        "[smtp]\nenabled = true\n",
    );
    let text = std::fs::read_to_string(&server.config).unwrap();
    std::fs::write(
        &server.config,
        text.replace("listen = \"127.0.0.1:0\"", "listen = \"127.0.0.1:1\""),
    )
    .unwrap();
    server.signal("HUP");
    let log = server.wait_log("reloaded", Duration::from_secs(5));
    assert!(ask().contains("If that address has an account"), "{log}");
    let log = server.wait_log("take effect only after a restart", Duration::from_secs(5));
    assert!(log.contains("server.listen"), "{log}");
    // The new body limit applies to the next request.
    let big = format!("<a>{}</a>", "x".repeat(1000));
    assert_eq!(post(&server, "/RPC2", &big).status, 413);
    // A broken file changes nothing.
    std::fs::write(&server.config, "[server]\nnonsense = 1\n").unwrap();
    server.signal("HUP");
    server.wait_log("reload failed", Duration::from_secs(5));
    assert!(ask().contains("If that address has an account"));
}

#[test]
fn server_listen_and_listener_tables_together_are_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passlink.toml");
    std::fs::write(
        &path,
        "[server]\nlisten = \"127.0.0.1:5445\"\n\n[[listener]]\naddress = \"127.0.0.1:5446\"\nserve = [\"status\"]\n",
    )
    .unwrap();
    for (command, stderr) in refused_as_invalid(&path) {
        let p = path.display();
        assert!(
            stderr.contains(&format!(
                "{p}:2:10: key `server.listen` and {p}:5:11: key `listener`: \
                 give either server.listen or [[listener]] tables, not both"
            )),
            "{command}: {stderr}"
        );
    }
}

#[test]
fn check_config_prints_the_listeners_and_what_each_serves() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passlink.toml");
    // check-config reads the certificate and key, as serve would.
    let (chain, key) = (
        dir.path().join("fullchain.pem"),
        dir.path().join("privkey.pem"),
    );
    crate::tls::Pki::new(dir.path(), "cc").issue(
        "127.0.0.1",
        crate::tls::KeyForm::EcPkcs8,
        &chain,
        &key,
    );
    // As the shipped example reads once its [[listener]] tables are in use: server.listen
    // commented out, the empty xcp.listen left as it was.
    let text = format!(
        "[server]\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\npublic_url = \"https://pl.example.org\"\n\
         [storage]\n{}\n[xcp]\nlisten = []\n\n\
         [[listener]]\naddress = \"127.0.0.1:55443\"\nserve = [\"xcp\"]\n\
         tls = {{ cert_file = {:?}, key_file = {:?}, hsts_max_age = 300 }}\n\n\
         [[listener]]\naddress = \"unix:/run/passlink/passlink.sock\"\nserve = [\"xmlstorage\", \"files\", \"reset\"]\n\n\
         [[listener]]\naddress = \"[::1]:5445\"\nserve = [\"status\"]\n",
        crate::support::data_dir_line(dir.path()),
        chain.display().to_string(),
        key.display().to_string()
    );
    std::fs::write(&path, text).unwrap();
    let out = passlink()
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listeners: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "# listeners:")
        .skip(1)
        .take_while(|l| l.starts_with("#   "))
        .collect();
    assert_eq!(
        listeners,
        [
            format!(
                "#   https 127.0.0.1:55443 serves xcp, TLS with {} and {}, HSTS max-age=300",
                chain.display(),
                key.display()
            )
            .as_str(),
            "#   http unix:/run/passlink/passlink.sock serves xmlstorage, files, reset",
            "#   http [::1]:5445 serves status",
        ],
        "{stdout}"
    );
    assert!(
        stdout.contains("# links: reset https://pl.example.org/reset/..."),
        "{stdout}"
    );
    // Which header names the client, and from which peers.
    assert!(
        stdout.contains(
            "\n# client address: X-Forwarded-For (the scheme from X-Forwarded-Proto) when the \
             peer is 127.0.0.1/32, ::1/128 or a unix socket; else the peer itself\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nclient_ip_header = \"x-forwarded-for\"\n"),
        "{stdout}"
    );
    // The listeners are in the printed config too, with no server.listen beside them, and the
    // printed config is itself valid.
    assert!(!stdout.contains("\nlisten = \"127.0.0.1"), "{stdout}");
    let echo = dir.path().join("echo.toml");
    std::fs::write(&echo, stdout.as_bytes()).unwrap();
    let again = passlink()
        .args(["check-config", "--config"])
        .arg(&echo)
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&again.stdout)
            .lines()
            .skip(1)
            .collect::<Vec<_>>(),
        stdout.lines().skip(1).collect::<Vec<_>>()
    );
}
