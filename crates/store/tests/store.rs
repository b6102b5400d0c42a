//! Store behaviour against a temp dir: open/migrate, inserts, deletes, the change log, queries.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use mayros_sync_proto::{Hlc, Triple, TripleId, Value};
use mayros_sync_store::schema::LATEST_VERSION;
use mayros_sync_store::{ChangeOp, Error, NewTriple, Pattern, Stats, Store, WriteContext};
use serde_json::json;

const T0: u64 = 1_795_541_774_123;

fn nt(s: &str, p: &str, o: Value) -> NewTriple {
    NewTriple::new(Triple::new(s, p, o).unwrap())
}

fn ctx(wall_ms: u64) -> WriteContext {
    WriteContext {
        wall_ms,
        author: "a1".repeat(32),
    }
}

fn log_rows(store: &Store) -> Vec<mayros_sync_store::ChangeEntry> {
    store.changes_since(0, usize::MAX).unwrap()
}

#[test]
fn reopen_keeps_data_meta_and_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let (meta, log, stored) = {
        let mut store = Store::open(&path).unwrap();
        let meta = store.meta().unwrap();
        assert_eq!(meta.schema_version, LATEST_VERSION);
        assert_eq!(meta.node_id, None);
        assert_eq!(meta.install_id.len(), 32);
        assert_eq!(meta.log_epoch.len(), 16);
        for id in [&meta.install_id, &meta.log_epoch] {
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        }
        store.set_node_id(&"ab".repeat(32)).unwrap();
        let out = store
            .insert_batch(
                &[
                    nt("ex:a", "ex:p", Value::Integer(1)),
                    nt("ex:b", "ex:p", Value::Null),
                ],
                &ctx(T0),
            )
            .unwrap();
        (store.meta().unwrap(), log_rows(&store), out.inserted)
    };
    assert_eq!(meta.node_id.as_deref(), Some("ab".repeat(32).as_str()));
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.meta().unwrap(),
        meta,
        "meta (install id, epoch, node id) is stable"
    );
    assert_eq!(log_rows(&store), log);
    for t in &stored {
        assert_eq!(store.get(&t.id).unwrap().as_ref(), Some(t));
    }
    store.check_integrity().unwrap();
    // A different store gets its own install id and epoch.
    let other = Store::open(&dir.path().join("other.db"))
        .unwrap()
        .meta()
        .unwrap();
    assert_ne!(other.install_id, meta.install_id);
    assert_ne!(other.log_epoch, meta.log_epoch);
}

#[test]
fn newer_schema_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    drop(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?1, 0)",
        [LATEST_VERSION + 1],
    )
    .unwrap();
    drop(conn);
    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, Error::SchemaTooNew { found, supported } if found == LATEST_VERSION + 1 && supported == LATEST_VERSION),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("version {}", LATEST_VERSION + 1)),
        "{text}"
    );
}

#[test]
fn bad_files_and_paths_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
    let err = Store::open(&junk).unwrap_err();
    assert!(matches!(err, Error::Damaged { .. }), "{err}");
    assert!(err.to_string().contains("junk.db"), "{err}");

    let missing = dir.path().join("no-such-dir").join("store.db");
    let err = Store::open(&missing).unwrap_err();
    assert!(err.to_string().contains("no-such-dir"), "{err}");
}

