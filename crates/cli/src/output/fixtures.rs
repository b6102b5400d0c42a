//! Typed fixtures of the engine's answers for the formatting tests: one complete status
//! snapshot, one peer, one gossip block; tests change the fields they are about.

use mayros_sync_node::dto::{CortexStatus, NativeStatus, PeerView, StatusSnapshot, SyncCounters};
use mayros_sync_proto::syncstate::{OverallState, StateSummary};

/// A complete snapshot of an idle engine: polled mode, embedded Cortex, no peers, nothing to
/// look at.
pub(crate) fn snapshot() -> StatusSnapshot {
    StatusSnapshot {
        mode: "polled".into(),
        state: OverallState::InSync,
        summary: StateSummary {
            state: OverallState::InSync,
            label: "In sync".into(),
            details: Vec::new(),
            online: 0,
            paired: 0,
        },
        mode_reason: "p2p disabled".into(),
        node_id: "ab".into(),
        name: "box".into(),
        version: "0.1.0".into(),
        uptime_seconds: 0,
        cortex: CortexStatus::embedded(
            Some("http://127.0.0.1:1".into()),
            true,
            String::new(),
            Some("0.1.0".into()),
        ),
        secret_store: "file".into(),
        peers: Vec::new(),
        gossip: None,
        sync: SyncCounters::default(),
        nearby_count: 0,
        conflicts_count: 0,
        unseen_conflicts: 0,
        review_count: 0,
        triple_count: 0,
        paused: false,
        paused_until: None,
        auth_rejected: 0,
        peer_api: None,
        config_path: "/c.json".into(),
        warnings: Vec::new(),
    }
}

/// An active peer that never synced.
pub(crate) fn peer(node_id: &str, name: &str) -> PeerView {
    PeerView::new(node_id, name)
}

/// Gossip that answers on 127.0.0.1:19091 and has done nothing yet.
pub(crate) fn gossip() -> NativeStatus {
    NativeStatus::new(([127, 0, 0, 1], 19091).into())
}
