//! The `mayros` CLI without a running engine: usage errors, the "not running" message, config
//! files edited directly, and answers of a stand-in engine that the CLI cannot read.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;

use common::{not_running_message, Sandbox};
use serde_json::{json, Value};

#[test]
fn usage_errors_exit_2() {
    let sb = Sandbox::new();
    for args in [
        &["frobnicate"][..],
        &[][..],
        &["cortex"][..],
        &["cortex", "get", "not-an-id"][..],
        &["cortex", "put", "s", "p"][..],
        &["daemon", "--api", "nonsense"][..],
        &["sync", "status", "--bogus"][..],
        &["sync", "pair"][..],
        &["sync", "pair", "mayros1-x"][..],
        &["sync", "pair", "--code", "mayros1-x", "box.local:19092"][..],
        &["sync", "pair", "nope", "127.0.0.1:19092"][..],
        &["sync", "hook", "agent_end"][..],
        &["sync", "pause", "0"][..],
        &["sync", "conflicts", "restore"][..],
        &["sync", "review", "accept"][..],
        &["sync", "review", "forget", "ab"][..],
    ] {
        let out = sb.run_bare(args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:#?}");
        assert!(out.stdout.is_empty(), "{args:?}: usage errors go to stderr");
    }
    let help = sb.run_bare(&["--help"]);
    assert!(help.ok().contains("Usage: mayros"));
    let help = sb.run_bare(&["cortex", "put", "--help"]);
    assert!(help.ok().contains("--string"));
    assert!(sb.run_bare(&["--version"]).ok().starts_with("mayros "));

    // An invite code given as a target: the usage error says how to use it.
    let out = sb.run_bare(&["sync", "pair", "mayros1-x"]);
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.stderr.contains("mayros sync pair --code"), "{out:#?}");
    let help = sb.run_bare(&["sync", "pair", "--help"]);
    assert!(help.ok().contains("--code <INVITE>"));
}

#[test]
fn commands_without_an_engine_say_how_to_start_one() {
    let sb = Sandbox::new();
    let message = not_running_message(&sb.data_dir_str());
    for args in [
        &["sync", "status"][..],
        &["sync", "status", "--json"][..],
        &["cortex", "list"][..],
        &["cortex", "put", "s", "p", "o"][..],
        &["sync", "invite"][..],
        &["sync", "pair", "--code", "mayros1-x"][..],
        &["sync", "peers", "--json"][..],
        &["sync", "now"][..],
        &["sync", "hook", "agent-end"][..],
        &["sync", "conflicts"][..],
        &["sync", "review"][..],
        &["sync", "pause", "5"][..],
        &["sync", "resume"][..],
    ] {
        let out = sb.run(args);
        assert!(out.fails_with(1).contains(&message), "{args:?}: {out:#?}");
        assert!(out.stdout.is_empty());
    }
    // The environment variable names the data dir too.
    let mut cmd = sb.command();
    cmd.env("MAYROS_DATA_DIR", sb.data_dir())
        .args(["sync", "status"]);
    let mut proc = common::Proc::spawn(cmd);
    let status = proc.wait_exit(common::COMMAND_DEADLINE).unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(proc.stderr().contains(&message), "{}", proc.stderr());
}

