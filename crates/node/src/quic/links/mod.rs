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

use std::collections::HashMap;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use mayros_sync_proto::frame::{encode_frame, FrameDecoder, FrameError};
use mayros_sync_proto::seedproof::GroupSeed;
use quinn::{Connection, ConnectionError, RecvStream, SendStream};
use rand::Rng;
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;
use tracing::{debug, info, info_span, warn, Instrument};

use super::endpoint::{alpn_of, peer_node_id, HANDSHAKE_TIMEOUT};
use super::handshake::{accept_sync, HandshakeError, CLOSE_REFUSED, KIND_SEED_PROOF};
use super::{QuicEndpoint, PAIR_ALPN, SYNC_ALPN};

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

/// Bytes asked of the stream per read.
const READ_CHUNK: usize = 64 * 1024;
/// Redial delays vary by this fraction either way.
const JITTER: f64 = 0.2;

/// Who may sync with us; implemented by the engine over its roster and group seed.
pub trait Membership: Send + Sync + 'static {
    /// Whether `node_id` is a roster member allowed to open a sync connection.
    fn is_member(&self, node_id: &str) -> bool;
    /// The current group seed; `None` while this device is in no group (refuse every sync connection).
    fn seed(&self) -> Option<GroupSeed>;
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

/// Redial delays: [`BACKOFF_MIN`] doubling to [`BACKOFF_MAX`], each with ±20 % jitter.
#[derive(Debug, Clone)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    /// A backoff at its first step.
    fn new() -> Backoff {
        Backoff { next: BACKOFF_MIN }
    }

    /// The delay to wait now; the following one doubles.
    fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (base * 2).min(BACKOFF_MAX);
        base.mul_f64(rand::thread_rng().gen_range(1.0 - JITTER..=1.0 + JITTER))
    }

    /// Back to the first step (after a link came up).
    fn reset(&mut self) {
        self.next = BACKOFF_MIN;
    }
}

/// Whether a link dialed by `dialer` wins over one dialed by `other`: the smaller node id
/// (lowercase hex) wins, so both sides agree.
fn dialer_wins(dialer: &str, other: &str) -> bool {
    dialer.to_ascii_lowercase() < other.to_ascii_lowercase()
}

/// The id prefix used in logs.
fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// A read or write failure named with its cause (quinn's own text drops the close reason).
fn lost(what: &str, err: &dyn std::fmt::Display, conn: Option<ConnectionError>) -> String {
    match conn {
        Some(ConnectionError::LocallyClosed) | None => format!("{what} failed: {err}"),
        Some(cause) => format!("{what} failed: {cause}"),
    }
}

/// The current link of a session.
struct LinkSlot {
    id: u64,
    conn: Connection,
    addr: SocketAddr,
}

/// One peer's session: from `Up` to `Down`.
struct Session {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    link: LinkSlot,
    /// Whether we dialed the link.
    dialed: bool,
    /// Set by `unwant`: the session is closing, with this reason.
    closing: Option<String>,
}

impl Session {
    /// Whether the session counts as up (not being closed).
    fn is_up(&self) -> bool {
        self.closing.is_none()
    }
}

/// A peer the owner wants linked.
struct Want {
    addr: watch::Sender<SocketAddr>,
    /// Woken when the peer's session ends or an accepted handshake from it fails.
    down: Arc<Notify>,
    task: JoinHandle<()>,
}

/// Everything guarded by the state lock (never held across an await).
#[derive(Default)]
struct State {
    closed: bool,
    sessions: HashMap<String, Session>,
    wants: HashMap<String, Want>,
    /// Peers we are dialing now (connect and seed proof under way).
    dialing: HashSet<String>,
    /// Accepted connections per peer whose seed proof is under way.
    accepting: HashMap<String, usize>,
}

impl State {
    /// Whether `peer` has a session up or an accepted handshake under way.
    fn linked_or_accepting(&self, peer: &str) -> bool {
        self.sessions.get(peer).is_some_and(Session::is_up)
            || self.accepting.get(peer).is_some_and(|n| *n > 0)
    }

    /// Wakes the redialer of `peer`, if wanted.
    fn wake(&self, peer: &str) {
        if let Some(want) = self.wants.get(peer) {
            want.down.notify_one();
        }
    }
}

