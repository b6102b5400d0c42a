//! The local API router driven with `oneshot` (no socket).
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use mayros_sync_node::api::{router, ApiState, MAX_BODY_BYTES};
use mayros_sync_node::clock::Clock;
use mayros_sync_node::engine::{ConfigState, Engine, Identity};
use mayros_sync_store::{DeviceIdentity, MemorySecretStore, SecretStore, SecretStoreKind, Store};
use serde_json::{json, Value};
use tower::ServiceExt;

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const HOST: &str = "127.0.0.1:19090";

struct Api {
    app: axum::Router,
    engine: Arc<Engine>,
    _dir: tempfile::TempDir,
}

fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_memory().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecretStore::new());
    let device = DeviceIdentity::load_or_create(secrets.as_ref()).unwrap();
    let identity = Identity::new(device, "test-node".into(), SecretStoreKind::Memory).unwrap();
    let config = ConfigState::load(dir.path().join("config.json")).unwrap();
    let engine: Arc<Engine> =
        Engine::new(store, identity, secrets, config, Clock::system()).unwrap();
    let addr: SocketAddr = HOST.parse().unwrap();
    Api {
        app: router(ApiState::new(Arc::clone(&engine), TOKEN.into(), addr)),
        engine,
        _dir: dir,
    }
}

impl Api {
    async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!(
                    "non-JSON body for {status}: {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        (status, body)
    }

    async fn call(&self, method: Method, path: &str, body: Option<&str>) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", HOST)
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        self.send(req).await
    }

    async fn control(&self, method: Method, path: &str, body: Option<&str>) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", HOST)
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        self.send(req).await
    }
}

fn assert_error(status: StatusCode, body: &Value, want: StatusCode, code: &str) {
    assert_eq!(status, want, "body: {body}");
    assert_eq!(body["code"], code, "body: {body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "error text missing: {body}"
    );
}

#[tokio::test]
async fn health_reports_triple_count() {
    let api = api();
    let (s, b) = api.call(Method::GET, "/api/v1/health", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["status"], "healthy");
    assert_eq!(b["components"]["graph"]["message"], "0 triples");
    api.call(
        Method::POST,
        "/api/v1/triples",
        Some(r#"{"subject":"ex:a","predicate":"ex:p","object":1}"#),
    )
    .await;
    let (_, b) = api.call(Method::GET, "/api/v1/health", None).await;
    assert_eq!(b["components"]["graph"]["message"], "1 triples");
}

#[tokio::test]
async fn create_is_201_then_200_with_the_same_triple() {
    let api = api();
    let body = r#"{"subject":"ex:alice","predicate":"ex:knows","object":{"node":"ex:bob"}}"#;
    let (s, first) = api.call(Method::POST, "/api/v1/triples", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        first["id"],
        "fee928798f9856486a802f87d715408ae848f0504dfeff05424217fa3586eb2b"
    );
    assert_eq!(first["subject"], "<ex:alice>");
    assert_eq!(first["predicate"], "<ex:knows>");
    assert_eq!(first["object"], json!({"node": "<ex:bob>"}));
    assert!(first["created_at"].as_str().unwrap().ends_with('Z'));
    let bracketed =
        r#"{"subject":"<ex:alice>","predicate":"<ex:knows>","object":{"node":"<ex:bob>"}}"#;
    let (s, again) = api
        .call(Method::POST, "/api/v1/triples", Some(bracketed))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again, first);
}

