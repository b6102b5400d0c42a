//! The one error type of the proto crate.

/// Everything that can go wrong in the sans-IO core.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A triple id was not 64 hexadecimal digits.
    #[error("invalid triple id {input:?}: expected 64 hexadecimal digits")]
    InvalidTripleId {
        /// The text that failed to parse.
        input: String,
    },
    /// An HLC stamp was not 16 hexadecimal digits.
    #[error("invalid HLC stamp {input:?}: expected 16 hexadecimal digits")]
    InvalidHlc {
        /// The text that failed to parse.
        input: String,
    },
    /// A triple or object value was rejected.
    #[error("invalid {field}: {reason}")]
    InvalidValue {
        /// Which field was wrong (`subject`, `predicate`, `object`, …).
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A configuration key had a wrong type, bad value or was unknown.
    #[error("config key `{key}`: {reason}")]
    Config {
        /// Dotted key path, e.g. `sync.intervalSeconds`.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A delta `since` value was neither a `c1.` cursor nor an RFC 3339 time.
    #[error("invalid since {input:?}: {reason}")]
    InvalidSince {
        /// The text that failed to parse.
        input: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// An invite code could not be decoded.
    #[error("invalid invite code: {reason}")]
    InvalidInvite {
        /// Why it was rejected.
        reason: String,
    },
    /// A roster entry failed verification.
    #[error("invalid roster entry for {node_id}: {reason}")]
    InvalidRosterEntry {
        /// The node the entry is about.
        node_id: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A node id was not 64 lowercase hex digits of an Ed25519 key.
    #[error("{input:?} is not a node id (64 lowercase hex digits of an Ed25519 key)")]
    InvalidNodeId {
        /// The start of the text that failed to parse.
        input: String,
    },
    /// A configuration document was not valid JSON.
    #[error("config is not valid JSON: {0}")]
    ConfigSyntax(String),
}
