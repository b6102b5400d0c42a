//! Engine status → one of the six tray states of DESIGN §10 and the status line shown as the
//! first menu entry (Linux has no tray tooltips). Pure: the status JSON and the shell's own
//! facts in, a [`TrayView`] out.

use serde_json::Value;
use time::{OffsetDateTime, UtcOffset};

/// Consecutive failures after which a peer's failure counts as persistent (DESIGN §10): the
/// tray then needs attention and the failure is notified. The engine's rule, not a copy.
pub use mayros_sync_proto::syncstate::PERSISTENT_FAILURES;

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
    /// The engine cannot run.
    Error,
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

    /// The icon file stem (`icons/tray/<stem>.png`).
    pub fn icon_stem(self) -> &'static str {
        match self {
            TrayState::InSync => "in-sync",
            TrayState::Syncing => "syncing",
            TrayState::Paused => "paused",
            TrayState::Offline => "offline",
            TrayState::Attention => "attention",
            TrayState::Error => "error",
        }
    }

    /// The first word(s) of the status line.
    pub fn label(self) -> &'static str {
        match self {
            TrayState::InSync => "In sync",
            TrayState::Syncing => "Syncing",
            TrayState::Paused => "Paused",
            TrayState::Offline => "Offline",
            TrayState::Attention => "Needs attention",
            TrayState::Error => "Error",
        }
    }
}

/// What the shell knows besides the engine's status.
#[derive(Debug, Clone, Default)]
pub struct ShellFacts {
    /// The engine could not start (or stopped): why.
    pub engine_error: Option<String>,
    /// A sync started from the shell is running.
    pub syncing: bool,
    /// Conflicts logged since the user last opened the window.
    pub unseen_conflicts: u64,
}

/// The tray's look: state, status line and tooltip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    /// Which icon.
    pub state: TrayState,
    /// The first menu line, e.g. `In sync · native · 2 peers online · last sync 12:03`.
    pub status_line: String,
}

/// Maps the status JSON of `GET /api/v1/sync/status` (absent when the engine is down) to the
/// tray's look. Times are shown in `offset` (the local offset, read once at start-up).
pub fn tray_view(status: Option<&Value>, facts: &ShellFacts, offset: UtcOffset) -> TrayView {
    let status = match (status, &facts.engine_error) {
        (_, Some(err)) => return view(TrayState::Error, vec![first_line(err)]),
        (None, None) => return view(TrayState::Error, vec!["engine not running".into()]),
        (Some(s), None) => s,
    };
    let mode = str_at(status, "/mode").unwrap_or("none");
    let online = peers_online(status);
    let paired = paired_peers(status).count();
    let peers_part = match paired {
        0 => "no paired devices".to_string(),
        _ => format!("{online} {} online", plural(online, "peer", "peers")),
    };
    let last_sync = str_at(status, "/sync/lastSyncAt")
        .and_then(|t| short_time(t, offset))
        .map(|t| format!("last sync {t}"));

    if status.get("paused").and_then(Value::as_bool) == Some(true) {
        let until = str_at(status, "/pausedUntil")
            .and_then(|t| short_time(t, offset))
            .map_or_else(|| "until resumed".to_string(), |t| format!("until {t}"));
        return view(TrayState::Paused, vec![until]);
    }
    if mode == "none" {
        let reason = str_at(status, "/modeReason").unwrap_or("no Cortex");
        return view(TrayState::Offline, vec![first_line(reason)]);
    }
    let mut details = vec![mode.to_string(), peers_part];
    details.extend(last_sync);
    let review = u64_at(status, "/reviewCount");
    // The engine's overall state (DESIGN §13) when it sends one; the rules below give the same
    // answer for an engine that does not, and add what only the shell knows.
    let engine_state = str_at(status, "/state");
    let failing: Vec<&Value> = paired_peers(status)
        .filter(|p| u64_at(p, "/failures") >= PERSISTENT_FAILURES)
        .filter(|p| str_at(p, "/state").is_none_or(|s| matches!(s, "failing" | "unreachable" | "")))
        .collect();
    if let Some(p) = failing.first() {
        let mut d = vec![match str_at(p, "/stateReason") {
            Some(why) => format!("sync with {} is failing: {}", peer_name(p), first_line(why)),
            None => format!("sync with {} is failing", peer_name(p)),
        }];
        d.extend(details);
        return view(TrayState::Attention, d);
    }
    if facts.unseen_conflicts > 0 || review > 0 {
        let mut d = Vec::new();
        if facts.unseen_conflicts > 0 {
            d.push(format!(
                "{} new {}",
                facts.unseen_conflicts,
                plural(facts.unseen_conflicts, "conflict", "conflicts")
            ));
        }
        if review > 0 {
            d.push(format!("{review} held for review"));
        }
        d.extend(details);
        return view(TrayState::Attention, d);
    }
    if facts.syncing || engine_state == Some("syncing") {
        let incoming: u64 = paired_peers(status).map(|p| u64_at(p, "/toReceive")).sum();
        let outgoing: u64 = paired_peers(status).map(|p| u64_at(p, "/toSend")).sum();
        let mut d = Vec::new();
        if incoming > 0 {
            d.push(format!("{incoming} to receive"));
        }
        if outgoing > 0 {
            d.push(format!("{outgoing} to send"));
        }
        d.extend(details);
        return view(TrayState::Syncing, d);
    }
    if online == 0 {
        return view(TrayState::Offline, details);
    }
    view(TrayState::InSync, details)
}

