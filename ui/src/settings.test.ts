import { describe, expect, it } from 'vitest';

import { FIELDS, fromInput, getPath, placeError, setPath, toInput, warningsByField } from './settings';

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
  it('an error naming a field of the form goes next to that field', () => {
    const p = placeError('config key `sync.intervalSeconds`: expected an integer, found a string');
    expect(p.field?.key).toBe('sync.intervalSeconds');
    expect(p.message).toContain('expected an integer');
  });

  it('an error naming a key the form has no field for goes to the form as a whole', () => {
    const p = placeError('config key `sync.bogus`: unknown key; known keys here: intervalSeconds');
    expect(p.key).toBe('sync.bogus');
    expect(p.field).toBeNull();
    expect(placeError('Not valid JSON: x').field).toBeNull();
  });

  it('clamping warnings are shown by the field they name', () => {
    const w = warningsByField(['sync.intervalSeconds = 1 is out of range 10–86400; using 10', 'clock skew of 3 s']);
    expect(w.get('sync.intervalSeconds')).toHaveLength(1);
    expect(w.get('')).toEqual(['clock skew of 3 s']);
  });
});
