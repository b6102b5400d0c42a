//! Wire form of [`MemberMsg`] on a sync link: message kinds 20 (addresses), 21 (roster, JSON)
//! and 22 (seed, JSON `{"epoch":N,"seed":"<hex>"}`; a bare hex string from older engines is
//! epoch 0).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::seeds::EpochSeed;
use super::MemberMsg;
use crate::gossip::msg::{decode_addresses, encode_addresses, kind};
use crate::roster::RosterEntry;
use crate::seedproof::GroupSeed;

/// Largest membership message accepted (a roster of a few thousand entries).
pub const MAX_MEMBER_MSG: usize = 4 * 1024 * 1024;

/// Why a membership message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The message is over [`MAX_MEMBER_MSG`].
    #[error("{what} message of {len} bytes is over the {max}-byte limit")]
    TooLarge {
        /// Which message.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The body does not parse.
    #[error("malformed {what} message ({len} bytes): {why}")]
    Malformed {
        /// Which message.
        what: &'static str,
        /// Its length.
        len: usize,
        /// What is wrong.
        why: String,
    },
}

#[derive(Serialize, Deserialize)]
struct SeedBody {
    epoch: u64,
    seed: String,
    #[serde(default)]
    removed: BTreeSet<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SeedWire {
    Current(SeedBody),
    FirstVersion(String),
}

/// Whether `kind` is a membership message.
pub fn is_member_kind(k: u64) -> bool {
    matches!(k, kind::ADDRESSES | kind::ROSTER | kind::SEED)
}

/// Encodes a message: its kind and body.
pub fn encode(msg: &MemberMsg<String>) -> (u64, Vec<u8>) {
    match msg {
        MemberMsg::Addresses(entries) => (kind::ADDRESSES, encode_addresses(entries)),
        // Serializing plain structs of strings and numbers cannot fail.
        MemberMsg::Roster(entries) => (
            kind::ROSTER,
            serde_json::to_vec(entries).unwrap_or_default(),
        ),
        MemberMsg::Seed(s) => (
            kind::SEED,
            serde_json::to_vec(&SeedBody {
                epoch: s.epoch,
                seed: hex::encode(s.seed.0),
                removed: s.removed.clone(),
            })
            .unwrap_or_default(),
        ),
    }
}

/// A member's address as told in an address book, if a device can dial it: a valid
/// `ip:port` that is neither the unspecified address (`0.0.0.0`, `::`) nor port 0. Anything else
/// is dropped from the book rather than dialed.
pub fn dialable(addr: &str) -> Option<std::net::SocketAddr> {
    let addr: std::net::SocketAddr = addr.parse().ok()?;
    (!addr.ip().is_unspecified() && addr.port() != 0).then_some(addr)
}

/// Decodes a message of kind `k`; `Ok(None)` when `k` is not a membership kind.
pub fn decode(k: u64, body: &[u8]) -> Result<Option<MemberMsg<String>>, WireError> {
    let what = match k {
        kind::ADDRESSES => "address book",
        kind::ROSTER => "roster",
        kind::SEED => "seed",
        _ => return Ok(None),
    };
    let len = body.len();
    if len > MAX_MEMBER_MSG {
        return Err(WireError::TooLarge {
            what,
            len,
            max: MAX_MEMBER_MSG,
        });
    }
    let malformed = |why: String| WireError::Malformed { what, len, why };
    let msg = match k {
        kind::ADDRESSES => MemberMsg::Addresses(
            decode_addresses(body)
                .ok_or_else(|| malformed("not a valid address list".to_string()))?,
        ),
        kind::ROSTER => MemberMsg::Roster(
            serde_json::from_slice::<Vec<RosterEntry>>(body)
                .map_err(|e| malformed(e.to_string()))?,
        ),
        _ => {
            let (epoch, text, removed) = match serde_json::from_slice::<SeedWire>(body)
                .map_err(|e| malformed(e.to_string()))?
            {
                SeedWire::Current(b) => (b.epoch, b.seed, b.removed),
                SeedWire::FirstVersion(s) => (0, s, BTreeSet::new()),
            };
            let seed = crate::clickpair::hex32(&text)
                .ok_or_else(|| malformed("the seed is not 64 hex digits".to_string()))?;
            MemberMsg::Seed(EpochSeed {
                epoch,
                seed: GroupSeed(seed),
                removed,
            })
        }
    };
    Ok(Some(msg))
}

#[cfg(test)]
mod tests {

    #[test]
    fn only_dialable_addresses_are_kept() {
        assert_eq!(
            dialable("127.0.0.1:19091"),
            Some(std::net::SocketAddr::from(([127, 0, 0, 1], 19091)))
        );
        assert!(dialable("[::1]:7").is_some());
        for bad in [
            "0.0.0.0:19091",
            "[::]:19091",
            "127.0.0.1:0",
            "localhost:1",
            "",
            "1.2.3.4",
        ] {
            assert_eq!(dialable(bad), None, "{bad:?}");
        }
    }

    use super::*;

    #[test]
    fn every_message_round_trips() {
        let id = "ab".repeat(32);
        for msg in [
            MemberMsg::Addresses(vec![(id.clone(), "127.0.0.1:9".to_string())]),
            MemberMsg::Roster(Vec::new()),
            MemberMsg::Seed(EpochSeed {
                epoch: 7,
                seed: GroupSeed([3; 32]),
                removed: BTreeSet::from([id.clone()]),
            }),
        ] {
            let (k, body) = encode(&msg);
            assert!(is_member_kind(k));
            assert_eq!(decode(k, &body), Ok(Some(msg)));
        }
    }

    #[test]
    fn an_older_engines_seed_is_read_as_epoch_zero() {
        let body = serde_json::to_vec(&hex::encode([9u8; 32])).unwrap_or_default();
        assert_eq!(
            decode(kind::SEED, &body),
            Ok(Some(MemberMsg::Seed(EpochSeed::new(0, GroupSeed([9; 32])))))
        );
    }

    #[test]
    fn bad_bodies_name_the_message_and_the_problem() {
        let cases: [(u64, &[u8], &str); 4] = [
            (kind::SEED, b"\"abc\"", "seed is not 64 hex"),
            (kind::SEED, b"{", "malformed seed"),
            (kind::ROSTER, b"[{\"x\":1}]", "malformed roster"),
            (kind::ADDRESSES, &[0xff], "malformed address book"),
        ];
        for (k, body, want) in cases {
            let e = decode(k, body).expect_err("malformed");
            assert!(e.to_string().contains(want), "{e}");
        }
        let big = vec![b' '; MAX_MEMBER_MSG + 1];
        assert!(matches!(
            decode(kind::ROSTER, &big),
            Err(WireError::TooLarge { .. })
        ));
        assert_eq!(decode(3, b"anything"), Ok(None));
    }
}
