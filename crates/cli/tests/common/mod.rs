//! Helpers for driving the real `mayros` binary: a sandboxed environment, child processes that
//! are always killed when a test fails, and deadline-bounded waits (never fixed sleeps).
#![allow(clippy::unwrap_used, dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a daemon may take to print its ready line or to exit.
pub const DEADLINE: Duration = Duration::from_secs(30);
/// How long a CLI command may take.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(60);

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mayros")
}

/// A temp dir that is HOME, XDG_DATA_HOME and XDG_CONFIG_HOME for every process started through
/// it, so nothing touches the real user's files; `data_dir()` is the engine's data dir.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The data dir used by the tests (not created: the daemon creates it).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn data_dir_str(&self) -> String {
        self.data_dir().display().to_string()
    }

    pub fn config_file(&self) -> PathBuf {
        self.data_dir().join("config.json")
    }

    pub fn daemon_file(&self) -> PathBuf {
        self.data_dir().join("daemon.json")
    }

    /// A `mayros` command with a clean environment rooted in the sandbox.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(bin());
        cmd.env_remove("MAYROS_DATA_DIR")
            .env("HOME", self.root())
            .env("XDG_DATA_HOME", self.root().join("xdg-data"))
            .env("XDG_CONFIG_HOME", self.root().join("xdg-config"))
            .env("RUST_LOG", "info")
            // Never the OS keyring of whoever runs the tests (DESIGN §7.3).
            .env("MAYROS_SECRET_STORE", "file")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `mayros --data-dir <data> <args…>` to completion (bounded by a deadline).
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.arg("--data-dir").arg(self.data_dir()).args(args);
        run_command(cmd)
    }

    /// Runs `mayros <args…>` without adding `--data-dir`.
    pub fn run_bare(&self, args: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.args(args);
        run_command(cmd)
    }

    /// Starts `mayros daemon --data-dir <data> --api 127.0.0.1:0 --peer-api 127.0.0.1:0
    /// --quic 127.0.0.1:0 <extra…>`: every listener on loopback and a free port.
    pub fn spawn_daemon(&self, extra: &[&str]) -> Proc {
        let mut cmd = self.command();
        cmd.arg("daemon")
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(["--api", "127.0.0.1:0"])
            .args(["--peer-api", "127.0.0.1:0"])
            .args(["--quic", "127.0.0.1:0"])
            .args(extra);
        Proc::spawn(cmd)
    }

    /// Writes `<data-dir>/config.json` (creating the data dir).
    pub fn write_config(&self, doc: &serde_json::Value) {
        std::fs::create_dir_all(self.data_dir()).unwrap();
        std::fs::write(self.config_file(), doc.to_string()).unwrap();
    }

    /// Starts a daemon and waits for its ready line.
    pub fn start_daemon(&self) -> (Proc, Ready) {
        let mut proc = self.spawn_daemon(&[]);
        let ready = proc.wait_ready();
        (proc, ready)
    }
}

/// The result of a finished CLI command.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts exit 0 and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "expected success: {self:#?}");
        &self.stdout
    }

    /// Asserts exit `code` and returns stderr.
    pub fn fails_with(&self, code: i32) -> &str {
        assert_eq!(self.code, Some(code), "expected exit {code}: {self:#?}");
        &self.stderr
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.ok())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

/// Runs a prepared command to completion (bounded by a deadline).
pub fn run_command(cmd: Command) -> Output {
    let mut proc = Proc::spawn(cmd);
    let status = proc
        .wait_exit(COMMAND_DEADLINE)
        .unwrap_or_else(|| panic!("command did not finish within {COMMAND_DEADLINE:?}"));
    Output {
        code: status.code(),
        stdout: proc.stdout_text(),
        stderr: proc.stderr(),
    }
}

/// A child process whose output is collected by reader threads; killed on drop if still running.
pub struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<thread::JoinHandle<()>>,
    exited: Option<ExitStatus>,
}

