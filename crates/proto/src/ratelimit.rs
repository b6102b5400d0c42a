//! Flood limits (sans-IO): one token bucket per source, time passed in as unix milliseconds.
//!
//! [`Limiter::take`] spends one token of the source's bucket, or says how long until one is
//! back. The number of tracked sources is bounded: full (idle) buckets are forgotten first, then
//! the longest-unused one, so a flood of distinct sources cannot grow memory.

use std::collections::HashMap;
use std::hash::Hash;

/// Token units per token: buckets refill in thousandths, so slow rates stay exact.
const MILLI: u64 = 1_000;

/// A bucket's shape: `burst` tokens at most, one more every `refill_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Tokens a new or long-idle source may spend at once.
    pub burst: u32,
    /// Milliseconds to earn one token back.
    pub refill_ms: u64,
}

impl Limit {
    /// The sustained rate, per minute (for messages and docs).
    pub fn per_minute(&self) -> u64 {
        60_000 / self.refill_ms.max(1)
    }
}

/// New QUIC connections per source address: 20 at once, then one a second.
pub const QUIC_CONNECTIONS: Limit = Limit {
    burst: 20,
    refill_ms: 1_000,
};
/// Click-to-pair requests per source address: 3 at once, then one every 20 s.
pub const PAIR_REQUESTS: Limit = Limit {
    burst: 3,
    refill_ms: 20_000,
};
/// Invite-code join attempts per source address: 5 at once, then one every 12 s.
pub const INVITE_ATTEMPTS: Limit = Limit {
    burst: 5,
    refill_ms: 12_000,
};
/// Failed seed or invite proofs per source address before it is shut out: 10, then one every 30 s.
pub const FAILED_PROOFS: Limit = Limit {
    burst: 10,
    refill_ms: 30_000,
};
/// Sources tracked per limiter at most.
pub const MAX_SOURCES: usize = 4_096;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens left, in thousandths.
    milli: u64,
    /// When `milli` was last brought up to date.
    at_ms: u64,
}

impl Bucket {
    fn refilled(self, limit: Limit, now_ms: u64) -> Bucket {
        let full = u64::from(limit.burst) * MILLI;
        let elapsed = now_ms.saturating_sub(self.at_ms);
        let earned = elapsed.saturating_mul(MILLI) / limit.refill_ms.max(1);
        Bucket {
            milli: self.milli.saturating_add(earned).min(full),
            at_ms: now_ms.max(self.at_ms),
        }
    }
}

/// The answer of a limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead (a token was spent).
    Allowed,
    /// Over the limit: the next token is back in this many milliseconds.
    Limited {
        /// Wait at least this long before trying again.
        retry_after_ms: u64,
    },
}

impl Verdict {
    /// Whether the request may proceed.
    pub fn allowed(&self) -> bool {
        matches!(self, Verdict::Allowed)
    }
}

/// One token bucket per source `K` (e.g. an IP address), all of the same [`Limit`].
#[derive(Debug, Clone)]
pub struct Limiter<K> {
    limit: Limit,
    max_sources: usize,
    buckets: HashMap<K, Bucket>,
}

impl<K: Eq + Hash + Clone> Limiter<K> {
    /// A limiter tracking at most [`MAX_SOURCES`] sources.
    pub fn new(limit: Limit) -> Limiter<K> {
        Limiter::with_capacity(limit, MAX_SOURCES)
    }

    /// A limiter tracking at most `max_sources` sources (at least one).
    pub fn with_capacity(limit: Limit, max_sources: usize) -> Limiter<K> {
        Limiter {
            limit,
            max_sources: max_sources.max(1),
            buckets: HashMap::new(),
        }
    }

    /// The limit in force.
    pub fn limit(&self) -> Limit {
        self.limit
    }

    /// Spends one token of `source` at `now_ms`, or says when the next one is back.
    pub fn take(&mut self, source: &K, now_ms: u64) -> Verdict {
        let bucket = self.current(source, now_ms);
        if bucket.milli >= MILLI {
            self.store(
                source,
                Bucket {
                    milli: bucket.milli - MILLI,
                    at_ms: bucket.at_ms,
                },
                now_ms,
            );
            Verdict::Allowed
        } else {
            self.store(source, bucket, now_ms);
            Verdict::Limited {
                retry_after_ms: self.wait_for_token(bucket),
            }
        }
    }

    /// Whether `source` has no token left at `now_ms` (nothing is spent).
    pub fn exhausted(&self, source: &K, now_ms: u64) -> Option<u64> {
        let bucket = self.current(source, now_ms);
        (bucket.milli < MILLI).then(|| self.wait_for_token(bucket))
    }

    /// Sources currently tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }

    fn wait_for_token(&self, bucket: Bucket) -> u64 {
        let missing = MILLI - bucket.milli.min(MILLI);
        (missing * self.limit.refill_ms).div_ceil(MILLI)
    }

