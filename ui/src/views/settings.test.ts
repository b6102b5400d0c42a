// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';

import { ApiError } from '../api';
import { DASH } from '../format';
import { fakeApi, fakeContext, sampleStatus, textOf } from '../testing';
import type { ConfigAnswer } from '../types';
import { createSettingsView } from './settings';

const answer = (over: Partial<ConfigAnswer> = {}): ConfigAnswer => ({
  config: {
    sync: {
      autoSync: true,
      intervalSeconds: 60,
      conflictStrategy: 'last-writer-wins',
      nativeP2pPreferred: true,
      maxTriplesPerSync: 5000,
      syncTimeoutMs: 30000,
      tombstoneMaxRetentionDays: 90,
      multiValuedPredicates: ['tag'],
      excludeSubjectPrefixes: [],
    },
    discovery: { bonjourEnabled: false, bonjourServiceType: '_mayros._tcp', interfaces: null },
    namespace: 'default',
    cortex: { url: null },
    ui: { notifications: true },
  },
  path: '/home/u/.config/mayros/config.json',
  warnings: [],
  ...over,
});

async function mount(api = fakeApi({ getConfig: answer() }), state = {}) {
  const ctx = fakeContext(state, api);
  const view = createSettingsView(ctx);
  document.body.replaceChildren(view.root);
  view.render();
  await view.reload();
  const form = view.root.querySelector('form') as HTMLFormElement;
  const input = (key: string) => form.querySelector<HTMLInputElement>(`[data-key="${key}"]`) as HTMLInputElement;
  return { ctx, view, root: view.root, form, input };
}

