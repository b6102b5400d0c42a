// The one way the UI talks to the engine (DESIGN §6.2, §10; contract in issue 6):
// inside the Tauri app, IPC commands and `engine://<kind>` events; in a browser, the local HTTP
// API with the bearer token from the URL fragment, and Server-Sent Events.

import { invoke as tauriInvoke } from '@tauri-apps/api/core';
import { listen as tauriListen } from '@tauri-apps/api/event';

import type {
  ConflictEvent,
  FailureEvent,
  MetricsEvent,
  NearbyChange,
  PairingEvent,
  PeerEvent,
  StatusEvent,
} from './engine_types';

/** Event kinds the engine pushes (SSE event names; Tauri `engine://<kind>`). */
export const ENGINE_EVENTS = [
  'status',
  'metrics',
  'peer',
  'nearby',
  'pairing',
  'failure',
  'conflict',
] as const satisfies ReadonlyArray<keyof EngineEventPayloads>;
export type EngineEventKind = (typeof ENGINE_EVENTS)[number];

/** What each engine event carries: the engine's generated types (engine_types.ts). */
export interface EngineEventPayloads {
  status: StatusEvent;
  metrics: MetricsEvent;
  peer: PeerEvent;
  nearby: NearbyChange;
  pairing: PairingEvent;
  failure: FailureEvent;
  conflict: ConflictEvent;
}

/** Every payload kind has its event name in ENGINE_EVENTS (the other way round is checked above). */
const EVERY_EVENT_LISTED: Exclude<keyof EngineEventPayloads, EngineEventKind> extends never ? true : never = true;
void EVERY_EVENT_LISTED;

/** Events the shell itself adds (app only; src-tauri/src/ui_events.rs), with what they carry. */
export interface AppEventPayloads {
  'app:autostart': { enabled: boolean };
  'app:navigate': { view: 'pair' | 'devices' | 'settings' };
}

/** Every pushed event's payload by kind. */
export type EventPayloads = EngineEventPayloads & AppEventPayloads;

/** One pushed event: its kind and its payload (`null` when it carried none or no JSON). The
 *  payload is the sender's JSON taken as its declared type, not validated: an older or newer
 *  engine may leave fields out. */
export type PushedEvent = { [K in keyof EventPayloads]: [kind: K, data: EventPayloads[K] | null] }[keyof EventPayloads];

/**
 * A failed operation: `kind` is the engine's `code` (e.g. `INVALID_CONFIG`) or a shell kind;
 * `field` is the config key an `INVALID_CONFIG` names.
 */
export class ApiError extends Error {
  readonly kind: string;
  readonly status: number | undefined;
  readonly field: string | undefined;
  constructor(kind: string, message: string, status?: number, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
    this.status = status;
    this.field = field;
  }
}

type Args = Record<string, unknown>;

/** An HTTP request of the local API. */
interface HttpRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: (a: Args) => string;
  body?: (a: Args) => unknown;
  /** No token needed (and none sent). */
  open?: boolean;
}

/** One operation: its Tauri command and its HTTP request. */
interface Route extends HttpRoute {
  command: string;
}

const seg = (v: unknown): string => encodeURIComponent(String(v));
const pick = (a: Args, ...keys: string[]): Args => {
  const out: Args = {};
  for (const k of keys) if (a[k] !== undefined && a[k] !== null) out[k] = a[k];
  return out;
};

/** Every operation of the contract, by name. */
export const ROUTES = {
  status: { command: 'get_status', method: 'GET', path: () => '/api/v1/sync/status' },
  p2pStatus: { command: 'get_p2p_status', method: 'GET', path: () => '/api/v1/p2p/status', open: true },
  syncNow: { command: 'sync_now', method: 'POST', path: () => '/api/v1/sync/now', body: (a) => pick(a, 'peer') },
  pause: { command: 'pause_sync', method: 'POST', path: () => '/api/v1/sync/pause', body: (a) => pick(a, 'minutes') },
  resume: { command: 'resume_sync', method: 'POST', path: () => '/api/v1/sync/resume', body: () => ({}) },
  peers: { command: 'list_peers', method: 'GET', path: () => '/api/v1/sync/peers' },
  unpair: { command: 'unpair_peer', method: 'DELETE', path: (a) => `/api/v1/sync/peers/${seg(a.peer)}` },
  nearby: { command: 'list_nearby', method: 'GET', path: () => '/api/v1/sync/nearby' },
  pair: { command: 'pair_device', method: 'POST', path: () => '/api/v1/sync/pair', body: (a) => pick(a, 'target') },
  pairSession: {
    command: 'pair_session',
    method: 'GET',
    path: (a) =>
      `/api/v1/sync/pair/sessions/${seg(a.id)}` + (a.waitMs !== undefined ? `?waitMs=${seg(a.waitMs)}` : ''),
  },
  pairRequests: { command: 'pair_requests', method: 'GET', path: () => '/api/v1/sync/pair/requests' },
  decidePairRequest: {
    command: 'decide_pair_request',
    method: 'POST',
    path: (a) => `/api/v1/sync/pair/requests/${seg(a.nodeId)}/${a.accept ? 'accept' : 'reject'}`,
    body: (a) => (a.accept ? pick(a, 'group') : {}),
  },
  conflicts: { command: 'list_conflicts', method: 'GET', path: () => '/api/v1/sync/conflicts' },
  restoreConflict: {
    command: 'restore_conflict',
    method: 'POST',
    path: (a) => `/api/v1/sync/conflicts/${seg(a.id)}/restore`,
    body: () => ({}),
  },
  getConfig: { command: 'get_config', method: 'GET', path: () => '/api/v1/sync/config' },
  putConfig: { command: 'put_config', method: 'PUT', path: () => '/api/v1/sync/config', body: (a) => a.config },
  patchConfig: { command: 'patch_config', method: 'PATCH', path: () => '/api/v1/sync/config', body: (a) => a.patch },
} satisfies Record<string, Route>;

