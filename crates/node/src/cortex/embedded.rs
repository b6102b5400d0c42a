//! The embedded Cortex: this engine's store. Healthy while the store answers; its P2P layer is
//! this engine's QUIC gossip, so `p2p/status` is enabled while the QUIC endpoint runs
//! (DESIGN §3.1).

use mayros_sync_proto::mode::{HealthProbe, P2pProbe};

use crate::engine::worker::StoreWorker;
use crate::error::Error;

/// Health of the embedded Cortex and its triple count (blocking: it reads the store).
pub fn health(store: &StoreWorker) -> (HealthProbe, Option<u64>) {
    match store.call(|s| s.triple_count().map_err(Error::Store)) {
        Ok(n) => (HealthProbe::Healthy, Some(n)),
        Err(e) => (
            HealthProbe::Unhealthy {
                reason: e.to_string(),
            },
            None,
        ),
    }
}

/// The P2P probe of the embedded Cortex: enabled while the QUIC endpoint runs.
pub fn p2p_probe(quic_running: bool, node_id: &str) -> P2pProbe {
    match quic_running {
        true => P2pProbe::Enabled {
            node_id: node_id.to_string(),
        },
        false => P2pProbe::Disabled {
            reason: "p2p/status answered 404: P2P not enabled (QUIC endpoint not running)".into(),
        },
    }
}
