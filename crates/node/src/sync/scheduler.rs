//! The polled-mode scheduler (DESIGN §5): a round every `sync.intervalSeconds` (jittered),
//! and retries of unreachable peers when their backoff expires.

use std::sync::Arc;
use std::time::Duration;

use mayros_sync_proto::mode::SyncMode;
use mayros_sync_proto::peerstate::{is_due, jittered_interval_ms};
use tokio::sync::watch;

use crate::engine::Engine;

/// Longest sleep between checks, so config changes and retries are noticed.
const MAX_NAP: Duration = Duration::from_secs(5);

/// Runs until `stop` changes.
pub async fn run(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) {
    let mut next_round = engine.clock().now_ms() + first_delay(&engine);
    loop {
        let now = engine.clock().now_ms();
        let nap = Duration::from_millis(next_round.saturating_sub(now)).min(MAX_NAP);
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = stop.changed() => return,
        }
        let now = engine.clock().now_ms();
        if engine.mode().mode != SyncMode::Polled || engine.sync_state().pause_state(now).is_some()
        {
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
        for peer in peers.into_iter().filter(|p| p.endpoint.is_some()) {
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
