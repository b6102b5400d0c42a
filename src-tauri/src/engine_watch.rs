//! Follows the engine's event hub: forwards every event to the UI, turns the ones that matter
//! into notification facts for the [`NotifyPolicy`], and asks the tray to refresh.

use std::sync::Arc;
use std::time::Instant;

use mayros_sync_node::events::Event;
use serde_json::Value;
use tauri::{AppHandle, Runtime};
use tokio::sync::broadcast::error::RecvError;

use crate::notifier::Notifier;
use crate::notify_policy::{Fact, NotifyPolicy};
use crate::shell_state::ShellState;
use crate::ui_events::{self, UiEvent};

/// The notification facts in an engine event.
pub fn facts(event: &Event) -> Vec<Fact> {
    let data = event.data();
    let s = |ptr: &str| {
        data.pointer(ptr)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let peer_name = |id: &str| {
        s("/name")
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| short(id))
    };
    match event {
        Event::Failure(_) => match s("/kind").as_deref() {
            Some("sync") => {
                let Some(peer) = s("/peer").or_else(|| s("/nodeId")) else {
                    return Vec::new();
                };
                vec![Fact::SyncFailed {
                    name: peer_name(&peer),
                    message: s("/message").unwrap_or_default(),
                    peer,
                }]
            }
            Some("security") => vec![Fact::Security {
                message: s("/message").unwrap_or_default(),
            }],
            _ => Vec::new(),
        },
        Event::Peer(_) if s("/result").as_deref() == Some("ok") => {
            match s("/nodeId").or_else(|| s("/peer")) {
                Some(peer) => vec![Fact::SyncOk {
                    name: peer_name(&peer),
                    peer,
                }],
                None => Vec::new(),
            }
        }
        Event::Pairing(_) if s("/change").as_deref() == Some("requested") => {
            match (s("/detail/nodeId"), s("/detail/code")) {
                (Some(peer), Some(code)) => vec![Fact::PairRequest {
                    name: s("/detail/name")
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| short(&peer)),
                    peer,
                    code,
                }],
                _ => Vec::new(),
            }
        }
        Event::Conflict(_) => {
            let count = data.get("count").and_then(Value::as_u64).unwrap_or(1);
            vec![Fact::Conflicts { count }]
        }
        _ => Vec::new(),
    }
}

fn short(id: &str) -> String {
    id.get(..12).unwrap_or(id).to_string()
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
    use serde_json::json;

    #[test]
    fn engine_events_become_facts() {
        let f = facts(&Event::Failure(json!({
            "kind": "sync", "peer": "aa", "name": "laptop", "failures": 2, "message": "refused"
        })));
        assert_eq!(
            f,
            [Fact::SyncFailed {
                peer: "aa".into(),
                name: "laptop".into(),
                message: "refused".into()
            }]
        );
        let f = facts(&Event::Peer(json!({
            "nodeId": "aa", "name": "laptop", "result": "ok", "recovered": true
        })));
        assert_eq!(
            f,
            [Fact::SyncOk {
                peer: "aa".into(),
                name: "laptop".into()
            }]
        );
        let f = facts(&Event::Pairing(json!({
            "change": "requested",
            "detail": {"nodeId": "cc", "name": "phone", "code": "123 456"}
        })));
        assert_eq!(
            f,
            [Fact::PairRequest {
                peer: "cc".into(),
                name: "phone".into(),
                code: "123 456".into()
            }]
        );
        assert_eq!(
            facts(&Event::Conflict(json!({"peer": "aa", "count": 2}))),
            [Fact::Conflicts { count: 2 }]
        );
        assert!(matches!(
            &facts(&Event::Failure(json!({"kind": "security", "message": "x"})))[..],
            [Fact::Security { .. }]
        ));
        assert!(facts(&Event::Peer(json!({"nodeId": "aa", "connected": true}))).is_empty());
        assert!(facts(&Event::Metrics(json!({}))).is_empty());
    }
}
