//! The OS keyring as the primary secret store (DESIGN §7.3), and the choice between it and the
//! 0600-file fallback made when an engine starts.
//!
//! Secrets live in the Secret Service (the `keyring` crate) under service [`KEYRING_SERVICE`],
//! account `<installId>/<name>`: the install id is random per data dir, so several engines of
//! one OS user never share keys. Every call runs on its own thread and is abandoned after
//! [`KEYRING_TIMEOUT`]: a slow, hung or locked keyring never blocks the engine. Nothing here ever
//! lets the keyring prompt: before `keyring` touches an entry, the default collection is checked
//! (with a Secret Service session whose prompt timeout is 0) to exist and be unlocked, and a
//! locked one is reported as unusable instead of being unlocked.
//!
//! [`select_secret_store`] probes the keyring (write, read back, delete a probe entry); when it
//! works, secrets still held as files are copied into it, verified and only then deleted from
//! disk, and a marker file records the move. Where there is no keyring, or it is locked, the
//! file store is used and the selection says why (shown as a status warning).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use dbus_secret_service::{EncryptionType, SecretService};

use crate::error::Error;
use crate::secrets::{validate_name, FileSecretStore, SecretStore, SecretStoreKind};

/// The keyring service name of every Mayros Sync secret.
pub const KEYRING_SERVICE: &str = "mayros-sync";

/// The longest any keyring call (the probe included) is waited for.
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(2);

/// The environment variable that chooses the secret store (`auto`, `keyring` or `file`).
pub const SECRET_STORE_ENV: &str = "MAYROS_SECRET_STORE";

/// The file (in the secrets directory) recording that the secrets were moved into the keyring.
///
/// Its name starts with `.`, so it can never be a secret's name.
pub const KEYRING_MARKER: &str = ".in-keyring";

/// Once this many abandoned calls are still running, new calls fail at once.
const MAX_STUCK_CALLS: usize = 4;

/// The account suffix of the probe entry (not a valid secret name, so it never collides).
const PROBE_NAME: &str = ".probe";

/// Secrets in the OS keyring: service `mayros-sync`, account `<installId>/<name>`.
#[derive(Clone)]
pub struct KeyringSecretStore {
    install_id: String,
    timeout: Duration,
    /// Calls that timed out and whose threads have not returned yet.
    stuck: Arc<AtomicUsize>,
}

