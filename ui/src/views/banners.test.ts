// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';

import { fakeApi, fakeContext, sampleRequest, sampleStatus } from '../testing';
import { createBannersView } from './banners';

const request = (name: string) => sampleRequest({ nodeId: `id-${name}`, name, address: '127.0.0.1:1', expiresAt: '' });

function mount(ctx: ReturnType<typeof fakeContext>) {
  const view = createBannersView(ctx);
  view.render();
  return view.root;
}

describe('banners', () => {
  it('say how to start the engine when it cannot be reached', () => {
    const root = mount(fakeContext({ statusError: 'connection refused' }));
    const banner = root.querySelector('.banner.error');
    expect(banner?.textContent).toBe(
      'Cannot reach the engine: connection refused. Is it running? Start it with mayros daemon or open the Mayros Sync app.',
    );
  });

  it('show nothing while the engine answers and nobody asks to pair', () => {
    expect(mount(fakeContext({ status: sampleStatus() })).children).toHaveLength(0);
  });

  it('announce pair requests outside the devices tab, with a button that opens it', () => {
    const ctx = fakeContext({ status: sampleStatus(), requests: [request('bravo')] });
    const root = mount(ctx);
    expect(root.querySelector('.banner.info')?.textContent).toBe('bravo wants to pair. Review the request');
    root.querySelector('button')?.click();
    expect(ctx.actions.go).toHaveBeenCalledWith('devices');
  });

  it('name every device that asks (plural) and stay away from the devices tab', () => {
    const ctx = fakeContext({ status: sampleStatus(), requests: [request('bravo'), request('charlie')] });
    const view = createBannersView(ctx);
    view.render();
    expect(view.root.textContent).toContain('bravo, charlie want to pair.');
    ctx.state.view = 'devices';
    view.render();
    expect(view.root.querySelector('.banner.info')).toBeNull();
  });

  it('stay empty on a page without the control token', () => {
    const ctx = fakeContext({ statusError: 'unauthorized' }, fakeApi({}, { authorized: false }));
    expect(mount(ctx).children).toHaveLength(0);
  });
});
