//! Delta pages for polled sync (DESIGN §5): what changed after a change-log position.
//!
//! A page walks the change log upwards from a cursor position (a range scan on its integer
//! primary key) and reports the *current* state of each changed id: a log entry contributes
//! only if it is the change that produced the id's present state (its stamp and author equal
//! those of the live triple, or of the tombstone). Older entries of the same id are skipped,
//! since a later entry covers them; so across all pages of one walk every live triple and
//! every tombstone is delivered exactly once.

use std::collections::HashSet;

use mayros_sync_proto::namespace::{is_excluded, namespace_of};
use mayros_sync_proto::TripleId;
use rusqlite::types::ValueRef;

use crate::error::Error;
use crate::tombstones::{RawTombstone, Tombstone};
use crate::triples::{count, u64_to_sql, RawRow, StoredTriple};
use crate::Store;

/// The most change-log entries one page examines; a page that stops here may hold fewer than
/// `limit` items (even none) and reports `has_more`, so one request stays bounded in time
/// however much of the log the filters skip.
pub const DELTA_MAX_EXAMINED: usize = 100_000;

/// One page of changes after a cursor position.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeltaPage {
    /// Live triples, in log order.
    pub triples: Vec<StoredTriple>,
    /// Tombstones, in log order.
    pub deletions: Vec<Tombstone>,
    /// The last log position examined (the `after` of the next page; equal to `after` when
    /// nothing was examined).
    pub next: u64,
    /// Whether log entries remain after `next`.
    pub has_more: bool,
}

/// The walk: log entries after ?1, each joined to the live triple or tombstone it produced.
///
/// Columns: 0 position, 1 op, 2..=10 the triple ([`crate::triples::COLUMNS`]), 11..=16 the
/// tombstone (id, hlc, by, deleted_at_ms, namespace, subject).
pub(crate) const DELTA_WALK: &str = "SELECT c.position, c.op,
    t.id, t.subject, t.predicate, t.object, t.object_type, t.created_at, t.hlc, t.author, t.source,
    b.id, b.hlc, b.\"by\", b.deleted_at_ms, b.namespace, b.subject
  FROM change_log AS c
  LEFT JOIN triples AS t
    ON c.op = 1 AND t.id = c.id AND t.hlc = c.hlc AND t.author = c.author
  LEFT JOIN tombstones AS b
    ON c.op = 2 AND b.id = c.id AND b.hlc = c.hlc AND b.\"by\" = c.author
  WHERE c.position > ?1
  ORDER BY c.position";

const TRIPLE_AT: usize = 2;
const TOMBSTONE_AT: usize = 11;

