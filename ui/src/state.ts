// The window's shared state: what the engine last said and what the user is doing.

import type { LinkState } from './api';
import type { Conflict, ConfigAnswer, Gossip, Metrics, NearbyDevice, PairRequest, PairSession, Status } from './types';

/** The tabs of the window. */
export type View = 'overview' | 'devices' | 'conflicts' | 'settings';

/** A pairing this device started with another one. */
export interface OutgoingPairing {
  target: string;
  name: string;
  state: 'starting' | PairSession['state'];
  code: string | null;
  reason: string | null;
}

/** A line that reports the outcome of the last action. */
export interface ActionResult {
  ok: boolean;
  text: string;
}

/** Everything the views draw from. */
export interface AppState {
  view: View;
  status: Status | null;
  /** When the status was read (uptime ages from there). */
  statusAt: number;
  statusError: string | null;
  metrics: Metrics | null;
  nearby: NearbyDevice[] | null;
  requests: PairRequest[];
  /** nodeId → what the engine said when a group choice is needed, or an error. */
  requestNotes: Map<string, { kind: string; message: string }>;
  conflicts: Conflict[] | null;
  config: ConfigAnswer | null;
  pairing: OutgoingPairing | null;
  syncing: boolean;
  syncResult: ActionResult | null;
  peerBusy: Set<string>;
  confirmUnpair: string | null;
  autostart: boolean | null;
  link: LinkState;
}

/** The state of a window that has heard nothing from the engine yet. */
export function createState(): AppState {
  return {
    view: 'overview',
    status: null,
    statusAt: 0,
    statusError: null,
    metrics: null,
    nearby: null,
    requests: [],
    requestNotes: new Map(),
    conflicts: null,
    config: null,
    pairing: null,
    syncing: false,
    syncResult: null,
    peerBusy: new Set(),
    confirmUnpair: null,
    autostart: null,
    link: 'connecting',
  };
}

/** The gossip figures to show: the last metrics event's, else the status's. */
export function currentGossip(state: AppState): Gossip | null | undefined {
  return state.metrics ? state.metrics.gossip : state.status?.gossip;
}
