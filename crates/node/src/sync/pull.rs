//! Pulling a peer's delta (DESIGN §5): connect with a pinned certificate, exchange rosters,
//! then page through its change log, applying each page in one transaction.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use hyper::{Method, StatusCode};
use mayros_sync_proto::delta::{DeltaRequest, DeltaResponse};
use mayros_sync_proto::peerauth::{self, RequestFacts};
use mayros_sync_proto::peerstate::retry_delay_ms;
use mayros_sync_store::{ApplyContext, PeerRecord, RemoteDeletion, RemoteTriple};
use tracing::Instrument;

pub use crate::dto::sync::PullReport;
use crate::engine::Engine;
use crate::error::Error;
use crate::peer::PeerSession;
use mayros_sync_proto::node_id::short_node_id as short;
use mayros_sync_proto::roster::RosterExchange;

/// Path of the delta route.
pub const DELTA_PATH: &str = "/api/v1/sync/delta";
/// Path of the roster exchange route.
pub const ROSTER_PATH: &str = "/api/v1/sync/roster";
/// Path of the pull-request route.
pub const PULL_REQUEST_PATH: &str = "/api/v1/sync/pull-request";

impl Engine {
    /// Sends a seed-authenticated POST on an open peer session.
    ///
    /// A peer whose clock differs by more than the ±120 s proof window refuses with its own
    /// time; we then sign against its clock once more and warn about the skew.
    pub(crate) async fn signed_post(
        &self,
        session: &mut PeerSession,
        server_node_id: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Bytes), Error> {
        let (status, bytes) = self
            .signed_post_once(session, server_node_id, path, body.clone())
            .await?;
        if status != StatusCode::UNAUTHORIZED {
            return Ok((status, bytes));
        }
        let server_time = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .filter(|v| v["code"] == "STALE_TIMESTAMP")
            .and_then(|v| v["serverTimeMs"].as_u64());
        let Some(server_time) = server_time else {
            return Ok((status, bytes));
        };
        let offset = server_time as i64 - self.clock().now_ms() as i64;
        session.set_clock_offset_ms(offset);
        self.set_clock_skew(format!(
            "clock skew: peer {}'s clock differs from ours by {} s",
            short(server_node_id),
            offset / 1000
        ));
        self.signed_post_once(session, server_node_id, path, body)
            .await
    }

    async fn signed_post_once(
        &self,
        session: &mut PeerSession,
        server_node_id: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Bytes), Error> {
        let seed = self
            .group()
            .seed()
            .cloned()
            .ok_or_else(|| Error::Peer("this device is not in a sync group".into()))?;
        let ts = (self.clock().now_ms() as i64)
            .saturating_add(session.clock_offset_ms())
            .max(0) as u64;
        let headers = peerauth::sign_request(
            &seed,
            RequestFacts {
                method: "POST",
                path_and_query: path,
                body: &body,
                tls_client: None,
                server_node_id,
            },
            &self.identity().node_id,
            ts,
            rand::random(),
        );
        let headers: Vec<(&str, String)> = headers.into_iter().collect();
        session.send(Method::POST, path, &headers, body).await
    }

    /// Pulls everything new from `peer`, within `sync.syncTimeoutMs`, and records the result.
    pub async fn pull_from(self: &Arc<Self>, peer: &PeerRecord) -> PullReport {
        self.pull_from_keeping(peer).await.0
    }

    /// [`Engine::pull_from`], also handing back the open connection after a successful pull.
    pub(crate) async fn pull_from_keeping(
        self: &Arc<Self>,
        peer: &PeerRecord,
    ) -> (PullReport, Option<PeerSession>) {
        let lock = self.sync_state().pull_lock(&peer.node_id);
        let _only_one = lock.lock().await;
        let started = Instant::now();
        let timeout = self.config().config.sync.sync_timeout();
        let mut report = PullReport {
            node_id: peer.node_id.clone(),
            name: peer.name.clone(),
            ..PullReport::default()
        };
        let span = tracing::info_span!("pull", peer = %short(&peer.node_id), name = %peer.name);
        let result = tokio::time::timeout(timeout, self.pull_pages(peer, &mut report))
            .instrument(span)
            .await
            .unwrap_or_else(|_| {
                Err(Error::Peer(format!(
                    "sync timed out after {} ms (sync.syncTimeoutMs); every applied page is complete",
                    timeout.as_millis()
                )))
            });
        report.duration_ms = started.elapsed().as_millis() as u64;
        report.ok = result.is_ok();
        let session = match result {
            Ok(session) => Some(session),
            Err(e) => {
                report.error = Some(e.to_string());
                None
            }
        };
        self.record_pull(peer, &report).await;
        if report.applied > 0 {
            // With an external Cortex, write what we applied back to it soon.
            self.nudge_cortex_mirror();
        }
        (report, session)
    }

