//! Payloads of the events `GET /api/v1/sync/events` streams and the tray reacts to (DESIGN §6.2):
//! one type per event, serialized by the engine, matched on by the tray, generated into
//! `ui/src/engine_types.ts`.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::status::{NativeStatus, SyncCounters};

/// Payload of a `status` event: the mode changed, or a sync asked for started or ended.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StatusEvent {
    /// What changed.
    pub cause: StatusCause,
    /// The mode before, when the mode changed from a decided one.
    pub from: Option<String>,
    /// The mode now.
    pub mode: String,
    /// Why.
    pub mode_reason: String,
    /// Whether a sync asked for (`sync now`, a hook) runs now: status then says "Syncing".
    pub syncing: bool,
}

/// What a `status` event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum StatusCause {
    /// The sync mode changed (or was decided for the first time).
    Mode,
    /// A sync asked for started, or the last one running ended.
    Syncing,
}

/// How a device became known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum NearbySource {
    /// Announced over mDNS/DNS-SD.
    Mdns,
    /// Listed in `discovery.manualPeers`.
    Manual,
}

/// One nearby device as listed by `GET /api/v1/sync/nearby` and `mayros sync discover --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NearbyDevice {
    /// Its node id; null for a manual peer given as a bare `host:port`.
    pub node_id: Option<String>,
    /// Its device name (the endpoint for a manual peer without one).
    pub name: String,
    /// Its addresses.
    #[ts(type = "string[]")]
    pub addresses: Vec<IpAddr>,
    /// Its QUIC port, when announced.
    pub quic_port: Option<u16>,
    /// Its peer HTTPS API port, when known.
    pub https_port: Option<u16>,
    /// Whether it is a member of our group.
    pub paired: bool,
    /// When it was last seen (RFC 3339).
    pub last_seen: String,
    /// Where it comes from.
    pub source: NearbySource,
}

/// A change to publish as a `nearby` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NearbyChange {
    /// What happened.
    pub change: NearbyChangeKind,
    /// The device (as last known, for "gone").
    pub device: NearbyDevice,
}

/// The state of a pairing this device started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// `waiting`, `paired`, `rejected` or `failed`.
    pub state: String,
    /// The verification code, `NNN NNN`.
    pub code: String,
    /// The other device.
    pub node_id: String,
    /// Its name.
    pub name: String,
    /// Why it ended, when it did not pair.
    pub reason: Option<String>,
}

/// A pending pairing request, as listed (`mayros sync requests`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RequestView {
    /// The requesting device.
    pub node_id: String,
    /// Its name.
    pub name: String,
    /// Where it connects from.
    pub address: String,
    /// The verification code, `NNN NNN`.
    pub code: String,
    /// When the request expires (RFC 3339).
    pub expires_at: String,
    /// Whether the requesting device already belongs to a group.
    pub in_group: bool,
}

/// What happened to a nearby device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum NearbyChangeKind {
    /// It was seen for the first time (or again after it went).
    Appeared,
    /// Its name, addresses or pairing changed.
    Updated,
    /// It was not seen for too long.
    Gone,
}

/// Payload of a `metrics` event (every 2 s while anyone listens).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MetricsEvent {
    /// Live triples in the local store (null when the store could not be read).
    pub triple_count: Option<u64>,
    /// "native", "polled" or "none".
    pub mode: String,
    /// Gossip figures while native gossip runs.
    pub gossip: Option<NativeStatus>,
    /// Sync counters.
    pub sync: SyncCounters,
    /// Nearby devices discovered.
    pub nearby_count: u64,
}

/// Payload of a `peer` event: a link came up or went down, or a failing peer synced again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(untagged)]
pub enum PeerEvent {
    /// A sync with a peer that was failing succeeded.
    Recovered(RecoveredPeer),
    /// A sync link came up or went down (native mode).
    Link(PeerLink),
}

/// A peer whose failing sync succeeded again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RecoveredPeer {
    /// Its node id.
    pub node_id: String,
    /// Its name.
    pub name: String,
    /// Always "ok".
    pub result: String,
    /// Always true.
    pub recovered: bool,
}

/// A sync link's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PeerLink {
    /// The peer's node id.
    pub node_id: String,
    /// Whether the link is up now.
    pub connected: bool,
    /// Where it came from (when it came up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub addr: Option<String>,
    /// Why it went down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<String>,
}

/// Payload of a `failure` event: something to show the user (and notify).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FailureEvent {
    /// A sync (polled) or a round or dial (native) with a peer failed.
    #[serde(rename_all = "camelCase")]
    Sync {
        /// The peer's node id.
        peer: String,
        /// Its name.
        name: String,
        /// Failures in a row (polled mode).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        failures: Option<u64>,
        /// What went wrong.
        message: String,
    },
    /// A device was refused: not a member, a wrong seed, no certificate.
    #[serde(rename_all = "camelCase")]
    Security {
        /// Its node id, when it presented a certificate.
        node_id: Option<String>,
        /// Where it connected from.
        address: String,
        /// What was refused and why.
        message: String,
    },
    /// A member removed this device from the group.
    Removed {
        /// What it means for the user.
        message: String,
    },
}

/// Payload of a `pairing` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PairingEvent {
    /// "requested", "waiting", "paired", "rejected", "expired" or "failed".
    pub change: String,
    /// The request, the pairing this device started, or the other device.
    pub detail: PairingDetail,
}

/// What a `pairing` event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(untagged)]
pub enum PairingDetail {
    /// A request waiting for the user.
    Request(RequestView),
    /// A pairing this device started.
    Session(SessionView),
    /// The other device of a finished request.
    Device(PairedDevice),
}

/// The other device of a finished pairing request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PairedDevice {
    /// Its node id.
    pub node_id: String,
    /// Its name.
    pub name: String,
}

/// Payload of a `conflict` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConflictEvent {
    /// The peer whose changes conflicted.
    pub peer: String,
    /// Conflicts logged.
    pub count: u64,
}

impl PeerEvent {
    /// A failing peer synced again.
    pub fn recovered(node_id: &str, name: &str) -> PeerEvent {
        PeerEvent::Recovered(RecoveredPeer {
            node_id: node_id.to_string(),
            name: name.to_string(),
            result: "ok".to_string(),
            recovered: true,
        })
    }

    /// A sync link to `node_id` came up from `addr`.
    pub fn up(node_id: &str, addr: String) -> PeerEvent {
        PeerEvent::Link(PeerLink {
            node_id: node_id.to_string(),
            connected: true,
            addr: Some(addr),
            reason: None,
        })
    }

    /// The sync link to `node_id` went down.
    pub fn down(node_id: &str, reason: String) -> PeerEvent {
        PeerEvent::Link(PeerLink {
            node_id: node_id.to_string(),
            connected: false,
            addr: None,
            reason: Some(reason),
        })
    }
}

impl NearbyChangeKind {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            NearbyChangeKind::Appeared => "appeared",
            NearbyChangeKind::Updated => "updated",
            NearbyChangeKind::Gone => "gone",
        }
    }
}
