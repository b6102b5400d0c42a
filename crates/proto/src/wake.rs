//! When the polled-mode scheduler wakes next (DESIGN §5); time passed in.
//!
//! The scheduler acts on every deadline that has passed, then sleeps until [`next_wake_ms`]:
//! the earliest deadline still ahead that matters in the current mode and pause state, and at
//! most [`MAX_NAP_MS`] away so a mode change, a pause or a resume is noticed. The result is
//! always strictly after `now`, so a deadline the caller did not (or could not) move never makes
//! it wake in a busy loop.

use crate::mode::SyncMode;

/// Longest sleep between checks, so mode changes, pauses, resumes and new peers are noticed.
pub const MAX_NAP_MS: u64 = 5_000;

/// What the scheduler knows when it goes to sleep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WakeInputs<'a> {
    /// Local time now, in ms.
    pub now_ms: u64,
    /// The sync mode in force.
    pub mode: SyncMode,
    /// The pause state: `None` = not paused, `Some(None)` = until resumed, `Some(Some(t))` = until t.
    pub paused: Option<Option<u64>>,
    /// When the next scheduled round is due.
    pub next_round_ms: u64,
    /// When unreachable peers may be retried.
    pub retry_deadlines_ms: &'a [u64],
}

/// The next time the scheduler should wake, in ms: always in `(now, now + MAX_NAP_MS]`.
///
/// Deadlines at or before `now` were acted on by the caller (or are in flight) and are not
/// waited for again. While paused only the pause end counts; outside polled mode nothing but
/// the periodic re-check does.
pub fn next_wake_ms(inputs: &WakeInputs<'_>) -> u64 {
    let now = inputs.now_ms;
    let recheck = now.saturating_add(MAX_NAP_MS);
    let ahead = |t: u64| (t > now).then_some(t);
    let earliest = match inputs.paused {
        Some(until) => until.and_then(ahead),
        None if inputs.mode != SyncMode::Polled => None,
        None => inputs
            .retry_deadlines_ms
            .iter()
            .copied()
            .filter_map(ahead)
            .chain(ahead(inputs.next_round_ms))
            .min(),
    };
    earliest
        .map_or(recheck, |t| t.min(recheck))
        .max(now.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn wake(
        now_ms: u64,
        mode: SyncMode,
        paused: Option<Option<u64>>,
        next_round_ms: u64,
        retry: &[u64],
    ) -> u64 {
        next_wake_ms(&WakeInputs {
            now_ms,
            mode,
            paused,
            next_round_ms,
            retry_deadlines_ms: retry,
        })
    }

    #[test]
    fn a_passed_round_outside_polled_mode_does_not_spin() {
        // The bug of issue 13: the round time stays behind `now` while the mode is native.
        assert_eq!(
            wake(60_000, SyncMode::Native, None, 10_000, &[]),
            60_000 + MAX_NAP_MS
        );
        assert_eq!(
            wake(60_000, SyncMode::None, None, 10_000, &[]),
            60_000 + MAX_NAP_MS
        );
    }

    #[test]
    fn polled_wakes_for_the_round_or_the_first_retry() {
        assert_eq!(wake(1_000, SyncMode::Polled, None, 3_000, &[]), 3_000);
        assert_eq!(
            wake(1_000, SyncMode::Polled, None, 3_000, &[2_500, 4_000]),
            2_500
        );
        assert_eq!(
            wake(1_000, SyncMode::Polled, None, 60_000, &[]),
            1_000 + MAX_NAP_MS
        );
    }

    #[test]
    fn passed_deadlines_are_not_waited_for_again() {
        // A retry whose pull is still in flight keeps its old deadline: no zero nap for it.
        assert_eq!(
            wake(9_000, SyncMode::Polled, None, 12_000, &[8_000, 9_000]),
            12_000
        );
        assert_eq!(
            wake(9_000, SyncMode::Polled, None, 9_000, &[]),
            9_000 + MAX_NAP_MS
        );
    }

    #[test]
    fn paused_wakes_at_the_pause_end_only() {
        assert_eq!(
            wake(1_000, SyncMode::Polled, Some(Some(2_000)), 1_500, &[1_200]),
            2_000
        );
        assert_eq!(
            wake(1_000, SyncMode::Polled, Some(None), 1_500, &[1_200]),
            1_000 + MAX_NAP_MS
        );
        assert_eq!(
            wake(1_000, SyncMode::Polled, Some(Some(1_000)), 0, &[]),
            1_000 + MAX_NAP_MS
        );
    }

    #[test]
    fn the_end_of_time_still_moves_forward() {
        assert_eq!(wake(u64::MAX - 1, SyncMode::Native, None, 0, &[]), u64::MAX);
    }

    fn mode() -> impl Strategy<Value = SyncMode> {
        prop_oneof![
            Just(SyncMode::Native),
            Just(SyncMode::Polled),
            Just(SyncMode::None)
        ]
    }

    fn pause() -> impl Strategy<Value = Option<Option<u64>>> {
        prop_oneof![
            Just(None),
            Just(Some(None)),
            (0u64..200_000).prop_map(|t| Some(Some(t))),
        ]
    }

    proptest! {
        #[test]
        fn the_next_wake_is_ahead_and_never_later_than_needed(
            now in 0u64..100_000,
            mode in mode(),
            paused in pause(),
            next_round in 0u64..200_000,
            retry in proptest::collection::vec(0u64..200_000, 0..6),
        ) {
            let got = wake(now, mode, paused, next_round, &retry);
            prop_assert!(got > now, "wake {got} not after now {now}");
            prop_assert!(got <= now + MAX_NAP_MS);
            let needed: Vec<u64> = match paused {
                Some(until) => until.into_iter().collect(),
                None if mode == SyncMode::Polled => {
                    retry.iter().copied().chain([next_round]).collect()
                }
                None => vec![],
            };
            for t in needed.iter().filter(|&&t| t > now) {
                prop_assert!(got <= *t, "wake {got} misses deadline {t}");
            }
            // Never earlier than needed: the wake is a real deadline or the periodic re-check.
            prop_assert!(got == now + MAX_NAP_MS || needed.contains(&got));
        }

        #[test]
        fn an_idle_engine_wakes_at_most_once_per_max_nap(
            start in 0u64..100_000,
            mode in prop_oneof![Just(SyncMode::Native), Just(SyncMode::None)],
            paused in prop_oneof![Just(None), Just(Some(None))],
            next_round in 0u64..200_000,
            retry in proptest::collection::vec(0u64..200_000, 0..6),
        ) {
            // Virtual time: follow the wake-ups for ten minutes; the inputs never change, as
            // in a native or paused engine whose round time is never moved.
            let mut now = start;
            let mut wakes = 0u64;
            while now < start + 600_000 {
                let next = wake(now, mode, paused, next_round, &retry);
                prop_assert_eq!(next, now + MAX_NAP_MS);
                now = next;
                wakes += 1;
            }
            prop_assert_eq!(wakes, 600_000 / MAX_NAP_MS);
        }
    }
}
