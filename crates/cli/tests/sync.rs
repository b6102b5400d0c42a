//! `mayros sync …` against real daemons (DESIGN §3.2, §7.2, §8): invites, pairing, peers,
//! `sync now`, hooks, pause/resume and conflicts. Every daemon listens on 127.0.0.1 with free
//! ports and its own temp data dir, in polled mode (`sync.nativeP2pPreferred` false).
#![allow(clippy::unwrap_used)]

mod common;

use common::Node;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

impl Node {
    /// Starts a polled-mode engine named `name`.
    fn polled(name: &str) -> Node {
        Node::start_with(name, Some(&json!({"sync": {"nativeP2pPreferred": false}})))
    }

    fn short_id(&self) -> &str {
        &self.ready.node_id[..12]
    }

    fn peer_api(&self) -> &str {
        self.ready
            .peer_api
            .as_deref()
            .unwrap_or_else(|| panic!("the daemon serves no peer API: {}", self.ready.line))
    }

    /// `sync invite` (human form): the code on the last line.
    fn invite(&self) -> String {
        let out = self.run(&["sync", "invite"]);
        let text = out.ok();
        let last = text.lines().last().unwrap_or_else(|| panic!("{out:#?}"));
        assert!(
            last.starts_with("mayros1-") && !last.chars().any(char::is_whitespace),
            "the last line is the code alone: {out:#?}"
        );
        last.to_string()
    }

    /// `cortex put` → the id of the created triple.
    fn put(&self, s: &str, p: &str, o: &str) -> String {
        let out = self.run(&["cortex", "put", s, p, o, "--json"]).json();
        out["id"].as_str().unwrap().to_string()
    }
}

/// Pairs `joiner` into `inviter`'s group through an invite code and returns the code.
fn pair(inviter: &Node, joiner: &Node, inviter_name: &str) -> String {
    let code = inviter.invite();
    let out = joiner.run(&["sync", "pair", "--code", &code]);
    assert_eq!(
        out.ok().trim(),
        format!(
            "paired with {inviter_name} ({}) at {}",
            inviter.short_id(),
            inviter.peer_api()
        ),
        "{out:#?}"
    );
    code
}

fn rfc3339(v: &Value) -> OffsetDateTime {
    let text = v
        .as_str()
        .unwrap_or_else(|| panic!("expected an RFC 3339 string, got {v}"));
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("{v} is not RFC 3339: {e}"))
}

/// The documented `sync peers --json` fields (DESIGN §8, plus `lastError`).
const PEER_FIELDS: [&str; 12] = [
    "nodeId",
    "name",
    "endpoint",
    "quicAddr",
    "namespaces",
    "status",
    "lastSyncAt",
    "lastResult",
    "totalSyncs",
    "totalTriplesSynced",
    "failures",
    "lastError",
];

fn check_peer_shape(peer: &Value) {
    for field in PEER_FIELDS {
        assert!(peer.get(field).is_some(), "{field} missing from {peer}");
    }
    assert!(peer["namespaces"].is_array(), "{peer}");
    assert!(peer["status"].is_string(), "{peer}");
    for n in ["totalSyncs", "totalTriplesSynced", "failures"] {
        assert!(peer[n].is_u64(), "{n} in {peer}");
    }
}

#[test]
fn invite_prints_the_code_alone_on_the_last_line() {
    let a = Node::polled("alpha");

    let out = a.run(&["sync", "invite"]);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 2, "an explanation, then the code: {out:#?}");
    let code = *lines.last().unwrap();
    assert!(code.starts_with("mayros1-"), "{out:#?}");
    assert!(!code.chars().any(char::is_whitespace));
    assert!(
        !lines[..lines.len() - 1].iter().any(|l| l.contains(code)),
        "the code appears once, on the last line: {out:#?}"
    );

    let json = a.run(&["sync", "invite", "--json"]).json();
    let fresh = json["code"].as_str().unwrap();
    assert!(fresh.starts_with("mayros1-") && fresh != code, "{json}");
    let left = rfc3339(&json["expiresAt"]) - OffsetDateTime::now_utc();
    assert!(
        left.whole_seconds() > 8 * 60 && left.whole_seconds() <= 10 * 60 + 5,
        "valid 10 minutes: {json}"
    );
}

