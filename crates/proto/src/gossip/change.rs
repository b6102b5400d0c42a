//! The engine's change on the sync stream: an asserted triple with its metadata, or a
//! deletion, in a compact binary form (DESIGN §4 framing).
//!
//! Wire form: tag `0` assert ‖ subject str ‖ predicate str ‖ object (variant index and payload
//! as in the id encoding of §2.1, JSON as canonical text) ‖ created_at str ‖ author ‖ hlc u64
//! LE; tag `1` delete ‖ id (32) ‖ by ‖ hlc u64 LE. A node id (author, by) is tag `0` ‖ 32 raw
//! bytes when it is 64 lowercase hex digits, else tag `1` ‖ str. Strings are varint length ‖
//! UTF-8. Decoding validates names as the REST API does and bounds every length.

use super::reader::Reader;
use super::replica::{Element, Payload};
use crate::encode::{put_str, put_value};
use crate::model::{Triple, Value, MAX_NAME_LEN};
use crate::{Hlc, TripleId};

/// One change of a triple store, as it travels between engines.
#[derive(Debug, Clone, PartialEq)]
pub enum TripleChange {
    /// A live triple.
    Assert {
        /// The fact.
        triple: Triple,
        /// The writer's RFC 3339 creation time.
        created_at: String,
        /// Node id of the device that asserted it.
        author: String,
        /// HLC stamp of the assert.
        hlc: Hlc,
    },
    /// A tombstone.
    Delete {
        /// The deleted triple's id.
        id: TripleId,
        /// Node id of the deleting device.
        by: String,
        /// HLC stamp of the delete.
        hlc: Hlc,
    },
}

impl TripleChange {
    /// The triple id the change is about.
    pub fn id(&self) -> TripleId {
        match self {
            TripleChange::Assert { triple, .. } => triple.id(),
            TripleChange::Delete { id, .. } => *id,
        }
    }
}

fn put_node_id(out: &mut Vec<u8>, id: &str) {
    let compact = id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    match hex::decode(id) {
        Ok(raw) if compact => {
            out.push(0);
            out.extend_from_slice(&raw);
        }
        _ => {
            out.push(1);
            put_str(out, id);
        }
    }
}

