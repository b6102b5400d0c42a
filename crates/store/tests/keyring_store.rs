//! The OS keyring backend against a real, private Secret Service (PLATFORM.md "Keyring in
//! tests"): a `dbus-daemon --session` and a `gnome-keyring-daemon` started here with a temp HOME,
//! never the user's keyring. The `keyring` crate reads `DBUS_SESSION_BUS_ADDRESS` from the
//! process environment (and libdbus reads it only once per process), so everything is one test
//! function in its own binary: setting the variable cannot race another test. The no-keyring
//! path is `keyring_fallback.rs`, another binary for the same reason.
//!
//! Missing `dbus-daemon` or `gnome-keyring-daemon` fails the test (naming the apt package)
//! unless `MAYROS_SKIP_KEYRING_TESTS=1`.
#![allow(clippy::unwrap_used)]

mod common;
use common::install_id_of;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mayros_sync_store::keyring_store::{
    migrate_secrets, select_with_keyring, KEYRING_MARKER, KEYRING_SERVICE,
};
use mayros_sync_store::{
    select_secret_store, DeviceIdentity, Error, FileSecretStore, KeyringSecretStore, SecretStore,
    SecretStoreChoice, SecretStoreKind,
};

/// A private session bus with an unlocked gnome-keyring on it; everything is killed on drop.
struct PrivateSecretService {
    _root: tempfile::TempDir,
    bus: Child,
    keyring: Child,
    address: String,
}

impl PrivateSecretService {
    fn start() -> PrivateSecretService {
        let root = tempfile::tempdir().unwrap();
        let home = root.path().join("home");
        let runtime = root.path().join("run");
        for d in [&home, &runtime] {
            std::fs::create_dir_all(d).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let env = |cmd: &mut Command| {
            cmd.env("HOME", &home)
                .env("XDG_RUNTIME_DIR", &runtime)
                .env("XDG_DATA_HOME", home.join(".local/share"))
                .env("XDG_CONFIG_HOME", home.join(".config"))
                .env_remove("DISPLAY")
                .env_remove("WAYLAND_DISPLAY");
        };
        // A session bus without service directories: nothing is bus-activated behind our back
        // (the system's gnome-keyring service file would start a second, locked keyring).
        let config = root.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                runtime.join("bus").display()
            ),
        )
        .unwrap();
        let mut cmd = Command::new("dbus-daemon");
        cmd.arg(format!("--config-file={}", config.display()))
            .args(["--print-address", "--nofork", "--nopidfile"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        env(&mut cmd);
        let mut bus = cmd.spawn().unwrap();
        let stdout = bus.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let address = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) if !line.trim().is_empty() => line.trim().to_string(),
            other => {
                let _ = bus.kill();
                panic!("dbus-daemon printed no address within 10 s: {other:?}");
            }
        };

        let mut cmd = Command::new("gnome-keyring-daemon");
        cmd.args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        env(&mut cmd);
        let mut keyring = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => {
                let _ = bus.kill();
                panic!("cannot start gnome-keyring-daemon: {e}");
            }
        };
        {
            // A non-empty password: with an empty one no login collection is created.
            let mut stdin = keyring.stdin.take().unwrap();
            stdin.write_all(b"mayros-test-password").unwrap();
        }
        PrivateSecretService {
            _root: root,
            bus,
            keyring,
            address,
        }
    }

    fn signal_keyring(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.keyring.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} gnome-keyring-daemon");
    }
}

