//! The sync group of this device: the group seeds and the signed roster (DESIGN §4, §7).
//!
//! Secret-store calls (D-Bus to the keyring) are made by the `*_seeds` functions on a ring the
//! caller built, never while the group lock is held: callers build the new ring under the lock,
//! store it, then set it.

use mayros_sync_proto::membership::seeds::SeedRing;
use mayros_sync_proto::roster::{Roster, RosterAction, RosterEntry};
use mayros_sync_proto::seedproof::GroupSeed;
use mayros_sync_store::{DeviceIdentity, SecretStore, Store};

use super::GROUP_SEED_SECRET;
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

    /// Creates the group seed lazily, when a device without a group first pairs (DESIGN §7.2).
    pub fn ensure_seed(&mut self, secrets: &dyn SecretStore) -> Result<GroupSeed, Error> {
        if let Some(seed) = self.seeds.current() {
            return Ok(seed.clone());
        }
        let seed = GroupSeed(rand::random());
        let ring = SeedRing::with(seed.clone());
        store_seeds(&ring, secrets)?;
        self.seeds = ring;
        tracing::info!("created a new sync group");
        Ok(seed)
    }

    /// Adopts the seed of the group we join.
    pub fn adopt_seed(&mut self, seed: GroupSeed, secrets: &dyn SecretStore) -> Result<(), Error> {
        let mut ring = self.seeds.clone();
        ring.join(seed);
        store_seeds(&ring, secrets)?;
        self.seeds = ring;
        Ok(())
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
