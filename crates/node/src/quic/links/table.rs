//! The link table: each peer's session and its current link, the peers the owner wants, the
//! handshakes under way, and where the one-link-per-pair rule
//! ([`dialer_keeps_link`]) keeps duplicates out.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use quinn::{Connection, RecvStream, SendStream};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;
use tracing::info;

use mayros_sync_proto::membership::dialer_keeps_link;

use super::frame_io::LinkCtx;
use super::shared::Shared;
use super::{LinkEvent, CLOSE_LINK};

/// The current link of a session.
pub(super) struct LinkSlot {
    /// Which link this is (ids are never reused).
    pub(super) id: u64,
    /// Its QUIC connection.
    pub(super) conn: Connection,
    /// The peer's UDP address.
    pub(super) addr: SocketAddr,
}

/// One peer's session: from `Up` to `Down`.
pub(super) struct Session {
    /// Frames queued to the link's writer task.
    pub(super) tx: mpsc::UnboundedSender<Vec<u8>>,
    /// Bytes queued to the writer and not yet written.
    pub(super) queued: Arc<AtomicUsize>,
    /// The link the session runs on.
    pub(super) link: LinkSlot,
    /// Whether we dialed the link.
    pub(super) dialed: bool,
    /// Set by `unwant`: the session is closing, with this reason.
    pub(super) closing: Option<String>,
}

impl Session {
    /// Whether the session counts as up (not being closed).
    pub(super) fn is_up(&self) -> bool {
        self.closing.is_none()
    }
}

/// A peer the owner wants linked.
pub(super) struct Want {
    /// The address to dial; its redialer watches it.
    pub(super) addr: watch::Sender<SocketAddr>,
    /// Woken when the peer's session ends or an accepted handshake from it fails.
    pub(super) down: Arc<Notify>,
    /// The redialer task.
    pub(super) task: JoinHandle<()>,
}

/// Everything guarded by the state lock (never held across an await).
#[derive(Default)]
pub(super) struct State {
    /// Set by shutdown: no new links, no more events.
    pub(super) closed: bool,
    /// The session of each linked peer.
    pub(super) sessions: HashMap<String, Session>,
    /// The peers the owner wants linked.
    pub(super) wants: HashMap<String, Want>,
    /// Peers we are dialing now (connect and seed proof under way).
    pub(super) dialing: HashSet<String>,
    /// Accepted connections per peer whose seed proof is under way.
    pub(super) accepting: HashMap<String, usize>,
}

impl State {
    /// Whether `peer` has a session up or an accepted handshake under way.
    pub(super) fn linked_or_accepting(&self, peer: &str) -> bool {
        self.sessions.get(peer).is_some_and(Session::is_up)
            || self.accepting.get(peer).is_some_and(|n| *n > 0)
    }

    /// Wakes the redialer of `peer`, if wanted.
    pub(super) fn wake(&self, peer: &str) {
        if let Some(want) = self.wants.get(peer) {
            want.down.notify_one();
        }
    }
}

/// Marks a dial to a peer as under way; released on drop (also when the dial is cancelled).
pub(super) struct DialGuard {
    shared: Arc<Shared>,
    peer: String,
}

impl Drop for DialGuard {
    fn drop(&mut self) {
        self.shared.lock().dialing.remove(&self.peer);
    }
}

/// Marks an accepted handshake from a peer as under way; released on drop.
pub(super) struct AcceptGuard {
    shared: Arc<Shared>,
    peer: String,
}

impl Drop for AcceptGuard {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        if let Some(n) = st.accepting.get_mut(&self.peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                st.accepting.remove(&self.peer);
            }
        }
        st.wake(&self.peer);
    }
}

impl Shared {
    /// Starts a dial to `peer` unless a session is up or a handshake with it is under way.
    pub(super) fn begin_dial(self: &Arc<Self>, peer: &str) -> Option<DialGuard> {
        let mut st = self.lock();
        if st.closed || st.linked_or_accepting(peer) || !st.dialing.insert(peer.to_string()) {
            return None;
        }
        Some(DialGuard {
            shared: self.clone(),
            peer: peer.to_string(),
        })
    }

