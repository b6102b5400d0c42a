//! The engine's calls on its group: snapshots, and changes of the seeds, which the seed
//! keeper's thread makes (see [`super::group::SeedKeeper`]).

use std::sync::Arc;

use mayros_sync_proto::membership::seeds::SeedRing;
use mayros_sync_proto::seedproof::GroupSeed;

use super::group::Group;
use crate::engine::Engine;
use crate::error::Error;

/// The ring `seed` joins `group`'s seeds into (pairing).
fn joined(group: &Group, seed: GroupSeed) -> SeedRing {
    let mut ring = group.seeds.clone();
    ring.join(seed);
    ring
}

impl Engine {
    /// The group now (seeds and roster), as a snapshot.
    pub fn group(&self) -> Arc<Group> {
        self.sync_state().groups().get()
    }

    /// The group seed, created and stored first when this device has none (DESIGN §7.2: the
    /// seed is created lazily, when a device without a group first pairs).
    pub async fn ensure_group_seed(&self) -> Result<GroupSeed, Error> {
        self.seed_keeper().call_async(|k| k.ensure()).await
    }

    /// Replaces the group seeds by what `next` makes of the group (`None`: no change): stored
    /// first, then set. Returns whether they changed.
    pub async fn update_group_seeds(
        &self,
        next: impl FnOnce(&Group) -> Option<SeedRing> + Send + 'static,
    ) -> Result<bool, Error> {
        self.seed_keeper().call_async(move |k| k.update(next)).await
    }

    /// [`Engine::update_group_seeds`] for a thread that may block (the gossip driver's).
    pub fn update_group_seeds_blocking(
        &self,
        next: impl FnOnce(&Group) -> Option<SeedRing> + Send + 'static,
    ) -> Result<bool, Error> {
        self.seed_keeper().call(move |k| k.update(next))
    }

    /// Joins the group of `seed` (received by pairing).
    pub async fn join_group_seed(&self, seed: GroupSeed) -> Result<(), Error> {
        self.update_group_seeds(move |g| Some(joined(g, seed)))
            .await
            .map(|_| ())
    }
}
