//! The Mayros Cortex client contract (issue 15): every row of `docs/cortex-contract.md` is
//! replayed against a running engine's embedded Cortex, checking the status and each field the
//! client reads; the 501 rows must be exactly the routes of the `cortex_absent` table.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::net::SocketAddr;

use mayros_sync_node::api::cortex_absent::{CODE, NOT_IN_EMBEDDED};
use mayros_sync_node::{Daemon, DaemonOptions};
use serde_json::Value;

const TABLE: &str = include_str!("../../../docs/cortex-contract.md");

/// One row of the contract table.
#[derive(Debug)]
struct Row {
    method: String,
    route: String,
    body: Option<Value>,
    status: u16,
    reads: Vec<String>,
}

fn unquote(cell: &str) -> &str {
    cell.trim().trim_start_matches('`').trim_end_matches('`')
}

fn rows() -> Vec<Row> {
    let mut out = Vec::new();
    for line in TABLE.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // "| GET | `/route` | call | body | status | reads | embedded |" splits into 9 cells.
        if cells.len() != 9 || !["GET", "POST", "DELETE", "PUT"].contains(&cells[1]) {
            continue;
        }
        let body = match cells[4] {
            "-" => None,
            b => Some(
                serde_json::from_str(unquote(b))
                    .unwrap_or_else(|e| panic!("row {}: body {b} is not JSON: {e}", cells[2])),
            ),
        };
        let reads = match cells[6] {
            "-" => Vec::new(),
            r => r.split(',').map(|f| unquote(f).to_string()).collect(),
        };
        out.push(Row {
            method: cells[1].to_string(),
            route: unquote(cells[2]).to_string(),
            body,
            status: cells[5].parse().unwrap(),
            reads,
        });
    }
    out
}

fn field<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, key| v.get(key))
}

async fn engine(dir: &std::path::Path) -> Daemon {
    let mut opts = DaemonOptions::new(dir.to_path_buf());
    opts.api = SocketAddr::from(([127, 0, 0, 1], 0));
    opts.peer_api = None;
    opts.quic = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    opts.name = Some("client-contract".into());
    opts.secret_store = Some(mayros_sync_store::SecretStoreChoice::File);
    Daemon::start(opts).await.unwrap()
}

#[test]
fn the_table_is_read_whole() {
    let rows = rows();
    assert!(rows.len() >= 45, "only {} rows parsed", rows.len());
    assert!(rows.iter().any(|r| r.route == "/api/v1/flush"));
    assert!(rows.iter().any(|r| r.status == 501));
}

