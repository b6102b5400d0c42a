//! Engine events → the shell's notification policy → a recording notifier, through the real
//! event hub of a running engine.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use mayros_sync_node::dto::{
    ConflictEvent, FailureEvent, PairingDetail, PairingEvent, PeerEvent, RequestView,
};
use mayros_sync_node::events::Event;
use mayros_sync_tray::notify_policy::{Decision, NoteKey};
use serde_json::json;
use tauri::Listener as _;

fn failure(n: u64) -> Event {
    Event::Failure(FailureEvent::Sync {
        peer: "aa".repeat(32),
        name: "laptop".into(),
        failures: Some(n),
        message: format!("connection refused (attempt {n})"),
    })
}

fn recovered() -> Event {
    Event::Peer(PeerEvent::recovered(&"aa".repeat(32), "laptop"))
}

/// Waits until the recorder holds `n` decisions (or fails after 5 s).
fn wait_for(t: &common::TestApp, n: usize) -> Vec<Decision> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let seen = t.notifier.decisions();
        if seen.len() >= n || Instant::now() > deadline {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until the shell follows the engine's events.
fn wait_subscribed(t: &common::TestApp) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while t.host.engine().events().subscribers() == 0 {
        assert!(Instant::now() < deadline, "the shell never subscribed");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_failure_streak_gives_one_notification_and_recovery_withdraws_it() {
    let t = common::start(false);
    wait_subscribed(&t);
    let hub = t.host.engine().events();
    for n in 1..=5 {
        hub.publish(failure(n));
    }
    let seen = wait_for(&t, 1);
    let key = NoteKey::Failing("aa".repeat(32));
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(matches!(&seen[0], Decision::Show { key: k, summary, body }
        if *k == key && summary == "Sync with laptop is failing" && body == "connection refused (attempt 3)"));

    hub.publish(recovered());
    let seen = wait_for(&t, 3);
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[1], Decision::Close { key });
    assert!(
        matches!(&seen[2], Decision::Show { summary, .. } if summary == "Back in sync with laptop")
    );
    // Nothing stacked later: the shell handles events in order, so once a conflict published
    // after them is notified, every earlier event has been handled.
    hub.publish(Event::Conflict(ConflictEvent {
        peer: "aa".repeat(32),
        count: 1,
    }));
    let seen = wait_for(&t, 4);
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(
        matches!(&seen[3], Decision::Show { summary, .. } if summary == "1 new conflict"),
        "{seen:?}"
    );
}

#[test]
fn pairing_requests_and_conflicts_are_notified() {
    let t = common::start(false);
    wait_subscribed(&t);
    let hub = t.host.engine().events();
    hub.publish(Event::Pairing(PairingEvent {
        change: "requested".into(),
        detail: PairingDetail::Request(RequestView {
            node_id: "cc".repeat(32),
            name: "phone".into(),
            address: "127.0.0.1:7".into(),
            code: "123 456".into(),
            expires_at: "2026-12-07T08:00:00Z".into(),
            in_group: false,
        }),
    }));
    hub.publish(Event::Conflict(ConflictEvent {
        peer: "aa".into(),
        count: 2,
    }));
    let seen = wait_for(&t, 2);
    let summaries: Vec<&str> = seen
        .iter()
        .filter_map(|d| match d {
            Decision::Show { summary, .. } => Some(summary.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(summaries, ["phone wants to pair", "2 new conflicts"]);
    assert!(matches!(&seen[0], Decision::Show { body, .. } if body == "Code 123 456"));
}

#[test]
fn ui_notifications_off_shows_nothing() {
    let t = common::start(false);
    wait_subscribed(&t);
    t.invoke(
        "put_config",
        json!({"config": {"ui": {"notifications": false}}}),
    )
    .unwrap();
    let hub = t.host.engine().events();
    for n in 1..=5 {
        hub.publish(failure(n));
    }
    // The shell forwards each engine event to the UI after its notifications: once the
    // recovery reached the UI, every event above went through the policy.
    let (tx, rx) = std::sync::mpsc::channel();
    t.app.listen_any("engine://peer", move |e| {
        let _ = tx.send(e.payload().to_string());
    });
    hub.publish(recovered());
    let payload = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let payload: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload["recovered"], true);
    assert!(t.notifier.decisions().is_empty());
    // Back on, the next notice is shown.
    t.invoke("put_config", json!({"config": {}})).unwrap();
    hub.publish(Event::Failure(FailureEvent::Security {
        node_id: None,
        address: "127.0.0.1:9".into(),
        message: "unknown certificate".into(),
    }));
    let seen = wait_for(&t, 1);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(matches!(
        &seen[0],
        Decision::Show {
            key: NoteKey::Security,
            ..
        }
    ));
}
