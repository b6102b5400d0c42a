// The Mayros Sync window (DESIGN §10): status at a glance, live metrics, devices and pairing,
// conflicts and settings. Values come from the engine only; pushed events drive updates.

// First: later modules (uPlot) use navigator.language when they load.
import './locale_guard';
import './style.css';

import { ApiError, createApi, type Api, type LinkState } from './api';
import { LiveChart } from './chart';
import { h, renderIfChanged, setText } from './dom';
import {
  DASH,
  formatBytes,
  formatCode,
  formatCount,
  formatFpr,
  formatMs,
  formatObject,
  formatRelative,
  formatTime,
  formatUptime,
  overallState,
  peerStateText,
  roundLatencyMs,
  shortId,
} from './format';
import { FIELDS, SECTIONS, formPatch, fromInput, getPath, placeError, toInput, warningsByField, type Field } from './settings';
import type {
  Conflict,
  ConfigAnswer,
  Gossip,
  Metrics,
  NearbyDevice,
  PairRequest,
  PairSession,
  PeerView,
  Status,
  SyncNowOutcome,
} from './types';

type View = 'overview' | 'devices' | 'conflicts' | 'settings';

interface OutgoingPairing {
  target: string;
  name: string;
  state: 'starting' | PairSession['state'];
  code: string | null;
  reason: string | null;
}

const state = {
  view: 'overview' as View,
  status: null as Status | null,
  /** When the status was read (uptime ages from there). */
  statusAt: 0,
  statusError: null as string | null,
  metrics: null as Metrics | null,
  nearby: null as NearbyDevice[] | null,
  requests: [] as PairRequest[],
  /** nodeId → what the engine said when a group choice is needed, or an error. */
  requestNotes: new Map<string, { kind: string; message: string }>(),
  conflicts: null as Conflict[] | null,
  config: null as ConfigAnswer | null,
  pairing: null as OutgoingPairing | null,
  syncing: false,
  syncResult: null as { ok: boolean; text: string } | null,
  peerBusy: new Set<string>(),
  confirmUnpair: null as string | null,
  autostart: null as boolean | null,
  link: 'connecting' as LinkState,
};

const api: Api = createApi();
const root = document.getElementById('app') as HTMLElement;

// ---------------------------------------------------------------- layout (built once)

const el = {
  pill: h('span', { class: 'pill', 'data-testid': 'state' }, DASH),
  stateDetail: h('span', { class: 'state-detail muted' }),
  device: h('span', { class: 'device muted' }),
  link: h('span', { class: 'link', 'data-testid': 'link' }),
  actions: h('div', { class: 'actions' }),
  syncResult: h('div', { class: 'sync-result', 'data-testid': 'sync-result', role: 'status' }),
  banner: h('div', { class: 'banners' }),
  tabs: h('nav', { class: 'tabs', role: 'tablist' }),
  views: {
    overview: h('section', { class: 'view', 'data-view': 'overview' }),
    devices: h('section', { class: 'view', 'data-view': 'devices' }),
    conflicts: h('section', { class: 'view', 'data-view': 'conflicts' }),
    settings: h('section', { class: 'view', 'data-view': 'settings' }),
  } as Record<View, HTMLElement>,
};

const ov = {
  mode: h('div', { class: 'big', 'data-testid': 'mode' }, DASH),
  modeReason: h('p', { class: 'muted reason', 'data-testid': 'mode-reason' }, DASH),
  cortex: h('dl', { class: 'facts', 'data-testid': 'cortex' }),
  counters: h('div', { class: 'counters' }),
  gossip: h('div', { class: 'gossip', 'data-testid': 'gossip' }),
  chart: h('div', { class: 'chart', 'data-testid': 'chart', 'data-points': '0' }),
  chartEmpty: h('div', { class: 'chart-empty muted' }, 'Waiting for the first measurement (the engine sends one every 2 s)…'),
  warnings: h('div', { class: 'warnings' }),
};

const dv = {
  requests: h('div', { 'data-testid': 'pair-requests' }),
  pairing: h('div', { 'data-testid': 'pairing' }),
  peers: h('div', { 'data-testid': 'peers' }),
  nearby: h('div', { 'data-testid': 'nearby' }),
};

const cv = { list: h('div', { 'data-testid': 'conflicts' }) };

const sv = {
  autostart: h('div', { class: 'card', 'data-testid': 'autostart' }),
  form: h('form', { class: 'settings-form card', 'data-testid': 'settings-form', novalidate: true }),
  about: h('dl', { class: 'facts card', 'data-testid': 'about' }),
};

let chart: LiveChart | null = null;

function card(title: string, ...body: (Node | string | null)[]): HTMLElement {
  return h('div', { class: 'card' }, h('h2', null, title), ...body);
}

function buildLayout(): void {
  root.replaceChildren(
    h(
      'header',
      { class: 'top' },
      h('div', { class: 'brand' }, h('h1', null, 'Mayros Sync'), el.device),
      h('div', { class: 'state' }, el.pill, el.stateDetail),
      el.actions,
      el.link,
    ),
    el.syncResult,
    el.banner,
    el.tabs,
    h('main', null, ...Object.values(el.views)),
  );

  el.views.overview.append(
    h(
      'div',
      { class: 'grid' },
      card('Mode', ov.mode, ov.modeReason),
      card('Cortex', ov.cortex),
      card('Sync', ov.counters),
      card('Gossip', ov.gossip),
    ),
    h(
      'div',
      { class: 'card chart-card' },
      h('h2', null, 'Triples synced and round latency'),
      h('div', { class: 'chart-box' }, ov.chart, ov.chartEmpty),
    ),
    ov.warnings,
  );
  el.views.devices.append(
    dv.requests,
    dv.pairing,
    card('Paired devices', dv.peers),
    card('Nearby devices', dv.nearby),
  );
  el.views.conflicts.append(card('Conflicts', cv.list));
  el.views.settings.append(sv.autostart, sv.form, sv.about);
  chart = new LiveChart(ov.chart);
}