/// What every task of the link manager shares.
struct Shared {
    endpoint: QuicEndpoint,
    own: String,
    membership: Arc<dyn Membership>,
    events: mpsc::Sender<LinkEvent>,
    /// Held while a state change and its event are delivered, so events keep the state's order.
    order: tokio::sync::Mutex<()>,
    state: Mutex<State>,
    stop: watch::Sender<bool>,
    runtime: tokio::runtime::Handle,
    next_id: AtomicU64,
    bytes_out: AtomicU64,
    bytes_in: AtomicU64,
    /// Where pairing connections (ALPN `mayros-pair/1`) go; refused while unset.
    pairing: Mutex<Option<mpsc::Sender<quinn::Connection>>>,
    /// Per-address limits on new connections, pairing requests and failed seed proofs.
    flood: crate::flood::Floodgate,
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
        let shared = Arc::new(Shared {
            endpoint,
            own: own_node_id,
            membership,
            events,
            order: tokio::sync::Mutex::new(()),
            state: Mutex::new(State::default()),
            stop: watch::channel(false).0,
            runtime: tokio::runtime::Handle::current(),
            next_id: AtomicU64::new(1),
            bytes_out: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            pairing: Mutex::new(None),
            flood: crate::flood::Floodgate::new(),
        });
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

/// Marks a dial to a peer as under way; released on drop (also when the dial is cancelled).
struct DialGuard {
    shared: Arc<Shared>,
    peer: String,
}

impl Drop for DialGuard {
    fn drop(&mut self) {
        self.shared.lock().dialing.remove(&self.peer);
    }
}

/// Marks an accepted handshake from a peer as under way; released on drop.
struct AcceptGuard {
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
    /// The state, even if a thread panicked while holding it.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends one event unless shut down; false if it could not be delivered.
    async fn deliver(&self, event: LinkEvent) -> bool {
        let mut stop = self.stop.subscribe();
        if *stop.borrow_and_update() {
            return false;
        }
        tokio::select! {
            sent = self.events.send(event) => sent.is_ok(),
            _ = stop.wait_for(|s| *s) => false,
        }
    }

    /// Reports a refused or failed connection.
    async fn refused(
        &self,
        addr: SocketAddr,
        node_id: Option<String>,
        reason: String,
        untrusted: bool,
    ) {
        warn!(%addr, node_id = node_id.as_deref().map(short), %reason, untrusted, "connection refused");
        self.deliver(LinkEvent::Refused {
            addr,
            node_id,
            reason,
            untrusted,
        })
        .await;
    }

