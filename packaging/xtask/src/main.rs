//! `cargo run -p xtask -- DIR`: writes what the packages ship beside the binary into DIR:
//! `passlink.8` (from the clap definition), `passlink.toml.5` (from the commented
//! `etc/passlink.toml`), and bash and zsh completions.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;

fn main() -> ExitCode {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: cargo run -p xtask -- OUTPUT_DIR");
        return ExitCode::from(2);
    };
    match generate(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn generate(out: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let command = passlink::cli::Cli::command().name("passlink");

    // passlink(8): a system administration command (a daemon and its admin tool).
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .section("8")
        .manual("System Administration")
        .render(&mut page)?;
    std::fs::write(out.join("passlink.8"), page)?;

    let config = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc/passlink.toml"),
    )?;
    std::fs::write(out.join("passlink.toml.5"), config_page(&config))?;

    let mut bash = Vec::new();
    clap_complete::generate(
        clap_complete::Shell::Bash,
        &mut command.clone(),
        "passlink",
        &mut bash,
    );
    std::fs::write(out.join("passlink.bash"), bash)?;
    let mut zsh = Vec::new();
    clap_complete::generate(
        clap_complete::Shell::Zsh,
        &mut command.clone(),
        "passlink",
        &mut zsh,
    );
    std::fs::write(out.join("_passlink"), zsh)?;
    Ok(())
}

/// `key = value`, as a commented-out example setting is written.
fn is_key_line(text: &str) -> bool {
    text.split_once(" = ").is_some_and(|(key, _)| {
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    })
}

/// Text for roff: backslashes doubled, and a leading `.` or `'` (a request) made literal.
fn roff(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with('.') || text.starts_with('\'') {
        format!("\\&{text}")
    } else {
        text
    }
}

/// passlink.toml(5) from the commented default config: each `[table]` a section, each key a
/// tagged paragraph with its default, the comments above it as the description.
fn config_page(config: &str) -> String {
    let mut out = String::from(
        ".TH PASSLINK.TOML 5 \"\" \"passlink\" \"File Formats\"\n\
         .SH NAME\npasslink.toml \\- configuration of passlink\n\
         .SH SYNOPSIS\n/etc/passlink/passlink.toml\n\
         .SH DESCRIPTION\npasslink reads this TOML file at start and again on SIGHUP \
         (systemctl reload passlink). Unknown keys are errors, reported with file, line, column \
         and key; \\fBpasslink check\\-config\\fR validates a file and prints the settings in \
         effect. Every key is optional; the defaults are shown below.\n",
    );
    let mut comments: Vec<String> = Vec::new();
    let mut preamble_done = false;
    for line in config.lines() {
        let trimmed = line.trim();
        if let Some(comment) = trimmed.strip_prefix('#') {
            let comment = comment.strip_prefix(' ').unwrap_or(comment);
            if preamble_done && is_key_line(comment) {
                // A commented-out key: not set by default; the comments above describe it.
                out.push_str(&format!(
                    ".TP\n.B {}\n(not set by default)\n",
                    roff(comment)
                ));
                out.push_str(
                    &comments
                        .iter()
                        .map(|c| roff(c))
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
                out.push('\n');
                comments.clear();
            } else {
                comments.push(comment.to_string());
            }
            continue;
        }
        if trimmed.is_empty() {
            if !preamble_done && !comments.is_empty() {
                // The file's opening comment block describes the whole file.
                out.push_str(".PP\n");
                out.push_str(
                    &comments
                        .iter()
                        .map(|c| roff(c))
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
                out.push('\n');
                comments.clear();
            }
            continue;
        }
        preamble_done = true;
        if trimmed.starts_with('[') {
            out.push_str(&format!(".SH {}\n", roff(trimmed)));
            if !comments.is_empty() {
                out.push_str(".PP\n");
                out.push_str(
                    &comments
                        .iter()
                        .map(|c| roff(c))
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
                out.push('\n');
            }
        } else {
            out.push_str(&format!(".TP\n.B {}\n", roff(trimmed)));
            out.push_str(
                &comments
                    .iter()
                    .map(|c| roff(c))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            out.push('\n');
        }
        comments.clear();
    }
    out.push_str(
        ".SH FILES\n/etc/passlink/passlink.toml\n.br\n/var/lib/passlink/passlink.sqlite3\n\
         .SH SEE ALSO\n\\fBpasslink\\fR(8), \\fBsystemd.exec\\fR(5)\n",
    );
    out
}
