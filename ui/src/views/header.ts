// The top bar: overall state, this device's name, sync and pause buttons, the live link, and the
// line that reports the last action's outcome.

import { h, renderIfChanged, setText } from '../dom';
import { DASH, detailSentence, formatTime, stateTone, type StateTone } from '../format';
import type { Status } from '../types';
import type { ViewContext } from './context';

/** How long an action's result stays shown. */
export const RESULT_MS = 60_000;

/** The header and the result line below it. */
export interface HeaderView {
  top: HTMLElement;
  syncResult: HTMLElement;
  render(): void;
}

/** The detail under the state: the engine's details; when paused, until when (local time). */
export function summaryDetail(s: Status): string {
  if (s.summary.state === 'paused') return s.pausedUntil ? `Until ${formatTime(s.pausedUntil)}.` : 'Until resumed.';
  return detailSentence(s.summary.details);
}

/** Builds the header over a context. */
export function createHeaderView({ state, actions, render: renderAll }: ViewContext): HeaderView {
  const pill = h('span', { class: 'pill', 'data-testid': 'state' }, DASH);
  const stateDetail = h('span', { class: 'state-detail muted' });
  const device = h('span', { class: 'device muted' });
  const link = h('span', { class: 'link', 'data-testid': 'link' });
  const buttons = h('div', { class: 'actions' });
  const syncResult = h('div', { class: 'sync-result', 'data-testid': 'sync-result', role: 'status' });
  const top = h(
    'header',
    { class: 'top' },
    h('div', { class: 'brand' }, h('h1', null, 'Mayros Sync'), device),
    h('div', { class: 'state' }, pill, stateDetail),
    buttons,
    link,
  );

  let resultTimer: ReturnType<typeof setTimeout> | null = null;
  let shownResult: unknown = null;

  /** A result line goes stale: it is cleared a minute after it was shown. */
  function expireResult(): void {
    if (state.syncResult === shownResult) return;
    shownResult = state.syncResult;
    if (resultTimer) clearTimeout(resultTimer);
    const shown = state.syncResult;
    resultTimer = shown
      ? setTimeout(() => {
          if (state.syncResult === shown) {
            state.syncResult = null;
            renderAll();
          }
        }, RESULT_MS)
      : null;
  }

  function renderButtons(s: Status | null): void {
    const key = JSON.stringify([s?.paused, state.syncing, s === null]);
    renderIfChanged(buttons, key, () => [
      h(
        'button',
        { class: 'primary', 'data-testid': 'sync-now', disabled: state.syncing || s === null, onclick: () => void actions.syncNow() },
        state.syncing ? 'Syncing…' : 'Sync now',
      ),
      s?.paused
        ? h('button', { 'data-testid': 'resume', onclick: () => void actions.resume() }, 'Resume')
        : h(
            'details',
            { class: 'menu', 'data-testid': 'pause-menu' },
            h('summary', { role: 'button', class: 'button' }, 'Pause'),
            h(
              'div',
              { class: 'menu-items' },
              h('button', { onclick: () => void actions.pause(15) }, 'Pause 15 min'),
              h('button', { onclick: () => void actions.pause(60) }, 'Pause 1 h'),
              h('button', { onclick: () => void actions.pause() }, 'Pause until resumed'),
            ),
          ),
    ]);
  }

  function render(): void {
    expireResult();
    const s = state.status;
    // Before the first answer there is nothing to judge: say so rather than "Error". The state
    // itself is the engine's (status.summary, decided once for the tray, the CLI and this window).
    const st: { label: string; tone: StateTone; detail: string } = s
      ? { label: s.summary.label, tone: stateTone(s.summary.state), detail: summaryDetail(s) }
      : state.statusError === null
        ? { label: 'Connecting…', tone: 'busy', detail: 'Waiting for the engine’s first answer.' }
        : { label: 'Error', tone: stateTone(null), detail: `The engine cannot be reached. ${state.statusError}` };
    pill.className = `pill tone-${st.tone}`;
    setText(pill, st.label);
    setText(stateDetail, st.detail);
    setText(device, s ? s.name : '');
    link.className = `link link-${state.link}`;
    setText(link, state.link === 'live' ? 'Live' : state.link === 'connecting' ? 'Connecting…' : 'Reconnecting…');

    renderButtons(s);
    renderIfChanged(syncResult, JSON.stringify(state.syncResult), () =>
      state.syncResult ? [h('span', { class: state.syncResult.ok ? 'ok' : 'error', title: state.syncResult.text }, state.syncResult.text)] : [],
    );
  }

  return { top, syncResult, render };
}
