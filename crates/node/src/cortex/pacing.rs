//! Request pacing for an external Cortex (issue 7): a token bucket driven by the caller's clock.
//!
//! The stock sidecar allows 100 requests per minute per client IP with a burst of 100 and
//! answers 429 with `Retry-After` beyond that; every answer carries `x-ratelimit-remaining`.
//! [`TokenBucket`] is sans-IO: the caller passes the time (milliseconds on any monotonic
//! clock) to every call, asks [`TokenBucket::try_take`] before each request and sleeps for the
//! wait it is told, feeds back [`TokenBucket::observe_remaining`] from each answer and
//! [`TokenBucket::hold_until`] from a 429. Tests drive it with virtual time.

/// A request budget: `per_minute` requests refilled evenly, at most `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests per minute, refilled continuously (100 → one every 600 ms).
    pub per_minute: u32,
    /// Largest number of requests that may go back to back.
    pub burst: u32,
    /// Requests left to other clients of the same sidecar (the agent itself shares our client
    /// IP on loopback): when the server says only this many remain, we wait for the refill.
    pub reserve: u32,
}

impl Default for Rate {
    /// The stock sidecar's limit: 100 a minute, burst 100, keeping 5 for the agent.
    fn default() -> Rate {
        Rate {
            per_minute: 100,
            burst: 100,
            reserve: 5,
        }
    }
}

/// A token bucket with an optional hold (from a server's `Retry-After`).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    per_ms: f64,
    reserve: f64,
    tokens: f64,
    last_ms: u64,
    hold_until_ms: u64,
}

impl TokenBucket {
    /// A full bucket for `rate` at time `now_ms`.
    pub fn new(rate: Rate, now_ms: u64) -> TokenBucket {
        let capacity = f64::from(rate.burst.max(1));
        TokenBucket {
            capacity,
            per_ms: f64::from(rate.per_minute.max(1)) / 60_000.0,
            reserve: f64::from(rate.reserve),
            tokens: capacity,
            last_ms: now_ms,
            hold_until_ms: 0,
        }
    }

    fn refill(&mut self, now_ms: u64) {
        if now_ms > self.last_ms {
            let elapsed = (now_ms - self.last_ms) as f64;
            self.tokens = (self.tokens + elapsed * self.per_ms).min(self.capacity);
            self.last_ms = now_ms;
        }
    }

