//! Refused peers read and write nothing: no proof, wrong seed, replay, stale time, non-member.
#![allow(clippy::unwrap_used)]

use ed25519_dalek::SigningKey;
use hyper::Method;
use mayros_sync_node::peer::PeerSession;
use mayros_sync_node::tls::DeviceCert;
use mayros_sync_proto::peerauth::{sign_request, RequestFacts};
use mayros_sync_proto::seedproof::GroupSeed;
use mayros_sync_tests::Node;
use serde_json::json;

const DELTA: &str = "/api/v1/sync/delta";

async fn post(
    session: &mut PeerSession,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, serde_json::Value) {
    let (status, bytes) = session
        .send(Method::POST, DELTA, headers, body.to_vec())
        .await
        .unwrap();
    (
        status.as_u16(),
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

fn signed(
    seed: &GroupSeed,
    body: &[u8],
    client: &str,
    server: &str,
    ts: u64,
    nonce: [u8; 16],
) -> Vec<(&'static str, String)> {
    sign_request(
        seed,
        RequestFacts {
            method: "POST",
            path_and_query: DELTA,
            body,
            tls_client: None,
            server_node_id: server,
        },
        client,
        ts,
        nonce,
    )
    .into_iter()
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_requests_get_401_and_no_data() {
    let a = Node::start_polled("alpha", json!({})).await;
    let b = Node::start_polled("bravo", json!({})).await;
    a.invite(&b).await;
    a.put_batch(vec![
        json!({"subject": "mayros:secret:x", "predicate": "p", "object": "hidden"}),
    ])
    .await;

    let a_id = a.node_id();
    let peer_addr = a.daemon.info().peer_api.unwrap();
    let seed = a.daemon.engine().group().seed().cloned().unwrap();
    let now = a.daemon.engine().clock().now_ms();

    // B's own certificate with the right seed works.
    let b_engine = b.daemon.engine();
    let b_id = b.node_id();
    let body = serde_json::to_vec(&json!({"nodeId": b_id})).unwrap();
    let mut s = PeerSession::connect(peer_addr, &a_id, &b_engine.identity().cert)
        .await
        .unwrap();
    let good = signed(&seed, &body, &b_id, &a_id, now, [1; 16]);
    let (st, ok) = post(&mut s, &good, &body).await;
    assert_eq!(st, 200, "{ok}");
    assert_eq!(ok["triples"].as_array().unwrap().len(), 1);

    // The very same request again: a replay.
    let (st, out) = post(&mut s, &good, &body).await;
    assert_eq!((st, out["code"].as_str()), (401, Some("REPLAYED")), "{out}");
    // No proof at all.
    let (st, out) = post(&mut s, &[], &body).await;
    assert_eq!(
        (st, out["code"].as_str()),
        (401, Some("AUTH_MISSING")),
        "{out}"
    );
    assert!(out.get("triples").is_none());
    // Wrong seed.
    let wrong = signed(&GroupSeed([9; 32]), &body, &b_id, &a_id, now, [2; 16]);
    let (st, out) = post(&mut s, &wrong, &body).await;
    assert_eq!(
        (st, out["code"].as_str()),
        (401, Some("BAD_PROOF")),
        "{out}"
    );
    // Stale timestamp.
    let stale = signed(&seed, &body, &b_id, &a_id, now - 10 * 60 * 1000, [3; 16]);
    let (st, out) = post(&mut s, &stale, &body).await;
    assert_eq!(
        (st, out["code"].as_str()),
        (401, Some("STALE_TIMESTAMP")),
        "{out}"
    );

    // A device that is not in the roster, even knowing the seed and with its own certificate.
    let stranger = DeviceCert::new(&SigningKey::from_bytes(&[42; 32])).unwrap();
    let mut s2 = PeerSession::connect(peer_addr, &a_id, &stranger)
        .await
        .unwrap();
    let sbody = serde_json::to_vec(&json!({"nodeId": stranger.node_id()})).unwrap();
    let h = signed(&seed, &sbody, stranger.node_id(), &a_id, now, [4; 16]);
    let (st, out) = post(&mut s2, &h, &sbody).await;
    assert_eq!(
        (st, out["code"].as_str()),
        (401, Some("NOT_A_MEMBER")),
        "{out}"
    );
    // Claiming to be B with another certificate.
    let h = signed(&seed, &body, &b_id, &a_id, now, [5; 16]);
    let (st, out) = post(&mut s2, &h, &body).await;
    assert_eq!(
        (st, out["code"].as_str()),
        (401, Some("CERT_MISMATCH")),
        "{out}"
    );

    let status = a.get("/api/v1/sync/status").await;
    assert_eq!(status["authRejected"], 6, "{status}");
    assert_eq!(
        a.ids().await.len(),
        1,
        "nothing was written by refused peers"
    );
}
