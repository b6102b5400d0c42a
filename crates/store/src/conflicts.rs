//! The conflict log (DESIGN §2.4): every resolution, with both sides, so nothing is lost
//! silently; a loser can be restored.

use mayros_sync_proto::config::ConflictStrategy;
use mayros_sync_proto::namespace::namespace_of;
use mayros_sync_proto::timefmt::format_rfc3339_ms;
use mayros_sync_proto::{Hlc, HlcClock, TripleId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::apply::newer;
use crate::changelog::{self, ChangeOp};
use crate::error::Error;
use crate::meta;
use crate::tombstones;
use crate::triples::{self, count, get_with, hlc_to_sql, rebuild_triple, u64_to_sql, StoredTriple};
use crate::{Store, WriteContext};

/// One recorded conflict: the triples of a conflict key and how they were resolved.
///
/// Serialises as camelCase JSON for the control API; each triple renders as
/// `{id, subject, predicate, object, createdAt, author, hlc}` with the object as in the Cortex
/// REST (DESIGN §2.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConflictRecord {
    /// The record's id (increasing; used to restore).
    pub id: i64,
    /// Local wall clock when it was resolved, unix milliseconds (JSON: `at`, RFC 3339).
    #[serde(rename = "at", serialize_with = "rfc3339")]
    pub at_ms: u64,
    /// The conflict key's namespace.
    pub namespace: String,
    /// The conflict key's subject.
    pub subject: String,
    /// The conflict key's predicate.
    pub predicate: String,
    /// The strategy in force.
    pub strategy: ConflictStrategy,
    /// Node id of the peer whose batch caused it.
    pub peer: String,
    /// Triples that stayed, as they were at resolution time (all of them for keep-both).
    #[serde(serialize_with = "triples_view")]
    pub winners: Vec<StoredTriple>,
    /// Triples that were tombstoned (empty when both were kept).
    #[serde(serialize_with = "triples_view")]
    pub losers: Vec<StoredTriple>,
    /// When the losers were restored, unix milliseconds, if they were (JSON: `restoredAt`).
    #[serde(rename = "restoredAt", serialize_with = "rfc3339_opt")]
    pub restored_at_ms: Option<u64>,
}

/// How a triple of a [`ConflictRecord`] serialises.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TripleView<'a> {
    id: TripleId,
    subject: &'a str,
    predicate: &'a str,
    object: serde_json::Value,
    created_at: &'a str,
    author: &'a str,
    hlc: Hlc,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
}

fn rfc3339<S: serde::Serializer>(ms: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&mayros_sync_proto::timefmt::format_rfc3339_ms(*ms))
}

fn rfc3339_opt<S: serde::Serializer>(ms: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => rfc3339(ms, s),
        None => s.serialize_none(),
    }
}

fn triples_view<S: serde::Serializer>(triples: &[StoredTriple], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(triples.iter().map(|t| TripleView {
        id: t.id,
        subject: &t.triple.subject,
        predicate: &t.triple.predicate,
        object: t.triple.object.to_json(false),
        created_at: &t.created_at,
        author: &t.author,
        hlc: t.hlc,
        source: t.source.as_deref(),
    }))
}

/// A resolution to record, borrowed from the resolving batch.
pub(crate) struct NewConflict<'a> {
    pub(crate) at_ms: u64,
    pub(crate) subject: &'a str,
    pub(crate) predicate: &'a str,
    pub(crate) strategy: ConflictStrategy,
    pub(crate) peer: &'a str,
    pub(crate) winners: &'a [StoredTriple],
    pub(crate) losers: &'a [StoredTriple],
}

/// How a triple is kept in the `winners` / `losers` JSON arrays.
#[derive(Debug, Serialize, Deserialize)]
struct TripleJson {
    id: TripleId,
    subject: String,
    predicate: String,
    /// The object as in the Cortex REST (names bare).
    object: serde_json::Value,
    /// The object's variant index (the JSON alone cannot tell `Float(2.0)` from `Integer(2)`).
    object_type: i64,
    created_at: String,
    author: String,
    hlc: Hlc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
}

