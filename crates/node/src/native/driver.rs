//! The gossip driver thread: feeds the sans-IO machine with link events, local writes and
//! timers, hands its messages to the link layer, and records what it reports (acks for
//! tombstone collection, per-peer sync results, figures for status).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mayros_sync_proto::gossip::change::TripleChange;
use mayros_sync_proto::gossip::msg::GossipMsg;
use mayros_sync_proto::gossip::node::{GossipConfig, GossipEvent, GossipNode, RoundOutcome};
use mayros_sync_proto::membership::Membership;
use mayros_sync_proto::mode::SyncMode;
use mayros_sync_proto::reconcile::summary::FingerprintKey;
use mayros_sync_proto::seedproof::GroupSeed;
use mayros_sync_proto::TripleId;

use super::replica::StoreReplica;
use super::status::{NativePeer, NativeStatus};
use super::Input;
use crate::engine::Engine;
use crate::error::Error;
use crate::quic::links::{LinkEvent, Links};
use tokio::sync::{mpsc, watch, Notify};

mod members;

/// What woke the driver.
enum Wake {
    /// An input from the engine.
    Input(Input),
    /// A link event.
    Link(LinkEvent),
    /// The group's roster or seeds changed.
    Group,
    /// The control state changed (the driver follows its mode and pause).
    Control,
    /// The machine's timer or the housekeeping tick.
    Timer,
}

/// Wakes the driver's thread when a channel it waits on has something.
struct ThreadWaker(std::thread::Thread);

impl std::task::Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// What the driver waits on. It polls the channels with a waker that unparks its thread and
/// parks until the earliest deadline: a plain `park_timeout`, so an idle driver wakes once per
/// deadline (an async timer wheel re-arms long sleeps level by level, about twice as often).
struct WaitSet {
    /// Unparks the driver's thread (made once: the thread never changes).
    waker: std::task::Waker,
    inputs: mpsc::Receiver<Input>,
    link_events: mpsc::Receiver<LinkEvent>,
    group_changes: watch::Receiver<Arc<crate::sync::Group>>,
    control_changes: watch::Receiver<crate::engine::ControlState>,
}

impl WaitSet {
    /// The next thing to do, in order of urgency, or `None` to stop (stop notified, or a
    /// channel closed: the engine is gone).
    fn next(
        &mut self,
        mut stopped: std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>,
        deadline: Instant,
    ) -> Option<Wake> {
        use std::future::Future;
        use std::task::{Context, Poll};
        let mut cx = Context::from_waker(&self.waker);
        let mut group = std::pin::pin!(self.group_changes.changed());
        let mut control = std::pin::pin!(self.control_changes.changed());
        loop {
            if stopped.as_mut().poll(&mut cx).is_ready() {
                return None;
            }
            match self.inputs.poll_recv(&mut cx) {
                Poll::Ready(Some(input)) => return Some(Wake::Input(input)),
                Poll::Ready(None) => return None,
                Poll::Pending => {}
            }
            match self.link_events.poll_recv(&mut cx) {
                Poll::Ready(Some(ev)) => return Some(Wake::Link(ev)),
                Poll::Ready(None) => return None,
                Poll::Pending => {}
            }
            match group.as_mut().poll(&mut cx) {
                Poll::Ready(Ok(())) => return Some(Wake::Group),
                Poll::Ready(Err(_)) => return None,
                Poll::Pending => {}
            }
            match control.as_mut().poll(&mut cx) {
                Poll::Ready(Ok(())) => return Some(Wake::Control),
                Poll::Ready(Err(_)) => return None,
                Poll::Pending => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Some(Wake::Timer);
            }
            // Woken early by the waker (or spuriously): poll again.
            std::thread::park_timeout(deadline - now);
        }
    }
}

