//! Native mode between real engines on 127.0.0.1: QUIC links, push announcements and gossip
//! rounds, with no `sync now` anywhere.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use mayros_sync_tests::{await_links, wait_until, Node};
use serde_json::json;

fn t(s: &str, p: &str, o: i64) -> serde_json::Value {
    json!({"subject": s, "predicate": p, "object": o})
}

/// Three native engines paired into one group (full mesh), links up.
async fn mesh() -> (Node, Node, Node) {
    let a = Node::start("alpha", json!({})).await;
    let b = Node::start("bravo", json!({})).await;
    let c = Node::start("charlie", json!({})).await;
    a.invite(&b).await;
    a.invite(&c).await;
    b.invite(&c).await;
    await_links(&[&a, &b, &c], 2, Duration::from_secs(20)).await;
    (a, b, c)
}

/// The current group seed in `n`'s secret store (its ring also keeps replaced ones).
fn current_seed(n: &Node) -> Option<[u8; 32]> {
    use mayros_sync_store::{FileSecretStore, SecretStore};
    let bytes = FileSecretStore::new(n.dir.path())
        .unwrap()
        .get("group-seed")
        .unwrap()
        .unwrap_or_default();
    mayros_sync_proto::membership::seeds::SeedRing::decode(&bytes)
        .unwrap()
        .current()
        .map(|s| s.0)
}

