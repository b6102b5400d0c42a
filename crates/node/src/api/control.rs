//! Control API (DESIGN §6.2): status and configuration, behind the bearer token.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use mayros_sync_proto::timefmt::format_rfc3339_ms;
use mayros_sync_proto::{config, config_migrate, config_user};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::{parse_optional_json, ApiJson};
use super::ApiState;
use crate::engine::ConfigState;
use crate::sync::peers::{PeerView, SyncNowError, SyncNowOutcome};
use crate::sync::retention::{CollectionView, ReviewOutcome, ReviewView};

/// The `POST /api/v1/sync/pair` handler and its body, kept reachable here.
pub use super::pair::{pair, PairBody};

/// `GET /api/v1/sync/status`.
pub async fn status(State(state): State<ApiState>) -> Json<serde_json::Value> {
    let snapshot = state
        .engine
        .status(Some(format!("http://{}", state.api_addr)))
        .await;
    Json(serde_json::to_value(snapshot).unwrap_or_else(|e| json!({ "error": e.to_string() })))
}

/// The config answer; secrets (`cortex.authToken`) are shown as `"<redacted>"`.
fn config_body(cfg: &ConfigState) -> serde_json::Value {
    json!({
        "config": mayros_sync_proto::redact::config_value(&cfg.config),
        "path": cfg.path.display().to_string(),
        "warnings": cfg.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
    })
}

/// `GET /api/v1/sync/config`: the effective config (defaults filled in), its file and warnings.
pub async fn get_config(State(state): State<ApiState>) -> Json<serde_json::Value> {
    Json(config_body(&state.engine.config()))
}

/// `PUT /api/v1/sync/config`: validates a full config document, writes only the keys that
/// differ from their defaults (with the current `version`), applies it. A secret sent back
/// as `"<redacted>"` keeps the value in force.
pub async fn put_config(
    State(state): State<ApiState>,
    ApiJson(mut doc): ApiJson<serde_json::Value>,
) -> Result<Json<serde_json::Value>, ApiError> {
    mayros_sync_proto::redact::restore(&mut doc, &state.engine.config().config);
    let mut doc = current_version(&doc)?;
    config_user::prune_defaults(&mut doc);
    write_and_apply(&state, doc).await
}

/// `doc` migrated to the current config version (DESIGN §9 gap: the `version` key).
fn current_version(doc: &serde_json::Value) -> Result<serde_json::Value, ApiError> {
    let migrated = config_migrate::migrate(doc).map_err(|e| ApiError::invalid_config(&e))?;
    for note in &migrated.notes {
        tracing::info!(from = migrated.from_version, "config migrated: {note}");
    }
    Ok(migrated.doc)
}

/// `PATCH /api/v1/sync/config`: applies a JSON merge patch of the keys the user changed
/// (`null` = back to the default) to the config file, validates, writes and applies it.
/// A secret sent as `"<redacted>"` keeps the value in force.
pub async fn patch_config(
    State(state): State<ApiState>,
    ApiJson(patch): ApiJson<serde_json::Value>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !patch.is_object() {
        return Err(ApiError::bad_request(
            "INVALID_CONFIG",
            "a config patch must be a JSON object of the keys to change (null = default)",
        ));
    }
    let mut patch = patch;
    if let Some(obj) = patch.as_object_mut() {
        // The file's version is the engine's to set.
        obj.remove("version");
    }
    let current = state.engine.config();
    let mut doc = current_version(&read_config_file(&current.path)?)?;
    config_user::merge_patch(&mut doc, &patch);
    mayros_sync_proto::redact::restore(&mut doc, &current.config);
    write_and_apply(&state, doc).await
}

/// The config file as a JSON document; a missing or empty file is `{}`.
fn read_config_file(path: &std::path::Path) -> Result<serde_json::Value, ApiError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(ApiError::internal(format!(
                "cannot read the config file {}: {e}",
                path.display()
            )))
        }
    };
    if text.trim().is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_str(&text).map_err(|e| {
        ApiError::bad_request(
            "INVALID_CONFIG",
            format!(
                "the config file {} is not valid JSON ({e}); fix or remove it first",
                path.display()
            ),
        )
    })
}

