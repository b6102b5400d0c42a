//! `mayros daemon` as a real process, driven through the `mayros` CLI.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{not_running_message, Sandbox, DEADLINE};
use serde_json::Value;

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn lifecycle_cortex_status_and_restart() {
    let sb = Sandbox::new();
    let (mut daemon, ready) = sb.start_daemon();

    // daemon.json states the same facts as the ready line.
    let info = read_json(&sb.daemon_file());
    assert_eq!(info["api"], format!("127.0.0.1:{}", ready.port));
    assert_eq!(info["nodeId"], ready.node_id.as_str());
    let addr = |a: &Option<String>| a.as_deref().map_or(Value::Null, Value::from);
    assert_eq!(info["peerApi"], addr(&ready.peer_api));
    assert_eq!(info["quic"], addr(&ready.quic));
    assert_eq!(info["pid"], daemon.pid());
    assert_eq!(info["dataDir"], sb.data_dir_str());

    // put: created, then exists for the same triple.
    let out = sb.run(&["cortex", "put", "mayros:agent:a1", "mayros:likes", "tea"]);
    let id = out
        .ok()
        .trim()
        .strip_prefix("created ")
        .unwrap_or_else(|| panic!("{out:?}"))
        .to_string();
    assert_eq!(id.len(), 64);
    let again = sb.run(&["cortex", "put", "mayros:agent:a1", "mayros:likes", "tea"]);
    assert_eq!(again.ok().trim(), format!("exists {id}"));

    // Objects: JSON when they parse, else strings; --string forces a string.
    let keep = sb.run(&[
        "cortex",
        "put",
        "mayros:agent:a1",
        "mayros:age",
        "42",
        "--json",
    ]);
    let keep = keep.json();
    assert_eq!(keep["object"], 42);
    assert_eq!(keep["subject"], "<mayros:agent:a1>");
    let keep_id = keep["id"].as_str().unwrap().to_string();
    let forced = sb.run(&[
        "cortex",
        "put",
        "mayros:agent:a1",
        "mayros:code",
        "42",
        "--string",
        "--json",
    ]);
    assert_eq!(forced.json()["object"], "42");
    let node = sb.run(&[
        "cortex",
        "put",
        "mayros:agent:a1",
        "mayros:knows",
        r#"{"node":"mayros:agent:b2"}"#,
        "--json",
    ]);
    assert_eq!(node.json()["object"]["node"], "<mayros:agent:b2>");
    let negative = sb.run(&[
        "cortex",
        "put",
        "mayros:agent:a1",
        "mayros:delta",
        "-5",
        "--json",
    ]);
    assert_eq!(negative.json()["object"], -5);

    // get: human and JSON.
    let got = sb.run(&["cortex", "get", &id]);
    let text = got.ok();
    assert!(
        text.starts_with("<mayros:agent:a1> <mayros:likes> \"tea\"\n"),
        "{text}"
    );
    assert!(text.contains(&id));
    let got = sb.run(&["cortex", "get", &id, "--json"]).json();
    assert_eq!(got["object"], "tea");
    assert_eq!(got["predicate"], "<mayros:likes>");

    // list: filters, paging and the count line.
    let list = sb.run(&["cortex", "list", "--subject", "mayros:agent:a1"]);
    let text = list.ok();
    assert!(text.trim_end().ends_with("5 of 5"), "{text}");
    assert!(text.contains(&id));
    let page = sb
        .run(&[
            "cortex",
            "list",
            "--predicate",
            "mayros:likes",
            "--limit",
            "10",
            "--json",
        ])
        .json();
    assert_eq!(page["total"], 1);
    assert_eq!(page["triples"][0]["id"], id.as_str());
    let first = sb.run(&["cortex", "list", "--limit", "2", "--offset", "1"]);
    assert!(
        first
            .ok()
            .trim_end()
            .ends_with("2 of 5 (from offset 1); more with --offset 3"),
        "{first:?}"
    );

    // delete, then the id is gone.
    let del = sb.run(&["cortex", "delete", &id]);
    assert_eq!(del.ok().trim(), format!("deleted {id}"));
    let gone = sb.run(&["cortex", "get", &id]);
    assert!(gone.fails_with(1).contains("no triple with id"), "{gone:?}");
    let gone = sb.run(&["cortex", "delete", &id]);
    assert!(gone.fails_with(1).contains("no triple with id"), "{gone:?}");

    // sync status --json: the engine's own shape; the data dir may also come after the
    // subcommand or from the environment.
    let mut cmd = sb.command();
    cmd.env("MAYROS_DATA_DIR", sb.data_dir())
        .args(["sync", "status", "--json"]);
    let status = common::Proc::spawn(cmd);
    let status = wait_output(status);
    let status: Value = serde_json::from_str(&status).unwrap();
    let mode = status["mode"].as_str().unwrap();
    assert!(["native", "polled", "none"].contains(&mode), "{status}");
    assert!(!status["modeReason"].as_str().unwrap().is_empty());
    assert_eq!(status["nodeId"], ready.node_id.as_str());
    assert_eq!(status["tripleCount"], 4);
    assert_eq!(status["cortex"]["backend"], "embedded");
    assert!(status["warnings"].as_array().unwrap().is_empty());
    let human = sb.run_bare(&["sync", "status", "--data-dir", &sb.data_dir_str()]);
    let human = human.ok();
    assert!(
        human.starts_with(&format!("mode       {mode} — ")),
        "{human}"
    );
    assert!(human.contains(&ready.node_id));
    assert!(human.contains("triples    4"), "{human}");

    // The ready line is the only stdout line while running.
    assert_eq!(daemon.stdout_lines(), vec![ready.line.clone()]);
    assert!(daemon.next_line(Duration::ZERO).is_none());

    // SIGTERM: clean exit 0, daemon.json removed, still only the one stdout line.
    daemon.signal(libc::SIGTERM);
    let status = daemon
        .wait_exit(DEADLINE)
        .expect("daemon exits after SIGTERM");
    assert_eq!(status.code(), Some(0), "stderr:\n{}", daemon.stderr());
    assert!(!sb.daemon_file().exists(), "daemon.json is removed");
    assert_eq!(daemon.stdout_lines(), vec![ready.line.clone()]);
    let after = sb.run(&["sync", "status"]);
    assert!(after
        .fails_with(1)
        .contains(&not_running_message(&sb.data_dir_str())));

    // Restart on the same data dir: same node id, the triples are still there.
    let (mut daemon, again) = sb.start_daemon();
    assert_eq!(again.node_id, ready.node_id);
    let kept = sb.run(&["cortex", "get", &keep_id, "--json"]).json();
    assert_eq!(kept["object"], 42);
    let gone = sb.run(&["cortex", "get", &id]);
    gone.fails_with(1);

    // SIGINT stops it as cleanly.
    daemon.signal(libc::SIGINT);
    let status = daemon
        .wait_exit(DEADLINE)
        .expect("daemon exits after SIGINT");
    assert_eq!(status.code(), Some(0), "stderr:\n{}", daemon.stderr());
    assert!(!sb.daemon_file().exists());
}

