//! Helpers shared by the engine's integration tests.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use mayros_sync_node::clock::Clock;
use mayros_sync_node::engine::{ConfigState, Engine, Identity};
use mayros_sync_store::{DeviceIdentity, SecretStore, SecretStoreKind, Store};

/// An engine over an in-memory store and `secrets` (reported as the OS keyring), with the
/// device key `device` and a config file in a fresh temp dir (kept alive by the caller).
pub fn engine_with(
    secrets: Arc<dyn SecretStore>,
    device: DeviceIdentity,
    name: &str,
) -> (Arc<Engine>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let identity = Identity::new(device, name.into(), SecretStoreKind::Keyring).unwrap();
    let config = ConfigState::load(dir.path().join("config.json")).unwrap();
    let engine = Engine::new(
        Store::open_in_memory().unwrap(),
        identity,
        secrets,
        config,
        Clock::system(),
    )
    .unwrap();
    (engine, dir)
}