#[test]
fn single_engine_peers_hooks_pause_and_conflicts() {
    let a = Node::polled("alpha");

    // No peers yet.
    assert_eq!(a.run(&["sync", "peers", "--json"]).json(), json!([]));
    let peers = a.run(&["sync", "peers"]);
    assert!(peers.ok().contains("no paired devices"), "{peers:#?}");

    // Hooks with sync.autoSync false (the default) do not run.
    for hook in ["agent-end", "config-change"] {
        let body = a.run(&["sync", "hook", hook, "--json"]).json();
        assert_eq!(body["ran"], false, "{hook}: {body}");
        assert!(body["reason"].is_string(), "{body}");
        let human = a.run(&["sync", "hook", hook]);
        assert!(human.ok().starts_with("skipped: "), "{human:#?}");
    }

    // sync now with an unknown peer fails.
    let unknown = a.run(&["sync", "now", "nobody"]);
    assert!(!unknown.fails_with(1).trim().is_empty(), "{unknown:#?}");

    // Garbage invite codes fail with the engine's message.
    for garbage in ["mayros1-AAAAAAAA", "hello"] {
        let out = a.run(&["sync", "pair", "--code", garbage]);
        assert!(out.fails_with(1).starts_with("error: "), "{out:#?}");
        assert!(out.stdout.is_empty(), "{out:#?}");
    }

    // The seed's form needs a roster member.
    let stranger = "ab".repeat(32);
    let out = a.run(&["sync", "pair", &stranger, "127.0.0.1:9"]);
    out.fails_with(1);

    // Pause for some minutes, until resumed, then resume.
    let paused = a.run(&["sync", "pause", "5", "--json"]).json();
    let left = rfc3339(&paused["pausedUntil"]) - OffsetDateTime::now_utc();
    assert!(
        left.whole_seconds() > 4 * 60 && left.whole_seconds() <= 5 * 60 + 5,
        "{paused}"
    );
    let status = a.run(&["sync", "status", "--json"]).json();
    assert_eq!(status["paused"], true, "{status}");
    let human = a.run(&["sync", "status"]);
    assert!(human.ok().contains("paused     until 20"), "{human:#?}");
    let forever = a.run(&["sync", "pause"]);
    assert_eq!(
        forever.ok().trim(),
        "sync paused until resumed (mayros sync resume)"
    );
    let status = a.run(&["sync", "status", "--json"]).json();
    assert_eq!(status["paused"], true, "{status}");
    assert_eq!(status["pausedUntil"], Value::Null, "{status}");
    let resumed = a.run(&["sync", "resume"]);
    assert_eq!(resumed.ok().trim(), "sync resumed");
    let status = a.run(&["sync", "status", "--json"]).json();
    assert_eq!(status["paused"], false, "{status}");

    // No conflicts yet; restoring an unknown one fails.
    assert_eq!(a.run(&["sync", "conflicts", "--json"]).json(), json!([]));
    assert_eq!(a.run(&["sync", "conflicts"]).ok().trim(), "no conflicts");
    a.run(&["sync", "conflicts", "restore", "999999"])
        .fails_with(1);

    // Nothing held for review; deciding about an unknown item fails with the engine's message.
    assert_eq!(a.run(&["sync", "review", "--json"]).json(), json!([]));
    assert_eq!(
        a.run(&["sync", "review"]).ok().trim(),
        "nothing held for review"
    );
    let unknown = "0".repeat(64);
    for decision in ["accept", "discard"] {
        let out = a.run(&["sync", "review", decision, &unknown]);
        let err = out.fails_with(1);
        assert!(err.contains("is held for review"), "{err}");
    }
    let status = a.run(&["sync", "status", "--json"]).json();
    assert_eq!(status["reviewCount"], 0, "{status}");
}

