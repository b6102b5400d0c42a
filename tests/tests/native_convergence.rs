//! Native mode converges from any pair of states (DESIGN §13), between real engines on
//! 127.0.0.1: devices that hold data of their own before pairing, a device restarted after
//! many writes elsewhere, deletes the other side never saw. No `sync now` anywhere; every
//! check waits on a condition with a deadline.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use mayros_sync_tests::{wait_until, Node};
use serde_json::json;

/// Writes `n` distinct triples in batches; answers their ids.
async fn write_many(node: &Node, tag: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    let mut k = 0;
    while k < n {
        let end = (k + 2_000).min(n);
        let batch = (k..end)
            .map(|i| json!({"subject": format!("mayros:{tag}:{i}"), "predicate": "ex:n", "object": i}))
            .collect();
        ids.extend(node.put_batch(batch).await);
        k = end;
    }
    assert_eq!(ids.len(), n, "{tag}: every triple written");
    ids
}

/// Elements (live plus tombstones) the node's gossip knows.
async fn known_ids(node: &Node) -> u64 {
    node.p2p_status().await.1["gossip_stats"]["known_ids"]
        .as_u64()
        .unwrap_or(0)
}

/// Whether every node holds the same live ids and the same number of elements.
async fn identical(nodes: &[&Node]) -> bool {
    let first = nodes[0].ids().await;
    let known = known_ids(nodes[0]).await;
    for n in &nodes[1..] {
        if known_ids(n).await != known || n.ids().await != first {
            return false;
        }
    }
    true
}

async fn failed_rounds(node: &Node) -> u64 {
    node.get("/api/v1/sync/status").await["gossip"]["failedSyncs"]
        .as_u64()
        .unwrap_or(u64::MAX)
}

/// The peer entry for `peer` in `node`'s status.
async fn peer_entry(node: &Node, peer: &Node) -> serde_json::Value {
    let status = node.get("/api/v1/sync/status").await;
    status["peers"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["nodeId"] == peer.node_id().as_str()))
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

async fn wait_identical(nodes: &[&Node], secs: u64, what: &str) {
    let ok = wait_until(Duration::from_secs(secs), || async {
        identical(nodes).await
    })
    .await;
    if !ok {
        let mut report = String::new();
        for n in nodes {
            report.push_str(&format!(
                "\n{}: {} live, {} known; status {}",
                n.node_id(),
                n.triple_count().await,
                known_ids(n).await,
                n.get("/api/v1/sync/status").await
            ));
        }
        panic!("{what}: not identical after {secs} s{report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_with_five_of_its_own_joins_one_with_twenty_thousand() {
    let a = Node::start("alpha", json!({})).await;
    let b = Node::start("bravo", json!({})).await;
    write_many(&a, "a", 20_000).await;
    let own = write_many(&b, "b", 5).await;
    a.invite(&b).await;
    wait_identical(&[&a, &b], 90, "5 + 20 000").await;
    assert_eq!(a.triple_count().await, 20_005);
    assert!(a.has(&own[4]).await, "B's own triples reached A");
    assert_eq!(failed_rounds(&a).await, 0);
    assert_eq!(failed_rounds(&b).await, 0);
    // Status tells the truth: in sync, nothing left to move.
    let ok = wait_until(Duration::from_secs(20), || async {
        let p = peer_entry(&b, &a).await;
        p["state"] == "in-sync" && p["toReceive"] == 0 && p["toSend"] == 0
    })
    .await;
    assert!(ok, "B's view of A: {}", peer_entry(&b, &a).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_restarted_after_twenty_thousand_writes_elsewhere_catches_up() {
    let a = Node::start("alpha", json!({})).await;
    let b = Node::start("bravo", json!({})).await;
    a.invite(&b).await;
    let first = write_many(&a, "early", 10).await;
    wait_identical(&[&a, &b], 30, "paired").await;
    assert_eq!(a.delete(&first[0]).await, 204);
    wait_identical(&[&a, &b], 30, "delete pushed").await;

    let b_dir = b.dir;
    b.daemon.shutdown().await;
    write_many(&a, "late", 20_000).await;
    let b = Node::restart(b_dir, "bravo").await;
    wait_identical(&[&a, &b], 90, "catch-up").await;
    assert_eq!(b.triple_count().await, 20_009);
    assert!(!b.has(&first[0]).await, "the delete stays deleted");
    assert_eq!(failed_rounds(&b).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_with_ten_thousand_each_of_their_own_merge() {
    let a = Node::start("alpha", json!({})).await;
    let b = Node::start("bravo", json!({})).await;
    write_many(&a, "a", 10_000).await;
    write_many(&b, "b", 10_000).await;
    b.invite(&a).await;
    wait_identical(&[&a, &b], 90, "10 000 + 10 000").await;
    assert_eq!(b.triple_count().await, 20_000);
    assert_eq!(failed_rounds(&a).await + failed_rounds(&b).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_of_triples_the_other_side_lacks_arrive_as_tombstones() {
    let a = Node::start("alpha", json!({})).await;
    let b = Node::start("bravo", json!({})).await;
    let ids = write_many(&a, "gone", 10_000).await;
    for id in &ids[..5_000] {
        assert_eq!(a.delete(id).await, 204);
    }
    write_many(&b, "b", 50).await;
    a.invite(&b).await;
    wait_identical(&[&a, &b], 90, "5 000 deletes").await;
    assert_eq!(b.triple_count().await, 5_050);
    assert_eq!(known_ids(&b).await, 10_050, "the tombstones arrived too");
    assert!(!b.has(&ids[0]).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_devices_one_restarted_after_fifty_thousand_writes_elsewhere() {
    let a = Node::start("alpha", json!({})).await;
    let b = Node::start("bravo", json!({})).await;
    let c = Node::start("charlie", json!({})).await;
    a.invite(&b).await;
    a.invite(&c).await;
    b.invite(&c).await;
    write_many(&c, "c", 100).await;
    wait_identical(&[&a, &b, &c], 30, "mesh").await;

    let c_dir = c.dir;
    c.daemon.shutdown().await;
    write_many(&a, "a", 25_000).await;
    write_many(&b, "b", 25_000).await;
    let c = Node::restart(c_dir, "charlie").await;
    wait_identical(&[&a, &b, &c], 120, "50 000 while down").await;
    assert_eq!(c.triple_count().await, 50_100);
    let failed = failed_rounds(&a).await + failed_rounds(&b).await + failed_rounds(&c).await;
    assert_eq!(failed, 0, "no round failed");
}
