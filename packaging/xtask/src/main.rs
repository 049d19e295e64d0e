//! `cargo run -p xtask -- DIR`: writes what the packages ship beside the binary into DIR:
//! `passlink.8` (from the clap definition, every command), `passlink.toml.5` (from the commented
//! `etc/passlink.toml`), and bash and zsh completions.

#![forbid(unsafe_code)]

mod pages;

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
    std::fs::write(out.join("passlink.8"), pages::command_page(&command))?;

    let config = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc/passlink.toml"),
    )?;
    // A key without a comment, or a line the page would misread, fails the build of the
    // packages rather than shipping a page with a hole in it.
    let page = pages::config_page(&config, command.get_version().unwrap_or_default())
        .map_err(|e| std::io::Error::other(format!("etc/passlink.toml: {e}")))?;
    std::fs::write(out.join("passlink.toml.5"), page)?;

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