#[test]
fn pairing_by_invite_then_sync_now() {
    let a = Node::polled("alpha");
    let b = Node::polled("beta");
    let c = Node::polled("gamma");

    let code = pair(&a, &b, "alpha");

    // The code is single use: a second use fails, saying so; garbage fails too.
    let again = c.run(&["sync", "pair", "--code", &code]);
    let stderr = again.fails_with(1);
    assert!(stderr.contains("used"), "{again:#?}");
    c.run(&["sync", "pair", "--code", "mayros1-garbage"])
        .fails_with(1);

    // A write on A reaches B with `sync now` on B.
    let id = a.put("mayros:agent:a1", "mayros:likes", "tea");
    let now = b.run(&["sync", "now"]);
    let text = now.ok();
    assert!(
        text.lines().any(|l| l.starts_with("ok alpha received=")
            && l.contains(" applied=")
            && l.ends_with(" ms")),
        "{now:#?}"
    );
    let got = b.run(&["cortex", "get", &id, "--json"]).json();
    assert_eq!(got["object"], "tea");

    // By name or node id, as JSON.
    for peer in ["alpha", a.id()] {
        let body = b.run(&["sync", "now", peer, "--json"]).json();
        assert_eq!(body["mode"], "polled", "{body}");
        assert_eq!(body["deferred"], false, "{body}");
        let results = body["results"].as_array().unwrap();
        assert_eq!(results.len(), 1, "{body}");
        assert_eq!(results[0]["ok"], true, "{body}");
        assert_eq!(results[0]["nodeId"], a.id(), "{body}");
        assert_eq!(results[0]["name"], "alpha", "{body}");
    }
    let unknown = b.run(&["sync", "now", "nobody"]);
    unknown.fails_with(1);

    // Both sides list each other, in the documented shape.
    let on_b = b.run(&["sync", "peers", "--json"]).json();
    let on_b = on_b.as_array().unwrap();
    assert_eq!(on_b.len(), 1, "{on_b:?}");
    check_peer_shape(&on_b[0]);
    assert_eq!(on_b[0]["nodeId"], a.id());
    assert_eq!(on_b[0]["name"], "alpha");
    assert_eq!(on_b[0]["endpoint"], a.peer_api());
    assert!(on_b[0]["totalSyncs"].as_u64().unwrap() >= 1, "{on_b:?}");
    rfc3339(&on_b[0]["lastSyncAt"]);
    let on_a = a.run(&["sync", "peers", "--json"]).json();
    let on_a = on_a.as_array().unwrap();
    assert_eq!(on_a.len(), 1, "{on_a:?}");
    check_peer_shape(&on_a[0]);
    assert_eq!(on_a[0]["nodeId"], b.id());
    assert_eq!(on_a[0]["name"], "beta");

    let table = b.run(&["sync", "peers"]);
    let text = table.ok();
    assert!(text.starts_with("NAME "), "{table:#?}");
    let row = text.lines().nth(1).unwrap();
    assert!(row.starts_with("alpha "), "{table:#?}");
    assert!(
        row.contains(a.short_id()) && row.contains(a.peer_api()),
        "{table:#?}"
    );

    // Status lists the peer with its last sync.
    let status = b.run(&["sync", "status", "--json"]).json();
    assert_eq!(status["peers"].as_array().unwrap().len(), 1, "{status}");
    assert!(
        status["sync"]["totalSuccessfulSyncs"].as_u64().unwrap() >= 1,
        "{status}"
    );
    let human = b.run(&["sync", "status"]);
    let text = human.ok();
    assert!(text.contains("peers      1 paired"), "{human:#?}");
    assert!(
        text.contains(&format!("  alpha ({}) {}", a.short_id(), a.peer_api())),
        "{human:#?}"
    );
    assert!(text.contains("last sync 20"), "{human:#?}");

    // The seed's form records a member's endpoint.
    // (The QUIC address learned at pairing is shown; polled mode does not look for it.)
    let recorded = b.run(&["sync", "pair", a.id(), a.peer_api()]);
    let line = recorded.ok();
    let line = line.trim();
    assert!(
        line.starts_with(&format!("recorded {} at {}", a.short_id(), a.peer_api()))
            && line.ends_with("; mode polled"),
        "{recorded:#?}"
    );
    let body = b
        .run(&["sync", "pair", a.id(), a.peer_api(), "--json"])
        .json();
    assert_eq!(body["nodeId"], a.id());
    assert_eq!(body["mode"], "polled");

    // Hooks stay off while sync.autoSync is false.
    let hook = b.run(&["sync", "hook", "agent-end", "--json"]).json();
    assert_eq!(hook["ran"], false, "{hook}");
}