#[test]
fn store_file_is_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let _store = Store::open(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn batch_insert_reports_new_and_duplicate_triples() {
    let mut store = Store::open_in_memory().unwrap();
    assert_eq!(
        store.insert_batch(&[], &ctx(T0)).unwrap(),
        Default::default()
    );
    let a = nt("ex:alice", "ex:knows", Value::Node("ex:bob".into()));
    let mut b = nt("ex:alice", "ex:age", Value::Integer(30));
    b.created_at = Some("2020-01-02T03:04:05Z".into());
    b.source = Some("unit-test".into());
    let out = store
        .insert_batch(&[a.clone(), b.clone(), a.clone()], &ctx(T0))
        .unwrap();
    assert_eq!(
        out.inserted.len(),
        2,
        "a triple repeated in a batch is inserted once"
    );
    assert_eq!(out.duplicates.len(), 1);
    assert_eq!(out.duplicates[0], out.inserted[0]);
    let first = &out.inserted[0];
    assert_eq!(
        first.id.to_string(),
        "fee928798f9856486a802f87d715408ae848f0504dfeff05424217fa3586eb2b"
    );
    assert_eq!(first.created_at, "2026-11-24T17:36:14.123Z");
    assert_eq!(first.author, "a1".repeat(32));
    assert_eq!(first.source, None);
    assert_eq!(out.inserted[1].created_at, "2020-01-02T03:04:05Z");
    assert_eq!(out.inserted[1].source.as_deref(), Some("unit-test"));
    assert!(out.inserted[0].hlc < out.inserted[1].hlc);
    assert_eq!(out.inserted[0].hlc.wall_ms(), T0);
    assert_eq!(store.get(&first.id).unwrap().as_ref(), Some(first));
    assert_eq!(log_rows(&store).len(), 2);

    // Re-asserting later (from another author) changes nothing and logs nothing.
    let clock = store.clock();
    let again = store
        .insert_batch(
            &[b.clone(), a.clone()],
            &WriteContext {
                wall_ms: T0 + 5000,
                author: "ff".repeat(32),
            },
        )
        .unwrap();
    assert!(again.inserted.is_empty());
    assert_eq!(
        again.duplicates,
        vec![out.inserted[1].clone(), out.inserted[0].clone()]
    );
    assert_eq!(log_rows(&store).len(), 2);
    assert_eq!(store.clock(), clock, "a no-op issues no stamp");

    let (t, created) = store.insert(&a, &ctx(T0 + 9)).unwrap();
    assert!(!created);
    assert_eq!(&t, first);
    let (t, created) = store
        .insert(&nt("ex:c", "ex:p", Value::Null), &ctx(T0 + 9))
        .unwrap();
    assert!(created);
    assert_eq!(store.get(&t.id).unwrap(), Some(t));
    assert_eq!(store.triple_count().unwrap(), 3);
}

#[test]
fn every_value_variant_reads_back_exactly() {
    let mut store = Store::open_in_memory().unwrap();
    let values = vec![
        Value::Node("ex:bob".into()),
        Value::String("hi \"there\"\n".into()),
        Value::Integer(i64::MIN),
        Value::Integer(30),
        Value::Float(2.0),
        Value::Float(-0.0),
        Value::Float(0.0),
        Value::Float(1e20),
        Value::Float(1.5e-7),
        Value::Float(-123.456),
        Value::Boolean(true),
        Value::DateTime("2026-01-02T03:04:05Z".into()),
        Value::Typed {
            value: "1.0".into(),
            datatype: "xsd:decimal".into(),
        },
        Value::LangString {
            value: "hola".into(),
            lang: "es".into(),
        },
        Value::Bytes(vec![0, 1, 254, 255]),
        Value::Json(json!({"k": [1, "two", null], "a": {"z": true}})),
        Value::Null,
    ];
    let items: Vec<_> = values
        .iter()
        .map(|v| nt("ex:s", "ex:p", v.clone()))
        .collect();
    let out = store.insert_batch(&items, &ctx(T0)).unwrap();
    assert_eq!(out.inserted.len(), values.len());
    for t in &out.inserted {
        let back = store.get(&t.id).unwrap().unwrap();
        assert_eq!(back.triple.id(), t.id, "{:?}", t.triple.object);
        match (&back.triple.object, &t.triple.object) {
            (Value::Float(x), Value::Float(y)) => assert_eq!(x.to_bits(), y.to_bits()),
            (x, y) => assert_eq!(x, y),
        }
    }
}

#[test]
fn non_finite_floats_are_refused_and_the_batch_is_not_applied() {
    let mut store = Store::open_in_memory().unwrap();
    let clock = store.clock();
    let err = store
        .insert_batch(
            &[
                nt("ex:s", "ex:p", Value::Integer(1)),
                // Triple::new refuses it; the store checks again for triples built by hand.
                NewTriple::new(Triple {
                    subject: "ex:s".into(),
                    predicate: "ex:p".into(),
                    object: Value::Float(f64::NAN),
                }),
            ],
            &ctx(T0),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Unstorable { .. }), "{err}");
    assert!(err.to_string().contains("finite"), "{err}");
    assert_eq!(store.triple_count().unwrap(), 0, "all or nothing");
    assert!(log_rows(&store).is_empty());
    assert_eq!(store.clock(), clock);
}

