//! The engine's control state: the sync mode, pause, the sync counters, the syncs running now,
//! the last clock-skew warning and the peer API address.
//!
//! One owner, one way in: every change is a [`Command`] applied by a pure transition
//! ([`ControlState::apply`]) inside a `watch` channel, so changes are serialized, a reader sees
//! one consistent snapshot (never the mode of one moment and the pause of another), a caller
//! reads its own write at once, and subscribers (the scheduler) wake on each change instead of
//! polling. No lock is held beyond the transition itself. What front ends must hear of (a mode
//! change, a sync asked for starting or ending) goes out as a typed `status` event.

use std::net::SocketAddr;
use std::sync::Arc;

use mayros_sync_proto::mode::{ModeChange, ModeDecision, ModeSelector, SyncMode};
use tokio::sync::watch;

use crate::dto::{StatusCause, StatusEvent};
use crate::events::{Event, EventHub};

/// One change to the control state.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// A new mode decision (the mode changes only if it differs).
    Decide(ModeDecision),
    /// Pause scheduled and pushed syncs until this time (unix ms), or until resumed (`None`).
    Pause {
        /// When the pause ends by itself.
        until_ms: Option<u64>,
    },
    /// Resume syncing.
    Resume,
    /// A `sync now` started.
    SyncStarted,
    /// A `sync now` ended (its [`RunningSync`] guard was dropped).
    SyncEnded,
    /// One sync attempt ended, at `at_ms`.
    Recorded {
        /// Whether it succeeded.
        ok: bool,
        /// When it ended (unix ms).
        at_ms: u64,
    },
    /// A peer's clock is far from ours (the status warning).
    ClockSkew(String),
    /// The peer API listens on this address.
    PeerApi(SocketAddr),
}

/// Success and failure counters of sync attempts since start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Syncs that completed.
    pub successful: u64,
    /// Syncs that failed.
    pub failed: u64,
    /// When the last sync finished (unix ms).
    pub last_sync_at_ms: Option<u64>,
}

/// The control state itself (plain data; [`Control`] owns the one live copy).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ControlState {
    selector: ModeSelector,
    paused_until: Option<Option<u64>>,
    running: u64,
    counters: Counters,
    clock_skew: Option<String>,
    peer_api: Option<SocketAddr>,
}

impl ControlState {
    /// Applies `cmd`; answers the mode change it made, if any, and whether anything changed.
    pub fn apply(&mut self, cmd: Command) -> (Option<ModeChange>, bool) {
        let before = self.clone();
        let change = match cmd {
            Command::Decide(decision) => self.selector.update(decision),
            Command::Pause { until_ms } => {
                self.paused_until = Some(until_ms);
                None
            }
            Command::Resume => {
                self.paused_until = None;
                None
            }
            Command::SyncStarted => {
                self.running += 1;
                None
            }
            Command::SyncEnded => {
                self.running = self.running.saturating_sub(1);
                None
            }
            Command::Recorded { ok, at_ms } => {
                if ok {
                    self.counters.successful += 1;
                } else {
                    self.counters.failed += 1;
                }
                self.counters.last_sync_at_ms = Some(at_ms);
                None
            }
            Command::ClockSkew(warning) => {
                self.clock_skew = Some(warning);
                None
            }
            Command::PeerApi(addr) => {
                self.peer_api = Some(addr);
                None
            }
        };
        let changed = *self != before;
        (change, changed)
    }

    /// The current mode decision (mode `none` until the first one).
    pub fn mode(&self) -> ModeDecision {
        self.selector
            .current()
            .cloned()
            .unwrap_or_else(|| ModeDecision {
                mode: SyncMode::None,
                reason: "mode not decided yet".into(),
            })
    }

    /// `None`: running; `Some(None)`: paused until resumed; `Some(Some(t))`: paused until t.
    /// A pause whose end has passed reads as running.
    pub fn pause_at(&self, now_ms: u64) -> Option<Option<u64>> {
        match self.paused_until {
            Some(Some(until)) if until <= now_ms => None,
            other => other,
        }
    }

    /// Whether a `sync now` is running.
    pub fn sync_running(&self) -> bool {
        self.running > 0
    }

