//! What a gossip round reconciles, as seen by the round machine: the [`Replica`] trait the
//! engine implements over its store, the [`Payload`] of one change, and [`MemReplica`], the
//! in-memory last-writer-wins replica the simulator runs.
//!
//! An item's reconciliation **element** is its id plus whether it is live or a tombstone: two
//! replicas agree when they hold the same live ids and the same tombstoned ids. Versions
//! (hlc, author) only decide which side wins when the elements differ, so asserting the same
//! triple on two devices is not a difference, while a live id on one side and a tombstone on
//! the other is, and the change with the newer stamp then wins on both.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::encode::put_varint;
use crate::frame::read_varint;
use crate::reconcile::summary::{FingerprintKey, Summary};

/// Label of the single summary that covers every synced namespace.
pub const ALL_NAMESPACES: &str = "*";

/// One item's reconciliation element: its id and whether it is live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Element {
    /// The item id (a triple id in the engine).
    pub id: [u8; 32],
    /// Live (true) or tombstone (false).
    pub live: bool,
}

impl Element {
    /// The element's 8-byte short id under the group key (IBLT and Bloom input).
    pub fn short(&self, key: &FingerprintKey) -> u64 {
        key.element_short(&self.id, self.live)
    }
}

/// The 32-byte Bloom-filter input of a short id.
pub fn bloom_key(short: u64) -> [u8; 32] {
    let mut k = [0u8; 32];
    k[..8].copy_from_slice(&short.to_le_bytes());
    k
}

/// Where a batch of changes comes from; the replica decides how carefully to apply it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// A local change the author pushed as it happened.
    Push,
    /// Found by a round (recent window or exact reconciliation): may be old, so an item we lack
    /// that is older than our tombstone-collection horizon must not be resurrected (§2.3).
    Round,
}

impl Source {
    fn code(self) -> u8 {
        match self {
            Source::Push => 0,
            Source::Round => 1,
        }
    }

    fn from_code(c: u8) -> Option<Source> {
        match c {
            0 => Some(Source::Push),
            1 => Some(Source::Round),
            _ => None,
        }
    }
}

/// One change as it travels: a live item with its payload, or a tombstone.
pub trait Payload: Clone + fmt::Debug {
    /// The element this change produces.
    fn element(&self) -> Element;
    /// Appends the wire form.
    fn encode(&self, out: &mut Vec<u8>);
    /// Parses one change from the front of `buf`; returns it and the bytes used.
    fn decode(buf: &[u8]) -> Option<(Self, usize)>;
    /// Length of the wire form.
    fn encoded_len(&self) -> usize;
}

/// One page of [`Replica::scan`]: the changes and the cursor of the next page (`None`: done).
pub type ScanPage<C> = (Vec<C>, Option<u64>);

/// The replicated state a node reconciles, implemented by the engine over its store.
///
/// Every method may fail (the engine's store is a database); the machine then abandons the
/// round and reports the error, never panics.
pub trait Replica<P> {
    /// The change type carried in batches.
    type Change: Payload;
    /// What can go wrong.
    type Error: fmt::Display;

    /// The summary of every synced element (namespace [`ALL_NAMESPACES`]).
    fn summary(&mut self) -> Result<Summary, Self::Error>;
    /// A monotonic marker of the local change log (its head position).
    fn marker(&mut self) -> Result<u64, Self::Error>;
    /// The elements changed after `since`; `None` when there are more than `max`.
    fn window(&mut self, since: u64, max: usize) -> Result<Option<Vec<Element>>, Self::Error>;
    /// Every synced element.
    fn elements(&mut self) -> Result<Vec<Element>, Self::Error>;
    /// The current changes for these ids (ids no longer held are skipped).
    fn fetch(&mut self, ids: &[[u8; 32]]) -> Result<Vec<Self::Change>, Self::Error>;
    /// Every current change, a page at a time in storage order (sending everything to an
    /// empty peer); `cursor` starts at 0; returns the page and the next cursor, `None` at the end.
    fn scan(&mut self, cursor: u64, limit: usize) -> Result<ScanPage<Self::Change>, Self::Error>;
    /// Applies a batch received from `from`; returns how many changes altered the replica.
    fn apply(
        &mut self,
        from: &P,
        changes: Vec<Self::Change>,
        source: Source,
    ) -> Result<usize, Self::Error>;
}

