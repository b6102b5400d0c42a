//! Human-readable formatting and stdout writing.
//!
//! Everything here is pure except [`print`], the one place that writes to stdout.

pub mod sync;

#[cfg(test)]
mod fixtures;

use std::fmt::Write as _;
use std::io::Write as _;

use mayros_sync_node::dto::{CortexStatus, StatusSnapshot};
use mayros_sync_proto::syncstate::StateSummary;
use serde_json::Value;
use time::OffsetDateTime;

/// Writes `text` (plus a newline when missing) to stdout and flushes it.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Re-indents JSON text like `serde_json::to_string_pretty`, keeping key order and number
/// spelling exactly as received (a parse + print round trip through `Value` would sort keys).
///
/// `text` must be valid JSON; the CLI only passes bodies it has already parsed.
pub fn pretty_json_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut skip_close = false;
    for (i, c) in text.char_indices() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                let close = if c == '{' { '}' } else { ']' };
                if text[i + 1..].trim_start().starts_with(close) {
                    out.push(close);
                    skip_close = true;
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                if skip_close {
                    skip_close = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                    out.push(c);
                }
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// Renders a triple object (as the Cortex REST returns it) Turtle-style:
/// `"tea"`, `42`, `<ex:b>`, `"bonjour"@fr`, `"5"^^<xsd:int>`.
pub fn render_object(object: &Value) -> String {
    match object {
        Value::String(s) => quote(s),
        Value::Object(map) => {
            let text = |k: &str| map.get(k).and_then(Value::as_str);
            if let Some(node) = text("node") {
                return bracket(node);
            }
            match (text("type"), map.get("value")) {
                (Some("lang"), Some(v)) => {
                    format!("{}@{}", render_plain(v), text("lang").unwrap_or("?"))
                }
                (Some("typed"), Some(v)) => {
                    format!(
                        "{}^^{}",
                        render_plain(v),
                        bracket(text("datatype").unwrap_or("?"))
                    )
                }
                (Some("datetime"), Some(v)) => format!("{}^^<xsd:dateTime>", render_plain(v)),
                (Some("bytes"), Some(v)) => format!("0x{}", v.as_str().unwrap_or("")),
                (Some("json"), Some(v)) => format!("json:{v}"),
                _ => object.to_string(),
            }
        }
        other => other.to_string(),
    }
}

fn render_plain(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        other => quote(&other.to_string()),
    }
}

fn quote(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

fn bracket(name: &str) -> String {
    if name.starts_with('<') && name.ends_with('>') {
        name.to_string()
    } else {
        format!("<{name}>")
    }
}

/// A string field, `?` when missing.
pub(crate) fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("?")
}

/// One triple as `subject predicate object`.
pub fn triple_statement(t: &Value) -> String {
    format!(
        "{} {} {}",
        str_field(t, "subject"),
        str_field(t, "predicate"),
        t.get("object").map_or_else(|| "?".into(), render_object)
    )
}

/// `mayros cortex get`: the statement, then the id and creation time.
pub fn triple_details(t: &Value) -> String {
    format!(
        "{}\nid          {}\ncreated_at  {}",
        triple_statement(t),
        str_field(t, "id"),
        str_field(t, "created_at")
    )
}

/// `mayros cortex list`: one aligned line per triple (`id subject predicate object`), then
/// `N of TOTAL` and where the next page starts.
pub fn triple_page(page: &Value) -> String {
    let rows: &[Value] = page
        .get("triples")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let total = page.get("total").and_then(Value::as_u64).unwrap_or(0);
    let offset = page.get("offset").and_then(Value::as_u64).unwrap_or(0);
    let width = |key: &str| {
        rows.iter()
            .map(|r| str_field(r, key).chars().count())
            .max()
            .unwrap_or(0)
    };
    let (ws, wp) = (width("subject"), width("predicate"));
    let mut out = String::new();
    for r in rows {
        let _ = writeln!(
            out,
            "{}  {:ws$}  {:wp$}  {}",
            str_field(r, "id"),
            str_field(r, "subject"),
            str_field(r, "predicate"),
            r.get("object").map_or_else(|| "?".into(), render_object),
        );
    }
    let shown = rows.len() as u64;
    let _ = write!(out, "{shown} of {total}");
    if offset > 0 {
        let _ = write!(out, " (from offset {offset})");
    }
    if offset + shown < total && shown > 0 {
        let _ = write!(out, "; more with --offset {}", offset + shown);
    }
    out
}

