//! The group's seeds over time (DESIGN §7.2, §7.3): the current seed with its rotation epoch,
//! and the seeds it replaced, still accepted for a while from roster members that missed a
//! rotation (offline at the time) so they can link and be handed the current one.
//!
//! Seeds are totally ordered by `(epoch, bytes)`: members that rotate at the same time end up on
//! the same seed whichever message arrives first. Each seed names the removals its creator knew
//! of: a member that learns of another removal rotates again, so the seed the group ends on was
//! made by a member that knew every removal and is never passed to a removed device.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::seedproof::GroupSeed;

/// How many replaced seeds are kept.
pub const MAX_RETIRED: usize = 4;
/// How long a replaced seed is still accepted from members (30 days).
pub const RETIRED_TTL_MS: u64 = 30 * 24 * 3_600 * 1_000;

/// Marks the encoded form that carries epochs (a bare 32-byte secret is the first version).
const MAGIC: &[u8; 4] = b"MSR2";

/// A seed with the rotation epoch that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochSeed {
    /// Rotations since the group was created (0 for a seed received by pairing).
    pub epoch: u64,
    /// The 32 secret bytes.
    pub seed: GroupSeed,
    /// Devices its creator knew to be removed; it is never sent to them.
    pub removed: BTreeSet<String>,
}

impl EpochSeed {
    /// A seed at `epoch` made knowing of no removal.
    pub fn new(epoch: u64, seed: GroupSeed) -> EpochSeed {
        EpochSeed {
            epoch,
            seed,
            removed: BTreeSet::new(),
        }
    }

    fn key(&self) -> (u64, [u8; 32]) {
        (self.epoch, self.seed.0)
    }
}

/// A seed that was replaced, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredSeed {
    /// The seed and its epoch.
    pub seed: EpochSeed,
    /// When it was replaced (unix ms, local clock).
    pub retired_at_ms: u64,
}

/// What [`SeedRing::offer`] did with a seed a member sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// It is newer: it is the current seed now.
    Adopted,
    /// It is the current seed (its epoch may have been raised).
    Same,
    /// It is older than the current seed: ignored.
    Older,
}

/// The current seed and the recently replaced ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedRing {
    current: Option<EpochSeed>,
    retired: Vec<RetiredSeed>,
}

/// Why stored seed bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the stored group seed ({len} bytes) is not in a known format: {why}")]
pub struct SeedFormatError {
    /// Length of what was read.
    pub len: usize,
    /// What is wrong with it.
    pub why: &'static str,
}

impl SeedRing {
    /// A ring holding `seed` at epoch 0 and nothing retired (a seed created or received by pairing).
    pub fn with(seed: GroupSeed) -> SeedRing {
        SeedRing {
            current: Some(EpochSeed::new(0, seed)),
            retired: Vec::new(),
        }
    }

    /// The current seed, if this device is in a group.
    pub fn current(&self) -> Option<&GroupSeed> {
        self.current.as_ref().map(|c| &c.seed)
    }

    /// The current seed with its epoch.
    pub fn current_epoch(&self) -> Option<&EpochSeed> {
        self.current.as_ref()
    }

    /// The replaced seeds still kept, newest first.
    pub fn retired(&self) -> &[RetiredSeed] {
        &self.retired
    }

    /// Seeds a roster member may prove at `now_ms`: the current one first, then unexpired
    /// replaced ones, newest first.
    pub fn accepted(&self, now_ms: u64) -> Vec<GroupSeed> {
        let mut out: Vec<GroupSeed> = self.current.iter().map(|c| c.seed.clone()).collect();
        out.extend(
            self.retired
                .iter()
                .filter(|r| now_ms.saturating_sub(r.retired_at_ms) < RETIRED_TTL_MS)
                .map(|r| r.seed.seed.clone()),
        );
        out
    }

    /// Whether `seed` is this ring's current seed or one it replaced.
    pub fn knows(&self, seed: &GroupSeed) -> bool {
        self.current() == Some(seed) || self.retired.iter().any(|r| r.seed.seed == *seed)
    }

    /// Joins a group with the seed received by pairing: forgets every seed of a group left.
    pub fn join(&mut self, seed: GroupSeed) {
        if self.current() == Some(&seed) {
            return;
        }
        *self = SeedRing::with(seed);
    }

    /// Takes the ring of a group joined by pairing (`--group theirs`) as this one, whichever
    /// seed sorts first, and keeps our current seed as a replaced one: the pairing merged the
    /// two rosters, so the members of the group left can still reach this device for
    /// [`RETIRED_TTL_MS`] and the merged group's seeds converge.
    pub fn switch_to(&mut self, joined: &SeedRing, now_ms: u64) {
        let ours = self.current.take();
        *self = joined.clone();
        if let Some(ours) = ours.filter(|o| !self.knows(&o.seed)) {
            self.retired.insert(
                0,
                RetiredSeed {
                    seed: ours,
                    retired_at_ms: now_ms,
                },
            );
            self.retired.truncate(MAX_RETIRED);
        }
    }