    /// Delivers a frame read on link `id`, unless that link is no longer `peer`'s live link.
    async fn emit_frame(&self, peer: &str, id: u64, kind: u64, body: Vec<u8>) -> bool {
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
    async fn end_link(&self, peer: &str, id: u64, reason: String) {
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

    /// Starts a dial to `peer` unless a session is up or a handshake with it is under way.
    fn begin_dial(self: &Arc<Self>, peer: &str) -> Option<DialGuard> {
        let mut st = self.lock();
        if st.closed || st.linked_or_accepting(peer) || !st.dialing.insert(peer.to_string()) {
            return None;
        }
        Some(DialGuard {
            shared: self.clone(),
            peer: peer.to_string(),
        })
    }

    /// Lets the handshake of a connection dialed by `peer` proceed, unless it would duplicate
    /// a link we dialed and it loses the tie-break (then `Err` with the reason).
    fn begin_accept(self: &Arc<Self>, peer: &str) -> Result<AcceptGuard, String> {
        let mut st = self.lock();
        if st.closed {
            return Err("shutting down".to_string());
        }
        let ours_up = st.sessions.get(peer).is_some_and(|s| s.is_up() && s.dialed);
        if !dialer_wins(peer, &self.own) && (ours_up || st.dialing.contains(peer)) {
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
    async fn install(
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
        let order = self.order.lock().await;
        let events = {
            let mut st = self.lock();
            if st.closed {
                conn.close(CLOSE_LINK.into(), b"shutting down");
                return false;
            }
            if dialed && !st.wants.contains_key(&peer) {
                conn.close(CLOSE_LINK.into(), b"no longer wanted");
                return false;
            }
            let mut events = Vec::new();
            if let Some(old) = st.sessions.remove(&peer) {
                let reason = old
                    .closing
                    .unwrap_or_else(|| "superseded by a new connection".to_string());
                info!(%reason, "ending the previous session");
                old.link.conn.close(CLOSE_LINK.into(), reason.as_bytes());
                events.push(LinkEvent::Down {
                    peer: peer.clone(),
                    reason,
                });
            }
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
            st.sessions.insert(peer.clone(), session);
            events.push(LinkEvent::Up {
                peer: peer.clone(),
                addr,
                dialed,
            });
            events
        };
        for event in events {
            info!(?event, "link event");
            self.deliver(event).await;
        }
        drop(order);
        let ctx = Arc::new(LinkCtx {
            shared: self.clone(),
            peer,
            id,
            conn,
        });
        let span = info_span!("link", peer = %short(&ctx.peer), link = id);
        let (send, recv) = streams;
        self.runtime
            .spawn(ctx.clone().run_reader(recv).instrument(span.clone()));
        self.runtime
            .spawn(ctx.run_writer(send, rx, queued).instrument(span));
        true
    }

    /// Accepts connections until the endpoint closes; each is handled on its own task.
    async fn accept_loop(self: Arc<Self>) {
        let mut stop = self.stop.subscribe();
        loop {
            let incoming = tokio::select! {
                incoming = self.endpoint.accept() => incoming,
                _ = stop.wait_for(|s| *s) => None,
            };
            let Some(incoming) = incoming else { break };
            let addr = incoming.remote_address();
            // Before any handshake work: a flood from one address costs one refusal packet each.
            if let Err(reason) = self.flood.admit_connection(addr.ip()) {
                debug!(%addr, %reason, "connection refused before the handshake");
                incoming.refuse();
                continue;
            }
            let span = info_span!("accept", %addr, peer = tracing::field::Empty);
            self.runtime
                .spawn(self.clone().accept_one(incoming, addr).instrument(span));
        }
        debug!("accept loop ended");
    }

    /// Handles one incoming connection; refusals are reported.
    async fn accept_one(self: Arc<Self>, incoming: quinn::Incoming, addr: SocketAddr) {
        match self.try_accept(incoming).await {
            Ok(()) => {}
            Err(Refusal::Duplicate(reason)) => debug!(%reason, "duplicate link closed"),
            Err(Refusal::Limited(reason)) => debug!(%reason, "connection refused by a flood limit"),
            Err(Refusal::Refused(node_id, reason)) => {
                self.refused(addr, node_id, reason, false).await
            }
            Err(Refusal::Untrusted(node_id, reason)) => {
                self.flood.proof_failed(addr.ip());
                self.refused(addr, node_id, reason, true).await
            }
        }
    }

    /// Completes the QUIC handshake and the seed proof of an incoming sync connection.
    async fn try_accept(self: &Arc<Self>, incoming: quinn::Incoming) -> Result<(), Refusal> {
        let refused = |reason: String| Refusal::Refused(None, reason);
        let connecting = incoming
            .accept()
            .map_err(|e| refused(format!("cannot accept: {e}")))?;
        let conn = match tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(refused(format!("QUIC handshake failed: {e}"))),
            Err(_) => return Err(refused("QUIC handshake timed out".to_string())),
        };
        let node_id = peer_node_id(&conn);
        if let Some(id) = &node_id {
            tracing::Span::current().record("peer", short(id));
        }
        let refuse = |reason: String| {
            conn.close(CLOSE_REFUSED.into(), reason.as_bytes());
            Err(Refusal::Refused(node_id.clone(), reason))
        };
        match alpn_of(&conn).as_deref() {
            Some(alpn) if alpn == SYNC_ALPN => {}
            Some(alpn) if alpn == PAIR_ALPN => {
                if let Err(reason) = self.flood.admit_pair_request(conn.remote_address().ip()) {
                    conn.close(CLOSE_REFUSED.into(), reason.as_bytes());
                    return Err(Refusal::Limited(reason));
                }
                let handler = self
                    .pairing
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                return match handler {
                    Some(tx) => match tx.try_send(conn.clone()) {
                        Ok(()) => Ok(()),
                        Err(_) => refuse("too many pairing sessions at once".to_string()),
                    },
                    None => refuse(PAIRING_UNAVAILABLE.to_string()),
                };
            }
            _ => return refuse("no supported ALPN".to_string()),
        }
        let Some(seed) = self.membership.seed() else {
            return refuse("this device is in no sync group".to_string());
        };
        let Some(peer) = node_id.clone() else {
            return refuse(HandshakeError::NoCertificate.to_string());
        };
        if peer == self.own {
            return refuse("connection from this device's own node id".to_string());
        }
        let guard = match self.begin_accept(&peer) {
            Ok(guard) => guard,
            Err(reason) => {
                conn.close(CLOSE_DUPLICATE.into(), reason.as_bytes());
                return Err(Refusal::Duplicate(reason));
            }
        };
        let membership = self.membership.clone();
        let is_member = move |id: &str| membership.is_member(id);
        let proof = accept_sync(&conn, &seed, &self.own, is_member);
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, proof).await {
            Ok(Ok((peer, send, recv))) => {
                self.install(peer, conn, (send, recv), false).await;
                drop(guard);
                Ok(())
            }
            Ok(Err(e @ (HandshakeError::NotAMember(_) | HandshakeError::BadProof))) => {
                let reason = e.to_string();
                conn.close(CLOSE_REFUSED.into(), reason.as_bytes());
                Err(Refusal::Untrusted(node_id.clone(), reason))
            }
            Ok(Err(e)) => refuse(e.to_string()),
            Err(_) => refuse("the seed proof exchange timed out".to_string()),
        }
    }

    /// Keeps `peer` linked while wanted: dials when down, with backoff between attempts.
    async fn keep_wanted(
        self: Arc<Self>,
        peer: String,
        mut addr: watch::Receiver<SocketAddr>,
        down: Arc<Notify>,
    ) {
        let mut backoff = Backoff::new();
        let mut delay: Option<Duration> = None;
        loop {
            let linked = self.lock().linked_or_accepting(&peer);
            if linked {
                backoff.reset();
                tokio::select! {
                    _ = down.notified() => delay = Some(backoff.next_delay()),
                    changed = addr.changed() => if changed.is_err() { return },
                }
                continue;
            }
            if let Some(wait) = delay.take() {
                debug!(?wait, "redialing after backoff");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    changed = addr.changed() => if changed.is_err() { return },
                }
                continue;
            }
            let target = *addr.borrow_and_update();
            tokio::select! {
                linked = self.dial(&peer, target) => if !linked {
                    delay = Some(backoff.next_delay());
                },
                changed = addr.changed() => if changed.is_err() { return },
            }
        }
    }

    /// Dials `peer` at `addr` once; failures are reported as `Refused`. True if a link came up.
    async fn dial(self: &Arc<Self>, peer: &str, addr: SocketAddr) -> bool {
        let Some(guard) = self.begin_dial(peer) else {
            // Linked meanwhile, or a handshake with the peer is under way: nothing to do now.
            return self.lock().linked_or_accepting(peer);
        };
        debug!(%addr, "dialing");
        match self.try_dial(peer, addr).await {
            Ok((conn, streams)) => {
                // A cancelled dial must not cut an install short: it runs on its own task,
                // which keeps the dial marked until the link is in place.
                let (shared, peer) = (self.clone(), peer.to_string());
                let install = async move {
                    let linked = shared.install(peer, conn, streams, true).await;
                    drop(guard);
                    linked
                };
                let task = self.runtime.spawn(install.in_current_span());
                task.await.unwrap_or(false)
            }
            Err(Refusal::Duplicate(reason)) => {
                debug!(%reason, "our dial lost to the peer's");
                false
            }
            Err(
                Refusal::Refused(_, reason)
                | Refusal::Untrusted(_, reason)
                | Refusal::Limited(reason),
            ) => {
                self.refused(addr, Some(peer.to_string()), reason, false)
                    .await;
                false
            }
        }
    }

    /// Connects, pins the peer's node id, and proves the seed.
    async fn try_dial(
        self: &Arc<Self>,
        peer: &str,
        addr: SocketAddr,
    ) -> Result<(Connection, (SendStream, RecvStream)), Refusal> {
        let refused = |reason: String| Refusal::Refused(Some(peer.to_string()), reason);
        if !self.membership.is_member(peer) {
            return Err(refused(format!(
                "node {peer} is not a member of this sync group"
            )));
        }
        let seed = self
            .membership
            .seed()
            .ok_or_else(|| refused("this device is in no sync group".to_string()))?;
        let conn = self
            .endpoint
            .connect(addr, peer, SYNC_ALPN)
            .await
            .map_err(|e| refused(e.to_string()))?;
        let proof = super::handshake::dial_sync(&conn, &seed, &self.own);
        let streams = match tokio::time::timeout(HANDSHAKE_TIMEOUT, proof).await {
            Ok(Ok(streams)) => streams,
            Ok(Err(e)) => {
                if let Some(ConnectionError::ApplicationClosed(close)) = conn.close_reason() {
                    let reason = String::from_utf8_lossy(&close.reason).into_owned();
                    if close.error_code == CLOSE_DUPLICATE.into() {
                        return Err(Refusal::Duplicate(reason));
                    }
                    return Err(refused(format!("the peer refused: {reason}")));
                }
                conn.close(CLOSE_REFUSED.into(), e.to_string().as_bytes());
                return Err(refused(e.to_string()));
            }
            Err(_) => {
                conn.close(CLOSE_REFUSED.into(), b"seed proof timed out");
                return Err(refused("the seed proof exchange timed out".to_string()));
            }
        };
        Ok((conn, streams))
    }
}

/// Why a connection did not become a link.
enum Refusal {
    /// Refused (reported as [`LinkEvent::Refused`]), with the remote node id when known.
    Refused(Option<String>, String),
    /// Refused because the remote is not a member or failed the seed proof (reported as a
    /// [`LinkEvent::Refused`] with `untrusted`).
    Untrusted(Option<String>, String),
    /// A duplicate of the link that wins the tie-break (not reported).
    Duplicate(String),
    /// Over a flood limit of its source address (not reported, so a flood raises no events).
    Limited(String),
}

/// What a link's reader and writer know about their link.
struct LinkCtx {
    shared: Arc<Shared>,
    peer: String,
    id: u64,
    conn: Connection,
}

impl LinkCtx {
    /// Reads the link's stream into frames, in order, until it ends; then ends the session.
    async fn run_reader(self: Arc<Self>, mut recv: RecvStream) {
        if let Some(reason) = self.read_frames(&mut recv).await {
            self.shared.end_link(&self.peer, self.id, reason).await;
        }
        debug!("reader ended");
    }

