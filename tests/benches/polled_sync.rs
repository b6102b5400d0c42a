//! `sync now` pulling 50 000 new triples from one peer on loopback (DESIGN §12: < 5 s).
//!
//! Each run starts two fresh engines, pairs them by invite, writes 50 000 triples on A,
//! then times `POST /api/v1/sync/now` on B. Prints the median of the runs, triples/s and
//! body bytes on the wire per triple.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use mayros_sync_tests::Node;
use serde_json::json;

const N: usize = 50_000;
const RUNS: usize = 3;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let mut secs = Vec::new();
    let mut per_triple = Vec::new();
    for run in 0..RUNS {
        let a = Node::start_polled("alpha", json!({})).await;
        let b = Node::start_polled("bravo", json!({})).await;
        a.invite(&b).await;
        for chunk in 0..(N / 10_000) {
            let triples: Vec<_> = (0..10_000)
                .map(|i| {
                    let i = chunk * 10_000 + i;
                    json!({"subject": format!("mayros:agent:r{run}:s{}", i / 10), "predicate": format!("mayros:fact{}", i % 10), "object": format!("observation number {i}")})
                })
                .collect();
            a.put_batch(triples).await;
        }
        let start = Instant::now();
        let out = b.sync_now().await;
        let elapsed = start.elapsed().as_secs_f64();
        let r = &out["results"][0];
        assert_eq!(r["applied"].as_u64(), Some(N as u64), "{out}");
        secs.push(elapsed);
        per_triple.push(r["bytesIn"].as_f64().unwrap() / N as f64);
        println!(
            "run {run}: {elapsed:.2} s, {} pages, {:.0} B/triple in",
            r["pages"], per_triple[run]
        );
        a.daemon.shutdown().await;
        b.daemon.shutdown().await;
    }
    secs.sort_by(f64::total_cmp);
    per_triple.sort_by(f64::total_cmp);
    let median = secs[RUNS / 2];
    println!(
        "polled sync now, {N} new triples from one peer, {RUNS} runs: median {median:.2} s = {:.0} triples/s (min {:.2} s, max {:.2} s); {:.0} body bytes on the wire per triple",
        N as f64 / median,
        secs[0],
        secs[RUNS - 1],
        per_triple[RUNS / 2]
    );
}
