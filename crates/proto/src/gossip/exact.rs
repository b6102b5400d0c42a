//! Step 3 of a gossip round (DESIGN §4): exact reconciliation with a rateless IBLT, whose
//! cost grows with the difference, not the set.
//!
//! Call contract (as in quinn-proto): the initiator calls [`Initiator::start`] and sends the
//! returned message; each side feeds every message it receives to its `handle` and sends what
//! comes back, until the initiator reports [`InitiatorEvent::Finished`] and the responder
//! [`ResponderEvent::Finished`]. Neither side does I/O or reads a clock; the session key is
//! random per session and passed in.

use crate::encode::put_varint;
use crate::frame::read_varint;
use crate::reconcile::riblt::{decode_symbols, encode_symbols, CodedSymbol, Decoder, Encoder};

/// Symbols in the first batch unless the caller knows better; later batches ask for a quarter
/// of what arrived, up to [`MAX_BATCH`].
pub const FIRST_BATCH: usize = 64;
/// Largest batch of symbols in one message (≤ 26 B each: under the 4 MiB frame limit).
pub const MAX_BATCH: usize = 131_072;

/// Message kinds on the wire (frame kinds of the gossip stream).
pub mod kind {
    /// [`super::ExactMsg::Symbols`].
    pub const SYMBOLS: u64 = 30;
    /// [`super::ExactMsg::More`].
    pub const MORE: u64 = 31;
    /// [`super::ExactMsg::Done`].
    pub const DONE: u64 = 32;
    /// [`super::ExactMsg::Abort`].
    pub const ABORT: u64 = 33;
}

/// A message of the exact-reconciliation exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExactMsg {
    /// Initiator → responder: the next coded symbols of the initiator's set.
    Symbols {
        /// Session id.
        session: u64,
        /// The session's checksum key.
        hash_key: u64,
        /// Index of the first symbol in this batch.
        start: u64,
        /// The symbols.
        symbols: Vec<CodedSymbol>,
    },
    /// Responder → initiator: not decoded yet, send this many more symbols.
    More {
        /// Session id.
        session: u64,
        /// How many symbols to send next.
        count: u32,
    },
    /// Responder → initiator: decoded; these are the short ids the responder lacks.
    Done {
        /// Session id.
        session: u64,
        /// Short ids the initiator has and the responder wants.
        want: Vec<u64>,
    },
    /// Either side: give up (the stream contradicted itself or exceeded its budget).
    Abort {
        /// Session id.
        session: u64,
    },
}

impl ExactMsg {
    /// The frame kind and body of this message.
    pub fn encode(&self) -> (u64, Vec<u8>) {
        let mut out = Vec::new();
        match self {
            ExactMsg::Symbols {
                session,
                hash_key,
                start,
                symbols,
            } => {
                out.extend_from_slice(&session.to_le_bytes());
                out.extend_from_slice(&hash_key.to_le_bytes());
                put_varint(&mut out, *start);
                out.extend_from_slice(&encode_symbols(symbols));
                (kind::SYMBOLS, out)
            }
            ExactMsg::More { session, count } => {
                out.extend_from_slice(&session.to_le_bytes());
                put_varint(&mut out, u64::from(*count));
                (kind::MORE, out)
            }
            ExactMsg::Done { session, want } => {
                out.extend_from_slice(&session.to_le_bytes());
                put_varint(&mut out, want.len() as u64);
                for id in want {
                    out.extend_from_slice(&id.to_le_bytes());
                }
                (kind::DONE, out)
            }
            ExactMsg::Abort { session } => {
                out.extend_from_slice(&session.to_le_bytes());
                (kind::ABORT, out)
            }
        }
    }

