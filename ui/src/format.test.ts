import cases from './tray_state_cases.json';
import { describe, expect, it } from 'vitest';

import {
  DASH,
  formatBytes,
  formatCode,
  formatCount,
  formatFpr,
  formatMs,
  formatRelative,
  formatUptime,
  overallState,
  peerStateText,
  roundLatencyMs,
  shortId,
  warningKey,
} from './format';
import type { StateTone } from './format';
import type { Status } from './types';

describe('formatters', () => {
  it('show a dash for unknown values, never a made-up zero', () => {
    for (const f of [formatCount, formatFpr, formatMs, formatBytes, formatUptime, formatCode, shortId]) {
      expect(f(undefined)).toBe(DASH);
      expect(f(null)).toBe(DASH);
    }
    expect(formatRelative(null)).toBe(DASH);
    expect(formatRelative('not a date')).toBe(DASH);
  });

  it('format counts, rates and durations', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatFpr(0)).toBe('0 %');
    expect(formatFpr(0.0123)).toBe('1.23 %');
    expect(formatFpr(0.00012)).toBe('0.012 %');
    expect(formatFpr(0.0000012)).toBe('0.00012 %');
    expect(formatMs(8.4)).toBe('8 ms');
    expect(formatMs(1530)).toBe('1.53 s');
    expect(formatMs(65000)).toBe('1 min 5 s');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(12)).toBe('12 B');
    expect(formatUptime(3725)).toBe('1 h 2 min');
  });

  it('format relative times', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(formatRelative('2026-01-01T12:00:00Z', now)).toBe('just now');
    expect(formatRelative('2026-01-01T11:59:18Z', now)).toBe('42 s ago');
    expect(formatRelative('2026-01-01T11:55:00Z', now)).toBe('5 min ago');
    expect(formatRelative('2026-01-01T09:00:00Z', now)).toBe('3 h ago');
    expect(formatRelative('2025-12-30T12:00:00Z', now)).toBe('2 d ago');
    expect(formatRelative('2026-01-01T12:00:45Z', now)).toBe('in 45 s');
  });

  it('format codes and ids', () => {
    expect(formatCode('123456')).toBe('123 456');
    expect(formatCode('123 456')).toBe('123 456');
    expect(formatCode('abc')).toBe('abc');
    expect(shortId('a'.repeat(60) + 'beef')).toBe('aaaaaaaa…beef');
  });

  it('round latency is the slowest measured peer', () => {
    expect(roundLatencyMs(null)).toBeNull();
    expect(roundLatencyMs({ peers: [] })).toBeNull();
    expect(
      roundLatencyMs({
        peers: [
          { nodeId: 'a', connected: true, lastRoundMs: 12 },
          { nodeId: 'b', connected: true, lastRoundMs: null },
          { nodeId: 'c', connected: false, lastRoundMs: 40 },
        ],
      }),
    ).toBe(40);
  });
});

describe('config messages', () => {
  it('find the key a clamping warning names', () => {
    expect(warningKey('sync.intervalSeconds = 1 is out of range 10–86400; using 10')).toBe('sync.intervalSeconds');
  });
});

describe('overall state', () => {
  const base: Status = {
    mode: 'native',
    modeReason: 'r',
    nodeId: 'n',
    name: 'me',
    peers: [{ nodeId: 'p', name: 'bravo', status: 'active' }],
    gossip: { peers: [{ nodeId: 'p', connected: true }] },
    cortex: { healthy: true },
  };
  it('uses the tray labels', () => {
    expect(overallState(null).label).toBe('Error');
    expect(overallState(base).label).toBe('In sync');
    expect(overallState(base, { syncing: true }).label).toBe('Syncing');
    expect(overallState({ ...base, paused: true }).label).toBe('Paused');
    expect(overallState({ ...base, mode: 'none', modeReason: 'Cortex unhealthy: down' })).toMatchObject({
      label: 'Offline',
      detail: 'Cortex unhealthy: down',
    });
    expect(overallState({ ...base, peers: [] }).detail).toMatch(/No paired devices/);
    expect(overallState({ ...base, peers: [{ nodeId: 'p', name: 'bravo', status: 'active', failures: 3 }] })).toMatchObject({
      label: 'Needs attention',
      detail: 'Sync with bravo is failing.',
    });
  });

  it('renders the engine state with progress and the failing reason', () => {
    const syncing: Status = {
      ...base,
      state: 'syncing',
      peers: [{ nodeId: 'p', name: 'bravo', status: 'active', state: 'syncing', toReceive: 1200, toSend: 5 }],
    };
    expect(overallState(syncing)).toMatchObject({ label: 'Syncing', detail: '1,200 to receive, 5 to send.' });
    expect(peerStateText(syncing.peers[0])).toBe('syncing · 1,200 to receive · 5 to send');
    const failing: Status = {
      ...base,
      state: 'attention',
      peers: [{ nodeId: 'p', name: 'bravo', status: 'unreachable', failures: 4, state: 'failing', stateReason: 'no answer in time' }],
    };
    expect(overallState(failing).detail).toBe('Sync with bravo is failing: no answer in time.');
    expect(peerStateText(failing.peers[0])).toBe('failing');
    expect(peerStateText({ nodeId: 'q', name: 'old', status: 'active' })).toBe('active');
  });

  const tones: Record<string, StateTone> = {
    'in-sync': 'ok',
    syncing: 'busy',
    paused: 'paused',
    offline: 'offline',
    attention: 'attention',
    error: 'error',
  };
  for (const c of cases.cases as { name: string; status: Status | null; syncing?: boolean; expect: string }[]) {
    it(`agrees with the tray: ${c.name}`, () => {
      expect(overallState(c.status, { syncing: c.syncing ?? false }).tone).toBe(tones[c.expect]);
    });
  }
});
