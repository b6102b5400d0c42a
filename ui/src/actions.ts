// What the user can ask of the engine: each action updates the state, calls the API and redraws.

import { ApiError, type Api } from './api';
import { errorText } from './errors';
import { formatCount, formatMs } from './format';
import type { Loaders } from './loading';
import type { AppState, View } from './state';
import type { Conflict, PairRequest, PairSession, PeerView, SyncNowOutcome } from './types';

/** The user's actions, as the views call them. */
export interface Actions {
  go(view: View): void;
  /** The user looks at the conflicts: the engine stops counting them as new; status is read again. */
  markConflictsSeen(): Promise<void>;
  syncNow(peer?: string): Promise<void>;
  pause(minutes?: number): Promise<void>;
  resume(): Promise<void>;
  unpair(peer: PeerView): Promise<void>;
  startPairing(target: string, name: string): Promise<void>;
  decide(r: PairRequest, accept: boolean, group?: 'mine' | 'theirs'): Promise<void>;
  restore(c: Conflict): Promise<void>;
  toggleAutostart(enabled: boolean): Promise<void>;
}

/** What the actions work on. */
export interface ActionDeps {
  state: AppState;
  api: Api;
  load: Loaders;
  render: () => void;
}

/** Builds the actions over a state, an API, the loaders and the window's render. */
export function createActions({ state, api, load, render }: ActionDeps): Actions {
  async function markConflictsSeen(): Promise<void> {
    try {
      await api.markConflictsSeen();
    } catch {
      /* not worth a message: the header keeps saying "new conflicts" until the next look */
    }
    await load.status();
    render();
  }

  return {
    go(view) {
      const opened = view === 'conflicts' && state.view !== 'conflicts';
      state.view = view;
      render();
      if (opened) void markConflictsSeen();
    },

    markConflictsSeen,

    async syncNow(peer) {
      if (peer) state.peerBusy.add(peer);
      else state.syncing = true;
      state.syncResult = null;
      render();
      try {
        // While it runs, the engine's `status` event (syncing: true) makes the window re-read
        // the status, which then says "Syncing": no timed guess here.
        const out = await api.call<SyncNowOutcome>('syncNow', peer ? { peer } : {});
        const failed = out.results.filter((r) => !r.ok);
        const parts = out.results.map((r) =>
          r.ok
            ? `${r.name}: ${formatCount(r.received)} received, ${formatCount(r.sent)} sent, ${formatMs(r.durationMs)}`
            : `${r.name}: failed — ${r.error ?? 'unknown error'}`,
        );
        state.syncResult = {
          ok: failed.length === 0,
          text: [out.message, ...parts].filter((s) => s).join(' · ') || 'Done.',
        };
      } catch (e) {
        state.syncResult = { ok: false, text: `Sync failed: ${errorText(e)}` };
      } finally {
        if (peer) state.peerBusy.delete(peer);
        else state.syncing = false;
        await load.status();
        render();
      }
    },

    async pause(minutes) {
      try {
        await api.call('pause', minutes ? { minutes } : {});
      } catch (e) {
        state.syncResult = { ok: false, text: `Cannot pause: ${errorText(e)}` };
      }
      await load.status();
      render();
    },

    async resume() {
      try {
        await api.call('resume');
      } catch (e) {
        state.syncResult = { ok: false, text: `Cannot resume: ${errorText(e)}` };
      }
      await load.status();
      render();
    },

    async unpair(peer) {
      state.confirmUnpair = null;
      state.peerBusy.add(peer.nodeId);
      render();
      try {
        await api.call('unpair', { peer: peer.nodeId });
        state.syncResult = { ok: true, text: `Unpaired ${peer.name}.` };
      } catch (e) {
        state.syncResult = { ok: false, text: `Cannot unpair ${peer.name}: ${errorText(e)}` };
      } finally {
        state.peerBusy.delete(peer.nodeId);
        await Promise.all([load.status(), load.nearby()]);
        render();
      }
    },

    async startPairing(target, name) {
      state.pairing = { target, name, state: 'starting', code: null, reason: null };
      render();
      try {
        const s = await api.call<PairSession>('pair', { target });
        state.pairing = { target, name: s.name || name, state: s.state, code: s.code, reason: s.reason ?? null };
        render();
        const id = s.sessionId;
        while (state.pairing?.target === target && state.pairing.state === 'waiting' && id !== undefined) {
          // A long poll: the engine answers when the session ends or after 25 s. Never more than
          // one request a second, even if an answer comes back at once.
          const asked = Date.now();
          const v = await api.call<PairSession>('pairSession', { id, waitMs: 25_000 });
          if (v.state === 'waiting') await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - asked))));
          if (state.pairing?.target !== target) return;
          state.pairing = { target, name: v.name || name, state: v.state, code: v.code, reason: v.reason ?? null };
          render();
        }
      } catch (e) {
        if (state.pairing?.target === target) state.pairing = { ...state.pairing, state: 'failed', reason: errorText(e) };
      }
      await Promise.all([load.status(), load.nearby()]);
      render();
    },

    async decide(r, accept, group) {
      state.requestNotes.set(r.nodeId, { kind: 'BUSY', message: accept ? 'Pairing…' : 'Rejecting…' });
      render();
      try {
        await api.call('decidePairRequest', { nodeId: r.nodeId, accept, ...(group ? { group } : {}) });
        state.requestNotes.delete(r.nodeId);
        state.syncResult = { ok: true, text: accept ? `Paired with ${r.name}.` : `Rejected ${r.name}.` };
      } catch (e) {
        const kind = e instanceof ApiError ? e.kind : 'INTERNAL';
        state.requestNotes.set(r.nodeId, { kind, message: errorText(e) });
      }
      await Promise.all([load.requests(), load.status(), load.nearby()]);
      render();
    },

    async restore(c) {
      try {
        const out = await api.call<{ restored: string[] }>('restoreConflict', { id: c.id });
        state.syncResult = { ok: true, text: `Restored ${out.restored.length} triple(s) of ${c.subject} ${c.predicate}.` };
      } catch (e) {
        state.syncResult = { ok: false, text: `Cannot restore: ${errorText(e)}` };
      }
      await Promise.all([load.conflicts(), load.status()]);
      render();
    },

    async toggleAutostart(enabled) {
      try {
        state.autostart = await api.setAutostart(enabled);
      } catch (e) {
        state.syncResult = { ok: false, text: `Cannot change start at login: ${errorText(e)}` };
      }
      render();
    },
  };
}
