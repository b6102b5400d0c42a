//! `mayros ui` against a real daemon (DESIGN §6.2): it prints the web UI's address with the
//! control token in the fragment, the address serves the page without a token, a desktop
//! session gets `xdg-open` and a missing opener is not an error.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{not_running_message, run_command, Node, Sandbox};

/// `GET /` over a plain socket: (status line, headers and body as text).
fn http_get_root(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn ui_command(node: &Node, display: Option<&str>, path: &std::path::Path) -> common::Output {
    let mut cmd = node.sb.command();
    cmd.arg("--data-dir").arg(node.sb.data_dir()).arg("ui");
    cmd.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY");
    if let Some(d) = display {
        cmd.env("DISPLAY", d);
    }
    cmd.env("PATH", path);
    run_command(cmd)
}

#[test]
fn prints_the_address_with_the_token_and_it_serves_the_page() {
    let node = Node::start("ui-node");
    let empty = tempfile::tempdir().unwrap();
    // No desktop: print only (PATH has no opener, which must not matter).
    let out = ui_command(&node, None, empty.path());
    let stdout = out.ok();
    let token = std::fs::read_to_string(node.sb.data_dir().join("control.token")).unwrap();
    let expected = format!(
        "http://127.0.0.1:{}/#token={}\n",
        node.ready.port,
        token.trim()
    );
    assert_eq!(stdout, expected);
    let page = http_get_root(node.ready.port);
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("<title>Mayros Sync</title>"), "{page}");
    assert!(
        !page.contains(token.trim()),
        "the page holds no secret: {page}"
    );
}

#[test]
fn a_desktop_session_opens_the_browser_and_a_missing_opener_is_fine() {
    let node = Node::start("ui-desktop");
    // A fake xdg-open that records its argument.
    let bin = tempfile::tempdir().unwrap();
    let record = bin.path().join("opened");
    let script = bin.path().join("xdg-open");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", record.display()),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = ui_command(&node, Some(":99"), bin.path());
    let url = out.ok().trim().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !record.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let opened = std::fs::read_to_string(&record).unwrap_or_default();
    // The script may still be writing: wait for the whole address.
    let mut opened = opened;
    while opened != url && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        opened = std::fs::read_to_string(&record).unwrap_or_default();
    }
    assert_eq!(opened, url, "xdg-open got the address");

    // A desktop but no opener on PATH: still exit 0 with the address.
    let empty = tempfile::tempdir().unwrap();
    let out = ui_command(&node, Some(":99"), empty.path());
    assert_eq!(out.ok().trim(), url);
}

#[test]
fn without_an_engine_it_says_how_to_start_one() {
    let sb = Sandbox::new();
    let out = sb.run(&["ui"]);
    let stderr = out.fails_with(1);
    assert!(
        stderr.contains(&not_running_message(&sb.data_dir_str())),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "{out:#?}");
}
