//! Content addresses of triples.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// BLAKE3 content address of a triple: 32 bytes, shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TripleId([u8; 32]);

impl TripleId {
    /// Wraps raw id bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> TripleId {
        TripleId(bytes)
    }

    /// The raw id bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses a byte slice of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<TripleId, Error> {
        <[u8; 32]>::try_from(bytes)
            .map(TripleId)
            .map_err(|_| Error::InvalidTripleId {
                input: hex::encode(bytes),
            })
    }

    /// The first 8 bytes as a big-endian integer (a short id for summaries and filters).
    pub fn short(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(b)
    }
}

impl fmt::Display for TripleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for TripleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TripleId({})", hex::encode(&self.0[..6]))
    }
}

impl FromStr for TripleId {
    type Err = Error;

    /// Parses 64 hexadecimal digits (either case).
    fn from_str(s: &str) -> Result<TripleId, Error> {
        let invalid = || Error::InvalidTripleId {
            input: s.chars().take(80).collect(),
        };
        if s.len() != 64 {
            return Err(invalid());
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| invalid())?;
        Ok(TripleId(out))
    }
}

impl serde::Serialize for TripleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for TripleId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TripleId, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        let text = "cd8884209c268367022b104180f0fac46b2de93f1c477e79258530438fedd45c";
        let id: TripleId = text.parse().unwrap();
        assert_eq!(id.to_string(), text);
        let upper: TripleId = text.to_uppercase().parse().unwrap();
        assert_eq!(upper, id);
        assert_eq!(id.short(), 0xcd8884209c268367);
    }

    #[test]
    fn rejects_bad_ids() {
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(63), &"a".repeat(65)] {
            let err = bad.parse::<TripleId>().unwrap_err();
            assert!(err.to_string().contains("64 hexadecimal"), "{bad}");
        }
    }

    #[test]
    fn serde_uses_hex_text() {
        let id = TripleId::from_bytes([7; 32]);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{}\"", "07".repeat(32)));
        assert_eq!(serde_json::from_str::<TripleId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<TripleId>("\"zz\"").is_err());
    }
}
