//! The drop-in sidecar contract (issue 7 item 3): recorded request/response pairs of the stock
//! AIngle Cortex (`tests/data/stock_cortex_contract.json`) replayed against our embedded
//! Cortex REST on a real engine, asserting the same status codes, JSON keys, value types and
//! `<…>` names — so a stock Mayros agent configured with our local API as its Cortex works.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use mayros_sync_node::{Daemon, DaemonOptions};
use serde_json::Value;

const CONTRACT: &str = include_str!("data/stock_cortex_contract.json");

async fn engine(dir: &std::path::Path, gossip: bool) -> Daemon {
    let mut opts = DaemonOptions::new(dir.to_path_buf());
    opts.api = SocketAddr::from(([127, 0, 0, 1], 0));
    opts.peer_api = None;
    opts.quic = gossip.then(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    opts.name = Some("contract".into());
    // Tests never touch the OS keyring of whoever runs them (DESIGN §7.3).
    opts.secret_store = Some(mayros_sync_store::SecretStoreChoice::File);
    Daemon::start(opts).await.unwrap()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn bracketed(s: &str) -> bool {
    s.len() >= 2 && s.starts_with('<') && s.ends_with('>')
}

/// Where `actual` breaks the shape of `expected`: every key of an expected object present,
/// arrays of the same length with matching elements, the same value types (an expected `null`
/// matches anything), and a name in `<…>` wherever the stock answer has one.
fn shape_mismatches(expected: &Value, actual: &Value, at: &str, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Null, _) => {}
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => shape_mismatches(ev, av, &format!("{at}.{k}"), out),
                    None => out.push(format!("{at}: key {k:?} missing")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                out.push(format!("{at}: {} items, expected {}", a.len(), e.len()));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                shape_mismatches(ev, av, &format!("{at}[{i}]"), out);
            }
        }
        (Value::String(e), Value::String(a)) => {
            if bracketed(e) != bracketed(a) {
                out.push(format!("{at}: {a:?} vs stock {e:?} (brackets)"));
            }
        }
        (e, a) if kind(e) == kind(a) => {}
        (e, a) => out.push(format!("{at}: {} where the stock has {}", kind(a), kind(e))),
    }
}

#[test]
fn the_shape_check_catches_what_it_should() {
    let stock: Value =
        serde_json::json!({"a": {"b": "<x>", "n": 1}, "l": [{"k": true}], "z": null});
    let mut out = Vec::new();
    shape_mismatches(
        &stock,
        &serde_json::json!({"a": {"b": "<y>", "n": 2, "extra": 0}, "l": [{"k": false}], "z": 5}),
        "",
        &mut out,
    );
    assert!(out.is_empty(), "{out:?}");
    for bad in [
        serde_json::json!({"a": {"b": "x", "n": 1}, "l": [{"k": true}]}),
        serde_json::json!({"a": {"n": 1}, "l": [{"k": true}]}),
        serde_json::json!({"a": {"b": "<x>", "n": "1"}, "l": [{"k": true}]}),
        serde_json::json!({"a": {"b": "<x>", "n": 1}, "l": []}),
    ] {
        let mut out = Vec::new();
        shape_mismatches(&stock, &bad, "", &mut out);
        assert!(!out.is_empty(), "{bad} should not match");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_embedded_cortex_answers_like_the_stock_sidecar() {
    let contract: Value = serde_json::from_str(CONTRACT).unwrap();
    let on_dir = tempfile::tempdir().unwrap();
    let off_dir = tempfile::tempdir().unwrap();
    let on = engine(on_dir.path(), true).await;
    let off = engine(off_dir.path(), false).await;
    let http = reqwest::Client::new();
    let mut failures = Vec::new();
    let exchanges = contract["exchanges"].as_array().unwrap();
    assert!(exchanges.len() >= 15);
    for x in exchanges {
        let name = x["name"].as_str().unwrap();
        let target = match x["target"].as_str() {
            Some("gossip-off") => &off,
            _ => &on,
        };
        let req = &x["request"];
        let method =
            reqwest::Method::from_bytes(req["method"].as_str().unwrap().as_bytes()).unwrap();
        let url = format!(
            "http://{}{}",
            target.info().api,
            req["path"].as_str().unwrap()
        );
        let mut builder = http.request(method, url);
        if let Some(raw) = req["raw_body"].as_str() {
            builder = builder
                .header("content-type", "application/json")
                .body(raw.to_string());
        } else if !req["body"].is_null() {
            builder = builder.json(&req["body"]);
        }
        let resp = builder.send().await.unwrap();
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = resp.bytes().await.unwrap();
        // A documented deviation replaces the stock answer.
        let expected = if x["ours"].is_object() {
            assert!(
                x["ours"]["why"].as_str().is_some_and(|w| !w.is_empty()),
                "{name}: a deviation must say why"
            );
            &x["ours"]
        } else {
            &x["response"]
        };
        let want_status = expected["status"].as_u64().unwrap() as u16;
        if status != want_status {
            failures.push(format!(
                "{name}: status {status}, stock {want_status}: {}",
                String::from_utf8_lossy(&bytes)
            ));
            continue;
        }
        match expected.get("body") {
            None => {
                if !bytes.is_empty() {
                    failures.push(format!(
                        "{name}: expected no body, got {} bytes",
                        bytes.len()
                    ));
                }
            }
            Some(want) => {
                if !content_type.starts_with("application/json") {
                    failures.push(format!("{name}: content-type {content_type:?}"));
                }
                match serde_json::from_slice::<Value>(&bytes) {
                    Ok(got) => {
                        let mut out = Vec::new();
                        shape_mismatches(want, &got, "body", &mut out);
                        failures.extend(out.into_iter().map(|m| format!("{name}: {m} in {got}")));
                    }
                    Err(e) => failures.push(format!("{name}: not JSON ({e})")),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "contract broken:\n{}",
        failures.join("\n")
    );
    on.shutdown().await;
    off.shutdown().await;
}
