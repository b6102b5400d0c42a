//! One-time invite codes (DESIGN §7.2): `mayros1-<base32(node id ‖ endpoints ‖ 128-bit secret)>`.
//!
//! Binary layout before base32: 32 bytes inviter public key, 1 byte endpoint count, then per
//! endpoint 1 byte family (4 or 6), 4 or 16 address bytes and a big-endian u16 port, then
//! the 16-byte secret. Base32 is RFC 4648, lowercase, unpadded, so the code is one
//! whitespace-free token that survives copy and paste.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::Error;

/// Prefix of every invite code.
pub const PREFIX: &str = "mayros1-";
/// How long an invite stays valid (10 minutes).
pub const VALIDITY_MS: u64 = 10 * 60 * 1000;
/// At most this many endpoints fit in one code.
pub const MAX_ENDPOINTS: usize = 8;

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The decoded content of an invite code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// The inviter's Ed25519 public key (its node id in binary).
    pub node_key: [u8; 32],
    /// Where the inviter's peer API can be reached.
    pub endpoints: Vec<SocketAddr>,
    /// The one-time secret, proven by the joiner, never sent.
    pub secret: [u8; 16],
}

impl Invite {
    /// The inviter's node id (64 lowercase hex).
    pub fn node_id(&self) -> String {
        hex::encode(self.node_key)
    }

    /// Renders the code.
    pub fn encode(&self) -> String {
        let mut bin = Vec::with_capacity(32 + 1 + 19 * self.endpoints.len() + 16);
        bin.extend_from_slice(&self.node_key);
        let eps = &self.endpoints[..self.endpoints.len().min(MAX_ENDPOINTS)];
        bin.push(eps.len() as u8);
        for ep in eps {
            match ep.ip() {
                IpAddr::V4(ip) => {
                    bin.push(4);
                    bin.extend_from_slice(&ip.octets());
                }
                IpAddr::V6(ip) => {
                    bin.push(6);
                    bin.extend_from_slice(&ip.octets());
                }
            }
            bin.extend_from_slice(&ep.port().to_be_bytes());
        }
        bin.extend_from_slice(&self.secret);
        format!("{PREFIX}{}", base32_encode(&bin))
    }

    /// Parses a code; surrounding whitespace is ignored, anything malformed is an error.
    pub fn decode(code: &str) -> Result<Invite, Error> {
        let bad = |reason: &str| Error::InvalidInvite {
            reason: reason.to_string(),
        };
        let body = code
            .trim()
            .strip_prefix(PREFIX)
            .ok_or_else(|| bad("it must start with `mayros1-`"))?;
        let bin = base32_decode(&body.to_ascii_lowercase())
            .ok_or_else(|| bad("it is not valid base32 (a character was lost or changed?)"))?;
        let mut r = Reader { buf: &bin, pos: 0 };
        let truncated = || bad("it is truncated");
        let node_key: [u8; 32] = r
            .take(32)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(truncated)?;
        let count = *r.take(1).and_then(|b| b.first()).ok_or_else(truncated)? as usize;
        if count == 0 || count > MAX_ENDPOINTS {
            return Err(bad("it must name 1 to 8 endpoints"));
        }
        let mut endpoints = Vec::with_capacity(count);
        for _ in 0..count {
            let family = *r.take(1).and_then(|b| b.first()).ok_or_else(truncated)?;
            let ip = match family {
                4 => {
                    let o: [u8; 4] = r
                        .take(4)
                        .and_then(|b| b.try_into().ok())
                        .ok_or_else(truncated)?;
                    IpAddr::V4(Ipv4Addr::from(o))
                }
                6 => {
                    let o: [u8; 16] = r
                        .take(16)
                        .and_then(|b| b.try_into().ok())
                        .ok_or_else(truncated)?;
                    IpAddr::V6(Ipv6Addr::from(o))
                }
                _ => return Err(bad("an endpoint has an unknown address family")),
            };
            let port: [u8; 2] = r
                .take(2)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(truncated)?;
            endpoints.push(SocketAddr::new(ip, u16::from_be_bytes(port)));
        }
        let secret: [u8; 16] = r
            .take(16)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(truncated)?;
        if r.pos != bin.len() {
            return Err(bad("it has trailing data"));
        }
        Ok(Invite {
            node_key,
            endpoints,
            secret,
        })
    }
}