impl fmt::Debug for KeyringSecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyringSecretStore")
            .field("install_id", &self.install_id)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl KeyringSecretStore {
    /// A store for the engine with this install id (see [`crate::Meta::install_id`]).
    ///
    /// Nothing is contacted yet; [`KeyringSecretStore::probe`] checks that the keyring works.
    pub fn new(install_id: &str) -> Result<KeyringSecretStore, Error> {
        validate_name(install_id)?;
        Ok(KeyringSecretStore {
            install_id: install_id.to_string(),
            timeout: KEYRING_TIMEOUT,
            stuck: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The same store with another time limit per call (tests).
    pub fn with_timeout(mut self, timeout: Duration) -> KeyringSecretStore {
        self.timeout = timeout;
        self
    }

    /// The install id that prefixes every account.
    pub fn install_id(&self) -> &str {
        &self.install_id
    }

    /// The keyring account of a secret: `<installId>/<name>`.
    pub fn account(&self, name: &str) -> String {
        format!("{}/{name}", self.install_id)
    }

    /// Writes, reads back and deletes a probe entry (account `<installId>/.probe`), all within
    /// the time limit; `Ok` means the keyring is present, unlocked and working.
    pub fn probe(&self) -> Result<(), Error> {
        let account = self.account(PROBE_NAME);
        let value = format!("probe-{:016x}", rand::random::<u64>()).into_bytes();
        self.call("probe", account.clone(), move |entry| {
            entry
                .set_secret(&value)
                .map_err(|e| keyring_error("probe (write)", &account, &e))?;
            let back = entry
                .get_secret()
                .map_err(|e| keyring_error("probe (read back)", &account, &e))?;
            entry
                .delete_credential()
                .map_err(|e| keyring_error("probe (delete)", &account, &e))?;
            if back != value {
                return Err(Error::Keyring {
                    op: "probe",
                    account,
                    reason: "the value read back differs from the one written".into(),
                });
            }
            Ok(())
        })
    }

    /// Runs `f` on the entry of `account` on a thread, waiting at most the time limit.
    fn call<T: Send + 'static>(
        &self,
        op: &'static str,
        account: String,
        f: impl FnOnce(&keyring::Entry) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let stuck = self.stuck.load(Ordering::SeqCst);
        if stuck >= MAX_STUCK_CALLS {
            return Err(Error::Keyring {
                op,
                account,
                reason: format!(
                    "{stuck} earlier keyring calls have not returned; not starting another"
                ),
            });
        }
        // 0 running, 1 finished (the result is in the channel), 2 abandoned by the caller.
        let state = Arc::new(AtomicU8::new(0));
        let (tx, rx) = mpsc::sync_channel(1);
        let worker = {
            let state = Arc::clone(&state);
            let stuck = Arc::clone(&self.stuck);
            let account = account.clone();
            move || {
                let result = no_prompt_check(op, &account).and_then(|()| {
                    let entry = keyring::Entry::new(KEYRING_SERVICE, &account)
                        .map_err(|e| keyring_error(op, &account, &e))?;
                    f(&entry)
                });
                let _ = tx.send(result);
                if state
                    .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
                    .is_err()
                {
                    // The caller gave up on us: we are no longer stuck.
                    stuck.fetch_sub(1, Ordering::SeqCst);
                }
            }
        };
        std::thread::Builder::new()
            .name("mayros-keyring".into())
            .spawn(worker)
            .map_err(|e| Error::Keyring {
                op,
                account: account.clone(),
                reason: format!("cannot start a thread for the call: {e}"),
            })?;
        match rx.recv_timeout(self.timeout) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::Keyring {
                op,
                account,
                reason: "the keyring call panicked".into(),
            }),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                self.stuck.fetch_add(1, Ordering::SeqCst);
                if state
                    .compare_exchange(0, 2, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    return Err(Error::KeyringTimeout {
                        op,
                        account,
                        timeout_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
                    });
                }
                // It finished just now: its result is in the channel.
                self.stuck.fetch_sub(1, Ordering::SeqCst);
                rx.recv().unwrap_or_else(|_| {
                    Err(Error::Keyring {
                        op,
                        account,
                        reason: "the keyring call panicked".into(),
                    })
                })
            }
        }
    }
}

impl SecretStore for KeyringSecretStore {
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, Error> {
        validate_name(name)?;
        let account = self.account(name);
        self.call("read", account.clone(), move |entry| {
            match entry.get_secret() {
                Ok(value) => Ok(Some(value)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(keyring_error("read", &account, &e)),
            }
        })
    }

    fn put(&self, name: &str, value: &[u8]) -> Result<(), Error> {
        validate_name(name)?;
        let account = self.account(name);
        let value = value.to_vec();
        self.call("store", account.clone(), move |entry| {
            entry
                .set_secret(&value)
                .map_err(|e| keyring_error("store", &account, &e))
        })
    }

    fn delete(&self, name: &str) -> Result<(), Error> {
        validate_name(name)?;
        let account = self.account(name);
        self.call("delete", account.clone(), move |entry| {
            match entry.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(keyring_error("delete", &account, &e)),
            }
        })
    }

    fn kind(&self) -> SecretStoreKind {
        SecretStoreKind::Keyring
    }
}

/// Fails unless the Secret Service is reachable and its default collection exists and is
/// unlocked, using a session that may never show a prompt.
fn no_prompt_check(op: &'static str, account: &str) -> Result<(), Error> {
    let fail = |reason: String| Error::Keyring {
        op,
        account: account.to_string(),
        reason,
    };
    let ss = SecretService::connect_with_max_prompt_timeout(EncryptionType::Plain, 0)
        .map_err(|e| fail(describe_ss_error(&e)))?;
    let collection = ss
        .get_default_collection()
        .map_err(|e| fail(describe_ss_error(&e)))?;
    if collection
        .is_locked()
        .map_err(|e| fail(describe_ss_error(&e)))?
    {
        return Err(fail(
            "the keyring is locked (it unlocks when you log in to the desktop session; \
             Mayros Sync never asks for its password)"
                .into(),
        ));
    }
    Ok(())
}

