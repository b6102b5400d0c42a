import { describe, expect, it } from 'vitest';

import { validLanguage } from './locale_guard';

describe('validLanguage', () => {
  it('replaces POSIX locale names that Intl rejects', () => {
    expect(validLanguage('C')).toBe('en-US');
    expect(validLanguage('C.UTF-8')).toBe('en-US');
    expect(validLanguage('')).toBe('en-US');
    expect(validLanguage(undefined)).toBe('en-US');
  });

  it('keeps and canonicalises real tags', () => {
    expect(validLanguage('de-DE')).toBe('de-DE');
    expect(validLanguage('en-us')).toBe('en-US');
    expect(validLanguage('fr')).toBe('fr');
  });

  it('makes the result usable by Intl', () => {
    for (const tag of ['C', 'de-DE', 'zz-INVALID-TAG-x']) {
      expect(() => new Intl.NumberFormat(validLanguage(tag))).not.toThrow();
    }
  });
});
