// Reading the engine's state into the app state, and refreshing parts of it after pushed events.

import { ApiError, type Api } from './api';
import { errorText } from './errors';
import type { AppState } from './state';
import type { Conflict, NearbyDevice, PairRequest, Status } from './types';

/** The parts of the state that events refresh. */
export type Part = 'status' | 'nearby' | 'requests' | 'conflicts';

/** One loader per part: each reads it from the engine into the state and never throws. */
export type Loaders = Record<Part, () => Promise<void>>;

/** Builds the loaders that fill `state` from `api`. */
export function createLoaders(state: AppState, api: Api): Loaders {
  return {
    async status() {
      try {
        state.status = await api.call<Status>('status');
        state.statusAt = Date.now();
        state.statusError = null;
      } catch (e) {
        state.statusError = errorText(e);
        if (e instanceof ApiError && (e.kind === 'ENGINE_DOWN' || e.kind === 'UNAUTHORIZED')) state.status = null;
      }
    },
    async nearby() {
      try {
        state.nearby = await api.call<NearbyDevice[]>('nearby');
      } catch {
        /* keeps the last list; the status banner says why the engine is unreachable */
      }
    },
    async requests() {
      try {
        state.requests = await api.call<PairRequest[]>('pairRequests');
        const live = new Set(state.requests.map((r) => r.nodeId));
        for (const id of [...state.requestNotes.keys()]) if (!live.has(id)) state.requestNotes.delete(id);
      } catch {
        /* as above */
      }
    },
    async conflicts() {
      try {
        state.conflicts = await api.call<Conflict[]>('conflicts');
      } catch {
        /* as above */
      }
    },
  };
}

/** Schedules a refresh of some parts, then a render. */
export type Refresh = (...parts: Part[]) => void;

/** Refreshes parts after events, coalesced, at most once a second. */
export function createRefresh(load: Loaders, render: () => void): Refresh {
  const pending = new Set<Part>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let last = 0;
  return (...parts) => {
    parts.forEach((p) => pending.add(p));
    if (timer) return;
    const wait = Math.max(200, 1000 - (Date.now() - last));
    timer = setTimeout(async () => {
      timer = null;
      last = Date.now();
      const todo = [...pending];
      pending.clear();
      await Promise.all(todo.map((p) => load[p]()));
      render();
    }, wait);
  };
}
