//! `GET /api/v1/events`: the live events of a session as Server-Sent
//! Events (see `live.rs` for the hub, `docs/live.md` for the whole).
//!
//! A stream first sends what it missed (after `Last-Event-ID`, from the
//! table), then what the hub hands out. It checks its session on every
//! event it sends and on every heartbeat, without restarting the session's
//! idle clock: an open tab alone does not keep a session alive.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::sse::{Event as SseEvent, Sse};
use axum::response::{IntoResponse, Response};
use latchkey_api::ErrorCode;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Instant, Interval};

use super::error::ApiError;
use super::extract::{cookie_name, ParticipantSession};
use super::AppState;
use crate::domain::sessions::{token_hash, SessionKind};
use crate::live::{self, Audience, Hub, Slot};
use crate::model::Timestamp;
use crate::store::{Event, SessionOwner};

/// Events read from the table at once while catching up.
const BACKLOG_PAGE: u32 = 200;
/// How long a browser waits before reconnecting a dropped stream.
const RETRY: std::time::Duration = std::time::Duration::from_secs(3);
/// What a client refused for a full instance is told to wait.
const FULL_RETRY_SECS: &str = "10";

/// After every API write that succeeded, the hub reads the table: the
/// write may have recorded an event.
pub async fn wake_after_write(State(hub): State<Hub>, request: Request, next: Next) -> Response {
    let write = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let response = next.run(request).await;
    if write && response.status().is_success() {
        hub.wake();
    }
    response
}

/// The token hash of the cookie the session came from.
fn session_token_hash(headers: &HeaderMap, name: &str) -> Option<Vec<u8>> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| token_hash(v))
}

/// `Last-Event-ID`, if it is a number; anything else starts afresh.
fn last_event_id(headers: &HeaderMap) -> Option<i64> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|seq| *seq >= 0)
}

/// The stream.
pub async fn stream(
    State(state): State<AppState>,
    session: ParticipantSession,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (audience, kind) = match session.0.owner {
        SessionOwner::Member(member) => (Audience::Member(member), SessionKind::Member),
        SessionOwner::Guest(conversation) => (Audience::Guest(conversation), SessionKind::Guest),
    };
    let hub = state.live.clone();
    let token = session_token_hash(&headers, cookie_name(&state, kind))
        .ok_or_else(|| ApiError::internal(&"a session without its cookie"))?;
    let Ok(slot) = hub.open(token.clone()) else {
        let mut refused = ApiError::new(
            ErrorCode::StreamsFull,
            "This server holds as many event streams as it may. Try again later.",
        )
        .into_response();
        refused.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(FULL_RETRY_SECS),
        );
        return Ok(refused);
    };
    // Subscribed before the starting point is read: an event handed out
    // between the two comes on the receiver and is skipped by number.
    let receiver = hub.subscribe();
    let (cursor, catching_up) = match last_event_id(&headers) {
        Some(seq) => (seq, true),
        None => (
            hub.newest().await.map_err(|e| ApiError::internal(&e))?,
            false,
        ),
    };
    let heartbeat = state.ctx.config.events.heartbeat;
    let live = Live {
        hub,
        slot,
        audience,
        token,
        receiver,
        cursor,
        catching_up,
        backlog: VecDeque::new(),
        heartbeat: tokio::time::interval_at(Instant::now() + heartbeat, heartbeat),
        started: false,
        ended: false,
    };
    let body = futures_util::stream::unfold(live, Live::next);
    let mut response = Sse::new(body).into_response();
    // nginx buffers answers unless told otherwise; an event must not wait.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// One open stream.
struct Live {
    hub: Hub,
    slot: Slot,
    audience: Audience,
    token: Vec<u8>,
    receiver: broadcast::Receiver<Arc<Event>>,
    /// The newest event this stream has looked at (sent or not its own).
    cursor: i64,
    catching_up: bool,
    backlog: VecDeque<Event>,
    heartbeat: Interval,
    started: bool,
    ended: bool,
}

type Item = Result<SseEvent, Infallible>;

impl Live {
    async fn next(mut self) -> Option<(Item, Live)> {
        if self.ended {
            return None;
        }
        if !self.started {
            self.started = true;
            // The browser's reconnect delay, and a first line so that a
            // client sees the stream is open.
            return Some((Ok(SseEvent::default().retry(RETRY).comment("open")), self));
        }
        loop {
            if let Some(event) = self.backlog.pop_front() {
                return self.send(&event).await;
            }
            if self.catching_up {
                if !self.read_backlog().await {
                    return None;
                }
                continue;
            }
            tokio::select! {
                () = self.slot.closed.notified() => return None,
                _ = self.heartbeat.tick() => {
                    if !self.alive().await {
                        return None;
                    }
                    return Some((Ok(SseEvent::default().comment("ping")), self));
                }
                received = self.receiver.recv() => match received {
                    Ok(event) => {
                        if event.seq <= self.cursor {
                            continue;
                        }
                        self.cursor = event.seq;
                        if self.audience.sees(&event) {
                            return self.send(&event).await;
                        }
                    }
                    // Too far behind: the page reconnects with its
                    // Last-Event-ID and reads the rest from the table.
                    Err(RecvError::Lagged(_) | RecvError::Closed) => return None,
                },
            }
        }
    }

    /// The next page of missed events that are this stream's; false when
    /// the table could not be read (the stream ends; the page reconnects).
    async fn read_backlog(&mut self) -> bool {
        match self
            .hub
            .store()
            .events_after(self.cursor, BACKLOG_PAGE)
            .await
        {
            Ok(events) => {
                if events.len() < BACKLOG_PAGE as usize {
                    self.catching_up = false;
                }
                if let Some(last) = events.last() {
                    self.cursor = last.seq;
                }
                let audience = self.audience;
                self.backlog
                    .extend(events.into_iter().filter(|e| audience.sees(e)));
                true
            }
            Err(error) => {
                tracing::warn!(%error, "event stream: reading missed events");
                false
            }
        }
    }

    async fn alive(&self) -> bool {
        match self
            .hub
            .store()
            .session_alive(&self.token, Timestamp::now())
            .await
        {
            Ok(alive) => alive,
            Err(error) => {
                tracing::warn!(%error, "event stream: checking the session");
                false
            }
        }
    }

    async fn send(mut self, event: &Event) -> Option<(Item, Live)> {
        if self.audience.ends_with(event) {
            // The last event; the session is gone with it.
            self.ended = true;
        } else if !self.alive().await {
            return None;
        }
        let sse = SseEvent::default()
            .id(event.seq.to_string())
            .event(event.kind.name())
            .data(live::data(event));
        Some((Ok(sse), self))
    }
}
