//! The sync state the engine holds beside its control state: the live group, the peer API's
//! replay guard, the per-peer pull locks and the click-to-pair sessions; and the names of the
//! store counters sync keeps.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use mayros_sync_proto::seedproof::ReplayGuard;
use mayros_sync_store::{SecretStore, Store};

use super::clickpair_state::ClickPairs;
use super::group::{Group, GroupCell};
use crate::error::Error;
use crate::locks::lock;

/// Store counter of refused peer requests.
pub const AUTH_REJECTED_COUNTER: &str = "auth_rejected";
/// Store counter: how many conflicts were logged when the user last looked at them.
pub const CONFLICTS_SEEN_COUNTER: &str = "conflicts_seen";

/// Sync state kept beside the engine's control state: the group, the peer API's replay guard,
/// the per-peer pull locks and the click-to-pair sessions.
#[derive(Debug)]
pub struct SyncState {
    groups: GroupCell,
    replay: Mutex<ReplayGuard>,
    pull_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Click-to-pair sessions and requests.
    pub(crate) clickpairs: ClickPairs,
}

impl SyncState {
    /// Loads the group seed and roster of this device.
    pub fn load(
        store: &Store,
        secrets: &dyn SecretStore,
        own_node_id: &str,
    ) -> Result<SyncState, Error> {
        Ok(SyncState {
            groups: GroupCell::new(Group::load(store, secrets, own_node_id)?),
            replay: Mutex::new(ReplayGuard::new()),
            pull_locks: Mutex::new(HashMap::new()),
            clickpairs: ClickPairs::default(),
        })
    }

    /// The live group (seeds and roster): snapshots, changes and change notifications.
    pub fn groups(&self) -> &GroupCell {
        &self.groups
    }

    /// The nonce cache of the peer API.
    pub fn replay(&self) -> MutexGuard<'_, ReplayGuard> {
        lock(&self.replay)
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
