//! Request guards: the DNS-rebinding Host check and the control-API bearer token.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, HOST};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::ApiState;

/// Answers 403 unless the `Host` header is `127.0.0.1:<port>` or `localhost:<port>`.
pub async fn check_host(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if state
        .allowed_hosts
        .iter()
        .any(|h| h.eq_ignore_ascii_case(host))
    {
        next.run(req).await
    } else {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN_HOST",
            format!(
                "Host header {host:?} is not allowed; use {} (DNS-rebinding protection)",
                state.allowed_hosts.join(" or ")
            ),
        )
        .into_response()
    }
}

/// Answers 401 unless the request carries `Authorization: Bearer <control token>`.
pub async fn require_token(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .or_else(|| query_token(&req));
    match presented {
        Some(token) if constant_time_eq(token.as_bytes(), state.token.as_bytes()) => {
            next.run(req).await
        }
        Some(_) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "wrong control token; read it from <data-dir>/control.token",
        )
        .into_response(),
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "missing `Authorization: Bearer <token>` header; the token is in <data-dir>/control.token",
        )
        .into_response(),
    }
}

/// The `?token=` of `GET /api/v1/sync/events` (EventSource sends no headers, DESIGN §6.2);
/// no other route accepts a token in the URL.
fn query_token(req: &Request) -> Option<&str> {
    if req.uri().path() != "/api/v1/sync/events" {
        return None;
    }
    req.uri()
        .query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
