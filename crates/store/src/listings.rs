//! Distinct subjects and predicates (the Cortex `query/subjects` and `query/predicates` listings)
//! and the WAL checkpoint behind `POST /api/v1/flush`.

use crate::error::Error;
use crate::triples::count;
use crate::Store;

/// One page of distinct names and how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePage {
    /// The names, in ascending order, at most `limit` of them.
    pub names: Vec<String>,
    /// How many distinct names match, page limit aside.
    pub total: u64,
}

/// What a WAL checkpoint did, as SQLite reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Whether another connection kept the checkpoint from finishing (`SQLITE_BUSY`).
    pub busy: bool,
    /// Frames in the WAL when it ran (`-1` when the store is not in WAL mode).
    pub log_frames: i64,
    /// Frames copied back into the database file.
    pub checkpointed_frames: i64,
}

impl Store {
    /// Distinct live subjects, optionally only those that have `predicate`.
    pub fn subjects(&self, predicate: Option<&str>, limit: usize) -> Result<NamePage, Error> {
        let lim = i64::try_from(limit).unwrap_or(i64::MAX);
        let (names, total) = match predicate {
            Some(p) => (
                self.names(
                    "SELECT DISTINCT subject FROM triples WHERE predicate = ?1 ORDER BY subject LIMIT ?2",
                    rusqlite::params![p, lim],
                )?,
                self.total(
                    "SELECT COUNT(DISTINCT subject) FROM triples WHERE predicate = ?1",
                    rusqlite::params![p],
                )?,
            ),
            None => (
                self.names(
                    "SELECT DISTINCT subject FROM triples ORDER BY subject LIMIT ?1",
                    rusqlite::params![lim],
                )?,
                self.total("SELECT COUNT(DISTINCT subject) FROM triples", [])?,
            ),
        };
        Ok(NamePage { names, total })
    }

    /// Distinct live predicates, optionally only those used with subjects of `namespace`
    /// (the namespace of a subject as the sync filters see it).
    pub fn predicates(&self, namespace: Option<&str>, limit: usize) -> Result<NamePage, Error> {
        let lim = i64::try_from(limit).unwrap_or(i64::MAX);
        let (names, total) = match namespace {
            Some(ns) => (
                self.names(
                    "SELECT DISTINCT predicate FROM triples WHERE namespace = ?1 ORDER BY predicate LIMIT ?2",
                    rusqlite::params![ns, lim],
                )?,
                self.total(
                    "SELECT COUNT(DISTINCT predicate) FROM triples WHERE namespace = ?1",
                    rusqlite::params![ns],
                )?,
            ),
            None => (
                self.names(
                    "SELECT DISTINCT predicate FROM triples ORDER BY predicate LIMIT ?1",
                    rusqlite::params![lim],
                )?,
                self.total("SELECT COUNT(DISTINCT predicate) FROM triples", [])?,
            ),
        };
        Ok(NamePage { names, total })
    }

    /// Copies the WAL back into the database file and truncates it (`wal_checkpoint(TRUNCATE)`).
    pub fn checkpoint(&self) -> Result<Checkpoint, Error> {
        let (busy, log_frames, checkpointed_frames): (i64, i64, i64) =
            self.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
        Ok(Checkpoint {
            busy: busy != 0,
            log_frames,
            checkpointed_frames,
        })
    }

    fn names(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<String>, Error> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params, |r| r.get::<_, String>(0))?;
        rows.map(|r| r.map_err(Error::from)).collect()
    }

    fn total(&self, sql: &str, params: impl rusqlite::Params) -> Result<u64, Error> {
        count(
            self.conn
                .prepare_cached(sql)?
                .query_row(params, |r| r.get(0))?,
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use mayros_sync_proto::{Triple, Value};

    use crate::{NewTriple, Store, WriteContext};

    fn store_with(rows: &[(&str, &str)]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("store.db")).unwrap();
        let ctx = WriteContext {
            wall_ms: 1_700_000_000_000,
            author: "a".repeat(64),
        };
        for (subj, pred) in rows {
            let t = Triple::new(subj, pred, Value::String("o".into())).unwrap();
            s.insert(&NewTriple::new(t), &ctx).unwrap();
        }
        (dir, s)
    }

    #[test]
    fn subjects_are_distinct_sorted_filtered_and_paged() {
        let (_d, s) = store_with(&[("b:1", "p"), ("a:1", "p"), ("a:1", "q"), ("c:1", "q")]);
        let all = s.subjects(None, 10).unwrap();
        assert_eq!(all.names, ["a:1", "b:1", "c:1"]);
        assert_eq!(all.total, 3);
        let with_q = s.subjects(Some("q"), 1).unwrap();
        assert_eq!(with_q.names, ["a:1"]);
        assert_eq!(with_q.total, 2);
    }

    #[test]
    fn predicates_filter_on_the_subject_namespace() {
        let (_d, s) = store_with(&[("a:1", "p"), ("a:2", "q"), ("b:1", "r")]);
        assert_eq!(s.predicates(None, 10).unwrap().names, ["p", "q", "r"]);
        let a = s.predicates(Some("a"), 10).unwrap();
        assert_eq!(a.names, ["p", "q"]);
        assert_eq!(a.total, 2);
    }

    #[test]
    fn a_checkpoint_empties_the_wal() {
        let (dir, s) = store_with(&[("a:1", "p"), ("a:2", "p")]);
        let wal = dir.path().join("store.db-wal");
        assert!(std::fs::metadata(&wal).unwrap().len() > 0);
        let c = s.checkpoint().unwrap();
        assert!(!c.busy);
        assert!(c.log_frames >= c.checkpointed_frames);
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
    }
}
