//! The external Cortex backend (DESIGN §3.3, issue 7): a REST client for a stock
//! AIngle-compatible sidecar, with every quirk measured on the stock server.
//!
//! - Output names come wrapped in `<…>`: stripped on read ([`parse_listed`]); writes send bare
//!   names.
//! - There is no change feed: the whole store is listed with `GET /api/v1/triples?limit&offset`
//!   pages ([`ExternalCortex::list_all`]) and ids are computed locally (DESIGN §2.1).
//! - Single inserts of an existing triple answer 500, so writes use `POST /api/v1/triples/batch`
//!   (skips duplicates), split under the 1 MiB body limit ([`split_batches`]); deletes are
//!   `DELETE /api/v1/triples/{id}` (204, and 404 is fine).
//! - 100 requests a minute per client IP, burst 100: requests are paced by a
//!   [`TokenBucket`]; a 429 is honoured for its `Retry-After` and retried, so a write is never
//!   lost to it; `x-ratelimit-remaining` is read from every answer.
//! - `p2p/status` may stall for a minute when a peer vanishes: every request has a timeout and a
//!   probe reports the timeout instead of hanging.
//! - `Authorization: Bearer` is sent only when `cortex.authToken` is set.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use mayros_sync_proto::mode::{
    health_probe_from_response, p2p_probe_from_response, HealthProbe, P2pProbe,
};
use mayros_sync_proto::model::{render_name, Triple, Value};
use mayros_sync_proto::TripleId;
use mayros_sync_store::StoredTriple;
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tracing::Instrument;

use super::mirror_state::MirrorState;
use super::pacing::{parse_retry_after, TokenBucket};
use super::CortexOptions;
use crate::error::Error;
use crate::locks::lock;

/// The rate-limit header the stock sidecar sets on every answer.
pub const RATELIMIT_REMAINING: &str = "x-ratelimit-remaining";
/// Delay assumed for a 429 without a readable `Retry-After`.
const DEFAULT_RETRY_AFTER_MS: u64 = 5_000;
/// Longest `Retry-After` honoured (a longer one is capped: we ask again then).
const MAX_RETRY_AFTER_MS: u64 = 300_000;
/// How long "rate-limited by Cortex" stays in status after the last 429.
const RATE_LIMITED_SHOWN: Duration = Duration::from_secs(120);
/// Overhead of `{"triples":[` … `]}` around the items of a batch body.
const BATCH_ENVELOPE: usize = r#"{"triples":[]}"#.len();

/// One triple listed by the sidecar, with its locally computed id.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    /// The id computed here (DESIGN §2.1).
    pub id: TripleId,
    /// The id the sidecar reported, when it differs from ours (used to delete it there).
    pub remote_id: Option<String>,
    /// The fact, names bare.
    pub triple: Triple,
    /// The sidecar's `created_at`, if any.
    pub created_at: Option<String>,
}

/// The whole sidecar, as listed by [`ExternalCortex::list_all`].
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Every triple read.
    pub triples: Vec<Listed>,
    /// Whether the pages add up (the reported total did not move, no id was seen twice): only a
    /// complete listing may be used to detect deletions.
    pub complete: bool,
    /// Items that could not be read as triples (logged, never imported).
    pub unreadable: usize,
    /// Requests the listing took.
    pub requests: u64,
}

/// The result of probing the sidecar (health, P2P and version).
#[derive(Debug, Clone)]
pub struct Probe {
    /// Health per DESIGN §3.1.
    pub health: HealthProbe,
    /// The health answer's detail (e.g. "12 triples"), or why it is unhealthy.
    pub message: String,
    /// P2P per DESIGN §3.1.
    pub p2p: P2pProbe,
    /// The sidecar's `p2p/status` body while its P2P is enabled.
    pub p2p_status: Option<serde_json::Value>,
    /// The sidecar's version from `/api/v1/stats` (`server.version`), once known.
    pub version: Option<String>,
}

/// Rate-limit figures for status.
#[derive(Debug, Clone, Default)]
pub struct RateLimitView {
    /// Whether a 429 arrived in the last two minutes.
    pub rate_limited: bool,
    /// 429 answers since this client was created.
    pub rate_limited_count: u64,
    /// The last `x-ratelimit-remaining` seen.
    pub remaining: Option<u64>,
    /// Requests sent since this client was created.
    pub requests: u64,
}

