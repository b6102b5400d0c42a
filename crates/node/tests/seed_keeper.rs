//! The group seeds' one writer: a slow keyring write holds up no reader of the engine's state,
//! and concurrent changes leave the keyring and the live group agreeing.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use mayros_sync_node::engine::Engine;
use mayros_sync_node::sync::GROUP_SEED_SECRET;
use mayros_sync_proto::membership::seeds::SeedRing;
use mayros_sync_proto::seedproof::GroupSeed;
use mayros_sync_store::{DeviceIdentity, MemorySecretStore, SecretStore, SecretStoreKind};

/// A keyring whose seed writes wait at a gate the test opens (a D-Bus call that hangs), and
/// count how many ran.
struct GatedKeyring {
    inner: MemorySecretStore,
    open: Mutex<bool>,
    opened: Condvar,
    seed_writes: AtomicU64,
}

impl GatedKeyring {
    fn new(open: bool) -> GatedKeyring {
        GatedKeyring {
            inner: MemorySecretStore::new(),
            open: Mutex::new(open),
            opened: Condvar::new(),
            seed_writes: AtomicU64::new(0),
        }
    }

    fn open_gate(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

impl SecretStore for GatedKeyring {
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, mayros_sync_store::Error> {
        self.inner.get(name)
    }
    fn put(&self, name: &str, value: &[u8]) -> Result<(), mayros_sync_store::Error> {
        if name == GROUP_SEED_SECRET {
            let mut open = self.open.lock().unwrap();
            while !*open {
                open = self.opened.wait(open).unwrap();
            }
            self.seed_writes.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.put(name, value)
    }
    fn delete(&self, name: &str) -> Result<(), mayros_sync_store::Error> {
        self.inner.delete(name)
    }
    fn kind(&self) -> SecretStoreKind {
        SecretStoreKind::Keyring
    }
}

fn engine(keyring: Arc<GatedKeyring>) -> (Arc<Engine>, tempfile::TempDir) {
    let device = DeviceIdentity::load_or_create(&keyring.inner).unwrap();
    common::engine_with(keyring, device, "gated")
}

/// The seed ring the keyring holds.
fn stored_ring(keyring: &GatedKeyring) -> SeedRing {
    SeedRing::decode(&keyring.get(GROUP_SEED_SECRET).unwrap().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_keyring_write_holds_up_no_reader_of_the_engine() {
    let keyring = Arc::new(GatedKeyring::new(false));
    let (engine, _dir) = engine(Arc::clone(&keyring));
    let creating = tokio::spawn({
        let engine = Arc::clone(&engine);
        async move { engine.ensure_group_seed().await }
    });
    // While the seed write hangs, the group, the status and the store all answer.
    let answered = tokio::time::timeout(Duration::from_secs(10), async {
        assert!(
            engine.group().seed().is_none(),
            "no seed before it is stored"
        );
        let status = engine.status(None).await;
        assert_eq!(status.node_id, engine.identity().node_id);
        engine.with_store(|s| s.triple_count()).await.unwrap()
    })
    .await;
    assert_eq!(
        answered.ok(),
        Some(0),
        "readers must not wait on the keyring"
    );
    assert!(
        !creating.is_finished(),
        "the seed write is still held at the gate"
    );
    keyring.open_gate();
    let seed = creating.await.unwrap().unwrap();
    assert_eq!(engine.group().seed(), Some(&seed));
    assert_eq!(stored_ring(&keyring).current(), Some(&seed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_seed_changes_leave_the_keyring_and_the_live_group_agreeing() {
    let keyring = Arc::new(GatedKeyring::new(true));
    let (engine, _dir) = engine(Arc::clone(&keyring));
    let first = engine.ensure_group_seed().await.unwrap();
    let mut changes = Vec::new();
    for i in 0..24u8 {
        let engine = Arc::clone(&engine);
        changes.push(tokio::spawn(async move {
            if i % 3 == 0 {
                engine.ensure_group_seed().await.map(|_| ())
            } else {
                engine.join_group_seed(GroupSeed([i; 32])).await
            }
        }));
    }
    for c in changes {
        c.await.unwrap().unwrap();
    }
    let live = engine.group().seeds.clone();
    assert_eq!(
        stored_ring(&keyring),
        live,
        "the keyring holds what the engine uses"
    );
    assert_ne!(
        live.current(),
        Some(&first),
        "joined seeds replaced the first"
    );
    assert_eq!(
        keyring.seed_writes.load(Ordering::SeqCst),
        1 + 16,
        "the first seed and each join are written once; an ensure that finds a seed writes nothing"
    );
}
