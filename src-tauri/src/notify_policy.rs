//! When to show, update or close a desktop notification (DESIGN §10). Pure: engine facts and
//! the time (milliseconds on any monotonic clock) in, [`Decision`]s out.
//!
//! - A peer's sync failure is notified once it persists (3 failed attempts in a row or 10 min of
//!   failures): one notification per peer per incident, then updated in place, never stacked.
//! - Recovery closes that notification and shows `Back in sync with <peer>`.
//! - At most one notification per peer (and per other topic) per 60 s, except recovery.
//! - Nothing at all while `ui.notifications` is off; never "sync finished".

use std::collections::HashMap;

use mayros_sync_proto::syncstate::PERSISTENT_FAILURES;

/// Time of failing after which a failure is notified, whatever the count.
pub const FAILING_FOR_MS: u64 = 10 * 60 * 1000;
/// Minimum time between two notifications about the same peer or topic.
pub const RATE_LIMIT_MS: u64 = 60 * 1000;

/// What a notification is about; one live notification per key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NoteKey {
    /// A persistent sync failure with a peer (node id).
    Failing(String),
    /// A peer is back in sync (node id).
    Recovered(String),
    /// A pairing request from a device (node id).
    PairRequest(String),
    /// New conflicts.
    Conflicts,
    /// A refused connection (security event).
    Security,
}

/// What the engine reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// A sync with a peer failed.
    SyncFailed {
        /// Node id.
        peer: String,
        /// Its name.
        name: String,
        /// The error.
        message: String,
    },
    /// A sync with a peer succeeded.
    SyncOk {
        /// Node id.
        peer: String,
        /// Its name.
        name: String,
    },
    /// A device asks to pair.
    PairRequest {
        /// Its node id.
        peer: String,
        /// Its name.
        name: String,
        /// The verification code, `NNN NNN`.
        code: String,
    },
    /// Conflicts were logged.
    Conflicts {
        /// How many.
        count: u64,
    },
    /// A connection from an unknown device, or one that changed its certificate, was refused.
    Security {
        /// Details.
        message: String,
    },
}

/// What to do with the desktop's notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Show a new notification.
    Show {
        /// What it is about.
        key: NoteKey,
        /// Summary line.
        summary: String,
        /// Body.
        body: String,
    },
    /// Replace the text of the live notification of `key` (same notification id).
    Update {
        /// What it is about.
        key: NoteKey,
        /// Summary line.
        summary: String,
        /// Body.
        body: String,
    },
    /// Withdraw the live notification of `key`.
    Close {
        /// What it is about.
        key: NoteKey,
    },
}

#[derive(Debug, Default, Clone)]
struct Incident {
    failures: u32,
    since_ms: u64,
    notified: bool,
}

/// The policy's memory: failure streaks per peer and when each key was last notified.
#[derive(Debug, Clone)]
pub struct NotifyPolicy {
    enabled: bool,
    incidents: HashMap<String, Incident>,
    last_shown: HashMap<NoteKey, u64>,
    pending_conflicts: u64,
}

impl Default for NotifyPolicy {
    fn default() -> Self {
        NotifyPolicy::new(true)
    }
}

impl NotifyPolicy {
    /// A policy, on or off (`ui.notifications`).
    pub fn new(enabled: bool) -> NotifyPolicy {
        NotifyPolicy {
            enabled,
            incidents: HashMap::new(),
            last_shown: HashMap::new(),
            pending_conflicts: 0,
        }
    }

    /// Follows `ui.notifications`. Turning notifications off closes nothing already shown but
    /// shows nothing more.
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// Whether notifications are on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// What to do about `fact` at `now_ms`.
    pub fn on_fact(&mut self, fact: Fact, now_ms: u64) -> Vec<Decision> {
        match fact {
            Fact::SyncFailed {
                peer,
                name,
                message,
            } => self.failed(peer, name, message, now_ms),
            Fact::SyncOk { peer, name } => self.recovered(&peer, &name),
            Fact::PairRequest { peer, name, code } => {
                let key = NoteKey::PairRequest(peer);
                self.show_limited(
                    key,
                    format!("{name} wants to pair"),
                    format!("Code {code}"),
                    now_ms,
                )
            }
            Fact::Conflicts { count } => {
                // Conflicts that arrive within the rate limit are added to the next notice.
                self.pending_conflicts = self.pending_conflicts.saturating_add(count);
                let n = self.pending_conflicts;
                let summary = format!("{n} new {}", if n == 1 { "conflict" } else { "conflicts" });
                let out = self.show_limited(
                    NoteKey::Conflicts,
                    summary,
                    "Open Mayros Sync to review or restore them.".into(),
                    now_ms,
                );
                if !out.is_empty() {
                    self.pending_conflicts = 0;
                }
                out
            }
            Fact::Security { message } => self.show_limited(
                NoteKey::Security,
                "Refused a connection from an unknown device".into(),
                message,
                now_ms,
            ),
        }
    }