    fn current(&self, source: &K, now_ms: u64) -> Bucket {
        match self.buckets.get(source) {
            Some(b) => b.refilled(self.limit, now_ms),
            None => Bucket {
                milli: u64::from(self.limit.burst) * MILLI,
                at_ms: now_ms,
            },
        }
    }

    fn store(&mut self, source: &K, bucket: Bucket, now_ms: u64) {
        let full = u64::from(self.limit.burst) * MILLI;
        if bucket.milli >= full {
            // A full bucket is the same as an unknown source.
            self.buckets.remove(source);
            return;
        }
        if !self.buckets.contains_key(source) && self.buckets.len() >= self.max_sources {
            self.make_room(now_ms);
        }
        self.buckets.insert(source.clone(), bucket);
    }

    /// Forgets every bucket that has refilled; if none has, the one unused the longest.
    fn make_room(&mut self, now_ms: u64) {
        let limit = self.limit;
        let full = u64::from(limit.burst) * MILLI;
        self.buckets
            .retain(|_, b| b.refilled(limit, now_ms).milli < full);
        if self.buckets.len() >= self.max_sources {
            let oldest = self
                .buckets
                .iter()
                .min_by_key(|(_, b)| b.at_ms)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.buckets.remove(&k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limit = Limit {
        burst: 3,
        refill_ms: 1_000,
    };

    #[test]
    fn a_burst_then_one_token_per_refill_period() {
        let mut lim = Limiter::new(L);
        for _ in 0..3 {
            assert_eq!(lim.take(&"a", 0), Verdict::Allowed);
        }
        assert_eq!(
            lim.take(&"a", 0),
            Verdict::Limited {
                retry_after_ms: 1_000
            }
        );
        assert_eq!(
            lim.take(&"a", 400),
            Verdict::Limited {
                retry_after_ms: 600
            }
        );
        assert_eq!(lim.take(&"a", 1_000), Verdict::Allowed);
        assert!(!lim.take(&"a", 1_999).allowed());
        assert!(lim.take(&"a", 2_000).allowed());
        // Idle long enough: the whole burst is back, never more.
        for _ in 0..3 {
            assert!(lim.take(&"a", 60_000).allowed());
        }
        assert!(!lim.take(&"a", 60_000).allowed());
    }

    #[test]
    fn sources_are_independent() {
        let mut lim = Limiter::new(L);
        for _ in 0..3 {
            lim.take(&"a", 0);
        }
        assert!(!lim.take(&"a", 0).allowed());
        assert!(lim.take(&"b", 0).allowed());
    }

    #[test]
    fn a_sustained_flood_gets_exactly_the_rate() {
        let mut lim = Limiter::new(L);
        // 100 attempts a second for 60 s of virtual time.
        let allowed = (0..6_000u64)
            .filter(|i| lim.take(&"a", i * 10).allowed())
            .count();
        assert_eq!(allowed, 3 + 59, "burst plus one per second");
    }

    #[test]
    fn exhausted_spends_nothing() {
        let mut lim = Limiter::new(L);
        assert_eq!(lim.exhausted(&"a", 0), None);
        for _ in 0..3 {
            lim.take(&"a", 0);
        }
        assert_eq!(lim.exhausted(&"a", 250), Some(750));
        assert_eq!(lim.exhausted(&"a", 250), Some(750));
        assert_eq!(lim.exhausted(&"a", 1_000), None);
    }

    #[test]
    fn clock_going_backwards_never_adds_tokens() {
        let mut lim = Limiter::new(L);
        for _ in 0..3 {
            lim.take(&"a", 10_000);
        }
        assert!(!lim.take(&"a", 0).allowed());
        assert!(!lim.take(&"a", 10_500).allowed());
    }

    #[test]
    fn memory_is_bounded_under_a_flood_of_sources() {
        let mut lim = Limiter::with_capacity(L, 100);
        for i in 0..10_000u32 {
            lim.take(&i, u64::from(i));
            assert!(lim.tracked() <= 100);
        }
        // A source still being limited is kept while idle ones go first.
        let mut lim = Limiter::with_capacity(L, 2);
        for _ in 0..3 {
            lim.take(&"hot", 0);
        }
        lim.take(&"x", 5_000);
        lim.take(&"y", 5_500);
        assert_eq!(lim.tracked(), 2);
        assert!(
            lim.exhausted(&"hot", 5_500).is_none(),
            "hot refilled by now and went first"
        );
    }

    #[test]
    fn the_published_limits_are_sane() {
        for l in [
            QUIC_CONNECTIONS,
            PAIR_REQUESTS,
            INVITE_ATTEMPTS,
            FAILED_PROOFS,
        ] {
            assert!(l.burst >= 1 && l.refill_ms >= 1_000, "{l:?}");
        }
        assert_eq!(QUIC_CONNECTIONS.per_minute(), 60);
        assert_eq!(PAIR_REQUESTS.per_minute(), 3);
        assert_eq!(INVITE_ATTEMPTS.per_minute(), 5);
        assert_eq!(FAILED_PROOFS.per_minute(), 2);
    }
}
