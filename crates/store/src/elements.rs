//! What native-mode gossip reconciles (DESIGN §4): the element set (live ids and tombstoned
//! ids), the elements changed in a recent window of the change log, the current change for an
//! id, and a journal of element-set changes so the engine keeps its summary current without
//! rescanning.
//!
//! The journal is a `TEMP` table filled by `TEMP` triggers on this connection: it costs no disk
//! write, it is part of every write transaction (a rolled-back batch leaves no entry), and it
//! sees every path that adds or removes a live triple or a tombstone, local or remote.

use std::collections::HashMap;

use mayros_sync_proto::namespace::is_excluded;
use mayros_sync_proto::TripleId;

use crate::changelog::ChangeOp;
use crate::error::Error;
use crate::tombstones::RawTombstone;
use crate::tombstones::Tombstone;
use crate::triples::{get_with, id_from_sql, u64_to_sql, RawRow, StoredTriple, COLUMNS};
use crate::Store;

const ENABLE_JOURNAL: &str = "
CREATE TEMP TABLE IF NOT EXISTS element_journal (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL,
    subject TEXT,
    live INTEGER NOT NULL,
    added INTEGER NOT NULL
);
CREATE TEMP TRIGGER IF NOT EXISTS element_journal_triple_in AFTER INSERT ON main.triples
BEGIN INSERT INTO element_journal (id, subject, live, added) VALUES (NEW.id, NEW.subject, 1, 1); END;
CREATE TEMP TRIGGER IF NOT EXISTS element_journal_triple_out AFTER DELETE ON main.triples
BEGIN INSERT INTO element_journal (id, subject, live, added) VALUES (OLD.id, OLD.subject, 1, 0); END;
CREATE TEMP TRIGGER IF NOT EXISTS element_journal_tomb_in AFTER INSERT ON main.tombstones
BEGIN INSERT INTO element_journal (id, subject, live, added) VALUES (NEW.id, NEW.subject, 0, 1); END;
CREATE TEMP TRIGGER IF NOT EXISTS element_journal_tomb_out AFTER DELETE ON main.tombstones
BEGIN INSERT INTO element_journal (id, subject, live, added) VALUES (OLD.id, OLD.subject, 0, 0); END;
";

/// One element of the synced set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SyncElement {
    /// The triple id.
    pub id: TripleId,
    /// Live triple (true) or tombstone (false).
    pub live: bool,
}

/// One entry of the element journal: an element entered or left the set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementDelta {
    /// The triple id.
    pub id: TripleId,
    /// The subject, when known (tombstones of ids never held have none).
    pub subject: Option<String>,
    /// Live triple (true) or tombstone (false).
    pub live: bool,
    /// Entered (true) or left (false) the set.
    pub added: bool,
}

/// The current state of one id, as it travels.
#[derive(Debug, Clone, PartialEq)]
pub enum CurrentChange {
    /// The live triple.
    Live(StoredTriple),
    /// The tombstone.
    Deleted(Tombstone),
}

fn excluded(subject: Option<&str>, prefixes: &[String]) -> bool {
    subject.is_some_and(|s| is_excluded(s, prefixes))
}

impl Store {
    /// Starts journaling element-set changes on this connection (idempotent).
    pub fn enable_element_journal(&self) -> Result<(), Error> {
        self.conn.execute_batch(ENABLE_JOURNAL)?;
        Ok(())
    }