describe('settings: the form', () => {
  it('shows every section with the values of the config, and the file', async () => {
    const { form, input } = await mount();
    expect(Array.from(form.querySelectorAll('legend')).map((l) => l.textContent)).toEqual([
      'Sync',
      'Discovery',
      'Cortex and notifications',
    ]);
    expect(input('sync.intervalSeconds').value).toBe('60');
    expect(input('sync.autoSync').checked).toBe(true);
    expect(input('discovery.bonjourEnabled').checked).toBe(false);
    expect(form.querySelector<HTMLSelectElement>('[data-key="sync.conflictStrategy"]')?.value).toBe('last-writer-wins');
    expect(form.textContent).toContain('File: /home/u/.config/mayros/config.json');
    expect(JSON.parse(form.querySelector<HTMLTextAreaElement>('[data-testid="config-json"]')!.value)).toEqual(answer().config);
    expect(textOf(form, 'save-settings')).toBe('Save');
  });

  it('says when the settings cannot be read', async () => {
    const { form } = await mount(fakeApi({ getConfig: () => Promise.reject(new Error('engine down')) }));
    expect(form.textContent).toBe('Cannot read the settings: engine down');
  });

  it('saves only what changed, shows the notice and refreshes the status', async () => {
    const api = fakeApi({ getConfig: answer(), patchConfig: answer() });
    const { ctx, form, input } = await mount(api);
    input('sync.intervalSeconds').value = '120';
    form.querySelector<HTMLButtonElement>('[data-testid="save-settings"]')?.click();
    await vi.waitFor(() => expect(textOf(form, 'form-notice')).toBe('Saved. The engine applied the new settings.'));
    expect(api.calls.at(-1)).toEqual({ op: 'patchConfig', args: { patch: { sync: { intervalSeconds: 120 } } } });
    expect(ctx.refresh).toHaveBeenCalledWith('status', 'nearby');
  });

  it('shows the warnings of a save next to their field', async () => {
    const saved = answer({ warnings: ['sync.intervalSeconds = 1 is out of range; 10 is used'] });
    const { form } = await mount(fakeApi({ getConfig: answer(), patchConfig: saved }));
    form.querySelector<HTMLButtonElement>('[data-testid="save-settings"]')?.click();
    await vi.waitFor(() => expect(textOf(form, 'form-notice')).toBe('Saved, with the warnings shown.'));
    expect(form.querySelector('[data-warning-for="sync.intervalSeconds"]')?.textContent).toBe('sync.intervalSeconds = 1 is out of range; 10 is used');
  });

  it('puts a rejected value’s error at its field and keeps what was typed', async () => {
    const reject = () => Promise.reject(new ApiError('INVALID_CONFIG', 'must be at least 10', 400, 'sync.intervalSeconds'));
    const { ctx, form, input } = await mount(fakeApi({ getConfig: answer(), patchConfig: reject }));
    input('sync.intervalSeconds').value = '3';
    form.querySelector<HTMLButtonElement>('[data-testid="save-settings"]')?.click();
    await vi.waitFor(() => expect(form.querySelector('[data-error-for="sync.intervalSeconds"]')?.textContent).toBe('must be at least 10'));
    expect(input('sync.intervalSeconds').value).toBe('3');
    expect(input('sync.intervalSeconds').getAttribute('aria-invalid')).toBe('true');
    expect(textOf(form, 'form-error')).toBe('');
    expect(ctx.refresh).not.toHaveBeenCalled();
  });

  it('refuses JSON that does not parse, and PUTs a whole document that does', async () => {
    const api = fakeApi({ getConfig: answer(), putConfig: answer() });
    const { form } = await mount(api);
    const ta = form.querySelector<HTMLTextAreaElement>('[data-testid="config-json"]')!;
    ta.value = '{ nope';
    form.querySelector<HTMLButtonElement>('[data-testid="save-json"]')?.click();
    await vi.waitFor(() => expect(textOf(form, 'form-error')).toMatch(/^Not valid JSON: /));
    expect(api.calls.map((c) => c.op)).toEqual(['getConfig']);

    form.querySelector<HTMLTextAreaElement>('[data-testid="config-json"]')!.value = '{"namespace":"work"}';
    form.querySelector<HTMLButtonElement>('[data-testid="save-json"]')?.click();
    await vi.waitFor(() => expect(api.calls.at(-1)).toEqual({ op: 'putConfig', args: { config: { namespace: 'work' } } }));
  });

  it('reads the config again on Revert', async () => {
    const api = fakeApi({ getConfig: answer() });
    const { form } = await mount(api);
    Array.from(form.querySelectorAll('button')).find((b) => b.textContent === 'Revert')?.click();
    await vi.waitFor(() => expect(api.calls.map((c) => c.op)).toEqual(['getConfig', 'getConfig']));
  });
});

describe('settings: start at login and this device', () => {
  it('says start at login needs the desktop app in a browser', async () => {
    const { root } = await mount();
    expect(textOf(root, 'autostart-unavailable')).toBe('Start at login is only available in the desktop app.');
    expect(root.querySelector('[data-testid="autostart-toggle"]')).toBeNull();
  });

  it('toggles start at login in the app', async () => {
    const { ctx, root } = await mount(fakeApi({ getConfig: answer() }, { transport: 'tauri' }), { autostart: false });
    const toggle = root.querySelector<HTMLInputElement>('[data-testid="autostart-toggle"]')!;
    expect(toggle.checked).toBe(false);
    expect(toggle.disabled).toBe(false);
    toggle.checked = true;
    toggle.dispatchEvent(new Event('change'));
    expect(ctx.actions.toggleAutostart).toHaveBeenCalledWith(true);
  });

  it('lists this device’s facts', async () => {
    const { root } = await mount(undefined, { status: sampleStatus(), statusAt: Date.now() });
    const about = root.querySelector('[data-testid="about"]')!;
    const facts = Object.fromEntries(
      Array.from(about.querySelectorAll('dt')).map((dt) => [dt.textContent, dt.nextElementSibling?.textContent]),
    );
    expect(facts).toMatchObject({
      Name: 'alpha',
      'Node id': 'node-alpha-0123456789',
      Version: '0.1.0',
      'Peer API': '127.0.0.1:7001',
      'Config file': '/home/u/.config/mayros/config.json',
    });
    expect(facts.Uptime).not.toBe(DASH);
  });
});
