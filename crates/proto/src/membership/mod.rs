//! Group membership as a sans-IO machine (DESIGN §4, §7.2): the roster, the seeds, the address
//! book and which members this device keeps a sync link to.
//!
//! The caller feeds it link events, members' messages and local changes, with the time; it
//! answers with [`Effect`]s: messages to send, links to keep or drop, things to persist. It
//! never touches a socket, a store or a keyring, so the simulator
//! ([`sim`]) runs whole groups of them deterministically.
//!
//! Rules it enforces:
//! - Every link that comes up gets the roster (to every connected member: the new one may
//!   bring entries the others lack), the current seed (a member that was offline during a
//!   rotation proved an older one), and addresses both ways, so devices paired through a third
//!   one link directly.
//! - New roster entries are passed on to every other connected member; a removal of this
//!   device forgets every seed and drops every link.
//! - A seed is taken only from a member and only when it sorts after ours
//!   ([`seeds::SeedRing::offer`]); a newer one is passed on to the other connected members,
//!   never to a device it or we know to be removed. A member that learns of a removal its
//!   seed was not made knowing of rotates again, so the seed the group settles on was made
//!   knowing every removal (see [`seeds`]).
//! - A link that is no longer wanted is closed after [`CLOSE_GRACE_MS`], so the last roster
//!   and seed messages queued on it still arrive.

pub mod seeds;
pub mod sim;
pub mod wire;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Debug;

use crate::roster::{Roster, RosterEntry};
use crate::seedproof::GroupSeed;
use seeds::{EpochSeed, Offer, SeedRing};

/// How long a link that is no longer wanted stays open for the messages queued on it.
pub const CLOSE_GRACE_MS: u64 = 2_000;
/// Most addresses kept for devices that are not (yet) members.
pub const MAX_UNKNOWN_ADDRESSES: usize = 256;

/// Whether a link dialed by `dialer` is the one kept when `other` dialed too: the smaller node
/// id (lowercase hex) wins, so both sides agree on one link per pair.
pub fn dialer_keeps_link(dialer: &str, other: &str) -> bool {
    dialer.to_ascii_lowercase() < other.to_ascii_lowercase()
}

/// A membership message between members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberMsg<A> {
    /// Every roster entry the sender holds.
    Roster(Vec<RosterEntry>),
    /// The sender's current seed.
    Seed(EpochSeed),
    /// Where members are: `(node id, address)`.
    Addresses(Vec<(String, A)>),
}

impl<A> MemberMsg<A> {
    /// The same message with its addresses mapped by `f` (dropped where `f` answers `None`).
    pub fn map_addresses<B>(self, f: impl Fn(A) -> Option<B>) -> MemberMsg<B> {
        match self {
            MemberMsg::Addresses(entries) => MemberMsg::Addresses(
                entries
                    .into_iter()
                    .filter_map(|(id, a)| Some((id, f(a)?)))
                    .collect(),
            ),
            MemberMsg::Roster(r) => MemberMsg::Roster(r),
            MemberMsg::Seed(s) => MemberMsg::Seed(s),
        }
    }
}

/// What the caller must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect<A> {
    /// Send a message to a connected member.
    Send {
        /// The member.
        to: String,
        /// The message.
        msg: MemberMsg<A>,
    },
    /// Keep a link to `peer` at `addr` (dial it, redial on loss).
    Want {
        /// The member.
        peer: String,
        /// Where to dial it.
        addr: A,
    },
    /// Close the link to `peer` and stop dialing it.
    Unwant {
        /// The device.
        peer: String,
    },
    /// Persist a member's address.
    SaveAddress {
        /// The member.
        peer: String,
        /// Its address.
        addr: A,
    },
    /// Persist roster entries that are new here.
    SaveRoster(Vec<RosterEntry>),
    /// Persist the seeds (current and replaced) in the secret store; empty when left.
    SaveSeeds(SeedRing),
    /// The current seed changed (or went): rebuild what is keyed by it.
    SeedChanged,
    /// A member removed this device from the group.
    RemovedSelf {
        /// The member whose roster carried the removal.
        by: String,
    },
}

