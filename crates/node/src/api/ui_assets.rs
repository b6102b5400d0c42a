//! The web UI (DESIGN §6.2, §10), embedded at compile time from `ui/dist` by `build.rs`:
//! `GET /` answers `index.html` and every built asset is served by its path, without a token
//! (they contain no secret; the page reads the token from its URL fragment).
//!
//! Every answer carries a strict Content-Security-Policy. Vite names the files under `assets/`
//! by their content hash, so those are cached forever (`immutable`); `index.html` and the other
//! files are revalidated (`no-cache`) so a new build is picked up at once.

use axum::body::Body;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, Method, Response, Uri};
use axum::response::IntoResponse;

include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

/// The Content-Security-Policy of every UI answer: only this origin, no inline scripts, no
/// framing; inline styles are allowed for the chart's element styles.
pub const CSP: &str = "default-src 'self'; script-src 'self'; connect-src 'self'; \
    img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `Cache-Control` of content-hashed assets (`assets/…`).
pub const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` of `index.html` and the other unhashed files.
pub const CACHE_REVALIDATE: &str = "no-cache";

/// The embedded file at `path` (relative to `ui/dist`, no leading `/`).
pub fn asset(path: &str) -> Option<&'static [u8]> {
    FILES
        .binary_search_by(|(p, _)| (*p).cmp(path))
        .ok()
        .and_then(|i| FILES.get(i))
        .map(|(_, bytes)| *bytes)
}

/// Paths of every embedded file (relative to `ui/dist`), sorted.
pub fn paths() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(p, _)| *p)
}

/// The `Content-Type` for a file name, by its extension.
pub fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The answer for a GET of `uri_path`, when it names an embedded file (`/` is `index.html`).
pub fn response(uri_path: &str) -> Option<Response<Body>> {
    let path = match uri_path.strip_prefix('/')? {
        "" => "index.html",
        p => p,
    };
    let bytes = asset(path)?;
    let cache = if path.starts_with("assets/") {
        CACHE_IMMUTABLE
    } else {
        CACHE_REVALIDATE
    };
    let mut resp = Response::new(Body::from(bytes));
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Some(resp)
}

/// The API's fallback: a GET or HEAD of an embedded file serves it; anything else is the
/// usual JSON 404.
pub async fn fallback(method: Method, uri: Uri) -> axum::response::Response {
    if method == Method::GET || method == Method::HEAD {
        if let Some(resp) = response(uri.path()) {
            return resp.into_response();
        }
    }
    super::not_found(uri).await.into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;
    use crate::api::{router, ApiState};
    use crate::clock::Clock;
    use crate::engine::{ConfigState, Engine, Identity};

    fn engine() -> Arc<Engine> {
        let secrets: Arc<dyn mayros_sync_store::SecretStore> =
            Arc::new(mayros_sync_store::MemorySecretStore::new());
        let device = mayros_sync_store::DeviceIdentity::load_or_create(secrets.as_ref()).unwrap();
        let identity = Identity::new(device, "ui-test".into(), secrets.kind()).unwrap();
        let config = ConfigState {
            config: mayros_sync_proto::config::Config::default(),
            warnings: Vec::new(),
            path: std::env::temp_dir().join("mayros-ui-assets-test-config.json"),
        };
        let store = mayros_sync_store::Store::open_in_memory().unwrap();
        Engine::new(store, identity, secrets, config, Clock::system()).unwrap()
    }

    const PORT: u16 = 19_555;

    fn app() -> axum::Router {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], PORT));
        router(ApiState::new(engine(), "secret-token".into(), addr))
    }

    async fn get(app: axum::Router, path: &str, host: &str) -> axum::response::Response {
        let req = Request::get(path)
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap();
        app.oneshot(req).await.unwrap()
    }

    fn host() -> String {
        format!("127.0.0.1:{PORT}")
    }

    fn header_of(resp: &axum::response::Response, name: header::HeaderName) -> &str {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    async fn body(resp: axum::response::Response) -> Vec<u8> {
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    #[tokio::test]
    async fn index_is_served_at_the_root_without_a_token() {
        let resp = get(app(), "/", &host()).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            header_of(&resp, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert_eq!(header_of(&resp, header::CACHE_CONTROL), "no-cache");
        let csp = header_of(&resp, header::CONTENT_SECURITY_POLICY);
        assert!(csp.starts_with("default-src 'self'"), "{csp}");
        assert!(csp.contains("connect-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(header_of(&resp, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        let html = String::from_utf8(body(resp).await).unwrap();
        assert!(html.contains("<title>Mayros Sync</title>"), "{html}");
        assert_eq!(html.as_bytes(), asset("index.html").unwrap());
    }

    #[tokio::test]
    async fn hashed_assets_are_immutable_and_typed() {
        let mut seen_js = false;
        let mut seen_css = false;
        for path in paths().filter(|p| p.starts_with("assets/")) {
            let resp = get(app(), &format!("/{path}"), &host()).await;
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            assert_eq!(
                header_of(&resp, header::CACHE_CONTROL),
                CACHE_IMMUTABLE,
                "{path}"
            );
            let ct = header_of(&resp, header::CONTENT_TYPE).to_string();
            if path.ends_with(".js") {
                seen_js = true;
                assert_eq!(ct, "text/javascript; charset=utf-8");
            }
            if path.ends_with(".css") {
                seen_css = true;
                assert_eq!(ct, "text/css; charset=utf-8");
            }
            assert_eq!(body(resp).await, asset(path).unwrap(), "{path}");
        }
        assert!(seen_js && seen_css, "ui/dist has a script and a stylesheet");
        // index.html names the hashed files it loads, and they are embedded.
        let html = String::from_utf8(asset("index.html").unwrap().to_vec()).unwrap();
        for path in paths().filter(|p| p.ends_with(".js") || p.ends_with(".css")) {
            assert!(
                html.contains(&format!("/{path}")),
                "index.html loads {path}"
            );
        }
    }

    #[tokio::test]
    async fn the_host_check_still_applies() {
        let resp = get(app(), "/", "evil.example:80").await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let resp = get(app(), "/", &format!("localhost:{PORT}")).await;
        assert_eq!(resp.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn unknown_paths_and_other_methods_stay_json_404s() {
        for path in [
            "/nope.js",
            "/api/v1/nope",
            "/assets/missing-abc.js",
            "/index.htm",
        ] {
            let resp = get(app(), path, &host()).await;
            assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
            let v: serde_json::Value = serde_json::from_slice(&body(resp).await).unwrap();
            assert_eq!(v["code"], "NOT_FOUND", "{path}");
        }
        let req = Request::post("/")
            .header(header::HOST, host())
            .body(Body::empty())
            .unwrap();
        let resp = app().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn the_control_api_still_needs_the_token() {
        let resp = get(app(), "/api/v1/sync/status", &host()).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("a/b.SVG"), "image/svg+xml");
        assert_eq!(content_type("x.woff2"), "font/woff2");
        assert_eq!(content_type("noext"), "application/octet-stream");
        assert!(asset("../Cargo.toml").is_none());
        assert!(response("index.html").is_none(), "paths start with /");
    }
}
