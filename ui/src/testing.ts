// Fakes for the unit tests of the views: an API that answers from a table, spy actions, and
// sample engine answers. Never bundled (only tests import it).

import { vi, type Mock } from 'vitest';

import type { Actions } from './actions';
import type { Api, EventHandler, LinkState, Operation } from './api';
import { createState, type AppState } from './state';
import type {
  Gossip,
  Metrics,
  NativePeer,
  NearbyDevice,
  OverallState,
  PairRequest,
  PeerView,
  StateSummary,
  Status,
} from './types';
import type { ViewContext } from './views/context';

/** One answer of the fake API: a value, or a function of the call's arguments (may throw). */
type Answer = unknown | ((args: Record<string, unknown>) => unknown);

/** A fake API: answers each operation from `answers`, records every call. */
export interface FakeApi extends Api {
  calls: Array<{ op: Operation; args: Record<string, unknown> | undefined }>;
  /** The handlers `subscribe` was given, to push events in a test. */
  handler: EventHandler | null;
  onLink: ((s: LinkState) => void) | null;
}

/** Builds a fake API over a table of answers (an operation not in the table fails). */
export function fakeApi(answers: Partial<Record<Operation, Answer>> = {}, over: Partial<Api> = {}): FakeApi {
  const api: FakeApi = {
    transport: 'http',
    authorized: true,
    calls: [],
    handler: null,
    onLink: null,
    async call<T>(op: Operation, args?: Record<string, unknown>): Promise<T> {
      api.calls.push({ op, args });
      if (!(op in answers)) throw new Error(`no answer for ${op}`);
      const a = answers[op];
      return (typeof a === 'function' ? await (a as (args: Record<string, unknown>) => unknown)(args ?? {}) : a) as T;
    },
    getAutostart: vi.fn(async () => null),
    setAutostart: vi.fn(async (enabled: boolean) => enabled),
    markConflictsSeen: vi.fn(async () => {}),
    subscribe(handler, onLink) {
      api.handler = handler;
      api.onLink = onLink ?? null;
      return () => {};
    },
    ...over,
  };
  return api;
}

/** Spy actions that do nothing. */
export function fakeActions(): { [K in keyof Actions]: Mock<Actions[K]> } {
  return {
    go: vi.fn<Actions['go']>(),
    markConflictsSeen: vi.fn<Actions['markConflictsSeen']>(async () => {}),
    syncNow: vi.fn<Actions['syncNow']>(async () => {}),
    pause: vi.fn<Actions['pause']>(async () => {}),
    resume: vi.fn<Actions['resume']>(async () => {}),
    unpair: vi.fn<Actions['unpair']>(async () => {}),
    startPairing: vi.fn<Actions['startPairing']>(async () => {}),
    decide: vi.fn<Actions['decide']>(async () => {}),
    restore: vi.fn<Actions['restore']>(async () => {}),
    toggleAutostart: vi.fn<Actions['toggleAutostart']>(async () => {}),
  };
}

/** A view context over a fresh state (changed by `state`), a fake API and spy actions. */
export function fakeContext(state: Partial<AppState> = {}, api: Api = fakeApi()) {
  const actions = fakeActions();
  const ctx = {
    state: { ...createState(), ...state },
    api,
    actions,
    render: vi.fn(),
    refresh: vi.fn(),
  } satisfies ViewContext;
  return ctx;
}

/** A paired device as the engine lists it: bravo, active and in sync (every field present). */
export function samplePeer(over: Partial<PeerView> = {}): PeerView {
  return {
    nodeId: 'node-bravo-9876543210',
    name: 'bravo',
    endpoint: null,
    quicAddr: '127.0.0.1:7444',
    namespaces: [],
    status: 'active',
    lastSyncAt: null,
    lastResult: null,
    totalSyncs: 0,
    totalTriplesSynced: 1234,
    failures: 0,
    lastError: null,
    nextRetryAt: null,
    stale: false,
    state: 'in-sync',
    stateReason: null,
    toReceive: 0,
    toSend: 0,
    ...over,
  };
}

/** One roster peer of native gossip: bravo, connected. */
export function sampleNativePeer(over: Partial<NativePeer> = {}): NativePeer {
  return {
    nodeId: 'node-bravo-9876543210',
    addr: '127.0.0.1:7444',
    connected: true,
    lastRoundMs: null,
    queuedChanges: 0,
    toReceive: 0,
    failing: null,
    linkError: null,
    provenInSync: true,
    ...over,
  };
}

