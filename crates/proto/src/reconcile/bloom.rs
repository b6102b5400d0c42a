//! Salted Bloom filter over triple ids for the recent-window reconciliation (DESIGN §4 step 2).
//!
//! The sender inserts the ids changed since the last successful round with a peer; the
//! receiver pushes every id of its own window that the filter lacks. A false positive hides
//! one id for one round only, because every round uses a fresh `salt`.
//!
//! # Hashing
//!
//! Each id is hashed once, `h = BLAKE3(salt as 8 bytes LE ‖ id)`, so all 32 id bytes and the
//! salt feed every probe. The `k` probe positions come from enhanced double hashing (Dillinger
//! and Manolios) over the first two 64-bit words of `h`: `x ← h₁, y ← h₂`, then `k` times
//! "probe `x mod m`; `x ← x + y`; `y ← y + i`".
//!
//! # Sizing
//!
//! [`BloomFilter::with_fpr`] picks `m = ⌈−n ln p / ln² 2⌉` bits (rounded up to whole bytes,
//! at least 64) and `k = round(m/n · ln 2)` probes (1 to 32): about 9.6 bits and 7 probes per
//! item at 1 %. The encoded filter never exceeds [`MAX_ENCODED_LEN`] (4 MiB, the frame limit);
//! a request for more is clamped, and [`BloomFilter::estimated_fpr`] then reports the worse
//! rate honestly.
//!
//! # Wire form
//!
//! `version (1) ‖ m varint (bits, a multiple of 8) ‖ k (1 byte) ‖ salt (8 bytes LE) ‖
//! items varint ‖ m/8 bytes of bits` (bit `j` is bit `j mod 8` of byte `j / 8`).

use std::fmt;

use super::{read_array, read_canonical_varint, varint_len};
use crate::encode::put_varint;

/// Target false-positive rate when the configuration says nothing else (1 %).
pub const DEFAULT_FPR: f64 = 0.01;

/// Largest encoded filter, header included (4 MiB); larger inputs are rejected.
pub const MAX_ENCODED_LEN: usize = 4 * 1024 * 1024;

/// Largest number of probes per id.
pub const MAX_HASHES: u32 = 32;

/// Version byte of the wire form.
const VERSION: u8 = 1;

/// Longest possible header: version, 9-byte `m`, `k`, salt, 9-byte item count.
const MAX_HEADER_LEN: usize = 1 + 9 + 1 + 8 + 9;

/// Largest bit array, so that any filter encodes within [`MAX_ENCODED_LEN`].
pub const MAX_BITS: u64 = ((MAX_ENCODED_LEN - MAX_HEADER_LEN) * 8) as u64;

/// A Bloom filter of 32-byte ids with a per-round salt.
#[derive(Clone, PartialEq, Eq)]
pub struct BloomFilter {
    /// The bit array; its length in bits is `m`.
    bits: Vec<u8>,
    /// Number of probes per id.
    k: u32,
    salt: u64,
    /// Number of `insert` calls (carried on the wire for metrics).
    items: u64,
    /// Number of bits set, kept for [`estimated_fpr`](Self::estimated_fpr).
    ones: u64,
}

impl BloomFilter {
    /// An empty filter sized so that `expected_items` ids give a false-positive rate of `fpr`.
    ///
    /// `fpr` is clamped to `[1e-12, 0.5]` (a non-finite or non-positive value means
    /// [`DEFAULT_FPR`]); the size is clamped to [`MAX_BITS`].
    pub fn with_fpr(expected_items: usize, fpr: f64, salt: u64) -> BloomFilter {
        let ln2 = std::f64::consts::LN_2;
        let n = expected_items.max(1) as f64;
        let p = if fpr.is_finite() && fpr > 0.0 {
            fpr.clamp(1e-12, 0.5)
        } else {
            DEFAULT_FPR
        };
        let ideal_bits = (-n * p.ln() / (ln2 * ln2)).ceil();
        let bytes = ((ideal_bits / 8.0).ceil() as u64).clamp(8, MAX_BITS / 8);
        let m = (bytes * 8) as f64;
        let k = ((m / n) * ln2).round().clamp(1.0, f64::from(MAX_HASHES)) as u32;
        BloomFilter {
            bits: vec![0; bytes as usize],
            k,
            salt,
            items: 0,
            ones: 0,
        }
    }

