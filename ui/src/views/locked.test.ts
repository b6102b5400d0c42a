// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';

import { textOf } from '../testing';
import { renderLocked } from './locked';

describe('locked page', () => {
  it('replaces the page with how to open it with the token', () => {
    const root = document.createElement('div');
    root.append(document.createElement('header'));
    renderLocked(root);
    expect(root.children).toHaveLength(1);
    expect(root.querySelector('h1')?.textContent).toBe('Mayros Sync');
    expect(textOf(root, 'locked')).toContain('Run mayros ui on this machine and open the address it prints.');
    expect(root.querySelector('code')?.textContent).toBe('mayros ui');
  });
});
