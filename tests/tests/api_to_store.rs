//! What the local API writes is what the store holds on disk, after the engine stops.
#![allow(clippy::unwrap_used)]

use mayros_sync_node::paths;
use mayros_sync_proto::{Triple, TripleId, Value};
use mayros_sync_store::{ChangeOp, Pattern, Store};
use mayros_sync_tests::{base_url, start_engine};
use serde_json::json;

#[tokio::test]
async fn writes_and_deletes_through_the_api_land_in_the_store_and_its_change_log() {
    let dir = tempfile::tempdir().unwrap();
    let engine = start_engine(dir.path(), "a").await;
    let base = base_url(&engine);
    let http = reqwest::Client::new();

    let batch = json!({"triples": [
        {"subject": "mayros:agent:a1", "predicate": "mayros:likes", "object": "tea"},
        {"subject": "mayros:agent:a1", "predicate": "mayros:knows", "object": {"node": "mayros:agent:a2"}},
        {"subject": "ex:alice", "predicate": "ex:age", "object": 30},
    ]});
    let out: serde_json::Value = http
        .post(format!("{base}/api/v1/triples/batch"))
        .json(&batch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(out["inserted"].as_array().unwrap().len(), 3);
    let age_id = "4b03e2f8f9374cd4e2ffe6234753cdad3ee318871ece13c45ac47ec1b5e7cdd3";
    let status = http
        .delete(format!("{base}/api/v1/triples/{age_id}"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
    let node_id = engine.info().node_id.clone();
    engine.shutdown().await;

    let store = Store::open(&paths::store_file(dir.path())).unwrap();
    let (live, total) = store.find(&Pattern::default(), 10, 0).unwrap();
    assert_eq!(total, 2);
    assert!(live.iter().all(|t| t.author == node_id));
    let likes = Triple::new(
        "mayros:agent:a1",
        "mayros:likes",
        Value::String("tea".into()),
    )
    .unwrap();
    assert!(live.iter().any(|t| t.id == likes.id()));

    let age: TripleId = age_id.parse().unwrap();
    let tomb = store.tombstone(&age).unwrap().expect("a durable tombstone");
    assert_eq!(tomb.by, node_id);

    let log = store.changes_since(0, 100).unwrap();
    assert_eq!(
        log.len(),
        4,
        "three inserts and one delete, each logged once"
    );
    assert_eq!(log.last().unwrap().op, ChangeOp::Delete);
    assert!(log
        .windows(2)
        .all(|w| w[0].position < w[1].position && w[0].hlc < w[1].hlc));
    assert_eq!(
        store.meta().unwrap().node_id.as_deref(),
        Some(node_id.as_str())
    );
}
