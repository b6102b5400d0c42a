// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';

import { DASH } from '../format';
import { button, buttons, fakeContext, sampleStatus, textOf } from '../testing';
import type { Conflict } from '../types';
import { createConflictsView, peerName } from './conflicts';

const conflict = (over: Partial<Conflict> = {}): Conflict => ({
  id: 7,
  at: '2024-05-01T10:00:00Z',
  namespace: 'default',
  subject: 'person:ann',
  predicate: 'email',
  strategy: 'last-writer-wins',
  peer: 'node-bravo-9876543210',
  winners: [{ id: 'w', subject: 'person:ann', predicate: 'email', object: 'ann@new.example' }],
  losers: [{ id: 'l', subject: 'person:ann', predicate: 'email', object: 'ann@old.example' }],
  restoredAt: null,
  ...over,
});

function mount(ctx: ReturnType<typeof fakeContext>) {
  const view = createConflictsView(ctx);
  view.render();
  return view.root;
}

describe('conflicts', () => {
  it('shows a dash before the list is read, then explains an empty list', () => {
    expect(textOf(mount(fakeContext()), 'conflicts')).toBe(DASH);
    expect(textOf(mount(fakeContext({ conflicts: [] })), 'conflicts-empty')).toBe(
      'No conflicts. When two devices change the same fact at once, the value that lost is kept here and can be restored.',
    );
  });

  it('shows what was kept and what was replaced, from which device, with Restore', () => {
    const ctx = fakeContext({ status: sampleStatus(), conflicts: [conflict()] });
    const root = mount(ctx);
    const row = root.querySelector('[data-testid="conflict"]');
    expect(row?.querySelector('.conflict-head .mono')?.textContent).toBe('person:ann email');
    expect(row?.querySelector('.conflict-head .muted')?.textContent).toContain('· last-writer-wins · from bravo');
    expect(row?.querySelector('.value:not(.lost)')?.textContent).toBe('ann@new.example');
    expect(row?.querySelector('.value.lost')?.textContent).toBe('ann@old.example');
    button(root, 'Restore').click();
    expect(ctx.actions.restore).toHaveBeenCalledWith(ctx.state.conflicts?.[0]);
  });

  it('offers no Restore when nothing was replaced or it was already restored', () => {
    const root = mount(
      fakeContext({ conflicts: [conflict({ losers: [] }), conflict({ id: 8, restoredAt: new Date().toISOString() })] }),
    );
    expect(buttons(root)).toEqual([]);
    expect(root.textContent).toContain('nothing (both kept)');
    expect(root.textContent).toContain('Restored just now');
  });

  it('names a peer by its paired name, else by its short id', () => {
    const state = fakeContext({ status: sampleStatus() }).state;
    expect(peerName(state, 'node-bravo-9876543210')).toBe('bravo');
    expect(peerName(state, '0123456789abcdef0123')).toBe('0123456789ab');
    expect(peerName(fakeContext().state, 'abc')).toBe('abc');
  });
});
