//! What the mirror of one external Cortex keeps between cycles, held by that sidecar's client
//! (a new URL starts afresh). The cycles themselves are in `mirror.rs`.

use std::collections::HashMap;
use std::sync::Mutex;

use mayros_sync_proto::TripleId;

use crate::dto::MirrorView;
use crate::locks::lock;

/// Mirror state kept with the client of one sidecar (a new URL starts afresh).
#[derive(Debug, Default)]
pub(crate) struct MirrorState {
    /// Held for one cycle: one at a time per sidecar.
    pub(super) cycle: tokio::sync::Mutex<()>,
    pub(super) inner: Mutex<MirrorInner>,
    /// Wakes the loop for a cycle soon.
    pub(super) nudge: tokio::sync::Notify,
}

/// What the mirror remembers between cycles.
#[derive(Debug, Default)]
pub(super) struct MirrorInner {
    /// Sidecar ids that differ from ours (normally none).
    pub(super) remote_ids: HashMap<TripleId, String>,
    /// Change-log ranges `(after, upto]` written by our own scans: never pushed back.
    pub(super) scan_ranges: Vec<(u64, u64)>,
    /// Per peer, the `next` cursor of the last delta page served with `hasMore`: a request
    /// continuing from it is the same pull and needs no new scan.
    pub(super) continuations: HashMap<String, String>,
    pub(super) view: MirrorView,
}

impl MirrorState {
    /// Asks the loop for a cycle soon.
    pub(crate) fn nudge(&self) {
        self.nudge.notify_one();
    }

    /// A copy of the figures.
    pub(crate) fn view(&self) -> MirrorView {
        lock(&self.inner).view.clone()
    }

    /// Whether a delta request from `peer` starting at `since` continues a pull we are
    /// serving.
    pub(crate) fn is_continuation(&self, peer: &str, since: Option<&str>) -> bool {
        since.is_some_and(|s| {
            lock(&self.inner)
                .continuations
                .get(peer)
                .map(String::as_str)
                == Some(s)
        })
    }

    /// Records the last page served to `peer`.
    pub(crate) fn served(&self, peer: &str, next: &str, has_more: bool) {
        let mut inner = lock(&self.inner);
        if has_more {
            inner
                .continuations
                .insert(peer.to_string(), next.to_string());
        } else {
            inner.continuations.remove(peer);
        }
    }
}
