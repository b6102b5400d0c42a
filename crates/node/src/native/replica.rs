//! The engine's store as the gossip machine's [`Replica`]: element summary kept current from
//! the store's element journal, windows and element lists from the change log and tables,
//! current changes as [`TripleChange`]s, and applies through the same rules as polled sync.

use std::sync::Arc;

use mayros_sync_proto::gossip::change::TripleChange;
use mayros_sync_proto::gossip::replica::{Element, Replica, ScanPage, Source, ALL_NAMESPACES};
use mayros_sync_proto::namespace::is_excluded;
use mayros_sync_proto::reconcile::summary::{FingerprintKey, Summary};
use mayros_sync_proto::TripleId;
use mayros_sync_store::{
    ApplyContext, CurrentChange, RemoteDeletion, RemoteTriple, StoredTriple, Tombstone,
};

use crate::engine::Engine;
use crate::error::Error;

/// The store seen by the gossip machine.
pub struct StoreReplica {
    engine: Arc<Engine>,
    key: FingerprintKey,
    exclude: Vec<String>,
    summary: Summary,
    /// The store generation the journal was last drained at (nothing written since: the
    /// summary is current without a store call).
    refreshed_at: Option<u64>,
    /// The change-log head and the store generation it was read at.
    head: Option<(u64, u64)>,
}

impl std::fmt::Debug for StoreReplica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreReplica")
            .field("live", &self.summary.live_count)
            .field("tombstones", &self.summary.tomb_count)
            .finish_non_exhaustive()
    }
}

fn to_change(c: CurrentChange) -> TripleChange {
    match c {
        CurrentChange::Live(StoredTriple {
            triple,
            created_at,
            author,
            hlc,
            ..
        }) => TripleChange::Assert {
            triple,
            created_at,
            author,
            hlc,
        },
        CurrentChange::Deleted(Tombstone { id, hlc, by, .. }) => {
            TripleChange::Delete { id, by, hlc }
        }
    }
}

impl StoreReplica {
    /// Starts the journal and computes the summary from a full scan.
    pub fn new(engine: Arc<Engine>, key: FingerprintKey) -> Result<StoreReplica, Error> {
        let exclude = engine.config().config.sync.exclude_subject_prefixes.clone();
        let mut r = StoreReplica {
            engine,
            key,
            exclude,
            summary: Summary::new(ALL_NAMESPACES),
            refreshed_at: None,
            head: None,
        };
        r.rebuild()?;
        Ok(r)
    }

    /// Recomputes the summary from scratch (start, new group key, new exclusions).
    pub fn rebuild(&mut self) -> Result<(), Error> {
        let generation = self.engine.store_generation();
        let exclude = self.exclude.clone();
        let elements = self.engine.store_blocking(move |s| {
            s.enable_element_journal()?;
            s.drain_element_journal()?;
            s.sync_elements(&exclude)
        })?;
        let mut summary = Summary::new(ALL_NAMESPACES);
        for e in &elements {
            if e.live {
                summary.insert_live(&self.key, e.id.as_bytes());
            } else {
                summary.insert_tomb(&self.key, e.id.as_bytes());
            }
        }
        self.summary = summary;
        self.refreshed_at = Some(generation);
        Ok(())
    }

    /// Switches to a new group key and/or exclusion list; rebuilds when either changed.
    pub fn reconfigure(
        &mut self,
        key: FingerprintKey,
        exclude: Vec<String>,
    ) -> Result<bool, Error> {
        if key == self.key && exclude == self.exclude {
            return Ok(false);
        }
        self.key = key;
        self.exclude = exclude;
        self.rebuild()?;
        Ok(true)
    }

    /// Folds the journal into the summary (also bounds the journal's memory).
    pub fn refresh(&mut self) -> Result<(), Error> {
        let generation = self.engine.store_generation();
        if self.refreshed_at == Some(generation) {
            return Ok(());
        }
        // The generation read in the same store call: no write can slip in between.
        let (deltas, drained_at) = self.engine.store_blocking(|s| {
            Ok::<_, mayros_sync_store::Error>((s.drain_element_journal()?, s.total_changes()))
        })?;
        self.refreshed_at = Some(drained_at);
        for d in deltas {
            if d.subject
                .as_deref()
                .is_some_and(|s| is_excluded(s, &self.exclude))
            {
                continue;
            }
            let id = d.id.as_bytes();
            match (d.live, d.added) {
                (true, true) => self.summary.insert_live(&self.key, id),
                (true, false) => self.summary.remove_live(&self.key, id),
                (false, true) => self.summary.insert_tomb(&self.key, id),
                (false, false) => self.summary.remove_tomb(&self.key, id),
            }
        }
        Ok(())
    }

