//! A deterministic simulated network for the gossip machines (as iroh-gossip's `proto/sim`):
//! N nodes, seeded randomness, per-link latency with FIFO delivery (QUIC streams are ordered),
//! message loss (a lost message stalls its round until the session times out), partitions,
//! restarts and clock skew. Virtual time only; nothing sleeps.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};

use super::node::{GossipMsg, GossipNode};
use super::replica::{Item, Version};
use crate::reconcile::summary::FingerprintKey;

/// Network and timing knobs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Number of nodes (full mesh, as a roster is).
    pub nodes: u64,
    /// Gossip round interval per pair.
    pub round_interval_ms: u64,
    /// Minimum one-way latency.
    pub min_latency_ms: u64,
    /// Maximum one-way latency.
    pub max_latency_ms: u64,
    /// Probability (0–1) that a message is lost.
    pub loss: f64,
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
    /// Application bytes delivered.
    pub bytes: u64,
}

fn kind(m: &GossipMsg) -> &'static str {
    match m {
        GossipMsg::Push(_) => "push",
        GossipMsg::Summary { .. } => "summary",
        GossipMsg::InSync { .. } => "in-sync",
        GossipMsg::Differ { .. } => "differ",
        GossipMsg::Exact(_) => "exact",
        GossipMsg::Items { .. } => "items",
    }
}

/// The simulated network.
#[derive(Debug)]
pub struct Sim {
    cfg: SimConfig,
    now: u64,
    nodes: Vec<GossipNode>,
    skew_ms: Vec<i64>,
    hlc: Vec<u64>,
    down: BTreeSet<u64>,
    partition: Option<BTreeSet<u64>>,
    queue: BinaryHeap<Event>,
    payloads: HashMap<u64, GossipMsg>,
    link_free_at: HashMap<(u64, u64), u64>,
    seq: u64,
    rng: u64,
    /// Traffic delivered since the last [`Sim::reset_traffic`].
    pub traffic: Traffic,
    writes: Vec<Item>,
}

impl Sim {
    /// Builds a full mesh of `cfg.nodes` nodes.
    pub fn new(cfg: SimConfig) -> Sim {
        let key = FingerprintKey::from_group_seed(&cfg.seed.to_le_bytes());
        let ids: Vec<u64> = (0..cfg.nodes).collect();
        let nodes = ids
            .iter()
            .map(|&i| {
                let peers = ids.iter().copied().filter(|&p| p != i).collect();
                GossipNode::new(i, peers, key.clone(), cfg.seed, cfg.round_interval_ms, 0)
            })
            .collect();
        Sim {
            skew_ms: vec![0; cfg.nodes as usize],
            hlc: vec![0; cfg.nodes as usize],
            rng: cfg.seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1,
            cfg,
            now: 0,
            nodes,
            down: BTreeSet::new(),
            partition: None,
            queue: BinaryHeap::new(),
            payloads: HashMap::new(),
            link_free_at: HashMap::new(),
            seq: 0,
            traffic: Traffic::default(),
            writes: Vec::new(),
        }
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

    /// The nodes.
    pub fn nodes(&self) -> &[GossipNode] {
        &self.nodes
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
        self.nodes[n as usize].local_change(item);
        self.flush(n);
    }

    /// Splits the network: nodes in `side` reach only each other.
    pub fn partition(&mut self, side: &[u64]) {
        self.partition = Some(side.iter().copied().collect());
    }

    /// Removes the partition.
    pub fn heal(&mut self) {
        self.partition = None;
    }

    /// Takes node `n` offline (messages to and from it are lost).
    pub fn stop(&mut self, n: u64) {
        self.down.insert(n);
    }

    /// Brings node `n` back, as after a restart: sessions are gone, the replica is kept.
    pub fn restart(&mut self, n: u64) {
        self.down.remove(&n);
        self.nodes[n as usize].reset_sessions(self.now);
    }

    /// Clears the traffic counters.
    pub fn reset_traffic(&mut self) {
        self.traffic = Traffic::default();
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

    fn flush(&mut self, n: u64) {
        while let Some((to, msg)) = self.nodes[n as usize].poll_transmit() {
            let lost =
                self.cfg.loss > 0.0 && (self.random() % 1_000_000) as f64 / 1e6 < self.cfg.loss;
            if lost || !self.reachable(n, to) {
                continue;
            }
            let span = self.cfg.max_latency_ms - self.cfg.min_latency_ms + 1;
            let latency = self.cfg.min_latency_ms + self.random() % span;
            let free = self.link_free_at.get(&(n, to)).copied().unwrap_or(0);
            let at = (self.now + latency).max(free);
            self.link_free_at.insert((n, to), at);
            self.seq += 1;
            self.payloads.insert(self.seq, msg);
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
                .filter(|n| !self.down.contains(&n.id()))
                .filter_map(|n| n.poll_timeout().map(|t| (t, n.id())))
                .min();
            let t_msg = next_msg.unwrap_or(u64::MAX);
            let t_timer = next_timer.map_or(u64::MAX, |(t, _)| t);
            let t = t_msg.min(t_timer);
            if t > until {
                self.now = until;
                return;
            }
            self.now = self.now.max(t);
            if t_msg <= t_timer {
                let Some(ev) = self.queue.pop() else { continue };
                let Some(msg) = self.payloads.remove(&ev.seq.0) else {
                    continue;
                };
                if !self.reachable(ev.from, ev.to) {
                    continue;
                }
                *self.traffic.by_kind.entry(kind(&msg)).or_default() += 1;
                self.traffic.bytes += msg.wire_len() as u64;
                let now = self.now;
                self.nodes[ev.to as usize].handle(ev.from, msg, now);
                self.flush(ev.to);
            } else if let Some((_, n)) = next_timer {
                let now = self.now;
                self.nodes[n as usize].handle_timeout(now);
                self.flush(n);
            }
        }
    }

    /// The state every replica should reach: last-writer-wins over every write ever made.
    pub fn model(&self) -> BTreeMap<[u8; 32], Version> {
        let mut m: BTreeMap<[u8; 32], Version> = BTreeMap::new();
        for w in &self.writes {
            let e = m.entry(w.id).or_insert(w.version);
            if w.version.beats(e) {
                *e = w.version;
            }
        }
        m
    }

    /// Node `n`'s replica as a sorted map.
    pub fn state(&self, n: u64) -> BTreeMap<[u8; 32], Version> {
        self.nodes[n as usize]
            .replica()
            .items()
            .map(|i| (i.id, i.version))
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
