//! The engine: identity, config, the current mode and the handles to the store's worker
//! thread and the native layer.

pub mod control;
pub mod worker;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Instant;

use mayros_sync_proto::config::{self, Config, ConfigWarning};
use mayros_sync_proto::mode::{self, HealthProbe, ModeChange, ModeDecision, P2pProbe};
use mayros_sync_proto::peerstate::PeerStatus;
use mayros_sync_proto::syncstate;
use mayros_sync_store::{DeviceIdentity, SecretStore, SecretStoreKind, Store};

use crate::clock::Clock;
use crate::cortex::{Cortex, CortexOptions};
pub use crate::dto::status::CortexStatus;
pub use crate::dto::status::StatusSnapshot;
pub use crate::dto::status::SyncCounters;
use crate::error::Error;
use crate::native::handle::Native;
use crate::sync::group::SeedKeeper;
use crate::sync::state::{SyncState, AUTH_REJECTED_COUNTER, CONFLICTS_SEEN_COUNTER};
use crate::tls::DeviceCert;
pub use control::{Command, Control, ControlState, RunningSync};
pub use worker::{StoreWorker, Worker};

/// The validated configuration in force, where it came from, and its warnings.
#[derive(Debug, Clone)]
pub struct ConfigState {
    /// The validated config.
    pub config: Config,
    /// Clamping warnings produced when it was parsed.
    pub warnings: Vec<ConfigWarning>,
    /// The file it is read from and written to.
    pub path: PathBuf,
}

