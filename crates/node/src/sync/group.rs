//! The sync group of this device: the group seeds and the signed roster (DESIGN §4, §7).
//!
//! One live copy, in a [`GroupCell`]: readers take a snapshot (an `Arc`, no lock held while
//! they use it), and every change runs on the store's worker thread, inside a store call, so
//! changes are serialized by that thread and persisted in the same step. Subscribers (the
//! gossip driver) wake on each change.
//!
//! Secret-store calls (D-Bus to the keyring, which may take seconds) never run inside a store
//! call and never under a lock: the [`SeedKeeper`] makes every change of the seeds on its own
//! worker thread (compute from the live group, write to the secret store, then set).

use std::sync::Arc;

use mayros_sync_proto::membership::seeds::SeedRing;
use mayros_sync_proto::roster::{Roster, RosterAction, RosterEntry};
use mayros_sync_proto::seedproof::GroupSeed;
use mayros_sync_store::{DeviceIdentity, SecretStore, Store};

use crate::engine::worker::StoreWorker;
use crate::error::Error;

/// Secret name of the group seed.
pub const GROUP_SEED_SECRET: &str = "group-seed";

/// Seeds and roster, loaded at start and persisted on every change.
#[derive(Debug, Clone)]
pub struct Group {
    /// The current group seed (once this device created or received one) and replaced ones.
    pub seeds: SeedRing,
    /// Who is in the group.
    pub roster: Roster,
}

impl Group {
    /// Loads the seed from the secret store and the roster from the store.
    pub fn load(
        store: &Store,
        secrets: &dyn SecretStore,
        own_node_id: &str,
    ) -> Result<Group, Error> {
        let seeds = match secrets
            .get(GROUP_SEED_SECRET)
            .map_err(|e| Error::secret_store(secrets, e))?
        {
            None => SeedRing::default(),
            Some(bytes) => SeedRing::decode(&bytes)
                .map_err(|e| Error::Secret(format!("{e}; refusing to guess")))?,
        };
        let mut roster = Roster::new(own_node_id);
        let (_, errors) = roster.merge(store.roster_entries()?);
        for e in errors {
            tracing::warn!(error = %e, "ignoring an invalid stored roster entry");
        }
        Ok(Group { seeds, roster })
    }

    /// The current group seed.
    pub fn seed(&self) -> Option<&GroupSeed> {
        self.seeds.current()
    }

    /// Whether this device belongs to a group.
    pub fn in_group(&self) -> bool {
        self.seeds.current().is_some() && self.roster.in_group()
    }

    /// Whether a trusted member removed this device from the roster.
    pub fn removed_self(&self, own_node_id: &str) -> bool {
        self.roster.removed().contains(own_node_id)
    }

    /// Signs the removal of `node_id` into the roster and persists it.
    pub fn remove_member(
        &mut self,
        node_id: &str,
        device: &DeviceIdentity,
        at_ms: u64,
        store: &mut Store,
    ) -> Result<RosterEntry, Error> {
        self.sign_into(node_id, RosterAction::Remove, device, at_ms, store)
    }

    /// Signs `node_id` into the roster and persists it; returns the entry.
    pub fn add_member(
        &mut self,
        node_id: &str,
        device: &DeviceIdentity,
        at_ms: u64,
        store: &mut Store,
    ) -> Result<RosterEntry, Error> {
        self.sign_into(node_id, RosterAction::Add, device, at_ms, store)
    }

    fn sign_into(
        &mut self,
        node_id: &str,
        action: RosterAction,
        device: &DeviceIdentity,
        at_ms: u64,
        store: &mut Store,
    ) -> Result<RosterEntry, Error> {
        let entry = RosterEntry::sign(node_id, action, at_ms, device.signing_key());
        self.merge(vec![entry.clone()], store)?;
        Ok(entry)
    }

