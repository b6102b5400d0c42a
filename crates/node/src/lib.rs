//! The tokio engine of Mayros Sync.
//!
//! It owns the store, serves the local API (embedded Cortex REST and the control API),
//! and decides the sync mode. Protocol decisions live in `mayros-sync-proto`; this crate
//! only moves bytes, timers and files.
#![warn(missing_docs)]

pub mod api;
pub mod clock;
pub mod cortex;
pub mod daemon;
pub mod discovery;
pub mod dto;
pub mod engine;
pub mod error;
pub mod events;
pub mod flood;
mod locks;
pub mod memory;
pub mod native;
pub mod paths;
pub mod peer;
pub mod private_files;
pub mod quic;
pub mod sync;
pub mod tls;

pub use daemon::{Daemon, DaemonInfo, DaemonOptions};
pub use engine::Engine;
pub use error::Error;
