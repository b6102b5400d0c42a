//! The peer-facing HTTPS transport: a TLS server that tells handlers who connected, and a
//! client that pins the node id it dials.

pub mod client;
pub mod server;

pub use client::PeerSession;
pub use server::{serve, PeerConnInfo};

/// ALPN of the peer HTTPS API.
pub const HTTPS_ALPN: &[u8] = b"http/1.1";
/// Largest peer response or request body accepted (a delta page is bounded well below this).
pub const MAX_PEER_BODY: usize = 64 * 1024 * 1024;
