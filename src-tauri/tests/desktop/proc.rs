//! Child processes whose output is collected by reader threads and that are killed (and reaped)
//! on drop, so a failing test never leaves an X server, a bus or an app behind.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How much of a process's stderr is kept (the tail is what explains a failure).
const STDERR_KEEP: usize = 256 * 1024;

/// A running child process.
pub struct Proc {
    name: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    exited: Option<ExitStatus>,
}

impl Proc {
    /// Starts `cmd` with piped stdout and stderr (stdin from /dev/null).
    pub fn spawn(name: &str, mut cmd: Command) -> Result<Proc, String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {name} ({cmd:?}): {e}"))?;
        let (tx, lines) = mpsc::channel();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(out) = child.stdout.take() {
            let seen = Arc::clone(&stdout);
            thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(mut s) = seen.lock() {
                        s.push(line.clone());
                    }
                    let _ = tx.send(line);
                }
            });
        }
        if let Some(err) = child.stderr.take() {
            let buf = Arc::clone(&stderr);
            thread::spawn(move || {
                let mut reader = BufReader::new(err);
                let mut chunk = [0u8; 8192];
                while let Ok(n) = reader.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut s) = buf.lock() {
                        s.push_str(&String::from_utf8_lossy(&chunk[..n]));
                        if s.len() > 2 * STDERR_KEEP {
                            let mut cut = s.len() - STDERR_KEEP;
                            while !s.is_char_boundary(cut) {
                                cut += 1;
                            }
                            s.drain(..cut);
                        }
                    }
                }
            });
        }
        Ok(Proc {
            name: name.to_string(),
            child,
            lines,
            stdout,
            stderr,
            exited: None,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a stdout line that satisfies `pred` (lines before it are skipped); `None` when
    /// the process closes stdout or the timeout passes first.
    pub fn wait_line(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if pred(&line) => return Some(line),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// Every stdout line so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The last `max` bytes of stderr.
    pub fn stderr_tail(&self, max: usize) -> String {
        let s = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let mut cut = s.len().saturating_sub(max);
        while !s.is_char_boundary(cut) {
            cut += 1;
        }
        s[cut..].to_string()
    }

    /// The exit status if the process has exited (non-blocking).
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exited = Some(status);
            }
        }
        self.exited
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        super::wait_for(timeout, || self.try_status())
    }

    /// Sends SIGTERM (through `kill(1)`: the workspace forbids `unsafe`) and waits up to
    /// `timeout` for the exit.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.try_status().is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.pid().to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        self.wait_exit(timeout)
    }

    /// Kills the process (SIGKILL) if it still runs, and reaps it.
    pub fn kill(&mut self) {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            if let Ok(status) = self.child.wait() {
                self.exited = Some(status);
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let was_running = self.try_status().is_none();
        self.kill();
        if thread::panicking() {
            eprintln!(
                "---- {} (pid {}, {}) stderr tail ----\n{}\n---- end of {} ----",
                self.name,
                self.pid(),
                if was_running {
                    "killed by the test".to_string()
                } else {
                    format!("exited: {:?}", self.exited)
                },
                self.stderr_tail(12 * 1024),
                self.name
            );
        }
    }
}

/// Runs a command to completion (bounded by `timeout`, killed after it) and returns
/// `(exit code, stdout, stderr)`.
pub fn run(name: &str, cmd: Command, timeout: Duration) -> (Option<i32>, String, String) {
    let mut proc = match Proc::spawn(name, cmd) {
        Ok(p) => p,
        Err(e) => return (None, String::new(), e),
    };
    let status = proc.wait_exit(timeout);
    // The reader threads finish once the pipes close; wait briefly for the last lines.
    let _ = proc.wait_line(Duration::from_millis(200), |_| false);
    let out = proc.stdout_lines().join("\n");
    let err = proc.stderr_tail(64 * 1024);
    if status.is_none() {
        proc.kill();
        return (
            None,
            out,
            format!("{name} did not finish within {timeout:?}\n{err}"),
        );
    }
    (status.and_then(|s| s.code()), out, err)
}
