import { describe, expect, it, vi } from 'vitest';

import { ApiError, ENGINE_EVENTS, createApi, detectTransport, tokenFromHash, type Env, type EventSourceLike } from './api';

function fakeWindow(hash: string, tauri = false) {
  const replaced: string[] = [];
  const win: Env['window'] = {
    location: { hash, pathname: '/', search: '' },
    history: { replaceState: (_d: unknown, _u: string, url?: string) => void replaced.push(url ?? '') },
  };
  if (tauri) win.__TAURI_INTERNALS__ = {};
  return { win, replaced };
}

function jsonResponse(status: number, body: unknown): Response {
  return new Response(body === undefined ? '' : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

function env(win: Env['window'], over: Partial<Env> = {}): Env {
  return {
    window: win,
    fetch: vi.fn(async () => jsonResponse(200, {})) as unknown as typeof fetch,
    invoke: vi.fn(async () => ({})),
    listen: vi.fn(async () => () => {}),
    ...over,
  };
}

describe('transport selection', () => {
  it('uses Tauri IPC when the app injected its internals', () => {
    expect(detectTransport({ __TAURI_INTERNALS__: {} })).toBe('tauri');
    expect(detectTransport({})).toBe('http');
    const { win } = fakeWindow('', true);
    expect(createApi(env(win)).transport).toBe('tauri');
  });

  it('reads the token from the fragment and removes it from the address bar', () => {
    expect(tokenFromHash('#token=abc')).toBe('abc');
    expect(tokenFromHash('#view=x&token=a%2Bb')).toBe('a+b');
    expect(tokenFromHash('')).toBeNull();
    const { win, replaced } = fakeWindow('#token=t0k');
    const api = createApi(env(win));
    expect(api.transport).toBe('http');
    expect(api.authorized).toBe(true);
    expect(replaced).toEqual(['/']);
  });

  it('without a token in the browser it is not authorized and touches no history', () => {
    const { win, replaced } = fakeWindow('');
    const api = createApi(env(win));
    expect(api.authorized).toBe(false);
    expect(replaced).toEqual([]);
  });
});

describe('HTTP transport', () => {
  it('sends the bearer token, the method, the path and the JSON body', async () => {
    const { win } = fakeWindow('#token=t0k');
    const fetch = vi.fn(async () => jsonResponse(200, { ok: 1 }));
    const api = createApi(env(win, { fetch: fetch as unknown as typeof globalThis.fetch }));
    await expect(api.call('syncNow', { peer: 'bravo' })).resolves.toEqual({ ok: 1 });
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/sync/now');
    expect(init.method).toBe('POST');
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer t0k');
    expect(init.body).toBe('{"peer":"bravo"}');

    await api.call('decidePairRequest', { nodeId: 'ab', accept: true, group: 'mine' });
    const [url2, init2] = fetch.mock.calls[1] as unknown as [string, RequestInit];
    expect(url2).toBe('/api/v1/sync/pair/requests/ab/accept');
    expect(init2.body).toBe('{"group":"mine"}');

    await api.call('decidePairRequest', { nodeId: 'ab', accept: false });
    expect((fetch.mock.calls[2] as unknown as [string])[0]).toBe('/api/v1/sync/pair/requests/ab/reject');

    await api.call('pairSession', { id: 7, waitMs: 25000 });
    expect((fetch.mock.calls[3] as unknown as [string])[0]).toBe('/api/v1/sync/pair/sessions/7?waitMs=25000');

    await api.call('unpair', { peer: 'a/b' });
    const [url5, init5] = fetch.mock.calls[4] as unknown as [string, RequestInit];
    expect(url5).toBe('/api/v1/sync/peers/a%2Fb');
    expect(init5.method).toBe('DELETE');

    await api.call('putConfig', { config: { sync: { intervalSeconds: 'abc' } } });
    const [url6, init6] = fetch.mock.calls[5] as unknown as [string, RequestInit];
    expect(url6).toBe('/api/v1/sync/config');
    expect(init6.method).toBe('PUT');
    expect(init6.body).toBe('{"sync":{"intervalSeconds":"abc"}}');
  });

  it('marks the conflicts seen with a POST', async () => {
    const { win } = fakeWindow('#token=t0k');
    const fetch = vi.fn(async () => jsonResponse(200, { seen: 3 }));
    const api = createApi(env(win, { fetch: fetch as unknown as typeof globalThis.fetch }));
    await expect(api.markConflictsSeen()).resolves.toBeUndefined();
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/sync/conflicts/seen');
    expect(init.method).toBe('POST');
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer t0k');
    expect(init.body).toBe('{}');
  });

  it('sends no token to the open p2p status route', async () => {
    const { win } = fakeWindow('#token=t0k');
    const fetch = vi.fn(async () => jsonResponse(200, {}));
    const api = createApi(env(win, { fetch: fetch as unknown as typeof globalThis.fetch }));
    await api.call('p2pStatus');
    const [, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect((init.headers as Record<string, string>).Authorization).toBeUndefined();
  });

  it('turns the engine error body into an ApiError with its code and message', async () => {
    const { win } = fakeWindow('#token=t0k');
    const body = {
      error: 'config key `sync.intervalSeconds`: expected an integer, found a string',
      code: 'INVALID_CONFIG',
      field: 'sync.intervalSeconds',
    };
    const fetch = vi.fn(async () => jsonResponse(400, body));
    const api = createApi(env(win, { fetch: fetch as unknown as typeof globalThis.fetch }));
    const err = (await api.call('putConfig', { config: {} }).catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.kind).toBe('INVALID_CONFIG');
    expect(err.status).toBe(400);
    expect(err.message).toBe(body.error);
    expect(err.field).toBe('sync.intervalSeconds');
  });

  it('a refused connection is ENGINE_DOWN', async () => {
    const { win } = fakeWindow('#token=t0k');
    const fetch = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    });
    const api = createApi(env(win, { fetch: fetch as unknown as typeof globalThis.fetch }));
    await expect(api.call('status')).rejects.toMatchObject({ kind: 'ENGINE_DOWN' });
  });

  it('subscribes with EventSource and the token in the query, parsing JSON data', () => {
    const { win } = fakeWindow('#token=t0k');
    const listeners = new Map<string, (e: { data?: unknown }) => void>();
    let opened = '';
    class FakeES implements EventSourceLike {
      readyState = 0;
      constructor(url: string) {
        opened = url;
      }
      addEventListener(type: string, cb: (e: { data?: unknown }) => void) {
        listeners.set(type, cb);
      }
      close() {}
    }
    const api = createApi(env(win, { EventSource: FakeES }));
    const seen: Array<[string, unknown]> = [];
    const links: string[] = [];
    api.subscribe(
      (k, d) => seen.push([k, d]),
      (l) => links.push(l),
    );
    expect(opened).toBe('/api/v1/sync/events?token=t0k');
    for (const k of ENGINE_EVENTS) expect(listeners.has(k)).toBe(true);
    listeners.get('metrics')?.({ data: '{"tripleCount":3}' });
    listeners.get('open')?.({});
    expect(seen).toEqual([['metrics', { tripleCount: 3 }]]);
    expect(links).toEqual(['connecting', 'live']);
  });

  it('start at login is app-only', async () => {
    const { win } = fakeWindow('#token=t0k');
    const api = createApi(env(win));
    await expect(api.getAutostart()).resolves.toBeNull();
    await expect(api.setAutostart(true)).rejects.toMatchObject({ kind: 'UNSUPPORTED' });
  });
});

describe('Tauri transport', () => {
  it('invokes the contract command names with camelCase args', async () => {
    const { win } = fakeWindow('', true);
    const invoke = vi.fn(async () => ({ sessionId: 1 }));
    const api = createApi(env(win, { invoke }));
    await api.call('pair', { target: 'abc' });
    await api.call('pairSession', { id: 1, waitMs: 25000 });
    await api.call('decidePairRequest', { nodeId: 'n', accept: true, group: 'theirs' });
    await api.call('putConfig', { config: { namespace: 'x' } });
    await api.call('status');
    expect(invoke.mock.calls).toEqual([
      ['pair_device', { target: 'abc' }],
      ['pair_session', { id: 1, waitMs: 25000 }],
      ['decide_pair_request', { nodeId: 'n', accept: true, group: 'theirs' }],
      ['put_config', { config: { namespace: 'x' } }],
      ['get_status', {}],
    ]);
  });

  it('leaves marking the conflicts seen to the shell', async () => {
    const { win } = fakeWindow('', true);
    const invoke = vi.fn(async () => ({}));
    const api = createApi(env(win, { invoke }));
    await expect(api.markConflictsSeen()).resolves.toBeUndefined();
    expect(invoke).not.toHaveBeenCalled();
  });

  it('maps {kind, message} errors to ApiError', async () => {
    const { win } = fakeWindow('', true);
    const invoke = vi.fn(async () => {
      throw { kind: 'INVALID_CONFIG', message: 'config key `namespace`: bad' };
    });
    const api = createApi(env(win, { invoke }));
    await expect(api.call('putConfig', { config: {} })).rejects.toMatchObject({
      kind: 'INVALID_CONFIG',
      message: 'config key `namespace`: bad',
    });
  });

  it('listens to engine:// and app:// events and reads autostart', async () => {
    const { win } = fakeWindow('', true);
    const names: string[] = [];
    const cbs = new Map<string, (e: { payload: unknown }) => void>();
    const listen = vi.fn(async (name: string, cb: (e: { payload: unknown }) => void) => {
      names.push(name);
      cbs.set(name, cb);
      return () => {};
    });
    const invoke = vi.fn(async (cmd: string) => (cmd === 'get_autostart' ? { enabled: true } : true));
    const api = createApi(env(win, { listen, invoke }));
    const seen: Array<[string, unknown]> = [];
    api.subscribe((k, d) => seen.push([k, d]));
    expect(names).toEqual([...ENGINE_EVENTS.map((k) => `engine://${k}`), 'app://autostart', 'app://navigate']);
    cbs.get('engine://status')?.({ payload: { mode: 'native' } });
    cbs.get('app://navigate')?.({ payload: { view: 'pair' } });
    expect(seen).toEqual([
      ['status', { mode: 'native' }],
      ['app:navigate', { view: 'pair' }],
    ]);
    await expect(api.getAutostart()).resolves.toBe(true);
    await expect(api.setAutostart(true)).resolves.toBe(true);
    expect(invoke).toHaveBeenLastCalledWith('set_autostart', { enabled: true });
  });
});
