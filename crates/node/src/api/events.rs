//! `GET /api/v1/sync/nearby` and the Server-Sent Events stream `GET /api/v1/sync/events`
//! (DESIGN §6.2, §7.1).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::Json;
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::ApiState;
use crate::discovery::nearby::NearbyDevice;

/// Interval of the SSE keep-alive comments.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `GET /api/v1/sync/nearby`: `[{nodeId, name, addresses, quicPort, httpsPort, paired, lastSeen}]`.
pub async fn nearby(State(state): State<ApiState>) -> Json<Vec<NearbyDevice>> {
    Json(state.engine.nearby().list())
}

/// `GET /api/v1/sync/events`: every event published from now on, as `event: <kind>` and a
/// JSON `data:` line; a keep-alive comment every 15 s; ends when the engine stops.
pub async fn events(
    State(state): State<ApiState>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let hub = state.engine.events();
    let rx = hub.subscribe();
    let closed = hub.closed();
    tracing::debug!(subscribers = hub.subscribers(), "SSE client connected");
    let stream = futures_util::stream::unfold((rx, closed), |(mut rx, mut closed)| async move {
        let next = tokio::select! {
            r = rx.recv() => r,
            _ = async { let _ = closed.wait_for(|c| *c).await; } => return None,
        };
        let event = match next {
            Ok(ev) => SseEvent::default()
                .event(ev.kind())
                .data(ev.data().to_string()),
            Err(RecvError::Lagged(n)) => {
                SseEvent::default().comment(format!("{n} events skipped (client too slow)"))
            }
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), (rx, closed)))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}
