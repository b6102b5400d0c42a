//! The one error type of the store crate.

use std::path::PathBuf;

/// Everything that can go wrong in the store, the secret stores and the device identity.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database file could not be opened or configured.
    #[error("cannot open the store database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The database file is damaged (truncated, overwritten) or not a database at all; it is
    /// left untouched.
    #[error(
        "the store database {path} is damaged: {detail}. It was left untouched. Move it away \
         (e.g. `mv {path} {path}.damaged`) and start again with an empty store, then pair this \
         device again (its peers and roster were in that file) so your other devices send \
         everything back; or put back a backup of the file"
    )]
    Damaged {
        /// The database file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The database file belongs to some other application.
    #[error("{path} is not a Mayros Sync store (SQLite application id {found:#010x})")]
    NotAStore {
        /// The database file.
        path: PathBuf,
        /// The application id found in the file header.
        found: i32,
    },
    /// The database was written by a newer Mayros Sync than this one.
    #[error(
        "the store has schema version {found}, but this build only knows up to version {supported}; \
         upgrade Mayros Sync (downgrading a store is not supported)"
    )]
    SchemaTooNew {
        /// The version recorded in the database.
        found: u32,
        /// The newest version this build can migrate to.
        supported: u32,
    },
    /// A schema migration failed; the database was left at its previous version.
    #[error("store schema migration to version {version} failed: {source}")]
    Migration {
        /// The migration that failed.
        version: u32,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A query or statement failed.
    #[error("store database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Data read from the database does not make sense (damaged file or foreign writes).
    #[error("the store database is corrupt: {0}")]
    Corrupt(String),
    /// A triple was refused because it cannot be stored faithfully.
    #[error("cannot store triple {id}: {reason}")]
    Unstorable {
        /// The triple's id (64 hex digits).
        id: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A file or directory operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// Which file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A secret name is not allowed (it must be a plain file name).
    #[error("invalid secret name {name:?}: {reason}")]
    InvalidSecretName {
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A stored secret has the wrong size; it is left untouched.
    #[error(
        "the stored secret {name:?} is {found} bytes long but must be {expected}; \
         it was left untouched (move it away to create a new one)"
    )]
    SecretWrongLength {
        /// The secret's name.
        name: String,
        /// Its stored length.
        found: usize,
        /// The length it must have.
        expected: usize,
    },
    /// The OS keyring refused or failed an operation.
    #[error("OS keyring: cannot {op} {account:?} (service mayros-sync): {reason}")]
    Keyring {
        /// What we were doing ("read", "store", "delete", "probe").
        op: &'static str,
        /// The keyring account (`<installId>/<name>`).
        account: String,
        /// What went wrong, in words.
        reason: String,
    },
    /// The OS keyring did not answer in time; the call was abandoned, never waited on.
    #[error(
        "OS keyring: {op} {account:?} (service mayros-sync) did not finish within {timeout_ms} ms; \
         a slow or locked keyring is not waited on"
    )]
    KeyringTimeout {
        /// What we were doing.
        op: &'static str,
        /// The keyring account (`<installId>/<name>`).
        account: String,
        /// The time limit, milliseconds.
        timeout_ms: u64,
    },
    /// The keyring was required (`MAYROS_SECRET_STORE=keyring`) but cannot be used.
    #[error("MAYROS_SECRET_STORE=keyring, but the OS keyring cannot be used: {reason}")]
    KeyringRequired {
        /// Why the keyring cannot be used.
        reason: String,
    },
    /// This engine's secrets were moved into the keyring, which cannot be used now.
    #[error(
        "this engine's secrets were moved into the OS keyring (service mayros-sync, accounts \
         {install_id}/…), which cannot be used now: {reason}. Unlock the keyring (log in to the \
         desktop session) and start again; to give up those secrets instead, delete {marker} \
         (the device then gets a new node id and must be paired again)"
    )]
    SecretsInKeyring {
        /// The install id (the accounts' prefix).
        install_id: String,
        /// Why the keyring cannot be used.
        reason: String,
        /// The marker file that records the move.
        marker: PathBuf,
    },
    /// A secret could not be copied from its file into the keyring.
    #[error("cannot move the secret {name:?} from its file into the OS keyring: {reason}")]
    SecretMigration {
        /// The secret's name.
        name: String,
        /// What went wrong.
        reason: String,
    },
    /// `MAYROS_SECRET_STORE` holds a value that is not a secret store choice.
    #[error("MAYROS_SECRET_STORE={value:?} is not one of auto, keyring, file")]
    InvalidSecretStoreChoice {
        /// The value found.
        value: String,
    },
    /// No conflict-log record has this id.
    #[error("no conflict with id {id} is recorded (list them with `mayros sync conflicts`)")]
    UnknownConflict {
        /// The id asked for.
        id: i64,
    },
    /// The conflict's losers were already restored.
    #[error("conflict {id} was already restored (at unix ms {restored_at_ms})")]
    ConflictAlreadyRestored {
        /// The conflict's id.
        id: i64,
        /// When it was restored, unix milliseconds.
        restored_at_ms: u64,
    },
    /// No item with this id is held for review.
    #[error("no item {id} is held for review (list them with `mayros sync review`)")]
    UnknownReviewItem {
        /// The id asked for (64 hex digits).
        id: String,
    },
    /// No peer with this node id is stored.
    #[error("no peer with node id {node_id} is known")]
    PeerUnknown {
        /// The node id asked for.
        node_id: String,
    },
    /// The invite secret was never issued by this device (or was mistyped).
    #[error("unknown invite code: this device never issued it (check the code, or create a new one with `mayros sync invite`)")]
    InviteUnknown,
    /// The invite is past its expiry time.
    #[error("the invite code has expired; create a new one with `mayros sync invite`")]
    InviteExpired,
    /// The invite was already used; invite codes are single use.
    #[error("the invite code was already used (invite codes are single use); create a new one with `mayros sync invite`")]
    InviteUsed,
}

impl Error {
    /// Wraps an I/O error with what we were doing and on which path.
    pub(crate) fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Error {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }
}
