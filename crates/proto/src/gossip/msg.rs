//! The messages of the sync stream (DESIGN §4) and their compact binary codec.
//!
//! Each message is one frame: `varint kind ‖ body` inside the `u32 BE length` framing of
//! [`crate::frame`]. Integers are bincode-standard varints unless noted; a summary and a Bloom
//! filter use their own wire forms. [`GossipMsg::decode`] answers `Ok(None)` for a kind it
//! does not know (a newer peer's message: ignored, not fatal) and an error naming the kind for
//! a malformed body.

use super::exact::{self, ExactMsg};
use super::reader::Reader;
use super::replica::{
    decode_changes, encode_changes, source_code, source_from_code, Payload, Source,
};
use crate::encode::put_varint;
use crate::reconcile::bloom::BloomFilter;
use crate::reconcile::summary::Summary;

/// Frame kinds of the sync stream (1 is the seed proof of the handshake).
pub mod kind {
    /// [`super::GossipMsg::Hello`].
    pub const HELLO: u64 = 10;
    /// [`super::GossipMsg::Batch`].
    pub const BATCH: u64 = 11;
    /// [`super::GossipMsg::Ack`].
    pub const ACK: u64 = 12;
    /// [`super::GossipMsg::Summary`].
    pub const SUMMARY: u64 = 13;
    /// [`super::GossipMsg::InSync`].
    pub const IN_SYNC: u64 = 14;
    /// [`super::GossipMsg::Differ`].
    pub const DIFFER: u64 = 15;
    /// [`super::GossipMsg::Bloom`].
    pub const BLOOM: u64 = 16;
    /// [`super::GossipMsg::Check`].
    pub const CHECK: u64 = 17;
    /// [`super::GossipMsg::SendAll`].
    pub const SEND_ALL: u64 = 18;
    /// [`super::GossipMsg::RoundEnd`].
    pub const ROUND_END: u64 = 19;
    /// Address book of roster members (see [`super::encode_addresses`]); handled by the
    /// engine, not by the round machine.
    pub const ADDRESSES: u64 = 20;
    /// The sender's signed roster entries, JSON (rare and small); handled by the engine.
    pub const ROSTER: u64 = 21;
    /// A rotated group seed (hex, JSON string) after an unpair; handled by the engine.
    pub const SEED: u64 = 22;
    /// [`super::GossipMsg::ListAsk`].
    pub const LIST_ASK: u64 = 40;
    /// [`super::GossipMsg::ListChunk`].
    pub const LIST_CHUNK: u64 = 41;
    /// [`super::GossipMsg::ListWant`].
    pub const LIST_WANT: u64 = 42;
    /// [`super::GossipMsg::Expect`].
    pub const EXPECT: u64 = 43;
}

/// Most short ids in one listing or want message (128 KiB of ids).
pub const MAX_LIST_CHUNK: usize = 16_384;

/// Most entries in one address-book message.
pub const MAX_ADDRESSES: usize = 1_024;

/// Encodes an address book: `(node id as 64 lowercase hex, "ip:port")` pairs; entries whose
/// node id is not 64 hex digits are skipped.
pub fn encode_addresses(entries: &[(String, String)]) -> Vec<u8> {
    let valid: Vec<(Vec<u8>, &str)> = entries
        .iter()
        .take(MAX_ADDRESSES)
        .filter_map(|(id, addr)| {
            let raw = hex::decode(id).ok().filter(|r| r.len() == 32)?;
            Some((raw, addr.as_str()))
        })
        .collect();
    let mut out = Vec::new();
    put_varint(&mut out, valid.len() as u64);
    for (raw, addr) in valid {
        out.extend_from_slice(&raw);
        crate::encode::put_str(&mut out, addr);
    }
    out
}

/// Parses [`encode_addresses`]; `None` when malformed, too long, or an address is over 64 bytes.
pub fn decode_addresses(body: &[u8]) -> Option<Vec<(String, String)>> {
    let mut r = Reader::new(body);
    let n = usize::try_from(r.varint()?).ok()?;
    if n > MAX_ADDRESSES {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let id = hex::encode(r.take(32)?);
        let len = usize::try_from(r.varint()?).ok()?;
        if len > 64 {
            return None;
        }
        let addr = std::str::from_utf8(r.take(len)?).ok()?.to_string();
        out.push((id, addr));
    }
    r.done().then_some(out)
}

