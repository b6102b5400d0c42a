// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';

import { formatTime } from '../format';
import type { OverallState } from '../types';
import { button, buttons, fakeContext, sampleStatus, sampleSummary, textOf } from '../testing';
import { RESULT_MS, createHeaderView } from './header';

function mount(ctx: ReturnType<typeof fakeContext>) {
  const view = createHeaderView(ctx);
  const page = document.createElement('div');
  page.append(view.top, view.syncResult);
  view.render();
  return { view, page };
}

afterEach(() => vi.useRealTimers());

describe('header', () => {
  it('says it is connecting before the engine first answers, and cannot sync yet', () => {
    const { page } = mount(fakeContext());
    expect(textOf(page, 'state')).toBe('Connecting…');
    expect(page.querySelector('.state-detail')?.textContent).toBe('Waiting for the engine’s first answer.');
    expect(textOf(page, 'link')).toBe('Connecting…');
    expect(page.querySelector<HTMLButtonElement>('[data-testid="sync-now"]')?.disabled).toBe(true);
  });

  it('shows the device name, the live link, and sync and pause buttons that call the actions', () => {
    const ctx = fakeContext({ status: sampleStatus({ name: 'alpha' }), link: 'live' });
    const { page } = mount(ctx);
    expect(page.querySelector('h1')?.textContent).toBe('Mayros Sync');
    expect(page.querySelector('.device')?.textContent).toBe('alpha');
    expect(textOf(page, 'link')).toBe('Live');
    expect(page.querySelector('[data-testid="link"]')?.className).toBe('link link-live');
    expect(buttons(page)).toEqual(['Sync now', 'Pause 15 min', 'Pause 1 h', 'Pause until resumed']);
    expect(page.querySelector('[data-testid="resume"]')).toBeNull();

    button(page, 'Sync now').click();
    expect(ctx.actions.syncNow).toHaveBeenCalledWith();
    button(page, 'Pause 15 min').click();
    button(page, 'Pause 1 h').click();
    button(page, 'Pause until resumed').click();
    expect(ctx.actions.pause.mock.calls).toEqual([[15], [60], []]);
  });

  it('offers Resume instead of the pause menu while paused', () => {
    const ctx = fakeContext({ status: sampleStatus({ paused: true }) });
    const { page } = mount(ctx);
    expect(page.querySelector('[data-testid="pause-menu"]')).toBeNull();
    page.querySelector<HTMLButtonElement>('[data-testid="resume"]')?.click();
    expect(ctx.actions.resume).toHaveBeenCalledTimes(1);
  });

  it('shows a running sync on the button and keeps it disabled', () => {
    const { page } = mount(fakeContext({ status: sampleStatus(), syncing: true }));
    const b = page.querySelector<HTMLButtonElement>('[data-testid="sync-now"]');
    expect(b?.textContent).toBe('Syncing…');
    expect(b?.disabled).toBe(true);
  });

  it('says Error, with the engine error, when the engine cannot be reached', () => {
    const { page } = mount(fakeContext({ statusError: 'cannot reach the engine: refused', link: 'reconnecting' }));
    expect(textOf(page, 'state')).toBe('Error');
    expect(page.querySelector('[data-testid="state"]')?.className).toBe('pill tone-error');
    expect(page.querySelector('.state-detail')?.textContent).toBe('The engine cannot be reached. cannot reach the engine: refused');
    expect(textOf(page, 'link')).toBe('Reconnecting…');
  });

  // The engine decides the state (status.summary); the header only shows it.
  const shown: Array<[OverallState, string[], string, string]> = [
    ['in-sync', ['2 of 3 paired device(s) online'], 'tone-ok', '2 of 3 paired device(s) online.'],
    ['syncing', ['1,200 to receive', '5 to send'], 'tone-busy', '1,200 to receive; 5 to send.'],
    ['paused', [], 'tone-paused', 'Until resumed.'],
    ['offline', ['no paired device is reachable'], 'tone-offline', 'No paired device is reachable.'],
    [
      'attention',
      ['sync with bravo is failing: no answer in time', '2 new conflicts'],
      'tone-attention',
      'Sync with bravo is failing: no answer in time; 2 new conflicts.',
    ],
  ];
  for (const [st, details, tone, sentence] of shown) {
    it(`shows the engine's summary as it is: ${st}`, () => {
      const summary = sampleSummary(st, details);
      // The rest of the status says otherwise: only the summary counts.
      const status = sampleStatus({ state: 'in-sync', paused: st !== 'paused', summary });
      const { page } = mount(fakeContext({ status }));
      expect(textOf(page, 'state')).toBe(summary.label);
      expect(page.querySelector('[data-testid="state"]')?.className).toBe(`pill ${tone}`);
      expect(page.querySelector('.state-detail')?.textContent).toBe(sentence);
    });
  }

  it('says until when a pause lasts, in local time', () => {
    const until = '2026-12-07T10:30:00Z';
    const status = sampleStatus({ paused: true, pausedUntil: until, summary: sampleSummary('paused', []) });
    const { page } = mount(fakeContext({ status }));
    expect(page.querySelector('.state-detail')?.textContent).toBe(`Until ${formatTime(until)}.`);
  });

  it('leaves the state to the engine while its own sync request runs', () => {
    const { page } = mount(fakeContext({ status: sampleStatus(), syncing: true }));
    expect(textOf(page, 'state')).toBe('In sync');
    expect(textOf(page, 'sync-now')).toBe('Syncing…');
  });

  it('shows the last result, as ok or error, and clears it after a minute', () => {
    vi.useFakeTimers();
    const ctx = fakeContext({ status: sampleStatus(), syncResult: { ok: false, text: 'Cannot pause: nope' } });
    const { view, page } = mount(ctx);
    expect(textOf(page, 'sync-result')).toBe('Cannot pause: nope');
    expect(page.querySelector('[data-testid="sync-result"] .error')).not.toBeNull();

    vi.advanceTimersByTime(RESULT_MS - 1);
    expect(ctx.state.syncResult).not.toBeNull();
    vi.advanceTimersByTime(1);
    expect(ctx.state.syncResult).toBeNull();
    expect(ctx.render).toHaveBeenCalled();
    view.render();
    expect(textOf(page, 'sync-result')).toBe('');

    ctx.state.syncResult = { ok: true, text: 'Done.' };
    view.render();
    expect(page.querySelector('[data-testid="sync-result"] .ok')?.textContent).toBe('Done.');
  });
});
