//! The local API: one axum [`Router`] with the Cortex REST, the control API and the web UI.

pub mod control;
pub mod cortex;
pub mod cortex_absent;
pub mod cortex_events;
pub mod error;
pub mod events;
pub mod extract;
pub mod guard;
pub mod pair;
pub mod ui_assets;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;

use crate::engine::Engine;
use error::ApiError;
pub use extract::MAX_BODY_BYTES;

/// Everything a handler needs.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The control-API bearer token.
    pub token: Arc<String>,
    /// Accepted `Host` header values.
    pub allowed_hosts: Arc<Vec<String>>,
    /// Accepted `Origin` header values: the engine's own page and the Tauri window.
    pub allowed_origins: Arc<Vec<String>>,
    /// The address the API is bound to.
    pub api_addr: SocketAddr,
}

impl ApiState {
    /// State for an API bound at `api_addr`.
    pub fn new(engine: Arc<Engine>, token: String, api_addr: SocketAddr) -> ApiState {
        let port = api_addr.port();
        let mut allowed_hosts = vec![format!("127.0.0.1:{port}"), format!("localhost:{port}")];
        if api_addr.is_ipv6() {
            allowed_hosts.push(format!("[::1]:{port}"));
        }
        let mut allowed_origins: Vec<String> = allowed_hosts
            .iter()
            .map(|h| format!("http://{h}"))
            .collect();
        allowed_origins.push(guard::TAURI_ORIGIN.to_string());
        ApiState {
            engine,
            token: Arc::new(token),
            allowed_hosts: Arc::new(allowed_hosts),
            allowed_origins: Arc::new(allowed_origins),
            api_addr,
        }
    }
}

/// Percent-encodes `text` as exactly one path segment of a local-API URL: everything but letters,
/// digits, `-`, `_` and `~` (dots too, so `..` cannot be resolved away), for the API's clients.
pub fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds the whole local API.
pub fn router(state: ApiState) -> Router {
    let mut cortex = Router::new()
        .route("/api/v1/health", get(cortex::health))
        .route("/api/v1/stats", get(cortex::stats))
        .route("/api/v1/flush", post(cortex::flush))
        .route("/api/v1/query/subjects", get(cortex::subjects))
        .route("/api/v1/query/predicates", get(cortex::predicates))
        .route(
            "/api/v1/events",
            post(cortex_events::post_events).get(cortex_events::list_events),
        )
        .route("/api/v1/events/{id}", get(cortex_events::get_event))
        .route(
            "/api/v1/triples",
            post(cortex::create_triple).get(cortex::list_triples),
        )
        .route("/api/v1/triples/batch", post(cortex::create_batch))
        .route(
            "/api/v1/triples/{id}",
            get(cortex::get_triple).delete(cortex::delete_triple),
        )
        .route("/api/v1/query", post(cortex::query))
        .route("/api/v1/p2p/status", get(cortex::p2p_status))
        .route(
            "/api/v1/p2p/peers",
            get(cortex::p2p_peers).post(cortex::add_p2p_peer),
        )
        .route(
            "/api/v1/p2p/peers/{node_id}",
            axum::routing::delete(cortex::remove_p2p_peer),
        );
    for (path, handler) in cortex_absent::routes() {
        cortex = cortex.route(path, handler);
    }
    let cortex = cortex.route_layer(middleware::from_fn_with_state(state.clone(), embedded_only));

    let control = Router::new()
        .route("/api/v1/sync/status", get(control::status))
        .route(
            "/api/v1/sync/config",
            get(control::get_config)
                .put(control::put_config)
                .patch(control::patch_config),
        )
        .route("/api/v1/sync/invite", post(control::invite))
        .route("/api/v1/sync/pair", post(pair::pair))
        .route("/api/v1/sync/pair/code", post(control::pair_code))
        .route(
            "/api/v1/sync/pair/sessions/{id}",
            get(control::pair_session),
        )
        .route("/api/v1/sync/pair/requests", get(control::pair_requests))
        .route(
            "/api/v1/sync/pair/requests/{node_id}/{action}",
            post(control::pair_request_decision),
        )
        .route("/api/v1/sync/peers", get(control::peers))
        .route(
            "/api/v1/sync/peers/{peer}",
            axum::routing::delete(control::unpair),
        )
        .route(
            "/api/v1/sync/peers/{peer}/{action}",
            post(control::peer_status),
        )
        .route("/api/v1/sync/now", post(control::now))
        .route("/api/v1/sync/hooks/{hook}", post(control::hook))
        .route("/api/v1/sync/conflicts", get(control::conflicts))
        .route("/api/v1/sync/conflicts/seen", post(control::conflicts_seen))
        .route(
            "/api/v1/sync/conflicts/{id}/restore",
            post(control::restore_conflict),
        )
        .route("/api/v1/sync/review", get(control::review))
        .route(
            "/api/v1/sync/review/{id}/{decision}",
            post(control::review_decision),
        )
        .route("/api/v1/sync/maintenance/collect", post(control::collect))
        .route("/api/v1/sync/nearby", get(events::nearby))
        .route("/api/v1/sync/events", get(events::events))
        .route("/api/v1/sync/pause", post(control::pause))
        .route("/api/v1/sync/resume", post(control::resume))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            guard::require_token,
        ));

    cortex
        .merge(control)
        // The web UI (`/`, `/assets/…`) needs no token; other unknown paths are JSON 404s.
        .fallback(ui_assets::fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Before any route or extractor: a browser page of another origin reads and writes nothing.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::check_origin,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::check_host,
        ))
        .with_state(state)
}

/// With an external backend the Cortex REST routes are not served here (DESIGN §3.3): they
/// answer 404 naming the Cortex to use instead.
async fn embedded_only(
    axum::extract::State(state): axum::extract::State<ApiState>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Some(ext) = state.engine.cortex().external() {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "EXTERNAL_CORTEX",
            format!(
                "{} is not served here: this engine syncs the external Cortex at {}, which serves the Cortex REST",
                req.uri().path(),
                ext.url()
            ),
        )
        .into_response();
    }
    next.run(req).await
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("no route for {}", uri.path()),
    )
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

#[cfg(test)]
mod tests {
    use super::path_segment;

    #[test]
    fn ids_and_names_stay_one_path_segment() {
        assert_eq!(path_segment("7"), "7");
        assert_eq!(path_segment("a-b_c~"), "a-b_c~");
        assert_eq!(path_segment("../x y"), "%2E%2E%2Fx%20y");
        assert_eq!(path_segment("my laptop/2"), "my%20laptop%2F2");
    }
}