    /// Takes every journal entry recorded since the last call, oldest first.
    pub fn drain_element_journal(&mut self) -> Result<Vec<ElementDelta>, Error> {
        let tx = self.conn.transaction()?;
        let out = {
            let mut stmt = tx.prepare_cached(
                "SELECT id, subject, live, added FROM temp.element_journal ORDER BY seq",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            rows.map(|row| {
                let (id, subject, live, added) = row?;
                Ok(ElementDelta {
                    id: id_from_sql(&id)?,
                    subject,
                    live: live != 0,
                    added: added != 0,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?
        };
        tx.execute("DELETE FROM temp.element_journal", [])?;
        tx.commit()?;
        Ok(out)
    }

    /// Every synced element: live triples and tombstones whose subject is not excluded.
    pub fn sync_elements(&self, exclude_prefixes: &[String]) -> Result<Vec<SyncElement>, Error> {
        let mut out = Vec::new();
        for (sql, live) in [
            ("SELECT id, subject FROM triples", true),
            ("SELECT id, subject FROM tombstones", false),
        ] {
            let mut stmt = self.conn.prepare(sql)?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let subject: Option<String> = r.get(1)?;
                if excluded(subject.as_deref(), exclude_prefixes) {
                    continue;
                }
                let id: Vec<u8> = r.get(0)?;
                out.push(SyncElement {
                    id: id_from_sql(&id)?,
                    live,
                });
            }
        }
        Ok(out)
    }

    /// The elements changed after log position `after`, each with its latest state; `None`
    /// when more than `max` log entries follow `after`.
    pub fn window_elements(
        &self,
        after: u64,
        max: usize,
    ) -> Result<Option<Vec<SyncElement>>, Error> {
        let pending: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM (SELECT 1 FROM change_log WHERE position > ?1 LIMIT ?2)",
            (
                u64_to_sql(after),
                i64::try_from(max).unwrap_or(i64::MAX).saturating_add(1),
            ),
            |r| r.get(0),
        )?;
        if usize::try_from(pending).unwrap_or(usize::MAX) > max {
            return Ok(None);
        }
        let mut latest: HashMap<TripleId, bool> = HashMap::new();
        for e in self.changes_since(after, max)? {
            latest.insert(e.id, e.op == ChangeOp::Insert);
        }
        let mut out: Vec<SyncElement> = latest
            .into_iter()
            .map(|(id, live)| SyncElement { id, live })
            .collect();
        out.sort();
        Ok(Some(out))
    }

    /// The current live triple or tombstone of each id, skipping ids held as neither and
    /// subjects excluded from sync.
    pub fn current_changes(
        &self,
        ids: &[TripleId],
        exclude_prefixes: &[String],
    ) -> Result<Vec<CurrentChange>, Error> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(t) = get_with(&self.conn, id)? {
                if !is_excluded(&t.triple.subject, exclude_prefixes) {
                    out.push(CurrentChange::Live(t));
                }
                continue;
            }
            if let Some(t) = self.tombstone(id)? {
                if !excluded(t.subject.as_deref(), exclude_prefixes) {
                    out.push(CurrentChange::Deleted(t));
                }
            }
        }
        Ok(out)
    }

    /// Every synced live triple, then every synced tombstone, in storage order, in pages: the
    /// sequential read behind "send everything" to an empty peer. `cursor` starts at 0;
    /// returns the page and the next cursor (`None` at the end).
    pub fn scan_current(
        &self,
        cursor: u64,
        limit: usize,
        exclude_prefixes: &[String],
    ) -> Result<(Vec<CurrentChange>, Option<u64>), Error> {
        const TOMBSTONES: u64 = 1 << 63;
        let limit_sql = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
        let after = u64_to_sql(cursor & !TOMBSTONES);
        let mut out = Vec::new();
        let mut last = None;
        let mut seen = 0usize;
        if cursor & TOMBSTONES == 0 {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {COLUMNS}, rowid FROM triples WHERE rowid > ?1 ORDER BY rowid LIMIT ?2"
            ))?;
            let mut rows = stmt.query((after, limit_sql))?;
            while let Some(r) = rows.next()? {
                seen += 1;
                last = Some(r.get::<_, i64>(9)?);
                let t = RawRow::read_at(r, 0)?.decode()?;
                if !is_excluded(&t.triple.subject, exclude_prefixes) {
                    out.push(CurrentChange::Live(t));
                }
            }
            return Ok(match last {
                Some(rowid) if seen >= limit.max(1) => (out, Some(crate::triples::count(rowid)?)),
                _ => (out, Some(TOMBSTONES)),
            });
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, hlc, \"by\", deleted_at_ms, namespace, subject, rowid FROM tombstones
             WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
        )?;
        let mut rows = stmt.query((after, limit_sql))?;
        while let Some(r) = rows.next()? {
            seen += 1;
            last = Some(r.get::<_, i64>(6)?);
            let t = RawTombstone::read_at(r, 0)?.decode()?;
            if !excluded(t.subject.as_deref(), exclude_prefixes) {
                out.push(CurrentChange::Deleted(t));
            }
        }
        Ok(match last {
            Some(rowid) if seen >= limit.max(1) => {
                (out, Some(TOMBSTONES | crate::triples::count(rowid)?))
            }
            _ => (out, None),
        })
    }
}
