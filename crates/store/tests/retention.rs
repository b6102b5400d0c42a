//! Tombstone collection (DESIGN §2.3): acknowledgements, the 24 h minimum, the maximum
//! retention and stale members, the collection horizon and expired cursors, and the review
//! queue that keeps a stale peer from resurrecting collected deletions.
#![allow(clippy::unwrap_used)]

use mayros_sync_proto::config::ConflictStrategy;
use mayros_sync_proto::peerstate::PeerStatus;
use mayros_sync_proto::timefmt::format_rfc3339_ms;
use mayros_sync_proto::{Hlc, Triple, TripleId, Value};
use mayros_sync_store::{
    ApplyContext, ChangeOp, Error, NewTriple, PeerRecord, RemoteDeletion, RemoteTriple, Store,
    WriteContext,
};

const T0: u64 = 1_795_541_774_123;
const HOUR: u64 = 3_600_000;
const DAY: u64 = 24 * HOUR;
const MAX: u64 = 180 * DAY;

fn node(c: char) -> String {
    c.to_string().repeat(64)
}

fn me(wall: u64) -> WriteContext {
    WriteContext {
        wall_ms: wall,
        author: node('e'),
    }
}

fn fact(n: i64) -> Triple {
    Triple::new("mayros:agent:a", "ex:n", Value::Integer(n)).unwrap()
}

fn remote(t: &Triple, wall: u64, author: char) -> RemoteTriple {
    RemoteTriple {
        triple: t.clone(),
        created_at: format_rfc3339_ms(wall),
        author: node(author),
        hlc: Hlc::new(wall, 0),
    }
}

fn ctx(wall: u64, peer: char, review_horizon: Option<Hlc>) -> ApplyContext {
    ApplyContext {
        wall_ms: wall,
        peer: node(peer),
        strategy: ConflictStrategy::LastWriterWins,
        multi_valued: vec![],
        exclude_prefixes: vec![],
        review_horizon,
    }
}

/// Writes `fact(n)` locally at `wall` and returns its id.
fn put(store: &mut Store, n: i64, wall: u64) -> TripleId {
    store
        .insert(&NewTriple::new(fact(n)), &me(wall))
        .unwrap()
        .0
        .id
}

/// Deletes locally at `wall`; returns the delete's change-log position.
fn delete(store: &mut Store, id: &TripleId, wall: u64) -> u64 {
    store.delete(id, &me(wall)).unwrap().unwrap();
    store.log_head().unwrap()
}

fn add_peer(store: &mut Store, c: char, ack: u64) {
    store.upsert_peer(&PeerRecord::new(&node(c), T0)).unwrap();
    if ack > 0 {
        assert!(store.record_peer_ack(&node(c), ack).unwrap());
    }
}

fn delete_rows(store: &Store) -> Vec<u64> {
    store
        .changes_since(0, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.op == ChangeOp::Delete)
        .map(|e| e.position)
        .collect()
}

#[test]
fn acknowledgements_only_move_forward_and_survive_upserts() {
    let mut store = Store::open_in_memory().unwrap();
    add_peer(&mut store, 'a', 0);
    assert_eq!(store.peer(&node('a')).unwrap().unwrap().acked_position, 0);
    assert!(store.record_peer_ack(&node('a'), 7).unwrap());
    assert!(!store.record_peer_ack(&node('a'), 3).unwrap(), "never back");
    assert!(
        !store.record_peer_ack(&node('z'), 9).unwrap(),
        "unknown peer"
    );
    let mut record = store.peer(&node('a')).unwrap().unwrap();
    assert_eq!((record.acked_position, record.stale), (7, false));
    record.name = "laptop".into();
    store.upsert_peer(&record).unwrap();
    store.set_peer_stale(&node('a'), true).unwrap();
    let record = store.peer(&node('a')).unwrap().unwrap();
    assert_eq!(
        (record.acked_position, record.stale, record.name.as_str()),
        (7, true, "laptop")
    );
    assert!(matches!(
        store.set_peer_stale(&node('z'), true),
        Err(Error::PeerUnknown { .. })
    ));
}

