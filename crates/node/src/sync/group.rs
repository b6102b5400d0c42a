//! The sync group of this device: the 32-byte group seed and the signed roster (DESIGN §4, §7).

use mayros_sync_proto::roster::{Roster, RosterAction, RosterEntry};
use mayros_sync_proto::seedproof::GroupSeed;
use mayros_sync_store::{DeviceIdentity, SecretStore, Store};

use super::GROUP_SEED_SECRET;
use crate::error::Error;

/// Seed and roster, loaded at start and persisted on every change.
#[derive(Debug, Clone)]
pub struct Group {
    /// The group seed, once this device created or received one.
    pub seed: Option<GroupSeed>,
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
        let seed = match secrets
            .get(GROUP_SEED_SECRET)
            .map_err(|e| Error::secret_store(secrets, e))?
        {
            None => None,
            Some(bytes) => {
                let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                    Error::Secret(format!(
                        "the stored group seed has {} bytes, expected 32; refusing to guess",
                        bytes.len()
                    ))
                })?;
                Some(GroupSeed(arr))
            }
        };
        let mut roster = Roster::new(own_node_id);
        let (_, errors) = roster.merge(store.roster_entries()?);
        for e in errors {
            tracing::warn!(error = %e, "ignoring an invalid stored roster entry");
        }
        Ok(Group { seed, roster })
    }

    /// Whether this device belongs to a group.
    pub fn in_group(&self) -> bool {
        self.seed.is_some() && self.roster.in_group()
    }

    /// Creates the group seed lazily, when a device without a group first pairs (DESIGN §7.2).
    pub fn ensure_seed(&mut self, secrets: &dyn SecretStore) -> Result<GroupSeed, Error> {
        if let Some(seed) = &self.seed {
            return Ok(seed.clone());
        }
        let seed = GroupSeed(rand::random());
        secrets
            .put(GROUP_SEED_SECRET, &seed.0)
            .map_err(|e| Error::secret_store(secrets, e))?;
        self.seed = Some(seed.clone());
        tracing::info!("created a new sync group");
        Ok(seed)
    }

    /// Adopts the seed of the group we join.
    pub fn adopt_seed(&mut self, seed: GroupSeed, secrets: &dyn SecretStore) -> Result<(), Error> {
        secrets
            .put(GROUP_SEED_SECRET, &seed.0)
            .map_err(|e| Error::secret_store(secrets, e))?;
        self.seed = Some(seed);
        Ok(())
    }

    /// Forgets the group seed (this device was removed from its group).
    pub fn leave(&mut self, secrets: &dyn SecretStore) -> Result<(), Error> {
        secrets
            .delete(GROUP_SEED_SECRET)
            .map_err(|e| Error::secret_store(secrets, e))?;
        self.seed = None;
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
