//! Embedded Cortex REST (DESIGN §6.1): the AIngle shapes, so a stock Mayros works unchanged.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use mayros_sync_proto::model::{render_name, Triple, Value};
use mayros_sync_proto::TripleId;
use mayros_sync_store::{NewTriple, Pattern, StoredTriple, WriteContext};
use serde::Deserialize;
use serde_json::{json, Map};

use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::ApiState;

/// Default page size of `GET /api/v1/triples` and `POST /api/v1/query`.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page size served; larger requests are clamped (the response says so in `limit`).
pub const MAX_LIMIT: usize = 100_000;

/// Renders a stored triple as AIngle's `TripleDto` (names in `<…>`).
pub fn triple_dto(t: &StoredTriple) -> serde_json::Value {
    json!({
        "id": t.id.to_string(),
        "subject": render_name(&t.triple.subject, true),
        "predicate": render_name(&t.triple.predicate, true),
        "object": t.triple.object.to_json(true),
        "created_at": t.created_at,
    })
}

/// Parses one triple from request JSON; `at` prefixes error messages (e.g. `triples[3].`).
pub fn triple_from_json(v: &serde_json::Value, at: &str) -> Result<NewTriple, ApiError> {
    let map = v.as_object().ok_or_else(|| {
        ApiError::bad_request(
            "INVALID_FIELD",
            format!(
                "{}expected a JSON object with subject, predicate and object",
                at_or_body(at)
            ),
        )
    })?;
    let subject = required_str(map, "subject", at)?;
    let predicate = required_str(map, "predicate", at)?;
    let object_json = map.get("object").ok_or_else(|| {
        ApiError::bad_request(
            "MISSING_FIELD",
            format!("{at}object: missing field `object`"),
        )
    })?;
    let object = Value::from_json(object_json)
        .map_err(|e| ApiError::bad_request("INVALID_FIELD", format!("{at}{e}")))?;
    let triple = Triple::new(subject, predicate, object)
        .map_err(|e| ApiError::bad_request("INVALID_FIELD", format!("{at}{e}")))?;
    let created_at = optional_str(map, "created_at", at)?.map(str::to_string);
    let source = optional_str(map, "source", at)?.map(str::to_string);
    Ok(NewTriple {
        triple,
        created_at,
        source,
    })
}

fn at_or_body(at: &str) -> String {
    if at.is_empty() {
        "request body: ".into()
    } else {
        format!("{at} ")
    }
}

fn required_str<'a>(
    map: &'a Map<String, serde_json::Value>,
    key: &str,
    at: &str,
) -> Result<&'a str, ApiError> {
    match map.get(key) {
        Some(serde_json::Value::String(s)) => Ok(s),
        Some(_) => Err(ApiError::bad_request(
            "INVALID_FIELD",
            format!("{at}{key}: must be a string"),
        )),
        None => Err(ApiError::bad_request(
            "MISSING_FIELD",
            format!("{at}{key}: missing field `{key}`"),
        )),
    }
}

fn optional_str<'a>(
    map: &'a Map<String, serde_json::Value>,
    key: &str,
    at: &str,
) -> Result<Option<&'a str>, ApiError> {
    match map.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_request(
            "INVALID_FIELD",
            format!("{at}{key}: must be a string"),
        )),
    }
}

fn parse_id(text: &str) -> Result<TripleId, ApiError> {
    text.parse()
        .map_err(|e: mayros_sync_proto::Error| ApiError::bad_request("INVALID_ID", e.to_string()))
}

fn write_ctx(state: &ApiState) -> WriteContext {
    WriteContext {
        wall_ms: state.engine.clock().now_ms(),
        author: state.engine.identity().node_id.clone(),
    }
}

/// `GET /api/v1/health`.
pub async fn health(State(state): State<ApiState>) -> Response {
    match state.engine.with_store(|s| s.triple_count()).await {
        Ok(n) => Json(json!({
            "status": "healthy",
            "version": env!("CARGO_PKG_VERSION"),
            "components": { "graph": { "status": "healthy", "message": format!("{n} triples") } }
        }))
        .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "unhealthy",
                "version": env!("CARGO_PKG_VERSION"),
                "components": { "graph": { "status": "unhealthy", "message": e.to_string() } }
            })),
        )
            .into_response(),
    }
}

