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
        cortex: CortexStatus {
            backend: "embedded".into(),
            url: Some("http://127.0.0.1:1".into()),
            healthy: true,
            message: String::new(),
            version: Some("0.1.0".into()),
            rate_limited: false,
            rate_limited_count: 0,
            rate_limit_remaining: None,
            requests: 0,
            p2p: None,
            p2p_reason: None,
            mirror: None,
            synced_by: None,
        },
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
    PeerView {
        node_id: node_id.into(),
        name: name.into(),
        endpoint: None,
        quic_addr: None,
        namespaces: Vec::new(),
        status: "active".into(),
        last_sync_at: None,
        last_result: None,
        total_syncs: 0,
        total_triples_synced: 0,
        failures: 0,
        last_error: None,
        next_retry_at: None,
        stale: false,
        state: String::new(),
        state_reason: None,
        to_receive: 0,
        to_send: 0,
    }
}

/// Gossip that answers on 127.0.0.1:19091 and has done nothing yet.
pub(crate) fn gossip() -> NativeStatus {
    NativeStatus::new(([127, 0, 0, 1], 19091).into())
}
