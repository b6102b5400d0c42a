//! What every task of the link manager shares, how events reach the owner, and why a
//! connection can fail to become a link.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

use quinn::Connection;
use tokio::sync::{mpsc, watch};
use tracing::warn;

use super::table::State;
use super::{short, LinkEvent, Membership};
use crate::quic::handshake::CLOSE_REFUSED;
use crate::quic::QuicEndpoint;

/// What every task of the link manager shares.
pub(super) struct Shared {
    /// The QUIC endpoint links are accepted and dialed on.
    pub(super) endpoint: QuicEndpoint,
    /// This device's node id.
    pub(super) own: String,
    /// Who may sync with us.
    pub(super) membership: Arc<dyn Membership>,
    /// Where events go to the owner.
    pub(super) events: mpsc::Sender<LinkEvent>,
    /// Held while a state change and its event are delivered, so events keep the state's order.
    pub(super) order: tokio::sync::Mutex<()>,
    /// The link table.
    pub(super) state: Mutex<State>,
    /// Set to true on shutdown.
    pub(super) stop: watch::Sender<bool>,
    /// The runtime every task of the manager runs on.
    pub(super) runtime: tokio::runtime::Handle,
    /// Id of the next link installed.
    pub(super) next_id: AtomicU64,
    /// Application bytes written on all links.
    pub(super) bytes_out: AtomicU64,
    /// Application bytes read on all links.
    pub(super) bytes_in: AtomicU64,
    /// Where pairing connections (ALPN `mayros-pair/1`) go; refused while unset.
    pub(super) pairing: Mutex<Option<mpsc::Sender<quinn::Connection>>>,
    /// Per-address limits on new connections, pairing requests and failed seed proofs.
    pub(super) flood: crate::flood::Floodgate,
}

impl Shared {
    /// A fresh manager on the current tokio runtime, with no links and no wanted peers.
    pub(super) fn new(
        endpoint: QuicEndpoint,
        own: String,
        membership: Arc<dyn Membership>,
        events: mpsc::Sender<LinkEvent>,
    ) -> Shared {
        Shared {
            endpoint,
            own,
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
        }
    }

    /// The state, even if a thread panicked while holding it.
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends one event unless shut down; false if it could not be delivered.
    pub(super) async fn deliver(&self, event: LinkEvent) -> bool {
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
    pub(super) async fn refused(
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
}

/// Why a connection did not become a link.
pub(super) enum Refusal {
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

impl Refusal {
    /// Closes `conn` as refused, telling the remote `reason`, and names the refusal.
    pub(super) fn close(conn: &Connection, node_id: Option<String>, reason: String) -> Refusal {
        conn.close(CLOSE_REFUSED.into(), reason.as_bytes());
        Refusal::Refused(node_id, reason)
    }
}
