//! `mayros ui` (DESIGN §6.2): prints `http://<api>/#token=<token>` for the running engine, the
//! address of the web UI it serves, and opens it with `xdg-open` when a desktop session is
//! available. The token travels in the URL fragment, which browsers never send to a server;
//! the page keeps it in memory and removes it from the address bar.

use std::process::{Command, Stdio};

use crate::cli::{GlobalArgs, UiArgs};
use crate::client::EngineClient;
use crate::output;

/// Prints the UI address of the engine of the data dir (and opens it where possible).
pub async fn run(global: &GlobalArgs, args: UiArgs) -> anyhow::Result<()> {
    let client = EngineClient::locate(&global.data_dir())?;
    // Proves the engine is running and that the token is the one it accepts.
    client.control_get("/api/v1/sync/status").await?;
    let url = ui_url(&client.info().api, &client.token()?);
    output::print(&url)?;
    if !args.no_open && has_desktop(|k| std::env::var_os(k)) {
        open_in_browser(&url);
    }
    Ok(())
}

/// `http://<api>/#token=<token>`.
pub fn ui_url(api: &std::net::SocketAddr, token: &str) -> String {
    format!("http://{api}/#token={token}")
}

/// Whether a graphical session exists to open a browser in (`DISPLAY` or `WAYLAND_DISPLAY`).
pub fn has_desktop(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|k| var(k).is_some_and(|v| !v.is_empty()))
}

/// Starts `xdg-open <url>` in the background; a missing or failing opener is only logged (the
/// address is already printed).
fn open_in_browser(url: &str) {
    let spawned = Command::new("xdg-open")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match spawned {
        // Not waited for: some openers stay until the browser exits.
        Ok(child) => tracing::debug!(pid = child.id(), "started xdg-open"),
        Err(e) => tracing::info!("could not start xdg-open ({e}); open the address above yourself"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_in_the_fragment() {
        let api = std::net::SocketAddr::from(([127, 0, 0, 1], 19090));
        assert_eq!(ui_url(&api, "ab12"), "http://127.0.0.1:19090/#token=ab12");
        let v6 = std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 19090));
        assert_eq!(ui_url(&v6, "ab12"), "http://[::1]:19090/#token=ab12");
    }

    #[test]
    fn a_desktop_needs_a_non_empty_display() {
        assert!(!has_desktop(|_| None));
        assert!(!has_desktop(|_| Some("".into())));
        assert!(has_desktop(|k| (k == "DISPLAY").then(|| ":0".into())));
        assert!(has_desktop(
            |k| (k == "WAYLAND_DISPLAY").then(|| "wayland-0".into())
        ));
    }
}
