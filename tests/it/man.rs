//! The man pages the packages ship, rendered by man(1) as an operator reads them: no groff
//! warnings, passlink.toml(5) with every key as a line of TOML one can copy, passlink(8) with
//! every command and option and what an operator needs around them.
//!
//! The pages are made by `packaging/xtask/src/pages.rs`, which depends only on clap and std so
//! that it can be compiled into this test as it is. Running `cargo run -p xtask` from here
//! instead would build a second tree inside `cargo test` and could need the network; including
//! the source checks the very functions the xtask calls, with nothing to fetch.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use clap::CommandFactory;

#[path = "../../packaging/xtask/src/pages.rs"]
mod pages;

const SHIPPED_CONFIG: &str = include_str!("../../etc/passlink.toml");

/// `man --warnings -l -` at 80 columns in a UTF-8 locale (where groff would turn a plain `-` or
/// `"` into typography), returning the text; groff's warnings fail the test.
fn render(roff: &str) -> String {
    let mut child = Command::new("man")
        .args(["--warnings", "-l", "-"])
        .env("MANWIDTH", "80")
        .env("LC_ALL", "C.UTF-8")
        .env_remove("MAN_KEEP_FORMATTING")
        .env_remove("MANROFFOPT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("man(1) (man-db) renders the pages in this test: install it");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(roff.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "man failed: {stderr}");
    assert!(stderr.trim().is_empty(), "groff warnings:\n{stderr}");
    let page = String::from_utf8(out.stdout).unwrap();
    // U+2010: groff split a word, perhaps an identifier or a path, at the end of a line.
    assert!(!page.contains('\u{2010}'), "hyphenated:\n{page}");
    page
}

/// The lines of a section: from its heading (at the left margin) to the next heading.
fn section<'a>(page: &'a str, heading: &str) -> Vec<&'a str> {
    let mut lines = page.lines().skip_while(|l| *l != heading);
    assert!(lines.next().is_some(), "no section {heading:?} in:\n{page}");
    lines
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .collect()
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// `key = value` at the left margin of a section: a key line of passlink.toml(5).
fn is_key_line(line: &str) -> bool {
    indent(line) == 7
        && line.trim().split_once(" = ").is_some_and(|(key, _)| {
            key.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
        })
}

/// `[`…`]` still open at the end of a line of TOML, strings aside.
fn open_brackets(text: &str) -> i32 {
    let mut depth = 0;
    let mut in_string = false;
    for c in text.chars() {
        match (in_string, c) {
            (_, '"') => in_string = !in_string,
            (false, '[') => depth += 1,
            (false, ']') => depth -= 1,
            _ => {}
        }
    }
    depth
}

/// A key of passlink.toml(5) as rendered: its TOML and its text.
struct Key {
    section: String,
    toml: String,
    text: String,
}

fn keys_of(page: &str) -> Vec<Key> {
    let mut keys = Vec::new();
    let mut section = String::new();
    let mut lines = page.lines().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with('[') {
            section = line.trim().to_string();
            continue;
        }
        if section.is_empty() || !is_key_line(line) {
            continue;
        }
        let mut toml = line.trim().to_string();
        let mut depth = open_brackets(&toml);
        while depth > 0 {
            let more = lines.next().expect("an array that ends");
            depth += open_brackets(more);
            toml.push('\n');
            toml.push_str(more.trim());
        }
        let mut text = String::new();
        while let Some(next) = lines.peek() {
            if !next.is_empty() && indent(next) <= 7 {
                break;
            }
            text.push_str(next.trim());
            text.push('\n');
            lines.next();
        }
        keys.push(Key {
            section: section.clone(),
            toml,
            text,
        });
    }
    keys
}

