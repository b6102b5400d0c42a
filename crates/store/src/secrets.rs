//! Where device secrets (the device key, the group seed) are kept (DESIGN §7.3).
//!
//! [`SecretStore`] is the seam: the OS keyring backend is in [`crate::keyring_store`] (with
//! the choice between it and the file store); here are the file fallback ([`FileSecretStore`])
//! and an in-memory backend for tests.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rand::RngCore;

use crate::error::Error;

/// Longest secret name accepted.
pub const MAX_NAME_LEN: usize = 128;

/// A backend that stores small named secrets.
pub trait SecretStore: Send + Sync {
    /// The secret's bytes, or `None` when it does not exist.
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, Error>;
    /// Stores (or replaces) a secret.
    fn put(&self, name: &str, value: &[u8]) -> Result<(), Error>;
    /// Removes a secret; removing a missing one is not an error.
    fn delete(&self, name: &str) -> Result<(), Error>;
    /// Which kind of backend this is.
    fn kind(&self) -> SecretStoreKind;
}

/// The kinds of secret backend, as reported in status (`"keyring"`, `"file"`, `"memory"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretStoreKind {
    /// The OS keyring.
    Keyring,
    /// A 0600 file per secret in the data directory.
    File,
    /// Process memory only (tests).
    Memory,
}

impl SecretStoreKind {
    /// The lowercase name used in status output.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretStoreKind::Keyring => "keyring",
            SecretStoreKind::File => "file",
            SecretStoreKind::Memory => "memory",
        }
    }
}

impl fmt::Display for SecretStoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks that `name` is a plain file name: 1–128 of `A-Z a-z 0-9 . _ -`, not starting with `.`.
pub fn validate_name(name: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidSecretName {
            name: name.chars().take(MAX_NAME_LEN + 8).collect(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("it is longer than 128 bytes");
    }
    if name.contains(['/', '\\']) {
        return bad("it contains a path separator");
    }
    if name.starts_with('.') {
        return bad("it starts with `.`");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return bad("only letters, digits, `.`, `_` and `-` are allowed");
    }
    Ok(())
}

/// Secrets as files `<data-dir>/secrets/<name>`: directory 0700, files 0600, written atomically.
#[derive(Debug, Clone)]
pub struct FileSecretStore {
    dir: PathBuf,
}

impl FileSecretStore {
    /// Uses (creating if needed, and restricting to 0700) `<data_dir>/secrets`.
    pub fn new(data_dir: &Path) -> Result<FileSecretStore, Error> {
        let dir = data_dir.join("secrets");
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&dir)
            .map_err(|e| Error::io("cannot create the secrets directory", &dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io("cannot restrict the secrets directory to 0700", &dir, e))?;
        }
        Ok(FileSecretStore { dir })
    }

    /// The directory holding the secret files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The names of the secrets held as files, sorted (temporary and other files whose names
    /// are not valid secret names are skipped).
    pub fn names(&self) -> Result<Vec<String>, Error> {
        let entries = fs::read_dir(&self.dir)
            .map_err(|e| Error::io("cannot list the secrets directory", &self.dir, e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| Error::io("cannot list the secrets directory", &self.dir, e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
            if is_file && validate_name(&name).is_ok() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn path_of(&self, name: &str) -> Result<PathBuf, Error> {
        validate_name(name)?;
        Ok(self.dir.join(name))
    }

    /// Makes a rename or removal in the directory durable.
    fn sync_dir(&self) -> Result<(), Error> {
        #[cfg(unix)]
        fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io("cannot sync the secrets directory", &self.dir, e))?;
        Ok(())
    }
}

impl SecretStore for FileSecretStore {
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, Error> {
        let path = self.path_of(name)?;
        match fs::read(&path) {
            Ok(bytes) => {
                #[cfg(unix)]
                warn_if_loose(&path);
                Ok(Some(bytes))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("cannot read the secret file", path, e)),
        }
    }

    fn put(&self, name: &str, value: &[u8]) -> Result<(), Error> {
        let path = self.path_of(name)?;
        let tmp = self.dir.join(format!(
            ".{name}.tmp-{}-{:08x}",
            std::process::id(),
            rand::rngs::OsRng.next_u32()
        ));
        let written = write_new_private(&tmp, value)
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(|e| Error::io("cannot write the secret file", &path, e));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written?;
        self.sync_dir()
    }

    fn delete(&self, name: &str) -> Result<(), Error> {
        let path = self.path_of(name)?;
        match fs::remove_file(&path) {
            Ok(()) => self.sync_dir(),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("cannot delete the secret file", path, e)),
        }
    }

    fn kind(&self) -> SecretStoreKind {
        SecretStoreKind::File
    }
}

/// Creates `path` (which must not exist) readable by the owner only, writes and fsyncs it.
fn write_new_private(path: &Path, value: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(value)?;
    file.sync_all()
}

#[cfg(unix)]
fn warn_if_loose(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"),
                "secret file is readable by other users; it should be 0600");
        }
    }
}