// ---------------------------------------------------------------- data loading

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function loadStatus(): Promise<void> {
  try {
    state.status = await api.call<Status>('status');
    state.statusAt = Date.now();
    state.statusError = null;
  } catch (e) {
    state.statusError = message(e);
    if (e instanceof ApiError && (e.kind === 'ENGINE_DOWN' || e.kind === 'UNAUTHORIZED')) state.status = null;
  }
}

async function loadNearby(): Promise<void> {
  try {
    state.nearby = await api.call<NearbyDevice[]>('nearby');
  } catch {
    /* keeps the last list; the status banner says why the engine is unreachable */
  }
}

async function loadRequests(): Promise<void> {
  try {
    state.requests = await api.call<PairRequest[]>('pairRequests');
    const live = new Set(state.requests.map((r) => r.nodeId));
    for (const id of [...state.requestNotes.keys()]) if (!live.has(id)) state.requestNotes.delete(id);
  } catch {
    /* as above */
  }
}

async function loadConflicts(): Promise<void> {
  try {
    state.conflicts = await api.call<Conflict[]>('conflicts');
  } catch {
    /* as above */
  }
}

async function loadConfig(): Promise<void> {
  try {
    state.config = await api.call<ConfigAnswer>('getConfig');
    renderSettingsForm();
  } catch (e) {
    renderIfChanged(sv.form, `err:${message(e)}`, () => [h('p', { class: 'error' }, `Cannot read the settings: ${message(e)}`)]);
  }
}

type Part = 'status' | 'nearby' | 'requests' | 'conflicts';
const pending = new Set<Part>();
let refreshTimer: ReturnType<typeof setTimeout> | null = null;
let lastRefresh = 0;

/** Refreshes parts after events, coalesced, at most once a second. */
function scheduleRefresh(...parts: Part[]): void {
  parts.forEach((p) => pending.add(p));
  if (refreshTimer) return;
  const wait = Math.max(200, 1000 - (Date.now() - lastRefresh));
  refreshTimer = setTimeout(async () => {
    refreshTimer = null;
    lastRefresh = Date.now();
    const todo = [...pending];
    pending.clear();
    await Promise.all(
      todo.map((p) =>
        p === 'status' ? loadStatus() : p === 'nearby' ? loadNearby() : p === 'requests' ? loadRequests() : loadConflicts(),
      ),
    );
    render();
  }, wait);
}

// ---------------------------------------------------------------- actions

async function syncNow(peer?: string): Promise<void> {
  if (peer) state.peerBusy.add(peer);
  else state.syncing = true;
  state.syncResult = null;
  render();
  try {
    const out = await api.call<SyncNowOutcome>('syncNow', peer ? { peer } : {});
    const failed = out.results.filter((r) => !r.ok);
    const parts = out.results.map((r) =>
      r.ok
        ? `${r.name}: ${formatCount(r.received)} received, ${formatCount(r.sent)} sent, ${formatMs(r.durationMs)}`
        : `${r.name}: failed — ${r.error ?? 'unknown error'}`,
    );
    state.syncResult = {
      ok: failed.length === 0,
      text: [out.message, ...parts].filter((s) => s).join(' · ') || 'Done.',
    };
  } catch (e) {
    state.syncResult = { ok: false, text: `Sync failed: ${message(e)}` };
  } finally {
    if (peer) state.peerBusy.delete(peer);
    else state.syncing = false;
    await loadStatus();
    render();
  }
}

async function pause(minutes?: number): Promise<void> {
  try {
    await api.call('pause', minutes ? { minutes } : {});
  } catch (e) {
    state.syncResult = { ok: false, text: `Cannot pause: ${message(e)}` };
  }
  await loadStatus();
  render();
}

async function resume(): Promise<void> {
  try {
    await api.call('resume');
  } catch (e) {
    state.syncResult = { ok: false, text: `Cannot resume: ${message(e)}` };
  }
  await loadStatus();
  render();
}

async function unpair(peer: PeerView): Promise<void> {
  state.confirmUnpair = null;
  state.peerBusy.add(peer.nodeId);
  render();
  try {
    await api.call('unpair', { peer: peer.nodeId });
    state.syncResult = { ok: true, text: `Unpaired ${peer.name}.` };
  } catch (e) {
    state.syncResult = { ok: false, text: `Cannot unpair ${peer.name}: ${message(e)}` };
  } finally {
    state.peerBusy.delete(peer.nodeId);
    await Promise.all([loadStatus(), loadNearby()]);
    render();
  }
}

function pairTarget(d: NearbyDevice): string | null {
  if (d.nodeId) return d.nodeId;
  const addr = d.addresses[0];
  return addr && d.quicPort ? `${addr.includes(':') ? `[${addr}]` : addr}:${d.quicPort}` : null;
}