impl Proc {
    pub fn spawn(mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let seen = Arc::clone(&stdout);
        let r1 = thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                seen.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let buf = Arc::clone(&stderr);
        let r2 = thread::spawn(move || {
            let mut reader = BufReader::new(err);
            let mut chunk = [0u8; 4096];
            while let Ok(n) = reader.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        Proc {
            child,
            lines,
            stdout,
            stderr,
            readers: vec![r1, r2],
            exited: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next stdout line, or `None` on timeout or end of output.
    pub fn next_line(&mut self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// Waits for the ready line and checks its exact format.
    pub fn wait_ready(&mut self) -> Ready {
        match self.next_line(DEADLINE) {
            Some(line) => Ready::parse(&line),
            None => {
                let status = self.wait_exit(Duration::from_secs(5));
                panic!(
                    "no ready line within {DEADLINE:?} (exit {status:?}); stderr:\n{}",
                    self.stderr()
                )
            }
        }
    }

    /// Waits for the process to exit, then for its output to be fully read.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited {
                return Some(status);
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                self.exited = Some(status);
                for r in self.readers.drain(..) {
                    let _ = r.join();
                }
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends a signal (e.g. `libc::SIGTERM`).
    #[allow(unsafe_code)]
    pub fn signal(&self, sig: i32) {
        let pid = i32::try_from(self.pid()).unwrap();
        // SAFETY: kill(2) takes plain integers and touches no memory of ours; the pid is our
        // own child, which has not been reaped yet (try_wait has not returned it).
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        self.wait_exit(DEADLINE).unwrap();
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stdout_text(&self) -> String {
        let lines = self.stdout_lines();
        if lines.is_empty() {
            String::new()
        } else {
            lines.join("\n") + "\n"
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exited.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The facts of a `ready api=127.0.0.1:<port> peer_api=<addr|-> quic=<addr|-> node_id=<hex>`
/// line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    pub line: String,
    pub port: u16,
    /// The bound peer API address, `None` when the line shows `-`.
    pub peer_api: Option<String>,
    /// The bound QUIC address, `None` when the line shows `-`.
    pub quic: Option<String>,
    pub node_id: String,
}

impl Ready {
    /// Parses and checks the line's exact format (DESIGN §8).
    pub fn parse(line: &str) -> Ready {
        let fields: Vec<&str> = line.split(' ').collect();
        let [word, api, peer_api, quic, node_id] = fields[..] else {
            panic!("bad ready line {line:?}")
        };
        assert_eq!(word, "ready", "bad ready line {line:?}");
        let value = |text: &str, name: &str| -> String {
            text.strip_prefix(name)
                .and_then(|t| t.strip_prefix('='))
                .unwrap_or_else(|| panic!("bad ready line {line:?}: no {name}="))
                .to_string()
        };
        let api = value(api, "api");
        let port = api
            .strip_prefix("127.0.0.1:")
            .unwrap_or_else(|| panic!("api is on 127.0.0.1: {line:?}"))
            .parse::<u16>()
            .unwrap_or_else(|_| panic!("bad port in {line:?}"));
        assert_ne!(port, 0, "the ready line shows the bound port: {line:?}");
        let addr = |value: String| -> Option<String> {
            if value == "-" {
                return None;
            }
            let parsed: std::net::SocketAddr = value
                .parse()
                .unwrap_or_else(|_| panic!("not host:port {value:?} in {line:?}"));
            assert_ne!(parsed.port(), 0, "bound ports are shown: {line:?}");
            Some(value)
        };
        let peer_api = addr(value(peer_api, "peer_api"));
        let quic = addr(value(quic, "quic"));
        let node_id = value(node_id, "node_id");
        assert!(
            node_id.len() == 64
                && node_id
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "node id is 64 lowercase hex: {line:?}"
        );
        Ready {
            line: line.to_string(),
            port,
            peer_api,
            quic,
            node_id,
        }
    }
}

/// Polls `cond` until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The message `mayros` prints when no engine serves `data_dir`.
pub fn not_running_message(data_dir: &str) -> String {
    format!(
        "no Mayros Sync engine is running for data dir {data_dir} \
         (start one with: mayros daemon --data-dir {data_dir})"
    )
}

/// One running engine and its sandbox (the daemon is killed when this drops).
pub struct Node {
    /// Its sandbox.
    pub sb: Sandbox,
    /// Its ready line.
    pub ready: Ready,
    /// The daemon process.
    pub daemon: Proc,
}

impl Node {
    /// Starts an engine named `name` with the default config.
    pub fn start(name: &str) -> Node {
        Node::start_with(name, None)
    }

    /// Starts an engine named `name`, with `config` written first when given.
    pub fn start_with(name: &str, config: Option<&serde_json::Value>) -> Node {
        let sb = Sandbox::new();
        if let Some(c) = config {
            sb.write_config(c);
        }
        let mut daemon = sb.spawn_daemon(&["--name", name]);
        let ready = daemon.wait_ready();
        Node { sb, ready, daemon }
    }

    /// Runs `mayros --data-dir <its data dir> <args…>`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.sb.run(args)
    }

    /// Its node id.
    pub fn id(&self) -> &str {
        &self.ready.node_id
    }
}

/// One HTTP/1.1 request on a fresh connection; `None` when the engine went away meanwhile.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .ok()?;
    s.write_all(body.as_bytes()).ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}
