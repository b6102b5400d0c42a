//! Helpers of the desktop end-to-end test (`tests/desktop_e2e.rs`): a headless X server, a
//! private D-Bus session with a fake tray host (`org.kde.StatusNotifierWatcher`) and a fake
//! notification server, a `com.canonical.dbusmenu` client that reads and clicks the tray menu,
//! child processes that are always killed, a tiny loopback HTTP client for the local API, and
//! deadline-bounded waits (never fixed sleeps).
#![allow(dead_code)]

pub mod api;
pub mod dbusmenu;
pub mod inspector;
pub mod notifications;
pub mod proc;
pub mod screen;
pub mod session;
pub mod watcher;

use std::time::{Duration, Instant};

/// How often a condition is re-checked while waiting for it.
pub const POLL: Duration = Duration::from_millis(100);

/// Re-evaluates `probe` until it returns `Some`, or gives up after `timeout` and returns `None`.
pub fn wait_for<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// Like [`wait_for`], but panics with `what` (and the last state `describe` gives) on timeout.
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    probe: impl FnMut() -> Option<T>,
    describe: impl FnOnce() -> String,
) -> T {
    match wait_for(timeout, probe) {
        Some(v) => v,
        None => panic!(
            "timed out after {timeout:?} waiting for {what}; last state: {}",
            describe()
        ),
    }
}

/// Whether an executable is on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let p = dir.join(program);
            p.is_file()
        })
    })
}

/// Prints a progress line of the test with the time since `start` (visible with `--nocapture`,
/// and in the captured output of a failed test).
pub fn step(start: Instant, what: &str) {
    eprintln!(
        "[desktop-e2e {:>6.1}s] {what}",
        start.elapsed().as_secs_f64()
    );
}
