//! SQLite triple store of Mayros Sync (DESIGN §2, §11): live triples, the change log,
//! tombstones and meta; delta pages and remote batches for sync (DESIGN §2.2–§2.4, §5); the
//! conflict log, peers, roster, invites and counters; tombstone collection and the review
//! queue (DESIGN §2.3); plus the device's secret store and identity (DESIGN §7.3).
//!
//! One [`Store`] owns one SQLite connection and the local [`HlcClock`]. Every write is one
//! `BEGIN IMMEDIATE` transaction that also appends its change-log rows, so a crash (even
//! `kill -9`) loses no committed change and leaves no half-applied batch.
//!
//! Durability: the database runs in WAL mode with `synchronous = FULL`, so the WAL is
//! fsynced at every commit and a committed batch also survives power loss or an OS crash
//! (with `NORMAL` it would survive a process crash only). That costs one fsync per
//! transaction, which batches amortise; see [`SYNCHRONOUS`].
#![warn(missing_docs)]

pub mod agent_events;
pub mod apply;
pub mod changelog;
pub mod conflicts;
pub mod counters;
pub mod damage;
pub mod delta;
pub mod elements;
pub mod error;
pub mod identity;
pub mod invites;
pub mod keyring_store;
pub mod listings;
pub mod meta;
pub mod peers;
pub mod review;
pub mod roster;
pub mod schema;
pub mod secrets;
pub mod tombstones;
pub mod triples;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mayros_sync_proto::{Hlc, HlcClock};
use rusqlite::Connection;

pub use agent_events::{
    AppendOutcome, EventFilter, EventRetention, NewAgentEvent, StoredAgentEvent,
};
pub use apply::{ApplyContext, ApplyOutcome, RemoteDeletion, RemoteTriple};
pub use changelog::{ChangeEntry, ChangeOp};
pub use conflicts::ConflictRecord;
pub use delta::{DeltaPage, DELTA_MAX_EXAMINED};
pub use elements::{CurrentChange, ElementDelta, SyncElement};
pub use error::Error;
pub use identity::DeviceIdentity;
pub use invites::PendingInvite;
pub use keyring_store::{
    select_secret_store, KeyringSecretStore, SecretStoreChoice, SecretStoreSelection,
};
pub use listings::{Checkpoint, NamePage};
pub use meta::Meta;
pub use peers::{PeerRecord, SyncResult};
pub use review::ReviewItem;
pub use secrets::{FileSecretStore, MemorySecretStore, SecretStore, SecretStoreKind};
pub use tombstones::{CollectionReport, Tombstone};
pub use triples::{BatchOutcome, NewTriple, Pattern, Stats, StoredTriple, WriteContext};

/// The `synchronous` setting used with WAL (see the crate docs for why `FULL`).
pub const SYNCHRONOUS: &str = "FULL";

/// How long a statement waits for another connection's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The triple store: one SQLite connection and the local HLC.
#[derive(Debug)]
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) clock: HlcClock,
    /// The change-log epoch (fixed for the life of the file), cached from meta.
    pub(crate) epoch: String,
    path: Option<PathBuf>,
}

impl Store {
    /// Rows inserted, changed or deleted through this store since it was opened (triggers
    /// included): a change counter read from memory, no I/O. Equal answers mean nothing was
    /// written in between.
    pub fn total_changes(&self) -> u64 {
        self.conn.total_changes()
    }
}

impl Drop for Store {
    /// A clean close leaves the write-ahead log empty, so at the next open a non-empty log means
    /// a crash (and the header's page count may lag until SQLite finishes the checkpoint).
    fn drop(&mut self) {
        if self.path.is_some() {
            if let Err(e) = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);") {
                tracing::warn!(error = %e, "cannot checkpoint the store's write-ahead log at close");
            }
        }
    }
}