export type Operation = keyof typeof ROUTES;

/** `POST /api/v1/sync/conflicts/seen` (answers `{"seen": n}`): HTTP only, the shell has no command
 *  for it (see `markConflictsSeen`). */
const CONFLICTS_SEEN: HttpRoute = { method: 'POST', path: () => '/api/v1/sync/conflicts/seen', body: () => ({}) };

/** What the transport needs from its surroundings (injected in tests). */
export interface Env {
  window: {
    location: { hash: string; pathname: string; search: string };
    history: { replaceState(data: unknown, unused: string, url?: string): void };
  } & Record<string, unknown>;
  fetch: typeof fetch;
  invoke: (cmd: string, args?: Args) => Promise<unknown>;
  listen: (event: string, cb: (e: { payload: unknown }) => void) => Promise<() => void>;
  EventSource?: new (url: string) => EventSourceLike;
}

/** The part of `EventSource` the transport uses. */
export interface EventSourceLike {
  addEventListener(type: string, cb: (e: { data?: unknown }) => void): void;
  close(): void;
  readyState: number;
}

/** Which transport a window gets: the Tauri app injects `__TAURI_INTERNALS__`. */
export function detectTransport(win: object): 'tauri' | 'http' {
  return '__TAURI_INTERNALS__' in win ? 'tauri' : 'http';
}

/** Reads `#token=…` from the fragment (also among other `&`-separated fragment parts). */
export function tokenFromHash(hash: string): string | null {
  const h = hash.startsWith('#') ? hash.slice(1) : hash;
  for (const part of h.split('&')) {
    const [k, v] = part.split('=', 2);
    if (k === 'token' && v) return decodeURIComponent(v);
  }
  return null;
}

/** Live-connection state, shown in the header. */
export type LinkState = 'connecting' | 'live' | 'reconnecting';

/** A handler of pushed events (switching on `kind` narrows `data`). */
export type EventHandler = (...event: PushedEvent) => void;

/** A handler as the transports call it: with the kind they heard and the JSON they got. */
const untyped = (handler: EventHandler) => handler as unknown as (kind: keyof EventPayloads, data: unknown) => void;

/** The API as the views use it. */
export interface Api {
  readonly transport: 'tauri' | 'http';
  /** Whether a token is available (always in the app). */
  readonly authorized: boolean;
  call<T = unknown>(op: Operation, args?: Args): Promise<T>;
  /** Start-at-login (app only; `null` in a browser). */
  getAutostart(): Promise<boolean | null>;
  setAutostart(enabled: boolean): Promise<boolean>;
  /** Tells the engine the user looked at the conflicts: status stops counting them as new. */
  markConflictsSeen(): Promise<void>;
  /** Subscribes to pushed events; `onLink` hears the connection state. Returns a stop function. */
  subscribe(handler: EventHandler, onLink?: (s: LinkState) => void): () => void;
}

function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e && typeof e === 'object' && 'message' in e) {
    const o = e as { kind?: unknown; message?: unknown; field?: unknown };
    return new ApiError(
      typeof o.kind === 'string' ? o.kind : 'INTERNAL',
      String(o.message),
      undefined,
      typeof o.field === 'string' ? o.field : undefined,
    );
  }
  return new ApiError('INTERNAL', typeof e === 'string' ? e : 'unknown error');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Builds the API for an environment; `createApi()` uses the real window. */
