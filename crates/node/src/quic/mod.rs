//! The QUIC transport of native mode (DESIGN §4): one UDP endpoint, mutual TLS with the device
//! certificates, ALPN `mayros-sync/1` for sync and `mayros-pair/1` for pairing, and the seed
//! proof bound to the TLS channel (§7.3) before any sync message flows.

pub mod endpoint;
pub mod handshake;
pub mod links;

pub use endpoint::{peer_node_id, QuicEndpoint};
pub use handshake::{accept_sync, dial_sync, HandshakeError};
pub use links::{LinkError, LinkEvent, Links, Membership};

/// ALPN of sync connections.
pub const SYNC_ALPN: &[u8] = b"mayros-sync/1";
/// ALPN of pairing connections (reachable without the seed).
pub const PAIR_ALPN: &[u8] = b"mayros-pair/1";
