//! Property tests: stores receiving the same remote changes in different orders and batches
//! converge under last-writer-wins (DESIGN §2.2–§2.4, §12 "partition + concurrent edits +
//! heal converge").
//!
//! Two properties, because conflict resolution acts on what is live *when a batch arrives*:
//! - without conflicts (each conflict key written by one device), the state after applying
//!   the changes is independent of order and batching, and equals a per-id LWW model;
//! - with conflicts, two stores that received the changes in different orders may first
//!   resolve differently, but their resolutions are changes too: once they sync with each
//!   other (delta pages both ways until nothing new) they hold identical live triples and
//!   tombstones, and no single-valued key is left in conflict.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};

use mayros_sync_proto::config::ConflictStrategy;
use mayros_sync_proto::timefmt::format_rfc3339_ms;
use mayros_sync_proto::{Hlc, Triple, TripleId, Value};
use mayros_sync_store::{ApplyContext, Pattern, RemoteDeletion, RemoteTriple, Store};
use proptest::prelude::*;

const T0: u64 = 1_795_541_774_123;
const AUTHORS: [char; 3] = ['a', 'b', 'c'];
const SUBJECTS: usize = 2;
const PREDICATES: [&str; 2] = ["ex:p", "ex:tag"];
const OBJECTS: usize = 4;
const UNIVERSE: usize = SUBJECTS * PREDICATES.len() * OBJECTS;

fn node(c: char) -> String {
    c.to_string().repeat(64)
}

/// Universe member `i`; its conflict key is `i / OBJECTS`.
fn fact(i: usize) -> Triple {
    let key = i / OBJECTS;
    Triple::new(
        &format!("ex:s{}", key / PREDICATES.len()),
        PREDICATES[key % PREDICATES.len()],
        Value::Integer((i % OBJECTS) as i64),
    )
    .unwrap()
}

fn ctx() -> ApplyContext {
    ApplyContext {
        wall_ms: T0 + 1_000,
        peer: node('f'),
        strategy: ConflictStrategy::LastWriterWins,
        multi_valued: vec!["ex:tag".into()],
        exclude_prefixes: vec![],
        review_horizon: None,
    }
}

#[derive(Debug, Clone, Copy)]
enum Event {
    Assert {
        fact: usize,
        wall: u64,
        author: usize,
    },
    Delete {
        fact: usize,
        wall: u64,
        by: usize,
    },
}

fn event(single_author_keys: bool) -> impl Strategy<Value = Event> {
    prop_oneof![
        3 => (0..UNIVERSE, 0u64..12, 0..AUTHORS.len()).prop_map(move |(fact, wall, author)| {
            // In the conflict-free class every key has one writing device.
            let author = if single_author_keys { (fact / OBJECTS) % AUTHORS.len() } else { author };
            Event::Assert { fact, wall, author }
        }),
        1 => (0..UNIVERSE, 0u64..12, 0..AUTHORS.len())
            .prop_map(|(fact, wall, by)| Event::Delete { fact, wall, by }),
    ]
}

/// Applies `events` in batches: a batch ends after event `i` when `cuts[i]`.
fn deliver(store: &mut Store, events: &[Event], cuts: &[bool]) {
    let mut triples = Vec::new();
    let mut deletions = Vec::new();
    for (i, e) in events.iter().enumerate() {
        match *e {
            Event::Assert {
                fact: f,
                wall,
                author,
            } => triples.push(RemoteTriple {
                triple: fact(f),
                created_at: format_rfc3339_ms(T0 + wall),
                author: node(AUTHORS[author]),
                hlc: Hlc::new(T0 + wall, 0),
            }),
            Event::Delete { fact: f, wall, by } => deletions.push(RemoteDeletion {
                id: fact(f).id(),
                hlc: Hlc::new(T0 + wall, 0),
                by: node(AUTHORS[by]),
            }),
        }
        if cuts.get(i).copied().unwrap_or(false) || i + 1 == events.len() {
            store.apply_remote(&triples, &deletions, &ctx()).unwrap();
            triples.clear();
            deletions.clear();
        }
    }
}

type Live = Vec<(TripleId, Hlc, String, String)>;
type Tombs = Vec<(TripleId, Hlc, String)>;

fn state(store: &Store) -> (Live, Tombs) {
    let mut live: Live = store
        .find(&Pattern::default(), usize::MAX, 0)
        .unwrap()
        .0
        .into_iter()
        .map(|t| (t.id, t.hlc, t.author, t.created_at))
        .collect();
    live.sort();
    let tombs = store
        .tombstones_after(None, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|t| (t.id, t.hlc, t.by))
        .collect();
    (live, tombs)
}

/// Pulls every page of `from` after `cursor` into `to`; returns the new cursor.
fn pull(to: &mut Store, from: &Store, mut cursor: u64, limit: usize) -> u64 {
    loop {
        let page = from.delta_page(cursor, limit, &[], &[]).unwrap();
        let (triples, deletions) = page.to_remote();
        to.apply_remote(&triples, &deletions, &ctx()).unwrap();
        cursor = page.next;
        if !page.has_more {
            return cursor;
        }
    }
}

