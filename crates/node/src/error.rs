//! The one error type of the node crate.

use std::net::SocketAddr;
use std::path::PathBuf;

use mayros_sync_store::{SecretStore, SecretStoreKind};

/// Everything that can stop the engine from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The local API address could not be bound.
    #[error("cannot listen on {addr} (--api): {cause}")]
    ApiBind {
        /// The address we tried.
        addr: SocketAddr,
        /// What the OS said.
        cause: std::io::Error,
    },
    /// The peer API address could not be bound.
    #[error("cannot listen on {addr} (--peer-api): {cause}")]
    PeerApiBind {
        /// The address we tried.
        addr: SocketAddr,
        /// What the OS said.
        cause: std::io::Error,
    },
    /// The QUIC address could not be bound.
    #[error("cannot listen on {addr} (--quic): {cause}")]
    QuicBind {
        /// The address we tried.
        addr: SocketAddr,
        /// What the OS said.
        cause: std::io::Error,
    },
    /// Another engine already runs on this data directory.
    #[error("another Mayros Sync engine is already running on data dir {path}")]
    AlreadyRunning {
        /// The data directory.
        path: PathBuf,
    },
    /// The local API must only listen on loopback.
    #[error(
        "--api {addr} is not a loopback address; the local API only listens on 127.0.0.1 or ::1"
    )]
    ApiNotLoopback {
        /// The rejected address.
        addr: SocketAddr,
    },
    /// The configuration file is invalid.
    #[error("config file {path}: {cause}")]
    Config {
        /// Which file.
        path: PathBuf,
        /// What is wrong, naming the key.
        cause: mayros_sync_proto::Error,
    },
    /// A file in the data directory could not be read or written.
    #[error("{what} {path}: {cause}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// Which file or directory.
        path: PathBuf,
        /// What the OS said.
        cause: std::io::Error,
    },
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] mayros_sync_store::Error),
    /// The device certificate or a TLS configuration could not be built.
    #[error("TLS: {0}")]
    Tls(String),
    /// Talking to a peer failed (connect, TLS, HTTP).
    #[error("peer {0}")]
    Peer(String),
    /// Talking to the external Cortex failed (connect, timeout, an error status, a bad answer).
    #[error("external Cortex {url}: {message}")]
    Cortex {
        /// The Cortex base URL (`cortex.url`).
        url: String,
        /// What failed, naming the request and the status.
        message: String,
    },
    /// A secret could not be used.
    #[error("secret store: {0}")]
    Secret(String),
    /// The secret store (OS keyring or 0600 files) failed an operation; the store database is
    /// not involved.
    #[error("secret store ({kind}): {cause}; {}", secret_store_advice(*.kind))]
    SecretStore {
        /// Which secret store failed.
        kind: SecretStoreKind,
        /// What it said.
        cause: mayros_sync_store::Error,
    },
    /// mDNS discovery could not start.
    #[error("discovery: {0}")]
    Discovery(String),
    /// A blocking store task panicked or was cancelled.
    #[error("store task failed: {0}")]
    Task(String),
}

/// What the user can do when the secret store of this kind fails.
fn secret_store_advice(kind: SecretStoreKind) -> &'static str {
    match kind {
        SecretStoreKind::Keyring => {
            "unlock the OS keyring (log in to the desktop session) and try again, or start the \
             engine with MAYROS_SECRET_STORE=file to keep secrets in 0600 files instead"
        }
        SecretStoreKind::File => {
            "check that the secrets directory in the data directory exists, is writable by this \
             user and the disk is not full, then try again"
        }
        SecretStoreKind::Memory => "the in-memory secret store failed; restart the engine",
    }
}

impl Error {
    /// Wraps a failure of `secrets` so its message names the secret store and what to do.
    pub fn secret_store(secrets: &dyn SecretStore, cause: mayros_sync_store::Error) -> Error {
        Error::SecretStore {
            kind: secrets.kind(),
            cause,
        }
    }

    /// Wraps an I/O error with what we were doing and on which path.
    pub fn io(what: &'static str, path: impl Into<PathBuf>, cause: std::io::Error) -> Error {
        Error::Io {
            what,
            path: path.into(),
            cause,
        }
    }
}