    /// Decodes and delivers frames; returns why the link ended, or `None` if its frames are
    /// no longer wanted (session gone, or shutting down).
    async fn read_frames(&self, recv: &mut RecvStream) -> Option<String> {
        let mut dec = FrameDecoder::new();
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            loop {
                match dec.next_frame() {
                    Ok(Some(frame)) if frame.kind == KIND_SEED_PROOF => {
                        debug!("ignoring a seed proof frame after the handshake");
                    }
                    Ok(Some(frame)) => {
                        let (kind, body) = (frame.kind, frame.body);
                        if !self
                            .shared
                            .emit_frame(&self.peer, self.id, kind, body)
                            .await
                        {
                            return None;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        warn!(error = %e, "malformed frame: closing the link");
                        return Some(format!("malformed frame from the peer: {e}"));
                    }
                }
            }
            match recv.read(&mut buf).await {
                Ok(Some(n)) => {
                    self.shared.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
                    dec.push(&buf[..n]);
                }
                Ok(None) if dec.buffered() == 0 => {
                    return Some("the peer closed the sync stream".to_string())
                }
                Ok(None) => return Some("the peer ended the stream inside a frame".to_string()),
                Err(e) => return Some(lost("reading", &e, self.conn.close_reason())),
            }
        }
    }

