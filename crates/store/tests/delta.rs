//! Delta pages (DESIGN §5): pagination over a large mixed change log, filters, cursors.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};

use mayros_sync_proto::config::ConflictStrategy;
use mayros_sync_proto::namespace::{is_excluded, namespace_of};
use mayros_sync_proto::timefmt::format_rfc3339_ms;
use mayros_sync_proto::{Hlc, Triple, TripleId, Value};
use mayros_sync_store::{
    ApplyContext, NewTriple, Pattern, RemoteDeletion, RemoteTriple, Store, Tombstone, WriteContext,
};

const T0: u64 = 1_795_541_774_123;

fn node(c: char) -> String {
    c.to_string().repeat(64)
}

fn me(wall: u64) -> WriteContext {
    WriteContext {
        wall_ms: wall,
        author: node('e'),
    }
}

fn actx() -> ApplyContext {
    ApplyContext {
        wall_ms: T0 + 1_000_000,
        peer: node('f'),
        strategy: ConflictStrategy::LastWriterWins,
        multi_valued: vec![],
        exclude_prefixes: vec![],
        review_horizon: None,
    }
}

/// A small deterministic generator (no extra dependency).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

const SUBJECTS: [&str; 6] = [
    "a:s",
    "b:s",
    "c:s",
    "mayros:sync:s",
    "mayros:agent:s",
    "plain",
];

/// Subjects over several namespaces (and an excluded prefix). Local and remote facts share
/// conflict keys, so last-writer-wins resolutions add tombstones to the mix.
fn fact(i: u64) -> Triple {
    let subject = format!("{}{}", SUBJECTS[(i % 6) as usize], i % 97);
    Triple::new(
        &subject,
        &format!("ex:p{}", i % 13),
        Value::Integer(i as i64),
    )
    .unwrap()
}

/// At least `n` change-log entries: local inserts, deletes and re-asserts; remote triples,
/// deletions (some of ids never seen) and re-stamps.
fn mixed_store(n: u64) -> Store {
    let mut store = Store::open_in_memory().unwrap();
    let mut rng = Lcg(42);
    let universe = 3_000;
    let mut wall = T0;
    while store.log_head().unwrap() < n {
        wall += 1;
        match rng.below(10) {
            0..=3 => {
                let items: Vec<_> = (0..rng.below(40) + 1)
                    .map(|_| NewTriple::new(fact(rng.below(universe))))
                    .collect();
                store.insert_batch(&items, &me(wall)).unwrap();
            }
            4..=5 => {
                for _ in 0..rng.below(20) + 1 {
                    store
                        .delete(&fact(rng.below(universe)).id(), &me(wall))
                        .unwrap();
                }
            }
            6..=7 => {
                let author = node(['a', 'b', 'c'][rng.below(3) as usize]);
                let triples: Vec<_> = (0..rng.below(40) + 1)
                    .map(|_| {
                        let t = fact(universe + rng.below(universe));
                        let at = wall + 1_000 * rng.below(3); // some newer, some equal
                        RemoteTriple {
                            triple: t,
                            created_at: format_rfc3339_ms(at),
                            author: author.clone(),
                            hlc: Hlc::new(at, 0),
                        }
                    })
                    .collect();
                store.apply_remote(&triples, &[], &actx()).unwrap();
            }
            _ => {
                let deletions: Vec<_> = (0..rng.below(20) + 1)
                    .map(|_| {
                        let id = if rng.below(4) == 0 {
                            TripleId::from_bytes([rng.below(250) as u8; 32]) // never seen
                        } else {
                            fact(universe + rng.below(universe)).id()
                        };
                        RemoteDeletion {
                            id,
                            hlc: Hlc::new(wall + 500, 0),
                            by: node('d'),
                        }
                    })
                    .collect();
                store.apply_remote(&[], &deletions, &actx()).unwrap();
            }
        }
    }
    store
}

fn all_tombstones(store: &Store) -> Vec<Tombstone> {
    store.tombstones_after(None, usize::MAX).unwrap()
}

