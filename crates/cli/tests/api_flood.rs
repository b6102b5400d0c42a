//! 20 clients × 1 000 local-API requests against a real engine (issue 16): every request is
//! answered, the engine still answers afterwards, and its memory stays bounded. Prints the
//! figures (`--nocapture`).
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::Sandbox;

const CLIENTS: u64 = 20;
const REQUESTS: u64 = 1_000;
/// Peak resident memory the flood may add (debug build).
const MAX_GROWTH_KB: u64 = 150 * 1024;

/// A keep-alive HTTP/1.1 connection to the local API.
struct Conn {
    port: u16,
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        Conn {
            port,
            reader: BufReader::new(s),
        }
    }

    fn send(&mut self, method: &str, path: &str, headers: &str, body: &str) -> u16 {
        let port = self.port;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.reader.get_mut().write_all(req.as_bytes()).unwrap();
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).unwrap();
        let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            self.reader.read_line(&mut h).unwrap();
            if h == "\r\n" {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).unwrap();
        status
    }
}

/// (current, peak) resident memory of `pid` in KiB.
fn rss_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[test]
fn twenty_clients_times_a_thousand_requests_leave_the_engine_answering_in_bounded_memory() {
    let sb = Sandbox::new();
    let mut daemon = sb.spawn_daemon(&[]);
    let ready = daemon.wait_ready();
    let port = ready.port;
    let pid = daemon.pid();
    assert_eq!(Conn::open(port).send("GET", "/api/v1/health", "", ""), 200);
    let (rss_before, _) = rss_kb(pid);

    let began = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            thread::spawn(move || {
                let mut conn = Conn::open(port);
                let json = "Content-Type: application/json\r\n";
                let foreign = "Origin: https://evil.example\r\nContent-Type: text/plain\r\n";
                let mut wrong = Vec::new();
                for i in 0..REQUESTS {
                    let (want, got) = match i % 4 {
                        0 => (200, conn.send("GET", "/api/v1/health", "", "")),
                        1 => (
                            200,
                            conn.send(
                                "POST",
                                "/api/v1/query",
                                json,
                                r#"{"predicate":"ex:n","limit":5}"#,
                            ),
                        ),
                        2 => (
                            403,
                            conn.send(
                                "POST",
                                "/api/v1/triples",
                                foreign,
                                r#"{"subject":"ex:evil","predicate":"ex:n","object":0}"#,
                            ),
                        ),
                        _ => {
                            let body = format!(
                                r#"{{"subject":"ex:client{c}","predicate":"ex:n","object":{i}}}"#
                            );
                            (201, conn.send("POST", "/api/v1/triples", json, &body))
                        }
                    };
                    if want != got {
                        wrong.push((i, want, got));
                    }
                }
                wrong
            })
        })
        .collect();
    for (c, h) in clients.into_iter().enumerate() {
        let wrong = h.join().unwrap();
        assert!(
            wrong.is_empty(),
            "client {c}: (request, wanted, got) {wrong:?}"
        );
    }
    let took = began.elapsed();

    // Still answering, with every write and none of the refused ones.
    let mut conn = Conn::open(port);
    assert_eq!(conn.send("GET", "/api/v1/health", "", ""), 200);
    let (rss_after, peak) = rss_kb(pid);
    let total = CLIENTS * REQUESTS;
    eprintln!(
        "{total} requests from {CLIENTS} clients in {took:.1?} ({:.0}/s); RSS {} MiB before, {} MiB after, peak {} MiB",
        total as f64 / took.as_secs_f64(),
        rss_before / 1024,
        rss_after / 1024,
        peak / 1024
    );
    assert!(
        peak.saturating_sub(rss_before) < MAX_GROWTH_KB,
        "peak RSS {peak} KiB grew more than {MAX_GROWTH_KB} KiB over {rss_before} KiB"
    );
    let stats = {
        let out = sb.run(&["cortex", "list", "--predicate", "ex:n", "--json"]);
        out.json()
    };
    assert_eq!(stats["total"], CLIENTS * REQUESTS / 4, "{stats}");
    daemon.kill_hard();
}
