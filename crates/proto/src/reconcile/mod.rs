//! Reconciliation primitives of native mode (DESIGN §4, gossip round steps 1–3).
//!
//! These are pure data structures; the per-peer state machines that exchange them come later.
//!
//! - [`summary`]: the per-namespace in-sync check — live and tombstone counts plus
//!   order-independent fingerprints, at most 64 bytes on the wire for a typical namespace.
//! - [`bloom`]: the salted Bloom filter over the ids changed in the recent window.
//! - [`riblt`]: rateless IBLT exact reconciliation over 8-byte short ids (Yang, Gilad and
//!   Alizadeh, SIGCOMM 2024), whose cost grows with the difference, not with the set.
//!
//! Every decoder here takes untrusted bytes and answers `None` for anything malformed; none of
//! them panics on input.

pub mod bloom;
pub mod riblt;
pub mod summary;

pub use bloom::BloomFilter;
pub use riblt::{CodedSymbol, Decoder, Encoder};
pub use summary::{FingerprintKey, Summary};

use crate::frame::read_varint;

/// Reads a bincode-standard varint and rejects non-canonical (over-long) encodings, so that
/// every value has exactly one wire form.
pub(crate) fn read_canonical_varint(buf: &[u8]) -> Option<(u64, usize)> {
    let (v, used) = read_varint(buf)?;
    (used == varint_len(v)).then_some((v, used))
}

/// Length of `v` as a bincode-standard varint (see [`crate::encode::put_varint`]).
pub fn varint_len(v: u64) -> usize {
    match v {
        0..=250 => 1,
        251..=0xFFFF => 3,
        0x1_0000..=0xFFFF_FFFF => 5,
        _ => 9,
    }
}

/// Reads exactly `N` bytes from the front of `buf`.
pub(crate) fn read_array<const N: usize>(buf: &[u8]) -> Option<[u8; N]> {
    buf.get(..N)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::put_varint;

    #[test]
    fn canonical_varints_only() {
        for v in [
            0u64,
            250,
            251,
            0xFFFF,
            0x1_0000,
            0xFFFF_FFFF,
            0x1_0000_0000,
            u64::MAX,
        ] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            assert_eq!(read_canonical_varint(&buf), Some((v, buf.len())));
            assert_eq!(varint_len(v), buf.len());
        }
        // 5 written with the three-byte form.
        assert_eq!(read_canonical_varint(&[0xFB, 5, 0]), None);
        assert_eq!(read_canonical_varint(&[0xFC, 0xFF, 0xFF, 0, 0]), None);
        assert_eq!(read_canonical_varint(&[0xFE]), None);
        assert_eq!(read_canonical_varint(&[]), None);
    }
}