#[tokio::test]
async fn bad_bodies_get_json_400s() {
    let api = api();
    let cases = [
        ("{not json", "INVALID_JSON"),
        ("", "INVALID_JSON"),
        (r#"{"predicate":"p","object":1}"#, "MISSING_FIELD"),
        (r#"{"subject":"s","object":1}"#, "MISSING_FIELD"),
        (r#"{"subject":"s","predicate":"p"}"#, "MISSING_FIELD"),
        (
            r#"{"subject":"","predicate":"p","object":1}"#,
            "INVALID_FIELD",
        ),
        (
            r#"{"subject":"<>","predicate":"p","object":1}"#,
            "INVALID_FIELD",
        ),
        (
            r#"{"subject":5,"predicate":"p","object":1}"#,
            "INVALID_FIELD",
        ),
        (
            r#"{"subject":"s","predicate":"p","object":[1]}"#,
            "INVALID_FIELD",
        ),
        (r#"[1,2]"#, "INVALID_FIELD"),
    ];
    for (body, code) in cases {
        let (s, b) = api.call(Method::POST, "/api/v1/triples", Some(body)).await;
        assert_error(s, &b, StatusCode::BAD_REQUEST, code);
    }
    let (_, b) = api.call(Method::GET, "/api/v1/stats", None).await;
    assert_eq!(b["graph"]["triple_count"], 0, "nothing was written");
}

#[tokio::test]
async fn oversized_body_is_413_json() {
    let api = api();
    let big = format!(
        r#"{{"subject":"s","predicate":"p","object":"{}"}}"#,
        "x".repeat(MAX_BODY_BYTES)
    );
    let (s, b) = api.call(Method::POST, "/api/v1/triples", Some(&big)).await;
    assert_error(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn get_and_delete_by_id() {
    let api = api();
    let (_, t) = api
        .call(
            Method::POST,
            "/api/v1/triples",
            Some(r#"{"subject":"ex:a","predicate":"ex:p","object":"v"}"#),
        )
        .await;
    let path = format!("/api/v1/triples/{}", t["id"].as_str().unwrap());
    let (s, got) = api.call(Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got, t);

    let (s, b) = api.call(Method::GET, "/api/v1/triples/xyz", None).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_ID");
    let unknown = format!("/api/v1/triples/{}", "0".repeat(64));
    let (s, b) = api.call(Method::GET, &unknown, None).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "NOT_FOUND");
    let (s, b) = api.call(Method::DELETE, &unknown, None).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "NOT_FOUND");
    let (s, b) = api.call(Method::DELETE, "/api/v1/triples/12", None).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_ID");

    let (s, _) = api.call(Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = api.call(Method::GET, &path, None).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "NOT_FOUND");
    let (s, b) = api.call(Method::DELETE, &path, None).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[tokio::test]
async fn batch_counts_duplicates_and_is_all_or_nothing() {
    let api = api();
    let body = json!({"triples": [
        {"subject": "ex:a", "predicate": "ex:p", "object": 1},
        {"subject": "ex:a", "predicate": "ex:p", "object": 2},
        {"subject": "<ex:a>", "predicate": "ex:p", "object": 1},
    ]})
    .to_string();
    let (s, b) = api
        .call(Method::POST, "/api/v1/triples/batch", Some(&body))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["total"], 3);
    assert_eq!(b["duplicates"], 1);
    assert_eq!(b["inserted"].as_array().unwrap().len(), 2);

    let bad = json!({"triples": [
        {"subject": "ex:new", "predicate": "ex:p", "object": 1},
        {"subject": "", "predicate": "ex:p", "object": 1},
    ]})
    .to_string();
    let (s, b) = api
        .call(Method::POST, "/api/v1/triples/batch", Some(&bad))
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_FIELD");
    assert!(b["error"].as_str().unwrap().contains("triples[1]"), "{b}");
    let (_, b) = api
        .call(Method::GET, "/api/v1/triples?subject=ex:new", None)
        .await;
    assert_eq!(b["total"], 0, "no partial batch");
    let (s, b) = api
        .call(
            Method::POST,
            "/api/v1/triples/batch",
            Some(r#"{"items":[]}"#),
        )
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "MISSING_FIELD");
}

#[tokio::test]
async fn list_filters_and_pages() {
    let api = api();
    let mut triples = Vec::new();
    for i in 0..5 {
        triples.push(json!({"subject": "ex:a", "predicate": "ex:n", "object": i}));
    }
    triples.push(json!({"subject": "ex:b", "predicate": "ex:n", "object": 0}));
    api.call(
        Method::POST,
        "/api/v1/triples/batch",
        Some(&json!({"triples": triples}).to_string()),
    )
    .await;

    let (s, b) = api
        .call(
            Method::GET,
            "/api/v1/triples?subject=%3Cex:a%3E&limit=2&offset=1",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["total"], 5);
    assert_eq!(b["limit"], 2);
    assert_eq!(b["offset"], 1);
    assert_eq!(b["triples"].as_array().unwrap().len(), 2);
    let (_, b) = api
        .call(Method::GET, "/api/v1/triples?predicate=ex:n", None)
        .await;
    assert_eq!(b["total"], 6);
    let (s, b) = api
        .call(Method::GET, "/api/v1/triples?limit=lots", None)
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_QUERY");
}

#[tokio::test]
async fn query_matches_objects_and_echoes_the_pattern() {
    let api = api();
    for o in [
        json!({"node": "ex:bob"}),
        json!("ex:bob"),
        json!({"node": "ex:carol"}),
    ] {
        let body = json!({"subject": "ex:alice", "predicate": "ex:knows", "object": o}).to_string();
        api.call(Method::POST, "/api/v1/triples", Some(&body)).await;
    }
    let (s, b) = api
        .call(
            Method::POST,
            "/api/v1/query",
            Some(r#"{"predicate":"ex:knows","object":{"node":"<ex:bob>"}}"#),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["total"], 1);
    assert_eq!(b["matches"][0]["object"], json!({"node": "<ex:bob>"}));
    assert_eq!(b["pattern"]["predicate"], "<ex:knows>");
    let (_, b) = api
        .call(
            Method::POST,
            "/api/v1/query",
            Some(r#"{"subject":"ex:alice","limit":1}"#),
        )
        .await;
    assert_eq!(b["total"], 3);
    assert_eq!(b["matches"].as_array().unwrap().len(), 1);
    let (s, b) = api
        .call(Method::POST, "/api/v1/query", Some(r#"{"limit":-1}"#))
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_FIELD");
}

#[tokio::test]
async fn stats_count_distinct_terms() {
    let api = api();
    let body = json!({"triples": [
        {"subject": "ex:a", "predicate": "ex:p", "object": 1},
        {"subject": "ex:a", "predicate": "ex:q", "object": 1},
        {"subject": "ex:b", "predicate": "ex:p", "object": 2},
    ]})
    .to_string();
    api.call(Method::POST, "/api/v1/triples/batch", Some(&body))
        .await;
    let (s, b) = api.call(Method::GET, "/api/v1/stats", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        b["graph"],
        json!({"triple_count": 3, "subject_count": 2, "predicate_count": 2, "object_count": 2})
    );
    assert_eq!(b["server"]["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn p2p_status_is_404_until_native_mode() {
    let api = api();
    let (s, b) = api.call(Method::GET, "/api/v1/p2p/status", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        b,
        json!({"error": "P2P not enabled", "code": "P2P_DISABLED"})
    );
}

#[tokio::test]
async fn foreign_host_headers_are_forbidden() {
    let api = api();
    for host in [
        Some("evil.example:19090"),
        Some("127.0.0.1:1"),
        Some("127.0.0.1"),
        None,
    ] {
        let mut req = Request::builder().uri("/api/v1/health");
        if let Some(h) = host {
            req = req.header("host", h);
        }
        let (s, b) = api.send(req.body(Body::empty()).unwrap()).await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "FORBIDDEN_HOST");
    }
    let req = Request::builder()
        .uri("/api/v1/health")
        .header("host", "localhost:19090")
        .body(Body::empty())
        .unwrap();
    assert_eq!(api.send(req).await.0, StatusCode::OK);
}

#[tokio::test]
async fn control_api_needs_the_token() {
    let api = api();
    let (s, b) = api.call(Method::GET, "/api/v1/sync/status", None).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    let req = Request::builder()
        .uri("/api/v1/sync/status")
        .header("host", HOST)
        .header("authorization", format!("Bearer {}", "f".repeat(64)))
        .body(Body::empty())
        .unwrap();
    let (s, b) = api.send(req).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");

    let (s, b) = api.control(Method::GET, "/api/v1/sync/status", None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["nodeId"].as_str().unwrap().len(), 64);
    assert_eq!(
        b["mode"], "polled",
        "embedded Cortex is healthy and P2P is not built yet"
    );
    assert!(b["modeReason"].as_str().unwrap().contains("P2P"), "{b}");
    assert_eq!(b["cortex"]["backend"], "embedded");
    assert_eq!(b["cortex"]["healthy"], true);
    assert_eq!(b["tripleCount"], 0);
    assert_eq!(b["secretStore"], "memory");
    assert!(b["warnings"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn config_put_validates_writes_and_applies() {
    let api = api();
    let (s, b) = api
        .control(
            Method::PUT,
            "/api/v1/sync/config",
            Some(r#"{"sync":{"intervalSeconds":"soon"}}"#),
        )
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_CONFIG");
    assert!(
        b["error"]
            .as_str()
            .unwrap()
            .contains("sync.intervalSeconds"),
        "{b}"
    );

    let (s, b) = api
        .control(
            Method::PUT,
            "/api/v1/sync/config",
            Some(r#"{"sync":{"intervalSeconds":5}}"#),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["config"]["sync"]["intervalSeconds"], 10, "clamped");
    assert!(
        b["warnings"][0]
            .as_str()
            .unwrap()
            .contains("sync.intervalSeconds"),
        "{b}"
    );
    let path = b["path"].as_str().unwrap().to_string();
    let on_disk: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(
        on_disk,
        json!({"version": 1, "sync": {"intervalSeconds": 5}})
    );

    let (_, status) = api.control(Method::GET, "/api/v1/sync/status", None).await;
    assert!(status["warnings"][0]
        .as_str()
        .unwrap()
        .contains("sync.intervalSeconds"));
}

#[tokio::test]
async fn config_errors_name_the_key_as_a_field() {
    let api = api();
    let (s, b) = api
        .control(
            Method::PATCH,
            "/api/v1/sync/config",
            Some(r#"{"sync":{"conflictStrategy":"coin-toss"}}"#),
        )
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_CONFIG");
    assert_eq!(b["field"], "sync.conflictStrategy", "{b}");
    assert!(
        b["error"]
            .as_str()
            .unwrap()
            .contains("sync.conflictStrategy"),
        "the message keeps naming the key: {b}"
    );
    let (s, b) = api
        .control(
            Method::PUT,
            "/api/v1/sync/config",
            Some(r#"{"sync":{"intervalSeconds":"soon"}}"#),
        )
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_CONFIG");
    assert_eq!(b["field"], "sync.intervalSeconds", "{b}");
}

#[tokio::test]
async fn config_put_of_the_effective_document_writes_only_what_differs() {
    let api = api();
    let (_, got) = api.control(Method::GET, "/api/v1/sync/config", None).await;
    let mut effective = got["config"].clone();
    effective["sync"]["autoSync"] = json!(true);
    let (s, b) = api
        .control(
            Method::PUT,
            "/api/v1/sync/config",
            Some(&effective.to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["config"]["sync"]["autoSync"], true);
    let path = b["path"].as_str().unwrap().to_string();
    let on_disk: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(on_disk, json!({"version": 1, "sync": {"autoSync": true}}));
}

#[tokio::test]
async fn config_patch_changes_only_the_keys_sent() {
    let api = api();
    let (s, b) = api
        .control(
            Method::PATCH,
            "/api/v1/sync/config",
            Some(r#"{"sync":{"intervalSeconds":60},"namespace":"work"}"#),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let path = b["path"].as_str().unwrap().to_string();
    let read =
        || -> Value { serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap() };
    assert_eq!(
        read(),
        json!({"version": 1, "sync": {"intervalSeconds": 60}, "namespace": "work"})
    );

    let (s, b) = api
        .control(
            Method::PATCH,
            "/api/v1/sync/config",
            Some(r#"{"sync":{"intervalSeconds":null,"autoSync":true}}"#),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        read(),
        json!({"version": 1, "sync": {"autoSync": true}, "namespace": "work"})
    );
    assert_eq!(
        b["config"]["sync"]["intervalSeconds"], 300,
        "back to the default"
    );
    assert_eq!(b["config"]["namespace"], "work", "an unsent key is kept");

    // An invalid patch leaves the file as it was.
    let (s, _) = api
        .control(
            Method::PATCH,
            "/api/v1/sync/config",
            Some(r#"{"ui":{"notifications":"yes"}}"#),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        read(),
        json!({"version": 1, "sync": {"autoSync": true}, "namespace": "work"})
    );

    let (s, b) = api
        .control(Method::PATCH, "/api/v1/sync/config", Some("[1]"))
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_CONFIG");
}

#[tokio::test]
async fn config_patch_migrates_a_version_0_file() {
    let api = api();
    let (_, got) = api.control(Method::GET, "/api/v1/sync/config", None).await;
    let path = got["path"].as_str().unwrap().to_string();
    // What an older window wrote: the whole effective config, one value changed.
    let mut old = got["config"].clone();
    old["sync"]["intervalSeconds"] = json!(60);
    std::fs::write(&path, old.to_string()).unwrap();
    let (s, b) = api
        .control(
            Method::PATCH,
            "/api/v1/sync/config",
            Some(r#"{"ui":{"notifications":false},"version":7}"#),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let on_disk: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        on_disk,
        json!({"version": 1, "sync": {"intervalSeconds": 60}, "ui": {"notifications": false}})
    );

    // A file from a newer build is refused, naming the key, and left alone.
    std::fs::write(&path, r#"{"version": 9}"#).unwrap();
    let (s, b) = api
        .control(
            Method::PATCH,
            "/api/v1/sync/config",
            Some(r#"{"namespace":"x"}"#),
        )
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "INVALID_CONFIG");
    assert_eq!(b["field"], "version", "{b}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), r#"{"version": 9}"#);
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json() {
    let api = api();
    let (s, b) = api.call(Method::GET, "/api/v1/nope", None).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "NOT_FOUND");
    let (s, b) = api.call(Method::PATCH, "/api/v1/triples", None).await;
    assert_error(s, &b, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
}

/// Logs one conflict the way a sync does: a local triple, then a peer's newer value for the
/// same single-valued subject and predicate.
async fn log_conflict(api: &Api, n: u64) {
    use mayros_sync_proto::config::ConflictStrategy;
    use mayros_sync_proto::{Hlc, Triple, Value as V};
    use mayros_sync_store::{ApplyContext, NewTriple, RemoteTriple, WriteContext};
    let now = api.engine.clock().now_ms();
    let subject = format!("ex:person{n}");
    api.engine
        .with_store(move |s| {
            let mine = Triple::new(&subject, "ex:city", V::String("Paris".into())).unwrap();
            let me = WriteContext {
                wall_ms: now,
                author: "e".repeat(64),
            };
            s.insert(&NewTriple::new(mine), &me)?;
            let theirs = RemoteTriple {
                triple: Triple::new(&subject, "ex:city", V::String("Lyon".into())).unwrap(),
                created_at: mayros_sync_proto::timefmt::format_rfc3339_ms(now + 1_000),
                author: "b".repeat(64),
                hlc: Hlc::new(now + 1_000, 0),
            };
            let ctx = ApplyContext {
                wall_ms: now + 2_000,
                peer: "b".repeat(64),
                strategy: ConflictStrategy::LastWriterWins,
                multi_valued: Vec::new(),
                exclude_prefixes: Vec::new(),
                review_horizon: None,
            };
            let out = s.apply_remote(&[theirs], &[], &ctx)?;
            assert_eq!(out.conflicts, 1);
            Ok::<_, mayros_sync_store::Error>(())
        })
        .await
        .unwrap();
}

/// New conflicts need attention in status (as the tray always showed) until the user looks at
/// them; then the state is what the peers make it again.
#[tokio::test]
async fn unseen_conflicts_need_attention_until_seen() {
    let api = api();
    let (_, s) = api.control(Method::GET, "/api/v1/sync/status", None).await;
    assert_eq!(s["unseenConflicts"], 0);
    assert_ne!(s["state"], "attention");
    log_conflict(&api, 1).await;
    log_conflict(&api, 2).await;
    let (_, s) = api.control(Method::GET, "/api/v1/sync/status", None).await;
    assert_eq!(
        (s["conflictsCount"].clone(), s["unseenConflicts"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(s["state"], "attention", "{s}");
    assert_eq!(s["summary"]["label"], "Needs attention");
    assert_eq!(s["summary"]["details"][0], "2 new conflicts");
    let (code, body) = api
        .control(Method::POST, "/api/v1/sync/conflicts/seen", None)
        .await;
    assert_eq!((code, body), (StatusCode::OK, json!({"seen": 2})));
    let (_, s) = api.control(Method::GET, "/api/v1/sync/status", None).await;
    assert_eq!(s["unseenConflicts"], 0);
    assert_ne!(s["state"], "attention", "{s}");
    let (code, body) = api
        .call(Method::POST, "/api/v1/sync/conflicts/seen", None)
        .await;
    assert_error(code, &body, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
}

/// The `status` events with cause `syncing` received so far, as their `syncing` flags.
fn syncing_flags(
    rx: &mut tokio::sync::broadcast::Receiver<mayros_sync_node::events::Event>,
) -> Vec<bool> {
    use mayros_sync_node::dto::StatusCause;
    use mayros_sync_node::events::Event;
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        if let Event::Status(s) = e {
            if s.cause == StatusCause::Syncing {
                out.push(s.syncing);
            }
        }
    }
    out
}

#[tokio::test]
async fn sync_now_is_announced_when_it_starts_and_when_it_ends() {
    let api = api();
    let mut events = api.engine.events().subscribe();
    let (code, body) = api
        .control(Method::POST, "/api/v1/sync/now", Some("{}"))
        .await;
    assert!(!code.is_server_error(), "{code}: {body}");
    assert_eq!(
        syncing_flags(&mut events),
        [true, false],
        "one event as it starts, one as it ends"
    );
    let (_, status) = api.control(Method::GET, "/api/v1/sync/status", None).await;
    assert_ne!(status["summary"]["state"], "syncing", "{status}");
}

#[tokio::test]
async fn pause_and_resume_change_the_one_control_state_that_status_and_the_scheduler_read() {
    let api = api();
    let mut control = api.engine.control().subscribe();
    control.mark_unchanged();
    let (code, body) = api
        .control(Method::POST, "/api/v1/sync/pause", Some(r#"{"minutes":5}"#))
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert!(
        control.has_changed().unwrap(),
        "a pause wakes the scheduler"
    );
    let now = api.engine.clock().now_ms();
    let until = control.borrow_and_update().pause_at(now).flatten().unwrap();
    assert!(
        until > now + 4 * 60_000 && until <= now + 5 * 60_000,
        "{until} vs {now}"
    );
    let (_, status) = api.control(Method::GET, "/api/v1/sync/status", None).await;
    assert_eq!(status["paused"], true, "{status}");
    let (code, _) = api.control(Method::POST, "/api/v1/sync/resume", None).await;
    assert_eq!(code, StatusCode::OK);
    assert!(
        control.has_changed().unwrap(),
        "a resume wakes the scheduler"
    );
    assert_eq!(control.borrow_and_update().pause_at(now), None);
    let (_, status) = api.control(Method::GET, "/api/v1/sync/status", None).await;
    assert_eq!(status["paused"], false, "{status}");
}