    /// Adds an id.
    pub fn insert(&mut self, id: &[u8; 32]) {
        let m = self.bit_len();
        let mut ones = 0;
        for bit in probes(self.salt, id, self.k, m) {
            let (byte, mask) = ((bit / 8) as usize, 1u8 << (bit % 8));
            if self.bits[byte] & mask == 0 {
                self.bits[byte] |= mask;
                ones += 1;
            }
        }
        self.ones += ones;
        self.items += 1;
    }

    /// Whether the id may have been inserted (always true for inserted ids).
    pub fn contains(&self, id: &[u8; 32]) -> bool {
        let m = self.bit_len();
        probes(self.salt, id, self.k, m)
            .all(|bit| self.bits[(bit / 8) as usize] & (1 << (bit % 8)) != 0)
    }

    /// False-positive rate implied by the actual fill: `(bits set / m)^k`.
    pub fn estimated_fpr(&self) -> f64 {
        let fill = self.ones as f64 / self.bit_len() as f64;
        fill.powi(self.k as i32)
    }

    /// Number of ids inserted (every `insert` call counts, repeats included).
    pub fn len_items(&self) -> u64 {
        self.items
    }

    /// Size of the bit array, `m`.
    pub fn bit_len(&self) -> u64 {
        self.bits.len() as u64 * 8
    }

    /// Number of probes per id, `k`.
    pub fn hash_count(&self) -> u32 {
        self.k
    }

    /// The per-round salt.
    pub fn salt(&self) -> u64 {
        self.salt
    }

    /// Length of [`to_bytes`](Self::to_bytes).
    pub fn encoded_len(&self) -> usize {
        1 + varint_len(self.bit_len()) + 1 + 8 + varint_len(self.items) + self.bits.len()
    }

    /// The wire form (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.push(VERSION);
        put_varint(&mut out, self.bit_len());
        // `k` is at most MAX_HASHES (32), so it fits one byte.
        out.push(self.k as u8);
        out.extend_from_slice(&self.salt.to_le_bytes());
        put_varint(&mut out, self.items);
        out.extend_from_slice(&self.bits);
        out
    }

    /// Parses the wire form; `None` for an unknown version, a bad `m` or `k`, a length that
    /// does not match, or more than [`MAX_ENCODED_LEN`] bytes.
    pub fn from_bytes(buf: &[u8]) -> Option<BloomFilter> {
        if buf.len() > MAX_ENCODED_LEN || *buf.first()? != VERSION {
            return None;
        }
        let mut pos = 1;
        let (m, used) = read_canonical_varint(buf.get(pos..)?)?;
        pos += used;
        let k = u32::from(*buf.get(pos)?);
        pos += 1;
        let salt = u64::from_le_bytes(read_array(buf.get(pos..)?)?);
        pos += 8;
        let (items, used) = read_canonical_varint(buf.get(pos..)?)?;
        pos += used;
        if m == 0 || m % 8 != 0 || m > MAX_BITS || k == 0 || k > MAX_HASHES {
            return None;
        }
        let bits = buf.get(pos..)?;
        if bits.len() as u64 != m / 8 {
            return None;
        }
        let ones = bits.iter().map(|b| u64::from(b.count_ones())).sum();
        Some(BloomFilter {
            bits: bits.to_vec(),
            k,
            salt,
            items,
            ones,
        })
    }
}

impl fmt::Debug for BloomFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BloomFilter")
            .field("m", &self.bit_len())
            .field("k", &self.k)
            .field("salt", &self.salt)
            .field("items", &self.items)
            .field("ones", &self.ones)
            .finish()
    }
}

