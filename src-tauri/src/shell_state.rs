//! The state every part of the shell shares (managed by Tauri): the engine (or why it is not
//! running), the refresh signal of the tray, and the shell's own facts for the tray state
//! (only whether the engine runs: everything else is the engine's to report).

use std::sync::Arc;

use axum::http::Method;
use serde_json::Value;
use time::UtcOffset;

use crate::engine_host::EngineHost;
use crate::error::CommandError;
use crate::tray_state::ShellFacts;

/// The engine, or why it could not start.
#[derive(Debug, Clone)]
pub enum EngineSlot {
    /// The engine runs in this process.
    Running(Arc<EngineHost>),
    /// It could not start: the message is shown in the tray and returned by every command.
    Failed(String),
}

/// Shared shell state; cheap to clone (one shared inside).
#[derive(Debug, Clone)]
pub struct ShellState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    engine: EngineSlot,
    refresh: Arc<tokio::sync::Notify>,
    local_offset: UtcOffset,
}

impl ShellState {
    /// State around an engine slot; times in the tray are shown in `local_offset`.
    pub fn new(engine: EngineSlot, local_offset: UtcOffset) -> ShellState {
        ShellState(Arc::new(Inner {
            engine,
            refresh: Arc::new(tokio::sync::Notify::new()),
            local_offset,
        }))
    }

    /// The engine slot.
    pub fn engine(&self) -> &EngineSlot {
        &self.0.engine
    }

    /// The running engine, or `ENGINE_DOWN` with the reason.
    pub fn host(&self) -> Result<&Arc<EngineHost>, CommandError> {
        match &self.0.engine {
            EngineSlot::Running(h) => Ok(h),
            EngineSlot::Failed(why) => {
                Err(CommandError::new(CommandError::ENGINE_DOWN, why.clone()))
            }
        }
    }

    /// One in-process request to the engine's local API (see [`EngineHost::request`]).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, CommandError> {
        self.host()?.request(method, path, body).await
    }

    /// `sync now`; the tray refreshes as it starts and ends (the engine's summary says
    /// `Syncing` while it runs).
    pub async fn sync_now(&self, peer: Option<String>) -> Result<Value, CommandError> {
        self.ask_refresh();
        let body = match peer {
            Some(p) => serde_json::json!({ "peer": p }),
            None => serde_json::json!({}),
        };
        let result = self
            .request(Method::POST, "/api/v1/sync/now", Some(body))
            .await;
        self.ask_refresh();
        result
    }

    /// Asks the tray to refresh from the engine (coalesced).
    pub fn ask_refresh(&self) {
        self.0.refresh.notify_one();
    }

    /// The refresh signal.
    pub fn refresh_signal(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.0.refresh)
    }

    /// The user looked at the conflicts (window shown, conflict list read): the engine stops
    /// counting those logged so far as new (`POST /api/v1/sync/conflicts/seen`); then the tray
    /// refreshes. A failure is logged: the conflicts then stay new until the next look.
    pub async fn mark_conflicts_seen(&self) {
        if self.host().is_ok() {
            let answer = self
                .request(Method::POST, "/api/v1/sync/conflicts/seen", None)
                .await;
            if let Err(e) = answer {
                tracing::warn!(kind = %e.kind, error = %e.message, "cannot mark the conflicts seen");
            }
        }
        self.ask_refresh();
    }

    /// The shell's facts for the tray state.
    pub fn facts(&self) -> ShellFacts {
        ShellFacts {
            engine_error: match &self.0.engine {
                EngineSlot::Failed(why) => Some(why.clone()),
                EngineSlot::Running(_) => None,
            },
        }
    }

    /// The offset local times are shown in.
    pub fn local_offset(&self) -> UtcOffset {
        self.0.local_offset
    }
}
