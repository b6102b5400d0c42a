//! Conflict detection and resolution (DESIGN §2.4): one pure, total function.
//!
//! A conflict key is (namespace, subject, predicate). A conflict exists when two or more live
//! triples share a key, the predicate is not multi-valued, and they come from different
//! authors: several values written by one device are a set, not a conflict. Resolution works
//! per author group, so the winning device keeps its whole set.

use std::cmp::Ordering;

use crate::config::ConflictStrategy;
use crate::hlc::{lww_cmp, Hlc};
use crate::id::TripleId;

/// One live triple under a conflict key.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The triple's id.
    pub id: TripleId,
    /// Its HLC stamp.
    pub hlc: Hlc,
    /// The node id of its author.
    pub author: String,
    /// Whether it was already in the local store before the incoming batch.
    pub local: bool,
}

/// What to do about one conflict key.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// No conflict: one author (or none) holds this key, or the predicate is multi-valued.
    NoConflict,
    /// Both stay; the conflict is only recorded (`keep-both`, or no side could be preferred).
    KeepBoth {
        /// Every candidate involved.
        ids: Vec<TripleId>,
    },
    /// The winners stay; each loser is tombstoned with `tombstone_hlc` by `tombstone_by`.
    Resolved {
        /// Triples that stay.
        winners: Vec<TripleId>,
        /// Triples to tombstone.
        losers: Vec<TripleId>,
        /// Stamp for the losers' tombstones (the best winner's), so independent resolutions converge.
        tombstone_hlc: Hlc,
        /// Author recorded on the losers' tombstones (the best winner's author).
        tombstone_by: String,
    },
}

/// Resolves the live triples of one conflict key under `strategy`.
pub fn resolve(
    strategy: ConflictStrategy,
    multi_valued: bool,
    candidates: &[Candidate],
) -> Resolution {
    if multi_valued || candidates.len() < 2 {
        return Resolution::NoConflict;
    }
    let first_author = &candidates[0].author;
    if candidates.iter().all(|c| &c.author == first_author) {
        return Resolution::NoConflict;
    }
    let ids = || candidates.iter().map(|c| c.id).collect::<Vec<_>>();
    let winning_author: Option<&str> = match strategy {
        ConflictStrategy::KeepBoth => None,
        ConflictStrategy::LastWriterWins => best(candidates.iter()).map(|c| c.author.as_str()),
        ConflictStrategy::LocalPriority => side_winner(candidates, true),
        ConflictStrategy::RemotePriority => side_winner(candidates, false),
    };
    let Some(author) = winning_author else {
        return Resolution::KeepBoth { ids: ids() };
    };
    let (win, lose): (Vec<&Candidate>, Vec<&Candidate>) =
        candidates.iter().partition(|c| c.author == author);
    let Some(top) = best(win.iter().copied()) else {
        return Resolution::KeepBoth { ids: ids() };
    };
    let mut winners: Vec<TripleId> = win.iter().map(|c| c.id).collect();
    let mut losers: Vec<TripleId> = lose.iter().map(|c| c.id).collect();
    winners.sort();
    losers.sort();
    // A loser newer than the best winner (possible with local/remote priority) must still lose:
    // its tombstone gets the larger of both stamps.
    let max_loser = lose.iter().map(|c| c.hlc).max().unwrap_or(Hlc::ZERO);
    let tombstone_hlc = if max_loser > top.hlc {
        max_loser.successor()
    } else {
        top.hlc
    };
    Resolution::Resolved {
        winners,
        losers,
        tombstone_hlc,
        tombstone_by: top.author.clone(),
    }
}

fn best<'a>(it: impl Iterator<Item = &'a Candidate>) -> Option<&'a Candidate> {
    it.max_by(|a, b| cmp(a, b))
}

fn cmp(a: &Candidate, b: &Candidate) -> Ordering {
    lww_cmp((a.hlc, &a.author), (b.hlc, &b.author)).then_with(|| a.id.cmp(&b.id))
}