    /// The sync counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The last clock-skew warning, if any.
    pub fn clock_skew(&self) -> Option<&str> {
        self.clock_skew.as_deref()
    }

    /// The bound peer API address, once it listens.
    pub fn peer_api(&self) -> Option<SocketAddr> {
        self.peer_api
    }
}

/// Cloneable handle to the engine's one control state.
#[derive(Debug, Clone)]
pub struct Control {
    tx: Arc<watch::Sender<ControlState>>,
    events: EventHub,
}

impl Control {
    /// A fresh state (no mode decided, running, no syncs counted) publishing to `events`.
    pub fn new(events: EventHub) -> Control {
        Control {
            tx: Arc::new(watch::Sender::new(ControlState::default())),
            events,
        }
    }

    /// Applies `cmd`; subscribers wake only if it changed something, and a mode change or a
    /// sync starting or ending is published as a `status` event. Answers the mode change.
    pub fn apply(&self, cmd: Command) -> Option<ModeChange> {
        let mut mode_change = None;
        let mut syncing = None;
        self.tx.send_if_modified(|state| {
            let was_syncing = state.sync_running();
            let (change, changed) = state.apply(cmd);
            mode_change = change;
            if state.sync_running() != was_syncing {
                syncing = Some(state.sync_running());
            }
            changed
        });
        // Published after the transition, outside the channel's lock.
        if let Some(c) = &mode_change {
            self.publish(StatusCause::Mode, c.from);
        }
        if syncing.is_some() {
            self.publish(StatusCause::Syncing, None);
        }
        mode_change
    }

    fn publish(&self, cause: StatusCause, from: Option<SyncMode>) {
        let state = self.snapshot();
        let decision = state.mode();
        self.events.publish(Event::Status(StatusEvent {
            cause,
            from: from.map(|m| m.as_str().to_string()),
            mode: decision.mode.as_str().to_string(),
            mode_reason: decision.reason,
            syncing: state.sync_running(),
        }));
    }

    /// A copy of the state now.
    pub fn snapshot(&self) -> ControlState {
        self.tx.borrow().clone()
    }

    /// A receiver that wakes on every change.
    pub fn subscribe(&self) -> watch::Receiver<ControlState> {
        self.tx.subscribe()
    }

    /// The current mode decision.
    pub fn mode(&self) -> ModeDecision {
        self.tx.borrow().mode()
    }

    /// The pause in force at `now_ms` (see [`ControlState::pause_at`]).
    pub fn pause_at(&self, now_ms: u64) -> Option<Option<u64>> {
        self.tx.borrow().pause_at(now_ms)
    }

    /// Marks a `sync now` as running (status: syncing) until the guard is dropped.
    pub fn sync_started(&self) -> RunningSync {
        self.apply(Command::SyncStarted);
        RunningSync(self.clone())
    }
}

/// Marks a `sync now` as running until dropped.
#[derive(Debug)]
pub struct RunningSync(Control);

