//! The replicated state a gossip round reconciles: for each item id, its latest version
//! (live or tombstone) under last-writer-wins. Used by the round machine and the simulator;
//! the engine's store offers the same view over SQLite.

use std::collections::HashMap;

use crate::reconcile::summary::{FingerprintKey, Summary};

/// One version of an item: live or deleted, stamped (hlc, author).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version {
    /// HLC stamp of the change.
    pub hlc: u64,
    /// Author (a small node index in the simulator; a node-id hash in the engine).
    pub author: u64,
    /// Whether the item is live (false: tombstone).
    pub live: bool,
}

impl Version {
    /// Whether `self` beats `other` under last-writer-wins; a delete wins a tie.
    pub fn beats(&self, other: &Version) -> bool {
        (self.hlc, self.author, !self.live) > (other.hlc, other.author, !other.live)
    }
}

/// An item as it travels: id and version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Item {
    /// The item id (a triple id in the engine).
    pub id: [u8; 32],
    /// Its version.
    pub version: Version,
}

impl Item {
    /// Content hash of (id, version): what the summary and exact reconciliation compare.
    pub fn state_hash(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(b"mayros-gossip/state/1");
        h.update(&self.id);
        h.update(&self.version.hlc.to_le_bytes());
        h.update(&self.version.author.to_le_bytes());
        h.update(&[u8::from(self.version.live)]);
        *h.finalize().as_bytes()
    }

    /// The 8-byte short form of the state hash used by the rateless IBLT.
    pub fn short(&self) -> u64 {
        let h = self.state_hash();
        u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]])
    }
}

/// An in-memory LWW replica with an incrementally maintained summary.
#[derive(Debug, Clone)]
pub struct Replica {
    items: HashMap<[u8; 32], Version>,
    by_short: HashMap<u64, [u8; 32]>,
    summary: Summary,
    key: FingerprintKey,
}

impl Replica {
    /// An empty replica; `key` is the group's fingerprint key.
    pub fn new(key: FingerprintKey) -> Replica {
        Replica {
            items: HashMap::new(),
            by_short: HashMap::new(),
            summary: Summary::new(""),
            key,
        }
    }

    /// Merges one item; returns whether it changed the replica.
    pub fn merge(&mut self, item: Item) -> bool {
        if let Some(old) = self.items.get(&item.id).copied() {
            if !item.version.beats(&old) {
                return false;
            }
            let old_item = Item {
                id: item.id,
                version: old,
            };
            self.forget(&old_item);
        }
        self.items.insert(item.id, item.version);
        let h = item.state_hash();
        if item.version.live {
            self.summary.insert_live(&self.key, &h);
        } else {
            self.summary.insert_tomb(&self.key, &h);
        }
        self.by_short.insert(item.short(), item.id);
        true
    }

    fn forget(&mut self, item: &Item) {
        let h = item.state_hash();
        if item.version.live {
            self.summary.remove_live(&self.key, &h);
        } else {
            self.summary.remove_tomb(&self.key, &h);
        }
        self.by_short.remove(&item.short());
    }

    /// The current summary.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Short state ids of every item.
    pub fn shorts(&self) -> impl Iterator<Item = u64> + '_ {
        self.by_short.keys().copied()
    }

    /// The item whose current state has this short id.
    pub fn by_short(&self, short: u64) -> Option<Item> {
        let id = self.by_short.get(&short)?;
        self.items.get(id).map(|v| Item {
            id: *id,
            version: *v,
        })
    }

    /// Every item, in no particular order.
    pub fn items(&self) -> impl Iterator<Item = Item> + '_ {
        self.items.iter().map(|(id, v)| Item {
            id: *id,
            version: *v,
        })
    }

    /// Number of items (live and tombstones).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the replica holds nothing.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
