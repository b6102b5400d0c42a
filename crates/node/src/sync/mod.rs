//! Polled sync (DESIGN §5, §7): the group (seed and roster), the peer HTTPS API, pairing by
//! invite, pulling deltas from peers, the PeerManager and the scheduler; tombstone collection
//! and the review queue (DESIGN §2.3).
//!
//! Decisions are made by `mayros-sync-proto` (authentication, conflicts, backoff) and
//! `mayros-sync-store` (apply rules); this module moves requests and timers.

pub mod clickpair;
pub mod clickpair_state;
pub mod group;
pub mod pairing;
pub mod peer_api;
pub mod peers;
pub mod pull;
pub mod retention;
pub mod scheduler;
pub mod seeds;
pub mod state;

pub use group::{Group, GroupCell, SeedKeeper, GROUP_SEED_SECRET};
pub use state::{SyncState, AUTH_REJECTED_COUNTER, CONFLICTS_SEEN_COUNTER};
