//! One module per subcommand; [`run`] dispatches.

pub mod config;
pub mod cortex;
pub mod daemon;
pub mod sync;
pub mod ui;

use std::future::Future;

use anyhow::Context as _;

use crate::cli::{Cli, Command};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Daemon(args) => daemon::run(&cli.global, args),
        Command::Cortex { command } => block_on(cortex::run(&cli.global, command)),
        Command::Config(args) => block_on(config::run(&cli.global, args)),
        Command::Sync { command } => block_on(sync::run(&cli.global, command)),
        Command::Ui(args) => block_on(ui::run(&cli.global, args)),
    }
}

/// Runs a client command on a single-threaded runtime (it only waits on one HTTP request at
/// a time).
fn block_on<F: Future<Output = anyhow::Result<()>>>(fut: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(fut)
}