    /// Replaces the current seed by `seed` one epoch later, made knowing of the removals
    /// `removed` (after an unpair); the old one is retired at `now_ms`.
    pub fn rotate(&mut self, seed: GroupSeed, removed: BTreeSet<String>, now_ms: u64) {
        let epoch = self
            .current
            .as_ref()
            .map_or(0, |c| c.epoch.saturating_add(1));
        self.replace(
            EpochSeed {
                epoch,
                seed,
                removed,
            },
            now_ms,
        );
    }

    /// Considers a seed a member sent: adopts it when it sorts after the current one.
    pub fn offer(&mut self, offered: EpochSeed, now_ms: u64) -> Offer {
        match &mut self.current {
            Some(cur) if cur.seed == offered.seed => {
                cur.epoch = cur.epoch.max(offered.epoch);
                cur.removed.extend(offered.removed);
                Offer::Same
            }
            Some(cur) if cur.key() > offered.key() => Offer::Older,
            _ => {
                self.replace(offered, now_ms);
                Offer::Adopted
            }
        }
    }

    /// Adds to the removals the current seed is kept from (a seed received by pairing is kept
    /// from every removal in the roster it came with).
    pub fn note_removed(&mut self, removed: &BTreeSet<String>) {
        if let Some(cur) = &mut self.current {
            cur.removed.extend(removed.iter().cloned());
        }
    }

    /// Forgets every seed (this device was removed from its group).
    pub fn clear(&mut self) {
        *self = SeedRing::default();
    }

    /// Drops replaced seeds older than [`RETIRED_TTL_MS`]; returns whether any went.
    pub fn expire(&mut self, now_ms: u64) -> bool {
        let before = self.retired.len();
        self.retired
            .retain(|r| now_ms.saturating_sub(r.retired_at_ms) < RETIRED_TTL_MS);
        self.retired.len() != before
    }

    fn replace(&mut self, next: EpochSeed, now_ms: u64) {
        if let Some(old) = self.current.replace(next) {
            self.retired.retain(|r| r.seed.seed != old.seed);
            self.retired.insert(
                0,
                RetiredSeed {
                    seed: old,
                    retired_at_ms: now_ms,
                },
            );
        }
        if let Some(cur) = &self.current {
            let cur = cur.seed.clone();
            self.retired.retain(|r| r.seed.seed != cur);
        }
        self.retired.truncate(MAX_RETIRED);
    }

    /// The bytes kept in the secret store (empty when there is no seed).
    pub fn encode(&self) -> Vec<u8> {
        let Some(cur) = &self.current else {
            return Vec::new();
        };
        if cur.epoch == 0 && cur.removed.is_empty() && self.retired.is_empty() {
            // The first version's form: older engines still read it.
            return cur.seed.0.to_vec();
        }
        let stored = StoredRing {
            current: StoredSeed::from(cur, 0),
            retired: self
                .retired
                .iter()
                .map(|r| StoredSeed::from(&r.seed, r.retired_at_ms))
                .collect(),
        };
        let mut out = MAGIC.to_vec();
        // Plain strings and numbers: serializing cannot fail.
        out.extend(serde_json::to_vec(&stored).unwrap_or_default());
        out
    }