#[test]
fn delete_writes_a_tombstone_and_one_log_row() {
    let mut store = Store::open_in_memory().unwrap();
    let (t, _) = store
        .insert(&nt("ex:a", "ex:p", Value::Integer(1)), &ctx(T0))
        .unwrap();
    let by = WriteContext {
        wall_ms: T0 + 10,
        author: "dd".repeat(32),
    };
    let tomb = store.delete(&t.id, &by).unwrap().unwrap();
    assert_eq!(tomb.id, t.id);
    assert_eq!(tomb.by, by.author);
    assert_eq!(tomb.deleted_at_ms, T0 + 10);
    assert!(tomb.hlc > t.hlc);
    assert_eq!(store.get(&t.id).unwrap(), None);
    assert_eq!(store.tombstone(&t.id).unwrap(), Some(tomb.clone()));
    assert_eq!(store.tombstone_count().unwrap(), 1);
    let log = log_rows(&store);
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[1].op, log[1].id, log[1].hlc),
        (ChangeOp::Delete, t.id, tomb.hlc)
    );
    assert_eq!(log[1].author, by.author);
    assert_eq!(log[1].recorded_at_ms, T0 + 10);

    // Deleting again, or deleting an unknown id, does nothing.
    assert_eq!(store.delete(&t.id, &by).unwrap(), None);
    assert_eq!(
        store.delete(&TripleId::from_bytes([9; 32]), &by).unwrap(),
        None
    );
    assert_eq!(
        store.tombstone(&TripleId::from_bytes([9; 32])).unwrap(),
        None
    );
    assert_eq!(log_rows(&store).len(), 2);
    assert_eq!(store.tombstone(&t.id).unwrap(), Some(tomb));
}

#[test]
fn reinsert_after_delete_clears_the_tombstone_with_a_newer_stamp() {
    let mut store = Store::open_in_memory().unwrap();
    let item = nt("ex:a", "ex:p", Value::String("x".into()));
    let (t, _) = store.insert(&item, &ctx(T0)).unwrap();
    let tomb = store.delete(&t.id, &ctx(T0)).unwrap().unwrap();
    // Even with a wall clock that went back, the re-assert is newer than the tombstone.
    let (again, created) = store.insert(&item, &ctx(T0 - 60_000)).unwrap();
    assert!(created);
    assert!(again.hlc > tomb.hlc, "{:?} > {:?}", again.hlc, tomb.hlc);
    assert_eq!(store.tombstone(&t.id).unwrap(), None);
    assert_eq!(store.tombstone_count().unwrap(), 0);
    let ops: Vec<_> = log_rows(&store).iter().map(|e| e.op).collect();
    assert_eq!(ops, [ChangeOp::Insert, ChangeOp::Delete, ChangeOp::Insert]);
}

