//! Per-namespace set summary for the in-sync check (DESIGN §4 step 1, target ≤ 64 B each way).
//!
//! A [`Summary`] holds, for one namespace, the number of live triple ids and of tombstones,
//! and an order-independent fingerprint of each set. Two peers whose summaries agree skip the
//! Bloom and exact reconciliation steps of the round.
//!
//! # Fingerprint
//!
//! The fingerprint of a set is the sum, modulo 2²⁵⁶, of `E(id) = BLAKE3-keyed(key, id)` over
//! its ids, read as 256-bit little-endian integers. Insert adds `E(id)`, remove subtracts it:
//! both O(1), so the store can keep summaries current inside its write transactions, and the
//! result does not depend on the order of operations.
//!
//! Why this and not a XOR: a XOR of raw ids (or of unkeyed hashes) is linear over GF(2), so
//! anyone who can choose about 257 ids (and triple content chooses ids) finds two different
//! sets with the same fingerprint by Gaussian elimination, and an id inserted twice cancels
//! out. An additive sum has no such linear structure (this is Bellare–Micciancio's AdHash), and
//! because `E` is keyed, someone without the key cannot even compute the terms. The key is
//! derived from the group seed ([`FingerprintKey::from_group_seed`]), which every roster
//! member has, so all members agree on fingerprints, and an outsider who can only get content
//! into a store cannot steer it. A member holding the key could still search for colliding
//! sets with Wagner's generalised-birthday algorithm; members are trusted writers anyway, and a
//! false "in sync" only postpones reconciliation until the sets change again.
//!
//! # Wire form
//!
//! `namespace (varint length ‖ UTF-8) ‖ live_count varint ‖ live_fp[..16] ‖ tomb_count varint
//! ‖ tomb_fp[..16]`: 41 bytes for `mayros` with fewer than 251 ids of each kind, 47 bytes with
//! 500 k live ids and 1 000 tombstones. Only the low 128 bits of each fingerprint travel: two
//! different sets of equal size agree on them by accident with probability 2⁻¹²⁸ (a sum of
//! keyed pseudo-random terms is uniform modulo 2¹²⁸ as much as modulo 2²⁵⁶), far below any
//! other failure in the system, and the saving is what keeps a summary within 64 bytes. Compare
//! a local summary with a received one with [`Summary::in_sync_with`], which looks at exactly
//! what travels.

use std::fmt;

use super::{read_array, read_canonical_varint, varint_len};
use crate::encode::put_varint;
use crate::model::MAX_NAME_LEN;

/// Length of a full fingerprint.
pub const FINGERPRINT_LEN: usize = 32;

/// Number of fingerprint bytes (the low 128 bits) sent on the wire.
pub const WIRE_FINGERPRINT_LEN: usize = 16;

/// BLAKE3 key-derivation context of [`FingerprintKey::from_group_seed`].
const KEY_CONTEXT: &str = "mayros-sync 2025 summary fingerprint key v1";

/// The secret that keys the element hash of [`Summary`] fingerprints.
#[derive(Clone, PartialEq, Eq)]
pub struct FingerprintKey([u8; 32]);

impl FingerprintKey {
    /// Wraps a raw 32-byte key.
    pub const fn from_bytes(key: [u8; 32]) -> FingerprintKey {
        FingerprintKey(key)
    }

    /// The key every member of a sync group derives from the group seed.
    pub fn from_group_seed(seed: &[u8]) -> FingerprintKey {
        FingerprintKey(blake3::derive_key(KEY_CONTEXT, seed))
    }

    /// The 8-byte short id of an item's reconciliation element (id and live/tombstone state),
    /// as the rateless IBLT and the Bloom step compare them.
    pub fn element_short(&self, id: &[u8; 32], live: bool) -> u64 {
        let mut h = blake3::Hasher::new_keyed(&self.0);
        h.update(b"element/1");
        h.update(id);
        h.update(&[u8::from(live)]);
        let out = h.finalize();
        let b = out.as_bytes();
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }

    /// A key derived for one listing with `salt`, so its short ids collide independently of
    /// the group key's (a collision never repeats in the next round).
    pub fn salted(&self, salt: u64) -> FingerprintKey {
        let mut h = blake3::Hasher::new_keyed(&self.0);
        h.update(b"listing/1");
        h.update(&salt.to_le_bytes());
        FingerprintKey(*h.finalize().as_bytes())
    }

