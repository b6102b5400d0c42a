//! A deterministic simulated network for the gossip machines (as iroh-gossip's `proto/sim`):
//! N nodes in a full mesh (a roster is one), seeded randomness, per-link latency with FIFO
//! delivery (QUIC streams are ordered), partitions, restarts, clock skew and tombstone
//! collection. A lost message models what QUIC does with a broken path: the link resets (both
//! sides see it go down and come back), so queued sends are dropped and rounds recover.
//! Virtual time only; nothing sleeps.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};

use super::msg::GossipMsg;
use super::node::{GossipConfig, GossipEvent, GossipNode};
use super::replica::{Item, MemReplica, Version};
use crate::reconcile::summary::FingerprintKey;

/// Network and timing knobs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Number of nodes.
    pub nodes: u64,
    /// Gossip round interval per pair.
    pub round_interval_ms: u64,
    /// Minimum one-way latency.
    pub min_latency_ms: u64,
    /// Maximum one-way latency.
    pub max_latency_ms: u64,
    /// Probability (0–1) that a message is lost, resetting its link.
    pub loss: f64,
    /// Changes per batch (small values exercise flow control).
    pub max_batch_changes: usize,
    /// Seed of everything random.
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            nodes: 5,
            round_interval_ms: 2_000,
            min_latency_ms: 1,
            max_latency_ms: 40,
            loss: 0.0,
            max_batch_changes: 64,
            seed: 1,
        }
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    at: std::cmp::Reverse<u64>,
    seq: std::cmp::Reverse<u64>,
    from: u64,
    to: u64,
}

/// Message counts by kind, for redundancy checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Messages delivered, by kind name.
    pub by_kind: BTreeMap<&'static str, u64>,
    /// Changes delivered in batches.
    pub changes: u64,
    /// Application bytes delivered.
    pub bytes: u64,
    /// Application bytes of the batches among them (the payload).
    pub batch_bytes: u64,
}

impl Traffic {
    /// Bytes spent finding the difference: everything but the batches' payload.
    pub fn identification_bytes(&self) -> u64 {
        self.bytes.saturating_sub(self.batch_bytes)
    }
}

/// The simulated network.
#[derive(Debug)]
pub struct Sim {
    cfg: SimConfig,
    key: FingerprintKey,
    now: u64,
    nodes: Vec<GossipNode<u64, Item>>,
    replicas: Vec<MemReplica>,
    skew_ms: Vec<i64>,
    hlc: Vec<u64>,
    down: BTreeSet<u64>,
    partition: Option<BTreeSet<u64>>,
    queue: BinaryHeap<Event>,
    payloads: HashMap<u64, (u64, GossipMsg<Item>)>,
    link_epoch: HashMap<(u64, u64), u64>,
    link_free_at: HashMap<(u64, u64), u64>,
    seq: u64,
    rng: u64,
    /// Traffic delivered since the last [`Sim::reset_traffic`].
    pub traffic: Traffic,
    /// Acks reported by each node: (node, peer) → marker.
    pub acks: BTreeMap<(u64, u64), u64>,
    writes: Vec<Item>,
}

fn pair(a: u64, b: u64) -> (u64, u64) {
    (a.min(b), a.max(b))
}

impl Sim {
    /// Builds a full mesh of `cfg.nodes` nodes, all links up.
    pub fn new(cfg: SimConfig) -> Sim {
        let key = FingerprintKey::from_group_seed(&cfg.seed.to_le_bytes());
        let n = cfg.nodes;
        let mut sim = Sim {
            key: key.clone(),
            nodes: Vec::new(),
            replicas: (0..n).map(|_| MemReplica::new(key.clone())).collect(),
            skew_ms: vec![0; n as usize],
            hlc: vec![0; n as usize],
            rng: cfg.seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1,
            cfg,
            now: 0,
            down: BTreeSet::new(),
            partition: None,
            queue: BinaryHeap::new(),
            payloads: HashMap::new(),
            link_epoch: HashMap::new(),
            link_free_at: HashMap::new(),
            seq: 0,
            traffic: Traffic::default(),
            acks: BTreeMap::new(),
            writes: Vec::new(),
        };
        sim.nodes = (0..n).map(|i| sim.machine(i)).collect();
        for a in 0..n {
            for b in a + 1..n {
                sim.link_up(a, b);
            }
        }
        sim
    }

    fn machine(&self, i: u64) -> GossipNode<u64, Item> {
        let cfg = GossipConfig {
            round_interval_ms: self.cfg.round_interval_ms,
            session_timeout_ms: self.cfg.round_interval_ms * 4,
            max_batch_changes: self.cfg.max_batch_changes,
            ..GossipConfig::default()
        };
        GossipNode::new(i, self.key.clone(), cfg, self.cfg.seed ^ (i << 32))
    }

    /// A deterministic pseudo-random number.
    pub fn random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Virtual time now.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The machines.
    pub fn nodes(&self) -> &[GossipNode<u64, Item>] {
        &self.nodes
    }