/// How a request waits for the pacer.
#[derive(Debug, Clone, Copy)]
enum Pace {
    /// Waits for a token, and retries 429s, until this instant; then fails.
    Until(Instant),
    /// Takes a token when there is one, never waits, and hands a 429 back to the caller
    /// (probes: a stale answer beats a late one).
    Opportunistic,
}

#[derive(Debug, Default)]
struct ClientState {
    remaining: Option<u64>,
    rate_limited_count: u64,
    last_rate_limited: Option<Instant>,
    requests: u64,
    version: Option<String>,
    last_probe: Option<(Instant, Probe)>,
}

/// A client of one external Cortex.
#[derive(Debug)]
pub struct ExternalCortex {
    url: String,
    token: Option<String>,
    http: reqwest::Client,
    opts: CortexOptions,
    epoch: Instant,
    unsupported: Option<String>,
    bucket: Mutex<TokenBucket>,
    state: Mutex<ClientState>,
    pub(crate) mirror: MirrorState,
}

impl ExternalCortex {
    /// A client for the sidecar at `url` (`cortex.url`), sending `token` when set.
    pub fn new(
        url: &str,
        token: Option<String>,
        opts: CortexOptions,
    ) -> Result<ExternalCortex, Error> {
        let url = url.trim_end_matches('/').to_string();
        let unsupported = url.to_ascii_lowercase().starts_with("https://").then(|| {
            "https:// Cortex URLs are not supported by this build (no TLS client); \
                 use http:// on a loopback or LAN address"
                .to_string()
        });
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(opts.probe_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::Cortex {
                url: url.clone(),
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        let epoch = Instant::now();
        Ok(ExternalCortex {
            bucket: Mutex::new(TokenBucket::new(opts.rate, 0)),
            url,
            token,
            http,
            opts,
            epoch,
            unsupported,
            state: Mutex::new(ClientState::default()),
            mirror: MirrorState::default(),
        })
    }

    /// The base URL (no trailing `/`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The options in force.
    pub fn options(&self) -> &CortexOptions {
        &self.opts
    }

    /// Whether this client was built for `url` and `token`.
    pub fn is_for(&self, url: &str, token: Option<&str>) -> bool {
        self.url == url.trim_end_matches('/') && self.token.as_deref() == token
    }

    fn err(&self, message: impl Into<String>) -> Error {
        Error::Cortex {
            url: self.url.clone(),
            message: message.into(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Waits for a token; `Err` when the wait would pass `until`.
    async fn pace(&self, pace: Pace, what: &str) -> Result<(), Error> {
        loop {
            let now = self.now_ms();
            let wait = {
                let mut bucket = lock(&self.bucket);
                match pace {
                    Pace::Opportunistic => {
                        let _ = bucket.try_take(now);
                        return Ok(());
                    }
                    Pace::Until(_) => match bucket.try_take(now) {
                        Ok(()) => return Ok(()),
                        Err(ms) => Duration::from_millis(ms),
                    },
                }
            };
            if let Pace::Until(until) = pace {
                if Instant::now() + wait > until {
                    return Err(self.err(format!(
                        "{what}: gave up waiting for the Cortex's rate limit: \
                         the next request could go in {} s",
                        wait.as_secs().max(1)
                    )));
                }
            }
            tracing::debug!(
                wait_ms = wait.as_millis() as u64,
                "pacing requests to the Cortex"
            );
            tokio::time::sleep(wait).await;
        }
    }

    fn note_answer(&self, headers: &HeaderMap) {
        let remaining = headers
            .get(RATELIMIT_REMAINING)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(r) = remaining {
            lock(&self.bucket).observe_remaining(r, self.now_ms());
        }
        let mut st = lock(&self.state);
        st.requests += 1;
        if remaining.is_some() {
            st.remaining = remaining;
        }
    }

    fn note_rate_limited(&self, wait_ms: u64) {
        let now = self.now_ms();
        lock(&self.bucket).hold_until(now.saturating_add(wait_ms), now);
        let mut st = lock(&self.state);
        st.rate_limited_count += 1;
        st.last_rate_limited = Some(Instant::now());
    }

    /// Sends one request, paced; 429s are waited out and retried while `pace` allows.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        timeout: Duration,
        pace: Pace,
    ) -> Result<(StatusCode, Bytes), Error> {
        let what = format!("{method} {path}");
        if let Some(why) = &self.unsupported {
            return Err(self.err(why.clone()));
        }
        loop {
            self.pace(pace, &what).await?;
            let mut req = self
                .http
                .request(method.clone(), format!("{}{path}", self.url))
                .timeout(timeout);
            if let Some(token) = &self.token {
                req = req.header(AUTHORIZATION, format!("Bearer {token}"));
            }
            if let Some(b) = &body {
                req = req.header(CONTENT_TYPE, "application/json").body(b.clone());
            }
            let resp = req
                .send()
                .await
                .map_err(|e| self.transport_error(&what, &e, timeout))?;
            let status = resp.status();
            self.note_answer(resp.headers());
            let retry_after = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, crate::clock::Clock::system().now_ms()));
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| self.transport_error(&what, &e, timeout))?;
            if status != StatusCode::TOO_MANY_REQUESTS {
                return Ok((status, bytes));
            }
            let wait_ms = retry_after
                .unwrap_or(DEFAULT_RETRY_AFTER_MS)
                .min(MAX_RETRY_AFTER_MS);
            self.note_rate_limited(wait_ms);
            tracing::warn!(%what, retry_after_ms = wait_ms, "rate-limited by the Cortex (429)");
            match pace {
                Pace::Opportunistic => return Ok((status, bytes)),
                Pace::Until(until) => {
                    if Instant::now() + Duration::from_millis(wait_ms) > until {
                        return Err(self.err(format!(
                            "{what}: rate-limited by Cortex (429, Retry-After {} s) past the \
                             retry deadline; it is retried on the next pass",
                            wait_ms.div_ceil(1000)
                        )));
                    }
                }
            }
        }
    }

    fn transport_error(&self, what: &str, e: &reqwest::Error, timeout: Duration) -> Error {
        if e.is_timeout() {
            return self.err(format!(
                "{what}: no answer within {} ms",
                timeout.as_millis()
            ));
        }
        let mut cause = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            cause = s.to_string();
            source = s.source();
        }
        if e.is_connect() {
            return self.err(format!("{what}: cannot connect: {cause}"));
        }
        self.err(format!("{what}: {cause}"))
    }

