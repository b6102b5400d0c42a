//! The no-keyring path: with `DBUS_SESSION_BUS_ADDRESS` pointing at a socket that does not
//! exist, choosing the secret store falls back to the 0600 files fast and says why. Its own
//! binary with one test, because libdbus reads the bus address once per process.
#![allow(clippy::unwrap_used)]

mod common;
use common::install_id_of;

use std::time::{Duration, Instant};

use mayros_sync_store::keyring_store::KEYRING_MARKER;
use mayros_sync_store::{
    select_secret_store, Error, FileSecretStore, SecretStore, SecretStoreChoice, SecretStoreKind,
};

#[test]
fn without_a_session_bus_the_files_are_used_and_the_reason_given() {
    let scratch = tempfile::tempdir().unwrap();
    // ── No keyring: the bus address points at a socket that does not exist ────────────────
    let nowhere = scratch.path().join("no-such-bus");
    std::env::set_var(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}", nowhere.display()),
    );
    let dir = scratch.path().join("fallback");
    let id = install_id_of(&dir);
    FileSecretStore::new(&dir)
        .unwrap()
        .put("group-seed", &[5; 32])
        .unwrap();
    let started = Instant::now();
    let sel = select_secret_store(&dir, &id, SecretStoreChoice::Auto).unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(2500), "fallback took {took:?}");
    assert_eq!(sel.store.kind(), SecretStoreKind::File);
    let warning = sel.warning.clone().unwrap();
    assert!(warning.contains("no D-Bus session bus"), "{warning}");
    assert!(
        warning.contains(&format!("0600 files in {}", dir.join("secrets").display())),
        "{warning}"
    );
    assert!(sel.migrated.is_empty());
    assert_eq!(sel.store.get("group-seed").unwrap(), Some(vec![5; 32]));
    assert!(!dir.join("secrets").join(KEYRING_MARKER).exists());
    let err = select_secret_store(&dir, &id, SecretStoreChoice::Keyring).unwrap_err();
    assert!(matches!(err, Error::KeyringRequired { .. }), "{err}");
    let sel = select_secret_store(&dir, &id, SecretStoreChoice::File).unwrap();
    assert_eq!(
        (sel.store.kind(), sel.warning),
        (SecretStoreKind::File, None)
    );

    // The secret file was left where it was.
    assert_eq!(
        FileSecretStore::new(&dir).unwrap().names().unwrap(),
        vec!["group-seed"]
    );
}
