//! Events: what happened, metadata only (who, which conversation, when),
//! for the site's backend (webhooks) and, later, open pages. Each is
//! written by the store method that does the action, in its transaction:
//! an acknowledged action always has its event, and a rolled-back one none.
//!
//! `seq` orders them, and a reader that has seen `seq` n must never later
//! find a new event below n (a webhook cursor would skip it). SQLite has one
//! writer at a time, so numbers commit in order. On PostgreSQL a sequence
//! hands numbers out at insert, and two transactions can commit in the
//! other order; so the insert first takes a transaction-scoped advisory
//! lock, held until commit. It is the last statement of every transaction
//! that writes an event, so whoever holds the lock waits for nothing else
//! (no deadlock) and holds it only for the commit.
//!
//! PostgreSQL's post writer (`pg_writer.rs`) commits many posts in one
//! transaction; their events go in with [`record_pg_batch`]: the lock,
//! the notification and every event in one statement, still the last of
//! the transaction, so a batch takes the lock once.

use latchkey_api::Handle;
use latchkey_core::{ConversationId, OsRng, RngCore, Role};

use super::decode::Columns;
use super::{Dialect, Store, StoreError};
use crate::model::{MemberId, Timestamp};

/// Why a conversation was deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeletedBy {
    /// The member deleted it.
    Member,
    /// Idle past the retention time.
    Retention,
    /// The member was deleted (by the site), and his conversations with him.
    MemberDeleted,
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A message was stored (never its content).
    MessageCreated(Role),
    /// A guest opened a link the first time.
    LinkOpened,
    /// A guest asked for a new link, and it was marked on the conversation.
    LinkRequested,
    /// A conversation is gone.
    ConversationDeleted(DeletedBy),
    /// The site disabled a member.
    MemberDisabled,
}

impl EventKind {
    /// The event's type as the webhook body names it.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::MessageCreated(_) => "message.created",
            EventKind::LinkOpened => "link.opened",
            EventKind::LinkRequested => "link.requested",
            EventKind::ConversationDeleted(_) => "conversation.deleted",
            EventKind::MemberDisabled => "member.disabled",
        }
    }

    /// The one detail some kinds carry, as stored (and sent).
    pub fn detail(self) -> Option<&'static str> {
        match self {
            EventKind::MessageCreated(Role::Guest) => Some("guest"),
            EventKind::MessageCreated(Role::Member) => Some("member"),
            EventKind::ConversationDeleted(DeletedBy::Member) => Some("member"),
            EventKind::ConversationDeleted(DeletedBy::Retention) => Some("retention"),
            EventKind::ConversationDeleted(DeletedBy::MemberDeleted) => Some("member_deleted"),
            EventKind::LinkOpened | EventKind::LinkRequested | EventKind::MemberDisabled => None,
        }
    }

    /// Every kind with its detail, in the order of their codes.
    const ALL: [EventKind; 8] = [
        EventKind::MessageCreated(Role::Guest),
        EventKind::MessageCreated(Role::Member),
        EventKind::LinkOpened,
        EventKind::LinkRequested,
        EventKind::ConversationDeleted(DeletedBy::Member),
        EventKind::ConversationDeleted(DeletedBy::Retention),
        EventKind::ConversationDeleted(DeletedBy::MemberDeleted),
        EventKind::MemberDisabled,
    ];

    /// The kind with its detail as stored: one number, 1 to 8 (migration
    /// 0019 lists them).
    pub(super) fn code(self) -> i64 {
        match self {
            EventKind::MessageCreated(Role::Guest) => 1,
            EventKind::MessageCreated(Role::Member) => 2,
            EventKind::LinkOpened => 3,
            EventKind::LinkRequested => 4,
            EventKind::ConversationDeleted(DeletedBy::Member) => 5,
            EventKind::ConversationDeleted(DeletedBy::Retention) => 6,
            EventKind::ConversationDeleted(DeletedBy::MemberDeleted) => 7,
            EventKind::MemberDisabled => 8,
        }
    }

    fn from_code(code: i64) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

