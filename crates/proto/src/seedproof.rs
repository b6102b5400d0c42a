//! Proofs of the group seed (DESIGN §7.3): peers prove they hold it without ever sending it.

use std::collections::HashMap;

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// HKDF label of the QUIC proof key.
pub const QUIC_LABEL: &[u8] = b"mayros-sync/quic/1";
/// HKDF label of the HTTPS proof key.
pub const HTTP_LABEL: &[u8] = b"mayros-sync/http/1";
/// TLS exporter label bound into the QUIC proof.
pub const EXPORTER_LABEL: &[u8] = b"mayros-sync seed proof";
/// Accepted distance between a request's timestamp and our clock (±120 s).
pub const MAX_TS_SKEW_MS: u64 = 120_000;
/// How long a nonce is remembered to refuse replays (240 s).
pub const NONCE_TTL_MS: u64 = 240_000;

type HmacSha256 = Hmac<Sha256>;

/// A 32-byte group seed.
#[derive(Clone, PartialEq, Eq)]
pub struct GroupSeed(pub [u8; 32]);

impl std::fmt::Debug for GroupSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupSeed(<redacted>)")
    }
}

impl GroupSeed {
    /// Derives the proof key for one protocol label.
    fn key(&self, label: &[u8]) -> [u8; 32] {
        let hk = Hkdf::<Sha256>::new(None, &self.0);
        let mut out = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
        let _ = hk.expand(label, &mut out);
        out
    }

    fn mac(&self, label: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        match <HmacSha256 as Mac>::new_from_slice(&self.key(label)) {
            Ok(m) => m,
            Err(_) => unreachable_mac(),
        }
    }

    /// The QUIC proof: HMAC(HKDF(seed, quic label), exporter ‖ node id).
    pub fn quic_proof(&self, exporter: &[u8], node_id: &str) -> [u8; 32] {
        let mut mac = self.mac(QUIC_LABEL);
        mac.update(exporter);
        mac.update(node_id.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Whether `proof` is the QUIC proof of `node_id` on this channel (constant time).
    pub fn verify_quic(&self, exporter: &[u8], node_id: &str, proof: &[u8]) -> bool {
        let mut mac = self.mac(QUIC_LABEL);
        mac.update(exporter);
        mac.update(node_id.as_bytes());
        mac.verify_slice(proof).is_ok()
    }

    /// The HTTPS request proof over method, path?query, body hash, ts, nonce and both node ids.
    pub fn http_proof(&self, req: &HttpProofInput<'_>) -> String {
        let mut mac = self.mac(HTTP_LABEL);
        mac.update(req.canonical().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `proof_hex` is the HTTPS proof of `req` (constant time).
    pub fn verify_http(&self, req: &HttpProofInput<'_>, proof_hex: &str) -> bool {
        let Ok(proof) = hex::decode(proof_hex) else {
            return false;
        };
        let mut mac = self.mac(HTTP_LABEL);
        mac.update(req.canonical().as_bytes());
        mac.verify_slice(&proof).is_ok()
    }
}

#[cold]
fn unreachable_mac() -> HmacSha256 {
    // HMAC-SHA256 takes any key length; `new_from_slice` only fails for fixed-size MACs.
    #[allow(clippy::panic)]
    {
        panic!("HMAC-SHA256 rejected a 32-byte key")
    }
}

/// The fields an HTTPS seed proof covers.
#[derive(Debug, Clone, Copy)]
pub struct HttpProofInput<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// Path and query as sent, e.g. `/api/v1/sync/delta`.
    pub path_and_query: &'a str,
    /// The raw request body.
    pub body: &'a [u8],
    /// `x-mayros-ts`: unix milliseconds.
    pub ts_ms: u64,
    /// `x-mayros-nonce`: 32 hex digits.
    pub nonce: &'a str,
    /// The client's node id.
    pub client_node_id: &'a str,
    /// The server's node id.
    pub server_node_id: &'a str,
}

impl HttpProofInput<'_> {
    fn canonical(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.method,
            self.path_and_query,
            hex::encode(Sha256::digest(self.body)),
            self.ts_ms,
            self.nonce,
            self.client_node_id,
            self.server_node_id
        )
    }
}

/// Why an authenticated request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayError {
    /// The timestamp is more than ±120 s from our clock.
    StaleTimestamp,
    /// The nonce is not 32 hexadecimal digits.
    MalformedNonce,
    /// The nonce was already used within the last 240 s.
    Replayed,
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReplayError::StaleTimestamp => {
                "timestamp is more than 120 s away from the server clock"
            }
            ReplayError::MalformedNonce => "nonce must be 32 hexadecimal digits",
            ReplayError::Replayed => "nonce was already used (replayed request)",
        })
    }
}

/// Remembers recent nonces to refuse replayed requests; time is passed in.
#[derive(Debug, Default)]
pub struct ReplayGuard {
    seen: HashMap<String, u64>,
    last_prune_ms: u64,
}

