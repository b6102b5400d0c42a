//! Peers, roster, invites and counters survive a reopen; a v1 store migrates to the latest
//! schema intact.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use ed25519_dalek::SigningKey;
use mayros_sync_proto::peerstate::PeerStatus;
use mayros_sync_proto::roster::{Roster, RosterAction, RosterEntry};
use mayros_sync_proto::{jcs, Hlc, Triple, TripleId, Value};
use mayros_sync_store::schema::{APPLICATION_ID, LATEST_VERSION, MIGRATIONS};
use mayros_sync_store::{ChangeOp, Error, NewTriple, PeerRecord, Store, SyncResult, WriteContext};

const T0: u64 = 1_795_541_774_123;

fn node(c: char) -> String {
    c.to_string().repeat(64)
}

fn reopen(path: &Path) -> Store {
    Store::open(path).unwrap()
}

#[test]
fn peers_round_trip_and_track_sync_results() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let mut store = reopen(&path);
    assert!(store.peers().unwrap().is_empty());
    assert_eq!(store.peer(&node('a')).unwrap(), None);

    let mut a = PeerRecord::new(&node('a'), T0);
    a.name = "laptop".into();
    a.endpoint = Some("192.168.1.5:19092".into());
    a.namespaces = vec!["mayros".into(), "".into()];
    a.quic_addr = Some("192.168.1.5:19091".into());
    let b = PeerRecord::new(&node('b'), T0 + 1); // a roster member whose endpoint is unknown
    store.upsert_peer(&a).unwrap();
    store.upsert_peer(&b).unwrap();
    assert_eq!(store.peers().unwrap(), vec![a.clone(), b.clone()]);

    store
        .record_sync_success(&a.node_id, T0 + 10, 120, Some("c1.00ff.7"))
        .unwrap();
    store
        .record_sync_success(&a.node_id, T0 + 20, 5, None)
        .unwrap();
    let got = store.peer(&a.node_id).unwrap().unwrap();
    assert_eq!(
        (
            got.total_syncs,
            got.total_triples_synced,
            got.cursor.as_deref()
        ),
        (2, 125, Some("c1.00ff.7")),
        "a success without a cursor keeps the stored one"
    );
    assert_eq!(
        (got.last_sync_at_ms, got.last_success_at_ms),
        (Some(T0 + 20), Some(T0 + 20))
    );
    assert_eq!(got.last_result, Some(SyncResult::Ok));

    store
        .record_sync_failure(&a.node_id, T0 + 30, "connection refused", T0 + 2_030)
        .unwrap();
    store
        .record_sync_failure(&a.node_id, T0 + 40, "timed out", T0 + 4_040)
        .unwrap();
    let got = store.peer(&a.node_id).unwrap().unwrap();
    assert_eq!(got.status, PeerStatus::Unreachable);
    assert_eq!((got.failures, got.total_failures), (2, 2));
    assert_eq!(
        (got.last_result, got.last_error.as_deref()),
        (Some(SyncResult::Error), Some("timed out"))
    );
    assert_eq!(
        (got.last_sync_at_ms, got.last_success_at_ms),
        (Some(T0 + 40), Some(T0 + 20))
    );
    assert_eq!(got.next_retry_at_ms, Some(T0 + 4_040));

    store
        .record_sync_success(&a.node_id, T0 + 50, 0, Some("c1.00ff.9"))
        .unwrap();
    let got = store.peer(&a.node_id).unwrap().unwrap();
    assert_eq!(
        (got.status, got.failures, got.total_failures),
        (PeerStatus::Active, 0, 2)
    );
    assert_eq!((got.last_error, got.next_retry_at_ms), (None, None));

    // Paused and removed peers keep their status through results.
    store
        .set_peer_status(&b.node_id, PeerStatus::Paused)
        .unwrap();
    store.record_sync_failure(&b.node_id, T0, "x", T0).unwrap();
    store.record_sync_success(&b.node_id, T0, 1, None).unwrap();
    assert_eq!(
        store.peer(&b.node_id).unwrap().unwrap().status,
        PeerStatus::Paused
    );
    store
        .set_peer_status(&b.node_id, PeerStatus::Removed)
        .unwrap();
    store.record_sync_success(&b.node_id, T0, 1, None).unwrap();
    store.set_peer_cursor(&a.node_id, None).unwrap();
    let before = store.peers().unwrap();
    assert_eq!(
        before[1].status,
        PeerStatus::Removed,
        "removed peers stay listed"
    );
    assert_eq!(before[0].cursor, None);
    drop(store);

    let mut store = reopen(&path);
    assert_eq!(store.peers().unwrap(), before);
    for err in [
        store
            .record_sync_success(&node('c'), T0, 0, None)
            .unwrap_err(),
        store
            .record_sync_failure(&node('c'), T0, "x", T0)
            .unwrap_err(),
        store
            .set_peer_status(&node('c'), PeerStatus::Active)
            .unwrap_err(),
        store
            .set_peer_cursor(&node('c'), Some("c1.1.1"))
            .unwrap_err(),
    ] {
        assert!(matches!(err, Error::PeerUnknown { .. }), "{err}");
        assert!(err.to_string().contains(&node('c')), "{err}");
    }
    // Upsert replaces every field.
    let mut renamed = before[0].clone();
    renamed.name = "laptop 2".into();
    renamed.endpoint = Some("192.168.1.6:19092".into());
    store.upsert_peer(&renamed).unwrap();
    assert_eq!(store.peer(&renamed.node_id).unwrap(), Some(renamed));
    assert_eq!(store.peers().unwrap().len(), 2);
}

