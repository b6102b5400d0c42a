//! Applying a batch received from a peer (DESIGN §2.2–§2.4), in one transaction.
//!
//! Per id the store keeps a last-writer-wins register over asserts and deletes, ordered by
//! (hlc, author): a live triple carries the newest assert seen, a tombstone the newest delete,
//! and on equal stamps the delete wins. Every rule below is that join, so a set of changes
//! leaves the same per-id state whatever order and batches it arrives in:
//! - an assert older than (or equal to) the id's tombstone is refused;
//! - an assert of a live id is a duplicate; if its stamp is newer it re-stamps the stored
//!   triple (and is logged, so peers that got the older stamp from us learn it);
//! - a delete older than the live triple is ignored (the re-assert wins); otherwise it removes
//!   the triple and keeps the newest tombstone, also for ids never seen here;
//! - with a review horizon (a pull from a stale peer, or a full comparison; DESIGN §2.3), an
//!   assert of an id we hold nothing for whose stamp is not newer than the horizon may be a fact
//!   whose tombstone we collected: it goes to the review queue, not into the triples.
//!
//! Then conflicts (DESIGN §2.4) are resolved per (subject, predicate) touched by the batch with
//! [`mayros_sync_proto::conflict::resolve`]; losers are tombstoned like any delete and every
//! resolution goes to the conflict log. Every stored change gets a fresh local change-log
//! position, so changes relayed A→B→C reach C through B's cursor.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashSet};

use mayros_sync_proto::config::ConflictStrategy;
use mayros_sync_proto::conflict::{resolve, Candidate, Resolution};
use mayros_sync_proto::hlc::{lww_cmp, ClockSkew};
use mayros_sync_proto::namespace::is_excluded;
use mayros_sync_proto::{Hlc, HlcClock, Triple, TripleId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::changelog::{self, ChangeOp};
use crate::conflicts;
use crate::error::Error;
use crate::meta;
use crate::review;
use crate::tombstones::{self, Tombstone};
use crate::triples::{self, get_with, hlc_from_sql, hlc_to_sql, StoredTriple};
use crate::Store;

/// A triple received from a peer, with the metadata of its assert.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteTriple {
    /// The fact (already checked against its wire id).
    pub triple: Triple,
    /// The writer's RFC 3339 creation time.
    pub created_at: String,
    /// Node id of the device that asserted it.
    pub author: String,
    /// HLC stamp of the assert.
    pub hlc: Hlc,
}

/// A deletion received from a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteDeletion {
    /// The deleted triple's id.
    pub id: TripleId,
    /// HLC stamp of the delete.
    pub hlc: Hlc,
    /// Node id of the deleting device.
    pub by: String,
}

/// The inputs [`Store::apply_remote`] needs from outside the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyContext {
    /// The local wall clock, unix milliseconds.
    pub wall_ms: u64,
    /// Node id of the peer the batch came from (recorded in the conflict log).
    pub peer: String,
    /// `sync.conflictStrategy`.
    pub strategy: ConflictStrategy,
    /// `sync.multiValuedPredicates`: predicates whose several values are never a conflict.
    pub multi_valued: Vec<String>,
    /// `sync.excludeSubjectPrefixes`: subjects never synced.
    pub exclude_prefixes: Vec<String>,
    /// Our collection horizon, set only for a pull from a stale peer or a full comparison
    /// (DESIGN §2.3): a triple we lack whose stamp is not newer than it may be one whose
    /// tombstone we collected, so it is held in the review queue instead of inserted.
    /// `None` applies every triple normally.
    pub review_horizon: Option<Hlc>,
}

/// What [`Store::apply_remote`] did with a batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplyOutcome {
    /// Triples plus deletions in the batch.
    pub received: usize,
    /// Triples inserted.
    pub applied: usize,
    /// Triples already live here (including repeats within the batch).
    pub duplicates: usize,
    /// Duplicates whose newer stamp replaced the stored one (a subset of `duplicates`).
    pub restamped: usize,
    /// Triples refused because a tombstone as new or newer exists for their id.
    pub skipped_older_than_tombstone: usize,
    /// Triples and deletions ignored because their subject is excluded from sync.
    pub excluded: usize,
    /// Deletions that removed a triple or wrote (or advanced) a tombstone.
    pub deletions_applied: usize,
    /// Deletions older than the live triple or the tombstone already held.
    pub deletions_ignored: usize,
    /// Conflicts recorded in the conflict log (resolved or kept both).
    pub conflicts: usize,
    /// Triples we lacked, older than [`ApplyContext::review_horizon`], put in the review
    /// queue instead of inserted.
    pub held_for_review: usize,
    /// The stamp furthest ahead of our wall clock beyond the 5-minute limit, if any: such
    /// changes are applied with their own stamp, but the local clock does not adopt it.
    pub clock_skew: Option<ClockSkew>,
}

