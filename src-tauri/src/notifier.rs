//! Desktop notifications behind the [`Notifier`] trait: the [`crate::notify_policy`] decides,
//! a notifier carries the decisions out. [`DesktopNotifier`] speaks to the desktop's
//! notification server (org.freedesktop.Notifications) with notify-rust, on a thread of its
//! own so D-Bus calls never block the async runtime, and keeps each live notification's handle
//! so it can be updated in place (same id, `replaces_id`) or closed.

use std::collections::HashMap;
use std::sync::mpsc;

use crate::error::Error;
use crate::notify_policy::{Decision, NoteKey};

/// Carries out notification decisions.
pub trait Notifier: Send + Sync {
    /// Shows, updates or closes a notification. Failures are logged, not returned: a missing
    /// notification server must not disturb syncing.
    fn apply(&self, decision: Decision);
}

/// The application name notifications are sent under.
pub const APP_NAME: &str = "Mayros Sync";

/// notify-rust on a dedicated thread.
#[derive(Debug)]
pub struct DesktopNotifier {
    tx: std::sync::Mutex<mpsc::Sender<Decision>>,
}

impl DesktopNotifier {
    /// Starts the notification thread.
    pub fn start() -> Result<DesktopNotifier, Error> {
        let (tx, rx) = mpsc::channel::<Decision>();
        std::thread::Builder::new()
            .name("notifications".into())
            .spawn(move || {
                let mut live = Live::default();
                for decision in rx {
                    if let Err(e) = live.apply(decision) {
                        tracing::warn!(error = %e, "desktop notification failed");
                    }
                }
            })
            .map_err(|source| Error::Io {
                what: "cannot start the notification thread".into(),
                source,
            })?;
        Ok(DesktopNotifier {
            tx: std::sync::Mutex::new(tx),
        })
    }
}

impl Notifier for DesktopNotifier {
    fn apply(&self, decision: Decision) {
        let tx = match self.tx.lock() {
            Ok(tx) => tx,
            Err(poisoned) => poisoned.into_inner(),
        };
        if tx.send(decision).is_err() {
            tracing::warn!("the notification thread has stopped");
        }
    }
}

/// The live notifications of the notification thread.
#[derive(Default)]
struct Live {
    handles: HashMap<NoteKey, notify_rust::NotificationHandle>,
}

impl Live {
    fn apply(&mut self, decision: Decision) -> Result<(), Error> {
        let _span = tracing::debug_span!("notify", ?decision).entered();
        match decision {
            Decision::Show { key, summary, body } => self.show(key, &summary, &body),
            Decision::Update { key, summary, body } => match self.handles.get_mut(&key) {
                Some(handle) => {
                    handle.summary(&summary).body(&body);
                    handle.update().map_err(|e| Error::Notify(e.to_string()))
                }
                // Shown before the notifier started (or the server was down): show it now.
                None => self.show(key, &summary, &body),
            },
            Decision::Close { key } => {
                if let Some(handle) = self.handles.remove(&key) {
                    handle.close();
                }
                Ok(())
            }
        }
    }

    fn show(&mut self, key: NoteKey, summary: &str, body: &str) -> Result<(), Error> {
        let handle = notify_rust::Notification::new()
            .appname(APP_NAME)
            .summary(summary)
            .body(body)
            .icon("mayros-sync")
            .show()
            .map_err(|e| Error::Notify(e.to_string()))?;
        tracing::info!(id = handle.id(), summary, "notification shown");
        self.handles.insert(key, handle);
        Ok(())
    }
}

/// A notifier that records decisions (for tests and for logging only).
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    seen: std::sync::Mutex<Vec<Decision>>,
}

impl RecordingNotifier {
    /// Everything applied so far.
    pub fn decisions(&self) -> Vec<Decision> {
        match self.seen.lock() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

impl Notifier for RecordingNotifier {
    fn apply(&self, decision: Decision) {
        match self.seen.lock() {
            Ok(mut s) => s.push(decision),
            Err(p) => p.into_inner().push(decision),
        }
    }
}