async function startPairing(target: string, name: string): Promise<void> {
  state.pairing = { target, name, state: 'starting', code: null, reason: null };
  render();
  try {
    const s = await api.call<PairSession>('pair', { target });
    state.pairing = { target, name: s.name || name, state: s.state, code: s.code, reason: s.reason ?? null };
    render();
    const id = s.sessionId;
    while (state.pairing?.target === target && state.pairing.state === 'waiting' && id !== undefined) {
      // A long poll: the engine answers when the session ends or after 25 s. Never more than
      // one request a second, even if an answer comes back at once.
      const asked = Date.now();
      const v = await api.call<PairSession>('pairSession', { id, waitMs: 25_000 });
      if (v.state === 'waiting') await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - asked))));
      if (state.pairing?.target !== target) return;
      state.pairing = { target, name: v.name || name, state: v.state, code: v.code, reason: v.reason ?? null };
      render();
    }
  } catch (e) {
    if (state.pairing?.target === target) state.pairing = { ...state.pairing, state: 'failed', reason: message(e) };
  }
  await Promise.all([loadStatus(), loadNearby()]);
  render();
}

async function decide(r: PairRequest, accept: boolean, group?: 'mine' | 'theirs'): Promise<void> {
  state.requestNotes.set(r.nodeId, { kind: 'BUSY', message: accept ? 'Pairing…' : 'Rejecting…' });
  render();
  try {
    await api.call('decidePairRequest', { nodeId: r.nodeId, accept, ...(group ? { group } : {}) });
    state.requestNotes.delete(r.nodeId);
    state.syncResult = { ok: true, text: accept ? `Paired with ${r.name}.` : `Rejected ${r.name}.` };
  } catch (e) {
    const kind = e instanceof ApiError ? e.kind : 'INTERNAL';
    state.requestNotes.set(r.nodeId, { kind, message: message(e) });
  }
  await Promise.all([loadRequests(), loadStatus(), loadNearby()]);
  render();
}

async function restore(c: Conflict): Promise<void> {
  try {
    const out = await api.call<{ restored: string[] }>('restoreConflict', { id: c.id });
    state.syncResult = { ok: true, text: `Restored ${out.restored.length} triple(s) of ${c.subject} ${c.predicate}.` };
  } catch (e) {
    state.syncResult = { ok: false, text: `Cannot restore: ${message(e)}` };
  }
  await Promise.all([loadConflicts(), loadStatus()]);
  render();
}

// ---------------------------------------------------------------- rendering

function gossipNow(): Gossip | null | undefined {
  return state.metrics ? state.metrics.gossip : state.status?.gossip;
}

let resultTimer: ReturnType<typeof setTimeout> | null = null;
let shownResult: unknown = null;

/** A result line goes stale: it is cleared a minute after it was shown. */
function expireResult(): void {
  if (state.syncResult === shownResult) return;
  shownResult = state.syncResult;
  if (resultTimer) clearTimeout(resultTimer);
  const shown = state.syncResult;
  resultTimer = shown
    ? setTimeout(() => {
        if (state.syncResult === shown) {
          state.syncResult = null;
          render();
        }
      }, 60_000)
    : null;
}

function render(): void {
  expireResult();
  const s = state.status;
  // Before the first answer there is nothing to judge: say so rather than "Error".
  const st =
    s === null && state.statusError === null
      ? { label: 'Connecting…', tone: 'busy' as const, detail: 'Waiting for the engine’s first answer.' }
      : overallState(s, { syncing: state.syncing });
  el.pill.className = `pill tone-${st.tone}`;
  setText(el.pill, st.label);
  setText(el.stateDetail, s ? st.detail : state.statusError ? `${st.detail} ${state.statusError}` : st.detail);
  setText(el.device, s ? s.name : '');
  el.link.className = `link link-${state.link}`;
  setText(el.link, state.link === 'live' ? 'Live' : state.link === 'connecting' ? 'Connecting…' : 'Reconnecting…');

  renderActions(s);
  renderIfChanged(el.syncResult, JSON.stringify(state.syncResult), () =>
    state.syncResult ? [h('span', { class: state.syncResult.ok ? 'ok' : 'error', title: state.syncResult.text }, state.syncResult.text)] : [],
  );
  renderBanners();
  renderTabs();
  for (const [v, node] of Object.entries(el.views)) node.hidden = v !== state.view;
  renderOverview();
  renderDevices();
  renderConflicts();
  renderSettingsSide();
}

function renderActions(s: Status | null): void {
  const key = JSON.stringify([s?.paused, state.syncing, s === null]);
  renderIfChanged(el.actions, key, () => [
    h(
      'button',
      { class: 'primary', 'data-testid': 'sync-now', disabled: state.syncing || s === null, onclick: () => void syncNow() },
      state.syncing ? 'Syncing…' : 'Sync now',
    ),
    s?.paused
      ? h('button', { 'data-testid': 'resume', onclick: () => void resume() }, 'Resume')
      : h(
          'details',
          { class: 'menu', 'data-testid': 'pause-menu' },
          h('summary', { role: 'button', class: 'button' }, 'Pause'),
          h(
            'div',
            { class: 'menu-items' },
            h('button', { onclick: () => void pause(15) }, 'Pause 15 min'),
            h('button', { onclick: () => void pause(60) }, 'Pause 1 h'),
            h('button', { onclick: () => void pause() }, 'Pause until resumed'),
          ),
        ),
  ]);
}

