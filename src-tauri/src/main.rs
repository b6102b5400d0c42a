//! The `mayros-sync` tray app: see [`mayros_sync_tray::run`].

fn main() -> anyhow::Result<()> {
    mayros_sync_tray::run()
}