/// `POST /api/v1/triples`: 201 when created, 200 with the existing triple on a re-assert.
pub async fn create_triple(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    let item = triple_from_json(&body, "")?;
    let ctx = write_ctx(&state);
    let (stored, created) = state
        .engine
        .with_store(move |s| s.insert(&item, &ctx))
        .await?;
    state.engine.memory().note_triples(1);
    if created {
        state.engine.notify_local_write();
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(triple_dto(&stored))).into_response())
}

/// Body of `POST /api/v1/triples/batch`.
#[derive(Debug, Deserialize)]
pub struct BatchBody {
    /// The triples to insert.
    pub triples: Vec<serde_json::Value>,
}

/// `POST /api/v1/triples/batch`: all-or-nothing; duplicates are skipped and counted.
pub async fn create_batch(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<BatchBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let items = body
        .triples
        .iter()
        .enumerate()
        .map(|(i, v)| triple_from_json(v, &format!("triples[{i}].")))
        .collect::<Result<Vec<_>, _>>()?;
    let total = items.len();
    let ctx = write_ctx(&state);
    let outcome = state
        .engine
        .with_store(move |s| s.insert_batch(&items, &ctx))
        .await?;
    state.engine.memory().note_triples(total);
    if !outcome.inserted.is_empty() {
        state.engine.notify_local_write();
    }
    Ok(Json(json!({
        "inserted": outcome.inserted.iter().map(triple_dto).collect::<Vec<_>>(),
        "total": total,
        "duplicates": total - outcome.inserted.len(),
    })))
}

/// `GET /api/v1/triples/{id}`.
pub async fn get_triple(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = parse_id(&id)?;
    match state.engine.with_store(move |s| s.get(&id)).await? {
        Some(t) => Ok(Json(triple_dto(&t))),
        None => Err(ApiError::not_found(format!("no triple with id {id}"))),
    }
}

/// `DELETE /api/v1/triples/{id}`: 204, and a durable tombstone.
pub async fn delete_triple(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let ctx = write_ctx(&state);
    match state
        .engine
        .with_store(move |s| s.delete(&id, &ctx))
        .await?
    {
        Some(_) => {
            state.engine.notify_local_write();
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::not_found(format!("no triple with id {id}"))),
    }
}

/// Query string of `GET /api/v1/triples`.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    /// Exact subject (bare or bracketed).
    pub subject: Option<String>,
    /// Exact predicate (bare or bracketed).
    pub predicate: Option<String>,
    /// Page size (default 100, at most 100 000).
    pub limit: Option<usize>,
    /// Rows to skip.
    pub offset: Option<usize>,
}

fn name_filter(v: Option<&str>, field: &'static str) -> Result<Option<String>, ApiError> {
    match v {
        None | Some("") => Ok(None),
        Some(s) => mayros_sync_proto::model::parse_name(s, field)
            .map(Some)
            .map_err(|e| ApiError::bad_request("INVALID_FIELD", e.to_string())),
    }
}

/// `GET /api/v1/triples?subject=&predicate=&limit=&offset=`.
pub async fn list_triples(
    State(state): State<ApiState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let pattern = Pattern {
        subject: name_filter(params.subject.as_deref(), "subject")?,
        predicate: name_filter(params.predicate.as_deref(), "predicate")?,
        object: None,
    };
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let offset = params.offset.unwrap_or(0);
    let (rows, total) = state
        .engine
        .with_store(move |s| s.find(&pattern, limit, offset))
        .await?;
    state.engine.memory().note_triples(rows.len());
    Ok(Json(json!({
        "triples": rows.iter().map(triple_dto).collect::<Vec<_>>(),
        "total": total,
        "limit": limit,
        "offset": offset,
    })))
}