    fn failed(
        &mut self,
        peer: String,
        name: String,
        message: String,
        now_ms: u64,
    ) -> Vec<Decision> {
        let incident = self
            .incidents
            .entry(peer.clone())
            .or_insert_with(|| Incident {
                since_ms: now_ms,
                ..Incident::default()
            });
        incident.failures = incident.failures.saturating_add(1);
        let persistent = u64::from(incident.failures) >= PERSISTENT_FAILURES
            || now_ms.saturating_sub(incident.since_ms) >= FAILING_FOR_MS;
        if !self.enabled || !persistent {
            return Vec::new();
        }
        let key = NoteKey::Failing(peer.clone());
        let summary = format!("Sync with {name} is failing");
        if !self.may_show(&key, now_ms) {
            return Vec::new();
        }
        let already = self
            .incidents
            .get_mut(&peer)
            .map(|i| std::mem::replace(&mut i.notified, true))
            .unwrap_or(false);
        self.last_shown.insert(key.clone(), now_ms);
        if already {
            vec![Decision::Update {
                key,
                summary,
                body: message,
            }]
        } else {
            vec![Decision::Show {
                key,
                summary,
                body: message,
            }]
        }
    }

    fn recovered(&mut self, peer: &str, name: &str) -> Vec<Decision> {
        let Some(incident) = self.incidents.remove(peer) else {
            return Vec::new();
        };
        if !incident.notified || !self.enabled {
            return Vec::new();
        }
        let key = NoteKey::Failing(peer.to_string());
        self.last_shown.remove(&key);
        vec![
            Decision::Close { key },
            Decision::Show {
                key: NoteKey::Recovered(peer.to_string()),
                summary: format!("Back in sync with {name}"),
                body: String::new(),
            },
        ]
    }

    fn may_show(&self, key: &NoteKey, now_ms: u64) -> bool {
        self.last_shown
            .get(key)
            .is_none_or(|t| now_ms.saturating_sub(*t) >= RATE_LIMIT_MS)
    }