    fn error_status(&self, what: &str, status: StatusCode, body: &[u8]) -> Error {
        let detail = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
        self.err(format!("{what} answered {status}: {detail}"))
    }

    fn data_deadline(&self) -> Pace {
        Pace::Until(Instant::now() + self.opts.write_deadline)
    }

    /// `GET /api/v1/health` → health and its detail.
    async fn probe_health(&self) -> (HealthProbe, String) {
        let result = self
            .call(
                Method::GET,
                "/api/v1/health",
                None,
                self.opts.probe_timeout,
                Pace::Opportunistic,
            )
            .await;
        match result {
            Err(e) => {
                let reason = e.to_string();
                (HealthProbe::unhealthy(reason.clone()), reason)
            }
            Ok((StatusCode::TOO_MANY_REQUESTS, _)) => (
                // It answered: it is up, only busy.
                HealthProbe::Healthy,
                "rate-limited by Cortex (429); health assumed from the answer".into(),
            ),
            Ok((status, body)) => {
                let json: serde_json::Value =
                    serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                let health = health_probe_from_response(status.as_u16(), &json);
                let message = match &health {
                    HealthProbe::Healthy => json
                        .pointer("/components/graph/message")
                        .and_then(|m| m.as_str())
                        .unwrap_or("")
                        .to_string(),
                    HealthProbe::Unhealthy { reason } => reason.clone(),
                };
                (health, message)
            }
        }
    }

