// GENERATED from crates/node/src/dto (the engine's status and event types): do not edit.
// Regenerate with: MAYROS_BLESS=1 cargo test -p mayros-sync-node --lib dto::tests

/** Hex digits of a node id in its short form, as every front end shows it. */
export const NODE_ID_SHORT_LEN = 12;

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;
/**
 * The engine's overall state: five of the tray's six states (the sixth, "error", is the
 * shell's: the engine cannot run).
 */
export type OverallState = "in-sync" | "syncing" | "paused" | "offline" | "attention";

/**
 * Where one paired device stands, as status shows it.
 */
export type PeerSyncState = "in-sync" | "syncing" | "failing" | "unreachable" | "paused" | "removed" | "offline";

/**
 * The overall state with its label and the facts behind it, as every front end shows it
 * (DESIGN §10, §13): the tray's icon and first menu line, the window's header, `sync status`.
 */
export type StateSummary = { 
/**
 * The overall state.
 */
state: OverallState, 
/**
 * Its label: "In sync", "Syncing", "Paused", "Offline" or "Needs attention".
 */
label: string, 
/**
 * What is behind it, most important first (e.g. "sync with bravo is failing: …",
 * "2 new conflicts", "1,200 to receive").
 */
details: Array<string>, 
/**
 * Paired devices that are reachable now.
 */
online: number, 
/**
 * Paired devices (removed ones do not count).
 */
paired: number, };

/**
 * A snapshot of the engine for `GET /api/v1/sync/status` and `mayros sync status --json`.
 */
export type Status = { 
/**
 * "native", "polled" or "none".
 */
mode: string, 
/**
 * The overall state (DESIGN §13): in-sync, syncing, paused, offline or attention.
 */
state: OverallState, 
/**
 * The overall state with its label and what is behind it, as every front end shows it.
 */
summary: StateSummary, 
/**
 * Why that mode was chosen.
 */
modeReason: string, 
/**
 * This device's node id.
 */
nodeId: string, 
/**
 * This device's name.
 */
name: string, 
/**
 * Engine version.
 */
version: string, 
/**
 * Seconds since the engine started.
 */
uptimeSeconds: number, 
/**
 * The Cortex this engine syncs.
 */
cortex: CortexStatus, 
/**
 * Where device secrets are kept ("keyring", "file" or "memory").
 */
secretStore: string, 
/**
 * Sync peers with their last sync and state.
 */
peers: Array<PeerView>, 
/**
 * Gossip statistics; null while native gossip does not run.
 */
gossip: Gossip | null, 
/**
 * Sync counters.
 */
sync: SyncCounters, 
/**
 * Number of nearby devices discovered.
 */
nearbyCount: number, 
/**
 * Number of logged conflicts.
 */
conflictsCount: number, 
/**
 * Conflicts logged since the user last looked at them (window or tray).
 */
unseenConflicts: number, 
/**
 * Number of items held for review.
 */
reviewCount: number, 
/**
 * Live triples in the local store.
 */
tripleCount: number, 
/**
 * Whether syncing is paused.
 */
paused: boolean, 
/**
 * Until when (RFC 3339); null while paused until resumed.
 */
pausedUntil: string | null, 
/**
 * Peer requests refused by authentication since the store was created.
 */
authRejected: number, 
/**
 * The bound peer API address, if served.
 */
peerApi: string | null, 
/**
 * The config file in force.
 */
configPath: string, 
/**
 * Human-readable warnings (config clamping, clock skew, …).
 */
warnings: Array<string>, };

/**
 * Cortex backend and health in the status snapshot.
 */
export type CortexStatus = { 
/**
 * "embedded" or "external".
 */
backend: string, 
/**
 * The Cortex URL (the local API for the embedded backend).
 */
url: string | null, 
/**
 * Whether the last health check passed.
 */
healthy: boolean, 
/**
 * The health detail (e.g. "12 triples"), or why it is unhealthy.
 */
message: string, 
/**
 * The Cortex's version (ours for the embedded one; the sidecar's `server.version` from
 * `/api/v1/stats` once it reported one).
 */
version: string | null, 
/**
 * Whether the external Cortex answered 429 in the last two minutes ("rate-limited by
 * Cortex").
 */
rateLimited: boolean, 
/**
 * 429 answers from the external Cortex since the backend was selected.
 */
rateLimitedCount: number, 
/**
 * The last `x-ratelimit-remaining` the external Cortex sent.
 */
rateLimitRemaining: number | null, 
/**
 * Requests sent to the external Cortex since the backend was selected.
 */
requests: number, 
/**
 * The external Cortex's `p2p/status` while its P2P is enabled.
 */
p2p: JsonValue | null, 
/**
 * Why the external Cortex's P2P is not available (404, a timeout, …).
 */
p2pReason: string | null, 
/**
 * The mirror of the external Cortex (null for the embedded one).
 */
mirror: MirrorView | null, 
/**
 * Who carries the sync of an external Cortex, in words (null for the embedded one): always
 * this engine, over its mirror; the sidecar's own P2P never syncs (DESIGN §3.3).
 */
syncedBy: string | null, };