#[test]
fn collection_deletes_only_collectible_tombstones() {
    let mut store = Store::open_in_memory().unwrap();
    let ids: Vec<TripleId> = (1..=4).map(|n| put(&mut store, n, T0)).collect();
    let p1 = delete(&mut store, &ids[0], T0);
    let p2 = delete(&mut store, &ids[1], T0 + 1);
    let p3 = delete(&mut store, &ids[2], T0 + 23 * HOUR);
    // `a` has seen the first delete only, `b` everything; a removed peer never counts.
    add_peer(&mut store, 'a', p1);
    add_peer(&mut store, 'b', p3);
    add_peer(&mut store, 'c', 0);
    store
        .set_peer_status(&node('c'), PeerStatus::Removed)
        .unwrap();

    let report = store.collect_tombstones(T0 + DAY - 1, MAX).unwrap();
    assert_eq!(
        (report.examined, report.collected),
        (0, 0),
        "nothing is collected under 24 h"
    );
    assert_eq!(store.collection_horizon().unwrap(), None);

    let report = store.collect_tombstones(T0 + DAY + 1, MAX).unwrap();
    assert_eq!((report.examined, report.collected), (2, 1), "{report:?}");
    assert!(
        store.tombstone(&ids[0]).unwrap().is_none(),
        "acknowledged by all"
    );
    assert!(store.tombstone(&ids[1]).unwrap().is_some(), "`a` is behind");
    assert!(store.tombstone(&ids[2]).unwrap().is_some(), "too young");
    assert_eq!(report.remaining, 2);
    assert_eq!(report.collected_by_max_retention, 0);
    assert!(report.marked_stale.is_empty());
    assert_eq!(report.oldest_retained_position, p1);
    assert_eq!(delete_rows(&store), vec![p2, p3], "its log row is pruned");
    let h1 = store.tombstone_count().unwrap();
    assert_eq!(h1, 2);

    // `a` catches up: the rest goes once it is 24 h old.
    assert!(store.record_peer_ack(&node('a'), p3).unwrap());
    let report = store.collect_tombstones(T0 + 2 * DAY, MAX).unwrap();
    assert_eq!(report.collected, 2, "{report:?}");
    assert_eq!(store.tombstone_count().unwrap(), 0);
    assert_eq!(report.oldest_retained_position, p3);
    assert_eq!(store.oldest_retained_position().unwrap(), p3);
    let newest = store.changes_since(0, 100).unwrap();
    assert!(newest.iter().all(|e| e.op == ChangeOp::Insert));
    assert_eq!(
        store.collection_horizon().unwrap(),
        report.horizon,
        "the newest collected stamp"
    );
    let horizon = report.horizon.unwrap();
    assert!(horizon.wall_ms() >= T0 + 23 * HOUR, "{horizon}");
    assert!(!store.peer(&node('a')).unwrap().unwrap().stale);
    assert!(!store.peer(&node('b')).unwrap().unwrap().stale);
    assert!(store.get(&ids[3]).unwrap().is_some(), "live triples stay");
}

#[test]
fn max_retention_collects_whatever_the_acks_and_marks_laggards_stale() {
    let mut store = Store::open_in_memory().unwrap();
    let x = put(&mut store, 1, T0);
    let pos = delete(&mut store, &x, T0);
    add_peer(&mut store, 'a', 0); // never pulled from us
    add_peer(&mut store, 'b', pos);
    let max = 2 * DAY;
    let report = store.collect_tombstones(T0 + max - 1, max).unwrap();
    assert_eq!(report.collected, 0, "`a` has not acknowledged it yet");
    let report = store.collect_tombstones(T0 + max, max).unwrap();
    assert_eq!(
        (report.collected, report.collected_by_max_retention),
        (1, 1)
    );
    assert_eq!(report.marked_stale, vec![node('a')]);
    assert!(store.peer(&node('a')).unwrap().unwrap().stale);
    assert!(!store.peer(&node('b')).unwrap().unwrap().stale);
    // `b` has not acknowledged the next one either; `a`, already stale, is not reported again.
    let y = put(&mut store, 2, T0 + max);
    delete(&mut store, &y, T0 + max);
    let report = store.collect_tombstones(T0 + 3 * max, max).unwrap();
    assert_eq!(report.collected, 1);
    assert_eq!(report.marked_stale, vec![node('b')], "{report:?}");
    assert!(store.peer(&node('b')).unwrap().unwrap().stale);
}

#[test]
fn horizon_and_retained_position_persist_and_never_move_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let mut store = Store::open(&path).unwrap();
    let x = put(&mut store, 1, T0);
    let pos = delete(&mut store, &x, T0 + 10);
    let report = store.collect_tombstones(T0 + 10 + DAY, MAX).unwrap();
    assert_eq!(report.collected, 1);
    let horizon = store.collection_horizon().unwrap().unwrap();
    assert_eq!(horizon, store.clock(), "the delete's stamp");
    drop(store);

    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.collection_horizon().unwrap(), Some(horizon));
    assert_eq!(store.oldest_retained_position().unwrap(), pos);
    // A peer relays an old deletion of an id never seen here; collecting it later moves the
    // retained position forward but not the horizon back.
    let old = RemoteDeletion {
        id: fact(9).id(),
        hlc: Hlc::new(T0 - DAY, 0),
        by: node('b'),
    };
    store
        .apply_remote(&[], &[old], &ctx(T0 + 2 * DAY, 'b', None))
        .unwrap();
    let report = store.collect_tombstones(T0 + 4 * DAY, MAX).unwrap();
    assert_eq!(report.collected, 1);
    assert_eq!(store.collection_horizon().unwrap(), Some(horizon));
    assert!(store.oldest_retained_position().unwrap() > pos);
}

