//! The device identity: an Ed25519 key whose public half, in hex, is the node id.

use std::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey, SECRET_KEY_LENGTH};

use crate::error::Error;
use crate::secrets::SecretStore;

/// Name of the secret holding the 32-byte Ed25519 seed.
pub const DEVICE_KEY_SECRET: &str = "device-key";

/// This device's long-term signing key.
#[derive(Clone)]
pub struct DeviceIdentity {
    signing_key: SigningKey,
}

impl DeviceIdentity {
    /// Loads the device key from `secrets`, creating and storing a new one the first time.
    ///
    /// A stored value that is not a 32-byte seed is an error and is never overwritten.
    pub fn load_or_create(secrets: &dyn SecretStore) -> Result<DeviceIdentity, Error> {
        if let Some(stored) = secrets.get(DEVICE_KEY_SECRET)? {
            let seed: [u8; SECRET_KEY_LENGTH] =
                stored
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::SecretWrongLength {
                        name: DEVICE_KEY_SECRET.into(),
                        found: stored.len(),
                        expected: SECRET_KEY_LENGTH,
                    })?;
            return Ok(DeviceIdentity {
                signing_key: SigningKey::from_bytes(&seed),
            });
        }
        let signing_key = SigningKey::generate(&mut rand::rngs::OsRng);
        secrets.put(DEVICE_KEY_SECRET, &signing_key.to_bytes())?;
        tracing::info!(kind = %secrets.kind(), "created a new device key");
        Ok(DeviceIdentity { signing_key })
    }

    /// The node id: 64 lowercase hex digits of the public key.
    pub fn node_id(&self) -> String {
        hex::encode(self.verifying_key().as_bytes())
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing_key.verifying_key()
    }

    /// The private key (never log it).
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }
}

impl fmt::Debug for DeviceIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceIdentity")
            .field("node_id", &self.node_id())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::secrets::{FileSecretStore, MemorySecretStore};
    use ed25519_dalek::{Signer, Verifier};

    #[test]
    fn identity_is_stable_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let first =
            DeviceIdentity::load_or_create(&FileSecretStore::new(dir.path()).unwrap()).unwrap();
        let second =
            DeviceIdentity::load_or_create(&FileSecretStore::new(dir.path()).unwrap()).unwrap();
        assert_eq!(first.node_id(), second.node_id());
        let id = first.node_id();
        assert_eq!(id.len(), 64);
        assert!(
            id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
            "{id}"
        );
        let sig = first.signing_key().sign(b"hello");
        second.verifying_key().verify(b"hello", &sig).unwrap();
    }

    #[test]
    fn distinct_stores_get_distinct_identities() {
        let a = DeviceIdentity::load_or_create(&MemorySecretStore::new()).unwrap();
        let b = DeviceIdentity::load_or_create(&MemorySecretStore::new()).unwrap();
        assert_ne!(a.node_id(), b.node_id());
    }

    #[test]
    fn wrong_length_key_is_an_error_and_left_alone() {
        let secrets = MemorySecretStore::new();
        secrets.put(DEVICE_KEY_SECRET, &[1; 31]).unwrap();
        let err = DeviceIdentity::load_or_create(&secrets).unwrap_err();
        assert!(
            matches!(
                err,
                Error::SecretWrongLength {
                    found: 31,
                    expected: 32,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("device-key"), "{err}");
        assert_eq!(secrets.get(DEVICE_KEY_SECRET).unwrap(), Some(vec![1; 31]));
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let secrets = MemorySecretStore::new();
        let id = DeviceIdentity::load_or_create(&secrets).unwrap();
        let seed = hex::encode(secrets.get(DEVICE_KEY_SECRET).unwrap().unwrap());
        let shown = format!("{id:?}");
        assert!(shown.contains(&id.node_id()));
        assert!(!shown.contains(&seed));
    }
}