/// A stored event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Its place in the order of all events; never reused.
    pub seq: i64,
    /// Random, 16 bytes in hex: the webhook's `webhook-id`, the same on
    /// every attempt, so receivers can drop a repeat.
    pub event_id: String,
    /// What happened.
    pub kind: EventKind,
    /// Whose.
    pub member_id: MemberId,
    /// His handle when it happened.
    pub handle: Handle,
    /// The conversation, for every kind but [`EventKind::MemberDisabled`].
    pub conversation_id: Option<ConversationId>,
    /// When.
    pub created_at: Timestamp,
}

/// Whom an event is about: the member (and his handle), in a conversation
/// or not.
#[derive(Clone, Debug)]
pub(super) struct Subject {
    pub member_id: MemberId,
    pub handle: String,
    pub conversation_id: Option<ConversationId>,
}

/// The member and handle of a conversation, read inside the transaction
/// (before [`record`], which must come last). None if it has no member row,
/// which the foreign key rules out.
pub(super) async fn conversation_subject(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    conversation_id: &ConversationId,
) -> Result<Option<Subject>, StoreError> {
    let row = sqlx::query(
        "SELECT m.id, m.handle FROM conversations c JOIN members m ON m.id = c.member_id \
         WHERE c.id = $1",
    )
    .bind(conversation_id.to_string())
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| {
        let c = Columns::of("members", &row);
        Ok(Subject {
            member_id: c.member_id("id")?,
            handle: c.text("handle")?,
            conversation_id: Some(*conversation_id),
        })
    })
    .transpose()
}

/// A member's handle, read inside the transaction.
pub(super) async fn member_handle(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    member_id: &MemberId,
) -> Result<Option<String>, StoreError> {
    let handle: Option<(String,)> = sqlx::query_as("SELECT handle FROM members WHERE id = $1")
        .bind(member_id.to_hex())
        .fetch_optional(&mut **tx)
        .await?;
    Ok(handle.map(|(h,)| h))
}

/// One event: id (16 random bytes, [`new_event_id`]), kind
/// ([`EventKind::code`]), member (hex), handle, conversation (16 bytes or
/// NULL), time.
pub(super) const INSERT_EVENT: &str = "INSERT INTO events (event_id, kind, member_id, handle, \
     conversation_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