    /// The element hash `E(id)` as four little-endian 64-bit limbs.
    fn element(&self, id: &[u8; 32]) -> [u64; 4] {
        limbs(blake3::keyed_hash(&self.0, id).as_bytes())
    }
}

impl fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FingerprintKey(..)")
    }
}

/// Counts and fingerprints of the live ids and tombstones of one namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// The namespace summarised (DESIGN §2.1).
    pub namespace: String,
    /// Number of live triple ids.
    pub live_count: u64,
    /// Sum mod 2²⁵⁶ of the element hashes of the live ids (little-endian).
    pub live_fp: [u8; 32],
    /// Number of tombstones.
    pub tomb_count: u64,
    /// Sum mod 2²⁵⁶ of the element hashes of the tombstoned ids (little-endian).
    pub tomb_fp: [u8; 32],
}

impl Summary {
    /// The summary of an empty namespace.
    pub fn new(namespace: impl Into<String>) -> Summary {
        Summary {
            namespace: namespace.into(),
            ..Summary::default()
        }
    }

    /// The summary of the given live ids and tombstones, computed from scratch.
    pub fn from_ids<'a, L, T>(
        namespace: impl Into<String>,
        key: &FingerprintKey,
        live: L,
        tombs: T,
    ) -> Summary
    where
        L: IntoIterator<Item = &'a [u8; 32]>,
        T: IntoIterator<Item = &'a [u8; 32]>,
    {
        let mut summary = Summary::new(namespace);
        for id in live {
            summary.insert_live(key, id);
        }
        for id in tombs {
            summary.insert_tomb(key, id);
        }
        summary
    }

    /// Records a new live id.
    pub fn insert_live(&mut self, key: &FingerprintKey, id: &[u8; 32]) {
        add(&mut self.live_fp, key.element(id));
        self.live_count = self.live_count.wrapping_add(1);
    }

    /// Records that a live id went away (deleted or superseded).
    pub fn remove_live(&mut self, key: &FingerprintKey, id: &[u8; 32]) {
        sub(&mut self.live_fp, key.element(id));
        self.live_count = self.live_count.wrapping_sub(1);
    }

    /// Records a new tombstone.
    pub fn insert_tomb(&mut self, key: &FingerprintKey, id: &[u8; 32]) {
        add(&mut self.tomb_fp, key.element(id));
        self.tomb_count = self.tomb_count.wrapping_add(1);
    }

    /// Records that a tombstone was collected or overridden by a re-assert.
    pub fn remove_tomb(&mut self, key: &FingerprintKey, id: &[u8; 32]) {
        sub(&mut self.tomb_fp, key.element(id));
        self.tomb_count = self.tomb_count.wrapping_sub(1);
    }

    /// Whether two summaries agree on everything the wire carries (namespace, counts and the
    /// low 128 bits of each fingerprint): the in-sync test of the gossip round.
    pub fn in_sync_with(&self, other: &Summary) -> bool {
        const W: usize = WIRE_FINGERPRINT_LEN;
        self.namespace == other.namespace
            && self.live_count == other.live_count
            && self.tomb_count == other.tomb_count
            && self.live_fp[..W] == other.live_fp[..W]
            && self.tomb_fp[..W] == other.tomb_fp[..W]
    }

    /// Length of [`to_bytes`](Self::to_bytes).
    pub fn encoded_len(&self) -> usize {
        varint_len(self.namespace.len() as u64)
            + self.namespace.len()
            + varint_len(self.live_count)
            + varint_len(self.tomb_count)
            + 2 * WIRE_FINGERPRINT_LEN
    }

    /// The wire form (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        put_varint(&mut out, self.namespace.len() as u64);
        out.extend_from_slice(self.namespace.as_bytes());
        put_varint(&mut out, self.live_count);
        out.extend_from_slice(&self.live_fp[..WIRE_FINGERPRINT_LEN]);
        put_varint(&mut out, self.tomb_count);
        out.extend_from_slice(&self.tomb_fp[..WIRE_FINGERPRINT_LEN]);
        out
    }

    /// Parses the wire form; the fingerprints' upper 16 bytes come back as zeros.
    ///
    /// `None` for truncated input, trailing bytes, a non-UTF-8 namespace, one longer than
    /// [`MAX_NAME_LEN`], or a non-canonical varint.
    pub fn from_bytes(buf: &[u8]) -> Option<Summary> {
        let (ns_len, mut pos) = read_canonical_varint(buf)?;
        if ns_len > MAX_NAME_LEN as u64 {
            return None;
        }
        let ns_end = pos + ns_len as usize;
        let namespace = std::str::from_utf8(buf.get(pos..ns_end)?).ok()?.to_owned();
        pos = ns_end;
        let fingerprint = |pos: &mut usize| -> Option<(u64, [u8; 32])> {
            let (count, used) = read_canonical_varint(buf.get(*pos..)?)?;
            *pos += used;
            let wire: [u8; WIRE_FINGERPRINT_LEN] = read_array(buf.get(*pos..)?)?;
            *pos += WIRE_FINGERPRINT_LEN;
            let mut fp = [0u8; 32];
            fp[..WIRE_FINGERPRINT_LEN].copy_from_slice(&wire);
            Some((count, fp))
        };
        let (live_count, live_fp) = fingerprint(&mut pos)?;
        let (tomb_count, tomb_fp) = fingerprint(&mut pos)?;
        (pos == buf.len()).then_some(Summary {
            namespace,
            live_count,
            live_fp,
            tomb_count,
            tomb_fp,
        })
    }
}

