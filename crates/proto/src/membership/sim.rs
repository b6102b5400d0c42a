//! A deterministic simulated group for the membership machine: devices with real signed rosters
//! and seeds, a link layer that admits a dialer only when the acceptor's machine admits it and it
//! proves a seed the acceptor accepts, FIFO delivery with seeded latency, devices going offline
//! and restarting from what they persisted. Virtual time in fixed steps; nothing sleeps.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use ed25519_dalek::SigningKey;

use super::seeds::SeedRing;
use super::{dialer_keeps_link, Effect, MemberMsg, Membership};
use crate::roster::{RosterAction, RosterEntry};
use crate::seedproof::GroupSeed;

/// Virtual time per step.
pub const STEP_MS: u64 = 50;
/// How often a device retries a wanted link that is not up.
pub const DIAL_EVERY_MS: u64 = 500;

/// What a device keeps across a restart (its store and keyring).
#[derive(Debug, Clone, Default)]
struct Persisted {
    roster: Vec<RosterEntry>,
    seeds: SeedRing,
    addresses: BTreeMap<String, u64>,
}

#[derive(Debug)]
struct Device {
    key: SigningKey,
    id: String,
    machine: Membership<u64>,
    online: bool,
    disk: Persisted,
    /// The link layer's want table (address by node id).
    wants: BTreeMap<String, u64>,
    /// Every seed this device ever held as current.
    seen_seeds: BTreeSet<[u8; 32]>,
}

#[derive(Debug)]
struct InFlight {
    at: u64,
    from: usize,
    to: usize,
    link_epoch: u64,
    msg: MemberMsg<u64>,
}

/// Message and link counts, for the scenarios' assertions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Links that came up.
    pub links_up: u64,
    /// Dials refused (not admitted, or no accepted seed).
    pub refused: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Messages dropped because their link closed.
    pub dropped: u64,
}

/// A simulated group of `n` devices, addressed `0..n`.
#[derive(Debug)]
pub struct MemberSim {
    devices: Vec<Device>,
    /// Links up, as (smaller index, larger index) → link epoch.
    links: BTreeMap<(usize, usize), u64>,
    queue: VecDeque<InFlight>,
    now: u64,
    rng: u64,
    next_link: u64,
    stats: SimStats,
}