/// Maps a `keyring` error to the store error, with a readable reason.
fn keyring_error(op: &'static str, account: &str, e: &keyring::Error) -> Error {
    let reason = match e {
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => {
            match inner.downcast_ref::<dbus_secret_service::Error>() {
                Some(ss) => describe_ss_error(ss),
                None => e.to_string(),
            }
        }
        keyring::Error::Ambiguous(found) => format!(
            "{} entries match this account; remove the duplicates (e.g. with seahorse)",
            found.len()
        ),
        other => other.to_string(),
    };
    Error::Keyring {
        op,
        account: account.to_string(),
        reason,
    }
}

/// Words for a Secret Service error: no bus, no service, locked, …
fn describe_ss_error(e: &dbus_secret_service::Error) -> String {
    use dbus_secret_service::Error as E;
    match e {
        E::Dbus(d) => {
            let name = d.name().unwrap_or("");
            let message = d.message().unwrap_or("");
            match name {
                "org.freedesktop.DBus.Error.ServiceUnknown"
                | "org.freedesktop.DBus.Error.NameHasNoOwner" => {
                    "no Secret Service on the session bus (no keyring daemon such as \
                     gnome-keyring is running)"
                        .to_string()
                }
                "org.freedesktop.DBus.Error.NoServer"
                | "org.freedesktop.DBus.Error.FileNotFound"
                | "org.freedesktop.DBus.Error.NotSupported"
                | "org.freedesktop.DBus.Error.BadAddress"
                | "org.freedesktop.DBus.Error.Spawn.ExecFailed" => {
                    format!("no D-Bus session bus to reach a keyring ({message})")
                }
                _ => format!("D-Bus error {name}: {message}"),
            }
        }
        E::Locked => "the keyring is locked".into(),
        E::Prompt => "the keyring wants to show a password prompt, which Mayros Sync never \
                      allows"
            .into(),
        E::NoResult => "the keyring has no default collection (no login keyring)".into(),
        E::Unavailable => "no Secret Service is available".into(),
        other => other.to_string(),
    }
}

/// How the secret store is chosen (env [`SECRET_STORE_ENV`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecretStoreChoice {
    /// The keyring when it works, else the 0600 files (with a warning saying why).
    #[default]
    Auto,
    /// The keyring or nothing: starting fails when it cannot be used.
    Keyring,
    /// The 0600 files, without asking the keyring (tests, machines without a session bus).
    File,
}

impl SecretStoreChoice {
    /// Parses `auto`, `keyring` or `file` (an empty value is `auto`).
    pub fn parse(value: &str) -> Result<SecretStoreChoice, Error> {
        match value.trim() {
            "" | "auto" => Ok(SecretStoreChoice::Auto),
            "keyring" => Ok(SecretStoreChoice::Keyring),
            "file" => Ok(SecretStoreChoice::File),
            _ => Err(Error::InvalidSecretStoreChoice {
                value: value.to_string(),
            }),
        }
    }

    /// The choice in `MAYROS_SECRET_STORE`, `auto` when unset.
    pub fn from_env() -> Result<SecretStoreChoice, Error> {
        match std::env::var(SECRET_STORE_ENV) {
            Ok(v) => SecretStoreChoice::parse(&v),
            Err(std::env::VarError::NotPresent) => Ok(SecretStoreChoice::Auto),
            Err(std::env::VarError::NotUnicode(v)) => Err(Error::InvalidSecretStoreChoice {
                value: v.to_string_lossy().into_owned(),
            }),
        }
    }
}

/// The secret store an engine uses, and what choosing it found.
pub struct SecretStoreSelection {
    /// The store to use.
    pub store: Arc<dyn SecretStore>,
    /// Why the keyring is not used, for status warnings (`None` when it is, or when the files
    /// were chosen explicitly).
    pub warning: Option<String>,
    /// The secrets moved from files into the keyring just now.
    pub migrated: Vec<String>,
}

impl fmt::Debug for SecretStoreSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretStoreSelection")
            .field("kind", &self.store.kind())
            .field("warning", &self.warning)
            .field("migrated", &self.migrated)
            .finish()
    }
}

