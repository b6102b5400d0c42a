//! Native mode between two engines on loopback (DESIGN §12):
//! - write on A → readable on B, p50 / p99 over single-triple writes (target < 100 / 500 ms);
//! - cold catch-up: B pairs with an A holding N triples and gossip brings all of them over
//!   (target < 20 s for 500 k), median of the runs;
//! - then, both in sync, the application bytes per round each way (target ≤ 64 B);
//! - idle CPU and RSS of this process while the two engines idle in sync.
//!
//! Run: `cargo bench -p mayros-sync-tests --bench native_sync` (N = 500 000, 3 catch-up runs;
//! set `MAYROS_BENCH_N` / `MAYROS_BENCH_RUNS` to change them, `MAYROS_BENCH_ONLY=latency|catchup`
//! to run one part).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use mayros_sync_tests::{env_or, wait_until, Node};
use serde_json::json;

const LATENCY_WRITES: usize = 300;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// (user + system CPU seconds, RSS bytes) of this process.
fn cpu_and_rss() -> (f64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks = (fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap()) / 100.0;
    let rss_pages: u64 = fields[21].parse().unwrap();
    (ticks, rss_pages * 4096)
}

async fn run() {
    let n = env_or("MAYROS_BENCH_N", 500_000);
    let runs = env_or("MAYROS_BENCH_RUNS", 3);

    let only = std::env::var("MAYROS_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "latency" {
        latency().await;
    }
    if only.is_empty() || only == "catchup" {
        catch_up(n, runs).await;
    }
}

async fn latency() {
    // Two paired engines, one triple per write.
    let a = Node::start("alpha", json!({})).await;
    let b = Node::start("bravo", json!({})).await;
    a.invite(&b).await;
    assert!(
        wait_until(Duration::from_secs(20), || async {
            a.connected_peers().await == 1
        })
        .await
    );
    let mut lat = Vec::new();
    for i in 0..LATENCY_WRITES {
        let t = Instant::now();
        let (_, resp) = a
            .cortex_post(
                "/api/v1/triples",
                json!({"subject": format!("mayros:lat:{i}"), "predicate": "ex:p", "object": i}),
            )
            .await;
        let id = resp["id"].as_str().unwrap().to_string();
        loop {
            if b.has(&id).await {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "write {i} never arrived"
            );
        }
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "write on A → readable on B ({LATENCY_WRITES} writes, single-triple POST, B polled by GET): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat[lat.len() - 1]
    );
    a.daemon.shutdown().await;
    b.daemon.shutdown().await;
}

