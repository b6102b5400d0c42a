//! Tombstone retention (DESIGN §2.3): when a tombstone may be collected.
//!
//! A tombstone is kept at least [`MIN_TOMBSTONE_RETENTION_MS`] (the seed's "24 h TTL"). After
//! that it is collected once every current roster member has acknowledged it — its delta cursor
//! on our change log passed the tombstone's log position — or, whatever the acknowledgements,
//! once it is older than `sync.tombstoneMaxRetentionDays`. Members that had not acknowledged a
//! tombstone collected on that second ground are *stale*: they missed a deletion we no longer
//! hold, so what they offer later must not resurrect it.

/// The minimum retention of a tombstone: 24 hours, in milliseconds.
pub const MIN_TOMBSTONE_RETENTION_MS: u64 = 24 * 60 * 60 * 1000;

/// What to do with one tombstone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Keep it: too young, or some member has not acknowledged it yet.
    Keep,
    /// Collect it: old enough and acknowledged by every member.
    Acknowledged,
    /// Collect it: older than the maximum retention, although some member has not
    /// acknowledged it (those members become stale).
    MaxRetention,
}

impl Verdict {
    /// Whether the tombstone is collected.
    pub fn collects(self) -> bool {
        self != Verdict::Keep
    }
}

/// Whether a member whose cursor acknowledged our log up to `acked_position` has seen the
/// change at `log_position` (it applied everything at or below its acknowledged position).
pub fn acknowledged(acked_position: u64, log_position: u64) -> bool {
    acked_position >= log_position
}

/// Decides about one tombstone.
///
/// `tombstone_age_ms` is how long ago it was written here; `tombstone_log_position` is the
/// change-log position of the delete that produced it; `member_acks` holds the acknowledged
/// position of every current roster member (0 for a member that never pulled from us; no
/// members means nobody is waiting for it). `max_retention_ms` never shortens the minimum
/// retention: nothing younger than [`MIN_TOMBSTONE_RETENTION_MS`] is collected.
pub fn verdict(
    tombstone_age_ms: u64,
    tombstone_log_position: u64,
    member_acks: &[u64],
    max_retention_ms: u64,
) -> Verdict {
    if tombstone_age_ms < MIN_TOMBSTONE_RETENTION_MS {
        return Verdict::Keep;
    }
    if member_acks
        .iter()
        .all(|&ack| acknowledged(ack, tombstone_log_position))
    {
        return Verdict::Acknowledged;
    }
    if tombstone_age_ms >= max_retention_ms.max(MIN_TOMBSTONE_RETENTION_MS) {
        return Verdict::MaxRetention;
    }
    Verdict::Keep
}

/// Whether a tombstone may be collected (see [`verdict`]).
pub fn collectible(
    tombstone_age_ms: u64,
    tombstone_log_position: u64,
    member_acks: &[u64],
    max_retention_ms: u64,
) -> bool {
    verdict(
        tombstone_age_ms,
        tombstone_log_position,
        member_acks,
        max_retention_ms,
    )
    .collects()
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 60 * 60 * 1000;
    const DAY: u64 = 24 * H;
    const MAX: u64 = 180 * DAY;

    #[test]
    fn never_under_24_hours() {
        for age in [0, 1, H, DAY - 1] {
            assert!(!collectible(age, 5, &[10, 10], MAX), "age {age}");
            assert!(!collectible(age, 5, &[], MAX), "no members, age {age}");
            assert!(!collectible(age, 5, &[0], 0), "even with max 0, age {age}");
            assert!(
                !collectible(age, 5, &[0], 1),
                "even with max 1 ms, age {age}"
            );
        }
    }

    #[test]
    fn after_24_hours_when_every_member_acknowledged() {
        assert_eq!(verdict(DAY, 5, &[5, 9], MAX), Verdict::Acknowledged);
        assert_eq!(verdict(DAY + 1, 5, &[7], MAX), Verdict::Acknowledged);
        assert_eq!(
            verdict(DAY, 5, &[], MAX),
            Verdict::Acknowledged,
            "no members: nobody waits"
        );
        assert!(collectible(2 * DAY, 1, &[1, 1, 1], MAX));
    }

    #[test]
    fn one_member_behind_keeps_it() {
        assert_eq!(verdict(DAY, 5, &[9, 4], MAX), Verdict::Keep);
        assert_eq!(
            verdict(MAX - 1, 5, &[0, 9], MAX),
            Verdict::Keep,
            "never pulled"
        );
        assert!(!collectible(30 * DAY, 100, &[100, 99], MAX));
    }

    #[test]
    fn max_retention_collects_whatever_the_acks() {
        assert_eq!(verdict(MAX, 5, &[0, 4], MAX), Verdict::MaxRetention);
        assert_eq!(verdict(MAX + H, 5, &[0], MAX), Verdict::MaxRetention);
        assert_eq!(verdict(DAY, 5, &[0], DAY), Verdict::MaxRetention);
        assert_eq!(
            verdict(MAX, 5, &[5], MAX),
            Verdict::Acknowledged,
            "acknowledged wins when both hold (no one becomes stale)"
        );
        assert!(collectible(MAX, 5, &[0, 0, 0], MAX));
    }

    #[test]
    fn acknowledgement_is_at_or_past_the_position() {
        assert!(acknowledged(5, 5));
        assert!(acknowledged(6, 5));
        assert!(!acknowledged(4, 5));
        assert!(!acknowledged(0, 1));
    }
}
