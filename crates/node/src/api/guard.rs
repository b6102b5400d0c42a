//! Request guards: the DNS-rebinding Host check, the browser-origin check and the control-API
//! bearer token.

use axum::body::HttpBody;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{HeaderMap, Method, StatusCode};
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

/// The Fetch-Metadata header saying how the page that sent a request relates to us.
const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// The one origin a Tauri window has on Linux and macOS. A web page cannot carry it (no site is
/// served under the `tauri:` scheme); the app itself sends requests in-process, without `Origin`.
pub const TAURI_ORIGIN: &str = "tauri://localhost";

/// Why a request was refused before its handler ran: status, code and message of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 403 `FOREIGN_ORIGIN`: a browser sent it from a page that is not the engine's own.
    ForeignOrigin(String),
    /// 415 `UNSUPPORTED_MEDIA_TYPE`: a state-changing request whose body is not declared JSON.
    NotJson(String),
}

impl Refusal {
    /// The JSON error answered for this refusal.
    pub fn into_api_error(self) -> ApiError {
        match self {
            Refusal::ForeignOrigin(m) => ApiError::new(StatusCode::FORBIDDEN, "FOREIGN_ORIGIN", m),
            Refusal::NotJson(m) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                m,
            ),
        }
    }
}

/// Decides, from the headers alone, whether a request may reach its route (pure: no body read).
///
/// Refused as foreign: an `Origin` other than `allowed_origins` (`null` included), and any
/// `Sec-Fetch-Site` but `same-origin` and `none` (`same-site` is another port of this host or
/// another loopback name, never this origin). A POST/PUT/PATCH/DELETE with a body must declare
/// `Content-Type: application/json`; without any `Content-Type` it passes only when no `Origin`
/// came with it (curl and scripts; a browser always sends `Origin` with such a request).
pub fn screen(
    method: &Method,
    headers: &HeaderMap,
    has_body: bool,
    allowed_origins: &[String],
) -> Result<(), Refusal> {
    let origin = headers
        .get(ORIGIN)
        .map(|v| v.to_str().unwrap_or("<not text>"));
    if let Some(origin) = origin {
        if !allowed_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
        {
            return Err(Refusal::ForeignOrigin(format!(
                "requests from the web page at {origin:?} are refused: only the engine's own window ({}) may call this API",
                allowed_origins.join(", ")
            )));
        }
    }
    if let Some(site) = headers.get(SEC_FETCH_SITE) {
        let site = site.to_str().unwrap_or("<not text>");
        if !site.eq_ignore_ascii_case("same-origin") && !site.eq_ignore_ascii_case("none") {
            return Err(Refusal::ForeignOrigin(format!(
                "a request the browser marks Sec-Fetch-Site: {site} is refused: only the engine's own window may call this API"
            )));
        }
    }
    let changes_state = [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method);
    if changes_state && has_body {
        match headers.get(CONTENT_TYPE) {
            Some(ct) if is_json(ct.to_str().unwrap_or("")) => {}
            Some(ct) => {
                return Err(Refusal::NotJson(format!(
                    "request body must be JSON sent as `Content-Type: application/json`, not {:?}",
                    ct.to_str().unwrap_or("<not text>")
                )))
            }
            None if origin.is_some() => {
                return Err(Refusal::NotJson(
                    "request body must be JSON sent as `Content-Type: application/json`; a request with an Origin must say so".into(),
                ))
            }
            None => {}
        }
    }
    Ok(())
}

