// The banners under the header: the engine is unreachable, or a device wants to pair.

import { h, renderIfChanged } from '../dom';
import type { ViewContext } from './context';

/** The banner area. */
export interface BannersView {
  root: HTMLElement;
  render(): void;
}

/** Builds the banners over a context. */
export function createBannersView({ state, api, actions }: ViewContext): BannersView {
  const root = h('div', { class: 'banners' });

  function render(): void {
    const items: Node[] = [];
    if (!api.authorized) return;
    if (state.status === null && state.statusError)
      items.push(
        h(
          'div',
          { class: 'banner error' },
          `Cannot reach the engine: ${state.statusError}. Is it running? Start it with `,
          h('code', null, 'mayros daemon'),
          ' or open the Mayros Sync app.',
        ),
      );
    if (state.requests.length > 0 && state.view !== 'devices')
      items.push(
        h(
          'div',
          { class: 'banner info' },
          `${state.requests.map((r) => r.name).join(', ')} ${state.requests.length === 1 ? 'wants' : 'want'} to pair. `,
          h('button', { class: 'link-button', onclick: () => actions.go('devices') }, 'Review the request'),
        ),
      );
    renderIfChanged(root, JSON.stringify([state.statusError, state.status === null, state.requests, state.view]), () => items);
  }

  return { root, render };
}
