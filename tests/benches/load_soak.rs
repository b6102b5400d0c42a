//! Long run under load (issue 13): three `mayros daemon` processes paired in one group on
//! loopback (native mode), 10 single-triple writes and 1 delete per second spread over them.
//! Every minute: whether the three converge to identical id sets (writes paused until they
//! agree; the time includes listing every id three times, in pages of 1 000), failed gossip rounds so far, write → visible on both other engines p50 / p99 over
//! that minute, and each engine's RSS. Targets: identical, zero failed rounds, p99 < 500 ms,
//! RSS flat.
//!
//! Run: `cargo build --release -p mayros-cli`, then
//! `cargo bench -p mayros-sync-tests --bench load_soak`. `MAYROS_LOAD_SECS` sets the duration
//! (default 1800); `MAYROS_BIN` points at another `mayros` binary; `MAYROS_LOAD_LIST_PAGE` the
//! page size of the per-minute listing (default 1000); `MAYROS_LOAD_DELETES_PER_SEC` the deletes
//! per second (default 1).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use mayros_sync_tests::procs::{sample, sibling_binary, EngineProc};
use serde_json::json;
use tokio::sync::Mutex;

/// Writes per second, spread round-robin over the engines.
const WRITES_PER_SEC: u64 = 10;
/// How often figures are printed (and convergence checked).
const REPORT_EVERY: Duration = Duration::from_secs(60);
/// How long one write may take to be visible everywhere before it counts as lost.
const VISIBLE_DEADLINE: Duration = Duration::from_secs(30);
/// How long the engines may take to agree once writes pause.
const CONVERGE_DEADLINE: Duration = Duration::from_secs(30);
/// Deletes per second (`MAYROS_LOAD_DELETES_PER_SEC`, 1 to 10; 10 keeps the live set at about 20
/// triples, so the store grows by tombstones and log entries only).
fn deletes_per_sec() -> u64 {
    (mayros_sync_tests::env_or("MAYROS_LOAD_DELETES_PER_SEC", 1) as u64).clamp(1, WRITES_PER_SEC)
}

/// Triples per page when the check lists an engine's ids (`MAYROS_LOAD_LIST_PAGE`; 100000 lists
/// a whole store of this run in one answer).
fn list_page() -> usize {
    mayros_sync_tests::env_or("MAYROS_LOAD_LIST_PAGE", 1_000)
}

