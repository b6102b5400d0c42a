//! Click-to-pair end to end between real `mayros` daemons on 127.0.0.1 (DESIGN §7.2): both sides
//! print the same code, accept pairs them and they sync; reject and a second simultaneous
//! request behave as specified.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{wait_until, Node, Proc};

impl Node {
    fn quic(&self) -> String {
        self.ready.quic.clone().unwrap()
    }

    /// Starts `mayros sync pair <target>` in the background.
    fn pair_with(&self, target: &str) -> Proc {
        let mut cmd = self.sb.command();
        cmd.arg("--data-dir")
            .arg(self.sb.data_dir())
            .args(["sync", "pair", target]);
        Proc::spawn(cmd)
    }

    fn requests(&self) -> serde_json::Value {
        self.sb.run(&["sync", "requests", "--json"]).json()
    }

    fn request_code(&self, from: &str) -> Option<String> {
        self.requests()
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["nodeId"] == from)
            .map(|r| r["code"].as_str().unwrap().to_string())
    }
}

/// `a` asks `b` to pair; returns the running `mayros sync pair` once `b` lists the request.
fn request(a: &Node, b: &Node) -> Proc {
    let mut pairing = a.pair_with(&b.quic());
    code_line(&mut pairing);
    assert!(
        wait_until(Duration::from_secs(10), || b.request_code(a.id()).is_some()),
        "{} lists the request",
        b.ready.node_id
    );
    pairing
}

fn code_line(p: &mut Proc) -> String {
    let Some(line) = p.next_line(Duration::from_secs(20)) else {
        panic!("no first line; stderr: {}", p.stderr());
    };
    assert!(line.starts_with("code "), "first stdout line: {line:?}");
    let code = line.trim_start_matches("code ").to_string();
    assert_eq!(code.len(), 7, "{line}");
    assert!(code.chars().enumerate().all(|(i, c)| if i == 3 {
        c == ' '
    } else {
        c.is_ascii_digit()
    }));
    code
}

#[test]
fn pair_then_accept_shows_one_code_on_both_sides_and_they_sync() {
    let a = Node::start("alpha");
    let b = Node::start("bravo");
    let mut pairing = a.pair_with(&b.quic());
    let code = code_line(&mut pairing);
    assert!(
        wait_until(Duration::from_secs(10), || b.request_code(a.id()).is_some()),
        "B lists the request"
    );
    assert_eq!(
        b.request_code(a.id()).unwrap(),
        code,
        "same code on both sides"
    );
    let human = b.sb.run(&["sync", "requests"]);
    assert!(human.ok().contains(&format!("code {code}")), "{human:#?}");

    let accepted = b.sb.run(&["sync", "pair", "--accept", a.id()]);
    if accepted.code != Some(0) {
        let tail = |s: String| s.lines().rev().take(15).collect::<Vec<_>>().join("\n");
        panic!(
            "accept failed: {accepted:#?}\nA log (reversed):\n{}\nB log (reversed):\n{}",
            tail(a.daemon.stderr()),
            tail(b.daemon.stderr())
        );
    }
    let out = accepted.ok();
    assert_eq!(
        out.lines().next().unwrap(),
        format!("code {code}"),
        "{accepted:#?}"
    );
    assert!(out.contains("paired with alpha"), "{accepted:#?}");
    let status = pairing
        .wait_exit(Duration::from_secs(20))
        .expect("pair exits");
    assert!(status.success(), "{}", pairing.stderr());
    assert!(pairing.stdout_text().contains("paired with bravo"));

    // Paired: both list each other, and a write on A reaches B by gossip.
    let peers = a.sb.run(&["sync", "peers", "--json"]).json();
    assert!(
        peers
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["nodeId"] == b.id()),
        "{peers}"
    );
    assert!(
        write_reaches(&a, &b, "mayros:agent:x"),
        "the paired devices sync"
    );
    assert!(b.requests().as_array().unwrap().is_empty());
}

#[test]
fn a_rejected_request_ends_the_pairing_with_exit_1() {
    let a = Node::start("alpha");
    let b = Node::start("bravo");
    let mut pairing = request(&a, &b);
    b.sb.run(&["sync", "pair", "--reject", a.id()]).ok();
    let status = pairing
        .wait_exit(Duration::from_secs(20))
        .expect("pair exits");
    assert_eq!(status.code(), Some(1), "{}", pairing.stderr());
    assert!(
        pairing.stderr().contains("rejected"),
        "{}",
        pairing.stderr()
    );
    let peers = b.sb.run(&["sync", "peers", "--json"]).json();
    assert!(
        peers.as_array().unwrap().is_empty(),
        "nobody paired: {peers}"
    );
    // Accepting or rejecting what is not pending is an error naming the node.
    let again = b.sb.run(&["sync", "pair", "--reject", a.id()]);
    assert!(again.fails_with(1).contains(a.id()), "{again:#?}");
}

