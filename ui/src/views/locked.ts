// The page shown instead of the window when the browser has no control token.

import { h } from '../dom';

/** Replaces `root`'s content with the explanation of how to open the window with a token. */
export function renderLocked(root: HTMLElement): void {
  root.replaceChildren(
    h(
      'div',
      { class: 'locked card', 'data-testid': 'locked' },
      h('h1', null, 'Mayros Sync'),
      h('p', null, 'This page needs the engine’s control token, which is never stored in the browser.'),
      h('p', null, 'Run ', h('code', null, 'mayros ui'), ' on this machine and open the address it prints.'),
    ),
  );
}
