//! Live events for open pages: one [`Hub`] per instance reads the events
//! table after the last number it has seen and hands each new event to the
//! open streams (`GET /api/v1/events`, in `http/events.rs`), which pick
//! what their session may see.
//!
//! The hub wakes when this instance has written (a hook after every API
//! write), when another instance on the same PostgreSQL database has
//! committed an event (`pg_notify` in the event's transaction, heard on a
//! `LISTEN` connection of its own), and every [`POLL`] in any case: a
//! missed notice (a dropped listener connection, a write by the command
//! line) costs at most that long, never an event.
//!
//! Streams are bounded: per session (a new one beyond closes the oldest)
//! and per instance (one more is refused). A stream that falls more than
//! [`BUFFER`] events behind is closed; its page reconnects with
//! `Last-Event-ID` and reads what it missed from the table.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use latchkey_core::{ConversationId, Role};
use tokio::sync::{broadcast, watch, Notify};

use crate::config::EventsConfig;
use crate::metrics::Metrics;
use crate::store::{Event, EventKind, MemberId, Store};

/// The fallback read of the table when no notice came.
pub const POLL: Duration = Duration::from_secs(5);
/// Events the hub keeps for a stream that has not taken them yet.
const BUFFER: usize = 1024;
/// Events read from the table at once.
const PAGE: u32 = 500;
/// The hub reads the table at most once in this time. Under a burst of
/// writes every request wakes it; reading after each would cost a query a
/// write. Events arrive at most this much later, in pages.
const MIN_GAP: Duration = Duration::from_millis(20);

/// The event hub of one instance. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Hub(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    store: Store,
    metrics: Metrics,
    limits: EventsConfig,
    wake: Notify,
    sender: broadcast::Sender<Arc<Event>>,
    next_stream: AtomicU64,
    streams: Mutex<Streams>,
}

#[derive(Debug, Default)]
struct Streams {
    open: usize,
    /// By session token hash: the open streams, oldest first, each with
    /// its close signal.
    by_session: HashMap<Vec<u8>, VecDeque<(u64, Arc<Notify>)>>,
}

/// This instance holds `events.max_connections` streams already.
#[derive(Debug)]
pub struct Full;

/// Who a stream is for, and so which events it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// A member: his conversations' events and his own `member.disabled`.
    Member(MemberId),
    /// A guest: his one conversation's events.
    Guest(ConversationId),
}

impl Audience {
    /// Whether this audience may see `event`.
    pub fn sees(self, event: &Event) -> bool {
        match self {
            Audience::Member(member) => event.member_id == member,
            Audience::Guest(conversation) => {
                event.conversation_id == Some(conversation)
                    && event.kind != EventKind::LinkRequested
            }
        }
    }

    /// Whether, after `event`, this audience's session is surely over (the
    /// stream re-checks the session anyway; this closes it at once).
    pub fn ends_with(self, event: &Event) -> bool {
        matches!(
            (self, event.kind),
            (Audience::Member(_), EventKind::MemberDisabled)
                | (Audience::Guest(_), EventKind::ConversationDeleted(_))
        )
    }
}

/// The `data` of an event on the wire: metadata only.
pub fn data(event: &Event) -> String {
    let conversation = event.conversation_id.map(|c| c.to_string());
    let sender = match event.kind {
        EventKind::MessageCreated(Role::Guest) => Some("guest"),
        EventKind::MessageCreated(Role::Member) => Some("member"),
        _ => None,
    };
    let mut body = serde_json::Map::new();
    if let Some(conversation) = conversation {
        body.insert("conversation".into(), conversation.into());
    }
    if let Some(sender) = sender {
        body.insert("sender".into(), sender.into());
    }
    serde_json::Value::Object(body).to_string()
}

/// One open stream's place: it frees itself when dropped.
#[derive(Debug)]
pub struct Slot {
    hub: Hub,
    session: Vec<u8>,
    id: u64,
    /// Signalled when a newer stream of the same session took this one's
    /// place.
    pub closed: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let open = {
            let mut streams = self.hub.0.streams.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(list) = streams.by_session.get_mut(&self.session) {
                list.retain(|(id, _)| *id != self.id);
                if list.is_empty() {
                    streams.by_session.remove(&self.session);
                }
            }
            streams.open = streams.open.saturating_sub(1);
            streams.open
        };
        self.hub.0.metrics.event_streams(open);
    }
}

impl Hub {
    /// A hub over this store, not yet running.
    pub fn new(store: Store, metrics: Metrics, limits: EventsConfig) -> Hub {
        let (sender, _) = broadcast::channel(BUFFER);
        Hub(Arc::new(Inner {
            store,
            metrics,
            limits,
            wake: Notify::new(),
            sender,
            next_stream: AtomicU64::new(0),
            streams: Mutex::default(),
        }))
    }

    /// Reads the table soon: this instance may just have written an event.
    pub fn wake(&self) {
        self.0.wake.notify_one();
    }

