//! `mayros cortex put|get|list|delete`: the Cortex REST of the running engine (DESIGN §6.1).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::cli::{CortexCommand, GlobalArgs};
use crate::client::EngineClient;
use crate::output;

/// Runs one `mayros cortex` operation against the engine of the data dir.
pub async fn run(global: &GlobalArgs, command: CortexCommand) -> anyhow::Result<()> {
    let client = EngineClient::locate(&global.data_dir())?;
    match command {
        CortexCommand::Put {
            subject,
            predicate,
            object,
            string,
            json,
        } => {
            let body = json!({
                "subject": subject,
                "predicate": predicate,
                "object": object_argument(&object, string),
            });
            let answer = client.post("/api/v1/triples", &body).await?;
            if json {
                output::print(&output::pretty_json_text(&answer.text))?;
            } else {
                let verb = if answer.status == StatusCode::CREATED {
                    "created"
                } else {
                    "exists"
                };
                output::print(&format!("{verb} {}", id_of(&answer.json)))?;
            }
        }
        CortexCommand::Get { id, json } => {
            let answer = client.get(&format!("/api/v1/triples/{id}")).await?;
            if json {
                output::print(&output::pretty_json_text(&answer.text))?;
            } else {
                output::print(&output::triple_details(&answer.json))?;
            }
        }
        CortexCommand::List {
            subject,
            predicate,
            limit,
            offset,
            json,
        } => {
            let query: Vec<(&str, String)> = [
                ("subject", subject),
                ("predicate", predicate),
                ("limit", limit.map(|n| n.to_string())),
                ("offset", offset.map(|n| n.to_string())),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
            let answer = client.get_query("/api/v1/triples", &query).await?;
            if json {
                output::print(&output::pretty_json_text(&answer.text))?;
            } else {
                output::print(&output::triple_page(&answer.json))?;
            }
        }
        CortexCommand::Delete { id } => {
            client.delete(&format!("/api/v1/triples/{id}")).await?;
            output::print(&format!("deleted {id}"))?;
        }
    }
    Ok(())
}

/// The object as sent to the API: JSON when the argument parses as JSON (numbers, booleans,
/// `null`, `{"node":…}`, typed objects, quoted strings), else the text itself; `--string`
/// always sends the text.
pub fn object_argument(text: &str, force_string: bool) -> Value {
    if force_string {
        return Value::String(text.to_string());
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

fn id_of(triple: &Value) -> &str {
    triple.get("id").and_then(Value::as_str).unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_json_when_they_parse() {
        assert_eq!(object_argument("42", false), json!(42));
        assert_eq!(object_argument("-1.5", false), json!(-1.5));
        assert_eq!(object_argument("true", false), json!(true));
        assert_eq!(object_argument("null", false), Value::Null);
        assert_eq!(
            object_argument(r#"{"node":"ex:b"}"#, false),
            json!({"node": "ex:b"})
        );
        assert_eq!(object_argument(r#""42""#, false), json!("42"));
        assert_eq!(object_argument("tea", false), json!("tea"));
        assert_eq!(object_argument("green tea", false), json!("green tea"));
        assert_eq!(object_argument("{oops", false), json!("{oops"));
    }

    #[test]
    fn string_flag_wins() {
        assert_eq!(object_argument("42", true), json!("42"));
        assert_eq!(object_argument("null", true), json!("null"));
    }
}