    fn show_limited(
        &mut self,
        key: NoteKey,
        summary: String,
        body: String,
        now_ms: u64,
    ) -> Vec<Decision> {
        if !self.enabled || !self.may_show(&key, now_ms) {
            return Vec::new();
        }
        self.last_shown.insert(key.clone(), now_ms);
        vec![Decision::Show { key, summary, body }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(p: &mut NotifyPolicy, at: u64) -> Vec<Decision> {
        p.on_fact(
            Fact::SyncFailed {
                peer: "aa".into(),
                name: "laptop".into(),
                message: format!("connection refused at {at}"),
            },
            at,
        )
    }

    #[test]
    fn two_failures_are_not_yet_persistent_and_ten_minutes_are() {
        let mut p = NotifyPolicy::default();
        assert!(fail(&mut p, 0).is_empty());
        assert!(fail(&mut p, 1_000).is_empty());
        let mut p = NotifyPolicy::default();
        assert!(fail(&mut p, 0).is_empty());
        let d = fail(&mut p, FAILING_FOR_MS);
        assert!(
            matches!(&d[..], [Decision::Show { summary, .. }] if summary == "Sync with laptop is failing")
        );
    }

    #[test]
    fn a_quick_streak_shows_once_and_the_rest_is_rate_limited() {
        let mut p = NotifyPolicy::default();
        let all: Vec<Decision> = (0..5).flat_map(|i| fail(&mut p, i * 1_000)).collect();
        assert_eq!(all.len(), 1);
        assert!(matches!(&all[0], Decision::Show { key: NoteKey::Failing(k), .. } if k == "aa"));
    }

    #[test]
    fn a_streak_of_five_is_one_notification_updated_in_place_then_withdrawn() {
        let mut p = NotifyPolicy::default();
        let all: Vec<Decision> = (0..5)
            .flat_map(|i| fail(&mut p, i * RATE_LIMIT_MS))
            .collect();
        let key = NoteKey::Failing("aa".into());
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(matches!(&all[0], Decision::Show { key: k, summary, body }
            if *k == key && summary == "Sync with laptop is failing" && body.contains("refused")));
        for d in &all[1..] {
            assert!(
                matches!(d, Decision::Update { key: k, .. } if *k == key),
                "{d:?}"
            );
        }
        let d = p.on_fact(
            Fact::SyncOk {
                peer: "aa".into(),
                name: "laptop".into(),
            },
            5 * RATE_LIMIT_MS,
        );
        assert_eq!(
            d,
            [
                Decision::Close { key },
                Decision::Show {
                    key: NoteKey::Recovered("aa".into()),
                    summary: "Back in sync with laptop".into(),
                    body: String::new()
                }
            ]
        );
        // A new incident starts from zero and is notified again.
        assert!(fail(&mut p, 5 * RATE_LIMIT_MS + 1).is_empty());
        assert!(fail(&mut p, 5 * RATE_LIMIT_MS + 2).is_empty());
        assert_eq!(fail(&mut p, 5 * RATE_LIMIT_MS + 3).len(), 1);
    }

    #[test]
    fn recovery_without_a_notice_is_silent() {
        let mut p = NotifyPolicy::default();
        fail(&mut p, 0);
        let ok = Fact::SyncOk {
            peer: "aa".into(),
            name: "laptop".into(),
        };
        assert!(p.on_fact(ok.clone(), 1).is_empty());
        // The streak starts over.
        assert!(fail(&mut p, 2).is_empty());
        assert!(fail(&mut p, 3).is_empty());
        assert!(p.on_fact(ok, 4).is_empty());
    }

    #[test]
    fn pairing_conflicts_and_security_are_rate_limited_per_topic() {
        let mut p = NotifyPolicy::default();
        let req = |code: &str| Fact::PairRequest {
            peer: "cc".into(),
            name: "phone".into(),
            code: code.into(),
        };
        let d = p.on_fact(req("123 456"), 0);
        assert_eq!(
            d,
            [Decision::Show {
                key: NoteKey::PairRequest("cc".into()),
                summary: "phone wants to pair".into(),
                body: "Code 123 456".into()
            }]
        );
        assert!(p.on_fact(req("123 456"), 10_000).is_empty());
        assert_eq!(p.on_fact(req("654 321"), RATE_LIMIT_MS).len(), 1);

        let d = p.on_fact(Fact::Conflicts { count: 1 }, 0);
        assert!(matches!(&d[..], [Decision::Show { summary, .. }] if summary == "1 new conflict"));
        assert!(p.on_fact(Fact::Conflicts { count: 2 }, 1_000).is_empty());
        let d = p.on_fact(Fact::Conflicts { count: 1 }, RATE_LIMIT_MS);
        assert!(matches!(&d[..], [Decision::Show { summary, .. }] if summary == "3 new conflicts"));

        let sec = Fact::Security {
            message: "unknown certificate".into(),
        };
        let d = p.on_fact(sec.clone(), 0);
        assert!(
            matches!(&d[..], [Decision::Show { summary, .. }] if summary == "Refused a connection from an unknown device")
        );
        assert!(p.on_fact(sec, 59_999).is_empty());
    }

    #[test]
    fn disabled_shows_nothing() {
        let mut p = NotifyPolicy::new(false);
        for i in 0..10 {
            assert!(fail(&mut p, i * RATE_LIMIT_MS).is_empty());
        }
        assert!(p
            .on_fact(
                Fact::SyncOk {
                    peer: "aa".into(),
                    name: "laptop".into()
                },
                0
            )
            .is_empty());
        assert!(p.on_fact(Fact::Conflicts { count: 1 }, 0).is_empty());
    }
}