function renderBanners(): void {
  const items: Node[] = [];
  if (!api.authorized) return;
  if (state.status === null && state.statusError)
    items.push(
      h(
        'div',
        { class: 'banner error' },
        `Cannot reach the engine: ${state.statusError}. Is it running? Start it with `,
        h('code', null, 'mayros daemon'),
        ' or open the Mayros Sync app.',
      ),
    );
  if (state.requests.length > 0 && state.view !== 'devices')
    items.push(
      h(
        'div',
        { class: 'banner info' },
        `${state.requests.map((r) => r.name).join(', ')} ${state.requests.length === 1 ? 'wants' : 'want'} to pair. `,
        h('button', { class: 'link-button', onclick: () => go('devices') }, 'Review the request'),
      ),
    );
  renderIfChanged(el.banner, JSON.stringify([state.statusError, state.status === null, state.requests, state.view]), () => items);
}

function go(view: View): void {
  state.view = view;
  render();
}

function renderTabs(): void {
  const s = state.status;
  const tabs: Array<[View, string, string]> = [
    ['overview', 'Overview', ''],
    ['devices', 'Devices', s ? String(s.peers.filter((p) => p.status !== 'removed').length) : ''],
    ['conflicts', 'Conflicts', s && s.conflictsCount ? String(s.conflictsCount) : ''],
    ['settings', 'Settings', ''],
  ];
  renderIfChanged(el.tabs, JSON.stringify([tabs, state.view]), () =>
    tabs.map(([v, label, n]) =>
      h(
        'button',
        {
          role: 'tab',
          class: 'tab',
          'aria-selected': String(v === state.view),
          'data-testid': `tab-${v}`,
          onclick: () => go(v),
        },
        label,
        n ? h('span', { class: 'count' }, n) : null,
      ),
    ),
  );
}

function fact(label: string, value: string | Node, testid?: string): Node[] {
  return [h('dt', null, label), h('dd', testid ? { 'data-testid': testid } : null, value)];
}

function stat(label: string, value: string, testid: string): HTMLElement {
  return h('div', { class: 'stat' }, h('div', { class: 'stat-value', 'data-testid': testid }, value), h('div', { class: 'stat-label' }, label));
}