/** Gossip figures of a node that has done nothing yet (every field present). */
export function sampleGossip(over: Partial<Gossip> = {}): Gossip {
  return {
    addr: '127.0.0.1:7444',
    initiates: true,
    round: 0,
    pendingAnnouncements: 0,
    knownIds: 0,
    localIds: 0,
    bloomFilterItems: 0,
    bloomFilterFpr: 0,
    successfulSyncs: 0,
    failedSyncs: 0,
    changesSent: 0,
    changesReceived: 0,
    changesApplied: 0,
    exactDifferences: 0,
    listedDifferences: 0,
    reconcileBytesIn: 0,
    bytesOut: 0,
    bytesIn: 0,
    peers: [],
    lastError: null,
    ...over,
  };
}

/** A `metrics` event of a polled-mode engine (no gossip). */
export function sampleMetrics(over: Partial<Metrics> = {}): Metrics {
  return {
    tripleCount: 4321,
    mode: 'native',
    gossip: null,
    sync: { totalSuccessfulSyncs: 7, totalFailedSyncs: 1, lastSyncAt: null },
    nearbyCount: 0,
    ...over,
  };
}

/** The engine's summary of a state, with its label and details (`online`/`paired` as given). */
export function sampleSummary(state: OverallState = 'in-sync', details: string[] = ['1 of 1 paired device(s) online'], online = 1, paired = 1): StateSummary {
  const labels: Record<OverallState, string> = {
    'in-sync': 'In sync',
    syncing: 'Syncing',
    paused: 'Paused',
    offline: 'Offline',
    attention: 'Needs attention',
  };
  return { state, label: labels[state], details, online, paired };
}

/** A status as a native-mode engine with one paired device, in sync, reports it (every field
 *  present). Changing `peers` or `state` does not recompute `summary`: give it when it matters. */
export function sampleStatus(over: Partial<Status> = {}): Status {
  return {
    mode: 'native',
    state: 'in-sync',
    summary: sampleSummary(),
    modeReason: 'Paired devices sync over QUIC.',
    nodeId: 'node-alpha-0123456789',
    name: 'alpha',
    version: '0.1.0',
    uptimeSeconds: 90,
    cortex: {
      backend: 'embedded',
      url: 'http://127.0.0.1:9000',
      healthy: true,
      message: 'ok',
      version: '0.1.0',
      rateLimited: false,
      rateLimitedCount: 0,
      rateLimitRemaining: null,
      requests: 0,
      p2p: null,
      p2pReason: null,
      mirror: null,
      syncedBy: 'native gossip',
    },
    secretStore: 'keyring',
    peers: [samplePeer()],
    gossip: null,
    sync: { totalSuccessfulSyncs: 7, totalFailedSyncs: 1, lastSyncAt: null },
    nearbyCount: 0,
    conflictsCount: 0,
    unseenConflicts: 0,
    reviewCount: 0,
    tripleCount: 4321,
    paused: false,
    pausedUntil: null,
    authRejected: 0,
    peerApi: '127.0.0.1:7001',
    configPath: '/home/u/.config/mayros/config.json',
    warnings: [],
    ...over,
  };
}

/** A pending pairing request from charlie. */
export function sampleRequest(over: Partial<PairRequest> = {}): PairRequest {
  return {
    nodeId: 'node-charlie',
    name: 'charlie',
    address: '127.0.0.1:7003',
    code: '123456',
    expiresAt: new Date(Date.now() + 120_000).toISOString(),
    inGroup: false,
    ...over,
  };
}

/** A nearby device found by mDNS: delta, not paired. */
export function sampleNearby(over: Partial<NearbyDevice> = {}): NearbyDevice {
  return {
    nodeId: 'node-delta',
    name: 'delta',
    addresses: ['127.0.0.1'],
    quicPort: 7444,
    httpsPort: null,
    paired: false,
    lastSeen: new Date().toISOString(),
    source: 'mdns',
    ...over,
  };
}

/** The trimmed text of the first element with a `data-testid`, or `null` when there is none. */
export function textOf(root: ParentNode, testid: string): string | null {
  const el = root.querySelector(`[data-testid="${testid}"]`);
  return el ? (el.textContent ?? '').trim() : null;
}

/** The buttons under `root` by their text. */
export function buttons(root: ParentNode): string[] {
  return Array.from(root.querySelectorAll('button')).map((b) => (b.textContent ?? '').trim());
}

/** The first button under `root` whose text is `label` (fails when there is none). */
export function button(root: ParentNode, label: string): HTMLButtonElement {
  const b = Array.from(root.querySelectorAll('button')).find((x) => (x.textContent ?? '').trim() === label);
  if (!b) throw new Error(`no button "${label}" among: ${buttons(root).join(', ')}`);
  return b;
}