/// Reads 32 bytes as four little-endian 64-bit limbs, least significant first.
fn limbs(bytes: &[u8; 32]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (limb, chunk) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        *limb = u64::from_le_bytes(w);
    }
    out
}

/// Writes four limbs back as 32 little-endian bytes.
fn store(fp: &mut [u8; 32], value: [u64; 4]) {
    for (chunk, limb) in fp.chunks_exact_mut(8).zip(value) {
        chunk.copy_from_slice(&limb.to_le_bytes());
    }
}

/// `fp += term (mod 2²⁵⁶)`.
fn add(fp: &mut [u8; 32], term: [u64; 4]) {
    let mut acc = limbs(fp);
    let mut carry = false;
    for (a, t) in acc.iter_mut().zip(term) {
        let (s1, c1) = a.overflowing_add(t);
        let (s2, c2) = s1.overflowing_add(u64::from(carry));
        *a = s2;
        carry = c1 || c2;
    }
    store(fp, acc);
}

/// `fp -= term (mod 2²⁵⁶)`.
fn sub(fp: &mut [u8; 32], term: [u64; 4]) {
    let mut acc = limbs(fp);
    let mut borrow = false;
    for (a, t) in acc.iter_mut().zip(term) {
        let (d1, b1) = a.overflowing_sub(t);
        let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
        *a = d2;
        borrow = b1 || b2;
    }
    store(fp, acc);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    fn key() -> FingerprintKey {
        FingerprintKey::from_group_seed(b"test group seed")
    }

    fn id(n: u64) -> [u8; 32] {
        *blake3::hash(&n.to_le_bytes()).as_bytes()
    }

    #[test]
    fn arithmetic_carries_and_borrows_across_limbs() {
        let mut fp = [0xFF; 32];
        add(&mut fp, [1, 0, 0, 0]);
        assert_eq!(fp, [0; 32], "2²⁵⁶ − 1 + 1 wraps to 0");
        sub(&mut fp, [1, 0, 0, 0]);
        assert_eq!(fp, [0xFF; 32]);
        let mut fp = [0u8; 32];
        fp[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        add(&mut fp, [1, 0, 0, 0]);
        let mut expected = [0u8; 32];
        expected[8] = 1;
        assert_eq!(fp, expected);
        let term = [u64::MAX, 5, u64::MAX, 7];
        let before = fp;
        add(&mut fp, term);
        sub(&mut fp, term);
        assert_eq!(fp, before);
    }

    #[test]
    fn incremental_equals_from_scratch() {
        let k = key();
        let mut s = Summary::new("mayros");
        let mut live = BTreeSet::new();
        let mut tombs = BTreeSet::new();
        // Writes, then deletes (live → tomb), then re-asserts (tomb → live).
        for n in 0..2_000 {
            s.insert_live(&k, &id(n));
            live.insert(n);
        }
        for n in (0..2_000).step_by(3) {
            s.remove_live(&k, &id(n));
            s.insert_tomb(&k, &id(n));
            live.remove(&n);
            tombs.insert(n);
        }
        for n in (0..2_000).step_by(9) {
            s.remove_tomb(&k, &id(n));
            s.insert_live(&k, &id(n));
            tombs.remove(&n);
            live.insert(n);
        }
        let live_ids: Vec<_> = live.iter().map(|&n| id(n)).collect();
        let tomb_ids: Vec<_> = tombs.iter().map(|&n| id(n)).collect();
        let scratch = Summary::from_ids("mayros", &k, &live_ids, &tomb_ids);
        assert_eq!(s, scratch);
        assert_eq!(s.live_count, live.len() as u64);
        assert_eq!(s.tomb_count, tombs.len() as u64);
    }

    #[test]
    fn order_does_not_matter() {
        let k = key();
        let ids: Vec<_> = (0..500).map(id).collect();
        let forward = Summary::from_ids("ex", &k, &ids, &ids[..10]);
        let backward = Summary::from_ids("ex", &k, ids.iter().rev(), ids[..10].iter().rev());
        let mut interleaved = Summary::new("ex");
        for (i, x) in ids.iter().enumerate().rev() {
            if i < 10 {
                interleaved.insert_tomb(&k, x);
            }
            interleaved.insert_live(&k, x);
        }
        assert_eq!(forward, backward);
        assert_eq!(forward, interleaved);
    }

    #[test]
    fn remove_undoes_insert() {
        let k = key();
        let mut s = Summary::from_ids("ex", &k, &[id(1), id(2)], &[id(3)]);
        let before = s.clone();
        s.insert_live(&k, &id(9));
        s.insert_tomb(&k, &id(9));
        assert_ne!(s, before);
        s.remove_tomb(&k, &id(9));
        s.remove_live(&k, &id(9));
        assert_eq!(s, before);
        let mut empty = Summary::new("ex");
        empty.insert_live(&k, &id(1));
        empty.remove_live(&k, &id(1));
        assert_eq!(empty, Summary::new("ex"));
    }

    #[test]
    fn distinct_sets_have_distinct_fingerprints() {
        let k = key();
        let base: Vec<_> = (0..100).map(id).collect();
        let reference = Summary::from_ids("ex", &k, &base, &[]);
        let mut seen = BTreeSet::new();
        // Replacing any one id by another keeps the count but changes the fingerprint.
        for swap in 0..100 {
            let mut other = base.clone();
            other[swap] = id(1_000 + swap as u64);
            let s = Summary::from_ids("ex", &k, &other, &[]);
            assert_eq!(s.live_count, reference.live_count);
            assert!(!s.in_sync_with(&reference));
            assert!(seen.insert(s.live_fp[..WIRE_FINGERPRINT_LEN].to_vec()));
        }
        // An id counted twice does not cancel out the way it would under XOR.
        let mut twice = Summary::new("ex");
        twice.insert_live(&k, &id(1));
        twice.insert_live(&k, &id(1));
        assert_ne!(twice.live_fp, [0; 32]);
        // Live and tombstone sets are separate.
        let live = Summary::from_ids("ex", &k, &[id(1)], &[]);
        let tomb = Summary::from_ids("ex", &k, &[], &[id(1)]);
        assert!(!live.in_sync_with(&tomb));
    }

    #[test]
    fn the_key_changes_every_fingerprint() {
        let ids: Vec<_> = (0..50).map(id).collect();
        let a = Summary::from_ids("ex", &key(), &ids, &[]);
        let b = Summary::from_ids("ex", &FingerprintKey::from_group_seed(b"other"), &ids, &[]);
        assert_ne!(a.live_fp, b.live_fp);
        assert_eq!(format!("{:?}", key()), "FingerprintKey(..)");
    }

    #[test]
    fn a_typical_summary_fits_in_64_bytes() {
        let k = key();
        let mut s = Summary::new("mayros");
        assert_eq!(s.encoded_len(), 41);
        s.live_count = 500_000;
        s.tomb_count = 1_000;
        s.insert_live(&k, &id(1));
        assert_eq!(s.encoded_len(), 47);
        assert_eq!(s.to_bytes().len(), s.encoded_len());
        // Even with counts near 4 billion a 21-byte namespace fits.
        let mut long = Summary::new("a".repeat(21));
        long.live_count = u64::from(u32::MAX);
        long.tomb_count = u64::from(u32::MAX);
        assert!(long.encoded_len() <= 64, "{}", long.encoded_len());
    }

    #[test]
    fn wire_round_trip_compares_in_sync() {
        let k = key();
        let ids: Vec<_> = (0..300).map(id).collect();
        let local = Summary::from_ids("mayros", &k, &ids, &ids[..7]);
        let received = Summary::from_bytes(&local.to_bytes()).unwrap();
        assert!(local.in_sync_with(&received));
        assert!(received.in_sync_with(&local));
        assert_eq!(received.live_fp[WIRE_FINGERPRINT_LEN..], [0; 16]);
        assert_eq!(received.to_bytes(), local.to_bytes());
        let mut changed = local.clone();
        changed.insert_live(&k, &id(5_000));
        changed.remove_live(&k, &ids[0]);
        assert!(!changed.in_sync_with(&received));
        let mut other_ns = local.clone();
        other_ns.namespace = "ex".into();
        assert!(!other_ns.in_sync_with(&received));
    }

    #[test]
    fn malformed_summaries_are_rejected() {
        let s = Summary::from_ids("mayros", &key(), &[id(1)], &[]);
        let good = s.to_bytes();
        for cut in 0..good.len() {
            assert!(Summary::from_bytes(&good[..cut]).is_none(), "cut at {cut}");
        }
        let mut long = good.clone();
        long.push(0);
        assert!(Summary::from_bytes(&long).is_none());
        let mut bad_utf8 = good.clone();
        bad_utf8[1] = 0xFF;
        assert!(Summary::from_bytes(&bad_utf8).is_none());
        // Namespace length written in the three-byte form.
        let mut non_canonical = vec![0xFB, 6, 0];
        non_canonical.extend_from_slice(&good[1..]);
        assert!(Summary::from_bytes(&non_canonical).is_none());
        // A namespace longer than any subject can be.
        let mut huge = Vec::new();
        put_varint(&mut huge, MAX_NAME_LEN as u64 + 1);
        huge.resize(huge.len() + MAX_NAME_LEN + 1, b'a');
        huge.extend_from_slice(&[0; 34]);
        assert!(Summary::from_bytes(&huge).is_none());
        assert!(Summary::from_bytes(&[]).is_none());
    }

    proptest! {
        #[test]
        fn incremental_matches_scratch_for_random_histories(
            ops in proptest::collection::vec((0u64..60, 0u8..4), 0..300),
        ) {
            // A model of the store: each id is live, tombstoned or absent.
            let k = key();
            let mut s = Summary::new("p");
            let mut live = BTreeSet::new();
            let mut tombs = BTreeSet::new();
            for (n, op) in ops {
                match op {
                    0 if !live.contains(&n) => { s.insert_live(&k, &id(n)); live.insert(n); }
                    1 if live.contains(&n) => { s.remove_live(&k, &id(n)); live.remove(&n); }
                    2 if !tombs.contains(&n) => { s.insert_tomb(&k, &id(n)); tombs.insert(n); }
                    3 if tombs.contains(&n) => { s.remove_tomb(&k, &id(n)); tombs.remove(&n); }
                    _ => {}
                }
            }
            let live_ids: Vec<_> = live.iter().map(|&n| id(n)).collect();
            let tomb_ids: Vec<_> = tombs.iter().map(|&n| id(n)).collect();
            prop_assert_eq!(s, Summary::from_ids("p", &k, &live_ids, &tomb_ids));
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            if let Some(s) = Summary::from_bytes(&bytes) {
                prop_assert_eq!(s.to_bytes(), bytes);
            }
        }

        #[test]
        fn any_summary_round_trips(
            ns in "[a-z:]{0,30}",
            live_count in any::<u64>(),
            tomb_count in any::<u64>(),
            fp in any::<[u8; 32]>(),
        ) {
            let s = Summary { namespace: ns, live_count, live_fp: fp, tomb_count, tomb_fp: fp };
            let back = Summary::from_bytes(&s.to_bytes()).unwrap();
            prop_assert!(back.in_sync_with(&s));
            prop_assert_eq!(s.encoded_len(), s.to_bytes().len());
        }
    }
}
