//! Live triples: batch insert, lookup, pattern queries and statistics.

use mayros_sync_proto::timefmt::format_rfc3339_ms;
use mayros_sync_proto::{jcs, Hlc, Triple, TripleId, Value};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::changelog::{self, ChangeOp};
use crate::error::Error;
use crate::meta;
use crate::review;
use crate::tombstones;
use crate::Store;

/// A triple to write, with the metadata the writer supplied.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTriple {
    /// The fact itself.
    pub triple: Triple,
    /// The writer's RFC 3339 creation time; `None` uses the write's wall clock.
    pub created_at: Option<String>,
    /// Where the fact came from (free text), if known.
    pub source: Option<String>,
}

impl NewTriple {
    /// A triple with no writer-supplied metadata.
    pub fn new(triple: Triple) -> NewTriple {
        NewTriple {
            triple,
            created_at: None,
            source: None,
        }
    }
}

/// Who writes and when: the inputs a write needs from outside the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteContext {
    /// The local wall clock, unix milliseconds.
    pub wall_ms: u64,
    /// The node id of the writing device.
    pub author: String,
}

/// A live triple as stored, with its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTriple {
    /// The content address.
    pub id: TripleId,
    /// The fact.
    pub triple: Triple,
    /// RFC 3339 creation time, from the writer.
    pub created_at: String,
    /// Node id of the device that first wrote it.
    pub author: String,
    /// Where the fact came from, if known.
    pub source: Option<String>,
    /// The HLC stamp of the write that created it.
    pub hlc: Hlc,
}

/// What a batch insert did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchOutcome {
    /// Triples that were new and are now stored, in input order.
    pub inserted: Vec<StoredTriple>,
    /// Input triples that were already stored (as stored), in input order; a triple repeated
    /// within the batch is inserted once and listed here for every repeat.
    pub duplicates: Vec<StoredTriple>,
}

/// An exact-match filter; `None` matches anything.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pattern {
    /// The subject, bare (no `<…>`).
    pub subject: Option<String>,
    /// The predicate, bare.
    pub predicate: Option<String>,
    /// The object, compared by canonical JSON (so `Float(2.0)` matches `Integer(2)`).
    pub object: Option<Value>,
}

/// Counts over the live triples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Live triples.
    pub triple_count: u64,
    /// Distinct subjects.
    pub subject_count: u64,
    /// Distinct predicates.
    pub predicate_count: u64,
    /// Distinct objects (by canonical JSON).
    pub object_count: u64,
}

const INSERT: &str = "INSERT OR IGNORE INTO triples
    (id, subject, predicate, object, object_type, namespace, created_at, hlc, author, source)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

/// The columns [`RawRow::read_at`] expects, in order.
pub(crate) const COLUMNS: &str =
    "id, subject, predicate, object, object_type, created_at, hlc, author, source";

