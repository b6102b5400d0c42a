//! A failing secret store is reported as the secret store, with what to do, never as a
//! corrupt store database.
#![allow(clippy::unwrap_used)]

mod common;

use mayros_sync_node::engine::Engine;
use mayros_sync_node::sync::Group;
use mayros_sync_node::Error;
use mayros_sync_store::{DeviceIdentity, MemorySecretStore, SecretStore, SecretStoreKind, Store};

/// A secret store whose writes and deletes fail the way a locked keyring does.
struct LockedKeyring(MemorySecretStore);

impl SecretStore for LockedKeyring {
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, mayros_sync_store::Error> {
        self.0.get(name)
    }
    fn put(&self, name: &str, _value: &[u8]) -> Result<(), mayros_sync_store::Error> {
        Err(mayros_sync_store::Error::Keyring {
            op: "store",
            account: format!("test/{name}"),
            reason: "the collection is locked".into(),
        })
    }
    fn delete(&self, name: &str) -> Result<(), mayros_sync_store::Error> {
        Err(mayros_sync_store::Error::KeyringTimeout {
            op: "delete",
            account: format!("test/{name}"),
            timeout_ms: 3000,
        })
    }
    fn kind(&self) -> SecretStoreKind {
        SecretStoreKind::Keyring
    }
}

fn group() -> (Group, Store, LockedKeyring) {
    let store = Store::open_in_memory().unwrap();
    let secrets = LockedKeyring(MemorySecretStore::new());
    let group = Group::load(&store, &secrets, "own-node").unwrap();
    (group, store, secrets)
}

fn assert_names_the_keyring(err: &Error) {
    assert!(matches!(err, Error::SecretStore { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("secret store (keyring): OS keyring"),
        "{msg}"
    );
    assert!(msg.contains("unlock the OS keyring"), "{msg}");
    assert!(msg.contains("MAYROS_SECRET_STORE=file"), "{msg}");
    assert!(!msg.contains("corrupt"), "{msg}");
}

/// An engine whose secret store fails writes like a locked keyring (its device key was made
/// before the keyring locked).
fn engine_on_a_locked_keyring() -> (std::sync::Arc<Engine>, tempfile::TempDir) {
    let inner = MemorySecretStore::new();
    let device = DeviceIdentity::load_or_create(&inner).unwrap();
    common::engine_with(std::sync::Arc::new(LockedKeyring(inner)), device, "locked")
}

#[tokio::test]
async fn creating_a_group_seed_on_a_locked_keyring_says_so() {
    let (engine, _dir) = engine_on_a_locked_keyring();
    let err = engine.ensure_group_seed().await.unwrap_err();
    assert_names_the_keyring(&err);
    assert!(
        err.to_string().contains("the collection is locked"),
        "{err}"
    );
    let group = engine.group();
    assert!(
        group.seed().is_none(),
        "no seed is kept that was not stored"
    );
}

#[tokio::test]
async fn adopting_a_seed_on_a_locked_keyring_says_so() {
    let (engine, _dir) = engine_on_a_locked_keyring();
    let seed = mayros_sync_proto::seedproof::GroupSeed([7; 32]);
    let err = engine.join_group_seed(seed).await.unwrap_err();
    assert_names_the_keyring(&err);
    assert!(engine.group().seed().is_none());
}

#[test]
fn forgetting_the_seed_on_a_slow_keyring_says_so() {
    let (_group, _store, secrets) = group();
    // Leaving the group stores a ring without a seed: the entry is deleted.
    let err = mayros_sync_node::sync::group::store_seeds(
        &mayros_sync_proto::membership::seeds::SeedRing::default(),
        &secrets,
    )
    .unwrap_err();
    assert_names_the_keyring(&err);
    assert!(
        err.to_string().contains("did not finish within 3000 ms"),
        "{err}"
    );
}

#[test]
fn a_failing_file_store_points_at_the_secrets_directory() {
    let err = Error::secret_store(
        &MemorySecretStoreAsFile,
        mayros_sync_store::Error::Io {
            what: "cannot write the secret file",
            path: "/data/secrets/group-seed".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        },
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with("secret store (file): cannot write the secret file"),
        "{msg}"
    );
    assert!(msg.contains("secrets directory"), "{msg}");
    assert!(!msg.contains("corrupt"), "{msg}");
}

/// Reports itself as the file store; only its kind is used.
struct MemorySecretStoreAsFile;

impl SecretStore for MemorySecretStoreAsFile {
    fn get(&self, _name: &str) -> Result<Option<Vec<u8>>, mayros_sync_store::Error> {
        Ok(None)
    }
    fn put(&self, _name: &str, _value: &[u8]) -> Result<(), mayros_sync_store::Error> {
        Ok(())
    }
    fn delete(&self, _name: &str) -> Result<(), mayros_sync_store::Error> {
        Ok(())
    }
    fn kind(&self) -> SecretStoreKind {
        SecretStoreKind::File
    }
}
