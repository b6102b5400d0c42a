//! Native-mode convergence from states other than "one side empty" (DESIGN §13), two engines
//! on loopback, side by side in one run:
//! - catch-up of a B holding 5 triples of its own from an A holding N (500 k), against the
//!   same catch-up from an empty B (target < 20 s, same as from empty);
//! - two stores of N/2 each, disjoint, to identical stores (target < 30 s);
//! - B offline while A wrote N/5 into a shared 4N/5; time from B's restart (target < 10 s);
//! - for each, the bytes exchanged to identify the difference (reconciliation messages, change
//!   payloads excluded, counted until a round proved the pair in sync; target ≤ 48 B per
//!   difference and ≤ 1.1 × a 32-byte listing of the larger side).
//!
//! Run: `cargo bench -p mayros-sync-tests --bench native_convergence` (N = 500 000, 3 runs;
//! `MAYROS_BENCH_N`, `MAYROS_BENCH_RUNS`, `MAYROS_BENCH_ONLY=own|disjoint|offline`).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use mayros_sync_tests::{env_or, Node};
use serde_json::json;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

fn stat(s: &serde_json::Value, key: &str) -> u64 {
    s["gossip_stats"][key].as_u64().unwrap_or(0)
}

/// Reconciliation bytes received by both nodes so far.
async fn reconcile_bytes(a: &Node, b: &Node) -> u64 {
    stat(&a.p2p_status().await.1, "reconcile_bytes_in")
        + stat(&b.p2p_status().await.1, "reconcile_bytes_in")
}

