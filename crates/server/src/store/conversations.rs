//! Conversations and their messages. A message, its grant and its outbox
//! mail are written in one transaction: either all of them exist or none.

use latchkey_core::{ConversationId, Role};
use sqlx::any::AnyRow;

use super::decode::{Columns, RawRow};
use super::events::{self, conversation_subject, DeletedBy, EventKind};
use super::grants::insert_grant;
use super::outbox::queue_mail;
use super::receipts::{mark, record_mark, SELECT_MARKS};
use super::{flag, sqlite, Store, StoreError, Unique};
use crate::model::{
    Conversation, GrantKind, InboxEntry, Language, MailOutcome, MemberId, NewConversation,
    NewGrant, NewMail, NewMessage, Posted, StoredMessage, Timestamp,
};

/// A conversation's columns, as [`conversation`] reads them (a macro, so
/// that whole statements can be constants).
macro_rules! columns {
    () => {
        "id, member_id, sealed_key, guest_email_sealed, confirmed, last_seq, \
         member_read_seq, link_requested_at, created_at, last_activity_at, guest_language"
    };
}
const COLUMNS: &str = columns!();

const SELECT_CONVERSATION: &str =
    concat!("SELECT ", columns!(), " FROM conversations WHERE id = $1");

/// A page of messages; they name their conversation by its number
/// (migration 0018).
const SELECT_MESSAGES: &str = "SELECT seq, message_id, sender, ciphertext, created_at \
                               FROM messages WHERE conversation = \
                               (SELECT number FROM conversations WHERE id = $1) \
                               AND seq > $2 ORDER BY seq LIMIT $3";

/// Whether both sides of a conversation have receipts on.
const RECEIPTS_ON: &str = "SELECT (c.guest_read_receipts = 1 AND m.read_receipts = 1) AS both_on \
                           FROM conversations c JOIN members m ON m.id = c.member_id \
                           WHERE c.id = $1";

/// Whether an e-mailed link younger than `$3` is still unused and
/// unexpired at `$2` in conversation `$1`; the first-contact link (`$4`)
/// does not count.
pub(super) const UNUSED_LINK_SINCE: &str = "SELECT 1 FROM grants WHERE conversation_id = $1 \
     AND emailed = 1 AND kind <> $4 AND redeemed_at IS NULL \
     AND expires_at > $2 AND created_at > $3 LIMIT 1";

/// A conversation, a page of its messages and its receipts' marks.
#[derive(Debug)]
pub struct ConversationPage {
    /// The conversation.
    pub conversation: Conversation,
    /// The page, oldest first.
    pub messages: Vec<StoredMessage>,
    /// The other side's marks (seq, read_at) from the asker's first
    /// message on the page, oldest first; none without receipts.
    pub marks: Option<Vec<(i64, Timestamp)>>,
}

/// The seq of `asker`'s first message in `messages`.
fn first_of(messages: &[StoredMessage], asker: Role) -> Option<i64> {
    messages.iter().find(|m| m.sender == asker).map(|m| m.seq)
}

/// The other side of a conversation.
fn other(role: Role) -> Role {
    match role {
        Role::Member => Role::Guest,
        Role::Guest => Role::Member,
    }
}

const UNREAD: &str =
    "(SELECT COUNT(*) FROM messages m WHERE m.conversation = conversations.number \
                      AND m.sender = 2 AND m.seq > conversations.member_read_seq) AS unread";

/// What a member's notice needs of his row: made inside the writing
/// transaction, and only when the notice goes out.
#[derive(Clone, Debug)]
pub struct NoticeRecipient {
    /// Whose.
    pub id: MemberId,
    /// His sealed address (context: the id's hex text).
    pub email_sealed: Vec<u8>,
    /// The language of his notices.
    pub language: Language,
}

/// Seals a member's notice for its recipient. Called by the store only
/// when coalescing lets the notice go, so a post whose notice is dropped
/// never opens an address or seals a mail.
pub type NoticeMaker = dyn Fn(&NoticeRecipient) -> Result<NewMail, StoreError> + Send + Sync;

/// The mail a post may queue.
#[derive(Clone)]
pub enum PostMail {
    /// None.
    None,
    /// A member's message: the guest's link mail, sealed already (queued
    /// with its grant unless coalescing drops both).
    Link(NewMail),
    /// A guest's message: the member's notice, made only if it goes out.
    Notice(std::sync::Arc<NoticeMaker>),
}