#[test]
fn a_cursor_behind_the_pruned_log_is_expired() {
    let mut store = Store::open_in_memory().unwrap();
    let x = put(&mut store, 1, T0);
    let before = store.log_head().unwrap();
    let kept = put(&mut store, 2, T0 + 1);
    let pos = delete(&mut store, &x, T0 + 2);
    assert_eq!(store.oldest_retained_position().unwrap(), 0);
    // A member's cursor stopped before the delete: it never learned about it.
    add_peer(&mut store, 'a', before);
    store.collect_tombstones(T0 + 3 * DAY, 2 * DAY).unwrap();
    let oldest = store.oldest_retained_position().unwrap();
    assert_eq!(oldest, pos);
    // The node answers 410 CURSOR_EXPIRED to a cursor below this (peer_api::delta); a page
    // from there would not carry the collected deletion.
    assert!(before < oldest);
    let page = store.delta_page(before, 100, &[], &[]).unwrap();
    assert!(
        page.deletions.is_empty(),
        "the deletion is gone from the log"
    );
    assert_eq!(
        page.triples.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![kept]
    );
    assert!(store.peer(&node('a')).unwrap().unwrap().stale);
    // A full comparison (from the start) still sends every live triple.
    let page = store.delta_page(0, 100, &[], &[]).unwrap();
    assert_eq!(page.triples.len(), 1);
}

/// A store that collected `x`'s tombstone; returns it with `x` and the horizon.
fn collected_store() -> (Store, Triple, Hlc) {
    let mut store = Store::open_in_memory().unwrap();
    let x = fact(1);
    let out = store
        .apply_remote(&[remote(&x, T0, 'c')], &[], &ctx(T0, 'c', None))
        .unwrap();
    assert_eq!(out.applied, 1);
    delete(&mut store, &x.id(), T0 + 10);
    store.collect_tombstones(T0 + 3 * DAY, 2 * DAY).unwrap();
    assert!(store.tombstone(&x.id()).unwrap().is_none());
    let horizon = store.collection_horizon().unwrap().unwrap();
    (store, x, horizon)
}

#[test]
fn an_old_item_offered_by_a_stale_peer_goes_to_review_not_into_the_triples() {
    let (mut store, x, horizon) = collected_store();
    let wall = T0 + 4 * DAY;
    let fresh = fact(2);
    let offered = [remote(&x, T0, 'c'), remote(&fresh, T0 + 3 * DAY, 'c')];
    let out = store
        .apply_remote(&offered, &[], &ctx(wall, 'c', Some(horizon)))
        .unwrap();
    assert_eq!(
        (out.held_for_review, out.applied),
        (1, 1),
        "the old one is held, the one newer than the horizon is applied: {out:?}"
    );
    assert!(store.get(&x.id()).unwrap().is_none(), "not resurrected");
    assert!(store.get(&fresh.id()).unwrap().is_some());
    assert_eq!(store.review_count().unwrap(), 1);
    let items = store.review_items(10).unwrap();
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(
        (
            item.id,
            &item.triple,
            item.hlc,
            item.author.as_str(),
            item.from_peer.as_str(),
            item.received_at_ms
        ),
        (
            x.id(),
            &x,
            Hlc::new(T0, 0),
            node('c').as_str(),
            node('c').as_str(),
            wall
        )
    );
    // Offered again: still one item, nothing inserted.
    let out = store
        .apply_remote(&offered[..1], &[], &ctx(wall + 1, 'd', Some(horizon)))
        .unwrap();
    assert_eq!((out.held_for_review, out.applied), (1, 0));
    assert_eq!(store.review_count().unwrap(), 1);
    assert_eq!(
        store.review_item(&x.id()).unwrap().unwrap().from_peer,
        node('d')
    );

    // Without a review horizon (an ordinary pull) the same offer would resurrect it.
    let (mut plain, x2, _) = collected_store();
    let out = plain
        .apply_remote(&[remote(&x2, T0, 'c')], &[], &ctx(wall, 'c', None))
        .unwrap();
    assert_eq!(out.applied, 1, "this is what the review queue prevents");
}