/// One message between two gossip nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum GossipMsg<C> {
    /// First message on a new link: whether the sender starts rounds (native mode) or only
    /// answers them (polled mode).
    Hello {
        /// Whether the sender initiates rounds.
        initiates: bool,
    },
    /// Changes, flow-controlled: the receiver applies them in one transaction, then acks `seq`.
    Batch {
        /// Sequence number on this link.
        seq: u64,
        /// Push (fresh local change) or round (reconciliation result).
        source: Source,
        /// The changes.
        changes: Vec<C>,
    },
    /// The batch `seq` is applied.
    Ack {
        /// Sequence number acknowledged.
        seq: u64,
    },
    /// Round start: the initiator's summary.
    Summary {
        /// Round id.
        round: u64,
        /// The initiator's summary.
        summary: Summary,
    },
    /// The summaries agree: nothing to do.
    InSync {
        /// Round id.
        round: u64,
    },
    /// The summaries differ: the responder's summary and, when its recent window with the
    /// initiator is known and small, a Bloom filter over it.
    Differ {
        /// Round id.
        round: u64,
        /// The responder's summary.
        summary: Summary,
        /// The responder's recent-window filter.
        bloom: Option<BloomFilter>,
    },
    /// The initiator's recent-window filter (after pushing what the responder's filter lacked).
    Bloom {
        /// Round id.
        round: u64,
        /// The initiator's recent-window filter, if it has one.
        bloom: Option<BloomFilter>,
    },
    /// The responder's summary after the Bloom step.
    Check {
        /// Round id.
        round: u64,
        /// The responder's summary now.
        summary: Summary,
    },
    /// The initiator holds nothing: the responder sends everything it holds.
    SendAll {
        /// Round id.
        round: u64,
    },
    /// The initiator found the pair in sync at the end of the Bloom step.
    RoundEnd {
        /// Round id.
        round: u64,
    },
    /// Exact reconciliation (the session id is the round id).
    Exact(ExactMsg),
    /// Initiator → responder: list your elements' shorts under `salt` (the responder is the
    /// smaller side, or the exact step failed).
    ListAsk {
        /// Round id.
        round: u64,
        /// Salt of the listing's short ids (fresh per round).
        salt: u64,
    },
    /// The lister's salted short ids, in chunks of at most [`MAX_LIST_CHUNK`].
    ListChunk {
        /// Round id.
        round: u64,
        /// Salt of the short ids.
        salt: u64,
        /// Whether this is the listing's last chunk.
        last: bool,
        /// Salted short ids.
        shorts: Vec<u64>,
    },
    /// The listing's receiver → lister: the listed shorts it lacks (send them), in chunks.
    ListWant {
        /// Round id.
        round: u64,
        /// Whether this is the last chunk of wants.
        last: bool,
        /// Salted short ids wanted.
        want: Vec<u64>,
    },
    /// The sender has queued `count` changes for the receiver (its "to receive" estimate).
    Expect {
        /// Changes queued.
        count: u64,
    },
}

/// A message that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {kind} message ({len} bytes)")]
pub struct MalformedMsg {
    /// The message kind's name.
    pub kind: &'static str,
    /// Body length.
    pub len: usize,
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    put_varint(out, v);
}

fn put_summary(out: &mut Vec<u8>, s: &Summary) {
    let b = s.to_bytes();
    put_varint(out, b.len() as u64);
    out.extend_from_slice(&b);
}

fn put_bloom(out: &mut Vec<u8>, b: Option<&BloomFilter>) {
    match b {
        None => out.push(0),
        Some(f) => {
            out.push(1);
            out.extend_from_slice(&f.to_bytes());
        }
    }
}

fn put_shorts(out: &mut Vec<u8>, shorts: &[u64]) {
    put_varint(out, shorts.len() as u64);
    for s in shorts {
        out.extend_from_slice(&s.to_le_bytes());
    }
}

impl Reader<'_> {
    fn flag(&mut self) -> Option<bool> {
        match self.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    fn shorts(&mut self) -> Option<Vec<u64>> {
        let n = usize::try_from(self.varint()?).ok()?;
        if n > MAX_LIST_CHUNK {
            return None;
        }
        let raw = self.take(n.checked_mul(8)?)?;
        Some(
            raw.chunks_exact(8)
                .filter_map(|c| c.try_into().ok().map(u64::from_le_bytes))
                .collect(),
        )
    }

    fn summary(&mut self) -> Option<Summary> {
        let len = usize::try_from(self.varint()?).ok()?;
        Summary::from_bytes(self.take(len)?)
    }

    fn bloom_rest(&mut self) -> Option<Option<BloomFilter>> {
        match self.byte()? {
            0 => Some(None),
            1 => BloomFilter::from_bytes(self.rest()).map(Some),
            _ => None,
        }
    }
}

