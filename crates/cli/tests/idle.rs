//! An idle `mayros daemon` sleeps: past two sync intervals, its threads switch context rarely.
//!
//! Regression test for issue 13 (the scheduler napped 0 ms after its first interval outside
//! polled mode, which spun every default engine).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{wait_until, Node};
use serde_json::json;

/// The shortest `sync.intervalSeconds` the config accepts.
const INTERVAL: Duration = Duration::from_secs(10);
/// How long context switches are counted.
const WINDOW: Duration = Duration::from_secs(5);
/// Context switches per second an idle engine stays under (a spinning loop makes thousands).
const BOUND_PER_SEC: f64 = 50.0;

/// Voluntary plus involuntary context switches of every thread of `pid` now.
fn context_switches(pid: u32) -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        // A thread may end between the listing and the read: it no longer counts.
        let Ok(status) = std::fs::read_to_string(task.unwrap().path().join("status")) else {
            continue;
        };
        for line in status.lines() {
            if let Some(v) = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                total += v.trim().parse::<u64>().unwrap();
            }
        }
    }
    total
}

#[test]
fn an_idle_engine_does_not_spin_after_its_intervals() {
    if !std::path::Path::new("/proc/self/task").exists() {
        eprintln!("skipped: no /proc");
        return;
    }
    let node = Node::start_with("idle", Some(&json!({"sync": {"intervalSeconds": 10}})));
    let started = Instant::now();
    // Past two (jittered) intervals, with the engine in its default mode: the moment the old
    // scheduler began to spin.
    let settled = wait_until(Duration::from_secs(40), || {
        started.elapsed() > 2 * INTERVAL + INTERVAL / 5
            && node.run(&["sync", "status", "--json"]).json()["mode"] == "native"
    });
    assert!(settled, "the engine never reported native mode");

    let pid = node.daemon.pid();
    let before = context_switches(pid);
    let t0 = Instant::now();
    // Counting over a window is the measurement itself, not a wait for a condition.
    std::thread::sleep(WINDOW);
    let per_sec = (context_switches(pid) - before) as f64 / t0.elapsed().as_secs_f64();
    println!("idle engine: {per_sec:.1} context switches/s over {WINDOW:?}");
    assert!(
        per_sec < BOUND_PER_SEC,
        "an idle engine switched context {per_sec:.0} times/s (bound {BOUND_PER_SEC}); stderr:\n{}",
        node.daemon.stderr()
    );
}
