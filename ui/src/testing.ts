// Fakes for the unit tests of the views: an API that answers from a table, spy actions, and
// sample engine answers. Never bundled (only tests import it).

import { vi, type Mock } from 'vitest';

import type { Actions } from './actions';
import type { Api, EventHandler, LinkState, Operation } from './api';
import { createState, type AppState } from './state';
import type { Status } from './types';
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

/** A status as a native-mode engine with one paired device reports it. */
export function sampleStatus(over: Partial<Status> = {}): Status {
  return {
    mode: 'native',
    modeReason: 'Paired devices sync over QUIC.',
    nodeId: 'node-alpha-0123456789',
    name: 'alpha',
    version: '0.1.0',
    uptimeSeconds: 90,
    cortex: { backend: 'embedded', url: 'http://127.0.0.1:9000', healthy: true, message: 'ok', syncedBy: 'native gossip' },
    secretStore: 'keyring',
    state: 'in-sync',
    peers: [
      {
        nodeId: 'node-bravo-9876543210',
        name: 'bravo',
        status: 'active',
        state: 'in-sync',
        totalTriplesSynced: 1234,
        failures: 0,
        lastSyncAt: null,
      },
    ],
    gossip: null,
    sync: { totalSuccessfulSyncs: 7, totalFailedSyncs: 1, lastSyncAt: null },
    tripleCount: 4321,
    conflictsCount: 0,
    paused: false,
    peerApi: '127.0.0.1:7001',
    configPath: '/home/u/.config/mayros/config.json',
    warnings: [],
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
