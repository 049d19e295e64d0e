#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    passlink::cli::run()
}
