//! The mirror of an external Cortex (DESIGN §3.3): with an external backend the engine's own
//! store stays the source of truth of the sync machinery (change log, tombstones, cursors,
//! conflicts) and becomes a mirror of the sidecar, kept in step by one **cycle**:
//!
//! 1. list the whole sidecar ([`ExternalCortex::list_all`]);
//! 2. in one store transaction's worth of locked work, plan with [`plan`]: the ids the mirror
//!    changed since the write-back position (peer changes, restored conflicts, accepted review
//!    items — everything but the scans' own writes) are *pending*: the mirror is right about
//!    them and they are pushed to the sidecar. Every other id follows the sidecar: listed but
//!    not live here → inserted into the mirror (local HLC and log position, author = this
//!    node); live here but no longer listed → deleted (a tombstone). Pending ids are never
//!    imported or deleted by the scan, so nothing not yet written back is lost;
//! 3. push the pending changes (batch inserts, deletes), then persist the write-back position.
//!
//! The first cycle against a sidecar URL has no baseline: it merges (imports what the mirror
//! lacks, pushes what the sidecar lacks) and deletes nothing on either side. A listing that
//! did not add up (the sidecar changed while it was paged) derives no deletions. A sidecar
//! that suddenly lists nothing at all while the mirror holds triples is treated like a first
//! attach (refilled, not emptied everywhere), with a warning.
//!
//! Cycles run every 10 s while peers exist, when a pull applied changes, before `sync now`
//! and before serving the first page of a delta ([`Engine::refresh_cortex_mirror`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use mayros_sync_proto::mode::SyncMode;
use mayros_sync_proto::peerstate::PeerStatus;
use mayros_sync_proto::timefmt::format_rfc3339_ms;
use mayros_sync_proto::TripleId;
use mayros_sync_store::{NewTriple, StoredTriple, WriteContext};
use tokio::sync::watch;
use tracing::Instrument;

use super::external::{ExternalCortex, Listed};
pub use crate::dto::status::MirrorView;
use crate::engine::Engine;
use crate::error::Error;
use crate::locks::lock;

/// How often the mirror is refreshed while peers exist.
pub const SCAN_INTERVAL: Duration = Duration::from_secs(10);
/// Change-log entries read per query when collecting pending ids.
const PENDING_PAGE: usize = 10_000;
/// `source` recorded on triples imported from the sidecar.
pub const SCAN_SOURCE: &str = "external-cortex";

/// What one cycle should do, from the sets it compares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Listed by the sidecar, not live in the mirror: insert into the mirror.
    pub import: Vec<TripleId>,
    /// Live in the mirror, gone from the sidecar: delete from the mirror.
    pub delete_local: Vec<TripleId>,
    /// Changed in the mirror and live, missing from the sidecar: write to the sidecar.
    pub push_insert: Vec<TripleId>,
    /// Changed in the mirror and deleted, still in the sidecar: delete from the sidecar.
    pub push_delete: Vec<TripleId>,
}

/// Plans one cycle (pure; see the module docs).
///
/// `listed`: ids the sidecar holds; `live`: ids live in the mirror; `pending`: ids the mirror
/// changed since the write-back position; `baseline`: whether a cycle against this sidecar
/// completed before; `complete`: whether the listing may be used to detect deletions.
pub fn plan(
    listed: &HashSet<TripleId>,
    live: &HashSet<TripleId>,
    pending: &HashSet<TripleId>,
    baseline: bool,
    complete: bool,
) -> Plan {
    let sorted = |mut v: Vec<TripleId>| {
        v.sort();
        v
    };
    if !baseline {
        return Plan {
            import: sorted(listed.difference(live).copied().collect()),
            delete_local: Vec::new(),
            push_insert: sorted(live.difference(listed).copied().collect()),
            push_delete: Vec::new(),
        };
    }
    Plan {
        import: sorted(
            listed
                .iter()
                .filter(|id| !live.contains(id) && !pending.contains(id))
                .copied()
                .collect(),
        ),
        delete_local: if complete {
            sorted(
                live.iter()
                    .filter(|id| !listed.contains(id) && !pending.contains(id))
                    .copied()
                    .collect(),
            )
        } else {
            Vec::new()
        },
        push_insert: sorted(
            pending
                .iter()
                .filter(|id| live.contains(id) && !listed.contains(id))
                .copied()
                .collect(),
        ),
        push_delete: sorted(
            pending
                .iter()
                .filter(|id| !live.contains(id) && listed.contains(id))
                .copied()
                .collect(),
        ),
    }
}

