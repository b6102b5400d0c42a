//! Property test: random insert/delete sequences against a HashMap model.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};

use mayros_sync_proto::{Triple, TripleId, Value};
use mayros_sync_store::{ChangeOp, NewTriple, Pattern, Store, WriteContext};
use proptest::prelude::*;

const UNIVERSE: usize = 12;

fn universe() -> Vec<Triple> {
    (0..UNIVERSE)
        .map(|i| {
            let object = match i % 4 {
                0 => Value::Integer(i as i64),
                1 => Value::String(format!("v{i}")),
                2 => Value::Float(i as f64),
                _ => Value::Node(format!("ex:n{}", i % 3)),
            };
            Triple::new(&format!("ex:s{}", i % 5), &format!("ex:p{}", i % 2), object).unwrap()
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Op {
    /// Insert these universe members as one batch (repeats allowed).
    Insert(Vec<usize>),
    /// Delete this universe member.
    Delete(usize),
}

fn op() -> impl Strategy<Value = (Op, u64)> {
    let op = prop_oneof![
        3 => proptest::collection::vec(0..UNIVERSE, 1..6).prop_map(Op::Insert),
        2 => (0..UNIVERSE).prop_map(Op::Delete),
    ];
    // Wall clock offsets, including steps back.
    (op, 0u64..5_000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn store_matches_a_model(ops in proptest::collection::vec(op(), 1..60)) {
        let triples = universe();
        let ids: Vec<TripleId> = triples.iter().map(Triple::id).collect();
        let mut store = Store::open_in_memory().unwrap();
        let mut live: HashMap<TripleId, Triple> = HashMap::new();
        let mut tombstoned: HashSet<TripleId> = HashSet::new();
        let mut changes = 0usize;

        for (op, wall) in ops {
            let ctx = WriteContext { wall_ms: 1_000_000 + wall, author: "a".repeat(64) };
            match op {
                Op::Insert(members) => {
                    let items: Vec<_> =
                        members.iter().map(|&i| NewTriple::new(triples[i].clone())).collect();
                    let out = store.insert_batch(&items, &ctx).unwrap();
                    let mut expected = Vec::new();
                    for &i in &members {
                        if let std::collections::hash_map::Entry::Vacant(slot) = live.entry(ids[i]) {
                            slot.insert(triples[i].clone());
                            tombstoned.remove(&ids[i]);
                            expected.push(ids[i]);
                            changes += 1;
                        }
                    }
                    let got: Vec<_> = out.inserted.iter().map(|t| t.id).collect();
                    prop_assert_eq!(got, expected);
                    prop_assert_eq!(out.duplicates.len(), members.len() - out.inserted.len());
                }
                Op::Delete(i) => {
                    let result = store.delete(&ids[i], &ctx).unwrap();
                    if live.remove(&ids[i]).is_some() {
                        prop_assert!(result.is_some());
                        tombstoned.insert(ids[i]);
                        changes += 1;
                    } else {
                        prop_assert!(result.is_none());
                    }
                }
            }
            prop_assert_eq!(store.log_head().unwrap() as usize, changes);
        }

        let (rows, total) = store.find(&Pattern::default(), usize::MAX, 0).unwrap();
        prop_assert_eq!(total as usize, live.len());
        let stored: HashMap<TripleId, Triple> =
            rows.into_iter().map(|t| (t.id, t.triple)).collect();
        prop_assert_eq!(&stored, &live);

        let log = store.changes_since(0, usize::MAX).unwrap();
        prop_assert_eq!(log.len(), changes, "one log entry per effective change");
        prop_assert!(log.windows(2).all(|w| w[0].position < w[1].position && w[0].hlc < w[1].hlc));
        for id in &ids {
            let ops: Vec<ChangeOp> = log.iter().filter(|e| e.id == *id).map(|e| e.op).collect();
            for (k, op) in ops.iter().enumerate() {
                let want = if k % 2 == 0 { ChangeOp::Insert } else { ChangeOp::Delete };
                prop_assert_eq!(*op, want, "ops on {} alternate, starting with an insert", id);
            }
            prop_assert_eq!(ops.last() == Some(&ChangeOp::Insert), live.contains_key(id));
            let tomb = store.tombstone(id).unwrap();
            prop_assert_eq!(tomb.is_some(), tombstoned.contains(id));
            if let Some(t) = tomb {
                let last_delete = log.iter().rev().find(|e| e.id == *id).unwrap();
                prop_assert_eq!(t.hlc, last_delete.hlc);
            }
        }
    }
}
