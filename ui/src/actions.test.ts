import { afterEach, describe, expect, it, vi } from 'vitest';

import { createActions } from './actions';
import { ApiError } from './api';
import type { Loaders } from './loading';
import { createState } from './state';
import { fakeApi, sampleRequest, sampleStatus } from './testing';
import type { Conflict } from './types';

function setup(answers: Parameters<typeof fakeApi>[0] = {}) {
  const state = createState();
  const api = fakeApi(answers);
  const load: Loaders = { status: vi.fn(async () => {}), nearby: vi.fn(async () => {}), requests: vi.fn(async () => {}), conflicts: vi.fn(async () => {}) };
  const render = vi.fn();
  return { state, api, load, render, actions: createActions({ state, api, load, render }) };
}

const request = sampleRequest({ nodeId: 'n1', name: 'bravo', address: 'a', expiresAt: '' });

afterEach(() => vi.useRealTimers());

describe('actions', () => {
  it('go switches the view and redraws', () => {
    const t = setup();
    t.actions.go('devices');
    expect(t.state.view).toBe('devices');
    expect(t.render).toHaveBeenCalledTimes(1);
    expect(t.api.markConflictsSeen).not.toHaveBeenCalled();
  });

  it('opening the conflicts marks them seen once, then reads the status again', async () => {
    const t = setup();
    t.actions.go('conflicts');
    expect(t.state.view).toBe('conflicts');
    t.actions.go('conflicts');
    await vi.waitFor(() => expect(t.load.status).toHaveBeenCalledTimes(1));
    expect(t.api.markConflictsSeen).toHaveBeenCalledTimes(1);
    t.actions.go('overview');
    t.actions.go('conflicts');
    await vi.waitFor(() => expect(t.load.status).toHaveBeenCalledTimes(2));
    expect(t.api.markConflictsSeen).toHaveBeenCalledTimes(2);
  });

  it('marking the conflicts seen still reads the status when the engine refuses', async () => {
    const t = setup();
    t.api.markConflictsSeen = vi.fn(() => Promise.reject(new ApiError('ENGINE_DOWN', 'down')));
    await t.actions.markConflictsSeen();
    expect(t.load.status).toHaveBeenCalledTimes(1);
    expect(t.state.syncResult).toBeNull();
  });

  it('sync now reports every device’s outcome and reads the status again', async () => {
    const t = setup({
      syncNow: {
        mode: 'native',
        deferred: false,
        message: 'Synced in native mode.',
        results: [
          { nodeId: 'a', name: 'bravo', ok: true, received: 1200, sent: 3, durationMs: 8 },
          { nodeId: 'b', name: 'charlie', ok: false, error: 'timed out' },
        ],
      },
    });
    const run = t.actions.syncNow();
    expect(t.state.syncing).toBe(true);
    await run;
    expect(t.state.syncing).toBe(false);
    expect(t.state.syncResult).toEqual({
      ok: false,
      text: 'Synced in native mode. · bravo: 1,200 received, 3 sent, 8 ms · charlie: failed — timed out',
    });
    expect(t.api.calls).toEqual([{ op: 'syncNow', args: {} }]);
    expect(t.load.status).toHaveBeenCalled();
  });

  it('sync now reads the status only when the engine answers, never on a timer', async () => {
    vi.useFakeTimers();
    let finish: (v: unknown) => void = () => {};
    const t = setup({ syncNow: () => new Promise((resolve) => (finish = resolve)) });
    const run = t.actions.syncNow();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(t.load.status).not.toHaveBeenCalled();
    expect(t.state.syncing).toBe(true);
    finish({ mode: 'polled', deferred: false, message: 'Synced.', results: [] });
    await run;
    expect(t.state.syncing).toBe(false);
    expect(t.load.status).toHaveBeenCalledTimes(1);
  });

  it('sync of one device marks it busy and says why it failed', async () => {
    const t = setup({ syncNow: () => Promise.reject(new ApiError('ENGINE_DOWN', 'cannot reach the engine')) });
    const run = t.actions.syncNow('n1');
    expect(t.state.peerBusy.has('n1')).toBe(true);
    await run;
    expect(t.state.peerBusy.has('n1')).toBe(false);
    expect(t.api.calls[0].args).toEqual({ peer: 'n1' });
    expect(t.state.syncResult).toEqual({ ok: false, text: 'Sync failed: cannot reach the engine' });
  });

  it('pause sends the minutes, resume reports a failure', async () => {
    const t = setup({ pause: {}, resume: () => Promise.reject(new Error('no')) });
    await t.actions.pause(15);
    await t.actions.pause();
    await t.actions.resume();
    expect(t.api.calls.map((c) => c.args)).toEqual([{ minutes: 15 }, {}, undefined]);
    expect(t.state.syncResult).toEqual({ ok: false, text: 'Cannot resume: no' });
  });

  it('unpair clears the confirmation and reports the result', async () => {
    const t = setup({ unpair: {} });
    t.state.confirmUnpair = 'node-bravo-9876543210';
    await t.actions.unpair(sampleStatus().peers[0]);
    expect(t.state.confirmUnpair).toBeNull();
    expect(t.api.calls).toEqual([{ op: 'unpair', args: { peer: 'node-bravo-9876543210' } }]);
    expect(t.state.syncResult).toEqual({ ok: true, text: 'Unpaired bravo.' });
    expect(t.load.nearby).toHaveBeenCalled();
  });

  it('a pairing follows the session until it ends', async () => {
    const t = setup({
      pair: { sessionId: 5, state: 'waiting', code: '654321', nodeId: 'n1', name: 'bravo' },
      pairSession: { sessionId: 5, state: 'paired', code: '654321', nodeId: 'n1', name: 'bravo' },
    });
    await t.actions.startPairing('127.0.0.1:7444', 'delta');
    expect(t.api.calls).toEqual([
      { op: 'pair', args: { target: '127.0.0.1:7444' } },
      { op: 'pairSession', args: { id: 5, waitMs: 25_000 } },
    ]);
    expect(t.state.pairing).toEqual({ target: '127.0.0.1:7444', name: 'bravo', state: 'paired', code: '654321', reason: null });
  });

  it('a pairing that cannot start says why', async () => {
    const t = setup({ pair: () => Promise.reject(new Error('refused')) });
    await t.actions.startPairing('x', 'delta');
    expect(t.state.pairing).toMatchObject({ name: 'delta', state: 'failed', reason: 'refused' });
  });

  it('a decision keeps the engine’s note when it needs a group choice', async () => {
    const t = setup({ decidePairRequest: () => Promise.reject(new ApiError('GROUP_CHOICE_NEEDED', 'choose a group')) });
    await t.actions.decide(request, true);
    expect(t.state.requestNotes.get('n1')).toEqual({ kind: 'GROUP_CHOICE_NEEDED', message: 'choose a group' });
    expect(t.load.requests).toHaveBeenCalled();
  });

  it('a decision with a group sends it and reports the pairing', async () => {
    const t = setup({ decidePairRequest: {} });
    t.state.requestNotes.set('n1', { kind: 'GROUP_CHOICE_NEEDED', message: 'x' });
    await t.actions.decide(request, true, 'theirs');
    expect(t.api.calls[0].args).toEqual({ nodeId: 'n1', accept: true, group: 'theirs' });
    expect(t.state.requestNotes.has('n1')).toBe(false);
    expect(t.state.syncResult).toEqual({ ok: true, text: 'Paired with bravo.' });
  });

  it('restore says how many triples came back', async () => {
    const t = setup({ restoreConflict: { restored: ['a', 'b'] } });
    await t.actions.restore({ id: 3, subject: 's', predicate: 'p' } as Conflict);
    expect(t.api.calls[0].args).toEqual({ id: 3 });
    expect(t.state.syncResult).toEqual({ ok: true, text: 'Restored 2 triple(s) of s p.' });
    expect(t.load.conflicts).toHaveBeenCalled();
  });

  it('start at login takes the app’s answer, or reports the failure', async () => {
    const t = setup();
    await t.actions.toggleAutostart(true);
    expect(t.state.autostart).toBe(true);
    t.api.setAutostart = () => Promise.reject(new Error('denied'));
    await t.actions.toggleAutostart(false);
    expect(t.state.autostart).toBe(true);
    expect(t.state.syncResult).toEqual({ ok: false, text: 'Cannot change start at login: denied' });
  });
});