/// `mayros sync status`: a compact summary of the engine's status snapshot.
pub fn status_summary(s: &StatusSnapshot) -> String {
    status_summary_at(s, OffsetDateTime::now_utc())
}

/// [`status_summary`] with ages computed from `now`.
pub fn status_summary_at(s: &StatusSnapshot, now: OffsetDateTime) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "mode       {} — {}", s.mode, s.mode_reason);
    let _ = writeln!(out, "state      {}", state_line(&s.summary));
    let _ = writeln!(out, "node       {} ({})", s.node_id, s.name);
    let _ = writeln!(
        out,
        "engine     {}, up {}",
        s.version,
        duration(s.uptime_seconds)
    );
    let _ = writeln!(out, "cortex     {}", cortex_line(&s.cortex));
    if s.cortex.backend == "external" {
        out.push_str(&external_cortex_lines(&s.cortex, now));
    }
    let _ = writeln!(out, "triples    {}", s.triple_count);
    let _ = writeln!(out, "secrets    {}", s.secret_store);
    let _ = writeln!(
        out,
        "peers      {} paired, {} nearby{}",
        s.peers.len(),
        s.nearby_count,
        sync::status_peers(&s.peers, now)
    );
    let last = s
        .sync
        .last_sync_at
        .as_deref()
        .map_or_else(|| "never".to_string(), |ts| sync::when(ts, now));
    let _ = writeln!(
        out,
        "syncs      {} ok, {} failed, last {last}",
        s.sync.total_successful_syncs, s.sync.total_failed_syncs
    );
    if let Some(pause) = sync::status_pause(s, now) {
        let _ = writeln!(out, "paused     {pause}");
    }
    if let Some(gossip) = &s.gossip {
        let _ = writeln!(out, "gossip     {}", sync::gossip_lines(gossip));
    }
    let _ = writeln!(
        out,
        "attention  {}, {} for review, {}",
        sync::count(s.conflicts_count, "conflict"),
        s.review_count,
        sync::count(s.auth_rejected, "rejected peer request")
    );
    let _ = write!(out, "config     {}", s.config_path);
    for w in &s.warnings {
        let _ = write!(out, "\nwarning    {w}");
    }
    out
}

/// The engine's overall state as `sync status` shows it: `Needs attention — sync with bravo is
/// failing: timed out; 2 new conflicts`, or the label alone when nothing is behind it.
pub fn state_line(summary: &StateSummary) -> String {
    if summary.details.is_empty() {
        summary.label.clone()
    } else {
        format!("{} — {}", summary.label, summary.details.join("; "))
    }
}

/// The Cortex line of `mayros sync status`: backend, URL, version of an external one, health.
fn cortex_line(c: &CortexStatus) -> String {
    let mut line = c.backend.clone();
    if let Some(url) = &c.url {
        let _ = write!(line, " {url}");
    }
    if c.backend == "external" {
        match &c.version {
            Some(v) => {
                let _ = write!(line, " (version {v})");
            }
            None => line.push_str(" (version unknown)"),
        }
    }
    line.push_str(if c.healthy {
        ", healthy"
    } else {
        ", UNHEALTHY"
    });
    if !c.message.is_empty() {
        let _ = write!(line, " ({})", c.message);
    }
    line
}

