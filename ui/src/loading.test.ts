import { afterEach, describe, expect, it, vi } from 'vitest';

import { ApiError } from './api';
import { createLoaders, createRefresh, type Loaders } from './loading';
import { createState } from './state';
import { fakeApi, sampleStatus } from './testing';

afterEach(() => vi.useRealTimers());

describe('loaders', () => {
  it('read the status, and forget it when the engine is down', async () => {
    const state = createState();
    let down = false;
    const api = fakeApi({ status: () => (down ? Promise.reject(new ApiError('ENGINE_DOWN', 'refused')) : sampleStatus()) });
    const load = createLoaders(state, api);
    await load.status();
    expect(state.status?.name).toBe('alpha');
    expect(state.statusAt).toBeGreaterThan(0);
    down = true;
    await load.status();
    expect(state.status).toBeNull();
    expect(state.statusError).toBe('refused');
  });

  it('keep the last status on other errors', async () => {
    const state = createState();
    state.status = sampleStatus();
    await createLoaders(state, fakeApi({ status: () => Promise.reject(new ApiError('INTERNAL', 'oops')) })).status();
    expect(state.status?.name).toBe('alpha');
    expect(state.statusError).toBe('oops');
  });

  it('drop the notes of requests that are gone, and keep lists when a read fails', async () => {
    const state = createState();
    state.requestNotes.set('gone', { kind: 'BUSY', message: '' });
    state.requestNotes.set('n1', { kind: 'BUSY', message: '' });
    state.nearby = [];
    const load = createLoaders(state, fakeApi({ pairRequests: [{ nodeId: 'n1', name: 'b', address: '', code: '', expiresAt: '' }] }));
    await load.requests();
    expect([...state.requestNotes.keys()]).toEqual(['n1']);
    await load.nearby();
    await load.conflicts();
    expect(state.nearby).toEqual([]);
    expect(state.conflicts).toBeNull();
  });
});

describe('refresh', () => {
  it('coalesces parts asked for together into one load each, then one render', async () => {
    vi.useFakeTimers();
    const load: Loaders = { status: vi.fn(async () => {}), nearby: vi.fn(async () => {}), requests: vi.fn(async () => {}), conflicts: vi.fn(async () => {}) };
    const render = vi.fn();
    const refresh = createRefresh(load, render);
    refresh('status');
    refresh('status', 'nearby');
    await vi.advanceTimersByTimeAsync(199);
    expect(load.status).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1000);
    expect(load.status).toHaveBeenCalledTimes(1);
    expect(load.nearby).toHaveBeenCalledTimes(1);
    expect(load.conflicts).not.toHaveBeenCalled();
    expect(render).toHaveBeenCalledTimes(1);
  });
});
