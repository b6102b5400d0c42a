//! Peer states and retry backoff of the PeerManager (DESIGN §5); time and randomness passed in.

use serde::{Deserialize, Serialize};

/// Where a sync peer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerStatus {
    /// Syncing normally.
    Active,
    /// Paused by the user.
    Paused,
    /// The last attempt failed; retried with backoff.
    Unreachable,
    /// Unpaired; never synced again.
    Removed,
}

impl PeerStatus {
    /// The JSON/SQL name.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerStatus::Active => "active",
            PeerStatus::Paused => "paused",
            PeerStatus::Unreachable => "unreachable",
            PeerStatus::Removed => "removed",
        }
    }

    /// Parses the JSON/SQL name.
    pub fn from_name(name: &str) -> Option<PeerStatus> {
        [Self::Active, Self::Paused, Self::Unreachable, Self::Removed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// Whether the scheduler should pull from a peer now: active peers on each round, unreachable
/// ones once their backoff has passed, paused and removed ones never.
pub fn is_due(
    status: PeerStatus,
    next_retry_at_ms: Option<u64>,
    round_due: bool,
    now_ms: u64,
) -> bool {
    match status {
        PeerStatus::Active => round_due,
        PeerStatus::Unreachable => next_retry_at_ms.is_none_or(|t| t <= now_ms),
        PeerStatus::Paused | PeerStatus::Removed => false,
    }
}

/// Whether a user's `query` means this peer: its node id, its name, or an id prefix of 8+ digits.
pub fn peer_matches(node_id: &str, name: &str, query: &str) -> bool {
    node_id == query || name == query || (query.len() >= 8 && node_id.starts_with(query))
}

/// First retry delay after a failure.
pub const BACKOFF_BASE_MS: u64 = 2_000;
/// Longest retry delay.
pub const BACKOFF_MAX_MS: u64 = 15 * 60 * 1000;

/// Exponential backoff with jitter: after `failures` consecutive failures, the delay before
/// the next attempt is drawn from [d/2, d] with d = min(base · 2^(failures−1), max).
///
/// `random` is any uniformly distributed u64 supplied by the caller (seeded in tests).
pub fn retry_delay_ms(failures: u32, random: u64) -> u64 {
    if failures == 0 {
        return 0;
    }
    let exp = failures.saturating_sub(1).min(30);
    let d = BACKOFF_BASE_MS
        .saturating_mul(1u64 << exp)
        .min(BACKOFF_MAX_MS);
    let half = d / 2;
    half + random % (d - half + 1)
}

/// Applies a scheduler interval jitter of ±10 % (DESIGN §5: "every intervalSeconds, jittered").
pub fn jittered_interval_ms(interval_ms: u64, random: u64) -> u64 {
    let spread = interval_ms / 10;
    if spread == 0 {
        return interval_ms;
    }
    interval_ms - spread + random % (2 * spread + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_round_trip() {
        for s in [
            PeerStatus::Active,
            PeerStatus::Paused,
            PeerStatus::Unreachable,
            PeerStatus::Removed,
        ] {
            assert_eq!(PeerStatus::from_name(s.as_str()), Some(s));
        }
        assert_eq!(PeerStatus::from_name("gone"), None);
    }

    #[test]
    fn peers_are_named_by_id_name_or_long_prefix() {
        let id = "ab".repeat(32);
        assert!(peer_matches(&id, "alpha", &id));
        assert!(peer_matches(&id, "alpha", "alpha"));
        assert!(peer_matches(&id, "alpha", "abababab"));
        assert!(
            !peer_matches(&id, "alpha", "abab"),
            "short prefixes are ambiguous"
        );
        assert!(!peer_matches(&id, "alpha", "bravo"));
    }

    #[test]
    fn due_rules() {
        assert!(is_due(PeerStatus::Active, None, true, 5));
        assert!(!is_due(PeerStatus::Active, None, false, 5));
        assert!(is_due(PeerStatus::Unreachable, Some(5), false, 5));
        assert!(!is_due(PeerStatus::Unreachable, Some(6), true, 5));
        assert!(!is_due(PeerStatus::Paused, None, true, 5));
        assert!(!is_due(PeerStatus::Removed, None, true, 5));
    }

    #[test]
    fn backoff_grows_then_caps() {
        assert_eq!(retry_delay_ms(0, 123), 0);
        assert_eq!(retry_delay_ms(1, u64::MAX - (u64::MAX % 1001)), 1_000);
        assert_eq!(retry_delay_ms(1, 1000), 2_000);
        assert_eq!(retry_delay_ms(3, 4000), 8_000);
        assert_eq!(retry_delay_ms(60, 0), BACKOFF_MAX_MS / 2);
    }

    proptest! {
        #[test]
        fn backoff_stays_in_its_band(failures in 1u32..80, r in any::<u64>()) {
            let d = BACKOFF_BASE_MS.saturating_mul(1u64 << (failures - 1).min(30)).min(BACKOFF_MAX_MS);
            let got = retry_delay_ms(failures, r);
            prop_assert!(got >= d / 2 && got <= d);
        }

        #[test]
        fn interval_jitter_is_within_ten_percent(interval in 10_000u64..86_400_000, r in any::<u64>()) {
            let got = jittered_interval_ms(interval, r);
            prop_assert!(got.abs_diff(interval) <= interval / 10);
        }
    }
}