#[test]
fn config_set_get_check_on_the_file() {
    let sb = Sandbox::new();
    let file = sb.config_file();
    let get = sb.run(&["config", "get"]);
    let text = get.ok();
    assert!(text.contains("does not exist: all defaults"), "{text}");
    assert!(text.contains("sync.intervalSeconds = 300"), "{text}");

    let set = sb.run(&["config", "set", "sync.intervalSeconds", "120"]);
    assert!(set.ok().contains("no engine is running"), "{set:?}");
    sb.run(&["config", "set", "discovery.interfaces", r#"["lo"]"#])
        .ok();
    sb.run(&["config", "set", "cortex.authToken", "12345"]).ok();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        doc,
        json!({"sync": {"intervalSeconds": 120}, "discovery": {"interfaces": ["lo"]}, "cortex": {"authToken": "12345"}})
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the file may hold a token");

    assert_eq!(
        sb.run(&["config", "get", "sync.intervalSeconds"]).ok(),
        "120\n"
    );
    assert_eq!(
        sb.run(&["config", "get", "cortex.authToken"]).ok(),
        "12345\n"
    );
    assert_eq!(
        sb.run(&["config", "get", "sync", "--json"]).json()["intervalSeconds"],
        120
    );
    let unknown = sb.run(&["config", "get", "sync.intervalSecs"]);
    let stderr = unknown.fails_with(1);
    assert!(stderr.contains("sync.intervalSecs"), "{stderr}");
    assert!(stderr.contains("intervalSeconds"), "{stderr}");

    let check = sb.run(&["config", "check", "--json"]).json();
    assert_eq!(check["ok"], true);
    assert_eq!(check["path"], file.display().to_string());
    assert_eq!(check["exists"], true);

    // A bad value is refused and leaves the file alone.
    let before = std::fs::read_to_string(&file).unwrap();
    let bad = sb.run(&["config", "set", "sync.autoSync", "maybe"]);
    assert!(bad.fails_with(1).contains("sync.autoSync"), "{bad:?}");
    let bogus = sb.run(&["config", "set", "sync.bogus", "1"]);
    assert!(bogus.fails_with(1).contains("sync.bogus"), "{bogus:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);

    // A file that is not JSON is reported, not overwritten.
    std::fs::write(&file, "{not json").unwrap();
    let broken = sb.run(&["config", "set", "namespace", "work"]);
    assert!(
        broken.fails_with(1).contains("not valid JSON"),
        "{broken:?}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{not json");
}

#[test]
fn config_file_resolution_follows_the_daemon() {
    let sb = Sandbox::new();
    // No data dir given: the per-user config dir.
    let set = sb.run_bare(&["config", "set", "namespace", "work"]);
    set.ok();
    let default_file = sb.root().join("xdg-config/mayros-sync/config.json");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&default_file).unwrap()).unwrap();
    assert_eq!(doc, json!({"namespace": "work"}));
    assert_eq!(sb.run_bare(&["config", "get", "namespace"]).ok(), "work\n");
    // A data dir given: <data-dir>/config.json, which does not exist yet.
    assert_eq!(sb.run(&["config", "get", "namespace"]).ok(), "mayros\n");
    // --config wins, before or after the operation.
    let explicit = sb.root().join("explicit.json");
    let path = explicit.to_str().unwrap();
    sb.run(&[
        "config",
        "--config",
        path,
        "set",
        "ui.notifications",
        "false",
    ])
    .ok();
    assert_eq!(
        sb.run(&["config", "get", "ui.notifications", "--config", path])
            .ok(),
        "false\n"
    );
    assert!(!sb.config_file().exists());
}

/// Serves `connections` requests on a loopback port, answering each GET with `200` and the
/// body `routes` gives its path (`{}` for any other path); returns the port.
fn stand_in_engine(connections: usize, routes: fn(&str) -> &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            // The headers, up to the blank line (a GET has no body).
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let path = request_line.split(' ').nth(1).unwrap_or("/");
            let body = routes(path);
            write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        }
    });
    port
}

#[test]
fn an_answer_of_another_shape_fails_naming_the_request() {
    let port = stand_in_engine(4, |path| match path {
        "/api/v1/sync/status" => r#"{"mode":"native","modeReason":"test"}"#,
        "/api/v1/sync/peers" => r#"[{"nodeId":7}]"#,
        _ => "{}",
    });
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.data_dir()).unwrap();
    let info = json!({
        "api": format!("127.0.0.1:{port}"), "peerApi": null, "quic": null,
        "nodeId": "ab".repeat(32), "name": "stand-in", "pid": std::process::id(),
        "dataDir": sb.data_dir(), "configPath": sb.config_file(), "version": "0.0.0",
        "startedAtMs": 0
    });
    std::fs::write(sb.daemon_file(), info.to_string()).unwrap();
    std::fs::write(sb.data_dir().join("control.token"), "token").unwrap();

    let status = sb.run(&["sync", "status"]);
    let err = status.fails_with(1);
    assert!(status.stdout.is_empty(), "{status:#?}");
    assert!(
        err.contains("GET /api/v1/sync/status: the engine's answer does not have the expected shape: missing field"),
        "{status:#?}"
    );
    assert!(!err.contains("panicked"), "{status:#?}");
    // --json prints the engine's body as it is.
    let json = sb.run(&["sync", "status", "--json"]);
    assert_eq!(json.json(), json!({"mode": "native", "modeReason": "test"}));

    let peers = sb.run(&["sync", "peers"]);
    let err = peers.fails_with(1);
    assert!(
        err.contains("GET /api/v1/sync/peers: the engine's answer does not have the expected shape: invalid type"),
        "{peers:#?}"
    );
    assert_eq!(
        sb.run(&["sync", "peers", "--json"]).json(),
        json!([{"nodeId": 7}])
    );
}
