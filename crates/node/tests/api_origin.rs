//! The local API against browser pages of other origins (issue 16), driven with `oneshot`.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use mayros_sync_node::api::{router, ApiState};
use mayros_sync_node::clock::Clock;
use mayros_sync_node::engine::{ConfigState, Engine, Identity};
use mayros_sync_store::{DeviceIdentity, MemorySecretStore, SecretStore, SecretStoreKind, Store};
use serde_json::Value;
use tower::ServiceExt;

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const HOST: &str = "127.0.0.1:19090";
const OWN: &str = "http://127.0.0.1:19090";
const EVIL: &str = "https://evil.example";
const TRIPLE: &str = r#"{"subject":"ex:evil","predicate":"ex:says","object":"poison"}"#;

/// Every route of the local API with a body a browser could send to it.
const ROUTES: &[(&str, &str, Option<&str>)] = &[
    ("GET", "/", None),
    ("GET", "/assets/index.js", None),
    ("GET", "/api/v1/health", None),
    ("GET", "/api/v1/stats", None),
    ("GET", "/api/v1/triples", None),
    ("POST", "/api/v1/triples", Some(TRIPLE)),
    (
        "POST",
        "/api/v1/triples/batch",
        Some(r#"{"triples":[{"subject":"ex:evil","predicate":"ex:says","object":"poison"}]}"#),
    ),
    (
        "GET",
        "/api/v1/triples/0000000000000000000000000000000000000000000000000000000000000000",
        None,
    ),
    (
        "DELETE",
        "/api/v1/triples/0000000000000000000000000000000000000000000000000000000000000000",
        None,
    ),
    ("POST", "/api/v1/query", Some(r#"{"subject":"ex:evil"}"#)),
    ("GET", "/api/v1/p2p/status", None),
    ("GET", "/api/v1/p2p/peers", None),
    (
        "POST",
        "/api/v1/p2p/peers",
        Some(r#"{"addr":"127.0.0.1:9"}"#),
    ),
    ("DELETE", "/api/v1/p2p/peers/abc", None),
    ("GET", "/api/v1/sync/status", None),
    ("GET", "/api/v1/sync/config", None),
    (
        "PUT",
        "/api/v1/sync/config",
        Some(r#"{"sync":{"intervalSeconds":77}}"#),
    ),
    ("POST", "/api/v1/sync/invite", None),
    (
        "POST",
        "/api/v1/sync/pair",
        Some(r#"{"target":"127.0.0.1:9"}"#),
    ),
    (
        "POST",
        "/api/v1/sync/pair/code",
        Some(r#"{"code":"mayros1-x"}"#),
    ),
    ("GET", "/api/v1/sync/pair/requests", None),
    ("POST", "/api/v1/sync/pair/requests/abc/accept", None),
    ("GET", "/api/v1/sync/peers", None),
    ("DELETE", "/api/v1/sync/peers/abc", None),
    ("POST", "/api/v1/sync/peers/abc/pause", None),
    ("POST", "/api/v1/sync/now", Some("{}")),
    ("POST", "/api/v1/sync/hooks/agent-end", None),
    ("GET", "/api/v1/sync/conflicts", None),
    ("GET", "/api/v1/sync/review", None),
    ("POST", "/api/v1/sync/maintenance/collect", None),
    ("GET", "/api/v1/sync/nearby", None),
    ("GET", "/api/v1/sync/events", None),
    ("POST", "/api/v1/sync/pause", Some(r#"{"minutes":5}"#)),
    ("POST", "/api/v1/sync/resume", None),
];

struct Api {
    app: axum::Router,
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
        app: router(ApiState::new(engine, TOKEN.into(), addr)),
        _dir: dir,
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Api {
    /// One request with the token, the right Host and the given extra headers.
    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path)
            .header("host", HOST)
            .header("authorization", format!("Bearer {TOKEN}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        if headers
            .get("content-type")
            .is_some_and(|c| c.as_bytes().starts_with(b"text/event-stream"))
        {
            return Answer {
                status,
                headers,
                body: Value::Null,
            };
        }
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn triple_count(&self) -> u64 {
        let a = self.send("GET", "/api/v1/stats", &[], None).await;
        a.body["graph"]["triple_count"].as_u64().unwrap()
    }

    async fn interval(&self) -> Value {
        let a = self.send("GET", "/api/v1/sync/config", &[], None).await;
        a.body["sync"]["intervalSeconds"].clone()
    }
}

fn assert_refused(a: &Answer, want: StatusCode, code: &str, what: &str) {
    assert_eq!(a.status, want, "{what}: {}", a.body);
    assert_eq!(a.body["code"], code, "{what}: {}", a.body);
    assert!(
        a.body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{what}: error text missing: {}",
        a.body
    );
}

fn assert_no_cors(a: &Answer, what: &str) {
    for (name, _) in &a.headers {
        assert!(
            !name.as_str().starts_with("access-control-"),
            "{what}: answered CORS header {name}"
        );
    }
}

#[tokio::test]
async fn the_reported_simple_request_is_refused_and_stores_nothing() {
    let api = api();
    for path in ["/api/v1/triples", "/api/v1/query"] {
        let a = api
            .send(
                "POST",
                path,
                &[("origin", EVIL), ("content-type", "text/plain")],
                Some(TRIPLE),
            )
            .await;
        assert_refused(&a, StatusCode::FORBIDDEN, "FOREIGN_ORIGIN", path);
        assert!(
            a.body["error"].as_str().unwrap().contains(EVIL),
            "{}",
            a.body
        );
    }
    assert_eq!(api.triple_count().await, 0);
}

#[tokio::test]
async fn every_route_refuses_foreign_origins_and_cross_site_fetches() {
    let api = api();
    let before = api.interval().await;
    let foreign: &[&[(&str, &str)]] = &[
        &[("origin", EVIL), ("content-type", "application/json")],
        &[
            ("origin", "http://127.0.0.1:8000"),
            ("content-type", "text/plain"),
        ],
        &[
            ("origin", "http://localhost:19091"),
            ("content-type", "application/json"),
        ],
        &[
            ("origin", "null"),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        &[("sec-fetch-site", "cross-site")],
        &[
            ("sec-fetch-site", "same-site"),
            ("content-type", "application/json"),
        ],
    ];
    for (method, path, body) in ROUTES {
        for headers in foreign {
            let a = api.send(method, path, headers, *body).await;
            let what = format!("{method} {path} {headers:?}");
            assert_refused(&a, StatusCode::FORBIDDEN, "FOREIGN_ORIGIN", &what);
            assert_no_cors(&a, &what);
        }
    }
    assert_eq!(api.triple_count().await, 0);
    assert_eq!(api.interval().await, before, "the config is unchanged");
}

#[tokio::test]
async fn the_body_of_a_foreign_request_is_never_read() {
    let api = api();
    // Unparsable and unterminated: a handler would answer 400, the body limit 413.
    let junk = "{".repeat(17 * 1024 * 1024);
    let a = api
        .send(
            "POST",
            "/api/v1/triples/batch",
            &[("origin", EVIL), ("content-type", "application/json")],
            Some(&junk),
        )
        .await;
    assert_refused(&a, StatusCode::FORBIDDEN, "FOREIGN_ORIGIN", "junk body");
}

#[tokio::test]
async fn writes_must_be_declared_json() {
    let api = api();
    for ct in [
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=b",
    ] {
        for path in ["/api/v1/triples", "/api/v1/triples/batch", "/api/v1/query"] {
            let a = api
                .send("POST", path, &[("content-type", ct)], Some(TRIPLE))
                .await;
            let what = format!("{path} {ct}");
            assert_refused(
                &a,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                &what,
            );
            assert!(
                a.body["error"]
                    .as_str()
                    .unwrap()
                    .contains("application/json"),
                "{}",
                a.body
            );
        }
        let a = api
            .send(
                "PUT",
                "/api/v1/sync/config",
                &[("content-type", ct)],
                Some(r#"{"sync":{"intervalSeconds":77}}"#),
            )
            .await;
        assert_refused(
            &a,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            ct,
        );
    }
    assert_eq!(api.triple_count().await, 0);
    assert_ne!(api.interval().await, 77);
}

#[tokio::test]
async fn curl_without_content_type_works_only_without_origin() {
    let api = api();
    let a = api
        .send("POST", "/api/v1/triples", &[("origin", OWN)], Some(TRIPLE))
        .await;
    assert_refused(
        &a,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        "own origin, no type",
    );
    assert_eq!(api.triple_count().await, 0);
    let a = api.send("POST", "/api/v1/triples", &[], Some(TRIPLE)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(api.triple_count().await, 1);
}

#[tokio::test]
async fn the_engines_own_page_and_the_tauri_window_are_served_without_cors_headers() {
    let api = api();
    for origin in [OWN, "http://localhost:19090", "tauri://localhost"] {
        let json = [
            ("origin", origin),
            ("sec-fetch-site", "same-origin"),
            ("content-type", "application/json"),
        ];
        let a = api
            .send("POST", "/api/v1/triples", &json, Some(TRIPLE))
            .await;
        assert!(a.status.is_success(), "{origin}: {} {}", a.status, a.body);
        assert_no_cors(&a, origin);
        let a = api
            .send("GET", "/api/v1/sync/status", &json[..2], None)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{origin}: {}", a.body);
        assert_no_cors(&a, origin);
    }
    // A navigation the user typed or `mayros ui` opened.
    let a = api
        .send("GET", "/api/v1/health", &[("sec-fetch-site", "none")], None)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(api.triple_count().await, 1);
}

#[tokio::test]
async fn a_preflight_gets_no_cors_permission() {
    let api = api();
    let pre = [
        ("origin", EVIL),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "content-type"),
    ];
    for (_, path, _) in ROUTES {
        let a = api.send("OPTIONS", path, &pre, None).await;
        assert_refused(&a, StatusCode::FORBIDDEN, "FOREIGN_ORIGIN", path);
        assert_no_cors(&a, path);
    }
    // Even from the engine's own origin, OPTIONS is not a route and grants nothing.
    let a = api
        .send("OPTIONS", "/api/v1/triples", &[("origin", OWN)], None)
        .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{}", a.body);
    assert_no_cors(&a, "own OPTIONS");
}
