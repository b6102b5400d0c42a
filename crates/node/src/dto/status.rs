//! Status of the engine as `GET /api/v1/sync/status`, `mayros sync status --json`, the window and
//! the tray read it (DESIGN §6.2, §8, §13): one set of types, serialized by the engine and
//! deserialized by the CLI and the tray; `ui/src/engine_types.ts` is generated from them.

use std::net::SocketAddr;

use mayros_sync_proto::syncstate::{OverallState, StateSummary};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A snapshot of the engine for `GET /api/v1/sync/status` and `mayros sync status --json`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Status")]
pub struct StatusSnapshot {
    /// "native", "polled" or "none".
    pub mode: String,
    /// The overall state (DESIGN §13): in-sync, syncing, paused, offline or attention.
    pub state: OverallState,
    /// The overall state with its label and what is behind it, as every front end shows it.
    pub summary: StateSummary,
    /// Why that mode was chosen.
    pub mode_reason: String,
    /// This device's node id.
    pub node_id: String,
    /// This device's name.
    pub name: String,
    /// Engine version.
    pub version: String,
    /// Seconds since the engine started.
    pub uptime_seconds: u64,
    /// The Cortex this engine syncs.
    pub cortex: CortexStatus,
    /// Where device secrets are kept ("keyring", "file" or "memory").
    pub secret_store: String,
    /// Sync peers with their last sync and state.
    pub peers: Vec<PeerView>,
    /// Gossip statistics; null while native gossip does not run.
    pub gossip: Option<NativeStatus>,
    /// Sync counters.
    pub sync: SyncCounters,
    /// Number of nearby devices discovered.
    pub nearby_count: u64,
    /// Number of logged conflicts.
    pub conflicts_count: u64,
    /// Conflicts logged since the user last looked at them (window or tray).
    pub unseen_conflicts: u64,
    /// Number of items held for review.
    pub review_count: u64,
    /// Live triples in the local store.
    pub triple_count: u64,
    /// Whether syncing is paused.
    pub paused: bool,
    /// Until when (RFC 3339); null while paused until resumed.
    pub paused_until: Option<String>,
    /// Peer requests refused by authentication since the store was created.
    pub auth_rejected: u64,
    /// The bound peer API address, if served.
    pub peer_api: Option<String>,
    /// The config file in force.
    pub config_path: String,
    /// Human-readable warnings (config clamping, clock skew, …).
    pub warnings: Vec<String>,
}

/// Cortex backend and health in the status snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CortexStatus {
    /// "embedded" or "external".
    pub backend: String,
    /// The Cortex URL (the local API for the embedded backend).
    pub url: Option<String>,
    /// Whether the last health check passed.
    pub healthy: bool,
    /// The health detail (e.g. "12 triples"), or why it is unhealthy.
    pub message: String,
    /// The Cortex's version (ours for the embedded one; the sidecar's `server.version` from
    /// `/api/v1/stats` once it reported one).
    pub version: Option<String>,
    /// Whether the external Cortex answered 429 in the last two minutes ("rate-limited by
    /// Cortex").
    pub rate_limited: bool,
    /// 429 answers from the external Cortex since the backend was selected.
    pub rate_limited_count: u64,
    /// The last `x-ratelimit-remaining` the external Cortex sent.
    pub rate_limit_remaining: Option<u64>,
    /// Requests sent to the external Cortex since the backend was selected.
    pub requests: u64,
    /// The external Cortex's `p2p/status` while its P2P is enabled.
    pub p2p: Option<serde_json::Value>,
    /// Why the external Cortex's P2P is not available (404, a timeout, …).
    pub p2p_reason: Option<String>,
    /// The mirror of the external Cortex (null for the embedded one).
    pub mirror: Option<MirrorView>,
    /// Who carries the sync of an external Cortex, in words (null for the embedded one): always
    /// this engine, over its mirror; the sidecar's own P2P never syncs (DESIGN §3.3).
    pub synced_by: Option<String>,
}

/// Success and failure counters of sync attempts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SyncCounters {
    /// Completed syncs.
    pub total_successful_syncs: u64,
    /// Failed syncs.
    pub total_failed_syncs: u64,
    /// When the last sync finished (RFC 3339), if any.
    pub last_sync_at: Option<String>,
}

