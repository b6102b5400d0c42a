//! The per-node gossip machine of native mode (DESIGN §4): push announcements of local
//! changes, and per peer a round every `round_interval_ms` (jittered):
//!
//! 1. **summary** — the initiator sends its [`Summary`]; equal → `InSync`, done (≤ 64 B each
//!    way). Either side empty → the other sends everything it holds.
//! 2. **Bloom** — the responder answers `Differ` with its summary and a salted Bloom filter of
//!    its recent window (the elements changed since its last successful round with the
//!    initiator); the initiator sends what that filter lacks, then its own filter; the
//!    responder sends what the initiator's filter lacks and its summary (`Check`). Equal →
//!    done. A side whose window is unknown (first round since start) or larger than
//!    `max_window` sends no filter.
//! 3. **identify** — otherwise [`super::strategy::choose`] picks, from both summaries' counts
//!    and the pair's history, either a rateless-IBLT session ([`super::exact`]) whose budget
//!    covers any difference it identifies more cheaply than a listing, or a listing: the
//!    smaller side streams salted short ids ([`GossipMsg::ListChunk`]), the other sends what
//!    the listing lacks and asks for what it lacks ([`GossipMsg::ListWant`]). An IBLT that
//!    spends its budget or aborts falls to the listing in the same round, and the pair's
//!    history keeps the next rounds off it until one succeeds: no round repeats a failure.
//! 4. **transfer** — changes move in [`GossipMsg::Batch`]es of at most `max_batch_changes`
//!    changes and `max_batch_bytes` bytes; the receiver applies each batch in one transaction
//!    and acks it; at most `window_batches` batches are unacked per peer (flow control:
//!    nothing is dropped, the sender waits).
//!
//! A round that ends in sync tells both sides that the peer holds everything they held when it
//! started: [`GossipEvent::Acked`] carries that change-log marker, which tombstone collection
//! (§2.3) uses as the peer's acknowledgement.
//!
//! # Call contract (as in quinn-proto)
//! The machine does no I/O and reads no clock. Tell it about links with
//! [`GossipNode::peer_up`] / [`GossipNode::peer_down`], feed it every message received with
//! [`GossipNode::handle`], local changes with [`GossipNode::local_changes`], and call
//! [`GossipNode::handle_timeout`] once the instant of [`GossipNode::poll_timeout`] is reached.
//! After each call drain [`GossipNode::poll_transmit`] (messages to send, in order per peer)
//! and [`GossipNode::poll_event`]. The replica is passed into every call that needs it. Time is
//! milliseconds on any monotonic scale; randomness comes from the seed given at construction.
//! Per peer pair, rounds are started by the side with the smaller id among those that start
//! rounds at all (a polled-mode node only answers), so a pair never runs two rounds at once.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::Hash;

use super::exact::{ExactMsg, Initiator, InitiatorEvent, Responder, ResponderEvent};
use super::msg::GossipMsg;
use super::msg::MAX_LIST_CHUNK;
use super::replica::{bloom_key, Element, Payload, Replica, Source};
use super::strategy::{self, PairHistory, Plan, Side};
use crate::reconcile::bloom::BloomFilter;
use crate::reconcile::summary::{FingerprintKey, Summary};

/// Tunables of the machine.
#[derive(Debug, Clone, PartialEq)]
pub struct GossipConfig {
    /// Mean interval between two rounds with one peer.
    pub round_interval_ms: u64,
    /// A round with no progress for this long is abandoned.
    pub session_timeout_ms: u64,
    /// Most changes in one batch (`sync.maxTriplesPerSync`).
    pub max_batch_changes: usize,
    /// Most payload bytes in one batch (1 MiB).
    pub max_batch_bytes: usize,
    /// Unacknowledged batches allowed in flight per peer.
    pub window_batches: usize,
    /// Target false-positive rate of the recent-window Bloom filters.
    pub bloom_fpr: f64,
    /// Largest recent window worth a Bloom filter (larger: straight to exact).
    pub max_window: usize,
    /// Whether this node starts rounds and pushes (native mode) or only answers (polled).
    pub initiates: bool,
}

impl Default for GossipConfig {
    fn default() -> GossipConfig {
        GossipConfig {
            round_interval_ms: 5_000,
            session_timeout_ms: 30_000,
            max_batch_changes: 5_000,
            max_batch_bytes: 1024 * 1024,
            window_batches: 4,
            bloom_fpr: 0.01,
            max_window: 20_000,
            initiates: true,
        }
    }
}

/// How a round ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoundOutcome {
    /// The summaries agreed at once.
    InSync,
    /// The Bloom step brought the pair in sync.
    BloomSynced,
    /// Differences were found and their transfer queued (`found` elements on our side).
    Reconciled {
        /// Elements this side found it must send.
        found: usize,
    },
    /// The round was abandoned.
    Failed(String),
}

/// Something the owner should know about.
#[derive(Debug, Clone, PartialEq)]
pub enum GossipEvent<P> {
    /// A round this node started ended.
    RoundFinished {
        /// The peer.
        peer: P,
        /// How it ended.
        outcome: RoundOutcome,
        /// From start to end.
        duration_ms: u64,
    },
    /// `peer` holds everything this node held at change-log marker `marker`.
    Acked {
        /// The peer.
        peer: P,
        /// Our marker when the in-sync state was proven.
        marker: u64,
    },
    /// A batch from `peer` was applied.
    Applied {
        /// The peer.
        peer: P,
        /// Push or round.
        source: Source,
        /// Changes received.
        received: usize,
        /// Changes that altered the replica.
        applied: usize,
    },
    /// The replica failed; the round involved was abandoned.
    ReplicaError {
        /// The peer involved.
        peer: P,
        /// What failed.
        message: String,
    },
}

/// Counters of one node (the `gossip_stats` of `p2p/status`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GossipStats {
    /// Rounds started by this node.
    pub rounds: u64,
    /// Rounds started by a peer and answered here.
    pub rounds_answered: u64,
    /// Rounds (started or answered) that ended in sync or reconciled.
    pub successful_rounds: u64,
    /// Rounds that found the pair in sync at once.
    pub in_sync_rounds: u64,
    /// Rounds abandoned (timeout, abort, replica error).
    pub failed_rounds: u64,
    /// Changes sent (pushes and round transfers).
    pub changes_sent: u64,
    /// Changes received.
    pub changes_received: u64,
    /// Received changes that altered the replica.
    pub changes_applied: u64,
    /// Bloom filters sent.
    pub bloom_filters_sent: u64,
    /// Items in the last Bloom filter sent.
    pub bloom_filter_items: u64,
    /// Estimated false-positive rate of the last Bloom filter sent.
    pub bloom_filter_fpr: f64,
    /// Exact-reconciliation sessions this node took part in.
    pub exact_sessions: u64,
    /// Differing elements found by exact reconciliation on this side.
    pub exact_differences: u64,
    /// Listings this node sent or received (large or unknown differences).
    pub listings: u64,
    /// Differing elements found by listings on this side.
    pub listed_differences: u64,
}