impl Drop for RunningSync {
    fn drop(&mut self) {
        self.0.apply(Command::SyncEnded);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(mode: SyncMode, reason: &str) -> ModeDecision {
        ModeDecision {
            mode,
            reason: reason.into(),
        }
    }

    #[test]
    fn a_mode_change_is_reported_once_and_a_repeat_changes_nothing() {
        let mut s = ControlState::default();
        let (change, changed) = s.apply(Command::Decide(decision(SyncMode::Native, "probe ok")));
        assert_eq!(change.map(|c| c.to), Some(SyncMode::Native));
        assert!(changed);
        let (change, changed) = s.apply(Command::Decide(decision(SyncMode::Native, "probe ok")));
        assert!(change.is_none());
        assert!(!changed, "the same decision again is no change");
        let (change, _) = s.apply(Command::Decide(decision(SyncMode::Polled, "p2p off")));
        let change = change.expect("native to polled is a change");
        assert_eq!(
            (change.from, change.to),
            (Some(SyncMode::Native), SyncMode::Polled)
        );
        assert_eq!(s.mode().reason, "p2p off");
    }

    #[test]
    fn an_undecided_state_reads_as_mode_none_with_a_reason() {
        let s = ControlState::default();
        assert_eq!(s.mode().mode, SyncMode::None);
        assert!(s.mode().reason.contains("not decided"));
    }

    #[test]
    fn a_timed_pause_ends_by_itself_and_an_open_one_waits_for_resume() {
        let mut s = ControlState::default();
        s.apply(Command::Pause {
            until_ms: Some(5_000),
        });
        assert_eq!(s.pause_at(4_999), Some(Some(5_000)));
        assert_eq!(s.pause_at(5_000), None);
        s.apply(Command::Pause { until_ms: None });
        assert_eq!(s.pause_at(u64::MAX), Some(None));
        s.apply(Command::Resume);
        assert_eq!(s.pause_at(0), None);
    }

    #[test]
    fn counters_and_running_syncs_follow_the_commands() {
        let mut s = ControlState::default();
        s.apply(Command::Recorded {
            ok: true,
            at_ms: 10,
        });
        s.apply(Command::Recorded {
            ok: false,
            at_ms: 20,
        });
        assert_eq!(
            s.counters(),
            &Counters {
                successful: 1,
                failed: 1,
                last_sync_at_ms: Some(20)
            }
        );
        s.apply(Command::SyncEnded);
        assert!(!s.sync_running(), "an unmatched end never goes below zero");
        s.apply(Command::SyncStarted);
        s.apply(Command::SyncStarted);
        s.apply(Command::SyncEnded);
        assert!(s.sync_running());
        s.apply(Command::SyncEnded);
        assert!(!s.sync_running());
    }

    #[tokio::test]
    async fn subscribers_wake_on_a_change_and_not_on_a_repeat() {
        let control = Control::new(EventHub::new());
        let mut rx = control.subscribe();
        rx.mark_unchanged();
        control.apply(Command::Pause { until_ms: None });
        assert!(
            rx.has_changed().expect("open"),
            "a pause wakes the subscriber"
        );
        assert_eq!(rx.borrow_and_update().pause_at(0), Some(None));
        control.apply(Command::Pause { until_ms: None });
        assert!(
            !rx.has_changed().expect("open"),
            "the same pause again wakes nobody"
        );
        {
            let _guard = control.sync_started();
            assert!(control.snapshot().sync_running());
        }
        assert!(
            !control.snapshot().sync_running(),
            "the guard's drop ends the sync"
        );
    }

    /// The `status` events a hub subscriber has received so far.
    fn status_events(rx: &mut tokio::sync::broadcast::Receiver<Event>) -> Vec<StatusEvent> {
        let mut out = Vec::new();
        while let Ok(e) = rx.try_recv() {
            if let Event::Status(s) = e {
                out.push(s);
            }
        }
        out
    }

    #[tokio::test]
    async fn a_mode_change_and_a_sync_starting_and_ending_are_published_as_typed_events() {
        let hub = EventHub::new();
        let mut rx = hub.subscribe();
        let control = Control::new(hub);
        control.apply(Command::Decide(decision(SyncMode::Polled, "no p2p")));
        control.apply(Command::Decide(decision(SyncMode::Native, "probe ok")));
        control.apply(Command::Decide(decision(SyncMode::Native, "probe ok")));
        let events = status_events(&mut rx);
        let modes: Vec<_> = events
            .iter()
            .map(|e| (e.cause, e.from.as_deref(), e.mode.as_str()))
            .collect();
        assert_eq!(
            modes,
            [
                (StatusCause::Mode, None, "polled"),
                (StatusCause::Mode, Some("polled"), "native")
            ],
            "a repeated decision publishes nothing"
        );
        let first = control.sync_started();
        let second = control.sync_started();
        drop(first);
        assert_eq!(
            status_events(&mut rx)
                .iter()
                .map(|e| (e.cause, e.syncing))
                .collect::<Vec<_>>(),
            [(StatusCause::Syncing, true)],
            "only the first start is news while two run"
        );
        drop(second);
        let ended = status_events(&mut rx);
        assert_eq!(ended.len(), 1);
        assert_eq!(
            (ended[0].cause, ended[0].syncing),
            (StatusCause::Syncing, false)
        );
        assert_eq!(ended[0].mode, "native");
        control.apply(Command::Recorded { ok: true, at_ms: 1 });
        assert!(
            status_events(&mut rx).is_empty(),
            "a counter is not a status event"
        );
    }
}
