//! A real daemon on 127.0.0.1:0 driven over a real socket with reqwest.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use mayros_sync_node::{paths, Daemon, DaemonInfo, DaemonOptions};
use serde_json::{json, Value};

fn options(dir: &std::path::Path) -> DaemonOptions {
    let mut opts = DaemonOptions::new(dir.to_path_buf());
    opts.api = SocketAddr::from(([127, 0, 0, 1], 0));
    opts.peer_api = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    opts.quic = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    opts.name = Some("socket-test".into());
    // Tests never touch the OS keyring of whoever runs them (DESIGN §7.3).
    opts.secret_store = Some(mayros_sync_store::SecretStoreChoice::File);
    opts
}

#[tokio::test]
async fn write_read_restart_over_a_real_socket() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(options(dir.path())).await.unwrap();
    let info = daemon.info().clone();
    assert_ne!(info.api.port(), 0, "port 0 resolves to the real port");
    assert_eq!(DaemonInfo::read(dir.path()).unwrap(), info);
    let line = info.ready_line();
    assert_eq!(
        line,
        format!(
            "ready api=127.0.0.1:{} peer_api=127.0.0.1:{} quic=127.0.0.1:{} node_id={}",
            info.api.port(),
            info.peer_api.unwrap().port(),
            info.quic.unwrap().port(),
            info.node_id
        )
    );
    assert!(
        info.node_id.len() == 64
            && info
                .node_id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );

    let base = format!("http://{}", info.api);
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{base}/api/v1/triples"))
        .json(&json!({"subject": "mayros:agent:a1", "predicate": "mayros:likes", "object": "tea"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();

    let token = std::fs::read_to_string(paths::token_file(dir.path())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(paths::token_file(dir.path()))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let status: Value = http
        .get(format!("{base}/api/v1/sync/status"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["tripleCount"], 1);
    assert_eq!(status["name"], "socket-test");

    daemon.shutdown().await;
    assert!(
        !paths::daemon_file(dir.path()).exists(),
        "daemon.json removed on shutdown"
    );
    assert!(
        http.get(format!("{base}/api/v1/health"))
            .send()
            .await
            .is_err(),
        "listener closed"
    );

    let daemon = Daemon::start(options(dir.path())).await.unwrap();
    assert_eq!(daemon.info().node_id, info.node_id, "identity is stable");
    let base = format!("http://{}", daemon.info().api);
    let got: Value = http
        .get(format!("{base}/api/v1/triples/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["object"], "tea");
    daemon.shutdown().await;
}

#[tokio::test]
async fn a_taken_port_is_reported_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let first = Daemon::start(options(dir.path())).await.unwrap();
    let other = tempfile::tempdir().unwrap();
    let mut opts = options(other.path());
    opts.api = first.info().api;
    let err = Daemon::start(opts).await.unwrap_err().to_string();
    assert!(err.contains("--api"), "{err}");
    first.shutdown().await;
}

#[tokio::test]
async fn non_loopback_api_addresses_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    opts.api = SocketAddr::from(([0, 0, 0, 0], 0));
    let err = Daemon::start(opts).await.unwrap_err().to_string();
    assert!(err.contains("loopback"), "{err}");
}

#[tokio::test]
async fn an_invalid_config_file_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"sync":{"conflictStrategy":"coin-flip"}}"#,
    )
    .unwrap();
    let err = Daemon::start(options(dir.path()))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("sync.conflictStrategy"), "{err}");
}

#[tokio::test]
async fn a_second_engine_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = Daemon::start(options(dir.path())).await.unwrap();
    let err = Daemon::start(options(dir.path()))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("already running"), "{err}");
    assert_eq!(
        DaemonInfo::read(dir.path()).unwrap(),
        *first.info(),
        "daemon.json untouched"
    );
    first.shutdown().await;
    let again = Daemon::start(options(dir.path())).await.unwrap();
    again.shutdown().await;
}