impl std::fmt::Debug for PostMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PostMail::None => "PostMail::None",
            PostMail::Link(_) => "PostMail::Link",
            PostMail::Notice(_) => "PostMail::Notice",
        })
    }
}

/// A message to post, with what goes with it.
#[derive(Debug)]
pub struct NewPost {
    /// Where.
    pub conversation_id: ConversationId,
    /// The message.
    pub message: NewMessage,
    /// A member's message may carry a link.
    pub grant: Option<NewGrant>,
    /// The mail it may queue.
    pub mail: PostMail,
    /// A guest's message: the language he wrote in, which his next mails
    /// use.
    pub guest_language: Option<Language>,
    /// When.
    pub now: Timestamp,
    /// The coalescing window of links and notices, in milliseconds (0: off).
    pub coalesce_ms: i64,
}

pub(super) fn conversation(row: &impl RawRow) -> Result<Conversation, StoreError> {
    let c = Columns::of("conversations", row);
    Ok(Conversation {
        id: c.conversation_id("id")?,
        member_id: c.member_id("member_id")?,
        sealed_key: c.bytes("sealed_key")?,
        guest_email_sealed: c.bytes("guest_email_sealed")?,
        confirmed: c.flag("confirmed")?,
        last_seq: c.count("last_seq")?,
        member_read_seq: c.count("member_read_seq")?,
        link_requested_at: c.opt_time("link_requested_at")?,
        created_at: c.time("created_at")?,
        last_activity_at: c.time("last_activity_at")?,
        guest_language: c.language("guest_language")?,
    })
}

fn inbox_entry(row: &AnyRow) -> Result<InboxEntry, StoreError> {
    Ok(InboxEntry {
        conversation: conversation(row)?,
        unread: Columns::of("conversations", row).count("unread")?,
    })
}

pub(super) fn stored_message(row: &impl RawRow) -> Result<StoredMessage, StoreError> {
    let c = Columns::of("messages", row);
    let seq = c.int("seq")?;
    if seq < 1 {
        return Err(c.corrupt("seq", "is not positive"));
    }
    Ok(StoredMessage {
        seq,
        message_id: c.message_id("message_id")?,
        sender: c.role("sender")?,
        ciphertext: c.bytes("ciphertext")?,
        created_at: c.time("created_at")?,
    })
}