    /// Reads what [`SeedRing::encode`] wrote (or a bare 32-byte seed of the first version).
    pub fn decode(bytes: &[u8]) -> Result<SeedRing, SeedFormatError> {
        let err = |why| SeedFormatError {
            len: bytes.len(),
            why,
        };
        if bytes.is_empty() {
            return Ok(SeedRing::default());
        }
        if let Ok(seed) = <[u8; 32]>::try_from(bytes) {
            return Ok(SeedRing::with(GroupSeed(seed)));
        }
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or(err("neither a 32-byte seed nor a seed ring"))?;
        let stored: StoredRing =
            serde_json::from_slice(rest).map_err(|_| err("the seed ring does not parse"))?;
        if stored.retired.len() > MAX_RETIRED {
            return Err(err("too many replaced seeds"));
        }
        let current = stored
            .current
            .to_seed()
            .ok_or(err("a seed is not 64 hex digits"))?;
        let mut retired = Vec::with_capacity(stored.retired.len());
        for r in stored.retired {
            let retired_at_ms = r.retired_at_ms;
            let seed = r.to_seed().ok_or(err("a seed is not 64 hex digits"))?;
            retired.push(RetiredSeed {
                seed,
                retired_at_ms,
            });
        }
        Ok(SeedRing {
            current: Some(current),
            retired,
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StoredRing {
    current: StoredSeed,
    retired: Vec<StoredSeed>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StoredSeed {
    epoch: u64,
    seed: String,
    removed: BTreeSet<String>,
    #[serde(default)]
    retired_at_ms: u64,
}

impl StoredSeed {
    fn from(s: &EpochSeed, retired_at_ms: u64) -> StoredSeed {
        StoredSeed {
            epoch: s.epoch,
            seed: hex::encode(s.seed.0),
            removed: s.removed.clone(),
            retired_at_ms,
        }
    }

    fn to_seed(&self) -> Option<EpochSeed> {
        Some(EpochSeed {
            epoch: self.epoch,
            seed: GroupSeed(crate::clickpair::hex32(&self.seed)?),
            removed: self.removed.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: u8) -> GroupSeed {
        GroupSeed([b; 32])
    }

    #[test]
    fn rotation_retires_the_old_seed_and_keeps_accepting_it_for_a_while() {
        let mut ring = SeedRing::with(s(1));
        ring.rotate(s(2), BTreeSet::new(), 1_000);
        assert_eq!(ring.current(), Some(&s(2)));
        assert_eq!(ring.current_epoch().map(|c| c.epoch), Some(1));
        assert_eq!(ring.accepted(2_000), vec![s(2), s(1)]);
        assert_eq!(ring.accepted(1_000 + RETIRED_TTL_MS), vec![s(2)]);
        assert!(ring.expire(1_000 + RETIRED_TTL_MS));
        assert!(ring.retired().is_empty());
    }

    #[test]
    fn concurrent_rotations_converge_whichever_arrives_first() {
        let mut a = SeedRing::with(s(1));
        let mut b = a.clone();
        a.rotate(s(7), BTreeSet::new(), 10);
        b.rotate(s(9), BTreeSet::new(), 10);
        let (ea, eb) = (a.current_epoch().cloned(), b.current_epoch().cloned());
        let (Some(ea), Some(eb)) = (ea, eb) else {
            panic!("both rotated")
        };
        assert_eq!(a.offer(eb, 20), Offer::Adopted);
        assert_eq!(b.offer(ea, 20), Offer::Older);
        assert_eq!(a.current(), b.current());
        assert_eq!(a.current(), Some(&s(9)));
        // The losing seed stays accepted where it was current.
        assert!(a.accepted(30).contains(&s(7)));
    }

    #[test]
    fn a_member_with_the_same_seed_at_a_higher_epoch_raises_ours_without_retiring() {
        let mut joiner = SeedRing::with(s(3));
        let offered = EpochSeed::new(5, s(3));
        assert_eq!(joiner.offer(offered, 1), Offer::Same);
        assert_eq!(joiner.current_epoch().map(|c| c.epoch), Some(5));
        assert!(joiner.retired().is_empty());
    }

    #[test]
    fn encoding_round_trips_and_the_first_version_is_read() {
        let mut ring = SeedRing::with(s(1));
        assert_eq!(ring.encode(), vec![1; 32], "epoch 0 keeps the old form");
        for i in 2..10 {
            ring.rotate(s(i), BTreeSet::from([format!("{i}")]), u64::from(i) * 100);
        }
        assert_eq!(ring.retired().len(), MAX_RETIRED);
        let back = SeedRing::decode(&ring.encode()).expect("decodes");
        assert_eq!(back, ring);
        assert_eq!(
            SeedRing::decode(&[5; 32]).expect("legacy").current(),
            Some(&s(5))
        );
        assert_eq!(SeedRing::decode(&[]).expect("empty"), SeedRing::default());
    }

    #[test]
    fn damaged_bytes_are_refused_with_the_reason() {
        let mut ring = SeedRing::with(s(1));
        ring.rotate(s(2), BTreeSet::new(), 5);
        let bytes = ring.encode();
        for cut in [3, 10, 44, bytes.len() - 1] {
            let e = SeedRing::decode(&bytes[..cut]).expect_err("truncated");
            assert!(e.to_string().contains("not in a known format"), "{e}");
        }
        let text = String::from_utf8_lossy(&bytes[4..]).into_owned();
        let bad_hex = text.replacen(&hex::encode([2u8; 32]), "zz", 1);
        let mut damaged = MAGIC.to_vec();
        damaged.extend(bad_hex.as_bytes());
        assert_eq!(
            SeedRing::decode(&damaged).expect_err("hex").why,
            "a seed is not 64 hex digits"
        );
    }
}