/// Waits (polling the engines' summaries, not their stores) until both hold `live` live ids
/// and equal element counts; answers the seconds since `start`.
async fn until_identical(a: &Node, b: &Node, live: u64, start: Instant) -> f64 {
    let deadline = start + Duration::from_secs(300);
    let trace = std::env::var("MAYROS_BENCH_TRACE").is_ok();
    let mut printed = Instant::now();
    while Instant::now() < deadline {
        let (_, sa) = a.p2p_status().await;
        let (_, sb) = b.p2p_status().await;
        let la = sa["sync_stats"]["local_ids"].as_u64().unwrap_or(0);
        let lb = sb["sync_stats"]["local_ids"].as_u64().unwrap_or(0);
        if trace && printed.elapsed() >= Duration::from_secs(1) {
            printed = Instant::now();
            println!(
                "  {:5.1} s: A {la} live, B {lb} live; reconciliation bytes in A {} B {}",
                start.elapsed().as_secs_f64(),
                stat(&sa, "reconcile_bytes_in"),
                stat(&sb, "reconcile_bytes_in")
            );
        }
        if la == live && lb == live && stat(&sa, "known_ids") == stat(&sb, "known_ids") {
            return start.elapsed().as_secs_f64();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("not identical within 300 s");
}

/// Waits until both engines show each other in sync (a round proved it), so the
/// identification bytes include the round's last messages; answers whether they did.
async fn until_proven(a: &Node, b: &Node) -> bool {
    mayros_sync_tests::wait_until(Duration::from_secs(60), || async {
        proven(a).await && proven(b).await
    })
    .await
}

async fn proven(n: &Node) -> bool {
    n.get("/api/v1/sync/status").await["peers"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["state"] == "in-sync"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct Figures {
    secs: Vec<f64>,
    bytes_per_diff: Vec<f64>,
    listing_ratio: Vec<f64>,
}

impl Figures {
    fn new() -> Figures {
        Figures {
            secs: Vec::new(),
            bytes_per_diff: Vec::new(),
            listing_ratio: Vec::new(),
        }
    }

    fn push(&mut self, secs: f64, bytes: u64, diffs: u64, larger: u64) {
        self.secs.push(secs);
        self.bytes_per_diff.push(bytes as f64 / diffs.max(1) as f64);
        self.listing_ratio
            .push(bytes as f64 / (32.0 * larger.max(1) as f64));
    }

    fn print(self, what: &str, target: &str) {
        let runs = self.secs.len();
        println!(
            "{what}: median {:.2} s over {runs} runs ({}; target {target}); identification {:.4} B per difference, {:.4} × a 32-byte listing of the larger side",
            median(self.secs.clone()),
            self.secs.iter().map(|s| format!("{s:.2}")).collect::<Vec<_>>().join(" / "),
            median(self.bytes_per_diff),
            median(self.listing_ratio),
        );
    }
}

async fn run() {
    let n = env_or("MAYROS_BENCH_N", 500_000);
    let runs = env_or("MAYROS_BENCH_RUNS", 3);
    let only = std::env::var("MAYROS_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "own" {
        own_against_many(n, runs).await;
    }
    if only.is_empty() || only == "disjoint" {
        disjoint_halves(n / 2, runs).await;
    }
    if only.is_empty() || only == "offline" {
        offline_catch_up(n * 4 / 5, n / 5, runs).await;
    }
}

/// A with `n`; per run a fresh empty B and a fresh B with 5 of its own, one after the other.
async fn own_against_many(n: usize, runs: usize) {
    let a = Node::start("alpha", json!({})).await;
    let t = Instant::now();
    a.load_observations("a", n).await;
    println!("loaded {n} on A in {:.1} s", t.elapsed().as_secs_f64());
    let mut empty = Figures::new();
    let mut own = Figures::new();
    // Each B's own triples stay on A after it: A grows by them.
    let mut on_a = n;
    for run in 0..runs {
        for mine in [0usize, 5] {
            let b = Node::start("bravo", json!({})).await;
            b.load_observations(&format!("b{run}"), mine).await;
            let before = reconcile_bytes(&a, &b).await;
            let start = Instant::now();
            a.invite(&b).await;
            let live = (on_a + mine) as u64;
            let secs = until_identical(&a, &b, live, start).await;
            assert!(until_proven(&a, &b).await, "never proven in sync");
            let bytes = reconcile_bytes(&a, &b).await - before;
            println!("run {run}: B with {mine} of its own caught up with A's {on_a} in {secs:.2} s, {bytes} B to identify");
            let figures = if mine == 0 { &mut empty } else { &mut own };
            figures.push(secs, bytes, live, on_a as u64);
            on_a += mine;
            b.daemon.shutdown().await;
        }
    }
    empty.print(
        &format!("catch-up of {n} into an empty B (timed from the invite)"),
        "< 20 s",
    );
    own.print(
        &format!("catch-up of {n} into a B with 5 of its own"),
        "< 20 s, same as from empty",
    );
    a.daemon.shutdown().await;
}

/// Two stores of `half` each, disjoint, paired.
async fn disjoint_halves(half: usize, runs: usize) {
    let mut f = Figures::new();
    for run in 0..runs {
        let a = Node::start("alpha", json!({})).await;
        let b = Node::start("bravo", json!({})).await;
        a.load_observations(&format!("a{run}"), half).await;
        b.load_observations(&format!("b{run}"), half).await;
        let before = reconcile_bytes(&a, &b).await;
        let start = Instant::now();
        a.invite(&b).await;
        let secs = until_identical(&a, &b, 2 * half as u64, start).await;
        assert!(until_proven(&a, &b).await, "never proven in sync");
        let bytes = reconcile_bytes(&a, &b).await - before;
        println!(
            "run {run}: {half} + {half} disjoint identical in {secs:.2} s, {bytes} B to identify"
        );
        f.push(secs, bytes, 2 * half as u64, half as u64);
        a.daemon.shutdown().await;
        b.daemon.shutdown().await;
    }
    f.print(
        &format!("two stores of {half} each, disjoint, to identical"),
        "< 30 s",
    );
}

/// A and B share `shared`; B stops, A writes `more`, B restarts (a fresh gossip machine).
async fn offline_catch_up(shared: usize, more: usize, runs: usize) {
    let mut f = Figures::new();
    for run in 0..runs {
        let a = Node::start("alpha", json!({})).await;
        let b = Node::start("bravo", json!({})).await;
        a.load_observations(&format!("s{run}"), shared).await;
        a.invite(&b).await;
        until_identical(&a, &b, shared as u64, Instant::now()).await;
        // As a device that stayed on a while: a round proved the pair in sync (B recorded A's
        // acknowledgement) before B goes down.
        let proven = mayros_sync_tests::wait_until(Duration::from_secs(30), || async {
            let status = b.get("/api/v1/sync/status").await;
            status["peers"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["state"] == "in-sync"))
        })
        .await;
        assert!(proven, "B never saw the pair proven in sync");
        let b_dir = b.dir;
        b.daemon.shutdown().await;
        a.load_observations(&format!("m{run}"), more).await;
        let before_a = stat(&a.p2p_status().await.1, "reconcile_bytes_in");
        let start = Instant::now();
        let b = Node::restart(b_dir, "bravo").await;
        let secs = until_identical(&a, &b, (shared + more) as u64, start).await;
        assert!(until_proven(&a, &b).await, "never proven in sync");
        let bytes = reconcile_bytes(&a, &b).await - before_a;
        println!("run {run}: B back after A wrote {more} into {shared}: identical in {secs:.2} s from its restart, {bytes} B to identify (Bloom filters of {} and {} items)", stat(&a.p2p_status().await.1, "bloom_filter_items"), stat(&b.p2p_status().await.1, "bloom_filter_items"));
        f.push(secs, bytes, more as u64, (shared + more) as u64);
        a.daemon.shutdown().await;
        b.daemon.shutdown().await;
    }
    f.print(
        &format!("B offline while A wrote {more} into a shared {shared}"),
        "< 10 s after B restarts",
    );
}
