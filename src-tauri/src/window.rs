//! The main window: 960×680, the UI of `ui/dist`; closing it hides it (the app stays in the
//! tray); `--hidden` starts without showing it; `Open Mayros Sync` shows and focuses it.

use tauri::{Manager, Runtime, WebviewUrl, WebviewWindow, WebviewWindowBuilder, WindowEvent};

use crate::shell_state::ShellState;
use crate::ui_events::{self, UiEvent, View};

/// The main window's label.
pub const MAIN: &str = "main";

/// Creates the main window, shown unless `hidden`.
pub fn create<R: Runtime, M: Manager<R>>(app: &M, hidden: bool) -> tauri::Result<WebviewWindow<R>> {
    let window = WebviewWindowBuilder::new(app, MAIN, WebviewUrl::App("index.html".into()))
        .title("Mayros Sync")
        .inner_size(960.0, 680.0)
        .min_inner_size(640.0, 480.0)
        .visible(!hidden)
        .build()?;
    let w = window.clone();
    window.on_window_event(move |event| {
        if let WindowEvent::CloseRequested { api, .. } = event {
            api.prevent_close();
            if let Err(e) = w.hide() {
                tracing::warn!(error = %e, "cannot hide the window");
            }
        }
    });
    Ok(window)
}

/// Shows and focuses the main window (creating it if needed); with `view`, tells the UI to go
/// there.
pub fn show<R: Runtime, M: Manager<R> + tauri::Emitter<R>>(app: &M, view: Option<View>) {
    let window = match app.get_webview_window(MAIN) {
        Some(w) => Ok(w),
        None => create(app, false),
    };
    let result = window.and_then(|w| {
        w.show()?;
        w.unminimize()?;
        w.set_focus()
    });
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot show the window");
    }
    if let Some(state) = app.try_state::<ShellState>() {
        // The user now sees the window and with it the conflicts: no longer new (the engine
        // keeps the count), then the tray refreshes.
        let state = state.inner().clone();
        tauri::async_runtime::spawn(async move { state.mark_conflicts_seen().await });
    }
    if let Some(view) = view {
        ui_events::emit(app, &UiEvent::Navigate { view });
    }
}
