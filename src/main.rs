#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

fn main() -> std::process::ExitCode {
    passlink::cli::run()
}

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
