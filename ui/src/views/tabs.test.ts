// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';

import { fakeContext, sampleStatus } from '../testing';
import { createTabsView } from './tabs';

describe('tabs', () => {
  it('list the four views and mark the current one', () => {
    const ctx = fakeContext({ view: 'conflicts' });
    const view = createTabsView(ctx);
    view.render();
    const tabs = Array.from(view.root.querySelectorAll('[role="tab"]'));
    expect(tabs.map((t) => t.getAttribute('data-testid'))).toEqual(['tab-overview', 'tab-devices', 'tab-conflicts', 'tab-settings']);
    expect(tabs.map((t) => t.textContent)).toEqual(['Overview', 'Devices', 'Conflicts', 'Settings']);
    expect(tabs.map((t) => t.getAttribute('aria-selected'))).toEqual(['false', 'false', 'true', 'false']);
  });

  it('count paired devices (not removed ones) and open conflicts', () => {
    const base = sampleStatus();
    const status = sampleStatus({
      conflictsCount: 3,
      peers: [...base.peers, { ...base.peers[0], nodeId: 'gone', status: 'removed' }],
    });
    const view = createTabsView(fakeContext({ status }));
    view.render();
    const count = (id: string) => view.root.querySelector(`[data-testid="tab-${id}"] .count`)?.textContent ?? null;
    expect(count('devices')).toBe('1');
    expect(count('conflicts')).toBe('3');
    expect(count('overview')).toBeNull();
  });

  it('go to the view of the clicked tab', () => {
    const ctx = fakeContext();
    const view = createTabsView(ctx);
    view.render();
    view.root.querySelector<HTMLButtonElement>('[data-testid="tab-settings"]')?.click();
    expect(ctx.actions.go).toHaveBeenCalledWith('settings');
  });
});