    /// Opens a pinned connection to a peer's recorded endpoint.
    pub(crate) async fn connect_peer(&self, peer: &PeerRecord) -> Result<PeerSession, Error> {
        let endpoint = peer
            .endpoint
            .as_deref()
            .ok_or_else(|| Error::Peer("no known endpoint for this peer".into()))?;
        let addr = endpoint
            .parse()
            .map_err(|_| Error::Peer(format!("endpoint {endpoint:?} is not ip:port")))?;
        PeerSession::connect(addr, &peer.node_id, &self.identity().cert).await
    }

    async fn record_pull(self: &Arc<Self>, peer: &PeerRecord, report: &PullReport) {
        let now = self.clock().now_ms();
        self.control().apply(crate::engine::Command::Recorded {
            ok: report.ok,
            at_ms: now,
        });
        let id = peer.node_id.clone();
        let applied = report.applied;
        if report.conflicts > 0 {
            self.events()
                .publish(crate::events::Event::Conflict(crate::dto::ConflictEvent {
                    peer: peer.node_id.clone(),
                    count: report.conflicts,
                }));
        }
        let result = if report.ok {
            if peer.failures > 0 {
                self.events().publish(crate::events::Event::Peer(
                    crate::dto::PeerEvent::recovered(&peer.node_id, &peer.name),
                ));
            }
            self.with_store(move |s| s.record_sync_success(&id, now, applied, None))
                .await
        } else {
            self.events().publish(crate::events::Event::Failure(
                crate::dto::FailureEvent::Sync {
                    peer: peer.node_id.clone(),
                    name: peer.name.clone(),
                    failures: Some(peer.failures.saturating_add(1)),
                    message: report.error.clone().unwrap_or_default(),
                },
            ));
            let failures = peer.failures.saturating_add(1);
            let retry_at = now + retry_delay_ms(failures as u32, rand::random());
            let err = report.error.clone().unwrap_or_default();
            tracing::warn!(peer = %short(&peer.node_id), error = %err, failures, "sync failed");
            self.with_store(move |s| s.record_sync_failure(&id, now, &err, retry_at))
                .await
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "cannot record the sync result");
        }
    }

    /// Swaps rosters with `peer` over an open session (learning its name, endpoints and QUIC
    /// port).
    async fn exchange_roster_on(
        self: &Arc<Self>,
        session: &mut PeerSession,
        peer: &PeerRecord,
    ) -> Result<(), Error> {
        let exchange = serde_json::to_vec(&self.roster_exchange_body().await)
            .map_err(|e| Error::Peer(e.to_string()))?;
        let (status, body) = self
            .signed_post(session, &peer.node_id, ROSTER_PATH, exchange)
            .await?;
        let theirs: RosterExchange = parse_peer(status, &body, "roster exchange")?;
        self.merge_roster_from(&peer.node_id, theirs).await
    }

    /// Connects to `peer`'s REST endpoint and swaps rosters (`sync pair <nodeId> <endpoint>`
    /// in native mode learns the QUIC address this way).
    pub async fn exchange_roster(self: &Arc<Self>, peer: &PeerRecord) -> Result<(), Error> {
        let mut session = self.connect_peer(peer).await?;
        self.exchange_roster_on(&mut session, peer).await
    }

    async fn pull_pages(
        self: &Arc<Self>,
        peer: &PeerRecord,
        report: &mut PullReport,
    ) -> Result<PeerSession, Error> {
        let mut session = self.connect_peer(peer).await?;
        self.exchange_roster_on(&mut session, peer).await?;

        let cfg = self.config().config;
        // A stale peer missed deletions we collected since: compare everything it holds, and
        // hold what could be one of those deletions for review (DESIGN §2.3).
        let mut full = peer.stale;
        let mut since = if full { None } else { peer.cursor.clone() };
        if full {
            tracing::info!("the peer is stale; comparing from the start");
        }
        let mut restarted = false;
        loop {
            let req = DeltaRequest {
                since: since.clone(),
                namespaces: peer.namespaces.clone(),
                node_id: self.identity().node_id.clone(),
                limit: Some(cfg.sync.max_triples_per_sync as u32),
            };
            let body = serde_json::to_vec(&req).map_err(|e| Error::Peer(e.to_string()))?;
            let (status, bytes) = self
                .signed_post(&mut session, &peer.node_id, DELTA_PATH, body)
                .await?;
            if status == StatusCode::GONE && !restarted {
                tracing::info!("cursor expired; comparing from the start");
                since = None;
                restarted = true;
                full = true;
                continue;
            }
            let page: DeltaResponse = parse_peer(status, &bytes, "delta")?;
            if page.node_id != peer.node_id {
                return Err(Error::Peer("the delta answer names another node".into()));
            }
            let mut triples = Vec::with_capacity(page.triples.len());
            for t in &page.triples {
                let triple = t
                    .to_triple()
                    .map_err(|e| Error::Peer(format!("peer sent a bad triple: {e}")))?;
                triples.push(RemoteTriple {
                    triple,
                    created_at: t.created_at.clone(),
                    author: t.author.clone(),
                    hlc: t.hlc,
                });
            }
            let deletions: Vec<RemoteDeletion> = page
                .deletions
                .iter()
                .map(|d| RemoteDeletion {
                    id: d.id,
                    hlc: d.hlc,
                    by: d.by.to_hex(),
                })
                .collect();
            report.received += (triples.len() + deletions.len()) as u64;
            let mut ctx = ApplyContext {
                wall_ms: self.clock().now_ms(),
                peer: peer.node_id.clone(),
                strategy: cfg.sync.conflict_strategy,
                multi_valued: cfg.sync.multi_valued_predicates.clone(),
                exclude_prefixes: cfg.sync.exclude_subject_prefixes.clone(),
                review_horizon: None,
            };
            let id = peer.node_id.clone();
            let next = page.next.clone();
            let last = !page.has_more;
            self.memory().note_triples(triples.len() + deletions.len());
            let outcome = self
                .with_store(move |s| {
                    // Read per page, so a collection during a long comparison is honoured.
                    if full {
                        ctx.review_horizon = s.collection_horizon()?;
                    }
                    let outcome = s.apply_remote(&triples, &deletions, &ctx)?;
                    s.set_peer_cursor(&id, Some(&next))?;
                    if full && last {
                        // The comparison is complete: the peer is no longer stale for us.
                        s.set_peer_stale(&id, false)?;
                    }
                    Ok::<_, mayros_sync_store::Error>(outcome)
                })
                .await?;
            if let Some(skew) = outcome.clock_skew {
                self.set_clock_skew(format!("{skew} (from {})", short(&peer.node_id)));
            }
            report.applied += (outcome.applied + outcome.deletions_applied) as u64;
            report.conflicts += outcome.conflicts as u64;
            report.held_for_review += outcome.held_for_review as u64;
            report.full_comparison = full;
            if outcome.held_for_review > 0 {
                tracing::warn!(
                    held = outcome.held_for_review,
                    "items older than our collection horizon held for review (mayros sync review)"
                );
            }
            report.pages += 1;
            (report.bytes_out, report.bytes_in) = session.body_bytes();
            since = Some(page.next);
            if !page.has_more {
                return Ok(session);
            }
        }
    }
}

/// Decodes a peer's JSON answer, turning error statuses into readable errors.
pub(crate) fn parse_peer<T: serde::de::DeserializeOwned>(
    status: StatusCode,
    body: &[u8],
    what: &str,
) -> Result<T, Error> {
    if !status.is_success() {
        let msg = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
        return Err(Error::Peer(format!("{what} refused ({status}): {msg}")));
    }
    serde_json::from_slice(body).map_err(|e| Error::Peer(format!("malformed {what} answer: {e}")))
}
