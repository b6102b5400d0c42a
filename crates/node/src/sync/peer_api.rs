//! The peer HTTPS API (DESIGN §5): only sync and pairing routes. Every sync request is
//! authenticated (§7.3) before its body is parsed; refusals are 401 with a reason and counted.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use mayros_sync_proto::cursor::{self, Since};
use mayros_sync_proto::delta::{
    is_echo, DeltaRequest, DeltaResponse, NodeIdRef, WireDeletion, WireTriple,
};
use mayros_sync_proto::peerauth::AuthFailure;
use mayros_sync_proto::peerauth::{
    self, AuthHeaders, RequestFacts, H_NODE, H_NONCE, H_PROOF, H_TS,
};
use mayros_sync_proto::seedproof::ReplayError;
use mayros_sync_proto::timefmt::format_rfc3339_ms;
use tracing::Instrument;

use super::AUTH_REJECTED_COUNTER;
use crate::api::error::ApiError;
use crate::api::extract::{parse_json, ApiJson};
use crate::engine::Engine;
use crate::peer::PeerConnInfo;
use mayros_sync_proto::roster::RosterExchange;

/// Largest peer request body (a delta request or roster exchange is small; a join is tiny).
pub const MAX_PEER_REQUEST: usize = 1024 * 1024;
/// Longest wait for an external Cortex's mirror to catch up before a delta is served anyway.
pub const MIRROR_BEFORE_DELTA: std::time::Duration = std::time::Duration::from_secs(10);

/// The node id a request was authenticated as.
#[derive(Debug, Clone)]
pub struct AuthedPeer(pub String);

/// Builds the peer API router.
pub fn router(engine: Arc<Engine>) -> Router {
    let authed = Router::new()
        .route("/api/v1/sync/delta", post(delta))
        .route("/api/v1/sync/pull-request", post(pull_request))
        .route("/api/v1/sync/roster", post(roster_exchange))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&engine),
            authenticate,
        ));
    Router::new()
        .merge(authed)
        .route("/api/v1/sync/pair/join", post(super::pairing::join_route))
        .fallback(|| async {
            ApiError::not_found("the peer API serves only sync and pairing routes")
        })
        .with_state(engine)
}

fn header<'a>(req: &'a axum::http::request::Parts, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Authenticates a sync request before its body is parsed.
async fn authenticate(State(engine): State<Arc<Engine>>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let remote = parts
        .extensions
        .get::<PeerConnInfo>()
        .map(|c| c.remote.ip());
    if let Some(Err(reason)) = remote.map(|ip| engine.flood().admit_after_failures(ip)) {
        tracing::debug!(%reason, "peer request refused by a flood limit");
        return ApiError::new(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_FAILURES", reason)
            .into_response();
    }
    let bytes = match axum::body::to_bytes(body, MAX_PEER_REQUEST).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                format!("peer request body exceeds {MAX_PEER_REQUEST} bytes"),
            )
            .into_response()
        }
    };
    let tls_client = parts
        .extensions
        .get::<PeerConnInfo>()
        .and_then(|c| c.client_node_id.clone());
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
    let method = parts.method.as_str().to_string();
    let headers = AuthHeaders {
        node: header(&parts, H_NODE),
        ts: header(&parts, H_TS),
        nonce: header(&parts, H_NONCE),
        proof: header(&parts, H_PROOF),
    };
    let now = engine.clock().now_ms();
    let result = {
        let group = engine.group();
        // A member that missed a rotation proves a replaced seed (DESIGN §7.2 hand-over).
        let seeds = group.seeds.accepted(now);
        let mut replay = engine.sync_state().replay();
        peerauth::authenticate(
            headers,
            RequestFacts {
                method: &method,
                path_and_query: &path,
                body: &bytes,
                tls_client: tls_client.as_deref(),
                server_node_id: &engine.identity().node_id,
            },
            &seeds,
            |id| group.roster.is_member(id),
            &mut replay,
            now,
        )
    };
    match result {
        Ok(node) => {
            parts.extensions.insert(AuthedPeer(node));
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(failure) => {
            let claimed = headers
                .node
                .unwrap_or("-")
                .chars()
                .take(16)
                .collect::<String>();
            tracing::warn!(%path, node = %claimed, reason = %failure, "refused a peer request");
            if let Some(ip) = remote {
                engine.flood().proof_failed(ip);
            }
            let _ = engine
                .with_store(|s| s.bump_counter(AUTH_REJECTED_COUNTER))
                .await;
            let mut body = serde_json::json!({
                "error": format!("unauthenticated: {failure}"),
                "code": failure.code(),
            });
            if failure == AuthFailure::Replay(ReplayError::StaleTimestamp) {
                // Lets an honest peer with a skewed clock re-sign against our clock (DESIGN §2.2:
                // never trust a peer's wall clock for ordering; here it only frames the proof).
                body["serverTimeMs"] = now.into();
            }
            (StatusCode::UNAUTHORIZED, Json(body)).into_response()
        }
    }
}

