//! The engine's typed contracts with its front ends (DESIGN §6.2): status, peers and every
//! event. The engine serializes them, the CLI and the tray deserialize them, and
//! `ui/src/engine_types.ts` is generated from them ([`typescript`]; a test fails while the committed
//! file is stale).

pub mod events;
pub mod status;
pub mod sync;

pub use events::{
    ConflictEvent, FailureEvent, MetricsEvent, NearbyChange, NearbyChangeKind, NearbyDevice,
    NearbySource, PairedDevice, PairingDetail, PairingEvent, PeerEvent, PeerLink, RecoveredPeer,
    RequestView, SessionView, StatusCause, StatusEvent,
};
pub use status::{
    CortexStatus, MirrorView, NativePeer, NativeStatus, PeerView, StatusSnapshot, SyncCounters,
};
pub use sync::{PullReport, SyncNowOutcome};

use mayros_sync_proto::syncstate::{OverallState, PeerSyncState, StateSummary};
use ts_rs::{Config, TS};

/// The command that rewrites `ui/src/engine_types.ts` from these types.
pub const BLESS_COMMAND: &str = "MAYROS_BLESS=1 cargo test -p mayros-sync-node --lib dto::tests";

/// One type's TypeScript declaration with its doc comment, `export`ed.
fn export<T: TS>(cfg: &Config) -> String {
    T::docs().unwrap_or_default() + "export " + &T::decl(cfg)
}

/// `export`ed TypeScript declarations of every DTO, in a stable order.
pub fn typescript() -> String {
    let cfg = Config::new().with_large_int("number");
    let decls = [
        export::<OverallState>(&cfg),
        export::<PeerSyncState>(&cfg),
        export::<StateSummary>(&cfg),
        export::<StatusSnapshot>(&cfg),
        export::<CortexStatus>(&cfg),
        export::<MirrorView>(&cfg),
        export::<SyncCounters>(&cfg),
        export::<PeerView>(&cfg),
        export::<NativeStatus>(&cfg),
        export::<NativePeer>(&cfg),
        export::<StatusEvent>(&cfg),
        export::<StatusCause>(&cfg),
        export::<MetricsEvent>(&cfg),
        export::<PeerEvent>(&cfg),
        export::<RecoveredPeer>(&cfg),
        export::<PeerLink>(&cfg),
        export::<FailureEvent>(&cfg),
        export::<PairingEvent>(&cfg),
        export::<PairingDetail>(&cfg),
        export::<PairedDevice>(&cfg),
        export::<RequestView>(&cfg),
        export::<SessionView>(&cfg),
        export::<ConflictEvent>(&cfg),
        export::<SyncNowOutcome>(&cfg),
        export::<PullReport>(&cfg),
        export::<NearbyChange>(&cfg),
        export::<NearbyChangeKind>(&cfg),
        export::<NearbyDevice>(&cfg),
        export::<NearbySource>(&cfg),
    ];
    let mut out = String::from(
        "// GENERATED from crates/node/src/dto (the engine's status and event types): do not edit.\n",
    );
    out.push_str(&format!("// Regenerate with: {BLESS_COMMAND}\n\n"));
    out.push_str(&format!(
        "/** Hex digits of a node id in its short form, as every front end shows it. */\nexport const NODE_ID_SHORT_LEN = {};\n\n",
        mayros_sync_proto::node_id::SHORT_LEN
    ));
    out.push_str("export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;\n");
    for d in decls {
        out.push_str(&d);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed `ui/src/engine_types.ts` is what [`typescript`] renders (`MAYROS_BLESS=1`
    /// rewrites it).
    #[test]
    fn types_ts_is_current() {
        let Ok(dir) = std::env::var("CARGO_MANIFEST_DIR") else {
            panic!("cargo sets CARGO_MANIFEST_DIR for tests")
        };
        let path = std::path::Path::new(&dir).join("../../ui/src/engine_types.ts");
        let want = typescript();
        if std::env::var_os("MAYROS_BLESS").is_some() {
            if let Err(e) = std::fs::write(&path, &want) {
                panic!("cannot write {}: {e}", path.display());
            }
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is stale: regenerate it with `{BLESS_COMMAND}`, then `npm run build`",
            path.display()
        );
    }
}
