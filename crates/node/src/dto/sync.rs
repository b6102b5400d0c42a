//! Answers of `POST /api/v1/sync/now` and the hooks (DESIGN §6.2): what each peer's sync did.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The outcome of syncing with one peer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PullReport {
    /// The peer's node id.
    pub node_id: String,
    /// The peer's name.
    pub name: String,
    /// Whether the sync completed.
    pub ok: bool,
    /// Triples and deletions received.
    pub received: u64,
    /// Changes applied here (new triples, deletions, conflict resolutions excluded).
    pub applied: u64,
    /// Conflicts recorded.
    pub conflicts: u64,
    /// Triples held for review instead of inserted (DESIGN §2.3): offered in a full comparison
    /// that we lacked, older than our collection horizon.
    pub held_for_review: u64,
    /// Whether this pull was a full comparison (the peer was stale, or our cursor expired).
    pub full_comparison: bool,
    /// Changes the peer applied when it pulled from us (`sync now` only).
    pub sent: u64,
    /// Pages fetched.
    pub pages: u64,
    /// Wall time of the sync.
    pub duration_ms: u64,
    /// Body bytes sent to the peer (HTTP headers and TLS framing excluded).
    pub bytes_out: u64,
    /// Body bytes received from the peer.
    pub bytes_in: u64,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub error: Option<String>,
}

/// The answer of `sync now` and of the hooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SyncNowOutcome {
    /// The mode in force.
    pub mode: String,
    /// Whether the request was deferred to gossip (native mode).
    pub deferred: bool,
    /// What happened, in words.
    pub message: String,
    /// One result per peer.
    pub results: Vec<PullReport>,
}
