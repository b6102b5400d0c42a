//! `mayros daemon`: runs the engine in the foreground until SIGINT or SIGTERM (DESIGN §8).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use mayros_sync_node::{Daemon, DaemonInfo, DaemonOptions};
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::cli::{DaemonArgs, GlobalArgs};
use crate::output;

/// How long the check for an engine already serving the data dir may take.
const ALREADY_RUNNING_PROBE: Duration = Duration::from_secs(1);

/// Starts the engine on a multi-thread runtime and blocks until it has stopped.
pub fn run(global: &GlobalArgs, args: DaemonArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mayros-engine")
        .build()
        .context("cannot start the async runtime")?
        .block_on(serve(options(global, args)?))
}

/// Builds the node's options from the flags; paths are made absolute so that `daemon.json`
/// means the same to every process that reads it.
fn options(global: &GlobalArgs, args: DaemonArgs) -> anyhow::Result<DaemonOptions> {
    let mut opts = DaemonOptions::new(absolute(&global.data_dir())?);
    opts.data_dir_given = global.data_dir_given();
    opts.config = args.config.as_deref().map(absolute).transpose()?;
    opts.api = args.api;
    // Unset flags keep the engine's defaults (DESIGN §8: peer API on 0.0.0.0:19092).
    if let Some(addr) = args.peer_api {
        opts.peer_api = Some(addr);
    }
    if let Some(addr) = args.quic {
        opts.quic = Some(addr);
    }
    opts.name = args.name;
    Ok(opts)
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot resolve path {}", path.display()))
}

async fn serve(opts: DaemonOptions) -> anyhow::Result<()> {
    // Installed first, so a signal that arrives while the engine starts is not lost.
    let mut signals = Signals::new()?;
    refuse_if_running(&opts.data_dir).await?;

    let daemon = Daemon::start(opts).await?;
    let ready = daemon.info().ready_line();
    if let Err(e) = output::print(&ready) {
        daemon.shutdown().await;
        return Err(e).context("cannot write the ready line to stdout");
    }
    tracing::info!(
        api = %daemon.info().api,
        data_dir = %daemon.info().data_dir.display(),
        config = %daemon.info().config_path.display(),
        "engine ready"
    );

    let first = signals.next().await;
    tracing::info!("{first} received; shutting down (send it again to exit at once)");
    let shutdown = daemon.shutdown();
    tokio::pin!(shutdown);
    tokio::select! {
        () = &mut shutdown => Ok(()),
        second = signals.next() => bail!("{second} received during shutdown; exiting without a clean stop"),
    }
}

/// Fails when `daemon.json` names a live engine for this data dir: two engines on one store
/// would fight over it.
async fn refuse_if_running(data_dir: &Path) -> anyhow::Result<()> {
    let Ok(info) = DaemonInfo::read(data_dir) else {
        return Ok(());
    };
    if !process_may_be_alive(info.pid) {
        return Ok(());
    }
    let probe = tokio::time::timeout(
        ALREADY_RUNNING_PROBE,
        tokio::net::TcpStream::connect(info.api),
    )
    .await;
    if matches!(probe, Ok(Ok(_))) {
        bail!(
            "an engine is already running for data dir {} (pid {}, api {}); stop it first \
             (or delete {} if that process is not a Mayros Sync engine)",
            data_dir.display(),
            info.pid,
            info.api,
            mayros_sync_node::paths::daemon_file(data_dir).display()
        );
    }
    Ok(())
}

/// Whether `pid` may still run: false only when `/proc` exists and has no entry for it.
fn process_may_be_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// SIGINT and SIGTERM as one stream.
struct Signals {
    int: Signal,
    term: Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Signals> {
        Ok(Signals {
            int: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
            term: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
        })
    }

    /// Waits for the next signal and names it.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }
}
