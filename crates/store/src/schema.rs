//! Versioned schema migrations, applied in one transaction when a store is opened (DESIGN §11).
//!
//! Each migration is a const SQL script with a version number. `schema_migrations` records which
//! ones ran and when; a database with a higher version than [`LATEST_VERSION`] is refused.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::error::Error;
use crate::meta;

/// SQLite `application_id` stamped into every store file ("MYRS").
pub const APPLICATION_ID: i32 = 0x4D59_5253;

/// One schema step.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The version this migration brings the schema to.
    pub version: u32,
    /// The SQL script.
    pub sql: &'static str,
}

/// Version 1: triples, change log, tombstones, meta.
///
/// `hlc` columns hold the u64 stamp bit-cast to i64. `object` is the RFC 8785 canonical JSON of
/// the value (what filters match on); `object_type` is the variant index, which the JSON alone
/// cannot always recover (a `Float` 2.0 renders as `2`).
const V1: &str = "
CREATE TABLE triples (
    id          BLOB    PRIMARY KEY NOT NULL CHECK (length(id) = 32),
    subject     TEXT    NOT NULL,
    predicate   TEXT    NOT NULL,
    object      TEXT    NOT NULL,
    object_type INTEGER NOT NULL,
    namespace   TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    hlc         INTEGER NOT NULL,
    author      TEXT    NOT NULL,
    source      TEXT
);
-- (subject, predicate, id) also serves the listing order of `find`.
CREATE INDEX triples_subject   ON triples (subject, predicate, id);
CREATE INDEX triples_predicate ON triples (predicate);
CREATE INDEX triples_object    ON triples (object);
CREATE INDEX triples_namespace ON triples (namespace);

CREATE TABLE change_log (
    position       INTEGER PRIMARY KEY AUTOINCREMENT,
    id             BLOB    NOT NULL,
    op             INTEGER NOT NULL CHECK (op IN (1, 2)),
    hlc            INTEGER NOT NULL,
    author         TEXT    NOT NULL,
    recorded_at_ms INTEGER NOT NULL
);
CREATE INDEX change_log_recorded_at ON change_log (recorded_at_ms);

CREATE TABLE tombstones (
    id            BLOB    PRIMARY KEY NOT NULL CHECK (length(id) = 32),
    hlc           INTEGER NOT NULL,
    \"by\"          TEXT    NOT NULL,
    deleted_at_ms INTEGER NOT NULL
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
";

/// Version 2: namespaces on deletions; conflict log, peers, roster, invites, counters.
///
/// `namespace` on `change_log` and `tombstones` (and `subject` on `tombstones`) lets delta sync
/// filter deletions; they are NULL for rows written before v2 and for deletions of ids this
/// store never held. Insert rows of still-live triples are back-filled from `triples`.
const V2: &str = "
ALTER TABLE change_log ADD COLUMN namespace TEXT;
ALTER TABLE tombstones ADD COLUMN namespace TEXT;
ALTER TABLE tombstones ADD COLUMN subject TEXT;
UPDATE change_log
   SET namespace = (SELECT t.namespace FROM triples AS t WHERE t.id = change_log.id)
 WHERE op = 1;

CREATE TABLE conflict_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms          INTEGER NOT NULL,
    namespace      TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    predicate      TEXT    NOT NULL,
    strategy       TEXT    NOT NULL,
    peer           TEXT    NOT NULL,
    winners        TEXT    NOT NULL,
    losers         TEXT    NOT NULL,
    restored_at_ms INTEGER
);

CREATE TABLE peers (
    node_id              TEXT    PRIMARY KEY NOT NULL,
    name                 TEXT    NOT NULL,
    endpoint             TEXT,
    quic_addr            TEXT,
    namespaces           TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    added_at_ms          INTEGER NOT NULL,
    last_sync_at_ms      INTEGER,
    last_success_at_ms   INTEGER,
    last_result          TEXT,
    last_error           TEXT,
    total_syncs          INTEGER NOT NULL DEFAULT 0,
    total_failures       INTEGER NOT NULL DEFAULT 0,
    total_triples_synced INTEGER NOT NULL DEFAULT 0,
    failures             INTEGER NOT NULL DEFAULT 0,
    next_retry_at_ms     INTEGER,
    cursor               TEXT
);