    /// Node `n`'s replica.
    pub fn replica(&self, n: u64) -> &MemReplica {
        &self.replicas[n as usize]
    }

    /// Shifts node `n`'s wall clock (its HLC stamps) by `skew_ms`.
    pub fn set_skew(&mut self, n: u64, skew_ms: i64) {
        self.skew_ms[n as usize] = skew_ms;
    }

    fn stamp(&mut self, n: u64) -> u64 {
        let wall = (self.now as i64 + self.skew_ms[n as usize]).max(0) as u64;
        let h = &mut self.hlc[n as usize];
        *h = (*h + 1).max(wall << 16);
        *h
    }

    /// The HLC stamp node `n` would give a change now (for collection horizons).
    pub fn clock(&self, n: u64) -> u64 {
        self.hlc[n as usize]
    }

    /// Node `n` writes (live) or deletes (tombstone) item `id` now.
    pub fn write(&mut self, n: u64, id: u64, live: bool) {
        if self.down.contains(&n) {
            return;
        }
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&id.to_le_bytes());
        let item = Item {
            id: key,
            version: Version {
                hlc: self.stamp(n),
                author: n,
                live,
            },
        };
        self.writes.push(item);
        let i = n as usize;
        if self.replicas[i].merge(item) {
            self.nodes[i].local_changes(&[item], &mut self.replicas[i]);
        }
        self.flush(n);
    }

    /// Puts item `id` into node `n`'s replica as if it had been there before the links came
    /// up (stamped `hlc`, authored by `n`), without announcing it: an arbitrary starting state.
    pub fn preload(&mut self, n: u64, id: u64, live: bool, hlc: u64) {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&id.to_le_bytes());
        let item = Item {
            id: key,
            version: Version {
                hlc,
                author: n,
                live,
            },
        };
        self.writes.push(item);
        self.replicas[n as usize].merge(item);
        let h = &mut self.hlc[n as usize];
        *h = (*h).max(hlc);
    }

    /// Node `n` collects its tombstones stamped at or before `horizon` (§2.3).
    pub fn collect(&mut self, n: u64, horizon: u64) {
        self.replicas[n as usize].collect(horizon);
    }

    fn reachable(&self, a: u64, b: u64) -> bool {
        if self.down.contains(&a) || self.down.contains(&b) {
            return false;
        }
        match &self.partition {
            Some(side) => side.contains(&a) == side.contains(&b),
            None => true,
        }
    }

    fn link_up(&mut self, a: u64, b: u64) {
        *self.link_epoch.entry(pair(a, b)).or_default() += 1;
        let now = self.now;
        self.nodes[a as usize].peer_up(b, now);
        self.nodes[b as usize].peer_up(a, now);
        self.flush(a);
        self.flush(b);
    }

    fn link_down(&mut self, a: u64, b: u64) {
        *self.link_epoch.entry(pair(a, b)).or_default() += 1;
        self.nodes[a as usize].peer_down(&b);
        self.nodes[b as usize].peer_down(&a);
    }

    /// Re-derives every link from reachability: links that can no longer work go down, links
    /// that can come up do (as the engine's dialer would).
    fn relink(&mut self, was: &BTreeSet<(u64, u64)>) {
        let n = self.cfg.nodes;
        for a in 0..n {
            for b in a + 1..n {
                let up = self.reachable(a, b);
                match (was.contains(&(a, b)), up) {
                    (true, false) => {
                        if !self.down.contains(&a) {
                            self.nodes[a as usize].peer_down(&b);
                        }
                        if !self.down.contains(&b) {
                            self.nodes[b as usize].peer_down(&a);
                        }
                        *self.link_epoch.entry((a, b)).or_default() += 1;
                    }
                    (false, true) => self.link_up(a, b),
                    _ => {}
                }
            }
        }
    }

    fn links(&self) -> BTreeSet<(u64, u64)> {
        let n = self.cfg.nodes;
        (0..n)
            .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
            .filter(|(a, b)| self.reachable(*a, *b))
            .collect()
    }

    /// Splits the network: nodes in `side` reach only each other.
    pub fn partition(&mut self, side: &[u64]) {
        let was = self.links();
        self.partition = Some(side.iter().copied().collect());
        self.relink(&was);
    }

    /// Removes the partition.
    pub fn heal(&mut self) {
        let was = self.links();
        self.partition = None;
        self.relink(&was);
    }

    /// Takes node `n` offline.
    pub fn stop(&mut self, n: u64) {
        let was = self.links();
        self.down.insert(n);
        self.relink(&was);
    }

    /// Brings node `n` back as after a restart: a fresh machine over the durable replica and
    /// its durable acknowledgements.
    pub fn restart(&mut self, n: u64) {
        let was = self.links();
        self.down.remove(&n);
        self.nodes[n as usize] = self.machine(n);
        // The engine keeps acknowledgements durably (tombstone collection) and hands them back.
        let acked: Vec<(u64, u64)> = self
            .acks
            .iter()
            .filter(|((node, _), _)| *node == n)
            .map(|((_, peer), marker)| (*peer, *marker))
            .collect();
        for (peer, marker) in acked {
            self.nodes[n as usize].remember_good_round(peer, marker);
        }
        self.relink(&was);
    }

    /// Clears the traffic counters.
    pub fn reset_traffic(&mut self) {
        self.traffic = Traffic::default();
    }

    fn flush(&mut self, n: u64) {
        let i = n as usize;
        while let Some(ev) = self.nodes[i].poll_event() {
            if let GossipEvent::Acked { peer, marker } = ev {
                self.acks.insert((n, peer), marker);
            }
        }
        while let Some((to, msg)) = self.nodes[i].poll_transmit() {
            if !self.reachable(n, to) {
                continue;
            }
            let lost =
                self.cfg.loss > 0.0 && (self.random() % 1_000_000) as f64 / 1e6 < self.cfg.loss;
            if lost {
                // A broken path: QUIC gives up on the connection and the dialer makes a new one.
                self.link_down(n, to);
                self.link_up(n, to);
                return;
            }
            let span = self.cfg.max_latency_ms - self.cfg.min_latency_ms + 1;
            let latency = self.cfg.min_latency_ms + self.random() % span;
            let free = self.link_free_at.get(&(n, to)).copied().unwrap_or(0);
            let at = (self.now + latency).max(free);
            self.link_free_at.insert((n, to), at);
            self.seq += 1;
            let epoch = self.link_epoch.get(&pair(n, to)).copied().unwrap_or(0);
            self.payloads.insert(self.seq, (epoch, msg));
            self.queue.push(Event {
                at: std::cmp::Reverse(at),
                seq: std::cmp::Reverse(self.seq),
                from: n,
                to,
            });
        }
    }

    /// Runs the network until virtual time `until`.
    pub fn run_until(&mut self, until: u64) {
        loop {
            let next_msg = self.queue.peek().map(|e| e.at.0);
            let next_timer = self
                .nodes
                .iter()
                .filter(|n| !self.down.contains(n.id()))
                .filter_map(|n| n.poll_timeout().map(|t| (t, *n.id())))
                .min();
            let t_msg = next_msg.unwrap_or(u64::MAX);
            let t_timer = next_timer.map_or(u64::MAX, |(t, _)| t);
            let t = t_msg.min(t_timer);
            if t > until {
                self.now = until;
                return;
            }
            self.now = self.now.max(t);
            let now = self.now;
            if t_msg <= t_timer {
                let Some(ev) = self.queue.pop() else { continue };
                let Some((epoch, msg)) = self.payloads.remove(&ev.seq.0) else {
                    continue;
                };
                let current = self.link_epoch.get(&pair(ev.from, ev.to)).copied();
                if current != Some(epoch) || !self.reachable(ev.from, ev.to) {
                    continue;
                }
                *self.traffic.by_kind.entry(msg.name()).or_default() += 1;
                self.traffic.bytes += msg.wire_len() as u64;
                if let GossipMsg::Batch { changes, .. } = &msg {
                    self.traffic.changes += changes.len() as u64;
                    self.traffic.batch_bytes += msg.wire_len() as u64;
                }
                let i = ev.to as usize;
                self.nodes[i].handle(&ev.from, msg, now, &mut self.replicas[i]);
                self.flush(ev.to);
            } else if let Some((_, n)) = next_timer {
                let i = n as usize;
                self.nodes[i].handle_timeout(now, &mut self.replicas[i]);
                self.flush(n);
            }
        }
    }

    /// The liveness every replica should reach: last-writer-wins over every write ever made.
    pub fn model(&self) -> BTreeMap<[u8; 32], bool> {
        let mut m: BTreeMap<[u8; 32], Version> = BTreeMap::new();
        for w in &self.writes {
            let e = m.entry(w.id).or_insert(w.version);
            if w.version.beats(e) {
                *e = w.version;
            }
        }
        m.into_iter().map(|(id, v)| (id, v.live)).collect()
    }

    /// Node `n`'s replica as id → live.
    pub fn state(&self, n: u64) -> BTreeMap<[u8; 32], bool> {
        self.replicas[n as usize]
            .items()
            .map(|i| (i.id, i.version.live))
            .collect()
    }

    /// Whether every replica equals the model merge.
    pub fn converged(&self) -> bool {
        let model = self.model();
        (0..self.cfg.nodes).all(|n| self.state(n) == model)
    }

    /// Runs in steps of one round interval until converged; returns the intervals needed.
    pub fn run_until_converged(&mut self, max_intervals: u64) -> Option<u64> {
        for i in 1..=max_intervals {
            let t = self.now + self.cfg.round_interval_ms;
            self.run_until(t);
            if self.converged() {
                return Some(i);
            }
        }
        None
    }
}
