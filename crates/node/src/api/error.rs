//! JSON errors for every API route: `{"error": "<what and why>", "code": "<CODE>"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An API failure with its HTTP status, stable code and human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status to answer with.
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `INVALID_JSON`.
    pub code: &'static str,
    /// What went wrong and why.
    pub message: String,
    /// The dotted config key at fault (`INVALID_CONFIG` only), answered as `field`.
    pub field: Option<String>,
}

impl ApiError {
    /// Builds an error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// 400 `INVALID_CONFIG`; a key-level error also names the key as `field`.
    pub fn invalid_config(e: &mayros_sync_proto::Error) -> ApiError {
        let mut err = ApiError::bad_request("INVALID_CONFIG", e.to_string());
        if let mayros_sync_proto::Error::Config { key, .. } = e {
            err.field = Some(key.clone());
        }
        err
    }

    /// 400 with the given code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 `NOT_FOUND`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    /// 500 `INTERNAL` (logged; the message is still shown, it never holds secrets).
    pub fn internal(message: impl Into<String>) -> ApiError {
        let message = message.into();
        tracing::error!(%message, "internal API error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", message)
    }
}

impl From<crate::Error> for ApiError {
    fn from(e: crate::Error) -> ApiError {
        ApiError::internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.message, "code": self.code });
        if let Some(field) = self.field {
            body["field"] = serde_json::Value::String(field);
        }
        (self.status, Json(body)).into_response()
    }
}