async fn converged(nodes: &[&Node]) -> bool {
    let first = nodes[0].ids().await;
    for n in &nodes[1..] {
        if n.ids().await != first {
            return false;
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_native_engines_converge_after_writes_and_deletes_on_all_of_them() {
    let (a, b, c) = mesh().await;
    let status = a.get("/api/v1/sync/status").await;
    assert_eq!(status["mode"], "native", "{status}");

    // A write on A is readable on B without any sync now.
    let id = a.put_batch(vec![t("mayros:first", "ex:p", 1)]).await;
    assert!(
        wait_until(Duration::from_secs(5), || async { b.has(&id[0]).await }).await,
        "pushed to B"
    );

    let mut all = Vec::new();
    for (i, n) in [&a, &b, &c].iter().enumerate() {
        let triples = (0..200)
            .map(|k| t(&format!("mayros:n{i}"), "ex:k", k))
            .collect();
        all.push(n.put_batch(triples).await);
    }
    // Each deletes some of its own and some of another's writes.
    for (i, n) in [&a, &b, &c].iter().enumerate() {
        assert_eq!(n.delete(&all[i][0]).await, 204);
        let other = &all[(i + 1) % 3][1];
        assert!(
            wait_until(Duration::from_secs(10), || async { n.has(other).await }).await,
            "{other} reached node {i}"
        );
        assert_eq!(n.delete(other).await, 204);
    }
    assert!(
        wait_until(Duration::from_secs(30), || async {
            converged(&[&a, &b, &c]).await
        })
        .await,
        "converged"
    );
    let ids = a.ids().await;
    assert_eq!(ids.len(), 1 + 3 * 200 - 6);
    for gone in [
        &all[0][0], &all[0][1], &all[1][0], &all[1][1], &all[2][0], &all[2][1],
    ] {
        assert!(!ids.contains(gone), "{gone} stays deleted");
    }

    // p2p/status reports real figures.
    let (code, p2p) = a.p2p_status().await;
    assert_eq!(code, 200);
    assert_eq!(p2p["enabled"], true);
    assert_eq!(p2p["node_id"], a.node_id());
    assert_eq!(p2p["peer_count"], 2);
    let live = ids.len() as u64;
    for n in [&a, &b, &c] {
        assert!(
            wait_until(Duration::from_secs(15), || async {
                let (_, s) = n.p2p_status().await;
                s["gossip_stats"]["round"].as_u64().unwrap_or(0) > 0
                    && s["sync_stats"]["total_successful_syncs"]
                        .as_u64()
                        .unwrap_or(0)
                        > 0
                    && s["sync_stats"]["local_ids"] == live
                    && s["gossip_stats"]["known_ids"] == live + 6
            })
            .await,
            "rounds run and counts match: {}",
            n.p2p_status().await.1
        );
    }
    // Every node records a last sync for each of its peers, whether it started the rounds or
    // answered them.
    for n in [&a, &b, &c] {
        assert!(
            wait_until(Duration::from_secs(15), || async {
                let peers = n.get("/api/v1/sync/peers").await;
                let list = peers.as_array().cloned().unwrap_or_default();
                list.len() == 2 && list.iter().all(|p| p["lastSyncAt"].is_string())
            })
            .await,
            "{}",
            n.get("/api/v1/sync/peers").await
        );
    }
    // Each node counts what it took from its peers (the TRIPLES column of `sync peers`): every
    // triple written on the other two was inserted here once, from one peer or the other.
    for n in [&a, &b, &c] {
        assert!(
            wait_until(Duration::from_secs(15), || async {
                let peers = n.get("/api/v1/sync/peers").await;
                let taken: u64 = peers
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| p["totalTriplesSynced"].as_u64().unwrap_or(0))
                    .sum();
                taken >= 400
            })
            .await,
            "{}",
            n.get("/api/v1/sync/peers").await
        );
    }
    // The round counter advances.
    let (_, before) = a.p2p_status().await;
    let r0 = before["gossip_stats"]["round"].as_u64().unwrap();
    assert!(
        wait_until(Duration::from_secs(15), || async {
            a.p2p_status().await.1["gossip_stats"]["round"]
                .as_u64()
                .unwrap_or(0)
                > r0
        })
        .await
    );

    // sync now defers to gossip in native mode.
    let (s, now) = b.control("/api/v1/sync/now", json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(now["deferred"], true, "{now}");
    assert!(now["results"].as_array().unwrap().is_empty());
    let (s, hook) = b.control("/api/v1/sync/hooks/agent-end", json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(hook["ran"], false, "{hook}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_catches_up() {
    let (a, b, c) = mesh().await;
    let first = a
        .put_batch((0..50).map(|k| t("mayros:r", "ex:k", k)).collect())
        .await;
    assert!(
        wait_until(Duration::from_secs(10), || async {
            converged(&[&a, &b, &c]).await
        })
        .await
    );

    let c_dir = c.dir;
    c.daemon.shutdown().await;
    let later = a
        .put_batch((50..120).map(|k| t("mayros:r", "ex:k", k)).collect())
        .await;
    assert_eq!(b.delete(&first[0]).await, 204);
    let c = Node::restart(c_dir, "charlie").await;
    assert!(
        wait_until(Duration::from_secs(30), || async {
            converged(&[&a, &b, &c]).await
        })
        .await,
        "restarted node caught up: {}",
        c.p2p_status().await.1
    );
    assert!(c.has(&later[69]).await);
    assert!(
        !c.has(&first[0]).await,
        "the delete made while it was down reached it"
    );
}

/// B is offline while A unpairs C (the seed rotates): B comes back holding the old seed, A
/// accepts it from a member, hands B the new one, and the two sync again; C stays out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_offline_during_an_unpair_is_handed_the_rotated_seed() {
    let (a, b, c) = mesh().await;
    let old = current_seed(&a);
    let b_dir = b.dir;
    b.daemon.shutdown().await;
    a.unpair(&c).await;
    assert!(
        wait_until(Duration::from_secs(15), || async {
            a.connected_peers().await == 0 && current_seed(&c).is_none()
        })
        .await,
        "A closed C's link and C forgot the seed: {}",
        a.p2p_status().await.1
    );
    let rotated = current_seed(&a);
    assert_ne!(rotated, old, "the unpair rotated the seed");

    let b = Node::restart(b_dir, "bravo").await;
    assert_eq!(current_seed(&b), old, "B starts with the seed it had");
    assert!(
        wait_until(Duration::from_secs(20), || async {
            b.connected_peers().await == 1 && current_seed(&b) == rotated
        })
        .await,
        "B linked to A and adopted the rotated seed: {}\n{}",
        b.p2p_status().await.1,
        b.get("/api/v1/sync/peers").await
    );
    let id = a.put_batch(vec![t("mayros:after", "ex:p", 1)]).await;
    assert!(
        wait_until(Duration::from_secs(15), || async { b.has(&id[0]).await }).await,
        "a write on A after the rotation reaches B"
    );
    let from_c = c.put_batch(vec![t("mayros:outsider", "ex:p", 2)]).await;
    let back = b.put_batch(vec![t("mayros:back", "ex:p", 3)]).await;
    assert!(
        wait_until(Duration::from_secs(15), || async { a.has(&back[0]).await }).await,
        "a write on B reaches A"
    );
    assert!(!a.has(&from_c[0]).await && !b.has(&from_c[0]).await);
    assert_eq!(c.connected_peers().await, 0, "C stays out");
}

/// Two members unpair two devices at the same moment (each rotates the seed knowing only of
/// its own removal): the members end on one seed that neither removed device holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_unpairs_at_once_end_on_one_seed_no_removed_device_holds() {
    let a = Node::start("alpha", json!({})).await;
    let b = Node::start("bravo", json!({})).await;
    let c = Node::start("charlie", json!({})).await;
    let d = Node::start("delta", json!({})).await;
    for n in [&b, &c, &d] {
        a.invite(n).await;
    }
    // Paired through alpha only: the others link directly from the addresses it shares.
    await_links(&[&a, &b, &c, &d], 3, Duration::from_secs(20)).await;
    tokio::join!(a.unpair(&c), b.unpair(&d));
    assert!(
        wait_until(Duration::from_secs(20), || async {
            let (sa, sb) = (current_seed(&a), current_seed(&b));
            sa.is_some()
                && sa == sb
                && current_seed(&c).is_none()
                && current_seed(&d).is_none()
                && a.connected_peers().await == 1
                && b.connected_peers().await == 1
        })
        .await,
        "alpha and bravo share one seed, charlie and delta were told: {}\n{}",
        a.p2p_status().await.1,
        b.p2p_status().await.1
    );
    let id = a
        .put_batch(vec![t("mayros:after-two-unpairs", "ex:p", 1)])
        .await;
    assert!(
        wait_until(Duration::from_secs(15), || async { b.has(&id[0]).await }).await,
        "alpha and bravo still sync"
    );
}

/// A QUIC client outside the engine: `cert` dials `target` with `seed`.
async fn rogue_dial(
    cert: &mayros_sync_node::tls::DeviceCert,
    seed: [u8; 32],
    target: &Node,
) -> mayros_sync_node::quic::links::LinkEvent {
    use mayros_sync_node::quic::links::{Links, Membership};
    use mayros_sync_node::quic::QuicEndpoint;
    use mayros_sync_proto::seedproof::GroupSeed;

    struct Believes(String, [u8; 32]);
    impl Membership for Believes {
        fn is_member(&self, node_id: &str) -> bool {
            node_id == self.0
        }
        fn seed(&self) -> Option<GroupSeed> {
            Some(GroupSeed(self.1))
        }
    }
    let endpoint = QuicEndpoint::bind("127.0.0.1:0".parse().unwrap(), cert).unwrap();
    let (links, mut events) = Links::start(
        endpoint,
        cert.node_id().to_string(),
        std::sync::Arc::new(Believes(target.node_id(), seed)),
    );
    links.want(&target.node_id(), target.daemon.info().quic.unwrap());
    let ev = tokio::time::timeout(Duration::from_secs(15), events.recv())
        .await
        .expect("the dial ends one way or another")
        .unwrap();
    links.shutdown();
    ev
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaired_or_wrong_seed_quic_client_gets_nothing() {
    use mayros_sync_node::quic::links::LinkEvent;
    use mayros_sync_store::{DeviceIdentity, FileSecretStore};

    let a = Node::start("alpha", json!({})).await;
    let b = Node::start("bravo", json!({})).await;
    a.invite(&b).await;
    let secret = a.put_batch(vec![t("mayros:secret", "ex:p", 42)]).await;
    assert!(
        wait_until(Duration::from_secs(10), || async {
            b.has(&secret[0]).await
        })
        .await
    );

    // POST /api/v1/p2p/peers: address hints for roster members only, bad input named.
    let post = |body: serde_json::Value| a.cortex_post("/api/v1/p2p/peers", body);
    let (code, body) = post(json!({"addr": "not an address"})).await;
    assert_eq!(
        (code, body["code"].as_str()),
        (400, Some("INVALID_ADDR")),
        "{body}"
    );
    let (code, body) = post(json!({"addr": "127.0.0.1:9", "nodeId": "ff".repeat(32)})).await;
    assert_eq!(
        (code, body["code"].as_str()),
        (404, Some("UNKNOWN_PEER")),
        "{body}"
    );
    let b_quic = b.daemon.info().quic.unwrap().to_string();
    let (code, body) = post(json!({"addr": b_quic, "nodeId": b.node_id()})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "dialing");
    let listed = a.cortex_get("/api/v1/p2p/peers").await;
    assert!(
        listed["peers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["nodeId"] == b.node_id() && p["connected"] == true),
        "{listed}"
    );

    // An unpaired device (fresh key) is refused before any proof.
    let stranger =
        mayros_sync_node::tls::DeviceCert::new(&ed25519_dalek::SigningKey::from_bytes(&[0x5a; 32]))
            .unwrap();
    match rogue_dial(&stranger, [1; 32], &a).await {
        LinkEvent::Refused { node_id, .. } => assert_eq!(node_id, Some(a.node_id())),
        other => panic!("an unpaired client got {other:?}"),
    }

    // A member's own key with the wrong seed is refused too (the seed proof fails). The real B
    // goes away first: while its link is up, a second link claiming B is a duplicate.
    let b_device =
        DeviceIdentity::load_or_create(&FileSecretStore::new(b.dir.path()).unwrap()).unwrap();
    let b_cert = mayros_sync_node::tls::DeviceCert::new(b_device.signing_key()).unwrap();
    let b_dir = b.dir;
    b.daemon.shutdown().await;
    assert!(
        wait_until(Duration::from_secs(10), || async {
            a.connected_peers().await == 0
        })
        .await
    );
    match rogue_dial(&b_cert, [2; 32], &a).await {
        LinkEvent::Refused { .. } | LinkEvent::Down { .. } => {}
        other => panic!("a wrong-seed client got {other:?}"),
    }
    // Both refusals are security events: counted in status (and published on the event stream).
    assert!(
        wait_until(Duration::from_secs(5), || async {
            a.get("/api/v1/sync/status").await["authRejected"]
                .as_u64()
                .unwrap_or(0)
                >= 2
        })
        .await,
        "{}",
        a.get("/api/v1/sync/status").await
    );
    // Nobody is linked to A, and A's data did not change.
    assert_eq!(a.connected_peers().await, 0);
    assert_eq!(a.ids().await, vec![secret[0].clone()]);
    drop(b_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_paired_through_a_third_one_link_directly() {
    let a = Node::start("alpha", json!({})).await;
    let b = Node::start("bravo", json!({})).await;
    let c = Node::start("charlie", json!({})).await;
    // B and C each pair with A only; A tells each where the other is.
    a.invite(&b).await;
    a.invite(&c).await;
    await_links(&[&a, &b, &c], 2, Duration::from_secs(20)).await;
    // A write on B now reaches C directly, even with A gone.
    a.daemon.shutdown().await;
    let id = b.put_batch(vec![t("mayros:direct", "ex:p", 7)]).await;
    assert!(
        wait_until(Duration::from_secs(10), || async { c.has(&id[0]).await }).await,
        "pushed B → C"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaired_device_is_refused_by_every_member_and_the_seed_rotates() {
    use mayros_sync_node::quic::links::LinkEvent;
    use mayros_sync_store::{DeviceIdentity, FileSecretStore, SecretStore};

    let (a, b, c) = mesh().await;
    let c_secrets = FileSecretStore::new(c.dir.path()).unwrap();
    let old_seed: [u8; 32] = c_secrets
        .get("group-seed")
        .unwrap()
        .unwrap()
        .try_into()
        .unwrap();
    a.unpair(&c).await;
    // Every member drops C; C learns it was removed and forgets the seed.
    await_links(&[&a, &b], 1, Duration::from_secs(15)).await;
    assert!(
        wait_until(Duration::from_secs(15), || async {
            c_secrets.get("group-seed").unwrap().is_none()
        })
        .await,
        "the removed device was told: {}\n{}",
        c.get("/api/v1/sync/status").await,
        c.get("/api/v1/sync/peers").await
    );
    // The members share a new seed (the stored ring also keeps the replaced one, retired at
    // each member's own time).
    let seed_of = current_seed;
    assert!(
        wait_until(Duration::from_secs(10), || async {
            seed_of(&b) == seed_of(&a)
        })
        .await,
        "B adopted the rotated seed"
    );
    assert_ne!(seed_of(&a).unwrap(), old_seed);
    // C's key with the seed it had is refused by B (it is no longer a member).
    let c_device = DeviceIdentity::load_or_create(&c_secrets).unwrap();
    let c_cert = mayros_sync_node::tls::DeviceCert::new(c_device.signing_key()).unwrap();
    match rogue_dial(&c_cert, old_seed, &b).await {
        LinkEvent::Refused { .. } | LinkEvent::Down { .. } => {}
        other => panic!("a removed device got {other:?}"),
    }
    // Its HTTPS requests, signed with the seed it had, are refused too (not a member).
    let body = br#"{"nodeId":"x","limit":10}"#.to_vec();
    let mut session = mayros_sync_node::peer::PeerSession::connect(
        b.daemon.info().peer_api.unwrap(),
        &b.node_id(),
        &c_cert,
    )
    .await
    .unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let headers: Vec<(&str, String)> = mayros_sync_proto::peerauth::sign_request(
        &mayros_sync_proto::seedproof::GroupSeed(old_seed),
        mayros_sync_proto::peerauth::RequestFacts {
            method: "POST",
            path_and_query: "/api/v1/sync/delta",
            body: &body,
            tls_client: None,
            server_node_id: &b.node_id(),
        },
        &c.node_id(),
        now_ms,
        [9; 16],
    )
    .into_iter()
    .collect();
    let (status, answer) = session
        .send(hyper::Method::POST, "/api/v1/sync/delta", &headers, body)
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 401, "{}", String::from_utf8_lossy(&answer));

    // Writes keep flowing between A and B, not to C.
    let id = a.put_batch(vec![t("mayros:after", "ex:p", 1)]).await;
    assert!(wait_until(Duration::from_secs(10), || async { b.has(&id[0]).await }).await);
    assert!(!c.has(&id[0]).await);
}

/// A relay that terminates A's pairing connection with its own certificate and opens its own
/// to B, copying the pairing stream both ways: the attack the verification code exists for.
async fn mitm_relay(b_quic: std::net::SocketAddr) -> std::net::SocketAddr {
    use mayros_sync_node::quic::{QuicEndpoint, PAIR_ALPN};
    let cert =
        mayros_sync_node::tls::DeviceCert::new(&ed25519_dalek::SigningKey::from_bytes(&[0x77; 32]))
            .unwrap();
    let endpoint = QuicEndpoint::bind("127.0.0.1:0".parse().unwrap(), &cert).unwrap();
    let addr = endpoint.local_addr().unwrap();
    tokio::spawn(async move {
        let incoming = endpoint.accept().await.unwrap();
        let from_a = incoming.await.unwrap();
        let (mut a_send, mut a_recv) = from_a.accept_bi().await.unwrap();
        let to_b = endpoint.connect_any(b_quic, PAIR_ALPN).await.unwrap();
        let (mut b_send, mut b_recv) = to_b.open_bi().await.unwrap();
        let up = tokio::spawn(async move { tokio::io::copy(&mut a_recv, &mut b_send).await });
        let down = tokio::spawn(async move { tokio::io::copy(&mut b_recv, &mut a_send).await });
        let _ = tokio::join!(up, down);
        // Keep both connections open until one side closes.
        tokio::select! {
            _ = from_a.closed() => {}
            _ = to_b.closed() => {}
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_swaps_certificates_shows_different_codes_on_each_side() {
    let a = Node::start("alpha", json!({})).await;
    let b = Node::start("bravo", json!({})).await;
    let relay = mitm_relay(b.daemon.info().quic.unwrap()).await;
    let (status, started) = a
        .control("/api/v1/sync/pair", json!({"target": relay.to_string()}))
        .await;
    assert_eq!(status, 200, "{started}");
    let code_on_a = started["code"].as_str().unwrap().to_string();
    // A sees the relay's node id, not B's.
    assert_ne!(started["nodeId"], b.node_id());
    assert!(
        wait_until(Duration::from_secs(10), || async {
            b.get("/api/v1/sync/pair/requests")
                .await
                .as_array()
                .is_some_and(|l| !l.is_empty())
        })
        .await,
        "B got the relayed request"
    );
    let list = b.get("/api/v1/sync/pair/requests").await;
    let code_on_b = list[0]["code"].as_str().unwrap().to_string();
    assert_eq!(code_on_a.len(), 7);
    assert_ne!(
        code_on_a, code_on_b,
        "the user sees two different codes and rejects"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_reports_links_going_up_and_down() {
    let a = Node::start("alpha", json!({})).await;
    let b = Node::start("bravo", json!({})).await;
    let mut resp = a
        .http
        .get(format!("{}/api/v1/sync/events?token={}", a.base, a.token))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut buf = String::new();
    a.invite(&b).await;
    let b_id = b.node_id();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let up = mayros_sync_tests::next_event(&mut resp, &mut buf, deadline, |kind, v| {
        kind == "peer" && v["nodeId"] == b_id.as_str() && v["connected"] == true
    })
    .await;
    assert!(up.is_some(), "a peer event when the link comes up");
    b.daemon.shutdown().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    let down = mayros_sync_tests::next_event(&mut resp, &mut buf, deadline, |kind, v| {
        kind == "peer" && v["nodeId"] == b_id.as_str() && v["connected"] == false
    })
    .await;
    assert!(down.is_some(), "a peer event when the link goes down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_cannot_be_reached_is_a_named_failure_and_its_return_a_recovery() {
    let a = Node::start("alpha", json!({})).await;
    let b = Node::start("bravo", json!({})).await;
    a.invite(&b).await;
    let b_id = b.node_id();
    assert!(
        wait_until(Duration::from_secs(15), || async {
            a.connected_peers().await == 1
        })
        .await,
        "linked"
    );
    let mut rx = a.daemon.engine().events().subscribe();
    let b_dir = b.dir;
    b.daemon.shutdown().await;

    // `sync now` defers to gossip in native mode; A's own redials of B are the failed attempts.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let failure = loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) if e.kind() == "failure" && e.data()["kind"] == "sync" => break e.data(),
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            other => panic!("no failure event: {:?}", other.map(|r| r.map(|e| e.kind()))),
        }
    };
    assert_eq!(failure["peer"], b_id.as_str(), "{failure}");
    assert_eq!(failure["name"], "bravo", "{failure}");
    // Status says why there is no link (lost, then the redial failed), not "not linked yet".
    let s = a.get("/api/v1/sync/status").await;
    let peer = &s["peers"][0];
    assert_eq!(peer["state"], "unreachable", "{s}");
    let why = peer["stateReason"].as_str().unwrap();
    assert!(
        why.starts_with("link lost at ") || why.starts_with("cannot reach bravo at "),
        "{why}"
    );

    let b = Node::restart(b_dir, "bravo").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let recovered = loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) if e.kind() == "peer" && e.data()["recovered"] == true => break e.data(),
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            other => panic!(
                "no recovery event: {:?}",
                other.map(|r| r.map(|e| e.kind()))
            ),
        }
    };
    assert_eq!(
        recovered,
        json!({"nodeId": b_id, "name": "bravo", "result": "ok", "recovered": true})
    );
    drop(b);
}