fn pair_key(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

impl MemberSim {
    /// `n` devices, none in a group, all online.
    pub fn new(n: usize, seed: u64) -> MemberSim {
        let devices = (0..n)
            .map(|i| {
                let mut bytes = [0u8; 32];
                bytes[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
                bytes[8..16].copy_from_slice(&seed.to_be_bytes());
                let key = SigningKey::from_bytes(&bytes);
                let id = hex::encode(key.verifying_key().to_bytes());
                Device {
                    machine: Membership::new(
                        &id,
                        Vec::new(),
                        SeedRing::default(),
                        Vec::new(),
                        bytes,
                    ),
                    key,
                    id,
                    online: true,
                    disk: Persisted::default(),
                    wants: BTreeMap::new(),
                    seen_seeds: BTreeSet::new(),
                }
            })
            .collect();
        MemberSim {
            devices,
            links: BTreeMap::new(),
            queue: VecDeque::new(),
            now: 0,
            rng: seed ^ 0x9e37_79b9_7f4a_7c15,
            next_link: 0,
            stats: SimStats::default(),
        }
    }

    fn random(&mut self) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fresh_seed(&mut self) -> GroupSeed {
        let mut s = [0u8; 32];
        for chunk in s.chunks_mut(8) {
            chunk.copy_from_slice(&self.random().to_be_bytes());
        }
        GroupSeed(s)
    }

    /// Virtual time now.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Counters so far.
    pub fn stats(&self) -> &SimStats {
        &self.stats
    }

    /// Device `i`'s node id.
    pub fn id(&self, i: usize) -> &str {
        &self.devices[i].id
    }

    /// Device `i`'s machine.
    pub fn machine(&self, i: usize) -> &Membership<u64> {
        &self.devices[i].machine
    }

    /// Whether device `i` ever held `seed` as its current seed.
    pub fn ever_held(&self, i: usize, seed: &GroupSeed) -> bool {
        self.devices[i].seen_seeds.contains(&seed.0)
    }

    /// Whether a link between `a` and `b` is up.
    pub fn linked(&self, a: usize, b: usize) -> bool {
        self.links.contains_key(&pair_key(a, b))
    }

    /// Pairs `a` (in a group or not) with `b` as click-to-pair does: `a` creates the seed if it
    /// has none, `b` joins it, both sign each other in, swap rosters and addresses.
    pub fn pair(&mut self, a: usize, b: usize) {
        let now = self.now;
        if self.devices[a].machine.seeds().current().is_none() {
            let seed = self.fresh_seed();
            self.devices[a].disk.seeds = SeedRing::with(seed);
        }
        let ring = self.devices[a].disk.seeds.clone();
        let Some(seed) = ring.current().cloned() else {
            return;
        };
        let mut joined = self.devices[b].disk.seeds.clone();
        joined.join(seed);
        self.devices[b].disk.seeds = joined;
        let add_b = RosterEntry::sign(
            &self.devices[b].id,
            RosterAction::Add,
            now,
            &self.devices[a].key,
        );
        let add_a = RosterEntry::sign(
            &self.devices[a].id,
            RosterAction::Add,
            now,
            &self.devices[b].key,
        );
        let mut entries: Vec<RosterEntry> = self.devices[a].disk.roster.clone();
        entries.extend(self.devices[b].disk.roster.iter().cloned());
        entries.extend([add_a, add_b]);
        for (me, other) in [(a, b), (b, a)] {
            let other_id = self.devices[other].id.clone();
            let dev = &mut self.devices[me];
            dev.disk.roster.extend(entries.iter().cloned());
            dev.disk.addresses.insert(other_id.clone(), other as u64);
            let seeds = dev.disk.seeds.clone();
            dev.machine.set_address(&other_id, other as u64, now);
            dev.machine.local_change(entries.clone(), &seeds, now);
        }
        self.drain_all();
    }

    /// `by` unpairs `node`: signs the removal and rotates the seed.
    pub fn unpair(&mut self, by: usize, node: usize) {
        let now = self.now;
        let removal = RosterEntry::sign(
            &self.devices[node].id,
            RosterAction::Remove,
            now,
            &self.devices[by].key,
        );
        let seed = self.fresh_seed();
        let dev = &mut self.devices[by];
        dev.disk.roster.push(removal.clone());
        let mut removed = dev.machine.roster().removed();
        removed.insert(self.devices[node].id.clone());
        let dev = &mut self.devices[by];
        dev.disk.seeds.rotate(seed, removed, now);
        let seeds = dev.disk.seeds.clone();
        dev.machine.local_change(vec![removal], &seeds, now);
        self.drain_all();
    }

    /// Takes device `i` offline: its links drop, messages to it are lost.
    pub fn stop(&mut self, i: usize) {
        self.devices[i].online = false;
        let gone: Vec<(usize, usize)> = self
            .links
            .keys()
            .filter(|(a, b)| *a == i || *b == i)
            .copied()
            .collect();
        for k in gone {
            self.close(k.0, k.1);
        }
        self.drain_all();
    }

    /// Breaks the link between `a` and `b` if one is up (QUIC path loss): messages in flight on
    /// it are lost; the devices redial what they want.
    pub fn cut(&mut self, a: usize, b: usize) {
        self.close(a, b);
        self.drain_all();
    }

    /// Restarts device `i` from what it persisted.
    pub fn start(&mut self, i: usize) {
        let dev = &mut self.devices[i];
        dev.online = true;
        dev.wants.clear();
        let disk = dev.disk.clone();
        let entropy = dev.key.to_bytes();
        dev.machine = Membership::new(
            &dev.id,
            disk.roster,
            disk.seeds,
            disk.addresses.into_iter().collect(),
            entropy,
        );
        self.drain_all();
    }

    /// Runs for `ms` of virtual time.
    pub fn run_for(&mut self, ms: u64) {
        let until = self.now + ms;
        while self.now < until {
            self.step();
        }
    }

    /// Runs until `done` holds (checked every step) or `max_ms` passed; returns the time taken.
    pub fn run_until(&mut self, max_ms: u64, done: impl Fn(&MemberSim) -> bool) -> Option<u64> {
        let start = self.now;
        while self.now - start <= max_ms {
            if done(self) {
                return Some(self.now - start);
            }
            self.step();
        }
        None
    }

    fn step(&mut self) {
        self.now += STEP_MS;
        let now = self.now;
        // Deliver what is due, in order.
        let mut later = VecDeque::new();
        while let Some(m) = self.queue.pop_front() {
            if m.at > now {
                later.push_back(m);
                continue;
            }
            if self.links.get(&pair_key(m.from, m.to)) != Some(&m.link_epoch) {
                self.stats.dropped += 1;
                continue;
            }
            self.stats.delivered += 1;
            let from = self.devices[m.from].id.clone();
            self.devices[m.to].machine.handle(&from, m.msg, now);
            self.drain(m.to);
        }
        self.queue = later;
        for i in 0..self.devices.len() {
            if !self.devices[i].online {
                continue;
            }
            if self.devices[i]
                .machine
                .poll_timeout()
                .is_some_and(|t| t <= now)
            {
                self.devices[i].machine.handle_timeout(now);
                self.drain(i);
            }
        }
        if now.is_multiple_of(DIAL_EVERY_MS) {
            self.dial_all();
        }
    }

    fn dial_all(&mut self) {
        let n = self.devices.len();
        for a in 0..n {
            for b in (a + 1)..n {
                if self.linked(a, b) || !self.devices[a].online || !self.devices[b].online {
                    continue;
                }
                let wants = |from: usize, to: usize| {
                    self.devices[from].wants.get(&self.devices[to].id) == Some(&(to as u64))
                };
                let mut dials: Vec<(usize, usize)> = Vec::new();
                if wants(a, b) {
                    dials.push((a, b));
                }
                if wants(b, a) {
                    dials.push((b, a));
                }
                // Both dial at once: the smaller id's dial is kept; when it is refused (its seed
                // is newer than the other side knows), the other side's dial gets through.
                dials.sort_by_key(|&(d, c)| {
                    !dialer_keeps_link(&self.devices[d].id, &self.devices[c].id)
                });
                for (d, c) in dials {
                    if self.try_link(d, c) {
                        break;
                    }
                }
            }
        }
    }

    /// One dial: whether the link came up.
    fn try_link(&mut self, dialer: usize, acceptor: usize) -> bool {
        let now = self.now;
        let d_id = self.devices[dialer].id.clone();
        let a_id = self.devices[acceptor].id.clone();
        let Some(proof) = self.devices[dialer].machine.seeds().current().cloned() else {
            return false;
        };
        let acc = &self.devices[acceptor].machine;
        if !acc.admits(&d_id) || !acc.seeds().accepted(now).contains(&proof) {
            self.stats.refused += 1;
            return false;
        }
        self.next_link += 1;
        self.links
            .insert(pair_key(dialer, acceptor), self.next_link);
        self.stats.links_up += 1;
        self.devices[dialer]
            .machine
            .link_up(&a_id, acceptor as u64, now);
        self.devices[acceptor]
            .machine
            .link_up(&d_id, dialer as u64, now);
        self.drain(dialer);
        self.drain(acceptor);
        true
    }

    fn close(&mut self, a: usize, b: usize) {
        if self.links.remove(&pair_key(a, b)).is_some() {
            let (ia, ib) = (self.devices[a].id.clone(), self.devices[b].id.clone());
            self.devices[a].machine.link_down(&ib);
            self.devices[b].machine.link_down(&ia);
        }
    }

    fn drain_all(&mut self) {
        for i in 0..self.devices.len() {
            self.drain(i);
        }
    }

    fn index_of(&self, id: &str) -> Option<usize> {
        self.devices.iter().position(|d| d.id == id)
    }

    fn drain(&mut self, i: usize) {
        while let Some(effect) = self.devices[i].machine.poll() {
            match effect {
                Effect::Send { to, msg } => {
                    let Some(j) = self.index_of(&to) else {
                        continue;
                    };
                    let Some(link) = self.links.get(&pair_key(i, j)).copied() else {
                        self.stats.dropped += 1;
                        continue;
                    };
                    let latency = 1 + self.random() % 40;
                    // FIFO per link: never before the last message queued on it.
                    let last = self
                        .queue
                        .iter()
                        .filter(|m| pair_key(m.from, m.to) == pair_key(i, j))
                        .map(|m| m.at)
                        .max()
                        .unwrap_or(0);
                    self.queue.push_back(InFlight {
                        at: (self.now + latency).max(last),
                        from: i,
                        to: j,
                        link_epoch: link,
                        msg,
                    });
                }
                Effect::Want { peer, addr } => {
                    self.devices[i].wants.insert(peer, addr);
                }
                Effect::Unwant { peer } => {
                    self.devices[i].wants.remove(&peer);
                    if let Some(j) = self.index_of(&peer) {
                        self.close(i, j);
                    }
                }
                Effect::SaveAddress { peer, addr } => {
                    self.devices[i].disk.addresses.insert(peer, addr);
                }
                Effect::SaveRoster(entries) => self.devices[i].disk.roster.extend(entries),
                Effect::SaveSeeds(ring) => self.devices[i].disk.seeds = ring,
                Effect::SeedChanged | Effect::RemovedSelf { .. } => {}
            }
            if let Some(s) = self.devices[i].machine.seeds().current() {
                let s = s.0;
                self.devices[i].seen_seeds.insert(s);
            }
        }
    }

    /// Whether the online devices that are still in the group agree: one current seed, the
    /// same members, a link between every two of them, and no link to anyone else.
    pub fn settled(&self, group: &[usize]) -> bool {
        let online: Vec<usize> = group
            .iter()
            .copied()
            .filter(|i| self.devices[*i].online)
            .collect();
        let [first, _, ..] = online.as_slice() else {
            // One device alone has nobody to agree or link with.
            return true;
        };
        let seed = self.devices[*first].machine.seeds().current();
        if seed.is_none() {
            return false;
        }
        let ids: BTreeSet<&str> = group.iter().map(|i| self.devices[*i].id.as_str()).collect();
        for &i in &online {
            let m = &self.devices[i].machine;
            if m.seeds().current() != seed {
                return false;
            }
            let mut members: BTreeSet<String> = m.roster().members().into_keys().collect();
            members.insert(self.devices[i].id.clone());
            if members.iter().map(String::as_str).collect::<BTreeSet<_>>() != ids {
                return false;
            }
            for &j in &online {
                if i != j && !self.linked(i, j) {
                    return false;
                }
            }
        }
        let linked_outside = self.links.keys().any(|(a, b)| {
            group.contains(a) != group.contains(b) && (group.contains(a) || group.contains(b))
        });
        !linked_outside
    }
}