    /// Writes the peer's queued frames in order until the session ends or a write fails.
    async fn run_writer(
        self: Arc<Self>,
        mut send: SendStream,
        mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
        queued: Arc<AtomicUsize>,
    ) {
        while let Some(frame) = rx.recv().await {
            let len = frame.len();
            let written = send.write_all(&frame).await;
            queued.fetch_sub(len, Ordering::Relaxed);
            if let Err(e) = written {
                let reason = lost("writing", &e, self.conn.close_reason());
                self.shared.end_link(&self.peer, self.id, reason).await;
                return;
            }
            self.shared
                .bytes_out
                .fetch_add(len as u64, Ordering::Relaxed);
        }
        debug!("writer ended");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_with_jitter_and_resets() {
        let mut b = Backoff::new();
        let mut bases = Vec::new();
        for _ in 0..10 {
            let base = b.next;
            let d = b.next_delay();
            assert!(
                d >= base.mul_f64(0.8) && d <= base.mul_f64(1.2),
                "{d:?} vs {base:?}"
            );
            bases.push(base.as_secs());
        }
        assert_eq!(bases, [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
        b.reset();
        assert_eq!(b.next, BACKOFF_MIN);
    }

    #[test]
    fn the_tie_break_is_the_same_from_both_sides() {
        let (small, large) = ("0a", "0B");
        assert!(dialer_wins(small, large));
        assert!(!dialer_wins(large, small));
        assert!(dialer_wins("AB", "ac"));
    }
}
