//! The external Cortex backend (DESIGN §3.3, issue 7) against a real sidecar: a second engine's
//! embedded Cortex REST (same shapes as the stock AIngle Cortex) behind a proxy that injects
//! the stock sidecar's quirks — names in brackets (already in our output), 500 on a single
//! insert of an existing triple, a rate limit answered with 429 + `Retry-After` and
//! `x-ratelimit-remaining` on every answer, a 1 MiB body limit, `p2p/status` answering 404
//! `{"error":"P2P not enabled"}` or stalling, and a refusal of any `Authorization` header when
//! no secret is set.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mayros_sync_node::cortex::{CortexOptions, Rate};
use mayros_sync_node::{Daemon, DaemonOptions};
use mayros_sync_tests::{wait_until, Node};
use serde_json::{json, Value};

const MIB: usize = 1024 * 1024;

/// What the proxy answers on `GET /api/v1/p2p/status`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum P2p {
    /// 404 `{"error":"P2P not enabled"}` (the stock sidecar with gossip off).
    NotEnabled,
    /// Never answers (the stock P2P layer when a peer vanished).
    Stall,
    /// Forwards to the upstream engine (gossip on).
    Forward,
}

#[derive(Debug, Default)]
struct Counts {
    requests: u64,
    rate_limited: u64,
    single_inserts: u64,
    batches: u64,
    largest_batch: usize,
    auth_refused: u64,
    /// `POST /api/v1/p2p/peers` bodies: asks to the sidecar's own gossip (there must be none).
    p2p_peer_posts: Vec<Value>,
}

struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    /// Requests allowed per window before 429.
    limit: Option<(u64, Duration)>,
    retry_after_secs: u64,
    p2p: P2p,
    /// `Some`: requests must carry this bearer token; `None`: any Authorization header is
    /// refused (some stock builds fail such requests when no secret is set).
    token: Option<String>,
    window: Mutex<(Instant, u64)>,
    counts: Mutex<Counts>,
}

/// A quirk-injecting proxy on 127.0.0.1 in front of an engine's Cortex REST.
struct Proxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
}