CREATE TABLE roster_entries (
    node_id   TEXT    NOT NULL,
    action    TEXT    NOT NULL CHECK (action IN ('add', 'remove')),
    \"by\"      TEXT    NOT NULL,
    at_ms     INTEGER NOT NULL,
    signature TEXT    NOT NULL,
    PRIMARY KEY (node_id, action, \"by\", at_ms)
) WITHOUT ROWID;

CREATE TABLE invites (
    secret_hash   BLOB    PRIMARY KEY NOT NULL CHECK (length(secret_hash) = 32),
    secret        BLOB    NOT NULL CHECK (length(secret) = 16),
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER,
    used_by       TEXT
);

CREATE TABLE counters (
    name  TEXT    PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
";

/// Version 3: tombstone collection (DESIGN §2.3): acknowledgements and the stale flag on
/// peers, each tombstone's change-log position, and the review queue.
///
/// `acked_position` is the highest position of our change log a member has acknowledged (sent
/// as its delta cursor); 0 means nothing. `stale` (0/1) marks a member that missed a tombstone
/// collected after the maximum retention. `log_position` is the change-log position of the
/// delete that produced the tombstone, back-filled here through a temporary index on
/// `change_log (id)` (0 when no log row matches). The review queue holds triples a stale peer
/// (or a full comparison) offered that we lack and that are older than our collection
/// horizon; its columns mirror `triples`.
const V3: &str = "
ALTER TABLE peers ADD COLUMN acked_position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE peers ADD COLUMN stale INTEGER NOT NULL DEFAULT 0;

ALTER TABLE tombstones ADD COLUMN log_position INTEGER NOT NULL DEFAULT 0;
CREATE INDEX change_log_id_v3_backfill ON change_log (id);
UPDATE tombstones SET log_position = COALESCE((
    SELECT MAX(c.position) FROM change_log AS c
     WHERE c.id = tombstones.id AND c.op = 2 AND c.hlc = tombstones.hlc
       AND c.author = tombstones.\"by\"), 0);
DROP INDEX change_log_id_v3_backfill;
CREATE INDEX tombstones_deleted_at ON tombstones (deleted_at_ms);

CREATE TABLE review_queue (
    id             BLOB    PRIMARY KEY NOT NULL CHECK (length(id) = 32),
    subject        TEXT    NOT NULL,
    predicate      TEXT    NOT NULL,
    object         TEXT    NOT NULL,
    object_type    INTEGER NOT NULL,
    namespace      TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    hlc            INTEGER NOT NULL,
    author         TEXT    NOT NULL,
    from_peer      TEXT    NOT NULL,
    received_at_ms INTEGER NOT NULL
);
";

/// Version 4: agent trace events the Mayros client posts to `/api/v1/events`. They are this
/// device's records (never synced, no change-log entry); `seq` orders them and bounds retention.
const V4: &str = "
CREATE TABLE agent_events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT    NOT NULL UNIQUE,
    type           TEXT    NOT NULL,
    agent_id       TEXT    NOT NULL,
    session        TEXT,
    timestamp      TEXT    NOT NULL,
    recorded_at_ms INTEGER NOT NULL,
    body           TEXT    NOT NULL
);
CREATE INDEX agent_events_agent ON agent_events (agent_id, seq);
CREATE INDEX agent_events_recorded_at ON agent_events (recorded_at_ms);
";

/// Every migration, oldest first; versions are 1, 2, 3, … without gaps.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: V1,
    },
    Migration {
        version: 2,
        sql: V2,
    },
    Migration {
        version: 3,
        sql: V3,
    },
    Migration {
        version: 4,
        sql: V4,
    },
];

/// The schema version this build creates and understands.
pub const LATEST_VERSION: u32 = 4;

/// Brings the database to [`LATEST_VERSION`] and fills in missing meta rows, in one transaction.
pub(crate) fn migrate(conn: &mut Connection, path: &Path, now_ms: u64) -> Result<u32, Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let app_id: i32 = tx.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if app_id != 0 && app_id != APPLICATION_ID {
        return Err(Error::NotAStore {
            path: path.to_path_buf(),
            found: app_id,
        });
    }
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version       INTEGER PRIMARY KEY NOT NULL,
             applied_at_ms INTEGER NOT NULL
         )",
    )?;
    let current: Option<i64> = tx
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    let current = u32::try_from(current.unwrap_or(0))
        .map_err(|_| Error::Corrupt(format!("schema version {current:?} is out of range")))?;
    if current > LATEST_VERSION {
        return Err(Error::SchemaTooNew {
            found: current,
            supported: LATEST_VERSION,
        });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.execute_batch(m.sql).map_err(|source| Error::Migration {
            version: m.version,
            source,
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?1, ?2)",
            (m.version, now_ms as i64),
        )
        .map_err(|source| Error::Migration {
            version: m.version,
            source,
        })?;
    }
    if app_id == 0 {
        tx.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}"))?;
    }
    meta::init(&tx, LATEST_VERSION)?;
    tx.commit()?;
    Ok(LATEST_VERSION)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_and_latest_is_last() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
        }
        assert_eq!(MIGRATIONS.last().unwrap().version, LATEST_VERSION);
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        let p = Path::new(":memory:");
        assert_eq!(migrate(&mut conn, p, 1).unwrap(), LATEST_VERSION);
        assert_eq!(migrate(&mut conn, p, 2).unwrap(), LATEST_VERSION);
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, MIGRATIONS.len() as i64);
    }

    #[test]
    fn newer_version_is_refused_and_nothing_changes() {
        let mut conn = Connection::open_in_memory().unwrap();
        let p = Path::new(":memory:");
        migrate(&mut conn, p, 1).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?1, 5)",
            [LATEST_VERSION + 1],
        )
        .unwrap();
        let err = migrate(&mut conn, p, 6).unwrap_err();
        assert!(matches!(err, Error::SchemaTooNew { found, .. } if found == LATEST_VERSION + 1));
        assert!(err.to_string().contains("upgrade Mayros Sync"), "{err}");
    }

    #[test]
    fn foreign_application_id_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA application_id = 42").unwrap();
        let err = migrate(&mut conn, Path::new("x.db"), 1).unwrap_err();
        assert!(err.to_string().contains("not a Mayros Sync store"), "{err}");
    }
}
