//! The review queue (DESIGN §2.3): triples a stale peer (or a full comparison) offered that we
//! lack and that are older than our collection horizon. They may be facts whose tombstone we
//! already collected, so they are held here instead of inserted, until the user accepts one
//! (a local write that propagates) or discards it (a tombstone, so it is not offered again).

use mayros_sync_proto::{Hlc, HlcClock, Triple, TripleId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::apply::{newer, RemoteTriple};
use crate::changelog::{self, ChangeOp};
use crate::error::Error;
use crate::meta;
use crate::tombstones::{self, Tombstone};
use crate::triples::{
    self, count, get_with, hlc_from_sql, hlc_to_sql, id_from_sql, object_text, rebuild_triple,
    u64_to_sql, StoredTriple,
};
use crate::{Store, WriteContext};

/// One triple held for review.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewItem {
    /// The triple's id.
    pub id: TripleId,
    /// The fact.
    pub triple: Triple,
    /// The writer's RFC 3339 creation time.
    pub created_at: String,
    /// Node id of the device that asserted it.
    pub author: String,
    /// HLC stamp of the assert (older than the collection horizon when it was held).
    pub hlc: Hlc,
    /// Node id of the peer that offered it.
    pub from_peer: String,
    /// Local wall clock when it was (last) offered, unix milliseconds.
    pub received_at_ms: u64,
}

const COLUMNS: &str =
    "id, subject, predicate, object, object_type, created_at, hlc, author, from_peer, received_at_ms";

impl Store {
    /// Items held for review, oldest offer first, at most `limit`.
    pub fn review_items(&self, limit: usize) -> Result<Vec<ReviewItem>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM review_queue ORDER BY received_at_ms, id LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit], RawItem::read)?;
        rows.map(|r| r.map_err(Error::from).and_then(RawItem::decode))
            .collect()
    }

    /// The item held for review with this id, if any.
    pub fn review_item(&self, id: &TripleId) -> Result<Option<ReviewItem>, Error> {
        get(&self.conn, id)
    }

    /// The number of items held for review.
    pub fn review_count(&self) -> Result<u64, Error> {
        count(
            self.conn
                .prepare_cached("SELECT COUNT(*) FROM review_queue")?
                .query_row([], |r| r.get(0))?,
        )
    }

    /// Accepts a held item: inserts it as a local write (a fresh stamp newer than any tombstone
    /// of its id, `ctx.author` as author, its original creation time, one change-log row) so it
    /// propagates, and drops it from the queue, in one transaction. If the triple became live
    /// meanwhile, only the queue entry is dropped. Returns the triple as now stored.
    pub fn accept_review(
        &mut self,
        id: &TripleId,
        ctx: &WriteContext,
    ) -> Result<StoredTriple, Error> {
        let mut clock = self.clock.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let item = get(&tx, id)?.ok_or_else(|| unknown(id))?;
        release(&tx, id)?;
        if let Some(live) = get_with(&tx, id)? {
            tx.commit()?;
            return Ok(live);
        }
        let mut hlc = clock.tick(ctx.wall_ms);
        if let Some(tomb) = tombstones::get_with(&tx, id)? {
            // The accepted value must beat the tombstone, even one our clock refused to adopt.
            if !newer((hlc, &ctx.author), (tomb.hlc, &tomb.by)) {
                hlc = tomb.hlc.successor();
                clock = HlcClock::resume(hlc);
            }
            tx.prepare_cached(tombstones::DELETE)?
                .execute([id.as_bytes()])?;
        }
        let stored = StoredTriple {
            id: *id,
            triple: item.triple,
            created_at: item.created_at,
            author: ctx.author.clone(),
            source: None,
            hlc,
        };
        triples::insert_row(&tx, &stored)?;
        changelog::append(
            &tx,
            id,
            ChangeOp::Insert,
            hlc,
            &stored.author,
            ctx.wall_ms,
            Some(stored.triple.namespace()),
        )?;
        meta::set_clock(&tx, clock.last())?;
        tx.commit()?;
        self.clock = clock;
        Ok(stored)
    }

    /// Discards a held item: drops it from the queue and writes a tombstone newer than it (by
    /// `ctx.author`, logged, so it propagates and the peers that offered it delete it too), in
    /// one transaction. Returns the tombstone; `None` when the triple became live meanwhile
    /// through a newer write, which is left alone (only the queue entry is dropped).
    pub fn discard_review(
        &mut self,
        id: &TripleId,
        ctx: &WriteContext,
    ) -> Result<Option<Tombstone>, Error> {
        let mut clock = self.clock.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let item = get(&tx, id)?.ok_or_else(|| unknown(id))?;
        release(&tx, id)?;
        if get_with(&tx, id)?.is_some() {
            tx.commit()?;
            return Ok(None);
        }
        let mut hlc = clock.tick(ctx.wall_ms);
        let mut beat = vec![(item.hlc, item.author.clone())];
        if let Some(tomb) = tombstones::get_with(&tx, id)? {
            beat.push((tomb.hlc, tomb.by));
        }
        for (there, by) in &beat {
            if !newer((hlc, &ctx.author), (*there, by)) {
                hlc = there.successor();
                clock = HlcClock::resume(hlc);
            }
        }
        let tomb = Tombstone {
            id: *id,
            hlc,
            by: ctx.author.clone(),
            deleted_at_ms: ctx.wall_ms,
            namespace: Some(item.triple.namespace().to_string()),
            subject: Some(item.triple.subject.clone()),
        };
        tombstones::write_logged(&tx, &tomb)?;
        meta::set_clock(&tx, clock.last())?;
        tx.commit()?;
        self.clock = clock;
        Ok(Some(tomb))
    }
}