#[test]
fn counters_persist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let mut store = reopen(&path);
    assert_eq!(store.counter("auth_rejected").unwrap(), 0);
    assert_eq!(store.bump_counter("auth_rejected").unwrap(), 1);
    assert_eq!(store.bump_counter("auth_rejected").unwrap(), 2);
    assert_eq!(store.bump_counter("cert_changed").unwrap(), 1);
    drop(store);
    let mut store = reopen(&path);
    assert_eq!(store.counter("auth_rejected").unwrap(), 2);
    assert_eq!(store.bump_counter("auth_rejected").unwrap(), 3);
    assert_eq!(
        store.counters().unwrap(),
        vec![
            ("auth_rejected".to_string(), 3),
            ("cert_changed".to_string(), 1)
        ]
    );
}

#[test]
fn invites_are_single_use_and_expire_also_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let (used, fresh, old, unknown) = ([1u8; 16], [2u8; 16], [3u8; 16], [4u8; 16]);
    let ten_min = 600_000;
    let mut store = reopen(&path);
    store.create_invite(used, T0, T0 + ten_min).unwrap();
    store
        .create_invite(fresh, T0 + 1, T0 + 1 + ten_min)
        .unwrap();
    store.create_invite(old, T0 - ten_min, T0).unwrap();
    let pending: Vec<_> = store
        .pending_invites(T0)
        .unwrap()
        .iter()
        .map(|i| i.secret)
        .collect();
    assert_eq!(pending, vec![used, fresh], "the expired one is not pending");
    assert!(
        !format!("{:?}", store.pending_invites(T0).unwrap()).contains("1, 1"),
        "secrets not in Debug"
    );
    store.consume_invite(&used, T0 + 5, &node('j')).unwrap();
    let err = store.consume_invite(&used, T0 + 6, &node('k')).unwrap_err();
    assert!(matches!(err, Error::InviteUsed), "{err}");
    drop(store);

    let mut store = reopen(&path);
    let err = store.consume_invite(&used, T0 + 7, &node('k')).unwrap_err();
    assert!(
        matches!(err, Error::InviteUsed),
        "single use across restarts: {err}"
    );
    assert!(err.to_string().contains("already used"), "{err}");
    let err = store.consume_invite(&old, T0, &node('k')).unwrap_err();
    assert!(matches!(err, Error::InviteExpired), "{err}");
    assert!(err.to_string().contains("expired"), "{err}");
    let err = store.consume_invite(&unknown, T0, &node('k')).unwrap_err();
    assert!(matches!(err, Error::InviteUnknown), "{err}");
    assert!(err.to_string().contains("unknown invite"), "{err}");
    let pending: Vec<_> = store
        .pending_invites(T0 + 10)
        .unwrap()
        .iter()
        .map(|i| i.secret)
        .collect();
    assert_eq!(pending, vec![fresh]);
    // Valid until just before its expiry instant.
    let err = store
        .consume_invite(&fresh, T0 + 1 + ten_min, &node('k'))
        .unwrap_err();
    assert!(matches!(err, Error::InviteExpired), "{err}");
    store
        .consume_invite(&fresh, T0 + ten_min, &node('k'))
        .unwrap();
    assert!(store.pending_invites(T0).unwrap().is_empty());
}

