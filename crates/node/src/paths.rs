//! Where the engine keeps its files (data dir, config file, daemon.json, control token).

use std::path::{Path, PathBuf};

/// Environment variable that names the data directory.
pub const DATA_DIR_ENV: &str = "MAYROS_DATA_DIR";

/// The default data directory: `$XDG_DATA_HOME/mayros-sync` or `~/.local/share/mayros-sync`.
pub fn default_data_dir() -> PathBuf {
    base_dir("XDG_DATA_HOME", ".local/share").join("mayros-sync")
}

/// The default config file when no data dir is given: `<config-dir>/mayros-sync/config.json`.
pub fn default_config_file() -> PathBuf {
    base_dir("XDG_CONFIG_HOME", ".config")
        .join("mayros-sync")
        .join("config.json")
}

fn base_dir(xdg_var: &str, home_rel: &str) -> PathBuf {
    match std::env::var_os(xdg_var) {
        Some(v) if !v.is_empty() && Path::new(&v).is_absolute() => PathBuf::from(v),
        _ => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
            .join(home_rel),
    }
}

/// Resolves the config file per DESIGN §9: `--config`, else `<data-dir>/config.json` when a
/// data dir was given explicitly, else the per-user config dir.
pub fn config_file(explicit: Option<&Path>, data_dir: &Path, data_dir_given: bool) -> PathBuf {
    match explicit {
        Some(p) => p.to_path_buf(),
        None if data_dir_given => data_dir.join("config.json"),
        None => default_config_file(),
    }
}

/// The SQLite database inside a data dir.
pub fn store_file(data_dir: &Path) -> PathBuf {
    data_dir.join("cortex.db")
}

/// The file a running daemon describes itself in.
pub fn daemon_file(data_dir: &Path) -> PathBuf {
    data_dir.join("daemon.json")
}

/// The control-API bearer token file (mode 0600).
pub fn token_file(data_dir: &Path) -> PathBuf {
    data_dir.join("control.token")
}