/// A peer as shown by `GET /api/v1/sync/peers` and `mayros sync peers --json` (DESIGN §8).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PeerView {
    /// Node id.
    pub node_id: String,
    /// Device name.
    pub name: String,
    /// Peer API endpoint.
    pub endpoint: Option<String>,
    /// QUIC address (native mode).
    pub quic_addr: Option<String>,
    /// Namespaces synced with it (empty: all).
    pub namespaces: Vec<String>,
    /// active, paused, unreachable or removed.
    pub status: String,
    /// Last sync time (RFC 3339).
    pub last_sync_at: Option<String>,
    /// "ok" or "error".
    pub last_result: Option<String>,
    /// Completed syncs.
    pub total_syncs: u64,
    /// Changes applied from it.
    pub total_triples_synced: u64,
    /// Consecutive failures.
    pub failures: u64,
    /// The last error.
    pub last_error: Option<String>,
    /// Next retry (RFC 3339) while unreachable.
    pub next_retry_at: Option<String>,
    /// It missed deletions we collected after `sync.tombstoneMaxRetentionDays` (DESIGN §2.3):
    /// our next sync with it is a full comparison whose old unknown items go to review.
    pub stale: bool,
    /// Where it stands (DESIGN §13): in-sync, syncing, failing, unreachable, paused, removed
    /// or offline; computed by the engine, rendered as is by the CLI, window and tray (empty
    /// in listings that do not compute it).
    #[ts(type = "PeerSyncState | \"\"")]
    pub state: String,
    /// Why it is failing, unreachable or offline.
    pub state_reason: Option<String>,
    /// Changes it said it queued for us that have not arrived (native mode; an estimate).
    pub to_receive: u64,
    /// Changes queued for it (native mode).
    pub to_send: u64,
}

/// The mirror's figures for status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MirrorView {
    /// Completed cycles since the backend was selected.
    pub cycles: u64,
    /// When the last cycle completed (RFC 3339).
    pub last_cycle_at: Option<String>,
    /// Triples the sidecar listed in the last cycle.
    pub listed: u64,
    /// Triples imported into the mirror by the last cycle.
    pub imported: u64,
    /// Triples deleted from the mirror by the last cycle (gone from the sidecar).
    pub deleted: u64,
    /// Triples written to the sidecar by the last cycle.
    pub pushed: u64,
    /// Deletions written to the sidecar by the last cycle.
    pub pushed_deletes: u64,
    /// Requests the last cycle's listing took.
    pub list_requests: u64,
    /// Whether the last listing could be used to detect deletions.
    pub complete: bool,
    /// Why the last cycle failed, if it did (cleared by a successful one).
    pub last_error: Option<String>,
}

/// One roster peer as native mode sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Gossip")]
pub struct NativeStatus {
    /// The bound UDP address.
    #[ts(type = "string")]
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

impl CortexStatus {
    /// The status of an embedded Cortex: nothing of a sidecar (rate limits, P2P, mirror).
    pub fn embedded(
        url: Option<String>,
        healthy: bool,
        message: String,
        version: Option<String>,
    ) -> CortexStatus {
        CortexStatus {
            backend: "embedded".into(),
            url,
            healthy,
            message,
            version,
            rate_limited: false,
            rate_limited_count: 0,
            rate_limit_remaining: None,
            requests: 0,
            p2p: None,
            p2p_reason: None,
            mirror: None,
            synced_by: None,
        }
    }
}

impl PeerView {
    /// An active peer that never synced, whose state is not computed yet.
    pub fn new(node_id: &str, name: &str) -> PeerView {
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
}
/// A stored peer as status shows it, before its state is computed.
impl From<&mayros_sync_store::PeerRecord> for PeerView {
    fn from(p: &mayros_sync_store::PeerRecord) -> PeerView {
        PeerView {
            node_id: p.node_id.clone(),
            name: p.name.clone(),
            endpoint: p.endpoint.clone(),
            quic_addr: p.quic_addr.clone(),
            namespaces: p.namespaces.clone(),
            status: p.status.as_str().to_string(),
            last_sync_at: p
                .last_sync_at_ms
                .map(mayros_sync_proto::timefmt::format_rfc3339_ms),
            last_result: p.last_result.map(|r| r.as_str().to_string()),
            total_syncs: p.total_syncs,
            total_triples_synced: p.total_triples_synced,
            failures: p.failures,
            last_error: p.last_error.clone(),
            next_retry_at: p
                .next_retry_at_ms
                .map(mayros_sync_proto::timefmt::format_rfc3339_ms),
            stale: p.stale,
            state: String::new(),
            state_reason: None,
            to_receive: 0,
            to_send: 0,
        }
    }
}