/// The membership of one device.
#[derive(Debug, Clone)]
pub struct Membership<A> {
    own: String,
    roster: Roster,
    seeds: SeedRing,
    /// Last known address of each device (members, and a few not yet known as members).
    book: BTreeMap<String, A>,
    /// Addresses persisted (members only).
    saved: BTreeMap<String, A>,
    /// Devices the user paused or removed: no link.
    blocked: BTreeSet<String>,
    connected: BTreeMap<String, A>,
    wanted: BTreeMap<String, A>,
    closing: BTreeMap<String, u64>,
    effects: VecDeque<Effect<A>>,
    /// Secret randomness new seeds are drawn from (keyed BLAKE3 of a counter).
    entropy: [u8; 32],
    minted: u64,
}

impl<A: Clone + Eq + Ord + Debug> Membership<A> {
    /// The machine of device `own`, from its stored roster, seeds and member addresses;
    /// `entropy` (32 secret random bytes) seeds the rotations it starts itself.
    pub fn new(
        own: &str,
        entries: Vec<RosterEntry>,
        seeds: SeedRing,
        addresses: Vec<(String, A)>,
        entropy: [u8; 32],
    ) -> Membership<A> {
        let mut roster = Roster::new(own);
        let _ = roster.merge(entries);
        let book: BTreeMap<String, A> = addresses.into_iter().collect();
        let mut m = Membership {
            own: own.to_string(),
            roster,
            seeds,
            saved: book.clone(),
            book,
            blocked: BTreeSet::new(),
            connected: BTreeMap::new(),
            wanted: BTreeMap::new(),
            closing: BTreeMap::new(),
            effects: VecDeque::new(),
            entropy,
            minted: 0,
        };
        m.recompute_wants(0);
        m
    }

    /// This device's node id.
    pub fn own(&self) -> &str {
        &self.own
    }

    /// The roster.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The seeds.
    pub fn seeds(&self) -> &SeedRing {
        &self.seeds
    }

    /// Whether `node` may hold a sync link with us: a member while we are in a group.
    pub fn admits(&self, node: &str) -> bool {
        self.seeds.current().is_some() && self.roster.is_member(node)
    }

    /// Members with a link up, and the address it came from.
    pub fn connected(&self) -> &BTreeMap<String, A> {
        &self.connected
    }

    /// Members a link is kept to, and where they are dialed.
    pub fn wanted(&self) -> &BTreeMap<String, A> {
        &self.wanted
    }

    /// The next effect to carry out.
    pub fn poll(&mut self) -> Option<Effect<A>> {
        self.effects.pop_front()
    }