    /// `GET /api/v1/p2p/status` → P2P probe and the body while enabled; a stalled answer
    /// times out after `p2p_timeout`.
    async fn probe_p2p(&self) -> (P2pProbe, Option<serde_json::Value>) {
        let result = self
            .call(
                Method::GET,
                "/api/v1/p2p/status",
                None,
                self.opts.p2p_timeout,
                Pace::Opportunistic,
            )
            .await;
        match result {
            Err(e) => (P2pProbe::disabled(e.to_string()), None),
            Ok((StatusCode::TOO_MANY_REQUESTS, _)) => {
                // Keep the last answer rather than flip the mode on a busy sidecar.
                match self.cached_probe() {
                    Some(p) => (p.p2p, p.p2p_status),
                    None => (
                        P2pProbe::disabled("p2p/status rate-limited by Cortex (429)"),
                        None,
                    ),
                }
            }
            Ok((status, body)) => {
                let json: serde_json::Value =
                    serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                let probe = p2p_probe_from_response(status.as_u16(), &json);
                let body = matches!(probe, P2pProbe::Enabled { .. }).then_some(json);
                (probe, body)
            }
        }
    }

    /// `GET /api/v1/stats` → `server.version`.
    async fn fetch_version(&self) -> Option<String> {
        let (status, body) = self
            .call(
                Method::GET,
                "/api/v1/stats",
                None,
                self.opts.probe_timeout,
                Pace::Opportunistic,
            )
            .await
            .ok()?;
        if !status.is_success() {
            return None;
        }
        let json: serde_json::Value = serde_json::from_slice(&body).ok()?;
        json.pointer("/server/version")
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }

    /// Probes health, P2P (and the version when asked) now, concurrently.
    pub async fn probe_live(&self, with_version: bool) -> Probe {
        let span = tracing::info_span!("cortex_probe", url = %self.url);
        async {
            let ((health, message), (p2p, p2p_status), fetched) =
                tokio::join!(self.probe_health(), self.probe_p2p(), async {
                    if with_version {
                        self.fetch_version().await
                    } else {
                        None
                    }
                });
            let version = {
                let mut st = lock(&self.state);
                if fetched.is_some() {
                    st.version = fetched;
                }
                st.version.clone()
            };
            let probe = Probe {
                health,
                message,
                p2p,
                p2p_status,
                version,
            };
            if let P2pProbe::Disabled { reason } = &probe.p2p {
                tracing::debug!(%reason, "external Cortex P2P not available");
            }
            lock(&self.state).last_probe = Some((Instant::now(), probe.clone()));
            probe
        }
        .instrument(span)
        .await
    }

    /// A probe for status: the last one when it is recent (or when the pacer has no token
    /// left for a new one), else a live one. Never waits on the pacer.
    pub async fn probe_for_status(&self) -> Probe {
        let cached = lock(&self.state).last_probe.clone();
        if let Some((at, p)) = &cached {
            if at.elapsed() < self.opts.status_cache {
                return p.clone();
            }
            if !lock(&self.bucket).has_token(self.now_ms()) {
                return p.clone();
            }
        }
        let with_version = lock(&self.state).version.is_none();
        self.probe_live(with_version).await
    }

    /// The last probe, if any.
    pub fn cached_probe(&self) -> Option<Probe> {
        lock(&self.state)
            .last_probe
            .as_ref()
            .map(|(_, p)| p.clone())
    }

    /// Rate-limit figures for status.
    pub fn rate_limit(&self) -> RateLimitView {
        let st = lock(&self.state);
        RateLimitView {
            rate_limited: st
                .last_rate_limited
                .is_some_and(|t| t.elapsed() < RATE_LIMITED_SHOWN),
            rate_limited_count: st.rate_limited_count,
            remaining: st.remaining,
            requests: st.requests,
        }
    }

    /// Lists everything the sidecar holds, page by page (`GET /api/v1/triples?limit&offset`).
    pub async fn list_all(&self) -> Result<Listing, Error> {
        let span = tracing::info_span!("cortex_list", url = %self.url);
        async {
            let first = self.list_once().await?;
            if first.complete {
                return Ok(first);
            }
            tracing::info!("the Cortex changed while it was listed; listing it again");
            let second = self.list_once().await?;
            if !second.complete {
                tracing::warn!(
                    "the Cortex kept changing while it was listed: deletions are not derived from this scan"
                );
            }
            Ok(second)
        }
        .instrument(span)
        .await
    }

