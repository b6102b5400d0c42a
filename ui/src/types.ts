// Shapes of the engine's JSON (DESIGN §6.2; crates/node). Every field may be missing in an
// older or newer engine: views show "—" for what is unknown.

export interface PeerView {
  nodeId: string;
  name: string;
  endpoint?: string | null;
  quicAddr?: string | null;
  namespaces?: string[];
  status: string;
  lastSyncAt?: string | null;
  lastResult?: string | null;
  totalSyncs?: number;
  totalTriplesSynced?: number;
  failures?: number;
  lastError?: string | null;
  nextRetryAt?: string | null;
  stale?: boolean;
  /** The engine's state of this device (DESIGN §13). */
  state?: PeerSyncState;
  /** Why it is failing, unreachable or offline. */
  stateReason?: string | null;
  /** Changes it said it queued for us that have not arrived (native mode). */
  toReceive?: number;
  /** Changes queued for it (native mode). */
  toSend?: number;
}

/** A paired device's state as the engine computes it. */
export type PeerSyncState = 'in-sync' | 'syncing' | 'failing' | 'unreachable' | 'paused' | 'removed' | 'offline' | '';

export interface NativePeer {
  nodeId: string;
  addr?: string | null;
  connected: boolean;
  lastRoundMs?: number | null;
  queuedChanges?: number;
}

export interface Gossip {
  addr?: string;
  initiates?: boolean;
  round?: number;
  pendingAnnouncements?: number;
  knownIds?: number;
  localIds?: number;
  bloomFilterItems?: number;
  bloomFilterFpr?: number;
  successfulSyncs?: number;
  failedSyncs?: number;
  changesSent?: number;
  changesReceived?: number;
  changesApplied?: number;
  bytesOut?: number;
  bytesIn?: number;
  peers?: NativePeer[];
  lastError?: string | null;
}

export interface SyncCounters {
  totalSuccessfulSyncs?: number;
  totalFailedSyncs?: number;
  lastSyncAt?: string | null;
}

export interface Status {
  mode: string;
  modeReason: string;
  nodeId: string;
  name: string;
  version?: string;
  uptimeSeconds?: number;
  cortex?: { backend?: string; url?: string | null; healthy?: boolean; message?: string; version?: string | null; syncedBy?: string | null };
  secretStore?: string;
  /** The engine's overall state (DESIGN §13). */
  state?: 'in-sync' | 'syncing' | 'paused' | 'offline' | 'attention';
  peers: PeerView[];
  gossip?: Gossip | null;
  sync?: SyncCounters;
  nearbyCount?: number;
  conflictsCount?: number;
  reviewCount?: number;
  tripleCount?: number;
  paused?: boolean;
  pausedUntil?: string | null;
  authRejected?: number;
  peerApi?: string | null;
  configPath?: string;
  warnings?: string[];
}

export interface Metrics {
  tripleCount?: number | null;
  mode?: string;
  gossip?: Gossip | null;
  sync?: SyncCounters;
  nearbyCount?: number;
}

export interface NearbyDevice {
  nodeId: string | null;
  name: string;
  addresses: string[];
  quicPort?: number | null;
  httpsPort?: number | null;
  paired: boolean;
  lastSeen: string;
  source?: string;
}

export interface PairSession {
  sessionId?: number;
  state: 'waiting' | 'paired' | 'rejected' | 'failed' | string;
  code: string;
  nodeId: string;
  name: string;
  reason?: string | null;
}

export interface PairRequest {
  nodeId: string;
  name: string;
  address: string;
  code: string;
  expiresAt: string;
  inGroup?: boolean;
}

export interface ConflictTriple {
  id: string;
  subject: string;
  predicate: string;
  object: unknown;
  created_at?: string;
  createdAt?: string;
  author?: string;
}

export interface Conflict {
  id: number;
  at: string;
  namespace: string;
  subject: string;
  predicate: string;
  strategy: string;
  peer: string;
  winners: ConflictTriple[];
  losers: ConflictTriple[];
  restoredAt: string | null;
}

export interface PullReport {
  nodeId: string;
  name: string;
  ok: boolean;
  received?: number;
  applied?: number;
  conflicts?: number;
  sent?: number;
  durationMs?: number;
  error?: string;
}

export interface SyncNowOutcome {
  mode: string;
  deferred: boolean;
  message: string;
  results: PullReport[];
}

export interface ConfigAnswer {
  config: Record<string, unknown>;
  path: string;
  warnings: string[];
}
