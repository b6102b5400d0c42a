// The conflicts tab: each conflict's kept and replaced values, with a button to restore the loser.

import { h, renderIfChanged } from '../dom';
import { DASH, formatObject, formatRelative, formatTime, shortId } from '../format';
import type { AppState } from '../state';
import type { ViewContext } from './context';
import { card } from './parts';

/** The conflicts tab. */
export interface ConflictsView {
  root: HTMLElement;
  render(): void;
}

/** A peer's name when it is (or was) paired, else its short id. */
export function peerName(state: AppState, nodeId: string): string {
  return state.status?.peers.find((p) => p.nodeId === nodeId)?.name ?? shortId(nodeId);
}

/** Builds the conflicts tab over a context. */
export function createConflictsView({ state, actions }: ViewContext): ConflictsView {
  const list = h('div', { 'data-testid': 'conflicts' });
  const root = h('section', { class: 'view', 'data-view': 'conflicts' }, card('Conflicts', list));

  function render(): void {
    const conflicts = state.conflicts;
    renderIfChanged(list, JSON.stringify(conflicts), () => {
      if (conflicts === null) return [h('p', { class: 'empty' }, DASH)];
      if (conflicts.length === 0)
        return [
          h(
            'p',
            { class: 'empty', 'data-testid': 'conflicts-empty' },
            'No conflicts. When two devices change the same fact at once, the value that lost is kept here and can be restored.',
          ),
        ];
      return conflicts.map((c) =>
        h(
          'div',
          { class: 'conflict', 'data-testid': 'conflict' },
          h(
            'div',
            { class: 'conflict-head' },
            h('span', { class: 'mono' }, `${c.subject} ${c.predicate}`),
            h('span', { class: 'muted small' }, `${formatTime(c.at)} · ${c.strategy} · from ${peerName(state, c.peer)}`),
          ),
          h(
            'div',
            { class: 'conflict-body' },
            h('div', null, h('div', { class: 'muted small' }, 'Kept'), ...c.winners.map((t) => h('div', { class: 'value' }, formatObject(t.object)))),
            h(
              'div',
              null,
              h('div', { class: 'muted small' }, 'Replaced'),
              ...(c.losers.length
                ? c.losers.map((t) => h('div', { class: 'value lost' }, formatObject(t.object)))
                : [h('div', { class: 'muted' }, 'nothing (both kept)')]),
            ),
            h(
              'div',
              { class: 'row-actions' },
              c.restoredAt
                ? h('span', { class: 'muted small' }, `Restored ${formatRelative(c.restoredAt)}`)
                : c.losers.length
                  ? h('button', { onclick: () => void actions.restore(c) }, 'Restore')
                  : null,
            ),
          ),
        ),
      );
    });
  }

  return { root, render };
}