#[test]
fn roster_entries_persist_and_still_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let keys: Vec<SigningKey> = (1..=3u8)
        .map(|i| SigningKey::from_bytes(&[i; 32]))
        .collect();
    let id = |k: &SigningKey| hex::encode(k.verifying_key().to_bytes());
    let entries = vec![
        RosterEntry::sign(&id(&keys[0]), RosterAction::Add, T0, &keys[0]),
        RosterEntry::sign(&id(&keys[1]), RosterAction::Add, T0 + 1, &keys[0]),
        RosterEntry::sign(&id(&keys[2]), RosterAction::Add, T0 + 2, &keys[1]),
        RosterEntry::sign(&id(&keys[2]), RosterAction::Remove, T0 + 3, &keys[0]),
    ];
    let mut store = reopen(&path);
    assert_eq!(store.save_roster_entries(&entries[..2]).unwrap(), 2);
    assert_eq!(
        store.save_roster_entries(&entries).unwrap(),
        2,
        "only the new ones count"
    );
    assert_eq!(store.save_roster_entries(&entries).unwrap(), 0);
    drop(store);
    let stored = reopen(&path).roster_entries().unwrap();
    let mut expected = entries.clone();
    expected.sort();
    assert_eq!(stored, expected);
    let mut roster = Roster::new(&id(&keys[0]));
    let (added, errors) = roster.merge(stored);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(added.len(), 4);
    assert!(roster.removed().contains(&id(&keys[2])));
}

/// Builds a store file the way a schema-v1 build left it.
fn write_v1_store(path: &Path) -> (TripleId, TripleId, TripleId) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .unwrap();
    conn.execute_batch(MIGRATIONS[0].sql).unwrap();
    conn.execute_batch(&format!(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY NOT NULL,
                                         applied_at_ms INTEGER NOT NULL);
         INSERT INTO schema_migrations VALUES (1, 0);
         PRAGMA application_id = {APPLICATION_ID};
         INSERT INTO meta VALUES ('schema_version', '1'), ('install_id', '{}'),
                                 ('log_epoch', '00112233445566ff'), ('node_id', '{}');",
        "ab".repeat(16),
        node('e')
    ))
    .unwrap();
    let kept = Triple::new("mayros:agent:a1", "ex:likes", Value::String("tea".into())).unwrap();
    let other = Triple::new("ex:alice", "ex:age", Value::Integer(30)).unwrap();
    let gone = Triple::new("ex:alice", "ex:age", Value::Integer(29)).unwrap();
    let h = |n: u64| Hlc::new(T0 + n, 0).as_u64() as i64;
    for (t, hlc) in [(&kept, h(1)), (&other, h(2))] {
        conn.execute(
            "INSERT INTO triples VALUES (?1, ?2, ?3, ?4, ?5, ?6, '2026-11-24T00:00:00.000Z', ?7, ?8, NULL)",
            rusqlite::params![
                t.id().as_bytes().as_slice(),
                t.subject,
                t.predicate,
                jcs::canonicalize(&t.object.to_json(false)),
                t.object.variant_index(),
                t.namespace(),
                hlc,
                node('e'),
            ],
        )
        .unwrap();
    }
    for (id, op, hlc) in [
        (gone.id(), 1, h(0)),
        (kept.id(), 1, h(1)),
        (other.id(), 1, h(2)),
        (gone.id(), 2, h(3)),
    ] {
        conn.execute(
            "INSERT INTO change_log (id, op, hlc, author, recorded_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![id.as_bytes().as_slice(), op, hlc, node('e'), T0 as i64],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO tombstones VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![gone.id().as_bytes().as_slice(), h(3), node('e'), T0 as i64],
    )
    .unwrap();
    (kept.id(), other.id(), gone.id())
}

