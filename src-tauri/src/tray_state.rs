//! The engine's overall state → one of the six tray states of DESIGN §10 and the status line
//! shown as the first menu entry (Linux has no tray tooltips). The engine decides the state
//! once ([`StatusSnapshot::summary`], `mayros_sync_proto::syncstate::summarize`); this only
//! renders it. Pure: the typed status and the shell's own facts in, a [`TrayView`] out.

use mayros_sync_node::dto::{PeerView, StatusSnapshot};
use mayros_sync_proto::syncstate::{self, group_digits, OverallState, PeerSyncState};
use serde::Deserialize as _;
use time::{OffsetDateTime, UtcOffset};

/// The tray icon states, one PNG each under `icons/tray/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrayState {
    /// Every reachable peer is in sync.
    InSync,
    /// A sync is running.
    Syncing,
    /// Syncing is paused.
    Paused,
    /// No Cortex, or no reachable peer.
    Offline,
    /// Conflicts to look at, items held for review, or a persistent failure.
    Attention,
    /// The engine cannot run or report (the shell's own state: the engine cannot say so).
    Error,
}

impl From<OverallState> for TrayState {
    fn from(state: OverallState) -> TrayState {
        match state {
            OverallState::InSync => TrayState::InSync,
            OverallState::Syncing => TrayState::Syncing,
            OverallState::Paused => TrayState::Paused,
            OverallState::Offline => TrayState::Offline,
            OverallState::Attention => TrayState::Attention,
        }
    }
}

impl TrayState {
    /// Every state, in the order of DESIGN §10.
    pub const ALL: [TrayState; 6] = [
        TrayState::InSync,
        TrayState::Syncing,
        TrayState::Paused,
        TrayState::Offline,
        TrayState::Attention,
        TrayState::Error,
    ];

    /// The engine's state this shows (`None` for the shell's own [`TrayState::Error`]).
    pub fn overall(self) -> Option<OverallState> {
        match self {
            TrayState::InSync => Some(OverallState::InSync),
            TrayState::Syncing => Some(OverallState::Syncing),
            TrayState::Paused => Some(OverallState::Paused),
            TrayState::Offline => Some(OverallState::Offline),
            TrayState::Attention => Some(OverallState::Attention),
            TrayState::Error => None,
        }
    }

    /// The icon file stem (`icons/tray/<stem>.png`).
    pub fn icon_stem(self) -> &'static str {
        self.overall().map_or("error", OverallState::as_str)
    }

    /// The first word(s) of the status line: the engine's label, or `Error`.
    pub fn label(self) -> &'static str {
        self.overall().map_or("Error", syncstate::label)
    }
}

/// What the shell knows besides the engine's status.
#[derive(Debug, Clone, Default)]
pub struct ShellFacts {
    /// Why the engine cannot be shown: it could not start, or its status is unreadable.
    pub engine_error: Option<String>,
}

/// The tray's look: state, status line and tooltip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    /// Which icon.
    pub state: TrayState,
    /// The first menu line, e.g. `In sync · 2 of 2 paired device(s) online · native · last sync
    /// 12:03`.
    pub status_line: String,
}

/// Reads the body of `GET /api/v1/sync/status`; `Err` says why it cannot be shown (its first
/// line, for the status line).
pub fn parse_status(body: serde_json::Value) -> Result<StatusSnapshot, String> {
    serde_json::from_value(body)
        .map_err(|e| format!("unreadable engine status: {}", first_line(&e.to_string())))
}