/// Chooses where the secrets of the engine with data dir `data_dir` and install id `install_id`
/// live, migrating file copies into the keyring when it is chosen (see the module docs).
///
/// With [`SecretStoreChoice::Auto`] this takes at most about [`KEYRING_TIMEOUT`] per keyring
/// call when the keyring hangs, and fails fast when there is none. It is an error to fall back
/// to files after the secrets were moved into the keyring (that would silently make a new
/// device key): the error says how to recover.
pub fn select_secret_store(
    data_dir: &Path,
    install_id: &str,
    choice: SecretStoreChoice,
) -> Result<SecretStoreSelection, Error> {
    select_with_keyring(data_dir, KeyringSecretStore::new(install_id)?, choice)
}

/// [`select_secret_store`] with a given keyring store (tests shorten its time limit).
pub fn select_with_keyring(
    data_dir: &Path,
    keyring: KeyringSecretStore,
    choice: SecretStoreChoice,
) -> Result<SecretStoreSelection, Error> {
    let files = FileSecretStore::new(data_dir)?;
    let marker = files.dir().join(KEYRING_MARKER);
    let moved = marker.exists();
    let in_keyring_error = |reason: String| Error::SecretsInKeyring {
        install_id: keyring.install_id().to_string(),
        reason,
        marker: marker.clone(),
    };
    if choice == SecretStoreChoice::File {
        if moved {
            return Err(in_keyring_error(format!(
                "{SECRET_STORE_ENV}=file asks for the file store"
            )));
        }
        return Ok(file_selection(files, None));
    }
    if let Err(e) = keyring.probe() {
        let reason = e.to_string();
        if moved {
            return Err(in_keyring_error(reason));
        }
        if choice == SecretStoreChoice::Keyring {
            return Err(Error::KeyringRequired { reason });
        }
        let warning = format!(
            "{reason} — secrets are kept in 0600 files in {}",
            files.dir().display()
        );
        tracing::warn!("{warning}");
        return Ok(file_selection(files, Some(warning)));
    }
    // The keyring works. Copy every file secret into it and verify, record the move, and only
    // then delete the file copies, so no crash can leave a secret nowhere.
    let names = files.names()?;
    if let Err(e) = copy_into(&files, &keyring, &names) {
        if moved {
            return Err(in_keyring_error(e.to_string()));
        }
        let warning = format!(
            "{e} — secrets stay in 0600 files in {}",
            files.dir().display()
        );
        tracing::warn!("{warning}");
        return Ok(file_selection(files, Some(warning)));
    }
    if !moved {
        write_marker(&marker, keyring.install_id())?;
    }
    let mut migrated = Vec::new();
    for name in names {
        match files.delete(&name) {
            Ok(()) => migrated.push(name),
            Err(e) => {
                tracing::warn!(%name, "the secret is in the OS keyring but its file copy could not be deleted: {e}")
            }
        }
    }
    if !migrated.is_empty() {
        tracing::info!(
            secrets = ?migrated,
            "moved secrets from 0600 files into the OS keyring (service {KEYRING_SERVICE}, account {}/<name>)",
            keyring.install_id()
        );
    }
    Ok(SecretStoreSelection {
        store: Arc::new(keyring),
        warning: None,
        migrated,
    })
}

/// Moves every secret held as a file into `to`: copy, verify by reading back, delete the file.
///
/// Stops at the first failure; the secrets not moved yet keep their files.
pub fn migrate_secrets(from: &FileSecretStore, to: &dyn SecretStore) -> Result<Vec<String>, Error> {
    let mut moved = Vec::new();
    for name in from.names()? {
        copy_into(from, to, std::slice::from_ref(&name))?;
        from.delete(&name)?;
        moved.push(name);
    }
    Ok(moved)
}

