//! Sans-IO core of Mayros Sync.
//!
//! Everything here is plain, deterministic Rust: no tokio, sockets, files or clock reads.
//! Time is always passed in by the caller.
#![warn(missing_docs)]

pub mod clickpair;
pub mod config;
pub mod config_migrate;
pub mod config_user;
pub mod conflict;
pub mod cursor;
pub mod delta;
pub mod encode;
pub mod error;
pub mod frame;
pub mod gossip;
pub mod hlc;
pub mod id;
pub mod invite;
pub mod jcs;
pub mod membership;
pub mod mode;
pub mod model;
pub mod namespace;
pub mod node_id;
pub mod peerauth;
pub mod peerstate;
pub mod ratelimit;
pub mod reconcile;
pub mod redact;
pub mod retention;
pub mod roster;
pub mod seedproof;
pub mod syncstate;
pub mod timefmt;
pub mod wake;

pub use error::Error;
pub use hlc::{Hlc, HlcClock};
pub use id::TripleId;
pub use model::{Triple, Value};