fn view(state: TrayState, details: Vec<String>) -> TrayView {
    let mut line = state.label().to_string();
    for d in details {
        line.push_str(" · ");
        line.push_str(&d);
    }
    TrayView {
        state,
        status_line: line,
    }
}

/// Paired peers (not removed).
pub fn paired_peers(status: &Value) -> impl Iterator<Item = &Value> {
    status
        .get("peers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| str_at(p, "/status") != Some("removed"))
}

/// How many paired peers are reachable now: connected gossip links in native mode, else
/// active peers whose last sync did not fail.
pub fn peers_online(status: &Value) -> u64 {
    paired_peers(status)
        .filter(|p| peer_online(status, p))
        .count() as u64
}

fn peer_online(status: &Value, peer: &Value) -> bool {
    if let Some(state) = str_at(peer, "/state").filter(|s| !s.is_empty()) {
        return matches!(state, "in-sync" | "syncing" | "failing");
    }
    let id = str_at(peer, "/nodeId").unwrap_or_default();
    if str_at(status, "/mode") == Some("native") {
        if let Some(links) = status.pointer("/gossip/peers").and_then(Value::as_array) {
            return links.iter().any(|l| {
                str_at(l, "/nodeId") == Some(id)
                    && l.get("connected").and_then(Value::as_bool) == Some(true)
            });
        }
    }
    str_at(peer, "/status") == Some("active") && str_at(peer, "/lastResult") != Some("error")
}

/// One paired peer's state in words, for the `Devices` submenu (`<name> — <state>`): the
/// engine's state with how far a converging pair is, else the legacy rule.
pub fn peer_state_text(status: &Value, peer: &Value) -> String {
    if let Some(state) = str_at(peer, "/state").filter(|s| !s.is_empty()) {
        let incoming = u64_at(peer, "/toReceive");
        let outgoing = u64_at(peer, "/toSend");
        return match state {
            "in-sync" => "in sync".to_string(),
            "syncing" if incoming + outgoing > 0 => {
                let mut parts = Vec::new();
                if incoming > 0 {
                    parts.push(format!("{incoming} to receive"));
                }
                if outgoing > 0 {
                    parts.push(format!("{outgoing} to send"));
                }
                format!("syncing, {}", parts.join(", "))
            }
            "failing" => match str_at(peer, "/stateReason") {
                Some(why) => format!("failing: {}", first_line(why)),
                None => "failing".to_string(),
            },
            other => other.to_string(),
        };
    }
    legacy_peer_state_text(status, peer).to_string()
}

fn legacy_peer_state_text(status: &Value, peer: &Value) -> &'static str {
    match str_at(peer, "/status") {
        Some("paused") => "paused",
        _ if u64_at(peer, "/failures") >= PERSISTENT_FAILURES => "failing",
        _ if peer_online(status, peer) => "online",
        Some("unreachable") => "unreachable",
        _ => "offline",
    }
}

