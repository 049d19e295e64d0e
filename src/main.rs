#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    passlink::cli::run()
}

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
