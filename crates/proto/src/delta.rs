//! Wire shapes of polled delta sync (DESIGN §5): `POST /api/v1/sync/delta`.
//!
//! Field names follow the Mayros plugin (camelCase envelope); triples carry bare names,
//! object values as in the Cortex REST, `created_at`, `author` and `hlc`.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::hlc::Hlc;
use crate::id::TripleId;
use crate::model::{parse_name, Triple, Value};

/// Body of a delta request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeltaRequest {
    /// A `c1.` cursor, an RFC 3339 time, or absent for "from the start".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Namespaces wanted; empty means all.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// The requester's node id.
    pub node_id: String,
    /// Most triples plus deletions wanted in this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Body of a delta response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeltaResponse {
    /// The `since` the request asked for, echoed.
    pub since: Option<String>,
    /// The responder's node id.
    pub node_id: String,
    /// Live triples changed in this page.
    pub triples: Vec<WireTriple>,
    /// Deletions in this page.
    pub deletions: Vec<WireDeletion>,
    /// When the responder answered (RFC 3339).
    pub synced_at: String,
    /// Cursor to send as `since` next time.
    pub next: String,
    /// Whether more pages follow right away.
    pub has_more: bool,
}

/// A triple on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireTriple {
    /// Content id (checked against the content on receipt).
    pub id: TripleId,
    /// Bare subject name.
    pub subject: String,
    /// Bare predicate.
    pub predicate: String,
    /// Object value as in the Cortex REST.
    pub object: serde_json::Value,
    /// Writer's creation time (RFC 3339).
    pub created_at: String,
    /// Author node id.
    pub author: String,
    /// HLC stamp of the assert.
    pub hlc: Hlc,
}

/// A deletion on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireDeletion {
    /// The deleted triple's id.
    pub id: TripleId,
    /// HLC stamp of the delete.
    pub hlc: Hlc,
    /// Node id of the deleting device.
    #[serde(with = "node_id_string")]
    pub by: NodeIdRef,
}

/// A node id carried by value inside [`WireDeletion`] (kept `Copy` as 32 raw bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeIdRef(pub [u8; 32]);

impl NodeIdRef {
    /// Parses 64 hex digits.
    pub fn parse(s: &str) -> Option<NodeIdRef> {
        let mut out = [0u8; 32];
        (s.len() == 64).then_some(())?;
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(NodeIdRef(out))
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

mod node_id_string {
    use super::NodeIdRef;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &NodeIdRef, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_hex())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NodeIdRef, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        NodeIdRef::parse(&s)
            .ok_or_else(|| serde::de::Error::custom("`by` must be a 64-hex node id"))
    }
}

/// Whether a change authored by `author` is left out of a page for `requester`.
///
/// An incremental page (a `since` was given) leaves out what the requester wrote itself: it
/// holds each of those or a newer tombstone, so echoing them back would only repeat them. A
/// full comparison (no `since`) sends everything, so a requester that lost data recovers it.
pub fn is_echo(since: Option<&str>, author: &str, requester: &str) -> bool {
    since.is_some() && author == requester
}

impl WireTriple {
    /// Decodes and checks the triple: names valid, object well-formed, id matching content.
    pub fn to_triple(&self) -> Result<Triple, Error> {
        let object = Value::from_json(&self.object)?;
        let triple = Triple::new(&self.subject, &self.predicate, object)?;
        let actual = triple.id();
        if actual != self.id {
            return Err(Error::InvalidValue {
                field: "id",
                reason: format!(
                    "id {} does not match the triple's content ({actual})",
                    self.id
                ),
            });
        }
        parse_name(&self.author, "author")?;
        if NodeIdRef::parse(&self.author).is_none() {
            return Err(Error::InvalidValue {
                field: "author",
                reason: "must be a 64-hex node id".into(),
            });
        }
        Ok(triple)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_shape_and_unknown_fields() {
        let r: DeltaRequest = serde_json::from_value(
            json!({"since": "c1.ab.3", "namespaces": ["mayros"], "nodeId": "n", "limit": 100}),
        )
        .unwrap();
        assert_eq!(r.limit, Some(100));
        assert!(
            serde_json::from_value::<DeltaRequest>(json!({"nodeId": "n", "extra": 1})).is_err()
        );
        let minimal: DeltaRequest = serde_json::from_value(json!({"nodeId": "n"})).unwrap();
        assert_eq!(minimal.since, None);
        assert!(minimal.namespaces.is_empty());
    }

    #[test]
    fn wire_triple_checks_its_id() {
        let t = Triple::new("ex:a", "ex:p", Value::Integer(1)).unwrap();
        let mut w = WireTriple {
            id: t.id(),
            subject: "ex:a".into(),
            predicate: "ex:p".into(),
            object: json!(1),
            created_at: "2026-01-01T00:00:00.000Z".into(),
            author: "ab".repeat(32),
            hlc: Hlc::new(5, 0),
        };
        assert_eq!(w.to_triple().unwrap(), t);
        let text = serde_json::to_value(&w).unwrap();
        assert_eq!(text["hlc"], "0000000000050000");
        w.object = json!(2);
        assert!(w
            .to_triple()
            .unwrap_err()
            .to_string()
            .contains("does not match"));
        w.object = json!(1);
        w.author = "me".into();
        assert!(w.to_triple().is_err());
    }

    #[test]
    fn only_incremental_pages_drop_echoes() {
        assert!(is_echo(Some("c1.ab.3"), "me", "me"));
        assert!(
            !is_echo(None, "me", "me"),
            "a full comparison sends everything"
        );
        assert!(!is_echo(Some("c1.ab.3"), "other", "me"));
    }

    #[test]
    fn deletion_round_trip() {
        let d = WireDeletion {
            id: TripleId::from_bytes([1; 32]),
            hlc: Hlc::new(9, 1),
            by: NodeIdRef([2; 32]),
        };
        let v = serde_json::to_value(d).unwrap();
        assert_eq!(v["by"], "02".repeat(32));
        assert_eq!(serde_json::from_value::<WireDeletion>(v).unwrap(), d);
        assert!(serde_json::from_value::<WireDeletion>(
            json!({"id": "01".repeat(32), "hlc": "0000000000090001", "by": "x"})
        )
        .is_err());
    }
}