/// Proof that a joiner holds an invite's secret, bound to the TLS channel and the joiner's id.
///
/// HMAC-SHA256(secret, "mayros-invite/1" ‖ TLS exporter ‖ joiner node id): the secret itself
/// never crosses the network, and a proof seen on one connection is useless on another.
pub fn join_proof(secret: &[u8; 16], exporter: &[u8], joiner_node_id: &str) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = match <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret) {
        Ok(m) => m,
        // HMAC takes keys of any length.
        Err(_) => return [0; 32],
    };
    mac.update(b"mayros-invite/1");
    mac.update(exporter);
    mac.update(joiner_node_id.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Whether `proof` is the [`join_proof`] for this secret, channel and joiner (constant time).
pub fn verify_join_proof(
    secret: &[u8; 16],
    exporter: &[u8],
    joiner_node_id: &str,
    proof: &[u8],
) -> bool {
    let expected = join_proof(secret, exporter, joiner_node_id);
    proof.len() == expected.len()
        && proof
            .iter()
            .zip(expected)
            .fold(0u8, |a, (x, y)| a | (x ^ y))
            == 0
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.buf.get(self.pos..self.pos + n)?;
        self.pos += n;
        Some(out)
    }
}

/// RFC 4648 base32, lowercase, no padding.
pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes [`base32_encode`] output; `None` on a bad character or non-zero padding bits.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits >= 5 || (acc & ((1 << bits) - 1)) != 0 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Invite {
        Invite {
            node_key: [0x11; 32],
            endpoints: vec![
                "127.0.0.1:19092".parse().unwrap(),
                "[::1]:19093".parse().unwrap(),
            ],
            secret: [0x22; 16],
        }
    }

    #[test]
    fn round_trip_is_one_token() {
        let code = sample().encode();
        assert!(code.starts_with(PREFIX));
        assert!(!code.chars().any(char::is_whitespace));
        assert_eq!(Invite::decode(&format!("  {code}\n")).unwrap(), sample());
        assert_eq!(
            Invite::decode(&code.to_uppercase().replace("MAYROS1-", "mayros1-")).unwrap(),
            sample()
        );
        assert_eq!(sample().node_id(), "11".repeat(32));
    }

    #[test]
    fn damaged_codes_are_rejected_with_a_reason() {
        let code = sample().encode();
        let cases = [
            ("mayros2-abc".to_string(), "start with"),
            (format!("{}1", &code), "base32"),
            (code[..code.len() - 6].to_string(), "truncated"),
            (
                format!("{PREFIX}{}", base32_encode(&[0u8; 33])),
                "endpoints",
            ),
        ];
        for (bad, why) in cases {
            let err = Invite::decode(&bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let mut bin = base32_decode(&code[PREFIX.len()..]).unwrap();
        bin.push(0);
        let err = Invite::decode(&format!("{PREFIX}{}", base32_encode(&bin)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("trailing"), "{err}");
    }

    #[test]
    fn join_proof_binds_secret_channel_and_joiner() {
        let p = join_proof(&[1; 16], &[2; 32], "joiner");
        assert!(verify_join_proof(&[1; 16], &[2; 32], "joiner", &p));
        assert!(!verify_join_proof(&[9; 16], &[2; 32], "joiner", &p));
        assert!(!verify_join_proof(&[1; 16], &[3; 32], "joiner", &p));
        assert!(!verify_join_proof(&[1; 16], &[2; 32], "other", &p));
        assert!(!verify_join_proof(&[1; 16], &[2; 32], "joiner", &p[..31]));
    }

    #[test]
    fn rfc4648_vectors() {
        for (raw, enc) in [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ] {
            assert_eq!(base32_encode(raw.as_bytes()), enc);
            assert_eq!(base32_decode(enc).unwrap(), raw.as_bytes());
        }
        assert!(base32_decode("mz").is_none(), "non-zero padding bits");
    }

    proptest! {
        #[test]
        fn base32_round_trips(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            prop_assert_eq!(base32_decode(&base32_encode(&data)).unwrap(), data);
        }

        #[test]
        fn decode_never_panics(s in "\\PC{0,200}") {
            let _ = Invite::decode(&s);
        }
    }
}
