//! The per-node gossip machine (DESIGN §4): push announcements of local changes, and a round
//! per peer pair every `round_interval_ms` (jittered): summary → in sync, or exact
//! reconciliation → both sides push what the other lacks.
//!
//! Call contract (as in quinn-proto): feed [`GossipNode::handle`] every message received and
//! [`GossipNode::handle_timeout`] when the instant of [`GossipNode::poll_timeout`] is reached;
//! after each call drain [`GossipNode::poll_transmit`]. Time is passed in; randomness comes from
//! the seed given at construction. Rounds are initiated by the smaller node id of each pair, so
//! a pair never runs two rounds at once.

use std::collections::{HashMap, VecDeque};

use super::exact::{ExactMsg, Initiator, InitiatorEvent, Responder, ResponderEvent};
use super::replica::{Item, Replica};
use crate::reconcile::summary::{FingerprintKey, Summary};

/// A message between two gossip nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum GossipMsg {
    /// Local changes, pushed as they happen.
    Push(Vec<Item>),
    /// Round start: the initiator's summary.
    Summary {
        /// Round id.
        round: u64,
        /// Encoded [`Summary`].
        summary: Vec<u8>,
    },
    /// The summaries agree: nothing to do.
    InSync {
        /// Round id.
        round: u64,
    },
    /// The summaries differ: the initiator starts exact reconciliation.
    Differ {
        /// Round id.
        round: u64,
    },
    /// Exact reconciliation traffic (session id = round id).
    Exact(ExactMsg),
    /// Items the receiver lacks, as found by reconciliation.
    Items {
        /// Round id.
        round: u64,
        /// The items.
        items: Vec<Item>,
    },
}

/// Bytes of one item on the wire (id, hlc, author, flag).
pub const ITEM_WIRE_LEN: usize = 32 + 8 + 8 + 1;

impl GossipMsg {
    /// Application payload size of this message on the wire (framing excluded).
    pub fn wire_len(&self) -> usize {
        match self {
            GossipMsg::Push(items) | GossipMsg::Items { items, .. } => {
                9 + items.len() * ITEM_WIRE_LEN
            }
            GossipMsg::Summary { summary, .. } => 8 + summary.len(),
            GossipMsg::InSync { .. } | GossipMsg::Differ { .. } => 8,
            GossipMsg::Exact(m) => m.encode().1.len(),
        }
    }
}

/// Counters of one node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GossipStats {
    /// Rounds started by this node.
    pub rounds: u64,
    /// Rounds that found the pair in sync.
    pub in_sync_rounds: u64,
    /// Rounds abandoned (timeout or abort).
    pub failed_rounds: u64,
    /// Items sent (pushes and reconciliation).
    pub items_sent: u64,
    /// Items received that changed the replica.
    pub items_applied: u64,
    /// Application bytes sent.
    pub bytes_sent: u64,
}

#[derive(Debug)]
enum Outgoing {
    AwaitSummaryReply {
        round: u64,
        started: u64,
    },
    Exact {
        round: u64,
        started: u64,
        initiator: Initiator,
    },
}

#[derive(Debug)]
struct Incoming {
    round: u64,
    started: u64,
    responder: Responder,
}

/// One node's gossip state.
#[derive(Debug)]
pub struct GossipNode {
    me: u64,
    peers: Vec<u64>,
    replica: Replica,
    key: FingerprintKey,
    outgoing: HashMap<u64, Outgoing>,
    incoming: HashMap<u64, Incoming>,
    next_round: HashMap<u64, u64>,
    outbox: VecDeque<(u64, GossipMsg)>,
    rng: u64,
    round_counter: u64,
    round_interval_ms: u64,
    session_timeout_ms: u64,
    stats: GossipStats,
}

impl GossipNode {
    /// A node `me` gossiping with `peers`; `seed` drives jitter and session keys.
    pub fn new(
        me: u64,
        peers: Vec<u64>,
        key: FingerprintKey,
        seed: u64,
        round_interval_ms: u64,
        now: u64,
    ) -> GossipNode {
        let mut node = GossipNode {
            me,
            peers: Vec::new(),
            replica: Replica::new(key.clone()),
            key,
            outgoing: HashMap::new(),
            incoming: HashMap::new(),
            next_round: HashMap::new(),
            outbox: VecDeque::new(),
            rng: seed ^ me.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            round_counter: 0,
            round_interval_ms,
            session_timeout_ms: round_interval_ms.max(1) * 4,
            stats: GossipStats::default(),
        };
        for p in peers {
            node.add_peer(p, now);
        }
        node
    }