impl Store {
    /// Inserts every triple not yet present, all in one transaction (see the crate docs).
    ///
    /// Each new triple gets a fresh local HLC stamp, `ctx.author` as author, `created_at` as
    /// given or the RFC 3339 form of `ctx.wall_ms`, and one change-log row. A triple already
    /// stored is left as it is and reported in [`BatchOutcome::duplicates`]; a tombstone for a
    /// re-asserted id is removed, since a local assert is newer than any tombstone.
    pub fn insert_batch(
        &mut self,
        items: &[NewTriple],
        ctx: &WriteContext,
    ) -> Result<BatchOutcome, Error> {
        if items.is_empty() {
            return Ok(BatchOutcome::default());
        }
        let mut clock = self.clock.clone();
        let default_created_at = format_rfc3339_ms(ctx.wall_ms);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut outcome = BatchOutcome::default();
        {
            let check_tombstones = tombstones::any(&tx)?;
            let check_review = review::any(&tx)?;
            let mut insert = tx.prepare_cached(INSERT)?;
            let mut log = tx.prepare_cached(changelog::INSERT)?;
            let mut untombstone = tx.prepare_cached(tombstones::DELETE)?;
            for item in items {
                let triple = &item.triple;
                let id = triple.id();
                let object = object_text(&triple.object, &id)?;
                let created_at = item.created_at.as_deref().unwrap_or(&default_created_at);
                let previous = clock.clone();
                let hlc = clock.tick(ctx.wall_ms);
                let added = insert.execute((
                    id.as_bytes(),
                    &triple.subject,
                    &triple.predicate,
                    &object,
                    triple.object.variant_index(),
                    triple.namespace(),
                    created_at,
                    hlc_to_sql(hlc),
                    &ctx.author,
                    &item.source,
                ))?;
                if added == 0 {
                    clock = previous;
                    let existing = get_with(&tx, &id)?.ok_or_else(|| {
                        Error::Corrupt(format!("triple {id} was refused but is not stored"))
                    })?;
                    outcome.duplicates.push(existing);
                    continue;
                }
                if check_tombstones {
                    untombstone.execute([id.as_bytes()])?;
                }
                if check_review {
                    review::release(&tx, &id)?;
                }
                log.execute((
                    id.as_bytes(),
                    ChangeOp::Insert.code(),
                    hlc_to_sql(hlc),
                    &ctx.author,
                    u64_to_sql(ctx.wall_ms),
                    triple.namespace(),
                ))?;
                outcome.inserted.push(StoredTriple {
                    id,
                    triple: triple.clone(),
                    created_at: created_at.to_string(),
                    author: ctx.author.clone(),
                    source: item.source.clone(),
                    hlc,
                });
            }
        }
        if !outcome.inserted.is_empty() {
            meta::set_clock(&tx, clock.last())?;
        }
        tx.commit()?;
        self.clock = clock;
        Ok(outcome)
    }

    /// Inserts one triple; returns it as stored and whether it was created (`false`: re-assert).
    pub fn insert(
        &mut self,
        item: &NewTriple,
        ctx: &WriteContext,
    ) -> Result<(StoredTriple, bool), Error> {
        let mut outcome = self.insert_batch(std::slice::from_ref(item), ctx)?;
        if let Some(t) = outcome.inserted.pop() {
            return Ok((t, true));
        }
        outcome
            .duplicates
            .pop()
            .map(|t| (t, false))
            .ok_or_else(|| Error::Corrupt("a one-triple batch reported nothing".into()))
    }

    /// The live triple with this id, if any.
    pub fn get(&self, id: &TripleId) -> Result<Option<StoredTriple>, Error> {
        get_with(&self.conn, id)
    }

    /// Live triples matching `pattern`, ordered by subject, predicate, id; also the total matching.
    pub fn find(
        &self,
        pattern: &Pattern,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<StoredTriple>, u64), Error> {
        let object = pattern
            .object
            .as_ref()
            .map(|v| jcs::canonicalize(&v.to_json(false)));
        let mut clauses = Vec::new();
        let mut params: Vec<&dyn rusqlite::ToSql> = Vec::new();
        if let Some(s) = &pattern.subject {
            clauses.push("subject = ?");
            params.push(s);
        }
        if let Some(p) = &pattern.predicate {
            clauses.push("predicate = ?");
            params.push(p);
        }
        if let Some(o) = &object {
            clauses.push("object = ?");
            params.push(o);
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let total: i64 = self
            .conn
            .prepare_cached(&format!("SELECT COUNT(*) FROM triples{filter}"))?
            .query_row(params.as_slice(), |r| r.get(0))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        params.push(&limit);
        params.push(&offset);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM triples{filter} ORDER BY subject, predicate, id LIMIT ? OFFSET ?"
        ))?;
        let rows = stmt
            .query_map(params.as_slice(), RawRow::read)?
            .map(|r| r.map_err(Error::from).and_then(RawRow::decode))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((rows, count(total)?))
    }

    /// Distinct counts over the live triples.
    pub fn stats(&self) -> Result<Stats, Error> {
        let q = |sql: &str| -> Result<u64, Error> {
            count(self.conn.prepare_cached(sql)?.query_row([], |r| r.get(0))?)
        };
        Ok(Stats {
            triple_count: q("SELECT COUNT(*) FROM triples")?,
            subject_count: q("SELECT COUNT(DISTINCT subject) FROM triples")?,
            predicate_count: q("SELECT COUNT(DISTINCT predicate) FROM triples")?,
            object_count: q("SELECT COUNT(DISTINCT object) FROM triples")?,
        })
    }

    /// Every live id, in id order (the external Cortex mirror diffs its scans against it).
    pub fn live_ids(&self) -> Result<Vec<TripleId>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM triples ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        rows.map(|r| id_from_sql(&r?)).collect()
    }

    /// The number of live triples.
    pub fn triple_count(&self) -> Result<u64, Error> {
        count(
            self.conn
                .prepare_cached("SELECT COUNT(*) FROM triples")?
                .query_row([], |r| r.get(0))?,
        )
    }
}

