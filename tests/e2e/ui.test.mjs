// The web UI end to end (issue 6, DESIGN §10): real headless Chromium against two real
// `mayros` daemons on 127.0.0.1 that discover each other over mDNS on `lo` only.
//
//   npm run e2e            (after `npm ci` and `cargo build -p mayros-cli`; MAYROS_BIN overrides the binary)
//
// Screenshots of the main views, dark and light, go to tests/e2e/artifacts/.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';

import { Daemon, DEADLINE_MS, launchBrowser, screenshot, waitFor } from './lib.mjs';

const STEP = { timeout: 120_000 };

describe('web UI against two real engines', () => {
  // One service type per run, so parallel runs never see each other's engines.
  const serviceType = `_mye2e${randomBytes(3).toString('hex')}._tcp`;
  const config = {
    discovery: { bonjourEnabled: true, bonjourServiceType: serviceType, interfaces: ['lo'] },
  };
  let alpha;
  let bravo;
  let browser;
  let page;
  let bravoPage;

  const text = (testid, p = page) => p.getByTestId(testid).first().innerText();

  /** The sync result is the engine's answer (it names the mode) and reports no failure. */
  async function syncSucceeded() {
    const mode = (await alpha.get('/api/v1/sync/status')).mode;
    const shown = await text('sync-result');
    assert.ok(shown.includes(`${mode} mode`) || /received/.test(shown), `engine answer shown: ${shown}`);
    assert.equal(await page.locator('[data-testid="sync-result"] .ok').count(), 1, `no failure: ${shown}`);
  }

  /** Screenshots of the current view in both colour schemes. */
  async function shots(name, p = page) {
    for (const scheme of ['light', 'dark']) {
      await p.emulateMedia({ colorScheme: scheme });
      // Let the chart re-create itself in the new colours.
      await p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      await screenshot(p, `${name}-${scheme}`);
    }
    await p.emulateMedia({ colorScheme: 'light' });
  }

  before(async () => {
    [alpha, bravo] = await Promise.all([Daemon.start('alpha', config), Daemon.start('bravo', config)]);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e));
    // Expected 4xx answers (the settings test) are logged by Chromium as resource errors.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(new Error(m.text()));
    });
    page.errors = errors;
    await page.goto(alpha.uiUrl());
  }, { timeout: 90_000 });

  after(async () => {
    await browser?.close().catch(() => {});
    await Promise.all([alpha?.stop(), bravo?.stop()]);
    alpha?.cleanup();
    bravo?.cleanup();
  });

  it('serves the page without a token, with a CSP, and keeps the token out of the address bar', STEP, async () => {
    const resp = await fetch(`http://${alpha.api}/`);
    assert.equal(resp.status, 200);
    assert.match(resp.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(resp.headers.get('content-type') ?? '', /text\/html/);
    await waitFor('the mode on the page', async () => (await text('mode')) !== '—');
    assert.equal(new URL(page.url()).hash, '', 'the token is removed from the URL');
    // A page opened without the token says how to get one.
    const bare = await browser.context.newPage();
    await bare.goto(`http://${alpha.api}/`);
    await bare.getByTestId('locked').waitFor();
    assert.match(await bare.getByTestId('locked').innerText(), /mayros ui/);
    await bare.close();
  });

  it('shows the engine mode, and metrics that change live after writes', STEP, async () => {
    const status = await alpha.get('/api/v1/sync/status');
    await waitFor('mode matches the engine', async () => (await text('mode')).toLowerCase() === status.mode);
    assert.equal(await text('mode-reason'), status.modeReason);
    assert.equal(await text('cortex-health'), status.cortex.healthy ? 'Healthy' : 'Unhealthy');
    await waitFor('the live link', async () => (await text('link')) === 'Live');
    await waitFor('a first chart point', async () => Number(await page.getByTestId('chart').getAttribute('data-points')) > 0);

    // Mark the document: a reload would lose the mark.
    await page.evaluate(() => (window.__noReload = true));
    const before = Number(await page.getByTestId('chart').getAttribute('data-points'));
    for (let i = 0; i < 5; i++) await alpha.putTriple(`mayros:e2e:alpha${i}`, 'mayros:e2e:n', i);
    const stats = await alpha.get('/api/v1/stats');
    const expected = stats.graph.triple_count;
    await waitFor(`triple count ${expected} on the page`, async () => (await text('triple-count')).replace(/,/g, '') === String(expected));
    await waitFor('more chart points', async () => Number(await page.getByTestId('chart').getAttribute('data-points')) > before + 1);
    assert.equal(await page.evaluate(() => window.__noReload), true, 'updated without a reload');
    // The chart's canvas is drawn.
    await page.locator('[data-testid="chart"] canvas').waitFor();
    assert.deepEqual(page.errors, []);
  });

  it('"Sync now" runs and shows the engine\'s answer', STEP, async () => {
    await page.getByTestId('sync-now').click();
    await waitFor('a sync result', async () => (await text('sync-result')).trim() !== '');
    await syncSucceeded();
    await waitFor('the button back', async () => (await page.getByTestId('sync-now').innerText()) === 'Sync now');
    await shots('overview');
  });

  it('pairs a nearby device through the UI, accepted on the other side with the CLI', STEP, async () => {
    // Bravo's own window shows the incoming request.
    bravoPage = await browser.context.newPage();
    await bravoPage.goto(bravo.uiUrl());
    await bravoPage.getByTestId('tab-devices').click();

    await page.getByTestId('tab-devices').click();
    const row = page.locator(`[data-testid="nearby-device"][data-node-id="${bravo.nodeId}"]`);
    await row.waitFor({ timeout: DEADLINE_MS });
    assert.match(await row.innerText(), /bravo/);
    await row.getByTestId('pair').click();

    const codeEl = page.getByTestId('pair-code');
    await codeEl.waitFor({ timeout: DEADLINE_MS });
    const code = (await codeEl.innerText()).trim();
    assert.match(code, /^\d{3} \d{3}$/, code);
    assert.match(await text('pair-state'), /Waiting for bravo/);

    // The prompt on bravo, with the same code.
    const prompt = bravoPage.locator(`[data-testid="pair-request"][data-node-id="${alpha.nodeId}"]`);
    await prompt.waitFor({ timeout: DEADLINE_MS });
    assert.equal((await prompt.getByTestId('request-code').innerText()).trim(), code);
    await shots('pairing-request', bravoPage);
    await shots('pairing-code');

    // Accept on bravo with the CLI: its first line is the same code.
    const accept = bravo.cli(['sync', 'pair', '--accept', alpha.nodeId]);
    const first = await accept.line(0);
    assert.equal(first, `code ${code}`);
    const exit = await accept.waitExit(60_000);
    assert.equal(exit.code, 0, `accept exits 0; stderr:\n${accept.stderr}`);

    await waitFor('"Paired with bravo" on the page', async () => /Paired with bravo/.test(await text('pair-state')));
    const peer = page.locator(`[data-testid="peer"][data-node-id="${bravo.nodeId}"]`);
    await peer.waitFor({ timeout: DEADLINE_MS });
    await row.getByTestId('nearby-paired').waitFor({ timeout: DEADLINE_MS });
    const peers = await alpha.get('/api/v1/sync/peers');
    assert.ok(peers.some((p) => p.nodeId === bravo.nodeId), 'the engine lists bravo as a peer');
    // Bravo's prompt is gone once paired.
    await prompt.waitFor({ state: 'detached', timeout: DEADLINE_MS });
  });

  it('syncs with the paired device: writes on bravo reach alpha\'s page live', STEP, async () => {
    for (let i = 0; i < 3; i++) await bravo.putTriple(`mayros:e2e:bravo${i}`, 'mayros:e2e:n', i);
    await page.getByTestId('tab-overview').click();
    await page.getByTestId('sync-now').click();
    await waitFor('a sync result', async () => (await text('sync-result')).trim() !== '');
    await syncSucceeded();
    // Both stores converge; alpha's page shows the merged count without a reload.
    await waitFor('alpha has bravo\'s triples', async () => {
      const [a, b] = await Promise.all([alpha.get('/api/v1/stats'), bravo.get('/api/v1/stats')]);
      return a.graph.triple_count === b.graph.triple_count && a.graph.triple_count >= 8 ? a.graph.triple_count : 0;
    }, 60_000);
    const stats = await alpha.get('/api/v1/stats');
    await waitFor('the merged count on the page', async () => (await text('triple-count')).replace(/,/g, '') === String(stats.graph.triple_count));
    assert.equal(await page.evaluate(() => window.__noReload), true);
    const status = await alpha.get('/api/v1/sync/status');
    if (status.gossip) {
      // Native mode: gossip rounds ran with bravo, and their figures reach the page.
      await waitFor('gossip rounds on the page', async () => Number((await text('gossip-round')).replace(/,/g, '')) > 0);
    }
    await shots('overview-paired');
    await page.getByTestId('tab-devices').click();
    await shots('devices');
    await shots('devices-bravo', bravoPage);
  });

  it('lists a conflict live and restores the value that lost', STEP, async () => {
    for (const p of [page, bravoPage]) {
      await p.getByTestId('tab-conflicts').click();
      await p.getByTestId('conflicts-empty').waitFor();
    }
    // Both devices change the same fact while neither syncs, then sync.
    for (const d of [alpha, bravo]) assert.equal((await d.request('POST', '/api/v1/sync/pause', {})).status, 200);
    await alpha.putTriple('mayros:e2e:door', 'mayros:e2e:colour', 'red');
    await bravo.putTriple('mayros:e2e:door', 'mayros:e2e:colour', 'blue');
    for (const d of [alpha, bravo]) assert.equal((await d.request('POST', '/api/v1/sync/resume')).status, 200);
    // Whichever device applies the other's change first resolves (and logs) the conflict.
    const [where, logged] = await waitFor('a conflict logged on either device', async () => {
      for (const [d, p] of [[alpha, page], [bravo, bravoPage]]) {
        const list = await d.get('/api/v1/sync/conflicts');
        if (list.length > 0) return [[d, p], list];
      }
      return null;
    }, 60_000);
    const [daemon, p] = where;
    // Its page lists it without a reload.
    const row = p.getByTestId('conflict').first();
    await row.waitFor({ timeout: DEADLINE_MS });
    assert.match(await row.innerText(), /mayros:e2e:door mayros:e2e:colour/);
    await shots(daemon === alpha ? 'conflicts' : 'conflicts-bravo', p);
    const unrestored = logged.find((c) => !c.restoredAt && c.losers.length > 0);
    assert.ok(unrestored, `a conflict with a loser: ${JSON.stringify(logged)}`);
    await row.getByRole('button', { name: 'Restore' }).click();
    await waitFor('the restore result', async () => /Restored \d+ triple/.test(await text('sync-result', p)));
    await waitFor('the conflict marked restored', async () => /Restored/.test(await row.innerText()));
    const after = await daemon.get('/api/v1/sync/conflicts');
    assert.ok(after.some((c) => c.id === unrestored.id && c.restoredAt), 'the engine recorded the restore');
    assert.equal(await page.evaluate(() => window.__noReload), true);
  });

  it('shows the engine\'s validation errors inline in the settings', STEP, async () => {
    await page.getByTestId('tab-settings').click();
    const interval = page.locator('[data-key="sync.intervalSeconds"]');
    await interval.waitFor();
    const before = await alpha.get('/api/v1/sync/config');

    // The engine's own message for a wrong type, next to the field.
    const engine = await alpha.request('PUT', '/api/v1/sync/config', { ...before.config, sync: { ...before.config.sync, intervalSeconds: 'abc' } });
    assert.equal(engine.status, 400);
    assert.equal(engine.json.code, 'INVALID_CONFIG');
    await interval.fill('abc');
    await page.getByTestId('save-settings').click();
    const fieldError = page.locator('[data-error-for="sync.intervalSeconds"]');
    await fieldError.waitFor({ timeout: DEADLINE_MS });
    assert.equal(await fieldError.innerText(), engine.json.error);
    assert.equal(await interval.getAttribute('aria-invalid'), 'true');
    assert.equal(await interval.inputValue(), 'abc', 'what was typed is kept');
    await shots('settings-error');

    // An unknown key (only reachable through the JSON editor) is shown for the whole form.
    await page.locator('details.advanced > summary').click();
    const doc = { ...before.config, sync: { ...before.config.sync, bogusKey: 1 } };
    await page.getByTestId('config-json').fill(JSON.stringify(doc, null, 2));
    await page.getByTestId('save-json').click();
    await waitFor('the unknown-key error', async () => /config key `sync\.bogusKey`: unknown key/.test(await text('form-error')));

    // Nothing was written.
    assert.deepEqual((await alpha.get('/api/v1/sync/config')).config, before.config);

    // An out-of-range value is clamped with a warning next to the field.
    await page.getByRole('button', { name: 'Revert' }).click();
    await interval.waitFor();
    await waitFor('the form reverted', async () => (await interval.inputValue()) === String(before.config.sync.intervalSeconds));
    await interval.fill('1');
    await page.getByTestId('save-settings').click();
    const warning = page.locator('[data-warning-for="sync.intervalSeconds"]');
    await warning.waitFor({ timeout: DEADLINE_MS });
    assert.match(await warning.innerText(), /out of range/);
    assert.equal((await alpha.get('/api/v1/sync/config')).config.sync.intervalSeconds, 10);

    // And a valid value saves cleanly.
    await page.locator('[data-key="sync.intervalSeconds"]').fill('120');
    await page.getByTestId('save-settings').click();
    await page.getByTestId('form-notice').waitFor({ timeout: DEADLINE_MS });
    assert.equal((await alpha.get('/api/v1/sync/config')).config.sync.intervalSeconds, 120);
    assert.equal(await text('autostart-unavailable'), 'Start at login is only available in the desktop app.');
    await shots('settings');
  });

  it('pauses and resumes from the header', STEP, async () => {
    await page.getByTestId('tab-overview').click();
    await page.locator('[data-testid="pause-menu"] > summary').click();
    await page.getByRole('button', { name: 'Pause until resumed' }).click();
    await waitFor('Paused', async () => (await text('state')) === 'Paused');
    assert.equal((await alpha.get('/api/v1/sync/status')).paused, true);
    await page.getByTestId('resume').click();
    await waitFor('not paused', async () => (await text('state')) !== 'Paused');
    assert.equal((await alpha.get('/api/v1/sync/status')).paused, false);
    assert.deepEqual(page.errors, []);
  });

  it('unpairs a device from the devices view', STEP, async () => {
    await page.getByTestId('tab-devices').click();
    const peer = page.locator(`[data-testid="peer"][data-node-id="${bravo.nodeId}"]`);
    await peer.getByTestId('unpair').click();
    await peer.getByTestId('confirm-unpair').click();
    const result = await waitFor('the unpair result', async () => {
      const t = await text('sync-result');
      return /Unpaired|Cannot unpair/.test(t) ? t : null;
    });
    assert.equal(result, 'Unpaired bravo.');
    await peer.waitFor({ state: 'detached', timeout: DEADLINE_MS });
    const peers = await alpha.get('/api/v1/sync/peers');
    assert.ok(!peers.some((p) => p.nodeId === bravo.nodeId && p.status !== 'removed'), 'the engine no longer lists bravo');
    await page.getByTestId('peers-empty').waitFor();
    assert.deepEqual(page.errors, []);
  });
});
