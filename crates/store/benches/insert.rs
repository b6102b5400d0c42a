//! Batch insert throughput: 100 000 triples in one batch into a fresh file store, 5 runs;
//! then the latency of single-triple inserts (one commit each).
//!
//! Run: `cargo bench -p mayros-sync-store --bench insert` (set `INSERT_BENCH_N` to change the size).

use std::time::Instant;

use mayros_sync_proto::{Triple, Value};
use mayros_sync_store::{NewTriple, Store, WriteContext};

const RUNS: usize = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = match std::env::var("INSERT_BENCH_N") {
        Ok(v) => v.parse()?,
        Err(_) => 100_000,
    };
    let items = (0..n)
        .map(|i| {
            let object = match i % 4 {
                0 => Value::String(format!("value number {i}")),
                1 => Value::Integer(i as i64),
                2 => Value::Node(format!("bench:node:{}", i % 5000)),
                _ => Value::Float(i as f64 / 7.0),
            };
            let subject = format!("bench:agent:{}", i / 10);
            let predicate = format!("bench:p{}", i % 10);
            Ok(NewTriple::new(Triple::new(&subject, &predicate, object)?))
        })
        .collect::<Result<Vec<_>, mayros_sync_proto::Error>>()?;
    let ctx = WriteContext {
        wall_ms: 1_795_541_774_123,
        author: "ab".repeat(32),
    };

    let mut ms = Vec::with_capacity(RUNS);
    for run in 1..=RUNS {
        let dir = tempfile::tempdir()?;
        let mut store = Store::open(&dir.path().join("store.db"))?;
        let start = Instant::now();
        let outcome = store.insert_batch(&items, &ctx)?;
        let elapsed = start.elapsed().as_secs_f64() * 1000.0;
        if outcome.inserted.len() != n || store.triple_count()? != n as u64 {
            return Err(format!("run {run}: expected {n} new triples").into());
        }
        println!(
            "run {run}: {n} triples in {elapsed:.1} ms ({:.0} triples/s)",
            n as f64 / elapsed * 1000.0
        );
        ms.push(elapsed);
    }
    ms.sort_by(f64::total_cmp);
    let rate = |t: f64| n as f64 / t * 1000.0;
    let median = ms[RUNS / 2];
    println!(
        "insert_batch {n} triples (one transaction, file store, WAL, synchronous={}): \
         median {:.0} triples/s ({median:.1} ms); min {:.1} ms, max {:.1} ms over {RUNS} runs",
        mayros_sync_store::SYNCHRONOUS,
        rate(median),
        ms[0],
        ms[RUNS - 1],
    );
    single_insert_latency(&ctx)
}

/// Latency of one-triple transactions (one commit, so one WAL fsync, each).
fn single_insert_latency(ctx: &WriteContext) -> Result<(), Box<dyn std::error::Error>> {
    const N: usize = 200;
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(&dir.path().join("store.db"))?;
    let mut us = Vec::with_capacity(N);
    for i in 0..N {
        let t = Triple::new("bench:single", "bench:p", Value::Integer(i as i64))?;
        let start = Instant::now();
        store.insert(&NewTriple::new(t), ctx)?;
        us.push(start.elapsed().as_secs_f64() * 1e6);
    }
    us.sort_by(f64::total_cmp);
    println!(
        "insert 1 triple per transaction: median {:.0} µs, p99 {:.0} µs, max {:.0} µs over {N}",
        us[N / 2],
        us[N * 99 / 100],
        us[N - 1]
    );
    Ok(())
}
