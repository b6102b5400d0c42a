//! The sync group of this device: the group seeds and the signed roster (DESIGN §4, §7).
//!
//! Secret-store calls (D-Bus to the keyring, which may take seconds) never run while the group
//! or the store lock is held: [`Engine::ensure_group_seed`] and [`Engine::update_group_seeds`]
//! build the new seeds under the group lock, store them holding only the seed writers' lock
//! (which nothing else waits on), then set them.

use mayros_sync_proto::membership::seeds::SeedRing;
use mayros_sync_proto::roster::{Roster, RosterAction, RosterEntry};
use mayros_sync_proto::seedproof::GroupSeed;
use mayros_sync_store::{DeviceIdentity, SecretStore, Store};

use super::GROUP_SEED_SECRET;
use crate::engine::Engine;
use crate::error::Error;

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

impl Engine {
    /// The group seed, created and stored first when this device has none (DESIGN §7.2: the
    /// seed is created lazily, when a device without a group first pairs).
    pub fn ensure_group_seed(&self) -> Result<GroupSeed, Error> {
        let _writer = crate::sync::lock(&self.sync_state().seed_writer);
        if let Some(seed) = self.sync_state().group().seed().cloned() {
            return Ok(seed);
        }
        let seed = GroupSeed(rand::random());
        let ring = SeedRing::with(seed.clone());
        store_seeds(&ring, self.secrets().as_ref())?;
        self.sync_state().group().seeds = ring;
        tracing::info!("created a new sync group");
        Ok(seed)
    }

    /// Replaces the group seeds by what `next` makes of the group (`None`: no change): stored
    /// first, then set. Returns whether they changed.
    pub fn update_group_seeds(
        &self,
        next: impl FnOnce(&Group) -> Option<SeedRing>,
    ) -> Result<bool, Error> {
        let _writer = crate::sync::lock(&self.sync_state().seed_writer);
        let ring = {
            let group = self.sync_state().group();
            next(&group).filter(|r| *r != group.seeds)
        };
        let Some(ring) = ring else {
            return Ok(false);
        };
        store_seeds(&ring, self.secrets().as_ref())?;
        self.sync_state().group().seeds = ring;
        Ok(true)
    }

    /// Joins the group of `seed` (received by pairing).
    pub fn join_group_seed(&self, seed: GroupSeed) -> Result<(), Error> {
        self.update_group_seeds(|g| {
            let mut ring = g.seeds.clone();
            ring.join(seed);
            Some(ring)
        })
        .map(|_| ())
    }
}