    /// Parses a frame of one of the [`kind`]s; `None` for a malformed body or another kind.
    pub fn decode(kind_: u64, body: &[u8]) -> Option<ExactMsg> {
        let u64_at = |at: usize| -> Option<u64> {
            Some(u64::from_le_bytes(body.get(at..at + 8)?.try_into().ok()?))
        };
        let session = u64_at(0)?;
        match kind_ {
            kind::SYMBOLS => {
                let hash_key = u64_at(8)?;
                let (start, used) = read_varint(body.get(16..)?)?;
                let symbols = decode_symbols(body.get(16 + used..)?)?;
                Some(ExactMsg::Symbols {
                    session,
                    hash_key,
                    start,
                    symbols,
                })
            }
            kind::MORE => {
                let (count, used) = read_varint(body.get(8..)?)?;
                (8 + used == body.len()).then_some(())?;
                Some(ExactMsg::More {
                    session,
                    count: u32::try_from(count).ok()?,
                })
            }
            kind::DONE => {
                let (n, used) = read_varint(body.get(8..)?)?;
                let rest = body.get(8 + used..)?;
                (rest.len() as u64 == n.checked_mul(8)?).then_some(())?;
                let want = rest
                    .chunks_exact(8)
                    .filter_map(|c| c.try_into().ok().map(u64::from_le_bytes))
                    .collect();
                Some(ExactMsg::Done { session, want })
            }
            kind::ABORT => (body.len() == 8).then_some(ExactMsg::Abort { session }),
            _ => None,
        }
    }
}

/// What the initiator should do after a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitiatorEvent {
    /// Send this message.
    Send(ExactMsg),
    /// Reconciliation finished: push the items with these short ids to the responder.
    Finished {
        /// Short ids the responder lacks.
        responder_wants: Vec<u64>,
    },
    /// The responder gave up.
    Aborted,
    /// The symbol budget is spent without a decode: send this abort; the session is over.
    GaveUp(ExactMsg),
    /// The message was not for this session or out of place; ignored.
    Ignored,
}

/// The side that streams coded symbols of its set.
#[derive(Debug)]
pub struct Initiator {
    session: u64,
    hash_key: u64,
    encoder: Encoder,
    budget: u64,
    done: bool,
}

impl Initiator {
    /// Starts a session over `ids` (short ids of live items and tombstones); returns the first message.
    ///
    /// `budget` caps the symbols sent (e.g. a few times the expected difference plus slack).
    pub fn start(
        session: u64,
        hash_key: u64,
        ids: impl IntoIterator<Item = u64>,
        budget: u64,
        first: usize,
    ) -> (Initiator, ExactMsg) {
        let mut encoder = Encoder::new(hash_key);
        encoder.extend(ids);
        let mut me = Initiator {
            session,
            hash_key,
            encoder,
            budget,
            done: false,
        };
        let first = me.symbols(first.max(1));
        (me, first)
    }

    fn symbols(&mut self, n: usize) -> ExactMsg {
        let start = self.encoder.produced();
        let room = self.budget.saturating_sub(start) as usize;
        ExactMsg::Symbols {
            session: self.session,
            hash_key: self.hash_key,
            start,
            symbols: self.encoder.next_symbols(n.min(room).min(MAX_BATCH)),
        }
    }

    /// Handles a responder message.
    pub fn handle(&mut self, msg: ExactMsg) -> InitiatorEvent {
        if self.done {
            return InitiatorEvent::Ignored;
        }
        match msg {
            ExactMsg::More { session, count } if session == self.session => {
                if self.encoder.produced() >= self.budget {
                    self.done = true;
                    return InitiatorEvent::GaveUp(ExactMsg::Abort { session });
                }
                InitiatorEvent::Send(self.symbols(count as usize))
            }
            ExactMsg::Done { session, want } if session == self.session => {
                self.done = true;
                InitiatorEvent::Finished {
                    responder_wants: want,
                }
            }
            ExactMsg::Abort { session } if session == self.session => {
                self.done = true;
                InitiatorEvent::Aborted
            }
            _ => InitiatorEvent::Ignored,
        }
    }

    /// Coded symbols sent so far.
    pub fn symbols_sent(&self) -> u64 {
        self.encoder.produced()
    }
}

