//! Figures of native mode for `p2p/status` (DESIGN §6.1), `sync status` and the UI.

use std::net::SocketAddr;

pub use crate::dto::status::NativePeer;
pub use crate::dto::status::NativeStatus;
use serde_json::{json, Value};

impl NativeStatus {
    /// All zeros, for an endpoint bound at `addr`.
    pub fn new(addr: SocketAddr) -> NativeStatus {
        NativeStatus {
            addr,
            initiates: false,
            round: 0,
            pending_announcements: 0,
            known_ids: 0,
            local_ids: 0,
            bloom_filter_items: 0,
            bloom_filter_fpr: 0.0,
            successful_syncs: 0,
            failed_syncs: 0,
            changes_sent: 0,
            changes_received: 0,
            changes_applied: 0,
            exact_differences: 0,
            listed_differences: 0,
            reconcile_bytes_in: 0,
            bytes_out: 0,
            bytes_in: 0,
            peers: Vec::new(),
            last_error: None,
        }
    }

    /// The body of `GET /api/v1/p2p/status` (DESIGN §6.1; extra keys after the required ones).
    pub fn p2p_status_json(&self, node_id: &str) -> Value {
        let connected = self.peers.iter().filter(|p| p.connected).count();
        json!({
            "node_id": node_id,
            "enabled": true,
            "port": self.addr.port(),
            "peer_count": connected,
            "connected_peers": self.peers.iter().map(|p| json!({
                "addr": p.addr,
                "connected": p.connected,
                "node_id": p.node_id,
                "last_round_ms": p.last_round_ms,
                "queued_changes": p.queued_changes,
                "to_receive": p.to_receive,
            })).collect::<Vec<_>>(),
            "gossip_stats": {
                "round": self.round,
                "pending_announcements": self.pending_announcements,
                "known_ids": self.known_ids,
                "bloom_filter_items": self.bloom_filter_items,
                "bloom_filter_fpr": self.bloom_filter_fpr,
                "exact_differences": self.exact_differences,
                "listed_differences": self.listed_differences,
                "reconcile_bytes_in": self.reconcile_bytes_in,
                "changes_sent": self.changes_sent,
                "changes_received": self.changes_received,
                "bytes_in": self.bytes_in,
                "bytes_out": self.bytes_out,
                "initiates": self.initiates,
            },
            "sync_stats": {
                "peer_count": self.peers.len(),
                "local_ids": self.local_ids,
                "total_successful_syncs": self.successful_syncs,
                "total_failed_syncs": self.failed_syncs,
            },
        })
    }
}