/// The best author among the local (or incoming) side; none when that side is empty.
fn side_winner(candidates: &[Candidate], local: bool) -> Option<&str> {
    best(candidates.iter().filter(|c| c.local == local)).map(|c| c.author.as_str())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cand(n: u8, hlc: u64, author: &str, local: bool) -> Candidate {
        Candidate {
            id: TripleId::from_bytes([n; 32]),
            hlc: Hlc::new(hlc, 0),
            author: author.into(),
            local,
        }
    }

    #[test]
    fn same_author_or_multi_valued_is_not_a_conflict() {
        let c = [cand(1, 1, "a", true), cand(2, 2, "a", false)];
        assert_eq!(
            resolve(ConflictStrategy::LastWriterWins, false, &c),
            Resolution::NoConflict
        );
        let c = [cand(1, 1, "a", true), cand(2, 2, "b", false)];
        assert_eq!(
            resolve(ConflictStrategy::LastWriterWins, true, &c),
            Resolution::NoConflict
        );
        assert_eq!(
            resolve(ConflictStrategy::LastWriterWins, false, &c[..1]),
            Resolution::NoConflict
        );
    }

    #[test]
    fn lww_keeps_the_newest_and_tombstones_with_its_stamp() {
        let c = [
            cand(1, 5, "a", true),
            cand(2, 9, "b", false),
            cand(3, 7, "c", false),
        ];
        let r = resolve(ConflictStrategy::LastWriterWins, false, &c);
        assert_eq!(
            r,
            Resolution::Resolved {
                winners: vec![c[1].id],
                losers: vec![c[0].id, c[2].id],
                tombstone_hlc: Hlc::new(9, 0),
                tombstone_by: "b".into(),
            }
        );
    }

    #[test]
    fn lww_ties_break_by_author() {
        let c = [cand(1, 5, "b", true), cand(2, 5, "a", false)];
        let Resolution::Resolved { winners, .. } =
            resolve(ConflictStrategy::LastWriterWins, false, &c)
        else {
            panic!("expected a resolution");
        };
        assert_eq!(winners, vec![c[0].id]);
    }

    #[test]
    fn the_winning_device_keeps_its_whole_set() {
        let c = [
            cand(1, 5, "a", true),
            cand(2, 6, "a", true),
            cand(3, 4, "b", false),
        ];
        let Resolution::Resolved {
            winners, losers, ..
        } = resolve(ConflictStrategy::LastWriterWins, false, &c)
        else {
            panic!("expected a resolution");
        };
        assert_eq!(winners, vec![c[0].id, c[1].id]);
        assert_eq!(losers, vec![c[2].id]);
    }

    #[test]
    fn priority_strategies_pick_a_side_even_when_older() {
        let c = [cand(1, 1, "a", true), cand(2, 9, "b", false)];
        let Resolution::Resolved {
            winners,
            losers,
            tombstone_hlc,
            ..
        } = resolve(ConflictStrategy::LocalPriority, false, &c)
        else {
            panic!("expected a resolution");
        };
        assert_eq!((winners, losers), (vec![c[0].id], vec![c[1].id]));
        assert!(
            tombstone_hlc > Hlc::new(9, 0),
            "the tombstone beats the newer loser"
        );
        let Resolution::Resolved { winners, .. } =
            resolve(ConflictStrategy::RemotePriority, false, &c)
        else {
            panic!("expected a resolution");
        };
        assert_eq!(winners, vec![c[1].id]);
    }

    #[test]
    fn keep_both_records_only() {
        let c = [cand(1, 1, "a", true), cand(2, 9, "b", false)];
        assert_eq!(
            resolve(ConflictStrategy::KeepBoth, false, &c),
            Resolution::KeepBoth {
                ids: vec![c[0].id, c[1].id]
            }
        );
    }

    proptest! {
        /// LWW does not depend on the order candidates arrive in, nor on which side is local.
        #[test]
        fn lww_is_order_independent(
            raw in proptest::collection::vec((0u8..20, 0u64..6, 0usize..3, any::<bool>()), 2..8),
            seed in any::<u64>(),
        ) {
            let authors = ["a", "b", "c"];
            let mut c: Vec<Candidate> = Vec::new();
            for (n, h, a, l) in raw {
                if c.iter().all(|x| x.id != TripleId::from_bytes([n; 32])) {
                    c.push(cand(n, h, authors[a], l));
                }
            }
            let r1 = resolve(ConflictStrategy::LastWriterWins, false, &c);
            let mut shuffled = c.clone();
            let k = (seed as usize) % shuffled.len().max(1);
            shuffled.rotate_left(k);
            shuffled.reverse();
            for x in &mut shuffled { x.local = !x.local; }
            prop_assert_eq!(r1, resolve(ConflictStrategy::LastWriterWins, false, &shuffled));
        }
    }
}
