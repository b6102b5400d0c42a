//! `kill -9` of a real engine while it stores a 100 000-triple `POST /api/v1/triples/batch`,
//! 20 times at spread-out moments: after each kill the engine starts again and holds every
//! batch whole or not at all (DESIGN §11, issue 16).
#![allow(clippy::unwrap_used)]

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{http, Proc, Sandbox};
use serde_json::{json, Value};

const BATCH: u64 = 100_000;
const KILLS: u64 = 20;

fn batch(round: u64) -> String {
    let triples: Vec<Value> = (0..BATCH)
        .map(
            |i| json!({"subject": format!("crash:round{round}"), "predicate": "ex:n", "object": i}),
        )
        .collect();
    json!({ "triples": triples }).to_string()
}

/// Triples of round `round` in the store.
fn stored(port: u16, round: u64) -> u64 {
    let q = json!({"subject": format!("crash:round{round}"), "limit": 1}).to_string();
    let (status, body) = http(port, "POST", "/api/v1/query", &q).unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["total"]
        .as_u64()
        .unwrap()
}

fn start(sb: &Sandbox) -> (Proc, u16) {
    let mut daemon = sb.spawn_daemon(&[]);
    let ready = daemon.wait_ready();
    (daemon, ready.port)
}

#[test]
fn kill_9_during_a_100k_batch_leaves_whole_batches_and_the_engine_starts() {
    let sb = Sandbox::new();
    let (mut daemon, port) = start(&sb);
    // Round 0 runs to the end: how long a batch takes here, to spread the kills over it.
    let body = batch(0);
    let began = Instant::now();
    let (status, answer) = http(port, "POST", "/api/v1/triples/batch", &body).unwrap();
    let full = began.elapsed();
    assert_eq!(status, 200, "{}", &answer[..answer.len().min(300)]);
    assert_eq!(stored(port, 0), BATCH);
    daemon.kill_hard();

    let mut cut = 0;
    for round in 1..=KILLS {
        let (mut daemon, port) = start(&sb);
        let body = batch(round);
        let writer = thread::spawn(move || http(port, "POST", "/api/v1/triples/batch", &body));
        // From the first bytes of the request to just before its answer.
        let at = full.mul_f64(round as f64 / (KILLS + 1) as f64);
        let deadline = Instant::now() + at;
        while Instant::now() < deadline && !writer.is_finished() {
            thread::sleep(Duration::from_millis(5));
        }
        daemon.kill_hard();
        let _ = writer.join();

        let (mut daemon, port) = start(&sb);
        for r in 0..=round {
            let n = stored(port, r);
            assert!(
                n == 0 || n == BATCH,
                "round {r} after kill {round}: {n} triples, a half batch"
            );
            if r == round && n == 0 {
                cut += 1;
            }
        }
        daemon.kill_hard();
    }
    assert!(
        cut > 0,
        "at least one kill landed before its batch committed"
    );
    eprintln!("{cut} of {KILLS} kills landed before the commit (a full batch took {full:?})");
}

#[test]
fn a_damaged_store_stops_the_daemon_naming_the_file_and_is_kept() {
    let sb = Sandbox::new();
    let (mut daemon, port) = start(&sb);
    let (status, _) = http(port, "POST", "/api/v1/triples/batch", &batch(0)).unwrap();
    assert_eq!(status, 200);
    daemon.signal(libc::SIGTERM);
    daemon.wait_exit(common::DEADLINE).unwrap();
    let db = sb.data_dir().join("cortex.db");
    let intact = std::fs::read(&db).unwrap();
    for (what, bytes) in [
        ("truncated", intact[..intact.len() / 3].to_vec()),
        ("garbage", vec![0x5a; intact.len()]),
    ] {
        std::fs::write(&db, &bytes).unwrap();
        let mut daemon = sb.spawn_daemon(&[]);
        let status = daemon
            .wait_exit(common::DEADLINE)
            .expect("the daemon exits");
        assert_eq!(status.code(), Some(1), "{what}");
        let stderr = daemon.stderr();
        assert!(
            stderr.contains(&db.display().to_string()),
            "{what}: {stderr}"
        );
        assert!(
            stderr.contains("damaged") && stderr.contains("Move it away"),
            "{what}: {stderr}"
        );
        assert!(daemon.stdout_lines().is_empty(), "{what}: no ready line");
        assert_eq!(
            std::fs::read(&db).unwrap(),
            bytes,
            "{what}: the file is untouched"
        );
    }
    std::fs::write(&db, &intact).unwrap();
    let (_daemon, port) = start(&sb);
    assert_eq!(stored(port, 0), BATCH, "the restored file serves again");
}
