//! The change log: one row per committed change, at a local position assigned in the write
//! transaction (DESIGN §2.2, §11). Delta-sync cursors are positions in this log.

use mayros_sync_proto::{Hlc, TripleId};

use crate::error::Error;
use crate::triples::{count, hlc_from_sql, hlc_to_sql, id_from_sql, u64_to_sql};
use crate::Store;

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeOp {
    /// A triple was asserted.
    Insert,
    /// A triple was deleted (a tombstone was written).
    Delete,
}

impl ChangeOp {
    /// The stored code: 1 insert, 2 delete.
    pub fn code(self) -> i64 {
        match self {
            ChangeOp::Insert => 1,
            ChangeOp::Delete => 2,
        }
    }

    /// Parses a stored code.
    pub fn from_code(code: i64) -> Option<ChangeOp> {
        match code {
            1 => Some(ChangeOp::Insert),
            2 => Some(ChangeOp::Delete),
            _ => None,
        }
    }
}

/// One change-log row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEntry {
    /// The local log position (strictly increasing, never reused).
    pub position: u64,
    /// The triple the change is about.
    pub id: TripleId,
    /// What happened to it.
    pub op: ChangeOp,
    /// The change's HLC stamp.
    pub hlc: Hlc,
    /// Node id of the device that made the change.
    pub author: String,
    /// Local wall clock when the change was committed here, unix milliseconds.
    pub recorded_at_ms: u64,
    /// Namespace of the triple's subject; `None` for rows from before schema v2 and for
    /// deletions of ids this store never held.
    pub namespace: Option<String>,
}

/// Appends one row; bind (id, op, hlc, author, recorded_at_ms, namespace).
pub(crate) const INSERT: &str = "INSERT INTO change_log
    (id, op, hlc, author, recorded_at_ms, namespace) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// Reads a page after a position; a range scan on the integer primary key.
pub(crate) const CHANGES_SINCE: &str =
    "SELECT position, id, op, hlc, author, recorded_at_ms, namespace
    FROM change_log WHERE position > ?1 ORDER BY position LIMIT ?2";

/// Appends one change-log row inside the caller's transaction.
pub(crate) fn append(
    conn: &rusqlite::Connection,
    id: &TripleId,
    op: ChangeOp,
    hlc: Hlc,
    author: &str,
    recorded_at_ms: u64,
    namespace: Option<&str>,
) -> Result<(), Error> {
    conn.prepare_cached(INSERT)?.execute((
        id.as_bytes(),
        op.code(),
        hlc_to_sql(hlc),
        author,
        u64_to_sql(recorded_at_ms),
        namespace,
    ))?;
    Ok(())
}

impl Store {
    /// Change-log entries with position greater than `after`, ascending, at most `limit`.
    pub fn changes_since(&self, after: u64, limit: usize) -> Result<Vec<ChangeEntry>, Error> {
        let after = u64_to_sql(after);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(CHANGES_SINCE)?;
        let rows = stmt.query_map((after, limit), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })?;
        rows.map(|row| {
            let (position, id, op, hlc, author, recorded_at_ms, namespace) = row?;
            Ok(ChangeEntry {
                position: count(position)?,
                id: id_from_sql(&id)?,
                op: ChangeOp::from_code(op).ok_or_else(|| {
                    Error::Corrupt(format!("change log position {position} has op code {op}"))
                })?,
                hlc: hlc_from_sql(hlc),
                author,
                recorded_at_ms: count(recorded_at_ms)?,
                namespace,
            })
        })
        .collect()
    }

    /// The lowest log position recorded at or after `recorded_at_ms`, if any.
    ///
    /// This is the minimum position, not the first by time: if the local clock ever stepped
    /// back, an earlier position may carry a later time, and a reader starting here still sees
    /// every change recorded at or after that instant.
    pub fn first_position_at_or_after(&self, recorded_at_ms: u64) -> Result<Option<u64>, Error> {
        let found: Option<i64> = self
            .conn
            .prepare_cached("SELECT MIN(position) FROM change_log WHERE recorded_at_ms >= ?1")?
            .query_row([u64_to_sql(recorded_at_ms)], |r| r.get(0))?;
        found.map(count).transpose()
    }

    /// The highest position ever assigned, or 0 for an empty log.
    ///
    /// Read from SQLite's AUTOINCREMENT counter, so it never goes back even if old rows are
    /// pruned.
    pub fn log_head(&self) -> Result<u64, Error> {
        let head: i64 = self
            .conn
            .prepare_cached(
                "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'change_log'), 0)",
            )?
            .query_row([], |r| r.get(0))?;
        count(head)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn op_codes_round_trip() {
        for op in [ChangeOp::Insert, ChangeOp::Delete] {
            assert_eq!(ChangeOp::from_code(op.code()), Some(op));
        }
        assert_eq!(ChangeOp::from_code(0), None);
        assert_eq!(ChangeOp::from_code(3), None);
    }

    #[test]
    fn changes_since_is_a_primary_key_range_scan() {
        let store = Store::open_in_memory().unwrap();
        let mut stmt = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {CHANGES_SINCE}"))
            .unwrap();
        let details: Vec<String> = stmt
            .query_map((5, 10), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = details.join(" | ");
        assert!(
            plan.contains("SEARCH change_log USING INTEGER PRIMARY KEY (rowid>?)"),
            "{plan}"
        );
        assert!(!plan.contains("SCAN"), "no full scan: {plan}");
        assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
    }
}