/// What the responder should do after a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponderEvent {
    /// Send this message.
    Send(ExactMsg),
    /// Decoded: send `done`, and push the items with `initiator_lacks` to the initiator.
    Finished {
        /// The message to send.
        done: ExactMsg,
        /// Short ids we have and the initiator lacks.
        initiator_lacks: Vec<u64>,
    },
    /// The stream was inconsistent; send the abort.
    Aborted(ExactMsg),
    /// The message was not for this session or out of place; ignored.
    Ignored,
}

/// The side that decodes against its own set.
#[derive(Debug)]
pub struct Responder {
    local: Vec<u64>,
    decoder: Option<(u64, Decoder)>,
    next_index: u64,
    batch: usize,
    done: bool,
}

impl Responder {
    /// A responder for the given local short ids.
    pub fn new(local: impl IntoIterator<Item = u64>) -> Responder {
        Responder {
            local: local.into_iter().collect(),
            decoder: None,
            next_index: 0,
            batch: FIRST_BATCH,
            done: false,
        }
    }

    /// Handles an initiator message.
    pub fn handle(&mut self, msg: ExactMsg) -> ResponderEvent {
        if self.done {
            return ResponderEvent::Ignored;
        }
        let ExactMsg::Symbols {
            session,
            hash_key,
            start,
            symbols,
        } = msg
        else {
            if matches!(msg, ExactMsg::Abort { .. }) {
                self.done = true;
            }
            return ResponderEvent::Ignored;
        };
        let (sid, decoder) = self.decoder.get_or_insert_with(|| {
            let mut d = Decoder::new(hash_key);
            d.extend_local(self.local.iter().copied());
            (session, d)
        });
        if *sid != session || start != self.next_index {
            return ResponderEvent::Ignored;
        }
        self.next_index += symbols.len() as u64;
        let empty_batch = symbols.is_empty();
        for s in symbols {
            decoder.push_remote(s);
            if decoder.is_decoded() || decoder.is_inconsistent() {
                break;
            }
        }
        if decoder.is_inconsistent() || (empty_batch && !decoder.is_decoded()) {
            self.done = true;
            return ResponderEvent::Aborted(ExactMsg::Abort { session });
        }
        if decoder.is_decoded() {
            self.done = true;
            return ResponderEvent::Finished {
                done: ExactMsg::Done {
                    session,
                    want: decoder.remote_only().to_vec(),
                },
                initiator_lacks: decoder.local_only().to_vec(),
            };
        }
        // Ask for a quarter of what arrived so far: the symbols sent overshoot what decoding
        // needed by at most 25 %.
        self.batch = usize::try_from(self.next_index / 4)
            .unwrap_or(MAX_BATCH)
            .clamp(FIRST_BATCH, MAX_BATCH);
        ResponderEvent::Send(ExactMsg::More {
            session,
            count: self.batch as u32,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    struct Mix(u64);
    impl Mix {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    /// What the responder wants and what the initiator lacks, when decoded.
    type Learned = Option<(Vec<u64>, Vec<u64>)>;

    /// Runs a whole exchange through the wire encoding; returns what each side learned and bytes.
    fn run(a: &[u64], b: &[u64], budget: u64) -> (Learned, usize) {
        let (mut init, first) = Initiator::start(7, 99, a.iter().copied(), budget, FIRST_BATCH);
        let mut resp = Responder::new(b.iter().copied());
        let mut bytes = 0;
        let wire = |m: &ExactMsg, bytes: &mut usize| {
            let (k, body) = m.encode();
            *bytes += body.len();
            ExactMsg::decode(k, &body).unwrap()
        };
        let mut to_resp = wire(&first, &mut bytes);
        for _ in 0..10_000 {
            match resp.handle(to_resp) {
                ResponderEvent::Send(m) => match init.handle(wire(&m, &mut bytes)) {
                    InitiatorEvent::Send(m2) => to_resp = wire(&m2, &mut bytes),
                    InitiatorEvent::GaveUp(abort) => {
                        assert_eq!(
                            resp.handle(wire(&abort, &mut bytes)),
                            ResponderEvent::Ignored
                        );
                        return (None, bytes);
                    }
                    other => panic!("unexpected {other:?}"),
                },
                ResponderEvent::Finished {
                    done,
                    initiator_lacks,
                } => {
                    let InitiatorEvent::Finished { responder_wants } =
                        init.handle(wire(&done, &mut bytes))
                    else {
                        panic!("initiator did not finish");
                    };
                    return (Some((responder_wants, initiator_lacks)), bytes);
                }
                ResponderEvent::Aborted(m) => {
                    assert_eq!(init.handle(wire(&m, &mut bytes)), InitiatorEvent::Aborted);
                    return (None, bytes);
                }
                ResponderEvent::Ignored => panic!("ignored in a clean exchange"),
            }
        }
        panic!("no end");
    }

    fn sets(n: usize, d: usize, seed: u64) -> (Vec<u64>, Vec<u64>, BTreeSet<u64>, BTreeSet<u64>) {
        let mut r = Mix(seed);
        let common: Vec<u64> = (0..n).map(|_| r.next()).collect();
        let only_a: BTreeSet<u64> = (0..d / 2).map(|_| r.next()).collect();
        let only_b: BTreeSet<u64> = (0..d - d / 2).map(|_| r.next()).collect();
        let a = common.iter().chain(&only_a).copied().collect();
        let b = common.iter().chain(&only_b).copied().collect();
        (a, b, only_a, only_b)
    }

    #[test]
    fn both_sides_learn_exactly_the_difference() {
        for (n, d, seed) in [
            (5_000, 0, 1),
            (5_000, 1, 2),
            (5_000, 100, 3),
            (20_000, 1_000, 4),
        ] {
            let (a, b, only_a, only_b) = sets(n, d, seed);
            let (out, bytes) = run(&a, &b, 10 * d as u64 + 1_000);
            let (wants, lacks) = out.expect("decoded");
            assert_eq!(
                wants.into_iter().collect::<BTreeSet<_>>(),
                only_a,
                "n={n} d={d}"
            );
            assert_eq!(
                lacks.into_iter().collect::<BTreeSet<_>>(),
                only_b,
                "n={n} d={d}"
            );
            if d >= 100 {
                // Symbols plus the want list, framing of the batches included.
                let per_diff = bytes as f64 / d as f64;
                assert!(per_diff < 48.0, "{per_diff:.1} B per difference at d={d}");
            }
        }
    }

    #[test]
    fn an_exhausted_budget_aborts_cleanly() {
        let (a, b, _, _) = sets(1_000, 2_000, 5);
        let (out, _) = run(&a, &b, 128);
        assert!(out.is_none());
    }

    #[test]
    fn stray_and_out_of_order_messages_are_ignored() {
        let (mut init, first) = Initiator::start(1, 2, [1, 2, 3], 100, FIRST_BATCH);
        assert_eq!(
            init.handle(ExactMsg::More {
                session: 9,
                count: 4
            }),
            InitiatorEvent::Ignored
        );
        let mut resp = Responder::new([1, 2, 3, 4]);
        let ExactMsg::Symbols {
            session, hash_key, ..
        } = first.clone()
        else {
            panic!()
        };
        let skipped = ExactMsg::Symbols {
            session,
            hash_key,
            start: 5,
            symbols: Vec::new(),
        };
        assert_eq!(resp.handle(skipped), ResponderEvent::Ignored);
        assert!(matches!(
            resp.handle(first),
            ResponderEvent::Finished { .. }
        ));
    }

    #[test]
    fn malformed_bodies_decode_to_none() {
        let (k, body) = ExactMsg::Done {
            session: 1,
            want: vec![5, 6],
        }
        .encode();
        assert_eq!(
            ExactMsg::decode(k, &body),
            Some(ExactMsg::Done {
                session: 1,
                want: vec![5, 6]
            })
        );
        assert_eq!(ExactMsg::decode(k, &body[..body.len() - 1]), None);
        assert_eq!(ExactMsg::decode(kind::MORE, &[1, 2, 3]), None);
        assert_eq!(ExactMsg::decode(999, &body), None);
        let (k, body) = ExactMsg::Abort { session: 3 }.encode();
        assert_eq!(
            ExactMsg::decode(k, &body),
            Some(ExactMsg::Abort { session: 3 })
        );
    }
}
