//! xmlStorageSystem driven by Perl's two client libraries, Debian's XMLRPC::Lite and SOAP::Lite,
//! with their default typing: both send a string with a non-ASCII byte as base64, which
//! passlink once refused ("parameter 2 (name) must be a string, got base64").

use std::process::Command;
use std::time::Duration;

use crate::support::{BIN, Server};
use crate::xss::MD5_ASDF;

const NAME: &str = "Zoë Ångström";
/// base64 of the name's UTF-8 bytes, as both libraries put it on the wire.
const NAME_BASE64: &str = "Wm/DqyDDhW5nc3Ryw7Zt";

/// Runs `tests/scripts/{script}` against `url`, registering `email` with [`NAME`], and
/// returns its output lines after asserting it succeeded.
fn run(script: &str, url: &str, email: &str) -> Vec<String> {
    let path = format!("{}/tests/scripts/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("perl")
        .args([&path, url, email, NAME, MD5_ASDF])
        .output()
        .expect("perl (Debian's libxmlrpc-lite-perl and libsoap-lite-perl; .ci/run installs them)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().map(str::to_string).collect()
}

/// The stored name of `email`, from `passlink user show`.
fn stored_name(server: &Server, email: &str) -> String {
    let out = Command::new(BIN)
        .args(["user", "show", email, "--config"])
        .arg(&server.config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    text.lines()
        .find_map(|line| line.strip_prefix("name:"))
        .unwrap_or_else(|| panic!("no name line in {text}"))
        .trim()
        .to_string()
}

/// How the script says the library sent the name (its first line), and that registerUser and
/// getServerCapabilities both answered flError false (the rest).
fn sent_and_answers(lines: &[String]) -> &str {
    assert_eq!(
        lines.get(1..),
        Some(
            &[
                format!("registerUser 0 0000001 Good to have you here, {NAME}!"),
                format!("getServerCapabilities 0 Hello, {NAME}, from passlink!"),
            ][..]
        ),
        "{lines:?}"
    );
    lines[0]
        .strip_prefix("registerUser sent name as ")
        .unwrap_or_else(|| panic!("{lines:?}"))
}

#[test]
fn xmlrpc_lite_registers_an_accented_name_sent_as_base64() {
    let server = Server::start();
    let lines = run(
        "xmlrpc_lite.pl",
        &format!("http://{}/RPC2", server.addr),
        "zoe@example.com",
    );
    assert_eq!(
        sent_and_answers(&lines),
        format!("<base64>{NAME_BASE64}</base64>")
    );
    assert_eq!(stored_name(&server, "zoe@example.com"), NAME);
    server.assert_healthy(Duration::from_secs(5));
}

#[test]
fn soap_lite_registers_an_accented_name_sent_as_base64() {
    let server = Server::start();
    let lines = run(
        "soap_lite.pl",
        &format!("http://{}/xmlStorageSystem", server.addr),
        "zoe@example.com",
    );
    // SOAP::Lite names its parameters c-gensymN, N a counter of its own, so passlink binds
    // them by position; only the type and the text are checked here.
    let sent = sent_and_answers(&lines);
    assert!(
        sent.starts_with("<c-gensym")
            && sent.contains(&format!(
                " xsi:type=\"xsd:base64Binary\">{NAME_BASE64}</c-gensym"
            )),
        "{sent}"
    );
    assert_eq!(stored_name(&server, "zoe@example.com"), NAME);
    server.assert_healthy(Duration::from_secs(5));
}
