//! Polled mode between real engines on 127.0.0.1: invites, delta pages over pinned TLS,
//! deletions, conflicts, clock skew, faults and refused peers.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use mayros_sync_tests::{wait_until, Node};
use serde_json::json;

fn triples(prefix: &str, n: usize) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| json!({"subject": format!("mayros:{prefix}:s{}", i / 7), "predicate": format!("mayros:p{}", i % 7), "object": format!("{prefix} value {i}")}))
        .collect()
}

fn small_batches() -> serde_json::Value {
    json!({"sync": {"maxTriplesPerSync": 100}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_engines_converge_with_small_batches_writes_and_deletes() {
    let a = Node::start_polled("alpha", small_batches()).await;
    let b = Node::start_polled("bravo", small_batches()).await;
    let c = Node::start_polled("charlie", small_batches()).await;
    a.invite(&b).await;
    a.invite(&c).await;

    let ids_a = a.put_batch(triples("a", 4000)).await;
    let ids_b = b.put_batch(triples("b", 3000)).await;
    let ids_c = c.put_batch(triples("c", 3000)).await;
    assert_eq!(ids_a.len() + ids_b.len() + ids_c.len(), 10_000);
    for id in ids_a.iter().take(50) {
        assert_eq!(a.delete(id).await, 204);
    }
    for id in ids_c.iter().take(30) {
        assert_eq!(c.delete(id).await, 204);
    }

    let out = b.sync_now().await;
    assert_eq!(out["results"].as_array().unwrap().len(), 1, "{out}");
    let r = &out["results"][0];
    assert!(r["received"].as_u64().unwrap() >= 4000, "{out}");
    c.sync_now().await;
    b.sync_now().await;

    let (ia, ib, ic) = (a.ids().await, b.ids().await, c.ids().await);
    assert_eq!(ia.len(), 10_000 - 80);
    assert_eq!(ia, ib, "A and B identical");
    assert_eq!(ia, ic, "A and C identical");
    assert!(!b.has(&ids_a[0]).await, "deletions propagate");
    assert!(!b.has(&ids_c[0]).await, "deletions relay through A");

    // A re-assert after the delete wins everywhere.
    let again = a.put_batch(vec![triples("a", 1).remove(0)]).await;
    assert_eq!(again, vec![ids_a[0].clone()]);
    b.sync_now().await;
    c.sync_now().await;
    assert!(b.has(&ids_a[0]).await && c.has(&ids_a[0]).await);

    // Status and peer list tell what happened.
    let status = b.get("/api/v1/sync/status").await;
    assert_eq!(status["mode"], "polled");
    assert!(
        status["sync"]["totalSuccessfulSyncs"].as_u64().unwrap() >= 3,
        "{status}"
    );
    let peers = b.get("/api/v1/sync/peers").await;
    let alpha = peers
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "alpha")
        .unwrap();
    assert_eq!(alpha["status"], "active");
    assert_eq!(alpha["lastResult"], "ok");
    assert!(alpha["lastSyncAt"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_writer_wins_on_a_concurrent_edit_in_either_sync_order() {
    for b_first in [false, true] {
        let a = Node::start_polled("alpha", json!({})).await;
        let b = Node::start_polled("bravo", json!({})).await;
        a.invite(&b).await;
        a.put_batch(vec![
            json!({"subject": "mayros:agent:x", "predicate": "mayros:mood", "object": "calm"}),
        ])
        .await;
        // The second writer's clock runs 1 s ahead, so its write is the newer one.
        b.daemon.engine().clock().set_offset_ms(1_000);
        let newer = b
            .put_batch(vec![
                json!({"subject": "mayros:agent:x", "predicate": "mayros:mood", "object": "busy"}),
            ])
            .await;
        if b_first {
            b.sync_now().await;
        } else {
            a.sync_now().await;
        }
        let (ia, ib) = (a.ids().await, b.ids().await);
        assert_eq!(ia, ib, "converged (b_first={b_first})");
        assert_eq!(ia, newer, "the newer write wins (b_first={b_first})");
        let conflicts = a.get("/api/v1/sync/conflicts").await;
        let logged = conflicts.as_array().unwrap().len()
            + b.get("/api/v1/sync/conflicts")
                .await
                .as_array()
                .unwrap()
                .len();
        assert!(logged >= 1, "the resolution is logged");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_works_once_and_forged_codes_are_refused() {
    let a = Node::start_polled("alpha", json!({})).await;
    let b = Node::start_polled("bravo", json!({})).await;
    let c = Node::start_polled("charlie", json!({})).await;
    let inv = a.invite(&b).await;
    let (s, out) = c
        .control("/api/v1/sync/pair/code", json!({"code": inv["code"]}))
        .await;
    assert_eq!(s, 401, "{out}");
    assert!(out["error"].as_str().unwrap().contains("used"), "{out}");
    let (s, out) = c
        .control(
            "/api/v1/sync/pair/code",
            json!({"code": "mayros1-notacode"}),
        )
        .await;
    assert_eq!(s, 400, "{out}");
    assert_eq!(out["code"], "INVALID_INVITE");
    // A code whose secret was altered: right inviter, wrong secret.
    let (_, fresh) = a.control("/api/v1/sync/invite", json!({})).await;
    let mut invite =
        mayros_sync_proto::invite::Invite::decode(fresh["code"].as_str().unwrap()).unwrap();
    invite.secret[0] ^= 1;
    let (s, out) = c
        .control("/api/v1/sync/pair/code", json!({"code": invite.encode()}))
        .await;
    assert_eq!(s, 401, "{out}");
    assert!(c
        .get("/api/v1/sync/peers")
        .await
        .as_array()
        .unwrap()
        .is_empty());
    // An unused code past its 10 minutes.
    let (_, late) = a.control("/api/v1/sync/invite", json!({})).await;
    a.daemon.engine().clock().set_offset_ms(11 * 60 * 1000);
    let (s, out) = c
        .control("/api/v1/sync/pair/code", json!({"code": late["code"]}))
        .await;
    assert_eq!(s, 401, "{out}");
    assert!(out["error"].as_str().unwrap().contains("expired"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_peer_is_recorded_then_recovers() {
    let a = Node::start_polled("alpha", json!({})).await;
    let b = Node::start_polled("bravo", json!({})).await;
    a.invite(&b).await;
    let ids = a.put_batch(triples("a", 500)).await;
    let a_dir = a.dir;
    let a_name = "alpha";
    a.daemon.shutdown().await;

    let (s, out) = b.control("/api/v1/sync/now", json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(out["results"][0]["ok"], false, "{out}");
    let peers = b.get("/api/v1/sync/peers").await;
    assert_eq!(peers[0]["status"], "unreachable", "{peers}");
    assert_eq!(peers[0]["failures"], 1);
    assert!(peers[0]["nextRetryAt"].is_string());
    assert!(b.ids().await.is_empty(), "nothing half-applied");

    let a = Node::restart(a_dir, a_name).await;
    // The peer API port changed on restart; A tells B its new endpoint when it syncs.
    a.sync_now().await;
    b.sync_now().await;
    assert_eq!(b.ids().await.len(), ids.len());
    let peers = b.get("/api/v1/sync/peers").await;
    assert_eq!(peers[0]["status"], "active", "{peers}");
    assert_eq!(peers[0]["failures"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skewed_clock_loses_and_repeats_nothing() {
    let a = Node::start_polled("alpha", json!({})).await;
    let b = Node::start_polled("bravo", json!({})).await;
    a.invite(&b).await;
    b.daemon.engine().clock().set_offset_ms(3 * 3600 * 1000);
    let from_b = b.put_batch(triples("b", 200)).await;
    let from_a = a.put_batch(triples("a", 200)).await;
    a.sync_now().await;
    let out = a.sync_now().await;
    assert_eq!(out["results"][0]["received"], 0, "nothing repeated: {out}");
    let (ia, ib) = (a.ids().await, b.ids().await);
    assert_eq!(ia, ib);
    assert_eq!(ia.len(), from_a.len() + from_b.len());
    let status = a.get("/api/v1/sync/status").await;
    let warnings = status["warnings"].to_string();
    assert!(warnings.contains("clock skew"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_both_and_local_priority_give_their_documented_outcomes() {
    // keep-both: both values stay everywhere and the conflict is recorded.
    let cfg = json!({"sync": {"conflictStrategy": "keep-both"}});
    let a = Node::start_polled("alpha", cfg.clone()).await;
    let b = Node::start_polled("bravo", cfg).await;
    a.invite(&b).await;
    let calm = a
        .put_batch(vec![
            json!({"subject": "mayros:agent:x", "predicate": "mayros:mood", "object": "calm"}),
        ])
        .await;
    let busy = b
        .put_batch(vec![
            json!({"subject": "mayros:agent:x", "predicate": "mayros:mood", "object": "busy"}),
        ])
        .await;
    b.sync_now().await;
    let mut both = vec![calm[0].clone(), busy[0].clone()];
    both.sort();
    assert_eq!(a.ids().await, both);
    assert_eq!(b.ids().await, both);
    let logged = b.get("/api/v1/sync/conflicts").await;
    assert_eq!(logged[0]["strategy"], "keep-both", "{logged}");

    // remote-priority: the device that pulls takes the incoming value, even when it is older.
    let cfg = json!({"sync": {"conflictStrategy": "remote-priority"}});
    let a = Node::start_polled("alpha", cfg.clone()).await;
    let b = Node::start_polled("bravo", cfg).await;
    a.invite(&b).await;
    let older = a
        .put_batch(vec![
            json!({"subject": "mayros:agent:z", "predicate": "mayros:mood", "object": "older"}),
        ])
        .await;
    // The second writer's clock runs 1 s ahead, so its write is the newer one.
    b.daemon.engine().clock().set_offset_ms(1_000);
    b.put_batch(vec![
        json!({"subject": "mayros:agent:z", "predicate": "mayros:mood", "object": "newer"}),
    ])
    .await;
    b.sync_now().await;
    assert_eq!(b.ids().await, older, "B took A's value");
    assert_eq!(a.ids().await, older, "and A agrees");

    // local-priority: the device that pulls keeps its own value, even when it is older.
    let cfg = json!({"sync": {"conflictStrategy": "local-priority"}});
    let a = Node::start_polled("alpha", cfg.clone()).await;
    let b = Node::start_polled("bravo", cfg).await;
    a.invite(&b).await;
    let old = b
        .put_batch(vec![
            json!({"subject": "mayros:agent:y", "predicate": "mayros:mood", "object": "old"}),
        ])
        .await;
    // The second writer's clock runs 1 s ahead, so its write is the newer one.
    a.daemon.engine().clock().set_offset_ms(1_000);
    a.put_batch(vec![
        json!({"subject": "mayros:agent:y", "predicate": "mayros:mood", "object": "new"}),
    ])
    .await;
    b.sync_now().await;
    assert_eq!(
        b.ids().await,
        old,
        "B pulled first and kept its local value"
    );
    assert_eq!(a.ids().await, old, "the loser's tombstone reached A");
    // A user can restore the loser from the conflict log.
    let conflicts = b.get("/api/v1/sync/conflicts").await;
    let id = conflicts[0]["id"].as_i64().unwrap();
    let (s, out) = b
        .control(&format!("/api/v1/sync/conflicts/{id}/restore"), json!({}))
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(
        b.ids().await.len(),
        2 - 1 + 1,
        "the restored value is live again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_times_out_within_the_configured_budget() {
    let a = Node::start_polled("alpha", json!({"sync": {"syncTimeoutMs": 5000}})).await;
    let b = Node::start_polled("bravo", json!({})).await;
    a.invite(&b).await;
    // A listener that accepts and never answers, standing in for a hung peer.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let (s, out) = a
        .control(
            "/api/v1/sync/pair",
            json!({"target": b.node_id(), "endpoint": silent_addr.to_string()}),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    let started = std::time::Instant::now();
    let (s, out) = a.control("/api/v1/sync/now", json!({})).await;
    let took = started.elapsed();
    assert_eq!(s, 200);
    let r = &out["results"][0];
    assert_eq!(r["ok"], false, "{out}");
    assert!(r["error"].as_str().unwrap().contains("timed out"), "{out}");
    assert!(took < Duration::from_secs(9), "took {took:?}");
    hold.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_stopped_mid_sync_leaves_only_whole_pages_then_catches_up() {
    let a = Node::start_polled("alpha", json!({"sync": {"maxTriplesPerSync": 100}})).await;
    let b = Node::start_polled("bravo", json!({"sync": {"maxTriplesPerSync": 100}})).await;
    a.invite(&b).await;
    let written = a.put_batch(triples("a", 20_000)).await.len();

    let b_base = b.base.clone();
    let b_token = b.token.clone();
    let syncing = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("{b_base}/api/v1/sync/now"))
            .bearer_auth(b_token)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    });
    // Wait (with a deadline) until B has applied some pages, then stop A under it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let total = b.get("/api/v1/triples?limit=1").await["total"]
            .as_u64()
            .unwrap();
        if total > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "B never started applying"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let a_dir = a.dir;
    a.daemon.shutdown().await;
    let out = syncing.await.unwrap();
    let applied = b.ids().await.len();
    eprintln!(
        "interrupted sync: applied {applied} of {written}: {}",
        out["results"][0]["error"]
    );
    if out["results"][0]["ok"] == false {
        assert_eq!(
            applied % 100,
            0,
            "only whole pages of 100 were applied: {applied}"
        );
        assert!(applied < written, "{out}");
    }

    let a = Node::restart(a_dir, "alpha").await;
    a.sync_now().await;
    b.sync_now().await;
    assert_eq!(b.ids().await, a.ids().await);
    assert_eq!(b.ids().await.len(), written);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_peer_is_skipped_until_resumed() {
    let a = Node::start_polled("alpha", json!({})).await;
    let b = Node::start_polled("bravo", json!({})).await;
    a.invite(&b).await;
    let ids = a.put_batch(triples("a", 10)).await;
    let (s, view) = b.control("/api/v1/sync/peers/alpha/pause", json!({})).await;
    assert_eq!(
        (s, view["status"].as_str()),
        (200, Some("paused")),
        "{view}"
    );
    let out = b.sync_now().await;
    assert!(out["results"].as_array().unwrap().is_empty(), "{out}");
    assert!(b.ids().await.is_empty());
    let (s, view) = b
        .control(
            &format!("/api/v1/sync/peers/{}/resume", a.node_id()),
            json!({}),
        )
        .await;
    assert_eq!(
        (s, view["status"].as_str()),
        (200, Some("active")),
        "{view}"
    );
    b.sync_now().await;
    assert_eq!(b.ids().await.len(), ids.len());
    let (s, out) = b
        .control("/api/v1/sync/peers/nobody/pause", json!({}))
        .await;
    assert_eq!(
        (s, out["code"].as_str()),
        (404, Some("UNKNOWN_PEER")),
        "{out}"
    );
}

/// Waits for the first event on `rx` that `want` accepts.
async fn next_hub_event(
    rx: &mut tokio::sync::broadcast::Receiver<mayros_sync_node::events::Event>,
    within: Duration,
    want: impl Fn(&str, &serde_json::Value) -> bool,
) -> Option<serde_json::Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) if want(e.kind(), &e.data()) => return Some(e.data()),
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(_)) | Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sync_now_names_the_peer_and_its_recovery_is_an_event() {
    let a = Node::start_polled("alpha", json!({})).await;
    let b = Node::start_polled("bravo", json!({})).await;
    a.invite(&b).await;
    let a_id = a.node_id();
    let a_dir = a.dir;
    a.daemon.shutdown().await;

    let mut rx = b.daemon.engine().events().subscribe();
    let (s, out) = b.control("/api/v1/sync/now", json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(out["results"][0]["ok"], false, "{out}");
    let failure = next_hub_event(&mut rx, Duration::from_secs(5), |k, v| {
        k == "failure" && v["kind"] == "sync"
    })
    .await
    .expect("a failure event");
    assert_eq!(failure["peer"], a_id.as_str(), "{failure}");
    assert_eq!(failure["name"], "alpha", "{failure}");
    assert!(failure["message"].as_str().is_some_and(|m| !m.is_empty()));

    let a = Node::restart(a_dir, "alpha").await;
    a.sync_now().await;
    b.sync_now().await;
    let recovered = next_hub_event(&mut rx, Duration::from_secs(5), |k, v| {
        k == "peer" && v["recovered"] == true
    })
    .await
    .expect("a recovery event");
    assert_eq!(
        recovered,
        json!({"nodeId": a_id, "name": "alpha", "result": "ok", "recovered": true})
    );
    // A sync with a peer that had not failed is no recovery.
    b.sync_now().await;
    let again = next_hub_event(&mut rx, Duration::from_millis(300), |k, v| {
        k == "peer" && v["recovered"] == true
    })
    .await;
    assert!(again.is_none(), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_pulls_each_interval_and_again_after_a_resume() {
    let cfg = json!({"sync": {"intervalSeconds": 10}});
    let a = Node::start_polled("alpha", cfg.clone()).await;
    let b = Node::start_polled("bravo", cfg).await;
    a.invite(&b).await;
    let first = a.put_batch(triples("first", 5)).await;
    // No `sync now`: B's scheduled round (10 s ± 10 %) brings them.
    let pulled = wait_until(Duration::from_secs(25), || async {
        b.ids().await.len() == first.len()
    })
    .await;
    assert!(pulled, "no scheduled pull within 25 s");
    let (s, out) = b.control("/api/v1/sync/pause", json!({})).await;
    assert_eq!(s, 200, "{out}");
    let more = a.put_batch(triples("more", 5)).await;
    let (s, out) = b.control("/api/v1/sync/resume", json!({})).await;
    assert_eq!(s, 200, "{out}");
    let pulled = wait_until(Duration::from_secs(25), || async {
        b.ids().await.len() == first.len() + more.len()
    })
    .await;
    assert!(pulled, "no scheduled pull within 25 s of the resume");
}
