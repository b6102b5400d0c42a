//! The element set native gossip reconciles: the journal follows every write path exactly, windows and current changes match the tables.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use mayros_sync_proto::config::ConflictStrategy;
use mayros_sync_proto::{Hlc, Triple, TripleId, Value};
use mayros_sync_store::{
    ApplyContext, CurrentChange, NewTriple, RemoteDeletion, RemoteTriple, Store, SyncElement,
    WriteContext,
};

const T0: u64 = 1_795_541_774_123;

fn ctx(wall_ms: u64) -> WriteContext {
    WriteContext {
        wall_ms,
        author: "a1".repeat(32),
    }
}

fn triple(s: &str, n: i64) -> Triple {
    Triple::new(s, "ex:p", Value::Integer(n)).unwrap()
}

fn apply_ctx() -> ApplyContext {
    ApplyContext {
        wall_ms: T0,
        peer: "b2".repeat(32),
        strategy: ConflictStrategy::KeepBoth,
        multi_valued: vec![],
        exclude_prefixes: vec!["mayros:sync:".into()],
        review_horizon: None,
    }
}

/// Replays the journal onto a set of (id, live) elements, as the engine's summary does (the
/// order within a transaction is free: a re-assert may add the live element before it
/// removes the tombstone), then checks no id ends up both live and deleted.
fn replay(store: &mut Store, state: &mut BTreeMap<TripleId, bool>) {
    let mut set: BTreeSet<(TripleId, bool)> = state.iter().map(|(i, l)| (*i, *l)).collect();
    for d in store.drain_element_journal().unwrap() {
        if d.added {
            assert!(set.insert((d.id, d.live)), "double add of {}", d.id);
        } else {
            assert!(set.remove(&(d.id, d.live)), "remove of absent {}", d.id);
        }
    }
    state.clear();
    for (id, live) in set {
        assert!(
            state.insert(id, live).is_none(),
            "{id} both live and deleted"
        );
    }
}

fn elements(store: &Store) -> BTreeMap<TripleId, bool> {
    store
        .sync_elements(&[])
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.live))
        .collect()
}

#[test]
fn the_journal_follows_inserts_deletes_remote_applies_and_reasserts() {
    let mut store = Store::open_in_memory().unwrap();
    store.enable_element_journal().unwrap();
    let mut state = BTreeMap::new();
    let ts: Vec<Triple> = (0..20).map(|i| triple("ex:s", i)).collect();
    let batch: Vec<NewTriple> = ts.iter().cloned().map(NewTriple::new).collect();
    store.insert_batch(&batch, &ctx(T0)).unwrap();
    replay(&mut store, &mut state);
    assert_eq!(state, elements(&store));
    assert_eq!(state.len(), 20);

    // Local deletes turn live elements into tombstones.
    for t in &ts[..5] {
        store.delete(&t.id(), &ctx(T0 + 1)).unwrap();
    }
    // A remote batch: new triples, a newer re-assert of a deleted one, a delete of an unknown id.
    let remote: Vec<RemoteTriple> = (100..110)
        .map(|i| RemoteTriple {
            triple: triple("ex:r", i),
            created_at: "2026-11-24T00:00:00Z".into(),
            author: "b2".repeat(32),
            hlc: Hlc::new(T0 + 10, 0),
        })
        .chain(std::iter::once(RemoteTriple {
            triple: ts[0].clone(),
            created_at: "2026-11-24T00:00:00Z".into(),
            author: "b2".repeat(32),
            hlc: Hlc::new(T0 + 50, 0),
        }))
        .collect();
    let deletions = vec![RemoteDeletion {
        id: TripleId::from_bytes([9; 32]),
        hlc: Hlc::new(T0 + 5, 0),
        by: "b2".repeat(32),
    }];
    store
        .apply_remote(&remote, &deletions, &apply_ctx())
        .unwrap();
    replay(&mut store, &mut state);
    assert_eq!(state, elements(&store));
    assert_eq!(state.get(&ts[0].id()), Some(&true), "re-assert won");
    assert_eq!(state.get(&ts[1].id()), Some(&false));
    assert_eq!(state.get(&TripleId::from_bytes([9; 32])), Some(&false));

    // A local re-assert removes the tombstone.
    store
        .insert_batch(&[NewTriple::new(ts[1].clone())], &ctx(T0 + 100))
        .unwrap();
    replay(&mut store, &mut state);
    assert_eq!(state, elements(&store));
    assert_eq!(state.get(&ts[1].id()), Some(&true));
}

