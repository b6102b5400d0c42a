// The whole window: builds every view into the page, wires them to the state, the API and the
// live events, and draws them all from the state.

import { createActions, type Actions } from './actions';
import type { Api } from './api';
import { h } from './dom';
import { createLive, type Live } from './live';
import { createLoaders, createRefresh, type Loaders } from './loading';
import type { AppState, View } from './state';
import { createBannersView } from './views/banners';
import { createConflictsView } from './views/conflicts';
import type { ViewContext } from './views/context';
import { createDevicesView } from './views/devices';
import { createHeaderView } from './views/header';
import { createOverviewView, type ChartSink } from './views/overview';
import { createSettingsView } from './views/settings';
import { createTabsView } from './views/tabs';

/** The mounted window. */
export interface App {
  actions: Actions;
  live: Live;
  load: Loaders;
  /** Redraws every view from the state. */
  render(): void;
  /** Reads everything the views show from the engine (status, devices, requests, conflicts,
   *  config); a window that opens on the Conflicts view marks them seen, as opening it does. */
  loadAll(): Promise<void>;
}

/** What the window is built from. */
export interface AppDeps {
  state: AppState;
  api: Api;
  /** Draws the live chart into the element it is given. */
  makeChart: (el: HTMLElement) => ChartSink;
}

/** Builds the window into `root` (replacing its content) and returns its handles. */
export function mountApp(root: HTMLElement, { state, api, makeChart }: AppDeps): App {
  const load = createLoaders(state, api);
  const refresh = createRefresh(load, render);
  const actions = createActions({ state, api, load, render });
  const ctx: ViewContext = { state, api, actions, render, refresh };

  const header = createHeaderView(ctx);
  const banners = createBannersView(ctx);
  const tabs = createTabsView(ctx);
  const overview = createOverviewView(ctx, makeChart);
  const devices = createDevicesView(ctx);
  const conflicts = createConflictsView(ctx);
  const settings = createSettingsView(ctx);
  const views: Record<View, HTMLElement> = {
    overview: overview.root,
    devices: devices.root,
    conflicts: conflicts.root,
    settings: settings.root,
  };

  root.replaceChildren(header.top, header.syncResult, banners.root, tabs.root, h('main', null, ...Object.values(views)));

  const live = createLive({ state, api, actions, chart: overview.chart, refresh, render });

  function render(): void {
    header.render();
    banners.render();
    tabs.render();
    for (const [v, node] of Object.entries(views)) node.hidden = v !== state.view;
    overview.render();
    devices.render();
    conflicts.render();
    settings.render();
  }

  async function loadAll(): Promise<void> {
    await Promise.all([load.status(), load.nearby(), load.requests(), load.conflicts(), settings.reload()]);
    if (state.view === 'conflicts') await actions.markConflictsSeen();
  }

  return { actions, live, load, render, loadAll };
}
