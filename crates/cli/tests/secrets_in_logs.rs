//! No secret leaves through the logs or the local API (issue 16): two engines with
//! `RUST_LOG=debug` pair by invite and sync, then every byte they logged and every API answer
//! (status, config, peers, requests, the event stream) is searched for each secret's value.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{run_command, wait_until, Output, Proc, Ready, Sandbox, DEADLINE};
use serde_json::json;

const AUTH_TOKEN: &str = "cortex-auth-token-9f8e7d6c5b4a";

struct Engine {
    sb: Sandbox,
    ready: Ready,
    daemon: Proc,
    /// Everything its CLI commands wrote on stderr.
    cli_stderr: String,
}

fn debug_command(sb: &Sandbox) -> Command {
    let mut cmd = sb.command();
    cmd.env("RUST_LOG", "debug");
    cmd
}

impl Engine {
    fn start(name: &str) -> Engine {
        let sb = Sandbox::new();
        sb.write_config(&json!({"cortex": {"authToken": AUTH_TOKEN}}));
        let mut cmd = debug_command(&sb);
        cmd.arg("daemon")
            .arg("--data-dir")
            .arg(sb.data_dir())
            .args(["--api", "127.0.0.1:0", "--peer-api", "127.0.0.1:0"])
            .args(["--quic", "127.0.0.1:0", "--name", name]);
        let mut daemon = Proc::spawn(cmd);
        let ready = daemon.wait_ready();
        Engine {
            sb,
            ready,
            daemon,
            cli_stderr: String::new(),
        }
    }

    fn run(&mut self, args: &[&str]) -> Output {
        let mut cmd = debug_command(&self.sb);
        cmd.arg("--data-dir").arg(self.sb.data_dir()).args(args);
        let out = run_command(cmd);
        self.cli_stderr.push_str(&out.stderr);
        out
    }

    fn secret(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.sb.data_dir().join("secrets").join(name)).unwrap()
    }

    fn token(&self) -> String {
        std::fs::read_to_string(self.sb.data_dir().join("control.token"))
            .unwrap()
            .trim()
            .to_string()
    }

    /// A few seconds of `GET /api/v1/sync/events` (until two `metrics` events arrived).
    fn events(&self) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.ready.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        write!(
            s,
            "GET /api/v1/sync/events?token={} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
            self.token(),
            self.ready.port
        )
        .unwrap();
        let deadline = Instant::now() + DEADLINE;
        let mut text = String::new();
        let mut buf = [0u8; 8192];
        while text.matches("event: metrics").count() < 2 && Instant::now() < deadline {
            if let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                text.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }
        assert!(
            text.contains("event: metrics"),
            "the stream answered: {text}"
        );
        text
    }

    /// The API's answers a user or the window can read.
    fn api_answers(&mut self) -> String {
        let mut all = String::new();
        for args in [
            &["sync", "status", "--json"][..],
            &["config", "get", "--json"],
            &["sync", "peers", "--json"],
            &["sync", "requests", "--json"],
            &["sync", "discover", "--json"],
        ] {
            all.push_str(self.run(args).ok());
        }
        all.push_str(&self.events());
        all
    }
}

/// The spellings a secret could take in a log line.
fn spellings(bytes: &[u8]) -> Vec<String> {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let list = bytes[..8]
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    vec![hex.clone(), hex.to_uppercase(), list, base64(bytes)]
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = c.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - c.len()));
        for i in 0..=c.len() {
            out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn assert_absent(haystack: &str, what: &str, needles: &[String], whose: &str) {
    for n in needles {
        assert!(
            !haystack.contains(n.as_str()),
            "{whose} contains the {what} ({n})"
        );
    }
}

#[test]
fn pairing_and_sync_with_debug_logs_leak_no_secret() {
    let mut a = Engine::start("alpha");
    let mut b = Engine::start("bravo");

    let invite = a.run(&["sync", "invite"]);
    let code = invite.ok().lines().last().unwrap().to_string();
    let secret = mayros_sync_proto::invite::Invite::decode(&code)
        .unwrap()
        .secret;
    b.run(&["sync", "pair", "--code", &code]).ok();
    let put = a.run(&[
        "cortex",
        "put",
        "ex:secret-test",
        "ex:p",
        "synced",
        "--json",
    ]);
    let id = put.json()["id"].as_str().unwrap().to_string();
    assert!(
        wait_until(DEADLINE, || b.sb.run(&["cortex", "get", &id]).code
            == Some(0)),
        "the write reached bravo"
    );

    let seed = a.secret("group-seed");
    assert_eq!(seed, b.secret("group-seed"), "both hold the group seed");
    let mut secrets: Vec<(&str, Vec<String>)> = vec![
        ("group seed", spellings(&seed)),
        ("invite secret", spellings(&secret)),
        ("invite code", vec![code.clone()]),
        ("cortex.authToken", vec![AUTH_TOKEN.to_string()]),
    ];
    for (who, e) in [("alpha", &a), ("bravo", &b)] {
        let key = e.secret("device-key");
        secrets.push((
            if who == "alpha" {
                "alpha's device key"
            } else {
                "bravo's device key"
            },
            spellings(&key),
        ));
        secrets.push((
            if who == "alpha" {
                "alpha's control token"
            } else {
                "bravo's control token"
            },
            vec![e.token()],
        ));
    }

    let answers = [a.api_answers(), b.api_answers()];
    for (e, answer) in [(&a, &answers[0]), (&b, &answers[1])] {
        let logs = e.daemon.stderr();
        assert!(logs.contains("DEBUG"), "debug logging was on");
        for (what, needles) in &secrets {
            assert_absent(&logs, what, needles, "a daemon log");
            assert_absent(&e.cli_stderr, what, needles, "the CLI's stderr");
            assert_absent(answer, what, needles, "an API answer");
        }
        assert!(
            answer.contains("<redacted>"),
            "the auth token is shown redacted"
        );
    }
}