/// Validates `doc`, writes it as the config file and applies it.
async fn write_and_apply(
    state: &ApiState,
    doc: serde_json::Value,
) -> Result<Json<serde_json::Value>, ApiError> {
    let parsed = config::from_value(&doc).map_err(|e| ApiError::invalid_config(&e))?;
    let path = state.engine.config().path;
    let text = serde_json::to_string_pretty(&doc)
        .map_err(|e| ApiError::internal(format!("cannot render config: {e}")))?;
    crate::private_files::write_file_atomic(&path, text.as_bytes(), 0o600)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let new_state = ConfigState {
        config: parsed.config,
        warnings: parsed.warnings,
        path,
    };
    state.engine.set_config(new_state.clone());
    state.engine.reevaluate_mode().await;
    // The file watcher sees the new file within 2 s and fires the config-change hook once.
    tracing::info!("config re-applied from control API");
    Ok(Json(config_body(&new_state)))
}

/// `POST /api/v1/sync/invite`: a one-time invite code.
pub async fn invite(State(state): State<ApiState>) -> Result<Json<serde_json::Value>, ApiError> {
    let issued = state.engine.create_invite().await?;
    Ok(Json(
        json!({ "code": issued.code, "expiresAt": issued.expires_at }),
    ))
}

/// Body of `POST /api/v1/sync/pair/code`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// The invite code.
    pub code: String,
}

/// `POST /api/v1/sync/pair/code`: join the group of the device that issued the code.
pub async fn pair_code(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let joined = state.engine.join_with_code(&body.code).await?;
    Ok(Json(
        json!({ "nodeId": joined.node_id, "name": joined.name, "endpoint": joined.endpoint }),
    ))
}

/// `GET /api/v1/sync/peers`.
pub async fn peers(State(state): State<ApiState>) -> Result<Json<Vec<PeerView>>, ApiError> {
    Ok(Json(state.engine.peer_views().await?))
}

/// Body of `POST /api/v1/sync/now`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NowBody {
    /// Node id, id prefix (≥ 8 digits) or name of one peer.
    pub peer: Option<String>,
}

impl From<SyncNowError> for ApiError {
    fn from(e: SyncNowError) -> ApiError {
        match e {
            SyncNowError::UnknownPeer(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "UNKNOWN_PEER", e.to_string())
            }
            SyncNowError::Internal(m) => ApiError::internal(m),
        }
    }
}

/// `POST /api/v1/sync/now` `{peer?}`: answers when every targeted peer has finished.
pub async fn now(
    State(state): State<ApiState>,
    body: axum::body::Bytes,
) -> Result<Json<SyncNowOutcome>, ApiError> {
    let body: NowBody = parse_optional_json(&body)?;
    Ok(Json(state.engine.sync_now(body.peer.as_deref()).await?))
}

/// `POST /api/v1/sync/hooks/{hook}` for `agent-end` and `config-change`.
pub async fn hook(
    State(state): State<ApiState>,
    Path(hook): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if hook != "agent-end" && hook != "config-change" {
        return Err(ApiError::not_found(format!(
            "unknown hook {hook:?} (expected agent-end or config-change)"
        )));
    }
    let (ran, reason, results) = state.engine.run_hook(&hook).await?;
    Ok(Json(
        json!({ "ran": ran, "reason": reason, "results": results }),
    ))
}

/// `GET /api/v1/sync/conflicts`.
pub async fn conflicts(State(state): State<ApiState>) -> Result<Json<serde_json::Value>, ApiError> {
    let records = state.engine.with_store(|s| s.conflicts(1000)).await?;
    Ok(Json(
        serde_json::to_value(records).map_err(|e| ApiError::internal(e.to_string()))?,
    ))
}

/// `POST /api/v1/sync/conflicts/seen`: the user looked at the conflicts (the window's
/// Conflicts view, the tray's window); status stops counting them as new.
pub async fn conflicts_seen(
    State(state): State<ApiState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let seen = state.engine.mark_conflicts_seen().await?;
    Ok(Json(json!({ "seen": seen })))
}

