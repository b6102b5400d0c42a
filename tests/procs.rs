//! Real engine processes for the long-running benches: `mayros daemon` children in sandboxed
//! data dirs, the `mayros` CLI against them, and per-process figures read from `/proc`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/PID/stat` times (USER_HZ, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;
/// How long a daemon may take to print its ready line, and a CLI command to finish.
const DEADLINE: Duration = Duration::from_secs(60);

/// A release binary next to the running bench (`target/release/<name>`), or `env`'s path.
pub fn sibling_binary(name: &str, env: &str) -> PathBuf {
    if let Ok(p) = std::env::var(env) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    // target/release/deps/<bench> → target/release/<name>
    exe.parent()
        .and_then(Path::parent)
        .map_or_else(|| PathBuf::from(name), |d| d.join(name))
}

/// One `mayros daemon` child in its own sandbox; killed on drop.
pub struct EngineProc {
    /// Its label in reports.
    pub name: String,
    /// The `mayros` binary.
    pub bin: PathBuf,
    /// `http://127.0.0.1:<port>` of its local API.
    pub base: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl EngineProc {
    /// Starts `mayros daemon` with `config` written to its data dir, on loopback and free ports.
    pub fn start(bin: &Path, name: &str, config: &serde_json::Value) -> EngineProc {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("config.json"), config.to_string()).unwrap();
        let log = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let mut cmd = Command::new(bin);
        sandbox(&mut cmd, dir.path());
        cmd.arg("daemon")
            .arg("--data-dir")
            .arg(&data)
            .args(["--api", "127.0.0.1:0", "--peer-api", "127.0.0.1:0"])
            .args(["--quic", "127.0.0.1:0", "--name", name])
            .stdout(Stdio::piped())
            .stderr(log);
        let mut child = cmd.spawn().unwrap();
        let line = first_line(child.stdout.take().unwrap(), DEADLINE)
            .unwrap_or_else(|| panic!("{name}: no ready line within {DEADLINE:?}"));
        let api = line
            .split(' ')
            .find_map(|f| f.strip_prefix("api="))
            .unwrap_or_else(|| panic!("{name}: bad ready line {line:?}"))
            .to_string();
        EngineProc {
            name: name.to_string(),
            bin: bin.to_path_buf(),
            base: format!("http://{api}"),
            child,
            dir,
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its data dir.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs `mayros --data-dir <its data dir> <args…>`; panics unless it exits 0; returns stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(&self.bin);
        sandbox(&mut cmd, self.dir.path());
        cmd.arg("--data-dir").arg(self.data_dir()).args(args);
        run(cmd, &format!("{}: mayros {}", self.name, args.join(" ")))
    }

    /// Pairs `joiner` into this engine's group with an invite code.
    pub fn invite(&self, joiner: &EngineProc) {
        let out = self.cli(&["sync", "invite"]);
        let code = out.lines().last().unwrap_or_default().trim().to_string();
        joiner.cli(&["sync", "pair", "--code", &code]);
    }

    /// `sync status --json`.
    pub fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.cli(&["sync", "status", "--json"])).unwrap()
    }
}

impl Drop for EngineProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// HOME and XDG dirs inside `root`, file secrets, quiet logs.
fn sandbox(cmd: &mut Command, root: &Path) {
    cmd.env_remove("MAYROS_DATA_DIR")
        .env("HOME", root)
        .env("XDG_DATA_HOME", root.join("xdg-data"))
        .env("XDG_CONFIG_HOME", root.join("xdg-config"))
        .env("RUST_LOG", "warn")
        .env("MAYROS_SECRET_STORE", "file")
        .stdin(Stdio::null());
}

/// The first stdout line of a child, read on a thread so a silent child cannot hang us.
pub fn first_line(out: impl std::io::Read + Send + 'static, timeout: Duration) -> Option<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(out).lines();
        if let Some(Ok(l)) = lines.next() {
            let _ = tx.send(l);
        }
        // Keep draining so the child never blocks on a full pipe.
        for _ in lines {}
    });
    rx.recv_timeout(timeout).ok()
}

/// Runs `cmd` to completion within [`DEADLINE`]; panics unless it exits 0; returns stdout.
fn run(mut cmd: Command, what: &str) -> String {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let end = Instant::now() + DEADLINE;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= end {
            let _ = child.kill();
            panic!("{what}: no exit within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what}: {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// What `/proc` says about one process at one moment.
#[derive(Debug, Clone, Copy)]
pub struct ProcSample {
    /// When it was read.
    pub at: Instant,
    /// User + system CPU seconds so far.
    pub cpu_s: f64,
    /// Voluntary + involuntary context switches of all its threads so far.
    pub switches: u64,
    /// Resident set size in bytes.
    pub rss: u64,
}

/// Reads the figures of `pid`; `None` once it is gone.
pub fn sample(pid: u32) -> Option<ProcSample> {
    let at = Instant::now();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let f: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())?;
    let mut switches = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        // A thread that ended between the listing and the read no longer counts.
        let Ok(s) = std::fs::read_to_string(task.ok()?.path().join("status")) else {
            continue;
        };
        switches += s
            .lines()
            .filter_map(|l| {
                l.strip_prefix("voluntary_ctxt_switches:")
                    .or_else(|| l.strip_prefix("nonvoluntary_ctxt_switches:"))
            })
            .filter_map(|v| v.trim().parse::<u64>().ok())
            .sum::<u64>();
    }
    Some(ProcSample {
        at,
        cpu_s: ticks / TICKS_PER_SEC,
        switches,
        rss: rss_kb * 1024,
    })
}

/// The child processes of `pid` (e.g. the tray app's WebKit helpers).
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit(')')
                        .next()?
                        .split_whitespace()
                        .nth(1)?
                        .parse::<u32>()
                        .ok()
                })
                == Some(pid)
        })
        .collect()
}

/// The short command name of `pid` (`/proc/PID/comm`).
pub fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
