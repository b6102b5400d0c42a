// The overview: mode, Cortex health, sync counters, gossip figures, the live chart and warnings.

import type { Sample } from '../chart';
import { h, renderIfChanged, setText } from '../dom';
import { DASH, formatBytes, formatCount, formatFpr, formatMs, formatRelative, roundLatencyMs } from '../format';
import { currentGossip } from '../state';
import type { ViewContext } from './context';
import { card, fact, stat } from './parts';

/** What the overview needs of the live chart (tests pass a stand-in). */
export interface ChartSink {
  /** How many points are drawn. */
  readonly points: number;
  push(s: Sample): void;
}

/** The overview tab. */
export interface OverviewView {
  root: HTMLElement;
  chart: ChartSink;
  render(): void;
}

/** Builds the overview; `makeChart` draws the chart into the element it is given. */
export function createOverviewView({ state }: ViewContext, makeChart: (el: HTMLElement) => ChartSink): OverviewView {
  const mode = h('div', { class: 'big', 'data-testid': 'mode' }, DASH);
  const modeReason = h('p', { class: 'muted reason', 'data-testid': 'mode-reason' }, DASH);
  const cortex = h('dl', { class: 'facts', 'data-testid': 'cortex' });
  const counters = h('div', { class: 'counters' });
  const gossip = h('div', { class: 'gossip', 'data-testid': 'gossip' });
  const chartEl = h('div', { class: 'chart', 'data-testid': 'chart', 'data-points': '0' });
  const chartEmpty = h('div', { class: 'chart-empty muted' }, 'Waiting for the first measurement (the engine sends one every 2 s)…');
  const warnings = h('div', { class: 'warnings' });

  const root = h(
    'section',
    { class: 'view', 'data-view': 'overview' },
    h(
      'div',
      { class: 'grid' },
      card('Mode', mode, modeReason),
      card('Cortex', cortex),
      card('Sync', counters),
      card('Gossip', gossip),
    ),
    h(
      'div',
      { class: 'card chart-card' },
      h('h2', null, 'Triples synced and round latency'),
      h('div', { class: 'chart-box' }, chartEl, chartEmpty),
    ),
    warnings,
  );
  const chart = makeChart(chartEl);

  function render(): void {
    const s = state.status;
    const m = state.metrics;
    setText(mode, s ? (m?.mode ?? s.mode) : DASH);
    setText(modeReason, s ? s.modeReason : (state.statusError ?? DASH));

    const c = s?.cortex;
    renderIfChanged(cortex, JSON.stringify([c, s?.secretStore]), () => [
      ...fact(
        'Health',
        c ? h('span', { class: c.healthy ? 'ok' : 'error' }, c.healthy ? 'Healthy' : 'Unhealthy') : DASH,
        'cortex-health',
      ),
      ...fact('Detail', c?.message || DASH),
      ...fact('Backend', c?.backend ?? DASH),
      ...fact('URL', c?.url ? h('span', { class: 'mono small clip', title: c.url }, c.url) : DASH),
      ...(c?.syncedBy ? fact('Sync', h('span', { 'data-testid': 'cortex-synced-by' }, c.syncedBy)) : []),
      ...fact('Secrets', s?.secretStore === 'keyring' ? 'OS keyring' : s?.secretStore === 'file' ? 'File in the data dir' : (s?.secretStore ?? DASH)),
    ]);

    const triples = m?.tripleCount ?? s?.tripleCount;
    const sync = m?.sync ?? s?.sync;
    const figures = [
      formatCount(triples),
      formatCount(sync?.totalSuccessfulSyncs),
      formatCount(sync?.totalFailedSyncs),
      formatRelative(sync?.lastSyncAt),
    ];
    renderIfChanged(counters, JSON.stringify(figures), () => [
      stat('Triples', figures[0], 'triple-count'),
      stat('Successful syncs', figures[1], 'successful-syncs'),
      stat('Failed syncs', figures[2], 'failed-syncs'),
      stat('Last sync', figures[3], 'last-sync'),
    ]);

    const g = currentGossip(state);
    const gKey = g
      ? JSON.stringify([
          g.round,
          g.successfulSyncs,
          g.failedSyncs,
          g.knownIds,
          g.bloomFilterFpr,
          g.pendingAnnouncements,
          g.changesSent,
          g.changesReceived,
          g.bytesIn,
          g.bytesOut,
          roundLatencyMs(g),
          g.lastError,
        ])
      : `none:${s?.mode}`;
    renderIfChanged(gossip, gKey, () =>
      g
        ? [
            h(
              'div',
              { class: 'counters' },
              stat('Round', formatCount(g.round), 'gossip-round'),
              stat('Known ids', formatCount(g.knownIds), 'gossip-known-ids'),
              stat('Bloom FPR', formatFpr(g.bloomFilterFpr), 'gossip-fpr'),
              stat('Round latency', formatMs(roundLatencyMs(g)), 'gossip-latency'),
            ),
            h(
              'p',
              { class: 'muted small' },
              `${formatCount(g.successfulSyncs)} successful / ${formatCount(g.failedSyncs)} failed rounds · ${formatCount(
                g.pendingAnnouncements,
              )} pending announcements · ${formatCount(g.changesSent)} changes sent, ${formatCount(g.changesReceived)} received · ${formatBytes(
                g.bytesOut,
              )} out, ${formatBytes(g.bytesIn)} in`,
            ),
            g.lastError ? h('p', { class: 'error small' }, g.lastError) : null,
          ]
        : [
            h(
              'p',
              { class: 'empty' },
              s
                ? `Native gossip is not running here (mode: ${s.mode}). It runs when this device syncs over QUIC with paired devices.`
                : DASH,
            ),
          ],
    );

    chartEmpty.hidden = chart.points > 0;
    chartEl.setAttribute('data-points', String(chart.points));

    const list = s?.warnings ?? [];
    renderIfChanged(warnings, JSON.stringify(list), () =>
      list.length ? [card('Warnings', h('ul', { class: 'warning-list' }, ...list.map((w) => h('li', null, w))))] : [],
    );
  }

  return { root, chart, render };
}
