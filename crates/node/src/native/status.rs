//! Figures of native mode for `p2p/status` (DESIGN §6.1), `sync status` and the UI.

use std::net::SocketAddr;

use serde::Serialize;
use serde_json::{json, Value};

/// One roster peer as native mode sees it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NativePeer {
    /// The peer's node id.
    pub node_id: String,
    /// Its QUIC address (the link's, or the last known).
    pub addr: Option<String>,
    /// Whether a sync link is up.
    pub connected: bool,
    /// Duration of the last round this node started with it.
    pub last_round_ms: Option<u64>,
    /// Changes queued for it.
    pub queued_changes: usize,
    /// Changes it said it queued for us that have not arrived yet.
    pub to_receive: u64,
    /// Why the last round or dial with it failed (cleared by a good round).
    pub failing: Option<String>,
    /// Why it has no link now: the link was lost, or our dial failed (cleared when a link is up).
    pub link_error: Option<String>,
    /// A round proved the pair in sync since the link came up.
    pub proven_in_sync: bool,
}

/// Gossip figures, refreshed by the driver after every step.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NativeStatus {
    /// The bound UDP address.
    pub addr: SocketAddr,
    /// Whether this node starts rounds and pushes (native mode) or only answers.
    pub initiates: bool,
    /// Gossip rounds this node took part in (started or answered).
    pub round: u64,
    /// Local changes not yet sent to every connected peer.
    pub pending_announcements: u64,
    /// Synced elements here (live ids plus tombstones).
    pub known_ids: u64,
    /// Live synced ids here.
    pub local_ids: u64,
    /// Items in the last Bloom filter sent.
    pub bloom_filter_items: u64,
    /// Estimated false-positive rate of the last Bloom filter sent.
    pub bloom_filter_fpr: f64,
    /// Rounds that ended in sync or reconciled.
    pub successful_syncs: u64,
    /// Rounds abandoned.
    pub failed_syncs: u64,
    /// Changes sent (pushes and round transfers).
    pub changes_sent: u64,
    /// Changes received.
    pub changes_received: u64,
    /// Received changes that altered the store.
    pub changes_applied: u64,
    /// Differences found by exact reconciliation here.
    pub exact_differences: u64,
    /// Differences found by listings here (large or unknown differences).
    pub listed_differences: u64,
    /// Bytes received in the messages that find differences (summaries, filters, IBLT
    /// symbols, listings; frame headers included, change payloads and acks excluded).
    pub reconcile_bytes_in: u64,
    /// Sync-stream bytes written since start.
    pub bytes_out: u64,
    /// Sync-stream bytes read since start.
    pub bytes_in: u64,
    /// Roster peers with their link state.
    pub peers: Vec<NativePeer>,
    /// The last replica or decode error, if any.
    pub last_error: Option<String>,
}

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
