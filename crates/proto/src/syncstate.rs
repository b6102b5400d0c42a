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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
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

/// One paired device as the overall summary weighs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryPeer {
    /// Its name (or short id).
    pub name: String,
    /// Its state.
    pub state: PeerSyncState,
    /// Failed syncs or rounds in a row.
    pub failures: u64,
    /// Why it is failing or unreachable.
    pub reason: Option<String>,
    /// Changes it queued for us that have not arrived.
    pub to_receive: u64,
    /// Changes queued for it.
    pub to_send: u64,
}

/// Everything the overall summary depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryFacts {
    /// The mode in force.
    pub mode: SyncMode,
    /// Why that mode.
    pub mode_reason: String,
    /// Syncing is paused.
    pub paused: bool,
    /// Items held for review.
    pub review_count: u64,
    /// Conflicts logged since the user last looked at them.
    pub unseen_conflicts: u64,
    /// A sync the user started (`sync now`) is running.
    pub sync_running: bool,
    /// Every known peer except removed ones.
    pub peers: Vec<SummaryPeer>,
}

/// The overall state with its label and the facts behind it, as every front end shows it
/// (DESIGN §10, §13): the tray's icon and first menu line, the window's header, `sync status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct StateSummary {
    /// The overall state.
    pub state: OverallState,
    /// Its label: "In sync", "Syncing", "Paused", "Offline" or "Needs attention".
    pub label: String,
    /// What is behind it, most important first (e.g. "sync with bravo is failing: …",
    /// "2 new conflicts", "1,200 to receive").
    pub details: Vec<String>,
    /// Paired devices that are reachable now.
    pub online: u64,
    /// Paired devices (removed ones do not count).
    pub paired: u64,
}

/// Label of an overall state.
pub fn label(state: OverallState) -> &'static str {
    match state {
        OverallState::InSync => "In sync",
        OverallState::Syncing => "Syncing",
        OverallState::Paused => "Paused",
        OverallState::Offline => "Offline",
        OverallState::Attention => "Needs attention",
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", group_digits(n), if n == 1 { one } else { many })
}

