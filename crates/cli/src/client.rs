//! A client of the local API of a running engine (DESIGN §6).
//!
//! [`EngineClient::locate`] finds the engine of a data dir through `<data-dir>/daemon.json`; every
//! request maps the API's `{"error","code"}` bodies to [`ClientError::Api`], and a refused
//! connection (no daemon.json, or a stale one) to [`ClientError::NotRunning`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use mayros_sync_node::{paths, DaemonInfo};
use reqwest::header::HOST;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// How long connecting to the local API may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one local API request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a request that waits for syncs with peers (`sync now`, hooks) may take: the engine
/// answers only when every targeted peer has finished.
pub const LONG_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// Why a request to the engine failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No engine answers for this data dir.
    #[error(
        "no Mayros Sync engine is running for data dir {shown} (start one with: mayros daemon --data-dir {quoted})",
        shown = .data_dir.display(),
        quoted = shell_quote(&.data_dir.display().to_string())
    )]
    NotRunning {
        /// The data dir that was searched.
        data_dir: PathBuf,
    },
    /// The engine answered with an error body.
    #[error("{message}")]
    Api {
        /// HTTP status.
        status: StatusCode,
        /// The stable error code (`NOT_FOUND`, `INVALID_CONFIG`, …), empty when the body had none.
        code: String,
        /// The `error` text of the body.
        message: String,
    },
    /// A successful answer whose body is not the shape the CLI expects of this request.
    #[error("{endpoint}: the engine's answer does not have the expected shape: {source}")]
    Malformed {
        /// The request, e.g. `GET /api/v1/sync/status`.
        endpoint: String,
        /// Why the body did not deserialize.
        source: serde_json::Error,
    },
    /// Anything else: unreadable files, timeouts, bodies that are not JSON.
    #[error("{0}")]
    Other(String),
}

/// A successful answer: the status and the body, as text and as parsed JSON.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The request that got it, e.g. `GET /api/v1/sync/status`.
    pub endpoint: String,
    /// HTTP status (2xx).
    pub status: StatusCode,
    /// The body exactly as received.
    pub text: String,
    /// The body parsed (`null` when empty).
    pub json: Value,
}

impl Answer {
    /// The body as the engine's typed answer `T` (e.g. a status snapshot); a body of another
    /// shape is [`ClientError::Malformed`], naming the request.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        serde_json::from_str(&self.text).map_err(|source| ClientError::Malformed {
            endpoint: self.endpoint.clone(),
            source,
        })
    }
}

/// Talks to the engine that serves one data dir.
#[derive(Debug, Clone)]
pub struct EngineClient {
    http: reqwest::Client,
    base: String,
    host: String,
    data_dir: PathBuf,
    info: DaemonInfo,
}

impl EngineClient {
    /// Finds the engine of `data_dir` through its `daemon.json` (no request is made yet).
    pub fn locate(data_dir: &Path) -> Result<EngineClient, ClientError> {
        let info = match DaemonInfo::read(data_dir) {
            Ok(info) => info,
            Err(mayros_sync_node::Error::Io { cause, .. })
                if cause.kind() == std::io::ErrorKind::NotFound =>
            {
                return Err(ClientError::NotRunning {
                    data_dir: data_dir.to_path_buf(),
                })
            }
            Err(e) => return Err(ClientError::Other(e.to_string())),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .no_proxy()
            .build()
            .map_err(|e| ClientError::Other(format!("cannot build the HTTP client: {e}")))?;
        let port = info.api.port();
        // The API only accepts `Host: 127.0.0.1:<port>` or `localhost:<port>` (§6).
        let host = if info.api.is_ipv4() {
            format!("127.0.0.1:{port}")
        } else {
            format!("localhost:{port}")
        };
        Ok(EngineClient {
            http,
            base: format!("http://{}", info.api),
            host,
            data_dir: data_dir.to_path_buf(),
            info,
        })
    }

    /// What the engine published in `daemon.json`.
    pub fn info(&self) -> &DaemonInfo {
        &self.info
    }

    /// `GET path` on the Cortex REST.
    pub async fn get(&self, path: &str) -> Result<Answer, ClientError> {
        self.send(Method::GET, path, &[], None, false, None).await
    }

    /// `GET path?query` on the Cortex REST.
    pub async fn get_query(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Answer, ClientError> {
        self.send(Method::GET, path, query, None, false, None).await
    }

    /// `POST path` with a JSON body on the Cortex REST.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Answer, ClientError> {
        self.send(Method::POST, path, &[], Some(body), false, None)
            .await
    }

    /// `DELETE path` on the Cortex REST.
    pub async fn delete(&self, path: &str) -> Result<Answer, ClientError> {
        self.send(Method::DELETE, path, &[], None, false, None)
            .await
    }

    /// `GET path` on the control API (with the bearer token).
    pub async fn control_get(&self, path: &str) -> Result<Answer, ClientError> {
        self.send(Method::GET, path, &[], None, true, None).await
    }

    /// Like [`EngineClient::control_get`], for a request the engine holds until something
    /// happens: waits up to `timeout`.
    pub async fn control_get_waiting(
        &self,
        path: &str,
        timeout: Duration,
    ) -> Result<Answer, ClientError> {
        self.send(Method::GET, path, &[], None, true, Some(timeout))
            .await
    }

    /// `DELETE path` on the control API (with the bearer token).
    pub async fn control_delete(&self, path: &str) -> Result<Answer, ClientError> {
        self.send(Method::DELETE, path, &[], None, true, None).await
    }

    /// `PUT path` with a JSON body on the control API (with the bearer token).
    pub async fn control_put(&self, path: &str, body: &Value) -> Result<Answer, ClientError> {
        self.send(Method::PUT, path, &[], Some(body), true, None)
            .await
    }

    /// `POST path` with a JSON body on the control API (with the bearer token).
    pub async fn control_post(&self, path: &str, body: &Value) -> Result<Answer, ClientError> {
        self.send(Method::POST, path, &[], Some(body), true, None)
            .await
    }

    /// Like [`EngineClient::control_post`], for a request the engine answers only when the
    /// work is done: waits up to `timeout` instead of the usual two minutes.
    pub async fn control_post_waiting(
        &self,
        path: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<Answer, ClientError> {
        self.send(Method::POST, path, &[], Some(body), true, Some(timeout))
            .await
    }

    /// The control token of the engine (`<data-dir>/control.token`).
    pub fn token(&self) -> Result<String, ClientError> {
        let path = paths::token_file(&self.data_dir);
        std::fs::read_to_string(&path)
            .map(|t| t.trim().to_string())
            .map_err(|e| {
                ClientError::Other(format!(
                    "cannot read the control token {}: {e}",
                    path.display()
                ))
            })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        control: bool,
        timeout: Option<Duration>,
    ) -> Result<Answer, ClientError> {
        let url = format!("{}{}", self.base, path);
        let mut req = self
            .http
            .request(method.clone(), &url)
            .header(HOST, &self.host);
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        if control {
            req = req.bearer_auth(self.token()?);
        }
        if let Some(timeout) = timeout {
            req = req.timeout(timeout);
        }
        let resp = req.send().await.map_err(|e| self.transport_error(&e))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| self.transport_error(&e))?;
        if !status.is_success() {
            return Err(api_error(status, &text));
        }
        let json = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|e| {
                ClientError::Other(format!(
                    "{method} {path}: the engine answered {status} with a body that is not JSON: {e}"
                ))
            })?
        };
        Ok(Answer {
            endpoint: format!("{method} {path}"),
            status,
            text,
            json,
        })
    }

    fn transport_error(&self, e: &reqwest::Error) -> ClientError {
        if e.is_connect() {
            // daemon.json is left behind when an engine is killed: nothing listens any more.
            ClientError::NotRunning {
                data_dir: self.data_dir.clone(),
            }
        } else if e.is_timeout() {
            ClientError::Other(format!(
                "the engine at {} (pid {}) did not answer in time",
                self.info.api, self.info.pid
            ))
        } else {
            ClientError::Other(format!(
                "request to the engine at {} failed: {e}",
                self.info.api
            ))
        }
    }
}

