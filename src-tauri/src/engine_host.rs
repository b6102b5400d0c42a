//! Runs the sync engine in-process, as `mayros daemon` would (same data dir, config,
//! `daemon.json`, so `mayros sync …` talks to the tray app), and answers the shell's requests
//! through the engine's own axum router without a socket.
//!
//! Differences from `mayros daemon`: when a listening address is taken, the tray app takes a
//! free port instead of exiting (DESIGN §6: "the tray app picks a free port and shows it"), and
//! when the engine cannot start at all, the app still runs and shows why.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use mayros_sync_node::api::{self, ApiState};
use mayros_sync_node::{paths, Daemon, DaemonInfo, DaemonOptions, Engine};
use serde_json::Value;
use tower::ServiceExt as _;
use tracing::Instrument as _;

use crate::error::{CommandError, Error};

/// Where the tray app keeps its engine: the flags of `mayros-sync`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineArgs {
    /// `--data-dir` (else `MAYROS_DATA_DIR`, else the per-user default).
    pub data_dir: Option<PathBuf>,
    /// `--api` (default 127.0.0.1:19090).
    pub api: Option<SocketAddr>,
    /// `--peer-api` (default 0.0.0.0:19092): the HTTPS peer API of polled mode.
    pub peer_api: Option<SocketAddr>,
    /// `--quic` (default 0.0.0.0:19091): the QUIC endpoint of native mode.
    pub quic: Option<SocketAddr>,
}

impl EngineArgs {
    /// The engine's options: the data dir as the daemon resolves it, the daemon's default
    /// addresses unless `--api` is given. Paths are absolute so `daemon.json` means the same
    /// to every process.
    pub fn daemon_options(&self) -> Result<DaemonOptions, Error> {
        let from_env = std::env::var_os(paths::DATA_DIR_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let given = self
            .data_dir
            .clone()
            .filter(|d| !d.as_os_str().is_empty())
            .or(from_env);
        let data_dir = given.clone().unwrap_or_else(paths::default_data_dir);
        let data_dir = std::path::absolute(&data_dir).map_err(|source| Error::Io {
            what: format!("cannot resolve data dir {}", data_dir.display()),
            source,
        })?;
        let mut opts = DaemonOptions::new(data_dir);
        opts.data_dir_given = given.is_some();
        if let Some(api) = self.api {
            opts.api = api;
        }
        if let Some(addr) = self.peer_api {
            opts.peer_api = Some(addr);
        }
        if let Some(addr) = self.quic {
            opts.quic = Some(addr);
        }
        Ok(opts)
    }
}

/// A running engine and the router that serves its local API.
#[derive(Debug)]
pub struct EngineHost {
    engine: Arc<Engine>,
    router: Router,
    info: DaemonInfo,
    token: String,
    daemon: tokio::sync::Mutex<Option<Daemon>>,
}

impl EngineHost {
    /// Starts the engine. A taken API, peer API or QUIC port is replaced by a free port on the
    /// same address, with a warning.
    pub async fn start(mut opts: DaemonOptions) -> Result<EngineHost, Error> {
        let daemon = loop {
            match Daemon::start(opts.clone()).await {
                Ok(d) => break d,
                Err(e) => {
                    if !retry_on_free_port(&mut opts, &e) {
                        return Err(e.into());
                    }
                    tracing::warn!(error = %e, "address taken; using a free port instead");
                }
            }
        };
        let info = daemon.info().clone();
        let engine = Arc::clone(daemon.engine());
        let token = daemon.token().to_string();
        let router = api::router(ApiState::new(Arc::clone(&engine), token.clone(), info.api));
        tracing::info!(api = %info.api, data_dir = %info.data_dir.display(), node_id = %info.node_id, "engine ready");
        Ok(EngineHost {
            engine,
            router,
            info,
            token,
            daemon: tokio::sync::Mutex::new(Some(daemon)),
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The facts of `daemon.json` (bound addresses, node id, data dir).
    pub fn info(&self) -> &DaemonInfo {
        &self.info
    }

    /// Sends one request to the engine's local API, in-process, with the `Host` header and
    /// bearer token a browser on 127.0.0.1 would send, so the app and the browser hit the same
    /// validation. `Ok` is the route's JSON body; `Err` is `{kind: code, message: error}`.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, CommandError> {
        let span = tracing::debug_span!("api", %method, path);
        self.send(method, path, body).instrument(span).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, CommandError> {
        if self.daemon.lock().await.is_none() {
            return Err(CommandError::new(
                CommandError::ENGINE_DOWN,
                "the engine has stopped",
            ));
        }
        let builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, format!("127.0.0.1:{}", self.info.api.port()))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        let request = match body {
            Some(json) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json.to_string())),
            None => builder.body(Body::empty()),
        }
        .map_err(|e| CommandError::new(CommandError::INTERNAL, e.to_string()))?;
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| CommandError::new(CommandError::INTERNAL, e.to_string()))?;
        let status = response.status();
        tracing::debug!(%status, "engine answered");
        let bytes = axum::body::to_bytes(response.into_body(), api::MAX_BODY_BYTES)
            .await
            .map_err(|e| CommandError::new(CommandError::INTERNAL, e.to_string()))?;
        decode(status, &bytes)
    }

