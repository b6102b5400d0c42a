//! Delta-sync cursors (DESIGN §5): `c1.<epoch>.<logPosition>` on the responder's change log.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::timefmt::parse_rfc3339_ms;

/// A high-water mark on one store's change log; `epoch` changes if the log is ever reset.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor {
    /// The log epoch (lowercase hex) of the store that issued the cursor.
    pub epoch: String,
    /// The last change-log position already delivered.
    pub position: u64,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c1.{}.{}", self.epoch, self.position)
    }
}

impl FromStr for Cursor {
    type Err = Error;

    fn from_str(s: &str) -> Result<Cursor, Error> {
        let bad = |reason| Error::InvalidSince {
            input: s.chars().take(80).collect(),
            reason,
        };
        let rest = s
            .strip_prefix("c1.")
            .ok_or_else(|| bad("a cursor starts with `c1.`"))?;
        let (epoch, position) = rest
            .split_once('.')
            .ok_or_else(|| bad("a cursor is c1.<epoch>.<position>"))?;
        if epoch.is_empty() || epoch.len() > 64 || !epoch.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("the cursor epoch must be 1–64 hexadecimal digits"));
        }
        if position.is_empty() || !position.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("the cursor position must be a decimal integer"));
        }
        let position = position
            .parse()
            .map_err(|_| bad("the cursor position does not fit in 64 bits"))?;
        Ok(Cursor {
            epoch: epoch.to_ascii_lowercase(),
            position,
        })
    }
}

/// Where a delta request starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Since {
    /// From the beginning of the log (`since` absent or null).
    Start,
    /// After a cursor this responder issued.
    Cursor(Cursor),
    /// Log entries recorded at or after this local time (unix ms), from an RFC 3339 `since`.
    Time(u64),
}

impl Since {
    /// Parses the `since` field of a delta request.
    pub fn parse(since: Option<&str>) -> Result<Since, Error> {
        match since {
            None => Ok(Since::Start),
            Some(s) if s.starts_with("c1.") => s.parse().map(Since::Cursor),
            Some(s) => parse_rfc3339_ms(s)
                .map(Since::Time)
                .ok_or(Error::InvalidSince {
                    input: s.chars().take(80).collect(),
                    reason: "expected a c1. cursor or an RFC 3339 time",
                }),
        }
    }
}

/// A `since` the responder can no longer serve exactly: answer 410 `CURSOR_EXPIRED`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired(pub String);

/// Where a delta page starts on the responder's log (DESIGN §5, §2.3).
///
/// `oldest` is the oldest position still retained (a cursor behind it may have missed a
/// collected deletion), `head` the newest position, and `first_at_time` the first position
/// recorded at or after the time of a [`Since::Time`] (looked up by the caller; ignored
/// otherwise). Returns the position to read *after*.
pub fn start_after(
    since: &Since,
    epoch: &str,
    oldest: u64,
    head: u64,
    first_at_time: Option<u64>,
) -> Result<u64, Expired> {
    match since {
        Since::Start => Ok(0),
        Since::Cursor(c) if c.epoch != epoch || c.position < oldest => Err(Expired(c.to_string())),
        Since::Cursor(c) => Ok(c.position),
        Since::Time(ms) => match first_at_time {
            // A time before a collected deletion would miss it, like an old cursor.
            Some(p) if p.saturating_sub(1) < oldest => {
                Err(Expired(crate::timefmt::format_rfc3339_ms(*ms)))
            }
            Some(p) => Ok(p.saturating_sub(1)),
            None => Ok(head),
        },
    }
}

/// The log position a requester acknowledges with its `since` (DESIGN §2.3): a cursor we
/// issued (our epoch, not past our head) says it applied everything up to there.
pub fn acknowledged(since: &Since, epoch: &str, head: u64) -> Option<u64> {
    match since {
        Since::Cursor(c) if c.epoch == epoch && c.position <= head => Some(c.position),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip() {
        let c = Cursor {
            epoch: "9f3a".into(),
            position: 42,
        };
        assert_eq!(c.to_string(), "c1.9f3a.42");
        assert_eq!("c1.9F3A.42".parse::<Cursor>().unwrap(), c);
    }

    #[test]
    fn bad_cursors_say_why() {
        for (bad, why) in [
            ("c2.ab.1", "starts with"),
            ("c1.ab", "c1.<epoch>.<position>"),
            ("c1..1", "epoch"),
            ("c1.xyz.1", "epoch"),
            ("c1.ab.-1", "decimal"),
            ("c1.ab.", "decimal"),
            ("c1.ab.99999999999999999999", "64 bits"),
        ] {
            let err = bad.parse::<Cursor>().unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn start_positions_and_expiry() {
        let cur = |e: &str, p| {
            Since::Cursor(Cursor {
                epoch: e.into(),
                position: p,
            })
        };
        assert_eq!(start_after(&Since::Start, "ab", 5, 9, None), Ok(0));
        assert_eq!(start_after(&cur("ab", 7), "ab", 5, 9, None), Ok(7));
        assert_eq!(
            start_after(&cur("ab", 4), "ab", 5, 9, None),
            Err(Expired("c1.ab.4".into()))
        );
        assert!(
            start_after(&cur("cd", 7), "ab", 0, 9, None).is_err(),
            "another epoch"
        );
        assert_eq!(start_after(&Since::Time(1000), "ab", 0, 9, Some(3)), Ok(2));
        assert_eq!(
            start_after(&Since::Time(1000), "ab", 0, 9, None),
            Ok(9),
            "nothing newer"
        );
        assert!(start_after(&Since::Time(1000), "ab", 5, 9, Some(3)).is_err());
    }

    #[test]
    fn only_our_own_cursors_acknowledge() {
        let cur = |e: &str, p| {
            Since::Cursor(Cursor {
                epoch: e.into(),
                position: p,
            })
        };
        assert_eq!(acknowledged(&cur("ab", 7), "ab", 9), Some(7));
        assert_eq!(acknowledged(&cur("ab", 10), "ab", 9), None, "past our head");
        assert_eq!(acknowledged(&cur("cd", 7), "ab", 9), None, "another epoch");
        assert_eq!(acknowledged(&Since::Start, "ab", 9), None);
    }

    #[test]
    fn since_forms() {
        assert_eq!(Since::parse(None).unwrap(), Since::Start);
        assert_eq!(
            Since::parse(Some("c1.ab.7")).unwrap(),
            Since::Cursor(Cursor {
                epoch: "ab".into(),
                position: 7
            })
        );
        assert_eq!(
            Since::parse(Some("1970-01-01T00:00:01Z")).unwrap(),
            Since::Time(1000)
        );
        assert!(Since::parse(Some("last tuesday")).is_err());
        assert!(Since::parse(Some("c1.zz.1")).is_err());
    }
}