#[test]
fn log_positions_increase_and_pagination_sees_every_entry_once() {
    let mut store = Store::open_in_memory().unwrap();
    assert_eq!(store.log_head().unwrap(), 0);
    assert!(store.changes_since(0, 10).unwrap().is_empty());
    let mut expected = 0;
    for batch in 0..20u64 {
        let items: Vec<_> = (0..37)
            .map(|i| nt(&format!("ex:s{batch}"), "ex:p", Value::Integer(i)))
            .collect();
        let out = store.insert_batch(&items, &ctx(T0 + batch)).unwrap();
        expected += out.inserted.len();
        if batch % 3 == 0 {
            for t in out.inserted.iter().take(5) {
                store.delete(&t.id, &ctx(T0 + batch)).unwrap().unwrap();
                expected += 1;
            }
        }
    }
    let all = log_rows(&store);
    assert_eq!(all.len(), expected, "one row per committed change");
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
    assert!(all.windows(2).all(|w| w[0].hlc < w[1].hlc));
    assert_eq!(store.log_head().unwrap(), all.last().unwrap().position);

    for page_size in [1, 7, 100, 1000] {
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            let page = store.changes_since(cursor, page_size).unwrap();
            assert!(page.len() <= page_size);
            let Some(last) = page.last() else { break };
            cursor = last.position;
            seen.extend(page);
        }
        assert_eq!(seen, all, "page size {page_size}");
    }
    let head = store.log_head().unwrap();
    assert!(store.changes_since(head, 10).unwrap().is_empty());
    let unique: HashSet<u64> = all.iter().map(|e| e.position).collect();
    assert_eq!(unique.len(), all.len());
}

#[test]
fn first_position_by_recorded_time() {
    let mut store = Store::open_in_memory().unwrap();
    assert_eq!(store.first_position_at_or_after(0).unwrap(), None);
    for (i, wall) in [1_000u64, 2_000, 3_000].into_iter().enumerate() {
        let items: Vec<_> = (0..3)
            .map(|j| nt(&format!("ex:{i}"), "ex:p", Value::Integer(j)))
            .collect();
        store.insert_batch(&items, &ctx(wall)).unwrap();
    }
    assert_eq!(store.first_position_at_or_after(0).unwrap(), Some(1));
    assert_eq!(store.first_position_at_or_after(1_000).unwrap(), Some(1));
    assert_eq!(store.first_position_at_or_after(1_001).unwrap(), Some(4));
    assert_eq!(store.first_position_at_or_after(2_500).unwrap(), Some(7));
    assert_eq!(store.first_position_at_or_after(3_001).unwrap(), None);
}

fn sample_store() -> Store {
    let mut store = Store::open_in_memory().unwrap();
    let items = vec![
        nt("ex:bob", "ex:age", Value::Integer(40)),
        nt("ex:alice", "ex:knows", Value::Node("ex:bob".into())),
        nt("ex:alice", "ex:age", Value::Integer(30)),
        nt("ex:alice", "ex:knows", Value::Node("ex:carol".into())),
        nt("ex:carol", "ex:knows", Value::Node("ex:bob".into())),
        nt("ex:carol", "ex:age", Value::Integer(30)),
        nt(
            "ex:dave",
            "ex:meta",
            Value::Json(json!({"b": 1, "a": [true, null]})),
        ),
    ];
    store.insert_batch(&items, &ctx(T0)).unwrap();
    store
}

fn spo(rows: &[mayros_sync_store::StoredTriple]) -> Vec<(String, String)> {
    rows.iter()
        .map(|t| (t.triple.subject.clone(), t.triple.predicate.clone()))
        .collect()
}

