//! Start at login (tauri-plugin-autostart): a login start passes `--hidden`, so the app stays
//! in the tray. The state is always read back from the system (on Linux,
//! `$HOME/.config/autostart/Mayros Sync.desktop`), never cached, so the menu's check item, the
//! settings toggle and the file agree.

use tauri::{Manager, Runtime};
use tauri_plugin_autostart::{AutoLaunchManager, MacosLauncher};

use crate::error::Error;

/// The flag autostart passes: start in the tray, without the window.
pub const HIDDEN_FLAG: &str = "--hidden";

/// The plugin, configured to launch this executable with `--hidden`.
pub fn plugin<R: Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri_plugin_autostart::init(MacosLauncher::LaunchAgent, Some(vec![HIDDEN_FLAG]))
}

/// Whether the app starts at login.
pub fn is_enabled(manager: &AutoLaunchManager) -> Result<bool, Error> {
    manager
        .is_enabled()
        .map_err(|e| Error::Autostart(e.to_string()))
}

/// Turns start at login on or off and answers the state read back.
pub fn set_enabled(manager: &AutoLaunchManager, enabled: bool) -> Result<bool, Error> {
    let _span = tracing::info_span!("autostart", enabled).entered();
    let result = if enabled {
        manager.enable()
    } else {
        manager.disable()
    };
    result.map_err(|e| Error::Autostart(e.to_string()))?;
    let now = is_enabled(manager)?;
    tracing::info!(now, "start at login changed");
    Ok(now)
}

/// The state through the app's managed plugin; `false` (with a warning) when the plugin is not
/// there or cannot tell.
pub fn current<R: Runtime, M: Manager<R>>(app: &M) -> bool {
    match app.try_state::<AutoLaunchManager>() {
        Some(m) => is_enabled(&m).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read start at login");
            false
        }),
        None => false,
    }
}

/// Flips start at login; answers the new state.
pub fn toggle<R: Runtime, M: Manager<R>>(app: &M) -> Result<bool, Error> {
    let m = app
        .try_state::<AutoLaunchManager>()
        .ok_or_else(|| Error::Autostart("the autostart plugin is not loaded".into()))?;
    let now = is_enabled(&m)?;
    set_enabled(&m, !now)
}
