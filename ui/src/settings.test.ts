import { describe, expect, it } from 'vitest';

import { CONFIG_KEYS } from './config_keys';
import { FIELDS, SECTIONS, formPatch, fromInput, getPath, placeError, setPath, toInput, warningsByField } from './settings';

const field = (key: string) => {
  const f = FIELDS.find((x) => x.key === key);
  if (!f) throw new Error(key);
  return f;
};

describe('settings form values', () => {
  it('sends numbers as numbers and anything else as typed, for the engine to judge', () => {
    const f = field('sync.intervalSeconds');
    expect(fromInput(f, '120')).toBe(120);
    expect(fromInput(f, ' 60 ')).toBe(60);
    expect(fromInput(f, 'abc')).toBe('abc');
    expect(fromInput(f, '')).toBe('');
  });

  it('lists are one item per line; an empty nullable list is the default (null)', () => {
    expect(fromInput(field('sync.multiValuedPredicates'), 'a\n b \n\n')).toEqual(['a', 'b']);
    expect(fromInput(field('discovery.interfaces'), '')).toBeNull();
    expect(fromInput(field('discovery.interfaces'), 'lo')).toEqual(['lo']);
    expect(toInput(field('discovery.interfaces'), null)).toBe('');
    expect(toInput(field('discovery.interfaces'), ['lo', 'eth0'])).toBe('lo\neth0');
    expect(fromInput(field('cortex.url'), '  ')).toBeNull();
    expect(fromInput(field('sync.autoSync'), true)).toBe(true);
  });

  it('dotted paths read and write nested documents without touching the original', () => {
    const doc = { sync: { intervalSeconds: 60 }, namespace: 'm' };
    const out = setPath(doc, 'sync.intervalSeconds', 'abc');
    expect(getPath(out, 'sync.intervalSeconds')).toBe('abc');
    expect(doc.sync.intervalSeconds).toBe(60);
    expect(getPath(setPath({}, 'ui.notifications', false), 'ui.notifications')).toBe(false);
    expect(getPath(doc, 'nope.deeper')).toBeUndefined();
  });
});

describe('validation error display', () => {
  it('an error whose field is a field of the form goes next to that field', () => {
    const p = placeError('config key `sync.intervalSeconds`: expected an integer, found a string', 'sync.intervalSeconds');
    expect(p.field?.key).toBe('sync.intervalSeconds');
    expect(p.message).toContain('expected an integer');
  });

  it('an error naming a key the form has no field for goes to the form as a whole', () => {
    const p = placeError('config key `sync.bogus`: unknown key; known keys here: intervalSeconds', 'sync.bogus');
    expect(p.key).toBe('sync.bogus');
    expect(p.field).toBeNull();
    expect(placeError('config key `sync.intervalSeconds`: looks like a key, but no field came', null).field).toBeNull();
  });
});

describe('what a save sends', () => {
  const f = (key: string) => FIELDS.find((x) => x.key === key)!;
  const effective = { sync: { intervalSeconds: 300, autoSync: false, multiValuedPredicates: [] }, cortex: { url: null } };

  it('only the keys whose value changed', () => {
    const patch = formPatch(effective, [
      [f('sync.intervalSeconds'), 60],
      [f('sync.autoSync'), false],
      [f('sync.multiValuedPredicates'), []],
      [f('cortex.url'), null],
    ]);
    expect(patch).toEqual({ sync: { intervalSeconds: 60 } });
  });

  it('a cleared nullable field is sent as null, meaning the default', () => {
    const patch = formPatch({ cortex: { url: 'http://127.0.0.1:8080' } }, [[f('cortex.url'), null]]);
    expect(patch).toEqual({ cortex: { url: null } });
  });

  it('nothing changed sends an empty patch', () => {
    expect(formPatch(effective, [[f('sync.autoSync'), false]])).toEqual({});
  });

  it('clamping warnings are shown by the field they name', () => {
    const w = warningsByField(['sync.intervalSeconds = 1 is out of range 10–86400; using 10', 'clock skew of 3 s']);
    expect(w.get('sync.intervalSeconds')).toHaveLength(1);
    expect(w.get('')).toEqual(['clock skew of 3 s']);
  });
});

describe('fields from the engine key table', () => {
  const spec = (key: string) => {
    const k = CONFIG_KEYS.find((x) => x.key === key);
    if (!k) throw new Error(key);
    return k;
  };

  it("a number field's range is the table's, and so is the hint that shows it", () => {
    const f = field('sync.intervalSeconds');
    const k = spec('sync.intervalSeconds');
    expect(k.min).toBe(10);
    expect(k.max).toBe(86400);
    expect([f.min, f.max]).toEqual([k.min, k.max]);
    expect(f.hint).toBe('10 – 86 400');
    for (const key of ['sync.maxTriplesPerSync', 'sync.syncTimeoutMs', 'sync.tombstoneMaxRetentionDays']) {
      expect([field(key).kind, field(key).min, field(key).max]).toEqual(['number', spec(key).min, spec(key).max]);
    }
  });

  it("an enum field's options are the table's values", () => {
    expect(field('sync.conflictStrategy').options).toEqual([...(spec('sync.conflictStrategy').values ?? [])]);
  });

  it('a key whose default is null is a nullable field', () => {
    const nullable = FIELDS.filter((f) => f.nullable).map((f) => f.key);
    expect(nullable).toEqual(['discovery.interfaces', 'cortex.url']);
    for (const key of nullable) expect(spec(key).default).toBeNull();
  });

  it('the form has one field for each key the window may set, and none other', () => {
    const window = CONFIG_KEYS.filter((k) => k.window).map((k) => k.key);
    expect([...FIELDS.map((f) => f.key)].sort()).toEqual([...window].sort());
    expect(SECTIONS.flatMap((s) => s.fields)).toEqual(FIELDS);
  });
});
