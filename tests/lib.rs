//! Shared helpers for the cross-crate integration tests of Mayros Sync.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;

use mayros_sync_node::{Daemon, DaemonOptions};

/// Starts an engine on a free loopback port in `data_dir`.
pub async fn start_engine(data_dir: &Path, name: &str) -> Daemon {
    let mut opts = DaemonOptions::new(data_dir.to_path_buf());
    opts.api = SocketAddr::from(([127, 0, 0, 1], 0));
    opts.name = Some(name.to_string());
    Daemon::start(opts).await.unwrap()
}

/// The base URL of an engine's local API.
pub fn base_url(daemon: &Daemon) -> String {
    format!("http://{}", daemon.info().api)
}
