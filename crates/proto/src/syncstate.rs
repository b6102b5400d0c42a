//! The states status reports (DESIGN §6.2, §10, §13), computed once by the engine from the
//! facts it holds, so the CLI, the window, the tray and the notifications only render them.
//! Pure: facts in, states out.

use serde::{Deserialize, Serialize};

use crate::mode::SyncMode;
use crate::peerstate::PeerStatus;

/// Consecutive failures after which a peer's failure is persistent: the overall state needs
/// attention and the failure is notified.
pub const PERSISTENT_FAILURES: u64 = 3;

/// Where one paired device stands, as status shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeerSyncState {
    /// Proven in sync by the last round or sync, nothing queued either way.
    InSync,
    /// Changes are moving (or the first round since the link came up is running).
    Syncing,
    /// The device is reachable but its rounds or syncs fail; the reason says why.
    Failing,
    /// No link (native) or the last attempt could not reach it (polled).
    Unreachable,
    /// Syncing is paused (by the user, for this device or for all).
    Paused,
    /// Unpaired.
    Removed,
    /// No sync runs in the current mode (no healthy Cortex).
    Offline,
}

impl PeerSyncState {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerSyncState::InSync => "in-sync",
            PeerSyncState::Syncing => "syncing",
            PeerSyncState::Failing => "failing",
            PeerSyncState::Unreachable => "unreachable",
            PeerSyncState::Paused => "paused",
            PeerSyncState::Removed => "removed",
            PeerSyncState::Offline => "offline",
        }
    }
}

/// What native mode knows of one peer's link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkFacts {
    /// A sync link is up.
    pub connected: bool,
    /// The last round with it failed, and why (cleared by a good round).
    pub failing: Option<String>,
    /// Why there is no link now (lost, or the dial failed), while none is up.
    pub link_error: Option<String>,
    /// Changes it said it queued for us that have not arrived.
    pub to_receive: u64,
    /// Changes queued for it.
    pub to_send: u64,
    /// A round has proven the pair in sync or reconciled since the link came up.
    pub synced_since_up: bool,
}

/// Everything the state of one peer depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerFacts {
    /// The mode in force.
    pub mode: SyncMode,
    /// The engine's sync is paused.
    pub engine_paused: bool,
    /// The stored peer status.
    pub status: PeerStatus,
    /// The last sync with it succeeded.
    pub last_ok: Option<bool>,
    /// Its last error.
    pub last_error: Option<String>,
    /// Native mode's view of its link (`None` outside native mode or without gossip).
    pub link: Option<LinkFacts>,
}

/// A peer's state and, for failing, unreachable or offline, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSyncView {
    /// The state.
    pub state: PeerSyncState,
    /// Why (failing, unreachable, offline).
    pub reason: Option<String>,
}

fn view(state: PeerSyncState, reason: Option<String>) -> PeerSyncView {
    PeerSyncView { state, reason }
}

/// The state of one peer. A peer whose link is up is never "unreachable": when its rounds
/// fail it is "failing" with the reason.
pub fn peer_sync_state(f: &PeerFacts) -> PeerSyncView {
    match f.status {
        PeerStatus::Removed => return view(PeerSyncState::Removed, None),
        PeerStatus::Paused => return view(PeerSyncState::Paused, None),
        _ if f.engine_paused => return view(PeerSyncState::Paused, None),
        _ => {}
    }
    if f.mode == SyncMode::None {
        return view(
            PeerSyncState::Offline,
            Some("no sync runs: the Cortex is not healthy".into()),
        );
    }
    if let (SyncMode::Native, Some(link)) = (f.mode, &f.link) {
        if !link.connected {
            let reason = link
                .link_error
                .clone()
                .or_else(|| f.last_error.clone())
                .unwrap_or_else(|| "no sync link to it yet".into());
            return view(PeerSyncState::Unreachable, Some(reason));
        }
        if let Some(reason) = &link.failing {
            return view(PeerSyncState::Failing, Some(reason.clone()));
        }
        if link.to_receive > 0 || link.to_send > 0 || !link.synced_since_up {
            return view(PeerSyncState::Syncing, None);
        }
        return view(PeerSyncState::InSync, None);
    }
    match (f.status, f.last_ok) {
        (PeerStatus::Unreachable, _) => view(PeerSyncState::Unreachable, f.last_error.clone()),
        (_, Some(false)) => view(PeerSyncState::Failing, f.last_error.clone()),
        (_, Some(true)) => view(PeerSyncState::InSync, None),
        (_, None) => view(PeerSyncState::Syncing, None),
    }
}

/// The engine's overall state: five of the tray's six states (the sixth, "error", is the
/// shell's: the engine cannot run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OverallState {
    /// Every reachable peer is in sync.
    InSync,
    /// Changes are moving with at least one peer.
    Syncing,
    /// Syncing is paused.
    Paused,
    /// No Cortex, or no reachable peer.
    Offline,
    /// Items held for review, or a persistent failure.
    Attention,
}

impl OverallState {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            OverallState::InSync => "in-sync",
            OverallState::Syncing => "syncing",
            OverallState::Paused => "paused",
            OverallState::Offline => "offline",
            OverallState::Attention => "attention",
        }
    }
}