/// Maps an error answer to [`ClientError::Api`], keeping the body's `error` text.
fn api_error(status: StatusCode, text: &str) -> ClientError {
    let body: Option<Value> = serde_json::from_str(text).ok();
    let field = |name: &str| {
        body.as_ref()
            .and_then(|b| b.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let message = field("error").unwrap_or_else(|| {
        let text = text.trim();
        if text.is_empty() {
            format!("the engine answered {status}")
        } else {
            format!("the engine answered {status}: {text}")
        }
    });
    ClientError::Api {
        status,
        code: field("code").unwrap_or_default(),
        message,
    }
}

/// Quotes `text` for a POSIX shell when it holds anything but safe characters.
pub fn shell_quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:=@%,~".contains(&b));
    if safe {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn error_bodies_keep_their_text_and_code() {
        let e = api_error(
            StatusCode::NOT_FOUND,
            r#"{"error":"no triple with id ab","code":"NOT_FOUND"}"#,
        );
        assert_eq!(e.to_string(), "no triple with id ab");
        assert!(matches!(e, ClientError::Api { ref code, .. } if code == "NOT_FOUND"));
    }

    #[test]
    fn bodies_without_an_error_field_still_say_something() {
        let e = api_error(StatusCode::BAD_GATEWAY, "upstream down");
        assert_eq!(
            e.to_string(),
            "the engine answered 502 Bad Gateway: upstream down"
        );
        let e = api_error(StatusCode::INTERNAL_SERVER_ERROR, "");
        assert_eq!(
            e.to_string(),
            "the engine answered 500 Internal Server Error"
        );
    }

    #[test]
    fn not_running_names_the_data_dir_and_the_fix() {
        let e = ClientError::NotRunning {
            data_dir: PathBuf::from("/tmp/my dir"),
        };
        assert_eq!(
            e.to_string(),
            "no Mayros Sync engine is running for data dir /tmp/my dir \
             (start one with: mayros daemon --data-dir '/tmp/my dir')"
        );
    }

    #[test]
    fn locate_without_daemon_json_is_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let e = EngineClient::locate(dir.path()).unwrap_err();
        assert!(matches!(e, ClientError::NotRunning { .. }), "{e}");
    }

    #[test]
    fn a_body_of_another_shape_names_the_request_and_the_cause() {
        let answer = Answer {
            endpoint: "GET /api/v1/sync/status".to_string(),
            status: StatusCode::OK,
            text: r#"{"mode":"native"}"#.to_string(),
            json: serde_json::json!({"mode": "native"}),
        };
        let e = answer
            .decode::<mayros_sync_node::dto::StatusSnapshot>()
            .unwrap_err();
        assert!(matches!(e, ClientError::Malformed { .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.starts_with("GET /api/v1/sync/status: the engine's answer does not have"),
            "{text}"
        );
        assert!(text.contains("missing field"), "{text}");
        let ok: Vec<String> = Answer {
            text: r#"["a"]"#.to_string(),
            ..answer
        }
        .decode()
        .unwrap();
        assert_eq!(ok, ["a"]);
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("/tmp/m1"), "/tmp/m1");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
