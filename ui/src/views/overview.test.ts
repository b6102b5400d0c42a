// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';

import type { Sample } from '../chart';
import { DASH } from '../format';
import { fakeContext, sampleGossip, sampleMetrics, sampleStatus, textOf } from '../testing';
import { createOverviewView, type ChartSink } from './overview';

class FakeChart implements ChartSink {
  samples: Sample[] = [];
  constructor(readonly el: HTMLElement) {}
  get points(): number {
    return this.samples.length;
  }
  push(s: Sample): void {
    this.samples.push(s);
  }
}

function mount(ctx: ReturnType<typeof fakeContext>) {
  let chart: FakeChart | null = null;
  const view = createOverviewView(ctx, (el) => (chart = new FakeChart(el)));
  view.render();
  return { view, root: view.root, chart: chart as unknown as FakeChart };
}

describe('overview', () => {
  it('shows dashes, the engine error and an empty chart before the first status', () => {
    const { root } = mount(fakeContext({ statusError: 'cannot reach the engine' }));
    expect(root.getAttribute('data-view')).toBe('overview');
    expect(textOf(root, 'mode')).toBe(DASH);
    expect(textOf(root, 'mode-reason')).toBe('cannot reach the engine');
    expect(textOf(root, 'triple-count')).toBe(DASH);
    expect(textOf(root, 'cortex-health')).toBe(DASH);
    expect(root.querySelector('[data-testid="chart"]')?.getAttribute('data-points')).toBe('0');
    expect(root.querySelector<HTMLElement>('.chart-empty')?.hidden).toBe(false);
  });

  it('shows the mode, the Cortex and the sync counters of the status', () => {
    const { root } = mount(fakeContext({ status: sampleStatus() }));
    expect(Array.from(root.querySelectorAll('h2')).map((e) => e.textContent)).toEqual([
      'Mode',
      'Cortex',
      'Sync',
      'Gossip',
      'Triples synced and round latency',
    ]);
    expect(textOf(root, 'mode')).toBe('native');
    expect(textOf(root, 'mode-reason')).toBe('Paired devices sync over QUIC.');
    expect(textOf(root, 'cortex-health')).toBe('Healthy');
    expect(textOf(root, 'cortex-synced-by')).toBe('native gossip');
    expect(textOf(root, 'cortex')).toContain('OS keyring');
    expect(textOf(root, 'triple-count')).toBe('4,321');
    expect(textOf(root, 'successful-syncs')).toBe('7');
    expect(textOf(root, 'failed-syncs')).toBe('1');
    expect(textOf(root, 'last-sync')).toBe(DASH);
    expect(textOf(root, 'gossip')).toBe(
      'Native gossip is not running here (mode: native). It runs when this device syncs over QUIC with paired devices.',
    );
    expect(root.querySelector('.warnings')?.children).toHaveLength(0);
  });

  it('prefers the figures of the last metrics event, gossip included', () => {
    const ctx = fakeContext({
      status: sampleStatus(),
      metrics: sampleMetrics({
        mode: 'cortex',
        tripleCount: 12_345,
        gossip: sampleGossip({ round: 42, knownIds: 1000, bloomFilterFpr: 0.0123, changesSent: 3, changesReceived: 4, lastError: 'peer went away' }),
      }),
    });
    const { root } = mount(ctx);
    expect(textOf(root, 'mode')).toBe('cortex');
    expect(textOf(root, 'triple-count')).toBe('12,345');
    expect(textOf(root, 'gossip-round')).toBe('42');
    expect(textOf(root, 'gossip-known-ids')).toBe('1,000');
    expect(textOf(root, 'gossip-fpr')).toBe('1.23 %');
    expect(textOf(root, 'gossip')).toContain('3 changes sent, 4 received');
    expect(root.querySelector('[data-testid="gossip"] .error')?.textContent).toBe('peer went away');
  });

  it('reports the chart points and hides the placeholder once there is one', () => {
    const { view, root, chart } = mount(fakeContext({ status: sampleStatus() }));
    expect(chart.el).toBe(root.querySelector('[data-testid="chart"]'));
    chart.push({ t: 1, triples: 1, synced: 0, latencyMs: null });
    view.render();
    expect(root.querySelector('[data-testid="chart"]')?.getAttribute('data-points')).toBe('1');
    expect(root.querySelector<HTMLElement>('.chart-empty')?.hidden).toBe(true);
  });

  it('lists the engine warnings in their own card', () => {
    const { root } = mount(fakeContext({ status: sampleStatus({ warnings: ['sync.intervalSeconds raised to 10'] }) }));
    const warnings = root.querySelector('.warnings');
    expect(warnings?.querySelector('h2')?.textContent).toBe('Warnings');
    expect(Array.from(warnings?.querySelectorAll('li') ?? []).map((li) => li.textContent)).toEqual(['sync.intervalSeconds raised to 10']);
  });
});