/// Walks every page from `after`; checks each page and returns everything delivered.
fn walk(
    store: &Store,
    after: u64,
    limit: usize,
    namespaces: &[String],
    exclude: &[String],
) -> (Vec<TripleId>, Vec<TripleId>, usize) {
    let (mut triples, mut deletions, mut pages) = (Vec::new(), Vec::new(), 0);
    let mut cursor = after;
    loop {
        let page = store
            .delta_page(cursor, limit, namespaces, exclude)
            .unwrap();
        pages += 1;
        assert!(page.triples.len() + page.deletions.len() <= limit);
        assert!(page.next >= cursor);
        let mut in_page = HashSet::new();
        for t in &page.triples {
            assert!(in_page.insert(t.id), "an id once per page");
            assert_eq!(t.triple.id(), t.id);
            assert!(
                namespaces.is_empty()
                    || namespaces
                        .iter()
                        .any(|n| n == namespace_of(&t.triple.subject))
            );
            assert!(!is_excluded(&t.triple.subject, exclude));
            triples.push(t.id);
        }
        for d in &page.deletions {
            assert!(in_page.insert(d.id), "an id once per page");
            deletions.push(d.id);
        }
        if !page.has_more {
            assert_eq!(
                page.next,
                store.log_head().unwrap().max(after),
                "the walk ends at the head"
            );
            return (triples, deletions, pages);
        }
        assert!(
            page.next > cursor,
            "a page with more to come always advances"
        );
        cursor = page.next;
    }
}

fn once(ids: &[TripleId]) -> HashSet<TripleId> {
    let set: HashSet<_> = ids.iter().copied().collect();
    assert_eq!(
        set.len(),
        ids.len(),
        "every id exactly once across the whole walk"
    );
    set
}

#[test]
fn pages_over_ten_thousand_mixed_changes_deliver_each_live_triple_and_tombstone_once() {
    let store = mixed_store(10_000);
    let head = store.log_head().unwrap();
    assert!(head >= 10_000);
    let live = store.find(&Pattern::default(), usize::MAX, 0).unwrap().0;
    let tombs = all_tombstones(&store);
    assert!(
        live.len() > 1_000 && tombs.len() > 500,
        "{} live, {} tombstones",
        live.len(),
        tombs.len()
    );
    assert!(
        tombs.iter().any(|t| t.namespace.is_none()),
        "some deletions of unseen ids"
    );

    let sync_prefix = vec!["mayros:sync:".to_string()];
    let cases: Vec<(usize, Vec<String>, Vec<String>)> = vec![
        (1_000, vec![], vec![]),
        (333, vec![], sync_prefix.clone()),
        (5_000, vec!["mayros".into(), "".into()], sync_prefix.clone()),
        (97, vec!["a".into(), "c".into()], vec!["a:s1".into()]),
        (1, vec!["b".into()], vec![]),
    ];
    for (limit, namespaces, exclude) in cases {
        let (triples, deletions, pages) = walk(&store, 0, limit, &namespaces, &exclude);
        let want_ns = |ns: &str| namespaces.is_empty() || namespaces.iter().any(|n| n == ns);
        let expected_live: HashSet<_> = live
            .iter()
            .filter(|t| {
                want_ns(namespace_of(&t.triple.subject))
                    && !is_excluded(&t.triple.subject, &exclude)
            })
            .map(|t| t.id)
            .collect();
        let expected_tombs: HashSet<_> = tombs
            .iter()
            .filter(|t| t.namespace.as_deref().is_none_or(want_ns))
            .filter(|t| {
                t.subject
                    .as_deref()
                    .is_none_or(|s| !is_excluded(s, &exclude))
            })
            .map(|t| t.id)
            .collect();
        assert_eq!(
            once(&triples),
            expected_live,
            "limit {limit} {namespaces:?} {exclude:?}"
        );
        assert_eq!(
            once(&deletions),
            expected_tombs,
            "limit {limit} {namespaces:?} {exclude:?}"
        );
        let items = triples.len() + deletions.len();
        assert!(
            pages >= items.div_ceil(limit),
            "limit {limit}: {pages} pages for {items}"
        );
    }
}