#[test]
fn the_501_rows_are_the_absent_routes() {
    let table: BTreeSet<(String, String)> = rows()
        .into_iter()
        .filter(|r| r.status == 501)
        .map(|r| (r.method, r.route))
        .collect();
    let code: BTreeSet<(String, String)> = NOT_IN_EMBEDDED
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(table, code);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_cortex_answers_every_client_call() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = engine(dir.path()).await;
    let base = format!("http://{}", daemon.info().api);
    let http = reqwest::Client::new();
    let mut triple_id = String::from("x");
    let mut event_id = String::from("x");
    let mut failures = Vec::new();
    for row in rows() {
        let path = row
            .route
            .replace(
                "{id}",
                if row.route.starts_with("/api/v1/events/") {
                    &event_id
                } else {
                    &triple_id
                },
            )
            .replace("{hash}", "abc")
            .replace("{addr}", "127.0.0.1:19191");
        let method = reqwest::Method::from_bytes(row.method.as_bytes()).unwrap();
        // As the client does: JSON content type always, a body only where it sends one.
        let mut req = http
            .request(method, format!("{base}{path}"))
            .header("content-type", "application/json");
        if let Some(b) = &row.body {
            req = req.body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        let what = format!("{} {}", row.method, row.route);
        if status != row.status {
            failures.push(format!(
                "{what}: {status}, table says {} ({body})",
                row.status
            ));
            continue;
        }
        for f in &row.reads {
            if field(&body, f).is_none_or(Value::is_null) {
                failures.push(format!("{what}: no `{f}` in {body}"));
            }
        }
        if status == 501 {
            let msg = body["error"].as_str().unwrap_or("");
            if body["code"] != CODE || !msg.contains("cortex.url") {
                failures.push(format!("{what}: 501 body {body}"));
            }
        }
        match (row.method.as_str(), row.route.as_str()) {
            ("POST", "/api/v1/triples") => triple_id = body["id"].as_str().unwrap_or("x").into(),
            ("POST", "/api/v1/events") => event_id = body["ids"][0].as_str().unwrap_or("x").into(),
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // A route outside the contract stays a JSON 404.
    let resp = http
        .get(format!("{base}/api/v1/not-a-route"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listings_and_flush_answer_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = engine(dir.path()).await;
    let base = format!("http://{}", daemon.info().api);
    let http = reqwest::Client::new();
    for (s, p) in [("ex:b", "likes"), ("ex:a", "likes"), ("other:c", "knows")] {
        let r = http
            .post(format!("{base}/api/v1/triples"))
            .json(&serde_json::json!({"subject": s, "predicate": p, "object": "o"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
    }
    let get = |path: &str| {
        let url = format!("{base}{path}");
        let http = http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let subjects = get("/api/v1/query/subjects?predicate=likes&limit=1").await;
    assert_eq!(subjects["subjects"], serde_json::json!(["<ex:a>"]));
    assert_eq!(subjects["total"], 2);
    let predicates = get("/api/v1/query/predicates?namespace=ex").await;
    assert_eq!(predicates["predicates"], serde_json::json!(["<likes>"]));
    let health = get("/api/v1/health").await;
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));

    // The sidecar manager posts flush with no body and no content type.
    let wal = daemon_store_file(dir.path());
    let wal_len = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let before = wal_len();
    assert!(before > 0, "three writes left nothing in the WAL");
    let flushed = http
        .post(format!("{base}/api/v1/flush"))
        .send()
        .await
        .unwrap();
    assert_eq!(flushed.status().as_u16(), 200);
    let body: Value = flushed.json().await.unwrap();
    assert_eq!(body["status"], "flushed", "{body}");
    assert_eq!(body["checkpointed_frames"], body["wal_frames"], "{body}");
    assert!(
        wal_len() < before,
        "the WAL kept {} of {before} bytes",
        wal_len()
    );
    daemon.shutdown().await;
}

/// The WAL file of the engine's store in `dir`.
fn daemon_store_file(dir: &std::path::Path) -> std::path::PathBuf {
    let db = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "db"))
        .unwrap();
    let mut wal = db.into_os_string();
    wal.push("-wal");
    wal.into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_events_are_kept_filtered_and_never_synced() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = engine(dir.path()).await;
    let base = format!("http://{}", daemon.info().api);
    let http = reqwest::Client::new();
    let event = |agent: &str, ts: &str| {
        serde_json::json!({"subject": "contract:e", "type": "tool_call", "agentId": agent,
                           "timestamp": ts, "fields": {"tool": "search"}})
    };
    let batch = serde_json::json!({"events": [
        event("a1", "2026-12-01T10:00:00.000Z"),
        event("a2", "2026-12-01T11:00:00.000Z"),
    ]});
    for expected_new in [2, 0] {
        // The second post is the client's retry of the same batch.
        let r: Value = http
            .post(format!("{base}/api/v1/events"))
            .json(&batch)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["accepted"], expected_new, "{r}");
    }
    let only_a2: Value = http
        .get(format!("{base}/api/v1/events?agentId=a2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events = only_a2["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{only_a2}");
    assert_eq!(events[0]["timestamp"], "2026-12-01T11:00:00.000Z");
    // Events are not triples: the synced graph stays empty.
    let stats: Value = http
        .get(format!("{base}/api/v1/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["graph"]["triple_count"], 0);
    let bad = http
        .post(format!("{base}/api/v1/events"))
        .json(&serde_json::json!({"events": [{"type": "t"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    daemon.shutdown().await;
}
