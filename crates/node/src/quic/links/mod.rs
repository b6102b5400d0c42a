//! The connection manager of native mode: one authenticated QUIC sync link per peer.
//!
//! [`Links`] accepts sync connections, dials the peers its owner wants (redialing with
//! backoff while they are down), and turns each link's stream into [`LinkEvent`]s. It only
//! moves bytes: frames go to the owner as they arrive, and the owner's frames are queued to
//! the link's writer task.
//!
//! **One link per peer.** When both sides dial at once, the link dialed by the smaller node id
//! is kept. The smaller side enforces it before any seed proof: it lets at most one handshake
//! with a peer proceed, so while its own dial to that peer is in flight (or up), a link dialed
//! by the peer is closed with [`CLOSE_DUPLICATE`], and while a link dialed by the peer is being
//! accepted (or is up), it does not dial. The larger side never refuses; its dial refused as a
//! duplicate is dropped quietly. So a duplicate never carries a frame and never reaches `Up`
//! on either side, and no frame is lost or reordered. A new link that does get through while
//! a session is up means the peer started over (it restarted, or lost the old link first):
//! the old session ends with `Down` and the new one starts with `Up`.
//!
//! The parts: `shared` holds what every task shares and delivers events, `table` keeps the
//! link table (sessions, wanted peers, handshakes under way, the one-link-per-pair rule),
//! `acceptor` admits or refuses incoming connections, `dialer` keeps wanted peers dialed with
//! `backoff`, and `frame_io` reads and writes the frames of an established link.

mod acceptor;
mod backoff;
mod dialer;
mod frame_io;
mod shared;
mod table;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use mayros_sync_proto::frame::{encode_frame, FrameError};
use mayros_sync_proto::seedproof::GroupSeed;
use tokio::sync::{mpsc, watch, Notify};
use tracing::{info, info_span, Instrument};

use super::handshake::KIND_SEED_PROOF;
use super::QuicEndpoint;
use mayros_sync_proto::node_id::short_node_id as short;
use shared::Shared;
use table::{Session, Want};

/// Capacity of the event channel: a slow owner back-pressures the link readers.
pub const EVENT_CAPACITY: usize = 1024;
/// First redial delay after a failed dial or a lost link.
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// Longest redial delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// QUIC application close code of a link ended by this layer (bad frame, unwanted, superseded).
pub const CLOSE_LINK: u32 = 0x4d4c;
/// QUIC application close code of a connection refused because the other direction's link wins.
pub const CLOSE_DUPLICATE: u32 = 0x4d44;
/// Close reason for pairing connections while no pairing handler is set.
pub const PAIRING_UNAVAILABLE: &str = "pairing is not available on this endpoint";

/// Who may sync with us; implemented by the engine over its roster and group seed.
pub trait Membership: Send + Sync + 'static {
    /// Whether `node_id` is a roster member allowed to open a sync connection.
    fn is_member(&self, node_id: &str) -> bool;
    /// The current group seed; `None` while this device is in no group (refuse every sync connection).
    fn seed(&self) -> Option<GroupSeed>;
    /// Seeds a member may prove when it dials us: the current one first, then replaced ones a
    /// member that missed a rotation may still hold (DESIGN §7.2; by default only the current).
    fn accepted_seeds(&self) -> Vec<GroupSeed> {
        self.seed().into_iter().collect()
    }
}

/// What the link layer reports to its owner.
#[derive(Debug)]
pub enum LinkEvent {
    /// An authenticated sync link to `peer` is up (seed proofs verified both ways).
    Up {
        /// The peer's node id.
        peer: String,
        /// The peer's UDP address.
        addr: SocketAddr,
        /// Whether we dialed this link.
        dialed: bool,
    },
    /// One frame from `peer` (any kind except the handshake's; unknown kinds are passed through).
    Frame {
        /// The peer's node id.
        peer: String,
        /// Message kind.
        kind: u64,
        /// Kind-specific body.
        body: Vec<u8>,
    },
    /// The link to `peer` is gone (closed, idle timeout, malformed or oversized frame, superseded).
    Down {
        /// The peer's node id.
        peer: String,
        /// What ended the link.
        reason: String,
    },
    /// A connection was refused: not a member, wrong seed, no certificate, or a failed dial.
    Refused {
        /// The remote UDP address.
        addr: SocketAddr,
        /// The remote node id, when known.
        node_id: Option<String>,
        /// Why.
        reason: String,
        /// A device reached us with a certificate but is not a member or failed the seed
        /// proof: a security event (false for our own failed dials and transport errors).
        untrusted: bool,
    },
}

/// Why [`Links::send`] did not queue a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// No link to this peer is up.
    #[error("no sync link to {0} is up")]
    NotConnected(String),
    /// The frame cannot be encoded (its body is over the frame cap).
    #[error("frame not sent: {0}")]
    Frame(FrameError),
    /// The kind is the handshake's and cannot be sent on an established link.
    #[error("message kind {0} is reserved for the seed proof")]
    ReservedKind(u64),
    /// The link manager has been shut down.
    #[error("the link manager is shut down")]
    Closed,
}

/// Handle to the running link manager; cheap to clone.
#[derive(Clone)]
pub struct Links {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("own", &self.shared.own)
            .finish_non_exhaustive()
    }
}