    /// Merges entries received from a member; persists the valid new ones.
    pub fn merge(&mut self, entries: Vec<RosterEntry>, store: &mut Store) -> Result<usize, Error> {
        let (added, errors) = self.roster.merge(entries);
        for e in errors {
            tracing::warn!(error = %e, "rejected a roster entry");
        }
        if !added.is_empty() {
            store.save_roster_entries(&added)?;
        }
        Ok(added.len())
    }
}

/// The one live group: snapshots for readers, changes inside store calls.
#[derive(Debug, Clone)]
pub struct GroupCell {
    tx: Arc<tokio::sync::watch::Sender<Arc<Group>>>,
}

impl GroupCell {
    /// A cell holding `group`.
    pub fn new(group: Group) -> GroupCell {
        GroupCell {
            tx: Arc::new(tokio::sync::watch::Sender::new(Arc::new(group))),
        }
    }

    /// The group now; later changes do not alter the snapshot.
    pub fn get(&self) -> Arc<Group> {
        Arc::clone(&self.tx.borrow())
    }

    /// A receiver that wakes on every change.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<Arc<Group>> {
        self.tx.subscribe()
    }

    /// Changes the group with `f`, which may persist through `store`; all or nothing: when `f`
    /// fails, the live group stays as it was. Taking the store proves the call runs on the
    /// store's worker thread, which serializes every change.
    pub fn update<R>(
        &self,
        store: &mut Store,
        f: impl FnOnce(&mut Group, &mut Store) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let mut next = Group::clone(&self.get());
        let out = f(&mut next, store)?;
        self.tx.send_replace(Arc::new(next));
        Ok(out)
    }
}

/// Writes `ring` to the secret store (deletes the entry when it holds no seed). Call it without
/// the group lock held.
pub fn store_seeds(ring: &SeedRing, secrets: &dyn SecretStore) -> Result<(), Error> {
    let result = if ring.current().is_some() {
        secrets.put(GROUP_SEED_SECRET, &ring.encode())
    } else {
        secrets.delete(GROUP_SEED_SECRET)
    };
    result.map_err(|e| Error::secret_store(secrets, e))
}

/// Owns the seed writes: on its worker thread, each change of the group seeds is computed
/// from the live group, written to the secret store, then set in the live group, one change
/// at a time, so the secret store and the live group never disagree on the order of two
/// changes. No lock is held across the secret-store call, and no runtime thread waits on it.
pub struct SeedKeeper {
    secrets: Arc<dyn SecretStore>,
    groups: GroupCell,
    store: Arc<StoreWorker>,
}

impl SeedKeeper {
    /// A keeper writing to `secrets` and setting the seeds of `groups` through `store`.
    pub fn new(secrets: Arc<dyn SecretStore>, groups: GroupCell, store: Arc<StoreWorker>) -> Self {
        SeedKeeper {
            secrets,
            groups,
            store,
        }
    }

    /// Replaces the seeds by what `next` makes of the live group (`None`: no change): stored
    /// first, then set. Answers whether they changed.
    pub fn update(&mut self, next: impl FnOnce(&Group) -> Option<SeedRing>) -> Result<bool, Error> {
        let group = self.groups.get();
        let Some(ring) = next(&group).filter(|r| *r != group.seeds) else {
            return Ok(false);
        };
        store_seeds(&ring, self.secrets.as_ref())?;
        let cell = self.groups.clone();
        self.store.call(move |s| {
            cell.update(s, |g, _| {
                g.seeds = ring;
                Ok(())
            })
        })?;
        Ok(true)
    }

    /// The current seed, created and stored first when there is none.
    pub fn ensure(&mut self) -> Result<GroupSeed, Error> {
        let created = GroupSeed(rand::random());
        let fresh = created.clone();
        if self.update(move |g| g.seed().is_none().then(|| SeedRing::with(fresh)))? {
            tracing::info!("created a new sync group");
        }
        self.groups
            .get()
            .seed()
            .cloned()
            .ok_or_else(|| Error::Task("the group seed vanished as it was created".into()))
    }
}

impl std::fmt::Debug for SeedKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedKeeper")
            .field("secrets", &self.secrets.kind())
            .finish_non_exhaustive()
    }
}
