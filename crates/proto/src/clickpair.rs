//! Click-to-pair (DESIGN §7.2): the commit-then-reveal verification code and the messages of a
//! pairing session over QUIC ALPN `mayros-pair/1`.
//!
//! The initiator A commits to a fresh nonce (`H(nonceA)`), the target B answers with its own
//! nonce, A reveals. Neither side can steer the code after seeing the other's nonce, so a
//! relay that swaps certificates cannot make both ends show the same code: the code covers
//! both public keys. Code = first 20 bits of SHA-256("mayros-pair/1" ‖ pk_low ‖ pk_high ‖
//! nonceA ‖ nonceB) mod 10⁶, with the two public keys sorted bytewise, shown as `NNN NNN`.

use serde::{Deserialize, Serialize};

use crate::roster::RosterEntry;
use sha2::{Digest, Sha256};

/// Domain separator of the code and the commitment.
const LABEL: &[u8] = b"mayros-pair/1";

/// How long a pairing request waits for the user (DESIGN §7.2).
pub const REQUEST_TIMEOUT_MS: u64 = 60_000;

/// Largest pairing message accepted.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Frame kind of every pairing message (JSON body).
pub const KIND_PAIR: u64 = 40;

/// The commitment A sends before it knows B's nonce.
pub fn commitment(nonce: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(LABEL);
    h.update(b"/commit");
    h.update(nonce);
    h.finalize().into()
}

/// The 6-digit verification code both sides show.
pub fn verification_code(
    pk_a: &[u8; 32],
    pk_b: &[u8; 32],
    nonce_a: &[u8; 32],
    nonce_b: &[u8; 32],
) -> u32 {
    let (lo, hi) = if pk_a <= pk_b {
        (pk_a, pk_b)
    } else {
        (pk_b, pk_a)
    };
    let mut h = Sha256::new();
    h.update(LABEL);
    h.update(lo);
    h.update(hi);
    h.update(nonce_a);
    h.update(nonce_b);
    let d = h.finalize();
    let first20 = (u32::from(d[0]) << 12) | (u32::from(d[1]) << 4) | (u32::from(d[2]) >> 4);
    first20 % 1_000_000
}

/// `123456` → `"123 456"` (zero-padded).
pub fn format_code(code: u32) -> String {
    let s = format!("{:06}", code % 1_000_000);
    format!("{} {}", &s[..3], &s[3..])
}

/// Which group survives when both devices already belong to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupChoice {
    /// The accepting device keeps its group; the initiator joins it.
    Mine,
    /// The accepting device joins the initiator's group.
    Theirs,
}

/// Whether the accepting device's group survives the pairing (its seed is the one that moves),
/// given whether each side is in a group and the user's choice. `None` when both are in a group
/// and no choice was made: the user must choose, since one group's devices lose their link.
///
/// Without a choice: a grouped acceptor keeps its group; an ungrouped one joins the
/// initiator's group when it has one, else it creates the group.
pub fn acceptor_keeps_group(
    initiator_in_group: bool,
    acceptor_in_group: bool,
    choice: Option<GroupChoice>,
) -> Option<bool> {
    match choice {
        Some(GroupChoice::Mine) => Some(true),
        Some(GroupChoice::Theirs) => Some(false),
        None if initiator_in_group && acceptor_in_group => None,
        None => Some(acceptor_in_group || !initiator_in_group),
    }
}

/// One message of a pairing session (JSON in a [`KIND_PAIR`] frame).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum PairMsg {
    /// A → B: who A is and its commitment (hex).
    Hello {
        /// A's device name.
        name: String,
        /// Hex SHA-256 commitment to A's nonce.
        commit: String,
        /// Whether A belongs to a group.
        in_group: bool,
        /// A's QUIC port.
        quic_port: Option<u16>,
        /// A's peer HTTPS API port.
        https_port: Option<u16>,
    },
    /// B → A: B's nonce (hex) and who B is.
    Nonce {
        /// B's device name.
        name: String,
        /// Hex nonce.
        nonce: String,
        /// Whether B belongs to a group.
        in_group: bool,
        /// B's QUIC port.
        quic_port: Option<u16>,
        /// B's peer HTTPS API port.
        https_port: Option<u16>,
    },
    /// A → B: A's nonce (hex), which must match the commitment.
    Reveal {
        /// Hex nonce.
        nonce: String,
    },
    /// B → A: accepted. With `seed`, A joins B's group; without, A must send its seed.
    Accepted {
        /// Hex group seed of B's group, when B's group is kept.
        seed: Option<String>,
        /// B's signed roster entries.
        roster: Vec<RosterEntry>,
    },
    /// A → B: A's group seed and roster (B joins A's group).
    Seed {
        /// Hex group seed.
        seed: String,
        /// A's signed roster entries.
        roster: Vec<RosterEntry>,
    },
    /// Either side: refused (by the user, on expiry, or on a protocol error).
    Rejected {
        /// Why.
        reason: String,
    },
    /// Either side: pairing complete on this side.
    Done,
}

impl PairMsg {
    /// The JSON body.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses a body; `None` when malformed or too large.
    pub fn from_bytes(b: &[u8]) -> Option<PairMsg> {
        if b.len() > MAX_MESSAGE {
            return None;
        }
        serde_json::from_slice(b).ok()
    }
}

