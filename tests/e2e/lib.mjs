// Helpers of the browser end-to-end tests: real `mayros` daemons on 127.0.0.1 with temporary
// data dirs, the CLI, Debian's chromium through playwright-core, and deadline-bounded waits.
//
// The binary: $MAYROS_BIN, else $CARGO_TARGET_DIR/debug/mayros, else <repo>/target/debug/mayros
// (build it first: `cargo build -p mayros-cli`). The browser: $CHROMIUM_BIN, else /usr/bin/chromium.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = join(REPO, 'tests/e2e/artifacts');

/** How long a daemon may take to print its ready line, a CLI command to finish, a condition to hold. */
export const DEADLINE_MS = 30_000;

/** The `mayros` binary under test. */
export function mayrosBin() {
  const candidates = [
    process.env.MAYROS_BIN,
    process.env.CARGO_TARGET_DIR && join(process.env.CARGO_TARGET_DIR, 'debug/mayros'),
    join(REPO, 'target/debug/mayros'),
  ].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `no mayros binary found (tried ${candidates.join(', ')}); run \`cargo build -p mayros-cli\` or set MAYROS_BIN`,
    );
  }
  return found;
}

/** Polls `cond` (sync or async) until it returns a truthy value or `ms` pass; throws naming `what`. */
export async function waitFor(what, cond, ms = DEADLINE_MS) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const running = new Set();
process.on('exit', () => {
  for (const p of running) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

/** A child process with its stdout lines and stderr collected. */
class Proc {
  constructor(cmd, args, env) {
    this.child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(this.child);
    this.lines = [];
    this.waiters = [];
    this.stderr = '';
    this.exit = new Promise((res) => {
      this.child.on('exit', (code, signal) => {
        running.delete(this.child);
        res({ code, signal });
      });
    });
    createInterface({ input: this.child.stdout }).on('line', (l) => {
      this.lines.push(l);
      this.waiters.splice(0).forEach((w) => w());
    });
    this.child.stderr.on('data', (d) => {
      this.stderr += d.toString();
      if (this.stderr.length > 200_000) this.stderr = this.stderr.slice(-100_000);
    });
  }

  /** The `n`th stdout line (0-based), waiting up to `ms`. */
  async line(n, ms = DEADLINE_MS) {
    const deadline = Date.now() + ms;
    while (this.lines.length <= n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no stdout line ${n} within ${ms} ms; stderr:\n${this.stderr.slice(-4000)}`);
      const exited = await Promise.race([
        new Promise((r) => {
          this.waiters.push(() => r(false));
          setTimeout(() => r(false), Math.min(left, 250));
        }),
        this.exit.then(() => true),
      ]);
      if (exited && this.lines.length <= n) {
        throw new Error(`process exited before stdout line ${n}; stderr:\n${this.stderr.slice(-4000)}`);
      }
    }
    return this.lines[n];
  }

  /** Waits for the exit, up to `ms`. */
  async waitExit(ms = DEADLINE_MS) {
    const timeout = new Promise((_, rej) =>
      setTimeout(() => rej(new Error(`process did not exit within ${ms} ms; stderr:\n${this.stderr.slice(-4000)}`)), ms).unref(),
    );
    return Promise.race([this.exit, timeout]);
  }

  /** SIGTERM, then SIGKILL if it does not stop within 10 s. */
  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    try {
      await this.waitExit(10_000);
    } catch {
      this.child.kill('SIGKILL');
      await this.exit;
    }
  }
}

/** A running engine: `mayros daemon` with every listener on 127.0.0.1 and a free port. */
export class Daemon {
  static async start(name, config) {
    const root = mkdtempSync(join(tmpdir(), `mayros-e2e-${name}-`));
    const data = join(root, 'data');
    mkdirSync(data, { recursive: true, mode: 0o700 });
    if (config) writeFileSync(join(data, 'config.json'), JSON.stringify(config, null, 2));
    const d = new Daemon(name, root, data);
    d.proc = new Proc(
      mayrosBin(),
      ['daemon', '--data-dir', data, '--api', '127.0.0.1:0', '--peer-api', '127.0.0.1:0', '--quic', '127.0.0.1:0', '--name', name],
      d.env(),
    );
    const line = await d.proc.line(0);
    const m = /^ready api=(127\.0\.0\.1:(\d+)) peer_api=(\S+) quic=(\S+) node_id=([0-9a-f]{64})$/.exec(line);
    if (!m) throw new Error(`bad ready line from ${name}: ${JSON.stringify(line)}`);
    d.api = m[1];
    d.port = Number(m[2]);
    d.quic = m[4];
    d.nodeId = m[5];
    d.token = readFileSync(join(data, 'control.token'), 'utf8').trim();
    return d;
  }

  constructor(name, root, data) {
    this.name = name;
    this.root = root;
    this.dataDir = data;
  }

  /** A clean environment rooted in the temp dir (never the user's files or keyring). */
  env() {
    const env = { ...process.env };
    delete env.MAYROS_DATA_DIR;
    delete env.DISPLAY;
    delete env.WAYLAND_DISPLAY;
    return {
      ...env,
      HOME: this.root,
      XDG_DATA_HOME: join(this.root, 'xdg-data'),
      XDG_CONFIG_HOME: join(this.root, 'xdg-config'),
      MAYROS_SECRET_STORE: 'file',
      RUST_LOG: env.RUST_LOG ?? 'info',
      NO_PROXY: '*',
    };
  }

  /** The UI address `mayros ui` prints. */
  uiUrl() {
    return `http://${this.api}/#token=${this.token}`;
  }

  /** A request to the local API; returns {status, json}. */
  async request(method, path, body, { token = true } = {}) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const resp = await fetch(`http://${this.api}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await resp.text();
    return { status: resp.status, json: text ? JSON.parse(text) : null };
  }

  async get(path) {
    const r = await this.request('GET', path);
    if (r.status !== 200) throw new Error(`GET ${path} on ${this.name}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  }

  /** Writes a triple through the Cortex REST (DESIGN §6.1). */
  async putTriple(subject, predicate, object) {
    const r = await this.request('POST', '/api/v1/triples', { subject, predicate, object }, { token: false });
    if (r.status !== 201 && r.status !== 200) throw new Error(`POST triple on ${this.name}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  }

  /** Starts `mayros --data-dir <data> <args…>`. */
  cli(args) {
    return new Proc(mayrosBin(), ['--data-dir', this.dataDir, ...args], this.env());
  }

  async stop() {
    await this.proc?.stop();
  }

  cleanup() {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Debian's chromium, headless, with a fresh profile; loopback only. */
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'mayros-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1180, height: 860 },
    deviceScaleFactor: 1,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot under tests/e2e/artifacts/. */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
