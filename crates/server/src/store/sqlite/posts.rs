//! Posting a message on SQLite: one job of the writer's batch. The same
//! rules as the sqlx path (`conversations.rs`, whose comments explain
//! them), in fewer statements: the writer holds the only write lock, so
//! the conversation's state is read once, decided in Rust, and written
//! back in one UPDATE.

use latchkey_core::Role;
use rusqlite::Connection;

use super::{execute, is_unique_violation, query_opt, SqliteEngine};
use crate::model::{GrantKind, MailBudget, NewGrant, NewMail, Posted, Timestamp};
use crate::store::conversations::{
    as_mailed, NewPost, NoticeRecipient, PostMail, UNUSED_LINK_SINCE,
};
use crate::store::decode::Columns;
use crate::store::events::{new_event_id, EventKind, INSERT_EVENT};
use crate::store::grants::epoch_column;
use crate::store::outbox::{COUNT_MAIL_LOG, LOG_MAIL, QUEUE_MAIL};
use crate::store::{flag, StoreError, Unique};

/// What the post needs of the conversation before writing.
struct State {
    /// The conversation's number, as its messages name it.
    number: i64,
    last_seq: i64,
    member_notified_at: Option<Timestamp>,
    member_id: String,
    handle: String,
}

impl SqliteEngine {
    /// Stores a message in the writer's next batch (see
    /// `Store::post_message` for the rules).
    pub(crate) async fn post_message(&self, post: NewPost) -> Result<Posted, StoreError> {
        self.write(move |conn| post_now(conn, &post)).await
    }
}

fn post_now(conn: &Connection, post: &NewPost) -> Result<Posted, StoreError> {
    let id = post.conversation_id.to_string();
    let now = post.now;
    let state = query_opt(
        conn,
        "SELECT c.number, c.last_seq, c.member_notified_at, m.id, m.handle FROM conversations c \
         JOIN members m ON m.id = c.member_id WHERE c.id = $1",
        &[&id],
        |row| {
            let c = Columns::of("conversations", row);
            Ok(State {
                number: c.int("number")?,
                last_seq: c.count("last_seq")?,
                member_notified_at: c.opt_time("member_notified_at")?,
                member_id: c.member_id("id")?.to_hex(),
                handle: c.text("handle")?,
            })
        },
    )?
    .ok_or(StoreError::NotFound("conversation"))?;
    let message_id = post.message.message_id.as_bytes().to_vec();
    let seq = state.last_seq + 1;
    // The message first: a retry (same id) hits the unique index, and then
    // nothing else is written. Cheaper than looking for it first, as
    // retries are rare.
    let inserted = execute(
        conn,
        "INSERT INTO messages (conversation, seq, message_id, sender, ciphertext, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &state.number,
            &seq,
            &message_id,
            &i64::from(post.message.sender.as_byte()),
            &post.message.ciphertext,
            &now.as_ms(),
        ],
    );
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return retried(conn, state.number, &message_id, post),
        Err(e) => return Err(e),
    }

    let cutoff = now.minus_ms(post.coalesce_ms);
    // A guest's notice is claimed unless an unread one is younger than the
    // coalescing window (0: every notice goes out).
    let notice = match (&post.grant, &post.mail) {
        (None, PostMail::Notice(make)) => {
            let due =
                post.coalesce_ms == 0 || state.member_notified_at.is_none_or(|at| at <= cutoff);
            due.then_some(make)
        }
        _ => None,
    };
    // A member's message: he is online, the next guest message may notify
    // him again. A claimed notice: now. Otherwise as it was.
    let notified_at = match post.message.sender {
        Role::Member => None,
        Role::Guest if notice.is_some() => Some(now),
        Role::Guest => state.member_notified_at,
    };
    // A fresh e-mailed link answers a pending new-link request.
    let answers_request = post.grant.as_ref().is_some_and(|g| g.emailed);
    execute(
        conn,
        "UPDATE conversations SET last_seq = $2, last_activity_at = $3, \
         member_notified_at = $4, \
         link_requested_at = CASE WHEN $5 = 1 THEN NULL ELSE link_requested_at END, \
         guest_language = COALESCE($6, guest_language) \
         WHERE id = $1",
        &[
            &id,
            &seq,
            &now.as_ms(),
            &notified_at.map(Timestamp::as_ms),
            &flag(answers_request),
            &post.guest_language.map(|l| l.tag()),
        ],
    )?;

    let mut posted = Posted {
        seq,
        duplicate: false,
        mail_queued: false,
        mail_capped: false,
    };
    if let Some(grant) = &post.grant {
        let coalesced =
            grant.emailed && post.coalesce_ms > 0 && unused_link_since(conn, &id, now, cutoff)?;
        if !coalesced {
            let mut queued = false;
            if let (true, PostMail::Link(mail)) = (grant.emailed, &post.mail) {
                queued = queue_mail(conn, &id, mail, now)?;
                posted.mail_queued = queued;
                posted.mail_capped = !queued;
            }
            let stored = if grant.emailed {
                as_mailed(grant, queued)
            } else {
                grant.clone()
            };
            insert_grant(conn, &id, &stored, seq, now)?;
        }
    } else if let Some(make) = notice {
        // Over a budget the claim stays: he is told again once he reads or
        // the window passes, as if it had gone.
        let recipient = query_opt(
            conn,
            "SELECT id, email_sealed, language FROM members WHERE id = $1",
            &[&state.member_id],
            |row| {
                let c = Columns::of("members", row);
                Ok(NoticeRecipient {
                    id: c.member_id("id")?,
                    email_sealed: c.bytes("email_sealed")?,
                    language: c.language("language")?,
                })
            },
        )?
        .ok_or(StoreError::NotFound("member"))?;
        let queued = queue_mail(conn, &id, &make(&recipient)?, now)?;
        posted.mail_queued = queued;
        posted.mail_capped = !queued;
    }
    let kind = EventKind::MessageCreated(post.message.sender);
    execute(
        conn,
        INSERT_EVENT,
        &[
            &new_event_id(),
            &kind.code(),
            &state.member_id,
            &state.handle,
            &post.conversation_id.as_bytes().as_slice(),
            &now.as_ms(),
        ],
    )?;
    Ok(posted)
}

