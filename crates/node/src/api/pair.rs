//! `POST /api/v1/sync/pair`: click-to-pair with a device (no endpoint), or record the peer
//! API endpoint of a roster member (DESIGN §3.2, §7.2).

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use mayros_sync_proto::mode::SyncMode;
use serde::Deserialize;
use serde_json::json;

use super::control::clickpair_error;
use super::error::ApiError;
use super::extract::ApiJson;
use super::ApiState;
use crate::sync::peers::PeerView;

/// Body of `POST /api/v1/sync/pair`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairBody {
    /// Node id of a roster member.
    pub target: String,
    /// Its peer API endpoint (ip:port).
    pub endpoint: Option<String>,
}

/// `POST /api/v1/sync/pair` `{target, endpoint?}`: click-to-pair without an endpoint, else
/// records a roster member's endpoint (DESIGN §3.2).
pub async fn pair(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<PairBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    match body.endpoint {
        None => click_to_pair(&state, &body.target).await,
        Some(endpoint) => {
            let addr = parse_member_endpoint(&body.target, &endpoint)?;
            record_endpoint(&state, &body.target, addr).await
        }
    }
}

/// Click-to-pair (DESIGN §7.2): dials the target, derives the verification code, and answers
/// with it at once; the outcome is read from the session.
async fn click_to_pair(
    state: &ApiState,
    target: &str,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (id, view) = state
        .engine
        .start_pairing(target.trim())
        .await
        .map_err(clickpair_error)?;
    let mut out = serde_json::to_value(view).map_err(|e| ApiError::internal(e.to_string()))?;
    out["sessionId"] = json!(id);
    Ok(Json(out))
}

/// The address of a `{target, endpoint}` body: `target` must be a node id, `endpoint` ip:port.
fn parse_member_endpoint(target: &str, endpoint: &str) -> Result<SocketAddr, ApiError> {
    if let Err(e) = mayros_sync_proto::node_id::NodeId::parse(target) {
        return Err(ApiError::bad_request(
            "INVALID_ID",
            format!("target must be a node id: {e}"),
        ));
    }
    endpoint.parse().map_err(|_| {
        ApiError::bad_request(
            "INVALID_FIELD",
            format!("endpoint {endpoint:?} must be ip:port"),
        )
    })
}

/// Records `addr` as the peer API endpoint of roster member `target` and answers its view;
/// 404 `NOT_A_MEMBER` if `target` is not in the roster.
async fn record_endpoint(
    state: &ApiState,
    target: &str,
    addr: SocketAddr,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Some(view) = state.engine.record_member_endpoint(target, addr).await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_A_MEMBER",
            format!("{target} is not in this device's roster; pair it with an invite code first"),
        ));
    };
    let mode = state.engine.mode().mode;
    let (view, warning) = if mode == SyncMode::Native {
        learn_quic_addr(state, target, view).await?
    } else {
        (view, None)
    };
    Ok(Json(json!({
        "nodeId": view.node_id,
        "endpoint": view.endpoint,
        "quicAddr": view.quic_addr,
        "mode": mode.as_str(),
        "warning": warning,
    })))
}

/// Native mode records the member's QUIC address too: asks the member for it (failing that,
/// answers a warning), re-reads the member's view and tells the native layer.
async fn learn_quic_addr(
    state: &ApiState,
    target: &str,
    view: PeerView,
) -> Result<(PeerView, Option<String>), ApiError> {
    let mut warning = None;
    let id = target.to_string();
    let record = state.engine.with_store(move |s| s.peer(&id)).await?;
    if let Some(record) = record {
        if let Err(e) = state.engine.exchange_roster(&record).await {
            warning = Some(format!(
                "recorded the endpoint, but could not ask the peer for its QUIC address: {e}"
            ));
        }
    }
    let view = state
        .engine
        .peer_views()
        .await?
        .into_iter()
        .find(|p| p.node_id == target)
        .unwrap_or(view);
    state.engine.native_changed();
    Ok((view, warning))
}
