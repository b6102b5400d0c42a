//! Durable tombstones (DESIGN §2.3): a delete removes the triple and leaves `{id, hlc, by}`.

use mayros_sync_proto::{Hlc, TripleId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::changelog::{self, ChangeOp};
use crate::error::Error;
use crate::meta;
use crate::triples::{count, hlc_from_sql, hlc_to_sql, id_from_sql, u64_to_sql};
use crate::{Store, WriteContext};

/// The durable record of a deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    /// The deleted triple's id.
    pub id: TripleId,
    /// The HLC stamp of the delete.
    pub hlc: Hlc,
    /// Node id of the device that deleted it.
    pub by: String,
    /// Local wall clock when the tombstone was written here, unix milliseconds.
    pub deleted_at_ms: u64,
    /// Namespace of the deleted triple's subject; `None` when this store never held the
    /// triple (a deletion relayed by a peer) or the tombstone predates schema v2.
    pub namespace: Option<String>,
    /// The deleted triple's subject, when known (same cases as `namespace`).
    pub subject: Option<String>,
}

/// Removes the tombstone of a re-asserted id; bind (id).
pub(crate) const DELETE: &str = "DELETE FROM tombstones WHERE id = ?1";

const COLUMNS: &str = "id, hlc, \"by\", deleted_at_ms, namespace, subject";

impl Store {
    /// Deletes a live triple: removes it, writes a tombstone and logs the delete, in one
    /// transaction. Returns `None` (and changes nothing) when the id is not live.
    pub fn delete(
        &mut self,
        id: &TripleId,
        ctx: &WriteContext,
    ) -> Result<Option<Tombstone>, Error> {
        let mut clock = self.clock.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let removed: Option<(String, String)> = tx
            .prepare_cached("DELETE FROM triples WHERE id = ?1 RETURNING subject, namespace")?
            .query_row([id.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((subject, namespace)) = removed else {
            return Ok(None);
        };
        let tomb = Tombstone {
            id: *id,
            hlc: clock.tick(ctx.wall_ms),
            by: ctx.author.clone(),
            deleted_at_ms: ctx.wall_ms,
            namespace: Some(namespace),
            subject: Some(subject),
        };
        write(&tx, &tomb)?;
        changelog::append(
            &tx,
            id,
            ChangeOp::Delete,
            tomb.hlc,
            &tomb.by,
            ctx.wall_ms,
            tomb.namespace.as_deref(),
        )?;
        meta::set_clock(&tx, clock.last())?;
        tx.commit()?;
        self.clock = clock;
        Ok(Some(tomb))
    }

    /// The tombstone for this id, if it was deleted and not re-asserted since.
    pub fn tombstone(&self, id: &TripleId) -> Result<Option<Tombstone>, Error> {
        get_with(&self.conn, id)
    }

    /// Tombstones ordered by id, starting after `after` (keyset pagination), at most `limit`.
    pub fn tombstones_after(
        &self,
        after: Option<&TripleId>,
        limit: usize,
    ) -> Result<Vec<Tombstone>, Error> {
        let start: &[u8] = after.map(|id| id.as_bytes().as_slice()).unwrap_or(&[]);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM tombstones WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))?;
        let rows = stmt.query_map((start, limit), RawTombstone::read)?;
        rows.map(|r| r.map_err(Error::from).and_then(RawTombstone::decode))
            .collect()
    }

    /// The number of tombstones held.
    pub fn tombstone_count(&self) -> Result<u64, Error> {
        count(
            self.conn
                .prepare_cached("SELECT COUNT(*) FROM tombstones")?
                .query_row([], |r| r.get(0))?,
        )
    }
}

/// Whether any tombstone exists (lets a batch insert skip per-triple tombstone deletes).
pub(crate) fn any(conn: &Connection) -> Result<bool, Error> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM tombstones)")?
        .query_row([], |r| r.get(0))?)
}

/// Looks a tombstone up by id on any connection or transaction.
pub(crate) fn get_with(conn: &Connection, id: &TripleId) -> Result<Option<Tombstone>, Error> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM tombstones WHERE id = ?1"))?
        .query_row([id.as_bytes()], RawTombstone::read)
        .optional()?
        .map(RawTombstone::decode)
        .transpose()
}

/// Writes (or replaces) the tombstone of `tomb.id`; a `None` namespace or subject keeps the
/// one already recorded.
pub(crate) fn write(conn: &Connection, tomb: &Tombstone) -> Result<(), Error> {
    conn.prepare_cached(
        "INSERT INTO tombstones (id, hlc, \"by\", deleted_at_ms, namespace, subject)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET
             hlc = excluded.hlc,
             \"by\" = excluded.\"by\",
             deleted_at_ms = excluded.deleted_at_ms,
             namespace = COALESCE(excluded.namespace, tombstones.namespace),
             subject = COALESCE(excluded.subject, tombstones.subject)",
    )?
    .execute((
        tomb.id.as_bytes(),
        hlc_to_sql(tomb.hlc),
        &tomb.by,
        u64_to_sql(tomb.deleted_at_ms),
        &tomb.namespace,
        &tomb.subject,
    ))?;
    Ok(())
}

/// One row of `tombstones`, as read, before validation.
pub(crate) struct RawTombstone {
    pub(crate) id: Vec<u8>,
    pub(crate) hlc: i64,
    pub(crate) by: String,
    pub(crate) deleted_at_ms: i64,
    pub(crate) namespace: Option<String>,
    pub(crate) subject: Option<String>,
}

impl RawTombstone {
    /// Reads the columns of [`COLUMNS`] starting at index `at`.
    pub(crate) fn read_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<RawTombstone> {
        Ok(RawTombstone {
            id: r.get(at)?,
            hlc: r.get(at + 1)?,
            by: r.get(at + 2)?,
            deleted_at_ms: r.get(at + 3)?,
            namespace: r.get(at + 4)?,
            subject: r.get(at + 5)?,
        })
    }

    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawTombstone> {
        RawTombstone::read_at(r, 0)
    }

    pub(crate) fn decode(self) -> Result<Tombstone, Error> {
        Ok(Tombstone {
            id: id_from_sql(&self.id)?,
            hlc: hlc_from_sql(self.hlc),
            by: self.by,
            deleted_at_ms: count(self.deleted_at_ms)?,
            namespace: self.namespace,
            subject: self.subject,
        })
    }
}