/// `1234567` as `1,234,567`.
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Computes the overall state and what to say about it. The rule order: paused, no sync
/// (mode none), persistent failures, unseen conflicts or items for review, changes moving or
/// a sync running, nothing reachable, in sync.
pub fn summarize(f: &SummaryFacts) -> StateSummary {
    let paired = f.peers.len() as u64;
    let online = f
        .peers
        .iter()
        .filter(|p| {
            matches!(
                p.state,
                PeerSyncState::InSync | PeerSyncState::Syncing | PeerSyncState::Failing
            )
        })
        .count() as u64;
    let done = |state: OverallState, details: Vec<String>| StateSummary {
        state,
        label: label(state).to_string(),
        details,
        online,
        paired,
    };
    if f.paused {
        return done(OverallState::Paused, Vec::new());
    }
    if f.mode == SyncMode::None {
        return done(OverallState::Offline, vec![f.mode_reason.clone()]);
    }
    let failing: Vec<String> = f
        .peers
        .iter()
        .filter(|p| {
            matches!(p.state, PeerSyncState::Failing | PeerSyncState::Unreachable)
                && p.failures >= PERSISTENT_FAILURES
        })
        .map(|p| match &p.reason {
            Some(why) => format!("sync with {} is failing: {why}", p.name),
            None => format!("sync with {} is failing", p.name),
        })
        .collect();
    if !failing.is_empty() {
        return done(OverallState::Attention, failing);
    }
    if f.unseen_conflicts > 0 || f.review_count > 0 {
        let mut d = Vec::new();
        if f.unseen_conflicts > 0 {
            d.push(plural(f.unseen_conflicts, "new conflict", "new conflicts"));
        }
        if f.review_count > 0 {
            d.push(format!("{} held for review", group_digits(f.review_count)));
        }
        return done(OverallState::Attention, d);
    }
    let syncing = f.peers.iter().any(|p| p.state == PeerSyncState::Syncing);
    if f.sync_running || syncing {
        let incoming: u64 = f.peers.iter().map(|p| p.to_receive).sum();
        let outgoing: u64 = f.peers.iter().map(|p| p.to_send).sum();
        let mut d = Vec::new();
        if incoming > 0 {
            d.push(format!("{} to receive", group_digits(incoming)));
        }
        if outgoing > 0 {
            d.push(format!("{} to send", group_digits(outgoing)));
        }
        if d.is_empty() {
            d.push(if f.sync_running {
                "a sync is running".to_string()
            } else {
                "comparing with your devices".to_string()
            });
        }
        return done(OverallState::Syncing, d);
    }
    if paired == 0 {
        return done(
            OverallState::Offline,
            vec!["no paired devices yet".to_string()],
        );
    }
    if online == 0 {
        return done(
            OverallState::Offline,
            vec!["no paired device is reachable".to_string()],
        );
    }
    done(
        OverallState::InSync,
        vec![format!("{online} of {paired} paired device(s) online")],
    )
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

    fn peer(state: PeerSyncState, failures: u64) -> SummaryPeer {
        SummaryPeer {
            name: "bravo".into(),
            state,
            failures,
            reason: None,
            to_receive: 0,
            to_send: 0,
        }
    }

    fn facts(peers: Vec<SummaryPeer>) -> SummaryFacts {
        SummaryFacts {
            mode: SyncMode::Native,
            mode_reason: "native P2P is enabled".into(),
            paused: false,
            review_count: 0,
            unseen_conflicts: 0,
            sync_running: false,
            peers,
        }
    }

    /// The cases the tray and the window used to decide each on its own (and disagreed on:
    /// unseen conflicts), now decided here once.
    #[test]
    fn the_summary_follows_the_rule_order() {
        use OverallState as O;
        use PeerSyncState as P;
        let state = |f: &SummaryFacts| summarize(f).state;
        let in_sync = facts(vec![peer(P::InSync, 0), peer(P::InSync, 0)]);
        assert_eq!(state(&in_sync), O::InSync);
        assert_eq!(
            summarize(&in_sync).details,
            ["2 of 2 paired device(s) online"]
        );
        let paused = SummaryFacts {
            paused: true,
            review_count: 9,
            ..facts(vec![peer(P::Paused, 5)])
        };
        assert_eq!(state(&paused), O::Paused);
        let none = SummaryFacts {
            mode: SyncMode::None,
            mode_reason: "Cortex unhealthy: connection refused".into(),
            ..facts(Vec::new())
        };
        assert_eq!(summarize(&none).state, O::Offline);
        assert_eq!(
            summarize(&none).details,
            ["Cortex unhealthy: connection refused"]
        );
        assert_eq!(state(&facts(Vec::new())), O::Offline);
        assert_eq!(state(&facts(vec![peer(P::Unreachable, 1)])), O::Offline);
        assert_eq!(
            state(&facts(vec![peer(P::Failing, 1), peer(P::InSync, 0)])),
            O::InSync
        );
        let mut failing = peer(P::Unreachable, 3);
        failing.reason = Some("timed out".into());
        let persistent = summarize(&facts(vec![failing, peer(P::InSync, 0)]));
        assert_eq!(persistent.state, O::Attention);
        assert_eq!(
            persistent.details,
            ["sync with bravo is failing: timed out"]
        );
        assert_eq!(persistent.label, "Needs attention");
        let review = SummaryFacts {
            review_count: 2,
            ..facts(vec![peer(P::InSync, 0)])
        };
        assert_eq!(summarize(&review).details, ["2 held for review"]);
        let conflicts = SummaryFacts {
            unseen_conflicts: 1,
            ..facts(vec![peer(P::InSync, 0)])
        };
        assert_eq!(state(&conflicts), O::Attention);
        assert_eq!(summarize(&conflicts).details, ["1 new conflict"]);
        let mut moving = peer(P::Syncing, 0);
        moving.to_receive = 1_200;
        let syncing = summarize(&facts(vec![moving, peer(P::InSync, 0)]));
        assert_eq!(
            (syncing.state, syncing.details),
            (O::Syncing, vec!["1,200 to receive".to_string()])
        );
        let running = SummaryFacts {
            sync_running: true,
            mode: SyncMode::Polled,
            ..facts(vec![peer(P::InSync, 0)])
        };
        assert_eq!(summarize(&running).details, ["a sync is running"]);
        assert_eq!(
            (summarize(&running).online, summarize(&running).paired),
            (1, 1)
        );
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1_000), "1,000");
        assert_eq!(group_digits(1_234_567), "1,234,567");
    }
}