    fn random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn jittered(&mut self) -> u64 {
        let spread = self.round_interval_ms / 5;
        self.round_interval_ms - spread / 2 + self.random() % (spread + 1)
    }

    /// Starts gossiping with `peer` (a roster member that became reachable).
    pub fn add_peer(&mut self, peer: u64, now: u64) {
        if peer == self.me || self.peers.contains(&peer) {
            return;
        }
        self.peers.push(peer);
        if self.me < peer {
            let first = now + self.random() % self.round_interval_ms.max(1);
            self.next_round.insert(peer, first);
        }
    }

    /// Forgets all sessions, as after a restart (the replica is durable and kept).
    pub fn reset_sessions(&mut self, now: u64) {
        self.outgoing.clear();
        self.incoming.clear();
        self.outbox.clear();
        let me = self.me;
        let peers = self.peers.clone();
        for p in peers.into_iter().filter(|p| me < *p) {
            let t = now + self.jittered();
            self.next_round.insert(p, t);
        }
    }

    /// Applies a local change and pushes it to every peer at once.
    pub fn local_change(&mut self, item: Item) {
        if self.replica.merge(item) {
            let peers = self.peers.clone();
            for p in peers {
                self.send(p, GossipMsg::Push(vec![item]));
                self.stats.items_sent += 1;
            }
        }
    }

    fn send(&mut self, to: u64, msg: GossipMsg) {
        self.stats.bytes_sent += msg.wire_len() as u64;
        self.outbox.push_back((to, msg));
    }

    fn apply(&mut self, items: Vec<Item>) {
        for item in items {
            if self.replica.merge(item) {
                self.stats.items_applied += 1;
            }
        }
    }

    fn items_for(&self, shorts: &[u64]) -> Vec<Item> {
        shorts
            .iter()
            .filter_map(|s| self.replica.by_short(*s))
            .collect()
    }

    /// Handles a message from `from`.
    pub fn handle(&mut self, from: u64, msg: GossipMsg, now: u64) {
        if !self.peers.contains(&from) {
            return;
        }
        match msg {
            GossipMsg::Push(items) => self.apply(items),
            GossipMsg::Summary { round, summary } => {
                let theirs = Summary::from_bytes(&summary);
                if theirs.is_some_and(|s| s.in_sync_with(self.replica.summary())) {
                    self.incoming.remove(&from);
                    self.send(from, GossipMsg::InSync { round });
                } else {
                    let responder = Responder::new(self.replica.shorts());
                    self.incoming.insert(
                        from,
                        Incoming {
                            round,
                            started: now,
                            responder,
                        },
                    );
                    self.send(from, GossipMsg::Differ { round });
                }
            }
            GossipMsg::InSync { round } => {
                if matches!(self.outgoing.get(&from), Some(Outgoing::AwaitSummaryReply { round: r, .. }) if *r == round)
                {
                    self.outgoing.remove(&from);
                    self.stats.in_sync_rounds += 1;
                }
            }
            GossipMsg::Differ { round } => {
                if matches!(self.outgoing.get(&from), Some(Outgoing::AwaitSummaryReply { round: r, .. }) if *r == round)
                {
                    let key = self.random();
                    let budget = 4 * self.replica.len() as u64 + 1_024;
                    let (initiator, first) =
                        Initiator::start(round, key, self.replica.shorts(), budget);
                    self.outgoing.insert(
                        from,
                        Outgoing::Exact {
                            round,
                            started: now,
                            initiator,
                        },
                    );
                    self.send(from, GossipMsg::Exact(first));
                }
            }
            GossipMsg::Exact(m) => self.handle_exact(from, m),
            GossipMsg::Items { items, .. } => self.apply(items),
        }
    }

