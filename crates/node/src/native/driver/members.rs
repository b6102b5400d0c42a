//! The driver's side of membership: feeds the [`Membership`] machine what the engine and the
//! links know, and carries out its effects (messages, links, the store, the secret store).
//! The rules themselves live in `mayros_sync_proto::membership`.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use mayros_sync_proto::membership::{wire, Effect, Membership};
use mayros_sync_proto::peerstate::PeerStatus;
use mayros_sync_store::PeerRecord;

use super::Driver;
use crate::engine::Engine;
use crate::error::Error;
use mayros_sync_proto::node_id::short_node_id as short;

/// The machine as the engine's group and the stored peer addresses describe it.
pub(super) fn load(engine: &Engine) -> Result<Membership<SocketAddr>, Error> {
    let (entries, seeds) = {
        let group = engine.group();
        (
            group.roster.entries().cloned().collect(),
            group.seeds.clone(),
        )
    };
    let addresses = engine
        .store_blocking(|s| s.peers())?
        .into_iter()
        .filter_map(|p| Some((p.node_id.clone(), quic_addr(&p)?)))
        .collect();
    Ok(Membership::new(
        &engine.identity().node_id,
        entries,
        seeds,
        addresses,
        rand::random(),
    ))
}

fn quic_addr(p: &PeerRecord) -> Option<SocketAddr> {
    p.quic_addr.as_deref().and_then(|a| a.parse().ok())
}

impl Driver {
    /// Tells the machine what changed outside it: roster entries and seeds set by pairing or
    /// an unpair, addresses recorded by `sync pair`, paused and removed peers.
    pub(super) fn sync_membership(&mut self) {
        let now_ms = self.engine.clock().now_ms();
        let (entries, seeds) = {
            let group = self.engine.group();
            (
                group.roster.entries().cloned().collect(),
                group.seeds.clone(),
            )
        };
        self.membership.local_change(entries, &seeds, now_ms);
        self.membership.expire_seeds(now_ms);
        let peers = match self.engine.store_blocking(|s| s.peers()) {
            Ok(p) => p,
            Err(e) => return self.error(format!("cannot read peers: {e}")),
        };
        let mut blocked = BTreeSet::new();
        for p in &peers {
            if matches!(p.status, PeerStatus::Paused | PeerStatus::Removed) {
                blocked.insert(p.node_id.clone());
            }
            if let Some(addr) = quic_addr(p) {
                self.membership.set_address(&p.node_id, addr, now_ms);
            }
        }
        self.membership.set_blocked(blocked, now_ms);
    }

    /// How long until the machine's next timer (closing links after their grace period).
    pub(super) fn membership_timeout(&self) -> std::time::Duration {
        let now_ms = self.engine.clock().now_ms();
        self.membership.poll_timeout().map_or(super::TICK, |t| {
            std::time::Duration::from_millis(t.saturating_sub(now_ms))
        })
    }

    /// A membership message from `peer`.
    pub(super) fn on_member_frame(&mut self, peer: &str, kind: u64, body: &[u8]) {
        let msg = match wire::decode(kind, body) {
            Ok(Some(msg)) => msg,
            Ok(None) => return,
            Err(e) => return self.error(format!("peer {}: {e}; ignored", short(peer))),
        };
        let msg = msg.map_addresses(|a| wire::dialable(&a));
        let _s = tracing::info_span!("peer", peer = %short(peer)).entered();
        let now_ms = self.engine.clock().now_ms();
        self.membership.handle(peer, msg, now_ms);
    }

    /// Runs the machine's due timers and carries out every effect it queued.
    pub(super) fn membership_step(&mut self) {
        let now_ms = self.engine.clock().now_ms();
        if self.membership.poll_timeout().is_some_and(|t| t <= now_ms) {
            self.membership.handle_timeout(now_ms);
        }
        while let Some(effect) = self.membership.poll() {
            self.apply(effect);
        }
        if std::mem::take(&mut self.rekey) {
            self.rekey();
        }
    }

    fn apply(&mut self, effect: Effect<SocketAddr>) {
        match effect {
            Effect::Send { to, msg } => {
                let (kind, body) = wire::encode(&msg.map_addresses(|a| Some(a.to_string())));
                // A link that went down meanwhile: its next link-up resends what matters.
                let _ = self.links.send(&to, kind, &body);
            }
            Effect::Want { peer, addr } => {
                tracing::info!(peer = %short(&peer), %addr, "keeping a sync link");
                self.links.want(&peer, addr);
            }
            Effect::Unwant { peer } => {
                tracing::info!(peer = %short(&peer), "closing a sync link no longer wanted");
                self.links.unwant(&peer);
                self.node.peer_down(&peer);
            }
            Effect::SaveAddress { peer, addr } => self.save_address(peer, addr),
            Effect::SaveRoster(entries) => {
                let n = entries.len();
                let cell = self.engine.sync_state().groups().clone();
                let merged = self
                    .engine
                    .store_blocking(move |s| cell.update(s, |g, s| g.merge(entries, s)));
                match merged {
                    Ok(_) => tracing::info!(added = n, "roster entries learned"),
                    Err(e) => self.error(format!("cannot save roster entries: {e}")),
                }
            }
            Effect::SaveSeeds(ring) => {
                // The secret store may be a slow D-Bus call: the seed keeper's thread makes it.
                match self.engine.update_group_seeds_blocking(move |_| Some(ring)) {
                    Ok(true) => tracing::info!("group seeds saved"),
                    Ok(false) => {}
                    Err(e) => self.error(format!("cannot store the group seeds: {e}")),
                }
            }
            Effect::SeedChanged => self.rekey = true,
            Effect::RemovedSelf { by } => {
                tracing::warn!(by = %short(&by), "this device was removed from its sync group");
                self.engine.events().publish(crate::events::Event::Failure(
                    crate::dto::FailureEvent::Removed {
                        message:
                            "this device was removed from its sync group; pair again to rejoin"
                                .to_string(),
                    },
                ));
            }
        }
    }

    /// Records a member's address (DESIGN §4: "an authenticated inbound connection updates the
    /// stored address of that member").
    fn save_address(&mut self, peer: String, addr: SocketAddr) {
        let now_ms = self.engine.clock().now_ms();
        let text = addr.to_string();
        let result = self.engine.store_blocking(move |s| {
            let mut rec = s
                .peer(&peer)?
                .unwrap_or_else(|| PeerRecord::new(&peer, now_ms));
            if rec.quic_addr.as_deref() != Some(text.as_str()) {
                rec.quic_addr = Some(text);
                s.upsert_peer(&rec)?;
            }
            Ok::<_, mayros_sync_store::Error>(())
        });
        if let Err(e) = result {
            self.error(format!("cannot record a peer address: {e}"));
        }
    }
}
