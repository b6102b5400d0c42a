//! The only module that emits events to the UI. Engine events are forwarded as
//! `engine://<kind>` with the engine's JSON payload unchanged (the same kinds and data as the
//! SSE stream of the browser); the shell adds `app://autostart` and `app://navigate`.

use serde::Serialize;
use serde_json::Value;
use tauri::{Emitter, Runtime};

/// A view of the UI that a menu entry can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// Pairing (nearby devices, the code).
    Pair,
    /// Paired devices (unpair).
    Devices,
    /// Settings.
    Settings,
}

/// An event for the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum UiEvent {
    /// An engine event (`status`, `metrics`, `peer`, `nearby`, `pairing`, `failure`,
    /// `conflict`) with its payload.
    Engine {
        /// The engine's event kind.
        kind: &'static str,
        /// Its JSON payload.
        data: Value,
    },
    /// Start at login was changed from the tray menu.
    Autostart {
        /// The new state.
        enabled: bool,
    },
    /// A menu entry opened the window on a view.
    Navigate {
        /// Which view.
        view: View,
    },
}

impl UiEvent {
    /// Wraps an engine event.
    pub fn engine(event: &mayros_sync_node::events::Event) -> UiEvent {
        UiEvent::Engine {
            kind: event.kind(),
            data: event.data(),
        }
    }

    /// The Tauri event name.
    pub fn name(&self) -> String {
        match self {
            UiEvent::Engine { kind, .. } => format!("engine://{kind}"),
            UiEvent::Autostart { .. } => "app://autostart".into(),
            UiEvent::Navigate { .. } => "app://navigate".into(),
        }
    }

    /// The JSON payload.
    pub fn payload(&self) -> Value {
        match self {
            UiEvent::Engine { data, .. } => data.clone(),
            UiEvent::Autostart { enabled } => serde_json::json!({ "enabled": enabled }),
            UiEvent::Navigate { view } => serde_json::json!({ "view": view }),
        }
    }
}

/// Sends `event` to every webview of the app.
pub fn emit<R: Runtime, E: Emitter<R>>(app: &E, event: &UiEvent) {
    if let Err(e) = app.emit(&event.name(), event.payload()) {
        tracing::warn!(event = %event.name(), error = %e, "cannot emit to the UI");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_payloads_follow_the_contract() {
        let e = UiEvent::Engine {
            kind: "failure",
            data: serde_json::json!({"peer": "aa"}),
        };
        assert_eq!(e.name(), "engine://failure");
        assert_eq!(e.payload()["peer"], "aa");
        let a = UiEvent::Autostart { enabled: true };
        assert_eq!(a.name(), "app://autostart");
        assert_eq!(a.payload(), serde_json::json!({"enabled": true}));
        let n = UiEvent::Navigate { view: View::Pair };
        assert_eq!(n.name(), "app://navigate");
        assert_eq!(n.payload(), serde_json::json!({"view": "pair"}));
    }
}