/// The overall state from the mode, pause, items held for review and each paired peer's
/// state with its consecutive failures.
pub fn overall_state(
    mode: SyncMode,
    paused: bool,
    review_count: u64,
    peers: &[(PeerSyncState, u64)],
) -> OverallState {
    if paused {
        return OverallState::Paused;
    }
    if mode == SyncMode::None {
        return OverallState::Offline;
    }
    let paired = peers.iter().filter(|(s, _)| *s != PeerSyncState::Removed);
    let persistent = paired.clone().any(|(s, failures)| {
        matches!(s, PeerSyncState::Failing | PeerSyncState::Unreachable)
            && *failures >= PERSISTENT_FAILURES
    });
    if persistent || review_count > 0 {
        return OverallState::Attention;
    }
    if paired.clone().any(|(s, _)| *s == PeerSyncState::Syncing) {
        return OverallState::Syncing;
    }
    if paired.clone().any(|(s, _)| *s == PeerSyncState::InSync) {
        return OverallState::InSync;
    }
    OverallState::Offline
}

#[cfg(test)]
mod tests {
    use super::*;

    fn native(link: LinkFacts) -> PeerFacts {
        PeerFacts {
            mode: SyncMode::Native,
            engine_paused: false,
            status: PeerStatus::Unreachable,
            last_ok: Some(false),
            last_error: Some("old dial error".into()),
            link: Some(link),
        }
    }

    #[test]
    fn a_link_that_is_up_is_never_unreachable() {
        let failing = peer_sync_state(&native(LinkFacts {
            connected: true,
            failing: Some("no answer in time".into()),
            ..LinkFacts::default()
        }));
        assert_eq!(failing.state, PeerSyncState::Failing);
        assert_eq!(failing.reason.as_deref(), Some("no answer in time"));
        let syncing = peer_sync_state(&native(LinkFacts {
            connected: true,
            to_receive: 1_200,
            synced_since_up: true,
            ..LinkFacts::default()
        }));
        assert_eq!(syncing.state, PeerSyncState::Syncing);
        let in_sync = peer_sync_state(&native(LinkFacts {
            connected: true,
            synced_since_up: true,
            ..LinkFacts::default()
        }));
        assert_eq!(in_sync.state, PeerSyncState::InSync);
        let down = peer_sync_state(&native(LinkFacts::default()));
        assert_eq!(down.state, PeerSyncState::Unreachable);
        assert_eq!(down.reason.as_deref(), Some("old dial error"));
    }

    #[test]
    fn a_peer_without_a_link_says_why_the_link_is_gone() {
        // What the link layer knows now beats the stored error of an older attempt.
        let lost = peer_sync_state(&native(LinkFacts {
            link_error: Some("link lost at 2026-12-07T05:54:40Z: timed out".into()),
            ..LinkFacts::default()
        }));
        assert_eq!(lost.state, PeerSyncState::Unreachable);
        assert_eq!(
            lost.reason.as_deref(),
            Some("link lost at 2026-12-07T05:54:40Z: timed out")
        );
        // Never linked and nothing known: say so.
        let mut never = native(LinkFacts::default());
        never.last_error = None;
        assert_eq!(
            peer_sync_state(&never).reason.as_deref(),
            Some("no sync link to it yet")
        );
        // A link that is up ignores an old link error: it is the round that matters.
        let up = peer_sync_state(&native(LinkFacts {
            connected: true,
            synced_since_up: true,
            link_error: Some("link lost earlier".into()),
            ..LinkFacts::default()
        }));
        assert_eq!(up.state, PeerSyncState::InSync);
    }

    #[test]
    fn pause_and_removal_win_and_polled_peers_follow_their_last_sync() {
        let mut f = native(LinkFacts {
            connected: true,
            ..LinkFacts::default()
        });
        f.engine_paused = true;
        assert_eq!(peer_sync_state(&f).state, PeerSyncState::Paused);
        f.status = PeerStatus::Removed;
        assert_eq!(peer_sync_state(&f).state, PeerSyncState::Removed);
        let polled = |status, last_ok| PeerFacts {
            mode: SyncMode::Polled,
            engine_paused: false,
            status,
            last_ok,
            last_error: Some("HTTP 500".into()),
            link: None,
        };
        let cases = [
            (
                PeerStatus::Unreachable,
                Some(false),
                PeerSyncState::Unreachable,
            ),
            (PeerStatus::Active, Some(false), PeerSyncState::Failing),
            (PeerStatus::Active, Some(true), PeerSyncState::InSync),
            (PeerStatus::Active, None, PeerSyncState::Syncing),
        ];
        for (status, ok, want) in cases {
            assert_eq!(peer_sync_state(&polled(status, ok)).state, want);
        }
    }

    #[test]
    fn the_overall_state_needs_attention_only_for_persistent_failures_or_review() {
        use PeerSyncState as P;
        let m = SyncMode::Native;
        assert_eq!(overall_state(m, true, 9, &[]), OverallState::Paused);
        assert_eq!(
            overall_state(SyncMode::None, false, 0, &[]),
            OverallState::Offline
        );
        assert_eq!(
            overall_state(m, false, 0, &[(P::Failing, 3), (P::InSync, 0)]),
            OverallState::Attention
        );
        assert_eq!(
            overall_state(m, false, 0, &[(P::Failing, 1), (P::InSync, 0)]),
            OverallState::InSync
        );
        assert_eq!(
            overall_state(m, false, 0, &[(P::Syncing, 0), (P::InSync, 0)]),
            OverallState::Syncing
        );
        assert_eq!(
            overall_state(m, false, 2, &[(P::InSync, 0)]),
            OverallState::Attention
        );
        assert_eq!(
            overall_state(m, false, 0, &[(P::Unreachable, 1)]),
            OverallState::Offline
        );
        assert_eq!(overall_state(m, false, 0, &[]), OverallState::Offline);
    }
}