/// Looks a live triple up by id on any connection or transaction.
pub(crate) fn get_with(conn: &Connection, id: &TripleId) -> Result<Option<StoredTriple>, Error> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM triples WHERE id = ?1"))?
        .query_row([id.as_bytes()], RawRow::read)
        .optional()?
        .map(RawRow::decode)
        .transpose()
}

/// The stored form of an object: RFC 8785 canonical JSON of its wire rendering.
pub(crate) fn object_text(value: &Value, id: &TripleId) -> Result<String, Error> {
    if let Value::Float(f) = value {
        if !f.is_finite() {
            // Its JSON rendering would be `null`, which reads back as another value.
            return Err(Error::Unstorable {
                id: id.to_string(),
                reason: "a float object must be finite (NaN and infinities have no JSON form)",
            });
        }
    }
    Ok(jcs::canonicalize(&value.to_json(false)))
}

/// Rebuilds an object from its canonical JSON and variant index.
pub(crate) fn decode_object(text: &str, variant: i64, id: &[u8]) -> Result<Value, Error> {
    let bad = |why: &str| {
        Error::Corrupt(format!(
            "object {text:?} (type {variant}) of triple {}: {why}",
            hex::encode(id)
        ))
    };
    match variant {
        2 => text
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| bad("not an integer")),
        3 => serde_json::from_str::<f64>(text)
            .map(Value::Float)
            .map_err(|_| bad("not a number")),
        _ => {
            let json: serde_json::Value =
                serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
            let value = Value::from_json(&json).map_err(|e| bad(&e.to_string()))?;
            if i64::from(value.variant_index()) != variant {
                return Err(bad("the JSON does not match the stored type"));
            }
            Ok(value)
        }
    }
}

/// Rebuilds a triple from stored parts, checking it against its id.
pub(crate) fn rebuild_triple(
    id: &TripleId,
    subject: String,
    predicate: String,
    object: &str,
    object_type: i64,
) -> Result<Triple, Error> {
    let object = decode_object(object, object_type, id.as_bytes())?;
    let mut triple = Triple {
        subject,
        predicate,
        object,
    };
    // Canonical JSON writes -0.0 as `0`; the id tells which zero was stored.
    if matches!(triple.object, Value::Float(f) if f == 0.0) && triple.id() != *id {
        triple.object = Value::Float(-0.0);
    }
    Ok(triple)
}

/// Inserts a triple row with the given metadata (the caller checked it is not stored yet).
pub(crate) fn insert_row(conn: &Connection, t: &StoredTriple) -> Result<(), Error> {
    let object = object_text(&t.triple.object, &t.id)?;
    let added = conn.prepare_cached(INSERT)?.execute((
        t.id.as_bytes(),
        &t.triple.subject,
        &t.triple.predicate,
        &object,
        t.triple.object.variant_index(),
        t.triple.namespace(),
        &t.created_at,
        hlc_to_sql(t.hlc),
        &t.author,
        &t.source,
    ))?;
    if added == 0 {
        return Err(Error::Corrupt(format!(
            "triple {} was expected to be new but is already stored",
            t.id
        )));
    }
    Ok(())
}