#[test]
fn two_simultaneous_requests_are_listed_apart_with_their_own_codes() {
    let a = Node::start("alpha");
    let c = Node::start("charlie");
    let b = Node::start("bravo");
    let mut from_a = a.pair_with(&b.quic());
    let mut from_c = c.pair_with(&b.quic());
    let code_a = code_line(&mut from_a);
    let code_c = code_line(&mut from_c);
    assert!(wait_until(Duration::from_secs(10), || b
        .requests()
        .as_array()
        .unwrap()
        .len()
        == 2));
    assert_eq!(b.request_code(a.id()).unwrap(), code_a);
    assert_eq!(b.request_code(c.id()).unwrap(), code_c);
    // Accept one, reject the other.
    b.sb.run(&["sync", "pair", "--accept", c.id()]).ok();
    b.sb.run(&["sync", "pair", "--reject", a.id()]).ok();
    assert!(from_c.wait_exit(Duration::from_secs(20)).unwrap().success());
    assert_eq!(
        from_a.wait_exit(Duration::from_secs(20)).unwrap().code(),
        Some(1)
    );
}

#[test]
fn bad_targets_are_named() {
    let a = Node::start("alpha");
    let out = a.sb.run(&["sync", "pair", "not-a-host:1"]);
    let err = out.fails_with(1);
    assert!(err.contains("not-a-host"), "{out:#?}");
    let unknown = "ab".repeat(32);
    let out = a.sb.run(&["sync", "pair", &unknown]);
    assert!(out.fails_with(1).contains("no address known"), "{out:#?}");
}

#[test]
fn an_unanswered_request_expires_after_60_seconds() {
    let a = Node::start("alpha");
    let b = Node::start("bravo");
    let mut pairing = request(&a, &b);
    let status = pairing
        .wait_exit(Duration::from_secs(90))
        .expect("the initiator gives up once the request expires");
    assert_eq!(status.code(), Some(1), "{}", pairing.stderr());
    assert!(pairing.stderr().contains("expired"), "{}", pairing.stderr());
    assert!(
        b.requests().as_array().unwrap().is_empty(),
        "the request is gone"
    );
}

/// Writes `(subject, mayros:likes, "tea")` on `from` and answers whether `to` can read it
/// within 15 s.
fn write_reaches(from: &Node, to: &Node, subject: &str) -> bool {
    let put = from
        .sb
        .run(&["cortex", "put", subject, "mayros:likes", "tea", "--json"])
        .json();
    let id = put["id"].as_str().unwrap().to_string();
    wait_until(Duration::from_secs(15), || {
        to.sb.run(&["cortex", "get", &id]).code == Some(0)
    })
}

/// `joiner` joins `inviter`'s group with an invite code.
fn join_by_invite(inviter: &Node, joiner: &Node) {
    let out = inviter.sb.run(&["sync", "invite"]);
    let code = out.ok().lines().last().unwrap().to_string();
    joiner.sb.run(&["sync", "pair", "--code", &code]).ok();
}

#[test]
fn pairing_two_devices_of_different_groups_needs_a_choice_and_says_what_merges() {
    let (a, c) = (Node::start("alpha"), Node::start("charlie"));
    let (b, d) = (Node::start("bravo"), Node::start("delta"));
    join_by_invite(&a, &c);
    join_by_invite(&b, &d);
    // The current seed in a device's secret file (bare 32 bytes, or `MSR2` + JSON).
    let seed_of = |n: &Node| {
        let bytes = std::fs::read(n.sb.data_dir().join("secrets").join("group-seed")).ok()?;
        let ring = mayros_sync_proto::membership::seeds::SeedRing::decode(&bytes).unwrap();
        ring.current().map(|s| s.0)
    };
    let a_seed = seed_of(&a);
    assert!(a_seed.is_some() && a_seed != seed_of(&b), "two groups");

    let mut pairing = request(&a, &b);
    let refused = b.sb.run(&["sync", "pair", "--accept", a.id()]);
    let err = refused.fails_with(1);
    assert!(
        err.contains("--group mine") && err.contains("--group theirs") && err.contains("merge"),
        "{refused:#?}"
    );
    // Still pending: B joins A's group.
    let joined =
        b.sb.run(&["sync", "pair", "--accept", a.id(), "--group", "theirs"]);
    assert!(joined.ok().contains("paired with alpha"), "{joined:#?}");
    assert!(pairing
        .wait_exit(Duration::from_secs(20))
        .unwrap()
        .success());
    assert_eq!(seed_of(&b), a_seed, "B now holds A's group seed");
    // Whichever of the two seeds sorts first, B syncs in A's group: a write on A reaches B,
    // and A and B settle on one seed (the rosters merged, so the merged group's seeds converge).
    assert!(
        write_reaches(&a, &b, "mayros:agent:y"),
        "B syncs in A's group"
    );
    assert!(
        wait_until(Duration::from_secs(15), || seed_of(&a) == seed_of(&b)),
        "A and B hold one current seed"
    );
}
