//! The X side: finding a top-level window by name (`xwininfo -root -tree`), taking screenshots
//! (`import`) and measuring them (`identify -format %k`: the number of distinct colours).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::proc;

const TOOL_TIMEOUT: Duration = Duration::from_secs(30);

/// A window as `xwininfo -tree` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// X window id, e.g. `0x1a00007`.
    pub id: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

fn x_command(display: &str, program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("DISPLAY", display);
    cmd
}

/// The windows named exactly `name`, largest first.
pub fn windows_named(display: &str, name: &str) -> Vec<Window> {
    let mut cmd = x_command(display, "xwininfo");
    cmd.args(["-root", "-tree"]);
    let (code, out, _) = proc::run("xwininfo", cmd, TOOL_TIMEOUT);
    if code != Some(0) {
        return Vec::new();
    }
    let needle = format!("\"{name}\":");
    let mut found: Vec<Window> = out
        .lines()
        .filter(|l| l.contains(&needle))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let id = words.next()?.to_string();
            // Geometry: the first `WxH+X+Y` word after the name.
            let geom = l
                .split_whitespace()
                .find(|w| w.contains('x') && w.contains('+') && !w.starts_with("0x"))?;
            let (w, rest) = geom.split_once('x')?;
            let h = rest.split('+').next()?;
            Some(Window {
                id,
                width: w.parse().ok()?,
                height: h.parse().ok()?,
            })
        })
        .collect();
    found.sort_by_key(|w| std::cmp::Reverse(w.width * w.height));
    found
}

/// Whether the window is mapped and viewable (`Map State: IsViewable`).
pub fn is_viewable(display: &str, id: &str) -> bool {
    let mut cmd = x_command(display, "xwininfo");
    cmd.args(["-id", id]);
    let (code, out, _) = proc::run("xwininfo", cmd, TOOL_TIMEOUT);
    code == Some(0) && out.contains("IsViewable")
}

/// Saves a PNG of window `id` (`root` for the whole screen) to `path`.
pub fn screenshot(display: &str, id: &str, path: &Path) -> Result<(), String> {
    let mut cmd = x_command(display, "import");
    cmd.args(["-window", id]).arg(path);
    match proc::run("import", cmd, TOOL_TIMEOUT) {
        (Some(0), _, _) => Ok(()),
        (code, _, err) => Err(format!("import -window {id} failed ({code:?}): {err}")),
    }
}

/// The number of distinct colours in an image.
pub fn colour_count(path: &Path) -> Result<u64, String> {
    let mut cmd = Command::new("identify");
    cmd.args(["-format", "%k"]).arg(path);
    match proc::run("identify", cmd, TOOL_TIMEOUT) {
        (Some(0), out, _) => out
            .trim()
            .parse()
            .map_err(|_| format!("identify printed {out:?}")),
        (code, _, err) => Err(format!("identify failed ({code:?}): {err}")),
    }
}

/// The signature of an image's pixels (`identify -format %#`: SHA-256 of the decoded pixel
/// data), equal for two files that show the same pixels whatever their encoding.
pub fn pixel_signature(path: &Path) -> Result<String, String> {
    let mut cmd = Command::new("identify");
    cmd.args(["-format", "%#"]).arg(path);
    match proc::run("identify", cmd, TOOL_TIMEOUT) {
        (Some(0), out, _) if !out.trim().is_empty() => Ok(out.trim().to_string()),
        (code, out, err) => Err(format!("identify -format %# failed ({code:?}): {out}{err}")),
    }
}

/// This crate's directory in the checkout being tested. Read from the environment cargo sets
/// when it runs the test, not baked in at compile time: clones at other paths share build
/// artefacts on one machine.
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}

/// Where screenshots go: `src-tauri/tests/artifacts/` (created with a `.gitignore` that ignores
/// everything in it, so artifacts never get committed).
pub fn artifacts_dir() -> PathBuf {
    let dir = manifest_dir().join("tests").join("artifacts");
    std::fs::create_dir_all(&dir).expect("create tests/artifacts");
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        let _ = std::fs::write(
            &ignore,
            "# Test artifacts (screenshots): never committed.\n*\n",
        );
    }
    dir
}
