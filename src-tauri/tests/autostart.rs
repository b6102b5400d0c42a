//! Start at login through the commands, with the autostart plugin writing into a temporary
//! HOME (the plugin ignores XDG_CONFIG_HOME). A test binary of its own: it changes HOME.
#![allow(clippy::unwrap_used)]

mod common;

use serde_json::json;

#[test]
fn set_autostart_writes_the_login_entry_and_get_reads_it_back() {
    let home = tempfile::tempdir().unwrap();
    // Only this test runs in this process, so changing the environment races nothing.
    std::env::set_var("HOME", home.path());
    let t = common::start(true);
    assert_eq!(t.invoke("get_autostart", json!({})).unwrap(), json!(false));

    assert_eq!(
        t.invoke("set_autostart", json!({"enabled": true})).unwrap(),
        json!(true)
    );
    let dir = home.path().join(".config/autostart");
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(entries.len(), 1);
    let desktop = std::fs::read_to_string(entries[0].path()).unwrap();
    assert!(desktop.contains("--hidden"), "{desktop}");
    assert_eq!(t.invoke("get_autostart", json!({})).unwrap(), json!(true));

    assert_eq!(
        t.invoke("set_autostart", json!({"enabled": false}))
            .unwrap(),
        json!(false)
    );
    assert_eq!(t.invoke("get_autostart", json!({})).unwrap(), json!(false));
}