impl<C: Payload> GossipMsg<C> {
    /// The frame kind and body.
    pub fn encode(&self) -> (u64, Vec<u8>) {
        let mut out = Vec::new();
        let k = match self {
            GossipMsg::Hello { initiates } => {
                out.push(u8::from(*initiates));
                kind::HELLO
            }
            GossipMsg::Batch {
                seq,
                source,
                changes,
            } => {
                put_u64(&mut out, *seq);
                out.push(source_code(*source));
                encode_changes(changes, &mut out);
                kind::BATCH
            }
            GossipMsg::Ack { seq } => {
                put_u64(&mut out, *seq);
                kind::ACK
            }
            GossipMsg::Summary { round, summary } => {
                put_u64(&mut out, *round);
                put_summary(&mut out, summary);
                kind::SUMMARY
            }
            GossipMsg::InSync { round } => {
                put_u64(&mut out, *round);
                kind::IN_SYNC
            }
            GossipMsg::Differ {
                round,
                summary,
                bloom,
            } => {
                put_u64(&mut out, *round);
                put_summary(&mut out, summary);
                put_bloom(&mut out, bloom.as_ref());
                kind::DIFFER
            }
            GossipMsg::Bloom { round, bloom } => {
                put_u64(&mut out, *round);
                put_bloom(&mut out, bloom.as_ref());
                kind::BLOOM
            }
            GossipMsg::Check { round, summary } => {
                put_u64(&mut out, *round);
                put_summary(&mut out, summary);
                kind::CHECK
            }
            GossipMsg::SendAll { round } => {
                put_u64(&mut out, *round);
                kind::SEND_ALL
            }
            GossipMsg::RoundEnd { round } => {
                put_u64(&mut out, *round);
                kind::ROUND_END
            }
            GossipMsg::Exact(m) => return m.encode(),
            GossipMsg::ListAsk { round, salt } => {
                put_u64(&mut out, *round);
                out.extend_from_slice(&salt.to_le_bytes());
                kind::LIST_ASK
            }
            GossipMsg::ListChunk {
                round,
                salt,
                last,
                shorts,
            } => {
                put_u64(&mut out, *round);
                out.extend_from_slice(&salt.to_le_bytes());
                out.push(u8::from(*last));
                put_shorts(&mut out, shorts);
                kind::LIST_CHUNK
            }
            GossipMsg::ListWant { round, last, want } => {
                put_u64(&mut out, *round);
                out.push(u8::from(*last));
                put_shorts(&mut out, want);
                kind::LIST_WANT
            }
            GossipMsg::Expect { count } => {
                put_u64(&mut out, *count);
                kind::EXPECT
            }
        };
        (k, out)
    }

    /// Application payload bytes of this message: varint kind plus body (framing excluded).
    pub fn wire_len(&self) -> usize {
        let (k, body) = self.encode();
        crate::reconcile::varint_len(k) + body.len()
    }