/// The rate-limit, P2P and mirror lines of an external Cortex in `mayros sync status`.
fn external_cortex_lines(c: &CortexStatus, now: OffsetDateTime) -> String {
    let mut out = String::new();
    let remaining = c
        .rate_limit_remaining
        .map_or_else(String::new, |r| format!(", {r} left in its window"));
    if c.rate_limited {
        let _ = writeln!(
            out,
            "           rate-limited by Cortex: {} answered 429, waiting for its Retry-After{remaining}",
            sync::count(c.rate_limited_count, "request")
        );
    } else {
        let _ = writeln!(
            out,
            "           rate limit ok: {} sent, {} answered 429{remaining}",
            sync::count(c.requests, "request"),
            c.rate_limited_count
        );
    }
    // The sidecar's own `p2p/status`, kept as the sidecar sent it.
    if let Some(p2p) = c.p2p.as_ref().filter(|p| p.is_object()) {
        let n = |ptr: &str| p2p.pointer(ptr).and_then(Value::as_u64).unwrap_or(0);
        let _ = writeln!(
            out,
            "           its p2p: round {}, {} known ids, bloom FPR {:.4}, {} ok / {} failed syncs, {} peers",
            n("/gossip_stats/round"),
            n("/gossip_stats/known_ids"),
            p2p.pointer("/gossip_stats/bloom_filter_fpr")
                .and_then(Value::as_f64)
                .unwrap_or(0.0),
            n("/sync_stats/total_successful_syncs"),
            n("/sync_stats/total_failed_syncs"),
            n("/peer_count"),
        );
    } else if let Some(reason) = &c.p2p_reason {
        let _ = writeln!(out, "           its p2p: not available ({reason})");
    }
    if let Some(by) = &c.synced_by {
        let _ = writeln!(out, "           sync: {by}");
    }
    if let Some(m) = &c.mirror {
        let last = m
            .last_cycle_at
            .as_deref()
            .map_or_else(|| "never".to_string(), |ts| sync::when(ts, now));
        let _ = write!(
            out,
            "           mirror: last scan {last}, {} listed, {} imported, {} deleted, {} written back, {} deletions written back",
            m.listed, m.imported, m.deleted, m.pushed, m.pushed_deletes,
        );
        if let Some(e) = &m.last_error {
            let _ = write!(out, "; last error: {e}");
        }
        out.push('\n');
    }
    out
}