fn wait_output(mut proc: common::Proc) -> String {
    let status = proc.wait_exit(common::COMMAND_DEADLINE).unwrap();
    assert_eq!(status.code(), Some(0), "stderr:\n{}", proc.stderr());
    proc.stdout_text()
}

#[test]
fn an_invalid_config_file_stops_the_daemon_naming_key_and_file() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.data_dir()).unwrap();
    std::fs::write(sb.config_file(), r#"{"sync":{"intervalSeconds":"x"}}"#).unwrap();
    let mut daemon = sb.spawn_daemon(&[]);
    let status = daemon.wait_exit(DEADLINE).expect("daemon exits");
    assert_eq!(status.code(), Some(1));
    let stderr = daemon.stderr();
    assert!(stderr.contains("sync.intervalSeconds"), "{stderr}");
    assert!(
        stderr.contains(&sb.config_file().display().to_string()),
        "{stderr}"
    );
    assert!(daemon.stdout_lines().is_empty(), "no ready line");
    assert!(!sb.daemon_file().exists());

    // config check agrees, in both forms.
    let check = sb.run(&["config", "check"]);
    assert!(check.fails_with(1).contains("sync.intervalSeconds"));
    let check = sb.run(&["config", "check", "--json"]);
    assert_eq!(check.code, Some(1));
    let body: Value = serde_json::from_str(&check.stdout).unwrap();
    assert_eq!(body["ok"], false);
    assert_eq!(body["key"], "sync.intervalSeconds");
}

#[test]
fn an_explicit_config_file_is_used() {
    let sb = Sandbox::new();
    let file = sb.root().join("elsewhere.json");
    std::fs::write(&file, r#"{"namespace":"bad:ns"}"#).unwrap();
    let mut daemon = sb.spawn_daemon(&["--config", file.to_str().unwrap()]);
    let status = daemon.wait_exit(DEADLINE).expect("daemon exits");
    assert_eq!(status.code(), Some(1));
    assert!(daemon.stderr().contains("namespace"), "{}", daemon.stderr());
}

#[test]
fn an_out_of_range_value_is_clamped_with_a_warning() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.data_dir()).unwrap();
    std::fs::write(sb.config_file(), r#"{"sync":{"intervalSeconds":5}}"#).unwrap();
    let (_daemon, _ready) = sb.start_daemon();
    let status = sb.run(&["sync", "status", "--json"]).json();
    let warnings = status["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("sync.intervalSeconds")),
        "{status}"
    );
    let human = sb.run(&["sync", "status"]);
    assert!(
        human.ok().contains("warning    sync.intervalSeconds"),
        "{human:?}"
    );
    assert_eq!(
        sb.run(&["config", "get", "sync.intervalSeconds"])
            .ok()
            .trim(),
        "10"
    );
    let check = sb.run(&["config", "check"]);
    let text = check.ok();
    assert!(text.starts_with("config OK"), "{text}");
    assert!(text.contains("sync.intervalSeconds"), "{text}");
}

