//! Human-readable output of `mayros sync …` (DESIGN §8).
//!
//! Status and peers come as the engine's typed answers ([`mayros_sync_node::dto`]); every other
//! answer is read from its JSON leniently: a missing or `null` field shows as `?`, `never` or
//! `-`, never a panic. Functions that show ages take `now` so tests are deterministic.

use std::fmt::Write as _;

use mayros_sync_node::dto::{NativeStatus, PeerView, StatusSnapshot};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use super::{render_object, str_field};

/// How many hex digits of a node id or triple id are shown in tables (the one short form).
pub use mayros_sync_proto::node_id::SHORT_LEN as SHORT_ID_LEN;

/// The first [`SHORT_ID_LEN`] characters of an id (the one short form of node ids, also used
/// for triple ids).
pub use mayros_sync_proto::node_id::short_node_id as short_id;

fn opt_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn num(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A peer or result's display name: its name, else its short node id.
fn peer_label(v: &Value) -> String {
    match (opt_str(v, "name"), opt_str(v, "nodeId")) {
        (Some(name), _) => name.to_string(),
        (None, Some(id)) => short_id(id).to_string(),
        (None, None) => "?".to_string(),
    }
}

/// An id field (string or number) as text.
fn id_text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "?".to_string(),
    }
}

/// `12s`, `3m`, `2h`, `5d`: the coarsest unit that is at least 1.
pub fn age(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3_600 => format!("{}m", secs / 60),
        3_600..86_400 => format!("{}h", secs / 3_600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// An RFC 3339 time as `2026-11-24 18:09:57Z (12s ago)` (UTC), or `in 15m` when in the future;
/// an unparsable text is shown as is.
pub fn when(ts: &str, now: OffsetDateTime) -> String {
    let Ok(t) = OffsetDateTime::parse(ts, &Rfc3339) else {
        return ts.to_string();
    };
    let t = t.to_offset(UtcOffset::UTC);
    let shown = t
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]Z"
        ))
        .unwrap_or_else(|_| ts.to_string());
    let delta = (now - t).whole_seconds();
    if delta >= 0 {
        format!("{shown} ({} ago)", age(delta.unsigned_abs()))
    } else {
        // Rounded up, so a code valid for 10 minutes does not read "in 9m" a moment later.
        format!("{shown} (in {})", age_up(delta.unsigned_abs()))
    }
}

/// [`age`] rounded up to its unit.
fn age_up(secs: u64) -> String {
    let unit = match secs {
        0..60 => return format!("{secs}s"),
        60..3_600 => 60,
        3_600..86_400 => 3_600,
        _ => 86_400,
    };
    age(secs.div_ceil(unit) * unit)
}