fn unknown(id: &TripleId) -> Error {
    Error::UnknownReviewItem { id: id.to_string() }
}

/// Whether the queue holds anything (lets a batch skip per-item queue updates).
pub(crate) fn any(conn: &Connection) -> Result<bool, Error> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM review_queue)")?
        .query_row([], |r| r.get(0))?)
}

fn get(conn: &Connection, id: &TripleId) -> Result<Option<ReviewItem>, Error> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM review_queue WHERE id = ?1"))?
        .query_row([id.as_bytes()], RawItem::read)
        .optional()?
        .map(RawItem::decode)
        .transpose()
}

/// Holds an offered triple for review; an item already held keeps the newer assert.
pub(crate) fn hold(
    conn: &Connection,
    t: &RemoteTriple,
    from_peer: &str,
    received_at_ms: u64,
) -> Result<(), Error> {
    let id = t.triple.id();
    if let Some(held) = get(conn, &id)? {
        if !newer((t.hlc, &t.author), (held.hlc, &held.author)) {
            conn.prepare_cached(
                "UPDATE review_queue SET from_peer = ?2, received_at_ms = ?3 WHERE id = ?1",
            )?
            .execute((id.as_bytes(), from_peer, u64_to_sql(received_at_ms)))?;
            return Ok(());
        }
    }
    let object = object_text(&t.triple.object, &id)?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO review_queue
             (id, subject, predicate, object, object_type, namespace, created_at, hlc, author,
              from_peer, received_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(rusqlite::params![
        id.as_bytes(),
        t.triple.subject,
        t.triple.predicate,
        object,
        t.triple.object.variant_index(),
        t.triple.namespace(),
        t.created_at,
        hlc_to_sql(t.hlc),
        t.author,
        from_peer,
        u64_to_sql(received_at_ms),
    ])?;
    Ok(())
}

/// Drops the held item of `id`, if any (its triple became live); returns whether one was held.
pub(crate) fn release(conn: &Connection, id: &TripleId) -> Result<bool, Error> {
    Ok(conn
        .prepare_cached("DELETE FROM review_queue WHERE id = ?1")?
        .execute([id.as_bytes()])?
        > 0)
}

/// Drops the held item of `id` when a delete stamped `delete` supersedes it (the item would be
/// refused by that tombstone anyway).
pub(crate) fn release_if_older(
    conn: &Connection,
    id: &TripleId,
    delete: (Hlc, &str),
) -> Result<(), Error> {
    if let Some(held) = get(conn, id)? {
        if !newer((held.hlc, &held.author), delete) {
            release(conn, id)?;
        }
    }
    Ok(())
}

/// One row of `review_queue`, as read, before validation.
struct RawItem {
    id: Vec<u8>,
    subject: String,
    predicate: String,
    object: String,
    object_type: i64,
    created_at: String,
    hlc: i64,
    author: String,
    from_peer: String,
    received_at_ms: i64,
}

impl RawItem {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawItem> {
        Ok(RawItem {
            id: r.get(0)?,
            subject: r.get(1)?,
            predicate: r.get(2)?,
            object: r.get(3)?,
            object_type: r.get(4)?,
            created_at: r.get(5)?,
            hlc: r.get(6)?,
            author: r.get(7)?,
            from_peer: r.get(8)?,
            received_at_ms: r.get(9)?,
        })
    }

    fn decode(self) -> Result<ReviewItem, Error> {
        let id = id_from_sql(&self.id)?;
        let triple = rebuild_triple(
            &id,
            self.subject,
            self.predicate,
            &self.object,
            self.object_type,
        )?;
        Ok(ReviewItem {
            id,
            triple,
            created_at: self.created_at,
            author: self.author,
            hlc: hlc_from_sql(self.hlc),
            from_peer: self.from_peer,
            received_at_ms: count(self.received_at_ms)?,
        })
    }
}