/// One row of `triples`, as read, before validation.
pub(crate) struct RawRow {
    pub(crate) id: Vec<u8>,
    pub(crate) subject: String,
    pub(crate) predicate: String,
    pub(crate) object: String,
    pub(crate) object_type: i64,
    pub(crate) created_at: String,
    pub(crate) hlc: i64,
    pub(crate) author: String,
    pub(crate) source: Option<String>,
}

impl RawRow {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
        RawRow::read_at(r, 0)
    }

    /// Reads the columns of [`COLUMNS`] starting at index `at`.
    pub(crate) fn read_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<RawRow> {
        Ok(RawRow {
            id: r.get(at)?,
            subject: r.get(at + 1)?,
            predicate: r.get(at + 2)?,
            object: r.get(at + 3)?,
            object_type: r.get(at + 4)?,
            created_at: r.get(at + 5)?,
            hlc: r.get(at + 6)?,
            author: r.get(at + 7)?,
            source: r.get(at + 8)?,
        })
    }

    pub(crate) fn decode(self) -> Result<StoredTriple, Error> {
        let id = id_from_sql(&self.id)?;
        let triple = rebuild_triple(
            &id,
            self.subject,
            self.predicate,
            &self.object,
            self.object_type,
        )?;
        Ok(StoredTriple {
            id,
            triple,
            created_at: self.created_at,
            author: self.author,
            source: self.source,
            hlc: hlc_from_sql(self.hlc),
        })
    }
}

/// An id column value as a [`TripleId`].
pub(crate) fn id_from_sql(bytes: &[u8]) -> Result<TripleId, Error> {
    TripleId::from_slice(bytes).map_err(|_| {
        Error::Corrupt(format!(
            "a stored id is {} bytes long, not 32 ({})",
            bytes.len(),
            hex::encode(bytes)
        ))
    })
}

/// An HLC stamp as stored: the u64 bit-cast to SQLite's signed integer.
pub(crate) fn hlc_to_sql(hlc: Hlc) -> i64 {
    hlc.as_u64() as i64
}

/// The inverse of [`hlc_to_sql`].
pub(crate) fn hlc_from_sql(raw: i64) -> Hlc {
    Hlc::from_u64(raw as u64)
}

/// A u64 (milliseconds, positions) as an SQLite integer, saturating at `i64::MAX`.
pub(crate) fn u64_to_sql(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// A `COUNT(*)` result as u64.
pub(crate) fn count(n: i64) -> Result<u64, Error> {
    u64::try_from(n).map_err(|_| Error::Corrupt(format!("negative count {n}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn plan(store: &Store, sql: &str) -> String {
        let mut stmt = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let count = stmt.parameter_count();
        let params: Vec<&dyn rusqlite::ToSql> = vec![&"x"; count];
        let rows = stmt
            .query_map(params.as_slice(), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        rows.join(" | ")
    }

    #[test]
    fn listing_in_order_walks_an_index_without_sorting() {
        let store = Store::open_in_memory().unwrap();
        for filter in ["", " WHERE subject = ?"] {
            let p = plan(
                &store,
                &format!(
                    "SELECT {COLUMNS} FROM triples{filter} \
                     ORDER BY subject, predicate, id LIMIT ? OFFSET ?"
                ),
            );
            assert!(p.contains("triples_subject"), "{filter}: {p}");
            assert!(!p.contains("TEMP B-TREE"), "{filter}: {p}");
        }
        for (column, index) in [
            ("predicate", "triples_predicate"),
            ("object", "triples_object"),
        ] {
            let p = plan(
                &store,
                &format!("SELECT COUNT(*) FROM triples WHERE {column} = ?"),
            );
            assert!(p.contains(index), "{column}: {p}");
        }
    }

    #[test]
    fn lookups_by_id_use_the_primary_key() {
        let store = Store::open_in_memory().unwrap();
        let p = plan(
            &store,
            &format!("SELECT {COLUMNS} FROM triples WHERE id = ?1"),
        );
        assert!(
            p.contains("USING INDEX sqlite_autoindex_triples_1 (id=?)"),
            "{p}"
        );
    }
}
