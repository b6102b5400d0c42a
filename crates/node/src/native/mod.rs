//! Native mode (DESIGN §4): the QUIC endpoint's sync links driven by the sans-IO gossip
//! machine of `mayros_sync_proto::gossip::node`.
//!
//! One driver thread owns the machine and the [`replica::StoreReplica`]; it waits at once on
//! link events (straight from [`crate::quic::links`]), on local-write notifications and
//! commands, and on the machine's next timer, and hands every message the machine emits to the
//! link layer. The link layer's tokio tasks only move bytes; the driver's store calls wait on
//! its own thread, never on the engine's runtime.

pub mod driver;
pub mod handle;
pub mod replica;
pub mod status;

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, Notify};

use mayros_sync_proto::seedproof::GroupSeed;

use crate::engine::Engine;
use crate::error::Error;
use crate::quic::links::{Links, Membership};
use crate::quic::QuicEndpoint;
pub use handle::{Input, Native, INPUT_CAPACITY};
pub use status::NativeStatus;

/// Roster membership and seed for the link layer, read live from the engine's group.
struct EngineMembership {
    engine: Arc<Engine>,
}

impl Membership for EngineMembership {
    fn is_member(&self, node_id: &str) -> bool {
        let group = self.engine.group();
        group.seed().is_some() && group.roster.is_member(node_id)
    }

    fn seed(&self) -> Option<GroupSeed> {
        self.engine.group().seed().cloned()
    }

    fn accepted_seeds(&self) -> Vec<GroupSeed> {
        let now_ms = self.engine.clock().now_ms();
        self.engine.group().seeds.accepted(now_ms)
    }
}

impl Native {
    /// Starts the link manager on `endpoint` and the driver thread.
    pub fn start(engine: Arc<Engine>, endpoint: QuicEndpoint) -> Result<Native, Error> {
        let addr = endpoint.local_addr()?;
        let membership = Arc::new(EngineMembership {
            engine: Arc::clone(&engine),
        });
        // Link events go straight to the driver; their channel is bounded, so a busy driver
        // back-pressures the link readers, hence QUIC.
        let (links, link_events) =
            Links::start(endpoint, engine.identity().node_id.clone(), membership);
        let (tx, inputs) = mpsc::channel::<Input>(INPUT_CAPACITY);
        let stop = Arc::new(Notify::new());
        let status = Arc::new(Mutex::new(NativeStatus::new(addr)));
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
        let driver_stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("mayros-gossip".into())
            .spawn(move || driver.run(inputs, link_events, driver_stop))
            .map_err(|e| Error::Task(format!("cannot start the gossip thread: {e}")))?;
        Ok(Native::new(links, tx, stop, status, addr))
    }
}
