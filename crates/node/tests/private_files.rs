//! The data dir of a real daemon is 0700 and every file in it 0600, fresh or repaired (issue 16).
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use mayros_sync_node::{Daemon, DaemonOptions};
use serde_json::json;

fn options(dir: &Path) -> DaemonOptions {
    let mut opts = DaemonOptions::new(dir.to_path_buf());
    opts.api = SocketAddr::from(([127, 0, 0, 1], 0));
    opts.peer_api = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    opts.quic = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    opts.name = Some("perms-test".into());
    opts.secret_store = Some(mayros_sync_store::SecretStoreChoice::File);
    opts
}

/// Every path under `dir` (itself included) with its permission bits.
fn modes(dir: &Path) -> Vec<(PathBuf, bool, u32)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(p) = todo.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        out.push((p.clone(), meta.is_dir(), meta.permissions().mode() & 0o777));
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                todo.push(e.unwrap().path());
            }
        }
    }
    out
}

fn assert_private(dir: &Path, must_exist: &[&str]) {
    let all = modes(dir);
    for (path, is_dir, mode) in &all {
        let want = if *is_dir { 0o700 } else { 0o600 };
        assert_eq!(*mode, want, "{} is {mode:04o}", path.display());
    }
    for name in must_exist {
        assert!(
            all.iter().any(|(p, _, _)| p == &dir.join(name)),
            "{name} exists: {all:#?}"
        );
    }
}

async fn write_one(daemon: &Daemon) {
    let resp = reqwest::Client::new()
        .post(format!("http://{}/api/v1/triples", daemon.info().api))
        .json(&json!({"subject": "ex:a", "predicate": "ex:p", "object": "v"}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
}

const FILES: &[&str] = &[
    "cortex.db",
    "cortex.db-wal",
    "cortex.db-shm",
    "control.token",
    "daemon.json",
    "engine.lock",
    "secrets",
];

#[tokio::test]
async fn a_fresh_data_dir_is_private() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let daemon = Daemon::start(options(&dir)).await.unwrap();
    write_one(&daemon).await;
    assert_private(&dir, FILES);
    daemon.shutdown().await;
}

#[tokio::test]
async fn loose_modes_left_behind_are_repaired_at_start() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let daemon = Daemon::start(options(&dir)).await.unwrap();
    write_one(&daemon).await;
    daemon.shutdown().await;
    // What an older build (umask 022) left: a 0755 dir and 0644 files.
    for (path, is_dir, _) in modes(&dir) {
        let loose = if is_dir { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(loose)).unwrap();
    }
    std::fs::write(dir.join("config.json"), "{}").unwrap();
    std::fs::set_permissions(
        dir.join("config.json"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    let daemon = Daemon::start(options(&dir)).await.unwrap();
    write_one(&daemon).await;
    assert_private(&dir, &[FILES, &["config.json"]].concat());
    daemon.shutdown().await;
}
