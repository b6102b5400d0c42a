// The devices tab: incoming pair requests, an outgoing pairing, paired devices and nearby devices.

import { h, renderIfChanged, setText } from '../dom';
import { DASH, formatCode, formatCount, formatRelative, formatTime, peerStateText, shortId } from '../format';
import { getPath } from '../settings';
import { currentGossip, type AppState } from '../state';
import type { NearbyDevice, PeerView } from '../types';
import type { ViewContext } from './context';
import { card } from './parts';

/** The devices tab. */
export interface DevicesView {
  root: HTMLElement;
  render(): void;
}

/** Where to pair with a nearby device: its node id, else `host:port` of its QUIC listener. */
export function pairTarget(d: NearbyDevice): string | null {
  if (d.nodeId) return d.nodeId;
  const addr = d.addresses[0];
  return addr && d.quicPort ? `${addr.includes(':') ? `[${addr}]` : addr}:${d.quicPort}` : null;
}

/** Whether gossip has a connection to a paired device (`null`: gossip does not say). */
function peerConnected(state: AppState, p: PeerView): boolean | null {
  const np = currentGossip(state)?.peers?.find((x) => x.nodeId === p.nodeId);
  return np ? np.connected : null;
}

/** Builds the devices tab over a context. */
export function createDevicesView({ state, actions, render: renderAll }: ViewContext): DevicesView {
  const requests = h('div', { 'data-testid': 'pair-requests' });
  const pairing = h('div', { 'data-testid': 'pairing' });
  const peersBox = h('div', { 'data-testid': 'peers' });
  const nearbyBox = h('div', { 'data-testid': 'nearby' });
  const root = h(
    'section',
    { class: 'view', 'data-view': 'devices' },
    requests,
    pairing,
    card('Paired devices', peersBox),
    card('Nearby devices', nearbyBox),
  );

  function renderRequests(now: number): void {
    renderIfChanged(requests, JSON.stringify([state.requests, [...state.requestNotes], Math.floor(now / 5000)]), () =>
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
                  h('button', { class: 'primary', onclick: () => void actions.decide(r, true, 'mine') }, 'Keep my group (they join)'),
                  h('button', { onclick: () => void actions.decide(r, true, 'theirs') }, 'Join their group'),
                  h('button', { onclick: () => void actions.decide(r, false) }, 'Reject'),
                ),
              )
            : h(
                'div',
                { class: 'row' },
                h(
                  'button',
                  { class: 'primary', 'data-testid': 'accept', disabled: note?.kind === 'BUSY', onclick: () => void actions.decide(r, true) },
                  'Accept',
                ),
                h('button', { 'data-testid': 'reject', disabled: note?.kind === 'BUSY', onclick: () => void actions.decide(r, false) }, 'Reject'),
              ),
        );
      }),
    );
  }

  function renderPairing(): void {
    const p = state.pairing;
    renderIfChanged(pairing, JSON.stringify(p), () => {
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
          done ? h('button', { onclick: () => ((state.pairing = null), renderAll()) }, 'Close') : null,
        ),
      ];
    });
  }

  function renderPeers(now: number): void {
    const s = state.status;
    const peers = (s?.peers ?? []).filter((x) => x.status !== 'removed');
    const peerRows = peers.map((x) => ({
      x,
      connected: peerConnected(state, x),
      last: formatRelative(x.lastSyncAt, now),
      busy: state.peerBusy.has(x.nodeId),
      confirm: state.confirmUnpair === x.nodeId,
    }));
    // The table is rebuilt only when the set of devices changes; each cell is then refreshed on
    // its own, so a moving "last sync" never replaces the buttons under the pointer.
    const rowsKey = JSON.stringify([s === null, peers.map((x) => x.nodeId)]);
    renderIfChanged(peersBox, rowsKey, () => {
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
            h(
              'tr',
              null,
              h('th', null, 'Device'),
              h('th', null, 'State'),
              h('th', null, 'Last sync'),
              h('th', { class: 'num' }, 'Synced'),
              h('th', { class: 'num' }, 'Failures'),
              h('th', null, ''),
            ),
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
    const rows = peersBox.querySelectorAll('tr[data-testid="peer"]');
    peerRows.forEach(({ x, connected, last, busy, confirm }, i) => {
      const tr = rows.item(i);
      if (!tr || tr.getAttribute('data-node-id') !== x.nodeId) return;
      const [name, status, lastSync, synced, failures, buttons] = Array.from(tr.children);
      renderIfChanged(name, JSON.stringify([x.name, x.nodeId]), () => [
        h('div', { class: 'name' }, x.name),
        h('div', { class: 'muted mono small', title: x.nodeId }, shortId(x.nodeId)),
      ]);
      const why = x.stateReason ?? (x.failures > 0 ? x.lastError : null);
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
      renderIfChanged(buttons, JSON.stringify([busy, confirm, x.name]), () =>
        confirm
          ? [
              h('span', { class: 'small' }, `Unpair ${x.name}? `),
              h('button', { class: 'danger', 'data-testid': 'confirm-unpair', onclick: () => void actions.unpair(x) }, 'Unpair'),
              h('button', { onclick: () => ((state.confirmUnpair = null), renderAll()) }, 'Cancel'),
            ]
          : [
              h('button', { 'data-testid': 'peer-sync', disabled: busy, onclick: () => void actions.syncNow(x.nodeId) }, busy ? 'Syncing…' : 'Sync now'),
              h('button', { 'data-testid': 'unpair', disabled: busy, onclick: () => ((state.confirmUnpair = x.nodeId), renderAll()) }, 'Unpair'),
            ],
      );
    });
  }

  function renderNearby(now: number): void {
    const p = state.pairing;
    const discoveryOn = getPath(state.config?.config, 'discovery.bonjourEnabled') === true;
    const near = state.nearby;
    const nearRows = (near ?? []).map((d) => ({ d, seen: formatRelative(d.lastSeen, now) }));
    renderIfChanged(nearbyBox, JSON.stringify([near === null, nearRows, discoveryOn, state.config === null, p?.target, p?.state]), () => {
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
                          onclick: () => target && void actions.startPairing(target, d.name),
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

  function render(): void {
    const now = Date.now();
    renderRequests(now);
    renderPairing();
    renderPeers(now);
    renderNearby(now);
  }

  return { root, render };
}