#[test]
fn a_v1_store_migrates_to_the_latest_schema_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let (kept, other, gone) = write_v1_store(&path);

    let mut store = reopen(&path);
    let meta = store.meta().unwrap();
    assert_eq!(meta.schema_version, LATEST_VERSION);
    assert_eq!(LATEST_VERSION, 4);
    assert_eq!(
        (meta.install_id, meta.log_epoch.as_str()),
        ("ab".repeat(16), "00112233445566ff")
    );
    assert_eq!(meta.node_id, Some(node('e')));
    assert_eq!(
        store.log_epoch(),
        "00112233445566ff",
        "cursors stay valid across the upgrade"
    );
    assert_eq!(store.triple_count().unwrap(), 2);
    assert_eq!(
        store.get(&kept).unwrap().unwrap().triple.object,
        Value::String("tea".into())
    );
    assert_eq!(
        store.clock(),
        Hlc::new(T0 + 3, 0),
        "resumed from the highest stamp"
    );
    let log = store.changes_since(0, 10).unwrap();
    let summary: Vec<_> = log.iter().map(|e| (e.op, e.namespace.as_deref())).collect();
    assert_eq!(
        summary,
        [
            (ChangeOp::Insert, None), // its triple is gone: namespace unknown
            (ChangeOp::Insert, Some("mayros")),
            (ChangeOp::Insert, Some("ex")),
            (ChangeOp::Delete, None),
        ]
    );
    let tomb = store.tombstone(&gone).unwrap().unwrap();
    assert_eq!((tomb.namespace, tomb.subject), (None, None));
    let page = store.delta_page(0, 10, &["mayros".into()], &[]).unwrap();
    assert_eq!(
        page.triples.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![kept]
    );
    assert_eq!(
        page.deletions.len(),
        1,
        "an old tombstone of unknown namespace is still sent"
    );
    let page = store.delta_page(0, 10, &[], &[]).unwrap();
    assert_eq!(page.triples.len() + page.deletions.len(), 3);
    assert!(page.triples.iter().any(|t| t.id == other));
    // v3 back-filled the tombstone's log position (4): collecting it (no members wait for it)
    // removes it and its log row, and cursors behind it expire.
    let report = store
        .collect_tombstones(T0 + 2 * 86_400_000, 180 * 86_400_000)
        .unwrap();
    assert_eq!((report.collected, report.oldest_retained_position), (1, 4));
    assert_eq!(
        store.collection_horizon().unwrap(),
        Some(Hlc::new(T0 + 3, 0))
    );
    assert_eq!(store.changes_since(0, 10).unwrap().len(), 3);

    // The new tables work, and writes continue the old log.
    store.bump_counter("auth_rejected").unwrap();
    store.upsert_peer(&PeerRecord::new(&node('a'), T0)).unwrap();
    let ctx = WriteContext {
        wall_ms: T0,
        author: node('e'),
    };
    let (t, _) = store
        .insert(
            &NewTriple::new(Triple::new("ex:x", "ex:p", Value::Null).unwrap()),
            &ctx,
        )
        .unwrap();
    assert!(t.hlc > Hlc::new(T0 + 3, 0));
    assert_eq!(store.log_head().unwrap(), 5);
    store.check_integrity().unwrap();
    drop(store);
    let store = reopen(&path);
    assert_eq!(store.meta().unwrap().schema_version, LATEST_VERSION);
    assert_eq!(store.counter("auth_rejected").unwrap(), 1);
    let versions: Vec<i64> = rusqlite::Connection::open(&path)
        .unwrap()
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(versions, [1, 2, 3, 4]);
}
