//! Discovery of nearby devices (DESIGN §7.1): mDNS/DNS-SD when `discovery.bonjourEnabled`,
//! plus `discovery.manualPeers`, merged into one [`nearby::NearbyRegistry`].
//!
//! [`run`] is a daemon task: once a second it compares the discovery config with what runs and
//! starts, stops or restarts the mDNS responder, applies browse results, resolves manual
//! peers, refreshes the paired flags and expires stale entries, publishing a `nearby` event
//! for every change.

pub mod mdns;
pub mod nearby;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mayros_sync_proto::config::DiscoveryConfig;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use crate::engine::Engine;
use crate::events::Event;
use mdns::{Advert, Mdns, MdnsEvent, MdnsSettings};
use nearby::{NearbyChange, NearbySource, Sighting};
pub use nearby::{NearbyState, STALE_AFTER};

/// How often the loop runs.
const TICK: Duration = Duration::from_secs(1);
/// How often manual peers' host names are resolved again.
const MANUAL_RESOLVE_EVERY: Duration = Duration::from_secs(30);
/// How long one manual peer's name resolution may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

fn settings_of(cfg: &DiscoveryConfig) -> Option<MdnsSettings> {
    cfg.bonjour_enabled.then(|| MdnsSettings {
        service_type: cfg.bonjour_service_type.clone(),
        interfaces: cfg.interfaces.clone(),
    })
}

struct Loop {
    engine: Arc<Engine>,
    running: Option<Mdns>,
    /// Settings whose start failed (not retried until the config changes).
    failed: Option<MdnsSettings>,
    tx: mpsc::UnboundedSender<MdnsEvent>,
    /// mDNS instance name → registry key (node id).
    instances: HashMap<String, String>,
    manual_keys: Vec<String>,
    manual_config: Vec<mayros_sync_proto::config::ManualPeer>,
    manual_resolved_at: Option<Instant>,
}

/// The discovery task; ends (stopping mDNS with a goodbye) when `stop` turns true.
pub async fn run(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut me = Loop {
        engine,
        running: None,
        failed: None,
        tx,
        instances: HashMap::new(),
        manual_keys: Vec::new(),
        manual_config: Vec::new(),
        manual_resolved_at: None,
    };
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                me.tick().instrument(tracing::debug_span!("discovery_tick")).await;
            }
            Some(ev) = rx.recv() => me.on_mdns(ev),
            _ = async { let _ = stop.wait_for(|s| *s).await; } => break,
        }
    }
    if let Some(m) = me.running.take() {
        let _ = tokio::task::spawn_blocking(move || m.stop()).await;
    }
}

impl Loop {
    fn publish(&self, changes: Vec<NearbyChange>) {
        for c in changes {
            tracing::info!(change = c.change.as_str(), node_id = ?c.device.node_id, name = %c.device.name, "nearby device");
            self.engine.events().publish(Event::Nearby(c));
        }
    }

    fn is_member(&self) -> impl Fn(&str) -> bool {
        let engine = Arc::clone(&self.engine);
        move |id: &str| engine.group().roster.is_member(id)
    }

    fn on_mdns(&mut self, ev: MdnsEvent) {
        let now = self.engine.clock().now_ms();
        let changes = match ev {
            MdnsEvent::Resolved { fullname, sighting } => {
                let key = sighting.key();
                self.instances.insert(fullname, key);
                let paired = sighting
                    .node_id
                    .as_deref()
                    .is_some_and(|id| (self.is_member())(id));
                self.engine
                    .nearby()
                    .with(|r| r.seen(sighting, paired, now))
                    .into_iter()
                    .collect()
            }
            MdnsEvent::Removed { fullname } => match self.instances.remove(&fullname) {
                // Another live instance may still announce the same node (a restart).
                Some(key) if !self.instances.values().any(|k| k == &key) => self
                    .engine
                    .nearby()
                    .with(|r| r.remove(&key))
                    .into_iter()
                    .collect(),
                _ => Vec::new(),
            },
        };
        self.publish(changes);
    }