export function createApi(env: Env = defaultEnv()): Api {
  return detectTransport(env.window) === 'tauri' ? tauriApi(env) : httpApi(env);
}

function tauriApi(env: Env): Api {
  return {
    transport: 'tauri',
    authorized: true,
    async call<T>(op: Operation, args: Args = {}): Promise<T> {
      try {
        return (await env.invoke(ROUTES[op].command, args)) as T;
      } catch (e) {
        throw toApiError(e);
      }
    },
    async getAutostart() {
      try {
        const r = await env.invoke('get_autostart');
        return typeof r === 'boolean' ? r : Boolean((r as { enabled?: unknown })?.enabled);
      } catch (e) {
        throw toApiError(e);
      }
    },
    async setAutostart(enabled: boolean) {
      try {
        const r = await env.invoke('set_autostart', { enabled });
        return typeof r === 'boolean' ? r : r && typeof r === 'object' && 'enabled' in r ? Boolean(r.enabled) : enabled;
      } catch (e) {
        throw toApiError(e);
      }
    },
    async markConflictsSeen() {
      // A no-op in the app: the shell has no command for it and marks the conflicts seen itself
      // when the window is shown and when they are listed (src-tauri: window.rs `show`,
      // commands.rs `list_conflicts`), so the UI need not ask.
    },
    subscribe(typed, onLink) {
      const handler = untyped(typed);
      const stops: Array<() => void> = [];
      let stopped = false;
      const add = (p: Promise<() => void>) =>
        p.then((stop) => (stopped ? stop() : stops.push(stop))).catch(() => onLink?.('reconnecting'));
      for (const kind of ENGINE_EVENTS) add(env.listen(`engine://${kind}`, (e) => handler(kind, e.payload)));
      add(env.listen('app://autostart', (e) => handler('app:autostart', e.payload)));
      add(env.listen('app://navigate', (e) => handler('app:navigate', e.payload)));
      onLink?.('live');
      return () => {
        stopped = true;
        stops.forEach((s) => s());
      };
    },
  };
}

function httpApi(env: Env): Api {
  const { window: win } = env;
  const token = tokenFromHash(win.location.hash);
  if (token !== null) {
    // Kept in memory only; the address bar (and history) lose it.
    win.history.replaceState(null, '', win.location.pathname + win.location.search);
  }

  /** Sends one request of the local API; answers its JSON body. */
  async function send<T>(route: HttpRoute, args: Args): Promise<T> {
    const headers: Record<string, string> = {};
    if (!route.open && token) headers.Authorization = `Bearer ${token}`;
    const body = route.body ? route.body(args) : undefined;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let resp: Response;
    try {
      resp = await env.fetch(route.path(args), {
        method: route.method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError('ENGINE_DOWN', `cannot reach the engine: ${e instanceof Error ? e.message : String(e)}`);
    }
    const text = await resp.text();
    const json = text.trim() === '' ? null : parseJson(text);
    if (!resp.ok) {
      const o = (json ?? {}) as { error?: unknown; code?: unknown; field?: unknown };
      throw new ApiError(
        typeof o.code === 'string' ? o.code : `HTTP_${resp.status}`,
        typeof o.error === 'string' ? o.error : `the engine answered ${resp.status}`,
        resp.status,
        typeof o.field === 'string' ? o.field : undefined,
      );
    }
    return json as T;
  }

  return {
    transport: 'http',
    authorized: token !== null,
    async call<T>(op: Operation, args: Args = {}): Promise<T> {
      return send<T>(ROUTES[op], args);
    },
    async markConflictsSeen() {
      await send(CONFLICTS_SEEN, {});
    },
    async getAutostart() {
      return null;
    },
    async setAutostart() {
      throw new ApiError('UNSUPPORTED', 'Start at login is only available in the desktop app.');
    },
    subscribe(typed, onLink) {
      const handler = untyped(typed);
      const ES = env.EventSource;
      if (!ES || !token) return () => {};
      onLink?.('connecting');
      const es = new ES(`/api/v1/sync/events?token=${encodeURIComponent(token)}`);
      es.addEventListener('open', () => onLink?.('live'));
      es.addEventListener('error', () => onLink?.('reconnecting'));
      for (const kind of ENGINE_EVENTS) {
        es.addEventListener(kind, (e) => {
          const data = typeof e.data === 'string' ? parseJson(e.data) : undefined;
          handler(kind, data ?? null);
        });
      }
      return () => es.close();
    },
  };
}

function defaultEnv(): Env {
  return {
    window: window as unknown as Env['window'],
    fetch: window.fetch.bind(window),
    invoke: (cmd, args) => tauriInvoke(cmd, args),
    listen: (event, cb) => tauriListen(event, cb),
    EventSource: window.EventSource,
  };
}