impl TripleJson {
    fn of(t: &StoredTriple) -> TripleJson {
        TripleJson {
            id: t.id,
            subject: t.triple.subject.clone(),
            predicate: t.triple.predicate.clone(),
            object: t.triple.object.to_json(false),
            object_type: i64::from(t.triple.object.variant_index()),
            created_at: t.created_at.clone(),
            author: t.author.clone(),
            hlc: t.hlc,
            source: t.source.clone(),
        }
    }

    fn decode(self) -> Result<StoredTriple, Error> {
        let object = serde_json::to_string(&self.object)
            .map_err(|e| Error::Corrupt(format!("conflict log object of {}: {e}", self.id)))?;
        let triple = rebuild_triple(
            &self.id,
            self.subject,
            self.predicate,
            &object,
            self.object_type,
        )?;
        if triple.id() != self.id {
            return Err(Error::Corrupt(format!(
                "conflict log triple {} does not match its content",
                self.id
            )));
        }
        Ok(StoredTriple {
            id: self.id,
            triple,
            created_at: self.created_at,
            author: self.author,
            source: self.source,
            hlc: self.hlc,
        })
    }
}

const COLUMNS: &str =
    "id, at_ms, namespace, subject, predicate, strategy, peer, winners, losers, restored_at_ms";

impl Store {
    /// The newest `limit` conflict records, newest first.
    pub fn conflicts(&self, limit: usize) -> Result<Vec<ConflictRecord>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM conflict_log ORDER BY id DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit], RawConflict::read)?;
        rows.map(|r| r.map_err(Error::from).and_then(RawConflict::decode))
            .collect()
    }

    /// The conflict record with this id, if any.
    pub fn conflict(&self, id: i64) -> Result<Option<ConflictRecord>, Error> {
        read(&self.conn, id)
    }

    /// The number of conflict records (restored ones included).
    pub fn conflict_count(&self) -> Result<u64, Error> {
        count(
            self.conn
                .prepare_cached("SELECT COUNT(*) FROM conflict_log")?
                .query_row([], |r| r.get(0))?,
        )
    }

    /// Re-asserts a conflict's losers as local writes and marks the record restored.
    ///
    /// Each loser gets a fresh local stamp (beyond its tombstone, so it wins there) and
    /// `ctx.author` as author, and is logged, so it propagates like any local write. The
    /// winners are left as they are: peers resolve the key again when the restored value
    /// reaches them. Returns the restored triples as now stored.
    pub fn restore_conflict(
        &mut self,
        id: i64,
        ctx: &WriteContext,
    ) -> Result<Vec<StoredTriple>, Error> {
        let mut clock = self.clock.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let record = read(&tx, id)?.ok_or(Error::UnknownConflict { id })?;
        if let Some(restored_at_ms) = record.restored_at_ms {
            return Err(Error::ConflictAlreadyRestored { id, restored_at_ms });
        }
        let created_at = format_rfc3339_ms(ctx.wall_ms);
        let mut restored = Vec::with_capacity(record.losers.len());
        for loser in record.losers {
            let mut hlc = clock.tick(ctx.wall_ms);
            let tomb = tombstones::get_with(&tx, &loser.id)?;
            let live = get_with(&tx, &loser.id)?;
            // A restore must beat what is there, even a stamp our clock refused to adopt.
            let there = tomb
                .as_ref()
                .map(|t| (t.hlc, t.by.as_str()))
                .or(live.as_ref().map(|t| (t.hlc, t.author.as_str())));
            if let Some(there) = there {
                if !newer((hlc, &ctx.author), there) {
                    hlc = there.0.successor();
                    clock = HlcClock::resume(hlc);
                }
            }
            let t = StoredTriple {
                hlc,
                author: ctx.author.clone(),
                created_at: created_at.clone(),
                ..loser
            };
            if live.is_some() {
                tx.prepare_cached(
                    "UPDATE triples SET hlc = ?2, author = ?3, created_at = ?4 WHERE id = ?1",
                )?
                .execute((
                    t.id.as_bytes(),
                    hlc_to_sql(hlc),
                    &t.author,
                    &t.created_at,
                ))?;
            } else {
                if tomb.is_some() {
                    tx.prepare_cached(tombstones::DELETE)?
                        .execute([t.id.as_bytes()])?;
                }
                triples::insert_row(&tx, &t)?;
            }
            changelog::append(
                &tx,
                &t.id,
                ChangeOp::Insert,
                hlc,
                &t.author,
                ctx.wall_ms,
                Some(t.triple.namespace()),
            )?;
            restored.push(t);
        }
        tx.prepare_cached("UPDATE conflict_log SET restored_at_ms = ?2 WHERE id = ?1")?
            .execute((id, u64_to_sql(ctx.wall_ms)))?;
        meta::set_clock(&tx, clock.last())?;
        tx.commit()?;
        self.clock = clock;
        Ok(restored)
    }
}