/// The store counter holding `1 + the write-back position` for a sidecar URL (0: no baseline).
fn cursor_key(url: &str) -> String {
    format!("cortex_mirror:{url}")
}

/// What the locked store step did.
struct Step {
    imported: u64,
    deleted: u64,
    push_insert: Vec<StoredTriple>,
    push_delete: Vec<TripleId>,
    scan_range: (u64, u64),
    upto: u64,
    refilled: bool,
}

/// Runs one cycle against `ext` (see the module docs); one at a time per sidecar.
pub async fn cycle(engine: &Arc<Engine>, ext: &Arc<ExternalCortex>) -> Result<MirrorView, Error> {
    let _one = ext.mirror.cycle.lock().await;
    let span = tracing::info_span!("cortex_mirror", url = %ext.url());
    let result = run_cycle(engine, ext).instrument(span).await;
    let mut inner = lock(&ext.mirror.inner);
    match &result {
        Ok(view) => {
            inner.view = view.clone();
        }
        Err(e) => inner.view.last_error = Some(e.to_string()),
    }
    result
}

async fn run_cycle(engine: &Arc<Engine>, ext: &Arc<ExternalCortex>) -> Result<MirrorView, Error> {
    let listing = ext.list_all().await?;
    if listing.unreadable > 0 {
        tracing::warn!(
            unreadable = listing.unreadable,
            "some triples of the external Cortex could not be read and are not mirrored"
        );
    }
    let key = cursor_key(ext.url());
    let ranges = lock(&ext.mirror.inner).scan_ranges.clone();
    let ctx = WriteContext {
        wall_ms: engine.clock().now_ms(),
        author: engine.identity().node_id.clone(),
    };
    let listed_count = listing.triples.len() as u64;
    let complete = listing.complete;
    {
        let mut inner = lock(&ext.mirror.inner);
        for t in &listing.triples {
            match &t.remote_id {
                Some(r) => {
                    inner.remote_ids.insert(t.id, r.clone());
                }
                None => {
                    inner.remote_ids.remove(&t.id);
                }
            }
        }
    }
    let by_id: HashMap<TripleId, Listed> = listing.triples.into_iter().map(|t| (t.id, t)).collect();
    let step = engine
        .with_store(move |s| {
            let stored = s.counter(&key)?;
            let mut baseline = stored > 0;
            let after = stored.saturating_sub(1);
            let live: HashSet<TripleId> = s.live_ids()?.into_iter().collect();
            let listed: HashSet<TripleId> = by_id.keys().copied().collect();
            let mut pending = HashSet::new();
            if baseline {
                let mut from = after;
                loop {
                    let page = s.changes_since(from, PENDING_PAGE)?;
                    let Some(last) = page.last() else { break };
                    from = last.position;
                    for c in &page {
                        let ours = ranges
                            .iter()
                            .any(|&(a, b)| c.position > a && c.position <= b);
                        if !ours {
                            pending.insert(c.id);
                        }
                    }
                }
            }
            let mut refilled = false;
            if baseline && complete && listed.is_empty() && live.iter().any(|id| !pending.contains(id))
            {
                tracing::warn!(
                    mirrored = live.len(),
                    "the external Cortex lists no triples at all while the mirror holds some: \
                     treating it as a fresh sidecar and writing the mirror back instead of deleting everywhere"
                );
                baseline = false;
                refilled = true;
            }
            let p = plan(&listed, &live, &pending, baseline, complete);
            let before = s.log_head()?;
            let items: Vec<NewTriple> = p
                .import
                .iter()
                .filter_map(|id| by_id.get(id))
                .map(|t| NewTriple {
                    triple: t.triple.clone(),
                    created_at: t.created_at.clone(),
                    source: Some(SCAN_SOURCE.to_string()),
                })
                .collect();
            let imported = s.insert_batch(&items, &ctx)?.inserted.len() as u64;
            let deleted = s.delete_batch(&p.delete_local, &ctx)?.len() as u64;
            let upto = s.log_head()?;
            if p.push_insert.is_empty() && p.push_delete.is_empty() {
                // Nothing to write back: the mirror and the sidecar agree up to here. Record it
                // in the same locked step, so a crash cannot leave the scan's own writes
                // looking pending.
                s.set_counter(&key, upto + 1)?;
            }
            let mut push_insert = Vec::with_capacity(p.push_insert.len());
            for id in &p.push_insert {
                if let Some(t) = s.get(id)? {
                    push_insert.push(t);
                }
            }
            Ok::<_, mayros_sync_store::Error>(Step {
                imported,
                deleted,
                push_insert,
                push_delete: p.push_delete,
                scan_range: (before, upto),
                upto,
                refilled,
            })
        })
        .await?;
    if step.scan_range.1 > step.scan_range.0 {
        lock(&ext.mirror.inner).scan_ranges.push(step.scan_range);
    }
    if step.imported + step.deleted > 0 {
        tracing::info!(
            imported = step.imported,
            deleted = step.deleted,
            "external Cortex changes mirrored"
        );
        engine.notify_local_write();
    }
    let pushed = step.push_insert.len() as u64;
    ext.insert_batches(&step.push_insert).await?;
    let mut pushed_deletes = 0u64;
    for id in &step.push_delete {
        let remote = lock(&ext.mirror.inner)
            .remote_ids
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string());
        if ext.delete(&remote).await? {
            pushed_deletes += 1;
        }
    }
    if pushed + pushed_deletes > 0 {
        tracing::info!(
            written = pushed,
            deleted = pushed_deletes,
            "changes written back to the external Cortex"
        );
    }
    let upto = step.upto;
    if pushed + step.push_delete.len() as u64 > 0 {
        let key = cursor_key(ext.url());
        engine
            .with_store(move |s| s.set_counter(&key, upto + 1))
            .await?;
    }
    let cycles = {
        let mut inner = lock(&ext.mirror.inner);
        inner.scan_ranges.retain(|&(_, b)| b > upto);
        inner.view.cycles + 1
    };
    if step.refilled {
        tracing::warn!(pushed, "refilled an empty external Cortex from the mirror");
    }
    Ok(MirrorView {
        cycles,
        last_cycle_at: Some(format_rfc3339_ms(engine.clock().now_ms())),
        listed: listed_count,
        imported: step.imported,
        deleted: step.deleted,
        pushed,
        pushed_deletes,
        list_requests: listing.requests,
        complete,
        last_error: None,
    })
}