    fn handle_exact(&mut self, from: u64, m: ExactMsg) {
        if matches!(m, ExactMsg::Symbols { .. }) {
            let Some(inc) = self.incoming.get_mut(&from) else {
                return;
            };
            let round = inc.round;
            match inc.responder.handle(m) {
                ResponderEvent::Send(reply) => self.send(from, GossipMsg::Exact(reply)),
                ResponderEvent::Finished {
                    done,
                    initiator_lacks,
                } => {
                    self.incoming.remove(&from);
                    let items = self.items_for(&initiator_lacks);
                    self.stats.items_sent += items.len() as u64;
                    self.send(from, GossipMsg::Exact(done));
                    if !items.is_empty() {
                        self.send(from, GossipMsg::Items { round, items });
                    }
                }
                ResponderEvent::Aborted(abort) => {
                    self.incoming.remove(&from);
                    self.send(from, GossipMsg::Exact(abort));
                }
                ResponderEvent::Ignored => {}
            }
            return;
        }
        if let ExactMsg::Abort { .. } = m {
            self.incoming.remove(&from);
        }
        let Some(Outgoing::Exact {
            round, initiator, ..
        }) = self.outgoing.get_mut(&from)
        else {
            return;
        };
        let round = *round;
        match initiator.handle(m) {
            InitiatorEvent::Send(next) => self.send(from, GossipMsg::Exact(next)),
            InitiatorEvent::Finished { responder_wants } => {
                self.outgoing.remove(&from);
                let items = self.items_for(&responder_wants);
                self.stats.items_sent += items.len() as u64;
                if !items.is_empty() {
                    self.send(from, GossipMsg::Items { round, items });
                }
            }
            InitiatorEvent::GaveUp(abort) => {
                self.outgoing.remove(&from);
                self.stats.failed_rounds += 1;
                self.send(from, GossipMsg::Exact(abort));
            }
            InitiatorEvent::Aborted => {
                self.outgoing.remove(&from);
                self.stats.failed_rounds += 1;
            }
            InitiatorEvent::Ignored => {}
        }
    }

    /// Starts due rounds and abandons sessions that stalled (lost messages, partitions).
    pub fn handle_timeout(&mut self, now: u64) {
        let timeout = self.session_timeout_ms;
        let stalled: Vec<u64> =
            self.outgoing
                .iter()
                .filter(|(_, o)| match o {
                    Outgoing::AwaitSummaryReply { started, .. }
                    | Outgoing::Exact { started, .. } => now >= started + timeout,
                })
                .map(|(p, _)| *p)
                .collect();
        for p in stalled {
            self.outgoing.remove(&p);
            self.stats.failed_rounds += 1;
        }
        self.incoming.retain(|_, i| now < i.started + timeout);
        let due: Vec<u64> = self
            .next_round
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(p, _)| *p)
            .collect();
        for peer in due {
            let next = now + self.jittered();
            self.next_round.insert(peer, next);
            if self.outgoing.contains_key(&peer) {
                continue;
            }
            self.round_counter += 1;
            let round = (self.me << 32) | (self.round_counter & 0xFFFF_FFFF);
            self.stats.rounds += 1;
            self.outgoing.insert(
                peer,
                Outgoing::AwaitSummaryReply {
                    round,
                    started: now,
                },
            );
            let summary = self.replica.summary().to_bytes();
            self.send(peer, GossipMsg::Summary { round, summary });
        }
    }

    /// The next instant at which [`GossipNode::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<u64> {
        let rounds = self.next_round.values().copied().min();
        let sessions =
            self.outgoing
                .values()
                .map(|o| match o {
                    Outgoing::AwaitSummaryReply { started, .. }
                    | Outgoing::Exact { started, .. } => started + self.session_timeout_ms,
                })
                .min();
        rounds.into_iter().chain(sessions).min()
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<(u64, GossipMsg)> {
        self.outbox.pop_front()
    }

    /// The replica.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// The counters.
    pub fn stats(&self) -> &GossipStats {
        &self.stats
    }

    /// This node's id.
    pub fn id(&self) -> u64 {
        self.me
    }

    /// The group fingerprint key.
    pub fn key(&self) -> &FingerprintKey {
        &self.key
    }
}