    /// When [`Membership::handle_timeout`] wants to run next.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.closing.values().min().copied()
    }

    /// Closes the links whose grace period ended.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        let due: Vec<String> = self
            .closing
            .iter()
            .filter(|(_, at)| **at <= now_ms)
            .map(|(p, _)| p.clone())
            .collect();
        for peer in due {
            self.closing.remove(&peer);
            if !self.wanted.contains_key(&peer) {
                self.connected.remove(&peer);
                self.effects.push_back(Effect::Unwant { peer });
            }
        }
    }

    /// The devices the user paused or removed (from the stored peer states).
    pub fn set_blocked(&mut self, blocked: BTreeSet<String>, now_ms: u64) {
        if blocked != self.blocked {
            self.blocked = blocked;
            self.recompute_wants(now_ms);
        }
    }

    /// A sync link to `peer` came up from `addr` (both seed proofs verified).
    pub fn link_up(&mut self, peer: &str, addr: A, now_ms: u64) {
        self.connected.insert(peer.to_string(), addr.clone());
        self.closing.remove(peer);
        self.note_address(peer, addr.clone());
        // The seed first: a member back from a rotation it missed adopts the new seed before
        // the roster shows it the removal, and so has no reason to rotate again.
        if let Some(cur) = self.seeds.current_epoch().cloned() {
            self.send_seed(peer, &cur);
        }
        let roster = self.roster_msg();
        for id in self.connected.keys() {
            self.effects.push_back(Effect::Send {
                to: id.clone(),
                msg: roster.clone(),
            });
        }
        let mut book: BTreeMap<String, A> = self.wanted.clone();
        book.extend(self.connected.iter().map(|(k, v)| (k.clone(), v.clone())));
        book.remove(peer);
        if !book.is_empty() {
            self.effects.push_back(Effect::Send {
                to: peer.to_string(),
                msg: MemberMsg::Addresses(book.into_iter().collect()),
            });
        }
        let news = MemberMsg::Addresses(vec![(peer.to_string(), addr)]);
        for other in self.connected.keys().filter(|id| *id != peer) {
            self.effects.push_back(Effect::Send {
                to: other.clone(),
                msg: news.clone(),
            });
        }
        self.recompute_wants(now_ms);
    }

    /// The link to `peer` went down.
    pub fn link_down(&mut self, peer: &str) {
        self.connected.remove(peer);
    }

    /// A message from the connected member `from`.
    pub fn handle(&mut self, from: &str, msg: MemberMsg<A>, now_ms: u64) {
        match msg {
            MemberMsg::Roster(entries) => self.merge(entries, Some(from), now_ms),
            MemberMsg::Seed(seed) => self.on_seed(from, seed, now_ms),
            MemberMsg::Addresses(entries) => self.on_addresses(from, entries, now_ms),
        }
    }

    /// Roster entries and seeds changed here (pairing, unpair): merge, adopt and tell the
    /// connected members.
    pub fn local_change(&mut self, entries: Vec<RosterEntry>, seeds: &SeedRing, now_ms: u64) {
        let before = self.seeds.clone();
        self.merge(entries, None, now_ms);
        // A device removed from its group takes no seed back from its own engine's state (which
        // may not have caught up with the removal yet): the removal is final.
        let removed_self = self.roster.removed().contains(&self.own);
        if let Some(theirs) = seeds.current_epoch().cloned().filter(|_| !removed_self) {
            // Pairing into another group ("--group theirs") hands over a seed of which the two
            // rings know nothing of each other's; a rotation here retired ours, and an engine
            // state that lags behind us holds a seed we retired. A switch takes the joined
            // group's seed whatever the order, keeping ours as a replaced one.
            let switched = self.seeds.current().is_some_and(|ours| !seeds.knows(ours))
                && !self.seeds.knows(&theirs.seed);
            if switched {
                self.seeds.switch_to(seeds, now_ms);
                let removed = self.roster.removed();
                self.seeds.note_removed(&removed);
                self.effects.push_back(Effect::SeedChanged);
                self.announce_seed(None);
            } else if self.seeds.current().is_none() {
                // Joined a group: pairing hands over the bare seed, kept from every removal
                // in the roster it came with.
                self.seeds = seeds.clone();
                let removed = self.roster.removed();
                self.seeds.note_removed(&removed);
                self.effects.push_back(Effect::SeedChanged);
                self.announce_seed(None);
            } else {
                // A local rotation: adopting its seed retires ours, the one it replaced.
                if self.seeds.offer(theirs, now_ms) == Offer::Adopted {
                    self.effects.push_back(Effect::SeedChanged);
                    self.announce_seed(None);
                }
            }
        }
        self.rotate_if_unaware(now_ms);
        if self.seeds != before {
            self.effects
                .push_back(Effect::SaveSeeds(self.seeds.clone()));
        }
        self.recompute_wants(now_ms);
    }

    /// Records where `peer` is (pairing, `sync pair NODE ENDPOINT`, the stored peer list); the
    /// caller has persisted it already.
    pub fn set_address(&mut self, peer: &str, addr: A, now_ms: u64) {
        if self.book.get(peer) == Some(&addr) {
            return;
        }
        self.book.insert(peer.to_string(), addr.clone());
        self.saved.insert(peer.to_string(), addr);
        self.recompute_wants(now_ms);
    }

    /// Drops replaced seeds past their lifetime (persisted when any went).
    pub fn expire_seeds(&mut self, now_ms: u64) {
        if self.seeds.expire(now_ms) {
            self.effects
                .push_back(Effect::SaveSeeds(self.seeds.clone()));
        }
    }

    fn roster_msg(&self) -> MemberMsg<A> {
        MemberMsg::Roster(self.roster.entries().cloned().collect())
    }

    fn merge(&mut self, entries: Vec<RosterEntry>, from: Option<&str>, now_ms: u64) {
        let (added, _invalid) = self.roster.merge(entries);
        if added.is_empty() {
            return;
        }
        let seeds_before = self.seeds.clone();
        self.effects.push_back(Effect::SaveRoster(added));
        let roster = self.roster_msg();
        for id in self.connected.keys().filter(|id| Some(id.as_str()) != from) {
            self.effects.push_back(Effect::Send {
                to: id.clone(),
                msg: roster.clone(),
            });
        }
        if self.roster.removed().contains(&self.own) && self.seeds.current().is_some() {
            self.seeds.clear();
            self.effects
                .push_back(Effect::SaveSeeds(SeedRing::default()));
            self.effects.push_back(Effect::SeedChanged);
            self.effects.push_back(Effect::RemovedSelf {
                by: from.unwrap_or(&self.own).to_string(),
            });
        }
        // Addresses heard before the device was known as a member become useful now.
        let members = self.roster.members();
        let unsaved: Vec<(String, A)> = self
            .book
            .iter()
            .filter(|(id, a)| members.contains_key(*id) && self.saved.get(*id) != Some(a))
            .map(|(id, a)| (id.clone(), a.clone()))
            .collect();
        for (peer, addr) in unsaved {
            self.save_address(&peer, addr);
        }
        if from.is_some() {
            self.rotate_if_unaware(now_ms);
            if self.seeds != seeds_before && self.seeds.current().is_some() {
                self.effects
                    .push_back(Effect::SaveSeeds(self.seeds.clone()));
            }
        }
        self.recompute_wants(now_ms);
    }

    /// Rotates when the roster names a removal the current seed was not made knowing of: that
    /// device may have been sent it.
    fn rotate_if_unaware(&mut self, now_ms: u64) {
        let removed = self.roster.removed();
        let Some(cur) = self.seeds.current_epoch() else {
            return;
        };
        if removed.contains(&self.own) || removed.is_subset(&cur.removed) {
            return;
        }
        let seed = self.fresh_seed();
        self.seeds.rotate(seed, removed, now_ms);
        self.effects.push_back(Effect::SeedChanged);
        self.announce_seed(None);
    }

    fn fresh_seed(&mut self) -> GroupSeed {
        self.minted += 1;
        GroupSeed(*blake3::keyed_hash(&self.entropy, &self.minted.to_le_bytes()).as_bytes())
    }

    /// Sends `seed` to `peer` unless it or the seed's creator knows `peer` is removed.
    fn send_seed(&mut self, peer: &str, seed: &EpochSeed) {
        if self.roster.is_member(peer) && !seed.removed.contains(peer) {
            self.effects.push_back(Effect::Send {
                to: peer.to_string(),
                msg: MemberMsg::Seed(seed.clone()),
            });
        }
    }

    fn on_seed(&mut self, from: &str, seed: EpochSeed, now_ms: u64) {
        if !self.roster.is_member(from)
            || self.roster.removed().contains(&self.own)
            || seed.removed.contains(&self.own)
        {
            return;
        }
        let before = self.seeds.clone();
        match self.seeds.offer(seed, now_ms) {
            Offer::Adopted => {
                self.effects.push_back(Effect::SeedChanged);
                self.announce_seed(Some(from));
                self.rotate_if_unaware(now_ms);
            }
            Offer::Older => {
                // The sender missed a rotation: hand it the current seed.
                if let Some(cur) = self.seeds.current_epoch().cloned() {
                    self.send_seed(from, &cur);
                }
            }
            Offer::Same => {}
        }
        if self.seeds != before {
            self.effects
                .push_back(Effect::SaveSeeds(self.seeds.clone()));
        }
        if before.current().is_none() {
            self.recompute_wants(now_ms);
        }
    }

    /// Sends the current seed to every connected member but `except`.
    fn announce_seed(&mut self, except: Option<&str>) {
        let Some(cur) = self.seeds.current_epoch().cloned() else {
            return;
        };
        let peers: Vec<String> = self
            .connected
            .keys()
            .filter(|id| Some(id.as_str()) != except)
            .cloned()
            .collect();
        for id in peers {
            self.send_seed(&id, &cur);
        }
    }

    fn on_addresses(&mut self, from: &str, entries: Vec<(String, A)>, now_ms: u64) {
        let mut changed = false;
        for (id, addr) in entries {
            if id == self.own || id == from || self.book.contains_key(&id) {
                continue;
            }
            if !self.roster.is_member(&id) {
                let unknown = self
                    .book
                    .keys()
                    .filter(|k| !self.roster.is_member(k))
                    .count();
                if unknown >= MAX_UNKNOWN_ADDRESSES {
                    continue;
                }
            }
            self.book.insert(id.clone(), addr.clone());
            if self.roster.is_member(&id) {
                self.save_address(&id, addr);
                changed = true;
            }
        }
        if changed {
            self.recompute_wants(now_ms);
        }
    }

    /// An authenticated link's address replaces the one on record (DESIGN §4).
    fn note_address(&mut self, peer: &str, addr: A) {
        self.book.insert(peer.to_string(), addr.clone());
        if self.roster.is_member(peer) && self.saved.get(peer) != Some(&addr) {
            self.save_address(peer, addr);
        }
    }

    fn save_address(&mut self, peer: &str, addr: A) {
        self.saved.insert(peer.to_string(), addr.clone());
        self.effects.push_back(Effect::SaveAddress {
            peer: peer.to_string(),
            addr,
        });
    }

    fn recompute_wants(&mut self, now_ms: u64) {
        let mut want = BTreeMap::new();
        if self.seeds.current().is_some() {
            for id in self.roster.members().into_keys() {
                if self.blocked.contains(&id) {
                    continue;
                }
                if let Some(addr) = self.book.get(&id) {
                    want.insert(id, addr.clone());
                }
            }
        }
        for (peer, addr) in &want {
            if self.wanted.get(peer) != Some(addr) {
                self.closing.remove(peer);
                self.effects.push_back(Effect::Want {
                    peer: peer.clone(),
                    addr: addr.clone(),
                });
            }
        }
        let gone: Vec<String> = self
            .wanted
            .keys()
            .chain(self.connected.keys())
            .filter(|p| !want.contains_key(*p))
            .cloned()
            .collect();
        for peer in gone {
            self.closing
                .entry(peer)
                .or_insert(now_ms.saturating_add(CLOSE_GRACE_MS));
        }
        self.wanted = want;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::RosterAction;
    use crate::seedproof::GroupSeed;
    use ed25519_dalek::SigningKey;

    fn key(n: u8) -> (SigningKey, String) {
        let k = SigningKey::from_bytes(&[n; 32]);
        let id = hex::encode(k.verifying_key().to_bytes());
        (k, id)
    }

    /// Two devices, each signed into the roster by the other (`a` keyed 1, the other keyed `n`).
    fn pair_of(n: u8) -> (String, String, Vec<RosterEntry>) {
        let ((ka, a), (kx, x)) = (key(1), key(n));
        let entries = vec![
            RosterEntry::sign(&x, RosterAction::Add, 1, &ka),
            RosterEntry::sign(&a, RosterAction::Add, 1, &kx),
        ];
        (a, x, entries)
    }

    /// The engine's copy of the group may lag behind the machine (effects not carried out
    /// yet): a device just removed must not take its old seed back from it.
    #[test]
    fn a_removed_device_does_not_take_its_old_seed_back_from_a_stale_engine_state() {
        let (a, c, entries) = pair_of(3);
        let ka = key(1).0;
        let old = SeedRing::with(GroupSeed([5; 32]));
        let mut m: Membership<u64> = Membership::new(
            &c,
            entries.clone(),
            old.clone(),
            vec![(a.clone(), 1)],
            [0; 32],
        );
        m.link_up(&a, 1, 10);
        let removal = RosterEntry::sign(&c, RosterAction::Remove, 20, &ka);
        let mut all = entries.clone();
        all.push(removal);
        m.handle(&a, MemberMsg::Roster(all), 20);
        assert!(m.seeds().current().is_none());
        let effects: Vec<_> = std::iter::from_fn(|| m.poll()).collect();
        assert!(effects.contains(&Effect::RemovedSelf { by: a.clone() }));
        // The periodic re-read of the engine's group, still holding the old seed.
        m.local_change(entries, &old, 30);
        assert!(m.seeds().current().is_none(), "the removal is final");
        let effects: Vec<_> = std::iter::from_fn(|| m.poll()).collect();
        assert!(
            !effects
                .iter()
                .any(|e| matches!(e, Effect::SaveSeeds(r) if r.current().is_some())),
            "{effects:?}"
        );
        assert!(m.wanted().is_empty());
    }

    /// A device in one group paired into another takes that group's seed, whichever of the
    /// two sorts first, and keeps its old group's as a replaced one (the rosters merged); a
    /// lagging engine state never undoes a seed the machine adopted.
    #[test]
    fn switching_groups_by_pairing_takes_the_new_seed_whatever_the_order() {
        let (a, b, entries) = pair_of(2);
        for (old, new) in [([0xf0; 32], [0x01; 32]), ([0x01; 32], [0xf0; 32])] {
            let mut m: Membership<u64> = Membership::new(
                &b,
                Vec::new(),
                SeedRing::with(GroupSeed(old)),
                Vec::new(),
                [0; 32],
            );
            let joined = SeedRing::with(GroupSeed(new));
            m.local_change(entries.clone(), &joined, 10);
            assert_eq!(
                m.seeds().current(),
                joined.current(),
                "old {:x}, new {:x}",
                old[0],
                new[0]
            );
            assert_eq!(
                m.seeds().accepted(10),
                vec![GroupSeed(new), GroupSeed(old)],
                "the old group's seed stays accepted from members of the merged roster"
            );
            let effects: Vec<_> = std::iter::from_fn(|| m.poll()).collect();
            assert!(effects.contains(&Effect::SeedChanged), "{effects:?}");
        }
        // Lag: the machine adopted a member's newer seed; the engine still shows the old one.
        let mut m: Membership<u64> = Membership::new(
            &b,
            entries.clone(),
            SeedRing::with(GroupSeed([0x10; 32])),
            Vec::new(),
            [0; 32],
        );
        m.link_up(&a, 1, 10);
        m.handle(
            &a,
            MemberMsg::Seed(seeds::EpochSeed::new(1, GroupSeed([0x20; 32]))),
            20,
        );
        assert_eq!(m.seeds().current(), Some(&GroupSeed([0x20; 32])));
        m.local_change(entries, &SeedRing::with(GroupSeed([0x10; 32])), 30);
        assert_eq!(
            m.seeds().current(),
            Some(&GroupSeed([0x20; 32])),
            "a lagging engine state does not undo an adopted seed"
        );
    }

    #[test]
    fn the_smaller_dialer_keeps_its_link_whatever_the_case() {
        let small = "0a".repeat(32);
        let large = "f0".repeat(32);
        assert!(dialer_keeps_link(&small, &large));
        assert!(!dialer_keeps_link(&large, &small));
        assert!(dialer_keeps_link("AB", "ac"));
    }
}
