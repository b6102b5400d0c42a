// Shapes of the engine's JSON (DESIGN §6.2; crates/node). The status, the peers, gossip and the
// event payloads are generated from the engine's Rust types (engine_types.ts); this file adds the
// answers the engine does not generate yet and gives the generated types the names the views use.

import type { RequestView, SessionView } from './engine_types';

export type {
  CortexStatus,
  Gossip,
  NativePeer,
  NearbyDevice,
  OverallState,
  PeerSyncState,
  PeerView,
  StateSummary,
  Status,
  SyncCounters,
} from './engine_types';
export type { MetricsEvent as Metrics, PullReport, SyncNowOutcome } from './engine_types';

/** A pending pairing request. */
export type PairRequest = RequestView;

/** A pairing this device started; `POST /pair` also answers the session's id to poll. */
export type PairSession = SessionView & { sessionId?: number };

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

export interface ConfigAnswer {
  config: Record<string, unknown>;
  path: string;
  warnings: string[];
}
