//! How a round finds the difference once the summaries disagree (DESIGN §4, §13): a pure
//! choice from both summaries' counts and the pair's history.
//!
//! The ladder, cheapest first for a small difference:
//! 1. **Bloom window** — both sides know their recent window (elements changed since the
//!    last good round) and it is small; decided by the round machine before this module is
//!    asked, because it needs the windows themselves.
//! 2. **Exact** — a rateless IBLT over 8-byte short ids, ≈ 1.35 coded symbols (≈ 24 B) per
//!    difference. Its symbol budget comes from *both* counts: enough to decode any difference
//!    whose identification is cheaper this way than by a listing of the smaller side.
//! 3. **Listing** — the smaller side streams a salted 8-byte short of every element it holds
//!    (8 B per element); the other side sends what the listing lacks and asks for the shorts it
//!    lacks. It cannot fail to decode, so it is the floor a failed exact step falls to — in the
//!    same round, not the next one.
//!
//! **Bound.** With the link up and no concurrent writes, the first round that reaches a
//! decision identifies the whole difference (IBLT decoded, or the listing; 64-bit short-id
//! collisions aside, probability ≤ n²/2⁶⁵ per round and never the same pair twice because the
//! listing salt is fresh) and queues its transfer; the next round proves the pair in sync. So
//! any two replicas converge within **two completed rounds**. Identification bytes: the IBLT
//! path ≈ 24–27 B per difference; a listing costs 8 B per element of the smaller side plus
//! 8 B per element it lacks, and is chosen outright when the count difference alone makes the
//! IBLT dearer, so identification stays ≤ [`EXACT_BYTES_PER_MIN_ELEMENT`] + 8 + 8 B per element
//! of the smaller side — ≤ 1 × a 32-byte listing of the larger side.

use crate::reconcile::summary::Summary;

/// Bytes of one rateless-IBLT coded symbol on the wire (8-byte key sum, 8-byte checksum,
/// a varint count): the measured mean is 17–19 B.
pub const SYMBOL_BYTES: u64 = 18;

/// Coded symbols needed per difference, with margin (the measured overhead is 1.3–1.4).
pub const SYMBOLS_PER_DIFFERENCE: u64 = 3;

/// Bytes of one listed element (a salted 8-byte short id).
pub const LIST_BYTES_PER_ELEMENT: u64 = 8;

/// The IBLT may spend up to this many bytes per element of the smaller side before the round
/// falls back to a listing (so a failed IBLT plus the listing costs ≤ 24 B per element).
pub const EXACT_BYTES_PER_MIN_ELEMENT: u64 = 16;

/// Largest recent window a Bloom filter is built over (≈ 1.2 MB at 1 % FPR).
pub const MAX_BLOOM_WINDOW: usize = 1_000_000;

/// Smallest symbol budget of an exact step.
pub const MIN_BUDGET: u64 = 256;

/// The way a round identifies the difference after the Bloom step (or without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Rateless IBLT with at most `budget` coded symbols; on exhaustion the round lists.
    Exact {
        /// Most coded symbols the initiator sends.
        budget: u64,
        /// Coded symbols in the first batch ([`first_batch`] of the count difference).
        first: usize,
        /// Who lists if the IBLT gives up: the side holding fewer elements.
        fallback: Side,
    },
    /// The side named streams its elements' salted shorts.
    List {
        /// Who lists: the side holding fewer elements.
        lister: Side,
    },
}

/// One side of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The node that started the round.
    Initiator,
    /// The node that answers it.
    Responder,
}

/// What the pair's last rounds taught: a strategy that failed is not chosen again until a
/// round succeeds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairHistory {
    /// The last round's exact step spent its budget, aborted, or the round died in it.
    pub exact_failed: bool,
    /// Consecutive rounds that ended without reaching a decision (timeouts, aborts).
    pub failed_rounds: u32,
}

impl PairHistory {
    /// A round with this pair ended with the difference identified or proven empty.
    pub fn succeeded(&mut self) {
        *self = PairHistory::default();
    }

    /// A round ended without a decision; `in_exact` when it was in the exact step.
    pub fn failed(&mut self, in_exact: bool) {
        self.failed_rounds = self.failed_rounds.saturating_add(1);
        self.exact_failed |= in_exact;
    }
}

/// Elements (live plus tombstones) a summary counts.
pub fn elements(s: &Summary) -> u64 {
    s.live_count.saturating_add(s.tomb_count)
}

/// A lower bound of the symmetric difference of the two element sets: live and tombstone
/// counts can only differ by elements one side holds and the other does not.
pub fn difference_lower_bound(a: &Summary, b: &Summary) -> u64 {
    a.live_count
        .abs_diff(b.live_count)
        .saturating_add(a.tomb_count.abs_diff(b.tomb_count))
}

/// The symbol budget of an exact step between sets of `small` and more elements, with at
/// least `lower_bound` differences: enough for any difference the IBLT identifies more
/// cheaply than a listing would.
pub fn exact_budget(small: u64, lower_bound: u64) -> u64 {
    let by_listing = small.saturating_mul(EXACT_BYTES_PER_MIN_ELEMENT) / SYMBOL_BYTES;
    let by_bound = lower_bound.saturating_mul(SYMBOLS_PER_DIFFERENCE);
    by_listing.max(by_bound).max(MIN_BUDGET)
}