/// What the driver remembers of one peer between events. Each reason has its own lifetime.
#[derive(Debug, Default)]
struct PeerTrack {
    /// Our change-log position the peer is known to hold (its durable acknowledgement).
    acked: Option<u64>,
    /// When its last sync was recorded in the store (unix ms).
    recorded_at: Option<u64>,
    /// Changes from it applied here and not yet added to its stored total (the TRIPLES column
    /// of `sync peers`); added at the next proven sync.
    unrecorded: u64,
    /// Why its last round or our dial failed, until its next proven sync, which is then a
    /// recovery (a `peer` event with `recovered`, and the last sync recorded at once).
    failing: Option<String>,
    /// Why the last round with it failed while linked, until a round succeeds or the link
    /// goes (status).
    round_failure: Option<String>,
    /// Why it has no link now (the link was lost, or our dial failed), until a link comes up
    /// (status: the reason of an unreachable peer).
    link_error: Option<String>,
}

/// Mean interval between two rounds with one peer ("every few seconds", DESIGN §4).
pub const ROUND_INTERVAL_MS: u64 = 3_000;
/// Housekeeping period: push fallback, journal refresh, dial list, status.
const TICK: Duration = Duration::from_millis(500);
/// Largest batch of payload bytes (DESIGN §4: at most 1 MiB).
const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// A peer's "last sync" is re-recorded in the store at most this often while in sync.
const RECORD_IN_SYNC_EVERY_MS: u64 = 60_000;
/// Log entries read per push step.
const PUSH_PAGE: usize = 5_000;

fn key_for(seed: Option<&GroupSeed>, own: &str) -> FingerprintKey {
    match seed {
        Some(s) => FingerprintKey::from_group_seed(&s.0),
        None => FingerprintKey::from_group_seed(own.as_bytes()),
    }
}

/// The driver's state; [`Driver::run`] consumes it on its thread.
pub struct Driver {
    engine: Arc<Engine>,
    links: Links,
    status: Arc<Mutex<NativeStatus>>,
    node: GossipNode<String, TripleChange>,
    replica: StoreReplica,
    /// Roster, seeds, addresses and which links to keep (the sans-IO machine).
    membership: Membership<SocketAddr>,
    /// The seed changed: rebuild what is keyed by it once the machine's effects are done.
    rekey: bool,
    epoch: Instant,
    pushed_upto: u64,
    /// The store generation `push_local` last read the change log to the end at.
    pushed_generation: Option<u64>,
    /// What the driver remembers of each peer between events (one record per peer).
    tracks: HashMap<String, PeerTrack>,
    /// Bytes of reconciliation messages received (status: the identification cost).
    reconcile_bytes_in: u64,
    last_error: Option<String>,
    ticks: u64,
    last_refresh: Instant,
}

