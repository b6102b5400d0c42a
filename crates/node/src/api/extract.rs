//! Extractors that turn every rejection into our JSON error instead of axum's plain text.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Largest accepted request body (DESIGN §6): 16 MiB.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A JSON request body, parsed with errors that name the problem.
///
/// The `Content-Type` was checked by [`super::guard::screen`] before the body was read (absent is
/// accepted from clients that send no `Origin`, e.g. curl); the body must be valid JSON of the
/// expected shape.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    format!("request body exceeds the limit of {MAX_BODY_BYTES} bytes (16 MiB)"),
                )
            } else {
                ApiError::bad_request("BAD_BODY", format!("cannot read request body: {rejection}"))
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body into `T`, classifying syntax errors and shape errors.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "INVALID_JSON",
            "request body is empty; expected a JSON document",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => {
                let msg = e.to_string();
                let code = if msg.starts_with("missing field") {
                    "MISSING_FIELD"
                } else {
                    "INVALID_FIELD"
                };
                ApiError::bad_request(code, format!("invalid request body: {msg}"))
            }
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::bad_request("INVALID_JSON", format!("malformed JSON: {e}"))
            }
        }
    })
}

/// Parses an optional JSON body: empty (or whitespace) means `T::default()`.
pub fn parse_optional_json<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        parse_json(bytes)
    }
}

/// Query-string parameters, with JSON errors on bad values.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| ApiQuery(q.0))
            .map_err(|e| {
                ApiError::bad_request(
                    "INVALID_QUERY",
                    format!("invalid query parameter: {}", e.body_text()),
                )
            })
    }
}
