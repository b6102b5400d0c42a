//! The engine's handle to the running native layer: what it tells the gossip driver, and the
//! figures and links it reads back. Started by [`super::Native::start`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, Notify};

use super::status::NativeStatus;
use crate::quic::links::Links;
use crate::quic::QuicEndpoint;

/// What the driver thread is told by the engine.
#[derive(Debug)]
pub enum Input {
    /// The local store changed (push what this device wrote).
    LocalWrite,
    /// The config or the stored peers (status, addresses) changed: re-read them. (Mode,
    /// pause and the group wake the driver through their own subscriptions.)
    Reconfigure,
    /// Start a round with every idle peer now.
    RoundNow,
    /// `node` was removed from the group and the seed rotated: tell the members.
    Unpaired(String),
}

/// Inputs waiting for the driver; a full queue drops notifications, which its tick re-derives.
pub const INPUT_CAPACITY: usize = 4096;

/// Handle to the running native layer.
#[derive(Clone)]
pub struct Native {
    links: Links,
    tx: mpsc::Sender<Input>,
    stop: Arc<Notify>,
    status: Arc<Mutex<NativeStatus>>,
    addr: SocketAddr,
}

impl std::fmt::Debug for Native {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Native")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Native {
    /// The handle over a started link layer and driver.
    pub(super) fn new(
        links: Links,
        tx: mpsc::Sender<Input>,
        stop: Arc<Notify>,
        status: Arc<Mutex<NativeStatus>>,
        addr: SocketAddr,
    ) -> Native {
        Native {
            links,
            tx,
            stop,
            status,
            addr,
        }
    }

    fn send(&self, input: Input) {
        // A full channel means the driver is busy; a dropped notification is re-derived by
        // its periodic tick, so never block the caller.
        let _ = self.tx.try_send(input);
    }

    /// Tells the driver the local store changed.
    pub fn local_write(&self) {
        self.send(Input::LocalWrite);
    }

    /// Tells the driver to re-read mode, config, pause and roster.
    pub fn reconfigure(&self) {
        self.send(Input::Reconfigure);
    }

    /// Tells the members that `node` was removed and hands them the rotated seed.
    pub fn unpaired(&self, node: &str) {
        self.send(Input::Unpaired(node.to_string()));
    }

    /// Starts a round with every idle peer now.
    pub fn round_now(&self) {
        self.send(Input::RoundNow);
    }

    /// Dials `node_id` at `addr` and keeps the link up.
    pub fn dial(&self, node_id: &str, addr: SocketAddr) {
        self.links.want(node_id, addr);
    }

    /// Stops dialing `node_id` and closes its link.
    pub fn forget(&self, node_id: &str) {
        self.links.unwant(node_id);
    }

    /// The QUIC endpoint (pairing sessions dial through it).
    pub fn endpoint(&self) -> &QuicEndpoint {
        self.links.endpoint()
    }

    /// The bound UDP address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A snapshot of the gossip figures.
    pub fn status(&self) -> NativeStatus {
        let mut s = match self.status.lock() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let (out, inn) = self.links.byte_counters();
        s.bytes_out = out;
        s.bytes_in = inn;
        let connected = self.links.connected();
        for p in &mut s.peers {
            p.connected = connected.iter().any(|(id, _)| *id == p.node_id);
            if let Some((_, a)) = connected.iter().find(|(id, _)| *id == p.node_id) {
                p.addr = Some(a.to_string());
            }
        }
        s
    }

    /// Stops the driver and closes every link.
    pub fn shutdown(&self) {
        // A stored permit: the driver stops even if it is not waiting right now.
        self.stop.notify_one();
        self.links.shutdown();
    }
}