impl Proxy {
    async fn start(
        upstream: &str,
        limit: Option<(u64, Duration)>,
        p2p: P2p,
        token: Option<&str>,
    ) -> Proxy {
        let state = Arc::new(ProxyState {
            upstream: upstream.to_string(),
            http: reqwest::Client::new(),
            limit,
            retry_after_secs: 1,
            p2p,
            token: token.map(str::to_string),
            window: Mutex::new((Instant::now(), 0)),
            counts: Mutex::new(Counts::default()),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Proxy { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn counts<R>(&self, f: impl FnOnce(&Counts) -> R) -> R {
        f(&self.state.counts.lock().unwrap())
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

async fn handle(State(st): State<Arc<ProxyState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 64 * MIB)
        .await
        .unwrap_or_default();
    st.counts.lock().unwrap().requests += 1;
    let auth = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let auth_ok = match (&st.token, auth) {
        (None, None) => true,
        (None, Some(_)) => false,
        (Some(t), Some(a)) => a == format!("Bearer {t}"),
        (Some(_), None) => false,
    };
    if !auth_ok {
        st.counts.lock().unwrap().auth_refused += 1;
        return error(StatusCode::UNAUTHORIZED, "authorization refused");
    }
    // Rate limit: `limit` requests per window, then 429 until the window ends.
    let mut remaining = None;
    if let Some((limit, window)) = st.limit {
        let mut w = st.window.lock().unwrap();
        if w.0.elapsed() >= window {
            *w = (Instant::now(), 0);
        }
        w.1 += 1;
        if w.1 > limit {
            drop(w);
            st.counts.lock().unwrap().rate_limited += 1;
            let mut resp = error(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded");
            let h = resp.headers_mut();
            h.insert("retry-after", HeaderValue::from(st.retry_after_secs));
            h.insert("x-ratelimit-remaining", HeaderValue::from(0u64));
            return resp;
        }
        remaining = Some(limit - w.1);
    }
    let path = parts.uri.path().to_string();
    let method = parts.method.clone();
    let mut resp = match (method.as_str(), path.as_str()) {
        ("GET", "/api/v1/p2p/status") if st.p2p == P2p::NotEnabled => {
            error(StatusCode::NOT_FOUND, "P2P not enabled")
        }
        ("GET", "/api/v1/p2p/status") if st.p2p == P2p::Stall => {
            std::future::pending::<Response>().await
        }
        ("POST", "/api/v1/p2p/peers") => {
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            st.counts.lock().unwrap().p2p_peer_posts.push(v.clone());
            axum::Json(json!({"status": "connecting", "addr": v["addr"]})).into_response()
        }
        ("POST", "/api/v1/triples/batch") if body.len() > MIB => {
            error(StatusCode::PAYLOAD_TOO_LARGE, "body exceeds 1 MiB")
        }
        _ => {
            if path == "/api/v1/triples/batch" {
                let mut c = st.counts.lock().unwrap();
                c.batches += 1;
                c.largest_batch = c.largest_batch.max(body.len());
            }
            let single = method == "POST" && path == "/api/v1/triples";
            if single {
                st.counts.lock().unwrap().single_inserts += 1;
            }
            let (status, bytes) = forward(&st, &parts, body).await;
            if single && status == StatusCode::OK {
                // The stock sidecar answers 500 to a single insert of an existing triple.
                error(StatusCode::INTERNAL_SERVER_ERROR, "triple already exists")
            } else {
                let mut r = Response::new(Body::from(bytes));
                *r.status_mut() = status;
                r.headers_mut()
                    .insert("content-type", HeaderValue::from_static("application/json"));
                r
            }
        }
    };
    if let Some(r) = remaining {
        resp.headers_mut()
            .insert("x-ratelimit-remaining", HeaderValue::from(r));
    }
    resp
}

async fn forward(
    st: &ProxyState,
    parts: &axum::http::request::Parts,
    body: Bytes,
) -> (StatusCode, Bytes) {
    let pq = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |p| p.as_str());
    let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).unwrap();
    let resp = st
        .http
        .request(method, format!("{}{pq}", st.upstream))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
    (status, resp.bytes().await.unwrap())
}

/// Options that keep the stock behaviour but fit a test: fast pacing (so the proxy's limit
/// bites), small pages (so listing pages), short timeouts.
fn test_options() -> CortexOptions {
    CortexOptions {
        rate: Rate {
            per_minute: 6_000,
            burst: 20,
            reserve: 0,
        },
        probe_timeout: Duration::from_secs(2),
        p2p_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(10),
        write_deadline: Duration::from_secs(60),
        page_size: 100,
        status_cache: Duration::from_millis(200),
        ..CortexOptions::default()
    }
}

/// Starts an engine with `config` and the given Cortex options.
async fn start_with(name: &str, config: Value, cortex: CortexOptions) -> Node {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    let mut opts = DaemonOptions::new(dir.path().to_path_buf());
    opts.api = SocketAddr::from(([127, 0, 0, 1], 0));
    opts.peer_api = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    opts.quic = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    opts.name = Some(name.to_string());
    opts.cortex = cortex;
    // Tests never touch the OS keyring of whoever runs them (DESIGN §7.3).
    opts.secret_store = Some(mayros_sync_store::SecretStoreChoice::File);
    let daemon: Daemon = Daemon::start(opts).await.unwrap();
    Node {
        base: format!("http://{}", daemon.info().api),
        token: daemon.token().to_string(),
        http: reqwest::Client::new(),
        daemon,
        dir,
    }
}

fn facts(prefix: &str, n: usize, object_bytes: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "subject": format!("mayros:{prefix}:s{}", i / 5),
                "predicate": format!("mayros:p{}", i % 5),
                "object": format!("{prefix} {i} {}", "x".repeat(object_bytes)),
            })
        })
        .collect()
}