    async fn list_once(&self) -> Result<Listing, Error> {
        let limit = self.opts.page_size.max(1);
        let mut listing = Listing {
            complete: true,
            ..Listing::default()
        };
        let mut seen: HashSet<TripleId> = HashSet::new();
        let mut first_total: Option<u64> = None;
        let mut offset = 0usize;
        loop {
            let path = format!("/api/v1/triples?limit={limit}&offset={offset}");
            let (status, body) = self
                .call(
                    Method::GET,
                    &path,
                    None,
                    self.opts.request_timeout,
                    self.data_deadline(),
                )
                .await?;
            listing.requests += 1;
            if !status.is_success() {
                return Err(self.error_status(&format!("GET {path}"), status, &body));
            }
            let json: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| self.err(format!("GET {path}: malformed JSON answer: {e}")))?;
            let page = parse_page(&json)
                .ok_or_else(|| self.err(format!("GET {path}: the answer has no triples list")))?;
            let total = json.get("total").and_then(serde_json::Value::as_u64);
            // A server that caps its pages says so in `limit`: page by what it serves.
            let served = json
                .get("limit")
                .and_then(serde_json::Value::as_u64)
                .map_or(limit, |l| {
                    usize::try_from(l).unwrap_or(limit).clamp(1, limit)
                });
            match (first_total, total) {
                (None, t) => first_total = t.or(Some(u64::MAX)),
                (Some(a), Some(b)) if a != b && a != u64::MAX => listing.complete = false,
                _ => {}
            }
            let n = page.len();
            for item in page {
                match parse_listed(item) {
                    Ok(t) => {
                        if !seen.insert(t.id) {
                            listing.complete = false;
                            continue;
                        }
                        listing.triples.push(t);
                    }
                    Err(why) => {
                        listing.unreadable += 1;
                        tracing::warn!(%why, "skipping a triple the Cortex listed");
                    }
                }
            }
            offset += n;
            let done = n < served || first_total.is_some_and(|t| offset as u64 >= t);
            if done || n == 0 {
                break;
            }
        }
        if let Some(t) = first_total.filter(|t| *t != u64::MAX) {
            if (listing.triples.len() + listing.unreadable) as u64 != t {
                listing.complete = false;
            }
        }
        Ok(listing)
    }

    /// Writes triples with `POST /api/v1/triples/batch`, in bodies under the size limit;
    /// returns how many the sidecar reported as new.
    pub async fn insert_batches(&self, triples: &[StoredTriple]) -> Result<u64, Error> {
        if triples.is_empty() {
            return Ok(0);
        }
        let items: Vec<serde_json::Value> = triples.iter().map(write_item).collect();
        let bodies = split_batches(&items, self.opts.max_batch_bytes).map_err(|i| {
            self.err(format!(
                "triple {} is larger than the Cortex's body limit of {} bytes on its own",
                triples
                    .get(i)
                    .map_or_else(String::new, |t| t.id.to_string()),
                self.opts.max_batch_bytes
            ))
        })?;
        let span = tracing::info_span!("cortex_write", url = %self.url, triples = triples.len(), batches = bodies.len());
        async {
            let mut inserted = 0u64;
            for body in bodies {
                let (status, answer) = self
                    .call(
                        Method::POST,
                        "/api/v1/triples/batch",
                        Some(body),
                        self.opts.request_timeout,
                        self.data_deadline(),
                    )
                    .await?;
                if !status.is_success() {
                    return Err(self.error_status("POST /api/v1/triples/batch", status, &answer));
                }
                let json: serde_json::Value =
                    serde_json::from_slice(&answer).unwrap_or(serde_json::Value::Null);
                inserted += json
                    .get("inserted")
                    .and_then(|v| v.as_array())
                    .map_or(0, |a| a.len() as u64);
            }
            Ok(inserted)
        }
        .instrument(span)
        .await
    }

    /// `DELETE /api/v1/triples/{id}`: `Ok(true)` when deleted, `Ok(false)` when it was not
    /// there (404).
    pub async fn delete(&self, remote_id: &str) -> Result<bool, Error> {
        let path = format!("/api/v1/triples/{remote_id}");
        let (status, body) = self
            .call(
                Method::DELETE,
                &path,
                None,
                self.opts.request_timeout,
                self.data_deadline(),
            )
            .await?;
        match status {
            StatusCode::NOT_FOUND => Ok(false),
            s if s.is_success() => Ok(true),
            s => Err(self.error_status(&format!("DELETE {path}"), s, &body)),
        }
    }
}

