//! Polled sync (DESIGN §5, §7): the group (seed and roster), the peer HTTPS API, pairing by
//! invite, pulling deltas from peers, the PeerManager and the scheduler; tombstone collection
//! and the review queue (DESIGN §2.3).
//!
//! Decisions are made by `mayros-sync-proto` (authentication, conflicts, backoff) and
//! `mayros-sync-store` (apply rules); this module moves requests and timers.

pub mod clickpair;
pub mod group;
pub mod pairing;
pub mod peer_api;
pub mod peers;
pub mod pull;
pub mod retention;
pub mod scheduler;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use mayros_sync_proto::seedproof::ReplayGuard;
use mayros_sync_store::{SecretStore, Store};

use crate::error::Error;
pub use group::Group;

/// Secret name of the group seed.
pub const GROUP_SEED_SECRET: &str = "group-seed";
/// Store counter of refused peer requests.
pub const AUTH_REJECTED_COUNTER: &str = "auth_rejected";
/// Store counter: how many conflicts were logged when the user last looked at them.
pub const CONFLICTS_SEEN_COUNTER: &str = "conflicts_seen";

/// Locks a std mutex, recovering the data if a panic poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Success and failure counters since start.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Syncs that completed.
    pub successful: u64,
    /// Syncs that failed.
    pub failed: u64,
    /// When the last sync finished (unix ms).
    pub last_sync_at_ms: Option<u64>,
}

/// Runtime state of sync, owned by the engine.
#[derive(Debug)]
pub struct SyncState {
    group: Mutex<Group>,
    replay: Mutex<ReplayGuard>,
    counters: Mutex<Counters>,
    paused_until: Mutex<Option<Option<u64>>>,
    peer_api: Mutex<Option<SocketAddr>>,
    clock_skew: Mutex<Option<String>>,
    pull_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// `sync now` calls running.
    running: Arc<std::sync::atomic::AtomicU64>,
    /// Serializes writers of the group seeds across their secret-store call (see `group`).
    pub(crate) seed_writer: Mutex<()>,
    /// Click-to-pair sessions and requests.
    pub(crate) clickpairs: clickpair::ClickPairs,
}

/// Marks a `sync now` as running until dropped.
#[derive(Debug)]
pub struct RunningSync(Arc<std::sync::atomic::AtomicU64>);

impl Drop for RunningSync {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl SyncState {
    /// Loads the group seed and roster of this device.
    pub fn load(
        store: &Store,
        secrets: &dyn SecretStore,
        own_node_id: &str,
    ) -> Result<SyncState, Error> {
        Ok(SyncState {
            group: Mutex::new(Group::load(store, secrets, own_node_id)?),
            replay: Mutex::new(ReplayGuard::new()),
            counters: Mutex::new(Counters::default()),
            paused_until: Mutex::new(None),
            peer_api: Mutex::new(None),
            clock_skew: Mutex::new(None),
            pull_locks: Mutex::new(HashMap::new()),
            running: Arc::default(),
            seed_writer: Mutex::new(()),
            clickpairs: clickpair::ClickPairs::default(),
        })
    }

    /// Marks a `sync now` as running (status: syncing) until the guard is dropped.
    pub fn sync_started(&self) -> RunningSync {
        self.running
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        RunningSync(Arc::clone(&self.running))
    }

    /// Whether a `sync now` is running.
    pub fn sync_running(&self) -> bool {
        self.running.load(std::sync::atomic::Ordering::SeqCst) > 0
    }

    /// The group (seed and roster).
    pub fn group(&self) -> MutexGuard<'_, Group> {
        lock(&self.group)
    }

    /// The nonce cache of the peer API.
    pub fn replay(&self) -> MutexGuard<'_, ReplayGuard> {
        lock(&self.replay)
    }

    /// A copy of the counters.
    pub fn counters(&self) -> Counters {
        lock(&self.counters).clone()
    }

    /// Records the end of one sync attempt.
    pub fn record(&self, ok: bool, at_ms: u64) {
        let mut c = lock(&self.counters);
        if ok {
            c.successful += 1;
        } else {
            c.failed += 1;
        }
        c.last_sync_at_ms = Some(at_ms);
    }

    /// `None`: running; `Some(None)`: paused until resumed; `Some(Some(t))`: paused until t.
    pub fn pause_state(&self, now_ms: u64) -> Option<Option<u64>> {
        let mut p = lock(&self.paused_until);
        if let Some(Some(until)) = *p {
            if until <= now_ms {
                *p = None;
            }
        }
        *p
    }

    /// Pauses scheduled and hook-triggered syncs (`None` = until resumed).
    pub fn pause(&self, until_ms: Option<u64>) {
        *lock(&self.paused_until) = Some(until_ms);
    }

    /// Resumes syncing.
    pub fn resume(&self) {
        *lock(&self.paused_until) = None;
    }

    /// The bound peer API address, once it listens.
    pub fn peer_api(&self) -> Option<SocketAddr> {
        *lock(&self.peer_api)
    }

    /// Records the bound peer API address.
    pub fn set_peer_api(&self, addr: SocketAddr) {
        *lock(&self.peer_api) = Some(addr);
    }

    /// The last clock-skew warning, if any.
    pub fn clock_skew(&self) -> Option<String> {
        lock(&self.clock_skew).clone()
    }

    /// Remembers a clock-skew warning for status.
    pub fn set_clock_skew(&self, warning: String) {
        *lock(&self.clock_skew) = Some(warning);
    }

    /// The per-peer lock that keeps two pulls from one peer from overlapping.
    pub fn pull_lock(&self, node_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(
            lock(&self.pull_locks)
                .entry(node_id.to_string())
                .or_default(),
        )
    }
}