/// `POST /api/v1/sync/conflicts/{id}/restore`: re-asserts the losers of a conflict.
pub async fn restore_conflict(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request("INVALID_ID", "conflict id must be an integer"))?;
    let ctx = mayros_sync_store::WriteContext {
        wall_ms: state.engine.clock().now_ms(),
        author: state.engine.identity().node_id.clone(),
    };
    match state
        .engine
        .with_store(move |s| s.restore_conflict(id, &ctx))
        .await
    {
        Ok(restored) => Ok(Json(json!({
            "restored": restored.iter().map(|t| t.id.to_string()).collect::<Vec<_>>()
        }))),
        Err(crate::Error::Store(mayros_sync_store::Error::UnknownConflict { .. })) => {
            Err(ApiError::not_found(format!("no conflict with id {id}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /api/v1/sync/review`: the items held for review (DESIGN §2.3), oldest offer first.
pub async fn review(State(state): State<ApiState>) -> Result<Json<Vec<ReviewView>>, ApiError> {
    Ok(Json(state.engine.review_items().await?))
}

/// `POST /api/v1/sync/review/{id}/accept|discard`: accept inserts the item as a local write
/// (`{"accepted": id}`); discard drops it and tombstones it (`{"discarded": id}`).
pub async fn review_decision(
    State(state): State<ApiState>,
    Path((id, decision)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if decision != "accept" && decision != "discard" {
        return Err(ApiError::not_found(format!(
            "unknown review decision {decision:?} (expected accept or discard)"
        )));
    }
    // Whatever is not the id of a held item is unknown: 404, also for a malformed id.
    let triple_id: mayros_sync_proto::TripleId = id.parse().map_err(|_| {
        ApiError::not_found(format!(
            "no item {:?} is held for review: ids are triple ids (64 hex digits) as listed by mayros sync review",
            id.chars().take(80).collect::<String>()
        ))
    })?;
    let outcome = if decision == "accept" {
        state.engine.accept_review(triple_id).await?
    } else {
        state.engine.discard_review(triple_id).await?
    };
    match outcome {
        ReviewOutcome::Done if decision == "accept" => {
            Ok(Json(json!({ "accepted": triple_id.to_string() })))
        }
        ReviewOutcome::Done => Ok(Json(json!({ "discarded": triple_id.to_string() }))),
        ReviewOutcome::Unknown => Err(ApiError::not_found(format!(
            "no item {triple_id} is held for review (list them with mayros sync review)"
        ))),
    }
}

/// `POST /api/v1/sync/maintenance/collect`: collects tombstones now (it also runs at start
/// and every 10 minutes) and answers what it did.
pub async fn collect(State(state): State<ApiState>) -> Result<Json<CollectionView>, ApiError> {
    Ok(Json(state.engine.collect_tombstones().await?.into()))
}

/// Body of `POST /api/v1/sync/pause`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseBody {
    /// Minutes to pause; absent = until resumed.
    pub minutes: Option<u64>,
}

/// `POST /api/v1/sync/pause` `{minutes?}`.
pub async fn pause(
    State(state): State<ApiState>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let body: PauseBody = parse_optional_json(&body)?;
    let until = body
        .minutes
        .map(|m| state.engine.clock().now_ms() + m.saturating_mul(60_000));
    state.engine.pause(until);
    Ok(Json(json!({ "pausedUntil": until.map(format_rfc3339_ms) })))
}

/// `POST /api/v1/sync/resume`.
pub async fn resume(State(state): State<ApiState>) -> Json<serde_json::Value> {
    state.engine.resume();
    Json(json!({ "pausedUntil": null }))
}

/// `POST /api/v1/sync/peers/{peer}/pause|resume`: pauses or resumes one peer (by id, id prefix or name).
pub async fn peer_status(
    State(state): State<ApiState>,
    Path((peer, action)): Path<(String, String)>,
) -> Result<Json<PeerView>, ApiError> {
    use mayros_sync_proto::peerstate::PeerStatus;
    let status = match action.as_str() {
        "pause" => PeerStatus::Paused,
        "resume" => PeerStatus::Active,
        other => {
            return Err(ApiError::not_found(format!(
                "unknown peer action {other:?} (expected pause or resume)"
            )))
        }
    };
    let views = state.engine.peer_views().await?;
    let matched: Vec<&PeerView> = views
        .iter()
        .filter(|p| p.status != "removed")
        .filter(|p| mayros_sync_proto::peerstate::peer_matches(&p.node_id, &p.name, &peer))
        .collect();
    let target = match matched.as_slice() {
        [one] => one.node_id.clone(),
        [] => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "UNKNOWN_PEER",
                format!("no peer matches {peer:?}"),
            ))
        }
        _ => {
            return Err(ApiError::bad_request(
                "AMBIGUOUS_PEER",
                format!("{peer:?} matches several peers; use the node id"),
            ))
        }
    };
    let id = target.clone();
    state
        .engine
        .with_store(move |s| s.set_peer_status(&id, status))
        .await?;
    state.engine.native_changed();
    tracing::info!(peer = %mayros_sync_proto::node_id::short_node_id(&target), status = status.as_str(), "peer status changed by the user");
    let views = state.engine.peer_views().await?;
    views
        .into_iter()
        .find(|p| p.node_id == target)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("the peer disappeared"))
}

/// The API error of a click-to-pair failure.
pub(super) fn clickpair_error(e: crate::sync::clickpair::ClickPairError) -> ApiError {
    use crate::sync::clickpair::ClickPairError as E;
    let (status, code) = match &e {
        E::BadTarget(_) => (StatusCode::BAD_REQUEST, "INVALID_TARGET"),
        E::Failed(_) => (StatusCode::BAD_GATEWAY, "PAIRING_FAILED"),
        E::NoRequest(_) => (StatusCode::NOT_FOUND, "NO_REQUEST"),
        E::ChoiceNeeded(_) => (StatusCode::CONFLICT, "GROUP_CHOICE_NEEDED"),
        E::NoQuic => (StatusCode::SERVICE_UNAVAILABLE, "P2P_DISABLED"),
    };
    ApiError::new(status, code, e.to_string())
}

/// Query of `GET /api/v1/sync/pair/sessions/{id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionQuery {
    /// Wait up to this long for the session to end (≤ 60 000).
    pub wait_ms: Option<u64>,
}