/// Per-peer figures for status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerGossip {
    /// Duration of the last round this node started with the peer.
    pub last_round_ms: Option<u64>,
    /// Changes queued for the peer and not yet sent.
    pub queued_changes: usize,
    /// Changes the peer said it queued for us and that have not arrived yet.
    pub to_receive: u64,
    /// Rounds with the peer that ended without a decision since the last good one.
    pub failed_rounds: u32,
    /// A round proved the pair in sync since the link came up, and none found a difference
    /// after that.
    pub proven_in_sync: bool,
    /// Batches sent and not yet acknowledged.
    pub unacked_batches: usize,
    /// Whether the peer starts rounds (from its hello).
    pub initiates: Option<bool>,
}

#[derive(Debug)]
enum Queued<C> {
    Ids {
        ids: VecDeque<[u8; 32]>,
        source: Source,
    },
    Changes {
        changes: VecDeque<C>,
        source: Source,
    },
    Scan {
        cursor: u64,
        remaining: u64,
        /// Elements the peer holds already (a listing showed them): not sent.
        skip: HashSet<Element>,
    },
    Msg(GossipMsg<C>),
}

#[derive(Debug)]
enum Phase {
    AwaitReply,
    AwaitCheck,
    Exact {
        initiator: Initiator,
        shorts: HashMap<u64, [u8; 32]>,
        fallback: Side,
    },
    /// We listed; waiting for the responder's wants.
    Listed {
        map: HashMap<u64, [u8; 32]>,
        sent: usize,
    },
    /// We asked the responder to list; collecting its chunks.
    Listing(Receiving),
}

/// An element with its short id under a listing's salted key.
type Salted = (u64, Element);

/// One chunk of a listing, as received.
#[derive(Debug)]
struct ListPart {
    round: u64,
    salt: u64,
    last: bool,
    shorts: Vec<u64>,
}

/// A listing being received.
#[derive(Debug)]
struct Receiving {
    salt: u64,
    shorts: HashSet<u64>,
}

/// The responder's part in a listing.
#[derive(Debug)]
enum InList {
    /// It listed; waiting for the initiator's wants.
    Listed(HashMap<u64, [u8; 32]>),
    /// The initiator lists; collecting its chunks.
    Receiving(Receiving),
}

#[derive(Debug)]
struct OutRound {
    round: u64,
    started: u64,
    deadline: u64,
    marker: u64,
    phase: Phase,
}

#[derive(Debug)]
struct InRound {
    round: u64,
    deadline: u64,
    marker: u64,
    exact: Option<(Responder, HashMap<u64, [u8; 32]>)>,
    exact_closed: bool,
    list: Option<InList>,
    window_limit: usize,
}

#[derive(Debug)]
struct PeerState<C> {
    initiates: Option<bool>,
    next_round_at: Option<u64>,
    outgoing: Option<OutRound>,
    incoming: Option<InRound>,
    queue: VecDeque<Queued<C>>,
    unacked: VecDeque<u64>,
    next_seq: u64,
    last_round_ms: Option<u64>,
    history: PairHistory,
    to_receive: u64,
    proven: bool,
}

impl<C> PeerState<C> {
    fn new() -> PeerState<C> {
        PeerState {
            initiates: None,
            next_round_at: None,
            outgoing: None,
            incoming: None,
            queue: VecDeque::new(),
            unacked: VecDeque::new(),
            next_seq: 0,
            last_round_ms: None,
            history: PairHistory::default(),
            to_receive: 0,
            proven: false,
        }
    }

    fn idle(&self) -> bool {
        self.queue.is_empty() && self.unacked.is_empty() && self.outgoing.is_none()
    }
}

/// One node's gossip state; see the module documentation for the call contract.
#[derive(Debug)]
pub struct GossipNode<P, C> {
    me: P,
    cfg: GossipConfig,
    key: FingerprintKey,
    peers: HashMap<P, PeerState<C>>,
    last_ok: HashMap<P, u64>,
    transmit: VecDeque<(P, GossipMsg<C>)>,
    events: VecDeque<GossipEvent<P>>,
    rng: u64,
    round_counter: u64,
    stats: GossipStats,
}

fn total(s: &Summary) -> u64 {
    s.live_count.saturating_add(s.tomb_count)
}