    /// Parses a frame; `Ok(None)` for an unknown kind (ignored), an error for a bad body.
    pub fn decode(k: u64, body: &[u8]) -> Result<Option<GossipMsg<C>>, MalformedMsg> {
        let name = kind_name(k);
        let bad = || MalformedMsg {
            kind: name,
            len: body.len(),
        };
        if (exact::kind::SYMBOLS..=exact::kind::ABORT).contains(&k) {
            return ExactMsg::decode(k, body)
                .map(|m| Some(GossipMsg::Exact(m)))
                .ok_or_else(bad);
        }
        let mut r = Reader::new(body);
        let msg = match k {
            kind::HELLO => match r.byte() {
                Some(0) => Some(GossipMsg::Hello { initiates: false }),
                Some(1) => Some(GossipMsg::Hello { initiates: true }),
                _ => None,
            },
            kind::BATCH => (|| {
                let seq = r.varint()?;
                let source = source_from_code(r.byte()?)?;
                let changes = decode_changes(r.rest())?;
                Some(GossipMsg::Batch {
                    seq,
                    source,
                    changes,
                })
            })(),
            kind::ACK => r.varint().map(|seq| GossipMsg::Ack { seq }),
            kind::SUMMARY => (|| {
                let round = r.varint()?;
                let summary = r.summary()?;
                Some(GossipMsg::Summary { round, summary })
            })(),
            kind::IN_SYNC => r.varint().map(|round| GossipMsg::InSync { round }),
            kind::DIFFER => (|| {
                let round = r.varint()?;
                let summary = r.summary()?;
                let bloom = r.bloom_rest()?;
                Some(GossipMsg::Differ {
                    round,
                    summary,
                    bloom,
                })
            })(),
            kind::BLOOM => (|| {
                let round = r.varint()?;
                let bloom = r.bloom_rest()?;
                Some(GossipMsg::Bloom { round, bloom })
            })(),
            kind::CHECK => (|| {
                let round = r.varint()?;
                let summary = r.summary()?;
                Some(GossipMsg::Check { round, summary })
            })(),
            kind::SEND_ALL => r.varint().map(|round| GossipMsg::SendAll { round }),
            kind::ROUND_END => r.varint().map(|round| GossipMsg::RoundEnd { round }),
            kind::LIST_ASK => (|| {
                let round = r.varint()?;
                let salt = r.u64_le()?;
                Some(GossipMsg::ListAsk { round, salt })
            })(),
            kind::LIST_CHUNK => (|| {
                let round = r.varint()?;
                let salt = r.u64_le()?;
                let last = r.flag()?;
                let shorts = r.shorts()?;
                Some(GossipMsg::ListChunk {
                    round,
                    salt,
                    last,
                    shorts,
                })
            })(),
            kind::LIST_WANT => (|| {
                let round = r.varint()?;
                let last = r.flag()?;
                let want = r.shorts()?;
                Some(GossipMsg::ListWant { round, last, want })
            })(),
            kind::EXPECT => r.varint().map(|count| GossipMsg::Expect { count }),
            _ => return Ok(None),
        };
        match msg {
            Some(m) if r.done() => Ok(Some(m)),
            _ => Err(bad()),
        }
    }

    /// A short name of the message kind (logs, metrics).
    pub fn name(&self) -> &'static str {
        kind_name(self.encode_kind())
    }

    fn encode_kind(&self) -> u64 {
        match self {
            GossipMsg::Hello { .. } => kind::HELLO,
            GossipMsg::Batch { .. } => kind::BATCH,
            GossipMsg::Ack { .. } => kind::ACK,
            GossipMsg::Summary { .. } => kind::SUMMARY,
            GossipMsg::InSync { .. } => kind::IN_SYNC,
            GossipMsg::Differ { .. } => kind::DIFFER,
            GossipMsg::Bloom { .. } => kind::BLOOM,
            GossipMsg::Check { .. } => kind::CHECK,
            GossipMsg::SendAll { .. } => kind::SEND_ALL,
            GossipMsg::RoundEnd { .. } => kind::ROUND_END,
            GossipMsg::Exact(m) => m.encode().0,
            GossipMsg::ListAsk { .. } => kind::LIST_ASK,
            GossipMsg::ListChunk { .. } => kind::LIST_CHUNK,
            GossipMsg::ListWant { .. } => kind::LIST_WANT,
            GossipMsg::Expect { .. } => kind::EXPECT,
        }
    }
}