impl<'a> Reader<'a> {
    fn name(&mut self) -> Option<&'a str> {
        let s = self.str()?;
        (s.len() <= MAX_NAME_LEN).then_some(s)
    }

    fn node_id(&mut self) -> Option<String> {
        match self.byte()? {
            0 => Some(hex::encode(self.take(32)?)),
            1 => self.name().map(str::to_owned),
            _ => None,
        }
    }

    fn signed(&mut self) -> Option<i64> {
        let z = self.varint()?;
        Some(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    fn value(&mut self) -> Option<Value> {
        let s = |c: &mut Reader<'a>| c.str().map(str::to_owned);
        Some(match self.varint()? {
            0 => {
                // A node reference: AIngle's NodeId::Named (variant 0) then the name.
                if self.varint()? != 0 {
                    return None;
                }
                Value::Node(self.name()?.to_owned())
            }
            1 => Value::String(s(self)?),
            2 => Value::Integer(self.signed()?),
            3 => Value::Float(f64::from_le_bytes(self.take(8)?.try_into().ok()?)),
            4 => match self.byte()? {
                0 => Value::Boolean(false),
                1 => Value::Boolean(true),
                _ => return None,
            },
            5 => Value::DateTime(s(self)?),
            6 => Value::Typed {
                value: s(self)?,
                datatype: s(self)?,
            },
            7 => Value::LangString {
                value: s(self)?,
                lang: s(self)?,
            },
            8 => Value::Bytes(self.bytes()?.to_vec()),
            9 => Value::Json(serde_json::from_str(self.str()?).ok()?),
            10 => Value::Null,
            _ => return None,
        })
    }
}

impl Payload for TripleChange {
    fn element(&self) -> Element {
        match self {
            TripleChange::Assert { triple, .. } => Element {
                id: *triple.id().as_bytes(),
                live: true,
            },
            TripleChange::Delete { id, .. } => Element {
                id: *id.as_bytes(),
                live: false,
            },
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            TripleChange::Assert {
                triple,
                created_at,
                author,
                hlc,
            } => {
                out.push(0);
                put_str(out, &triple.subject);
                put_str(out, &triple.predicate);
                put_value(out, &triple.object);
                put_str(out, created_at);
                put_node_id(out, author);
                out.extend_from_slice(&hlc.as_u64().to_le_bytes());
            }
            TripleChange::Delete { id, by, hlc } => {
                out.push(1);
                out.extend_from_slice(id.as_bytes());
                put_node_id(out, by);
                out.extend_from_slice(&hlc.as_u64().to_le_bytes());
            }
        }
    }

    fn decode(buf: &[u8]) -> Option<(TripleChange, usize)> {
        let mut c = Reader::new(buf);
        let change = match c.byte()? {
            0 => {
                let subject = c.name()?;
                let predicate = c.name()?;
                let object = c.value()?;
                let triple = Triple::new(subject, predicate, object).ok()?;
                // Names travel bare; a bracketed or otherwise rewritten name is not canonical.
                if triple.subject != subject || triple.predicate != predicate {
                    return None;
                }
                let created_at = c.name()?.to_owned();
                let author = c.node_id()?;
                let hlc = Hlc::from_u64(c.u64_le()?);
                TripleChange::Assert {
                    triple,
                    created_at,
                    author,
                    hlc,
                }
            }
            1 => {
                let id = TripleId::from_slice(c.take(32)?).ok()?;
                let by = c.node_id()?;
                let hlc = Hlc::from_u64(c.u64_le()?);
                TripleChange::Delete { id, by, hlc }
            }
            _ => return None,
        };
        Some((change, c.position()))
    }

    fn encoded_len(&self) -> usize {
        let mut v = Vec::new();
        self.encode(&mut v);
        v.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn samples() -> Vec<TripleChange> {
        let node = "a".repeat(64).replace('a', "0f");
        let node = &node[..64];
        let values = vec![
            Value::Node("ex:b".into()),
            Value::String("héllo".into()),
            Value::Integer(-42),
            Value::Float(1.5),
            Value::Boolean(true),
            Value::DateTime("2026-11-24T00:00:00Z".into()),
            Value::Typed {
                value: "1.0".into(),
                datatype: "xsd:decimal".into(),
            },
            Value::LangString {
                value: "bonjour".into(),
                lang: "fr".into(),
            },
            Value::Bytes(vec![0, 1, 255]),
            Value::Json(serde_json::json!({"b": [1, 2], "a": null})),
            Value::Null,
        ];
        let mut out: Vec<TripleChange> = values
            .into_iter()
            .map(|object| TripleChange::Assert {
                triple: Triple::new("mayros:s", "ex:p", object).unwrap(),
                created_at: "2026-11-24T00:00:00.000Z".into(),
                author: node.to_string(),
                hlc: Hlc::new(1_700_000_000_000, 3),
            })
            .collect();
        out.push(TripleChange::Delete {
            id: TripleId::from_bytes([7; 32]),
            by: "not-hex-author".into(),
            hlc: Hlc::from_u64(u64::MAX),
        });
        out
    }

    #[test]
    fn changes_round_trip_and_keep_their_ids() {
        for c in samples() {
            let mut buf = Vec::new();
            c.encode(&mut buf);
            assert_eq!(buf.len(), c.encoded_len());
            let (back, used) = TripleChange::decode(&buf).unwrap();
            assert_eq!(used, buf.len());
            assert_eq!(back.id(), c.id());
            let mut again = Vec::new();
            back.encode(&mut again);
            assert_eq!(again, buf);
        }
    }

    #[test]
    fn truncated_or_corrupt_input_is_refused_without_panicking() {
        for c in samples() {
            let mut buf = Vec::new();
            c.encode(&mut buf);
            for cut in 0..buf.len() {
                assert!(TripleChange::decode(&buf[..cut]).is_none(), "prefix {cut}");
            }
            for i in 0..buf.len() {
                let mut bad = buf.clone();
                bad[i] ^= 0xFF;
                let _ = TripleChange::decode(&bad);
            }
        }
        // An empty subject and a bracketed one are not canonical.
        let mut buf = vec![0];
        put_str(&mut buf, "");
        assert!(TripleChange::decode(&buf).is_none());
        let mut buf = vec![0];
        put_str(&mut buf, "<ex:a>");
        put_str(&mut buf, "ex:p");
        put_value(&mut buf, &Value::Null);
        put_str(&mut buf, "t");
        put_node_id(&mut buf, "x");
        buf.extend_from_slice(&0u64.to_le_bytes());
        assert!(TripleChange::decode(&buf).is_none());
    }
}
