//! What click-to-pair keeps between calls: requests waiting for the user's answer and the
//! sessions this device started. The pairing steps are in `clickpair.rs`.

use std::collections::HashMap;

use mayros_sync_proto::clickpair::GroupChoice;
use tokio::sync::{oneshot, watch};

use crate::dto::events::{RequestView, SessionView};

/// The user's answer to a request.
#[derive(Debug)]
pub(super) enum Decision {
    /// Accept, joining the group chosen; the answer says how pairing ended.
    Accept(Option<GroupChoice>, oneshot::Sender<Result<String, String>>),
    /// Reject.
    Reject,
}

/// A request waiting for the user's answer.
pub(super) struct Pending {
    /// What the window and the CLI show of it.
    pub(super) view: RequestView,
    /// When it expires (unix ms).
    pub(super) expires_ms: u64,
    /// Where the answer goes (taken when answered).
    pub(super) decide: Option<oneshot::Sender<Decision>>,
}

/// How long the outcome of a finished pairing stays readable.
pub(super) const KEEP_FINISHED_MS: u64 = 10 * 60_000;

/// Pairing sessions and requests of this engine.
#[derive(Default)]
pub struct ClickPairs {
    /// Requests from other devices, by their node id.
    pub(super) requests: std::sync::Mutex<HashMap<String, Pending>>,
    /// Sessions this device started, with when they started.
    pub(super) sessions: std::sync::Mutex<HashMap<u64, (u64, watch::Receiver<SessionView>)>>,
    /// The next session id.
    pub(super) next: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for ClickPairs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickPairs").finish_non_exhaustive()
    }
}
