//! Durable tombstones (DESIGN §2.3): a delete removes the triple and leaves `{id, hlc, by}`.

use mayros_sync_proto::retention;
use mayros_sync_proto::{Hlc, TripleId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::changelog::{self, ChangeOp};
use crate::error::Error;
use crate::meta;
use crate::review;
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
        Ok(self.delete_batch(std::slice::from_ref(id), ctx)?.pop())
    }

    /// Deletes every live triple of `ids` in one transaction, like [`Store::delete`] for each;
    /// ids that are not live are skipped. Returns the tombstones written, in input order.
    pub fn delete_batch(
        &mut self,
        ids: &[TripleId],
        ctx: &WriteContext,
    ) -> Result<Vec<Tombstone>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut clock = self.clock.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut written = Vec::new();
        for id in ids {
            let removed: Option<(String, String)> = tx
                .prepare_cached("DELETE FROM triples WHERE id = ?1 RETURNING subject, namespace")?
                .query_row([id.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((subject, namespace)) = removed else {
                continue;
            };
            let tomb = Tombstone {
                id: *id,
                hlc: clock.tick(ctx.wall_ms),
                by: ctx.author.clone(),
                deleted_at_ms: ctx.wall_ms,
                namespace: Some(namespace),
                subject: Some(subject),
            };
            write_logged(&tx, &tomb)?;
            review::release_if_older(&tx, id, (tomb.hlc, &tomb.by))?;
            written.push(tomb);
        }
        if written.is_empty() {
            return Ok(written);
        }
        meta::set_clock(&tx, clock.last())?;
        tx.commit()?;
        self.clock = clock;
        Ok(written)
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

/// What one tombstone collection did (DESIGN §2.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CollectionReport {
    /// Tombstones past the minimum retention that were considered.
    pub examined: usize,
    /// Tombstones collected (deleted), on either ground.
    pub collected: usize,
    /// Of those, the ones collected after the maximum retention although some member had not
    /// acknowledged them.
    pub collected_by_max_retention: usize,
    /// Members marked stale by this run (they were not stale before), sorted.
    pub marked_stale: Vec<String>,
    /// The collection horizon after this run: the newest stamp of any tombstone collected so
    /// far, `None` while nothing was ever collected.
    pub horizon: Option<Hlc>,
    /// The lowest log position a delta cursor may start after, after this run.
    pub oldest_retained_position: u64,
    /// Tombstones still held.
    pub remaining: u64,
}

impl Store {
    /// Collects the tombstones that [`retention::verdict`] allows at `now_ms`, in one
    /// transaction (DESIGN §2.3).
    ///
    /// The members are the stored peers that are not removed, with their acknowledged log
    /// positions. A collected tombstone's row and its change-log row are deleted; the
    /// collection horizon (the newest collected stamp) and the lowest position a cursor may
    /// start after (the highest collected log position, so an older cursor gets 410
    /// `CURSOR_EXPIRED`) only move forward and are kept in meta. Members that had not
    /// acknowledged a tombstone collected after `max_retention_ms` are marked stale.
    pub fn collect_tombstones(
        &mut self,
        now_ms: u64,
        max_retention_ms: u64,
    ) -> Result<CollectionReport, Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let members: Vec<(String, u64)> = tx
            .prepare_cached(
                "SELECT node_id, acked_position FROM peers WHERE status != 'removed'
                 ORDER BY node_id",
            )?
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .map(|row| {
                let (node, ack) = row?;
                Ok((node, count(ack)?))
            })
            .collect::<Result<_, Error>>()?;
        let acks: Vec<u64> = members.iter().map(|(_, ack)| *ack).collect();
        let cutoff = now_ms.saturating_sub(retention::MIN_TOMBSTONE_RETENTION_MS);
        let candidates: Vec<(TripleId, Hlc, u64, u64)> = tx
            .prepare_cached(
                "SELECT id, hlc, deleted_at_ms, log_position FROM tombstones
                 WHERE deleted_at_ms <= ?1",
            )?
            .query_map([u64_to_sql(cutoff)], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?
            .map(|row| {
                let (id, hlc, deleted_at_ms, position) = row?;
                Ok((
                    id_from_sql(&id)?,
                    hlc_from_sql(hlc),
                    count(deleted_at_ms)?,
                    count(position)?,
                ))
            })
            .collect::<Result<_, Error>>()?;
        let mut report = CollectionReport {
            examined: candidates.len(),
            horizon: meta::horizon(&tx)?,
            oldest_retained_position: meta::retained_from(&tx)?,
            ..CollectionReport::default()
        };
        let (old_horizon, old_retained) = (report.horizon, report.oldest_retained_position);
        let mut stale = std::collections::BTreeSet::new();
        for (id, hlc, deleted_at_ms, position) in candidates {
            let age = now_ms.saturating_sub(deleted_at_ms);
            let verdict = retention::verdict(age, position, &acks, max_retention_ms);
            if !verdict.collects() {
                continue;
            }
            tx.prepare_cached(DELETE)?.execute([id.as_bytes()])?;
            if position > 0 {
                tx.prepare_cached(
                    "DELETE FROM change_log WHERE position = ?1 AND id = ?2 AND op = 2",
                )?
                .execute((u64_to_sql(position), id.as_bytes()))?;
            }
            report.collected += 1;
            report.horizon = Some(report.horizon.map_or(hlc, |h| h.max(hlc)));
            report.oldest_retained_position = report.oldest_retained_position.max(position);
            if verdict == retention::Verdict::MaxRetention {
                report.collected_by_max_retention += 1;
                for (node, ack) in &members {
                    if !retention::acknowledged(*ack, position) {
                        stale.insert(node.clone());
                    }
                }
            }
        }
        for node in stale {
            let changed = tx
                .prepare_cached("UPDATE peers SET stale = 1 WHERE node_id = ?1 AND stale = 0")?
                .execute([&node])?;
            if changed > 0 {
                report.marked_stale.push(node);
            }
        }
        if let Some(horizon) = report.horizon.filter(|h| Some(*h) != old_horizon) {
            meta::set_horizon(&tx, horizon)?;
        }
        if report.oldest_retained_position != old_retained {
            meta::set_retained_from(&tx, report.oldest_retained_position)?;
        }
        report.remaining = count(
            tx.prepare_cached("SELECT COUNT(*) FROM tombstones")?
                .query_row([], |r| r.get(0))?,
        )?;
        tx.commit()?;
        Ok(report)
    }

    /// The collection horizon: the newest stamp of any tombstone collected so far, `None`
    /// while nothing was collected (DESIGN §2.3).
    pub fn collection_horizon(&self) -> Result<Option<Hlc>, Error> {
        meta::horizon(&self.conn)
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

/// Logs the delete of `tomb.id` (its change-log row, at `tomb.deleted_at_ms`) and writes (or
/// replaces) its tombstone, which remembers that log position for collection (DESIGN §2.3).
/// A `None` namespace or subject keeps the one already recorded. Returns the log position.
pub(crate) fn write_logged(conn: &Connection, tomb: &Tombstone) -> Result<u64, Error> {
    changelog::append(
        conn,
        &tomb.id,
        ChangeOp::Delete,
        tomb.hlc,
        &tomb.by,
        tomb.deleted_at_ms,
        tomb.namespace.as_deref(),
    )?;
    let position = conn.last_insert_rowid();
    conn.prepare_cached(
        "INSERT INTO tombstones (id, hlc, \"by\", deleted_at_ms, namespace, subject, log_position)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET
             hlc = excluded.hlc,
             \"by\" = excluded.\"by\",
             deleted_at_ms = excluded.deleted_at_ms,
             namespace = COALESCE(excluded.namespace, tombstones.namespace),
             subject = COALESCE(excluded.subject, tombstones.subject),
             log_position = excluded.log_position",
    )?
    .execute((
        tomb.id.as_bytes(),
        hlc_to_sql(tomb.hlc),
        &tomb.by,
        u64_to_sql(tomb.deleted_at_ms),
        &tomb.namespace,
        &tomb.subject,
        position,
    ))?;
    count(position)
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