impl Driver {
    /// Builds the machine and the replica (a full scan of the store for the summary).
    pub fn new(
        engine: Arc<Engine>,
        links: Links,
        status: Arc<Mutex<NativeStatus>>,
    ) -> Result<Driver, Error> {
        let own = engine.identity().node_id.clone();
        let membership = members::load(&engine)?;
        let key = key_for(membership.seeds().current(), &own);
        let replica = StoreReplica::new(Arc::clone(&engine), key.clone())?;
        let cfg = gossip_config(&engine);
        let node = GossipNode::new(own, key, cfg, rand::random());
        let pushed_upto = engine.store_blocking(|s| s.log_head())?;
        let mut driver = Driver {
            engine,
            links,
            status,
            node,
            replica,
            membership,
            rekey: false,
            epoch: Instant::now(),
            pushed_upto,
            pushed_generation: None,
            tracks: HashMap::new(),
            reconcile_bytes_in: 0,
            last_error: None,
            ticks: 0,
            last_refresh: Instant::now(),
        };
        // Status shows the store's figures from the start, not zeros until the first step.
        driver.publish();
        Ok(driver)
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs on the calling (dedicated) thread until `stop` is notified or every sender is
    /// gone. It waits on the inputs, the link events, group and control changes and the
    /// machine's next timer at once (see [`WaitSet`]), so link events need no bridge thread and
    /// no async runtime runs here; the machine's steps and their store calls run on this
    /// thread, never on the engine's runtime.
    pub fn run(
        mut self,
        inputs: mpsc::Receiver<Input>,
        link_events: mpsc::Receiver<LinkEvent>,
        stop: Arc<Notify>,
    ) {
        let _span = tracing::info_span!("gossip", node = %mayros_sync_proto::node_id::short_node_id(self.node.id()))
            .entered();
        // Roster and seed changes made anywhere in the engine wake the driver at once, and so
        // does a new mode or a pause or resume.
        let mut waits = WaitSet {
            waker: std::task::Waker::from(Arc::new(ThreadWaker(std::thread::current()))),
            inputs,
            link_events,
            group_changes: self.engine.sync_state().groups().subscribe(),
            control_changes: self.engine.control().subscribe(),
        };
        let mut control_seen =
            control_key(&waits.control_changes.borrow_and_update(), &self.engine);
        self.reconfigure();
        let mut next_tick = Instant::now();
        let stopped = stop.notified();
        let mut stopped = std::pin::pin!(stopped);
        loop {
            let now = self.now();
            let until_timer = self
                .node
                .poll_timeout()
                .map_or(TICK, |t| Duration::from_millis(t.saturating_sub(now)))
                .min(self.membership_timeout());
            let deadline = (Instant::now() + until_timer).min(next_tick);
            let Some(wake) = waits.next(stopped.as_mut(), deadline) else {
                break;
            };
            if let Wake::Control = wake {
                let key = control_key(&waits.control_changes.borrow_and_update(), &self.engine);
                // Counters change with every sync: only a new mode or pause matters here.
                if key != control_seen {
                    control_seen = key;
                    self.reconfigure();
                }
            }
            match wake {
                Wake::Link(ev) => self.on_link(ev),
                Wake::Input(Input::LocalWrite) => self.push_local(),
                Wake::Input(Input::Reconfigure) => self.reconfigure(),
                Wake::Input(Input::Unpaired(node)) => {
                    tracing::info!(peer = %mayros_sync_proto::node_id::short_node_id(&node), "unpaired: telling the members");
                    self.reconfigure();
                }
                Wake::Input(Input::RoundNow) => {
                    let now = self.now();
                    self.node.round_now(now, &mut self.replica);
                }
                Wake::Group => self.reconfigure(),
                Wake::Control | Wake::Timer => {}
            }
            let now = self.now();
            if self.node.poll_timeout().is_some_and(|t| t <= now) {
                self.node.handle_timeout(now, &mut self.replica);
            }
            if Instant::now() >= next_tick {
                next_tick = Instant::now() + TICK;
                self.tick();
            }
            self.membership_step();
            self.flush();
        }
        tracing::info!("gossip driver stopped");
    }

    fn tick(&mut self) {
        // The machine's pending effects reach the engine's group before it is compared with it.
        self.membership_step();
        // (The element journal is folded in by `publish`, at most every 100 ms.)
        self.push_local();
        self.ticks += 1;
        // Every 5 s: addresses recorded by `sync pair`, paused peers, pause expiry (a change
        // of the group wakes the driver at once).
        if self.ticks.is_multiple_of(10) {
            self.reconfigure();
        }
    }

    /// The record of `peer`, made on first use.
    fn track(&mut self, peer: &str) -> &mut PeerTrack {
        self.tracks.entry(peer.to_string()).or_default()
    }

    fn error(&mut self, message: String) {
        tracing::warn!("{message}");
        self.last_error = Some(message);
    }

    fn reconfigure(&mut self) {
        let now = self.now();
        self.node.set_config(gossip_config(&self.engine), now);
        // Effects first: the group read back below must include what the machine decided.
        self.membership_step();
        self.sync_membership();
        self.membership_step();
        self.rekey();
    }

    /// Rebuilds the summary under the current seed's key (and the exclusion config).
    fn rekey(&mut self) {
        let key = key_for(self.membership.seeds().current(), self.node.id());
        let exclude = self
            .engine
            .config()
            .config
            .sync
            .exclude_subject_prefixes
            .clone();
        match self.replica.reconfigure(key.clone(), exclude) {
            Ok(true) => self.node.set_key(key),
            Ok(false) => {}
            Err(e) => self.error(format!("cannot rebuild the gossip summary: {e}")),
        }
    }

    fn on_link(&mut self, ev: LinkEvent) {
        let now = self.now();
        match ev {
            LinkEvent::Up { peer, addr, dialed } => {
                let _s =
                    tracing::info_span!("peer", peer = %mayros_sync_proto::node_id::short_node_id(&peer)).entered();
                tracing::info!(%addr, dialed, "sync link up");
                self.engine.events().publish(crate::events::Event::Peer(
                    crate::dto::PeerEvent::up(&peer, addr.to_string()),
                ));
                self.track(&peer).link_error = None;
                let now_ms = self.engine.clock().now_ms();
                self.membership.link_up(&peer, addr, now_ms);
                self.restore_good_round(&peer);
                self.node.peer_up(peer, now);
            }
            LinkEvent::Down { peer, reason } => {
                let _s =
                    tracing::info_span!("peer", peer = %mayros_sync_proto::node_id::short_node_id(&peer)).entered();
                tracing::info!(%reason, "sync link down");
                self.engine.events().publish(crate::events::Event::Peer(
                    crate::dto::PeerEvent::down(&peer, reason.clone()),
                ));
                let at =
                    mayros_sync_proto::timefmt::format_rfc3339_ms(self.engine.clock().now_ms());
                let track = self.track(&peer);
                track.round_failure = None;
                track.link_error = Some(format!("link lost at {at}: {reason}"));
                self.membership.link_down(&peer);
                self.node.peer_down(&peer);
            }
            LinkEvent::Frame { peer, kind, body }
                if mayros_sync_proto::membership::wire::is_member_kind(kind) =>
            {
                self.on_member_frame(&peer, kind, &body);
            }
            LinkEvent::Frame { peer, kind, body } => {
                if is_reconciliation(kind) {
                    let len = body.len() + mayros_sync_proto::reconcile::varint_len(kind) + 4;
                    self.reconcile_bytes_in += len as u64;
                }
                let _s =
                    tracing::debug_span!("peer", peer = %mayros_sync_proto::node_id::short_node_id(&peer)).entered();
                match GossipMsg::<TripleChange>::decode(kind, &body) {
                    Ok(Some(msg)) => self.node.handle(&peer, msg, now, &mut self.replica),
                    Ok(None) => tracing::debug!(kind, "ignoring an unknown message kind"),
                    Err(e) => self.error(format!(
                        "peer {}: {e}; message dropped",
                        mayros_sync_proto::node_id::short_node_id(&peer)
                    )),
                }
            }
            LinkEvent::Refused {
                addr,
                node_id,
                reason,
                untrusted,
            } => {
                tracing::info!(%addr, node = node_id.as_deref().unwrap_or("?"), %reason, "sync connection refused");
                // Our own dial of a member that failed is a failed sync attempt with it.
                if let Some(peer) = node_id
                    .as_deref()
                    .filter(|p| !untrusted && self.membership.wanted().contains_key(*p))
                {
                    let name = self.peer_name(peer);
                    let message = format!("cannot reach {name} at {addr}: {reason}");
                    let track = self.track(peer);
                    track.failing = Some(message.clone());
                    track.link_error = Some(message.clone());
                    self.engine.events().publish(crate::events::Event::Failure(
                        crate::dto::FailureEvent::Sync {
                            peer: peer.to_string(),
                            name,
                            failures: None,
                            message,
                        },
                    ));
                }
                // A device that reached us with a certificate but is not a member or cannot
                // prove the seed is a security event (status counter, UI, notification); a
                // failed dial of ours is not.
                if untrusted {
                    if let Err(e) = self
                        .engine
                        .store_blocking(|s| s.bump_counter(crate::sync::AUTH_REJECTED_COUNTER))
                    {
                        self.error(format!("cannot count a refused connection: {e}"));
                    }
                    self.engine.events().publish(crate::events::Event::Failure(
                        crate::dto::FailureEvent::Security {
                            node_id: node_id.clone(),
                            address: addr.to_string(),
                            message: format!("refused a QUIC sync connection: {reason}"),
                        },
                    ));
                }
            }
        }
    }

    /// After a restart the machine knows no good round with `peer`: hand it the durable
    /// acknowledgement (our change-log position the peer is known to hold), so the first round
    /// can use the recent window since then instead of a full identification.
    fn restore_good_round(&mut self, peer: &str) {
        if self.tracks.get(peer).is_some_and(|t| t.acked.is_some()) {
            return;
        }
        let id = peer.to_string();
        match self.engine.store_blocking(move |s| s.peer(&id)) {
            Ok(Some(record)) if record.acked_position > 0 => {
                self.track(peer).acked = Some(record.acked_position);
                self.node
                    .remember_good_round(peer.to_string(), record.acked_position);
            }
            Ok(_) => {}
            Err(e) => self.error(format!("cannot read a peer's acknowledgement: {e}")),
        }
    }

    /// Pushes the changes this device made since the last push. Nothing was written since
    /// the last complete read of the change log: no store call (an idle engine's ticks cost
    /// no wake-up of the store's thread).
    fn push_local(&mut self) {
        let generation = self.engine.store_generation();
        if self.pushed_generation == Some(generation) {
            return;
        }
        if self.push_pages() {
            self.pushed_generation = Some(generation);
        }
    }

    /// Reads the change log page by page from `pushed_upto` and queues this device's own
    /// changes for the peers; answers whether it read to the end.
    fn push_pages(&mut self) -> bool {
        loop {
            let after = self.pushed_upto;
            let entries = match self
                .engine
                .store_blocking(move |s| s.changes_since(after, PUSH_PAGE))
            {
                Ok(e) => e,
                Err(e) => {
                    self.error(format!("cannot read the change log: {e}"));
                    return false;
                }
            };
            let Some(last) = entries.last() else {
                return true;
            };
            self.pushed_upto = last.position;
            let full = entries.len() == PUSH_PAGE;
            if self.node.config().initiates && self.node.peers().next().is_some() {
                let own = self.node.id().clone();
                let mut ids: Vec<TripleId> = entries
                    .iter()
                    .filter(|e| e.author == own)
                    .map(|e| e.id)
                    .collect();
                ids.dedup();
                if !ids.is_empty() {
                    match self.replica.changes_of(ids) {
                        Ok(changes) => self.node.local_changes(&changes, &mut self.replica),
                        Err(e) => self.error(format!("cannot read local changes to push: {e}")),
                    }
                }
            }
            if !full {
                return true;
            }
        }
    }

    fn flush(&mut self) {
        while let Some((peer, msg)) = self.node.poll_transmit() {
            let (kind, body) = msg.encode();
            if let Err(e) = self.links.send(&peer, kind, &body) {
                tracing::debug!(peer = %mayros_sync_proto::node_id::short_node_id(&peer), error = %e, "message not sent");
            }
        }
        while let Some(ev) = self.node.poll_event() {
            self.on_event(ev);
        }
        self.publish();
    }

    fn on_event(&mut self, ev: GossipEvent<String>) {
        let now_ms = self.engine.clock().now_ms();
        match ev {
            GossipEvent::Acked { peer, marker } => {
                // Proven in sync (as starter or answerer): the peer's last sync, recorded at
                // most once a minute while nothing changes.
                self.record_synced(&peer, now_ms, false);
                if self
                    .tracks
                    .get(&peer)
                    .and_then(|t| t.acked)
                    .is_some_and(|m| m >= marker)
                {
                    return;
                }
                self.track(&peer).acked = Some(marker);
                if let Err(e) = self
                    .engine
                    .store_blocking(move |s| s.record_peer_ack(&peer, marker))
                {
                    self.error(format!("cannot record a peer acknowledgement: {e}"));
                }
            }
            GossipEvent::RoundFinished {
                peer,
                outcome,
                duration_ms,
            } => {
                let _s =
                    tracing::debug_span!("peer", peer = %mayros_sync_proto::node_id::short_node_id(&peer)).entered();
                tracing::debug!(?outcome, duration_ms, "round finished");
                match outcome {
                    RoundOutcome::Failed(reason) => {
                        self.engine
                            .control()
                            .apply(crate::engine::Command::Recorded {
                                ok: false,
                                at_ms: now_ms,
                            });
                        let track = self.track(&peer);
                        track.failing = Some(reason.clone());
                        track.round_failure = Some(reason.clone());
                        self.engine.events().publish(crate::events::Event::Failure(
                            crate::dto::FailureEvent::Sync {
                                peer: peer.clone(),
                                name: self.peer_name(&peer),
                                failures: None,
                                message: reason.clone(),
                            },
                        ));
                        let retry = now_ms + ROUND_INTERVAL_MS;
                        let r = self.engine.store_blocking(move |s| {
                            s.record_sync_failure(&peer, now_ms, &reason, retry)
                        });
                        if let Err(e) = r {
                            self.error(format!("cannot record a failed round: {e}"));
                        }
                    }
                    RoundOutcome::InSync | RoundOutcome::BloomSynced => {}
                    RoundOutcome::Reconciled { .. } => self.record_synced(&peer, now_ms, true),
                }
            }
            GossipEvent::Applied {
                peer,
                received,
                applied,
                ..
            } => {
                tracing::debug!(peer = %mayros_sync_proto::node_id::short_node_id(&peer), received, applied, "batch applied");
                if applied > 0 {
                    self.track(&peer).unrecorded += applied as u64;
                }
            }
            GossipEvent::ReplicaError { peer, message } => {
                self.error(format!(
                    "peer {}: {message}",
                    mayros_sync_proto::node_id::short_node_id(&peer)
                ));
            }
        }
    }

    /// Records a successful sync with `peer` (status counters, the peer's last sync); while in
    /// sync only once a minute, so an idle engine does not write every round.
    fn record_synced(&mut self, peer: &str, now_ms: u64, force: bool) {
        let track = self.track(peer);
        track.round_failure = None;
        let recovered = track.failing.take().is_some();
        let applied = track.unrecorded;
        let last = track.recorded_at;
        if recovered {
            self.engine.events().publish(crate::events::Event::Peer(
                crate::dto::PeerEvent::recovered(peer, &self.peer_name(peer)),
            ));
        }
        let force = force || recovered || applied > 0;
        if !force && last.is_some_and(|l| now_ms.saturating_sub(l) < RECORD_IN_SYNC_EVERY_MS) {
            return;
        }
        self.track(peer).recorded_at = Some(now_ms);
        self.engine
            .control()
            .apply(crate::engine::Command::Recorded {
                ok: true,
                at_ms: now_ms,
            });
        let id = peer.to_string();
        let r = self
            .engine
            .store_blocking(move |s| s.record_sync_success(&id, now_ms, applied, None));
        match r {
            Ok(()) => self.track(peer).unrecorded = 0,
            Err(e) => self.error(format!("cannot record a sync: {e}")),
        }
    }

    /// A peer's name from the store, else its short node id.
    fn peer_name(&self, peer: &str) -> String {
        let id = peer.to_string();
        self.engine
            .store_blocking(move |s| s.peer(&id))
            .ok()
            .flatten()
            .map(|p| mayros_sync_proto::node_id::display_name(&p.name, peer).to_string())
            .unwrap_or_else(|| mayros_sync_proto::node_id::short_node_id(peer).to_string())
    }

    fn publish(&mut self) {
        // Keep the element counts fresh for status, without a store round-trip per message.
        if self.last_refresh.elapsed() >= Duration::from_millis(100) {
            self.last_refresh = Instant::now();
            if let Err(e) = self.replica.refresh() {
                self.error(format!("cannot read the element journal: {e}"));
            }
        }
        let stats = self.node.stats().clone();
        let summary = self.replica.current_summary();
        let wanted = self.membership.wanted();
        let peers: Vec<NativePeer> = wanted
            .iter()
            .map(|(id, addr)| (id.clone(), Some(addr.to_string())))
            .chain(
                self.node
                    .peers()
                    .filter(|p| !wanted.contains_key(*p))
                    .map(|p| (p.clone(), None)),
            )
            .map(|(node_id, addr)| {
                let g = self.node.peer_gossip(&node_id);
                NativePeer {
                    connected: g.is_some(),
                    last_round_ms: g.as_ref().and_then(|g| g.last_round_ms),
                    queued_changes: g.as_ref().map_or(0, |g| g.queued_changes),
                    to_receive: g.as_ref().map_or(0, |g| g.to_receive),
                    proven_in_sync: g.as_ref().is_some_and(|g| g.proven_in_sync),
                    failing: self
                        .tracks
                        .get(&node_id)
                        .and_then(|t| t.round_failure.clone()),
                    link_error: self.tracks.get(&node_id).and_then(|t| t.link_error.clone()),
                    node_id,
                    addr,
                }
            })
            .collect();
        let mut s = match self.status.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        s.initiates = self.node.config().initiates;
        s.round = stats.rounds + stats.rounds_answered;
        s.pending_announcements = self.node.pending_announcements() as u64;
        s.known_ids = summary.live_count + summary.tomb_count;
        s.local_ids = summary.live_count;
        s.bloom_filter_items = stats.bloom_filter_items;
        s.bloom_filter_fpr = stats.bloom_filter_fpr;
        s.successful_syncs = stats.successful_rounds;
        s.failed_syncs = stats.failed_rounds;
        s.changes_sent = stats.changes_sent;
        s.changes_received = stats.changes_received;
        s.changes_applied = stats.changes_applied;
        s.exact_differences = stats.exact_differences;
        s.listed_differences = stats.listed_differences;
        s.reconcile_bytes_in = self.reconcile_bytes_in;
        s.peers = peers;
        s.last_error = self.last_error.clone();
    }
}

/// Whether frames of `kind` find differences (as opposed to moving changes, acks, hellos,
/// progress estimates and the engine's roster, address and seed messages).
fn is_reconciliation(kind: u64) -> bool {
    use mayros_sync_proto::gossip::{exact, msg::kind as k};
    matches!(
        kind,
        k::SUMMARY
            | k::IN_SYNC
            | k::DIFFER
            | k::BLOOM
            | k::CHECK
            | k::SEND_ALL
            | k::ROUND_END
            | k::LIST_ASK
            | k::LIST_CHUNK
            | k::LIST_WANT
    ) || (exact::kind::SYMBOLS..=exact::kind::ABORT).contains(&kind)
}

/// What of the control state the driver follows: the mode, and whether sync is paused.
fn control_key(state: &crate::engine::ControlState, engine: &Engine) -> (SyncMode, bool) {
    (
        state.mode().mode,
        state.pause_at(engine.clock().now_ms()).is_some(),
    )
}

/// The machine's tunables from the engine's mode, config and pause state.
fn gossip_config(engine: &Engine) -> GossipConfig {
    let sync = engine.config().config.sync;
    let paused = engine.pause_state().is_some();
    GossipConfig {
        round_interval_ms: ROUND_INTERVAL_MS,
        session_timeout_ms: sync.sync_timeout_ms,
        max_batch_changes: usize::try_from(sync.max_triples_per_sync).unwrap_or(usize::MAX),
        max_batch_bytes: MAX_BATCH_BYTES,
        window_batches: 4,
        bloom_fpr: mayros_sync_proto::reconcile::bloom::DEFAULT_FPR,
        max_window: 20_000,
        // With an external Cortex too: our gossip runs over the engine's mirror of it (DESIGN
        // §3.3); the sidecar's own P2P never syncs.
        initiates: engine.mode().mode == SyncMode::Native && !paused,
    }
}