    /// Lets the handshake of a connection dialed by `peer` from `from` proceed, unless it
    /// would duplicate a link we dialed and it loses the tie-break (then `Err` with the reason).
    ///
    /// A duplicate joins the same two addresses. A dial from another address than the one our
    /// link or our dial reaches means the peer restarted or moved: our link is stale (a peer
    /// killed without closing leaves it "up" here until the idle timeout) or our dial goes
    /// nowhere, so the new link is let through and replaces it.
    pub(super) fn begin_accept(
        self: &Arc<Self>,
        peer: &str,
        from: SocketAddr,
    ) -> Result<AcceptGuard, String> {
        let mut st = self.lock();
        if st.closed {
            return Err("shutting down".to_string());
        }
        let ours_up = st
            .sessions
            .get(peer)
            .is_some_and(|s| s.is_up() && s.dialed && s.link.addr == from);
        let our_dial = st.dialing.contains(peer)
            && st.wants.get(peer).is_none_or(|w| *w.addr.borrow() == from);
        if !dialer_keeps_link(peer, &self.own) && (ours_up || our_dial) {
            return Err("duplicate link: the link dialed by the smaller node id is kept".into());
        }
        *st.accepting.entry(peer.to_string()).or_default() += 1;
        Ok(AcceptGuard {
            shared: self.clone(),
            peer: peer.to_string(),
        })
    }

    /// Installs an authenticated link as `peer`'s session (a previous session ends with
    /// `Down`), reports `Up`, and starts its reader and writer. False if shutting down, or if
    /// we dialed it and the peer is no longer wanted.
    pub(super) async fn install(
        self: &Arc<Self>,
        peer: String,
        conn: Connection,
        streams: (SendStream, RecvStream),
        dialed: bool,
    ) -> bool {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let addr = conn.remote_address();
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let session = Session {
            tx,
            queued: queued.clone(),
            link: LinkSlot {
                id,
                conn: conn.clone(),
                addr,
            },
            dialed,
            closing: None,
        };
        let order = self.order.lock().await;
        let Some(events) = self.put_session(&peer, session) else {
            return false;
        };
        for event in events {
            info!(?event, "link event");
            self.deliver(event).await;
        }
        drop(order);
        let ctx = LinkCtx {
            shared: self.clone(),
            peer,
            id,
            conn,
        };
        Arc::new(ctx).spawn_io(streams, rx, queued);
        true
    }

    /// Makes `session` `peer`'s session, ending the previous one: the events to report
    /// (`Down` of the previous session, then `Up`). `None`, with the new link closed, if
    /// shutting down or if we dialed it and the peer is no longer wanted.
    fn put_session(&self, peer: &str, session: Session) -> Option<Vec<LinkEvent>> {
        let mut st = self.lock();
        let conn = &session.link.conn;
        if st.closed {
            conn.close(CLOSE_LINK.into(), b"shutting down");
            return None;
        }
        if session.dialed && !st.wants.contains_key(peer) {
            conn.close(CLOSE_LINK.into(), b"no longer wanted");
            return None;
        }
        let mut events = Vec::new();
        if let Some(old) = st.sessions.remove(peer) {
            let reason = old
                .closing
                .unwrap_or_else(|| "superseded by a new connection".to_string());
            info!(%reason, "ending the previous session");
            old.link.conn.close(CLOSE_LINK.into(), reason.as_bytes());
            events.push(LinkEvent::Down {
                peer: peer.to_string(),
                reason,
            });
        }
        events.push(LinkEvent::Up {
            peer: peer.to_string(),
            addr: session.link.addr,
            dialed: session.dialed,
        });
        st.sessions.insert(peer.to_string(), session);
        Some(events)
    }

    /// Delivers a frame read on link `id`, unless that link is no longer `peer`'s live link.
    pub(super) async fn emit_frame(&self, peer: &str, id: u64, kind: u64, body: Vec<u8>) -> bool {
        let _order = self.order.lock().await;
        let live = self
            .lock()
            .sessions
            .get(peer)
            .is_some_and(|s| s.is_up() && s.link.id == id);
        live && self
            .deliver(LinkEvent::Frame {
                peer: peer.to_string(),
                kind,
                body,
            })
            .await
    }

    /// Ends `peer`'s session if link `id` is its link: closes it with `reason`, reports `Down`
    /// and wakes the redialer. Does nothing if the session already moved on.
    pub(super) async fn end_link(&self, peer: &str, id: u64, reason: String) {
        let _order = self.order.lock().await;
        let down = {
            let mut st = self.lock();
            if st.sessions.get(peer).map(|s| s.link.id) != Some(id) {
                return;
            }
            let Some(session) = st.sessions.remove(peer) else {
                return;
            };
            let reason = session.closing.unwrap_or(reason);
            session
                .link
                .conn
                .close(CLOSE_LINK.into(), reason.as_bytes());
            st.wake(peer);
            (!st.closed).then(|| LinkEvent::Down {
                peer: peer.to_string(),
                reason,
            })
        };
        if let Some(event) = down {
            info!(?event, "link down");
            self.deliver(event).await;
        }
    }
}