impl<P, C> GossipNode<P, C>
where
    P: Clone + Eq + Hash + Ord + fmt::Debug,
    C: Payload,
{
    /// A node `me` with no peers yet; `seed` drives jitter, salts and session keys.
    pub fn new(me: P, key: FingerprintKey, cfg: GossipConfig, seed: u64) -> GossipNode<P, C> {
        GossipNode {
            me,
            cfg,
            key,
            peers: HashMap::new(),
            last_ok: HashMap::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            rng: seed ^ 0x6A09_E667_F3BC_C909,
            round_counter: 0,
            stats: GossipStats::default(),
        }
    }

    fn random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn jittered(&mut self) -> u64 {
        let base = self.cfg.round_interval_ms.max(1);
        let spread = base / 5;
        base - spread / 2 + self.random() % (spread + 1)
    }

    /// Changes the tunables (mode switch, config change); running rounds keep going.
    pub fn set_config(&mut self, cfg: GossipConfig, now: u64) {
        let was = self.cfg.initiates;
        self.cfg = cfg;
        if was != self.cfg.initiates {
            let initiates = self.cfg.initiates;
            let peers: Vec<P> = self.peers.keys().cloned().collect();
            for p in peers {
                self.transmit
                    .push_back((p.clone(), GossipMsg::Hello { initiates }));
                self.schedule(&p, now);
            }
        }
    }

    /// The tunables in force.
    pub fn config(&self) -> &GossipConfig {
        &self.cfg
    }

    fn should_initiate(&self, peer: &P) -> bool {
        if !self.cfg.initiates {
            return false;
        }
        match self.peers.get(peer).and_then(|s| s.initiates) {
            Some(true) => self.me < *peer,
            Some(false) => true,
            None => false,
        }
    }

    fn schedule(&mut self, peer: &P, now: u64) {
        let first = self.random() % (self.cfg.round_interval_ms / 10).max(1);
        let initiate = self.should_initiate(peer);
        if let Some(s) = self.peers.get_mut(peer) {
            s.next_round_at = initiate.then_some(now + first);
        }
    }

    /// A sync link to `peer` came up: say hello; rounds start soon after its hello.
    pub fn peer_up(&mut self, peer: P, now: u64) {
        if peer == self.me {
            return;
        }
        self.peers.insert(peer.clone(), PeerState::new());
        let initiates = self.cfg.initiates;
        self.transmit
            .push_back((peer.clone(), GossipMsg::Hello { initiates }));
        self.schedule(&peer, now);
    }

    /// The link to `peer` is gone: its sessions and queued sends are dropped (the next round
    /// after it returns finds whatever did not arrive).
    pub fn peer_down(&mut self, peer: &P) {
        self.peers.remove(peer);
        self.transmit.retain(|(p, _)| p != peer);
    }

    /// Peers with a link up.
    pub fn peers(&self) -> impl Iterator<Item = &P> {
        self.peers.keys()
    }

    /// Per-peer figures.
    pub fn peer_gossip(&self, peer: &P) -> Option<PeerGossip> {
        let s = self.peers.get(peer)?;
        Some(PeerGossip {
            last_round_ms: s.last_round_ms,
            queued_changes: queued_changes(&s.queue, None),
            to_receive: s.to_receive,
            failed_rounds: s.history.failed_rounds,
            proven_in_sync: s.proven,
            unacked_batches: s.unacked.len(),
            initiates: s.initiates,
        })
    }

    /// Local changes not yet sent to every peer (the `pending_announcements` metric).
    pub fn pending_announcements(&self) -> usize {
        self.peers
            .values()
            .map(|s| queued_changes(&s.queue, Some(Source::Push)))
            .sum()
    }

    /// Announces local changes to every peer at once (push), behind what is already queued.
    pub fn local_changes<R>(&mut self, changes: &[C], replica: &mut R)
    where
        R: Replica<P, Change = C>,
    {
        if !self.cfg.initiates || changes.is_empty() {
            return;
        }
        let peers: Vec<P> = self.peers.keys().cloned().collect();
        for p in peers {
            if let Some(s) = self.peers.get_mut(&p) {
                s.queue.push_back(Queued::Changes {
                    changes: changes.iter().cloned().collect(),
                    source: Source::Push,
                });
            }
            self.pump(&p, replica);
        }
    }

    fn enqueue(&mut self, peer: &P, q: Queued<C>) {
        if let Some(s) = self.peers.get_mut(peer) {
            s.queue.push_back(q);
        }
    }

    fn send_ids(&mut self, peer: &P, mut ids: Vec<[u8; 32]>) {
        if !ids.is_empty() {
            // In id order: the replica's fetches and the peer's applies then walk their
            // indexes in order instead of at random.
            ids.sort_unstable();
            self.expect(peer, ids.len() as u64);
            self.enqueue(
                peer,
                Queued::Ids {
                    ids: ids.into(),
                    source: Source::Round,
                },
            );
        }
    }

    /// Tells `peer` that `count` more changes are on their way (its "to receive").
    fn expect(&mut self, peer: &P, count: u64) {
        if count > 0 {
            self.transmit
                .push_back((peer.clone(), GossipMsg::Expect { count }));
        }
    }

    /// Queues everything this node holds for `peer` (it holds nothing).
    fn send_all<R>(&mut self, peer: &P, replica: &mut R)
    where
        R: Replica<P, Change = C>,
    {
        let remaining = match replica.summary() {
            Ok(s) => total(&s),
            Err(e) => {
                self.replica_error(peer, "cannot compute the summary", e);
                0
            }
        };
        self.expect(peer, remaining);
        self.enqueue(
            peer,
            Queued::Scan {
                cursor: 0,
                remaining,
                skip: HashSet::new(),
            },
        );
    }

    fn send_msg(&mut self, peer: &P, msg: GossipMsg<C>) {
        self.enqueue(peer, Queued::Msg(msg));
    }

    /// Releases queued messages and batches to `peer` while its window has room.
    fn pump<R>(&mut self, peer: &P, replica: &mut R)
    where
        R: Replica<P, Change = C>,
    {
        let max_changes = self.cfg.max_batch_changes.max(1);
        let max_bytes = self.cfg.max_batch_bytes.max(1);
        let window = self.cfg.window_batches.max(1);
        loop {
            let Some(s) = self.peers.get_mut(peer) else {
                return;
            };
            let Some(front) = s.queue.front_mut() else {
                return;
            };
            match front {
                Queued::Msg(_) => {
                    if let Some(Queued::Msg(m)) = s.queue.pop_front() {
                        self.transmit.push_back((peer.clone(), m));
                    }
                    continue;
                }
                _ if s.unacked.len() >= window => return,
                Queued::Ids { ids, source } => {
                    let source = *source;
                    let take: Vec<[u8; 32]> = ids.drain(..ids.len().min(max_changes)).collect();
                    if ids.is_empty() {
                        s.queue.pop_front();
                    }
                    match replica.fetch(&take) {
                        Ok(changes) if changes.is_empty() => continue,
                        Ok(changes) => {
                            // Put the fetched changes in front; the Changes arm sends them.
                            s.queue.push_front(Queued::Changes {
                                changes: changes.into(),
                                source,
                            });
                        }
                        Err(e) => {
                            let message = format!("cannot read changes to send: {e}");
                            self.events.push_back(GossipEvent::ReplicaError {
                                peer: peer.clone(),
                                message,
                            });
                            continue;
                        }
                    }
                }
                Queued::Scan {
                    cursor,
                    remaining,
                    skip,
                } => {
                    let at = *cursor;
                    match replica.scan(at, max_changes) {
                        Ok((mut changes, next)) => {
                            if !skip.is_empty() {
                                changes.retain(|c| !skip.contains(&c.element()));
                            }
                            *remaining = remaining.saturating_sub(changes.len() as u64);
                            match next {
                                Some(n) => *cursor = n,
                                None => {
                                    s.queue.pop_front();
                                }
                            }
                            if !changes.is_empty() {
                                s.queue.push_front(Queued::Changes {
                                    changes: changes.into(),
                                    source: Source::Round,
                                });
                            }
                        }
                        Err(e) => {
                            s.queue.pop_front();
                            let message = format!("cannot read changes to send: {e}");
                            self.events.push_back(GossipEvent::ReplicaError {
                                peer: peer.clone(),
                                message,
                            });
                        }
                    }
                }
                Queued::Changes { changes, source } => {
                    let source = *source;
                    let mut batch = Vec::new();
                    let mut bytes = 0usize;
                    while let Some(c) = changes.front() {
                        let len = c.encoded_len();
                        if !batch.is_empty()
                            && (batch.len() >= max_changes || bytes + len > max_bytes)
                        {
                            break;
                        }
                        bytes += len;
                        if let Some(c) = changes.pop_front() {
                            batch.push(c);
                        }
                    }
                    if changes.is_empty() {
                        s.queue.pop_front();
                    }
                    if batch.is_empty() {
                        continue;
                    }
                    let seq = s.next_seq;
                    s.next_seq += 1;
                    s.unacked.push_back(seq);
                    self.stats.changes_sent += batch.len() as u64;
                    self.transmit.push_back((
                        peer.clone(),
                        GossipMsg::Batch {
                            seq,
                            source,
                            changes: batch,
                        },
                    ));
                }
            }
        }
    }

    fn replica_error(&mut self, peer: &P, what: &str, e: impl fmt::Display) {
        self.events.push_back(GossipEvent::ReplicaError {
            peer: peer.clone(),
            message: format!("{what}: {e}"),
        });
    }

    fn finish_round(&mut self, peer: &P, outcome: RoundOutcome, now: u64) {
        let Some(s) = self.peers.get_mut(peer) else {
            return;
        };
        let Some(out) = s.outgoing.take() else {
            return;
        };
        let duration_ms = now.saturating_sub(out.started);
        s.last_round_ms = Some(duration_ms);
        match &outcome {
            RoundOutcome::Failed(_) => s.history.failed(matches!(out.phase, Phase::Exact { .. })),
            _ => s.history.succeeded(),
        }
        if matches!(outcome, RoundOutcome::InSync | RoundOutcome::BloomSynced) {
            s.to_receive = 0;
        }
        match &outcome {
            RoundOutcome::Failed(_) => self.stats.failed_rounds += 1,
            RoundOutcome::InSync => {
                self.stats.in_sync_rounds += 1;
                self.stats.successful_rounds += 1;
            }
            _ => self.stats.successful_rounds += 1,
        }
        if matches!(outcome, RoundOutcome::InSync | RoundOutcome::BloomSynced) {
            self.acked(peer, out.marker);
        }
        self.events.push_back(GossipEvent::RoundFinished {
            peer: peer.clone(),
            outcome,
            duration_ms,
        });
    }

    fn acked(&mut self, peer: &P, marker: u64) {
        if let Some(s) = self.peers.get_mut(peer) {
            s.proven = true;
        }
        self.last_ok.insert(peer.clone(), marker);
        self.events.push_back(GossipEvent::Acked {
            peer: peer.clone(),
            marker,
        });
    }

    /// The largest recent window worth a Bloom filter in a round between these summaries: the
    /// configured one, or more when the counts alone show a larger difference (a filter costs
    /// ~1.2 B per window element, the IBLT ~25 B per difference).
    fn window_limit(&self, mine: &Summary, theirs: &Summary) -> usize {
        let bound = strategy::difference_lower_bound(mine, theirs).saturating_mul(2);
        usize::try_from(bound)
            .unwrap_or(usize::MAX)
            .min(strategy::MAX_BLOOM_WINDOW)
            .max(self.cfg.max_window)
    }

    /// Records that `peer` held everything this node held at change-log `marker` (a good round
    /// before a restart, from the owner's durable acknowledgements): the next round can use the
    /// recent window since then.
    pub fn remember_good_round(&mut self, peer: P, marker: u64) {
        let m = self.last_ok.entry(peer).or_insert(marker);
        *m = (*m).max(marker);
    }

    /// The elements this node changed since its last good round with `peer`; `None` when that
    /// window is unknown (no good round since start) or larger than `max_window`.
    fn recent_window<R>(&mut self, peer: &P, limit: usize, replica: &mut R) -> Option<Vec<Element>>
    where
        R: Replica<P, Change = C>,
    {
        let since = *self.last_ok.get(peer)?;
        match replica.window(since, limit) {
            Ok(w) => w,
            Err(e) => {
                self.replica_error(peer, "cannot read the recent window", e);
                None
            }
        }
    }

    /// The recent window with a freshly salted Bloom filter over it (counted as sent).
    fn window_filter<R>(
        &mut self,
        peer: &P,
        limit: usize,
        replica: &mut R,
    ) -> Option<(Vec<Element>, BloomFilter)>
    where
        R: Replica<P, Change = C>,
    {
        let window = self.recent_window(peer, limit, replica)?;
        let salt = self.random();
        let mut filter = BloomFilter::with_fpr(window.len(), self.cfg.bloom_fpr, salt);
        for e in &window {
            filter.insert(&bloom_key(e.short(&self.key)));
        }
        self.stats.bloom_filters_sent += 1;
        self.stats.bloom_filter_items = window.len() as u64;
        self.stats.bloom_filter_fpr = filter.estimated_fpr();
        Some((window, filter))
    }

    /// Ids of `window` elements that `filter` lacks.
    fn missing_from(&self, window: &[Element], filter: &BloomFilter) -> Vec<[u8; 32]> {
        window
            .iter()
            .filter(|e| !filter.contains(&bloom_key(e.short(&self.key))))
            .map(|e| e.id)
            .collect()
    }

    fn shorts<R>(&mut self, peer: &P, replica: &mut R) -> Option<HashMap<u64, [u8; 32]>>
    where
        R: Replica<P, Change = C>,
    {
        match replica.elements() {
            Ok(els) => Some(els.iter().map(|e| (e.short(&self.key), e.id)).collect()),
            Err(e) => {
                self.replica_error(peer, "cannot list elements", e);
                None
            }
        }
    }

    /// The summaries still differ: identify the difference the way the strategy picks.
    fn start_identify<R>(
        &mut self,
        peer: &P,
        mine: &Summary,
        theirs: &Summary,
        now: u64,
        replica: &mut R,
    ) where
        R: Replica<P, Change = C>,
    {
        let history = self.peers.get(peer).map(|s| s.history).unwrap_or_default();
        match strategy::choose(mine, theirs, &history) {
            Plan::Exact {
                budget,
                first,
                fallback,
            } => self.start_exact(peer, (budget, first), fallback, now, replica),
            Plan::List { lister } => self.start_list(peer, lister, now, replica),
        }
    }

    fn start_exact<R>(
        &mut self,
        peer: &P,
        plan: (u64, usize),
        fallback: Side,
        now: u64,
        replica: &mut R,
    ) where
        R: Replica<P, Change = C>,
    {
        let (budget, first) = plan;
        let Some(shorts) = self.shorts(peer, replica) else {
            self.finish_round(peer, RoundOutcome::Failed("replica error".into()), now);
            return;
        };
        let hash_key = self.random();
        let Some(out) = self.peers.get_mut(peer).and_then(|s| s.outgoing.as_mut()) else {
            return;
        };
        let (initiator, first) =
            Initiator::start(out.round, hash_key, shorts.keys().copied(), budget, first);
        out.phase = Phase::Exact {
            initiator,
            shorts,
            fallback,
        };
        out.deadline = now + self.cfg.session_timeout_ms;
        self.stats.exact_sessions += 1;
        self.send_msg(peer, GossipMsg::Exact(first));
    }

    /// Our elements with their short ids under a listing's salted key, by short id.
    fn salted<R>(&mut self, peer: &P, salt: u64, replica: &mut R) -> Option<Vec<Salted>>
    where
        R: Replica<P, Change = C>,
    {
        let key = self.key.salted(salt);
        match replica.elements() {
            Ok(els) => {
                let mut v: Vec<Salted> = els.into_iter().map(|e| (e.short(&key), e)).collect();
                v.sort_unstable();
                Some(v)
            }
            Err(e) => {
                self.replica_error(peer, "cannot list elements", e);
                None
            }
        }
    }

    /// Sends our listing (salted shorts, in chunks); answers the short → id map for the wants.
    fn send_listing<R>(
        &mut self,
        peer: &P,
        round: u64,
        salt: u64,
        replica: &mut R,
    ) -> Option<HashMap<u64, [u8; 32]>>
    where
        R: Replica<P, Change = C>,
    {
        let listed = self.salted(peer, salt, replica)?;
        self.stats.listings += 1;
        let shorts: Vec<u64> = listed.iter().map(|(s, _)| *s).collect();
        for (last, shorts) in list_chunks(&shorts) {
            let chunk = GossipMsg::ListChunk {
                round,
                salt,
                last,
                shorts,
            };
            self.send_msg(peer, chunk);
        }
        Some(listed.into_iter().map(|(s, e)| (s, e.id)).collect())
    }

    /// A whole listing arrived: send what it lacks, ask for what we lack; answers the count of
    /// elements sent, `None` on a replica error.
    fn answer_listing<R>(
        &mut self,
        peer: &P,
        round: u64,
        listing: &Receiving,
        replica: &mut R,
    ) -> Option<usize>
    where
        R: Replica<P, Change = C>,
    {
        let own = self.salted(peer, listing.salt, replica)?;
        self.stats.listings += 1;
        let (held, lacks): (Vec<&Salted>, Vec<&Salted>) =
            own.iter().partition(|(s, _)| listing.shorts.contains(s));
        let mut want: Vec<u64> = listing
            .shorts
            .iter()
            .filter(|s| own.binary_search_by_key(*s, |(k, _)| *k).is_err())
            .copied()
            .collect();
        want.sort_unstable();
        let found = lacks.len();
        self.stats.listed_differences += found as u64;
        for (last, want) in list_chunks(&want) {
            self.send_msg(peer, GossipMsg::ListWant { round, last, want });
        }
        if lacks.len() > own.len() / 2 {
            // The listing lacks most of what we hold: stream the store in its own order, minus
            // the few elements the listing holds, rather than fetching every id on its own.
            let skip: HashSet<Element> = held.iter().map(|(_, e)| *e).collect();
            self.expect(peer, found as u64);
            self.enqueue(
                peer,
                Queued::Scan {
                    cursor: 0,
                    remaining: found as u64,
                    skip,
                },
            );
        } else {
            let ids = lacks.iter().map(|(_, e)| e.id).collect();
            self.send_ids(peer, ids);
        }
        Some(found)
    }

    /// Identifies the difference by a listing of the side `lister`.
    fn start_list<R>(&mut self, peer: &P, lister: Side, now: u64, replica: &mut R)
    where
        R: Replica<P, Change = C>,
    {
        let salt = self.random();
        let Some(round) = self
            .peers
            .get(peer)
            .and_then(|s| s.outgoing.as_ref())
            .map(|o| o.round)
        else {
            return;
        };
        let phase = match lister {
            Side::Initiator => match self.send_listing(peer, round, salt, replica) {
                Some(map) => Phase::Listed { map, sent: 0 },
                None => {
                    self.finish_round(peer, RoundOutcome::Failed("replica error".into()), now);
                    return;
                }
            },
            Side::Responder => {
                self.send_msg(peer, GossipMsg::ListAsk { round, salt });
                Phase::Listing(Receiving {
                    salt,
                    shorts: HashSet::new(),
                })
            }
        };
        if let Some(out) = self.peers.get_mut(peer).and_then(|s| s.outgoing.as_mut()) {
            out.phase = phase;
            out.deadline = now + self.cfg.session_timeout_ms;
        }
    }

    /// The exact step could not finish: fall to a listing in the same round.
    fn exact_fell_through<R>(&mut self, peer: &P, now: u64, replica: &mut R)
    where
        R: Replica<P, Change = C>,
    {
        let fallback = match self.peers.get_mut(peer) {
            Some(s) => {
                s.history.exact_failed = true;
                match s.outgoing.as_ref().map(|o| &o.phase) {
                    Some(Phase::Exact { fallback, .. }) => *fallback,
                    _ => return,
                }
            }
            None => return,
        };
        self.start_list(peer, fallback, now, replica);
    }

    fn on_list_ask<R>(&mut self, peer: &P, round: u64, salt: u64, now: u64, replica: &mut R)
    where
        R: Replica<P, Change = C>,
    {
        let ours = self
            .peers
            .get(peer)
            .and_then(|s| s.incoming.as_ref())
            .is_some_and(|i| i.round == round && i.list.is_none());
        if !ours {
            return;
        }
        let Some(map) = self.send_listing(peer, round, salt, replica) else {
            return;
        };
        let timeout = self.cfg.session_timeout_ms;
        if let Some(i) = self.peers.get_mut(peer).and_then(|s| s.incoming.as_mut()) {
            i.list = Some(InList::Listed(map));
            i.deadline = now + timeout;
        }
    }

    fn on_list_chunk<R>(&mut self, peer: &P, chunk: ListPart, now: u64, replica: &mut R)
    where
        R: Replica<P, Change = C>,
    {
        let ListPart {
            round,
            salt,
            last,
            shorts,
        } = chunk;
        let timeout = self.cfg.session_timeout_ms;
        let Some(s) = self.peers.get_mut(peer) else {
            return;
        };
        // The initiator collecting the responder's listing.
        if let Some(out) = s.outgoing.as_mut().filter(|o| o.round == round) {
            let Phase::Listing(rx) = &mut out.phase else {
                return;
            };
            if rx.salt != salt {
                return;
            }
            rx.shorts.extend(shorts);
            out.deadline = now + timeout;
            if !last {
                return;
            }
            let Phase::Listing(rx) = std::mem::replace(&mut out.phase, Phase::AwaitReply) else {
                return;
            };
            match self.answer_listing(peer, round, &rx, replica) {
                Some(found) => self.finish_round(peer, RoundOutcome::Reconciled { found }, now),
                None => self.finish_round(peer, RoundOutcome::Failed("replica error".into()), now),
            }
            return;
        }
        // The responder collecting the initiator's listing.
        let Some(inc) = s.incoming.as_mut().filter(|i| i.round == round) else {
            return;
        };
        let rx = match inc.list.get_or_insert_with(|| {
            InList::Receiving(Receiving {
                salt,
                shorts: HashSet::new(),
            })
        }) {
            InList::Receiving(rx) if rx.salt == salt => rx,
            _ => return,
        };
        rx.shorts.extend(shorts);
        inc.deadline = now + timeout;
        if !last {
            return;
        }
        let Some(InList::Receiving(rx)) = inc.list.take() else {
            return;
        };
        s.incoming = None;
        self.answer_listing(peer, round, &rx, replica);
    }

    fn on_list_want(&mut self, peer: &P, round: u64, last: bool, want: Vec<u64>, now: u64) {
        let timeout = self.cfg.session_timeout_ms;
        let Some(s) = self.peers.get_mut(peer) else {
            return;
        };
        let mut ids = Vec::new();
        let mut finished = None;
        if let Some(out) = s.outgoing.as_mut().filter(|o| o.round == round) {
            let Phase::Listed { map, sent } = &mut out.phase else {
                return;
            };
            ids.extend(want.iter().filter_map(|w| map.get(w).copied()));
            *sent += ids.len();
            out.deadline = now + timeout;
            if last {
                finished = Some(*sent);
            }
        } else if let Some(inc) = s.incoming.as_mut().filter(|i| i.round == round) {
            let Some(InList::Listed(map)) = &inc.list else {
                return;
            };
            ids.extend(want.iter().filter_map(|w| map.get(w).copied()));
            inc.deadline = now + timeout;
            if last {
                s.incoming = None;
            }
        } else {
            return;
        }
        self.stats.listed_differences += ids.len() as u64;
        self.send_ids(peer, ids);
        if let Some(found) = finished {
            self.finish_round(peer, RoundOutcome::Reconciled { found }, now);
        }
    }

    /// Handles a message from `peer`.
    pub fn handle<R>(&mut self, peer: &P, msg: GossipMsg<C>, now: u64, replica: &mut R)
    where
        R: Replica<P, Change = C>,
    {
        if !self.peers.contains_key(peer) {
            return;
        }
        match msg {
            GossipMsg::Hello { initiates } => {
                if let Some(s) = self.peers.get_mut(peer) {
                    s.initiates = Some(initiates);
                }
                self.schedule(peer, now);
            }
            GossipMsg::Batch {
                seq,
                source,
                changes,
            } => {
                let received = changes.len();
                self.stats.changes_received += received as u64;
                if source == Source::Round {
                    if let Some(s) = self.peers.get_mut(peer) {
                        s.to_receive = s.to_receive.saturating_sub(received as u64);
                    }
                }
                match replica.apply(peer, changes, source) {
                    Ok(applied) => {
                        self.stats.changes_applied += applied as u64;
                        self.events.push_back(GossipEvent::Applied {
                            peer: peer.clone(),
                            source,
                            received,
                            applied,
                        });
                    }
                    Err(e) => self.replica_error(peer, "cannot apply a batch", e),
                }
                // Ack even a failed batch: the sender's window must move on, and the next
                // round finds whatever did not stick.
                self.transmit
                    .push_back((peer.clone(), GossipMsg::Ack { seq }));
            }
            GossipMsg::Ack { seq } => {
                if let Some(s) = self.peers.get_mut(peer) {
                    s.unacked.retain(|q| *q != seq);
                }
            }
            GossipMsg::Summary { round, summary } => {
                self.on_summary(peer, round, &summary, now, replica)
            }
            GossipMsg::InSync { round } => {
                if self.out_phase(peer, round, |p| matches!(p, Phase::AwaitReply)) {
                    self.finish_round(peer, RoundOutcome::InSync, now);
                }
            }
            GossipMsg::Differ {
                round,
                summary,
                bloom,
            } => {
                if self.out_phase(peer, round, |p| matches!(p, Phase::AwaitReply)) {
                    self.on_differ(peer, round, &summary, bloom, now, replica);
                }
            }
            GossipMsg::Bloom { round, bloom } => {
                let ours = self
                    .peers
                    .get(peer)
                    .and_then(|s| s.incoming.as_ref())
                    .is_some_and(|i| i.round == round);
                if !ours {
                    return;
                }
                if let Some(filter) = bloom {
                    let limit = self
                        .peers
                        .get(peer)
                        .and_then(|s| s.incoming.as_ref())
                        .map_or(self.cfg.max_window, |i| i.window_limit);
                    if let Some(window) = self.recent_window(peer, limit, replica) {
                        let lacking = self.missing_from(&window, &filter);
                        self.send_ids(peer, lacking);
                    }
                }
                match replica.summary() {
                    Ok(summary) => {
                        if let Some(i) = self.peers.get_mut(peer).and_then(|s| s.incoming.as_mut())
                        {
                            i.deadline = now + self.cfg.session_timeout_ms;
                        }
                        self.send_msg(peer, GossipMsg::Check { round, summary });
                    }
                    Err(e) => self.replica_error(peer, "cannot compute the summary", e),
                }
            }
            GossipMsg::Check { round, summary } => {
                if self.out_phase(peer, round, |p| matches!(p, Phase::AwaitCheck)) {
                    match replica.summary() {
                        Ok(mine) if mine.in_sync_with(&summary) => {
                            self.send_msg(peer, GossipMsg::RoundEnd { round });
                            self.finish_round(peer, RoundOutcome::BloomSynced, now);
                        }
                        Ok(mine) => self.start_identify(peer, &mine, &summary, now, replica),
                        Err(e) => {
                            self.replica_error(peer, "cannot compute the summary", e);
                            self.finish_round(
                                peer,
                                RoundOutcome::Failed("replica error".into()),
                                now,
                            );
                        }
                    }
                }
            }
            GossipMsg::RoundEnd { round } => {
                let marker = self
                    .peers
                    .get_mut(peer)
                    .and_then(|s| match s.incoming.take() {
                        Some(i) if i.round == round => {
                            s.to_receive = 0;
                            Some(i.marker)
                        }
                        other => {
                            s.incoming = other;
                            None
                        }
                    });
                if let Some(m) = marker {
                    self.stats.successful_rounds += 1;
                    self.acked(peer, m);
                }
            }
            GossipMsg::SendAll { round } => {
                let ours = self
                    .peers
                    .get_mut(peer)
                    .and_then(|s| s.incoming.take())
                    .is_some_and(|i| i.round == round);
                if ours {
                    self.send_all(peer, replica);
                }
            }
            GossipMsg::Exact(m) => self.on_exact(peer, m, now, replica),
            GossipMsg::ListAsk { round, salt } => self.on_list_ask(peer, round, salt, now, replica),
            GossipMsg::ListChunk {
                round,
                salt,
                last,
                shorts,
            } => {
                let chunk = ListPart {
                    round,
                    salt,
                    last,
                    shorts,
                };
                self.on_list_chunk(peer, chunk, now, replica)
            }
            GossipMsg::ListWant { round, last, want } => {
                self.on_list_want(peer, round, last, want, now)
            }
            GossipMsg::Expect { count } => {
                if let Some(s) = self.peers.get_mut(peer) {
                    s.to_receive = s.to_receive.saturating_add(count);
                }
            }
        }
        self.pump(peer, replica);
    }

    fn out_phase(&self, peer: &P, round: u64, want: impl Fn(&Phase) -> bool) -> bool {
        self.peers
            .get(peer)
            .and_then(|s| s.outgoing.as_ref())
            .is_some_and(|o| o.round == round && want(&o.phase))
    }

    fn on_summary<R>(&mut self, peer: &P, round: u64, theirs: &Summary, now: u64, replica: &mut R)
    where
        R: Replica<P, Change = C>,
    {
        self.stats.rounds_answered += 1;
        let (mine, marker) = match (replica.summary(), replica.marker()) {
            (Ok(s), Ok(m)) => (s, m),
            (Err(e), _) | (_, Err(e)) => {
                self.replica_error(peer, "cannot compute the summary", e);
                return;
            }
        };
        if mine.in_sync_with(theirs) {
            if let Some(s) = self.peers.get_mut(peer) {
                s.incoming = None;
                s.to_receive = 0;
            }
            self.send_msg(peer, GossipMsg::InSync { round });
            self.stats.successful_rounds += 1;
            self.acked(peer, marker);
            return;
        }
        let window_limit = self.window_limit(&mine, theirs);
        let bloom = if total(theirs) == 0 || total(&mine) == 0 {
            None
        } else {
            self.window_filter(peer, window_limit, replica)
                .map(|(_, f)| f)
        };
        if let Some(s) = self.peers.get_mut(peer) {
            s.proven = false;
            s.incoming = Some(InRound {
                round,
                deadline: now + self.cfg.session_timeout_ms,
                marker,
                exact: None,
                exact_closed: false,
                list: None,
                window_limit,
            });
        }
        self.send_msg(
            peer,
            GossipMsg::Differ {
                round,
                summary: mine,
                bloom,
            },
        );
    }

    fn on_differ<R>(
        &mut self,
        peer: &P,
        round: u64,
        theirs: &Summary,
        bloom: Option<BloomFilter>,
        now: u64,
        replica: &mut R,
    ) where
        R: Replica<P, Change = C>,
    {
        let mine = match replica.summary() {
            Ok(s) => s,
            Err(e) => {
                self.replica_error(peer, "cannot compute the summary", e);
                self.finish_round(peer, RoundOutcome::Failed("replica error".into()), now);
                return;
            }
        };
        if mine.in_sync_with(theirs) {
            // Changes that arrived while the reply was on its way (a transfer queued ahead of
            // it) closed the gap: nothing left to reconcile.
            self.finish_round(peer, RoundOutcome::InSync, now);
            return;
        }
        if let Some(s) = self.peers.get_mut(peer) {
            s.proven = false;
        }
        if total(theirs) == 0 {
            let found = usize::try_from(total(&mine)).unwrap_or(usize::MAX);
            self.send_all(peer, replica);
            self.finish_round(peer, RoundOutcome::Reconciled { found }, now);
            return;
        }
        if total(&mine) == 0 {
            self.send_msg(peer, GossipMsg::SendAll { round });
            self.finish_round(peer, RoundOutcome::Reconciled { found: 0 }, now);
            return;
        }
        let Some(filter) = bloom else {
            self.start_identify(peer, &mine, theirs, now, replica);
            return;
        };
        let limit = self.window_limit(&mine, theirs);
        let own = self.window_filter(peer, limit, replica);
        let own_filter = own.map(|(window, f)| {
            let lacking = self.missing_from(&window, &filter);
            self.send_ids(peer, lacking);
            f
        });
        if let Some(out) = self.peers.get_mut(peer).and_then(|s| s.outgoing.as_mut()) {
            out.phase = Phase::AwaitCheck;
            out.deadline = now + self.cfg.session_timeout_ms;
        }
        self.send_msg(
            peer,
            GossipMsg::Bloom {
                round,
                bloom: own_filter,
            },
        );
    }

    fn on_exact<R>(&mut self, peer: &P, m: ExactMsg, now: u64, replica: &mut R)
    where
        R: Replica<P, Change = C>,
    {
        if let ExactMsg::Symbols { session, .. } = &m {
            let session = *session;
            let needs_responder = match self.peers.get(peer).and_then(|s| s.incoming.as_ref()) {
                Some(i) if i.round == session && !i.exact_closed => i.exact.is_none(),
                _ => return,
            };
            if needs_responder {
                let Some(shorts) = self.shorts(peer, replica) else {
                    return;
                };
                let responder = Responder::new(shorts.keys().copied());
                self.stats.exact_sessions += 1;
                if let Some(i) = self.peers.get_mut(peer).and_then(|s| s.incoming.as_mut()) {
                    i.exact = Some((responder, shorts));
                }
            }
            let timeout = self.cfg.session_timeout_ms;
            let Some(inc) = self.peers.get_mut(peer).and_then(|s| s.incoming.as_mut()) else {
                return;
            };
            inc.deadline = now + timeout;
            let Some((responder, shorts)) = inc.exact.as_mut() else {
                return;
            };
            match responder.handle(m) {
                ResponderEvent::Send(reply) => self.send_msg(peer, GossipMsg::Exact(reply)),
                ResponderEvent::Finished {
                    done,
                    initiator_lacks,
                } => {
                    let ids: Vec<[u8; 32]> = initiator_lacks
                        .iter()
                        .filter_map(|s| shorts.get(s).copied())
                        .collect();
                    if let Some(s) = self.peers.get_mut(peer) {
                        s.incoming = None;
                    }
                    self.stats.exact_differences += ids.len() as u64;
                    // Done first: the initiator's transfer need not wait behind ours.
                    self.send_msg(peer, GossipMsg::Exact(done));
                    self.send_ids(peer, ids);
                }
                ResponderEvent::Aborted(abort) => {
                    // The initiator falls to a listing in this round: keep the round open.
                    inc.exact = None;
                    inc.exact_closed = true;
                    self.send_msg(peer, GossipMsg::Exact(abort));
                }
                ResponderEvent::Ignored => {}
            }
            return;
        }
        if let ExactMsg::Abort { session } = &m {
            if let Some(i) = self
                .peers
                .get_mut(peer)
                .and_then(|s| s.incoming.as_mut())
                .filter(|i| i.round == *session)
            {
                // The initiator falls to a listing in this round: keep the round open.
                i.exact = None;
                i.exact_closed = true;
            }
        }
        let timeout = self.cfg.session_timeout_ms;
        let Some(out) = self.peers.get_mut(peer).and_then(|s| s.outgoing.as_mut()) else {
            return;
        };
        let Phase::Exact {
            initiator, shorts, ..
        } = &mut out.phase
        else {
            return;
        };
        out.deadline = now + timeout;
        match initiator.handle(m) {
            InitiatorEvent::Send(next) => self.send_msg(peer, GossipMsg::Exact(next)),
            InitiatorEvent::Finished { responder_wants } => {
                let ids: Vec<[u8; 32]> = responder_wants
                    .iter()
                    .filter_map(|s| shorts.get(s).copied())
                    .collect();
                let found = ids.len();
                self.stats.exact_differences += found as u64;
                self.send_ids(peer, ids);
                self.finish_round(peer, RoundOutcome::Reconciled { found }, now);
            }
            InitiatorEvent::GaveUp(abort) => {
                self.send_msg(peer, GossipMsg::Exact(abort));
                self.exact_fell_through(peer, now, replica);
            }
            InitiatorEvent::Aborted => self.exact_fell_through(peer, now, replica),
            InitiatorEvent::Ignored => {}
        }
    }

    /// Starts due rounds and abandons rounds that made no progress (lost links, partitions).
    pub fn handle_timeout<R>(&mut self, now: u64, replica: &mut R)
    where
        R: Replica<P, Change = C>,
    {
        let peers: Vec<P> = self.peers.keys().cloned().collect();
        for peer in peers {
            let (stalled, due) = match self.peers.get_mut(&peer) {
                Some(s) => {
                    if s.incoming.as_ref().is_some_and(|i| now >= i.deadline) {
                        s.incoming = None;
                    }
                    (
                        s.outgoing.as_ref().is_some_and(|o| now >= o.deadline),
                        s.next_round_at.is_some_and(|t| t <= now),
                    )
                }
                None => continue,
            };
            if stalled {
                self.finish_round(&peer, RoundOutcome::Failed("no answer in time".into()), now);
            }
            if !due {
                continue;
            }
            let next = now + self.jittered();
            let idle = match self.peers.get_mut(&peer) {
                Some(s) => {
                    s.next_round_at = Some(next);
                    s.idle()
                }
                None => continue,
            };
            if idle && self.should_initiate(&peer) {
                self.start_round(&peer, now, replica);
            }
        }
    }

    fn start_round<R>(&mut self, peer: &P, now: u64, replica: &mut R)
    where
        R: Replica<P, Change = C>,
    {
        let (summary, marker) = match (replica.summary(), replica.marker()) {
            (Ok(s), Ok(m)) => (s, m),
            (Err(e), _) | (_, Err(e)) => {
                self.replica_error(peer, "cannot compute the summary", e);
                return;
            }
        };
        self.round_counter += 1;
        let round = self.round_counter;
        self.stats.rounds += 1;
        if let Some(s) = self.peers.get_mut(peer) {
            s.outgoing = Some(OutRound {
                round,
                started: now,
                deadline: now + self.cfg.session_timeout_ms,
                marker,
                phase: Phase::AwaitReply,
            });
        }
        self.send_msg(peer, GossipMsg::Summary { round, summary });
        self.pump(peer, replica);
    }

    /// Starts a round with every idle peer now (`sync now` in native mode would not; tests and
    /// a peer that just came back use it).
    pub fn round_now<R>(&mut self, now: u64, replica: &mut R)
    where
        R: Replica<P, Change = C>,
    {
        let peers: Vec<P> = self.peers.keys().cloned().collect();
        for p in peers {
            let idle = self.peers.get(&p).is_some_and(PeerState::idle);
            if idle && self.should_initiate(&p) {
                self.start_round(&p, now, replica);
            }
        }
    }

    /// The next instant at which [`GossipNode::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.peers
            .values()
            .flat_map(|s| {
                [
                    s.next_round_at,
                    s.outgoing.as_ref().map(|o| o.deadline),
                    s.incoming.as_ref().map(|i| i.deadline),
                ]
            })
            .flatten()
            .min()
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<(P, GossipMsg<C>)> {
        self.transmit.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<GossipEvent<P>> {
        self.events.pop_front()
    }

    /// The counters.
    pub fn stats(&self) -> &GossipStats {
        &self.stats
    }

    /// This node's id.
    pub fn id(&self) -> &P {
        &self.me
    }

    /// The group fingerprint key.
    pub fn key(&self) -> &FingerprintKey {
        &self.key
    }

    /// Replaces the group fingerprint key (seed rotation, or the seed read after start-up).
    /// The good-round markers stay: they are change-log positions, not keyed values.
    pub fn set_key(&mut self, key: FingerprintKey) {
        self.key = key;
    }
}

/// `shorts` in message-sized chunks, each with whether it is the last; at least one (empty)
/// chunk, so the receiver always learns the listing ended.
fn list_chunks(shorts: &[u64]) -> Vec<(bool, Vec<u64>)> {
    let n = shorts.len().div_ceil(MAX_LIST_CHUNK).max(1);
    (0..n)
        .map(|i| {
            let part = shorts.get(i * MAX_LIST_CHUNK..).unwrap_or_default();
            (i + 1 == n, part[..part.len().min(MAX_LIST_CHUNK)].to_vec())
        })
        .collect()
}

fn queued_changes<C>(queue: &VecDeque<Queued<C>>, only: Option<Source>) -> usize {
    queue
        .iter()
        .map(|q| match q {
            Queued::Ids { ids, source } if only.is_none_or(|o| o == *source) => ids.len(),
            Queued::Changes { changes, source } if only.is_none_or(|o| o == *source) => {
                changes.len()
            }
            Queued::Scan { remaining, .. } if only.is_none_or(|o| o == Source::Round) => {
                usize::try_from(*remaining).unwrap_or(usize::MAX)
            }
            _ => 0,
        })
        .sum()
}