impl Store {
    /// Stores a guest's first contact: conversation, first message, first
    /// grant and the e-mail with his link. Returns whether the e-mail was
    /// queued: over a mail budget everything else is stored all the same.
    pub async fn start_conversation(
        &self,
        new: &NewConversation,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO conversations (id, member_id, sealed_key, guest_email_sealed, \
             guest_email_index, last_seq, created_at, last_activity_at, guest_language) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $7)",
        )
        .bind(new.id.to_string())
        .bind(new.member_id.to_hex())
        .bind(&new.sealed_key)
        .bind(&new.guest_email_sealed)
        .bind(&new.guest_email_index)
        .bind(now.as_ms())
        .bind(new.guest_language.tag())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::conflict_as(Unique::Conversation))?;
        insert_message(&mut tx, &new.id, 1, &new.message, now).await?;
        let queued = queue_mail(&mut tx, self.dialect, Some(&new.id), &new.mail, now).await?;
        insert_grant(&mut tx, &new.id, &as_mailed(&new.grant, queued), now).await?;
        record_message(&mut tx, self.dialect, &new.id, new.message.sender, now).await?;
        tx.commit().await?;
        Ok(queued)
    }

    /// The conversation with this id.
    pub async fn conversation(
        &self,
        id: &ConversationId,
    ) -> Result<Option<Conversation>, StoreError> {
        let id = id.to_string();
        match &self.sqlite {
            Some(engine) => engine.read(|conn| {
                sqlite::query_opt(conn, SELECT_CONVERSATION, &[&id], |row| conversation(row))
            }),
            None => sqlx::query(SELECT_CONVERSATION)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(conversation)
                .transpose(),
        }
    }

    /// One conversation as the member's inbox shows it.
    pub async fn inbox_entry(&self, id: &ConversationId) -> Result<Option<InboxEntry>, StoreError> {
        self.fold_link_requests().await?;
        sqlx::query(&format!(
            "SELECT {COLUMNS}, {UNREAD} FROM conversations WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(inbox_entry)
        .transpose()
    }

    /// A member's conversations, most recently active first. `before` is the
    /// (last activity, id) of the last row of the previous page.
    pub async fn conversations_of(
        &self,
        member_id: &MemberId,
        before: Option<(Timestamp, &ConversationId)>,
        limit: u32,
    ) -> Result<Vec<InboxEntry>, StoreError> {
        // Queued new-link requests first: the member sees every one made
        // before he asked.
        self.fold_link_requests().await?;
        // The first page starts after every real activity time.
        let (at, id) = before.map_or((i64::MAX, String::new()), |(at, id)| {
            (at.as_ms(), id.to_string())
        });
        sqlx::query(&format!(
            "SELECT {COLUMNS}, {UNREAD} FROM conversations WHERE member_id = $1 \
             AND (last_activity_at < $2 OR (last_activity_at = $2 AND id < $3)) \
             ORDER BY last_activity_at DESC, id DESC LIMIT $4"
        ))
        .bind(member_id.to_hex())
        .bind(at)
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(inbox_entry)
        .collect()
    }

    /// Messages after sequence number `after`, oldest first.
    pub async fn messages(
        &self,
        conversation_id: &ConversationId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let id = conversation_id.to_string();
        let limit = i64::from(limit);
        match &self.sqlite {
            Some(engine) => engine.read(|conn| {
                sqlite::query_all(conn, SELECT_MESSAGES, &[&id, &after, &limit], |row| {
                    stored_message(row)
                })
            }),
            None => sqlx::query(SELECT_MESSAGES)
                .bind(id)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(stored_message)
                .collect(),
        }
    }

    /// A conversation with one page of its messages (after `after`, at most
    /// `limit`) and the read marks their receipts need, read together: on
    /// SQLite in one read transaction (one lock of the database, not one a
    /// statement). `marks` are the other side's marks from the first of
    /// `asker`'s messages on the page; none when the page holds none of his
    /// or a side has receipts off (they are reciprocal).
    pub async fn conversation_page(
        &self,
        id: &ConversationId,
        after: i64,
        limit: u32,
        asker: Role,
    ) -> Result<Option<ConversationPage>, StoreError> {
        if let Some(engine) = &self.sqlite {
            let id = id.to_string();
            return engine.read(|conn| {
                let Some(conversation) =
                    sqlite::query_opt(conn, SELECT_CONVERSATION, &[&id], |row| conversation(row))?
                else {
                    return Ok(None);
                };
                let messages = sqlite::query_all(
                    conn,
                    SELECT_MESSAGES,
                    &[&id, &after, &i64::from(limit)],
                    |row| stored_message(row),
                )?;
                let marks = match first_of(&messages, asker) {
                    None => None,
                    Some(from_seq) => {
                        let on = sqlite::query_opt(conn, RECEIPTS_ON, &[&id], |row| {
                            Columns::of("conversations", row).flag("both_on")
                        })?;
                        match on {
                            Some(true) => Some(sqlite::query_all(
                                conn,
                                SELECT_MARKS,
                                &[&id, &i64::from(other(asker).as_byte()), &from_seq],
                                |row| mark(row),
                            )?),
                            _ => None,
                        }
                    }
                };
                Ok(Some(ConversationPage {
                    conversation,
                    messages,
                    marks,
                }))
            });
        }
        let Some(conversation) = self.conversation(id).await? else {
            return Ok(None);
        };
        let messages = self.messages(id, after, limit).await?;
        let marks = match first_of(&messages, asker) {
            Some(from_seq)
                if self.member_read_receipts(&conversation.member_id).await?
                    && self.guest_read_receipts(id).await? =>
            {
                Some(self.read_marks(id, other(asker), from_seq).await?)
            }
            _ => None,
        };
        Ok(Some(ConversationPage {
            conversation,
            messages,
            marks,
        }))
    }

    /// Records that the member has read up to `seq`; the next guest message
    /// notifies him again. With his receipts on, the same transaction keeps
    /// the mark's time for the guest's messages.
    pub async fn mark_read(
        &self,
        conversation_id: &ConversationId,
        seq: i64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE conversations SET member_read_seq = $2, member_notified_at = NULL \
             WHERE id = $1 AND member_read_seq < $2",
        )
        .bind(conversation_id.to_string())
        .bind(seq)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 1 {
            record_mark(&mut tx, conversation_id, Role::Member, seq, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores a message, with (for a member's message) an optional grant and
    /// the guest's e-mail, or (for a guest's message) the member's notice.
    ///
    /// Coalescing: an e-mailed grant is dropped, with its mail, while an
    /// earlier e-mailed link is unredeemed, unexpired and younger than
    /// `coalesce_ms` (that link shows everything). A member notice is dropped
    /// while an earlier one is unread and younger than `coalesce_ms`.
    /// `coalesce_ms` 0 turns coalescing off.
    ///
    /// Posting the same message twice (same id, same bytes) changes nothing
    /// and answers as the first time, so clients can retry safely; the same id
    /// with other bytes is [`StoreError::Conflict`].
    ///
    /// It goes to this instance's writer, which commits it with the other
    /// posts waiting (group commit) and answers once that commit is done.
    pub async fn post_message(&self, post: NewPost) -> Result<Posted, StoreError> {
        if post.grant.as_ref().is_some_and(|g| g.emailed) {
            // The link answers a pending request; one still queued must be
            // marked first, or it would ask again afterwards.
            self.fold_link_requests().await?;
        }
        if let Some(engine) = &self.sqlite {
            return engine.post_message(post).await;
        }
        let Some(writer) = &self.pg_writer else {
            return Err(StoreError::UnsupportedUrl);
        };
        writer.post(post).await
    }

    /// Destroys a conversation with every message, grant, session and
    /// pending mail. Returns whether it existed.
    pub async fn delete_conversation(&self, id: &ConversationId) -> Result<bool, StoreError> {
        self.delete_conversation_idle_since(id, Timestamp::from_ms(i64::MAX), DeletedBy::Member)
            .await
    }

    /// As [`Store::delete_conversation`], but only if nothing happened in it
    /// after `idle_before` (retention: a message posted meanwhile saves it).
    /// `by` is what its event says.
    pub async fn delete_conversation_idle_since(
        &self,
        conversation_id: &ConversationId,
        idle_before: Timestamp,
        by: DeletedBy,
    ) -> Result<bool, StoreError> {
        let id = conversation_id.to_string();
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query(
            "DELETE FROM conversations WHERE id = $1 AND last_activity_at <= $2 \
             RETURNING member_id, number",
        )
        .bind(&id)
        .bind(idle_before.as_ms())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(deleted) = deleted else {
            tx.rollback().await?;
            return Ok(false);
        };
        let columns = Columns::of("conversations", &deleted);
        let member_id = columns.member_id("member_id")?;
        let number = columns.int("number")?;
        // Explicit deletes besides ON DELETE CASCADE: the result must not
        // depend on a connection pragma. Its earlier events go too (an
        // endpoint that has not had them yet misses them: the conversation
        // is gone); only the deletion's own event below names it, until
        // the sweep. Messages name the conversation by its number.
        sqlx::query("DELETE FROM messages WHERE conversation = $1")
            .bind(number)
            .execute(&mut *tx)
            .await?;
        // Events name it by its 16 bytes (migration 0019).
        sqlx::query("DELETE FROM events WHERE conversation_id = $1")
            .bind(conversation_id.as_bytes().to_vec())
            .execute(&mut *tx)
            .await?;
        for table in ["grants", "sessions", "outbox", "read_marks"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE conversation_id = $1"))
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(handle) = events::member_handle(&mut tx, &member_id).await? {
            let subject = events::Subject {
                member_id,
                handle,
                conversation_id: Some(*conversation_id),
            };
            events::record(
                &mut tx,
                self.dialect,
                &[(EventKind::ConversationDeleted(by), subject)],
                Timestamp::now(),
            )
            .await?;
        }
        tx.commit().await?;
        self.scrub_wal().await?;
        Ok(true)
    }

    /// Stores a grant made outside a message (a new-link request fulfilled by
    /// the member's client, or a link to deliver by hand), with its e-mail if
    /// any, and clears a pending request.
    ///
    /// With `only_if_requested`, nothing happens ([`MailOutcome::Nothing`])
    /// unless a request is pending: two clients answering the same request
    /// send one link, not two.
    ///
    /// An e-mailed link that answers no request is coalesced as a message's
    /// link is (dropped, with its mail, while an earlier e-mailed link is
    /// unused and younger than `coalesce_ms`): otherwise this call, which
    /// needs no message, would mail the guest as often as it is made. A
    /// link answering a pending request is not: the guest asked for it (his
    /// earlier mail may be lost), and his requests have their own budget.
    /// Over a mail budget the grant is stored without its mail, as one not
    /// e-mailed (the member's client still holds the link).
    pub async fn add_grant(
        &self,
        conversation_id: &ConversationId,
        grant: &NewGrant,
        mail: Option<&NewMail>,
        now: Timestamp,
        only_if_requested: bool,
        coalesce_ms: i64,
    ) -> Result<MailOutcome, StoreError> {
        self.fold_link_requests().await?;
        let mut tx = self.pool.begin().await?;
        let answered = sqlx::query(
            "UPDATE conversations SET link_requested_at = NULL \
             WHERE id = $1 AND ($2 = 0 OR link_requested_at IS NOT NULL)",
        )
        .bind(conversation_id.to_string())
        .bind(flag(only_if_requested))
        .execute(&mut *tx)
        .await?;
        if answered.rows_affected() == 0 {
            // The caller checked the conversation exists: nothing pending
            // (or it was deleted meanwhile; either way nothing to send).
            tx.rollback().await?;
            return Ok(MailOutcome::Nothing);
        }
        let Some(mail) = mail.filter(|_| grant.emailed) else {
            insert_grant(&mut tx, conversation_id, grant, now).await?;
            tx.commit().await?;
            return Ok(MailOutcome::Nothing);
        };
        if !only_if_requested
            && coalesce_ms > 0
            && unused_link_since(&mut tx, conversation_id, now, now.minus_ms(coalesce_ms)).await?
        {
            tx.commit().await?;
            return Ok(MailOutcome::Coalesced);
        }
        let queued = queue_mail(&mut tx, self.dialect, Some(conversation_id), mail, now).await?;
        insert_grant(&mut tx, conversation_id, &as_mailed(grant, queued), now).await?;
        tx.commit().await?;
        Ok(if queued {
            MailOutcome::Queued
        } else {
            MailOutcome::Capped
        })
    }
}

/// The event of a stored message: who wrote it, never what.
async fn record_message(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    dialect: super::Dialect,
    conversation_id: &ConversationId,
    sender: Role,
    now: Timestamp,
) -> Result<(), StoreError> {
    if let Some(subject) = conversation_subject(tx, conversation_id).await? {
        events::record(
            tx,
            dialect,
            &[(EventKind::MessageCreated(sender), subject)],
            now,
        )
        .await?;
    }
    Ok(())
}

/// An e-mailed grant as stored: over a mail budget it was not e-mailed, and
/// must not count as a pending link that coalesces the next one.
pub(super) fn as_mailed(grant: &NewGrant, queued: bool) -> NewGrant {
    NewGrant {
        emailed: grant.emailed && queued,
        ..grant.clone()
    }
}

/// Whether an e-mailed link younger than `since` is still unused and
/// unexpired. The first-contact link does not count: its e-mail says only
/// that the guest's message arrived, not that a reply waits.
async fn unused_link_since(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    conversation_id: &ConversationId,
    now: Timestamp,
    since: Timestamp,
) -> Result<bool, StoreError> {
    let pending: Option<(i64,)> = sqlx::query_as(UNUSED_LINK_SINCE)
        .bind(conversation_id.to_string())
        .bind(now.as_ms())
        .bind(since.as_ms())
        .bind(GrantKind::FirstContact.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    Ok(pending.is_some())
}

async fn insert_message(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    conversation_id: &ConversationId,
    seq: i64,
    message: &NewMessage,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO messages (conversation, seq, message_id, sender, ciphertext, created_at) \
         VALUES ((SELECT number FROM conversations WHERE id = $1), $2, $3, $4, $5, $6)",
    )
    .bind(conversation_id.to_string())
    .bind(seq)
    .bind(message.message_id.as_bytes().to_vec())
    .bind(i64::from(message.sender.as_byte()))
    .bind(&message.ciphertext)
    .bind(now.as_ms())
    .execute(&mut **tx)
    .await
    .map_err(StoreError::conflict_as(Unique::MessageId))?;
    Ok(())
}