/// `POST /api/v1/query` `{"subject"?,"predicate"?,"object"?,"limit"?}`.
pub async fn query(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let map = body.as_object().ok_or_else(|| {
        ApiError::bad_request(
            "INVALID_FIELD",
            "request body: expected a JSON object pattern",
        )
    })?;
    let subject = name_filter(optional_str(map, "subject", "")?, "subject")?;
    let predicate = name_filter(optional_str(map, "predicate", "")?, "predicate")?;
    let object = match map.get("object") {
        None => None,
        Some(v) => Some(
            Value::from_json(v)
                .map_err(|e| ApiError::bad_request("INVALID_FIELD", e.to_string()))?,
        ),
    };
    let limit = match map.get("limit") {
        None | Some(serde_json::Value::Null) => DEFAULT_LIMIT,
        Some(v) => v
            .as_u64()
            .map(|n| (n as usize).min(MAX_LIMIT))
            .ok_or_else(|| {
                ApiError::bad_request("INVALID_FIELD", "limit: must be a non-negative integer")
            })?,
    };
    let pattern_json = json!({
        "subject": subject.as_deref().map(|s| render_name(s, true)),
        "predicate": predicate.as_deref().map(|p| render_name(p, true)),
        "object": object.as_ref().map(|o| o.to_json(true)),
    });
    let pattern = Pattern {
        subject,
        predicate,
        object,
    };
    let (rows, total) = state
        .engine
        .with_store(move |s| s.find(&pattern, limit, 0))
        .await?;
    state.engine.memory().note_triples(rows.len());
    Ok(Json(json!({
        "matches": rows.iter().map(triple_dto).collect::<Vec<_>>(),
        "total": total,
        "pattern": pattern_json,
    })))
}

/// `GET /api/v1/stats`.
pub async fn stats(State(state): State<ApiState>) -> Result<Json<serde_json::Value>, ApiError> {
    let stats = state.engine.with_store(|s| s.stats()).await?;
    Ok(Json(json!({
        "graph": {
            "triple_count": stats.triple_count,
            "subject_count": stats.subject_count,
            "predicate_count": stats.predicate_count,
            "object_count": stats.object_count,
        },
        "server": {
            "name": "mayros-sync",
            "version": env!("CARGO_PKG_VERSION"),
            // The stock figure counts WebSocket subscribers; the embedded Cortex has none.
            "connected_clients": 0,
            "uptime_seconds": state.engine.uptime_seconds(),
            "node_id": state.engine.identity().node_id,
        }
    })))
}

/// Query string of `GET /api/v1/query/subjects`.
#[derive(Debug, Deserialize)]
pub struct SubjectParams {
    /// Only subjects that have this predicate (bare or bracketed).
    pub predicate: Option<String>,
    /// Page size (default 100, at most 100 000).
    pub limit: Option<usize>,
}

/// `GET /api/v1/query/subjects?predicate=&limit=` → `{"subjects":["<s>"…],"total"}`.
pub async fn subjects(
    State(state): State<ApiState>,
    ApiQuery(params): ApiQuery<SubjectParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let predicate = name_filter(params.predicate.as_deref(), "predicate")?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let page = state
        .engine
        .with_store(move |s| s.subjects(predicate.as_deref(), limit))
        .await?;
    Ok(Json(json!({
        "subjects": page.names.iter().map(|n| render_name(n, true)).collect::<Vec<_>>(),
        "total": page.total,
    })))
}

/// Query string of `GET /api/v1/query/predicates`.
#[derive(Debug, Deserialize)]
pub struct PredicateParams {
    /// Only predicates used with subjects of this namespace (the part before the first `:`).
    pub namespace: Option<String>,
    /// Page size (default 100, at most 100 000).
    pub limit: Option<usize>,
}

/// `GET /api/v1/query/predicates?namespace=&limit=` → `{"predicates":["<p>"…],"total"}`.
pub async fn predicates(
    State(state): State<ApiState>,
    ApiQuery(params): ApiQuery<PredicateParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let namespace = params
        .namespace
        .map(|ns| {
            ns.trim_start_matches('<')
                .trim_end_matches(['>', ':'])
                .to_string()
        })
        .filter(|ns| !ns.is_empty());
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let page = state
        .engine
        .with_store(move |s| s.predicates(namespace.as_deref(), limit))
        .await?;
    Ok(Json(json!({
        "predicates": page.names.iter().map(|n| render_name(n, true)).collect::<Vec<_>>(),
        "total": page.total,
    })))
}

