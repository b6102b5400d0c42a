//! Native mode (DESIGN §4): the QUIC endpoint's sync links driven by the sans-IO gossip
//! machine of `mayros_sync_proto::gossip::node`.
//!
//! One driver thread owns the machine and the [`replica::StoreReplica`]; it is fed link events
//! (from [`crate::quic::links`]), local-write notifications and commands through one channel,
//! sleeps until the machine's next timer, and hands every message the machine emits to the
//! link layer. The link layer's tokio tasks only move bytes; SQLite work happens on this
//! thread, never on the async runtime.

pub mod driver;
pub mod replica;
pub mod status;

use std::net::SocketAddr;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};

use mayros_sync_proto::seedproof::GroupSeed;

use crate::engine::Engine;
use crate::error::Error;
use crate::quic::links::{LinkEvent, Links, Membership};
use crate::quic::QuicEndpoint;
pub use status::NativeStatus;

/// What the driver thread is told.
#[derive(Debug)]
pub enum Input {
    /// A link event.
    Link(LinkEvent),
    /// The local store changed (push what this device wrote).
    LocalWrite,
    /// Mode, config, pause or roster changed: re-read them.
    Reconfigure,
    /// Start a round with every idle peer now.
    RoundNow,
    /// `node` was removed from the group and the seed rotated: tell the members.
    Unpaired(String),
    /// Stop.
    Shutdown,
}

/// Roster membership and seed for the link layer, read live from the engine's group.
struct EngineMembership {
    engine: Arc<Engine>,
}

impl Membership for EngineMembership {
    fn is_member(&self, node_id: &str) -> bool {
        let group = self.engine.sync_state().group();
        group.seed().is_some() && group.roster.is_member(node_id)
    }

    fn seed(&self) -> Option<GroupSeed> {
        self.engine.sync_state().group().seed().cloned()
    }

    fn accepted_seeds(&self) -> Vec<GroupSeed> {
        let now_ms = self.engine.clock().now_ms();
        self.engine.sync_state().group().seeds.accepted(now_ms)
    }
}

/// Handle to the running native layer.
#[derive(Clone)]
pub struct Native {
    links: Links,
    tx: SyncSender<Input>,
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
    /// Starts the link manager on `endpoint` and the driver thread.
    pub fn start(engine: Arc<Engine>, endpoint: QuicEndpoint) -> Result<Native, Error> {
        let addr = endpoint.local_addr()?;
        let membership = Arc::new(EngineMembership {
            engine: Arc::clone(&engine),
        });
        let (links, mut events) =
            Links::start(endpoint, engine.identity().node_id.clone(), membership);
        let (tx, rx) = sync_channel::<Input>(4096);
        let status = Arc::new(Mutex::new(NativeStatus::new(addr)));
        // Bridge link events into the driver's channel; a full channel back-pressures the
        // link readers, which back-pressures QUIC.
        let bridge = tx.clone();
        std::thread::Builder::new()
            .name("mayros-links-bridge".into())
            .spawn(move || {
                while let Some(ev) = events.blocking_recv() {
                    if bridge.send(Input::Link(ev)).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| Error::Task(format!("cannot start the link bridge thread: {e}")))?;
        // Pairing connections (ALPN mayros-pair/1) are served by the engine, one task each.
        let (pair_tx, mut pair_rx) = tokio::sync::mpsc::channel::<quinn::Connection>(16);
        links.set_pairing_handler(pair_tx);
        let pairing_engine = Arc::clone(&engine);
        tokio::spawn(async move {
            while let Some(conn) = pair_rx.recv().await {
                tokio::spawn(Arc::clone(&pairing_engine).serve_pairing(conn));
            }
        });
        let driver = driver::Driver::new(Arc::clone(&engine), links.clone(), Arc::clone(&status))?;
        std::thread::Builder::new()
            .name("mayros-gossip".into())
            .spawn(move || driver.run(rx))
            .map_err(|e| Error::Task(format!("cannot start the gossip thread: {e}")))?;
        Ok(Native {
            links,
            tx,
            status,
            addr,
        })
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
        let _ = self.tx.send(Input::Shutdown);
        self.links.shutdown();
    }
}
