//! Idle soak (issue 13): real engine processes left idle side by side with
//! `sync.intervalSeconds: 10`, and per process the CPU share of one core, wake-ups per second
//! (voluntary + involuntary context switches of all threads, from `/proc/PID/task/*/status`)
//! and RSS at the start and the end of the window. Targets: < 0.2 % of a core, < 20 wake-ups/s,
//! RSS growth < 5 MB.
//!
//! Configurations, all running at once: no peers; two paired native engines; two paired polled
//! engines; a paused engine; and the tray app `mayros-sync --hidden` under Xvfb with a private
//! D-Bus when its release binary, `Xvfb` and `dbus-daemon` are there.
//!
//! Run: `cargo build --release -p mayros-cli` (and `-p mayros-sync-tray` for the tray app), then
//! `cargo bench -p mayros-sync-tests --bench idle_soak`. `MAYROS_SOAK_SECS` sets the idle window
//! (default 600; 60 for a smoke run); `MAYROS_BIN` / `MAYROS_TRAY_BIN` point at other binaries.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mayros_sync_tests::procs::ProcSample;
use mayros_sync_tests::procs::{children, comm, first_line, sample, sibling_binary, EngineProc};
use serde_json::json;

/// Past two (jittered) intervals before the window opens: when the old scheduler began to spin.
const SETTLE: Duration = Duration::from_secs(25);
/// How often running figures are printed.
const REPORT_EVERY: Duration = Duration::from_secs(60);

