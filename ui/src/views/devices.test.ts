// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';

import { DASH } from '../format';
import {
  button,
  buttons,
  fakeContext,
  sampleGossip,
  sampleMetrics,
  sampleNativePeer,
  sampleNearby,
  sampleRequest,
  sampleStatus,
  textOf,
} from '../testing';
import { createDevicesView, pairTarget } from './devices';

const request = sampleRequest();
const nearby = sampleNearby;

function mount(ctx: ReturnType<typeof fakeContext>) {
  const view = createDevicesView(ctx);
  view.render();
  return { view, root: view.root };
}

describe('pairTarget', () => {
  it('is the node id, else host:port of the QUIC listener (IPv6 in brackets), else nothing', () => {
    expect(pairTarget(nearby())).toBe('node-delta');
    expect(pairTarget(nearby({ nodeId: null }))).toBe('127.0.0.1:7444');
    expect(pairTarget(nearby({ nodeId: null, addresses: ['fe80::1'] }))).toBe('[fe80::1]:7444');
    expect(pairTarget(nearby({ nodeId: null, quicPort: null }))).toBeNull();
    expect(pairTarget(nearby({ nodeId: null, addresses: [] }))).toBeNull();
  });
});

describe('devices: pair requests', () => {
  it('show the code and accept or reject through the actions', () => {
    const ctx = fakeContext({ requests: [request] });
    const { root } = mount(ctx);
    const card = root.querySelector('[data-testid="pair-request"][data-node-id="node-charlie"]');
    expect(card?.querySelector('h2')?.textContent).toBe('charlie wants to pair');
    expect(textOf(root, 'request-code')).toBe('123 456');
    expect(card?.textContent).toContain('From 127.0.0.1:7003; expires in');
    root.querySelector<HTMLButtonElement>('[data-testid="accept"]')?.click();
    root.querySelector<HTMLButtonElement>('[data-testid="reject"]')?.click();
    expect(ctx.actions.decide.mock.calls).toEqual([
      [request, true],
      [request, false],
    ]);
  });

  it('disable both buttons while a decision is under way', () => {
    const ctx = fakeContext({ requests: [request], requestNotes: new Map([['node-charlie', { kind: 'BUSY', message: 'Pairing…' }]]) });
    const { root } = mount(ctx);
    expect(textOf(root, 'request-note')).toBe('Pairing…');
    expect(root.querySelector<HTMLButtonElement>('[data-testid="accept"]')?.disabled).toBe(true);
    expect(root.querySelector<HTMLButtonElement>('[data-testid="reject"]')?.disabled).toBe(true);
  });

  it('ask which group to keep when the engine needs that choice', () => {
    const note = { kind: 'GROUP_CHOICE_NEEDED', message: 'Both devices are in a group.' };
    const ctx = fakeContext({ requests: [request], requestNotes: new Map([['node-charlie', note]]) });
    const { root } = mount(ctx);
    expect(textOf(root, 'request-note')).toBe('Both devices are in a group.');
    expect(buttons(root.querySelector('[data-testid="pair-requests"]')!)).toEqual(['Keep my group (they join)', 'Join their group', 'Reject']);
    button(root, 'Keep my group (they join)').click();
    button(root, 'Join their group').click();
    expect(ctx.actions.decide.mock.calls).toEqual([
      [request, true, 'mine'],
      [request, true, 'theirs'],
    ]);
  });
});

describe('devices: outgoing pairing', () => {
  it('shows the code while waiting, without a Close button', () => {
    const { root } = mount(fakeContext({ pairing: { target: 't', name: 'delta', state: 'waiting', code: '654321', reason: null } }));
    expect(textOf(root, 'pair-code')).toBe('654 321');
    expect(textOf(root, 'pair-state')).toBe('Waiting for delta to accept. Check that it shows the same code.');
    expect(buttons(root.querySelector('[data-testid="pairing"]')!)).toEqual([]);
  });

  it('says how it ended and closes on request', () => {
    const ctx = fakeContext({ pairing: { target: 't', name: 'delta', state: 'rejected', code: '654321', reason: 'not now' } });
    const { root } = mount(ctx);
    expect(textOf(root, 'pair-state')).toBe('delta rejected the request: not now');
    button(root.querySelector('[data-testid="pairing"]')!, 'Close').click();
    expect(ctx.state.pairing).toBeNull();
    expect(ctx.render).toHaveBeenCalled();
  });
});

