//! `mayros sync …`: status, pairing, peers, sync now, hooks, conflicts, the review queue and
//! pause of the running engine (DESIGN §2.3, §3.2, §6.2, §7.2, §8).
//!
//! Every operation is one control-API request. `--json` prints the API body as received
//! (re-indented); otherwise [`crate::output::sync`] formats it (status and peers decoded once
//! into the engine's typed answers; a body of another shape fails with exit 1). `sync now` and the hooks exit 1
//! when a peer's sync failed, after printing every result.

use anyhow::{anyhow, bail};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::cli::{
    ConflictsArgs, ConflictsCommand, GlobalArgs, PairArgs, ReviewArgs, ReviewCommand, SyncCommand,
};
use crate::client::{Answer, EngineClient, LONG_REQUEST_TIMEOUT};
use crate::output::{self, sync as fmt};
use mayros_sync_node::api::path_segment;
use mayros_sync_node::dto::{PeerView, StatusSnapshot};

/// Runs one `mayros sync` operation against the engine of the data dir.
pub async fn run(global: &GlobalArgs, command: SyncCommand) -> anyhow::Result<()> {
    let client = EngineClient::locate(&global.data_dir())?;
    let now = OffsetDateTime::now_utc;
    match command {
        SyncCommand::Status { json } => {
            let answer = client.control_get("/api/v1/sync/status").await?;
            if json {
                print_json(&answer)?;
            } else {
                let status: StatusSnapshot = answer.decode()?;
                output::print(&output::status_summary(&status))?;
            }
        }
        SyncCommand::Invite { json } => {
            let answer = client
                .control_post("/api/v1/sync/invite", &json!({}))
                .await?;
            if json {
                print_json(&answer)?;
            } else {
                output::print(&fmt::invite(&answer.json, now()).map_err(|e| anyhow!(e))?)?;
            }
        }
        SyncCommand::Pair(args) => pair(&client, args).await?,
        SyncCommand::Requests { json } => {
            let answer = client.control_get("/api/v1/sync/pair/requests").await?;
            if json {
                print_json(&answer)?;
            } else {
                output::print(&fmt::pair_requests(&answer.json))?;
            }
        }
        SyncCommand::Discover { json } => {
            let answer = client.control_get("/api/v1/sync/nearby").await?;
            if json {
                print_json(&answer)?;
            } else {
                output::print(&fmt::nearby_table(&answer.json, now()))?;
            }
        }
        SyncCommand::Unpair { peer, json } => {
            let path = format!("/api/v1/sync/peers/{}", path_segment(&peer));
            let answer = client.control_delete(&path).await?;
            if json {
                print_json(&answer)?;
            } else {
                output::print(&format!(
                    "removed {} from the group; the group seed was rotated and every member now refuses it",
                    answer.json["removed"].as_str().unwrap_or("?")
                ))?;
            }
        }
        SyncCommand::Peers { json } => {
            let answer = client.control_get("/api/v1/sync/peers").await?;
            if json {
                print_json(&answer)?;
            } else {
                let peers: Vec<PeerView> = answer.decode()?;
                output::print(&fmt::peer_table(&peers, now()))?;
            }
        }
        SyncCommand::Now { peer, json } => {
            let body = match peer {
                Some(peer) => json!({ "peer": peer }),
                None => json!({}),
            };
            let answer = client
                .control_post_waiting("/api/v1/sync/now", &body, LONG_REQUEST_TIMEOUT)
                .await?;
            print_results(&answer, json, fmt::sync_now)?;
        }
        SyncCommand::Hook { event, json } => {
            let path = format!("/api/v1/sync/hooks/{}", event.segment());
            let answer = client
                .control_post_waiting(&path, &json!({}), LONG_REQUEST_TIMEOUT)
                .await?;
            print_results(&answer, json, fmt::hook)?;
        }
        SyncCommand::Conflicts(args) => conflicts(&client, args).await?,
        SyncCommand::Review(args) => review(&client, args).await?,
        SyncCommand::Pause {
            peer: Some(peer),
            json,
            ..
        } => peer_status(&client, &peer, "pause", json).await?,
        SyncCommand::Resume {
            peer: Some(peer),
            json,
        } => peer_status(&client, &peer, "resume", json).await?,
        SyncCommand::Pause { minutes, json, .. } => {
            let body = match minutes {
                Some(m) => json!({ "minutes": m }),
                None => json!({}),
            };
            let answer = client.control_post("/api/v1/sync/pause", &body).await?;
            if json {
                print_json(&answer)?;
            } else {
                output::print(&fmt::pause_state(&answer.json, true, now()))?;
            }
        }
        SyncCommand::Resume { json, .. } => {
            let answer = client
                .control_post("/api/v1/sync/resume", &json!({}))
                .await?;
            if json {
                print_json(&answer)?;
            } else {
                output::print(&fmt::pause_state(&answer.json, false, now()))?;
            }
        }
    }
    Ok(())
}

