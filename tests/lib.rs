//! Shared helpers for the cross-crate integration tests of Mayros Sync.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;

use mayros_sync_node::{Daemon, DaemonOptions};

pub mod procs;

/// Starts an engine on a free loopback port in `data_dir`.
pub async fn start_engine(data_dir: &Path, name: &str) -> Daemon {
    let mut opts = DaemonOptions::new(data_dir.to_path_buf());
    opts.api = SocketAddr::from(([127, 0, 0, 1], 0));
    opts.peer_api = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    opts.quic = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    opts.name = Some(name.to_string());
    // Tests never touch the OS keyring of whoever runs them (DESIGN §7.3).
    opts.secret_store = Some(mayros_sync_store::SecretStoreChoice::File);
    Daemon::start(opts).await.unwrap()
}

/// The base URL of an engine's local API.
pub fn base_url(daemon: &Daemon) -> String {
    format!("http://{}", daemon.info().api)
}

/// One engine under test with a control-API client.
pub struct Node {
    /// The running engine.
    pub daemon: Daemon,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Control token.
    pub token: String,
    /// HTTP client.
    pub http: reqwest::Client,
    /// Keeps the data dir alive.
    pub dir: tempfile::TempDir,
}

impl Node {
    /// Starts an engine with `config` written to its data dir first.
    pub async fn start(name: &str, config: serde_json::Value) -> Node {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
        let daemon = start_engine(dir.path(), name).await;
        Node::wrap(daemon, dir)
    }

    /// Starts an engine in polled mode: `config` with `sync.nativeP2pPreferred` set to false.
    pub async fn start_polled(name: &str, mut config: serde_json::Value) -> Node {
        config["sync"]["nativeP2pPreferred"] = serde_json::Value::Bool(false);
        Node::start(name, config).await
    }

    /// Restarts an engine on an existing data dir.
    pub async fn restart(dir: tempfile::TempDir, name: &str) -> Node {
        let daemon = start_engine(dir.path(), name).await;
        Node::wrap(daemon, dir)
    }

    fn wrap(daemon: Daemon, dir: tempfile::TempDir) -> Node {
        Node {
            base: base_url(&daemon),
            token: daemon.token().to_string(),
            http: reqwest::Client::new(),
            daemon,
            dir,
        }
    }

    /// This engine's node id.
    pub fn node_id(&self) -> String {
        self.daemon.info().node_id.clone()
    }

    /// POSTs to the control API; returns status and JSON.
    pub async fn control(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        answer(resp).await
    }