impl Store {
    /// Applies a batch received from a peer in one transaction (see the module docs).
    ///
    /// Deletions are applied before triples, then conflicts are resolved. On any error nothing
    /// of the batch is stored and the local clock is unchanged.
    pub fn apply_remote(
        &mut self,
        triples: &[RemoteTriple],
        deletions: &[RemoteDeletion],
        ctx: &ApplyContext,
    ) -> Result<ApplyOutcome, Error> {
        let mut out = ApplyOutcome {
            received: triples.len() + deletions.len(),
            ..ApplyOutcome::default()
        };
        if out.received == 0 {
            return Ok(out);
        }
        let mut clock = self.clock.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let reviewing = review::any(&tx)?;
            let mut batch = Batch {
                conn: &tx,
                ctx,
                clock: &mut clock,
                out: &mut out,
                fresh: HashSet::new(),
                keys: BTreeSet::new(),
                reviewing,
            };
            for d in deletions {
                batch.deletion(d)?;
            }
            for t in triples {
                batch.triple(t)?;
            }
            batch.resolve_conflicts()?;
        }
        meta::set_clock(&tx, clock.last())?;
        tx.commit()?;
        self.clock = clock;
        Ok(out)
    }
}

/// The state of one `apply_remote` call inside its transaction.
struct Batch<'a> {
    conn: &'a Connection,
    ctx: &'a ApplyContext,
    clock: &'a mut HlcClock,
    out: &'a mut ApplyOutcome,
    /// Ids inserted by this batch (the others under a conflict key count as local).
    fresh: HashSet<TripleId>,
    /// (subject, predicate) keys whose live set this batch grew or re-stamped.
    keys: BTreeSet<(String, String)>,
    /// Whether the review queue may hold items this batch settles (checked once per batch,
    /// so an empty queue costs nothing per item).
    reviewing: bool,
}

/// What the store holds for an id: the parts of its live row or of its tombstone the rules
/// need (the two never coexist).
enum Existing {
    Live {
        subject: String,
        namespace: String,
        hlc: Hlc,
        author: String,
    },
    Tombstone {
        subject: Option<String>,
        namespace: Option<String>,
        hlc: Hlc,
        by: String,
    },
}