fn main() {
    let secs: u64 = std::env::var("MAYROS_LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1800);
    let bin = sibling_binary("mayros", "MAYROS_BIN");
    if !bin.exists() {
        println!(
            "load soak: skipped, no binary at {} (cargo build --release -p mayros-cli)",
            bin.display()
        );
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(&bin, secs));
}

/// One engine process and a client for its Cortex REST API.
struct Engine {
    proc: EngineProc,
    http: reqwest::Client,
}

impl Engine {
    async fn write(&self, i: u64) -> String {
        let body = json!({"subject": format!("mayros:load:{i}"), "predicate": "ex:n", "object": i});
        let resp = self
            .http
            .post(format!("{}/api/v1/triples", self.proc.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "write {i}: {}", resp.status());
        let v: serde_json::Value = resp.json().await.unwrap();
        v["id"].as_str().unwrap().to_string()
    }

    async fn delete(&self, id: &str) {
        let resp = self
            .http
            .delete(format!("{}/api/v1/triples/{id}", self.proc.base))
            .send()
            .await
            .unwrap();
        // 404: another engine's delete of it already arrived.
        assert!(
            resp.status().is_success() || resp.status() == 404,
            "delete {id}: {}",
            resp.status()
        );
    }

    async fn has(&self, id: &str) -> bool {
        self.http
            .get(format!("{}/api/v1/triples/{id}", self.proc.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// Every live id, listed in pages of [`list_page`] as a Cortex client pages: one listing
    /// of the whole store per check would make each engine build a response the size of its
    /// store every minute, and the RSS sampled after it would follow the store's size.
    async fn ids(&self) -> Vec<String> {
        mayros_sync_tests::list_ids(&self.http, &self.proc.base, list_page()).await
    }

    async fn p2p(&self) -> serde_json::Value {
        self.http
            .get(format!("{}/api/v1/p2p/status", self.proc.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn failed_rounds(&self) -> u64 {
        self.p2p().await["sync_stats"]["total_failed_syncs"]
            .as_u64()
            .unwrap_or(0)
    }

    async fn links(&self) -> usize {
        self.p2p().await["connected_peers"]
            .as_array()
            .map_or(0, |a| a.iter().filter(|p| p["connected"] == true).count())
    }
}

async fn run(bin: &std::path::Path, secs: u64) {
    let start = |name: &str| Engine {
        proc: EngineProc::start(bin, name, &json!({})),
        http: reqwest::Client::new(),
    };
    let engines = Arc::new([start("load-a"), start("load-b"), start("load-c")]);
    {
        let (a, b, c) = (&engines[0].proc, &engines[1].proc, &engines[2].proc);
        tokio::task::block_in_place(|| {
            a.invite(b);
            a.invite(c);
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !all_linked(&engines).await {
        assert!(Instant::now() < deadline, "the three engines never linked");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rss0: Vec<u64> = engines
        .iter()
        .map(|e| sample(e.proc.pid()).map_or(0, |s| s.rss))
        .collect();
    let failed0 = failed_rounds(&engines).await;
    let deletes_per_sec = deletes_per_sec();
    println!(
        "load soak: 3 engines, {WRITES_PER_SEC} writes + {deletes_per_sec} delete(s) per second, {secs} s; RSS at start {} MB",
        mb_list(&rss0)
    );

    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let lost = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut live: Vec<String> = Vec::new();
    let t0 = Instant::now();
    let total = Duration::from_secs(secs);
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / WRITES_PER_SEC));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_report = t0 + REPORT_EVERY;
    let (mut writes, mut deletes) = (0u64, 0u64);
    let mut all_identical = true;
    while t0.elapsed() < total {
        tick.tick().await;
        let writer = (writes % 3) as usize;
        let id = engines[writer].write(writes).await;
        writes += 1;
        watch_visible(&engines, writer, id.clone(), &latencies, &lost);
        live.push(id);
        if writes % (WRITES_PER_SEC / deletes_per_sec) == 0 && live.len() > 20 {
            // Delete a triple written a while ago, on an engine chosen by rotation.
            let victim = live.remove(rand::random::<usize>() % (live.len() - 20));
            engines[(deletes % 3) as usize].delete(&victim).await;
            deletes += 1;
        }
        if Instant::now() >= next_report || t0.elapsed() >= total {
            next_report += REPORT_EVERY;
            // RSS under load, before the check lists every id.
            let rss_load: Vec<u64> = engines
                .iter()
                .map(|e| sample(e.proc.pid()).map_or(0, |s| s.rss))
                .collect();
            // Let in-flight watchers finish, then check convergence with writes paused.
            let converged = converge(&engines).await;
            all_identical &= converged.is_some();
            let mut lat = std::mem::take(&mut *latencies.lock().await);
            lat.sort_by(f64::total_cmp);
            let rss: Vec<u64> = engines
                .iter()
                .map(|e| sample(e.proc.pid()).map_or(0, |s| s.rss))
                .collect();
            let store: Vec<u64> = engines
                .iter()
                .map(|e| dir_bytes(&e.proc.data_dir()))
                .collect();
            println!(
                "{:5.0} s: writes {writes}, deletes {deletes}, live {}; identical {}; failed rounds {}; write→visible p50 {} p99 {} max {} ms over {} writes, lost {}; RSS {} MB under load, {} MB after the check; data dir {} MB",
                t0.elapsed().as_secs_f64(),
                live.len(),
                converged.map_or("NO (30 s)".to_string(), |ms| format!("yes ({ms} ms after pause)")),
                failed_rounds(&engines).await - failed0,
                pct(&lat, 0.5),
                pct(&lat, 0.99),
                lat.last().map_or("-".into(), |m| format!("{m:.1}")),
                lat.len(),
                lost.load(std::sync::atomic::Ordering::Relaxed),
                mb_list(&rss_load),
                mb_list(&rss),
                mb_list(&store)
            );
        }
    }
    let rss1: Vec<u64> = engines
        .iter()
        .map(|e| sample(e.proc.pid()).map_or(0, |s| s.rss))
        .collect();
    println!(
        "end after {:.0} s: every minute identical: {all_identical}; failed rounds {}; RSS start {} MB, end {} MB",
        t0.elapsed().as_secs_f64(),
        failed_rounds(&engines).await - failed0,
        mb_list(&rss0),
        mb_list(&rss1)
    );
}

/// Spawns a task that records how long `id` takes to be readable on both other engines.
fn watch_visible(
    engines: &Arc<[Engine; 3]>,
    writer: usize,
    id: String,
    latencies: &Arc<Mutex<Vec<f64>>>,
    lost: &Arc<std::sync::atomic::AtomicU64>,
) {
    let (engines, latencies, lost) = (engines.clone(), latencies.clone(), lost.clone());
    let t = Instant::now();
    tokio::spawn(async move {
        for (i, e) in engines.iter().enumerate() {
            if i == writer {
                continue;
            }
            while !e.has(&id).await {
                if t.elapsed() > VISIBLE_DEADLINE {
                    lost.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        latencies.lock().await.push(t.elapsed().as_secs_f64() * 1e3);
    });
}

/// Waits (writes paused) until the three id sets are equal; the ms it took, or `None`.
async fn converge(engines: &[Engine; 3]) -> Option<u128> {
    let t = Instant::now();
    while t.elapsed() < CONVERGE_DEADLINE {
        let a = engines[0].ids().await;
        if engines[1].ids().await == a && engines[2].ids().await == a {
            return Some(t.elapsed().as_millis());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

async fn all_linked(engines: &[Engine; 3]) -> bool {
    for e in engines {
        if e.links().await < 2 {
            return false;
        }
    }
    true
}

async fn failed_rounds(engines: &[Engine; 3]) -> u64 {
    let mut n = 0;
    for e in engines {
        n += e.failed_rounds().await;
    }
    n
}

fn pct(sorted: &[f64], p: f64) -> String {
    if sorted.is_empty() {
        return "-".into();
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    format!("{:.1}", sorted[i])
}

/// Bytes of the files directly in `dir` (the store, its WAL, secrets).
fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.filter_map(|e| e.ok()?.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum()
    })
}

fn mb_list(rss: &[u64]) -> String {
    rss.iter()
        .map(|r| format!("{:.1}", *r as f64 / 1e6))
        .collect::<Vec<_>>()
        .join(" / ")
}
