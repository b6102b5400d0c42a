//! The store helpers the external Cortex mirror uses: batch deletes, live ids and a settable
//! counter (the write-back position).
#![allow(clippy::unwrap_used)]

use mayros_sync_proto::{Triple, TripleId, Value};
use mayros_sync_store::{ChangeOp, NewTriple, Store, WriteContext};

fn ctx(wall_ms: u64) -> WriteContext {
    WriteContext {
        wall_ms,
        author: "a1".repeat(32),
    }
}

fn insert(store: &mut Store, n: usize) -> Vec<TripleId> {
    let items: Vec<NewTriple> = (0..n)
        .map(|i| {
            NewTriple::new(Triple::new("mayros:s", "mayros:p", Value::Integer(i as i64)).unwrap())
        })
        .collect();
    store
        .insert_batch(&items, &ctx(1_000))
        .unwrap()
        .inserted
        .iter()
        .map(|t| t.id)
        .collect()
}

#[test]
fn delete_batch_tombstones_live_ids_in_one_go_and_skips_the_rest() {
    let mut store = Store::open_in_memory().unwrap();
    let ids = insert(&mut store, 5);
    let head = store.log_head().unwrap();
    let unknown = TripleId::from_bytes([7; 32]);
    let written = store
        .delete_batch(&[ids[1], unknown, ids[3], ids[1]], &ctx(2_000))
        .unwrap();
    assert_eq!(
        written.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![ids[1], ids[3]]
    );
    assert!(
        written[0].hlc < written[1].hlc,
        "each delete gets its own stamp"
    );
    let log = store.changes_since(head, 100).unwrap();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|c| c.op == ChangeOp::Delete));
    assert!(store.get(&ids[1]).unwrap().is_none());
    assert!(store.tombstone(&ids[3]).unwrap().is_some());
    assert!(store.tombstone(&unknown).unwrap().is_none());
    // Nothing to delete: nothing written, not even the clock.
    let clock = store.clock();
    assert!(store
        .delete_batch(&[unknown], &ctx(3_000))
        .unwrap()
        .is_empty());
    assert!(store.delete_batch(&[], &ctx(3_000)).unwrap().is_empty());
    assert_eq!(store.clock(), clock);
    // The single delete is the same operation.
    assert!(store.delete(&ids[0], &ctx(4_000)).unwrap().is_some());
    assert!(store.delete(&ids[0], &ctx(4_000)).unwrap().is_none());
}

#[test]
fn live_ids_are_sorted_and_exclude_deleted_ones() {
    let mut store = Store::open_in_memory().unwrap();
    assert!(store.live_ids().unwrap().is_empty());
    let mut ids = insert(&mut store, 50);
    store.delete(&ids[10], &ctx(2_000)).unwrap();
    ids.remove(10);
    ids.sort();
    assert_eq!(store.live_ids().unwrap(), ids);
}

#[test]
fn counters_can_be_set_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    {
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.counter("cortex_mirror:http://x").unwrap(), 0);
        store.set_counter("cortex_mirror:http://x", 42).unwrap();
        store.set_counter("cortex_mirror:http://x", 7).unwrap();
        store.bump_counter("cortex_mirror:http://x").unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.counter("cortex_mirror:http://x").unwrap(), 8);
    assert_eq!(store.counter("other").unwrap(), 0);
}
