//! The commands of the UI contract, invoked through Tauri's IPC on the mock runtime against a
//! real engine.
#![allow(clippy::unwrap_used)]

mod common;

use serde_json::json;

#[test]
fn get_status_answers_the_engines_status_json() {
    let t = common::start(false);
    let status = t.invoke("get_status", json!({})).unwrap();
    assert_eq!(status["name"], "test-device");
    assert_eq!(status["nodeId"], t.host.info().node_id.as_str());
    assert_eq!(status["mode"], "polled");
    assert!(status["peers"].as_array().unwrap().is_empty());
    // The tray reads the same body into its typed form.
    let typed = mayros_sync_tray::tray_state::parse_status(status.clone()).unwrap();
    assert_eq!(typed.summary.label, status["summary"]["label"]);
    // The same engine answers `mayros sync …` through daemon.json.
    let info = mayros_sync_node::DaemonInfo::read(t.dir.path()).unwrap();
    assert_eq!(info.api, t.host.info().api);
}

#[test]
fn put_config_with_a_bad_value_names_the_key() {
    let t = common::start(false);
    let current = t.invoke("get_config", json!({})).unwrap();
    assert!(current["config"].is_object());
    let bad = json!({"sync": {"conflictStrategy": "coin-toss"}});
    let err = t
        .invoke("put_config", json!({ "config": bad }))
        .unwrap_err();
    assert_eq!(err["kind"], "INVALID_CONFIG");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("sync.conflictStrategy"), "{message}");
    assert_eq!(err["field"], "sync.conflictStrategy");

    let good = json!({"sync": {"intervalSeconds": 120}, "ui": {"notifications": false}});
    let saved = t.invoke("put_config", json!({ "config": good })).unwrap();
    assert_eq!(saved["config"]["sync"]["intervalSeconds"], 120);
    assert!(!t.host.engine().config().config.ui.notifications);
}

#[test]
fn patch_config_changes_only_the_keys_sent() {
    let t = common::start(false);
    let saved = t
        .invoke(
            "patch_config",
            json!({ "patch": {"ui": {"notifications": false}} }),
        )
        .unwrap();
    assert_eq!(saved["config"]["ui"]["notifications"], false);
    let path = saved["path"].as_str().unwrap().to_string();
    let on_disk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        on_disk,
        json!({"version": 1, "ui": {"notifications": false}})
    );

    let err = t
        .invoke(
            "patch_config",
            json!({ "patch": {"sync": {"intervalSeconds": "soon"}} }),
        )
        .unwrap_err();
    assert_eq!(err["kind"], "INVALID_CONFIG");
    assert_eq!(err["field"], "sync.intervalSeconds");
    assert!(!t.host.engine().config().config.ui.notifications);
}

#[test]
fn sync_now_pause_and_resume() {
    let t = common::start(false);
    let done = t.invoke("sync_now", json!({})).unwrap();
    assert_eq!(done["mode"], "polled");
    assert!(done["results"].as_array().unwrap().is_empty());
    let err = t
        .invoke("sync_now", json!({"peer": "no such device"}))
        .unwrap_err();
    assert_eq!(err["kind"], "UNKNOWN_PEER");
    assert!(err["message"].as_str().unwrap().contains("no such device"));

    t.invoke("pause_sync", json!({"minutes": 15})).unwrap();
    let status = t.invoke("get_status", json!({})).unwrap();
    assert_eq!(status["paused"], true);
    assert!(status["pausedUntil"].is_string());
    t.invoke("resume_sync", json!({})).unwrap();
    assert_eq!(t.invoke("get_status", json!({})).unwrap()["paused"], false);
}

#[test]
fn lists_and_unknown_ids_answer_like_the_http_api() {
    let t = common::start(false);
    assert!(t.invoke("list_peers", json!({})).unwrap().is_array());
    assert!(t.invoke("list_nearby", json!({})).unwrap().is_array());
    assert!(t.invoke("pair_requests", json!({})).unwrap().is_array());
    assert!(
        t.invoke("list_conflicts", json!({})).unwrap().is_object()
            || t.invoke("list_conflicts", json!({})).unwrap().is_array()
    );
    let err = t
        .invoke("unpair_peer", json!({"peer": "nobody here"}))
        .unwrap_err();
    assert!(
        err["kind"].is_string() && err["message"].is_string(),
        "{err}"
    );
    // No QUIC endpoint: the Cortex's P2P status is off.
    let err = t.invoke("get_p2p_status", json!({})).unwrap_err();
    assert_eq!(err["kind"], "P2P_DISABLED");
}

#[test]
fn a_stopped_engine_answers_engine_down() {
    let t = common::start(false);
    let host = std::sync::Arc::clone(&t.host);
    tauri::async_runtime::block_on(async move { host.shutdown().await });
    let err = t.invoke("get_status", json!({})).unwrap_err();
    assert_eq!(err["kind"], "ENGINE_DOWN");
}

#[test]
fn an_engine_that_could_not_start_is_reported_by_every_command() {
    use mayros_sync_tray::notifier::RecordingNotifier;
    use mayros_sync_tray::{run_app, EngineSlot, Launch};
    use tauri::test::{mock_builder, mock_context, noop_assets};
    let launch = Launch {
        hidden: true,
        engine: EngineSlot::Failed(
            "another Mayros Sync engine is already running on data dir /d".into(),
        ),
        notifier: std::sync::Arc::new(RecordingNotifier::default()),
        tray: false,
        autostart: false,
        single_instance: None,
        local_offset: time::UtcOffset::UTC,
    };
    let app = run_app(mock_builder(), launch, mock_context(noop_assets())).unwrap();
    let window = tauri::Manager::get_webview_window(&app, "main").unwrap();
    let err = common::invoke_on(&window, "get_status", json!({})).unwrap_err();
    assert_eq!(err["kind"], "ENGINE_DOWN");
    assert!(err["message"].as_str().unwrap().contains("already running"));
}

/// New conflicts need attention (the engine's state) until the user looks: listing them or
/// opening the window marks them seen.
#[test]
fn listing_conflicts_or_opening_the_window_marks_them_seen() {
    let t = common::start(false);
    let status = || t.invoke("get_status", json!({})).unwrap();
    common::log_conflict(&t.host, 1);
    common::log_conflict(&t.host, 2);
    let s = status();
    assert_eq!(s["unseenConflicts"], 2, "{s}");
    assert_eq!(s["summary"]["state"], "attention");
    assert_eq!(s["summary"]["details"][0], "2 new conflicts");

    let listed = t.invoke("list_conflicts", json!({})).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    let s = status();
    assert_eq!(s["unseenConflicts"], 0, "{s}");
    assert_ne!(s["summary"]["state"], "attention");

    common::log_conflict(&t.host, 3);
    assert_eq!(status()["unseenConflicts"], 1);
    mayros_sync_tray::window::show(&t.app, None);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while status()["unseenConflicts"] != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "opening the window did not mark the conflict seen: {}",
            status()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
