//! Sync mode selection (DESIGN §3.1), as pure functions of the probe results.
//!
//! The caller (the node) performs the two HTTP probes, turns each answer into a [`HealthProbe`] and
//! a [`P2pProbe`] (with [`health_probe_from_response`] / [`p2p_probe_from_response`], or directly for
//! transport errors and timeouts), then calls [`select_mode`]. It does so at start, every
//! [`RECHECK_INTERVAL_SECS`] and whenever the config or the Cortex changes, and feeds each decision
//! to a [`ModeSelector`], which reports a [`ModeChange`] only when the mode actually changed.
//!
//! 1. Cortex unhealthy → [`SyncMode::None`].
//! 2. P2P not available → [`SyncMode::Polled`].
//! 3. `sync.nativeP2pPreferred` → [`SyncMode::Native`], else [`SyncMode::Polled`].

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Seconds between two re-evaluations of the mode.
pub const RECHECK_INTERVAL_SECS: u64 = 60;

/// What this node initiates: gossip rounds, scheduled REST pulls, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// QUIC gossip (DESIGN §4).
    Native,
    /// Scheduled REST delta sync (DESIGN §5).
    Polled,
    /// No sync: the Cortex is not healthy.
    None,
}

/// Result of `GET /api/v1/health` on the Cortex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthProbe {
    /// `status` was "healthy" or "ok".
    Healthy,
    /// Anything else, including transport errors and timeouts.
    Unhealthy {
        /// Why, e.g. "connection refused" or "health check answered 503".
        reason: String,
    },
}

/// Result of `GET /api/v1/p2p/status` on the Cortex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum P2pProbe {
    /// 200 with `enabled: true` and a non-empty `node_id`.
    Enabled {
        /// The `node_id` the Cortex reported.
        node_id: String,
    },
    /// Anything else, including transport errors and timeouts.
    Disabled {
        /// Why, e.g. "p2p/status answered 404 (P2P not enabled)".
        reason: String,
    },
}

/// A selected mode and the human-readable reason for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModeDecision {
    /// The selected mode.
    pub mode: SyncMode,
    /// Why it was selected, e.g. "Cortex unhealthy: connection refused".
    pub reason: String,
}

/// A change of mode, to be shown in the UI, the tray and the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModeChange {
    /// The previous mode; `None` for the first decision.
    pub from: Option<SyncMode>,
    /// The new mode.
    pub to: SyncMode,
    /// Why the new mode was selected.
    pub reason: String,
}

/// Remembers the current decision and detects mode changes (sans-IO; the caller owns the timer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModeSelector {
    current: Option<ModeDecision>,
}

impl SyncMode {
    /// Every mode.
    pub const ALL: [SyncMode; 3] = [Self::Native, Self::Polled, Self::None];

    /// The JSON spelling: `"native"`, `"polled"` or `"none"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Polled => "polled",
            Self::None => "none",
        }
    }

    /// Parses the JSON spelling; `None` (the `Option`) for anything else.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

impl fmt::Display for SyncMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl HealthProbe {
    /// An unhealthy result with the given reason (for transport errors, timeouts, …).
    pub fn unhealthy(reason: impl Into<String>) -> Self {
        Self::Unhealthy {
            reason: reason.into(),
        }
    }

    /// Whether the Cortex is healthy.
    pub fn is_healthy(&self) -> bool {
        matches!(self, Self::Healthy)
    }
}

impl P2pProbe {
    /// A disabled result with the given reason (for transport errors, timeouts, …).
    pub fn disabled(reason: impl Into<String>) -> Self {
        Self::Disabled {
            reason: reason.into(),
        }
    }

    /// The reported node id when P2P is enabled.
    pub fn node_id(&self) -> Option<&str> {
        match self {
            Self::Enabled { node_id } => Some(node_id),
            Self::Disabled { .. } => None,
        }
    }
}

impl fmt::Display for ModeDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.mode, self.reason)
    }
}

impl fmt::Display for ModeChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.from {
            Some(from) => write!(
                f,
                "sync mode changed from {from} to {}: {}",
                self.to, self.reason
            ),
            None => write!(f, "sync mode is {}: {}", self.to, self.reason),
        }
    }
}