/// `POST /api/v1/sync/delta`: a page of changes after the requester's cursor (DESIGN §5).
async fn delta(
    State(engine): State<Arc<Engine>>,
    Extension(peer): Extension<AuthedPeer>,
    body: Bytes,
) -> Result<Json<DeltaResponse>, ApiError> {
    let req: DeltaRequest = parse_json(&body)?;
    if req.node_id != peer.0 {
        return Err(ApiError::bad_request(
            "NODE_MISMATCH",
            "nodeId in the body differs from the authenticated node",
        ));
    }
    let since = Since::parse(req.since.as_deref())
        .map_err(|e| ApiError::bad_request("INVALID_SINCE", e.to_string()))?;
    let cfg = engine.config().config;
    let limit = req
        .limit
        .map_or(cfg.sync.max_triples_per_sync as usize, |l| {
            (l as usize).clamp(1, cfg.sync.max_triples_per_sync as usize)
        });
    let namespaces = req.namespaces.clone();
    let exclude = cfg.sync.exclude_subject_prefixes.clone();
    let requester = peer.0.clone();
    let span = tracing::info_span!("serve_delta", peer = %mayros_sync_proto::node_id::short_node_id(&peer.0));
    // An external Cortex has no change feed: rescan it before a pull starts, so a write into
    // the sidecar reaches this pull (DESIGN §3.3); later pages of the same pull need none.
    let cortex = engine.cortex();
    if let Some(ext) = cortex.external() {
        if !ext.mirror.is_continuation(&peer.0, req.since.as_deref()) {
            if let Some(Err(e)) = engine
                .refresh_cortex_mirror(MIRROR_BEFORE_DELTA)
                .instrument(span.clone())
                .await
            {
                tracing::warn!(parent: &span, error = %e, "serving a delta from the mirror as it is");
            }
        }
    }
    let page = engine
        .with_store(move |s| {
            let epoch = s.meta()?.log_epoch;
            let head = s.log_head()?;
            if let Some(acked) = cursor::acknowledged(&since, &epoch, head) {
                s.record_peer_ack(&requester, acked)?;
            }
            let first_at_time = match &since {
                Since::Time(ms) => s.first_position_at_or_after(*ms)?,
                _ => None,
            };
            let oldest = s.oldest_retained_position()?;
            let after = cursor::start_after(&since, &epoch, oldest, head, first_at_time);
            match after {
                Ok(after) => Ok::<_, mayros_sync_store::Error>(Ok((
                    epoch,
                    s.delta_page(after, limit, &namespaces, &exclude)?,
                ))),
                Err(cursor::Expired(c)) => Ok(Err(c)),
            }
        })
        .instrument(span)
        .await?;
    let (epoch, page) = page.map_err(|cursor| {
        ApiError::new(
            StatusCode::GONE,
            "CURSOR_EXPIRED",
            format!("since {cursor} is from another log epoch or behind the collection horizon; start a full comparison"),
        )
    })?;
    engine
        .memory()
        .note_triples(page.triples.len() + page.deletions.len());
    let echo = |author: &str| is_echo(req.since.as_deref(), author, &peer.0);
    let triples = page
        .triples
        .iter()
        .filter(|t| !echo(&t.author))
        .map(|t| WireTriple {
            id: t.id,
            subject: t.triple.subject.clone(),
            predicate: t.triple.predicate.clone(),
            object: t.triple.object.to_json(false),
            created_at: t.created_at.clone(),
            author: t.author.clone(),
            hlc: t.hlc,
        })
        .collect();
    let deletions = page
        .deletions
        .iter()
        .filter(|d| !echo(&d.by))
        .filter_map(|d| {
            NodeIdRef::parse(&d.by).map(|by| WireDeletion {
                id: d.id,
                hlc: d.hlc,
                by,
            })
        })
        .collect();
    let next = format!("c1.{epoch}.{}", page.next);
    if let Some(ext) = cortex.external() {
        ext.mirror.served(&peer.0, &next, page.has_more);
    }
    Ok(Json(DeltaResponse {
        since: req.since,
        node_id: engine.identity().node_id.clone(),
        triples,
        deletions,
        synced_at: format_rfc3339_ms(engine.clock().now_ms()),
        next,
        has_more: page.has_more,
    }))
}

/// `POST /api/v1/sync/pull-request`: the caller asks us to pull from it now; answers when done.
async fn pull_request(
    State(engine): State<Arc<Engine>>,
    Extension(peer): Extension<AuthedPeer>,
) -> Result<Json<crate::dto::PullReport>, ApiError> {
    let record = engine
        .with_store({
            let id = peer.0.clone();
            move |s| s.peer(&id)
        })
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "NO_ENDPOINT",
                "we do not know your peer API endpoint yet; exchange rosters first",
            )
        })?;
    Ok(Json(engine.pull_from(&record).await))
}

/// `POST /api/v1/sync/roster`: merge the caller's roster, learn its endpoint, answer with ours.
async fn roster_exchange(
    State(engine): State<Arc<Engine>>,
    Extension(peer): Extension<AuthedPeer>,
    ApiJson(body): ApiJson<RosterExchange>,
) -> Result<Json<RosterExchange>, ApiError> {
    engine.merge_roster_from(&peer.0, body).await?;
    Ok(Json(engine.roster_exchange_body().await))
}
