// The tab bar: one tab per view, with the number of devices and of conflicts.

import { h, renderIfChanged } from '../dom';
import type { View } from '../state';
import type { ViewContext } from './context';

/** The tab bar. */
export interface TabsView {
  root: HTMLElement;
  render(): void;
}

/** Builds the tab bar over a context. */
export function createTabsView({ state, actions }: ViewContext): TabsView {
  const root = h('nav', { class: 'tabs', role: 'tablist' });

  function render(): void {
    const s = state.status;
    const tabs: Array<[View, string, string]> = [
      ['overview', 'Overview', ''],
      ['devices', 'Devices', s ? String(s.peers.filter((p) => p.status !== 'removed').length) : ''],
      ['conflicts', 'Conflicts', s && s.conflictsCount ? String(s.conflictsCount) : ''],
      ['settings', 'Settings', ''],
    ];
    renderIfChanged(root, JSON.stringify([tabs, state.view]), () =>
      tabs.map(([v, label, n]) =>
        h(
          'button',
          {
            role: 'tab',
            class: 'tab',
            'aria-selected': String(v === state.view),
            'data-testid': `tab-${v}`,
            onclick: () => actions.go(v),
          },
          label,
          n ? h('span', { class: 'count' }, n) : null,
        ),
      ),
    );
  }

  return { root, render };
}
