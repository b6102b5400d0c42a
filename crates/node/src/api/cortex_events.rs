//! Agent trace events of the Cortex REST (`/api/v1/events`): records of this device only, never
//! synced, kept by the store under [`EventRetention::default`] (the newest 100 000, at most 30
//! days).

use axum::extract::{Path, State};
use axum::Json;
use mayros_sync_store::{EventFilter, EventRetention, NewAgentEvent, StoredAgentEvent};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::ApiState;

/// Most events one `POST /api/v1/events` may carry.
pub const MAX_EVENTS_PER_POST: usize = 10_000;
/// Default page size of `GET /api/v1/events`.
pub const DEFAULT_EVENT_LIMIT: usize = 100;
/// Largest page size of `GET /api/v1/events`.
pub const MAX_EVENT_LIMIT: usize = 10_000;

/// Body of `POST /api/v1/events`.
#[derive(Debug, Deserialize)]
pub struct EventsBody {
    /// The events, as the Mayros client's `EventPayload`.
    pub events: Vec<Value>,
}

fn string_field<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    at: &str,
    required: bool,
) -> Result<Option<&'a str>, ApiError> {
    match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
        None | Some(Value::Null) if !required => Ok(None),
        _ => Err(ApiError::bad_request(
            "INVALID_FIELD",
            format!("{at}{key}: must be a non-empty string"),
        )),
    }
}

/// Checks one client event and splits out the fields the store indexes.
pub fn event_from_json(v: &Value, at: &str) -> Result<NewAgentEvent, ApiError> {
    let map = v.as_object().ok_or_else(|| {
        ApiError::bad_request(
            "INVALID_FIELD",
            format!("{at}: expected an event object with type, agentId and timestamp"),
        )
    })?;
    let kind = string_field(map, "type", at, true)?.unwrap_or_default();
    let agent_id = string_field(map, "agentId", at, true)?.unwrap_or_default();
    let timestamp = string_field(map, "timestamp", at, true)?.unwrap_or_default();
    let session = string_field(map, "session", at, false)?;
    string_field(map, "parentEvent", at, false)?;
    if let Some(d) = map.get("durationMs") {
        if !d.is_number() && !d.is_null() {
            return Err(ApiError::bad_request(
                "INVALID_FIELD",
                format!("{at}durationMs: must be a number"),
            ));
        }
    }
    if let Some(fields) = map.get("fields") {
        let ok = fields
            .as_object()
            .is_some_and(|f| f.values().all(Value::is_string));
        if !ok {
            return Err(ApiError::bad_request(
                "INVALID_FIELD",
                format!("{at}fields: must be an object of strings"),
            ));
        }
    }
    let mut body = map.clone();
    body.remove("id");
    Ok(NewAgentEvent {
        kind: kind.to_string(),
        agent_id: agent_id.to_string(),
        session: session.map(str::to_string),
        timestamp: timestamp.to_string(),
        body: Value::Object(body),
    })
}

/// The client's `TraceEventDto`: the event as sent, with its id.
pub fn event_dto(e: &StoredAgentEvent) -> Value {
    let mut out = match &e.body {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    out.insert("id".into(), Value::String(e.id.clone()));
    out.entry("fields").or_insert_with(|| json!({}));
    Value::Object(out)
}

/// `POST /api/v1/events` `{"events":[…]}` → `{"accepted","duplicates","ids"}`.
pub async fn post_events(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<EventsBody>,
) -> Result<Json<Value>, ApiError> {
    if body.events.len() > MAX_EVENTS_PER_POST {
        return Err(ApiError::bad_request(
            "TOO_MANY_EVENTS",
            format!(
                "{} events in one request; send at most {MAX_EVENTS_PER_POST}",
                body.events.len()
            ),
        ));
    }
    let events = body
        .events
        .iter()
        .enumerate()
        .map(|(i, v)| event_from_json(v, &format!("events[{i}].")))
        .collect::<Result<Vec<_>, _>>()?;
    let now = state.engine.clock().now_ms();
    let out = state
        .engine
        .with_store(move |s| s.append_agent_events(&events, now, EventRetention::default()))
        .await?;
    Ok(Json(json!({
        "accepted": out.ids.len() - out.duplicates,
        "duplicates": out.duplicates,
        "ids": out.ids,
    })))
}

/// Query string of `GET /api/v1/events`.
#[derive(Debug, Deserialize)]
pub struct EventParams {
    /// Only this agent's events.
    #[serde(rename = "agentId", alias = "agent_id")]
    pub agent_id: Option<String>,
    /// Only this session's.
    pub session: Option<String>,
    /// Only this type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Only those with a timestamp at or after this RFC 3339 time.
    #[serde(alias = "from")]
    pub since: Option<String>,
    /// Page size (default 100, at most 10 000): the newest matching events, oldest first.
    pub limit: Option<usize>,
}

/// `GET /api/v1/events?agentId=&session=&type=&since=&limit=` → `{"events":[…]}`.
pub async fn list_events(
    State(state): State<ApiState>,
    ApiQuery(params): ApiQuery<EventParams>,
) -> Result<Json<Value>, ApiError> {
    let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let filter = EventFilter {
        agent_id: nonempty(params.agent_id),
        session: nonempty(params.session),
        kind: nonempty(params.kind),
        since: nonempty(params.since),
    };
    let limit = params
        .limit
        .unwrap_or(DEFAULT_EVENT_LIMIT)
        .min(MAX_EVENT_LIMIT);
    let events = state
        .engine
        .with_store(move |s| s.agent_events(&filter, limit))
        .await?;
    Ok(Json(
        json!({ "events": events.iter().map(event_dto).collect::<Vec<_>>() }),
    ))
}

/// `GET /api/v1/events/{id}` → `TraceEventDto`, 404 when unknown (or dropped by retention).
pub async fn get_event(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let key = id.clone();
    match state
        .engine
        .with_store(move |s| s.agent_event(&key))
        .await?
    {
        Some(e) => Ok(Json(event_dto(&e))),
        None => Err(ApiError::not_found(format!(
            "no event with id {id} (events are kept for 30 days, the newest 100000)"
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_client_event_is_checked_and_split() {
        let v = json!({"subject": "s", "type": "tool", "agentId": "a1", "timestamp": "2026-12-01T00:00:00Z",
                       "session": "x", "durationMs": 5, "fields": {"k": "v"}, "id": "ignored"});
        let e = event_from_json(&v, "events[0].").unwrap();
        assert_eq!((e.kind.as_str(), e.agent_id.as_str()), ("tool", "a1"));
        assert_eq!(e.session.as_deref(), Some("x"));
        assert!(e.body.get("id").is_none());
        for bad in [
            json!({"type": "t", "timestamp": "x"}),
            json!({"type": "t", "agentId": "a", "timestamp": "x", "fields": {"k": 1}}),
            json!({"type": "t", "agentId": "a", "timestamp": "x", "durationMs": "5"}),
            json!("not an object"),
        ] {
            let err = event_from_json(&bad, "events[1].").unwrap_err();
            assert_eq!(err.code, "INVALID_FIELD", "{bad}");
            assert!(err.message.starts_with("events[1]."), "{}", err.message);
        }
    }
}
