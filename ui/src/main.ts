// The Mayros Sync window (DESIGN §10): status at a glance, live metrics, devices and pairing,
// conflicts and settings. Values come from the engine only; pushed events drive updates.
// This module only starts it: the views are in views/, the window's wiring in app.ts.

// First: later modules (uPlot) use navigator.language when they load.
import './locale_guard';
import './style.css';

import { createApi, type Api } from './api';
import { mountApp } from './app';
import { LiveChart } from './chart';
import { createState } from './state';
import { renderLocked } from './views/locked';

const state = createState();
const api: Api = createApi();
const root = document.getElementById('app') as HTMLElement;

/** Opens the window, or the locked page when there is no control token. */
async function start(): Promise<void> {
  if (!api.authorized) return renderLocked(root);
  const app = mountApp(root, { state, api, makeChart: (el) => new LiveChart(el) });
  app.render();
  app.live.subscribe();
  await app.loadAll();
  state.autostart = await api.getAutostart().catch(() => null);
  app.render();
  // Relative times ("5 s ago") age without an event; this touches no engine.
  setInterval(app.render, 5000);
}

void start();
