// Pushed events (SSE in a browser, Tauri events in the app): metrics feed the chart, the rest
// schedule refreshes; the link state is shown in the header. Payloads are typed by kind
// (api.ts `EventPayloads`: the engine's generated event types, the shell's own for `app:*`).

import type { Actions } from './actions';
import type { Api } from './api';
import { roundLatencyMs } from './format';
import type { Refresh } from './loading';
import type { AppState } from './state';
import type { Metrics } from './types';
import type { ChartSink } from './views/overview';

/** What live updates work on. */
export interface LiveDeps {
  state: AppState;
  api: Api;
  actions: Pick<Actions, 'go' | 'markConflictsSeen'>;
  chart: ChartSink;
  refresh: Refresh;
  render: () => void;
  /** The page, for its visibility (the window hidden in the tray draws nothing). */
  doc?: Pick<Document, 'hidden' | 'addEventListener'>;
}

/** The live-update handlers. */
export interface Live {
  /** Takes a `metrics` event (`null`: it carried nothing usable). */
  onMetrics(data: Metrics | null): void;
  /** Subscribes to the engine's events and to the page's visibility; returns the stop function. */
  subscribe(): () => void;
}

/** Builds the live-update handlers. */
export function createLive({ state, api, actions, chart, refresh, render, doc = document }: LiveDeps): Live {
  /** The figures of the last metrics event, to notice when they move. */
  let lastFigures: string | null = null;

  function onMetrics(m: Metrics | null): void {
    if (!m || typeof m !== 'object') return;
    // When the figures moved, the status behind the other cards (peers' last sync, the Cortex's
    // detail line) moved too: refresh it, at most once per metrics event (every 2 s).
    const figures = JSON.stringify([m.tripleCount, m.sync]);
    if (lastFigures !== null && figures !== lastFigures) refresh('status');
    lastFigures = figures;
    state.metrics = m;
    chart.push({
      t: Date.now() / 1000,
      triples: m.tripleCount ?? null,
      synced: m.gossip?.changesReceived ?? null,
      latencyMs: roundLatencyMs(m.gossip),
    });
    // Nothing to draw while the window is hidden in the tray; drawn again once shown.
    if (!doc.hidden) render();
  }

  function subscribe(): () => void {
    doc.addEventListener('visibilitychange', () => {
      if (!doc.hidden) render();
    });
    return api.subscribe(
      (kind, data) => {
        switch (kind) {
          case 'metrics':
            return onMetrics(data);
          case 'status':
            return refresh('status');
          case 'peer':
            return refresh('status');
          case 'nearby':
            return refresh('nearby');
          case 'pairing':
            return refresh('requests', 'status', 'nearby');
          case 'conflict':
            // Shown as it arrives when the user is looking at the conflicts: not news then.
            if (state.view === 'conflicts' && !doc.hidden) return void actions.markConflictsSeen().then(() => refresh('conflicts'));
            return refresh('conflicts', 'status');
          case 'failure':
            return refresh('status');
          case 'app:autostart':
            state.autostart = data?.enabled === true;
            return render();
          case 'app:navigate':
            return actions.go(data?.view === 'settings' ? 'settings' : 'devices');
        }
      },
      (link) => {
        const was = state.link;
        state.link = link;
        // After a reconnect, catch up on everything missed.
        if (link === 'live' && was === 'reconnecting') refresh('status', 'nearby', 'requests', 'conflicts');
        render();
      },
    );
  }

  return { onMetrics, subscribe };
}