    async fn tick(&mut self) {
        let cfg = self.engine.config().config.discovery;
        self.apply_mdns_settings(settings_of(&cfg)).await;
        self.apply_manual(&cfg).await;
        let now = self.engine.clock().now_ms();
        let live: Vec<String> = self.instances.values().cloned().collect();
        let is_member = self.is_member();
        let changes = self.engine.nearby().with(|r| {
            for k in &live {
                r.touch(k, now);
            }
            for k in &self.manual_keys {
                // Manual peers stay while configured; a failed resolution keeps the last one.
                r.touch(k, now);
            }
            let mut c = r.refresh_paired(is_member);
            c.extend(r.expire(now));
            c
        });
        self.publish(changes);
    }

    async fn apply_mdns_settings(&mut self, want: Option<MdnsSettings>) {
        if self.running.as_ref().map(Mdns::settings) == want.as_ref() {
            return;
        }
        if self.running.is_none() && want.is_some() && self.failed == want {
            // A failed start is retried only after the config changes.
            return;
        }
        if let Some(m) = self.running.take() {
            let _ = tokio::task::spawn_blocking(move || m.stop()).await;
            self.instances.clear();
            let gone = self
                .engine
                .nearby()
                .with(|r| r.retain_source(NearbySource::Mdns, &[]));
            self.publish(gone);
        }
        let Some(settings) = want else { return };
        let id = self.engine.identity();
        let advert = Advert {
            node_id: id.node_id.clone(),
            name: id.name.clone(),
            quic_port: self.engine.native().map(|n| n.addr().port()),
            https_port: self
                .engine
                .control()
                .snapshot()
                .peer_api()
                .map(|a| a.port()),
        };
        let tx = self.tx.clone();
        self.failed = Some(settings.clone());
        let started = tokio::task::spawn_blocking(move || Mdns::start(settings, &advert, tx)).await;
        match started {
            Ok(Ok(m)) => {
                self.running = Some(m);
                self.failed = None;
            }
            Ok(Err(e)) => tracing::error!(error = %e, "cannot start mDNS discovery"),
            Err(e) => tracing::error!(error = %e, "mDNS start task failed"),
        }
    }

    async fn apply_manual(&mut self, cfg: &DiscoveryConfig) {
        let due = self
            .manual_resolved_at
            .is_none_or(|t| t.elapsed() >= MANUAL_RESOLVE_EVERY);
        if !due && self.manual_config == cfg.manual_peers {
            return;
        }
        self.manual_config = cfg.manual_peers.clone();
        self.manual_resolved_at = Some(Instant::now());
        let mut keys = Vec::new();
        let is_member = self.is_member();
        for peer in &cfg.manual_peers {
            let endpoint = peer.endpoint().to_string();
            let resolved =
                tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host(endpoint.clone()))
                    .await;
            let addrs: Vec<std::net::SocketAddr> = match resolved {
                Ok(Ok(it)) => it.collect(),
                Ok(Err(e)) => {
                    tracing::warn!(%endpoint, error = %e, "cannot resolve a manual peer");
                    Vec::new()
                }
                Err(_) => {
                    tracing::warn!(%endpoint, "resolving a manual peer timed out");
                    Vec::new()
                }
            };
            let node_id = peer.node_id().map(str::to_string);
            let sighting = Sighting {
                name: endpoint.clone(),
                node_id,
                addresses: {
                    let mut a: Vec<_> = addrs.iter().map(|a| a.ip()).collect();
                    a.sort();
                    a.dedup();
                    a
                },
                quic_port: None,
                https_port: addrs
                    .first()
                    .map(|a| a.port())
                    .or_else(|| endpoint.rsplit_once(':').and_then(|(_, p)| p.parse().ok())),
                source: NearbySource::Manual,
            };
            keys.push(sighting.key());
            let paired = sighting.node_id.as_deref().is_some_and(&is_member);
            let now = self.engine.clock().now_ms();
            let change = self.engine.nearby().with(|r| r.seen(sighting, paired, now));
            self.publish(change.into_iter().collect());
        }
        let gone = self
            .engine
            .nearby()
            .with(|r| r.retain_source(NearbySource::Manual, &keys));
        self.publish(gone);
        self.manual_keys = keys;
    }
}
