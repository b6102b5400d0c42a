//! A daemon on a machine without a keyring: with `DBUS_SESSION_BUS_ADDRESS` pointing at a
//! socket that does not exist, it starts within a few seconds on the 0600-file secret store and
//! says so in status. Its own binary with one test: the bus address is process-wide (and libdbus
//! reads it once per process).
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mayros_sync_node::{Daemon, DaemonOptions};

#[tokio::test]
async fn without_a_keyring_the_daemon_uses_files_and_warns() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}", dir.path().join("no-such-bus").display()),
    );
    std::env::remove_var("MAYROS_SECRET_STORE");
    let data = dir.path().join("data");
    let mut opts = DaemonOptions::new(data.clone());
    opts.api = SocketAddr::from(([127, 0, 0, 1], 0));
    opts.peer_api = None;
    opts.quic = None;
    opts.name = Some("no-keyring".into());
    assert_eq!(
        opts.secret_store, None,
        "the choice comes from the environment"
    );

    let started = Instant::now();
    let daemon = tokio::time::timeout(Duration::from_secs(10), Daemon::start(opts))
        .await
        .expect("the daemon must not wait on a missing keyring")
        .unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "start took {took:?}");

    let status = daemon.engine().status(None).await;
    assert_eq!(status.secret_store, "file");
    let secrets_dir = data.join("secrets");
    let warning = status
        .warnings
        .iter()
        .find(|w| w.contains("0600 files"))
        .unwrap_or_else(|| panic!("no secret-store warning in {:?}", status.warnings));
    assert!(warning.contains("no D-Bus session bus"), "{warning}");
    assert!(
        warning.contains(&secrets_dir.display().to_string()),
        "{warning}"
    );
    assert!(secrets_dir.join("device-key").is_file());
    let node_id = status.node_id.clone();
    daemon.shutdown().await;

    // Forced file store: same key, no warning (it was chosen, not fallen back to).
    let mut opts = DaemonOptions::new(data.clone());
    opts.api = SocketAddr::from(([127, 0, 0, 1], 0));
    opts.peer_api = None;
    opts.quic = None;
    opts.secret_store = Some(mayros_sync_store::SecretStoreChoice::File);
    let daemon = Daemon::start(opts).await.unwrap();
    let status = daemon.engine().status(None).await;
    assert_eq!(status.node_id, node_id);
    assert_eq!(status.secret_store, "file");
    assert!(
        !status.warnings.iter().any(|w| w.contains("0600 files")),
        "{:?}",
        status.warnings
    );
    daemon.shutdown().await;

    // Requiring the keyring where there is none fails fast, saying why.
    let mut opts = DaemonOptions::new(data);
    opts.api = SocketAddr::from(([127, 0, 0, 1], 0));
    opts.peer_api = None;
    opts.quic = None;
    opts.secret_store = Some(mayros_sync_store::SecretStoreChoice::Keyring);
    let err = Daemon::start(opts).await.unwrap_err().to_string();
    assert!(err.contains("MAYROS_SECRET_STORE=keyring"), "{err}");
}