/// Renders the engine's status (absent when the engine is down) as the tray's look: the icon
/// is the engine's overall state, the line its label and details, then the mode, the peers
/// online and the last sync. Times are shown in `offset` (the local offset, read once at
/// start-up).
pub fn tray_view(
    status: Option<&StatusSnapshot>,
    facts: &ShellFacts,
    offset: UtcOffset,
) -> TrayView {
    let status = match (status, &facts.engine_error) {
        (_, Some(err)) => return error_view(err),
        (None, None) => return error_view("engine not running"),
        (Some(s), None) => s,
    };
    let summary = &status.summary;
    let mut parts = vec![summary.label.clone()];
    parts.extend(summary.details.iter().map(|d| first_line(d)));
    if summary.state == OverallState::Paused {
        parts.push(
            status
                .paused_until
                .as_deref()
                .and_then(|t| short_time(t, offset))
                .map_or_else(|| "until resumed".to_string(), |t| format!("until {t}")),
        );
    } else if status.mode != "none" {
        parts.push(status.mode.clone());
        // In sync, the engine's detail already counts the devices online.
        if summary.paired > 0 && summary.state != OverallState::InSync {
            let peers = if summary.online == 1 { "peer" } else { "peers" };
            parts.push(format!("{} {peers} online", summary.online));
        }
        parts.extend(
            status
                .sync
                .last_sync_at
                .as_deref()
                .and_then(|t| short_time(t, offset))
                .map(|t| format!("last sync {t}")),
        );
    }
    TrayView {
        state: summary.state.into(),
        status_line: parts.join(" · "),
    }
}

fn error_view(why: &str) -> TrayView {
    TrayView {
        state: TrayState::Error,
        status_line: format!("{} · {}", TrayState::Error.label(), first_line(why)),
    }
}

/// Paired peers (not removed), as the `Devices` submenu lists them.
pub fn paired_peers(status: &StatusSnapshot) -> impl Iterator<Item = &PeerView> {
    status.peers.iter().filter(|p| p.status != "removed")
}

/// One paired peer's state in words, for the `Devices` submenu (`<name> — <state>`): the
/// engine's state, with how far a converging pair is and why a failing one fails.
pub fn peer_state_text(peer: &PeerView) -> String {
    let state = PeerSyncState::deserialize(serde::de::value::StrDeserializer::<
        serde::de::value::Error,
    >::new(&peer.state));
    match state {
        Ok(PeerSyncState::InSync) => "in sync".to_string(),
        Ok(PeerSyncState::Syncing) if peer.to_receive + peer.to_send > 0 => {
            let mut parts = Vec::new();
            if peer.to_receive > 0 {
                parts.push(format!("{} to receive", group_digits(peer.to_receive)));
            }
            if peer.to_send > 0 {
                parts.push(format!("{} to send", group_digits(peer.to_send)));
            }
            format!("syncing, {}", parts.join(", "))
        }
        Ok(PeerSyncState::Failing) => match &peer.state_reason {
            Some(why) => format!("failing: {}", first_line(why)),
            None => "failing".to_string(),
        },
        Ok(other) => other.as_str().to_string(),
        // A state this shell does not know yet, or none computed: shown as the engine sent it.
        Err(_) if !peer.state.is_empty() => peer.state.clone(),
        Err(_) => peer.status.clone(),
    }
}

