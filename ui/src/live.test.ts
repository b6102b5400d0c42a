// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';

import type { Sample } from './chart';
import { createLive } from './live';
import { createState } from './state';
import { fakeActions, fakeApi, sampleGossip, sampleMetrics } from './testing';
import type { Metrics } from './types';

function setup(hidden = false) {
  const state = createState();
  const api = fakeApi();
  const actions = fakeActions();
  const samples: Sample[] = [];
  const chart = { points: 0, push: (s: Sample) => void samples.push(s) };
  const refresh = vi.fn();
  const render = vi.fn();
  const doc = new EventTarget() as EventTarget & { hidden: boolean };
  doc.hidden = hidden;
  const live = createLive({ state, api, actions, chart, refresh, render, doc: doc as unknown as Document });
  live.subscribe();
  return { state, api, actions, samples, refresh, render, doc };
}

describe('live events', () => {
  it('feed metrics to the state and the chart, then redraw', () => {
    const t = setup();
    const m = sampleMetrics({ tripleCount: 10, gossip: sampleGossip({ changesReceived: 4, round: 1 }) });
    t.api.handler?.('metrics', m);
    expect(t.state.metrics).toBe(m);
    expect(t.samples).toHaveLength(1);
    expect(t.samples[0]).toMatchObject({ triples: 10, synced: 4 });
    expect(t.render).toHaveBeenCalledTimes(1);
    expect(t.refresh).not.toHaveBeenCalled();
  });

  it('take the figures an older engine sends, and no more', () => {
    const t = setup();
    t.api.handler?.('metrics', { tripleCount: 5 } as Metrics);
    expect(t.samples[0]).toMatchObject({ triples: 5, synced: null, latencyMs: null });
  });

  it('refresh the status when the figures move, not when they stay', () => {
    const t = setup();
    t.api.handler?.('metrics', sampleMetrics({ tripleCount: 10 }));
    t.api.handler?.('metrics', sampleMetrics({ tripleCount: 10 }));
    expect(t.refresh).not.toHaveBeenCalled();
    t.api.handler?.('metrics', sampleMetrics({ tripleCount: 11 }));
    expect(t.refresh).toHaveBeenCalledWith('status');
  });

  it('ignore metrics without a body and draw nothing while hidden, until shown again', () => {
    const t = setup(true);
    t.api.handler?.('metrics', null);
    expect(t.samples).toHaveLength(0);
    t.api.handler?.('metrics', sampleMetrics({ tripleCount: 1 }));
    expect(t.samples).toHaveLength(1);
    expect(t.render).not.toHaveBeenCalled();
    t.doc.hidden = false;
    t.doc.dispatchEvent(new Event('visibilitychange'));
    expect(t.render).toHaveBeenCalledTimes(1);
  });

  it('refresh what each event changed', () => {
    const t = setup();
    const h = t.api.handler!;
    h('status', null);
    h('peer', null);
    h('nearby', null);
    h('pairing', null);
    h('conflict', null);
    h('failure', null);
    expect(t.refresh.mock.calls).toEqual([['status'], ['status'], ['nearby'], ['requests', 'status', 'nearby'], ['conflicts', 'status'], ['status']]);
  });

  it('follow the app: start at login, and navigation to settings or devices', () => {
    const t = setup();
    t.api.handler?.('app:autostart', { enabled: true });
    expect(t.state.autostart).toBe(true);
    expect(t.render).toHaveBeenCalled();
    t.api.handler?.('app:navigate', { view: 'settings' });
    t.api.handler?.('app:navigate', { view: 'pair' });
    expect(t.actions.go.mock.calls).toEqual([['settings'], ['devices']]);
  });

  it('show the link state and catch up on everything after a reconnect', () => {
    const t = setup();
    t.api.onLink?.('live');
    expect(t.state.link).toBe('live');
    expect(t.refresh).not.toHaveBeenCalled();
    t.api.onLink?.('reconnecting');
    t.api.onLink?.('live');
    expect(t.refresh).toHaveBeenCalledWith('status', 'nearby', 'requests', 'conflicts');
    expect(t.render).toHaveBeenCalledTimes(3);
  });

  it('mark a conflict seen as it arrives while the user looks at the conflicts', async () => {
    const t = setup();
    t.state.view = 'conflicts';
    t.api.handler?.('conflict', { peer: 'aa', count: 1 });
    await vi.waitFor(() => expect(t.refresh).toHaveBeenCalledWith('conflicts'));
    expect(t.actions.markConflictsSeen).toHaveBeenCalledTimes(1);
    t.state.view = 'overview';
    t.api.handler?.('conflict', { peer: 'aa', count: 1 });
    expect(t.actions.markConflictsSeen).toHaveBeenCalledTimes(1);
    expect(t.refresh).toHaveBeenLastCalledWith('conflicts', 'status');
  });
});
