//! mDNS/DNS-SD discovery on loopback (DESIGN §7.1) and the SSE event stream (§6.2).
//!
//! Every responder here — the engines' and the test's own — is restricted to `lo` through
//! `discovery.interfaces`, so nothing is multicast on a real network card. Each test uses its
//! own service type so parallel tests never see each other's engines.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use mayros_sync_tests::{next_event, wait_until, Node};
use serde_json::{json, Value};

fn config(service_type: &str) -> Value {
    json!({"discovery": {
        "bonjourEnabled": true,
        "bonjourServiceType": service_type,
        "interfaces": ["lo"],
    }})
}

async fn nearby(node: &Node) -> Vec<Value> {
    node.get("/api/v1/sync/nearby")
        .await
        .as_array()
        .cloned()
        .unwrap()
}

async fn entry_for(node: &Node, id: &str) -> Option<Value> {
    nearby(node)
        .await
        .into_iter()
        .find(|d| d["nodeId"].as_str() == Some(id))
}

/// The test's own third device: another service type on `lo` only.
fn advertise_other_type(fake_id: &str) -> mdns_sd::ServiceDaemon {
    let daemon = mdns_sd::ServiceDaemon::new().unwrap();
    daemon.disable_interface(mdns_sd::IfKind::All).unwrap();
    daemon.enable_interface("lo").unwrap();
    let txt = [("node_id", fake_id), ("name", "intruder"), ("https", "1")];
    let info = mdns_sd::ServiceInfo::new(
        "_mayros-other._tcp.local.",
        "intruder",
        "intruder-host.local.",
        "127.0.0.1",
        1,
        &txt[..],
    )
    .unwrap();
    daemon.register(info).unwrap();
    daemon
}

