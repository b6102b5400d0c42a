//! The list of nearby devices (DESIGN §7.1): a pure registry with time passed in.
//!
//! Devices come from mDNS (keyed by node id) or from `discovery.manualPeers` (keyed by node id
//! when the entry names one, else by its endpoint). Each change that a user would notice — a
//! device appearing, going, or becoming paired — is returned as a [`NearbyChange`] so the
//! caller can publish it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use crate::locks::lock;

pub use crate::dto::events::NearbyChange;
pub use crate::dto::events::NearbyDevice;
pub use crate::dto::events::NearbySource;

/// What an announcement or a manual entry says about a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    /// Node id, when known.
    pub node_id: Option<String>,
    /// Device name.
    pub name: String,
    /// Addresses.
    pub addresses: Vec<IpAddr>,
    /// QUIC port.
    pub quic_port: Option<u16>,
    /// HTTPS port.
    pub https_port: Option<u16>,
    /// Source.
    pub source: NearbySource,
}

impl Sighting {
    /// The registry key: the node id, else `manual:<name>` (a manual peer's endpoint).
    pub fn key(&self) -> String {
        match &self.node_id {
            Some(id) => id.clone(),
            None => format!("manual:{}", self.name),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    sighting: Sighting,
    paired: bool,
    last_seen_ms: u64,
}

impl Entry {
    fn view(&self) -> NearbyDevice {
        NearbyDevice {
            node_id: self.sighting.node_id.clone(),
            name: self.sighting.name.clone(),
            addresses: self.sighting.addresses.clone(),
            quic_port: self.sighting.quic_port,
            https_port: self.sighting.https_port,
            paired: self.paired,
            last_seen: mayros_sync_proto::timefmt::format_rfc3339_ms(self.last_seen_ms),
            source: self.sighting.source,
        }
    }
}

/// Nearby devices, with expiry of the ones not seen for `stale_after_ms`.
#[derive(Debug, Clone)]
pub struct NearbyRegistry {
    entries: BTreeMap<String, Entry>,
    stale_after_ms: u64,
}

impl NearbyRegistry {
    /// An empty registry that expires entries not seen for `stale_after_ms`.
    pub fn new(stale_after_ms: u64) -> NearbyRegistry {
        NearbyRegistry {
            entries: BTreeMap::new(),
            stale_after_ms,
        }
    }

    /// Records a sighting at `now_ms`; `paired` says whether its node id is in our roster.
    /// Returns "appeared" for a new device, "updated" when what is listed changed (not for a
    /// mere refresh of last seen).
    pub fn seen(&mut self, s: Sighting, paired: bool, now_ms: u64) -> Option<NearbyChange> {
        let key = s.key();
        match self.entries.get_mut(&key) {
            Some(e) => {
                let changed = e.sighting != s || e.paired != paired;
                e.sighting = s;
                e.paired = paired;
                e.last_seen_ms = e.last_seen_ms.max(now_ms);
                changed.then(|| NearbyChange {
                    change: crate::dto::NearbyChangeKind::Updated,
                    device: e.view(),
                })
            }
            None => {
                let e = Entry {
                    sighting: s,
                    paired,
                    last_seen_ms: now_ms,
                };
                let device = e.view();
                self.entries.insert(key, e);
                Some(NearbyChange {
                    change: crate::dto::NearbyChangeKind::Appeared,
                    device,
                })
            }
        }
    }

    /// Refreshes last seen of a device still present (its mDNS records are still valid).
    pub fn touch(&mut self, key: &str, now_ms: u64) {
        if let Some(e) = self.entries.get_mut(key) {
            e.last_seen_ms = e.last_seen_ms.max(now_ms);
        }
    }

    /// Removes a device (an mDNS goodbye, a manual peer taken out of the config).
    pub fn remove(&mut self, key: &str) -> Option<NearbyChange> {
        self.entries.remove(key).map(|e| NearbyChange {
            change: crate::dto::NearbyChangeKind::Gone,
            device: e.view(),
        })
    }

    /// Removes every device of `source` whose key is not in `keep`.
    pub fn retain_source(&mut self, source: NearbySource, keep: &[String]) -> Vec<NearbyChange> {
        let drop: Vec<String> = self
            .entries
            .iter()
            .filter(|(k, e)| e.sighting.source == source && !keep.contains(k))
            .map(|(k, _)| k.clone())
            .collect();
        drop.iter().filter_map(|k| self.remove(k)).collect()
    }

    /// Removes devices not seen for longer than the stale limit.
    pub fn expire(&mut self, now_ms: u64) -> Vec<NearbyChange> {
        let limit = self.stale_after_ms;
        let stale: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| now_ms.saturating_sub(e.last_seen_ms) > limit)
            .map(|(k, _)| k.clone())
            .collect();
        stale.iter().filter_map(|k| self.remove(k)).collect()
    }

    /// Re-evaluates the paired flag of every device with a node id.
    pub fn refresh_paired(&mut self, is_member: impl Fn(&str) -> bool) -> Vec<NearbyChange> {
        let mut out = Vec::new();
        for e in self.entries.values_mut() {
            let paired = e.sighting.node_id.as_deref().is_some_and(&is_member);
            if paired != e.paired {
                e.paired = paired;
                out.push(NearbyChange {
                    change: crate::dto::NearbyChangeKind::Updated,
                    device: e.view(),
                });
            }
        }
        out
    }

    /// The devices, ordered by key.
    pub fn list(&self) -> Vec<NearbyDevice> {
        self.entries.values().map(Entry::view).collect()
    }

    /// How many devices are listed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no device is listed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A device not seen (no valid mDNS records, no successful manual resolution) for this long
/// is dropped.
pub const STALE_AFTER: Duration = Duration::from_secs(150);

/// The nearby list shared by the discovery task and the API.
#[derive(Debug)]
pub struct NearbyState {
    registry: Mutex<NearbyRegistry>,
}

impl Default for NearbyState {
    fn default() -> Self {
        NearbyState {
            registry: Mutex::new(NearbyRegistry::new(STALE_AFTER.as_millis() as u64)),
        }
    }
}

impl NearbyState {
    /// The devices listed now.
    pub fn list(&self) -> Vec<NearbyDevice> {
        lock(&self.registry).list()
    }

    /// How many devices are listed now.
    pub fn count(&self) -> usize {
        lock(&self.registry).len()
    }

    /// Runs `f` on the registry.
    pub fn with<R>(&self, f: impl FnOnce(&mut NearbyRegistry) -> R) -> R {
        f(&mut lock(&self.registry))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    fn mdns(id: &str, quic: u16) -> Sighting {
        Sighting {
            node_id: Some(id.into()),
            name: "laptop".into(),
            addresses: vec!["127.0.0.1".parse().unwrap()],
            quic_port: Some(quic),
            https_port: Some(19092),
            source: NearbySource::Mdns,
        }
    }

    #[test]
    fn appear_refresh_update_and_expire() {
        let mut r = NearbyRegistry::new(10_000);
        let c = r.seen(mdns(A, 1), false, 1_000).unwrap();
        assert_eq!(c.change, crate::dto::NearbyChangeKind::Appeared);
        assert_eq!(c.device.node_id.as_deref(), Some(A));
        assert_eq!(c.device.last_seen, "1970-01-01T00:00:01.000Z");
        // The same announcement again only refreshes last seen.
        assert_eq!(r.seen(mdns(A, 1), false, 5_000), None);
        assert_eq!(r.list()[0].last_seen, "1970-01-01T00:00:05.000Z");
        // A new port is an update.
        assert_eq!(
            r.seen(mdns(A, 2), false, 6_000).unwrap().change,
            crate::dto::NearbyChangeKind::Updated
        );
        assert_eq!(r.list()[0].quic_port, Some(2));
        r.touch(A, 9_000);
        assert!(r.expire(19_000).is_empty(), "seen 10 s ago: not stale yet");
        let gone = r.expire(19_001);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].change, crate::dto::NearbyChangeKind::Gone);
        assert!(r.is_empty());
    }

    #[test]
    fn removal_and_paired_flag() {
        let mut r = NearbyRegistry::new(10_000);
        r.seen(mdns(A, 1), false, 0);
        assert!(!r.list()[0].paired);
        let changed = r.refresh_paired(|id| id == A);
        assert_eq!(changed.len(), 1);
        assert!(changed[0].device.paired);
        assert!(r.refresh_paired(|id| id == A).is_empty(), "no change twice");
        assert_eq!(
            r.remove(A).unwrap().change,
            crate::dto::NearbyChangeKind::Gone
        );
        assert_eq!(r.remove(A), None);
    }

    #[test]
    fn manual_peers_by_endpoint_or_node_id() {
        let mut r = NearbyRegistry::new(10_000);
        let bare = Sighting {
            node_id: None,
            name: "10.0.0.5:19092".into(),
            addresses: vec!["10.0.0.5".parse().unwrap()],
            quic_port: None,
            https_port: Some(19092),
            source: NearbySource::Manual,
        };
        r.seen(bare.clone(), false, 0);
        r.seen(mdns(A, 1), false, 0);
        assert_eq!(r.len(), 2);
        // A bare manual peer is never paired (no node id to check).
        assert!(r
            .refresh_paired(|_| true)
            .iter()
            .all(|c| c.device.node_id.is_some()));
        // Taking it out of the config removes only manual entries.
        let gone = r.retain_source(NearbySource::Manual, &[]);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].device.name, "10.0.0.5:19092");
        assert_eq!(r.len(), 1);
        // Keeping it keeps it.
        r.seen(bare.clone(), false, 0);
        assert!(r
            .retain_source(NearbySource::Manual, &[bare.key()])
            .is_empty());
        assert_eq!(r.len(), 2);
    }
}
