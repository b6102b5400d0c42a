//! Follows the engine's event hub: forwards every event to the UI, turns the ones that matter
//! into notification facts for the [`NotifyPolicy`], and asks the tray to refresh.

use std::sync::Arc;
use std::time::Instant;

use mayros_sync_node::dto::{FailureEvent, PairingDetail, PairingEvent, PeerEvent};
use mayros_sync_node::events::Event;
use tauri::{AppHandle, Runtime};
use tokio::sync::broadcast::error::RecvError;

use crate::notifier::Notifier;
use crate::notify_policy::{Fact, NotifyPolicy};
use crate::shell_state::ShellState;
use crate::ui_events::{self, UiEvent};
use mayros_sync_proto::node_id::display_name;

/// The notification facts in an engine event.
pub fn facts(event: &Event) -> Vec<Fact> {
    let named = |name: &str, id: &str| display_name(name, id).to_string();
    match event {
        Event::Failure(FailureEvent::Sync {
            peer,
            name,
            message,
            ..
        }) => vec![Fact::SyncFailed {
            name: named(name, peer),
            message: message.clone(),
            peer: peer.clone(),
        }],
        Event::Failure(FailureEvent::Security { message, .. }) => vec![Fact::Security {
            message: message.clone(),
        }],
        Event::Peer(PeerEvent::Recovered(p)) => vec![Fact::SyncOk {
            name: named(&p.name, &p.node_id),
            peer: p.node_id.clone(),
        }],
        Event::Pairing(PairingEvent {
            change,
            detail: PairingDetail::Request(r),
        }) if change == "requested" => vec![Fact::PairRequest {
            name: named(&r.name, &r.node_id),
            peer: r.node_id.clone(),
            code: r.code.clone(),
        }],
        Event::Conflict(c) => vec![Fact::Conflicts { count: c.count }],
        _ => Vec::new(),
    }
}

/// Whether an event changes what the tray shows.
fn changes_tray(event: &Event) -> bool {
    !matches!(event, Event::Metrics(_))
}

/// Runs until the engine's hub closes.
pub async fn run<R: Runtime>(app: AppHandle<R>, state: ShellState, notifier: Arc<dyn Notifier>) {
    let Ok(host) = state.host().cloned() else {
        return;
    };
    let engine = Arc::clone(host.engine());
    let mut rx = engine.events().subscribe();
    let mut closed = engine.events().closed();
    let started = Instant::now();
    let mut policy = NotifyPolicy::new(engine.config().config.ui.notifications);
    loop {
        let next = tokio::select! {
            r = rx.recv() => r,
            _ = closed.wait_for(|c| *c) => return,
        };
        let event = match next {
            Ok(e) => e,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(skipped = n, "the shell fell behind the engine's events");
                state.ask_refresh();
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let _span = tracing::debug_span!("engine_event", kind = event.kind()).entered();
        policy.set_enabled(engine.config().config.ui.notifications);
        let now_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        for fact in facts(&event) {
            for decision in policy.on_fact(fact, now_ms) {
                notifier.apply(decision);
            }
        }
        // After the notifications: whoever sees the UI event knows the policy has run.
        ui_events::emit(&app, &UiEvent::engine(&event));
        if changes_tray(&event) {
            state.ask_refresh();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mayros_sync_node::dto::{ConflictEvent, RequestView};

    fn request(code: &str) -> Event {
        Event::Pairing(PairingEvent {
            change: "requested".into(),
            detail: PairingDetail::Request(RequestView {
                node_id: "cc".into(),
                name: "phone".into(),
                address: "127.0.0.1:9".into(),
                code: code.into(),
                expires_at: "2026-12-07T08:00:00Z".into(),
                in_group: false,
            }),
        })
    }

    #[test]
    fn engine_events_become_facts() {
        let f = facts(&Event::Failure(FailureEvent::Sync {
            peer: "aa".into(),
            name: "laptop".into(),
            failures: Some(2),
            message: "refused".into(),
        }));
        assert_eq!(
            f,
            [Fact::SyncFailed {
                peer: "aa".into(),
                name: "laptop".into(),
                message: "refused".into()
            }]
        );
        let f = facts(&Event::Peer(PeerEvent::recovered("aa", "laptop")));
        assert_eq!(
            f,
            [Fact::SyncOk {
                peer: "aa".into(),
                name: "laptop".into()
            }]
        );
        assert_eq!(
            facts(&request("123 456")),
            [Fact::PairRequest {
                peer: "cc".into(),
                name: "phone".into(),
                code: "123 456".into()
            }]
        );
        assert_eq!(
            facts(&Event::Conflict(ConflictEvent {
                peer: "aa".into(),
                count: 2
            })),
            [Fact::Conflicts { count: 2 }]
        );
        assert!(matches!(
            &facts(&Event::Failure(FailureEvent::Security {
                node_id: None,
                address: "127.0.0.1:5".into(),
                message: "x".into()
            }))[..],
            [Fact::Security { .. }]
        ));
        assert!(facts(&Event::Peer(PeerEvent::up("aa", "127.0.0.1:7".into()))).is_empty());
        assert!(facts(&Event::Failure(FailureEvent::Removed {
            message: "removed".into()
        }))
        .is_empty());
    }

    #[test]
    fn a_nameless_peer_is_named_by_its_short_id() {
        let id = "ab".repeat(32);
        let f = facts(&Event::Peer(PeerEvent::recovered(&id, "")));
        assert_eq!(
            f,
            [Fact::SyncOk {
                peer: id.clone(),
                name: id[..12].to_string()
            }]
        );
    }
}