fn main() {
    let secs: u64 = std::env::var("MAYROS_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let bin = sibling_binary("mayros", "MAYROS_BIN");
    if !bin.exists() {
        println!(
            "idle soak: skipped, no binary at {} (cargo build --release -p mayros-cli)",
            bin.display()
        );
        return;
    }
    let native = json!({"sync": {"intervalSeconds": 10}});
    let polled = json!({"sync": {"intervalSeconds": 10, "nativeP2pPreferred": false}});
    let lonely = EngineProc::start(&bin, "no-peers", &native);
    let na = EngineProc::start(&bin, "native-a", &native);
    let nb = EngineProc::start(&bin, "native-b", &native);
    let pa = EngineProc::start(&bin, "polled-a", &polled);
    let pb = EngineProc::start(&bin, "polled-b", &polled);
    let paused = EngineProc::start(&bin, "paused", &native);
    na.invite(&nb);
    pa.invite(&pb);
    paused.cli(&["sync", "pause"]);
    assert_eq!(paused.status()["paused"], true);
    let linked = wait_for(Duration::from_secs(30), || {
        connected(&na) == 1 && connected(&nb) == 1
    });
    assert!(linked, "the native pair never linked");
    assert_eq!(pa.status()["mode"], "polled");

    let tray = Tray::start();
    let mut probes: Vec<(String, u32)> = [&lonely, &na, &nb, &pa, &pb, &paused]
        .iter()
        .map(|e| (e.name.clone(), e.pid()))
        .collect();
    if let Some(t) = &tray {
        probes.push(("tray (mayros-sync)".into(), t.app.id()));
    }
    println!(
        "idle soak: {} processes, settling {SETTLE:?}, then {secs} s idle",
        probes.len()
    );
    std::thread::sleep(SETTLE);
    if let Some(t) = &tray {
        // WebKit's helpers exist once the hidden window is created.
        for c in children(t.app.id()) {
            probes.push((format!("tray child {}", comm(c)), c));
        }
    }
    let start: Vec<Option<ProcSample>> = probes.iter().map(|(_, p)| sample(*p)).collect();
    let t0 = Instant::now();
    let window = Duration::from_secs(secs);
    let mut next_report = t0 + REPORT_EVERY;
    while t0.elapsed() < window {
        let left = window.saturating_sub(t0.elapsed());
        std::thread::sleep(left.min(next_report.saturating_duration_since(Instant::now())));
        if Instant::now() >= next_report && t0.elapsed() < window {
            next_report += REPORT_EVERY;
            println!("after {:.0} s:", t0.elapsed().as_secs_f64());
            report(&probes, &start);
        }
    }
    println!("idle {secs} s, intervalSeconds 10 (targets < 0.2 % CPU, < 20 wake-ups/s, RSS growth < 5 MB):");
    report(&probes, &start);
    // Still paired and still paused at the end.
    assert_eq!(connected(&na), 1, "the native pair lost its link");
    assert_eq!(paused.status()["paused"], true);
}

/// Prints one line per process: CPU %, wake-ups/s, RSS at start and now.
fn report(probes: &[(String, u32)], start: &[Option<ProcSample>]) {
    println!(
        "| process | CPU % of a core | wake-ups/s | RSS start MB | RSS end MB | targets met |"
    );
    println!("|---|---|---|---|---|---|");
    for ((name, pid), s0) in probes.iter().zip(start) {
        let (Some(s0), Some(s1)) = (s0, sample(*pid)) else {
            println!("| {name} | gone | | | | no |");
            continue;
        };
        let dt = s1.at.duration_since(s0.at).as_secs_f64();
        let cpu = 100.0 * (s1.cpu_s - s0.cpu_s) / dt;
        let wakes = (s1.switches - s0.switches) as f64 / dt;
        let growth = s1.rss.saturating_sub(s0.rss) as f64 / 1e6;
        let met = cpu < 0.2 && wakes < 20.0 && growth < 5.0;
        println!(
            "| {name} | {cpu:.3} | {wakes:.1} | {:.1} | {:.1} | {} |",
            s0.rss as f64 / 1e6,
            s1.rss as f64 / 1e6,
            if met { "yes" } else { "no" }
        );
    }
}

/// Sync links up, from the engine's `p2p/status`.
fn connected(e: &EngineProc) -> usize {
    let body = http_get(&e.base, "/api/v1/p2p/status").unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["connected_peers"]
        .as_array()
        .map_or(0, |a| a.iter().filter(|p| p["connected"] == true).count())
}

/// A plain HTTP/1.0 GET on loopback; the body, or `None` on any failure.
fn http_get(base: &str, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let host = base.strip_prefix("http://")?;
    let mut s = std::net::TcpStream::connect(host).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

/// Polls `cond` every 100 ms until it holds or `timeout` passes.
fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// The tray app under its own Xvfb display and private session bus; all killed on drop.
struct Tray {
    app: Child,
    bus: Child,
    xvfb: Child,
    _dir: tempfile::TempDir,
}

impl Tray {
    /// Starts it when the release binary and the tools exist; says why not otherwise.
    fn start() -> Option<Tray> {
        let bin = sibling_binary("mayros-sync", "MAYROS_TRAY_BIN");
        if !bin.exists() {
            println!(
                "tray app: skipped, no binary at {} (cargo build --release -p mayros-sync-tray)",
                bin.display()
            );
            return None;
        }
        let on_path = |p: &str| {
            std::env::var_os("PATH")
                .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(p).exists()))
        };
        if !on_path("Xvfb") || !on_path("dbus-daemon") {
            println!("tray app: skipped, needs Xvfb and dbus-daemon (apt: xvfb dbus)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut xvfb = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let display = first_line(xvfb.stdout.take().unwrap(), Duration::from_secs(20))
            .unwrap_or_else(|| panic!("Xvfb reported no display"));
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let bus_address = first_line(bus.stdout.take().unwrap(), Duration::from_secs(20))
            .unwrap_or_else(|| panic!("dbus-daemon printed no address"));
        let app = tray_command(&bin, dir.path(), display.trim(), bus_address.trim())
            .spawn()
            .unwrap();
        Some(Tray {
            app,
            bus,
            xvfb,
            _dir: dir,
        })
    }
}

fn tray_command(bin: &Path, root: &Path, display: &str, bus: &str) -> Command {
    let home = root.join("home");
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("LANG", "C.UTF-8")
        .env("XDG_RUNTIME_DIR", root)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("DISPLAY", format!(":{display}"))
        .env("GDK_BACKEND", "x11")
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env("NO_AT_BRIDGE", "1")
        .env("GSETTINGS_BACKEND", "memory")
        .env("RUST_LOG", "warn")
        .env("MAYROS_SECRET_STORE", "file")
        .arg("--hidden")
        .arg("--data-dir")
        .arg(root.join("data"))
        .args(["--api", "127.0.0.1:0", "--peer-api", "127.0.0.1:0"])
        .args(["--quic", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("config.json"),
        json!({"sync": {"intervalSeconds": 10}}).to_string(),
    )
    .unwrap();
    cmd
}

impl Drop for Tray {
    fn drop(&mut self) {
        for c in [&mut self.app, &mut self.bus, &mut self.xvfb] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
