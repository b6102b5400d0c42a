//! Cortex backends (DESIGN §3.3): the embedded Cortex (this engine's SQLite store, served as
//! the Cortex REST of §6.1) or an external AIngle-compatible sidecar (`cortex.url`), chosen
//! from the config at start and whenever `cortex.*` changes.
//!
//! Everything above the backend — mode selection, polled sync, status — asks [`Cortex`] for
//! the two probes of DESIGN §3.1 and a description; with an external backend the engine's
//! store is kept as a mirror of the sidecar by [`mirror`].

pub mod embedded;
pub mod external;
pub mod mirror;
mod mirror_state;
pub mod pacing;

use std::sync::Arc;
use std::time::Duration;

use mayros_sync_proto::config::CortexConfig;

use crate::error::Error;
pub use external::ExternalCortex;
pub use mirror::MirrorView;
pub use pacing::Rate;

/// Tunables of the external backend (the defaults fit the stock sidecar; tests shorten them).
#[derive(Debug, Clone, PartialEq)]
pub struct CortexOptions {
    /// Request pacing (stock: 100 a minute, burst 100).
    pub rate: Rate,
    /// Timeout of the health and stats probes (and of connecting).
    pub probe_timeout: Duration,
    /// Timeout of `p2p/status` (the stock P2P layer can stall for a minute).
    pub p2p_timeout: Duration,
    /// Timeout of one data request (a listing page, a batch, a delete).
    pub request_timeout: Duration,
    /// How long one data request keeps waiting for the pacer and retrying 429s before the
    /// pass gives up (its work is retried on the next pass, never dropped).
    pub write_deadline: Duration,
    /// Triples per listing page.
    pub page_size: usize,
    /// Largest batch body written (the stock limit is 1 MiB).
    pub max_batch_bytes: usize,
    /// How long a probe answers `sync status` before a new one is sent.
    pub status_cache: Duration,
}

impl Default for CortexOptions {
    fn default() -> CortexOptions {
        CortexOptions {
            rate: Rate::default(),
            probe_timeout: Duration::from_secs(5),
            p2p_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(30),
            write_deadline: Duration::from_secs(120),
            page_size: 10_000,
            // 1 MiB minus room for the request line and headers of a strict server.
            max_batch_bytes: 1024 * 1024 - 16 * 1024,
            status_cache: Duration::from_secs(5),
        }
    }
}

/// The Cortex this engine syncs.
#[derive(Debug, Clone)]
pub enum Cortex {
    /// The engine's own store, served as the Cortex REST of DESIGN §6.1.
    Embedded,
    /// A sidecar at `cortex.url`, mirrored into the engine's store.
    External(Arc<ExternalCortex>),
}

impl Cortex {
    /// The backend `cfg` selects: external when `cortex.url` is set.
    pub fn from_config(cfg: &CortexConfig, opts: &CortexOptions) -> Result<Cortex, Error> {
        match &cfg.url {
            None => Ok(Cortex::Embedded),
            Some(url) => Ok(Cortex::External(Arc::new(ExternalCortex::new(
                url,
                cfg.auth_token.clone(),
                opts.clone(),
            )?))),
        }
    }

    /// Whether this backend is the one `cfg` and `opts` select (so a config change that does
    /// not touch `cortex.*` keeps the client, its pacing and its mirror state).
    pub fn matches(&self, cfg: &CortexConfig, opts: &CortexOptions) -> bool {
        match (self, &cfg.url) {
            (Cortex::Embedded, None) => true,
            (Cortex::External(x), Some(url)) => {
                x.is_for(url, cfg.auth_token.as_deref()) && x.options() == opts
            }
            _ => false,
        }
    }

    /// The external client, if this is the external backend.
    pub fn external(&self) -> Option<&Arc<ExternalCortex>> {
        match self {
            Cortex::External(x) => Some(x),
            Cortex::Embedded => None,
        }
    }

    /// Whether this is the external backend.
    pub fn is_external(&self) -> bool {
        matches!(self, Cortex::External(_))
    }

    /// `"embedded"` or `"external"` (status JSON).
    pub fn backend(&self) -> &'static str {
        match self {
            Cortex::Embedded => "embedded",
            Cortex::External(_) => "external",
        }
    }
}