/// `90061` → `1d 1h 1m 1s`; leading zero units are left out.
pub fn duration(secs: u64) -> String {
    let parts = [
        (secs / 86_400, "d"),
        (secs / 3_600 % 24, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
    ];
    let mut out = String::new();
    for (n, unit) in parts {
        if n > 0 || !out.is_empty() || unit == "s" {
            if !out.is_empty() {
                out.push(' ');
            }
            let _ = write!(out, "{n}{unit}");
        }
    }
    out
}

/// A config value for humans: strings bare, everything else as compact JSON.
pub fn config_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `key = value` for every key of a full config document, in [`mayros_sync_proto::config::KEYS`]
/// order.
pub fn config_lines(doc: &Value) -> String {
    mayros_sync_proto::config::KEYS
        .iter()
        .filter_map(|key| {
            mayros_sync_proto::config::get_key(doc, key)
                .map(|v| format!("{key} = {}", config_value(&v)))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use mayros_sync_node::dto::MirrorView;
    use mayros_sync_proto::syncstate::OverallState;
    use serde_json::json;

    #[test]
    fn pretty_printing_keeps_order_and_matches_serde() {
        // Keys already sorted, so serde's (sorting) printer gives the reference output.
        let text = r#"{"b":[1,2,{"x":"a,b:{c}"}],"e":{},"f":[ ],"g":"q\"{","m":-1.5}"#;
        let pretty = pretty_json_text(text);
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(pretty, serde_json::to_string_pretty(&v).unwrap());
        // Already-pretty input comes out the same.
        assert_eq!(pretty_json_text(&pretty), pretty);
    }

    #[test]
    fn pretty_printing_keeps_unsorted_keys() {
        let pretty = pretty_json_text(r#"{"z":1,"a":-1.5e3}"#);
        assert_eq!(pretty, "{\n  \"z\": 1,\n  \"a\": -1.5e3\n}");
    }

    #[test]
    fn objects_render_turtle_style() {
        assert_eq!(render_object(&json!("tea")), "\"tea\"");
        assert_eq!(render_object(&json!(42)), "42");
        assert_eq!(render_object(&json!(1.5)), "1.5");
        assert_eq!(render_object(&json!(true)), "true");
        assert_eq!(render_object(&Value::Null), "null");
        assert_eq!(render_object(&json!({"node": "<ex:b>"})), "<ex:b>");
        assert_eq!(render_object(&json!({"node": "ex:b"})), "<ex:b>");
        assert_eq!(
            render_object(&json!({"type": "lang", "value": "bonjour", "lang": "fr"})),
            "\"bonjour\"@fr"
        );
        assert_eq!(
            render_object(&json!({"type": "typed", "value": "5", "datatype": "xsd:int"})),
            "\"5\"^^<xsd:int>"
        );
        assert_eq!(
            render_object(&json!({"type": "bytes", "value": "00ff"})),
            "0x00ff"
        );
        assert_eq!(
            render_object(&json!({"type": "json", "value": [1]})),
            "json:[1]"
        );
    }

    #[test]
    fn a_page_is_aligned_and_counted() {
        let page = json!({
            "triples": [
                {"id": "aa", "subject": "<s>", "predicate": "<p>", "object": "x"},
                {"id": "bb", "subject": "<long>", "predicate": "<q>", "object": 1},
            ],
            "total": 5, "limit": 2, "offset": 2
        });
        assert_eq!(
            triple_page(&page),
            "aa  <s>     <p>  \"x\"\nbb  <long>  <q>  1\n2 of 5 (from offset 2); more with --offset 4"
        );
        let empty = json!({"triples": [], "total": 0, "limit": 100, "offset": 0});
        assert_eq!(triple_page(&empty), "0 of 0");
    }

    #[test]
    fn details_show_id_and_time() {
        let t = json!({"id": "ab", "subject": "<s>", "predicate": "<p>", "object": {"node": "<o>"}, "created_at": "2025-01-01T00:00:00Z"});
        assert_eq!(
            triple_details(&t),
            "<s> <p> <o>\nid          ab\ncreated_at  2025-01-01T00:00:00Z"
        );
    }

    #[test]
    fn status_summary_reads_every_documented_field() {
        let mut s = fixtures::snapshot();
        s.mode = "none".into();
        s.mode_reason = "no peers".into();
        s.uptime_seconds = 3661;
        s.cortex.message = "2 triples".into();
        s.sync.total_successful_syncs = 3;
        s.sync.total_failed_syncs = 1;
        s.triple_count = 2;
        s.warnings = vec!["w1".into()];
        let text = status_summary(&s);
        for needle in [
            "mode       none — no peers",
            "node       ab (box)",
            "up 1h 1m 1s",
            "cortex     embedded http://127.0.0.1:1, healthy (2 triples)",
            "triples    2",
            "secrets    file",
            "peers      0 paired, 0 nearby",
            "syncs      3 ok, 1 failed, last never",
            "attention  0 conflicts, 0 for review, 0 rejected peer requests",
            "config     /c.json",
            "warning    w1",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from\n{text}");
        }
        s.cortex.healthy = false;
        s.cortex.message = String::new();
        assert!(
            status_summary(&s).contains("cortex     embedded http://127.0.0.1:1, UNHEALTHY\n"),
            "{}",
            status_summary(&s)
        );
    }

    #[test]
    fn status_shows_the_engine_state_after_the_mode() {
        let mut s = fixtures::snapshot();
        s.summary = StateSummary {
            state: OverallState::Attention,
            label: "Needs attention".into(),
            details: vec![
                "sync with bravo is failing: timed out".into(),
                "2 new conflicts".into(),
            ],
            online: 1,
            paired: 1,
        };
        let text = status_summary(&s);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "mode       polled — p2p disabled", "{text}");
        assert_eq!(
            lines[1],
            "state      Needs attention — sync with bravo is failing: timed out; 2 new conflicts",
            "{text}"
        );
        assert_eq!(lines[2], "node       ab (box)", "{text}");
        // Nothing behind the state: the label alone.
        s.summary.details.clear();
        s.summary.label = "Paused".into();
        assert_eq!(status_summary(&s).lines().nth(1), Some("state      Paused"));
    }

    #[test]
    fn status_summary_lists_peers_pause_and_gossip() {
        let now = time::macros::datetime!(2026-11-24 18:10:00 UTC);
        let mut peer = fixtures::peer("0123456789abcdef", "nas");
        peer.endpoint = Some("10.0.0.2:19092".into());
        peer.last_sync_at = Some("2026-11-24T18:09:00Z".into());
        peer.last_result = Some("ok".into());
        peer.total_syncs = 4;
        peer.total_triples_synced = 9;
        let mut gossip = fixtures::gossip();
        gossip.round = 3;
        let mut s = fixtures::snapshot();
        s.peers = vec![peer];
        s.sync.total_successful_syncs = 4;
        s.sync.last_sync_at = Some("2026-11-24T18:09:00Z".into());
        s.paused = true;
        s.paused_until = Some("2026-11-24T18:20:00Z".into());
        s.auth_rejected = 2;
        s.gossip = Some(gossip);
        let text = status_summary_at(&s, now);
        for needle in [
            "peers      1 paired, 0 nearby\n  nas (0123456789ab) 10.0.0.2:19092 active, \
             last sync 2026-11-24 18:09:00Z (1m ago) ok, 4 syncs, 9 triples, 0 failures\n",
            "syncs      4 ok, 0 failed, last 2026-11-24 18:09:00Z (1m ago)\n",
            "paused     until 2026-11-24 18:20:00Z (in 10m)\n",
            "gossip     QUIC 127.0.0.1:19091, answering only, round 3, 0 known ids",
            "2 rejected peer requests",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from\n{text}");
        }
    }

    #[test]
    fn status_summary_names_an_external_cortex_and_its_rate_limit() {
        let now = time::macros::datetime!(2026-11-24 18:10:00 UTC);
        let mut s = fixtures::snapshot();
        s.mode_reason = "P2P probe failed: p2p/status answered 404 (P2P not enabled)".into();
        s.cortex = CortexStatus {
            backend: "external".into(),
            url: Some("http://127.0.0.1:19090".into()),
            message: "800 triples".into(),
            version: Some("0.4.2".into()),
            rate_limited: true,
            rate_limited_count: 3,
            rate_limit_remaining: Some(0),
            requests: 120,
            p2p_reason: Some("p2p/status answered 404 (P2P not enabled)".into()),
            mirror: Some(MirrorView {
                last_cycle_at: Some("2026-11-24T18:09:50Z".into()),
                listed: 800,
                imported: 5,
                deleted: 1,
                pushed: 7,
                pushed_deletes: 2,
                ..MirrorView::default()
            }),
            ..s.cortex
        };
        let text = status_summary_at(&s, now);
        for needle in [
            "cortex     external http://127.0.0.1:19090 (version 0.4.2), healthy (800 triples)\n",
            "           rate-limited by Cortex: 3 requests answered 429, waiting for its Retry-After, 0 left in its window\n",
            "           its p2p: not available (p2p/status answered 404 (P2P not enabled))\n",
            "           mirror: last scan 2026-11-24 18:09:50Z (10s ago), 800 listed, 5 imported, 1 deleted, 7 written back, 2 deletions written back\n",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from\n{text}");
        }
        let mut calm = s.clone();
        calm.cortex.rate_limited = false;
        calm.cortex.version = None;
        calm.cortex.p2p = Some(json!({"enabled": true, "node_id": "x", "peer_count": 2,
            "gossip_stats": {"round": 9, "known_ids": 40, "bloom_filter_fpr": 0.5},
            "sync_stats": {"total_successful_syncs": 4, "total_failed_syncs": 1}}));
        calm.cortex.synced_by = Some(
            "Mayros Sync carries the sync: its QUIC gossip over this engine's mirror of the sidecar"
                .into(),
        );
        let text = status_summary_at(&calm, now);
        for needle in [
            "           sync: Mayros Sync carries the sync: its QUIC gossip over this engine's mirror of the sidecar\n",
            "(version unknown)",
            "rate limit ok: 120 requests sent, 3 answered 429, 0 left in its window",
            "its p2p: round 9, 40 known ids, bloom FPR 0.5000, 4 ok / 1 failed syncs, 2 peers",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from\n{text}");
        }
        // The embedded backend shows none of it.
        let text = status_summary_at(&fixtures::snapshot(), now);
        assert!(
            !text.contains("(version") && !text.contains("rate"),
            "{text}"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(60), "1m 0s");
        assert_eq!(duration(90_061), "1d 1h 1m 1s");
    }

    #[test]
    fn config_lines_follow_the_key_order() {
        let doc = mayros_sync_proto::config::Config::default().to_value();
        let text = config_lines(&doc);
        assert!(text.starts_with("sync.intervalSeconds = 300\nsync.autoSync = false\n"));
        assert!(text.contains("namespace = mayros"));
        assert!(text.contains("cortex.url = null"));
    }
}