impl Store {
    /// The changes after log position `after`, as live triples and tombstones (DESIGN §5).
    ///
    /// `limit` counts triples plus deletions. `namespaces` keeps only those namespaces (empty:
    /// all); a tombstone whose namespace is unknown (a deletion relayed for an id never held
    /// here, or one from before schema v2) is always included, since missing a delete is worse
    /// than an extra one. Subjects starting with one of `exclude_prefixes` are skipped (again
    /// except tombstones with an unknown subject). Each id appears at most once per page.
    pub fn delta_page(
        &self,
        after: u64,
        limit: usize,
        namespaces: &[String],
        exclude_prefixes: &[String],
    ) -> Result<DeltaPage, Error> {
        let mut page = DeltaPage {
            next: after,
            ..DeltaPage::default()
        };
        let mut stmt = self.conn.prepare_cached(DELTA_WALK)?;
        let mut rows = stmt.query([u64_to_sql(after)])?;
        if limit == 0 {
            page.has_more = rows.next()?.is_some();
            return Ok(page);
        }
        let wanted =
            |namespace: &str| namespaces.is_empty() || namespaces.iter().any(|n| n == namespace);
        let budget = DELTA_MAX_EXAMINED.max(limit);
        let mut seen: HashSet<TripleId> = HashSet::new();
        let mut examined = 0usize;
        while let Some(row) = rows.next()? {
            page.next = count(row.get(0)?)?;
            examined += 1;
            if !matches!(row.get_ref(TRIPLE_AT)?, ValueRef::Null) {
                let raw = RawRow::read_at(row, TRIPLE_AT)?;
                if wanted(namespace_of(&raw.subject))
                    && !is_excluded(&raw.subject, exclude_prefixes)
                {
                    let triple = raw.decode()?;
                    if seen.insert(triple.id) {
                        page.triples.push(triple);
                    }
                }
            } else if !matches!(row.get_ref(TOMBSTONE_AT)?, ValueRef::Null) {
                let raw = RawTombstone::read_at(row, TOMBSTONE_AT)?;
                let namespace_ok = raw.namespace.as_deref().is_none_or(wanted);
                let subject_ok = raw
                    .subject
                    .as_deref()
                    .is_none_or(|s| !is_excluded(s, exclude_prefixes));
                if namespace_ok && subject_ok {
                    let tomb = raw.decode()?;
                    if seen.insert(tomb.id) {
                        page.deletions.push(tomb);
                    }
                }
            }
            if page.triples.len() + page.deletions.len() >= limit || examined >= budget {
                page.has_more = rows.next()?.is_some();
                break;
            }
        }
        Ok(page)
    }

    /// The change-log epoch (16 hex digits) that delta cursors carry (`c1.<epoch>.<pos>`).
    pub fn log_epoch(&self) -> String {
        self.epoch.clone()
    }

    /// The lowest log position a cursor may still start after; older cursors are expired
    /// (410 `CURSOR_EXPIRED`): the highest log position of a collected tombstone (DESIGN §2.3),
    /// since a cursor behind it never received that deletion. 0 while nothing was collected.
    pub fn oldest_retained_position(&self) -> Result<u64, Error> {
        crate::meta::retained_from(&self.conn)
    }
}

impl From<&StoredTriple> for crate::apply::RemoteTriple {
    /// A stored triple as another store receives it (its own stamp, author and creation time).
    fn from(t: &StoredTriple) -> crate::apply::RemoteTriple {
        crate::apply::RemoteTriple {
            triple: t.triple.clone(),
            created_at: t.created_at.clone(),
            author: t.author.clone(),
            hlc: t.hlc,
        }
    }
}

impl From<&Tombstone> for crate::apply::RemoteDeletion {
    /// A tombstone as another store receives it.
    fn from(d: &Tombstone) -> crate::apply::RemoteDeletion {
        crate::apply::RemoteDeletion {
            id: d.id,
            hlc: d.hlc,
            by: d.by.clone(),
        }
    }
}

impl DeltaPage {
    /// The page as another store's `apply_remote` input.
    pub fn to_remote(
        &self,
    ) -> (
        Vec<crate::apply::RemoteTriple>,
        Vec<crate::apply::RemoteDeletion>,
    ) {
        (
            self.triples.iter().map(Into::into).collect(),
            self.deletions.iter().map(Into::into).collect(),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_delta_walk_is_a_primary_key_range_scan_with_keyed_lookups() {
        let store = Store::open_in_memory().unwrap();
        let mut stmt = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {DELTA_WALK}"))
            .unwrap();
        let details: Vec<String> = stmt
            .query_map([5], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = details.join(" | ");
        assert!(
            plan.contains("SEARCH c USING INTEGER PRIMARY KEY (rowid>?)"),
            "{plan}"
        );
        assert!(
            plan.contains("SEARCH t USING INDEX sqlite_autoindex_triples_1 (id=?)"),
            "{plan}"
        );
        assert!(
            plan.contains("SEARCH b USING INDEX sqlite_autoindex_tombstones_1 (id=?)"),
            "{plan}"
        );
        assert!(!plan.contains("SCAN"), "no full scan: {plan}");
        assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
    }
}