#[test]
fn find_filters_orders_and_pages() {
    let store = sample_store();
    let all = Pattern::default();
    let (rows, total) = store.find(&all, 100, 0).unwrap();
    assert_eq!(total, 7);
    assert_eq!(rows.len(), 7);
    let keys: Vec<_> = rows
        .iter()
        .map(|t| (t.triple.subject.clone(), t.triple.predicate.clone(), t.id))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "ordered by subject, predicate, id");

    let (page, total) = store.find(&all, 2, 3).unwrap();
    assert_eq!(total, 7, "total ignores limit and offset");
    assert_eq!(page, rows[3..5].to_vec());
    let (page, total) = store.find(&all, 10, 6).unwrap();
    assert_eq!((page.len(), total), (1, 7));
    let (page, total) = store.find(&all, 10, 99).unwrap();
    assert_eq!((page.len(), total), (0, 7));
    let (page, total) = store.find(&all, 0, 0).unwrap();
    assert_eq!((page.len(), total), (0, 7));

    let by_subject = Pattern {
        subject: Some("ex:alice".into()),
        ..Pattern::default()
    };
    let (rows, total) = store.find(&by_subject, 100, 0).unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        spo(&rows),
        [
            ("ex:alice", "ex:age"),
            ("ex:alice", "ex:knows"),
            ("ex:alice", "ex:knows")
        ]
        .map(|(s, p)| (s.to_string(), p.to_string()))
    );

    let by_predicate = Pattern {
        predicate: Some("ex:age".into()),
        ..Pattern::default()
    };
    let (rows, total) = store.find(&by_predicate, 2, 0).unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        spo(&rows),
        [("ex:alice", "ex:age"), ("ex:bob", "ex:age")].map(|(s, p)| (s.to_string(), p.to_string()))
    );

    let by_object = Pattern {
        object: Some(Value::Node("ex:bob".into())),
        ..Pattern::default()
    };
    let (rows, total) = store.find(&by_object, 100, 0).unwrap();
    assert_eq!(total, 2);
    assert_eq!(rows[0].triple.subject, "ex:alice");
    assert_eq!(rows[1].triple.subject, "ex:carol");

    let combined = Pattern {
        subject: Some("ex:carol".into()),
        predicate: Some("ex:age".into()),
        object: Some(Value::Integer(30)),
    };
    let (rows, total) = store.find(&combined, 100, 0).unwrap();
    assert_eq!(total, 1);
    assert_eq!(rows[0].triple.object, Value::Integer(30));

    let none = Pattern {
        subject: Some("ex:nobody".into()),
        ..Pattern::default()
    };
    assert_eq!(store.find(&none, 100, 0).unwrap(), (vec![], 0));
}

#[test]
fn object_filter_matches_by_canonical_json() {
    let store = sample_store();
    let reordered = Pattern {
        object: Some(Value::Json(
            serde_json::from_str(r#"{ "a": [true, null], "b": 1 }"#).unwrap(),
        )),
        ..Pattern::default()
    };
    let (rows, total) = store.find(&reordered, 10, 0).unwrap();
    assert_eq!(total, 1);
    assert_eq!(rows[0].triple.subject, "ex:dave");
    let different = Pattern {
        object: Some(Value::Json(json!({"a": [true, null], "b": 2}))),
        ..Pattern::default()
    };
    assert_eq!(store.find(&different, 10, 0).unwrap().1, 0);
    // A string "30" is not the integer 30.
    let string = Pattern {
        object: Some(Value::String("30".into())),
        ..Pattern::default()
    };
    assert_eq!(store.find(&string, 10, 0).unwrap().1, 0);
}

#[test]
fn stats_count_distinct_values() {
    let store = sample_store();
    assert_eq!(
        store.stats().unwrap(),
        Stats {
            triple_count: 7,
            subject_count: 4,
            predicate_count: 3,
            object_count: 5,
        }
    );
    assert_eq!(
        Store::open_in_memory().unwrap().stats().unwrap(),
        Stats::default()
    );
}

#[test]
fn stamps_strictly_increase_across_batches_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let mut last = Hlc::ZERO;
    for round in 0..3u64 {
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.clock(), last, "the clock resumes from the database");
        // The wall clock goes backwards between rounds; stamps must not.
        let wall = T0 - round * 10_000;
        for batch in 0..3 {
            let items: Vec<_> = (0..50)
                .map(|i| nt(&format!("ex:r{round}b{batch}"), "ex:p", Value::Integer(i)))
                .collect();
            let out = store.insert_batch(&items, &ctx(wall)).unwrap();
            for t in &out.inserted {
                assert!(t.hlc > last, "{:?} > {:?}", t.hlc, last);
                last = t.hlc;
            }
        }
        let victim = store.find(&Pattern::default(), 1, 0).unwrap().0.remove(0);
        let tomb = store.delete(&victim.id, &ctx(wall)).unwrap().unwrap();
        assert!(tomb.hlc > last);
        last = tomb.hlc;
        assert_eq!(store.clock(), last);
    }
}