/// The triples array of a listing answer (`{"triples":[…]}`, or a bare array).
fn parse_page(json: &serde_json::Value) -> Option<&Vec<serde_json::Value>> {
    match json {
        serde_json::Value::Array(a) => Some(a),
        other => other.get("triples").and_then(|t| t.as_array()),
    }
}

/// Reads one listed triple: names lose their `<…>`, the id is computed here.
pub fn parse_listed(item: &serde_json::Value) -> Result<Listed, String> {
    let field = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("{k} is missing or not a string"))
    };
    let subject = field("subject")?;
    let predicate = field("predicate")?;
    let object = item
        .get("object")
        .ok_or_else(|| "object is missing".to_string())?;
    let object = Value::from_json(object).map_err(|e| e.to_string())?;
    let triple = Triple::new(subject, predicate, object).map_err(|e| e.to_string())?;
    let id = triple.id();
    let remote_id = item
        .get("id")
        .and_then(|v| v.as_str())
        .filter(|r| !r.eq_ignore_ascii_case(&id.to_string()))
        .map(str::to_string);
    let created_at = item
        .get("created_at")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    Ok(Listed {
        id,
        remote_id,
        triple,
        created_at,
    })
}

/// The JSON of one triple to write: bare names, never brackets.
pub fn write_item(t: &StoredTriple) -> serde_json::Value {
    json!({
        "subject": render_name(&t.triple.subject, false),
        "predicate": render_name(&t.triple.predicate, false),
        "object": t.triple.object.to_json(false),
    })
}

/// Splits items into `{"triples":[…]}` bodies of at most `max_bytes` each, in order.
/// `Err(i)` names an item too large to fit in any body.
pub fn split_batches(items: &[serde_json::Value], max_bytes: usize) -> Result<Vec<Vec<u8>>, usize> {
    let mut bodies = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let encoded = serde_json::to_vec(item).map_err(|_| i)?;
        if BATCH_ENVELOPE + encoded.len() > max_bytes {
            return Err(i);
        }
        // +1 for the comma before every item but the first.
        let grown = current.len() + usize::from(!current.is_empty()) + encoded.len();
        if !current.is_empty() && BATCH_ENVELOPE + grown > max_bytes {
            bodies.push(close_batch(std::mem::take(&mut current)));
        }
        if !current.is_empty() {
            current.push(b',');
        }
        current.extend_from_slice(&encoded);
    }
    if !current.is_empty() {
        bodies.push(close_batch(current));
    }
    Ok(bodies)
}