#[test]
fn windows_report_the_latest_state_and_refuse_when_too_large() {
    let mut store = Store::open_in_memory().unwrap();
    let ts: Vec<Triple> = (0..10).map(|i| triple("ex:w", i)).collect();
    let batch: Vec<NewTriple> = ts.iter().cloned().map(NewTriple::new).collect();
    store.insert_batch(&batch, &ctx(T0)).unwrap();
    let head = store.log_head().unwrap();
    store.delete(&ts[3].id(), &ctx(T0 + 1)).unwrap();
    store
        .insert_batch(&[NewTriple::new(triple("ex:w", 99))], &ctx(T0 + 2))
        .unwrap();
    let w = store.window_elements(head, 10).unwrap().unwrap();
    assert_eq!(w, {
        let mut v = vec![
            SyncElement {
                id: ts[3].id(),
                live: false,
            },
            SyncElement {
                id: triple("ex:w", 99).id(),
                live: true,
            },
        ];
        v.sort();
        v
    });
    assert_eq!(store.window_elements(0, 5).unwrap(), None, "12 entries > 5");
    assert_eq!(store.window_elements(0, 12).unwrap().unwrap().len(), 11);
}

#[test]
fn current_changes_and_elements_skip_excluded_subjects() {
    let mut store = Store::open_in_memory().unwrap();
    let kept = triple("ex:k", 1);
    let hidden = triple("mayros:sync:state", 1);
    store
        .insert_batch(
            &[NewTriple::new(kept.clone()), NewTriple::new(hidden.clone())],
            &ctx(T0),
        )
        .unwrap();
    store.delete(&kept.id(), &ctx(T0 + 1)).unwrap();
    let excl = vec!["mayros:sync:".to_string()];
    let els = store.sync_elements(&excl).unwrap();
    assert_eq!(
        els,
        vec![SyncElement {
            id: kept.id(),
            live: false
        }]
    );
    let cur = store
        .current_changes(
            &[kept.id(), hidden.id(), TripleId::from_bytes([1; 32])],
            &excl,
        )
        .unwrap();
    assert_eq!(cur.len(), 1);
    assert!(matches!(&cur[0], CurrentChange::Deleted(t) if t.id == kept.id()));
}

#[test]
fn scanning_pages_through_every_live_triple_then_every_tombstone() {
    let mut store = Store::open_in_memory().unwrap();
    let ts: Vec<Triple> = (0..25).map(|i| triple("ex:scan", i)).collect();
    let batch: Vec<NewTriple> = ts.iter().cloned().map(NewTriple::new).collect();
    store.insert_batch(&batch, &ctx(T0)).unwrap();
    store
        .insert_batch(&[NewTriple::new(triple("mayros:sync:hidden", 1))], &ctx(T0))
        .unwrap();
    for t in &ts[..4] {
        store.delete(&t.id(), &ctx(T0 + 1)).unwrap();
    }
    let excl = vec!["mayros:sync:".to_string()];
    let (mut live, mut dead) = (Vec::new(), Vec::new());
    let mut cursor = Some(0);
    let mut pages = 0;
    while let Some(c) = cursor {
        let (page, next) = store.scan_current(c, 7, &excl).unwrap();
        assert!(page.len() <= 7);
        for ch in page {
            match ch {
                CurrentChange::Live(t) => live.push(t.id),
                CurrentChange::Deleted(t) => dead.push(t.id),
            }
        }
        cursor = next;
        pages += 1;
        assert!(pages < 20, "the scan ends");
    }
    let mut want_live: Vec<TripleId> = ts[4..].iter().map(Triple::id).collect();
    let mut want_dead: Vec<TripleId> = ts[..4].iter().map(Triple::id).collect();
    for v in [&mut live, &mut dead, &mut want_live, &mut want_dead] {
        v.sort();
    }
    assert_eq!(
        live, want_live,
        "every live triple once, the excluded one skipped"
    );
    assert_eq!(dead, want_dead, "then every tombstone once");
}
