//! The `bulwark` command-line tool. Run `bulwark --help` for the subcommands.

use std::process::ExitCode;

use clap::Parser;

use bulwark_services::cli::Cli;
use bulwark_services::commands;

// mimalloc rather than glibc malloc: a request through the gateway allocates a few dozen small
// objects across worker threads, where glibc's arenas spent a fifth of the CPU (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // reqwest is built without a bundled crypto provider: every client in the process uses ring.
    bulwark_runtime::http::install_default_tls();
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Telemetry may not be up yet (a bad config file), so the error goes to stderr as text,
            // with its whole cause chain.
            eprintln!("bulwark: {}", bulwark_runtime::error::chain(&error));
            ExitCode::FAILURE
        }
    }
}
