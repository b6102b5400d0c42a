// Formatting of engine values for display. Unknown values are always "—", never a made-up 0.

import { NODE_ID_SHORT_LEN } from './engine_types';
import type { Gossip, OverallState, PeerView } from './types';

/** Shown for every unknown value. */
export const DASH = '—';

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** 12345 → "12,345"; unknown → "—". */
export function formatCount(v: unknown): string {
  if (!isNum(v)) return DASH;
  return Math.round(v)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A Bloom filter false-positive rate: 0.0123 → "1.23 %", 0.00001 → "0.001 %", 0 → "0 %". */
export function formatFpr(v: unknown): string {
  if (!isNum(v) || v < 0) return DASH;
  if (v === 0) return '0 %';
  const pct = v * 100;
  if (pct >= 1) return `${pct.toFixed(2)} %`;
  if (pct >= 0.01) return `${pct.toFixed(3)} %`;
  return `${pct.toPrecision(2)} %`;
}

/** Milliseconds: 8 → "8 ms", 1530 → "1.53 s", 65000 → "1 min 5 s". */
export function formatMs(v: unknown): string {
  if (!isNum(v) || v < 0) return DASH;
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} s`;
  const s = Math.round(v / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Bytes: 1536 → "1.5 KiB". */
export function formatBytes(v: unknown): string {
  if (!isNum(v) || v < 0) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let x = v;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return i === 0 ? `${x} B` : `${x.toFixed(x < 10 ? 1 : 0)} ${units[i]}`;
}

/** A time relative to `now`: "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago"; future: "in 5 min". */
export function formatRelative(iso: unknown, now: number = Date.now()): string {
  if (typeof iso !== 'string' || iso === '') return DASH;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return DASH;
  const d = Math.round((now - t) / 1000);
  const abs = Math.abs(d);
  let text: string;
  if (abs < 5) return 'just now';
  if (abs < 60) text = `${abs} s`;
  else if (abs < 3600) text = `${Math.floor(abs / 60)} min`;
  else if (abs < 86_400) text = `${Math.floor(abs / 3600)} h`;
  else text = `${Math.floor(abs / 86_400)} d`;
  return d >= 0 ? `${text} ago` : `in ${text}`;
}

/** An RFC 3339 time as local "YYYY-MM-DD HH:MM:SS". */
export function formatTime(iso: unknown): string {
  if (typeof iso !== 'string') return DASH;
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return DASH;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`;
}

/** Seconds of uptime: 3725 → "1 h 2 min". */
export function formatUptime(v: unknown): string {
  if (!isNum(v) || v < 0) return DASH;
  if (v < 60) return `${Math.floor(v)} s`;
  if (v < 3600) return `${Math.floor(v / 60)} min`;
  if (v < 86_400) return `${Math.floor(v / 3600)} h ${Math.floor((v % 3600) / 60)} min`;
  return `${Math.floor(v / 86_400)} d ${Math.floor((v % 86_400) / 3600)} h`;
}

/** A node id in its short form, as the CLI, the logs and the tray show it: its first
 *  `NODE_ID_SHORT_LEN` (12) hex digits. */
export function shortId(id: unknown): string {
  if (typeof id !== 'string' || id === '') return DASH;
  return id.slice(0, NODE_ID_SHORT_LEN);
}

/** A verification code as `NNN NNN` (the engine already sends it so; digits only are regrouped). */
export function formatCode(code: unknown): string {
  if (typeof code !== 'string') return DASH;
  const digits = code.replace(/\s+/g, '');
  return /^\d{6}$/.test(digits) ? `${digits.slice(0, 3)} ${digits.slice(3)}` : code;
}

/** A triple's object for display. */
export function formatObject(v: unknown): string {
  if (v === null || v === undefined) return DASH;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && 'node' in (v as object)) return `→ ${String((v as { node: unknown }).node)}`;
  return JSON.stringify(v);
}

/** The round latency of the last gossip rounds: the slowest connected peer's last round. */
export function roundLatencyMs(g: Gossip | null | undefined): number | null {
  const ms = (g?.peers ?? [])
    .map((p) => p.lastRoundMs)
    .filter((v): v is number => isNum(v));
  return ms.length ? Math.max(...ms) : null;
}

/** How the header's state pill looks: one tone per engine state, and `error` when the engine
 *  cannot be reached (the tray's sixth state, which is the shell's, not the engine's). */
export type StateTone = 'ok' | 'busy' | 'paused' | 'offline' | 'attention' | 'error';

const TONES: Record<OverallState, StateTone> = {
  'in-sync': 'ok',
  syncing: 'busy',
  paused: 'paused',
  offline: 'offline',
  attention: 'attention',
};

/** The tone of an engine state (`null`: the engine cannot be reached). */
export function stateTone(state: OverallState | null): StateTone {
  return state === null ? 'error' : TONES[state];
}

/** The facts behind a state as one sentence: ["sync with bravo is failing: x", "2 new
 *  conflicts"] → "Sync with bravo is failing: x; 2 new conflicts." (empty when there are none). */
export function detailSentence(details: readonly string[]): string {
  const text = details
    .map((d) => d.trim())
    .filter((d) => d !== '')
    .join('; ');
  if (text === '') return '';
  const first = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?…]$/.test(first) ? first : `${first}.`;
}

/** The config key a clamping warning names: "sync.intervalSeconds = 1 is out of range …". */
export function warningKey(warning: string): string | null {
  const m = /^([A-Za-z0-9_.]+) = /.exec(warning);
  return m ? m[1] : null;
}

/** One device's state in words for the devices table: the engine's state with how far a
 *  converging pair is (`syncing · 1,200 to receive`), else its stored status. */
export function peerStateText(p: PeerView): string {
  if (!p.state) return p.status;
  if (p.state === 'in-sync') return 'in sync';
  if (p.state === 'syncing') {
    const parts = [
      p.toReceive > 0 ? `${formatCount(p.toReceive)} to receive` : '',
      p.toSend > 0 ? `${formatCount(p.toSend)} to send` : '',
    ].filter(Boolean);
    return parts.length ? `syncing · ${parts.join(' · ')}` : 'syncing';
  }
  return p.state;
}