#[test]
fn a_taken_port_fails_naming_the_flag() {
    let sb = Sandbox::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut cmd = sb.command();
    cmd.args(["daemon", "--data-dir"]).arg(sb.data_dir()).args([
        "--api",
        &addr,
        "--peer-api",
        "127.0.0.1:0",
    ]);
    let mut daemon = common::Proc::spawn(cmd);
    let status = daemon.wait_exit(DEADLINE).expect("daemon exits");
    assert_eq!(status.code(), Some(1));
    let stderr = daemon.stderr();
    assert!(stderr.contains("--api"), "{stderr}");
    assert!(stderr.contains(&addr), "{stderr}");
    assert!(daemon.stdout_lines().is_empty());
}

#[test]
fn a_second_daemon_on_the_same_data_dir_is_refused() {
    let sb = Sandbox::new();
    let (_first, ready) = sb.start_daemon();
    let mut second = sb.spawn_daemon(&[]);
    let status = second.wait_exit(DEADLINE).expect("second daemon exits");
    assert_eq!(status.code(), Some(1));
    assert!(
        second.stderr().contains("already running"),
        "{}",
        second.stderr()
    );
    // The first one still owns daemon.json.
    let info = read_json(&sb.daemon_file());
    assert_eq!(info["api"], format!("127.0.0.1:{}", ready.port));
}

#[test]
fn a_crashed_daemon_leaves_a_stale_file_that_is_handled() {
    let sb = Sandbox::new();
    let (mut daemon, ready) = sb.start_daemon();
    daemon.kill_hard();
    assert!(
        sb.daemon_file().exists(),
        "SIGKILL leaves daemon.json behind"
    );

    let status = sb.run(&["sync", "status"]);
    assert!(
        status
            .fails_with(1)
            .contains(&not_running_message(&sb.data_dir_str())),
        "{status:?}"
    );
    let put = sb.run(&["cortex", "put", "s", "p", "o"]);
    assert!(put
        .fails_with(1)
        .contains(&not_running_message(&sb.data_dir_str())));
    // config commands fall back to the file.
    sb.run(&["config", "set", "sync.autoSync", "true"]).ok();
    assert_eq!(read_json(&sb.config_file())["sync"]["autoSync"], true);

    // A new daemon starts over the stale file and keeps the identity.
    let (_daemon, again) = sb.start_daemon();
    assert_eq!(again.node_id, ready.node_id);
    assert_eq!(
        sb.run(&["config", "get", "sync.autoSync"]).ok().trim(),
        "true"
    );
}

#[test]
fn config_set_while_running_is_applied_and_saved() {
    let sb = Sandbox::new();
    let (_daemon, _ready) = sb.start_daemon();

    let set = sb.run(&["config", "set", "sync.intervalSeconds", "120"]);
    let text = set.ok();
    assert!(text.contains("sync.intervalSeconds = 120"), "{text}");
    assert!(text.contains("running engine applied it"), "{text}");
    assert_eq!(
        sb.run(&["config", "get", "sync.intervalSeconds"])
            .ok()
            .trim(),
        "120"
    );
    assert_eq!(
        sb.run(&["config", "get", "sync.intervalSeconds", "--json"])
            .json(),
        120
    );
    assert_eq!(read_json(&sb.config_file())["sync"]["intervalSeconds"], 120);
    let whole = sb.run(&["config", "get", "--json"]).json();
    assert_eq!(whole["sync"]["intervalSeconds"], 120);
    assert_eq!(whole["namespace"], "mayros");

    // Unknown keys and bad values are refused, naming the key; the file is unchanged.
    let bogus = sb.run(&["config", "set", "sync.bogus", "1"]);
    assert!(bogus.fails_with(1).contains("sync.bogus"), "{bogus:?}");
    let bad = sb.run(&["config", "set", "sync.conflictStrategy", "newest"]);
    assert!(
        bad.fails_with(1).contains("sync.conflictStrategy"),
        "{bad:?}"
    );
    // The running engine wrote it: only what the user set, with the file's version.
    assert_eq!(
        read_json(&sb.config_file()),
        serde_json::json!({"version": 1, "sync": {"intervalSeconds": 120}})
    );

    // A clamped value is saved as given, applied clamped, with a warning.
    let low = sb.run(&["config", "set", "sync.intervalSeconds", "5"]);
    assert!(low.ok().contains("sync.intervalSeconds = 10"), "{low:?}");
    assert!(low.stderr.contains("out of range"), "{low:?}");
    let status = sb.run(&["sync", "status", "--json"]).json();
    assert!(
        status["warnings"][0]
            .as_str()
            .unwrap()
            .contains("sync.intervalSeconds"),
        "{status}"
    );

    // unset restores the default.
    sb.run(&["config", "unset", "sync.intervalSeconds"]).ok();
    assert_eq!(
        sb.run(&["config", "get", "sync.intervalSeconds"])
            .ok()
            .trim(),
        "300"
    );
    assert!(sb.run(&["sync", "status", "--json"]).json()["warnings"]
        .as_array()
        .unwrap()
        .is_empty());
}