impl ModeSelector {
    /// A selector with no decision yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The latest decision, if any.
    pub fn current(&self) -> Option<&ModeDecision> {
        self.current.as_ref()
    }

    /// The current mode, if a decision was made.
    pub fn mode(&self) -> Option<SyncMode> {
        self.current.as_ref().map(|d| d.mode)
    }

    /// Records a decision; returns the change when the mode differs from the previous one.
    ///
    /// The first decision is always a change (`from: None`). A new reason for the same mode is
    /// stored (so status shows it) but is not a change.
    pub fn update(&mut self, decision: ModeDecision) -> Option<ModeChange> {
        let from = self.mode();
        let change = (from != Some(decision.mode)).then(|| ModeChange {
            from,
            to: decision.mode,
            reason: decision.reason.clone(),
        });
        self.current = Some(decision);
        change
    }

    /// Runs [`select_mode`] on the probes and records the result with [`ModeSelector::update`].
    pub fn evaluate(
        &mut self,
        health: &HealthProbe,
        p2p: &P2pProbe,
        native_preferred: bool,
    ) -> Option<ModeChange> {
        self.update(select_mode(health, p2p, native_preferred))
    }
}

/// Applies DESIGN §3.1 to the probe results.
pub fn select_mode(health: &HealthProbe, p2p: &P2pProbe, native_preferred: bool) -> ModeDecision {
    let (mode, reason) = match (health, p2p) {
        (HealthProbe::Unhealthy { reason }, _) => {
            (SyncMode::None, format!("Cortex unhealthy: {reason}"))
        }
        (HealthProbe::Healthy, P2pProbe::Disabled { reason }) => {
            (SyncMode::Polled, format!("P2P probe failed: {reason}"))
        }
        (HealthProbe::Healthy, P2pProbe::Enabled { node_id }) if native_preferred => (
            SyncMode::Native,
            format!(
                "P2P available (node {}) and native preferred",
                crate::node_id::short_node_id(node_id)
            ),
        ),
        (HealthProbe::Healthy, P2pProbe::Enabled { node_id }) => (
            SyncMode::Polled,
            format!(
                "P2P available (node {}) but sync.nativeP2pPreferred is false",
                crate::node_id::short_node_id(node_id)
            ),
        ),
    };
    ModeDecision { mode, reason }
}

/// Interprets the answer to `GET /api/v1/health`: healthy iff 2xx with `status` "healthy" or "ok".
pub fn health_probe_from_response(status: u16, body: &Value) -> HealthProbe {
    if !(200..300).contains(&status) {
        return HealthProbe::unhealthy(format!(
            "health check answered {status}{}",
            error_suffix(body)
        ));
    }
    let Some(obj) = body.as_object() else {
        return HealthProbe::unhealthy("health check answer is not a JSON object");
    };
    match obj.get("status") {
        Some(Value::String(s))
            if s.eq_ignore_ascii_case("healthy") || s.eq_ignore_ascii_case("ok") =>
        {
            HealthProbe::Healthy
        }
        Some(Value::String(s)) => {
            let detail = unhealthy_components(body);
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!(" ({detail})")
            };
            HealthProbe::unhealthy(format!("Cortex reports status {s:?}{detail}"))
        }
        Some(_) => HealthProbe::unhealthy("health check \"status\" is not a string"),
        None => HealthProbe::unhealthy("health check answer has no \"status\""),
    }
}

/// Interprets the answer to `GET /api/v1/p2p/status`: enabled iff 200 with `enabled: true` and a
/// non-empty `node_id`.
pub fn p2p_probe_from_response(status: u16, body: &Value) -> P2pProbe {
    if status != 200 {
        return P2pProbe::disabled(format!(
            "p2p/status answered {status}{}",
            error_suffix(body)
        ));
    }
    let Some(obj) = body.as_object() else {
        return P2pProbe::disabled("p2p/status answer is not a JSON object");
    };
    match obj.get("enabled") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => return P2pProbe::disabled("p2p/status reports enabled: false"),
        Some(_) => return P2pProbe::disabled("p2p/status \"enabled\" is not a boolean"),
        None => return P2pProbe::disabled("p2p/status answer has no \"enabled\""),
    }
    match obj.get("node_id") {
        Some(Value::String(id)) if !id.trim().is_empty() => P2pProbe::Enabled {
            node_id: id.clone(),
        },
        Some(Value::String(_)) => P2pProbe::disabled("p2p/status reports an empty node_id"),
        Some(Value::Null) | None => P2pProbe::disabled("p2p/status answer has no node_id"),
        Some(_) => P2pProbe::disabled("p2p/status \"node_id\" is not a string"),
    }
}