#[test]
fn passlink_toml_5_shows_every_key_as_toml_to_copy_with_its_own_text() {
    let roff = pages::config_page(SHIPPED_CONFIG, env!("CARGO_PKG_VERSION")).unwrap();
    let page = render(&roff);

    // What an operator would copy, literally: quotes and brackets kept, ASCII hyphens.
    for expected in [
        "       listen = \"127.0.0.1:5445\"",
        "       client_ip_header = \"x-forwarded-for\"",
        "       trusted_proxies = []",
        "       legal_file_extensions = [",
        "       serve = [\"xmlstorage\", \"files\", \"reset\", \"status\"]",
        "       public_url = \"https://passlink.example.org\"",
    ] {
        assert!(
            page.lines().any(|l| l == expected),
            "no line {expected:?} in:\n{page}"
        );
    }
    assert!(page.contains("\"css\", \"htm\", \"html\""), "{page}");
    assert_eq!(
        page.matches("Every key is shown with its built-in default")
            .count(),
        1,
        "the introduction, once:\n{page}"
    );
    for heading in ["NAME", "SYNOPSIS", "DESCRIPTION", "FILES", "SEE ALSO"] {
        section(&page, heading);
    }

    let keys = keys_of(&page);
    assert!(keys.len() > 50, "{} keys found in:\n{page}", keys.len());
    // Each key parses as TOML on its own, and has text of its own beyond the note that it is
    // an example.
    let mut document = String::new();
    let mut current = String::new();
    for key in &keys {
        if let Err(e) = key.toml.parse::<toml::Table>() {
            panic!("{} in [{}] is not TOML: {e}", key.toml, key.section);
        }
        let own = key
            .text
            .replace("Not set by default; the line above is an example.", "");
        assert!(
            !own.trim().is_empty(),
            "{} in {} has no text",
            key.toml,
            key.section
        );
        if key.section != current {
            current = key.section.clone();
            document.push_str(&format!("\n{current}\n"));
        }
        document.push_str(&key.toml);
        document.push('\n');
    }

    // The keys as the page shows them, under their headings, are a TOML file in which every
    // setting of the shipped config has the value that file gives it.
    let rendered: toml::Table = document
        .parse()
        .unwrap_or_else(|e| panic!("{e}\n{document}"));
    let shipped: toml::Table = SHIPPED_CONFIG.parse().unwrap();
    for (table, settings) in &shipped {
        let heading = format!("[{table}]");
        assert!(
            page.lines().any(|l| l == heading),
            "no section {heading}:\n{page}"
        );
        let toml::Value::Table(settings) = settings else {
            panic!("{table} is not a table");
        };
        for (key, value) in settings {
            assert_eq!(
                rendered.get(table).and_then(|t| t.get(key)),
                Some(value),
                "{table}.{key} as the page shows it"
            );
        }
    }

    // [[listener]] is a section of its own, with its keys; none of them is shown under
    // [smtp], the table before it.
    assert!(page.lines().any(|l| l == "[[listener]]"), "{page}");
    let listener = rendered
        .get("listener")
        .and_then(|l| l.as_array())
        .and_then(|l| l.first())
        .and_then(|l| l.as_table())
        .unwrap_or_else(|| panic!("no [[listener]] keys:\n{document}"));
    for key in ["address", "serve", "tls"] {
        assert!(
            listener.contains_key(key),
            "[[listener]] {key}:\n{document}"
        );
    }
    let tls = listener["tls"].as_table().unwrap();
    for key in ["cert_file", "key_file", "hsts_max_age"] {
        assert!(tls.contains_key(key), "[[listener]] tls.{key}:\n{document}");
    }
    let smtp = rendered["smtp"].as_table().unwrap();
    assert!(
        !smtp.contains_key("address") && !smtp.contains_key("serve"),
        "listener keys under [smtp]:\n{document}"
    );

    assert_only_shipped_pages_named(&page);
}

/// Every `passlink…(N)` a page names is one the packages ship.
fn assert_only_shipped_pages_named(page: &str) {
    let manifest: toml::Table = include_str!("../../Cargo.toml").parse().unwrap();
    let assets = manifest["package"]["metadata"]["deb"]["assets"]
        .as_array()
        .unwrap();
    let shipped: BTreeSet<String> = assets
        .iter()
        .filter_map(|a| a.as_array()?.get(1)?.as_str())
        .filter(|dest| dest.starts_with("usr/share/man/"))
        .filter_map(|dest| {
            let name = dest.rsplit('/').next()?.strip_suffix(".gz")?;
            let (page, section) = name.rsplit_once('.')?;
            Some(format!("{page}({section})"))
        })
        .collect();
    assert!(shipped.contains("passlink(8)"), "{shipped:?}");
    for (at, _) in page.match_indices("passlink") {
        let rest = &page[at..];
        let Some(end) = rest.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        else {
            continue;
        };
        if rest[end..].starts_with('(')
            && rest[end + 1..].starts_with(|c: char| c.is_ascii_digit())
            && rest[end + 2..].starts_with(')')
        {
            let named = &rest[..end + 3];
            assert!(
                shipped.contains(named),
                "{named} is not shipped ({shipped:?})"
            );
        }
    }
}