    /// GETs from the control API.
    pub async fn get(&self, path: &str) -> serde_json::Value {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Writes triples through the Cortex batch API.
    pub async fn put_batch(&self, triples: Vec<serde_json::Value>) -> Vec<String> {
        let (_, out) = self
            .cortex_post(
                "/api/v1/triples/batch",
                serde_json::json!({ "triples": triples }),
            )
            .await;
        out["inserted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// Deletes one triple; returns the HTTP status.
    pub async fn delete(&self, id: &str) -> u16 {
        self.cortex_status(reqwest::Method::DELETE, &format!("/api/v1/triples/{id}"))
            .await
            .as_u16()
    }

    /// The status of a body-less Cortex REST request.
    async fn cortex_status(&self, method: reqwest::Method, path: &str) -> reqwest::StatusCode {
        self.http
            .request(method, format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .status()
    }

    /// Whether the Cortex holds this id.
    pub async fn has(&self, id: &str) -> bool {
        self.cortex_status(reqwest::Method::GET, &format!("/api/v1/triples/{id}"))
            .await
            .is_success()
    }

    /// GETs a Cortex REST path (no token) and parses the JSON body.
    pub async fn cortex_get(&self, path: &str) -> serde_json::Value {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// POSTs JSON to a Cortex REST path (no token); returns status and body.
    pub async fn cortex_post(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        answer(resp).await
    }

    /// Live triples in the store, from `GET /api/v1/stats`.
    pub async fn triple_count(&self) -> u64 {
        self.cortex_get("/api/v1/stats").await["graph"]["triple_count"]
            .as_u64()
            .unwrap()
    }

    /// Every live id, sorted (one listing: test stores are small).
    pub async fn ids(&self) -> Vec<String> {
        list_ids(&self.http, &self.base, 100_000).await
    }

    /// Writes `n` distinct observation triples tagged `tag`, in batches of 10 000.
    pub async fn load_observations(&self, tag: &str, n: usize) {
        for chunk in 0..n.div_ceil(10_000) {
            let triples: Vec<_> = (chunk * 10_000..((chunk + 1) * 10_000).min(n))
                .map(|i| {
                    serde_json::json!({"subject": format!("mayros:agent:{tag}:s{}", i / 10), "predicate": format!("mayros:fact{}", i % 10), "object": format!("observation number {i}")})
                })
                .collect();
            self.put_batch(triples).await;
        }
    }

    /// Pairs `joiner` into this node's group with an invite code.
    pub async fn invite(&self, joiner: &Node) -> serde_json::Value {
        let (s, inv) = self
            .control("/api/v1/sync/invite", serde_json::json!({}))
            .await;
        assert_eq!(s, 200, "{inv}");
        let (s, joined) = joiner
            .control(
                "/api/v1/sync/pair/code",
                serde_json::json!({ "code": inv["code"] }),
            )
            .await;
        assert_eq!(s, 200, "{joined}");
        inv
    }

    /// Unpairs `node` from this node's group (`DELETE /api/v1/sync/peers/{id}`); asserts 200.
    pub async fn unpair(&self, node: &Node) {
        let resp = self
            .http
            .delete(format!(
                "{}/api/v1/sync/peers/{}",
                self.base,
                node.node_id()
            ))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "unpair {}", node.node_id());
    }

    /// `sync now` on this node; asserts every peer succeeded.
    pub async fn sync_now(&self) -> serde_json::Value {
        let (s, out) = self
            .control("/api/v1/sync/now", serde_json::json!({}))
            .await;
        assert_eq!(s, 200, "{out}");
        for r in out["results"].as_array().unwrap() {
            assert_eq!(r["ok"], true, "{out}");
        }
        out
    }
}

/// The ids of a `GET /api/v1/triples` answer, sorted.
pub fn sorted_ids(listing: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = listing["triples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// Every live id of the engine at `base`, sorted, listed with `GET /api/v1/triples` in pages of
/// `page` triples.
pub async fn list_ids(http: &reqwest::Client, base: &str, page: usize) -> Vec<String> {
    let page = page.max(1);
    let mut all = Vec::new();
    for n in 0.. {
        let listing: serde_json::Value = http
            .get(format!(
                "{base}/api/v1/triples?limit={page}&offset={}",
                n * page
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ids = sorted_ids(&listing);
        let last = ids.len() < page;
        all.extend(ids);
        if last {
            break;
        }
    }
    all.sort();
    all
}

/// A bench knob from the environment, else `default`.
pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Polls `check` every 25 ms until it returns true or `deadline` passes; returns whether it did.
pub async fn wait_until<F, Fut>(deadline: std::time::Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + deadline;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

impl Node {
    /// `GET /api/v1/p2p/status` (no token: it is Cortex REST).
    pub async fn p2p_status(&self) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .get(format!("{}/api/v1/p2p/status", self.base))
            .send()
            .await
            .unwrap();
        answer(resp).await
    }

    /// Number of sync links up, from `p2p/status`.
    pub async fn connected_peers(&self) -> usize {
        let (_, s) = self.p2p_status().await;
        s["connected_peers"]
            .as_array()
            .map_or(0, |a| a.iter().filter(|p| p["connected"] == true).count())
    }
}

/// Waits up to `within` until every one of `nodes` has `links` sync links up; panics naming the
/// first that does not, with its gossip status, peers and last gossip error.
pub async fn await_links(nodes: &[&Node], links: usize, within: std::time::Duration) {
    for n in nodes {
        assert!(
            wait_until(within, || async { n.connected_peers().await == links }).await,
            "{}: {links} link(s) not up within {within:?}: {}\npeers: {}\nerror: {}",
            n.node_id(),
            n.p2p_status().await.1,
            n.get("/api/v1/sync/peers").await,
            n.get("/api/v1/sync/status").await["gossip"]["lastError"]
        );
    }
}

/// Reads SSE frames from `resp` until `want` matches one (kind, data) or the deadline passes.
pub async fn next_event(
    resp: &mut reqwest::Response,
    buf: &mut String,
    deadline: tokio::time::Instant,
    want: impl Fn(&str, &serde_json::Value) -> bool,
) -> Option<serde_json::Value> {
    loop {
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let mut kind = "";
            let mut data = String::new();
            for line in frame.lines() {
                if let Some(k) = line.strip_prefix("event:") {
                    kind = k.trim();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim());
                }
            }
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&data) {
                if want(kind, &v) {
                    return Some(v);
                }
            }
        }
        let chunk = tokio::time::timeout_at(deadline, resp.chunk()).await.ok()?;
        buf.push_str(&String::from_utf8_lossy(&chunk.ok()??));
    }
}

/// The status and JSON body of a response (`null` when the body is not JSON).
async fn answer(resp: reqwest::Response) -> (u16, serde_json::Value) {
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}