impl Batch<'_> {
    fn observe(&mut self, hlc: Hlc) {
        if let Err(skew) = self.clock.observe(hlc, self.ctx.wall_ms) {
            if self
                .out
                .clock_skew
                .is_none_or(|seen| skew.ahead_ms > seen.ahead_ms)
            {
                self.out.clock_skew = Some(skew);
            }
        }
    }

    fn excluded(&self, subject: &str) -> bool {
        is_excluded(subject, &self.ctx.exclude_prefixes)
    }

    fn deletion(&mut self, d: &RemoteDeletion) -> Result<(), Error> {
        let (namespace, subject) = match existing(self.conn, &d.id)? {
            Some(Existing::Live {
                subject,
                namespace,
                hlc,
                author,
            }) => {
                if self.excluded(&subject) {
                    self.out.excluded += 1;
                    return Ok(());
                }
                self.observe(d.hlc);
                if newer((hlc, &author), (d.hlc, &d.by)) {
                    self.out.deletions_ignored += 1;
                    return Ok(());
                }
                self.conn
                    .prepare_cached("DELETE FROM triples WHERE id = ?1")?
                    .execute([d.id.as_bytes()])?;
                (Some(namespace), Some(subject))
            }
            Some(Existing::Tombstone {
                subject,
                namespace,
                hlc,
                by,
            }) => {
                if subject.as_deref().is_some_and(|s| self.excluded(s)) {
                    self.out.excluded += 1;
                    return Ok(());
                }
                self.observe(d.hlc);
                if !newer((d.hlc, &d.by), (hlc, &by)) {
                    self.out.deletions_ignored += 1;
                    return Ok(());
                }
                (namespace, subject)
            }
            None => {
                self.observe(d.hlc);
                (None, None)
            }
        };
        self.tombstone(Tombstone {
            id: d.id,
            hlc: d.hlc,
            by: d.by.clone(),
            deleted_at_ms: self.ctx.wall_ms,
            namespace,
            subject,
        })?;
        self.out.deletions_applied += 1;
        Ok(())
    }

    fn triple(&mut self, t: &RemoteTriple) -> Result<(), Error> {
        let subject = &t.triple.subject;
        if self.excluded(subject) {
            self.out.excluded += 1;
            return Ok(());
        }
        self.observe(t.hlc);
        let id = t.triple.id();
        let key = || (subject.clone(), t.triple.predicate.clone());
        match existing(self.conn, &id)? {
            Some(Existing::Live {
                namespace,
                hlc,
                author,
                ..
            }) => {
                self.out.duplicates += 1;
                if newer((t.hlc, &t.author), (hlc, &author)) {
                    self.conn
                    .prepare_cached(
                        "UPDATE triples SET hlc = ?2, author = ?3, created_at = ?4 WHERE id = ?1",
                    )?
                    .execute((id.as_bytes(), hlc_to_sql(t.hlc), &t.author, &t.created_at))?;
                    changelog::append(
                        self.conn,
                        &id,
                        ChangeOp::Insert,
                        t.hlc,
                        &t.author,
                        self.ctx.wall_ms,
                        Some(&namespace),
                    )?;
                    self.out.restamped += 1;
                    self.keys.insert(key());
                }
                return Ok(());
            }
            Some(Existing::Tombstone { hlc, by, .. }) => {
                if !newer((t.hlc, &t.author), (hlc, &by)) {
                    self.out.skipped_older_than_tombstone += 1;
                    return Ok(());
                }
                self.conn
                    .prepare_cached(tombstones::DELETE)?
                    .execute([id.as_bytes()])?;
            }
            None => {
                if let Some(horizon) = self.ctx.review_horizon {
                    if t.hlc <= horizon {
                        review::hold(self.conn, t, &self.ctx.peer, self.ctx.wall_ms)?;
                        self.reviewing = true;
                        self.out.held_for_review += 1;
                        return Ok(());
                    }
                }
            }
        }
        if self.reviewing {
            review::release(self.conn, &id)?;
        }
        triples::insert_row(
            self.conn,
            &StoredTriple {
                id,
                triple: t.triple.clone(),
                created_at: t.created_at.clone(),
                author: t.author.clone(),
                source: None,
                hlc: t.hlc,
            },
        )?;
        changelog::append(
            self.conn,
            &id,
            ChangeOp::Insert,
            t.hlc,
            &t.author,
            self.ctx.wall_ms,
            Some(t.triple.namespace()),
        )?;
        self.out.applied += 1;
        self.fresh.insert(id);
        self.keys.insert(key());
        Ok(())
    }

    /// Writes a tombstone and its change-log row.
    fn tombstone(&mut self, tomb: Tombstone) -> Result<(), Error> {
        tombstones::write_logged(self.conn, &tomb)?;
        if self.reviewing {
            review::release_if_older(self.conn, &tomb.id, (tomb.hlc, &tomb.by))?;
        }
        Ok(())
    }

    fn resolve_conflicts(&mut self) -> Result<(), Error> {
        let keys = std::mem::take(&mut self.keys);
        for (subject, predicate) in keys {
            let candidates: Vec<Candidate> = self
                .conn
                .prepare_cached(
                    "SELECT id, hlc, author FROM triples
                     WHERE subject = ?1 AND predicate = ?2 ORDER BY id",
                )?
                .query_map((&subject, &predicate), |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })?
                .map(|row| {
                    let (id, hlc, author) = row?;
                    let id = triples::id_from_sql(&id)?;
                    Ok(Candidate {
                        id,
                        hlc: hlc_from_sql(hlc),
                        author,
                        local: !self.fresh.contains(&id),
                    })
                })
                .collect::<Result<_, Error>>()?;
            if candidates.len() < 2 {
                continue;
            }
            let multi_valued = self.ctx.multi_valued.contains(&predicate);
            let (winners, losers) = match resolve(self.ctx.strategy, multi_valued, &candidates) {
                Resolution::NoConflict => continue,
                Resolution::KeepBoth { ids } => (self.load(&ids)?, Vec::new()),
                Resolution::Resolved {
                    winners,
                    losers,
                    tombstone_hlc,
                    tombstone_by,
                } => {
                    let winners = self.load(&winners)?;
                    let losers = self.load(&losers)?;
                    for loser in &losers {
                        self.conn
                            .prepare_cached("DELETE FROM triples WHERE id = ?1")?
                            .execute([loser.id.as_bytes()])?;
                        self.tombstone(Tombstone {
                            id: loser.id,
                            hlc: tombstone_hlc,
                            by: tombstone_by.clone(),
                            deleted_at_ms: self.ctx.wall_ms,
                            namespace: Some(loser.triple.namespace().to_string()),
                            subject: Some(loser.triple.subject.clone()),
                        })?;
                    }
                    // Keep the clock past every stored stamp (a skewed one was reported already).
                    let _ = self.clock.observe(tombstone_hlc, self.ctx.wall_ms);
                    (winners, losers)
                }
            };
            conflicts::record(
                self.conn,
                &conflicts::NewConflict {
                    at_ms: self.ctx.wall_ms,
                    subject: &subject,
                    predicate: &predicate,
                    strategy: self.ctx.strategy,
                    peer: &self.ctx.peer,
                    winners: &winners,
                    losers: &losers,
                },
            )?;
            self.out.conflicts += 1;
        }
        Ok(())
    }

    fn load(&self, ids: &[TripleId]) -> Result<Vec<StoredTriple>, Error> {
        ids.iter()
            .map(|id| {
                get_with(self.conn, id)?.ok_or_else(|| {
                    Error::Corrupt(format!("conflict candidate {id} vanished mid-batch"))
                })
            })
            .collect()
    }
}