/// Whether this engine has a peer to sync with (the mirror only needs refreshing then).
async fn has_peers(engine: &Engine) -> bool {
    match engine.with_store(|s| s.peers()).await {
        Ok(peers) => peers.iter().any(|p| p.status != PeerStatus::Removed),
        Err(e) => {
            tracing::error!(error = %e, "the Cortex mirror cannot read peers");
            false
        }
    }
}

/// Keeps the mirror of an external Cortex in step while peers exist, until `stop` changes.
pub async fn run(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) {
    loop {
        let ext = engine.cortex().external().cloned();
        let nudged = async {
            match &ext {
                Some(e) => e.mirror.nudge.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(SCAN_INTERVAL) => {}
            _ = nudged => {}
            _ = stop.changed() => return,
        }
        let Some(ext) = engine.cortex().external().cloned() else {
            continue;
        };
        if engine.mode().mode == SyncMode::None || !has_peers(&engine).await {
            continue;
        }
        if let Err(e) = cycle(&engine, &ext).await {
            tracing::warn!(error = %e, "external Cortex mirror cycle failed; retrying");
        }
    }
}

impl Engine {
    /// With an external backend, brings the mirror in step with the sidecar now (waiting at
    /// most `wait`; a cycle that takes longer goes on in the background). `None` with the
    /// embedded backend.
    pub async fn refresh_cortex_mirror(
        self: &Arc<Self>,
        wait: Duration,
    ) -> Option<Result<MirrorView, String>> {
        let ext = self.cortex().external().cloned()?;
        let me = Arc::clone(self);
        let task = tokio::spawn(async move { cycle(&me, &ext).await });
        Some(match tokio::time::timeout(wait, task).await {
            Ok(Ok(r)) => r.map_err(|e| e.to_string()),
            Ok(Err(e)) => Err(format!("mirror task failed: {e}")),
            Err(_) => Err(format!(
                "the external Cortex mirror did not finish within {} s; it goes on in the background",
                wait.as_secs()
            )),
        })
    }

    /// Asks the mirror loop for a write-back soon (after a pull applied changes).
    pub fn nudge_cortex_mirror(&self) {
        if let Some(ext) = self.cortex().external() {
            ext.mirror.nudge();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cortex::mirror_state::MirrorState;

    fn id(n: u8) -> TripleId {
        TripleId::from_bytes([n; 32])
    }

    fn set(ns: &[u8]) -> HashSet<TripleId> {
        ns.iter().map(|&n| id(n)).collect()
    }

    fn ids(ns: &[u8]) -> Vec<TripleId> {
        let mut v: Vec<_> = ns.iter().map(|&n| id(n)).collect();
        v.sort();
        v
    }

    #[test]
    fn steady_state_follows_the_sidecar() {
        // 1 2 3 mirrored; the sidecar dropped 2 and gained 4.
        let p = plan(&set(&[1, 3, 4]), &set(&[1, 2, 3]), &set(&[]), true, true);
        assert_eq!(
            p,
            Plan {
                import: ids(&[4]),
                delete_local: ids(&[2]),
                push_insert: vec![],
                push_delete: vec![],
            }
        );
        // In step: nothing to do.
        assert_eq!(
            plan(&set(&[1, 2]), &set(&[1, 2]), &set(&[]), true, true),
            Plan::default()
        );
    }

    #[test]
    fn pending_changes_win_and_are_written_back() {
        // A peer added 5 and deleted 1 in the mirror; the sidecar still has 1, lacks 5.
        let listed = set(&[1, 2]);
        let live = set(&[2, 5]);
        let p = plan(&listed, &live, &set(&[1, 5]), true, true);
        assert_eq!(p.push_insert, ids(&[5]));
        assert_eq!(p.push_delete, ids(&[1]));
        // Neither re-imported (1) nor deleted locally (5) before the write-back.
        assert!(p.import.is_empty() && p.delete_local.is_empty(), "{p:?}");
        // A pending id already in the state the mirror wants costs nothing.
        let p = plan(&set(&[1, 5]), &set(&[1, 5]), &set(&[5]), true, true);
        assert_eq!(p, Plan::default());
    }

    #[test]
    fn an_incomplete_listing_never_deletes() {
        let p = plan(&set(&[1, 9]), &set(&[1, 2, 3]), &set(&[]), true, false);
        assert_eq!(p.import, ids(&[9]));
        assert!(p.delete_local.is_empty());
    }

    #[test]
    fn the_first_attach_merges_both_ways_and_deletes_nothing() {
        let p = plan(&set(&[1, 2, 7]), &set(&[2, 3]), &set(&[3]), false, true);
        assert_eq!(
            p,
            Plan {
                import: ids(&[1, 7]),
                delete_local: vec![],
                push_insert: ids(&[3]),
                push_delete: vec![],
            }
        );
    }

    #[test]
    fn a_re_added_triple_is_imported_even_if_tombstoned_long_ago() {
        // 4 is neither live nor pending (its deletion was written back long ago): the sidecar
        // has it again, so someone re-added it there.
        let p = plan(&set(&[4]), &set(&[]), &set(&[]), true, true);
        assert_eq!(p.import, ids(&[4]));
    }

    #[test]
    fn continuation_of_a_delta_pull() {
        let m = MirrorState::default();
        assert!(!m.is_continuation("peer", Some("c1.e.5")));
        m.served("peer", "c1.e.5", true);
        assert!(m.is_continuation("peer", Some("c1.e.5")));
        assert!(!m.is_continuation("peer", None));
        assert!(!m.is_continuation("other", Some("c1.e.5")));
        m.served("peer", "c1.e.9", false);
        assert!(!m.is_continuation("peer", Some("c1.e.5")));
        assert!(!m.is_continuation("peer", Some("c1.e.9")));
    }
}