/// The name of a frame kind.
pub fn kind_name(k: u64) -> &'static str {
    match k {
        kind::HELLO => "hello",
        kind::BATCH => "batch",
        kind::ACK => "ack",
        kind::SUMMARY => "summary",
        kind::IN_SYNC => "in-sync",
        kind::DIFFER => "differ",
        kind::BLOOM => "bloom",
        kind::CHECK => "check",
        kind::SEND_ALL => "send-all",
        kind::ROUND_END => "round-end",
        kind::ADDRESSES => "addresses",
        kind::ROSTER => "roster",
        kind::SEED => "seed",
        kind::LIST_ASK => "list-ask",
        kind::LIST_CHUNK => "list-chunk",
        kind::LIST_WANT => "list-want",
        kind::EXPECT => "expect",
        exact::kind::SYMBOLS => "exact-symbols",
        exact::kind::MORE => "exact-more",
        exact::kind::DONE => "exact-done",
        exact::kind::ABORT => "exact-abort",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::gossip::replica::{Item, Version};
    use crate::reconcile::summary::FingerprintKey;

    fn item(n: u8, live: bool) -> Item {
        Item {
            id: [n; 32],
            version: Version {
                hlc: u64::from(n) << 20,
                author: 3,
                live,
            },
        }
    }

    fn all() -> Vec<GossipMsg<Item>> {
        let key = FingerprintKey::from_bytes([5; 32]);
        let summary = Summary::from_ids("*", &key, [&[1u8; 32]], [&[2u8; 32]]);
        let mut bloom = BloomFilter::with_fpr(10, 0.01, 77);
        bloom.insert(&[9; 32]);
        vec![
            GossipMsg::Hello { initiates: true },
            GossipMsg::Hello { initiates: false },
            GossipMsg::Batch {
                seq: 300,
                source: Source::Round,
                changes: vec![item(1, true), item(2, false)],
            },
            GossipMsg::Batch {
                seq: 0,
                source: Source::Push,
                changes: vec![],
            },
            GossipMsg::Ack { seq: 70_000 },
            GossipMsg::Summary {
                round: 1 << 40,
                summary: summary.clone(),
            },
            GossipMsg::InSync { round: 4 },
            GossipMsg::Differ {
                round: 5,
                summary: summary.clone(),
                bloom: Some(bloom.clone()),
            },
            GossipMsg::Differ {
                round: 5,
                summary: summary.clone(),
                bloom: None,
            },
            GossipMsg::Bloom {
                round: 6,
                bloom: Some(bloom),
            },
            GossipMsg::Bloom {
                round: 6,
                bloom: None,
            },
            GossipMsg::Check { round: 7, summary },
            GossipMsg::SendAll { round: 8 },
            GossipMsg::RoundEnd { round: 9 },
            GossipMsg::Exact(ExactMsg::Abort { session: 10 }),
            GossipMsg::ListAsk {
                round: 11,
                salt: u64::MAX,
            },
            GossipMsg::ListChunk {
                round: 12,
                salt: 3,
                last: false,
                shorts: vec![1, u64::MAX, 0],
            },
            GossipMsg::ListChunk {
                round: 12,
                salt: 3,
                last: true,
                shorts: vec![],
            },
            GossipMsg::ListWant {
                round: 13,
                last: true,
                want: vec![42],
            },
            GossipMsg::Expect { count: 500_000 },
        ]
    }

    #[test]
    fn address_books_round_trip_and_refuse_garbage() {
        let book = vec![
            ("ab".repeat(32), "127.0.0.1:19091".to_string()),
            ("not hex".to_string(), "127.0.0.1:1".to_string()),
            ("cd".repeat(32), "[::1]:5".to_string()),
        ];
        let body = encode_addresses(&book);
        let back = decode_addresses(&body).unwrap();
        assert_eq!(back, vec![book[0].clone(), book[2].clone()]);
        for cut in 0..body.len() {
            assert_eq!(decode_addresses(&body[..cut]), None, "prefix {cut}");
        }
        let mut long = body.clone();
        long.push(0);
        assert_eq!(decode_addresses(&long), None);
        assert_eq!(
            decode_addresses(&[0xFB, 0xFF, 0xFF]),
            None,
            "count over the cap"
        );
    }

    #[test]
    fn every_message_round_trips() {
        for m in all() {
            let (k, body) = m.encode();
            let back = GossipMsg::<Item>::decode(k, &body).unwrap().unwrap();
            assert_eq!(
                back.encode(),
                (k, body.clone()),
                "{} does not round-trip",
                m.name()
            );
            assert_eq!(m.wire_len(), body.len() + 1);
        }
    }

    #[test]
    fn unknown_kinds_are_ignored_and_bad_bodies_named() {
        assert_eq!(GossipMsg::<Item>::decode(999, b"whatever"), Ok(None));
        for m in all() {
            let (k, body) = m.encode();
            // Every strict prefix and one extra byte are malformed.
            for cut in 0..body.len() {
                let r = GossipMsg::<Item>::decode(k, &body[..cut]);
                if let Ok(Some(back)) = &r {
                    // A prefix may only parse if it is the very same message (never here).
                    panic!("{} prefix {cut} parsed as {back:?}", m.name());
                }
            }
            let mut longer = body.clone();
            longer.push(0);
            let err = GossipMsg::<Item>::decode(k, &longer);
            if !matches!(
                m,
                GossipMsg::Differ { bloom: Some(_), .. } | GossipMsg::Bloom { bloom: Some(_), .. }
            ) {
                assert!(err.is_err(), "{} accepts a trailing byte", m.name());
            }
        }
        let err = GossipMsg::<Item>::decode(kind::BATCH, &[1, 0, 200]).unwrap_err();
        assert_eq!(err.to_string(), "malformed batch message (3 bytes)");
    }
}