/// A new event's id: 16 random bytes, sent as hex (`webhook-id`).
pub(super) fn new_event_id() -> Vec<u8> {
    let mut bytes = vec![0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Writes events; the last statements of the caller's transaction (see
/// the module's comment on the lock).
pub(super) async fn record(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    dialect: Dialect,
    events: &[(EventKind, Subject)],
    now: Timestamp,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    if dialect == Dialect::Postgres {
        // Two 32-bit keys: a space apart from the outbox's one-key locks.
        sqlx::query("SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(1819, 1)) AS l")
            .execute(&mut **tx)
            .await?;
    }
    for (kind, subject) in events {
        sqlx::query(INSERT_EVENT)
            .bind(new_event_id())
            .bind(kind.code())
            .bind(subject.member_id.to_hex())
            .bind(&subject.handle)
            .bind(subject.conversation_id.map(|c| c.as_bytes().to_vec()))
            .bind(now.as_ms())
            .execute(&mut **tx)
            .await?;
    }
    if dialect == Dialect::Postgres {
        // Delivered at commit (and dropped with a rollback): wakes the
        // event hubs of the other instances on this database (`live.rs`).
        sqlx::query("SELECT 1 AS notified FROM (SELECT pg_notify('latchkey_events', '')) AS n")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// An event as the PostgreSQL post writer has it at hand (the member's
/// id and handle as stored, read with the conversation's row).
pub(super) struct PgEvent {
    pub kind: EventKind,
    pub member_id: String,
    pub handle: String,
    pub conversation_id: Option<String>,
    pub created_at: Timestamp,
}

/// Writes a batch's events on PostgreSQL in one statement: the events lock
/// (see the module's comment), the notification, then every event in the
/// order given. The lock's CTE is joined to every row, so it is taken
/// before the first row draws its number; the subquery's ORDER BY keeps
/// the numbers in the batch's order.
pub(super) async fn record_pg_batch(
    tx: &mut sqlx::PgConnection,
    events: &[PgEvent],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(events.len());
    let mut kinds = Vec::with_capacity(events.len());
    let mut members = Vec::with_capacity(events.len());
    let mut handles = Vec::with_capacity(events.len());
    let mut conversations = Vec::with_capacity(events.len());
    let mut times = Vec::with_capacity(events.len());
    for e in events {
        ids.push(new_event_id());
        kinds.push(e.kind.code());
        members.push(e.member_id.as_str());
        handles.push(e.handle.as_str());
        conversations.push(e.conversation_id.as_deref());
        times.push(e.created_at.as_ms());
    }
    // Two 32-bit keys: a space apart from the outbox's one-key locks.
    sqlx::query::<sqlx::Postgres>(
        "WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock(1819, 1), \
         pg_notify('latchkey_events', '')) \
         INSERT INTO events (event_id, kind, member_id, handle, conversation_id, \
         created_at) \
         SELECT e.event_id, e.kind, e.member_id, e.handle, decode(e.conversation_id, 'hex'), \
         e.created_at FROM (SELECT u.* FROM locked, unnest($1::bytea[], $2::int8[], \
         $3::text[], $4::text[], $5::text[], $6::int8[]) WITH ORDINALITY \
         AS u(event_id, kind, member_id, handle, conversation_id, created_at, n) \
         ORDER BY u.n) AS e",
    )
    .bind(&ids)
    .bind(&kinds)
    .bind(&members)
    .bind(&handles)
    .bind(&conversations)
    .bind(&times)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

fn event(row: &sqlx::any::AnyRow) -> Result<Event, StoreError> {
    let c = Columns::of("events", row);
    let kind = EventKind::from_code(c.int("kind")?)
        .ok_or_else(|| c.corrupt("kind", "is no known kind with its detail"))?;
    Ok(Event {
        seq: c.int("seq")?,
        event_id: c
            .id16("event_id")?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        kind,
        member_id: c.member_id("member_id")?,
        handle: c.handle("handle")?,
        conversation_id: c
            .opt_id16("conversation_id")?
            .map(ConversationId::from_bytes),
        created_at: c.time("created_at")?,
    })
}

impl Store {
    /// The first event after `seq`, if any.
    pub async fn event_after(&self, seq: i64) -> Result<Option<Event>, StoreError> {
        sqlx::query(
            "SELECT seq, event_id, kind, member_id, handle, conversation_id, created_at \
             FROM events WHERE seq > $1 ORDER BY seq LIMIT 1",
        )
        .bind(seq)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(event)
        .transpose()
    }

    /// Up to `limit` events after `seq`, oldest first (for a reader that
    /// resumes from its last seen number).
    pub async fn events_after(&self, seq: i64, limit: u32) -> Result<Vec<Event>, StoreError> {
        sqlx::query(
            "SELECT seq, event_id, kind, member_id, handle, conversation_id, created_at \
             FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(event)
        .collect()
    }

    /// The newest event's number, 0 when there is none: where a stream
    /// without `Last-Event-ID` starts.
    pub async fn newest_event_seq(&self) -> Result<i64, StoreError> {
        let (seq,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM events")
            .fetch_one(&self.pool)
            .await?;
        Ok(seq.unwrap_or(0))
    }

    /// Whether the session with this token hash is alive now, read without
    /// restarting its idle clock (an open event stream must not keep a
    /// session alive that its owner left).
    pub async fn session_alive(
        &self,
        token_hash: &[u8],
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT token_hash FROM sessions WHERE token_hash = $1 AND expires_at > $2 \
             AND last_seen_at + idle_ms > $2",
        )
        .bind(token_hash)
        .bind(now.as_ms())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }
}