/// `1 sync`, `2 syncs`.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A time field: RFC 3339 text under `key`, or else unix milliseconds under `<key>Ms` (the
/// shape some engine versions use), as RFC 3339 text.
fn time_field(v: &Value, key: &str) -> Option<String> {
    if let Some(ts) = opt_str(v, key) {
        return Some(ts.to_string());
    }
    let ms = v.get(format!("{key}Ms")).and_then(Value::as_u64)?;
    let nanos = i128::from(ms).checked_mul(1_000_000)?;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

/// [`when`] for an optional time field ([`time_field`]); `absent` when it is missing or null.
fn when_field(v: &Value, key: &str, absent: &str, now: OffsetDateTime) -> String {
    when_or(time_field(v, key).as_deref(), absent, now)
}

/// [`when`] for an optional RFC 3339 time; `absent` when there is none.
fn when_or(ts: Option<&str>, absent: &str, now: OffsetDateTime) -> String {
    ts.map_or_else(|| absent.to_string(), |ts| when(ts, now))
}

/// `text`, or `absent` when it is empty.
fn or_absent<'a>(text: &'a str, absent: &'a str) -> &'a str {
    if text.is_empty() {
        absent
    } else {
        text
    }
}

/// An optional text, or `absent` when it is missing or empty.
fn opt_or<'a>(text: Option<&'a str>, absent: &'a str) -> &'a str {
    or_absent(text.unwrap_or(""), absent)
}

/// A peer's name and short node id, `?` for what is missing.
fn name_and_id(p: &PeerView) -> (&str, &str) {
    (
        or_absent(&p.name, "?"),
        short_id(or_absent(&p.node_id, "?")),
    )
}

/// A plain table: columns padded to their widest cell, numeric columns right-aligned, no
/// trailing spaces.
pub fn table(headers: &[&str], rows: &[Vec<String>], right: &[bool]) -> String {
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .chain([h.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            if i > 0 {
                line.push_str("  ");
            }
            if right.get(i).copied().unwrap_or(false) {
                let _ = write!(line, "{cell:>w$}");
            } else {
                let _ = write!(line, "{cell:<w$}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.pop();
    out
}

/// One-line text of a JSON error field (string, or anything else compacted).
fn error_text(v: Option<&Value>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => one_line(Some(s)),
        Some(other) => Some(other.to_string()),
    }
}

/// An optional error text on one line; `None` when missing or empty.
fn one_line(text: Option<&str>) -> Option<String> {
    text.filter(|s| !s.is_empty()).map(|s| s.replace('\n', " "))
}

/// `mayros sync invite`: an explanation, then the code alone on the last line.
pub fn invite(body: &Value, now: OffsetDateTime) -> Result<String, String> {
    let code = opt_str(body, "code").ok_or("the engine's answer has no invite code")?;
    if code.chars().any(char::is_whitespace) {
        return Err(format!(
            "the engine answered a malformed invite code {code:?}"
        ));
    }
    let expires = when_field(body, "expiresAt", "in 10 minutes", now);
    Ok(format!(
        "One-time invite code, valid until {expires}.\n\
         On the device that joins, run: mayros sync pair --code <the code below>\n\
         {code}"
    ))
}

/// `mayros sync pair --code`: `paired with <name> (<short id>) at <endpoint>`.
pub fn paired(body: &Value) -> String {
    let id = opt_str(body, "nodeId").unwrap_or("?");
    let name = opt_str(body, "name").unwrap_or_else(|| short_id(id));
    let endpoint = opt_str(body, "endpoint").unwrap_or("?");
    format!("paired with {name} ({}) at {endpoint}", short_id(id))
}

/// `mayros sync pair <node-id> <endpoint>`: what was recorded.
pub fn endpoint_recorded(body: &Value) -> String {
    let id = opt_str(body, "nodeId").unwrap_or("?");
    let mut out = format!(
        "recorded {} at {}",
        short_id(id),
        opt_str(body, "endpoint").unwrap_or("?")
    );
    if let Some(quic) = opt_str(body, "quicAddr") {
        let _ = write!(out, " (QUIC {quic})");
    }
    if let Some(mode) = opt_str(body, "mode") {
        let _ = write!(out, "; mode {mode}");
    }
    out
}

/// `mayros sync peers`: a table, or how to pair when there is none.
pub fn peer_table(list: &[PeerView], now: OffsetDateTime) -> String {
    if list.is_empty() {
        return "no paired devices (pair one: `mayros sync invite` here, then \
                `mayros sync pair --code <invite>` on the other device)"
            .to_string();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|p| {
            let (name, id) = name_and_id(p);
            vec![
                name.to_string(),
                id.to_string(),
                opt_or(p.endpoint.as_deref(), "-").to_string(),
                peer_status(p),
                when_or(p.last_sync_at.as_deref(), "never", now),
                p.total_syncs.to_string(),
                p.total_triples_synced.to_string(),
                p.failures.to_string(),
                one_line(p.last_error.as_deref()).unwrap_or_else(|| "-".to_string()),
            ]
        })
        .collect();
    table(
        &[
            "NAME",
            "ID",
            "ENDPOINT",
            "STATUS",
            "LAST SYNC",
            "SYNCS",
            "TRIPLES",
            "FAILURES",
            "LAST ERROR",
        ],
        &rows,
        &[false, false, false, false, false, true, true, true, false],
    )
}

/// `mayros sync discover`: name, short node id, addresses, ports, paired or not, last seen.
pub fn nearby_table(devices: &Value, now: OffsetDateTime) -> String {
    let list = devices.as_array().map_or(&[][..], Vec::as_slice);
    if list.is_empty() {
        return "no nearby devices (turn on discovery: `mayros config set discovery.bonjourEnabled \
                true`, or list peers in discovery.manualPeers)"
            .to_string();
    }
    let port = |d: &Value, k: &str| {
        d.get(k)
            .and_then(Value::as_u64)
            .map_or_else(|| "-".to_string(), |p| p.to_string())
    };
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|d| {
            let addresses: Vec<&str> = d
                .get("addresses")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let paired = d.get("paired").and_then(Value::as_bool) == Some(true);
            vec![
                opt_str(d, "name").unwrap_or("?").to_string(),
                opt_str(d, "nodeId").map_or("-", short_id).to_string(),
                if addresses.is_empty() {
                    "-".to_string()
                } else {
                    addresses.join(",")
                },
                port(d, "quicPort"),
                port(d, "httpsPort"),
                if paired { "paired" } else { "not paired" }.to_string(),
                time_field(d, "lastSeen")
                    .and_then(|ts| OffsetDateTime::parse(&ts, &Rfc3339).ok())
                    .map_or_else(
                        || "?".to_string(),
                        |t| format!("{} ago", age((now - t).whole_seconds().max(0) as u64)),
                    ),
            ]
        })
        .collect();
    table(
        &[
            "NAME",
            "ID",
            "ADDRESSES",
            "QUIC",
            "HTTPS",
            "PAIRED",
            "LAST SEEN",
        ],
        &rows,
        &[false, false, false, true, true, false, false],
    )
}

/// A peer's state as the engine computed it (DESIGN §13; the stored status for an older
/// engine), with `,stale` when it missed collected deletions (DESIGN §2.3) and how far a
/// converging pair is: `syncing (1200 to receive, 5 to send)`.
fn peer_status(p: &PeerView) -> String {
    let mut out = or_absent(&p.state, or_absent(&p.status, "?")).to_string();
    if p.stale {
        out.push_str(",stale");
    }
    let progress: Vec<String> = [(p.to_receive, "to receive"), (p.to_send, "to send")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, words)| format!("{n} {words}"))
        .collect();
    if !progress.is_empty() {
        let _ = write!(out, " ({})", progress.join(", "));
    }
    out
}

/// One peer's result of a sync: `ok <name> received=N applied=N conflicts=N sent=N in X ms`
/// (plus `held-for-review=N` when items were held) or `FAILED <name>: <error>`.
pub fn sync_result(r: &Value) -> String {
    let name = peer_label(r);
    if r.get("ok").and_then(Value::as_bool) == Some(true) {
        let mut line = format!(
            "ok {name} received={} applied={} conflicts={} sent={} in {} ms",
            num(r, "received"),
            num(r, "applied"),
            num(r, "conflicts"),
            num(r, "sent"),
            num(r, "durationMs"),
        );
        let held = num(r, "heldForReview");
        if held > 0 {
            let _ = write!(line, "; held-for-review={held} (see mayros sync review)");
        }
        line
    } else {
        let error = error_text(r.get("error")).unwrap_or_else(|| "unknown error".to_string());
        format!("FAILED {name}: {error}")
    }
}

/// How many of the answer's `results` failed, and how many there are.
pub fn failures(body: &Value) -> (usize, usize) {
    let results = array(body, "results");
    let failed = results
        .iter()
        .filter(|r| r.get("ok").and_then(Value::as_bool) != Some(true))
        .count();
    (failed, results.len())
}

/// The error that makes `sync now` or a hook exit 1, when a result failed.
pub fn failure_summary(body: &Value) -> Option<String> {
    match failures(body) {
        (0, _) => None,
        (1, 1) => Some("the sync with the peer failed".to_string()),
        (failed, total) if failed == total => Some(format!("all {total} peer syncs failed")),
        (failed, total) => Some(format!("{failed} of {total} peer syncs failed")),
    }
}

/// `key=value` pairs of a stats object, nested objects flattened with dots.
pub fn stats_line(stats: &Value) -> String {
    fn walk(prefix: &str, map: &Map<String, Value>, out: &mut Vec<String>) {
        for (k, v) in map {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                Value::Object(inner) => walk(&key, inner, out),
                Value::Array(items) => out.push(format!("{key}=[{} items]", items.len())),
                Value::String(s) => out.push(format!("{key}={s}")),
                other => out.push(format!("{key}={other}")),
            }
        }
    }
    match stats {
        Value::Object(map) => {
            let mut parts = Vec::new();
            walk("", map, &mut parts);
            parts.join(" ")
        }
        Value::Null => "-".to_string(),
        other => other.to_string(),
    }
}

/// `mayros sync now`: one line per peer; in native mode the message and the gossip stats.
pub fn sync_now(body: &Value) -> String {
    let mut lines: Vec<String> = Vec::new();
    let message = opt_str(body, "message");
    let deferred = body.get("deferred").and_then(Value::as_bool) == Some(true);
    let results = array(body, "results");
    if deferred || results.is_empty() {
        // The engine's message already says which mode decided (e.g. "native mode: gossip …").
        let mode = opt_str(body, "mode").unwrap_or("?");
        lines.push(message.map_or_else(
            || {
                if deferred {
                    format!("{mode} mode: sync is left to gossip")
                } else {
                    format!("{mode} mode: no peer to sync with")
                }
            },
            str::to_string,
        ));
    }
    lines.extend(results.iter().map(sync_result));
    if let Some(gossip) = body.get("gossip").filter(|g| !g.is_null()) {
        lines.push(format!("gossip {}", stats_line(gossip)));
    }
    lines.join("\n")
}

/// `mayros sync hook …`: whether it ran and why, then the results.
pub fn hook(body: &Value) -> String {
    let ran = body.get("ran").and_then(Value::as_bool) == Some(true);
    let reason = opt_str(body, "reason").unwrap_or("no reason given");
    let mut lines = vec![format!("{}: {reason}", if ran { "ran" } else { "skipped" })];
    lines.extend(array(body, "results").iter().map(sync_result));
    lines.join("\n")
}

/// One triple of a conflict (`winners`/`losers`): value, author, hlc and id.
fn conflict_value(label: &str, t: &Value, now: OffsetDateTime) -> String {
    let object = t.get("object").map_or_else(|| "?".into(), render_object);
    let mut out = format!("  {label}  {object}");
    if let Some(author) = opt_str(t, "author") {
        let _ = write!(out, "  by {}", short_id(author));
    }
    if let Some(created) = time_field(t, "createdAt") {
        let _ = write!(out, "  written {}", when(&created, now));
    }
    if let Some(hlc) = opt_str(t, "hlc") {
        let _ = write!(out, "  hlc {hlc}");
    }
    if let Some(id) = opt_str(t, "id") {
        let _ = write!(out, "  id {}", short_id(id));
    }
    out
}

/// `mayros sync conflicts`: each conflict with its key, strategy, kept and lost values.
pub fn conflict_list(list: &Value, now: OffsetDateTime) -> String {
    let items = list.as_array().map_or(&[][..], Vec::as_slice);
    if items.is_empty() {
        return "no conflicts".to_string();
    }
    let mut blocks = Vec::new();
    for c in items {
        let id = id_text(c, "id");
        let mut block = format!(
            "conflict {id}  {}  {} {}  {}",
            when_field(c, "at", "?", now),
            str_field(c, "subject"),
            str_field(c, "predicate"),
            str_field(c, "strategy"),
        );
        if let Some(peer) = opt_str(c, "peer") {
            let _ = write!(block, "  with {}", short_id(peer));
        }
        for w in array(c, "winners") {
            block.push('\n');
            block.push_str(&conflict_value("kept", w, now));
        }
        for l in array(c, "losers") {
            block.push('\n');
            block.push_str(&conflict_value("lost", l, now));
        }
        block.push('\n');
        match time_field(c, "restoredAt") {
            Some(ts) => {
                let _ = write!(block, "  restored {}", when(&ts, now));
            }
            None if array(c, "losers").is_empty() => {
                block.push_str("  nothing was removed");
            }
            None => {
                let _ = write!(block, "  restore with: mayros sync conflicts restore {id}");
            }
        }
        blocks.push(block);
    }
    blocks.join("\n\n")
}

/// `mayros sync conflicts restore`: which triples came back.
pub fn restored(body: &Value) -> String {
    let ids: Vec<&str> = array(body, "restored")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match ids.len() {
        0 => "nothing to restore (the values are already live)".to_string(),
        1 => format!("restored 1 triple: {}", ids.join(", ")),
        n => format!("restored {n} triples: {}", ids.join(", ")),
    }
}

/// `mayros sync review`: each held item with its fact, author, stamp, the peer that offered it,
/// and the commands that settle it.
pub fn review_list(list: &Value, now: OffsetDateTime) -> String {
    let items = list.as_array().map_or(&[][..], Vec::as_slice);
    if items.is_empty() {
        return "nothing held for review".to_string();
    }
    let mut blocks = vec![format!(
        "{} held for review: old items a stale peer offered that this device lacks; they may \
         have been deleted here, so they were not inserted",
        count(items.len() as u64, "item")
    )];
    for item in items {
        let id = id_text(item, "id");
        let object = item.get("object").map_or_else(|| "?".into(), render_object);
        let mut block = format!(
            "{id}\n  {} {} {object}",
            str_field(item, "subject"),
            str_field(item, "predicate"),
        );
        let _ = write!(
            block,
            "\n  by {}",
            short_id(opt_str(item, "author").unwrap_or("?"))
        );
        if let Some(created) = time_field(item, "createdAt") {
            let _ = write!(block, ", written {}", when(&created, now));
        }
        if let Some(hlc) = opt_str(item, "hlc") {
            let _ = write!(block, ", hlc {hlc}");
        }
        let _ = write!(
            block,
            "\n  offered by {} {}",
            short_id(opt_str(item, "fromPeer").unwrap_or("?")),
            when_field(item, "receivedAt", "?", now)
        );
        let _ = write!(
            block,
            "\n  keep it: mayros sync review accept {id}\n  drop it: mayros sync review discard {id}"
        );
        blocks.push(block);
    }
    blocks.join("\n\n")
}

/// `mayros sync review accept|discard`: what was decided.
pub fn review_decided(body: &Value) -> String {
    match (opt_str(body, "accepted"), opt_str(body, "discarded")) {
        (Some(id), _) => format!("accepted {id}: written here again, it syncs to your devices"),
        (None, Some(id)) => format!("discarded {id}: deleted, no device will offer it again"),
        (None, None) => "done".to_string(),
    }
}

/// `mayros sync pause` / `resume`: the pause state.
pub fn pause_state(body: &Value, paused: bool, now: OffsetDateTime) -> String {
    match (paused, opt_str(body, "pausedUntil")) {
        (true, Some(ts)) => format!("sync paused until {}", when(ts, now)),
        (true, None) => "sync paused until resumed (mayros sync resume)".to_string(),
        (false, _) => "sync resumed".to_string(),
    }
}

/// `mayros sync requests`: one line per pending pairing request.
pub fn pair_requests(v: &Value) -> String {
    let items: Vec<&Value> = v.as_array().map(|a| a.iter().collect()).unwrap_or_default();
    if items.is_empty() {
        return "no pending pairing requests".to_string();
    }
    items
        .iter()
        .map(|r| {
            format!(
                "{} ({}) from {} — code {} — expires {} — accept: mayros sync pair --accept {}",
                opt_str(r, "name").unwrap_or("?"),
                short_id(opt_str(r, "nodeId").unwrap_or("?")),
                opt_str(r, "address").unwrap_or("?"),
                opt_str(r, "code").unwrap_or("?"),
                opt_str(r, "expiresAt").unwrap_or("?"),
                opt_str(r, "nodeId").unwrap_or("?"),
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The gossip lines of `mayros sync status` (native layer figures, DESIGN §3.2): the QUIC
/// address, round, known ids, Bloom filter and round counters, then one line per P2P peer.
pub fn gossip_lines(g: &NativeStatus) -> String {
    let mut out = format!(
        "QUIC {}, {}, round {}, {} known ids, bloom {} items FPR {:.4}, {} pending, {} ok / {} failed rounds, {} in / {} out",
        g.addr,
        if g.initiates {
            "gossiping"
        } else {
            "answering only"
        },
        g.round,
        g.known_ids,
        g.bloom_filter_items,
        g.bloom_filter_fpr,
        g.pending_announcements,
        g.successful_syncs,
        g.failed_syncs,
        bytes(g.bytes_in),
        bytes(g.bytes_out),
    );
    for p in &g.peers {
        let _ = write!(
            out,
            "\n  {} {} {}",
            short_id(or_absent(&p.node_id, "?")),
            opt_or(p.addr.as_deref(), "-"),
            if p.connected {
                "connected"
            } else {
                "not connected"
            },
        );
        if let Some(ms) = p.last_round_ms {
            let _ = write!(out, ", last round {ms} ms");
        }
        if p.queued_changes > 0 {
            let _ = write!(out, ", {} changes queued", p.queued_changes);
        }
        if p.to_receive > 0 {
            let _ = write!(out, ", {} to receive", p.to_receive);
        }
        if let Some(why) = one_line(p.failing.as_deref()) {
            let _ = write!(out, ", rounds failing: {why}");
        }
    }
    if let Some(e) = g.last_error.as_ref().filter(|e| !e.is_empty()) {
        let _ = write!(out, "\n  last error: {e}");
    }
    out
}

fn bytes(n: u64) -> String {
    match n {
        0..=9_999 => format!("{n} B"),
        10_000..=9_999_999 => format!("{:.1} kB", n as f64 / 1e3),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

/// The peer lines of `mayros sync status`.
pub fn status_peers(peers: &[PeerView], now: OffsetDateTime) -> String {
    let mut out = String::new();
    for p in peers {
        let (name, id) = name_and_id(p);
        let _ = write!(
            out,
            "\n  {name} ({id}) {} {}, last sync {}",
            opt_or(p.endpoint.as_deref(), "-"),
            peer_status(p),
            when_or(p.last_sync_at.as_deref(), "never", now),
        );
        if let Some(result) = p.last_result.as_ref().filter(|r| !r.is_empty()) {
            let _ = write!(out, " {result}");
        }
        let _ = write!(
            out,
            ", {}, {}, {}",
            count(p.total_syncs, "sync"),
            count(p.total_triples_synced, "triple"),
            count(p.failures, "failure")
        );
        // The reason of the state (failing, unreachable) is what is wrong now; the last error
        // may be older.
        if let Some(why) = one_line(p.state_reason.as_deref()) {
            let _ = write!(out, ", why: {why}");
        } else if let Some(e) = one_line(p.last_error.as_deref()) {
            let _ = write!(out, ", last error: {e}");
        }
    }
    out
}

/// The pause line of `mayros sync status`, when paused.
pub fn status_pause(s: &StatusSnapshot, now: OffsetDateTime) -> Option<String> {
    if !s.paused {
        return None;
    }
    Some(
        match s.paused_until.as_deref().filter(|ts| !ts.is_empty()) {
            Some(ts) => format!("until {}", when(ts, now)),
            None => "until resumed".to_string(),
        },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::output::fixtures::{self, peer};
    use mayros_sync_node::dto::NativePeer;
    use serde_json::json;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 18:10:00 UTC);
    const ID: &str = "3f0c1a2b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";

    #[test]
    fn nearby_table_lists_devices() {
        let now = OffsetDateTime::parse("2026-01-01T00:01:00Z", &Rfc3339).unwrap();
        let devices = serde_json::json!([{
            "nodeId": ID, "name": "laptop", "addresses": ["10.0.0.2", "fe80::1"],
            "quicPort": 19091, "httpsPort": 19092, "paired": false,
            "lastSeen": "2026-01-01T00:00:48.000Z"
        }, {
            "nodeId": null, "name": "10.0.0.9:19092", "addresses": [],
            "quicPort": null, "httpsPort": 19092, "paired": true,
            "lastSeen": "2026-01-01T00:00:00.000Z"
        }]);
        let out = nearby_table(&devices, now);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("NAME"), "{out}");
        assert!(
            lines[1].contains("laptop") && lines[1].contains("3f0c1a2b4d5e"),
            "{out}"
        );
        assert!(lines[1].contains("10.0.0.2,fe80::1") && lines[1].contains("not paired"));
        assert!(
            lines[1].contains("19091") && lines[1].ends_with("12s ago"),
            "{out}"
        );
        assert!(
            lines[2].contains(" - ") && lines[2].contains("paired") && lines[2].ends_with("1m ago")
        );
        assert!(nearby_table(&serde_json::json!([]), now).starts_with("no nearby devices"));
    }

    #[test]
    fn short_ids_and_ages() {
        assert_eq!(short_id(ID), "3f0c1a2b4d5e");
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(age(0), "0s");
        assert_eq!(age(59), "59s");
        assert_eq!(age(60), "1m");
        assert_eq!(age(7_200), "2h");
        assert_eq!(age(3 * 86_400), "3d");
    }

    #[test]
    fn times_are_utc_with_an_age() {
        assert_eq!(
            when("2026-11-24T18:09:48Z", NOW),
            "2026-11-24 18:09:48Z (12s ago)"
        );
        assert_eq!(
            when("2026-11-24T19:25:00+01:00", NOW),
            "2026-11-24 18:25:00Z (in 15m)"
        );
        assert_eq!(
            when("2026-11-24T18:09:59.123456Z", NOW),
            "2026-11-24 18:09:59Z (0s ago)"
        );
        assert_eq!(when("yesterday", NOW), "yesterday");
        // Future times round up: 9m59s left reads "in 10m".
        assert_eq!(
            when("2026-11-24T18:19:59Z", NOW),
            "2026-11-24 18:19:59Z (in 10m)"
        );
        assert_eq!(count(1, "sync"), "1 sync");
        assert_eq!(count(0, "sync"), "0 syncs");
    }

    #[test]
    fn tables_align_and_trim() {
        let rows = vec![
            vec!["a".to_string(), "1".to_string(), "x".to_string()],
            vec!["bbb".to_string(), "100".to_string(), String::new()],
        ];
        assert_eq!(
            table(&["N", "COUNT", "E"], &rows, &[false, true, false]),
            "N    COUNT  E\na        1  x\nbbb    100"
        );
    }

    #[test]
    fn invite_ends_with_the_code_alone() {
        let body = json!({"code": "mayros1-ABCDEF", "expiresAt": "2026-11-24T18:20:00Z"});
        let text = invite(&body, NOW).unwrap();
        let last = text.lines().last().unwrap();
        assert_eq!(last, "mayros1-ABCDEF");
        assert!(text.contains("2026-11-24 18:20:00Z (in 10m)"), "{text}");
        assert!(text.contains("mayros sync pair --code"), "{text}");
        assert_eq!(text.matches("mayros1-ABCDEF").count(), 1);
        assert!(invite(&json!({}), NOW).is_err());
        assert!(invite(&json!({"code": "a b"}), NOW).is_err());
    }

    #[test]
    fn pairing_answers() {
        assert_eq!(
            paired(&json!({"nodeId": ID, "name": "laptop", "endpoint": "127.0.0.1:19092"})),
            "paired with laptop (3f0c1a2b4d5e) at 127.0.0.1:19092"
        );
        assert_eq!(
            paired(&json!({"nodeId": ID, "name": null, "endpoint": "h:1"})),
            "paired with 3f0c1a2b4d5e (3f0c1a2b4d5e) at h:1"
        );
        assert_eq!(
            endpoint_recorded(
                &json!({"nodeId": ID, "endpoint": "h:1", "quicAddr": null, "mode": "polled"})
            ),
            "recorded 3f0c1a2b4d5e at h:1; mode polled"
        );
        assert_eq!(
            endpoint_recorded(
                &json!({"nodeId": ID, "endpoint": "h:1", "quicAddr": "h:2", "mode": "native"})
            ),
            "recorded 3f0c1a2b4d5e at h:1 (QUIC h:2); mode native"
        );
    }

    #[test]
    fn status_peers_show_the_engine_state_progress_and_why() {
        let mut failing = peer(ID, "laptop");
        failing.status = "unreachable".into();
        failing.state = "failing".into();
        failing.state_reason = Some("no answer in time".into());
        failing.last_error = Some("old dial error".into());
        failing.failures = 4;
        failing.total_syncs = 1;
        let mut syncing = peer("ab", "nas");
        syncing.state = "syncing".into();
        syncing.to_receive = 1200;
        syncing.to_send = 5;
        let text = status_peers(&[failing, syncing], NOW);
        let lines: Vec<&str> = text.trim_start().lines().collect();
        assert!(lines[0].contains(" failing, last sync"), "{text}");
        assert!(!lines[0].contains("unreachable"), "{text}");
        assert!(lines[0].ends_with("why: no answer in time"), "{text}");
        assert!(
            lines[1].contains("syncing (1200 to receive, 5 to send)"),
            "{text}"
        );
    }

    #[test]
    fn peers_table() {
        let mut laptop = peer(ID, "laptop");
        laptop.endpoint = Some("127.0.0.1:19092".into());
        laptop.namespaces = vec!["mayros".into()];
        laptop.last_sync_at = Some("2026-11-24T18:09:00Z".into());
        laptop.last_result = Some("ok".into());
        laptop.total_syncs = 3;
        laptop.total_triples_synced = 1200;
        let mut nas = peer("ab", "nas");
        nas.status = "unreachable".into();
        nas.failures = 12;
        nas.last_error = Some("connection refused\nretrying".into());
        let text = peer_table(&[laptop, nas], NOW);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[0].starts_with("NAME    ID            ENDPOINT"),
            "{text}"
        );
        assert!(lines[0].ends_with("FAILURES  LAST ERROR"), "{text}");
        assert!(lines[1].starts_with("laptop  3f0c1a2b4d5e  127.0.0.1:19092  active"));
        assert!(lines[1].contains("2026-11-24 18:09:00Z (1m ago)"), "{text}");
        assert!(lines[1].ends_with("  3     1200         0  -"), "{text}");
        assert!(lines[2].contains("never"), "{text}");
        assert!(lines[2].ends_with("connection refused retrying"), "{text}");
        assert!(peer_table(&[], NOW).contains("mayros sync invite"));
    }

    #[test]
    fn sync_now_lines_and_exit_status() {
        let body = json!({"mode": "polled", "deferred": false, "message": "synced 2 peers",
        "results": [
            {"nodeId": ID, "name": "laptop", "ok": true, "received": 5, "applied": 4,
             "conflicts": 1, "sent": 2, "durationMs": 37},
            {"nodeId": ID, "name": null, "ok": false, "received": 0, "applied": 0,
             "conflicts": 0, "sent": 0, "durationMs": 3, "error": "peer unreachable"}
        ]});
        assert_eq!(
            sync_now(&body),
            "ok laptop received=5 applied=4 conflicts=1 sent=2 in 37 ms\n\
             FAILED 3f0c1a2b4d5e: peer unreachable"
        );
        assert_eq!(failures(&body), (1, 2));
        assert_eq!(failure_summary(&body).unwrap(), "1 of 2 peer syncs failed");
        let ok = json!({"mode": "polled", "deferred": false, "message": "",
            "results": [{"name": "a", "ok": true}]});
        assert_eq!(failure_summary(&ok), None);
        assert_eq!(
            sync_now(
                &json!({"mode": "polled", "deferred": false, "message": "no peers", "results": []})
            ),
            "no peers"
        );
        assert_eq!(
            sync_now(&json!({"mode": "none", "deferred": false, "results": []})),
            "none mode: no peer to sync with"
        );
    }

    #[test]
    fn gossip_lines_show_the_figures_and_each_p2p_peer() {
        let g = NativeStatus {
            initiates: true,
            round: 42,
            known_ids: 601,
            bloom_filter_items: 500,
            bloom_filter_fpr: 0.0101,
            pending_announcements: 3,
            successful_syncs: 40,
            failed_syncs: 1,
            bytes_in: 12_345,
            bytes_out: 999,
            peers: vec![
                NativePeer {
                    node_id: "ab".repeat(32),
                    addr: Some("127.0.0.1:5000".into()),
                    connected: true,
                    last_round_ms: Some(12),
                    ..NativePeer::default()
                },
                NativePeer {
                    node_id: "cd".repeat(32),
                    queued_changes: 7,
                    to_receive: 2,
                    failing: Some("timed\nout".into()),
                    ..NativePeer::default()
                },
            ],
            last_error: Some("bad frame".into()),
            ..fixtures::gossip()
        };
        assert_eq!(
            gossip_lines(&g),
            "QUIC 127.0.0.1:19091, gossiping, round 42, 601 known ids, bloom 500 items FPR 0.0101, 3 pending, 40 ok / 1 failed rounds, 12.3 kB in / 999 B out\n  \
             abababababab 127.0.0.1:5000 connected, last round 12 ms\n  \
             cdcdcdcdcdcd - not connected, 7 changes queued, 2 to receive, rounds failing: timed out\n  \
             last error: bad frame"
        );
    }

    #[test]
    fn native_mode_defers_with_gossip_stats() {
        let body = json!({"mode": "native", "deferred": true,
            "message": "native mode: gossip syncs continuously; no REST sync started",
            "results": [],
            "gossip": {"round": 12, "knownIds": 500, "bloomFilterFpr": 0.01, "peers": [1, 2]}});
        assert_eq!(
            sync_now(&body),
            "native mode: gossip syncs continuously; no REST sync started\n\
             gossip bloomFilterFpr=0.01 knownIds=500 peers=[2 items] round=12"
        );
        assert_eq!(failure_summary(&body), None);
        assert_eq!(stats_line(&json!({"a": {"b": 1}})), "a.b=1");
    }

    #[test]
    fn hooks_say_whether_they_ran() {
        assert_eq!(
            hook(&json!({"ran": false, "reason": "sync.autoSync is off", "results": []})),
            "skipped: sync.autoSync is off"
        );
        let ran = json!({"ran": true, "reason": "polled mode, autoSync on",
            "results": [{"name": "a", "ok": false, "error": "timeout"}]});
        assert_eq!(
            hook(&ran),
            "ran: polled mode, autoSync on\nFAILED a: timeout"
        );
        assert!(failure_summary(&ran).is_some());
    }

    #[test]
    fn conflicts_show_both_values() {
        let list = json!([{
            "id": 7, "at": "2026-11-24T18:00:00Z", "namespace": "mayros",
            "subject": "mayros:agent:a1", "predicate": "mayros:likes",
            "strategy": "last-writer-wins", "peer": ID,
            "winners": [{"id": "aa11", "subject": "mayros:agent:a1", "predicate": "mayros:likes",
                         "object": "tea", "author": ID, "hlc": "0001", "createdAt": null}],
            "losers": [{"id": "bb22", "subject": "mayros:agent:a1", "predicate": "mayros:likes",
                        "object": {"node": "ex:coffee"}, "author": "ffee", "hlc": "0000"}],
            "restoredAt": null
        }, {
            "id": "c2", "at": "2026-11-24T18:05:00Z", "subject": "s", "predicate": "p",
            "strategy": "keep-both", "peer": null, "winners": [], "losers": [],
            "restoredAt": "2026-11-24T18:06:00Z"
        }]);
        let text = conflict_list(&list, NOW);
        assert_eq!(
            text,
            "conflict 7  2026-11-24 18:00:00Z (10m ago)  mayros:agent:a1 mayros:likes  \
             last-writer-wins  with 3f0c1a2b4d5e\n\
             \x20 kept  \"tea\"  by 3f0c1a2b4d5e  hlc 0001  id aa11\n\
             \x20 lost  <ex:coffee>  by ffee  hlc 0000  id bb22\n\
             \x20 restore with: mayros sync conflicts restore 7\n\
             \n\
             conflict c2  2026-11-24 18:05:00Z (5m ago)  s p  keep-both\n\
             \x20 restored 2026-11-24 18:06:00Z (4m ago)"
        );
        assert_eq!(conflict_list(&json!([]), NOW), "no conflicts");
        // Times given as unix milliseconds (`atMs`, `restoredAtMs`) are shown the same way.
        let ms = json!([{"id": 1, "atMs": 1_795_543_800_000_u64, "subject": "s",
            "predicate": "p", "strategy": "keep-both", "winners": [], "losers": [],
            "restoredAtMs": 1_795_543_860_000_u64}]);
        assert_eq!(
            conflict_list(&ms, NOW),
            "conflict 1  2026-11-24 18:10:00Z (0s ago)  s p  keep-both\n\
             \x20 restored 2026-11-24 18:11:00Z (in 1m)"
        );
        assert_eq!(
            restored(&json!({"restored": ["aa", "bb"]})),
            "restored 2 triples: aa, bb"
        );
        assert!(restored(&json!({"restored": []})).starts_with("nothing"));
    }

    #[test]
    fn review_items_say_how_to_settle_them() {
        let list = json!([{
            "id": ID, "subject": "mayros:agent:a1", "predicate": "mayros:likes",
            "object": {"node": "ex:tea"}, "author": ID, "hlc": "0001a2b3c4d50000",
            "createdAt": "2026-11-20T18:10:00Z", "fromPeer": "ffee",
            "receivedAt": "2026-11-24T18:09:00Z"
        }]);
        assert_eq!(
            review_list(&list, NOW),
            format!(
                "1 item held for review: old items a stale peer offered that this device lacks; \
                 they may have been deleted here, so they were not inserted\n\
                 \n\
                 {ID}\n\
                 \x20 mayros:agent:a1 mayros:likes <ex:tea>\n\
                 \x20 by 3f0c1a2b4d5e, written 2026-11-20 18:10:00Z (4d ago), hlc 0001a2b3c4d50000\n\
                 \x20 offered by ffee 2026-11-24 18:09:00Z (1m ago)\n\
                 \x20 keep it: mayros sync review accept {ID}\n\
                 \x20 drop it: mayros sync review discard {ID}"
            )
        );
        assert_eq!(review_list(&json!([]), NOW), "nothing held for review");
        assert!(review_decided(&json!({"accepted": "ab"})).starts_with("accepted ab: "));
        assert!(review_decided(&json!({"discarded": "ab"})).starts_with("discarded ab: "));
        // A stale peer and a pull that held items say so.
        let mut old = peer(ID, "old");
        old.stale = true;
        let text = status_peers(&[old], NOW);
        assert!(text.contains(" active,stale, "), "{text}");
        let r = json!({"ok": true, "name": "old", "heldForReview": 2});
        assert!(sync_result(&r).ends_with("; held-for-review=2 (see mayros sync review)"));
        let r = json!({"ok": true, "name": "old", "heldForReview": 0});
        assert!(!sync_result(&r).contains("held"));
    }

    #[test]
    fn pause_and_resume() {
        assert_eq!(
            pause_state(&json!({"pausedUntil": "2026-11-24T18:25:00Z"}), true, NOW),
            "sync paused until 2026-11-24 18:25:00Z (in 15m)"
        );
        assert_eq!(
            pause_state(&json!({"pausedUntil": null}), true, NOW),
            "sync paused until resumed (mayros sync resume)"
        );
        assert_eq!(
            pause_state(&json!({"pausedUntil": null}), false, NOW),
            "sync resumed"
        );
    }

    #[test]
    fn status_lists_peers() {
        let mut laptop = peer(ID, "laptop");
        laptop.endpoint = Some("h:1".into());
        laptop.last_sync_at = Some("2026-11-24T18:09:30Z".into());
        laptop.last_result = Some("ok".into());
        laptop.total_syncs = 2;
        laptop.total_triples_synced = 10;
        laptop.failures = 1;
        laptop.last_error = Some("x".into());
        assert_eq!(
            status_peers(&[laptop], NOW),
            "\n  laptop (3f0c1a2b4d5e) h:1 active, last sync 2026-11-24 18:09:30Z (30s ago) ok, \
             2 syncs, 10 triples, 1 failure, last error: x"
        );
        let mut s = fixtures::snapshot();
        s.paused = true;
        assert_eq!(status_pause(&s, NOW).unwrap(), "until resumed");
        s.paused = false;
        assert_eq!(status_pause(&s, NOW), None);
    }
}
