//! One app per data dir: a second `mayros-sync` on the same data dir hands over to the running
//! one, which shows its window, and exits (instead of a second tray icon whose engine cannot
//! open the locked data dir). Apps on different data dirs run side by side.

use std::path::Path;

use sha2::{Digest, Sha256};
use tauri::Runtime;

use crate::window;

/// The D-Bus name prefix that identifies the app running on `data_dir`.
pub fn dbus_id(data_dir: &Path) -> String {
    let digest = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    // D-Bus name elements may not start with a digit: prefix the hash with a letter.
    format!("dev.mayros.sync.d{}", hex::encode(&digest[..8]))
}

/// The plugin: the running app shows its window when another instance starts on its data dir.
pub fn plugin<R: Runtime>(data_dir: &Path) -> tauri::plugin::TauriPlugin<R> {
    let id = dbus_id(data_dir);
    tracing::debug!(%id, "single instance per data dir");
    tauri_plugin_single_instance::Builder::new()
        .dbus_id(id)
        .callback(|app, _args, _cwd| {
            tracing::info!("another start on this data dir: showing the window");
            window::show(app, None);
        })
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_name_per_data_dir_and_a_valid_dbus_name() {
        let a = dbus_id(Path::new("/home/u/.local/share/mayros-sync"));
        let b = dbus_id(Path::new("/tmp/other"));
        assert_ne!(a, b);
        assert_eq!(a, dbus_id(Path::new("/home/u/.local/share/mayros-sync")));
        for element in a.split('.') {
            assert!(!element.is_empty());
            assert!(!element.starts_with(|c: char| c.is_ascii_digit()), "{a}");
            assert!(element.chars().all(|c| c.is_ascii_alphanumeric()), "{a}");
        }
    }
}