/// Pauses or resumes one peer.
async fn peer_status(
    client: &EngineClient,
    peer: &str,
    action: &str,
    json: bool,
) -> anyhow::Result<()> {
    let path = format!("/api/v1/sync/peers/{}/{action}", urlencode(peer));
    let answer = client.control_post(&path, &json!({})).await?;
    if json {
        return print_json(&answer);
    }
    let name = answer.json["name"].as_str().unwrap_or(peer);
    let status = answer.json["status"].as_str().unwrap_or("?");
    output::print(&format!("{name}: {status}\n"))?;
    Ok(())
}

/// Percent-encodes a path segment (peer names may hold spaces).
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn print_json(answer: &Answer) -> anyhow::Result<()> {
    output::print(&output::pretty_json_text(&answer.text))?;
    Ok(())
}

/// Prints a `sync now` or hook answer, then fails (exit 1) when a peer's sync failed.
fn print_results(answer: &Answer, json: bool, human: fn(&Value) -> String) -> anyhow::Result<()> {
    if json {
        print_json(answer)?;
    } else {
        output::print(&human(&answer.json))?;
    }
    match fmt::failure_summary(&answer.json) {
        Some(summary) => bail!("{summary}"),
        None => Ok(()),
    }
}

/// `mayros sync pair`: `--code <invite>` or `<node-id> <endpoint>` ([`crate::cli::Cli::check`]
/// has refused every other form).
async fn pair(client: &EngineClient, args: PairArgs) -> anyhow::Result<()> {
    if let Some(node) = args.reject {
        let path = format!("/api/v1/sync/pair/requests/{}/reject", path_segment(&node));
        let answer = client.control_post(&path, &json!({})).await?;
        return if args.json {
            print_json(&answer)
        } else {
            Ok(output::print(&format!(
                "rejected the pairing request of {node}"
            ))?)
        };
    }
    if let Some(node) = args.accept {
        let requests = client.control_get("/api/v1/sync/pair/requests").await?;
        let code = requests
            .json
            .as_array()
            .and_then(|a| a.iter().find(|r| r["nodeId"] == node.as_str()))
            .and_then(|r| r["code"].as_str().map(str::to_string))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no pending pairing request from {node} (mayros sync requests lists them)"
                )
            })?;
        println!("code {code}");
        let body = match &args.group {
            Some(g) => json!({ "group": g }),
            None => json!({}),
        };
        let path = format!("/api/v1/sync/pair/requests/{}/accept", path_segment(&node));
        let answer = client
            .control_post_waiting(&path, &body, LONG_REQUEST_TIMEOUT)
            .await?;
        return if args.json {
            print_json(&answer)
        } else {
            Ok(output::print(&format!(
                "paired with {} ({node})",
                answer.json["name"].as_str().unwrap_or("?")
            ))?)
        };
    }
    if let (Some(target), None, None) = (&args.target, &args.endpoint, &args.code) {
        let answer = client
            .control_post_waiting(
                "/api/v1/sync/pair",
                &json!({ "target": target }),
                LONG_REQUEST_TIMEOUT,
            )
            .await?;
        let code = answer.json["code"].as_str().unwrap_or("?").to_string();
        let id = answer.json["sessionId"].as_u64().unwrap_or(0);
        let name = answer.json["name"].as_str().unwrap_or("?").to_string();
        println!("code {code}");
        if !args.json {
            eprintln!("check that {name} shows the same code, then accept there (mayros sync pair --accept <this node id>)");
        }
        loop {
            let view = client
                .control_get_waiting(
                    &format!("/api/v1/sync/pair/sessions/{id}?waitMs=30000"),
                    LONG_REQUEST_TIMEOUT,
                )
                .await?;
            match view.json["state"].as_str() {
                Some("waiting") => continue,
                Some("paired") => {
                    return if args.json {
                        print_json(&view)
                    } else {
                        Ok(output::print(&format!(
                            "paired with {name} ({})",
                            view.json["nodeId"].as_str().unwrap_or("?")
                        ))?)
                    };
                }
                other => bail!(
                    "not paired ({}): {}",
                    other.unwrap_or("unknown"),
                    view.json["reason"].as_str().unwrap_or("no reason given")
                ),
            }
        }
    }
    let (answer, human) = match (args.code, args.target, args.endpoint) {
        (Some(code), _, _) => {
            let body = json!({ "code": code.trim() });
            let answer = client
                .control_post_waiting("/api/v1/sync/pair/code", &body, LONG_REQUEST_TIMEOUT)
                .await?;
            let text = fmt::paired(&answer.json);
            (answer, text)
        }
        (None, Some(target), Some(endpoint)) => {
            let body = json!({ "target": target.to_ascii_lowercase(), "endpoint": endpoint });
            let answer = client.control_post("/api/v1/sync/pair", &body).await?;
            let text = fmt::endpoint_recorded(&answer.json);
            (answer, text)
        }
        _ => bail!("nothing to pair with: give --code <invite> or <node-id> <endpoint>"),
    };
    if args.json {
        print_json(&answer)
    } else {
        output::print(&human)?;
        Ok(())
    }
}