/// Encodes a batch of changes (count varint, then each change).
pub fn encode_changes<C: Payload>(changes: &[C], out: &mut Vec<u8>) {
    put_varint(out, changes.len() as u64);
    for c in changes {
        c.encode(out);
    }
}

/// Parses [`encode_changes`]; `None` if malformed or if bytes remain.
pub fn decode_changes<C: Payload>(buf: &[u8]) -> Option<Vec<C>> {
    let (n, mut pos) = read_varint(buf)?;
    // Every change takes at least one byte: a count beyond the buffer is a lie.
    if n > buf.len() as u64 {
        return None;
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let (c, used) = C::decode(buf.get(pos..)?)?;
        pos += used;
        out.push(c);
    }
    (pos == buf.len()).then_some(out)
}

pub(crate) fn source_code(s: Source) -> u8 {
    s.code()
}

pub(crate) fn source_from_code(c: u8) -> Option<Source> {
    Source::from_code(c)
}

/// One version of an item: live or deleted, stamped (hlc, author).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version {
    /// HLC stamp of the change.
    pub hlc: u64,
    /// Author (a small node index in the simulator).
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

/// The simulator's change: an id and its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Item {
    /// The item id.
    pub id: [u8; 32],
    /// Its version.
    pub version: Version,
}

/// Bytes of one [`Item`] on the wire (id, hlc, author, flag).
pub const ITEM_WIRE_LEN: usize = 32 + 8 + 8 + 1;

impl Payload for Item {
    fn element(&self) -> Element {
        Element {
            id: self.id,
            live: self.version.live,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&self.version.hlc.to_le_bytes());
        out.extend_from_slice(&self.version.author.to_le_bytes());
        out.push(u8::from(self.version.live));
    }

    fn decode(buf: &[u8]) -> Option<(Item, usize)> {
        let b = buf.get(..ITEM_WIRE_LEN)?;
        let id: [u8; 32] = b[..32].try_into().ok()?;
        let hlc = u64::from_le_bytes(b[32..40].try_into().ok()?);
        let author = u64::from_le_bytes(b[40..48].try_into().ok()?);
        let live = match b[48] {
            0 => false,
            1 => true,
            _ => return None,
        };
        Some((
            Item {
                id,
                version: Version { hlc, author, live },
            },
            ITEM_WIRE_LEN,
        ))
    }

    fn encoded_len(&self) -> usize {
        ITEM_WIRE_LEN
    }
}

/// An in-memory LWW replica with a change log, tombstone collection and a review queue: the
/// simulator's stand-in for the engine's store, with the same rules.
#[derive(Debug, Clone)]
pub struct MemReplica {
    items: HashMap<[u8; 32], Version>,
    summary: Summary,
    key: FingerprintKey,
    log: Vec<[u8; 32]>,
    horizon: Option<u64>,
    review: HashSet<[u8; 32]>,
}

impl MemReplica {
    /// An empty replica; `key` is the group's fingerprint key.
    pub fn new(key: FingerprintKey) -> MemReplica {
        MemReplica {
            items: HashMap::new(),
            summary: Summary::new(ALL_NAMESPACES),
            key,
            log: Vec::new(),
            horizon: None,
            review: HashSet::new(),
        }
    }

    fn set_summary(&mut self, id: &[u8; 32], live: bool, add: bool) {
        match (live, add) {
            (true, true) => self.summary.insert_live(&self.key, id),
            (true, false) => self.summary.remove_live(&self.key, id),
            (false, true) => self.summary.insert_tomb(&self.key, id),
            (false, false) => self.summary.remove_tomb(&self.key, id),
        }
    }

