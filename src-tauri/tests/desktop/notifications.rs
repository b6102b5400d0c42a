//! A fake notification server: `org.freedesktop.Notifications` at
//! `/org/freedesktop/Notifications` on the private bus, recording every `Notify` and
//! `CloseNotification` call (the Desktop Notifications Specification 1.2 methods, with
//! `GetCapabilities` and `GetServerInformation` so clients that ask are satisfied).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use zbus::object_server::SignalEmitter;
use zbus::zvariant::OwnedValue;

/// The well-known name of the server.
pub const NOTIFICATIONS_NAME: &str = "org.freedesktop.Notifications";
/// Its object path.
pub const NOTIFICATIONS_PATH: &str = "/org/freedesktop/Notifications";

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `Notify`, with the id the server answered.
    Notify {
        /// `app_name` argument.
        app_name: String,
        /// `replaces_id` argument (0: a new notification).
        replaces_id: u32,
        /// `summary` argument.
        summary: String,
        /// `body` argument.
        body: String,
        /// The id returned.
        id: u32,
    },
    /// `CloseNotification(id)`.
    Close {
        /// The id to close.
        id: u32,
    },
}

/// The calls seen so far, shared with the test.
#[derive(Debug, Clone, Default)]
pub struct Log {
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Log {
    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// The `Notify` calls whose summary is `summary`, oldest first, as `(replaces_id, id, body)`.
    pub fn notifies(&self, summary: &str) -> Vec<(u32, u32, String)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Notify {
                    replaces_id,
                    summary: s,
                    body,
                    id,
                    ..
                } if s == summary => Some((replaces_id, id, body)),
                _ => None,
            })
            .collect()
    }

    /// Whether `CloseNotification(id)` was called.
    pub fn closed(&self, id: u32) -> bool {
        self.calls()
            .iter()
            .any(|c| matches!(c, Call::Close { id: closed } if *closed == id))
    }

    /// A readable list of every call (for failure messages).
    pub fn describe(&self) -> String {
        let calls = self.calls();
        if calls.is_empty() {
            return "no notification calls".to_string();
        }
        calls
            .iter()
            .map(|c| format!("{c:?}"))
            .collect::<Vec<_>>()
            .join("\n  ")
    }
}

struct Server {
    log: Log,
    next_id: Mutex<u32>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Server {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        _hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let id = if replaces_id != 0 {
            replaces_id
        } else {
            match self.next_id.lock() {
                Ok(mut next) => {
                    *next += 1;
                    *next
                }
                Err(_) => u32::MAX,
            }
        };
        if let Ok(mut calls) = self.log.calls.lock() {
            calls.push(Call::Notify {
                app_name,
                replaces_id,
                summary,
                body,
                id,
            });
        }
        id
    }

    async fn close_notification(
        &self,
        id: u32,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) {
        if let Ok(mut calls) = self.log.calls.lock() {
            calls.push(Call::Close { id });
        }
        // Reason 3: closed by a call to CloseNotification.
        let _ = Self::notification_closed(&emitter, id, 3).await;
    }

    fn get_capabilities(&self) -> Vec<String> {
        ["body", "actions", "persistence", "icon-static"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "mayros-desktop-e2e".to_string(),
            "mayros".to_string(),
            "1.0".to_string(),
            "1.2".to_string(),
        )
    }

    #[zbus(signal)]
    async fn notification_closed(
        emitter: &SignalEmitter<'_>,
        id: u32,
        reason: u32,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn action_invoked(
        emitter: &SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;
}

/// The server, served on its own connection until dropped.
pub struct FakeNotifications {
    _conn: zbus::blocking::Connection,
    /// The calls it has recorded.
    pub log: Log,
}

impl FakeNotifications {
    /// Connects to `bus_address`, serves the interface and owns the well-known name.
    pub fn start(bus_address: &str) -> zbus::Result<FakeNotifications> {
        let log = Log::default();
        let conn = zbus::blocking::connection::Builder::address(bus_address)?
            .serve_at(
                NOTIFICATIONS_PATH,
                Server {
                    log: log.clone(),
                    next_id: Mutex::new(0),
                },
            )?
            .name(NOTIFICATIONS_NAME)?
            .build()?;
        Ok(FakeNotifications { _conn: conn, log })
    }
}