impl Links {
    /// Starts the accept loop on `endpoint` (call inside a tokio runtime); events go to the
    /// returned receiver (bounded: a slow owner back-pressures the readers, hence QUIC).
    pub fn start(
        endpoint: QuicEndpoint,
        own_node_id: String,
        membership: Arc<dyn Membership>,
    ) -> (Links, mpsc::Receiver<LinkEvent>) {
        let (events, rx) = mpsc::channel(EVENT_CAPACITY);
        let span = info_span!("links", own = %short(&own_node_id));
        let shared = Arc::new(Shared::new(endpoint, own_node_id, membership, events));
        shared
            .runtime
            .spawn(shared.clone().accept_loop().instrument(span));
        (Links { shared }, rx)
    }

    /// Hands every incoming pairing connection (ALPN `mayros-pair/1`) to `tx` from now on.
    pub fn set_pairing_handler(&self, tx: mpsc::Sender<quinn::Connection>) {
        *self
            .shared
            .pairing
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(tx);
    }

    /// The QUIC endpoint (for dialing pairing sessions).
    pub fn endpoint(&self) -> &QuicEndpoint {
        &self.shared.endpoint
    }

    /// Keeps a link to `peer` at `addr`: dials now unless connected, and redials with
    /// exponential backoff (1 s doubling to 60 s, ±20 % jitter, reset on success) whenever it
    /// is down, until `unwant`. Calling again with a new addr updates the address (and dials it
    /// now if the link is down); calling again with the same addr changes nothing.
    pub fn want(&self, peer: &str, addr: SocketAddr) {
        let shared = &self.shared;
        let mut st = shared.lock();
        if st.closed {
            return;
        }
        if let Some(want) = st.wants.get(peer) {
            want.addr.send_if_modified(|a| {
                let changed = *a != addr;
                *a = addr;
                changed
            });
            return;
        }
        let (addr_tx, addr_rx) = watch::channel(addr);
        let down = Arc::new(Notify::new());
        let span = info_span!("want", peer = %short(peer));
        let task = shared.runtime.spawn(
            shared
                .clone()
                .keep_wanted(peer.to_string(), addr_rx, down.clone())
                .instrument(span),
        );
        let want = Want {
            addr: addr_tx,
            down,
            task,
        };
        st.wants.insert(peer.to_string(), want);
    }

    /// Stops redialing `peer` and closes its link if any (its `Down` follows, reason "no longer wanted").
    pub fn unwant(&self, peer: &str) {
        let _span = info_span!("unwant", peer = %short(peer)).entered();
        let mut st = self.shared.lock();
        if let Some(want) = st.wants.remove(peer) {
            want.task.abort();
        }
        if let Some(session) = st.sessions.get_mut(peer) {
            if session.closing.is_none() {
                info!("closing the link: no longer wanted");
                let reason = "no longer wanted";
                session
                    .link
                    .conn
                    .close(CLOSE_LINK.into(), reason.as_bytes());
                session.closing = Some(reason.to_string());
            }
        }
    }

    /// Queues one frame to `peer` (encoded with `encode_frame`) on its link's writer task;
    /// Err(NotConnected) when no link is up; Err for a body over the frame cap.
    pub fn send(&self, peer: &str, kind: u64, body: &[u8]) -> Result<(), LinkError> {
        if kind == KIND_SEED_PROOF {
            return Err(LinkError::ReservedKind(kind));
        }
        let frame = encode_frame(kind, body).map_err(LinkError::Frame)?;
        let st = self.shared.lock();
        if st.closed {
            return Err(LinkError::Closed);
        }
        let session = st
            .sessions
            .get(peer)
            .filter(|s| s.is_up())
            .ok_or_else(|| LinkError::NotConnected(peer.to_string()))?;
        let len = frame.len();
        session.queued.fetch_add(len, Ordering::Relaxed);
        if session.tx.send(frame).is_err() {
            session.queued.fetch_sub(len, Ordering::Relaxed);
            return Err(LinkError::NotConnected(peer.to_string()));
        }
        Ok(())
    }

    /// Peers with a link up now, with their addresses (sorted by node id).
    pub fn connected(&self) -> Vec<(String, SocketAddr)> {
        let st = self.shared.lock();
        let mut up: Vec<_> = st
            .sessions
            .iter()
            .filter(|(_, s)| s.is_up())
            .map(|(peer, s)| (peer.clone(), s.link.addr))
            .collect();
        up.sort();
        up
    }

    /// Whether a link to `peer` is up.
    pub fn is_connected(&self, peer: &str) -> bool {
        self.shared
            .lock()
            .sessions
            .get(peer)
            .is_some_and(Session::is_up)
    }

    /// Bytes queued to `peer` and not yet written to QUIC (for flow control / metrics).
    pub fn queued_bytes(&self, peer: &str) -> usize {
        self.shared
            .lock()
            .sessions
            .get(peer)
            .map_or(0, |s| s.queued.load(Ordering::Relaxed))
    }

    /// Total application bytes written and read (frames incl. headers) since start: (out, in).
    pub fn byte_counters(&self) -> (u64, u64) {
        (
            self.shared.bytes_out.load(Ordering::Relaxed),
            self.shared.bytes_in.load(Ordering::Relaxed),
        )
    }

    /// The UDP address the endpoint is bound to.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.shared.endpoint.local_addr().ok()
    }

    /// Closes every link and the endpoint, stops all tasks (no events follow).
    pub fn shutdown(&self) {
        let shared = &self.shared;
        let (sessions, wants) = {
            let mut st = shared.lock();
            st.closed = true;
            (
                std::mem::take(&mut st.sessions),
                std::mem::take(&mut st.wants),
            )
        };
        info!(own = %short(&shared.own), "shutting down the link manager");
        for want in wants.into_values() {
            want.task.abort();
        }
        for session in sessions.values() {
            session.link.conn.close(CLOSE_LINK.into(), b"shutting down");
        }
        shared.stop.send_replace(true);
        shared.endpoint.close();
    }
}
