//! Hybrid logical clock (DESIGN §2.2). Time is passed in; nothing here reads a clock.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// How far ahead of our wall clock a remote stamp may be and still be adopted (5 minutes).
pub const MAX_FORWARD_DRIFT_MS: u64 = 5 * 60 * 1000;

/// Largest wall-clock value representable in the 48-bit millisecond field.
pub const MAX_WALL_MS: u64 = (1 << 48) - 1;

/// A hybrid logical clock stamp: 48-bit wall milliseconds, then a 16-bit counter.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hlc(u64);

impl Hlc {
    /// The zero stamp, older than every real change.
    pub const ZERO: Hlc = Hlc(0);

    /// Builds a stamp from its parts (`wall_ms` is truncated to 48 bits).
    pub const fn new(wall_ms: u64, counter: u16) -> Hlc {
        Hlc(((wall_ms & MAX_WALL_MS) << 16) | counter as u64)
    }

    /// Wraps the raw 64-bit form.
    pub const fn from_u64(raw: u64) -> Hlc {
        Hlc(raw)
    }

    /// The raw 64-bit form.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The wall-clock milliseconds part.
    pub const fn wall_ms(self) -> u64 {
        self.0 >> 16
    }

    /// The logical counter part.
    pub const fn counter(self) -> u16 {
        (self.0 & 0xFFFF) as u16
    }

    /// The next stamp after this one (counter overflow advances the milliseconds).
    pub const fn successor(self) -> Hlc {
        Hlc(self.0.saturating_add(1))
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hlc({}.{})", self.wall_ms(), self.counter())
    }
}

impl FromStr for Hlc {
    type Err = Error;

    /// Parses exactly 16 hexadecimal digits.
    fn from_str(s: &str) -> Result<Hlc, Error> {
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::InvalidHlc {
                input: s.chars().take(40).collect(),
            });
        }
        u64::from_str_radix(s, 16)
            .map(Hlc)
            .map_err(|_| Error::InvalidHlc { input: s.into() })
    }
}

impl serde::Serialize for Hlc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Hlc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Hlc, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A remote stamp too far ahead of our wall clock; it was applied but not adopted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockSkew {
    /// The offending stamp.
    pub remote: Hlc,
    /// How far ahead of our wall clock it was, in milliseconds.
    pub ahead_ms: u64,
}

impl fmt::Display for ClockSkew {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "clock skew: a peer's change is stamped {} s ahead of our clock; not adopted",
            self.ahead_ms / 1000
        )
    }
}

/// The local hybrid logical clock: issues strictly increasing stamps.
#[derive(Debug, Clone, Default)]
pub struct HlcClock {
    last: Hlc,
}

impl HlcClock {
    /// A clock that has issued nothing yet.
    pub fn new() -> HlcClock {
        HlcClock::default()
    }

    /// A clock resuming after `last` (e.g. the highest stamp found in the store).
    pub fn resume(last: Hlc) -> HlcClock {
        HlcClock { last }
    }

    /// The last stamp issued or adopted.
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// Issues a stamp for a local change at wall time `wall_ms`, greater than every earlier one.
    pub fn tick(&mut self, wall_ms: u64) -> Hlc {
        let wall = Hlc::new(wall_ms.min(MAX_WALL_MS), 0);
        self.last = if wall > self.last {
            wall
        } else {
            self.last.successor()
        };
        self.last
    }

    /// Takes a received stamp into account so later local stamps sort after it.
    ///
    /// A stamp more than [`MAX_FORWARD_DRIFT_MS`] ahead of `wall_ms` is not adopted.
    pub fn observe(&mut self, remote: Hlc, wall_ms: u64) -> Result<(), ClockSkew> {
        let limit = wall_ms.saturating_add(MAX_FORWARD_DRIFT_MS);
        if remote.wall_ms() > limit {
            return Err(ClockSkew {
                remote,
                ahead_ms: remote.wall_ms() - wall_ms,
            });
        }
        if remote > self.last {
            self.last = remote;
        }
        Ok(())
    }
}

/// Orders two changes last-writer-wins style: by stamp, then by author node id.
pub fn lww_cmp(a: (Hlc, &str), b: (Hlc, &str)) -> std::cmp::Ordering {
    a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn layout_and_text() {
        let h = Hlc::new(0x0123_4567_89ab, 0xcdef);
        assert_eq!(h.to_string(), "0123456789abcdef");
        assert_eq!(h.wall_ms(), 0x0123_4567_89ab);
        assert_eq!(h.counter(), 0xcdef);
        assert_eq!("0123456789abcdef".parse::<Hlc>().unwrap(), h);
        for bad in [
            "",
            "123",
            "0123456789abcdeg",
            "+123456789abcdef",
            "0123456789abcdef0",
        ] {
            assert!(bad.parse::<Hlc>().is_err(), "{bad}");
        }
    }

    #[test]
    fn tick_is_wall_clock_when_it_moves() {
        let mut c = HlcClock::new();
        assert_eq!(c.tick(1000), Hlc::new(1000, 0));
        assert_eq!(c.tick(1000), Hlc::new(1000, 1));
        assert_eq!(
            c.tick(999),
            Hlc::new(1000, 2),
            "a clock going back never goes back"
        );
        assert_eq!(c.tick(1001), Hlc::new(1001, 0));
    }

    #[test]
    fn counter_overflow_advances_milliseconds() {
        let mut c = HlcClock::resume(Hlc::new(5, u16::MAX));
        assert_eq!(c.tick(5), Hlc::new(6, 0));
    }

    #[test]
    fn observe_adopts_unless_too_far_ahead() {
        let mut c = HlcClock::new();
        c.tick(10_000);
        c.observe(Hlc::new(20_000, 3), 10_000).unwrap();
        assert_eq!(c.tick(10_000), Hlc::new(20_000, 4));
        let far = Hlc::new(10_000 + MAX_FORWARD_DRIFT_MS + 1, 0);
        let skew = c.observe(far, 10_000).unwrap_err();
        assert_eq!(skew.ahead_ms, MAX_FORWARD_DRIFT_MS + 1);
        assert!(c.last() < far, "a skewed stamp is not adopted");
    }

    #[test]
    fn lww_breaks_ties_by_author() {
        use std::cmp::Ordering::*;
        let h = Hlc::new(1, 0);
        assert_eq!(lww_cmp((h, "aa"), (h, "bb")), Less);
        assert_eq!(lww_cmp((h.successor(), "aa"), (h, "bb")), Greater);
    }

    proptest! {
        #[test]
        fn ticks_strictly_increase(walls in proptest::collection::vec(0u64..1_000_000, 1..200)) {
            let mut c = HlcClock::new();
            let mut prev = Hlc::ZERO;
            for w in walls {
                let h = c.tick(w);
                prop_assert!(h > prev);
                prop_assert!(h.wall_ms() >= w);
                prev = h;
            }
        }
    }
}
