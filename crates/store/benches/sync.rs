//! Polled-sync throughput of the store: a source serves `delta_page`s of 5 000 and a fresh
//! file store applies each with `apply_remote` (one transaction per page), as a cold catch-up.
//!
//! Run: `cargo bench -p mayros-sync-store --bench sync` (set `SYNC_BENCH_N` to change the size;
//! default 200 000).

use std::time::{Duration, Instant};

use mayros_sync_proto::config::ConflictStrategy;
use mayros_sync_proto::{Triple, Value};
use mayros_sync_store::{ApplyContext, NewTriple, Store, WriteContext};

const PAGE: usize = 5_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = match std::env::var("SYNC_BENCH_N") {
        Ok(v) => v.parse()?,
        Err(_) => 200_000,
    };
    let dir = tempfile::tempdir()?;
    let mut source = Store::open(&dir.path().join("source.db"))?;
    let ctx = WriteContext {
        wall_ms: 1_795_541_774_123,
        author: "ab".repeat(32),
    };
    let items = (0..n)
        .map(|i| {
            let object = match i % 3 {
                0 => Value::String(format!("value number {i}")),
                1 => Value::Integer(i as i64),
                _ => Value::Node(format!("bench:node:{}", i % 5000)),
            };
            // Ten predicates per subject: every key is touched, as in a real catch-up.
            let t = Triple::new(
                &format!("bench:agent:{}", i / 10),
                &format!("bench:p{}", i % 10),
                object,
            )?;
            Ok(NewTriple::new(t))
        })
        .collect::<Result<Vec<_>, mayros_sync_proto::Error>>()?;
    let out = source.insert_batch(&items, &ctx)?;
    for t in out.inserted.iter().step_by(20) {
        source.delete(&t.id, &ctx)?; // 5 % deleted: tombstones to carry too
    }

    let mut target = Store::open(&dir.path().join("target.db"))?;
    let apply_ctx = ApplyContext {
        wall_ms: ctx.wall_ms + 1_000,
        peer: ctx.author.clone(),
        strategy: ConflictStrategy::LastWriterWins,
        multi_valued: vec![],
        exclude_prefixes: vec!["mayros:sync:".into()],
        review_horizon: None,
    };
    let (mut page_time, mut apply_time) = (Duration::ZERO, Duration::ZERO);
    let (mut cursor, mut pages, mut changes) = (0, 0, 0);
    loop {
        let start = Instant::now();
        let page = source.delta_page(cursor, PAGE, &[], &apply_ctx.exclude_prefixes)?;
        page_time += start.elapsed();
        let (triples, deletions) = page.to_remote();
        let start = Instant::now();
        let out = target.apply_remote(&triples, &deletions, &apply_ctx)?;
        apply_time += start.elapsed();
        changes += out.applied + out.deletions_applied;
        pages += 1;
        cursor = page.next;
        if !page.has_more {
            break;
        }
    }
    if target.triple_count()? != source.triple_count()? {
        return Err("the target does not hold every live triple".into());
    }
    let rate = |d: Duration| changes as f64 / d.as_secs_f64();
    println!(
        "delta_page: {changes} changes in {pages} pages of {PAGE}: {:.0} ms ({:.0} changes/s)",
        page_time.as_secs_f64() * 1000.0,
        rate(page_time)
    );
    println!(
        "apply_remote: {changes} changes, one transaction per page, file store: {:.0} ms ({:.0} changes/s)",
        apply_time.as_secs_f64() * 1000.0,
        rate(apply_time)
    );
    Ok(())
}