/// At most 80 characters of the first line of `s` (a status line stays one short line).
fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    match line.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// `HH:MM` in `offset` for an RFC 3339 time.
fn short_time(rfc3339: &str, offset: UtcOffset) -> Option<String> {
    let t = OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()?
        .to_offset(offset);
    Some(format!("{:02}:{:02}", t.hour(), t.minute()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mayros_sync_node::dto::{CortexStatus, SyncCounters};
    use mayros_sync_proto::syncstate::StateSummary;

    /// A typed status as the engine would send it: `state` with its label and `details`, in
    /// native mode, two paired peers online, last sync at 12:03 UTC.
    struct Status(StatusSnapshot);

    impl Status {
        fn new(state: OverallState, details: &[&str]) -> Status {
            Status(StatusSnapshot {
                mode: "native".into(),
                state,
                summary: StateSummary {
                    state,
                    label: syncstate::label(state).into(),
                    details: details.iter().map(|d| d.to_string()).collect(),
                    online: 2,
                    paired: 2,
                },
                mode_reason: "native P2P is enabled".into(),
                node_id: "cc".repeat(32),
                name: "this-device".into(),
                version: "0.1.0".into(),
                uptime_seconds: 1,
                cortex: CortexStatus::embedded(None, true, "12 triples".into(), None),
                secret_store: "file".into(),
                peers: Vec::new(),
                gossip: None,
                sync: SyncCounters {
                    last_sync_at: Some("2026-11-24T12:03:10.000Z".into()),
                    ..SyncCounters::default()
                },
                nearby_count: 0,
                conflicts_count: 0,
                unseen_conflicts: 0,
                review_count: 0,
                triple_count: 12,
                paused: state == OverallState::Paused,
                paused_until: None,
                auth_rejected: 0,
                peer_api: None,
                config_path: "/tmp/config.json".into(),
                warnings: Vec::new(),
            })
        }

        fn mode(mut self, mode: &str) -> Status {
            self.0.mode = mode.into();
            self
        }

        fn peers(mut self, online: u64, paired: u64) -> Status {
            self.0.summary.online = online;
            self.0.summary.paired = paired;
            self
        }

        fn paused_until(mut self, at: &str) -> Status {
            self.0.paused_until = Some(at.into());
            self
        }

        fn never_synced(mut self) -> Status {
            self.0.sync.last_sync_at = None;
            self
        }

        fn view(&self) -> TrayView {
            tray_view(Some(&self.0), &ShellFacts::default(), UtcOffset::UTC)
        }
    }

    /// A paired peer in `state` (the engine's name for it).
    fn peer(name: &str, state: &str) -> PeerView {
        PeerView {
            state: state.into(),
            ..PeerView::new(&"ab".repeat(32), name)
        }
    }

    #[test]
    fn each_engine_state_has_its_icon_and_label() {
        let cases = [
            (
                OverallState::InSync,
                TrayState::InSync,
                "in-sync",
                "In sync",
            ),
            (
                OverallState::Syncing,
                TrayState::Syncing,
                "syncing",
                "Syncing",
            ),
            (OverallState::Paused, TrayState::Paused, "paused", "Paused"),
            (
                OverallState::Offline,
                TrayState::Offline,
                "offline",
                "Offline",
            ),
            (
                OverallState::Attention,
                TrayState::Attention,
                "attention",
                "Needs attention",
            ),
        ];
        for (overall, tray, stem, label) in cases {
            let v = Status::new(overall, &[]).view();
            assert_eq!(v.state, tray, "{overall:?}");
            assert_eq!(v.state.icon_stem(), stem);
            assert!(v.status_line.starts_with(label), "{}", v.status_line);
            assert_eq!(tray.overall(), Some(overall));
        }
        assert_eq!(TrayState::Error.overall(), None);
        let stems: Vec<_> = TrayState::ALL.iter().map(|s| s.icon_stem()).collect();
        assert_eq!(
            stems,
            [
                "in-sync",
                "syncing",
                "paused",
                "offline",
                "attention",
                "error"
            ]
        );
        assert_eq!(TrayState::Error.label(), "Error");
    }

    #[test]
    fn the_first_line_carries_the_engines_details_then_mode_peers_and_last_sync() {
        let v = Status::new(OverallState::InSync, &["2 of 2 paired device(s) online"]).view();
        assert_eq!(
            v.status_line,
            "In sync · 2 of 2 paired device(s) online · native · last sync 12:03"
        );
        let s = Status::new(
            OverallState::Attention,
            &[
                "sync with laptop is failing: no answer in time",
                "2 new conflicts",
            ],
        )
        .mode("polled")
        .peers(1, 2);
        assert_eq!(
            s.view().status_line,
            "Needs attention · sync with laptop is failing: no answer in time · 2 new conflicts \
             · polled · 1 peer online · last sync 12:03"
        );
        let s = Status::new(OverallState::Syncing, &["1,200 to receive"]).peers(0, 1);
        assert_eq!(
            s.view().status_line,
            "Syncing · 1,200 to receive · native · 0 peers online · last sync 12:03"
        );
        // No paired device, never synced: the engine's details say so, nothing is made up.
        let s = Status::new(OverallState::Offline, &["no paired devices yet"])
            .peers(0, 0)
            .never_synced();
        assert_eq!(
            s.view().status_line,
            "Offline · no paired devices yet · native"
        );
        // No sync runs at all: the reason only.
        let s = Status::new(
            OverallState::Offline,
            &["Cortex unhealthy: connection refused\nwhile probing"],
        )
        .mode("none");
        assert_eq!(
            s.view().status_line,
            "Offline · Cortex unhealthy: connection refused"
        );
    }

    #[test]
    fn paused_says_until_when() {
        let s = Status::new(OverallState::Paused, &[]);
        assert_eq!(s.view().status_line, "Paused · until resumed");
        let s = s.paused_until("2026-11-24T13:15:00Z");
        assert_eq!(s.view().status_line, "Paused · until 13:15");
        let local = tray_view(
            Some(&s.0),
            &ShellFacts::default(),
            UtcOffset::from_hms(1, 0, 0).unwrap_or(UtcOffset::UTC),
        );
        assert_eq!(local.status_line, "Paused · until 14:15");
    }

    #[test]
    fn a_failing_engine_is_an_error() {
        let facts = ShellFacts {
            engine_error: Some("another Mayros Sync engine is already running\ndetails".into()),
        };
        let s = Status::new(OverallState::InSync, &[]);
        let v = tray_view(Some(&s.0), &facts, UtcOffset::UTC);
        assert_eq!(v.state, TrayState::Error);
        assert_eq!(
            v.status_line,
            "Error · another Mayros Sync engine is already running"
        );
        let v = tray_view(None, &ShellFacts::default(), UtcOffset::UTC);
        assert_eq!(
            (v.state, v.status_line.as_str()),
            (TrayState::Error, "Error · engine not running")
        );
    }

    #[test]
    fn a_status_that_does_not_deserialize_says_why() {
        let why = match parse_status(serde_json::json!({"mode": "native"})) {
            Ok(s) => panic!("a status without its fields deserialized: {s:?}"),
            Err(why) => why,
        };
        assert!(
            why.starts_with("unreadable engine status: missing field"),
            "{why}"
        );
        let facts = ShellFacts {
            engine_error: Some(why),
        };
        let v = tray_view(None, &facts, UtcOffset::UTC);
        assert_eq!(v.state, TrayState::Error);
        assert!(v
            .status_line
            .starts_with("Error · unreadable engine status"));
        // What the engine serializes reads back.
        let s = Status::new(OverallState::Syncing, &["a sync is running"]);
        let body = serde_json::to_value(&s.0).unwrap_or_default();
        let back =
            parse_status(body).map(|b| tray_view(Some(&b), &ShellFacts::default(), UtcOffset::UTC));
        assert_eq!(back, Ok(s.view()));
    }

    #[test]
    fn the_devices_submenu_says_the_engines_peer_state() {
        assert_eq!(peer_state_text(&peer("laptop", "in-sync")), "in sync");
        let mut moving = peer("laptop", "syncing");
        assert_eq!(peer_state_text(&moving), "syncing");
        moving.to_receive = 1_200;
        moving.to_send = 5;
        assert_eq!(
            peer_state_text(&moving),
            "syncing, 1,200 to receive, 5 to send"
        );
        let mut failing = peer("desk", "failing");
        assert_eq!(peer_state_text(&failing), "failing");
        failing.state_reason = Some("no answer in time\nat round 4".into());
        assert_eq!(peer_state_text(&failing), "failing: no answer in time");
        for state in ["unreachable", "paused", "offline"] {
            assert_eq!(peer_state_text(&peer("desk", state)), state);
        }
        // Not computed (an older listing): its stored status.
        assert_eq!(peer_state_text(&peer("desk", "")), "active");

        let mut s = Status::new(OverallState::InSync, &[]);
        let mut gone = peer("old", "removed");
        gone.status = "removed".into();
        s.0.peers = vec![peer("laptop", "in-sync"), gone];
        let names: Vec<&str> = paired_peers(&s.0).map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["laptop"]);
    }
}