async fn status(node: &Node) -> Value {
    node.get("/api/v1/sync/status").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polled_sync_through_an_external_cortex_converges_under_rate_limiting() {
    let sidecar = Node::start_polled("sidecar", json!({})).await;
    let proxy = Proxy::start(
        &sidecar.base,
        Some((25, Duration::from_secs(1))),
        P2p::NotEnabled,
        None,
    )
    .await;
    let in_sidecar = sidecar.put_batch(facts("side", 250, 20)).await;
    assert_eq!(in_sidecar.len(), 250);

    let a = start_with(
        "alpha",
        json!({"cortex": {"url": proxy.url()}, "sync": {"nativeP2pPreferred": false}}),
        test_options(),
    )
    .await;
    let b = Node::start_polled("bravo", json!({})).await;
    // 400 triples of ~3 KiB: more than one 1 MiB batch when written back to the sidecar.
    let from_b = b.put_batch(facts("bravo", 400, 3_000)).await;
    assert_eq!(from_b.len(), 400);
    a.invite(&b).await;

    // The engine on the external backend serves no Cortex REST (DESIGN §3.3).
    let resp = a
        .http
        .get(format!("{}/api/v1/triples", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "EXTERNAL_CORTEX", "{body}");
    assert!(
        body["error"].as_str().unwrap().contains(&proxy.url()),
        "{body}"
    );

    // sync now on A: scan the sidecar, pull B, let B pull A, write B's triples back. The
    // 429s on the way are waited out, so the sidecar is read and written in this call.
    let out = a.sync_now().await;
    assert!(
        !out["message"].as_str().unwrap().contains("failed"),
        "{out}"
    );
    assert_eq!(sidecar.ids().await.len(), 650);
    assert_eq!(
        sidecar.ids().await,
        b.ids().await,
        "sidecar and B converged"
    );

    // Writes and deletes made directly in the sidecar reach B on B's next sync now.
    let added = sidecar.put_batch(facts("late", 5, 10)).await;
    for id in &in_sidecar[..10] {
        assert_eq!(sidecar.delete(id).await, 204);
    }
    b.sync_now().await;
    let ib = b.ids().await;
    assert!(
        added.iter().all(|id| ib.contains(id)),
        "sidecar writes reach B"
    );
    assert!(
        in_sidecar[..10].iter().all(|id| !ib.contains(id)),
        "sidecar deletions reach B"
    );
    assert_eq!(ib, sidecar.ids().await);

    // Writes and deletes on B reach the sidecar (B's sync now makes A pull; A writes back).
    let more = b.put_batch(facts("bravo2", 3, 10)).await;
    for id in &from_b[..7] {
        assert_eq!(b.delete(id).await, 204);
    }
    b.sync_now().await;
    let converged = wait_until(Duration::from_secs(30), || async {
        sidecar.ids().await == b.ids().await
    })
    .await;
    assert!(converged, "B's writes and deletes reach the sidecar");
    let is = sidecar.ids().await;
    assert!(more.iter().all(|id| is.contains(id)));
    assert!(from_b[..7].iter().all(|id| !is.contains(id)));
    assert_eq!(is.len(), 650 + 5 - 10 + 3 - 7);

    // Nothing comes back on further rounds in either direction.
    let out = a.sync_now().await;
    assert!(
        !out["message"].as_str().unwrap().contains("failed"),
        "{out}"
    );
    b.sync_now().await;
    assert_eq!(sidecar.ids().await, b.ids().await);
    assert_eq!(sidecar.ids().await.len(), 641);

    // The quirks were met, not avoided by luck.
    let (rate_limited, singles, batches, largest, refused) = proxy.counts(|c| {
        (
            c.rate_limited,
            c.single_inserts,
            c.batches,
            c.largest_batch,
            c.auth_refused,
        )
    });
    assert!(rate_limited > 0, "the proxy's rate limit bit");
    assert_eq!(singles, 0, "writes go through the batch route only");
    assert!(batches >= 2, "{batches} batches");
    assert!(largest <= MIB, "largest batch {largest} bytes");
    assert_eq!(
        refused, 0,
        "no Authorization header without cortex.authToken"
    );

    // Status names the backend, its version, health and the rate limit.
    let s = status(&a).await;
    let c = &s["cortex"];
    assert_eq!(s["mode"], "polled", "{s}");
    assert!(
        s["modeReason"]
            .as_str()
            .unwrap()
            .contains("P2P not enabled"),
        "{s}"
    );
    assert_eq!(c["backend"], "external", "{s}");
    assert_eq!(c["url"], proxy.url(), "{s}");
    assert_eq!(c["healthy"], true, "{s}");
    assert_eq!(c["version"], env!("CARGO_PKG_VERSION"), "{s}");
    assert!(c["rateLimitedCount"].as_u64().unwrap() > 0, "{s}");
    assert!(
        c["p2pReason"].as_str().unwrap().contains("P2P not enabled"),
        "{s}"
    );
    assert_eq!(c["mirror"]["listed"], 641, "{s}");
    assert_eq!(s["tripleCount"], 641, "{s}");

    a.daemon.shutdown().await;
    b.daemon.shutdown().await;
    sidecar.daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_p2p_status_times_out_and_status_says_so() {
    let sidecar = Node::start_polled("sidecar", json!({})).await;
    let proxy = Proxy::start(&sidecar.base, None, P2p::Stall, None).await;
    // Start on the embedded backend, then point cortex.url at the sidecar at runtime.
    let a = start_with("alpha", json!({}), test_options()).await;
    assert_eq!(status(&a).await["cortex"]["backend"], "embedded");
    assert!(a
        .http
        .get(format!("{}/api/v1/health", a.base))
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    let resp = a
        .http
        .put(format!("{}/api/v1/sync/config", a.base))
        .bearer_auth(&a.token)
        .json(&json!({"cortex": {"url": proxy.url()}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let started = Instant::now();
    let s = status(&a).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "status took {took:?}");
    let c = &s["cortex"];
    assert_eq!(c["backend"], "external", "{s}");
    assert_eq!(c["healthy"], true, "{s}");
    let reason = c["p2pReason"].as_str().unwrap();
    assert!(reason.contains("no answer within 1000 ms"), "{reason}");
    assert!(reason.contains("p2p/status"), "{reason}");
    assert!(
        s["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("may be stalled")),
        "{s}"
    );
    assert_eq!(s["mode"], "polled", "{s}");
    assert!(
        s["modeReason"].as_str().unwrap().contains("no answer"),
        "{s}"
    );
    // The Cortex REST is gone from the local API now.
    let resp = a
        .http
        .get(format!("{}/api/v1/health", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    // A restart with the stalled sidecar configured is not held up by it either.
    let started = Instant::now();
    let b = start_with(
        "bravo",
        json!({"cortex": {"url": proxy.url()}}),
        test_options(),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(b.daemon.engine().mode().mode.as_str(), "polled");
    b.daemon.shutdown().await;
    a.daemon.shutdown().await;
    sidecar.daemon.shutdown().await;
}

/// The sorted union of id lists, minus `gone`.
fn expected(lists: &[&[String]], gone: &[String]) -> Vec<String> {
    let mut all: Vec<String> = lists
        .iter()
        .flat_map(|l| l.iter().cloned())
        .filter(|id| !gone.contains(id))
        .collect();
    all.sort();
    all.dedup();
    all
}

/// Waits until both sidecars hold exactly `want`; on a timeout, fails with both engines' status.
async fn wait_sidecars(
    sides: [&Node; 2],
    engines: [&Node; 2],
    want: &[String],
    secs: u64,
    what: &str,
) {
    let ok = wait_until(Duration::from_secs(secs), || async {
        sides[0].ids().await == want && sides[1].ids().await == want
    })
    .await;
    if !ok {
        panic!(
            "{what}: sidecars hold {} and {} ids, want {}\nA: {}\nB: {}",
            sides[0].ids().await.len(),
            sides[1].ids().await.len(),
            want.len(),
            status(engines[0]).await,
            status(engines[1]).await
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_gossip_over_two_sidecars_carries_writes_and_deletes_on_both() {
    // Two sidecars with their own P2P on (their QUIC endpoints run, so `p2p/status` reports a
    // node id), each behind a quirk-injecting, rate-limiting proxy with a secret; one engine on
    // each. The engines' QUIC gossip syncs the two sidecars through their mirrors; the
    // sidecars' own gossip never sees the other one.
    let side_a = Node::start_polled("sidecar-a", json!({})).await;
    let side_b = Node::start_polled("sidecar-b", json!({})).await;
    let limit = Some((40, Duration::from_secs(1)));
    let proxy_a = Proxy::start(&side_a.base, limit, P2p::Forward, Some("s3cret-a")).await;
    let proxy_b = Proxy::start(&side_b.base, limit, P2p::Forward, Some("s3cret-b")).await;
    let shared = facts("shared", 20, 10);
    let mut on_a = side_a.put_batch(facts("alpha", 120, 10)).await;
    on_a.extend(side_a.put_batch(shared.clone()).await);
    let mut on_b = side_b.put_batch(facts("bravo", 80, 10)).await;
    on_b.extend(side_b.put_batch(shared).await);
    assert_eq!((on_a.len(), on_b.len()), (140, 100));

    let a = start_with(
        "alpha",
        json!({"cortex": {"url": proxy_a.url(), "authToken": "s3cret-a"}}),
        test_options(),
    )
    .await;
    let b = start_with(
        "bravo",
        json!({"cortex": {"url": proxy_b.url(), "authToken": "s3cret-b"}}),
        test_options(),
    )
    .await;
    for node in [&a, &b] {
        let s = status(node).await;
        assert_eq!(s["mode"], "native", "{s}");
        let by = s["cortex"]["syncedBy"].as_str().unwrap();
        assert!(by.contains("Mayros Sync carries the sync"), "{s}");
        assert!(by.contains("QUIC gossip"), "{s}");
        assert!(by.contains("sidecar's own P2P is on"), "{s}");
        assert!(
            !s["warnings"].to_string().contains("own gossip"),
            "no warning that the sidecar's gossip syncs: {s}"
        );
    }
    a.invite(&b).await;

    // Both sidecars end with the union: 120 + 80 + 20 shared.
    let want = expected(&[&on_a, &on_b], &[]);
    assert_eq!(want.len(), 220);
    wait_sidecars([&side_a, &side_b], [&a, &b], &want, 60, "first merge").await;

    // Writes and deletes made directly in each sidecar reach the other one.
    let late_a = side_a.put_batch(facts("late-a", 7, 10)).await;
    let late_b = side_b.put_batch(facts("late-b", 4, 10)).await;
    let mut gone = Vec::new();
    for id in &on_a[..5] {
        assert_eq!(side_a.delete(id).await, 204);
        gone.push(id.clone());
    }
    for id in &on_b[..3] {
        assert_eq!(side_b.delete(id).await, 204);
        gone.push(id.clone());
    }
    let want = expected(&[&want, &late_a, &late_b], &gone);
    assert_eq!(want.len(), 220 + 7 + 4 - 8);
    wait_sidecars(
        [&side_a, &side_b],
        [&a, &b],
        &want,
        60,
        "writes and deletes",
    )
    .await;

    // It stays that way: later scans bring nothing back.
    let out = a.sync_now().await;
    assert_eq!(out["deferred"], true, "{out}");
    assert!(out["message"].as_str().unwrap().contains("gossip"), "{out}");
    assert!(
        !out["message"]
            .as_str()
            .unwrap()
            .contains("reading the external Cortex failed"),
        "{out}"
    );
    b.sync_now().await;
    assert_eq!(side_a.ids().await, want);
    assert_eq!(side_b.ids().await, want);

    // Our gossip did it: rounds succeeded, and nobody asked a sidecar's P2P to dial anything.
    let s = status(&a).await;
    assert!(s["gossip"]["successfulSyncs"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["tripleCount"], want.len(), "{s}");
    for proxy in [&proxy_a, &proxy_b] {
        assert!(proxy.counts(|c| c.p2p_peer_posts.is_empty()));
        assert_eq!(
            proxy.counts(|c| c.auth_refused),
            0,
            "the bearer token is sent"
        );
    }
    for side in [&side_a, &side_b] {
        assert_eq!(
            side.connected_peers().await,
            0,
            "the sidecars' own gossip never linked"
        );
    }
    a.daemon.shutdown().await;
    b.daemon.shutdown().await;
    side_a.daemon.shutdown().await;
    side_b.daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_injects_the_stock_quirks() {
    // Guards the test layer itself: without it the tests above could pass for wrong reasons.
    let sidecar = Node::start_polled("sidecar", json!({})).await;
    let proxy = Proxy::start(
        &sidecar.base,
        Some((3, Duration::from_secs(60))),
        P2p::NotEnabled,
        None,
    )
    .await;
    let http = reqwest::Client::new();
    let t = json!({"subject": "ex:a", "predicate": "ex:p", "object": {"node": "ex:b"}});
    let first = http
        .post(format!("{}/api/v1/triples", proxy.url()))
        .json(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    assert_eq!(
        first.headers()["x-ratelimit-remaining"].to_str().unwrap(),
        "2"
    );
    let listed: Value = first.json().await.unwrap();
    assert_eq!(listed["subject"], "<ex:a>", "names come bracketed");
    let again = http
        .post(format!("{}/api/v1/triples", proxy.url()))
        .json(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 500, "a duplicate single insert is a 500");
    let p2p = http
        .get(format!("{}/api/v1/p2p/status", proxy.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(p2p.status(), 404);
    assert_eq!(
        p2p.json::<Value>().await.unwrap(),
        json!({"error": "P2P not enabled"})
    );
    let limited = http
        .get(format!("{}/api/v1/health", proxy.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"].to_str().unwrap(), "1");
    let with_auth = Proxy::start(&sidecar.base, None, P2p::NotEnabled, None).await;
    let refused = http
        .get(format!("{}/api/v1/health", with_auth.url()))
        .bearer_auth("x")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    sidecar.daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attaching_a_sidecar_merges_both_ways_and_an_emptied_one_is_refilled() {
    let sidecar = Node::start_polled("sidecar", json!({})).await;
    let proxy = Proxy::start(&sidecar.base, None, P2p::NotEnabled, None).await;
    let theirs = sidecar.put_batch(facts("side", 20, 10)).await;
    // An engine that used its embedded Cortex until now.
    let a = start_with(
        "alpha",
        json!({"sync": {"nativeP2pPreferred": false}}),
        test_options(),
    )
    .await;
    let ours = a.put_batch(facts("mine", 30, 10)).await;
    assert_eq!(ours.len(), 30);
    let resp = a
        .http
        .put(format!("{}/api/v1/sync/config", a.base))
        .bearer_auth(&a.token)
        .json(&json!({"cortex": {"url": proxy.url()}, "sync": {"nativeP2pPreferred": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // The first pass against this sidecar has no baseline: a union, nothing deleted.
    a.sync_now().await;
    let is = sidecar.ids().await;
    assert_eq!(is.len(), 50);
    assert!(ours.iter().chain(&theirs).all(|id| is.contains(id)));
    let s = status(&a).await;
    assert_eq!(s["tripleCount"], 50, "{s}");
    assert_eq!(s["cortex"]["mirror"]["imported"], 20, "{s}");
    assert_eq!(s["cortex"]["mirror"]["pushed"], 30, "{s}");

    // From then on the sidecar leads: its deletes and writes are mirrored.
    assert_eq!(sidecar.delete(&ours[0]).await, 204);
    let late = sidecar.put_batch(facts("late", 1, 10)).await;
    a.sync_now().await;
    let s = status(&a).await;
    assert_eq!(s["tripleCount"], 50, "{s}");
    assert_eq!(s["cortex"]["mirror"]["deleted"], 1, "{s}");
    assert_eq!(s["cortex"]["mirror"]["imported"], 1, "{s}");
    assert_eq!(sidecar.ids().await.len(), 50);
    assert!(sidecar.has(&late[0]).await && !sidecar.has(&ours[0]).await);

    // A sidecar that suddenly lists nothing (e.g. restarted without its data) is refilled from
    // the mirror instead of every device deleting everything.
    for id in sidecar.ids().await {
        assert_eq!(sidecar.delete(&id).await, 204);
    }
    assert!(sidecar.ids().await.is_empty());
    a.sync_now().await;
    assert_eq!(sidecar.ids().await.len(), 50);
    assert_eq!(status(&a).await["tripleCount"], 50);
    a.daemon.shutdown().await;
    sidecar.daemon.shutdown().await;
}