/// Copies the named file secrets into `to`, each verified by reading it back.
fn copy_into(from: &FileSecretStore, to: &dyn SecretStore, names: &[String]) -> Result<(), Error> {
    for name in names {
        let Some(value) = from.get(name)? else {
            continue;
        };
        let fail = |reason: String| Error::SecretMigration {
            name: name.clone(),
            reason,
        };
        if let Some(existing) = to.get(name).map_err(|e| fail(e.to_string()))? {
            if existing != value {
                tracing::warn!(%name, "the keyring held another value for this secret; the file copy, last in use, replaces it");
            }
        }
        to.put(name, &value).map_err(|e| fail(e.to_string()))?;
        match to.get(name).map_err(|e| fail(e.to_string()))? {
            Some(back) if back == value => {}
            Some(_) => return Err(fail("the value read back differs".into())),
            None => return Err(fail("it is missing when read back".into())),
        }
    }
    Ok(())
}

fn file_selection(files: FileSecretStore, warning: Option<String>) -> SecretStoreSelection {
    SecretStoreSelection {
        store: Arc::new(files),
        warning,
        migrated: Vec::new(),
    }
}

fn write_marker(marker: &PathBuf, install_id: &str) -> Result<(), Error> {
    let text = format!(
        "The secrets of this engine are in the OS keyring: service {KEYRING_SERVICE}, \
         accounts {install_id}/<name>.\n"
    );
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(marker)?;
        f.write_all(text.as_bytes())
    };
    write().map_err(|e| Error::Io {
        what: "cannot record the move of the secrets into the keyring in",
        path: marker.clone(),
        source: e,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::secrets::MemorySecretStore;

    #[test]
    fn choices_parse() {
        assert_eq!(
            SecretStoreChoice::parse("").unwrap(),
            SecretStoreChoice::Auto
        );
        assert_eq!(
            SecretStoreChoice::parse("auto").unwrap(),
            SecretStoreChoice::Auto
        );
        assert_eq!(
            SecretStoreChoice::parse("keyring").unwrap(),
            SecretStoreChoice::Keyring
        );
        assert_eq!(
            SecretStoreChoice::parse(" file ").unwrap(),
            SecretStoreChoice::File
        );
        let err = SecretStoreChoice::parse("vault").unwrap_err().to_string();
        assert!(
            err.contains("MAYROS_SECRET_STORE") && err.contains("vault"),
            "{err}"
        );
    }

    #[test]
    fn accounts_carry_the_install_id() {
        let a = KeyringSecretStore::new("0123abcd").unwrap();
        assert_eq!(a.account("group-seed"), "0123abcd/group-seed");
        assert_eq!(a.kind(), SecretStoreKind::Keyring);
        assert!(KeyringSecretStore::new("a/b").is_err());
        assert!(KeyringSecretStore::new("").is_err());
        assert!(
            a.get("../x").is_err(),
            "names are validated before any call"
        );
    }

    #[test]
    fn migration_copies_verifies_and_deletes_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let files = FileSecretStore::new(dir.path()).unwrap();
        files.put("device-key", &[7; 32]).unwrap();
        files.put("group-seed", &[9; 32]).unwrap();
        let to = MemorySecretStore::new();
        let moved = migrate_secrets(&files, &to).unwrap();
        assert_eq!(moved, vec!["device-key", "group-seed"]);
        assert_eq!(to.get("device-key").unwrap(), Some(vec![7; 32]));
        assert_eq!(to.get("group-seed").unwrap(), Some(vec![9; 32]));
        assert!(files.names().unwrap().is_empty());
        assert_eq!(files.get("device-key").unwrap(), None);
    }

    #[test]
    fn forced_file_store_is_refused_after_the_move_to_the_keyring() {
        let dir = tempfile::tempdir().unwrap();
        let keyring = KeyringSecretStore::new("feed").unwrap();
        let sel =
            select_with_keyring(dir.path(), keyring.clone(), SecretStoreChoice::File).unwrap();
        assert_eq!(sel.store.kind(), SecretStoreKind::File);
        assert_eq!(sel.warning, None);
        let files = FileSecretStore::new(dir.path()).unwrap();
        fs::write(files.dir().join(KEYRING_MARKER), b"moved").unwrap();
        let err = select_with_keyring(dir.path(), keyring, SecretStoreChoice::File)
            .unwrap_err()
            .to_string();
        assert!(err.contains("moved into the OS keyring"), "{err}");
        assert!(err.contains(KEYRING_MARKER), "{err}");
    }
}