    /// Takes one token at `now_ms`: `Ok` to send now, or `Err(ms)` to wait that long and ask
    /// again.
    pub fn try_take(&mut self, now_ms: u64) -> Result<(), u64> {
        if now_ms < self.hold_until_ms {
            return Err(self.hold_until_ms - now_ms);
        }
        self.refill(now_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - self.tokens;
        Err(((missing / self.per_ms).ceil() as u64).max(1))
    }

    /// Whether a token is available at `now_ms` (without taking it).
    pub fn has_token(&mut self, now_ms: u64) -> bool {
        if now_ms < self.hold_until_ms {
            return false;
        }
        self.refill(now_ms);
        self.tokens >= 1.0
    }

    /// A server said `remaining` requests are left in its window: never plan on more than
    /// that, minus what we leave to other clients.
    pub fn observe_remaining(&mut self, remaining: u64, now_ms: u64) {
        self.refill(now_ms);
        let allowed = (remaining as f64 - self.reserve).max(0.0);
        if allowed < self.tokens {
            self.tokens = allowed;
        }
    }

    /// A server answered 429 with `Retry-After`: send nothing before `until_ms`, then start
    /// from an empty bucket (the server's own bucket is empty too).
    pub fn hold_until(&mut self, until_ms: u64, now_ms: u64) {
        self.refill(now_ms);
        self.hold_until_ms = self.hold_until_ms.max(until_ms);
        self.tokens = 0.0;
        self.last_ms = self.last_ms.max(self.hold_until_ms);
    }
}

/// Parses a `Retry-After` value: delay-seconds, or an HTTP date (RFC 9110) relative to
/// `now_unix_ms`. Returns the delay in milliseconds; `None` when it cannot be read.
pub fn parse_retry_after(value: &str, now_unix_ms: u64) -> Option<u64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(secs.saturating_mul(1000));
    }
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some((secs * 1000.0).ceil() as u64);
        }
    }
    let date =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let at_ms = u64::try_from(date.unix_timestamp())
        .ok()?
        .saturating_mul(1000);
    Some(at_ms.saturating_sub(now_unix_ms))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Sends `n` requests as fast as the bucket allows, starting at `start`; returns the time
    /// the last one went out.
    fn drain(bucket: &mut TokenBucket, n: usize, start: u64) -> u64 {
        let mut now = start;
        for _ in 0..n {
            loop {
                match bucket.try_take(now) {
                    Ok(()) => break,
                    Err(wait) => {
                        assert!(wait > 0);
                        now += wait;
                    }
                }
            }
        }
        now
    }

    #[test]
    fn stock_rate_allows_a_burst_of_100_then_one_every_600_ms() {
        let mut b = TokenBucket::new(Rate::default(), 0);
        // The burst goes out at once.
        assert_eq!(drain(&mut b, 100, 0), 0);
        // The 101st waits for one refill: 600 ms.
        assert_eq!(b.try_take(0), Err(600));
        assert_eq!(b.try_take(599), Err(1));
        assert_eq!(b.try_take(600), Ok(()));
        // 100 more take a minute.
        let end = drain(&mut b, 100, 600);
        assert!((60_000..=60_700).contains(&end), "{end}");
    }

    #[test]
    fn never_more_than_100_in_any_minute_window() {
        let mut b = TokenBucket::new(Rate::default(), 0);
        let mut sent = Vec::new();
        let mut now = 0;
        while sent.len() < 1_000 {
            match b.try_take(now) {
                Ok(()) => sent.push(now),
                Err(w) => now += w,
            }
        }
        // A sliding window starting at any request holds at most burst + refill of 60 s.
        for (i, &t) in sent.iter().enumerate() {
            let in_window = sent[i..].iter().take_while(|&&u| u < t + 60_000).count();
            assert!(
                in_window <= 200,
                "{in_window} requests in the minute after {t}"
            );
        }
        // Sustained rate: the last 900 requests took about 9 minutes.
        let span = sent[999] - sent[100];
        assert!((539_000..=541_000).contains(&span), "{span}");
    }

    #[test]
    fn idle_time_refills_up_to_the_burst_only() {
        let mut b = TokenBucket::new(Rate::default(), 0);
        drain(&mut b, 100, 0);
        // An hour idle gives 100 tokens, not 6 000.
        assert_eq!(drain(&mut b, 100, 3_600_000), 3_600_000);
        assert!(b.try_take(3_600_000).is_err());
    }

    #[test]
    fn retry_after_holds_everything_then_starts_empty() {
        let mut b = TokenBucket::new(Rate::default(), 0);
        b.hold_until(5_000, 1_000);
        assert!(!b.has_token(1_000));
        assert_eq!(b.try_take(1_000), Err(4_000));
        assert_eq!(b.try_take(4_999), Err(1));
        // At the end of the hold the bucket is empty: the next token needs one refill.
        assert_eq!(b.try_take(5_000), Err(600));
        assert_eq!(b.try_take(5_600), Ok(()));
    }

    #[test]
    fn remaining_from_the_server_caps_the_burst_and_keeps_a_reserve() {
        let mut b = TokenBucket::new(Rate::default(), 0);
        b.observe_remaining(12, 0);
        // 12 remain on the server, 5 are left to the agent: 7 go out at once.
        assert_eq!(drain(&mut b, 7, 0), 0);
        assert!(b.try_take(0).is_err());
        // A higher remaining never adds tokens.
        b.observe_remaining(100, 0);
        assert!(b.try_take(0).is_err());
        let mut open = TokenBucket::new(
            Rate {
                reserve: 0,
                ..Rate::default()
            },
            0,
        );
        open.observe_remaining(0, 0);
        assert_eq!(open.try_take(0), Err(600));
    }

    #[test]
    fn fast_rates_for_tests() {
        let mut b = TokenBucket::new(
            Rate {
                per_minute: 60_000,
                burst: 10,
                reserve: 0,
            },
            0,
        );
        assert_eq!(drain(&mut b, 10, 0), 0);
        assert_eq!(b.try_take(0), Err(1));
        assert_eq!(drain(&mut b, 100, 0), 100);
    }

    #[test]
    fn retry_after_values() {
        assert_eq!(parse_retry_after("7", 0), Some(7_000));
        assert_eq!(parse_retry_after(" 0 ", 0), Some(0));
        assert_eq!(parse_retry_after("1.5", 0), Some(1_500));
        // Sun, 06 Nov 1994 08:49:37 GMT = 784111777 s.
        let now = 784_111_777_000 - 3_000;
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(3_000)
        );
        // A date in the past means now.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now + 10_000),
            Some(0)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
        assert_eq!(parse_retry_after("-3", 0), None);
    }
}