impl Drop for PrivateSecretService {
    fn drop(&mut self) {
        for child in [&mut self.keyring, &mut self.bus] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

/// Polls `f` until it returns `Some`, failing after `limit`.
fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if Instant::now() >= deadline => panic!("{what} within {limit:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn secret_files(data_dir: &Path) -> Vec<String> {
    FileSecretStore::new(data_dir).unwrap().names().unwrap()
}

fn marker(data_dir: &Path) -> PathBuf {
    data_dir.join("secrets").join(KEYRING_MARKER)
}

#[test]
fn keyring_secret_store_against_a_private_secret_service() {
    let scratch = tempfile::tempdir().unwrap();

    // ── A private Secret Service ──────────────────────────────────────────────────────────
    let mut missing = Vec::new();
    if !on_path("dbus-daemon") {
        missing.push("dbus-daemon (apt package `dbus`)");
    }
    if !on_path("gnome-keyring-daemon") {
        missing.push("gnome-keyring-daemon (apt package `gnome-keyring`)");
    }
    if !missing.is_empty() {
        if std::env::var("MAYROS_SKIP_KEYRING_TESTS").as_deref() == Ok("1") {
            eprintln!(
                "MAYROS_SKIP_KEYRING_TESTS=1: skipping the keyring part, missing {missing:?}"
            );
            return;
        }
        panic!(
            "the keyring test needs {}; install them (scripts/test does) or set \
             MAYROS_SKIP_KEYRING_TESTS=1",
            missing.join(" and ")
        );
    }
    let service = PrivateSecretService::start();
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &service.address);

    let a = KeyringSecretStore::new("aaaa0000aaaa0000aaaa0000aaaa0000").unwrap();
    let b = KeyringSecretStore::new("bbbb1111bbbb1111bbbb1111bbbb1111").unwrap();
    wait_for(
        Duration::from_secs(20),
        "the private Secret Service answers the probe",
        || a.probe().map_err(|e| e.to_string()),
    );

    // Store, read, a missing entry, two install ids, overwrite, delete.
    assert_eq!(a.get("group-seed").unwrap(), None);
    a.put("group-seed", &[1; 32]).unwrap();
    assert_eq!(a.get("group-seed").unwrap(), Some(vec![1; 32]));
    assert_eq!(b.get("group-seed").unwrap(), None, "install ids share keys");
    b.put("group-seed", &[2; 32]).unwrap();
    assert_eq!(a.get("group-seed").unwrap(), Some(vec![1; 32]));
    assert_eq!(b.get("group-seed").unwrap(), Some(vec![2; 32]));
    let binary: Vec<u8> = (0..=255).collect();
    a.put("group-seed", &binary).unwrap();
    assert_eq!(a.get("group-seed").unwrap(), Some(binary.clone()));
    // Where it lives, read with the keyring crate itself: service and account of DESIGN §7.3.
    let raw = keyring::Entry::new(KEYRING_SERVICE, &format!("{}/group-seed", a.install_id()))
        .unwrap()
        .get_secret()
        .unwrap();
    assert_eq!(raw, binary);
    a.delete("group-seed").unwrap();
    assert_eq!(a.get("group-seed").unwrap(), None);
    a.delete("group-seed").unwrap();
    assert_eq!(b.get("group-seed").unwrap(), Some(vec![2; 32]));
    assert!(a.put("../escape", b"x").is_err());
    // The probe leaves nothing behind.
    let probe = keyring::Entry::new(KEYRING_SERVICE, &format!("{}/.probe", a.install_id()))
        .unwrap()
        .get_secret();
    assert!(matches!(probe, Err(keyring::Error::NoEntry)), "{probe:?}");

    // migrate_secrets: file → keyring, file copies gone, values equal.
    let dir = scratch.path().join("migrate-fn");
    let files = FileSecretStore::new(&dir).unwrap();
    files.put("device-key", &[3; 32]).unwrap();
    files.put("group-seed", &[4; 32]).unwrap();
    let c = KeyringSecretStore::new("cccc2222cccc2222cccc2222cccc2222").unwrap();
    let moved = migrate_secrets(&files, &c).unwrap();
    assert_eq!(moved, vec!["device-key", "group-seed"]);
    assert!(files.names().unwrap().is_empty());
    assert_eq!(c.get("device-key").unwrap(), Some(vec![3; 32]));
    assert_eq!(c.get("group-seed").unwrap(), Some(vec![4; 32]));

    // Selection at start: a data dir whose secrets are files moves them into the keyring.
    let dir = scratch.path().join("engine");
    let id = install_id_of(&dir);
    let node_id = DeviceIdentity::load_or_create(&FileSecretStore::new(&dir).unwrap())
        .unwrap()
        .node_id();
    FileSecretStore::new(&dir)
        .unwrap()
        .put("group-seed", &[6; 32])
        .unwrap();
    let sel = select_secret_store(&dir, &id, SecretStoreChoice::Auto).unwrap();
    assert_eq!(sel.store.kind(), SecretStoreKind::Keyring);
    assert_eq!(sel.warning, None);
    assert_eq!(sel.migrated, vec!["device-key", "group-seed"]);
    assert!(secret_files(&dir).is_empty(), "file copies must be deleted");
    assert!(marker(&dir).exists());
    let again = DeviceIdentity::load_or_create(sel.store.as_ref()).unwrap();
    assert_eq!(again.node_id(), node_id, "the device key moved intact");
    assert_eq!(sel.store.get("group-seed").unwrap(), Some(vec![6; 32]));
    // A second start finds them in the keyring and moves nothing.
    let sel = select_secret_store(&dir, &id, SecretStoreChoice::Keyring).unwrap();
    assert_eq!(sel.store.kind(), SecretStoreKind::Keyring);
    assert!(sel.migrated.is_empty());
    assert_eq!(
        DeviceIdentity::load_or_create(sel.store.as_ref())
            .unwrap()
            .node_id(),
        node_id
    );
    // Forcing files now would silently make a new device key: refused, saying how to recover.
    let err = select_secret_store(&dir, &id, SecretStoreChoice::File)
        .unwrap_err()
        .to_string();
    assert!(err.contains(KEYRING_MARKER), "{err}");

    // A hung keyring is never waited on: stop the daemon, every call gives up in time.
    service.signal_keyring("-STOP");
    let hung = KeyringSecretStore::new(&id)
        .unwrap()
        .with_timeout(Duration::from_millis(500));
    let started = Instant::now();
    let err = hung.get("group-seed").unwrap_err();
    assert!(matches!(err, Error::KeyringTimeout { .. }), "{err}");
    let fresh = scratch.path().join("hung");
    let fresh_id = install_id_of(&fresh);
    let sel = select_with_keyring(
        &fresh,
        KeyringSecretStore::new(&fresh_id)
            .unwrap()
            .with_timeout(Duration::from_millis(500)),
        SecretStoreChoice::Auto,
    )
    .unwrap();
    let took = started.elapsed();
    assert_eq!(sel.store.kind(), SecretStoreKind::File);
    assert!(
        sel.warning.as_deref().unwrap().contains("did not finish"),
        "{sel:?}"
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
    // The engine whose secrets are in the keyring refuses to fall back to new files.
    let err = select_with_keyring(
        &dir,
        KeyringSecretStore::new(&id)
            .unwrap()
            .with_timeout(Duration::from_millis(500)),
        SecretStoreChoice::Auto,
    )
    .unwrap_err();
    assert!(matches!(err, Error::SecretsInKeyring { .. }), "{err}");
    service.signal_keyring("-CONT");
    // Resumed, the daemon first works through the calls that timed out while it was stopped
    // (seen taking more than 10 s once in a full workspace run).
    wait_for(Duration::from_secs(30), "the keyring answers again", || {
        a.probe().map_err(|e| e.to_string())
    });

    // A locked keyring is reported, never unlocked with a prompt.
    {
        use dbus_secret_service::{EncryptionType, SecretService};
        let ss = SecretService::connect_with_max_prompt_timeout(EncryptionType::Plain, 0).unwrap();
        ss.get_default_collection().unwrap().lock().unwrap();
    }
    let started = Instant::now();
    let err = a.get("group-seed").unwrap_err().to_string();
    assert!(err.contains("locked"), "{err}");
    let locked = scratch.path().join("locked");
    let locked_id = install_id_of(&locked);
    let sel = select_secret_store(&locked, &locked_id, SecretStoreChoice::Auto).unwrap();
    assert_eq!(sel.store.kind(), SecretStoreKind::File);
    assert!(
        sel.warning.as_deref().unwrap().contains("locked"),
        "{sel:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    drop(service);
}
