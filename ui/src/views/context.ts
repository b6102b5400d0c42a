// What every view is given: the shared state, the API, the actions and a way to redraw.

import type { Actions } from '../actions';
import type { Api } from '../api';
import type { Refresh } from '../loading';
import type { AppState } from '../state';

/** A view's surroundings (tests pass a fake API, fake actions and a spy render). */
export interface ViewContext {
  state: AppState;
  api: Api;
  actions: Actions;
  /** Redraws the whole window from the state. */
  render: () => void;
  /** Refreshes parts of the state from the engine soon, then redraws. */
  refresh: Refresh;
}
