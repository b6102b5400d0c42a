//! Node ids (DESIGN §4): a device's Ed25519 public key as 64 lowercase hex digits, and the one
//! short form every front end shows (CLI tables, logs, the window, the tray).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// Hex digits of a node id shown in its short form.
pub const SHORT_LEN: usize = 12;

/// The short form of a node id (its first [`SHORT_LEN`] hex digits) for text that may not be a
/// valid node id (a user's argument, a peer's claim); never splits a character.
pub fn short_node_id(id: &str) -> &str {
    match id.char_indices().nth(SHORT_LEN) {
        Some((end, _)) => &id[..end],
        None => id,
    }
}

/// A device's display name: its name, else its short node id (every front end and log shows
/// a nameless device so).
pub fn display_name<'a>(name: &'a str, node_id: &'a str) -> &'a str {
    match (name, node_id) {
        ("", "") => "unknown device",
        ("", id) => short_node_id(id),
        (name, _) => name,
    }
}

/// A checked node id.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(String);

impl NodeId {
    /// Checks `text`: 64 lowercase hex digits of a valid Ed25519 key.
    pub fn parse(text: &str) -> Result<NodeId, Error> {
        if crate::roster::is_valid_node_id(text) {
            Ok(NodeId(text.to_string()))
        } else {
            Err(Error::InvalidNodeId {
                input: short_node_id(text).to_string(),
            })
        }
    }

    /// The 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The short form shown everywhere (first [`SHORT_LEN`] hex digits).
    pub fn short(&self) -> &str {
        short_node_id(&self.0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.short())
    }
}

impl FromStr for NodeId {
    type Err = Error;
    fn from_str(s: &str) -> Result<NodeId, Error> {
        NodeId::parse(s)
    }
}

impl AsRef<str> for NodeId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for NodeId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<NodeId, D::Error> {
        let text = String::deserialize(d)?;
        NodeId::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> String {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        hex::encode(key.verifying_key().to_bytes())
    }

    #[test]
    fn one_short_form_for_valid_and_unchecked_ids() {
        let id = NodeId::parse(&valid()).expect("valid");
        assert_eq!(id.short(), &valid()[..SHORT_LEN]);
        assert_eq!(short_node_id(id.as_str()), id.short());
        assert_eq!(short_node_id("abc"), "abc");
        assert_eq!(short_node_id("ééééééééééééééé"), "éééééééééééé");
        assert_eq!(format!("{id:?}"), format!("NodeId({})", id.short()));
        assert_eq!(display_name("", id.as_str()), id.short());
        assert_eq!(display_name("laptop", id.as_str()), "laptop");
        assert_eq!(display_name("", ""), "unknown device");
    }

    #[test]
    fn bad_ids_are_refused_by_name() {
        for bad in ["", "xyz", &"A".repeat(64), &"0".repeat(63)] {
            let e = NodeId::parse(bad).expect_err("invalid");
            assert!(e.to_string().contains("is not a node id"), "{e}");
        }
        let json = format!("\"{}\"", valid());
        let back: NodeId = serde_json::from_str(&json).expect("round trip");
        assert_eq!(serde_json::to_string(&back).expect("serializes"), json);
        assert!(serde_json::from_str::<NodeId>("\"nope\"").is_err());
    }
}