/// Whether change `a` is strictly newer than change `b` by (hlc, author).
pub(crate) fn newer(a: (Hlc, &str), b: (Hlc, &str)) -> bool {
    lww_cmp(a, b) == Ordering::Greater
}

/// The live row (kind 1) or the tombstone (kind 2) of an id; bind (id).
const EXISTING: &str = "SELECT 1, subject, namespace, hlc, author FROM triples WHERE id = ?1
    UNION ALL
    SELECT 2, subject, namespace, hlc, \"by\" FROM tombstones WHERE id = ?1
    LIMIT 1";

/// The live row or the tombstone of `id`, in one statement (two primary-key lookups).
fn existing(conn: &Connection, id: &TripleId) -> Result<Option<Existing>, Error> {
    Ok(conn
        .prepare_cached(EXISTING)?
        .query_row([id.as_bytes()], |r| {
            let hlc = hlc_from_sql(r.get(3)?);
            Ok(if r.get::<_, i64>(0)? == 1 {
                Existing::Live {
                    subject: r.get(1)?,
                    namespace: r.get(2)?,
                    hlc,
                    author: r.get(4)?,
                }
            } else {
                Existing::Tombstone {
                    subject: r.get(1)?,
                    namespace: r.get(2)?,
                    hlc,
                    by: r.get(4)?,
                }
            })
        })
        .optional()?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_state_lookup_uses_both_primary_keys() {
        let store = Store::open_in_memory().unwrap();
        let mut stmt = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {EXISTING}"))
            .unwrap();
        let plan: Vec<String> = stmt
            .query_map([[0u8; 32].as_slice()], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join(" | ");
        assert!(
            plan.contains("SEARCH triples USING INDEX sqlite_autoindex_triples_1 (id=?)"),
            "{plan}"
        );
        assert!(
            plan.contains("SEARCH tombstones USING INDEX sqlite_autoindex_tombstones_1 (id=?)"),
            "{plan}"
        );
        assert!(!plan.contains("SCAN"), "{plan}");
    }

    #[test]
    fn stamps_compare_by_hlc_then_author() {
        let (h, g) = (Hlc::new(5, 0), Hlc::new(5, 1));
        assert!(newer((g, "a"), (h, "b")));
        assert!(newer((h, "b"), (h, "a")));
        assert!(!newer((h, "a"), (h, "a")), "equal is not newer");
    }
}