/// A peer's display name (its short node id when it has none).
pub fn peer_name(peer: &Value) -> &str {
    match str_at(peer, "/name") {
        Some(n) if !n.is_empty() => n,
        _ => {
            let id = str_at(peer, "/nodeId").unwrap_or("unknown device");
            mayros_sync_proto::node_id::short_node_id(id)
        }
    }
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

fn u64_at(v: &Value, ptr: &str) -> u64 {
    v.pointer(ptr).and_then(Value::as_u64).unwrap_or(0)
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

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
    use serde_json::json;

    fn status(extra: Value) -> Value {
        let mut s = json!({
            "mode": "native", "modeReason": "QUIC gossip", "paused": false, "pausedUntil": null,
            "reviewCount": 0, "conflictsCount": 0,
            "sync": {"lastSyncAt": "2026-11-24T12:03:10.000Z"},
            "peers": [
                {"nodeId": "aa".repeat(32), "name": "laptop", "status": "active", "failures": 0, "lastResult": "ok"},
                {"nodeId": "bb".repeat(32), "name": "desk", "status": "active", "failures": 0, "lastResult": "ok"}
            ],
            "gossip": {"peers": [
                {"nodeId": "aa".repeat(32), "connected": true},
                {"nodeId": "bb".repeat(32), "connected": true}
            ]}
        });
        if let (Some(s), Some(e)) = (s.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                s.insert(k.clone(), v.clone());
            }
        }
        s
    }

    fn map(s: &Value, facts: &ShellFacts) -> TrayView {
        tray_view(Some(s), facts, UtcOffset::UTC)
    }

    #[test]
    fn two_connected_native_peers_are_in_sync() {
        let v = map(&status(json!({})), &ShellFacts::default());
        assert_eq!(v.state, TrayState::InSync);
        assert_eq!(
            v.status_line,
            "In sync · native · 2 peers online · last sync 12:03"
        );
    }

    #[test]
    fn paused_wins_over_everything_but_errors() {
        let v = map(&status(json!({"paused": true})), &ShellFacts::default());
        assert_eq!(v.state, TrayState::Paused);
        assert_eq!(v.status_line, "Paused · until resumed");
        let s = status(json!({"paused": true, "pausedUntil": "2026-11-24T13:15:00Z"}));
        assert_eq!(
            map(&s, &ShellFacts::default()).status_line,
            "Paused · until 13:15"
        );
    }

    #[test]
    fn no_cortex_or_no_reachable_peer_is_offline() {
        let s =
            status(json!({"mode": "none", "modeReason": "Cortex unhealthy: connection refused"}));
        let v = map(&s, &ShellFacts::default());
        assert_eq!(v.state, TrayState::Offline);
        assert_eq!(
            v.status_line,
            "Offline · Cortex unhealthy: connection refused"
        );

        let s = status(json!({"gossip": {"peers": []}}));
        let v = map(&s, &ShellFacts::default());
        assert_eq!(v.state, TrayState::Offline);
        assert_eq!(
            v.status_line,
            "Offline · native · 0 peers online · last sync 12:03"
        );

        let s = status(json!({"peers": [], "sync": {"lastSyncAt": null}}));
        assert_eq!(
            map(&s, &ShellFacts::default()).status_line,
            "Offline · native · no paired devices"
        );
    }

    #[test]
    fn polled_peers_are_online_while_active_and_not_failing() {
        let s = status(json!({"mode": "polled", "gossip": null, "peers": [
            {"nodeId": "aa", "name": "laptop", "status": "active", "failures": 0, "lastResult": "ok"},
            {"nodeId": "bb", "name": "desk", "status": "unreachable", "failures": 1, "lastResult": "error"}
        ]}));
        let v = map(&s, &ShellFacts::default());
        assert_eq!(v.state, TrayState::InSync);
        assert_eq!(
            v.status_line,
            "In sync · polled · 1 peer online · last sync 12:03"
        );
        let peers: Vec<&Value> = paired_peers(&s).collect();
        assert_eq!(peer_state_text(&s, peers[0]), "online");
        assert_eq!(peer_state_text(&s, peers[1]), "unreachable");
    }

    #[test]
    fn persistent_failures_conflicts_and_review_need_attention() {
        let s = status(json!({"peers": [
            {"nodeId": "aa".repeat(32), "name": "laptop", "status": "unreachable", "failures": 3, "lastResult": "error"}
        ]}));
        let v = map(&s, &ShellFacts::default());
        assert_eq!(v.state, TrayState::Attention);
        assert!(v
            .status_line
            .starts_with("Needs attention · sync with laptop is failing"));

        let facts = ShellFacts {
            unseen_conflicts: 2,
            ..ShellFacts::default()
        };
        let v = map(&status(json!({"reviewCount": 1})), &facts);
        assert_eq!(v.state, TrayState::Attention);
        assert!(v
            .status_line
            .starts_with("Needs attention · 2 new conflicts · 1 held for review · native"));
    }

    #[test]
    fn a_running_sync_shows_syncing_and_a_dead_engine_error() {
        let facts = ShellFacts {
            syncing: true,
            ..ShellFacts::default()
        };
        assert_eq!(map(&status(json!({})), &facts).state, TrayState::Syncing);
        let facts = ShellFacts {
            engine_error: Some("another Mayros Sync engine is already running".into()),
            ..ShellFacts::default()
        };
        let v = map(&status(json!({})), &facts);
        assert_eq!(v.state, TrayState::Error);
        assert_eq!(
            v.status_line,
            "Error · another Mayros Sync engine is already running"
        );
        let v = tray_view(None, &ShellFacts::default(), UtcOffset::UTC);
        assert_eq!(v.state, TrayState::Error);
    }

    #[test]
    fn the_engine_state_is_rendered_with_progress_and_reasons() {
        let s = status(json!({"state": "syncing", "peers": [
            {"nodeId": "aa".repeat(32), "name": "laptop", "status": "unreachable", "failures": 0,
             "state": "syncing", "toReceive": 1200, "toSend": 5},
            {"nodeId": "bb".repeat(32), "name": "desk", "status": "unreachable", "failures": 1,
             "state": "failing", "stateReason": "no answer in time"}
        ]}));
        let v = map(&s, &ShellFacts::default());
        assert_eq!(v.state, TrayState::Syncing);
        assert!(
            v.status_line
                .starts_with("Syncing · 1200 to receive · 5 to send · native · 2 peers online"),
            "{}",
            v.status_line
        );
        let peers: Vec<&Value> = paired_peers(&s).collect();
        assert_eq!(
            peer_state_text(&s, peers[0]),
            "syncing, 1200 to receive, 5 to send"
        );
        assert_eq!(peer_state_text(&s, peers[1]), "failing: no answer in time");

        // A link that is up but whose rounds keep failing: attention, with the reason.
        let s = status(json!({"state": "attention", "peers": [
            {"nodeId": "aa".repeat(32), "name": "laptop", "status": "unreachable", "failures": 4,
             "state": "failing", "stateReason": "no answer in time"}
        ]}));
        let v = map(&s, &ShellFacts::default());
        assert_eq!(v.state, TrayState::Attention);
        assert!(v
            .status_line
            .starts_with("Needs attention · sync with laptop is failing: no answer in time"));
    }

    #[test]
    fn every_state_has_its_icon_and_label() {
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
        for s in TrayState::ALL {
            assert!(!s.label().is_empty());
        }
    }

    /// The UI header (ui/src/format.ts) is tested against the same cases: both must agree.
    #[test]
    fn agrees_with_the_ui_on_the_shared_cases() {
        let doc: Value = serde_json::from_str(include_str!("../../ui/src/tray_state_cases.json"))
            .expect("the shared cases are JSON");
        let cases = doc["cases"].as_array().expect("a cases array");
        assert!(cases.len() >= 10, "the shared case list shrank");
        for c in cases {
            let name = c["name"].as_str().unwrap_or("?");
            let facts = ShellFacts {
                syncing: c["syncing"].as_bool().unwrap_or(false),
                ..ShellFacts::default()
            };
            let status = c.get("status").filter(|s| !s.is_null());
            let view = tray_view(status, &facts, UtcOffset::UTC);
            assert_eq!(
                Some(view.state.icon_stem()),
                c["expect"].as_str(),
                "case {name:?}: {}",
                view.status_line
            );
        }
    }
}