/// ` (message)` from an `{"error": "message"}` body, or nothing.
fn error_suffix(body: &Value) -> String {
    match body.get("error").and_then(Value::as_str) {
        Some(msg) if !msg.is_empty() => format!(" ({msg})"),
        _ => String::new(),
    }
}

/// "graph: disk full, index: degraded" from the `components` of a health answer.
fn unhealthy_components(body: &Value) -> String {
    let Some(components) = body.get("components").and_then(Value::as_object) else {
        return String::new();
    };
    components
        .iter()
        .filter_map(|(name, c)| {
            let status = c.get("status").and_then(Value::as_str)?;
            if status.eq_ignore_ascii_case("healthy") || status.eq_ignore_ascii_case("ok") {
                return None;
            }
            let message = c.get("message").and_then(Value::as_str).unwrap_or(status);
            Some(format!("{name}: {message}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const NODE: &str = "1a2b3c4d5e6f70819a2b3c4d5e6f70819a2b3c4d5e6f70819a2b3c4d5e6f7081";

    fn p2p_cases() -> Vec<(&'static str, P2pProbe)> {
        vec![
            (
                "enabled",
                p2p_probe_from_response(
                    200,
                    &json!({"node_id": NODE, "enabled": true, "port": 19091}),
                ),
            ),
            (
                "404",
                p2p_probe_from_response(
                    404,
                    &json!({"error": "P2P not enabled", "code": "P2P_DISABLED"}),
                ),
            ),
            (
                "enabled false",
                p2p_probe_from_response(200, &json!({"node_id": NODE, "enabled": false})),
            ),
            (
                "empty node id",
                p2p_probe_from_response(200, &json!({"node_id": "", "enabled": true})),
            ),
            ("timeout", P2pProbe::disabled("timed out after 5 s")),
        ]
    }

    #[test]
    fn full_truth_table() {
        let healths = [
            HealthProbe::Healthy,
            HealthProbe::unhealthy("connection refused"),
        ];
        for health in &healths {
            for (name, p2p) in p2p_cases() {
                for preferred in [true, false] {
                    let d = select_mode(health, &p2p, preferred);
                    let expected = match (health.is_healthy(), name, preferred) {
                        (false, _, _) => SyncMode::None,
                        (true, "enabled", true) => SyncMode::Native,
                        (true, _, _) => SyncMode::Polled,
                    };
                    assert_eq!(d.mode, expected, "{health:?} / {name} / {preferred}");
                    let reason = &d.reason;
                    match d.mode {
                        SyncMode::None => {
                            assert_eq!(reason, "Cortex unhealthy: connection refused");
                        }
                        SyncMode::Native => assert_eq!(
                            reason,
                            "P2P available (node 1a2b3c4d5e6f) and native preferred"
                        ),
                        SyncMode::Polled if name == "enabled" => assert_eq!(
                            reason,
                            "P2P available (node 1a2b3c4d5e6f) but sync.nativeP2pPreferred is false"
                        ),
                        SyncMode::Polled => {
                            assert!(reason.starts_with("P2P probe failed: "), "{reason}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn reasons_of_each_p2p_failure() {
        let reasons: Vec<String> = p2p_cases()
            .into_iter()
            .skip(1)
            .map(|(_, p)| select_mode(&HealthProbe::Healthy, &p, true).reason)
            .collect();
        assert_eq!(
            reasons,
            [
                "P2P probe failed: p2p/status answered 404 (P2P not enabled)",
                "P2P probe failed: p2p/status reports enabled: false",
                "P2P probe failed: p2p/status reports an empty node_id",
                "P2P probe failed: timed out after 5 s",
            ]
        );
    }

    #[test]
    fn p2p_probe_on_realistic_bodies() {
        let embedded = json!({
            "node_id": NODE, "enabled": true, "port": 19091, "peer_count": 1,
            "connected_peers": [{"addr": "10.0.0.2:19091", "connected": true}],
            "gossip_stats": {"round": 3, "pending_announcements": 0, "known_ids": 10,
                             "bloom_filter_items": 0, "bloom_filter_fpr": 0.0},
            "sync_stats": {"peer_count": 1, "local_ids": 10,
                           "total_successful_syncs": 2, "total_failed_syncs": 0}
        });
        assert_eq!(
            p2p_probe_from_response(200, &embedded),
            P2pProbe::Enabled {
                node_id: NODE.into()
            }
        );
        assert_eq!(
            p2p_probe_from_response(200, &embedded).node_id(),
            Some(NODE)
        );

        let disabled = |status, body| match p2p_probe_from_response(status, &body) {
            P2pProbe::Disabled { reason } => reason,
            other => panic!("expected disabled, got {other:?}"),
        };
        assert_eq!(
            disabled(
                404,
                json!({"error": "P2P not enabled", "code": "P2P_DISABLED"})
            ),
            "p2p/status answered 404 (P2P not enabled)"
        );
        assert_eq!(disabled(404, Value::Null), "p2p/status answered 404");
        assert_eq!(
            disabled(500, json!({"error": "boom"})),
            "p2p/status answered 500 (boom)"
        );
        // Only 200 counts, even with an enabled body.
        assert_eq!(
            disabled(204, json!({"node_id": NODE, "enabled": true})),
            "p2p/status answered 204"
        );
        assert_eq!(
            disabled(200, json!({"node_id": NODE, "enabled": false})),
            "p2p/status reports enabled: false"
        );
        assert_eq!(
            disabled(200, json!({"node_id": "", "enabled": true})),
            "p2p/status reports an empty node_id"
        );
        assert_eq!(
            disabled(200, json!({"node_id": "  ", "enabled": true})),
            "p2p/status reports an empty node_id"
        );
        assert_eq!(
            disabled(200, json!({"enabled": true})),
            "p2p/status answer has no node_id"
        );
        assert_eq!(
            disabled(200, json!({"enabled": true, "node_id": null})),
            "p2p/status answer has no node_id"
        );
        assert_eq!(
            disabled(200, json!({"enabled": true, "node_id": 7})),
            "p2p/status \"node_id\" is not a string"
        );
        assert_eq!(
            disabled(200, json!({"node_id": NODE})),
            "p2p/status answer has no \"enabled\""
        );
        assert_eq!(
            disabled(200, json!({"node_id": NODE, "enabled": "true"})),
            "p2p/status \"enabled\" is not a boolean"
        );
        assert_eq!(
            disabled(200, json!("<html>")),
            "p2p/status answer is not a JSON object"
        );
    }

    #[test]
    fn health_probe_on_realistic_bodies() {
        let embedded = json!({"status": "healthy",
            "components": {"graph": {"status": "healthy", "message": "12 triples"}}});
        assert_eq!(
            health_probe_from_response(200, &embedded),
            HealthProbe::Healthy
        );
        assert_eq!(
            health_probe_from_response(200, &json!({"status": "ok"})),
            HealthProbe::Healthy
        );
        assert_eq!(
            health_probe_from_response(200, &json!({"status": "OK"})),
            HealthProbe::Healthy
        );

        let unhealthy = |status, body| match health_probe_from_response(status, &body) {
            HealthProbe::Unhealthy { reason } => reason,
            HealthProbe::Healthy => panic!("expected unhealthy"),
        };
        assert_eq!(
            unhealthy(200, json!({"status": "degraded"})),
            "Cortex reports status \"degraded\""
        );
        assert_eq!(
            unhealthy(
                200,
                json!({"status": "degraded", "components": {
                    "graph": {"status": "unhealthy", "message": "disk full"},
                    "index": {"status": "healthy"}
                }})
            ),
            "Cortex reports status \"degraded\" (graph: disk full)"
        );
        assert_eq!(
            unhealthy(503, json!({"status": "unhealthy", "error": "store locked"})),
            "health check answered 503 (store locked)"
        );
        assert_eq!(unhealthy(404, Value::Null), "health check answered 404");
        assert_eq!(
            unhealthy(200, json!({})),
            "health check answer has no \"status\""
        );
        assert_eq!(
            unhealthy(200, json!({"status": true})),
            "health check \"status\" is not a string"
        );
        assert_eq!(
            unhealthy(200, json!([])),
            "health check answer is not a JSON object"
        );
    }

    #[test]
    fn mode_spellings() {
        for m in SyncMode::ALL {
            assert_eq!(serde_json::to_value(m).unwrap(), json!(m.as_str()));
            assert_eq!(
                serde_json::from_value::<SyncMode>(json!(m.as_str())).unwrap(),
                m
            );
            assert_eq!(m.to_string(), m.as_str());
            assert_eq!(SyncMode::from_name(m.as_str()), Some(m));
        }
        assert_eq!(SyncMode::Native.as_str(), "native");
        assert_eq!(SyncMode::Polled.as_str(), "polled");
        assert_eq!(SyncMode::None.as_str(), "none");
        assert_eq!(SyncMode::from_name("Native"), None);
    }

    #[test]
    fn decision_serialises_camel_case() {
        let d = select_mode(
            &HealthProbe::unhealthy("connection refused"),
            &P2pProbe::disabled("x"),
            true,
        );
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            json!({"mode": "none", "reason": "Cortex unhealthy: connection refused"})
        );
        assert_eq!(d.to_string(), "none (Cortex unhealthy: connection refused)");
    }

    #[test]
    fn selector_reports_only_mode_changes() {
        let enabled = P2pProbe::Enabled {
            node_id: NODE.into(),
        };
        let mut s = ModeSelector::new();
        assert_eq!(s.current(), None);
        assert_eq!(s.mode(), None);

        // First decision is a change from nothing.
        let c = s.evaluate(&HealthProbe::Healthy, &enabled, true).unwrap();
        assert_eq!(c.from, None);
        assert_eq!(c.to, SyncMode::Native);
        assert_eq!(
            c.to_string(),
            "sync mode is native: P2P available (node 1a2b3c4d5e6f) and native preferred"
        );
        assert_eq!(s.mode(), Some(SyncMode::Native));

        // Same decision again: nothing.
        assert_eq!(s.evaluate(&HealthProbe::Healthy, &enabled, true), None);

        // Cortex goes down.
        let c = s
            .evaluate(
                &HealthProbe::unhealthy("connection refused"),
                &enabled,
                true,
            )
            .unwrap();
        assert_eq!(
            c,
            ModeChange {
                from: Some(SyncMode::Native),
                to: SyncMode::None,
                reason: "Cortex unhealthy: connection refused".into()
            }
        );
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({"from": "native", "to": "none", "reason": "Cortex unhealthy: connection refused"})
        );

        // Still down for another reason: same mode, no change, but the reason is updated.
        assert_eq!(
            s.evaluate(&HealthProbe::unhealthy("timed out"), &enabled, true),
            None
        );
        assert_eq!(s.current().unwrap().reason, "Cortex unhealthy: timed out");

        // Back, with P2P disabled → polled.
        let c = s
            .evaluate(
                &HealthProbe::Healthy,
                &P2pProbe::disabled("p2p/status answered 404"),
                true,
            )
            .unwrap();
        assert_eq!((c.from, c.to), (Some(SyncMode::None), SyncMode::Polled));
        assert_eq!(
            c.to_string(),
            "sync mode changed from none to polled: P2P probe failed: p2p/status answered 404"
        );

        // P2P available but not preferred: still polled, no change.
        assert_eq!(s.evaluate(&HealthProbe::Healthy, &enabled, false), None);
        assert_eq!(s.mode(), Some(SyncMode::Polled));

        // The user flips nativeP2pPreferred.
        let c = s.evaluate(&HealthProbe::Healthy, &enabled, true).unwrap();
        assert_eq!((c.from, c.to), (Some(SyncMode::Polled), SyncMode::Native));
    }

    #[test]
    fn recheck_interval_is_a_minute() {
        assert_eq!(RECHECK_INTERVAL_SECS, 60);
    }
}