impl ConfigState {
    /// Reads and validates `path`; a missing file means all defaults.
    pub fn load(path: PathBuf) -> Result<ConfigState, Error> {
        let parsed = match std::fs::read_to_string(&path) {
            Ok(text) => config::parse(&text).map_err(|cause| Error::Config {
                path: path.clone(),
                cause,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => config::Parsed {
                config: Config::default(),
                warnings: Vec::new(),
            },
            Err(e) => return Err(Error::io("cannot read config file", path, e)),
        };
        Ok(ConfigState {
            config: parsed.config,
            warnings: parsed.warnings,
            path,
        })
    }
}

/// Static facts about this engine, fixed at start.
#[derive(Debug, Clone)]
pub struct Identity {
    /// 64 lowercase hex of the device's Ed25519 public key.
    pub node_id: String,
    /// Human-readable device name.
    pub name: String,
    /// Which backend holds the device secrets.
    pub secret_store: SecretStoreKind,
    /// Why the OS keyring is not used, when it could not be (a status warning).
    pub secret_store_warning: Option<String>,
    /// The device key (signs roster entries).
    pub device: DeviceIdentity,
    /// The device certificate (TLS on the peer API and QUIC).
    pub cert: DeviceCert,
}

impl Identity {
    /// Builds the identity of a device key, with its certificate.
    pub fn new(
        device: DeviceIdentity,
        name: String,
        secret_store: SecretStoreKind,
    ) -> Result<Identity, Error> {
        let cert = DeviceCert::new(device.signing_key())?;
        Ok(Identity {
            node_id: device.node_id(),
            name,
            secret_store,
            secret_store_warning: None,
            device,
            cert,
        })
    }
}

/// The engine, shared behind an [`Arc`]: fixed facts (identity, clock) and handles to the
/// owners of its state (the store and seed workers, the control state, the group cell, the
/// native layer); see README "Who owns what".
pub struct Engine {
    store: Arc<StoreWorker>,
    /// The store's change counter after the last call (see [`Engine::store_generation`]).
    store_generation: Arc<std::sync::atomic::AtomicU64>,
    seeds: Worker<SeedKeeper>,
    identity: Identity,
    secrets: Arc<dyn SecretStore>,
    config: RwLock<ConfigState>,
    control: Control,
    clock: Clock,
    started: Instant,
    sync: SyncState,
    native: OnceLock<Native>,
    cortex: RwLock<Arc<Cortex>>,
    cortex_options: RwLock<CortexOptions>,
    events: crate::events::EventHub,
    memory: Arc<crate::memory::Trimmer>,
    nearby: crate::discovery::nearby::NearbyState,
    flood: crate::flood::Floodgate,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("node_id", &self.identity.node_id)
            .field("secret_store", &self.secrets.kind())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Builds the engine around an open store; loads the group and makes the first mode decision.
    pub fn new(
        mut store: Store,
        identity: Identity,
        secrets: Arc<dyn SecretStore>,
        config: ConfigState,
        clock: Clock,
    ) -> Result<Arc<Engine>, Error> {
        let sync = SyncState::load(&store, secrets.as_ref(), &identity.node_id)?;
        mark_existing_conflicts_seen(&mut store)?;
        let cortex_options = CortexOptions::default();
        let cortex = Cortex::from_config(&config.config.cortex, &cortex_options)?;
        let events = crate::events::EventHub::new();
        let store_generation = Arc::new(std::sync::atomic::AtomicU64::new(store.total_changes()));
        let published = Arc::clone(&store_generation);
        let store = Arc::new(Worker::start_observed(
            "store",
            "mayros-store",
            store,
            move |s: &Store| {
                published.store(s.total_changes(), std::sync::atomic::Ordering::Release)
            },
        )?);
        let keeper = SeedKeeper::new(
            Arc::clone(&secrets),
            sync.groups().clone(),
            Arc::clone(&store),
        );
        let seeds = Worker::start("secret store", "mayros-seeds", keeper)?;
        let engine = Engine {
            store,
            store_generation,
            seeds,
            identity,
            secrets,
            config: RwLock::new(config),
            control: Control::new(events.clone()),
            clock,
            started: Instant::now(),
            sync,
            native: OnceLock::new(),
            cortex: RwLock::new(Arc::new(cortex)),
            cortex_options: RwLock::new(cortex_options),
            events,
            memory: Arc::default(),
            nearby: crate::discovery::nearby::NearbyState::default(),
            flood: crate::flood::Floodgate::new(),
        };
        let engine = Arc::new(engine);
        engine.reevaluate_mode_blocking();
        Ok(engine)
    }

    /// The sync runtime state (group, replay guard, counters, pause).
    pub fn sync_state(&self) -> &SyncState {
        &self.sync
    }

    /// The secret store holding the device key and group seed.
    pub fn secrets(&self) -> &Arc<dyn SecretStore> {
        &self.secrets
    }

    /// The worker that makes every change of the group seeds (see [`SeedKeeper`]).
    pub(crate) fn seed_keeper(&self) -> &Worker<SeedKeeper> {
        &self.seeds
    }

    /// Flood limits of the peer API (invite attempts, failed proofs) per source address.
    pub fn flood(&self) -> &crate::flood::Floodgate {
        &self.flood
    }

    /// The event hub behind `GET /api/v1/sync/events`; anyone may publish.
    pub fn events(&self) -> &crate::events::EventHub {
        &self.events
    }

    /// Counts burst work so freed memory goes back to the system after it.
    pub fn memory(&self) -> &Arc<crate::memory::Trimmer> {
        &self.memory
    }

    /// Nearby devices (mDNS and manual peers).
    pub fn nearby(&self) -> &crate::discovery::nearby::NearbyState {
        &self.nearby
    }

    /// This device's identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The engine's wall clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Seconds since start.
    pub fn uptime_seconds(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// A copy of the config in force.
    pub fn config(&self) -> ConfigState {
        match self.config.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the config in force (already validated); a change of `cortex.*` selects the
    /// backend again.
    pub fn set_config(&self, state: ConfigState) {
        let cortex = state.config.cortex.clone();
        match self.config.write() {
            Ok(mut c) => *c = state,
            Err(poisoned) => *poisoned.into_inner() = state,
        }
        self.select_cortex(&cortex);
        self.native_changed();
    }

    /// The Cortex backend in force.
    pub fn cortex(&self) -> Arc<Cortex> {
        match self.cortex.read() {
            Ok(c) => Arc::clone(&c),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Sets the external backend's tunables (the daemon's; tests shorten them) and rebuilds the
    /// backend when they change.
    pub fn set_cortex_options(&self, opts: CortexOptions) {
        match self.cortex_options.write() {
            Ok(mut o) => *o = opts,
            Err(poisoned) => *poisoned.into_inner() = opts,
        }
        let cortex = self.config().config.cortex;
        self.select_cortex(&cortex);
    }

    fn cortex_options(&self) -> CortexOptions {
        match self.cortex_options.read() {
            Ok(o) => o.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Builds the backend `cfg` selects unless it is the one in force.
    fn select_cortex(&self, cfg: &mayros_sync_proto::config::CortexConfig) {
        let opts = self.cortex_options();
        if self.cortex().matches(cfg, &opts) {
            return;
        }
        match Cortex::from_config(cfg, &opts) {
            Ok(next) => {
                tracing::info!(
                    backend = next.backend(),
                    url = cfg.url.as_deref().unwrap_or("-"),
                    "Cortex backend selected"
                );
                match self.cortex.write() {
                    Ok(mut c) => *c = Arc::new(next),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(next),
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot use the configured Cortex; keeping the previous backend")
            }
        }
    }

    /// Attaches the running native layer (once, at start).
    pub fn set_native(&self, native: Native) {
        let _ = self.native.set(native);
    }

    /// The native layer, while the QUIC endpoint runs.
    pub fn native(&self) -> Option<&Native> {
        self.native.get()
    }

    /// Tells the native layer that the config or the stored peers changed.
    pub fn native_changed(&self) {
        if let Some(n) = self.native.get() {
            n.reconfigure();
        }
    }

    /// Tells the native layer that this device wrote to its store (push at once).
    pub fn notify_local_write(&self) {
        if let Some(n) = self.native.get() {
            n.local_write();
        }
    }

    /// Runs `f` on the store's worker thread; the async caller waits without blocking the
    /// runtime.
    pub async fn with_store<R, E, F>(&self, f: F) -> Result<R, Error>
    where
        R: Send + 'static,
        E: Into<Error> + Send + 'static,
        F: FnOnce(&mut Store) -> Result<R, E> + Send + 'static,
    {
        self.store
            .call_async(move |s| f(s).map_err(Into::into))
            .await
    }

    /// Runs `f` on the store's worker thread and waits for it (for threads that may block,
    /// never the async runtime).
    pub fn store_blocking<R, E, F>(&self, f: F) -> Result<R, Error>
    where
        R: Send + 'static,
        E: Into<Error> + Send + 'static,
        F: FnOnce(&mut Store) -> Result<R, E> + Send + 'static,
    {
        self.store.call(move |s| f(s).map_err(Into::into))
    }

    /// A number that changes whenever a store call wrote something (rows changed so far):
    /// read from memory, so an idle loop can tell "nothing new" without a store call.
    pub fn store_generation(&self) -> u64 {
        self.store_generation
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Health of the Cortex and the number of triples in the local store (blocking). For an
    /// external Cortex this is its last probe (no request is sent from a blocking context).
    pub fn health_blocking(&self) -> (HealthProbe, Option<u64>) {
        match self.cortex().external() {
            None => crate::cortex::embedded::health(&self.store),
            Some(ext) => {
                let health = ext.cached_probe().map_or_else(
                    || HealthProbe::unhealthy(format!("{} not probed yet", ext.url())),
                    |p| p.health,
                );
                (health, self.store_blocking(|s| s.triple_count()).ok())
            }
        }
    }

    /// The P2P probe of DESIGN §3.1: for the embedded Cortex, enabled while our QUIC endpoint
    /// runs; for an external one, the sidecar's last `p2p/status` answer.
    pub fn p2p_probe(&self) -> P2pProbe {
        match self.cortex().external() {
            None => crate::cortex::embedded::p2p_probe(
                self.native.get().is_some(),
                &self.identity.node_id,
            ),
            Some(ext) => ext.cached_probe().map_or_else(
                || P2pProbe::disabled(format!("{} not probed yet", ext.url())),
                |p| p.p2p,
            ),
        }
    }

    /// The control state: mode, pause, counters, running syncs (see [`control`]).
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Pauses scheduled and pushed syncs until `until_ms` (or until resumed); the scheduler
    /// and the gossip driver follow the control state.
    pub fn pause(&self, until_ms: Option<u64>) {
        self.control.apply(Command::Pause { until_ms });
    }

    /// Resumes syncing.
    pub fn resume(&self) {
        self.control.apply(Command::Resume);
    }

    /// Remembers a clock-skew warning for status.
    pub fn set_clock_skew(&self, warning: String) {
        self.control.apply(Command::ClockSkew(warning));
    }

    /// The pause in force now (`None`: running; `Some(None)`: until resumed).
    pub fn pause_state(&self) -> Option<Option<u64>> {
        self.control.pause_at(self.clock.now_ms())
    }

    fn record_decision(&self, decision: ModeDecision) -> Option<ModeChange> {
        let change = self.control.apply(Command::Decide(decision));
        if let Some(c) = &change {
            tracing::info!(from = ?c.from, to = %c.to, reason = %c.reason, "sync mode changed");
        }
        change
    }

    /// Re-runs mode selection from the probes at hand (blocking; an external Cortex's last
    /// probe); returns the change when the mode moved.
    pub fn reevaluate_mode_blocking(&self) -> Option<ModeChange> {
        let (health, _) = self.health_blocking();
        let preferred = self.config().config.sync.native_p2p_preferred;
        let decision = mode::select_mode(&health, &self.p2p_probe(), preferred);
        self.record_decision(decision)
    }

    /// Re-runs mode selection, probing an external Cortex now (health, `p2p/status` and its
    /// version, each with a timeout).
    pub async fn reevaluate_mode(self: &Arc<Self>) -> Option<ModeChange> {
        if let Some(ext) = self.cortex().external().cloned() {
            let probe = ext.probe_live(true).await;
            let preferred = self.config().config.sync.native_p2p_preferred;
            let decision = mode::select_mode(&probe.health, &probe.p2p, preferred);
            return self.record_decision(decision);
        }
        let me = Arc::clone(self);
        tokio::task::spawn_blocking(move || me.reevaluate_mode_blocking())
            .await
            .ok()
            .flatten()
    }

    /// The current mode decision.
    pub fn mode(&self) -> ModeDecision {
        self.control.mode()
    }

    /// The success and failure counters of sync attempts, for status and `metrics` events.
    pub fn sync_counters(&self) -> SyncCounters {
        counters_view(self.control.snapshot().counters())
    }

    /// The user looked at the conflicts (window or tray): those logged so far are no longer new.
    pub async fn mark_conflicts_seen(&self) -> Result<u64, Error> {
        self.with_store(|s| {
            let count = s.conflict_count()?;
            s.set_counter(CONFLICTS_SEEN_COUNTER, count)?;
            Ok::<_, mayros_sync_store::Error>(count)
        })
        .await
    }

    /// Builds the status snapshot.
    pub async fn status(self: &Arc<Self>, api_url: Option<String>) -> StatusSnapshot {
        let control = self.control.snapshot();
        let decision = control.mode();
        let (cortex, triple_count) = self.cortex_status(api_url, &decision).await;
        let cfg = self.config();
        let facts = self
            .with_store(|s| {
                Ok::<_, mayros_sync_store::Error>((
                    s.peers()?,
                    s.conflict_count()?,
                    s.counter(AUTH_REJECTED_COUNTER)?,
                    s.review_count()?,
                    s.counter(CONFLICTS_SEEN_COUNTER)?,
                ))
            })
            .await;
        let mut warnings: Vec<String> = cfg.warnings.iter().map(|w| w.to_string()).collect();
        let (peers, conflicts_count, auth_rejected, review_count, conflicts_seen) = facts
            .unwrap_or_else(|e| {
                warnings.push(format!(
                    "cannot read peers and counters from the store: {e}"
                ));
                Default::default()
            });
        let pause = control.pause_at(self.clock.now_ms());
        if let Some(skew) = control.clock_skew() {
            warnings.push(skew.to_string());
        }
        for p in peers
            .iter()
            .filter(|p| p.stale && p.status != PeerStatus::Removed)
        {
            let name = mayros_sync_proto::node_id::display_name(&p.name, &p.node_id);
            warnings.push(format!(
                "peer {name} is stale: it missed deletions collected after sync.tombstoneMaxRetentionDays; the next sync with it is a full comparison and its old unknown items are held for review"
            ));
        }
        warnings.extend(cortex_warnings(&cortex));
        if review_count > 0 {
            warnings.push(format!(
                "{review_count} item(s) held for review (mayros sync review): accept or discard them"
            ));
        }
        if auth_rejected > 0 {
            warnings.push(format!(
                "{auth_rejected} peer request(s) refused by authentication (unknown node, wrong seed, replay or stale timestamp)"
            ));
        }
        if let Some(w) = &self.identity.secret_store_warning {
            warnings.push(w.clone());
        }
        let native = self.native.get().map(|n| n.status());
        let peers = peer_views(
            &peers,
            decision.mode,
            pause.is_some(),
            native.as_ref().map(|n| n.peers.as_slice()),
        );
        let unseen_conflicts = conflicts_count.saturating_sub(conflicts_seen);
        let summary = syncstate::summarize(&syncstate::SummaryFacts {
            mode: decision.mode,
            mode_reason: decision.reason.clone(),
            paused: pause.is_some(),
            review_count,
            unseen_conflicts,
            sync_running: control.sync_running(),
            peers: peers
                .iter()
                .filter(|(_, s)| *s != syncstate::PeerSyncState::Removed)
                .map(|(v, s)| syncstate::SummaryPeer {
                    name: mayros_sync_proto::node_id::display_name(&v.name, &v.node_id).to_string(),
                    state: *s,
                    failures: v.failures,
                    reason: v.state_reason.clone(),
                    to_receive: v.to_receive,
                    to_send: v.to_send,
                })
                .collect(),
        });
        StatusSnapshot {
            state: summary.state,
            summary,
            mode: decision.mode.as_str().to_string(),
            mode_reason: decision.reason,
            node_id: self.identity.node_id.clone(),
            name: self.identity.name.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_seconds: self.uptime_seconds(),
            cortex,
            secret_store: self.identity.secret_store.as_str().to_string(),
            peers: peers.into_iter().map(|(v, _)| v).collect(),
            gossip: native,
            sync: counters_view(control.counters()),
            nearby_count: self.nearby.count() as u64,
            conflicts_count,
            unseen_conflicts,
            review_count,
            triple_count: triple_count.unwrap_or(0),
            paused: pause.is_some(),
            paused_until: pause
                .flatten()
                .map(mayros_sync_proto::timefmt::format_rfc3339_ms),
            auth_rejected,
            peer_api: control.peer_api().map(|a| a.to_string()),
            config_path: cfg.path.display().to_string(),
            warnings,
        }
    }
}

impl Engine {
    /// The `cortex` part of status and the local triple count.
    async fn cortex_status(
        self: &Arc<Self>,
        api_url: Option<String>,
        decision: &ModeDecision,
    ) -> (CortexStatus, Option<u64>) {
        let cortex = self.cortex();
        let Some(ext) = cortex.external().cloned() else {
            let me = Arc::clone(self);
            let (health, count) = tokio::task::spawn_blocking(move || me.health_blocking())
                .await
                .unwrap_or_else(|e| (HealthProbe::unhealthy(e.to_string()), None));
            let (healthy, message) = match &health {
                HealthProbe::Healthy => (true, format!("{} triples", count.unwrap_or(0))),
                HealthProbe::Unhealthy { reason } => (false, reason.clone()),
            };
            return (
                CortexStatus::embedded(
                    api_url,
                    healthy,
                    message,
                    Some(env!("CARGO_PKG_VERSION").to_string()),
                ),
                count,
            );
        };
        let probe = ext.probe_for_status().await;
        let count = self.with_store(|s| s.triple_count()).await.ok();
        let limits = ext.rate_limit();
        let (healthy, message) = match &probe.health {
            HealthProbe::Healthy => (true, probe.message.clone()),
            HealthProbe::Unhealthy { reason } => (false, reason.clone()),
        };
        let p2p_reason = match &probe.p2p {
            P2pProbe::Enabled { .. } => None,
            P2pProbe::Disabled { reason } => Some(reason.clone()),
        };
        (
            CortexStatus {
                backend: cortex.backend().into(),
                url: Some(ext.url().to_string()),
                healthy,
                message,
                version: probe.version.clone(),
                rate_limited: limits.rate_limited,
                rate_limited_count: limits.rate_limited_count,
                rate_limit_remaining: limits.remaining,
                requests: limits.requests,
                p2p: probe.p2p_status.clone(),
                p2p_reason,
                mirror: Some(ext.mirror.view()),
                synced_by: Some(synced_by(decision.mode, probe.p2p_status.is_some())),
            },
            count,
        )
    }
}

/// The counters as status and `metrics` events show them.
fn counters_view(counters: &control::Counters) -> SyncCounters {
    SyncCounters {
        total_successful_syncs: counters.successful,
        total_failed_syncs: counters.failed,
        last_sync_at: counters
            .last_sync_at_ms
            .map(mayros_sync_proto::timefmt::format_rfc3339_ms),
    }
}

/// Who carries the sync of an external Cortex, in words (DESIGN §3.3): this engine, over its
/// mirror of the sidecar, in every mode; the sidecar's own P2P (`sidecar_p2p`) never syncs.
fn synced_by(mode: mode::SyncMode, sidecar_p2p: bool) -> String {
    let how = match mode {
        mode::SyncMode::Native => "Mayros Sync carries the sync: its QUIC gossip over this engine's mirror of the sidecar",
        mode::SyncMode::Polled => "Mayros Sync carries the sync: REST delta pulls over this engine's mirror of the sidecar",
        mode::SyncMode::None => "Mayros Sync carries the sync over this engine's mirror of the sidecar (no sync now)",
    };
    if sidecar_p2p {
        format!("{how}; the sidecar's own P2P is on (Mayros's probe sees it) but does not sync")
    } else {
        how.to_string()
    }
}

/// Status warnings about an external Cortex.
fn cortex_warnings(c: &CortexStatus) -> Vec<String> {
    let mut out = Vec::new();
    if c.backend != "external" {
        return out;
    }
    let url = c.url.as_deref().unwrap_or("?");
    if c.rate_limited {
        out.push(format!(
            "rate-limited by Cortex at {url}: {} request(s) answered 429 so far; requests wait for its Retry-After and no write is dropped",
            c.rate_limited_count
        ));
    }
    if let Some(reason) = c
        .p2p_reason
        .as_deref()
        .filter(|r| r.contains("no answer within"))
    {
        out.push(format!(
            "the external Cortex's p2p/status timed out ({reason}); its P2P layer may be stalled"
        ));
    }
    if let Some(e) = c.mirror.as_ref().and_then(|m| m.last_error.as_deref()) {
        out.push(format!("external Cortex mirror: {e}"));
    }
    out
}

/// The status view of every stored peer, with its state computed from the stored record, the
/// mode, pause and native mode's link figures.
fn peer_views(
    records: &[mayros_sync_store::PeerRecord],
    mode: mode::SyncMode,
    paused: bool,
    links: Option<&[crate::native::status::NativePeer]>,
) -> Vec<(crate::dto::PeerView, syncstate::PeerSyncState)> {
    records
        .iter()
        .map(|p| {
            let mut v = crate::dto::PeerView::from(p);
            let link = links.and_then(|ls| ls.iter().find(|l| l.node_id == p.node_id));
            if let Some(l) = link {
                v.to_receive = l.to_receive;
                v.to_send = l.queued_changes as u64;
            }
            let facts = syncstate::PeerFacts {
                mode,
                engine_paused: paused,
                status: p.status,
                last_ok: p
                    .last_result
                    .map(|r| r == mayros_sync_store::SyncResult::Ok),
                last_error: p.last_error.clone(),
                link: links.map(|_| syncstate::LinkFacts {
                    connected: link.is_some_and(|l| l.connected),
                    failing: link.and_then(|l| l.failing.clone()),
                    link_error: link.and_then(|l| l.link_error.clone()),
                    to_receive: v.to_receive,
                    to_send: v.to_send,
                    synced_since_up: link.is_some_and(|l| l.proven_in_sync),
                }),
            };
            let state = syncstate::peer_sync_state(&facts);
            v.state = state.state.as_str().to_string();
            v.state_reason = state.reason;
            (v, state.state)
        })
        .collect()
}

/// On a store that never recorded which conflicts the user saw (a new store, or one from before
/// the engine tracked it), the conflicts already logged are not news.
fn mark_existing_conflicts_seen(store: &mut Store) -> Result<(), Error> {
    let seen_recorded = store
        .counters()?
        .iter()
        .any(|(name, _)| name == CONFLICTS_SEEN_COUNTER);
    if !seen_recorded {
        let count = store.conflict_count()?;
        store.set_counter(CONFLICTS_SEEN_COUNTER, count)?;
    }
    Ok(())
}
