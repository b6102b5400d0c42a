//! Durable tombstones (DESIGN §2.3): a delete removes the triple and leaves `{id, hlc, by}`.

use mayros_sync_proto::{Hlc, TripleId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::changelog::{self, ChangeOp};
use crate::error::Error;
use crate::triples::{count, hlc_from_sql, hlc_to_sql, u64_to_sql};
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
}

/// Removes the tombstone of a re-asserted id; bind (id).
pub(crate) const DELETE: &str = "DELETE FROM tombstones WHERE id = ?1";

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
        let removed = tx
            .prepare_cached("DELETE FROM triples WHERE id = ?1")?
            .execute([id.as_bytes()])?;
        if removed == 0 {
            return Ok(None);
        }
        let hlc = clock.tick(ctx.wall_ms);
        tx.prepare_cached(
            "INSERT OR REPLACE INTO tombstones (id, hlc, \"by\", deleted_at_ms)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute((
            id.as_bytes(),
            hlc_to_sql(hlc),
            &ctx.author,
            u64_to_sql(ctx.wall_ms),
        ))?;
        tx.prepare_cached(changelog::INSERT)?.execute((
            id.as_bytes(),
            ChangeOp::Delete.code(),
            hlc_to_sql(hlc),
            &ctx.author,
            u64_to_sql(ctx.wall_ms),
        ))?;
        tx.commit()?;
        self.clock = clock;
        Ok(Some(Tombstone {
            id: *id,
            hlc,
            by: ctx.author.clone(),
            deleted_at_ms: ctx.wall_ms,
        }))
    }

    /// The tombstone for this id, if it was deleted and not re-asserted since.
    pub fn tombstone(&self, id: &TripleId) -> Result<Option<Tombstone>, Error> {
        let row = self
            .conn
            .prepare_cached("SELECT hlc, \"by\", deleted_at_ms FROM tombstones WHERE id = ?1")?
            .query_row([id.as_bytes()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .optional()?;
        row.map(|(hlc, by, deleted_at_ms)| {
            Ok(Tombstone {
                id: *id,
                hlc: hlc_from_sql(hlc),
                by,
                deleted_at_ms: count(deleted_at_ms)?,
            })
        })
        .transpose()
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