#[test]
fn a_walk_resumed_after_new_changes_sees_their_current_state() {
    let mut store = mixed_store(2_000);
    // Deliver everything, then change things already delivered and add new ones.
    let (first, _, _) = walk(&store, 0, 500, &[], &[]);
    let cursor = store.log_head().unwrap();
    let delivered = store.get(&first[0]).unwrap().unwrap();
    let deleted = store
        .delete(&delivered.id, &me(T0 + 5_000_000))
        .unwrap()
        .unwrap();
    let fresh = NewTriple::new(Triple::new("a:new", "ex:p", Value::Null).unwrap());
    let (added, _) = store.insert(&fresh, &me(T0 + 5_000_001)).unwrap();
    store.delete(&added.id, &me(T0 + 5_000_002)).unwrap();
    store.insert(&fresh, &me(T0 + 5_000_003)).unwrap();
    let page = store.delta_page(cursor, 100, &[], &[]).unwrap();
    assert_eq!(page.deletions, vec![deleted]);
    assert_eq!(
        page.triples,
        vec![store.get(&added.id).unwrap().unwrap()],
        "only its latest state"
    );
    assert!(!page.has_more);
    assert_eq!(page.next, cursor + 4);
}

#[test]
fn next_and_has_more_follow_the_examined_entries() {
    let mut store = Store::open_in_memory().unwrap();
    let empty = store.delta_page(0, 10, &[], &[]).unwrap();
    assert_eq!(
        (empty.next, empty.has_more, empty.triples.len()),
        (0, false, 0)
    );
    let items: Vec<_> = (0..10)
        .map(|i| {
            let s = if i < 5 { "mayros:sync:x" } else { "ex:y" };
            NewTriple::new(Triple::new(s, "ex:p", Value::Integer(i)).unwrap())
        })
        .collect();
    store.insert_batch(&items, &me(T0)).unwrap();

    // Skipped entries are examined once: the first page passes the excluded ones.
    let ex = vec!["mayros:sync:".to_string()];
    let page = store.delta_page(0, 2, &[], &ex).unwrap();
    assert_eq!(page.triples.len(), 2);
    assert_eq!((page.next, page.has_more), (7, true));
    // A filter matching nothing reads to the head in one page.
    let page = store.delta_page(0, 2, &["nope".into()], &[]).unwrap();
    assert_eq!(
        (page.triples.len(), page.next, page.has_more),
        (0, 10, false)
    );
    // Exactly at the end: no more.
    let page = store.delta_page(8, 2, &[], &[]).unwrap();
    assert_eq!(
        (page.triples.len(), page.next, page.has_more),
        (2, 10, false)
    );
    // limit 0 examines nothing.
    let page = store.delta_page(3, 0, &[], &[]).unwrap();
    assert_eq!((page.triples.len(), page.next, page.has_more), (0, 3, true));
    // Past the head.
    let page = store.delta_page(50, 5, &[], &[]).unwrap();
    assert_eq!((page.next, page.has_more), (50, false));
}

#[test]
fn the_epoch_is_stable_and_nothing_is_pruned_yet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let epoch = {
        let store = Store::open(&path).unwrap();
        assert_eq!(store.log_epoch(), store.meta().unwrap().log_epoch);
        assert_eq!(store.oldest_retained_position().unwrap(), 0);
        store.log_epoch()
    };
    assert_eq!(Store::open(&path).unwrap().log_epoch(), epoch);
    assert_eq!(epoch.len(), 16);
}

#[test]
fn tombstones_of_deleted_triples_carry_namespace_and_subject() {
    let mut store = Store::open_in_memory().unwrap();
    let t = Triple::new("mayros:agent:a1", "ex:p", Value::Integer(1)).unwrap();
    store.insert(&NewTriple::new(t.clone()), &me(T0)).unwrap();
    let tomb = store.delete(&t.id(), &me(T0)).unwrap().unwrap();
    assert_eq!(tomb.namespace.as_deref(), Some("mayros"));
    assert_eq!(tomb.subject.as_deref(), Some("mayros:agent:a1"));
    let log = store.changes_since(0, 10).unwrap();
    let namespaces: HashMap<_, _> = log
        .iter()
        .map(|e| (e.position, e.namespace.clone()))
        .collect();
    assert_eq!(namespaces[&1].as_deref(), Some("mayros"));
    assert_eq!(namespaces[&2].as_deref(), Some("mayros"));
    let only_ex = store.delta_page(0, 10, &["ex".into()], &[]).unwrap();
    assert!(only_ex.deletions.is_empty() && only_ex.triples.is_empty());
    let mayros = store.delta_page(0, 10, &["mayros".into()], &[]).unwrap();
    assert_eq!(mayros.deletions, vec![tomb.clone()]);
    let excluded = store
        .delta_page(0, 10, &[], &["mayros:agent:".into()])
        .unwrap();
    assert!(excluded.deletions.is_empty());
}
