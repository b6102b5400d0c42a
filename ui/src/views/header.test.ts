// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';

import { button, buttons, fakeContext, sampleStatus, textOf } from '../testing';
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

  it('adds the engine error to the state detail when the engine cannot be reached', () => {
    const { page } = mount(fakeContext({ statusError: 'cannot reach the engine: refused', link: 'reconnecting' }));
    expect(page.querySelector('.state-detail')?.textContent).toContain('cannot reach the engine: refused');
    expect(textOf(page, 'link')).toBe('Reconnecting…');
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