    /// Stops the engine cleanly (API, background tasks, `daemon.json`); later requests answer
    /// `ENGINE_DOWN`. Idempotent.
    pub async fn shutdown(&self) {
        let daemon = self.daemon.lock().await.take();
        if let Some(d) = daemon {
            tracing::info!("stopping the engine");
            d.shutdown().await;
        }
    }
}

/// Maps a route's answer to the command result.
fn decode(status: StatusCode, bytes: &[u8]) -> Result<Value, CommandError> {
    let json: Option<Value> = if bytes.is_empty() {
        Some(Value::Null)
    } else {
        serde_json::from_slice(bytes).ok()
    };
    if status.is_success() {
        return json.ok_or_else(|| {
            CommandError::new(
                CommandError::INTERNAL,
                format!("the engine answered {status} with a body that is not JSON"),
            )
        });
    }
    let text = |ptr: &str| {
        json.as_ref()
            .and_then(|j| j.pointer(ptr))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let mut err = CommandError::new(
        text("/code").unwrap_or_else(|| CommandError::INTERNAL.to_string()),
        text("/error").unwrap_or_else(|| {
            format!(
                "the engine answered {status}: {}",
                String::from_utf8_lossy(bytes)
            )
        }),
    );
    err.field = text("/field");
    Err(err)
}

/// When `e` says a listening address is in use, moves that address to port 0 and says so.
fn retry_on_free_port(opts: &mut DaemonOptions, e: &mayros_sync_node::Error) -> bool {
    use mayros_sync_node::Error as E;
    let in_use = |cause: &std::io::Error| cause.kind() == std::io::ErrorKind::AddrInUse;
    let free = |a: SocketAddr| SocketAddr::new(a.ip(), 0);
    match e {
        E::ApiBind { addr, cause } if in_use(cause) && addr.port() != 0 => {
            opts.api = free(*addr);
            true
        }
        E::PeerApiBind { addr, cause } if in_use(cause) && addr.port() != 0 => {
            opts.peer_api = Some(free(*addr));
            true
        }
        E::QuicBind { addr, cause } if in_use(cause) && addr.port() != 0 => {
            opts.quic = Some(free(*addr));
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_become_kind_and_message() {
        let body = br#"{"error":"sync.intervalSeconds must be a number","code":"INVALID_CONFIG"}"#;
        assert_eq!(
            decode(StatusCode::BAD_REQUEST, body),
            Err(CommandError::new(
                "INVALID_CONFIG",
                "sync.intervalSeconds must be a number"
            ))
        );
        let e = decode(StatusCode::BAD_GATEWAY, b"oops").err();
        assert_eq!(e.map(|e| e.kind), Some("INTERNAL".to_string()));
        assert_eq!(decode(StatusCode::NO_CONTENT, b""), Ok(Value::Null));
    }

    #[test]
    fn data_dir_and_addresses_come_from_the_flags() {
        let args = EngineArgs {
            data_dir: Some("/tmp/x".into()),
            api: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            peer_api: Some(SocketAddr::from(([127, 0, 0, 1], 40001))),
            quic: Some(SocketAddr::from(([127, 0, 0, 1], 40002))),
        };
        let opts = args.daemon_options().ok();
        assert_eq!(
            opts.as_ref().map(|o| o.data_dir.clone()),
            Some(PathBuf::from("/tmp/x"))
        );
        assert_eq!(opts.as_ref().map(|o| o.data_dir_given), Some(true));
        assert_eq!(
            opts.as_ref().and_then(|o| o.peer_api),
            Some(SocketAddr::from(([127, 0, 0, 1], 40001)))
        );
        assert_eq!(
            opts.as_ref().and_then(|o| o.quic),
            Some(SocketAddr::from(([127, 0, 0, 1], 40002)))
        );
        assert_eq!(opts.map(|o| o.api.port()), Some(0));
    }
}