/**
 * The mirror's figures for status.
 */
export type MirrorView = { 
/**
 * Completed cycles since the backend was selected.
 */
cycles: number, 
/**
 * When the last cycle completed (RFC 3339).
 */
lastCycleAt: string | null, 
/**
 * Triples the sidecar listed in the last cycle.
 */
listed: number, 
/**
 * Triples imported into the mirror by the last cycle.
 */
imported: number, 
/**
 * Triples deleted from the mirror by the last cycle (gone from the sidecar).
 */
deleted: number, 
/**
 * Triples written to the sidecar by the last cycle.
 */
pushed: number, 
/**
 * Deletions written to the sidecar by the last cycle.
 */
pushedDeletes: number, 
/**
 * Requests the last cycle's listing took.
 */
listRequests: number, 
/**
 * Whether the last listing could be used to detect deletions.
 */
complete: boolean, 
/**
 * Why the last cycle failed, if it did (cleared by a successful one).
 */
lastError: string | null, };

/**
 * Success and failure counters of sync attempts.
 */
export type SyncCounters = { 
/**
 * Completed syncs.
 */
totalSuccessfulSyncs: number, 
/**
 * Failed syncs.
 */
totalFailedSyncs: number, 
/**
 * When the last sync finished (RFC 3339), if any.
 */
lastSyncAt: string | null, };

/**
 * A peer as shown by `GET /api/v1/sync/peers` and `mayros sync peers --json` (DESIGN §8).
 */
export type PeerView = { 
/**
 * Node id.
 */
nodeId: string, 
/**
 * Device name.
 */
name: string, 
/**
 * Peer API endpoint.
 */
endpoint: string | null, 
/**
 * QUIC address (native mode).
 */
quicAddr: string | null, 
/**
 * Namespaces synced with it (empty: all).
 */
namespaces: Array<string>, 
/**
 * active, paused, unreachable or removed.
 */
status: string, 
/**
 * Last sync time (RFC 3339).
 */
lastSyncAt: string | null, 
/**
 * "ok" or "error".
 */
lastResult: string | null, 
/**
 * Completed syncs.
 */
totalSyncs: number, 
/**
 * Changes applied from it.
 */
totalTriplesSynced: number, 
/**
 * Consecutive failures.
 */
failures: number, 
/**
 * The last error.
 */
lastError: string | null, 
/**
 * Next retry (RFC 3339) while unreachable.
 */
nextRetryAt: string | null, 
/**
 * It missed deletions we collected after `sync.tombstoneMaxRetentionDays` (DESIGN §2.3):
 * our next sync with it is a full comparison whose old unknown items go to review.
 */
stale: boolean, 
/**
 * Where it stands (DESIGN §13): in-sync, syncing, failing, unreachable, paused, removed
 * or offline; computed by the engine, rendered as is by the CLI, window and tray (empty
 * in listings that do not compute it).
 */
state: PeerSyncState | "", 
/**
 * Why it is failing, unreachable or offline.
 */
stateReason: string | null, 
/**
 * Changes it said it queued for us that have not arrived (native mode; an estimate).
 */
toReceive: number, 
/**
 * Changes queued for it (native mode).
 */
toSend: number, };

/**
 * Gossip figures, refreshed by the driver after every step.
 */