/// Coded symbols in the IBLT's first batch when at least `lower_bound` elements differ: what
/// decoding that many needs, so a large known difference costs no round trips to ramp up.
pub fn first_batch(lower_bound: u64) -> usize {
    let need = lower_bound.saturating_mul(145) / 100;
    usize::try_from(need).unwrap_or(usize::MAX).clamp(
        crate::gossip::exact::FIRST_BATCH,
        crate::gossip::exact::MAX_BATCH,
    )
}

/// Chooses how the round identifies the difference, from the initiator's summary `mine`, the
/// responder's `theirs` and the pair's `history`.
pub fn choose(mine: &Summary, theirs: &Summary, history: &PairHistory) -> Plan {
    let (a, b) = (elements(mine), elements(theirs));
    let lister = if a <= b {
        Side::Initiator
    } else {
        Side::Responder
    };
    let small = a.min(b);
    let bound = difference_lower_bound(mine, theirs);
    // Even the best case of the IBLT (the lower bound decoded at 1.35 symbols each) costs more
    // than listing the smaller side: list at once.
    let exact_floor = bound.saturating_mul(SYMBOL_BYTES * 135 / 100);
    let listing = small.saturating_mul(LIST_BYTES_PER_ELEMENT);
    if history.exact_failed || exact_floor >= listing {
        return Plan::List { lister };
    }
    Plan::Exact {
        budget: exact_budget(small, bound),
        first: first_batch(bound),
        fallback: lister,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(live: u64, tomb: u64) -> Summary {
        Summary {
            live_count: live,
            tomb_count: tomb,
            ..Summary::default()
        }
    }

    #[test]
    fn a_small_side_facing_a_large_one_lists_itself() {
        let plan = choose(&summary(5, 0), &summary(20_000, 1), &PairHistory::default());
        assert_eq!(
            plan,
            Plan::List {
                lister: Side::Initiator
            }
        );
        let plan = choose(&summary(20_000, 1), &summary(5, 0), &PairHistory::default());
        assert_eq!(
            plan,
            Plan::List {
                lister: Side::Responder
            }
        );
    }

    #[test]
    fn a_small_difference_between_large_sets_is_exact_with_a_budget_from_both_counts() {
        let plan = choose(
            &summary(400_000, 10),
            &summary(500_000, 10),
            &PairHistory::default(),
        );
        let Plan::Exact {
            budget,
            first,
            fallback,
        } = plan
        else {
            panic!("expected exact, got {plan:?}");
        };
        // Enough for 100 000 differences at 1.35 symbols each, whichever side initiates.
        assert!(budget >= 135_000, "budget {budget}");
        assert_eq!(first, first_batch(100_000));
        assert_eq!(fallback, Side::Initiator, "the smaller side lists");
        assert_eq!(
            choose(
                &summary(500_000, 10),
                &summary(400_000, 10),
                &PairHistory::default()
            ),
            Plan::Exact {
                budget,
                first,
                fallback: Side::Responder
            }
        );
    }

    #[test]
    fn equal_counts_still_get_a_budget_that_can_decode_scattered_differences() {
        let Plan::Exact { budget, .. } = choose(
            &summary(250_000, 0),
            &summary(250_000, 0),
            &PairHistory::default(),
        ) else {
            panic!("expected exact");
        };
        assert_eq!(budget, 250_000 * EXACT_BYTES_PER_MIN_ELEMENT / SYMBOL_BYTES);
    }

    #[test]
    fn a_failed_exact_step_is_not_chosen_again() {
        let mut h = PairHistory::default();
        h.failed(true);
        assert!(matches!(
            choose(&summary(1_000, 0), &summary(1_000, 0), &h),
            Plan::List { .. }
        ));
        h.succeeded();
        assert!(matches!(
            choose(&summary(1_000, 0), &summary(1_000, 0), &h),
            Plan::Exact { .. }
        ));
        let mut timeout = PairHistory::default();
        timeout.failed(false);
        assert!(matches!(
            choose(&summary(1_000, 0), &summary(1_000, 0), &timeout),
            Plan::Exact { .. }
        ));
    }

    #[test]
    fn the_lower_bound_counts_live_and_tombstone_changes_separately() {
        assert_eq!(difference_lower_bound(&summary(10, 5), &summary(5, 10)), 10);
        assert_eq!(difference_lower_bound(&summary(7, 0), &summary(7, 0)), 0);
    }

    #[test]
    fn identification_never_costs_more_than_a_full_listing_of_the_larger_side() {
        // Worst case: the IBLT spends its whole budget, then the smaller side lists and the
        // larger side asks for everything the listing holds.
        for (a, b) in [
            (1u64, 1),
            (10, 10_000),
            (250_000, 250_000),
            (400_000, 500_000),
        ] {
            let small = a.min(b);
            let large = a.max(b);
            let budget = exact_budget(small, a.abs_diff(b));
            let worst = budget * SYMBOL_BYTES + small * LIST_BYTES_PER_ELEMENT * 2;
            if small * 40 > MIN_BUDGET * SYMBOL_BYTES {
                assert!(worst <= 32 * large, "{a}/{b}: {worst} B");
            }
        }
    }
}