/// Secrets held in process memory only (tests; nothing survives the process).
#[derive(Debug, Default)]
pub struct MemorySecretStore {
    entries: Mutex<HashMap<String, Vec<u8>>>,
}

impl MemorySecretStore {
    /// An empty store.
    pub fn new() -> MemorySecretStore {
        MemorySecretStore::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<u8>>> {
        // A panic while holding the lock cannot leave a HashMap half-updated in a way that
        // matters here, so a poisoned lock is still usable.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SecretStore for MemorySecretStore {
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, Error> {
        validate_name(name)?;
        Ok(self.entries().get(name).cloned())
    }

    fn put(&self, name: &str, value: &[u8]) -> Result<(), Error> {
        validate_name(name)?;
        self.entries().insert(name.to_string(), value.to_vec());
        Ok(())
    }

    fn delete(&self, name: &str) -> Result<(), Error> {
        validate_name(name)?;
        self.entries().remove(name);
        Ok(())
    }

    fn kind(&self) -> SecretStoreKind {
        SecretStoreKind::Memory
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn round_trip(store: &dyn SecretStore) {
        assert_eq!(store.get("group-seed").unwrap(), None);
        store.put("group-seed", b"one").unwrap();
        assert_eq!(
            store.get("group-seed").unwrap().as_deref(),
            Some(&b"one"[..])
        );
        store.put("group-seed", b"two, longer").unwrap();
        assert_eq!(
            store.get("group-seed").unwrap().as_deref(),
            Some(&b"two, longer"[..])
        );
        store.delete("group-seed").unwrap();
        assert_eq!(store.get("group-seed").unwrap(), None);
        store.delete("group-seed").unwrap();
    }

    fn rejects_bad_names(store: &dyn SecretStore) {
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "a\\b",
            ".hidden",
            "sp ace",
            "é",
            &"x".repeat(129),
        ] {
            let err = store.put(bad, b"v").unwrap_err();
            assert!(
                matches!(err, Error::InvalidSecretName { .. }),
                "{bad:?}: {err}"
            );
            assert!(store.get(bad).is_err(), "{bad:?}");
            assert!(store.delete(bad).is_err(), "{bad:?}");
        }
        store.put(&"x".repeat(128), b"v").unwrap();
    }

    #[test]
    fn memory_store_round_trips() {
        let store = MemorySecretStore::new();
        round_trip(&store);
        rejects_bad_names(&store);
        assert_eq!(store.kind(), SecretStoreKind::Memory);
    }

    #[test]
    fn file_store_round_trips_and_survives_a_new_instance() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileSecretStore::new(dir.path()).unwrap();
        round_trip(&store);
        rejects_bad_names(&store);
        store.put("device-key", &[7; 32]).unwrap();
        let again = FileSecretStore::new(dir.path()).unwrap();
        assert_eq!(again.get("device-key").unwrap(), Some(vec![7; 32]));
        assert_eq!(again.kind(), SecretStoreKind::File);
        let leftovers: Vec<_> = fs::read_dir(again.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
        again.delete(&"x".repeat(128)).unwrap();
        again.put("group-seed", b"seed").unwrap();
        fs::write(again.dir().join(".in-keyring"), b"marker").unwrap();
        fs::create_dir(again.dir().join("subdir")).unwrap();
        assert_eq!(again.names().unwrap(), vec!["device-key", "group-seed"]);
    }

    #[cfg(unix)]
    #[test]
    fn file_store_modes_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        // A pre-existing, too-open directory is tightened.
        fs::create_dir(&secrets).unwrap();
        fs::set_permissions(&secrets, fs::Permissions::from_mode(0o755)).unwrap();
        let store = FileSecretStore::new(dir.path()).unwrap();
        store.put("device-key", b"secret").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&secrets), 0o700);
        assert_eq!(mode(&secrets.join("device-key")), 0o600);
        store.put("device-key", b"replaced").unwrap();
        assert_eq!(mode(&secrets.join("device-key")), 0o600);
    }

    #[test]
    fn kinds_serialise_lowercase() {
        for (kind, text) in [
            (SecretStoreKind::Keyring, "keyring"),
            (SecretStoreKind::File, "file"),
            (SecretStoreKind::Memory, "memory"),
        ] {
            assert_eq!(kind.as_str(), text);
            assert_eq!(kind.to_string(), text);
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{text}\""));
            let back: SecretStoreKind = serde_json::from_str(&format!("\"{text}\"")).unwrap();
            assert_eq!(back, kind);
        }
    }
}