fn close_batch(items: Vec<u8>) -> Vec<u8> {
    let mut body = Vec::with_capacity(items.len() + BATCH_ENVELOPE);
    body.extend_from_slice(br#"{"triples":["#);
    body.extend_from_slice(&items);
    body.extend_from_slice(b"]}");
    body
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn listed_names_lose_their_brackets_and_get_our_id() {
        let item = json!({
            "id": "fee928798f9856486a802f87d715408ae848f0504dfeff05424217fa3586eb2b",
            "subject": "<ex:alice>", "predicate": "<ex:knows>", "object": {"node": "<ex:bob>"},
            "created_at": "2026-01-01T00:00:00Z"
        });
        let t = parse_listed(&item).unwrap();
        assert_eq!(t.triple.subject, "ex:alice");
        assert_eq!(t.triple.predicate, "ex:knows");
        assert_eq!(t.triple.object, Value::Node("ex:bob".into()));
        // DESIGN §2.1 vector: the same id as the sidecar's, so no remote id is kept.
        assert_eq!(
            t.id.to_string(),
            "fee928798f9856486a802f87d715408ae848f0504dfeff05424217fa3586eb2b"
        );
        assert_eq!(t.remote_id, None);
        assert_eq!(t.created_at.as_deref(), Some("2026-01-01T00:00:00Z"));
        // A plain string that looks bracketed is a literal, not a name: kept as is.
        let lit = parse_listed(&json!({"subject": "<a:b>", "predicate": "<p>", "object": "<x>"}))
            .unwrap();
        assert_eq!(lit.triple.object, Value::String("<x>".into()));
        // Bare names read the same.
        let bare = parse_listed(
            &json!({"subject": "ex:alice", "predicate": "ex:knows", "object": {"node": "ex:bob"}}),
        )
        .unwrap();
        assert_eq!(bare.id, t.id);
    }

    #[test]
    fn a_different_remote_id_is_kept_for_deletes() {
        let t = parse_listed(
            &json!({"id": "abc", "subject": "<mayros:a>", "predicate": "<mayros:b>", "object": "hello"}),
        )
        .unwrap();
        assert_eq!(
            t.id.to_string(),
            "cd8884209c268367022b104180f0fac46b2de93f1c477e79258530438fedd45c"
        );
        assert_eq!(t.remote_id.as_deref(), Some("abc"));
    }

    #[test]
    fn unreadable_items_say_why() {
        assert!(parse_listed(&json!({"predicate": "p", "object": 1}))
            .unwrap_err()
            .contains("subject"));
        assert!(parse_listed(&json!({"subject": "s", "predicate": "p"}))
            .unwrap_err()
            .contains("object"));
        assert!(parse_listed(&json!({"subject": "<>", "predicate": "p", "object": 1})).is_err());
    }

    #[test]
    fn writes_use_bare_names() {
        let triple = Triple::new("<ex:a>", "<ex:p>", Value::Node("<ex:b>".into())).unwrap();
        let stored = StoredTriple {
            id: triple.id(),
            triple,
            created_at: "x".into(),
            author: "me".into(),
            source: None,
            hlc: mayros_sync_proto::Hlc::ZERO,
        };
        assert_eq!(
            write_item(&stored),
            json!({"subject": "ex:a", "predicate": "ex:p", "object": {"node": "ex:b"}})
        );
        assert!(!write_item(&stored).to_string().contains('<'));
    }

    fn item(i: usize, size: usize) -> serde_json::Value {
        json!({"subject": format!("s:{i}"), "predicate": "p", "object": "x".repeat(size)})
    }

    #[test]
    fn batches_stay_under_one_mebibyte_and_keep_every_item_in_order() {
        const MIB: usize = 1024 * 1024;
        let items: Vec<_> = (0..3_000).map(|i| item(i, 1_000 + i % 700)).collect();
        let bodies = split_batches(&items, MIB).unwrap();
        assert!(bodies.len() >= 3, "{} bodies", bodies.len());
        let mut back = Vec::new();
        for b in &bodies {
            assert!(b.len() <= MIB, "{} bytes", b.len());
            let v: serde_json::Value = serde_json::from_slice(b).unwrap();
            back.extend(v["triples"].as_array().unwrap().iter().cloned());
        }
        assert_eq!(back, items);
        // Every body but the last is nearly full: the next item would not have fitted.
        for (i, b) in bodies.iter().enumerate().take(bodies.len() - 1) {
            let next_len = serde_json::to_vec(
                &serde_json::from_slice::<serde_json::Value>(&bodies[i + 1]).unwrap()["triples"][0],
            )
            .unwrap()
            .len();
            assert!(b.len() + 1 + next_len > MIB);
        }
    }

    #[test]
    fn batch_edges() {
        assert!(split_batches(&[], 100).unwrap().is_empty());
        let one = item(0, 10);
        let exact = BATCH_ENVELOPE + serde_json::to_vec(&one).unwrap().len();
        assert_eq!(
            split_batches(std::slice::from_ref(&one), exact)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(split_batches(std::slice::from_ref(&one), exact - 1), Err(0));
        // Two that fit exactly together, then one more that does not.
        let two = exact + 1 + serde_json::to_vec(&one).unwrap().len();
        let bodies = split_batches(&[one.clone(), one.clone(), one.clone()], two).unwrap();
        assert_eq!(
            bodies.iter().map(Vec::len).collect::<Vec<_>>(),
            [two, exact]
        );
        assert_eq!(split_batches(&[item(0, 10), item(1, 5_000)], 1_000), Err(1));
    }
}