    /// The store, for the streams' session checks and backlogs.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// A place for one more stream of the session with this token hash:
    /// its oldest stream is closed if it has `events.max_per_session`.
    pub fn open(&self, session: Vec<u8>) -> Result<Slot, Full> {
        let id = self.0.next_stream.fetch_add(1, Ordering::Relaxed);
        let closed = Arc::new(Notify::new());
        let open = {
            let mut streams = self.0.streams.lock().unwrap_or_else(|p| p.into_inner());
            // A stream that replaces one of its session's takes no new
            // place (the closed one frees its own in a moment).
            let replacing = streams
                .by_session
                .get(&session)
                .is_some_and(|list| list.len() >= self.0.limits.max_per_session);
            if streams.open >= self.0.limits.max_connections && !replacing {
                return Err(Full);
            }
            let list = streams.by_session.entry(session.clone()).or_default();
            while list.len() >= self.0.limits.max_per_session {
                if let Some((_, oldest)) = list.pop_front() {
                    // A permit: the stream sees it even if not waiting now.
                    oldest.notify_one();
                }
            }
            list.push_back((id, closed.clone()));
            streams.open += 1;
            streams.open
        };
        self.0.metrics.event_streams(open);
        Ok(Slot {
            hub: self.clone(),
            session,
            id,
            closed,
        })
    }

    /// Closes every open stream (the server is stopping: its graceful
    /// shutdown waits for open answers, and a stream never ends alone).
    pub fn close_all(&self) {
        let streams = self.0.streams.lock().unwrap_or_else(|p| p.into_inner());
        for (_, closed) in streams.by_session.values().flatten() {
            closed.notify_one();
        }
    }

    /// New events from now on. Take it before [`Hub::newest`] so that
    /// nothing falls between the two.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.0.sender.subscribe()
    }

    /// The newest event in the table: where a stream without
    /// `Last-Event-ID` starts. Read from the table, not from the hub: the
    /// hub may not have read the newest events yet (it reads at most every
    /// `MIN_GAP`), and a stream starting from the hub's older number would
    /// get events from before it opened. The hub's later hand-out of those
    /// the stream skips by number.
    pub async fn newest(&self) -> Result<i64, crate::store::StoreError> {
        self.0.store.newest_event_seq().await
    }

    /// Hands out new events until `stop` turns true.
    pub async fn run(self, database_url: String, mut stop: watch::Receiver<bool>) {
        let inner = &self.0;
        let mut last = loop {
            match inner.store.newest_event_seq().await {
                Ok(seq) => break seq,
                Err(error) => tracing::warn!(%error, "event hub: reading the newest event"),
            }
            tokio::select! {
                () = stopped(&mut stop) => return,
                () = tokio::time::sleep(POLL) => {}
            }
        };
        let postgres = database_url.starts_with("postgres");
        let mut listener = if postgres {
            listen(&database_url).await
        } else {
            None
        };
        loop {
            tokio::select! {
                () = stopped(&mut stop) => return,
                () = inner.wake.notified() => {}
                heard = notice(&mut listener) => {
                    if let Err(error) = heard {
                        tracing::warn!(%error, "event hub: LISTEN connection lost; polling until it is back");
                        listener = None;
                    }
                }
                () = tokio::time::sleep(POLL) => {
                    if postgres && listener.is_none() {
                        listener = listen(&database_url).await;
                    }
                }
            }
            last = self.hand_out(last).await;
            tokio::select! {
                () = stopped(&mut stop) => return,
                () = tokio::time::sleep(MIN_GAP) => {}
            }
        }
    }

    /// Sends every event after `last` to the streams; the new `last`.
    async fn hand_out(&self, mut last: i64) -> i64 {
        let inner = &self.0;
        loop {
            let events = match inner.store.events_after(last, PAGE).await {
                Ok(events) => events,
                Err(error) => {
                    tracing::warn!(%error, "event hub: reading new events");
                    return last;
                }
            };
            let full = events.len() == PAGE as usize;
            for event in events {
                last = event.seq;
                // A stream that read `newest` at or after this one skips it
                // by number. No receiver is no error: nobody is listening.
                let _ = inner.sender.send(Arc::new(event));
            }
            if !full {
                return last;
            }
        }
    }
}

async fn listen(url: &str) -> Option<sqlx::postgres::PgListener> {
    let connected = async {
        let mut listener = sqlx::postgres::PgListener::connect(url).await?;
        listener.listen("latchkey_events").await?;
        Ok::<_, sqlx::Error>(listener)
    };
    match connected.await {
        Ok(listener) => Some(listener),
        Err(error) => {
            tracing::warn!(%error, "event hub: no LISTEN connection; polling instead");
            None
        }
    }
}

/// Until `stop` turns true (the guard it gives is dropped here: it may
/// not be held across an await of the caller).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// The next notice on the listener; never, without one.
async fn notice(listener: &mut Option<sqlx::postgres::PgListener>) -> Result<(), sqlx::Error> {
    match listener {
        Some(listener) => listener.recv().await.map(|_| ()),
        None => std::future::pending().await,
    }
}
