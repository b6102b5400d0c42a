// Hostile web pages against the local API in real Chromium (issue 16): a page served from another
// loopback port tries no-cors fetch writes, form posts and <img> GETs against every route of a
// real engine, and the engine's store and config are unchanged afterwards.
//
//   npm run e2e            (after `npm ci` and `cargo build -p mayros-cli`; MAYROS_BIN overrides the binary)

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';

import { Daemon, launchBrowser, waitFor } from './lib.mjs';

const STEP = { timeout: 120_000 };
const ZERO = '0'.repeat(64);
const TRIPLE = { subject: 'ex:evil', predicate: 'ex:says', object: 'poison' };

/** Every route of the local API (DESIGN §6), with a body a page would send to the writing ones. */
const ROUTES = [
  ['GET', '/'],
  ['GET', '/api/v1/health'],
  ['GET', '/api/v1/stats'],
  ['GET', '/api/v1/triples'],
  ['POST', '/api/v1/triples', TRIPLE],
  ['POST', '/api/v1/triples/batch', { triples: [TRIPLE] }],
  ['GET', `/api/v1/triples/${ZERO}`],
  ['DELETE', `/api/v1/triples/${ZERO}`],
  ['POST', '/api/v1/query', { subject: 'ex:evil' }],
  ['GET', '/api/v1/p2p/status'],
  ['GET', '/api/v1/p2p/peers'],
  ['POST', '/api/v1/p2p/peers', { addr: '127.0.0.1:9' }],
  ['DELETE', `/api/v1/p2p/peers/${ZERO}`],
  ['GET', '/api/v1/sync/status'],
  ['GET', '/api/v1/sync/config'],
  ['PUT', '/api/v1/sync/config', { sync: { intervalSeconds: 77 } }],
  ['POST', '/api/v1/sync/invite'],
  ['POST', '/api/v1/sync/pair', { target: '127.0.0.1:9' }],
  ['POST', '/api/v1/sync/pair/code', { code: 'mayros1-x' }],
  ['GET', '/api/v1/sync/pair/requests'],
  ['GET', '/api/v1/sync/peers'],
  ['POST', '/api/v1/sync/now', {}],
  ['POST', '/api/v1/sync/hooks/agent-end'],
  ['GET', '/api/v1/sync/conflicts'],
  ['POST', '/api/v1/sync/conflicts/seen'],
  ['GET', '/api/v1/sync/review'],
  ['POST', '/api/v1/sync/maintenance/collect'],
  ['GET', '/api/v1/sync/nearby'],
  ['GET', '/api/v1/sync/events'],
  ['POST', '/api/v1/sync/pause', { minutes: 60 }],
  ['POST', '/api/v1/sync/resume'],
];

/** The hostile page: every attack a page can make without the user's help, then `window.__done`. */
function hostilePage(engine, token) {
  return `<!doctype html><meta charset="utf-8"><title>not evil</title><body><script>
const ENGINE = ${JSON.stringify(engine)};
const TOKEN = ${JSON.stringify(token)};
const ROUTES = ${JSON.stringify(ROUTES)};
window.__issued = 0;
const attacks = [];
for (const [method, path, body] of ROUTES) {
  const url = ENGINE + path;
  // A "simple" request: no preflight, the answer is opaque, but the request is sent.
  if (method === 'GET' || method === 'POST') {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      window.__issued++;
      attacks.push(fetch(url, { method, mode: 'no-cors', headers: { 'Content-Type': type },
        body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined }).catch(() => {}));
    }
    // The EventSource-style token in the URL does not help a foreign page either.
    window.__issued++;
    attacks.push(fetch(url + '?token=' + TOKEN, { method, mode: 'no-cors',
      body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined }).catch(() => {}));
  }
  // A CORS request with JSON and the token: the browser must preflight it, and the preflight
  // gets no permission.
  window.__issued++;
  attacks.push(fetch(url, { method, headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + TOKEN },
    body: body === undefined ? undefined : JSON.stringify(body) }).catch(() => {}));
  // A form post into a hidden frame; text/plain forms can carry a JSON-looking body.
  if (method === 'POST') {
    for (const enctype of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
      const frame = document.createElement('iframe');
      frame.name = 'f' + window.__issued;
      document.body.appendChild(frame);
      const form = document.createElement('form');
      form.method = 'POST';
      form.action = url;
      form.enctype = enctype;
      form.target = frame.name;
      const input = document.createElement('input');
      const json = JSON.stringify(body ?? {});
      input.name = json.slice(0, -1) + ',"pad":"';
      input.value = '"}';
      form.appendChild(input);
      document.body.appendChild(form);
      window.__issued++;
      form.submit();
    }
  }
  // An image, the oldest cross-site GET.
  window.__issued++;
  attacks.push(new Promise((r) => { const img = new Image(); img.onload = img.onerror = r; img.src = url; }));
}
Promise.all(attacks).then(() => { window.__done = true; });
</script>`;
}