/// `mayros sync conflicts [restore <id>]`.
async fn conflicts(client: &EngineClient, args: ConflictsArgs) -> anyhow::Result<()> {
    match args.command {
        None => {
            let answer = client.control_get("/api/v1/sync/conflicts").await?;
            if args.json {
                print_json(&answer)?;
            } else {
                output::print(&fmt::conflict_list(&answer.json, OffsetDateTime::now_utc()))?;
            }
        }
        Some(ConflictsCommand::Restore { id, json }) => {
            let path = format!("/api/v1/sync/conflicts/{}/restore", path_segment(&id));
            let answer = client.control_post(&path, &json!({})).await?;
            if json || args.json {
                print_json(&answer)?;
            } else {
                output::print(&fmt::restored(&answer.json))?;
            }
        }
    }
    Ok(())
}

/// `mayros sync review [accept|discard <id>]`: an unknown id fails (exit 1) with the engine's
/// message.
async fn review(client: &EngineClient, args: ReviewArgs) -> anyhow::Result<()> {
    match args.command {
        None => {
            let answer = client.control_get("/api/v1/sync/review").await?;
            if args.json {
                print_json(&answer)?;
            } else {
                output::print(&fmt::review_list(&answer.json, OffsetDateTime::now_utc()))?;
            }
        }
        Some(command) => {
            let (id, json) = match &command {
                ReviewCommand::Accept { id, json } | ReviewCommand::Discard { id, json } => {
                    (id.trim().to_ascii_lowercase(), *json)
                }
            };
            let path = format!(
                "/api/v1/sync/review/{}/{}",
                path_segment(&id),
                command.segment()
            );
            let answer = client.control_post(&path, &json!({})).await?;
            if json || args.json {
                print_json(&answer)?;
            } else {
                output::print(&fmt::review_decided(&answer.json))?;
            }
        }
    }
    Ok(())
}