/// Parses 32 bytes of hex.
pub fn hex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_code_is_symmetric_in_the_keys_and_bound_to_everything() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let (na, nb) = ([3u8; 32], [4u8; 32]);
        let code = verification_code(&a, &b, &na, &nb);
        assert!(code < 1_000_000);
        assert_eq!(code, verification_code(&b, &a, &na, &nb), "keys are sorted");
        // A relay that swaps in its own key on either side changes the code.
        assert_ne!(code, verification_code(&[9; 32], &b, &na, &nb));
        assert_ne!(code, verification_code(&a, &[9; 32], &na, &nb));
        assert_ne!(code, verification_code(&a, &b, &[5; 32], &nb));
        assert_ne!(code, verification_code(&a, &b, &na, &[5; 32]));
        // Known answer: SHA-256 over the spec's concatenation, first 20 bits, mod 10^6.
        let mut h = Sha256::new();
        h.update(b"mayros-pair/1");
        h.update(a);
        h.update(b);
        h.update(na);
        h.update(nb);
        let d = h.finalize();
        let bits = (u32::from(d[0]) << 12) | (u32::from(d[1]) << 4) | (u32::from(d[2]) >> 4);
        assert_eq!(code, bits % 1_000_000);
    }

    /// A relay M between A and B terminates both TLS sessions with its own key, so A derives
    /// the code over (A, M) and B over (M, B). M picks its nonce towards B before it sees B's
    /// nonce (it must commit), and its nonce towards A after seeing only A's commitment: over many
    /// sessions the two codes agree only by chance (about 1 in 10⁶), never by construction.
    #[test]
    fn a_relay_that_swaps_certificates_cannot_make_the_codes_agree() {
        let mut seed = 1u64;
        let mut rnd = || {
            let mut out = [0u8; 32];
            for b in out.iter_mut() {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *b = (seed >> 56) as u8;
            }
            out
        };
        let (pk_a, pk_b, pk_m) = (rnd(), rnd(), rnd());
        let mut agreed = 0;
        for _ in 0..2_000 {
            let (na, nb) = (rnd(), rnd());
            let commit_a = commitment(&na);
            // M relays towards B with its own committed nonce, towards A with another.
            let nm_to_b = rnd();
            let nm_to_a = rnd();
            let code_a = verification_code(&pk_a, &pk_m, &na, &nm_to_a);
            let code_b = verification_code(&pk_m, &pk_b, &nm_to_b, &nb);
            assert_eq!(
                commitment(&na),
                commit_a,
                "A's reveal matches its commitment"
            );
            if code_a == code_b {
                agreed += 1;
            }
            // Without the relay both sides agree.
            assert_eq!(
                verification_code(&pk_a, &pk_b, &na, &nb),
                verification_code(&pk_b, &pk_a, &na, &nb)
            );
        }
        assert!(
            agreed <= 1,
            "{agreed} of 2000 relayed sessions showed equal codes"
        );
    }

    #[test]
    fn the_grouped_side_keeps_its_group_and_two_groups_need_a_choice() {
        assert_eq!(acceptor_keeps_group(false, false, None), Some(true));
        assert_eq!(acceptor_keeps_group(false, true, None), Some(true));
        assert_eq!(acceptor_keeps_group(true, false, None), Some(false));
        assert_eq!(acceptor_keeps_group(true, true, None), None);
        assert_eq!(
            acceptor_keeps_group(true, true, Some(GroupChoice::Mine)),
            Some(true)
        );
        assert_eq!(
            acceptor_keeps_group(true, true, Some(GroupChoice::Theirs)),
            Some(false)
        );
        assert_eq!(
            acceptor_keeps_group(false, true, Some(GroupChoice::Theirs)),
            Some(false)
        );
    }

    #[test]
    fn codes_are_shown_in_two_groups_of_three() {
        assert_eq!(format_code(123_456), "123 456");
        assert_eq!(format_code(7), "000 007");
    }

    #[test]
    fn the_commitment_binds_the_nonce() {
        assert_eq!(commitment(&[1; 32]), commitment(&[1; 32]));
        assert_ne!(commitment(&[1; 32]), commitment(&[2; 32]));
    }

    #[test]
    fn messages_round_trip_and_garbage_is_refused() {
        let m = PairMsg::Hello {
            name: "laptop".into(),
            commit: hex::encode([7u8; 32]),
            in_group: true,
            quic_port: Some(19091),
            https_port: None,
        };
        let b = m.to_bytes();
        assert!(String::from_utf8_lossy(&b).contains("\"type\":\"hello\""));
        assert!(String::from_utf8_lossy(&b).contains("\"inGroup\":true"));
        assert_eq!(PairMsg::from_bytes(&b), Some(m));
        assert_eq!(PairMsg::from_bytes(b"{\"type\":\"nope\"}"), None);
        assert_eq!(PairMsg::from_bytes(&vec![b' '; MAX_MESSAGE + 1]), None);
        assert_eq!(hex32("zz"), None);
        assert_eq!(hex32(&hex::encode([1u8; 32])), Some([1; 32]));
    }
}
