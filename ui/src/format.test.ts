import { describe, expect, it } from 'vitest';

import { NODE_ID_SHORT_LEN } from './engine_types';
import {
  DASH,
  detailSentence,
  formatBytes,
  formatCode,
  formatCount,
  formatFpr,
  formatMs,
  formatRelative,
  formatUptime,
  peerStateText,
  roundLatencyMs,
  shortId,
  stateTone,
  warningKey,
} from './format';
import { sampleGossip, sampleNativePeer, samplePeer } from './testing';

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
    const id = '0123456789abcdef'.repeat(4);
    expect(NODE_ID_SHORT_LEN).toBe(12);
    expect(shortId(id)).toBe('0123456789ab');
    expect(shortId(id)).toHaveLength(NODE_ID_SHORT_LEN);
    expect(shortId('abc')).toBe('abc');
    expect(shortId('')).toBe(DASH);
  });

  it('round latency is the slowest measured peer', () => {
    expect(roundLatencyMs(null)).toBeNull();
    expect(roundLatencyMs(sampleGossip({ peers: [] }))).toBeNull();
    expect(
      roundLatencyMs(
        sampleGossip({
          peers: [
            sampleNativePeer({ nodeId: 'a', connected: true, lastRoundMs: 12 }),
            sampleNativePeer({ nodeId: 'b', connected: true, lastRoundMs: null }),
            sampleNativePeer({ nodeId: 'c', connected: false, lastRoundMs: 40 }),
          ],
        }),
      ),
    ).toBe(40);
  });
});

describe('config messages', () => {
  it('find the key a clamping warning names', () => {
    expect(warningKey('sync.intervalSeconds = 1 is out of range 10–86400; using 10')).toBe('sync.intervalSeconds');
  });
});

describe('state display', () => {
  it('maps each engine state to a tone, and an unreachable engine to error', () => {
    expect(stateTone('in-sync')).toBe('ok');
    expect(stateTone('syncing')).toBe('busy');
    expect(stateTone('paused')).toBe('paused');
    expect(stateTone('offline')).toBe('offline');
    expect(stateTone('attention')).toBe('attention');
    expect(stateTone(null)).toBe('error');
  });

  it('joins the engine’s details into one sentence', () => {
    expect(detailSentence([])).toBe('');
    expect(detailSentence(['1 of 2 paired device(s) online'])).toBe('1 of 2 paired device(s) online.');
    expect(detailSentence(['sync with bravo is failing: no answer in time', '2 new conflicts'])).toBe(
      'Sync with bravo is failing: no answer in time; 2 new conflicts.',
    );
    expect(detailSentence(['Cortex unhealthy: down.'])).toBe('Cortex unhealthy: down.');
    expect(detailSentence(['', '  '])).toBe('');
  });

  it('says where each device stands, with progress while syncing', () => {
    expect(peerStateText(samplePeer({ state: 'syncing', toReceive: 1200, toSend: 5 }))).toBe('syncing · 1,200 to receive · 5 to send');
    expect(peerStateText(samplePeer({ state: 'syncing' }))).toBe('syncing');
    expect(peerStateText(samplePeer({ state: 'in-sync' }))).toBe('in sync');
    expect(peerStateText(samplePeer({ state: 'failing', failures: 4, stateReason: 'no answer in time' }))).toBe('failing');
    expect(peerStateText(samplePeer({ state: '', status: 'active' }))).toBe('active');
  });
});