/// `passlink db backup` and the like: every command in the clap definition, depth first.
fn commands(prefix: &str, command: &clap::Command, out: &mut Vec<(String, clap::Command)>) {
    for sub in command.get_subcommands() {
        let path = format!("{prefix} {}", sub.get_name());
        out.push((path.clone(), sub.clone()));
        commands(&path, sub, out);
    }
}

#[test]
fn passlink_8_documents_every_command_and_option_and_the_operator_sections() {
    let cli = passlink::cli::Cli::command();
    let page = render(&pages::command_page(&cli));

    let mut all = Vec::new();
    commands("passlink", &cli, &mut all);
    assert!(all.len() > 20, "{} commands", all.len());
    let commands_section = section(&page, "COMMANDS").join("\n");
    for (path, command) in &all {
        // Each command is a subsection heading of its own.
        let heading = format!("   {path}");
        assert!(
            commands_section.lines().any(|l| l == heading),
            "no subsection for {path}:\n{commands_section}"
        );
        for arg in command.get_arguments() {
            assert!(
                arg.get_help().is_some(),
                "{path}: the argument {} has no help text (a doc comment in src/cli.rs)",
                arg.get_id()
            );
            if let Some(long) = arg.get_long() {
                assert!(
                    commands_section.contains(&format!("--{long}")),
                    "{path} --{long} is not documented"
                );
            }
        }
    }
    for arg in cli.get_arguments() {
        if let Some(long) = arg.get_long() {
            assert!(page.contains(&format!("--{long}")), "--{long}:\n{page}");
        }
    }

    for heading in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        section(&page, heading);
    }
    let files = section(&page, "FILES").join("\n");
    for path in [
        "/etc/passlink/passlink.toml",
        "/var/lib/passlink/",
        "passlink.sqlite3",
        "passlink.lock",
        "spool/",
        "/usr/lib/systemd/system/passlink.service",
    ] {
        assert!(files.contains(path), "FILES lacks {path}:\n{files}");
    }
    let environment = section(&page, "ENVIRONMENT").join("\n");
    for variable in ["PASSLINK_CONFIG", "PASSLINK_LOG", "JOURNAL_STREAM"] {
        assert!(environment.contains(variable), "{variable}:\n{environment}");
    }
    let exit = section(&page, "EXIT STATUS");
    for status in ["0", "1", "2", "77", "78"] {
        assert!(
            exit.iter()
                .any(|l| l.trim_start().split(' ').next() == Some(status)),
            "exit status {status}:\n{}",
            exit.join("\n")
        );
    }
    let signals = section(&page, "SIGNALS").join("\n");
    for signal in ["SIGTERM", "SIGINT", "SIGHUP"] {
        assert!(signals.contains(signal), "{signal}:\n{signals}");
    }
    let examples = section(&page, "EXAMPLES").join("\n");
    for example in [
        "passlink check-config",
        "passlink reseller add",
        "passlink domain import",
        "passlink db backup",
        "passlink user set-password",
    ] {
        assert!(examples.contains(example), "{example}:\n{examples}");
    }

    // The CSV format of `domain import`: every column its help names (the source of truth,
    // next to the code that reads them) is described.
    let format = section(&page, "DOMAIN IMPORT FORMAT").join("\n");
    let import = all
        .iter()
        .find(|(path, _)| path == "passlink domain import")
        .map(|(_, c)| c.get_about().unwrap().to_string())
        .unwrap();
    let columns: Vec<&str> = import
        .split_once("columns:")
        .unwrap()
        .1
        .split('.')
        .next()
        .unwrap()
        .split([',', ' ', '(', ')'])
        .filter(|w| !w.is_empty() && !["and", "required"].contains(w))
        .collect();
    assert!(columns.len() >= 14, "{columns:?}");
    for column in columns {
        assert!(
            format.lines().any(|l| l.trim_start().starts_with(column)
                || l.contains(&format!(" {column},"))
                || l.ends_with(&format!(" {column}"))),
            "the import column {column} is not described:\n{format}"
        );
    }

    assert_only_shipped_pages_named(&page);
}
