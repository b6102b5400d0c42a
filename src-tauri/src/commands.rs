//! The `#[tauri::command]`s of the UI contract. Each one is the same request the browser would
//! send over HTTP, made in-process through the engine's router; `Ok` is the route's JSON body
//! unchanged and `Err` is `{kind, message}` (the engine's `code` and `error`).

use axum::http::Method;
use serde_json::{json, Value};
use tauri::State;
use tauri_plugin_autostart::AutoLaunchManager;

use crate::autostart;
use crate::error::CommandError;
use crate::shell_state::ShellState;
use mayros_sync_node::api::path_segment as segment;

type Answer = Result<Value, CommandError>;

/// `GET /api/v1/sync/status`.
#[tauri::command]
pub async fn get_status(state: State<'_, ShellState>) -> Answer {
    state
        .request(Method::GET, "/api/v1/sync/status", None)
        .await
}

/// `GET /api/v1/p2p/status` (404 `P2P_DISABLED` while QUIC does not run).
#[tauri::command]
pub async fn get_p2p_status(state: State<'_, ShellState>) -> Answer {
    state.request(Method::GET, "/api/v1/p2p/status", None).await
}

/// `POST /api/v1/sync/now` `{peer?}`.
#[tauri::command]
pub async fn sync_now(state: State<'_, ShellState>, peer: Option<String>) -> Answer {
    state.sync_now(peer).await
}

/// `POST /api/v1/sync/pause` `{minutes?}` (none: until resumed).
#[tauri::command]
pub async fn pause_sync(state: State<'_, ShellState>, minutes: Option<u64>) -> Answer {
    let body = minutes.map_or_else(|| json!({}), |m| json!({ "minutes": m }));
    let answer = state
        .request(Method::POST, "/api/v1/sync/pause", Some(body))
        .await;
    state.ask_refresh();
    answer
}

/// `POST /api/v1/sync/resume`.
#[tauri::command]
pub async fn resume_sync(state: State<'_, ShellState>) -> Answer {
    let answer = state
        .request(Method::POST, "/api/v1/sync/resume", None)
        .await;
    state.ask_refresh();
    answer
}

/// `GET /api/v1/sync/peers`.
#[tauri::command]
pub async fn list_peers(state: State<'_, ShellState>) -> Answer {
    state.request(Method::GET, "/api/v1/sync/peers", None).await
}

/// `DELETE /api/v1/sync/peers/{peer}`.
#[tauri::command]
pub async fn unpair_peer(state: State<'_, ShellState>, peer: String) -> Answer {
    let path = format!("/api/v1/sync/peers/{}", segment(&peer));
    let answer = state.request(Method::DELETE, &path, None).await;
    state.ask_refresh();
    answer
}

/// `GET /api/v1/sync/nearby`.
#[tauri::command]
pub async fn list_nearby(state: State<'_, ShellState>) -> Answer {
    state
        .request(Method::GET, "/api/v1/sync/nearby", None)
        .await
}

/// `POST /api/v1/sync/pair` `{target}` → `{sessionId, code, …}`.
#[tauri::command]
pub async fn pair_device(state: State<'_, ShellState>, target: String) -> Answer {
    state
        .request(
            Method::POST,
            "/api/v1/sync/pair",
            Some(json!({ "target": target })),
        )
        .await
}

/// `GET /api/v1/sync/pair/sessions/{id}?waitMs=N`.
#[tauri::command]
pub async fn pair_session(state: State<'_, ShellState>, id: Value, wait_ms: Option<u64>) -> Answer {
    let id = match &id {
        Value::String(s) => segment(s),
        other => segment(&other.to_string()),
    };
    let path = match wait_ms {
        Some(w) => format!("/api/v1/sync/pair/sessions/{id}?waitMs={w}"),
        None => format!("/api/v1/sync/pair/sessions/{id}"),
    };
    state.request(Method::GET, &path, None).await
}

/// `GET /api/v1/sync/pair/requests`.
#[tauri::command]
pub async fn pair_requests(state: State<'_, ShellState>) -> Answer {
    state
        .request(Method::GET, "/api/v1/sync/pair/requests", None)
        .await
}

/// `POST /api/v1/sync/pair/requests/{nodeId}/accept` `{group?}` or `…/reject`.
#[tauri::command]
pub async fn decide_pair_request(
    state: State<'_, ShellState>,
    node_id: String,
    accept: bool,
    group: Option<String>,
) -> Answer {
    let action = if accept { "accept" } else { "reject" };
    let path = format!("/api/v1/sync/pair/requests/{}/{action}", segment(&node_id));
    let body = match (accept, group) {
        (true, Some(g)) => json!({ "group": g }),
        _ => json!({}),
    };
    let answer = state.request(Method::POST, &path, Some(body)).await;
    state.ask_refresh();
    answer
}

/// `GET /api/v1/sync/conflicts`; the conflicts listed are no longer new
/// (`POST /api/v1/sync/conflicts/seen`).
#[tauri::command]
pub async fn list_conflicts(state: State<'_, ShellState>) -> Answer {
    let answer = state
        .request(Method::GET, "/api/v1/sync/conflicts", None)
        .await?;
    state.mark_conflicts_seen().await;
    Ok(answer)
}

/// `POST /api/v1/sync/conflicts/{id}/restore`.
#[tauri::command]
pub async fn restore_conflict(state: State<'_, ShellState>, id: Value) -> Answer {
    let id = match &id {
        Value::String(s) => segment(s),
        other => segment(&other.to_string()),
    };
    let path = format!("/api/v1/sync/conflicts/{id}/restore");
    state.request(Method::POST, &path, None).await
}

/// `GET /api/v1/sync/config` → `{config, path, warnings}`.
#[tauri::command]
pub async fn get_config(state: State<'_, ShellState>) -> Answer {
    state
        .request(Method::GET, "/api/v1/sync/config", None)
        .await
}

/// `PUT /api/v1/sync/config` with the full document; 400 `INVALID_CONFIG` naming the key.
#[tauri::command]
pub async fn put_config(state: State<'_, ShellState>, config: Value) -> Answer {
    let answer = state
        .request(Method::PUT, "/api/v1/sync/config", Some(config))
        .await;
    state.ask_refresh();
    answer
}

/// `PATCH /api/v1/sync/config` with a JSON merge patch of the changed keys (`null` = default).
#[tauri::command]
pub async fn patch_config(state: State<'_, ShellState>, patch: Value) -> Answer {
    let answer = state
        .request(Method::PATCH, "/api/v1/sync/config", Some(patch))
        .await;
    state.ask_refresh();
    answer
}

/// Whether the app starts at login (re-read from the system each time).
#[tauri::command]
pub async fn get_autostart(manager: State<'_, AutoLaunchManager>) -> Result<bool, CommandError> {
    autostart::is_enabled(&manager).map_err(CommandError::from)
}

/// Turns start at login on or off; answers the state read back from the system.
#[tauri::command]
pub async fn set_autostart(
    state: State<'_, ShellState>,
    manager: State<'_, AutoLaunchManager>,
    enabled: bool,
) -> Result<bool, CommandError> {
    let now = autostart::set_enabled(&manager, enabled).map_err(CommandError::from);
    state.ask_refresh();
    now
}
