//! Tombstone collection between real engines (DESIGN §2.3): acknowledgements through delta
//! cursors, the 24 h minimum, the maximum retention with stale members, and a device that was
//! offline across a collection coming back without resurrecting what was deleted.
//!
//! Time is driven by shifting each engine's clock; the scheduler is paused so that only the
//! syncs a test asks for happen (explicit `sync now` still runs while paused).
#![allow(clippy::unwrap_used)]

use hyper::Method;
use mayros_sync_node::peer::PeerSession;
use mayros_sync_proto::peerauth::{sign_request, RequestFacts};
use mayros_sync_proto::TripleId;
use mayros_sync_tests::Node;
use serde_json::{json, Value};

const HOUR_MS: i64 = 3_600_000;

fn fact(name: &str) -> Value {
    json!({"subject": format!("mayros:agent:{name}"), "predicate": "mayros:note", "object": name})
}

async fn put(node: &Node, name: &str) -> String {
    node.put_batch(vec![fact(name)]).await.remove(0)
}

/// Pauses the scheduler of `node` (until resumed; shifting its clock does not end it).
async fn pause(node: &Node) {
    let (s, out) = node.control("/api/v1/sync/pause", json!({})).await;
    assert_eq!(s, 200, "{out}");
}

fn shift(node: &Node, ms: i64) {
    node.daemon.engine().clock().set_offset_ms(ms);
}

/// `sync now` on `from` with `to` only (pull both ways); asserts it succeeded.
async fn sync_with(from: &Node, to: &Node) -> Value {
    let (s, out) = from
        .control("/api/v1/sync/now", json!({"peer": to.node_id()}))
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["results"].as_array().unwrap().len(), 1, "{out}");
    assert_eq!(out["results"][0]["ok"], true, "{out}");
    out
}

async fn collect(node: &Node) -> Value {
    let (s, out) = node
        .control("/api/v1/sync/maintenance/collect", json!({}))
        .await;
    assert_eq!(s, 200, "{out}");
    out
}

async fn tombstone_held(node: &Node, id: &str) -> bool {
    let id: TripleId = id.parse().unwrap();
    node.daemon
        .engine()
        .with_store(move |s| s.tombstone(&id))
        .await
        .unwrap()
        .is_some()
}

/// The peer entry of `peer` in `node`'s peer list.
async fn peer_view(node: &Node, peer: &Node) -> Value {
    let peers = node.get("/api/v1/sync/peers").await;
    peers
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["nodeId"] == peer.node_id())
        .cloned()
        .unwrap_or_else(|| panic!("{} not in {peers}", peer.node_id()))
}

