// The settings form over GET/PATCH /api/v1/sync/config (DESIGN §9): which fields it shows, how an
// input becomes a config value, which keys a save changes, and where the engine's validation
// errors and clamping warnings are shown. The engine validates; the form sends what was changed.
// Each field's kind, range and allowed values come from the engine's key table (config_keys.ts,
// generated from crates/proto/src/config/keys.rs), never from numbers copied here.

import { CONFIG_KEYS } from './config_keys';
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
  /** Smallest number kept as given (number fields); the engine clamps a smaller one. */
  min?: number;
  /** Largest number kept as given (number fields); the engine clamps a larger one. */
  max?: number;
}

/** The input each kind of the engine's key table is edited with. */
const INPUT_KIND = { bool: 'bool', integer: 'number', string: 'text', enum: 'enum', list: 'list' } as const;

/** `86400` as `86 400`. */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/**
 * The field for `key`: its kind, range, allowed values and whether empty means the default come
 * from the engine's key table (CONFIG_KEYS); the label and any hint are the form's own.
 */
function configField(key: string, label: string, hint?: string): Field {
  const spec = CONFIG_KEYS.find((k) => k.key === key);
  if (!spec || !spec.window) throw new Error(`the window does not set ${key}`);
  const field: Field = { key, label, kind: INPUT_KIND[spec.kind] };
  const hints = hint ? [hint] : [];
  if (spec.min !== null && spec.max !== null) {
    field.min = spec.min;
    field.max = spec.max;
    hints.unshift(`${grouped(spec.min)} – ${grouped(spec.max)}`);
  }
  if (hints.length) field.hint = hints.join(' ');
  if (spec.values !== null) field.options = [...spec.values];
  if (spec.default === null) field.nullable = true;
  return field;
}

/** The form's fields, by section. */
export const SECTIONS: Array<{ title: string; fields: Field[] }> = [
  {
    title: 'Sync',
    fields: [
      configField('sync.autoSync', 'Sync automatically', 'Sync on a timer and after agent writes.'),
      configField('sync.intervalSeconds', 'Interval (seconds)'),
      configField('sync.conflictStrategy', 'Conflict strategy'),
      configField('sync.nativeP2pPreferred', 'Prefer native P2P (QUIC gossip)'),
      configField('sync.maxTriplesPerSync', 'Max triples per sync'),
      configField('sync.syncTimeoutMs', 'Sync timeout (ms)'),
      configField('sync.tombstoneMaxRetentionDays', 'Keep deletions (days)'),
      configField('sync.multiValuedPredicates', 'Multi-valued predicates', 'One per line.'),
      configField('sync.excludeSubjectPrefixes', 'Never sync subjects starting with', 'One per line.'),
    ],
  },
  {
    title: 'Discovery',
    fields: [
      configField('discovery.bonjourEnabled', 'Find devices on the local network (mDNS)'),
      configField('discovery.bonjourServiceType', 'Service type'),
      configField(
        'discovery.interfaces',
        'Network interfaces',
        'One per line; empty means every non-loopback interface.',
      ),
    ],
  },
  {
    title: 'Cortex and notifications',
    fields: [
      configField('namespace', 'Default namespace'),
      configField('cortex.url', 'External Cortex URL', 'Empty: the embedded Cortex.'),
      configField('ui.notifications', 'Desktop notifications'),
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