export type Gossip = { 
/**
 * The bound UDP address.
 */
addr: string, 
/**
 * Whether this node starts rounds and pushes (native mode) or only answers.
 */
initiates: boolean, 
/**
 * Gossip rounds this node took part in (started or answered).
 */
round: number, 
/**
 * Local changes not yet sent to every connected peer.
 */
pendingAnnouncements: number, 
/**
 * Synced elements here (live ids plus tombstones).
 */
knownIds: number, 
/**
 * Live synced ids here.
 */
localIds: number, 
/**
 * Items in the last Bloom filter sent.
 */
bloomFilterItems: number, 
/**
 * Estimated false-positive rate of the last Bloom filter sent.
 */
bloomFilterFpr: number, 
/**
 * Rounds that ended in sync or reconciled.
 */
successfulSyncs: number, 
/**
 * Rounds abandoned.
 */
failedSyncs: number, 
/**
 * Changes sent (pushes and round transfers).
 */
changesSent: number, 
/**
 * Changes received.
 */
changesReceived: number, 
/**
 * Received changes that altered the store.
 */
changesApplied: number, 
/**
 * Differences found by exact reconciliation here.
 */
exactDifferences: number, 
/**
 * Differences found by listings here (large or unknown differences).
 */
listedDifferences: number, 
/**
 * Bytes received in the messages that find differences (summaries, filters, IBLT
 * symbols, listings; frame headers included, change payloads and acks excluded).
 */
reconcileBytesIn: number, 
/**
 * Sync-stream bytes written since start.
 */
bytesOut: number, 
/**
 * Sync-stream bytes read since start.
 */
bytesIn: number, 
/**
 * Roster peers with their link state.
 */
peers: Array<NativePeer>, 
/**
 * The last replica or decode error, if any.
 */
lastError: string | null, };

/**
 * One roster peer as native mode sees it.
 */
export type NativePeer = { 
/**
 * The peer's node id.
 */
nodeId: string, 
/**
 * Its QUIC address (the link's, or the last known).
 */
addr: string | null, 
/**
 * Whether a sync link is up.
 */
connected: boolean, 
/**
 * Duration of the last round this node started with it.
 */
lastRoundMs: number | null, 
/**
 * Changes queued for it.
 */
queuedChanges: number, 
/**
 * Changes it said it queued for us that have not arrived yet.
 */
toReceive: number, 
/**
 * Why the last round or dial with it failed (cleared by a good round).
 */
failing: string | null, 
/**
 * Why it has no link now: the link was lost, or our dial failed (cleared when a link is up).
 */
linkError: string | null, 
/**
 * A round proved the pair in sync since the link came up.
 */
provenInSync: boolean, };

/**
 * Payload of a `status` event: the mode changed, or a sync asked for started or ended.
 */
export type StatusEvent = { 
/**
 * What changed.
 */
cause: StatusCause, 
/**
 * The mode before, when the mode changed from a decided one.
 */
from: string | null, 
/**
 * The mode now.
 */
mode: string, 
/**
 * Why.
 */
modeReason: string, 
/**
 * Whether a sync asked for (`sync now`, a hook) runs now: status then says "Syncing".
 */
syncing: boolean, };

/**
 * What a `status` event reports.
 */
export type StatusCause = "mode" | "syncing";

/**
 * Payload of a `metrics` event (every 2 s while anyone listens).
 */
export type MetricsEvent = { 
/**
 * Live triples in the local store (null when the store could not be read).
 */
tripleCount: number | null, 
/**
 * "native", "polled" or "none".
 */
mode: string, 
/**
 * Gossip figures while native gossip runs.
 */
gossip: Gossip | null, 
/**
 * Sync counters.
 */
sync: SyncCounters, 
/**
 * Nearby devices discovered.
 */
nearbyCount: number, };

/**
 * Payload of a `peer` event: a link came up or went down, or a failing peer synced again.
 */
export type PeerEvent = RecoveredPeer | PeerLink;

/**
 * A peer whose failing sync succeeded again.
 */
export type RecoveredPeer = { 
/**
 * Its node id.
 */
nodeId: string, 
/**
 * Its name.
 */
name: string, 
/**
 * Always "ok".
 */
result: string, 
/**
 * Always true.
 */
recovered: boolean, };

/**
 * A sync link's change.
 */
export type PeerLink = { 
/**
 * The peer's node id.
 */
nodeId: string, 
/**
 * Whether the link is up now.
 */
connected: boolean, 
/**
 * Where it came from (when it came up).
 */
addr?: string, 
/**
 * Why it went down.
 */
reason?: string, };

/**
 * Payload of a `failure` event: something to show the user (and notify).
 */
export type FailureEvent = { "kind": "sync", 
/**
 * The peer's node id.
 */
peer: string, 
/**
 * Its name.
 */
name: string, 
/**
 * Failures in a row (polled mode).
 */
failures?: number, 
/**
 * What went wrong.
 */
message: string, } | { "kind": "security", 
/**
 * Its node id, when it presented a certificate.
 */
nodeId: string | null, 
/**
 * Where it connected from.
 */
address: string, 
/**
 * What was refused and why.
 */
message: string, } | { "kind": "removed", 
/**
 * What it means for the user.
 */
message: string, };

/**
 * Payload of a `pairing` event.
 */