/// The `k` bit positions of `id` in a filter of `m` bits.
fn probes(salt: u64, id: &[u8; 32], k: u32, m: u64) -> impl Iterator<Item = u64> {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&salt.to_le_bytes());
    hasher.update(id);
    let h = hasher.finalize();
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&h.as_bytes()[i * 8..i * 8 + 8]);
        u64::from_le_bytes(w)
    };
    let (mut x, mut y) = (word(0), word(1));
    (0..u64::from(k)).map(move |i| {
        let bit = x % m;
        x = x.wrapping_add(y);
        y = y.wrapping_add(i);
        bit
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    /// Deterministic pseudo-random 32-byte ids (distinct streams per `seed`).
    fn ids(seed: u64, n: usize) -> Vec<[u8; 32]> {
        (0..n as u64)
            .map(|i| {
                let mut h = blake3::Hasher::new();
                h.update(&seed.to_le_bytes());
                h.update(&i.to_le_bytes());
                *h.finalize().as_bytes()
            })
            .collect()
    }

    fn false_positives(filter: &BloomFilter, probes: &[[u8; 32]]) -> HashSet<usize> {
        probes
            .iter()
            .enumerate()
            .filter(|(_, id)| filter.contains(id))
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn measured_fpr_is_near_the_target() {
        let non_members = ids(1_000, 100_000);
        for n in [5_000usize, 50_000] {
            for target in [DEFAULT_FPR, 0.05] {
                let members = ids(n as u64, n);
                let mut filter = BloomFilter::with_fpr(n, target, 42);
                for id in &members {
                    filter.insert(id);
                }
                assert!(
                    members.iter().all(|id| filter.contains(id)),
                    "false negative"
                );
                let measured =
                    false_positives(&filter, &non_members).len() as f64 / non_members.len() as f64;
                assert!(
                    measured <= target * 1.5 && measured >= target / 1.5,
                    "n = {n}, target {target}: measured {measured:.5}"
                );
                let estimated = filter.estimated_fpr();
                assert!(
                    estimated <= target * 1.5 && estimated >= target / 1.5,
                    "n = {n}, target {target}: estimated {estimated:.5}"
                );
                assert_eq!(filter.len_items(), n as u64);
            }
        }
    }

    #[test]
    fn sizing_follows_the_formula() {
        let filter = BloomFilter::with_fpr(5_000, 0.01, 0);
        // ⌈5000 · 9.585⌉ = 47 926 bits → 5 991 bytes; k = round(9.586 · ln 2) = 7.
        assert_eq!(filter.bit_len(), 47_928);
        assert_eq!(filter.hash_count(), 7);
        let tiny = BloomFilter::with_fpr(0, 0.01, 0);
        assert_eq!(tiny.bit_len(), 64);
        let nan = BloomFilter::with_fpr(1_000, f64::NAN, 0);
        assert_eq!(
            nan.bit_len(),
            BloomFilter::with_fpr(1_000, DEFAULT_FPR, 0).bit_len()
        );
    }

    #[test]
    fn oversized_requests_are_clamped_to_the_frame_limit() {
        let filter = BloomFilter::with_fpr(100_000_000, 0.001, 0);
        assert_eq!(filter.bit_len(), MAX_BITS);
        assert!(filter.encoded_len() <= MAX_ENCODED_LEN);
        assert!(filter.hash_count() >= 1);
    }

    #[test]
    fn a_new_salt_gives_new_false_positives() {
        let members = ids(7, 5_000);
        let non_members = ids(8, 100_000);
        let mut a = BloomFilter::with_fpr(5_000, DEFAULT_FPR, 1);
        let mut b = BloomFilter::with_fpr(5_000, DEFAULT_FPR, 2);
        for id in &members {
            a.insert(id);
            b.insert(id);
        }
        assert_ne!(a.to_bytes(), b.to_bytes());
        let fa = false_positives(&a, &non_members);
        let fb = false_positives(&b, &non_members);
        assert!(fa.len() > 500 && fb.len() > 500);
        // Independent filters share about FPR² · 100 000 ≈ 10 false positives.
        let shared = fa.intersection(&fb).count();
        assert!(shared < fa.len() / 10, "{shared} shared of {}", fa.len());
    }

    #[test]
    fn every_id_byte_matters() {
        // Ids that agree on their first 8 bytes must not share probes (the system we replace
        // hashed only those).
        let mut filter = BloomFilter::with_fpr(1_000, DEFAULT_FPR, 3);
        let mut id = [0u8; 32];
        filter.insert(&id);
        let mut hits = 0;
        for i in 1..=200u8 {
            id[31] = i;
            hits += usize::from(filter.contains(&id));
        }
        assert!(
            hits <= 1,
            "{hits} ids differing only in their last byte matched"
        );
    }

    #[test]
    fn wire_round_trip() {
        let mut filter = BloomFilter::with_fpr(2_000, DEFAULT_FPR, 0xfeed);
        for id in ids(9, 1_500) {
            filter.insert(&id);
        }
        let bytes = filter.to_bytes();
        assert_eq!(bytes.len(), filter.encoded_len());
        let back = BloomFilter::from_bytes(&bytes).unwrap();
        assert_eq!(back, filter);
        assert_eq!(back.estimated_fpr(), filter.estimated_fpr());
        assert_eq!(back.len_items(), 1_500);
        assert!(ids(9, 1_500).iter().all(|id| back.contains(id)));
    }

    #[test]
    fn malformed_filters_are_rejected() {
        let filter = BloomFilter::with_fpr(100, DEFAULT_FPR, 5);
        let good = filter.to_bytes();
        assert!(BloomFilter::from_bytes(&good).is_some());
        for cut in 0..good.len() {
            assert!(
                BloomFilter::from_bytes(&good[..cut]).is_none(),
                "cut at {cut}"
            );
        }
        let mut long = good.clone();
        long.push(0);
        assert!(BloomFilter::from_bytes(&long).is_none());
        let mut version = good.clone();
        version[0] = 2;
        assert!(BloomFilter::from_bytes(&version).is_none());
        // m = 960 bits is 0xFB 0xC0 0x03; k sits right after it.
        let k_at = 1 + varint_len(filter.bit_len());
        for bad_k in [0u8, 33, 255] {
            let mut b = good.clone();
            b[k_at] = bad_k;
            assert!(BloomFilter::from_bytes(&b).is_none(), "k = {bad_k}");
        }
        // m not a multiple of 8, and m = 0.
        let mut odd = vec![VERSION, 12, 3];
        odd.extend_from_slice(&[0; 8]);
        odd.extend_from_slice(&[0, 0, 0]);
        assert!(BloomFilter::from_bytes(&odd).is_none());
        let mut zero = vec![VERSION, 0, 3];
        zero.extend_from_slice(&[0; 8]);
        zero.push(0);
        assert!(BloomFilter::from_bytes(&zero).is_none());
    }

    #[test]
    fn the_size_limit_is_enforced() {
        let biggest = BloomFilter::with_fpr(usize::MAX / 2, DEFAULT_FPR, 0);
        let bytes = biggest.to_bytes();
        assert!(bytes.len() <= MAX_ENCODED_LEN);
        assert!(BloomFilter::from_bytes(&bytes).is_some());
        // One byte more than the limit, whatever it holds.
        let mut over = bytes.clone();
        over.resize(MAX_ENCODED_LEN + 1, 0);
        assert!(BloomFilter::from_bytes(&over).is_none());
        // A header announcing more bits than MAX_BITS.
        let mut huge = vec![VERSION];
        put_varint(&mut huge, MAX_BITS + 8);
        huge.push(7);
        huge.extend_from_slice(&[0; 8]);
        huge.push(0);
        huge.resize(huge.len() + ((MAX_BITS + 8) / 8) as usize, 0);
        assert!(BloomFilter::from_bytes(&huge).is_none());
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Some(f) = BloomFilter::from_bytes(&bytes) {
                prop_assert_eq!(f.to_bytes(), bytes);
                let _ = f.contains(&[0; 32]);
            }
        }

        #[test]
        fn no_false_negatives(seed in any::<u64>(), salt in any::<u64>(), n in 1usize..400) {
            let members = ids(seed, n);
            let mut filter = BloomFilter::with_fpr(n, DEFAULT_FPR, salt);
            for id in &members {
                filter.insert(id);
            }
            prop_assert!(members.iter().all(|id| filter.contains(id)));
        }
    }
}