impl ReplayGuard {
    /// An empty guard.
    pub fn new() -> ReplayGuard {
        ReplayGuard::default()
    }

    /// Checks freshness of `ts_ms` and uniqueness of `nonce` at `now_ms`; records the nonce.
    ///
    /// Call only after the proof itself verified, so forged requests cannot fill the cache.
    pub fn check(&mut self, ts_ms: u64, nonce: &str, now_ms: u64) -> Result<(), ReplayError> {
        if ts_ms.abs_diff(now_ms) > MAX_TS_SKEW_MS {
            return Err(ReplayError::StaleTimestamp);
        }
        if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ReplayError::MalformedNonce);
        }
        if now_ms.saturating_sub(self.last_prune_ms) > NONCE_TTL_MS / 4 {
            self.seen
                .retain(|_, seen| now_ms.saturating_sub(*seen) <= NONCE_TTL_MS);
            self.last_prune_ms = now_ms;
        }
        let key = nonce.to_ascii_lowercase();
        match self.seen.get(&key) {
            Some(seen) if now_ms.saturating_sub(*seen) <= NONCE_TTL_MS => {
                Err(ReplayError::Replayed)
            }
            _ => {
                self.seen.insert(key, now_ms);
                Ok(())
            }
        }
    }

    /// Number of nonces currently remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn input<'a>(body: &'a [u8], nonce: &'a str) -> HttpProofInput<'a> {
        HttpProofInput {
            method: "POST",
            path_and_query: "/api/v1/sync/delta",
            body,
            ts_ms: 1_000_000,
            nonce,
            client_node_id: "aa",
            server_node_id: "bb",
        }
    }

    #[test]
    fn http_proof_binds_every_field() {
        let seed = GroupSeed([7; 32]);
        let nonce = "0123456789abcdef0123456789abcdef";
        let base = input(b"{}", nonce);
        let proof = seed.http_proof(&base);
        assert_eq!(proof.len(), 64);
        assert!(seed.verify_http(&base, &proof));
        assert!(!GroupSeed([8; 32]).verify_http(&base, &proof), "wrong seed");
        let variants = [
            HttpProofInput {
                method: "GET",
                ..base
            },
            HttpProofInput {
                path_and_query: "/api/v1/sync/delta?x=1",
                ..base
            },
            HttpProofInput {
                body: b"{ }",
                ..base
            },
            HttpProofInput {
                ts_ms: 1_000_001,
                ..base
            },
            HttpProofInput {
                nonce: "1123456789abcdef0123456789abcdef",
                ..base
            },
            HttpProofInput {
                client_node_id: "ab",
                ..base
            },
            HttpProofInput {
                server_node_id: "ba",
                ..base
            },
        ];
        for v in variants {
            assert!(!seed.verify_http(&v, &proof), "{v:?}");
        }
        assert!(!seed.verify_http(&base, "zz"));
    }

    #[test]
    fn quic_proof_binds_channel_and_node() {
        let seed = GroupSeed([1; 32]);
        let p = seed.quic_proof(&[9; 32], "aa");
        assert!(seed.verify_quic(&[9; 32], "aa", &p));
        assert!(!seed.verify_quic(&[8; 32], "aa", &p));
        assert!(!seed.verify_quic(&[9; 32], "ab", &p));
        assert!(!GroupSeed([2; 32]).verify_quic(&[9; 32], "aa", &p));
        assert_ne!(
            seed.quic_proof(&[9; 32], "aa").to_vec(),
            hex::decode(seed.http_proof(&input(b"", "x"))).unwrap()
        );
    }

    #[test]
    fn replay_guard_refuses_stale_and_repeated() {
        let mut g = ReplayGuard::new();
        let n = "0123456789abcdef0123456789abcdef";
        let now = 10_000_000;
        assert_eq!(
            g.check(now - MAX_TS_SKEW_MS - 1, n, now),
            Err(ReplayError::StaleTimestamp)
        );
        assert_eq!(
            g.check(now + MAX_TS_SKEW_MS + 1, n, now),
            Err(ReplayError::StaleTimestamp)
        );
        assert_eq!(g.check(now, "short", now), Err(ReplayError::MalformedNonce));
        assert_eq!(g.check(now, n, now), Ok(()));
        assert_eq!(g.check(now, n, now + 1000), Err(ReplayError::Replayed));
        assert_eq!(
            g.check(now, &n.to_uppercase(), now + 1000),
            Err(ReplayError::Replayed)
        );
        // After the TTL the nonce is forgotten (and a ts that old is stale anyway).
        let later = now + NONCE_TTL_MS + 1;
        assert_eq!(g.check(later, n, later), Ok(()));
        assert_eq!(g.len(), 1, "expired nonces are pruned");
    }

    #[test]
    fn debug_never_shows_the_seed() {
        assert_eq!(
            format!("{:?}", GroupSeed([0xAB; 32])),
            "GroupSeed(<redacted>)"
        );
    }
}