describe('hostile web pages against a real engine', () => {
  let engine;
  let browser;
  let server;
  let pagePort;

  before(async () => {
    engine = await Daemon.start('target');
    await engine.putTriple('ex:mine', 'ex:p', 'kept');
    server = createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(hostilePage(`http://${engine.api}`, engine.token));
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    pagePort = server.address().port;
    browser = await launchBrowser();
  }, { timeout: 90_000 });

  after(async () => {
    await browser?.close().catch(() => {});
    await new Promise((r) => (server ? server.close(r) : r()));
    await engine?.stop();
    engine?.cleanup();
  });

  /** What the engine holds that a page could change. */
  async function snapshot() {
    const triples = await engine.request('GET', '/api/v1/triples?limit=1000', undefined, { token: false });
    const config = await engine.get('/api/v1/sync/config');
    const status = await engine.get('/api/v1/sync/status');
    const requests = await engine.get('/api/v1/sync/pair/requests');
    return {
      triples: triples.json.triples.map((t) => t.id).sort(),
      config,
      paused: status.paused,
      peers: status.peers.length,
      syncs: status.sync.totalSuccessfulSyncs + status.sync.totalFailedSyncs,
      requests,
    };
  }

  for (const host of ['127.0.0.1', 'localhost']) {
    it(`a page at http://${host}:<other port> reads and writes nothing`, STEP, async () => {
      const before = await snapshot();
      assert.equal(before.triples.length, 1);
      const refusals = () => (engine.proc.stderr.match(/local API request refused/g) ?? []).length;
      const refusedBefore = refusals();
      const page = await browser.context.newPage();
      const answered = [];
      const pending = new Set();
      const engineUrl = (u) => u.startsWith(`http://${engine.api}/`);
      page.on('request', (r) => engineUrl(r.url()) && pending.add(r));
      // Opaque answers are often reported as failed (ORB, aborted frames) though the engine answered.
      page.on('requestfailed', (r) => pending.delete(r));
      page.on('requestfinished', async (r) => {
        if (!engineUrl(r.url())) return;
        const resp = await r.response();
        answered.push({ method: r.method(), url: r.url(), status: resp?.status() });
        pending.delete(r);
      });
      await page.goto(`http://${host}:${pagePort}/`);
      await waitFor('every attack to settle', async () => (await page.evaluate(() => window.__done)) === true);
      const issued = await page.evaluate(() => window.__issued);
      await waitFor('the browser to finish every request to the engine', () => pending.size === 0);
      // The engine logs each refusal; nearly every attempt reached it (the browser drops a few
      // duplicates), and whatever the browser saw answered was a 403.
      await waitFor('the engine to refuse the attacks', () => refusals() - refusedBefore >= Math.floor(issued * 0.9));
      const refused = refusals() - refusedBefore;
      console.log(`${host}: ${issued} attempts, ${refused} refused by the engine, ${answered.length} answers seen by the browser`);
      assert.deepEqual(answered.filter((a) => a.status !== 403), [], 'every answer the browser saw is 403');
      const after = await snapshot();
      assert.deepEqual(after, before, 'the store, the config, the pause state and pairing are unchanged');
      await page.close();
    });
  }

  it("the engine's own page still writes with JSON (the check is not a blanket refusal)", STEP, async () => {
    const page = await browser.context.newPage();
    await page.goto(engine.uiUrl());
    const status = await page.evaluate(async (t) => {
      const r = await fetch('/api/v1/triples', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(t) });
      return r.status;
    }, { subject: 'ex:own', predicate: 'ex:p', object: 'ok' });
    assert.equal(status, 201);
    const text = await page.evaluate(async () => {
      const r = await fetch('/api/v1/triples', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{"subject":"ex:t","predicate":"ex:p","object":1}' });
      return [r.status, (await r.json()).code];
    });
    assert.deepEqual(text, [415, 'UNSUPPORTED_MEDIA_TYPE']);
    await page.close();
    const list = await engine.request('GET', '/api/v1/triples?limit=1000', undefined, { token: false });
    assert.equal(list.json.total, 2);
  });
});