function renderOverview(): void {
  const s = state.status;
  const m = state.metrics;
  setText(ov.mode, s ? (m?.mode ?? s.mode) : DASH);
  setText(ov.modeReason, s ? s.modeReason : (state.statusError ?? DASH));

  const c = s?.cortex;
  renderIfChanged(ov.cortex, JSON.stringify([c, s?.secretStore]), () => [
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
  const counters = [
    formatCount(triples),
    formatCount(sync?.totalSuccessfulSyncs),
    formatCount(sync?.totalFailedSyncs),
    formatRelative(sync?.lastSyncAt),
  ];
  renderIfChanged(ov.counters, JSON.stringify(counters), () => [
    stat('Triples', counters[0], 'triple-count'),
    stat('Successful syncs', counters[1], 'successful-syncs'),
    stat('Failed syncs', counters[2], 'failed-syncs'),
    stat('Last sync', counters[3], 'last-sync'),
  ]);

  const g = gossipNow();
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
  renderIfChanged(ov.gossip, gKey, () =>
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

  ov.chartEmpty.hidden = (chart?.points ?? 0) > 0;
  ov.chart.setAttribute('data-points', String(chart?.points ?? 0));

  const warnings = s?.warnings ?? [];
  renderIfChanged(ov.warnings, JSON.stringify(warnings), () =>
    warnings.length
      ? [card('Warnings', h('ul', { class: 'warning-list' }, ...warnings.map((w) => h('li', null, w))))]
      : [],
  );
}

function peerConnected(p: PeerView): boolean | null {
  const g = gossipNow();
  const np = g?.peers?.find((x) => x.nodeId === p.nodeId);
  return np ? np.connected : null;
}

function renderDevices(): void {
  const now = Date.now();
  // Incoming requests.
  renderIfChanged(
    dv.requests,
    JSON.stringify([state.requests, [...state.requestNotes], Math.floor(now / 5000)]),
    () =>
      state.requests.map((r) => {
        const note = state.requestNotes.get(r.nodeId);
        const choose = note?.kind === 'GROUP_CHOICE_NEEDED';
        return h(
          'div',
          { class: 'card prompt', 'data-testid': 'pair-request', 'data-node-id': r.nodeId },
          h('h2', null, `${r.name} wants to pair`),
          h(
            'p',
            null,
            'Check that ',
            h('strong', null, r.name),
            ' shows the same code, then accept. ',
            h('span', { class: 'muted' }, `From ${r.address}; expires ${formatRelative(r.expiresAt, now)}.`),
          ),
          h('div', { class: 'code', 'data-testid': 'request-code' }, formatCode(r.code)),
          note && !choose ? h('p', { class: note.kind === 'BUSY' ? 'muted' : 'error', 'data-testid': 'request-note' }, note.message) : null,
          choose
            ? h(
                'div',
                { class: 'choice' },
                h('p', { 'data-testid': 'request-note' }, note.message),
                h(
                  'div',
                  { class: 'row' },
                  h('button', { class: 'primary', onclick: () => void decide(r, true, 'mine') }, 'Keep my group (they join)'),
                  h('button', { onclick: () => void decide(r, true, 'theirs') }, 'Join their group'),
                  h('button', { onclick: () => void decide(r, false) }, 'Reject'),
                ),
              )
            : h(
                'div',
                { class: 'row' },
                h('button', { class: 'primary', 'data-testid': 'accept', disabled: note?.kind === 'BUSY', onclick: () => void decide(r, true) }, 'Accept'),
                h('button', { 'data-testid': 'reject', disabled: note?.kind === 'BUSY', onclick: () => void decide(r, false) }, 'Reject'),
              ),
        );
      }),
  );

  // Outgoing pairing.
  const p = state.pairing;
  renderIfChanged(dv.pairing, JSON.stringify(p), () => {
    if (!p) return [];
    const done = p.state !== 'waiting' && p.state !== 'starting';
    const text =
      p.state === 'starting'
        ? `Connecting to ${p.name}…`
        : p.state === 'waiting'
          ? `Waiting for ${p.name} to accept. Check that it shows the same code.`
          : p.state === 'paired'
            ? `Paired with ${p.name}.`
            : p.state === 'rejected'
              ? `${p.name} rejected the request${p.reason ? `: ${p.reason}` : '.'}`
              : `Pairing with ${p.name} failed${p.reason ? `: ${p.reason}` : '.'}`;
    return [
      h(
        'div',
        { class: `card prompt pairing-${p.state}`, 'data-state': p.state },
        h('h2', null, `Pairing with ${p.name}`),
        p.code ? h('div', { class: 'code', 'data-testid': 'pair-code' }, formatCode(p.code)) : h('div', { class: 'code placeholder' }, '··· ···'),
        h('p', { class: p.state === 'paired' ? 'ok' : done ? 'error' : 'muted', 'data-testid': 'pair-state' }, text),
        done ? h('button', { onclick: () => ((state.pairing = null), render()) }, 'Close') : null,
      ),
    ];
  });

  // Paired devices.
  const s = state.status;
  const peers = (s?.peers ?? []).filter((x) => x.status !== 'removed');
  const peerRows = peers.map((x) => ({
    x,
    connected: peerConnected(x),
    last: formatRelative(x.lastSyncAt, now),
    busy: state.peerBusy.has(x.nodeId),
    confirm: state.confirmUnpair === x.nodeId,
  }));
  // The table is rebuilt only when the set of devices changes; each cell is then refreshed on
  // its own, so a moving "last sync" never replaces the buttons under the pointer.
  const rowsKey = JSON.stringify([s === null, peers.map((x) => x.nodeId)]);
  renderIfChanged(dv.peers, rowsKey, () => {
    if (!s) return [h('p', { class: 'empty' }, DASH)];
    if (peers.length === 0)
      return [
        h(
          'p',
          { class: 'empty', 'data-testid': 'peers-empty' },
          'No paired devices yet — turn on discovery in Settings and pair a nearby device below, or run ',
          h('code', null, 'mayros sync pair <host:port>'),
          '.',
        ),
      ];
    return [
      h(
        'table',
        { class: 'table' },
        h(
          'thead',
          null,
          h('tr', null, h('th', null, 'Device'), h('th', null, 'State'), h('th', null, 'Last sync'), h('th', { class: 'num' }, 'Synced'), h('th', { class: 'num' }, 'Failures'), h('th', null, '')),
        ),
        h(
          'tbody',
          null,
          ...peers.map((x) =>
            h(
              'tr',
              { 'data-testid': 'peer', 'data-node-id': x.nodeId },
              h('td'),
              h('td'),
              h('td'),
              h('td', { class: 'num' }),
              h('td', { class: 'num' }),
              h('td', { class: 'row-actions' }),
            ),
          ),
        ),
      ),
    ];
  });
  const rows = dv.peers.querySelectorAll('tr[data-testid="peer"]');
  peerRows.forEach(({ x, connected, last, busy, confirm }, i) => {
    const tr = rows.item(i);
    if (!tr || tr.getAttribute('data-node-id') !== x.nodeId) return;
    const [name, status, lastSync, synced, failures, actions] = Array.from(tr.children);
    renderIfChanged(name, JSON.stringify([x.name, x.nodeId]), () => [
      h('div', { class: 'name' }, x.name),
      h('div', { class: 'muted mono small', title: x.nodeId }, shortId(x.nodeId)),
    ]);
    const why = x.stateReason ?? (x.lastError && (x.failures ?? 0) > 0 ? x.lastError : null);
    renderIfChanged(status, JSON.stringify([x.status, x.state, x.toReceive, x.toSend, connected, why]), () => [
      h('span', { class: `badge badge-${x.state || x.status}`, 'data-testid': 'peer-status' }, peerStateText(x)),
      connected === null ? null : h('span', { class: `badge ${connected ? 'badge-active' : 'badge-idle'}` }, connected ? 'connected' : 'not connected'),
      why ? h('div', { class: 'error small', 'data-testid': 'peer-reason' }, why) : null,
    ]);
    lastSync.setAttribute('title', x.lastSyncAt ? formatTime(x.lastSyncAt) : '');
    renderIfChanged(lastSync, JSON.stringify([last, x.lastResult]), () => [
      last,
      x.lastResult ? h('div', { class: 'muted small' }, x.lastResult) : null,
    ]);
    setText(synced, formatCount(x.totalTriplesSynced));
    setText(failures, formatCount(x.failures));
    renderIfChanged(actions, JSON.stringify([busy, confirm, x.name]), () =>
      confirm
        ? [
            h('span', { class: 'small' }, `Unpair ${x.name}? `),
            h('button', { class: 'danger', 'data-testid': 'confirm-unpair', onclick: () => void unpair(x) }, 'Unpair'),
            h('button', { onclick: () => ((state.confirmUnpair = null), render()) }, 'Cancel'),
          ]
        : [
            h('button', { 'data-testid': 'peer-sync', disabled: busy, onclick: () => void syncNow(x.nodeId) }, busy ? 'Syncing…' : 'Sync now'),
            h('button', { 'data-testid': 'unpair', disabled: busy, onclick: () => ((state.confirmUnpair = x.nodeId), render()) }, 'Unpair'),
          ],
    );
  });

  // Nearby devices.
  const discoveryOn = getPath(state.config?.config, 'discovery.bonjourEnabled') === true;
  const near = state.nearby;
  const nearRows = (near ?? []).map((d) => ({ d, seen: formatRelative(d.lastSeen, now) }));
  renderIfChanged(dv.nearby, JSON.stringify([near === null, nearRows, discoveryOn, state.config === null, p?.target, p?.state]), () => {
    if (near === null) return [h('p', { class: 'empty' }, DASH)];
    if (near.length === 0)
      return [
        h(
          'p',
          { class: 'empty', 'data-testid': 'nearby-empty' },
          state.config && !discoveryOn
            ? 'Discovery is off. Turn on “Find devices on the local network” in Settings to see devices nearby.'
            : 'Looking for devices… Devices running Mayros Sync with discovery on appear here.',
        ),
      ];
    return [
      h(
        'table',
        { class: 'table' },
        h('thead', null, h('tr', null, h('th', null, 'Device'), h('th', null, 'Address'), h('th', null, 'Seen'), h('th', null, ''))),
        h(
          'tbody',
          null,
          ...nearRows.map(({ d, seen }) => {
            const target = pairTarget(d);
            const busy = p !== null && p.target === target && (p.state === 'starting' || p.state === 'waiting');
            return h(
              'tr',
              { 'data-testid': 'nearby-device', 'data-node-id': d.nodeId ?? '', 'data-name': d.name },
              h('td', null, h('div', { class: 'name' }, d.name), h('div', { class: 'muted mono small', title: d.nodeId ?? '' }, shortId(d.nodeId))),
              h('td', { class: 'mono small' }, d.addresses.join(', ') || DASH, d.quicPort ? ` · QUIC ${d.quicPort}` : ''),
              h('td', null, seen),
              h(
                'td',
                { class: 'row-actions' },
                d.paired
                  ? h('span', { class: 'badge badge-active', 'data-testid': 'nearby-paired' }, 'Paired')
                  : h(
                      'button',
                      {
                        class: 'primary',
                        'data-testid': 'pair',
                        disabled: busy || target === null,
                        title: target === null ? 'No address to pair with' : '',
                        onclick: () => target && void startPairing(target, d.name),
                      },
                      busy ? 'Pairing…' : 'Pair',
                    ),
              ),
            );
          }),
        ),
      ),
    ];
  });
}

/** A peer's name when it is (or was) paired, else its short id. */
function peerName(nodeId: string): string {
  return state.status?.peers.find((p) => p.nodeId === nodeId)?.name ?? shortId(nodeId);
}

function renderConflicts(): void {
  const list = state.conflicts;
  renderIfChanged(cv.list, JSON.stringify(list), () => {
    if (list === null) return [h('p', { class: 'empty' }, DASH)];
    if (list.length === 0)
      return [
        h(
          'p',
          { class: 'empty', 'data-testid': 'conflicts-empty' },
          'No conflicts. When two devices change the same fact at once, the value that lost is kept here and can be restored.',
        ),
      ];
    return list.map((c) =>
      h(
        'div',
        { class: 'conflict', 'data-testid': 'conflict' },
        h(
          'div',
          { class: 'conflict-head' },
          h('span', { class: 'mono' }, `${c.subject} ${c.predicate}`),
          h('span', { class: 'muted small' }, `${formatTime(c.at)} · ${c.strategy} · from ${peerName(c.peer)}`),
        ),
        h(
          'div',
          { class: 'conflict-body' },
          h('div', null, h('div', { class: 'muted small' }, 'Kept'), ...c.winners.map((t) => h('div', { class: 'value' }, formatObject(t.object)))),
          h(
            'div',
            null,
            h('div', { class: 'muted small' }, 'Replaced'),
            ...(c.losers.length ? c.losers.map((t) => h('div', { class: 'value lost' }, formatObject(t.object))) : [h('div', { class: 'muted' }, 'nothing (both kept)')]),
          ),
          h(
            'div',
            { class: 'row-actions' },
            c.restoredAt
              ? h('span', { class: 'muted small' }, `Restored ${formatRelative(c.restoredAt)}`)
              : c.losers.length
                ? h('button', { onclick: () => void restore(c) }, 'Restore')
                : null,
          ),
        ),
      ),
    );
  });
}

// ---------------------------------------------------------------- settings

let formError: { key: string | null; message: string } | null = null;
let formNotice: string | null = null;

function fieldId(f: Field): string {
  return `cfg-${f.key.replace(/\./g, '-')}`;
}

function fieldInput(f: Field, value: unknown): HTMLElement {
  const v = toInput(f, value);
  const common = { id: fieldId(f), name: f.key, 'data-key': f.key };
  if (f.kind === 'bool') return h('input', { ...common, type: 'checkbox', checked: v === true });
  if (f.kind === 'enum')
    return h('select', common, ...(f.options ?? []).map((o) => h('option', { value: o, selected: o === v }, o)));
  if (f.kind === 'list') return h('textarea', { ...common, rows: 2, spellcheck: 'false' }, String(v));
  return h('input', { ...common, type: 'text', inputmode: f.kind === 'number' ? 'numeric' : null, value: String(v), spellcheck: 'false', autocomplete: 'off' });
}

function renderSettingsForm(): void {
  const cfg = state.config;
  if (!cfg) return;
  const warns = warningsByField(cfg.warnings);
  const err = formError ? placeError(formError.message, formError.key) : null;
  const errKey = err?.field ? err.key : null;
  const generalErr = formError && !errKey ? formError.message : null;
  const children: Array<Node | null> = [
    h('h2', null, 'Settings'),
    h('div', { class: 'form-error', 'data-testid': 'form-error', role: 'alert' }, generalErr ?? ''),
    formNotice ? h('div', { class: 'ok form-notice', 'data-testid': 'form-notice' }, formNotice) : null,
    (warns.get('') ?? []).length ? h('ul', { class: 'warning-list' }, ...(warns.get('') ?? []).map((w) => h('li', null, w))) : null,
    ...SECTIONS.map((sec) =>
      h(
        'fieldset',
        null,
        h('legend', null, sec.title),
        ...sec.fields.map((f) => {
          const input = fieldInput(f, getPath(cfg.config, f.key));
          const invalid = errKey === f.key;
          if (invalid) input.setAttribute('aria-invalid', 'true');
          const w = warns.get(f.key) ?? [];
          return h(
            'div',
            { class: `field field-${f.kind}${invalid ? ' invalid' : ''}` },
            f.kind === 'bool'
              ? h('label', { for: fieldId(f), class: 'check' }, input, h('span', null, f.label))
              : [h('label', { for: fieldId(f) }, f.label), input],
            f.hint ? h('div', { class: 'hint muted small' }, f.hint) : null,
            invalid && err ? h('div', { class: 'field-error', 'data-error-for': f.key, role: 'alert' }, err.message) : null,
            ...w.map((t) => h('div', { class: 'field-warning', 'data-warning-for': f.key }, t)),
          );
        }),
      ),
    ),
    h(
      'details',
      { class: 'advanced' },
      h('summary', null, 'Edit as JSON (all keys)'),
      h('textarea', { class: 'json-editor mono', rows: 14, spellcheck: 'false', 'data-testid': 'config-json' }, JSON.stringify(cfg.config, null, 2)),
      h('div', { class: 'row' }, h('button', { type: 'button', 'data-testid': 'save-json', onclick: () => void saveJson() }, 'Save JSON')),
    ),
    h(
      'div',
      { class: 'row form-actions' },
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'save-settings' }, 'Save'),
      h('button', { type: 'button', onclick: () => ((formError = null), (formNotice = null), void loadConfig()) }, 'Revert'),
      h('span', { class: 'muted small' }, `File: ${cfg.path}`),
    ),
  ];
  sv.form.replaceChildren(...children.filter((n): n is Node => n !== null));
}

/** The keys the user changed in the form, as a merge patch over the effective config. */
function formChanges(): Record<string, unknown> {
  const values: Array<[Field, unknown]> = [];
  for (const f of FIELDS) {
    const input = sv.form.querySelector<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(`[data-key="${f.key}"]`);
    if (!input) continue;
    const raw = f.kind === 'bool' ? (input as HTMLInputElement).checked : input.value;
    values.push([f, fromInput(f, raw)]);
  }
  return formPatch(state.config?.config ?? {}, values);
}

/** Saves the form's changes (PATCH) or, from the JSON editor, a whole document (PUT). */
async function saveConfig(body: { patch: unknown } | { config: unknown }): Promise<void> {
  formNotice = null;
  try {
    state.config = await api.call<ConfigAnswer>('patch' in body ? 'patchConfig' : 'putConfig', body);
    formError = null;
    formNotice = state.config.warnings.length ? 'Saved, with the warnings shown.' : 'Saved. The engine applied the new settings.';
    renderSettingsForm();
    scheduleRefresh('status', 'nearby');
  } catch (e) {
    formError = { key: e instanceof ApiError && e.field ? e.field : null, message: message(e) };
    // Keep what the user typed: show the error without rebuilding the inputs.
    showFormError();
  }
}

function showFormError(): void {
  sv.form.querySelectorAll('.field-error').forEach((n) => n.remove());
  sv.form.querySelectorAll('.invalid').forEach((n) => n.classList.remove('invalid'));
  sv.form.querySelectorAll('[aria-invalid]').forEach((n) => n.removeAttribute('aria-invalid'));
  sv.form.querySelector('.form-notice')?.remove();
  const general = sv.form.querySelector('[data-testid="form-error"]');
  if (!formError) return setText(general, '');
  const placed = placeError(formError.message, formError.key);
  const input = placed.field ? sv.form.querySelector<HTMLElement>(`[data-key="${placed.field.key}"]`) : null;
  const wrap = input?.closest('.field');
  if (input && wrap && placed.field) {
    setText(general, '');
    wrap.classList.add('invalid');
    input.setAttribute('aria-invalid', 'true');
    wrap.append(h('div', { class: 'field-error', 'data-error-for': placed.field.key, role: 'alert' }, placed.message));
    input.focus();
  } else {
    setText(general, formError.message);
  }
}

async function saveJson(): Promise<void> {
  const ta = sv.form.querySelector<HTMLTextAreaElement>('[data-testid="config-json"]');
  if (!ta) return;
  let doc: unknown;
  try {
    doc = JSON.parse(ta.value);
  } catch (e) {
    formError = { key: null, message: `Not valid JSON: ${message(e)}` };
    showFormError();
    return;
  }
  await saveConfig({ config: doc });
}

function renderSettingsSide(): void {
  const a = state.autostart;
  renderIfChanged(sv.autostart, `${api.transport}:${a}`, () =>
    api.transport === 'tauri'
      ? [
          h('h2', null, 'Start at login'),
          h(
            'label',
            { class: 'check' },
            h('input', {
              type: 'checkbox',
              'data-testid': 'autostart-toggle',
              checked: a === true,
              disabled: a === null,
              onchange: (ev: Event) => void toggleAutostart((ev.target as HTMLInputElement).checked),
            }),
            h('span', null, 'Start Mayros Sync when I log in (it stays in the tray)'),
          ),
        ]
      : [
          h('h2', null, 'Start at login'),
          h('p', { class: 'muted', 'data-testid': 'autostart-unavailable' }, 'Start at login is only available in the desktop app.'),
        ],
  );
  const s = state.status;
  const uptime = typeof s?.uptimeSeconds === 'number' ? formatUptime(s.uptimeSeconds + (Date.now() - state.statusAt) / 1000) : DASH;
  renderIfChanged(sv.about, JSON.stringify([s?.nodeId, s?.version, s?.peerApi, uptime, s?.configPath]), () => [
    h('h2', null, 'This device'),
    ...fact('Name', s?.name ?? DASH),
    ...fact('Node id', h('span', { class: 'mono small' }, s?.nodeId ?? DASH)),
    ...fact('Version', s?.version ?? DASH),
    ...fact('Uptime', uptime),
    ...fact('Peer API', s?.peerApi ?? DASH),
    ...fact('Local API', api.transport === 'http' ? location.host : DASH),
    ...fact('Config file', s?.configPath ?? DASH),
  ]);
}

async function toggleAutostart(enabled: boolean): Promise<void> {
  try {
    state.autostart = await api.setAutostart(enabled);
  } catch (e) {
    state.syncResult = { ok: false, text: `Cannot change start at login: ${message(e)}` };
  }
  render();
}

// ---------------------------------------------------------------- live events

/** The figures of the last metrics event, to notice when they move. */
let lastFigures: string | null = null;

function onMetrics(data: unknown): void {
  if (!data || typeof data !== 'object') return;
  const m = data as Metrics;
  // When the figures moved, the status behind the other cards (peers' last sync, the Cortex's
  // detail line) moved too: refresh it, at most once per metrics event (every 2 s).
  const figures = JSON.stringify([m.tripleCount, m.sync]);
  if (lastFigures !== null && figures !== lastFigures) scheduleRefresh('status');
  lastFigures = figures;
  state.metrics = m;
  chart?.push({
    t: Date.now() / 1000,
    triples: typeof m.tripleCount === 'number' ? m.tripleCount : null,
    synced: typeof m.gossip?.changesReceived === 'number' ? m.gossip.changesReceived : null,
    latencyMs: roundLatencyMs(m.gossip),
  });
  // Nothing to draw while the window is hidden in the tray; drawn again once shown.
  if (!document.hidden) render();
}

function subscribe(): void {
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) render();
  });
  api.subscribe(
    (kind, data) => {
      switch (kind) {
        case 'metrics':
          return onMetrics(data);
        case 'status':
          return scheduleRefresh('status');
        case 'peer':
          return scheduleRefresh('status');
        case 'nearby':
          return scheduleRefresh('nearby');
        case 'pairing':
          return scheduleRefresh('requests', 'status', 'nearby');
        case 'conflict':
          return scheduleRefresh('conflicts', 'status');
        case 'failure':
          return scheduleRefresh('status');
        case 'app:autostart':
          state.autostart = Boolean((data as { enabled?: unknown })?.enabled);
          return render();
        case 'app:navigate': {
          const v = (data as { view?: string })?.view;
          return go(v === 'settings' ? 'settings' : 'devices');
        }
      }
    },
    (link) => {
      const was = state.link;
      state.link = link;
      // After a reconnect, catch up on everything missed.
      if (link === 'live' && was === 'reconnecting') scheduleRefresh('status', 'nearby', 'requests', 'conflicts');
      render();
    },
  );
}

// ---------------------------------------------------------------- start

function renderLocked(): void {
  root.replaceChildren(
    h(
      'div',
      { class: 'locked card', 'data-testid': 'locked' },
      h('h1', null, 'Mayros Sync'),
      h('p', null, 'This page needs the engine’s control token, which is never stored in the browser.'),
      h('p', null, 'Run ', h('code', null, 'mayros ui'), ' on this machine and open the address it prints.'),
    ),
  );
}

async function start(): Promise<void> {
  if (!api.authorized) return renderLocked();
  buildLayout();
  sv.form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void saveConfig({ patch: formChanges() });
  });
  render();
  subscribe();
  await Promise.all([loadStatus(), loadNearby(), loadRequests(), loadConflicts(), loadConfig()]);
  state.autostart = await api.getAutostart().catch(() => null);
  render();
  // Relative times ("5 s ago") age without an event; this touches no engine.
  setInterval(render, 5000);
}

void start();