/// `application/json`, with parameters such as `; charset=utf-8`, any case.
fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Applies [`screen`] to every request of the local API before any extractor reads its body.
pub async fn check_origin(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let has_body = req.body().size_hint().exact() != Some(0);
    match screen(
        req.method(),
        req.headers(),
        has_body,
        &state.allowed_origins,
    ) {
        Ok(()) => next.run(req).await,
        Err(refusal) => {
            tracing::warn!(
                method = %req.method(),
                path = req.uri().path(),
                ?refusal,
                "local API request refused"
            );
            refusal.into_api_error().into_response()
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn own() -> Vec<String> {
        vec![
            "http://127.0.0.1:19090".into(),
            "http://localhost:19090".into(),
            TAURI_ORIGIN.into(),
        ]
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn check(
        method: Method,
        pairs: &[(&'static str, &'static str)],
        body: bool,
    ) -> Result<(), Refusal> {
        screen(&method, &headers(pairs), body, &own())
    }

    #[test]
    fn foreign_origins_are_refused_on_every_method() {
        for origin in [
            "https://evil.example",
            "http://127.0.0.1:8080",
            "http://localhost:19091",
            "http://127.0.0.1",
            "http://tauri.localhost",
            "null",
        ] {
            for method in [Method::GET, Method::POST, Method::OPTIONS, Method::DELETE] {
                let got = check(method.clone(), &[("origin", origin)], false);
                assert!(
                    matches!(got, Err(Refusal::ForeignOrigin(_))),
                    "{method} from {origin}: {got:?}"
                );
            }
        }
    }

    #[test]
    fn own_origins_and_no_origin_pass() {
        for origin in [
            "http://127.0.0.1:19090",
            "http://LOCALHOST:19090",
            TAURI_ORIGIN,
        ] {
            assert_eq!(check(Method::GET, &[("origin", origin)], false), Ok(()));
            assert_eq!(
                check(
                    Method::POST,
                    &[("origin", origin), ("content-type", "application/json")],
                    true
                ),
                Ok(())
            );
        }
        assert_eq!(check(Method::GET, &[], false), Ok(()));
    }

    #[test]
    fn fetch_metadata_other_than_same_origin_or_none_is_foreign() {
        for site in ["cross-site", "same-site", "Cross-Site", "bogus"] {
            let got = check(Method::GET, &[("sec-fetch-site", site)], false);
            assert!(
                matches!(got, Err(Refusal::ForeignOrigin(_))),
                "{site}: {got:?}"
            );
        }
        for site in ["same-origin", "none"] {
            assert_eq!(
                check(Method::GET, &[("sec-fetch-site", site)], false),
                Ok(())
            );
        }
    }

    #[test]
    fn state_changing_bodies_must_be_declared_json() {
        for ct in [
            "text/plain",
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonx",
        ] {
            for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
                let got = check(method.clone(), &[("content-type", ct)], true);
                assert!(
                    matches!(got, Err(Refusal::NotJson(_))),
                    "{method} {ct}: {got:?}"
                );
            }
        }
        let ok = check(
            Method::POST,
            &[("content-type", "Application/JSON; charset=utf-8")],
            true,
        );
        assert_eq!(ok, Ok(()));
        // A body-less POST (e.g. `sync now`) or a GET needs no content type.
        assert_eq!(
            check(Method::POST, &[("content-type", "text/plain")], false),
            Ok(())
        );
        assert_eq!(
            check(Method::GET, &[("content-type", "text/plain")], true),
            Ok(())
        );
    }

    #[test]
    fn a_body_without_content_type_passes_only_without_origin() {
        assert_eq!(check(Method::POST, &[], true), Ok(()));
        let got = check(Method::POST, &[("origin", "http://127.0.0.1:19090")], true);
        assert!(matches!(got, Err(Refusal::NotJson(_))), "{got:?}");
    }

    #[test]
    fn refusals_answer_403_and_415_with_their_codes() {
        let e = Refusal::ForeignOrigin("x".into()).into_api_error();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::FORBIDDEN, "FOREIGN_ORIGIN")
        );
        let e = Refusal::NotJson("x".into()).into_api_error();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE")
        );
        let msg = check(Method::POST, &[("content-type", "text/plain")], true)
            .err()
            .map(|r| r.into_api_error().message)
            .unwrap_or_default();
        assert!(msg.contains("application/json"), "{msg}");
    }
}