/// Whether a browser of `_mayros-other._tcp` on `lo` resolves the test's other-type device.
async fn other_type_is_visible() -> bool {
    tokio::task::spawn_blocking(|| {
        let browser = mdns_sd::ServiceDaemon::new().unwrap();
        browser.disable_interface(mdns_sd::IfKind::All).unwrap();
        browser.enable_interface("lo").unwrap();
        let rx = browser.browse("_mayros-other._tcp.local.").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut seen = false;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(mdns_sd::ServiceEvent::ServiceResolved(info))
                    if info.get_fullname().starts_with("intruder") =>
                {
                    seen = true;
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let _ = browser.shutdown();
        seen
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_on_loopback_discover_each_other_and_pair() {
    let ty = "_mayros-lo1._tcp";
    let fake_id = "ee".repeat(32);
    let other = advertise_other_type(&fake_id);
    let a = Node::start("alpha", config(ty)).await;
    let b = Node::start("bravo", config(ty)).await;
    let (a_id, b_id) = (a.node_id(), b.node_id());

    let seen = wait_until(Duration::from_secs(20), || async {
        entry_for(&a, &b_id).await.is_some() && entry_for(&b, &a_id).await.is_some()
    })
    .await;
    assert!(
        seen,
        "no mutual discovery within 20 s: a sees {:?}, b sees {:?}",
        nearby(&a).await,
        nearby(&b).await
    );
    let on_a = entry_for(&a, &b_id).await.unwrap();
    let b_info = b.daemon.info();
    assert_eq!(on_a["name"], "bravo", "{on_a}");
    assert_eq!(on_a["quicPort"], b_info.quic.unwrap().port(), "{on_a}");
    assert_eq!(on_a["httpsPort"], b_info.peer_api.unwrap().port(), "{on_a}");
    assert_eq!(on_a["paired"], false, "{on_a}");
    assert!(
        on_a["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "127.0.0.1"),
        "{on_a}"
    );
    assert!(on_a["lastSeen"].as_str().unwrap().ends_with('Z'), "{on_a}");
    let status = a.get("/api/v1/sync/status").await;
    assert!(status["nearbyCount"].as_u64().unwrap() >= 1, "{status}");

    // The device of another service type is on the wire (a browser of its type resolves it) but
    // never listed, and nobody lists itself.
    assert!(
        other_type_is_visible().await,
        "the test's other-type device was never resolved on lo"
    );
    for n in [&a, &b] {
        let list = nearby(n).await;
        assert!(
            list.iter()
                .all(|d| d["nodeId"] != fake_id.as_str() && d["nodeId"] != n.node_id().as_str()),
            "{list:?}"
        );
    }

    // After pairing both list each other as paired.
    a.invite(&b).await;
    let paired = wait_until(Duration::from_secs(10), || async {
        entry_for(&a, &b_id)
            .await
            .is_some_and(|d| d["paired"] == true)
            && entry_for(&b, &a_id)
                .await
                .is_some_and(|d| d["paired"] == true)
    })
    .await;
    assert!(
        paired,
        "not paired in the nearby lists: {:?} / {:?}",
        nearby(&a).await,
        nearby(&b).await
    );

    // Turning discovery off on b at runtime makes it go from a's list.
    let mut cfg = b.get("/api/v1/sync/config").await["config"].clone();
    cfg["discovery"]["bonjourEnabled"] = json!(false);
    let resp = b
        .http
        .put(format!("{}/api/v1/sync/config", b.base))
        .bearer_auth(&b.token)
        .json(&cfg)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let gone = wait_until(Duration::from_secs(20), || async {
        entry_for(&a, &b_id).await.is_none()
    })
    .await;
    assert!(gone, "b is still listed on a: {:?}", nearby(&a).await);
    assert!(
        nearby(&b)
            .await
            .iter()
            .all(|d| d["nodeId"] != a_id.as_str()),
        "b stopped discovery but still lists mDNS devices"
    );
    let _ = other.shutdown();
    b.daemon.shutdown().await;
    a.daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_stream_reports_nearby_and_metrics() {
    let ty = "_mayros-sse._tcp";
    let a = Node::start("alpha", config(ty)).await;

    // The stream needs the token: in the URL here (EventSource sends no headers).
    let url = format!("{}/api/v1/sync/events", a.base);
    let denied = a.http.get(&url).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    let wrong = a
        .http
        .get(format!("{url}?token=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let mut resp = a
        .http
        .get(format!("{url}?token={}", a.token))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    // The query token works only on the event stream.
    let other = a
        .http
        .get(format!("{}/api/v1/sync/nearby?token={}", a.base, a.token))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 401);

    let b = Node::start("bravo", config(ty)).await;
    let b_id = b.node_id();
    let mut buf = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let ev = next_event(&mut resp, &mut buf, deadline, |kind, v| {
        kind == "nearby" && v["change"] == "appeared" && v["device"]["nodeId"] == b_id.as_str()
    })
    .await;
    let ev = ev.expect("no nearby event for the other engine within 20 s");
    assert_eq!(ev["device"]["name"], "bravo", "{ev}");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let m = next_event(&mut resp, &mut buf, deadline, |kind, _| kind == "metrics")
        .await
        .expect("no metrics event within 10 s");
    assert!(m["tripleCount"].is_u64(), "{m}");
    assert!(m["sync"]["totalSuccessfulSyncs"].is_u64(), "{m}");
    assert!(m["nearbyCount"].as_u64().unwrap() >= 1, "{m}");

    // Stopping b says goodbye: a `nearby` "gone" event follows.
    b.daemon.shutdown().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let gone = next_event(&mut resp, &mut buf, deadline, |kind, v| {
        kind == "nearby" && v["change"] == "gone" && v["device"]["nodeId"] == b_id.as_str()
    })
    .await;
    assert!(gone.is_some(), "no gone event for the stopped engine");

    // Shutting the engine down ends the stream (it does not hang the shutdown).
    tokio::time::timeout(Duration::from_secs(10), a.daemon.shutdown())
        .await
        .expect("shutdown with an open event stream hangs");
}