async fn review_count(node: &Node) -> u64 {
    node.get("/api/v1/sync/status").await["reviewCount"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tombstone_is_collected_after_24_hours_once_every_member_acknowledged_it() {
    let a = Node::start_polled("alpha", json!({})).await;
    let b = Node::start_polled("bravo", json!({})).await;
    a.invite(&b).await;
    pause(&a).await;
    pause(&b).await;
    let x = put(&a, "x").await;
    let kept = put(&a, "kept").await;
    b.sync_now().await;
    assert!(b.has(&x).await);

    assert_eq!(a.delete(&x).await, 204);
    b.sync_now().await; // B applies the delete; its cursor on A still stops before it
    assert!(!b.has(&x).await);

    let out = collect(&a).await;
    assert_eq!(out["collected"], 0, "too young: {out}");
    assert!(tombstone_held(&a, &x).await);

    shift(&a, 25 * HOUR_MS);
    shift(&b, 25 * HOUR_MS);
    let out = collect(&a).await;
    assert_eq!(out["collected"], 0, "B has not acknowledged it yet: {out}");
    assert!(tombstone_held(&a, &x).await);

    b.sync_now().await; // B's next pull sends a cursor past the delete: its acknowledgement
    let out = collect(&a).await;
    assert_eq!(out["collected"], 1, "{out}");
    assert_eq!(out["collectedByMaxRetention"], 0, "{out}");
    assert_eq!(out["markedStale"], json!([]), "{out}");
    assert!(out["horizon"].is_string(), "{out}");
    assert!(!tombstone_held(&a, &x).await, "A's tombstone is gone");
    assert_eq!(peer_view(&a, &b).await["stale"], false);

    // Nothing comes back, and syncing goes on normally.
    b.sync_now().await;
    assert_eq!(a.ids().await, vec![kept.clone()]);
    assert_eq!(b.ids().await, vec![kept]);
    assert_eq!(review_count(&a).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_offline_across_tombstone_collection_does_not_resurrect() {
    let cfg = json!({"sync": {"tombstoneMaxRetentionDays": 1}});
    let a = Node::start_polled("alpha", cfg.clone()).await;
    let b = Node::start_polled("bravo", cfg.clone()).await;
    let c = Node::start_polled("charlie", cfg).await;
    a.invite(&b).await;
    a.invite(&c).await;
    for n in [&a, &b, &c] {
        pause(n).await;
    }
    let x = put(&a, "x").await;
    let y = put(&a, "y").await;
    let kept = put(&a, "kept").await;
    sync_with(&c, &a).await;
    sync_with(&b, &a).await;
    for id in [&x, &y, &kept] {
        assert!(b.has(id).await && c.has(id).await);
    }

    // C goes offline holding x and y; A deletes them and B learns it (twice, so each side's
    // cursor acknowledges the other's delete).
    let c_id = c.node_id();
    let c_dir = c.dir;
    c.daemon.shutdown().await;
    assert_eq!(a.delete(&x).await, 204);
    assert_eq!(a.delete(&y).await, 204);
    sync_with(&b, &a).await;
    sync_with(&b, &a).await;
    assert!(!b.has(&x).await && !b.has(&y).await);

    // Two days later (max retention: 1 day) both collect without C's acknowledgement.
    let two_days = 48 * HOUR_MS + HOUR_MS;
    shift(&a, two_days);
    shift(&b, two_days);
    for n in [&a, &b] {
        let out = collect(n).await;
        assert_eq!(out["collected"], 2, "{out}");
        assert_eq!(out["collectedByMaxRetention"], 2, "{out}");
        assert_eq!(out["markedStale"], json!([c_id]), "{out}");
        assert!(!tombstone_held(n, &x).await && !tombstone_held(n, &y).await);
    }
    let c_view = a.get("/api/v1/sync/peers").await;
    let c_view = c_view
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["nodeId"] == c_id.as_str())
        .unwrap();
    assert_eq!(c_view["stale"], true, "{c_view}");
    assert_eq!(peer_view(&a, &b).await["stale"], false, "B acknowledged");
    let status = a.get("/api/v1/sync/status").await;
    assert!(status["warnings"].to_string().contains("stale"), "{status}");

    // A cursor behind the collected deletes is expired: 410 CURSOR_EXPIRED (here sent with
    // B's identity, whose own cursor is past them).
    let oldest = collect(&a).await["oldestRetainedPosition"]
        .as_u64()
        .unwrap();
    let epoch = a
        .daemon
        .engine()
        .with_store(|s| Ok::<_, mayros_sync_store::Error>(s.log_epoch()))
        .await
        .unwrap();
    let (status, body) = raw_delta(&b, &a, &format!("c1.{epoch}.{}", oldest - 1)).await;
    assert_eq!(status, 410, "{body}");
    assert_eq!(body["code"], "CURSOR_EXPIRED", "{body}");
    let (status, body) = raw_delta(&b, &a, &format!("c1.{epoch}.{oldest}")).await;
    assert_eq!(status, 200, "{body}");

    // C comes back with x and y and syncs: they do not come back anywhere.
    let c = Node::restart(c_dir, "charlie").await;
    pause(&c).await;
    shift(&c, two_days);
    assert!(c.has(&x).await && c.has(&y).await, "C still holds them");
    let out = sync_with(&c, &a).await; // C's cursor expired; A's pull from stale C is full
    assert!(
        !a.has(&x).await && !a.has(&y).await,
        "not resurrected on A: {out}"
    );
    let (s, out) = c
        .control(
            "/api/v1/sync/pair",
            json!({"target": b.node_id(), "endpoint": b.daemon.info().peer_api.unwrap().to_string()}),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    sync_with(&c, &b).await;
    sync_with(&b, &a).await;
    assert!(!b.has(&x).await && !b.has(&y).await, "not resurrected on B");
    assert_eq!(peer_view(&a, &c).await["stale"], false, "compared in full");
    assert_eq!(peer_view(&b, &c).await["stale"], false, "compared in full");

    // They wait for review instead, on both devices that had collected them.
    assert_eq!(review_count(&a).await, 2);
    assert_eq!(review_count(&b).await, 2);
    let review = a.get("/api/v1/sync/review").await;
    let mut listed: Vec<&str> = review
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    listed.sort();
    let mut expected = vec![x.as_str(), y.as_str()];
    expected.sort();
    assert_eq!(listed, expected, "{review}");
    let item = &review[0];
    for key in [
        "subject",
        "predicate",
        "object",
        "author",
        "hlc",
        "createdAt",
        "receivedAt",
    ] {
        assert!(!item[key].is_null(), "{key} in {item}");
    }
    assert_eq!(item["fromPeer"], c.node_id(), "{item}");

    // Accepting x brings it back on purpose; discarding y deletes it everywhere for good.
    let (s, out) = a
        .control(&format!("/api/v1/sync/review/{x}/accept"), json!({}))
        .await;
    assert_eq!((s, &out), (200, &json!({"accepted": x})));
    let (s, out) = a
        .control(&format!("/api/v1/sync/review/{y}/discard"), json!({}))
        .await;
    assert_eq!((s, &out), (200, &json!({"discarded": y})));
    let (s, out) = a
        .control(&format!("/api/v1/sync/review/{y}/accept"), json!({}))
        .await;
    assert_eq!(s, 404, "{out}");
    let (s, out) = a
        .control("/api/v1/sync/review/nonsense/discard", json!({}))
        .await;
    assert_eq!(s, 404, "{out}");
    assert!(a.has(&x).await && !a.has(&y).await);
    assert_eq!(review_count(&a).await, 0);

    sync_with(&b, &a).await;
    sync_with(&c, &a).await;
    sync_with(&c, &b).await;
    let expected = {
        let mut v = vec![x.clone(), kept.clone()];
        v.sort();
        v
    };
    for n in [&a, &b, &c] {
        assert_eq!(n.ids().await, expected, "{}", n.daemon.info().name);
    }
    assert_eq!(
        review_count(&b).await,
        0,
        "the accepted x and the discarded y settle B's"
    );
}

/// A delta request from `client` to `server` with `since`, signed with the group seed.
async fn raw_delta(client: &Node, server: &Node, since: &str) -> (u16, Value) {
    const DELTA: &str = "/api/v1/sync/delta";
    let engine = client.daemon.engine();
    let seed = engine.group().seed().cloned().unwrap();
    let body = serde_json::to_vec(&json!({"nodeId": client.node_id(), "since": since})).unwrap();
    let headers: Vec<(&str, String)> = sign_request(
        &seed,
        RequestFacts {
            method: "POST",
            path_and_query: DELTA,
            body: &body,
            tls_client: None,
            server_node_id: &server.node_id(),
        },
        &client.node_id(),
        server.daemon.engine().clock().now_ms(),
        rand::random(),
    )
    .into_iter()
    .collect();
    let mut session = PeerSession::connect(
        server.daemon.info().peer_api.unwrap(),
        &server.node_id(),
        &engine.identity().cert,
    )
    .await
    .unwrap();
    let (status, bytes) = session
        .send(Method::POST, DELTA, &headers, body)
        .await
        .unwrap();
    (
        status.as_u16(),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}
