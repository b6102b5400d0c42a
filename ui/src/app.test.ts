// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';

import { mountApp } from './app';
import type { Sample } from './chart';
import { createState, type AppState } from './state';
import { fakeApi, sampleMetrics, sampleStatus, textOf } from './testing';

function mount(view: AppState['view'] = 'overview') {
  const samples: Sample[] = [];
  const api = fakeApi({
    status: sampleStatus(),
    nearby: [],
    pairRequests: [],
    conflicts: [],
    getConfig: { config: { discovery: { bonjourEnabled: true } }, path: '/c.json', warnings: [] },
  });
  const state = { ...createState(), view };
  const root = document.createElement('div');
  const app = mountApp(root, { state, api, makeChart: () => ({ get points() { return samples.length; }, push: (s) => void samples.push(s) }) });
  return { app, api, root, state };
}

const shown = (root: HTMLElement) =>
  Array.from(root.querySelectorAll<HTMLElement>('main > section.view'))
    .filter((s) => !s.hidden)
    .map((s) => s.getAttribute('data-view'));

describe('the window', () => {
  it('lays out the header, tabs and the four views, showing one at a time', async () => {
    const { app, root } = mount();
    app.render();
    expect(Array.from(root.querySelectorAll('main > section')).map((s) => s.getAttribute('data-view'))).toEqual([
      'overview',
      'devices',
      'conflicts',
      'settings',
    ]);
    expect(shown(root)).toEqual(['overview']);
    expect(textOf(root, 'state')).toBe('Connecting…');

    await app.loadAll();
    app.render();
    expect(root.querySelector('.device')?.textContent).toBe('alpha');
    expect(textOf(root, 'mode')).toBe('native');
    expect(root.querySelector('[data-testid="settings-form"] legend')?.textContent).toBe('Sync');

    root.querySelector<HTMLButtonElement>('[data-testid="tab-devices"]')?.click();
    expect(shown(root)).toEqual(['devices']);
    expect(root.querySelectorAll('[data-testid="peer"]')).toHaveLength(1);
    expect(textOf(root, 'nearby-empty')).toBe('Looking for devices… Devices running Mayros Sync with discovery on appear here.');
  });

  it('marks the conflicts seen when the user opens them, once', async () => {
    const { app, api, root } = mount();
    await app.loadAll();
    app.render();
    expect(api.markConflictsSeen).not.toHaveBeenCalled();
    root.querySelector<HTMLButtonElement>('[data-testid="tab-conflicts"]')?.click();
    root.querySelector<HTMLButtonElement>('[data-testid="tab-conflicts"]')?.click();
    expect(shown(root)).toEqual(['conflicts']);
    await vi.waitFor(() => expect(api.calls.filter((c) => c.op === 'status')).toHaveLength(2));
    expect(api.markConflictsSeen).toHaveBeenCalledTimes(1);
  });

  it('marks the conflicts seen when the window opens on them', async () => {
    const { app, api } = mount('conflicts');
    await app.loadAll();
    expect(api.markConflictsSeen).toHaveBeenCalledTimes(1);
  });

  it('draws pushed metrics on the chart and in the overview', () => {
    const { app, api, root, state } = mount();
    app.render();
    app.live.subscribe();
    api.handler?.('metrics', sampleMetrics({ tripleCount: 99 }));
    expect(state.metrics?.tripleCount).toBe(99);
    expect(root.querySelector('[data-testid="chart"]')?.getAttribute('data-points')).toBe('1');
  });
});