export type PairingEvent = { 
/**
 * "requested", "waiting", "paired", "rejected", "expired" or "failed".
 */
change: string, 
/**
 * The request, the pairing this device started, or the other device.
 */
detail: PairingDetail, };

/**
 * What a `pairing` event is about.
 */
export type PairingDetail = RequestView | SessionView | PairedDevice;

/**
 * The other device of a finished pairing request.
 */
export type PairedDevice = { 
/**
 * Its node id.
 */
nodeId: string, 
/**
 * Its name.
 */
name: string, };

/**
 * A pending pairing request, as listed (`mayros sync requests`).
 */
export type RequestView = { 
/**
 * The requesting device.
 */
nodeId: string, 
/**
 * Its name.
 */
name: string, 
/**
 * Where it connects from.
 */
address: string, 
/**
 * The verification code, `NNN NNN`.
 */
code: string, 
/**
 * When the request expires (RFC 3339).
 */
expiresAt: string, 
/**
 * Whether the requesting device already belongs to a group.
 */
inGroup: boolean, };

/**
 * The state of a pairing this device started.
 */
export type SessionView = { 
/**
 * `waiting`, `paired`, `rejected` or `failed`.
 */
state: string, 
/**
 * The verification code, `NNN NNN`.
 */
code: string, 
/**
 * The other device.
 */
nodeId: string, 
/**
 * Its name.
 */
name: string, 
/**
 * Why it ended, when it did not pair.
 */
reason: string | null, };

/**
 * Payload of a `conflict` event.
 */
export type ConflictEvent = { 
/**
 * The peer whose changes conflicted.
 */
peer: string, 
/**
 * Conflicts logged.
 */
count: number, };

/**
 * The answer of `sync now` and of the hooks.
 */
export type SyncNowOutcome = { 
/**
 * The mode in force.
 */
mode: string, 
/**
 * Whether the request was deferred to gossip (native mode).
 */
deferred: boolean, 
/**
 * What happened, in words.
 */
message: string, 
/**
 * One result per peer.
 */
results: Array<PullReport>, };

/**
 * The outcome of syncing with one peer.
 */
export type PullReport = { 
/**
 * The peer's node id.
 */
nodeId: string, 
/**
 * The peer's name.
 */
name: string, 
/**
 * Whether the sync completed.
 */
ok: boolean, 
/**
 * Triples and deletions received.
 */
received: number, 
/**
 * Changes applied here (new triples, deletions, conflict resolutions excluded).
 */
applied: number, 
/**
 * Conflicts recorded.
 */
conflicts: number, 
/**
 * Triples held for review instead of inserted (DESIGN §2.3): offered in a full comparison
 * that we lacked, older than our collection horizon.
 */
heldForReview: number, 
/**
 * Whether this pull was a full comparison (the peer was stale, or our cursor expired).
 */
fullComparison: boolean, 
/**
 * Changes the peer applied when it pulled from us (`sync now` only).
 */
sent: number, 
/**
 * Pages fetched.
 */
pages: number, 
/**
 * Wall time of the sync.
 */
durationMs: number, 
/**
 * Body bytes sent to the peer (HTTP headers and TLS framing excluded).
 */
bytesOut: number, 
/**
 * Body bytes received from the peer.
 */
bytesIn: number, 
/**
 * Why it failed.
 */
error?: string, };

/**
 * A change to publish as a `nearby` event.
 */
export type NearbyChange = { 
/**
 * What happened.
 */
change: NearbyChangeKind, 
/**
 * The device (as last known, for "gone").
 */
device: NearbyDevice, };

/**
 * What happened to a nearby device.
 */
export type NearbyChangeKind = "appeared" | "updated" | "gone";

/**
 * One nearby device as listed by `GET /api/v1/sync/nearby` and `mayros sync discover --json`.
 */
export type NearbyDevice = { 
/**
 * Its node id; null for a manual peer given as a bare `host:port`.
 */
nodeId: string | null, 
/**
 * Its device name (the endpoint for a manual peer without one).
 */
name: string, 
/**
 * Its addresses.
 */
addresses: string[], 
/**
 * Its QUIC port, when announced.
 */
quicPort: number | null, 
/**
 * Its peer HTTPS API port, when known.
 */
httpsPort: number | null, 
/**
 * Whether it is a member of our group.
 */
paired: boolean, 
/**
 * When it was last seen (RFC 3339).
 */
lastSeen: string, 
/**
 * Where it comes from.
 */
source: NearbySource, };

/**
 * How a device became known.
 */
export type NearbySource = "mdns" | "manual";