async fn catch_up(n: usize, runs: usize) {
    let mut secs = Vec::new();
    for run in 0..runs {
        let a = Node::start("alpha", json!({})).await;
        let load_start = Instant::now();
        a.load_observations(&format!("r{run}"), n).await;
        let load_s = load_start.elapsed().as_secs_f64();
        let b = Node::start("bravo", json!({})).await;
        let start = Instant::now();
        a.invite(&b).await;
        // Watch B's live-id count in p2p/status (from the engine's summary, no store query, so
        // polling does not compete with the applies being measured).
        let trace = std::env::var("MAYROS_BENCH_TRACE").is_ok();
        let mut last_print = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut done = false;
        while Instant::now() < deadline {
            let (_, sb) = b.p2p_status().await;
            let have = sb["sync_stats"]["local_ids"].as_u64().unwrap_or(0);
            if trace && last_print.elapsed() >= Duration::from_secs(1) {
                last_print = Instant::now();
                let (_, sa) = a.p2p_status().await;
                println!(
                    "  {:5.1} s: B holds {have}, A sent {}, B received {}",
                    start.elapsed().as_secs_f64(),
                    sa["gossip_stats"]["changes_sent"],
                    sb["gossip_stats"]["changes_received"]
                );
            }
            if have >= n as u64 {
                done = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!(done, "catch-up did not finish");
        assert_eq!(
            b.triple_count().await,
            n as u64,
            "the store agrees with the summary"
        );
        println!("run {run}: loaded {n} on A in {load_s:.1} s; B caught up in {elapsed:.2} s");
        secs.push(elapsed);

        if run + 1 == runs {
            // In sync now: bytes per round, then idle cost.
            let (_, s0) = a.p2p_status().await;
            let (_, b0) = b.p2p_status().await;
            let cpu0 = cpu_and_rss().0;
            let t0 = Instant::now();
            tokio::time::sleep(Duration::from_secs(30)).await;
            let (cpu1, rss) = cpu_and_rss();
            let idle = (cpu1 - cpu0) / t0.elapsed().as_secs_f64();
            let (_, s1) = a.p2p_status().await;
            let (_, b1) = b.p2p_status().await;
            let d = |x: &serde_json::Value, y: &serde_json::Value, k: &str| {
                y["gossip_stats"][k].as_u64().unwrap() - x["gossip_stats"][k].as_u64().unwrap()
            };
            let rounds = d(&s0, &s1, "round");
            let out_a = d(&s0, &s1, "bytes_out");
            let out_b = d(&b0, &b1, "bytes_out");
            // Frames carry a 4-byte length prefix; the target counts application payload.
            let per_round_a = (out_a as f64 - 4.0 * rounds as f64) / rounds.max(1) as f64;
            let per_round_b = (out_b as f64 - 4.0 * rounds as f64) / rounds.max(1) as f64;
            println!(
                "in sync at n = {n}: {rounds} rounds in 30 s; application bytes per round A→B {per_round_a:.1}, B→A {per_round_b:.1}"
            );
            println!(
                "idle, both engines in this process with {n} triples each: {:.2} % of one core, RSS {:.0} MB (both engines and the bench)",
                100.0 * idle,
                rss as f64 / 1e6
            );
        }
        a.daemon.shutdown().await;
        b.daemon.shutdown().await;
        if run + 1 == runs {
            idle_daemon(b.dir.path(), n);
        }
    }
    secs.sort_by(f64::total_cmp);
    println!(
        "cold catch-up of {n} triples from one peer, {runs} runs: median {:.2} s = {:.0} triples/s (min {:.2}, max {:.2})",
        secs[runs / 2],
        n as f64 / secs[runs / 2],
        secs[0],
        secs[runs - 1]
    );
}

/// Idle cost of one real `mayros daemon` process on a data dir holding `n` triples: CPU over
/// 60 s after start-up settled, and RSS. Needs the release binary (`cargo build --release -p
/// mayros-cli`, or `MAYROS_BIN`).
fn idle_daemon(data_dir: &std::path::Path, n: usize) {
    let bin = std::env::var("MAYROS_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            let exe = std::env::current_exe().unwrap();
            // target/release/deps/<bench> → target/release/mayros
            exe.parent().unwrap().parent().unwrap().join("mayros")
        });
    if !bin.exists() {
        println!(
            "idle daemon: skipped, no binary at {} (cargo build --release -p mayros-cli)",
            bin.display()
        );
        return;
    }
    let mut child = std::process::Command::new(&bin)
        .env("MAYROS_SECRET_STORE", "file")
        .args(["daemon", "--data-dir"])
        .arg(data_dir)
        .args([
            "--api",
            "127.0.0.1:0",
            "--peer-api",
            "127.0.0.1:0",
            "--quic",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("ready "), "{line}");
    let stat = |pid: u32| -> (f64, u64) {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let f: Vec<&str> = s.rsplit(')').next().unwrap().split_whitespace().collect();
        (
            (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0,
            f[21].parse::<u64>().unwrap() * 4096,
        )
    };
    std::thread::sleep(Duration::from_secs(5));
    let (c0, _) = stat(child.id());
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(60));
    let (c1, rss) = stat(child.id());
    let cpu = (c1 - c0) / t0.elapsed().as_secs_f64();
    println!(
        "idle daemon process with {n} triples (no peer reachable): {:.2} % of one core over 60 s, RSS {:.0} MB",
        100.0 * cpu,
        rss as f64 / 1e6
    );
    let _ = child.kill();
    let _ = child.wait();
}