/// A message whose id is stored already: the same bytes are a retry,
/// answered as the first time; other bytes are a conflict.
fn retried(
    conn: &Connection,
    number: i64,
    message_id: &[u8],
    post: &NewPost,
) -> Result<Posted, StoreError> {
    let existing = query_opt(
        conn,
        "SELECT seq, ciphertext FROM messages WHERE conversation = $1 AND message_id = $2",
        &[&number, &message_id],
        |row| {
            let c = Columns::of("messages", row);
            Ok((c.count("seq")?, c.bytes("ciphertext")?))
        },
    )?;
    match existing {
        Some((seq, ciphertext)) if ciphertext == post.message.ciphertext => Ok(Posted {
            seq,
            duplicate: true,
            mail_queued: false,
            mail_capped: false,
        }),
        _ => Err(StoreError::Conflict(Unique::MessageId)),
    }
}

/// Whether an e-mailed link younger than `since` is still unused and
/// unexpired (the first-contact link does not count).
fn unused_link_since(
    conn: &Connection,
    id: &str,
    now: Timestamp,
    since: Timestamp,
) -> Result<bool, StoreError> {
    Ok(query_opt(
        conn,
        UNUSED_LINK_SINCE,
        &[
            &id,
            &now.as_ms(),
            &since.as_ms(),
            &GrantKind::FirstContact.as_str(),
        ],
        |_| Ok(()),
    )?
    .is_some())
}

/// Queues a mail if every budget it spends has room (the writer holds the
/// only write lock, so counting and taking a place cannot race).
fn queue_mail(
    conn: &Connection,
    conversation_id: &str,
    mail: &NewMail,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let budgets: Vec<&MailBudget> = mail.budgets.iter().filter(|b| b.limit > 0).collect();
    let since = now.minus_ms(mail.window_ms);
    for budget in &budgets {
        let sent = query_opt(
            conn,
            COUNT_MAIL_LOG,
            &[
                &budget.scope.as_str(),
                &budget.key_hash.as_slice(),
                &since.as_ms(),
            ],
            |row| Columns::of("mail_log", row).count("sent"),
        )?
        .unwrap_or(0);
        if sent >= i64::from(budget.limit) {
            return Ok(false);
        }
    }
    for budget in &budgets {
        execute(
            conn,
            LOG_MAIL,
            &[
                &budget.scope.as_str(),
                &budget.key_hash.as_slice(),
                &now.as_ms(),
                &now.plus_ms(mail.window_ms).as_ms(),
            ],
        )?;
    }
    execute(
        conn,
        QUEUE_MAIL,
        &[
            &mail.id,
            &conversation_id,
            &mail.payload_sealed,
            &now.as_ms(),
        ],
    )?;
    Ok(true)
}

/// Stores a grant; it carries the conversation up to `carries_seq` (its
/// first redeem is the guest's read mark up to there).
fn insert_grant(
    conn: &Connection,
    conversation_id: &str,
    grant: &NewGrant,
    carries_seq: i64,
    now: Timestamp,
) -> Result<(), StoreError> {
    execute(
        conn,
        "INSERT INTO grants (id_hash, conversation_id, wrapped_key, emailed, kind, created_at, \
         expires_at, epoch, carries_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &grant.id_hash.as_slice(),
            &conversation_id,
            &grant.sealed_key,
            &flag(grant.emailed),
            &grant.kind.as_str(),
            &now.as_ms(),
            &grant.expires_at.as_ms(),
            &epoch_column(grant.epoch)?,
            &carries_seq,
        ],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(Unique::Grant)
        } else {
            e
        }
    })?;
    Ok(())
}
