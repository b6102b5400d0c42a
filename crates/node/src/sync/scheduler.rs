//! The polled-mode scheduler (DESIGN §5): a round every `sync.intervalSeconds` (jittered),
//! and retries of unreachable peers when their backoff expires. It sleeps until the next of
//! those, or until the mode or the pause changes (a resume is acted on at once).

use std::sync::Arc;
use std::time::Duration;

use mayros_sync_proto::mode::SyncMode;
use mayros_sync_proto::peerstate::{is_due, jittered_interval_ms, PeerStatus};
use mayros_sync_proto::wake::{next_wake_ms, WakeInputs};
use tokio::sync::watch;

use crate::engine::Engine;

/// Runs until `stop` changes.
pub async fn run(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) {
    let mut next_round = engine.clock().now_ms() + first_delay(&engine);
    let mut retry_deadlines: Vec<u64> = Vec::new();
    let mut control = engine.control().subscribe();
    loop {
        let now = engine.clock().now_ms();
        let (mode, paused) = {
            let c = control.borrow_and_update();
            (c.mode().mode, c.pause_at(now))
        };
        let wake = next_wake_ms(&WakeInputs {
            now_ms: now,
            mode,
            paused,
            next_round_ms: next_round,
            retry_deadlines_ms: &retry_deadlines,
        });
        // Counters change with every sync; only a new mode or pause is a reason to wake.
        let moved = control.wait_for(|c| (c.mode().mode, c.pause_at(now)) != (mode, paused));
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wake - now)) => {}
            _ = moved => {}
            _ = stop.changed() => return,
        }
        let now = engine.clock().now_ms();
        if engine.mode().mode != SyncMode::Polled || engine.control().pause_at(now).is_some() {
            continue;
        }
        let round_due = now >= next_round;
        if round_due {
            next_round = now + first_delay(&engine);
        }
        let peers = match engine.with_store(|s| s.peers()).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "scheduler cannot read peers");
                continue;
            }
        };
        retry_deadlines.clear();
        for peer in peers.into_iter().filter(|p| p.endpoint.is_some()) {
            if peer.status == PeerStatus::Unreachable {
                retry_deadlines.extend(peer.next_retry_at_ms);
            }
            let due = is_due(peer.status, peer.next_retry_at_ms, round_due, now);
            let busy = engine
                .sync_state()
                .pull_lock(&peer.node_id)
                .try_lock()
                .is_err();
            if due && !busy {
                let me = Arc::clone(&engine);
                tokio::spawn(async move {
                    me.pull_from(&peer).await;
                });
            }
        }
    }
}

fn first_delay(engine: &Engine) -> u64 {
    let interval = engine.config().config.sync.interval_seconds * 1000;
    jittered_interval_ms(interval, rand::random())
}
