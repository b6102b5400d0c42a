//! Every fixture of an older (or the current) config file version migrates to the current
//! version, validates, and keeps the effective configuration it had.
#![allow(clippy::unwrap_used)]

use mayros_sync_proto::config;
use mayros_sync_proto::config_migrate::{migrate, CURRENT_VERSION};
use serde_json::{json, Value};

/// The fixtures of this checkout. Read from the environment cargo sets when it runs the test,
/// not baked in at compile time: clones at other paths share build artefacts on one machine.
fn fixtures_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("tests/fixtures/config")
}

fn fixture(name: &str) -> Value {
    let path = fixtures_dir().join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Migrates a fixture; checks what every migration must keep. Returns the migrated document
/// and its notes.
fn migrates(name: &str, from_version: u64) -> (Value, Vec<String>) {
    let old = fixture(name);
    let before = config::from_value(&old).unwrap();
    let m = migrate(&old).unwrap();
    assert_eq!(m.from_version, from_version, "{name}");
    assert_eq!(m.doc["version"], CURRENT_VERSION, "{name}");
    let after = config::from_value(&m.doc).unwrap();
    assert_eq!(
        after.config.to_value(),
        before.config.to_value(),
        "{name}: the effective config must not change"
    );
    assert!(after.warnings.is_empty(), "{name}: {:?}", after.warnings);
    let again = migrate(&m.doc).unwrap();
    assert_eq!(again.doc, m.doc, "{name}: migrating twice changes nothing");
    assert!(again.notes.is_empty(), "{name}");
    (m.doc, m.notes)
}

#[test]
fn a_version_0_window_save_keeps_only_what_the_user_set() {
    let (doc, notes) = migrates("v0-window-save.json", 0);
    assert_eq!(
        doc,
        json!({"version": 1, "sync": {"intervalSeconds": 60, "autoSync": true},
               "cortex": {"url": "http://127.0.0.1:8080"}})
    );
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("removed 14 key(s)"), "{notes:?}");
    assert!(notes[0].contains("sync.maxTriplesPerSync"), "{notes:?}");
}

#[test]
fn a_version_0_hand_written_file_keeps_its_settings() {
    let (doc, notes) = migrates("v0-hand-written.json", 0);
    assert_eq!(
        doc,
        json!({"version": 1,
               "sync": {"intervalSeconds": 120, "conflictStrategy": "keep-both"},
               "discovery": {"manualPeers": ["127.0.0.1:19092"]}})
    );
    assert!(notes[0].contains("sync.syncTimeoutMs"), "{notes:?}");
}

#[test]
fn a_current_file_is_left_as_written() {
    let (doc, notes) = migrates("v1-current.json", 1);
    assert_eq!(doc, fixture("v1-current.json"));
    assert!(notes.is_empty());
}

#[test]
fn every_fixture_is_covered() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "v0-hand-written.json",
            "v0-window-save.json",
            "v1-current.json"
        ]
    );
}