#[test]
fn conflicting_writes_are_listed_and_restorable() {
    let a = Node::polled("alpha");
    let b = Node::polled("beta");
    pair(&a, &b, "alpha");

    // The same key written on both devices: LWW keeps the later write (B's).
    let calm = a.put("mayros:agent:x", "mayros:mood", "calm");
    let busy = b.put("mayros:agent:x", "mayros:mood", "busy");
    let now = b.run(&["sync", "now"]);
    assert!(now.ok().contains("ok alpha "), "{now:#?}");

    let list = b.run(&["sync", "conflicts", "--json"]).json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    let conflict = &list[0];
    assert_eq!(conflict["strategy"], "last-writer-wins", "{conflict}");
    assert_eq!(conflict["winners"][0]["id"], busy.as_str(), "{conflict}");
    assert_eq!(conflict["losers"][0]["id"], calm.as_str(), "{conflict}");
    // The documented shape (§6.2 contract): RFC 3339 `at`, `restoredAt` present and null.
    assert!(
        conflict["at"].is_string(),
        "`at` is RFC 3339 text (the contract), got {conflict}"
    );
    rfc3339(&conflict["at"]);
    assert_eq!(conflict.get("restoredAt"), Some(&Value::Null), "{conflict}");
    for field in ["namespace", "subject", "predicate", "peer"] {
        assert!(conflict[field].is_string(), "{field} in {conflict}");
    }
    for field in [
        "id",
        "subject",
        "predicate",
        "object",
        "author",
        "hlc",
        "createdAt",
    ] {
        assert!(
            conflict["losers"][0].get(field).is_some(),
            "{field} in {conflict}"
        );
    }
    let id = match &conflict["id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };

    let human = b.run(&["sync", "conflicts"]);
    let text = human.ok();
    assert!(text.starts_with(&format!("conflict {id} ")), "{human:#?}");
    assert!(text.contains("last-writer-wins"), "{human:#?}");
    assert!(text.contains("  kept  \"busy\""), "{human:#?}");
    assert!(text.contains("  lost  \"calm\""), "{human:#?}");
    assert!(
        text.contains(&format!("restore with: mayros sync conflicts restore {id}")),
        "{human:#?}"
    );
    b.run(&["cortex", "get", &calm]).fails_with(1);

    let restored = b.run(&["sync", "conflicts", "restore", &id]);
    assert_eq!(
        restored.ok().trim(),
        format!("restored 1 triple: {calm}"),
        "{restored:#?}"
    );
    assert_eq!(
        b.run(&["cortex", "get", &calm, "--json"]).json()["object"],
        "calm"
    );
    let list = b.run(&["sync", "conflicts", "--json"]).json();
    rfc3339(&list[0]["restoredAt"]);
    assert!(
        b.run(&["sync", "conflicts"]).ok().contains("  restored 20"),
        "restored conflicts say so"
    );
}
