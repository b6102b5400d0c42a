//! The Cortex client's extra store work: subject and predicate listings over 100 000 triples,
//! the WAL checkpoint of `POST /api/v1/flush` after a 100 000-triple write, and agent-event
//! appends in posts of 100 (5 runs each, medians printed).
//!
//! Run: `cargo bench -p mayros-sync-store --bench cortex_extras`.

use std::time::Instant;

use mayros_sync_proto::{Triple, Value};
use mayros_sync_store::{
    EventFilter, EventRetention, NewAgentEvent, NewTriple, Store, WriteContext,
};

const RUNS: usize = 5;
const N: usize = 100_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let items = (0..N)
        .map(|i| {
            let t = Triple::new(
                &format!("bench:agent:{}", i / 10),
                &format!("bench:p{}", i % 10),
                Value::Integer(i as i64),
            )?;
            Ok(NewTriple::new(t))
        })
        .collect::<Result<Vec<_>, mayros_sync_proto::Error>>()?;
    let ctx = WriteContext {
        wall_ms: 1_795_541_774_123,
        author: "ab".repeat(32),
    };
    let (mut subjects, mut predicates, mut checkpoints, mut events) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 1..=RUNS {
        let dir = tempfile::tempdir()?;
        let mut store = Store::open(&dir.path().join("store.db"))?;
        store.insert_batch(&items, &ctx)?;
        let wal = dir.path().join("store.db-wal");
        let wal_bytes = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);

        let start = Instant::now();
        let c = store.checkpoint()?;
        checkpoints.push(start.elapsed().as_secs_f64() * 1000.0);
        if c.busy || c.checkpointed_frames != c.log_frames {
            return Err(format!("run {run}: checkpoint incomplete: {c:?}").into());
        }

        let start = Instant::now();
        let page = store.subjects(None, 100)?;
        subjects.push(start.elapsed().as_secs_f64() * 1000.0);
        let start = Instant::now();
        let preds = store.predicates(Some("bench"), 100)?;
        predicates.push(start.elapsed().as_secs_f64() * 1000.0);
        if page.total != (N / 10) as u64 || preds.total != 10 {
            return Err(
                format!("run {run}: listing totals {} / {}", page.total, preds.total).into(),
            );
        }

        let posts: u32 = 100;
        let start = Instant::now();
        for p in 0..posts {
            let batch: Vec<NewAgentEvent> = (0..100)
                .map(|i| {
                    let ts = format!("2026-12-01T10:{:02}:{:02}.{:03}Z", p % 60, i % 60, i);
                    NewAgentEvent {
                        kind: "tool_call".into(),
                        agent_id: format!("agent-{}", i % 4),
                        session: Some("s1".into()),
                        timestamp: ts.clone(),
                        body: serde_json::json!({"type": "tool_call", "agentId": format!("agent-{}", i % 4),
                                                 "timestamp": ts, "post": p, "fields": {"tool": "search"}}),
                    }
                })
                .collect();
            store.append_agent_events(&batch, ctx.wall_ms, EventRetention::default())?;
        }
        let secs = start.elapsed().as_secs_f64();
        events.push(f64::from(posts * 100) / secs);
        let kept = store.agent_events(&EventFilter::default(), 10)?;
        if store.agent_event_count()? != u64::from(posts * 100) || kept.len() != 10 {
            return Err(format!("run {run}: events not all kept").into());
        }
        println!(
            "run {run}: checkpoint of a {wal_bytes}-byte WAL {:.1} ms; subjects {:.1} ms; \
             predicates {:.1} ms; events {:.0}/s",
            checkpoints[run - 1],
            subjects[run - 1],
            predicates[run - 1],
            events[run - 1]
        );
    }
    println!(
        "{N} triples: flush (wal_checkpoint TRUNCATE) median {:.1} ms; query/subjects page of 100 \
         median {:.1} ms; query/predicates?namespace median {:.1} ms; agent events in posts of \
         100: median {:.0} events/s ({RUNS} runs)",
        median(checkpoints),
        median(subjects),
        median(predicates),
        median(events)
    );
    Ok(())
}
