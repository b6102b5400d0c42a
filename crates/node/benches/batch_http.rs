//! Insert throughput through `POST /api/v1/triples/batch` on a real loopback socket.
//!
//! Starts a daemon in a temp dir, posts 100 000 new triples in one request, five times
//! (fresh triples each run), and prints the median and spread.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Instant;

use mayros_sync_node::{Daemon, DaemonOptions};
use serde_json::json;

const N: usize = 100_000;
const RUNS: usize = 5;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = DaemonOptions::new(dir.path().to_path_buf());
    opts.api = SocketAddr::from(([127, 0, 0, 1], 0));
    opts.peer_api = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    opts.secret_store = Some(mayros_sync_store::SecretStoreChoice::File);
    let daemon = Daemon::start(opts).await.unwrap();
    let url = format!("http://{}/api/v1/triples/batch", daemon.info().api);
    let http = reqwest::Client::new();

    let mut secs = Vec::new();
    for run in 0..RUNS {
        let triples: Vec<_> = (0..N)
            .map(|i| {
                json!({
                    "subject": format!("mayros:bench:r{run}:s{}", i / 10),
                    "predicate": format!("mayros:p{}", i % 10),
                    "object": format!("value number {i} of run {run}"),
                })
            })
            .collect();
        let body = serde_json::to_vec(&json!({ "triples": triples })).unwrap();
        let start = Instant::now();
        let resp = http.post(&url).body(body).send().await.unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        let out: serde_json::Value = resp.json().await.unwrap();
        let elapsed = start.elapsed().as_secs_f64();
        assert_eq!(out["inserted"].as_array().map(Vec::len), Some(N));
        secs.push(elapsed);
    }
    secs.sort_by(f64::total_cmp);
    let median = secs[RUNS / 2];
    println!(
        "POST /api/v1/triples/batch, {N} triples per request, {RUNS} runs: median {:.0} ms = {:.0} triples/s (min {:.0} ms, max {:.0} ms)",
        median * 1e3,
        N as f64 / median,
        secs[0] * 1e3,
        secs[RUNS - 1] * 1e3
    );
    daemon.shutdown().await;
}