#[test]
fn accepting_a_held_item_writes_it_locally_so_it_propagates() {
    let (mut store, x, horizon) = collected_store();
    store
        .apply_remote(
            &[remote(&x, T0, 'c')],
            &[],
            &ctx(T0 + 4 * DAY, 'c', Some(horizon)),
        )
        .unwrap();
    let head = store.log_head().unwrap();
    let accepted = store.accept_review(&x.id(), &me(T0 + 5 * DAY)).unwrap();
    assert_eq!(accepted.id, x.id());
    assert!(accepted.hlc > horizon, "newer than any deletion of it");
    assert_eq!(accepted.author, node('e'));
    assert_eq!(
        accepted.created_at,
        format_rfc3339_ms(T0),
        "its creation time"
    );
    assert_eq!(store.get(&x.id()).unwrap().unwrap(), accepted);
    assert_eq!(store.review_count().unwrap(), 0);
    let page = store.delta_page(head, 10, &[], &[]).unwrap();
    assert_eq!(
        page.triples.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![x.id()],
        "logged for peers"
    );
    assert!(matches!(
        store.accept_review(&x.id(), &me(T0 + 5 * DAY)),
        Err(Error::UnknownReviewItem { .. })
    ));
}

#[test]
fn discarding_a_held_item_tombstones_it_so_it_is_not_offered_again() {
    let (mut store, x, horizon) = collected_store();
    let offer = [remote(&x, T0, 'c')];
    store
        .apply_remote(&offer, &[], &ctx(T0 + 4 * DAY, 'c', Some(horizon)))
        .unwrap();
    let head = store.log_head().unwrap();
    let tomb = store
        .discard_review(&x.id(), &me(T0 + 5 * DAY))
        .unwrap()
        .unwrap();
    assert!(tomb.hlc > Hlc::new(T0, 0));
    assert_eq!(tomb.by, node('e'));
    assert_eq!(store.review_count().unwrap(), 0);
    assert!(store.get(&x.id()).unwrap().is_none());
    let page = store.delta_page(head, 10, &[], &[]).unwrap();
    assert_eq!(page.deletions.len(), 1, "the tombstone propagates");
    // Offered again (even in an ordinary pull): refused by the tombstone, not queued.
    let out = store
        .apply_remote(&offer, &[], &ctx(T0 + 6 * DAY, 'c', Some(horizon)))
        .unwrap();
    assert_eq!(
        (out.skipped_older_than_tombstone, out.held_for_review),
        (1, 0)
    );
    let out = store
        .apply_remote(&offer, &[], &ctx(T0 + 6 * DAY, 'c', None))
        .unwrap();
    assert_eq!(out.applied, 0);
    assert_eq!(store.review_count().unwrap(), 0);
    assert!(matches!(
        store.discard_review(&x.id(), &me(T0 + 6 * DAY)),
        Err(Error::UnknownReviewItem { .. })
    ));
}

#[test]
fn a_held_item_is_settled_by_a_newer_delete_or_a_newer_assert() {
    let (mut store, x, horizon) = collected_store();
    let held = |s: &mut Store| {
        s.apply_remote(
            &[remote(&x, T0, 'c')],
            &[],
            &ctx(T0 + 4 * DAY, 'c', Some(horizon)),
        )
        .unwrap();
        assert_eq!(s.review_count().unwrap(), 1);
    };
    held(&mut store);
    // An older deletion does not settle it; a newer one does.
    let del = |wall: u64| RemoteDeletion {
        id: x.id(),
        hlc: Hlc::new(wall, 0),
        by: node('b'),
    };
    store
        .apply_remote(&[], &[del(T0 - 1)], &ctx(T0 + 4 * DAY, 'b', None))
        .unwrap();
    assert_eq!(store.review_count().unwrap(), 1);
    store
        .apply_remote(&[], &[del(T0 + 1)], &ctx(T0 + 4 * DAY, 'b', None))
        .unwrap();
    assert_eq!(store.review_count().unwrap(), 0);

    // Someone accepted it elsewhere: its newer assert arrives and settles ours.
    let (mut store, x, _) = collected_store();
    held(&mut store);
    let out = store
        .apply_remote(
            &[remote(&x, T0 + 4 * DAY, 'b')],
            &[],
            &ctx(T0 + 4 * DAY, 'b', Some(horizon)),
        )
        .unwrap();
    assert_eq!(out.applied, 1);
    assert_eq!(store.review_count().unwrap(), 0);
    // A local write of the same fact settles it too.
    let (mut store, _, _) = collected_store();
    held(&mut store);
    put(&mut store, 1, T0 + 5 * DAY);
    assert_eq!(store.review_count().unwrap(), 0);
}
