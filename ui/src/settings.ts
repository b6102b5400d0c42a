// The settings form over GET/PATCH /api/v1/sync/config (DESIGN §9): which fields it shows, how an
// input becomes a config value, which keys a save changes, and where the engine's validation
// errors and clamping warnings are shown. The engine validates; the form sends what was changed.

import { warningKey } from './format';

/** One field of the form. */
export interface Field {
  key: string;
  label: string;
  kind: 'number' | 'bool' | 'enum' | 'text' | 'list';
  hint?: string;
  options?: string[];
  /** An empty text field means `null` (the default). */
  nullable?: boolean;
}

/** The form's fields, by section. */
export const SECTIONS: Array<{ title: string; fields: Field[] }> = [
  {
    title: 'Sync',
    fields: [
      { key: 'sync.autoSync', label: 'Sync automatically', kind: 'bool', hint: 'Sync on a timer and after agent writes.' },
      { key: 'sync.intervalSeconds', label: 'Interval (seconds)', kind: 'number', hint: '10 – 86 400' },
      {
        key: 'sync.conflictStrategy',
        label: 'Conflict strategy',
        kind: 'enum',
        options: ['last-writer-wins', 'keep-both', 'local-priority', 'remote-priority'],
      },
      { key: 'sync.nativeP2pPreferred', label: 'Prefer native P2P (QUIC gossip)', kind: 'bool' },
      { key: 'sync.maxTriplesPerSync', label: 'Max triples per sync', kind: 'number', hint: '100 – 50 000' },
      { key: 'sync.syncTimeoutMs', label: 'Sync timeout (ms)', kind: 'number', hint: '5 000 – 120 000' },
      { key: 'sync.tombstoneMaxRetentionDays', label: 'Keep deletions (days)', kind: 'number', hint: '1 – 3 650' },
      { key: 'sync.multiValuedPredicates', label: 'Multi-valued predicates', kind: 'list', hint: 'One per line.' },
      { key: 'sync.excludeSubjectPrefixes', label: 'Never sync subjects starting with', kind: 'list', hint: 'One per line.' },
    ],
  },
  {
    title: 'Discovery',
    fields: [
      { key: 'discovery.bonjourEnabled', label: 'Find devices on the local network (mDNS)', kind: 'bool' },
      { key: 'discovery.bonjourServiceType', label: 'Service type', kind: 'text' },
      {
        key: 'discovery.interfaces',
        label: 'Network interfaces',
        kind: 'list',
        nullable: true,
        hint: 'One per line; empty means every non-loopback interface.',
      },
    ],
  },
  {
    title: 'Cortex and notifications',
    fields: [
      { key: 'namespace', label: 'Default namespace', kind: 'text' },
      { key: 'cortex.url', label: 'External Cortex URL', kind: 'text', nullable: true, hint: 'Empty: the embedded Cortex.' },
      { key: 'ui.notifications', label: 'Desktop notifications', kind: 'bool' },
    ],
  },
];

/** Every field, flat. */
export const FIELDS: Field[] = SECTIONS.flatMap((s) => s.fields);

/** The value at a dotted key. */
export function getPath(doc: unknown, key: string): unknown {
  let cur: unknown = doc;
  for (const part of key.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** A copy of `doc` with `key` set to `value` (objects on the way are created). */
export function setPath(doc: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const out = structuredClone(doc);
  const parts = key.split('.');
  let cur: Record<string, unknown> = out;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
  return out;
}

/** The text an input shows for a config value. */
export function toInput(field: Field, value: unknown): string | boolean {
  if (field.kind === 'bool') return value === true;
  if (value === null || value === undefined) return '';
  if (field.kind === 'list') return Array.isArray(value) ? value.map(String).join('\n') : String(value);
  return String(value);
}

/**
 * The config value an input means. Numbers that do not parse are sent as typed (a string), so
 * the engine's own validation names the key and the problem.
 */
export function fromInput(field: Field, input: string | boolean): unknown {
  if (field.kind === 'bool') return input === true;
  const text = String(input);
  if (field.kind === 'number') {
    const t = text.trim();
    return /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : text;
  }
  if (field.kind === 'list') {
    const items = text
      .split(/[\n,]/)
      .map((s) => s.trim())
      .filter((s) => s !== '');
    return field.nullable && items.length === 0 ? null : items;
  }
  if (field.nullable && text.trim() === '') return null;
  return text;
}

/**
 * The merge patch a save sends: each form value that differs from the effective config, at its
 * key (`null` = back to the default). Keys the user did not change stay out, so the file keeps
 * only what the user set.
 */
export function formPatch(effective: unknown, values: Array<[Field, unknown]>): Record<string, unknown> {
  let patch: Record<string, unknown> = {};
  for (const [f, value] of values) {
    if (JSON.stringify(value) !== JSON.stringify(getPath(effective, f.key) ?? null)) {
      patch = setPath(patch, f.key, value);
    }
  }
  return patch;
}

/** Where an engine error goes: the field of the form its `field` names, or the form as a whole. */
export function placeError(
  message: string,
  key: string | null,
): { key: string | null; field: Field | null; message: string } {
  const field = key ? (FIELDS.find((f) => f.key === key) ?? null) : null;
  return { key, field, message };
}

/** Clamping warnings grouped by the field they name (`''`: no field of the form). */
export function warningsByField(warnings: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const w of warnings) {
    const key = warningKey(w);
    const k = key && FIELDS.some((f) => f.key === key) ? key : '';
    out.set(k, [...(out.get(k) ?? []), w]);
  }
  return out;
}
