//! The event hub behind `GET /api/v1/sync/events` (DESIGN §6.2): typed events broadcast to
//! every subscriber (the SSE stream, later the tray).
//!
//! Publishing never blocks and never fails: without subscribers an event is dropped, and a
//! subscriber that falls more than [`CAPACITY`] events behind skips the oldest.

use tokio::sync::broadcast;

pub use crate::dto::events::StatusEvent;
use crate::dto::{ConflictEvent, FailureEvent, MetricsEvent, PairingEvent, PeerEvent};

/// How many events a slow subscriber may lag behind.
pub const CAPACITY: usize = 256;

/// One event. The SSE stream sends [`Event::kind`] as `event:` and [`Event::data`] as `data:`.
#[derive(Debug, Clone)]
pub enum Event {
    /// The sync mode changed.
    Status(StatusEvent),
    /// Periodic figures (every 2 s).
    Metrics(MetricsEvent),
    /// A peer's link changed, or a failing peer recovered.
    Peer(PeerEvent),
    /// A nearby device appeared, changed or went.
    Nearby(crate::discovery::nearby::NearbyChange),
    /// A pairing request or result.
    Pairing(PairingEvent),
    /// A failure worth showing (a sync, a security event, this device removed).
    Failure(FailureEvent),
    /// A conflict was logged.
    Conflict(ConflictEvent),
}

/// How often a `metrics` event is published.
pub const METRICS_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

impl Event {
    /// The SSE event name.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Status(_) => "status",
            Event::Metrics(_) => "metrics",
            Event::Peer(_) => "peer",
            Event::Nearby(_) => "nearby",
            Event::Pairing(_) => "pairing",
            Event::Failure(_) => "failure",
            Event::Conflict(_) => "conflict",
        }
    }

    /// The JSON payload (camelCase).
    pub fn data(&self) -> serde_json::Value {
        let v = match self {
            Event::Status(s) => serde_json::to_value(s),
            Event::Nearby(n) => serde_json::to_value(n),
            Event::Metrics(m) => serde_json::to_value(m),
            Event::Peer(p) => serde_json::to_value(p),
            Event::Pairing(p) => serde_json::to_value(p),
            Event::Failure(f) => serde_json::to_value(f),
            Event::Conflict(c) => serde_json::to_value(c),
        };
        v.unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
    }
}

/// A broadcast hub; cheap to clone.
#[derive(Debug, Clone)]
pub struct EventHub {
    tx: broadcast::Sender<Event>,
    closed: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
}

impl Default for EventHub {
    fn default() -> Self {
        EventHub::new()
    }
}

impl EventHub {
    /// An empty hub.
    pub fn new() -> EventHub {
        let (tx, _) = broadcast::channel(CAPACITY);
        let (closed, _) = tokio::sync::watch::channel(false);
        EventHub {
            tx,
            closed: std::sync::Arc::new(closed),
        }
    }

    /// Ends every stream (the engine is stopping), so open SSE responses finish.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Turns true once [`EventHub::close`] was called.
    pub fn closed(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closed.subscribe()
    }

    /// Sends `event` to every current subscriber.
    pub fn publish(&self, event: Event) {
        tracing::trace!(kind = event.kind(), "event");
        let _ = self.tx.send(event);
    }

    /// A new subscription, receiving events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// How many subscribers listen now.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn subscribers_receive_typed_events() {
        let hub = EventHub::new();
        hub.publish(Event::Conflict(ConflictEvent {
            peer: "nobody listens".into(),
            count: 1,
        }));
        let mut rx = hub.subscribe();
        hub.publish(Event::Status(StatusEvent {
            cause: crate::dto::StatusCause::Mode,
            from: None,
            mode: "native".into(),
            mode_reason: "why".into(),
            syncing: false,
        }));
        let e = rx.recv().await.unwrap();
        assert_eq!(e.kind(), "status");
        assert_eq!(e.data()["modeReason"], "why");
        assert_eq!(hub.subscribers(), 1);
    }
}
