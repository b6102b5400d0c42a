//! Control API (DESIGN §6.2): status and configuration, behind the bearer token.

use axum::extract::State;
use axum::Json;
use mayros_sync_proto::config;
use serde_json::json;

use super::error::ApiError;
use super::extract::ApiJson;
use super::ApiState;
use crate::engine::ConfigState;

/// `GET /api/v1/sync/status`.
pub async fn status(State(state): State<ApiState>) -> Json<serde_json::Value> {
    let snapshot = state
        .engine
        .status(Some(format!("http://{}", state.api_addr)))
        .await;
    Json(serde_json::to_value(snapshot).unwrap_or_else(|e| json!({ "error": e.to_string() })))
}

fn config_body(cfg: &ConfigState) -> serde_json::Value {
    json!({
        "config": cfg.config.to_value(),
        "path": cfg.path.display().to_string(),
        "warnings": cfg.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
    })
}

/// `GET /api/v1/sync/config`: the effective config (defaults filled in), its file and warnings.
pub async fn get_config(State(state): State<ApiState>) -> Json<serde_json::Value> {
    Json(config_body(&state.engine.config()))
}

/// `PUT /api/v1/sync/config`: validates a full config document, writes the file, applies it.
pub async fn put_config(
    State(state): State<ApiState>,
    ApiJson(doc): ApiJson<serde_json::Value>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let parsed = config::from_value(&doc)
        .map_err(|e| ApiError::bad_request("INVALID_CONFIG", e.to_string()))?;
    let path = state.engine.config().path;
    let text = serde_json::to_string_pretty(&doc)
        .map_err(|e| ApiError::internal(format!("cannot render config: {e}")))?;
    crate::daemon::write_file_atomic(&path, text.as_bytes(), 0o600)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let new_state = ConfigState {
        config: parsed.config,
        warnings: parsed.warnings,
        path,
    };
    state.engine.set_config(new_state.clone());
    state.engine.reevaluate_mode().await;
    tracing::info!("config re-applied from control API");
    Ok(Json(config_body(&new_state)))
}