/// Syncs both ways until a round changes neither store; returns the rounds needed.
fn sync_until_quiet(a: &mut Store, b: &mut Store, limit: usize) -> usize {
    let (mut a_on_b, mut b_on_a) = (0, 0);
    for round in 1..=20 {
        let heads = (a.log_head().unwrap(), b.log_head().unwrap());
        a_on_b = pull(a, b, a_on_b, limit);
        b_on_a = pull(b, a, b_on_a, limit);
        if (a.log_head().unwrap(), b.log_head().unwrap()) == heads {
            return round;
        }
    }
    panic!("no quiescence after 20 rounds");
}

/// Each single-valued (subject, predicate) holds values of one author only.
fn assert_no_open_conflict(store: &Store) {
    let mut authors: HashMap<(String, String), String> = HashMap::new();
    for t in store.find(&Pattern::default(), usize::MAX, 0).unwrap().0 {
        if t.triple.predicate == "ex:tag" {
            continue;
        }
        let key = (t.triple.subject.clone(), t.triple.predicate.clone());
        let first = authors.entry(key).or_insert_with(|| t.author.clone());
        assert_eq!(
            first, &t.author,
            "an unresolved conflict on {}",
            t.triple.subject
        );
    }
}

/// The per-id last-writer-wins model: the greatest (hlc, author) event wins; on an exact tie
/// the delete wins.
fn model(events: &[Event]) -> (Live, Tombs) {
    let mut best: BTreeMap<TripleId, (Hlc, String, bool, u64)> = BTreeMap::new();
    for e in events {
        let (f, wall, who, delete) = match *e {
            Event::Assert { fact, wall, author } => (fact, wall, author, false),
            Event::Delete { fact, wall, by } => (fact, wall, by, true),
        };
        let cand = (Hlc::new(T0 + wall, 0), node(AUTHORS[who]), delete, wall);
        let slot = best.entry(fact(f).id()).or_insert_with(|| cand.clone());
        if (&cand.0, &cand.1, cand.2) > (&slot.0, &slot.1, slot.2) {
            *slot = cand;
        }
    }
    let mut live: Live = Vec::new();
    let mut tombs: Tombs = Vec::new();
    for (id, (hlc, who, delete, wall)) in best {
        if delete {
            tombs.push((id, hlc, who));
        } else {
            live.push((id, hlc, who, format_rfc3339_ms(T0 + wall)));
        }
    }
    live.sort();
    (live, tombs)
}

fn shuffled(events: &[Event], order: &[usize]) -> Vec<Event> {
    // `order` is a permutation key: sort the events by it (stable for ties).
    let mut keyed: Vec<(usize, Event)> = events
        .iter()
        .enumerate()
        .map(|(i, e)| (order[i], *e))
        .collect();
    keyed.sort_by_key(|(k, _)| *k);
    keyed.into_iter().map(|(_, e)| e).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn without_conflicts_order_and_batching_do_not_matter(
        events in proptest::collection::vec(event(true), 1..40),
        order in proptest::collection::vec(0usize..1000, 40),
        cuts1 in proptest::collection::vec(any::<bool>(), 40),
        cuts2 in proptest::collection::vec(any::<bool>(), 40),
    ) {
        let mut s1 = Store::open_in_memory().unwrap();
        let mut s2 = Store::open_in_memory().unwrap();
        deliver(&mut s1, &events, &cuts1);
        deliver(&mut s2, &shuffled(&events, &order), &cuts2);
        let expected = model(&events);
        prop_assert_eq!(state(&s1), expected.clone());
        prop_assert_eq!(state(&s2), expected);
        prop_assert_eq!(s1.conflict_count().unwrap(), 0);
    }

    #[test]
    fn with_conflicts_stores_converge_once_they_sync(
        events in proptest::collection::vec(event(false), 1..40),
        order in proptest::collection::vec(0usize..1000, 40),
        cuts1 in proptest::collection::vec(any::<bool>(), 40),
        cuts2 in proptest::collection::vec(any::<bool>(), 40),
        limit in 1usize..6,
    ) {
        let mut s1 = Store::open_in_memory().unwrap();
        let mut s2 = Store::open_in_memory().unwrap();
        deliver(&mut s1, &events, &cuts1);
        deliver(&mut s2, &shuffled(&events, &order), &cuts2);
        assert_no_open_conflict(&s1);
        assert_no_open_conflict(&s2);
        let rounds = sync_until_quiet(&mut s1, &mut s2, limit);
        prop_assert!(rounds <= 4, "{} rounds", rounds);
        prop_assert_eq!(state(&s1), state(&s2));
        assert_no_open_conflict(&s1);
        // Every change is accounted for: each id of the batch is live or tombstoned.
        let (live, tombs) = state(&s1);
        for e in &events {
            let f = match *e { Event::Assert { fact, .. } | Event::Delete { fact, .. } => fact };
            let id = fact(f).id();
            prop_assert!(live.iter().any(|l| l.0 == id) || tombs.iter().any(|t| t.0 == id));
        }
    }
}