describe('devices: paired devices', () => {
  it('show a dash before the status and a hint when there are none', () => {
    expect(textOf(mount(fakeContext()).root, 'peers')).toBe(DASH);
    const { root } = mount(fakeContext({ status: sampleStatus({ peers: [] }) }));
    expect(textOf(root, 'peers-empty')).toBe(
      'No paired devices yet — turn on discovery in Settings and pair a nearby device below, or run mayros sync pair <host:port>.',
    );
  });

  it('list each device with its state, counts and connection, and sync it on request', () => {
    const status = sampleStatus();
    const ctx = fakeContext({
      status,
      metrics: sampleMetrics({ gossip: sampleGossip({ peers: [sampleNativePeer({ connected: true })] }) }),
    });
    const { root } = mount(ctx);
    const rows = root.querySelectorAll('[data-testid="peer"]');
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row.getAttribute('data-node-id')).toBe('node-bravo-9876543210');
    expect(row.querySelector('.name')?.textContent).toBe('bravo');
    expect(row.querySelector('[data-testid="peer-status"]')?.textContent).toBe('in sync');
    expect(row.querySelector('.badge-active')?.textContent).toBe('connected');
    expect(row.querySelectorAll('td')[3].textContent).toBe('1,234');
    expect(buttons(row)).toEqual(['Sync now', 'Unpair']);
    row.querySelector<HTMLButtonElement>('[data-testid="peer-sync"]')?.click();
    expect(ctx.actions.syncNow).toHaveBeenCalledWith('node-bravo-9876543210');
  });

  it('show why a device is failing and leave out removed ones', () => {
    const base = sampleStatus().peers[0];
    const status = sampleStatus({
      peers: [
        { ...base, state: 'failing', failures: 3, lastError: 'timed out' },
        { ...base, nodeId: 'gone', name: 'gone', status: 'removed' },
      ],
    });
    const { root } = mount(fakeContext({ status }));
    expect(root.querySelectorAll('[data-testid="peer"]')).toHaveLength(1);
    expect(textOf(root, 'peer-reason')).toBe('timed out');
  });

  it('ask before unpairing, then unpair or cancel', () => {
    const ctx = fakeContext({ status: sampleStatus() });
    const { view, root } = mount(ctx);
    root.querySelector<HTMLButtonElement>('[data-testid="unpair"]')?.click();
    expect(ctx.state.confirmUnpair).toBe('node-bravo-9876543210');
    view.render();
    const actions = root.querySelector('[data-testid="peer"] .row-actions')!;
    expect(actions.textContent).toContain('Unpair bravo?');
    expect(buttons(actions)).toEqual(['Unpair', 'Cancel']);
    root.querySelector<HTMLButtonElement>('[data-testid="confirm-unpair"]')?.click();
    expect(ctx.actions.unpair).toHaveBeenCalledWith(ctx.state.status?.peers[0]);
    button(actions, 'Cancel').click();
    expect(ctx.state.confirmUnpair).toBeNull();
  });

  it('disable the buttons of a busy device', () => {
    const { root } = mount(fakeContext({ status: sampleStatus(), peerBusy: new Set(['node-bravo-9876543210']) }));
    const sync = root.querySelector<HTMLButtonElement>('[data-testid="peer-sync"]');
    expect(sync?.textContent).toBe('Syncing…');
    expect(sync?.disabled).toBe(true);
    expect(root.querySelector<HTMLButtonElement>('[data-testid="unpair"]')?.disabled).toBe(true);
  });
});

describe('devices: nearby devices', () => {
  const discovery = (on: boolean) => ({ config: { discovery: { bonjourEnabled: on } }, path: '/c.json', warnings: [] });

  it('say discovery is off, or that it is looking', () => {
    expect(textOf(mount(fakeContext()).root, 'nearby')).toBe(DASH);
    expect(textOf(mount(fakeContext({ nearby: [], config: discovery(false) })).root, 'nearby-empty')).toBe(
      'Discovery is off. Turn on “Find devices on the local network” in Settings to see devices nearby.',
    );
    expect(textOf(mount(fakeContext({ nearby: [], config: discovery(true) })).root, 'nearby-empty')).toBe(
      'Looking for devices… Devices running Mayros Sync with discovery on appear here.',
    );
  });

  it('pair with a device on request, and show paired ones as such', () => {
    const ctx = fakeContext({ nearby: [nearby(), nearby({ nodeId: 'node-echo', name: 'echo', paired: true })] });
    const { root } = mount(ctx);
    const rows = root.querySelectorAll('[data-testid="nearby-device"]');
    expect(Array.from(rows).map((r) => r.getAttribute('data-name'))).toEqual(['delta', 'echo']);
    expect(rows[0].textContent).toContain('127.0.0.1 · QUIC 7444');
    expect(rows[1].querySelector('[data-testid="nearby-paired"]')?.textContent).toBe('Paired');
    expect(rows[1].querySelector('[data-testid="pair"]')).toBeNull();
    rows[0].querySelector<HTMLButtonElement>('[data-testid="pair"]')?.click();
    expect(ctx.actions.startPairing).toHaveBeenCalledWith('node-delta', 'delta');
  });

  it('disable Pair while pairing with that device or when it has no address', () => {
    const ctx = fakeContext({
      nearby: [nearby(), nearby({ nodeId: null, name: 'noaddr', addresses: [] })],
      pairing: { target: 'node-delta', name: 'delta', state: 'waiting', code: null, reason: null },
    });
    const { root } = mount(ctx);
    const pairs = root.querySelectorAll<HTMLButtonElement>('[data-testid="pair"]');
    expect(pairs[0].textContent).toBe('Pairing…');
    expect(pairs[0].disabled).toBe(true);
    expect(pairs[1].disabled).toBe(true);
    expect(pairs[1].title).toBe('No address to pair with');
  });
});