    /// The summary as of the last refresh.
    pub fn current_summary(&self) -> &Summary {
        &self.summary
    }

    /// The current changes of these ids (for pushes of local writes).
    pub fn changes_of(&self, ids: Vec<TripleId>) -> Result<Vec<TripleChange>, Error> {
        let exclude = self.exclude.clone();
        let current = self
            .engine
            .store_blocking(move |s| s.current_changes(&ids, &exclude))?;
        Ok(current.into_iter().map(to_change).collect())
    }
}

impl Replica<String> for StoreReplica {
    type Change = TripleChange;
    type Error = Error;

    fn summary(&mut self) -> Result<Summary, Error> {
        self.refresh()?;
        Ok(self.summary.clone())
    }

    fn marker(&mut self) -> Result<u64, Error> {
        let generation = self.engine.store_generation();
        if let Some((g, head)) = self.head {
            if g == generation {
                return Ok(head);
            }
        }
        let (head, read_at) = self.engine.store_blocking(|s| {
            Ok::<_, mayros_sync_store::Error>((s.log_head()?, s.total_changes()))
        })?;
        self.head = Some((read_at, head));
        Ok(head)
    }

    fn window(&mut self, since: u64, max: usize) -> Result<Option<Vec<Element>>, Error> {
        let w = self
            .engine
            .store_blocking(move |s| s.window_elements(since, max))?;
        Ok(w.map(|els| {
            els.into_iter()
                .map(|e| Element {
                    id: *e.id.as_bytes(),
                    live: e.live,
                })
                .collect()
        }))
    }

    fn elements(&mut self) -> Result<Vec<Element>, Error> {
        let exclude = self.exclude.clone();
        let els = self
            .engine
            .store_blocking(move |s| s.sync_elements(&exclude))?;
        Ok(els
            .into_iter()
            .map(|e| Element {
                id: *e.id.as_bytes(),
                live: e.live,
            })
            .collect())
    }

    fn fetch(&mut self, ids: &[[u8; 32]]) -> Result<Vec<TripleChange>, Error> {
        self.engine.memory().note_triples(ids.len());
        self.changes_of(ids.iter().map(|b| TripleId::from_bytes(*b)).collect())
    }

    fn scan(&mut self, cursor: u64, limit: usize) -> Result<ScanPage<TripleChange>, Error> {
        let exclude = self.exclude.clone();
        let (page, next) = self
            .engine
            .store_blocking(move |s| s.scan_current(cursor, limit, &exclude))?;
        self.engine.memory().note_triples(page.len());
        Ok((page.into_iter().map(to_change).collect(), next))
    }

    fn apply(
        &mut self,
        from: &String,
        changes: Vec<TripleChange>,
        source: Source,
    ) -> Result<usize, Error> {
        let mut triples = Vec::new();
        let mut deletions = Vec::new();
        for c in changes {
            match c {
                TripleChange::Assert {
                    triple,
                    created_at,
                    author,
                    hlc,
                } => triples.push(RemoteTriple {
                    triple,
                    created_at,
                    author,
                    hlc,
                }),
                TripleChange::Delete { id, by, hlc } => {
                    deletions.push(RemoteDeletion { id, hlc, by })
                }
            }
        }
        self.engine
            .memory()
            .note_triples(triples.len() + deletions.len());
        let cfg = self.engine.config().config.sync;
        let wall_ms = self.engine.clock().now_ms();
        let peer = from.clone();
        let exclude = self.exclude.clone();
        let outcome = self.engine.store_blocking(move |s| {
            let review_horizon = match source {
                Source::Push => None,
                Source::Round => s.collection_horizon()?,
            };
            let ctx = ApplyContext {
                wall_ms,
                peer,
                strategy: cfg.conflict_strategy,
                multi_valued: cfg.multi_valued_predicates.clone(),
                exclude_prefixes: exclude,
                review_horizon,
            };
            s.apply_remote(&triples, &deletions, &ctx)
        })?;
        if outcome.conflicts > 0 {
            self.engine.events().publish(crate::events::Event::Conflict(
                crate::dto::ConflictEvent {
                    peer: from.to_string(),
                    count: outcome.conflicts as u64,
                },
            ));
        }
        if let Some(skew) = outcome.clock_skew {
            self.engine.set_clock_skew(format!(
                "{skew} (from {})",
                mayros_sync_proto::node_id::short_node_id(from)
            ));
        }
        if outcome.applied + outcome.deletions_applied > 0 {
            // With an external Cortex, the mirror writes what arrived back to the sidecar.
            self.engine.nudge_cortex_mirror();
        }
        Ok(outcome.applied + outcome.deletions_applied + outcome.restamped)
    }
}