impl Store {
    /// Opens (creating if needed) the store file at `path` and migrates it to the latest schema.
    ///
    /// The parent directory must exist. A database from a newer build is refused.
    pub fn open(path: &Path) -> Result<Store, Error> {
        damage::check_file(path)?;
        Store::open_checked(path).map_err(|e| damage::classify(e, path))
    }

    fn open_checked(path: &Path) -> Result<Store, Error> {
        let open_err = |source| Error::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), %mode, "SQLite refused WAL mode; using {mode}");
        }
        Store::setup(conn, path, Some(path.to_path_buf()))
    }

    /// Opens a fresh store that lives in memory only (for tests and tools).
    pub fn open_in_memory() -> Result<Store, Error> {
        let path = Path::new(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| Error::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Store::setup(conn, path, None)
    }

    fn setup(mut conn: Connection, path: &Path, file: Option<PathBuf>) -> Result<Store, Error> {
        let open_err = |source| Error::Open {
            path: path.to_path_buf(),
            source,
        };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {SYNCHRONOUS};
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -32768;"
        ))
        .map_err(open_err)?;
        conn.set_prepared_statement_cache_capacity(32);
        schema::migrate(&mut conn, path, now_ms())?;
        // The committed clock, when recorded; older stores resume from their highest stamp.
        let last = match meta::clock(&conn)? {
            Some(hlc) => hlc,
            None => max_stored_hlc(&conn)?,
        };
        let epoch = meta::read(&conn)?.log_epoch;
        Ok(Store {
            conn,
            clock: HlcClock::resume(last),
            epoch,
            path: file,
        })
    }

    /// The database file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Schema version, node id, install id and log epoch.
    pub fn meta(&self) -> Result<Meta, Error> {
        meta::read(&self.conn)
    }

    /// Records the node id of the device that owns this store.
    pub fn set_node_id(&mut self, node_id: &str) -> Result<(), Error> {
        meta::set_node_id(&self.conn, node_id)
    }

    /// The last HLC stamp issued or adopted (resumed on open from the last committed value).
    pub fn clock(&self) -> Hlc {
        self.clock.last()
    }

    /// Runs SQLite's `integrity_check`; `Err(Corrupt)` lists the problems found.
    pub fn check_integrity(&self) -> Result<(), Error> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let lines = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        if lines.len() == 1 && lines[0] == "ok" {
            Ok(())
        } else {
            Err(Error::Corrupt(lines.join("; ")))
        }
    }
}

/// The highest stamp in any table, compared as u64 (stored values are bit-cast to i64).
fn max_stored_hlc(conn: &Connection) -> Result<Hlc, Error> {
    let raw: Option<i64> = conn
        .query_row(
            "SELECT hlc FROM (
             SELECT hlc FROM triples
             UNION ALL SELECT hlc FROM tombstones
             UNION ALL SELECT hlc FROM change_log
         ) ORDER BY hlc < 0 DESC, hlc DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    Ok(raw.map(triples::hlc_from_sql).unwrap_or(Hlc::ZERO))
}

/// The system clock in unix milliseconds (0 if it is before 1970).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn clock_resumes_from_the_highest_stamp_compared_unsigned() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(max_stored_hlc(&store.conn).unwrap(), Hlc::ZERO);
        let high = Hlc::from_u64(u64::MAX - 5); // negative once bit-cast to i64
        for (hlc, table) in [(Hlc::new(10, 0), "change_log"), (high, "tombstones")] {
            let sql = match table {
                "change_log" => {
                    "INSERT INTO change_log (id, op, hlc, author, recorded_at_ms) \
                                 VALUES (zeroblob(32), 1, ?1, 'a', 0)"
                }
                _ => {
                    "INSERT INTO tombstones (id, hlc, \"by\", deleted_at_ms) \
                      VALUES (zeroblob(32), ?1, 'a', 0)"
                }
            };
            store.conn.execute(sql, [triples::hlc_to_sql(hlc)]).unwrap();
        }
        assert_eq!(max_stored_hlc(&store.conn).unwrap(), high);
    }
}