/// Appends a record inside the caller's transaction; returns its id.
pub(crate) fn record(conn: &Connection, c: &NewConflict<'_>) -> Result<i64, Error> {
    let json = |triples: &[StoredTriple]| {
        serde_json::to_string(&triples.iter().map(TripleJson::of).collect::<Vec<_>>())
            .map_err(|e| Error::Corrupt(format!("cannot encode a conflict record: {e}")))
    };
    conn.prepare_cached(
        "INSERT INTO conflict_log
             (at_ms, namespace, subject, predicate, strategy, peer, winners, losers)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute((
        u64_to_sql(c.at_ms),
        namespace_of(c.subject),
        c.subject,
        c.predicate,
        c.strategy.as_str(),
        c.peer,
        json(c.winners)?,
        json(c.losers)?,
    ))?;
    Ok(conn.last_insert_rowid())
}

fn read(conn: &Connection, id: i64) -> Result<Option<ConflictRecord>, Error> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM conflict_log WHERE id = ?1"))?
        .query_row([id], RawConflict::read)
        .optional()?
        .map(RawConflict::decode)
        .transpose()
}

/// One row of `conflict_log`, as read, before validation.
struct RawConflict {
    id: i64,
    at_ms: i64,
    namespace: String,
    subject: String,
    predicate: String,
    strategy: String,
    peer: String,
    winners: String,
    losers: String,
    restored_at_ms: Option<i64>,
}

impl RawConflict {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawConflict> {
        Ok(RawConflict {
            id: r.get(0)?,
            at_ms: r.get(1)?,
            namespace: r.get(2)?,
            subject: r.get(3)?,
            predicate: r.get(4)?,
            strategy: r.get(5)?,
            peer: r.get(6)?,
            winners: r.get(7)?,
            losers: r.get(8)?,
            restored_at_ms: r.get(9)?,
        })
    }

    fn decode(self) -> Result<ConflictRecord, Error> {
        let id = self.id;
        let triples = |text: &str| -> Result<Vec<StoredTriple>, Error> {
            serde_json::from_str::<Vec<TripleJson>>(text)
                .map_err(|e| Error::Corrupt(format!("conflict {id}: {e}")))?
                .into_iter()
                .map(TripleJson::decode)
                .collect()
        };
        Ok(ConflictRecord {
            id,
            at_ms: count(self.at_ms)?,
            strategy: ConflictStrategy::from_name(&self.strategy).ok_or_else(|| {
                Error::Corrupt(format!(
                    "conflict {id} has unknown strategy {:?}",
                    self.strategy
                ))
            })?,
            winners: triples(&self.winners)?,
            losers: triples(&self.losers)?,
            restored_at_ms: self.restored_at_ms.map(count).transpose()?,
            namespace: self.namespace,
            subject: self.subject,
            predicate: self.predicate,
            peer: self.peer,
        })
    }
}