/// `POST /api/v1/flush` (sent by Mayros's sidecar manager before it stops the process): every
/// write is already durable at commit, so this checkpoints the SQLite WAL into the database file.
pub async fn flush(State(state): State<ApiState>) -> Result<Json<serde_json::Value>, ApiError> {
    let c = state.engine.with_store(|s| s.checkpoint()).await?;
    Ok(Json(json!({
        "status": if c.busy { "partial" } else { "flushed" },
        "wal_frames": c.log_frames,
        "checkpointed_frames": c.checkpointed_frames,
    })))
}

/// `GET /api/v1/p2p/status` (DESIGN §6.1): the gossip figures while the QUIC endpoint runs,
/// 404 `P2P_DISABLED` otherwise.
pub async fn p2p_status(
    State(state): State<ApiState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    match state.engine.native() {
        Some(native) => Ok(Json(
            native
                .status()
                .p2p_status_json(&state.engine.identity().node_id),
        )),
        None => Err(p2p_disabled()),
    }
}

fn p2p_disabled() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "P2P_DISABLED", "P2P not enabled")
}

/// `GET /api/v1/p2p/peers`: roster peers with their QUIC address and link state.
pub async fn p2p_peers(State(state): State<ApiState>) -> Result<Json<serde_json::Value>, ApiError> {
    let native = state.engine.native().ok_or_else(p2p_disabled)?;
    Ok(Json(json!({ "peers": native.status().peers })))
}

/// Body of `POST /api/v1/p2p/peers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddPeerBody {
    /// `ip:port` of the peer's QUIC endpoint (an IP literal, as the stock Cortex takes).
    pub addr: String,
    /// The member's node id, when known; without it the address is tried for every roster
    /// member that has none yet.
    #[serde(default, rename = "nodeId", alias = "node_id")]
    pub node_id: Option<String>,
}

/// `POST /api/v1/p2p/peers` `{"addr":"ip:port"}`: an address hint for roster members.
pub async fn add_p2p_peer(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<AddPeerBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let native = state.engine.native().ok_or_else(p2p_disabled)?.clone();
    let addr: std::net::SocketAddr = body.addr.parse().map_err(|_| {
        ApiError::bad_request(
            "INVALID_ADDR",
            format!(
                "addr {:?} is not ip:port (an IP literal and a port, e.g. 192.0.2.7:19091)",
                body.addr
            ),
        )
    })?;
    let members: Vec<String> = {
        let group = state.engine.group();
        group.roster.members().into_keys().collect()
    };
    let own = state.engine.identity().node_id.clone();
    let targets: Vec<String> = match &body.node_id {
        Some(id) => {
            if !members.contains(id) || *id == own {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "UNKNOWN_PEER",
                    format!("{id} is not a member of this sync group; pair with it first"),
                ));
            }
            vec![id.clone()]
        }
        None => {
            let peers = state.engine.with_store(|s| s.peers()).await?;
            members
                .into_iter()
                .filter(|m| *m != own)
                .filter(|m| {
                    !peers
                        .iter()
                        .any(|p| p.node_id == *m && p.quic_addr.is_some())
                })
                .collect()
        }
    };
    if targets.is_empty() {
        // The stock Cortex answers every well-formed hint with {"status","addr"}; so do we,
        // saying why nothing is dialed.
        return Ok(Json(json!({
            "status": "ignored",
            "addr": addr.to_string(),
            "reason": "every roster member already has an address; name one with nodeId to move it",
            "nodeIds": [],
        })));
    }
    for t in &targets {
        native.dial(t, addr);
    }
    Ok(Json(
        json!({ "status": "dialing", "addr": addr.to_string(), "nodeIds": targets }),
    ))
}

/// `DELETE /api/v1/p2p/peers/{node_id}`: stops dialing a peer and closes its link.
pub async fn remove_p2p_peer(
    State(state): State<ApiState>,
    Path(node_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let native = state.engine.native().ok_or_else(p2p_disabled)?;
    native.forget(&node_id);
    Ok(StatusCode::NO_CONTENT)
}
