//! The redial delay of a wanted peer: exponential backoff with jitter.

use std::time::Duration;

use rand::Rng;

use super::{BACKOFF_MAX, BACKOFF_MIN};

/// Redial delays vary by this fraction either way.
const JITTER: f64 = 0.2;

/// Redial delays: [`BACKOFF_MIN`] doubling to [`BACKOFF_MAX`], each with ±20 % jitter.
#[derive(Debug, Clone)]
pub(super) struct Backoff {
    next: Duration,
}

impl Backoff {
    /// A backoff at its first step.
    pub(super) fn new() -> Backoff {
        Backoff { next: BACKOFF_MIN }
    }

    /// The delay to wait now; the following one doubles.
    pub(super) fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (base * 2).min(BACKOFF_MAX);
        base.mul_f64(rand::thread_rng().gen_range(1.0 - JITTER..=1.0 + JITTER))
    }

    /// Back to the first step (after a link came up).
    pub(super) fn reset(&mut self) {
        self.next = BACKOFF_MIN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_with_jitter_and_resets() {
        let mut b = Backoff::new();
        let mut bases = Vec::new();
        for _ in 0..10 {
            let base = b.next;
            let d = b.next_delay();
            assert!(
                d >= base.mul_f64(0.8) && d <= base.mul_f64(1.2),
                "{d:?} vs {base:?}"
            );
            bases.push(base.as_secs());
        }
        assert_eq!(bases, [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
        b.reset();
        assert_eq!(b.next, BACKOFF_MIN);
    }
}