    /// Merges one item under LWW; returns whether it changed the replica.
    pub fn merge(&mut self, item: Item) -> bool {
        match self.items.get(&item.id).copied() {
            Some(old) => {
                if !item.version.beats(&old) {
                    return false;
                }
                self.set_summary(&item.id, old.live, false);
            }
            None => {
                if let Some(h) = self.horizon {
                    if item.version.live && item.version.hlc <= h {
                        self.review.insert(item.id);
                        return false;
                    }
                    if !item.version.live && item.version.hlc <= h {
                        // A tombstone we may have collected already: nothing to keep.
                        return false;
                    }
                }
            }
        }
        self.items.insert(item.id, item.version);
        self.set_summary(&item.id, item.version.live, true);
        self.log.push(item.id);
        true
    }

    /// Drops tombstones stamped at or before `horizon` and remembers the horizon (§2.3).
    pub fn collect(&mut self, horizon: u64) {
        let gone: Vec<[u8; 32]> = self
            .items
            .iter()
            .filter(|(_, v)| !v.live && v.hlc <= horizon)
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.items.remove(&id);
            self.set_summary(&id, false, false);
        }
        self.horizon = Some(self.horizon.map_or(horizon, |h| h.max(horizon)));
    }

    /// Ids held for review instead of being resurrected.
    pub fn review(&self) -> &HashSet<[u8; 32]> {
        &self.review
    }

    /// The current summary.
    pub fn current_summary(&self) -> &Summary {
        &self.summary
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

impl<P> Replica<P> for MemReplica {
    type Change = Item;
    type Error = std::convert::Infallible;

    fn summary(&mut self) -> Result<Summary, Self::Error> {
        Ok(self.summary.clone())
    }

    fn marker(&mut self) -> Result<u64, Self::Error> {
        Ok(self.log.len() as u64)
    }

    fn window(&mut self, since: u64, max: usize) -> Result<Option<Vec<Element>>, Self::Error> {
        let from = usize::try_from(since)
            .unwrap_or(usize::MAX)
            .min(self.log.len());
        let recent = &self.log[from..];
        if recent.len() > max {
            return Ok(None);
        }
        let ids: HashSet<[u8; 32]> = recent.iter().copied().collect();
        Ok(Some(
            ids.into_iter()
                .filter_map(|id| self.items.get(&id).map(|v| Element { id, live: v.live }))
                .collect(),
        ))
    }

    fn elements(&mut self) -> Result<Vec<Element>, Self::Error> {
        Ok(self
            .items
            .iter()
            .map(|(id, v)| Element {
                id: *id,
                live: v.live,
            })
            .collect())
    }

    fn fetch(&mut self, ids: &[[u8; 32]]) -> Result<Vec<Item>, Self::Error> {
        Ok(ids
            .iter()
            .filter_map(|id| {
                self.items.get(id).map(|v| Item {
                    id: *id,
                    version: *v,
                })
            })
            .collect())
    }

    fn scan(&mut self, cursor: u64, limit: usize) -> Result<ScanPage<Item>, Self::Error> {
        let mut ids: Vec<&[u8; 32]> = self.items.keys().collect();
        ids.sort();
        let start = usize::try_from(cursor).unwrap_or(usize::MAX).min(ids.len());
        let end = start.saturating_add(limit.max(1)).min(ids.len());
        let page = ids[start..end]
            .iter()
            .filter_map(|id| {
                self.items.get(*id).map(|v| Item {
                    id: **id,
                    version: *v,
                })
            })
            .collect();
        Ok((page, (end < ids.len()).then_some(end as u64)))
    }

    fn apply(
        &mut self,
        _from: &P,
        changes: Vec<Item>,
        source: Source,
    ) -> Result<usize, Self::Error> {
        let horizon = self.horizon;
        if source == Source::Push {
            // Pushes are fresh local changes: no review horizon.
            self.horizon = None;
        }
        let n = changes.into_iter().filter(|c| self.merge(*c)).count();
        self.horizon = horizon;
        Ok(n)
    }
}