/// `GET /api/v1/sync/pair/sessions/{id}?waitMs=`: a pairing this device started.
pub async fn pair_session(
    State(state): State<ApiState>,
    Path(id): Path<u64>,
    axum::extract::Query(q): axum::extract::Query<SessionQuery>,
) -> Result<Json<crate::sync::clickpair::SessionView>, ApiError> {
    let wait = std::time::Duration::from_millis(q.wait_ms.unwrap_or(0).min(60_000));
    state
        .engine
        .pair_session(id, wait)
        .await
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no pairing session {id}")))
}

/// `GET /api/v1/sync/pair/requests`: pending requests from other devices.
pub async fn pair_requests(
    State(state): State<ApiState>,
) -> Json<Vec<crate::sync::clickpair::RequestView>> {
    Json(state.engine.pair_requests())
}

/// Body of `POST /api/v1/sync/pair/requests/{nodeId}/accept`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    /// When both devices are in a group: which one survives.
    pub group: Option<mayros_sync_proto::clickpair::GroupChoice>,
}

/// `POST /api/v1/sync/pair/requests/{nodeId}/accept|reject`.
pub async fn pair_request_decision(
    State(state): State<ApiState>,
    Path((node_id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    match action.as_str() {
        "accept" => {
            let body: AcceptBody = parse_optional_json(&body)?;
            let name = state
                .engine
                .accept_pair_request(&node_id, body.group)
                .await
                .map_err(clickpair_error)?;
            Ok(Json(
                json!({"paired": true, "nodeId": node_id, "name": name}),
            ))
        }
        "reject" => {
            state
                .engine
                .reject_pair_request(&node_id)
                .map_err(clickpair_error)?;
            Ok(Json(json!({"rejected": true, "nodeId": node_id})))
        }
        other => Err(ApiError::not_found(format!(
            "unknown pairing action {other:?} (expected accept or reject)"
        ))),
    }
}

/// `DELETE /api/v1/sync/peers/{peer}`: unpairs a device (DESIGN §7.2 step 5).
pub async fn unpair(
    State(state): State<ApiState>,
    Path(peer): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let node = state.engine.unpair(&peer).await?;
    Ok(Json(json!({"removed": node, "seedRotated": true})))
}
