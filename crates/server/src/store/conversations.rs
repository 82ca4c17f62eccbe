//! Conversations and their messages. A message, its grant and its outbox
//! mail are written in one transaction: either all of them exist or none.

use super::grants::insert_grant;
use super::outbox::insert_mail;
use latchkey_core::Role;

use super::{NewGrant, NewMail, Store, StoreError, Unique};

/// A conversation as the member's inbox sees it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ConversationRow {
    /// Client-chosen id (hex).
    pub id: String,
    /// The member it belongs to (internal id).
    pub member_id: String,
    /// The conversation key, HPKE-sealed to the member.
    pub sealed_key: Vec<u8>,
    /// The address his links go to, sealed with the guest-email key.
    pub guest_email_sealed: Vec<u8>,
    /// 1 once the guest has redeemed a link (his address is confirmed).
    pub confirmed: i64,
    /// Sequence number of the newest message.
    pub last_seq: i64,
    /// Newest message the member has read.
    pub member_read_seq: i64,
    /// When the guest last asked for a new link, if that is still pending.
    pub link_requested_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
    /// Time of the newest message.
    pub last_activity_at: i64,
}

const COLUMNS: &str = "id, member_id, sealed_key, guest_email_sealed, confirmed, last_seq, \
                       member_read_seq, link_requested_at, created_at, last_activity_at";

/// A conversation with its unread count, for the member's inbox. Counting
/// costs a look at the messages, so only the inbox pays it, not every
/// access check.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct InboxEntry {
    /// The conversation.
    #[sqlx(flatten)]
    pub conversation: ConversationRow,
    /// Guest messages after the member's read mark; his own never count.
    pub unread: i64,
}

const UNREAD: &str = "(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = conversations.id \
                      AND m.sender = 2 AND m.seq > conversations.member_read_seq) AS unread";

/// A stored message.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MessageRow {
    /// Order within the conversation, assigned by the server.
    pub seq: i64,
    /// Client-chosen id (hex), bound into the ciphertext.
    pub message_id: String,
    /// 1 = member, 2 = guest (as in the protocol).
    pub sender: i64,
    /// The ciphertext, opaque to the server.
    pub ciphertext: Vec<u8>,
    /// When the server stored it.
    pub created_at: i64,
}

/// A message to store.
#[derive(Clone, Debug)]
pub struct NewMessage {
    /// Client-chosen id (hex).
    pub message_id: String,
    /// Who wrote it.
    pub sender: Role,
    /// The ciphertext.
    pub ciphertext: Vec<u8>,
}

/// Everything a guest's first contact stores.
#[derive(Debug)]
pub struct NewConversation {
    /// Client-chosen id (hex).
    pub id: String,
    /// The member contacted.
    pub member_id: String,
    /// The conversation key, sealed to the member.
    pub sealed_key: Vec<u8>,
    /// The guest's address, sealed with the guest-email key.
    pub guest_email_sealed: Vec<u8>,
    /// Blind index of the guest's address.
    pub guest_email_index: Vec<u8>,
    /// The first message.
    pub message: NewMessage,
    /// The guest's first link.
    pub grant: NewGrant,
    /// The e-mail carrying it.
    pub mail: NewMail,
}

/// What posting a message did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Posted {
    /// The message's sequence number.
    pub seq: i64,
    /// The same message (id and bytes) was already stored: nothing changed.
    pub duplicate: bool,
    /// An e-mail was queued.
    pub mail_queued: bool,
}

impl Store {
    /// Stores a guest's first contact: conversation, first message, first
    /// grant and the e-mail with his link.
    pub async fn start_conversation(
        &self,
        new: &NewConversation,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO conversations (id, member_id, sealed_key, guest_email_sealed, \
             guest_email_index, last_seq, created_at, last_activity_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
        )
        .bind(&new.id)
        .bind(&new.member_id)
        .bind(&new.sealed_key)
        .bind(&new.guest_email_sealed)
        .bind(&new.guest_email_index)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::conflict_as(Unique::Conversation))?;
        insert_message(&mut tx, &new.id, 1, &new.message, now).await?;
        insert_grant(&mut tx, &new.id, &new.grant, now).await?;
        insert_mail(&mut tx, Some(&new.id), &new.mail, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The conversation with this id.
    pub async fn conversation(&self, id: &str) -> Result<Option<ConversationRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM conversations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// One conversation as the member's inbox shows it.
    pub async fn inbox_entry(&self, id: &str) -> Result<Option<InboxEntry>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS}, {UNREAD} FROM conversations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// A member's conversations, most recently active first. `before` is the
    /// (last activity, id) of the last row of the previous page.
    pub async fn conversations_of(
        &self,
        member_id: &str,
        before: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<InboxEntry>, StoreError> {
        // The first page starts after every real activity time.
        let (at, id) = before.unwrap_or((i64::MAX, ""));
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS}, {UNREAD} FROM conversations WHERE member_id = $1 \
             AND (last_activity_at < $2 OR (last_activity_at = $2 AND id < $3)) \
             ORDER BY last_activity_at DESC, id DESC LIMIT $4"
        ))
        .bind(member_id)
        .bind(at)
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Messages after sequence number `after`, oldest first.
    pub async fn messages(
        &self,
        conversation_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<MessageRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT seq, message_id, sender, ciphertext, created_at FROM messages \
             WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(conversation_id)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records that the member has read up to `seq`; the next guest message
    /// notifies him again.
    pub async fn mark_read(&self, conversation_id: &str, seq: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE conversations SET member_read_seq = $2, member_notified_at = NULL \
             WHERE id = $1 AND member_read_seq < $2",
        )
        .bind(conversation_id)
        .bind(seq)
        .execute(&self.pool)
        .await?;
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
    #[allow(clippy::too_many_arguments)]
    pub async fn post_message(
        &self,
        conversation_id: &str,
        message: &NewMessage,
        grant: Option<&NewGrant>,
        mail: Option<&NewMail>,
        now: i64,
        coalesce_ms: i64,
    ) -> Result<Posted, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The first statement writes. On SQLite the transaction so takes the
        // write lock at once (waiting out busy_timeout) instead of failing
        // when it upgrades from a read; on PostgreSQL it locks the
        // conversation row, so numbers commit in order and a concurrent
        // retry of the same message waits, then finds it below.
        let seq: Option<(i64,)> = sqlx::query_as(
            "UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = $2 \
             WHERE id = $1 RETURNING last_seq",
        )
        .bind(conversation_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((seq,)) = seq else {
            return Err(StoreError::NotFound("conversation"));
        };
        let existing: Option<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT seq, ciphertext FROM messages WHERE conversation_id = $1 AND message_id = $2",
        )
        .bind(conversation_id)
        .bind(&message.message_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((seq, ciphertext)) = existing {
            tx.rollback().await?;
            return if ciphertext == message.ciphertext {
                Ok(Posted {
                    seq,
                    duplicate: true,
                    mail_queued: false,
                })
            } else {
                Err(StoreError::Conflict(Unique::MessageId))
            };
        }
        insert_message(&mut tx, conversation_id, seq, message, now).await?;
        if message.sender == Role::Member {
            // He is evidently online: the next guest message may notify him
            // again. (His own messages never count as unread; guest
            // messages he has not seen stay unread.)
            sqlx::query("UPDATE conversations SET member_notified_at = NULL WHERE id = $1")
                .bind(conversation_id)
                .execute(&mut *tx)
                .await?;
        }

        let mut posted = Posted {
            seq,
            duplicate: false,
            mail_queued: false,
        };
        let cutoff = now.saturating_sub(coalesce_ms);
        if let Some(grant) = grant {
            // The first-contact link does not count: its e-mail says only
            // that the guest's message arrived, not that a reply waits.
            let coalesced = grant.emailed && coalesce_ms > 0 && {
                let pending: Option<(i64,)> = sqlx::query_as(
                    "SELECT 1 FROM grants WHERE conversation_id = $1 AND emailed = 1 \
                     AND kind <> 'first_contact' AND redeemed_at IS NULL \
                     AND expires_at > $2 AND created_at > $3 LIMIT 1",
                )
                .bind(conversation_id)
                .bind(now)
                .bind(cutoff)
                .fetch_optional(&mut *tx)
                .await?;
                pending.is_some()
            };
            if !coalesced {
                insert_grant(&mut tx, conversation_id, grant, now).await?;
                if let (true, Some(mail)) = (grant.emailed, mail) {
                    insert_mail(&mut tx, Some(conversation_id), mail, now).await?;
                    posted.mail_queued = true;
                }
            }
            if grant.emailed {
                // A fresh link answers a pending new-link request, whether
                // this one is mailed or an unused earlier one covers it.
                sqlx::query("UPDATE conversations SET link_requested_at = NULL WHERE id = $1")
                    .bind(conversation_id)
                    .execute(&mut *tx)
                    .await?;
            }
        } else if let Some(mail) = mail {
            // With coalescing off (0), every notice goes out.
            let claimed = sqlx::query(
                "UPDATE conversations SET member_notified_at = $2 WHERE id = $1 \
                 AND ($4 = 0 OR member_notified_at IS NULL OR member_notified_at <= $3)",
            )
            .bind(conversation_id)
            .bind(now)
            .bind(cutoff)
            .bind(coalesce_ms)
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() == 1 {
                insert_mail(&mut tx, Some(conversation_id), mail, now).await?;
                posted.mail_queued = true;
            }
        }
        tx.commit().await?;
        Ok(posted)
    }

    /// Destroys a conversation with every message, grant, session and
    /// pending mail. Returns whether it existed.
    pub async fn delete_conversation(&self, id: &str) -> Result<bool, StoreError> {
        self.delete_conversation_idle_since(id, i64::MAX).await
    }

    /// As [`Store::delete_conversation`], but only if nothing happened in it
    /// after `idle_before` (retention: a message posted meanwhile saves it).
    pub async fn delete_conversation_idle_since(
        &self,
        id: &str,
        idle_before: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let deleted =
            sqlx::query("DELETE FROM conversations WHERE id = $1 AND last_activity_at <= $2")
                .bind(id)
                .bind(idle_before)
                .execute(&mut *tx)
                .await?;
        if deleted.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        // Explicit deletes besides ON DELETE CASCADE: the result must not
        // depend on a connection pragma.
        for table in ["messages", "grants", "sessions", "outbox"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE conversation_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.scrub_wal().await?;
        Ok(true)
    }

    /// Marks a new-link request on every conversation of this guest address
    /// (with this member, if given). How many is not returned: nobody may
    /// learn it.
    pub async fn request_links(
        &self,
        guest_email_index: &[u8],
        member_id: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE conversations SET link_requested_at = $2 \
             WHERE guest_email_index = $1 AND ($3 = '' OR member_id = $3)",
        )
        .bind(guest_email_index)
        .bind(now)
        .bind(member_id.unwrap_or(""))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores a grant made outside a message (a new-link request fulfilled by
    /// the member's client, or a link to deliver by hand), with its e-mail if
    /// any, and clears a pending request.
    ///
    /// With `only_if_requested`, nothing happens (and `false` comes back)
    /// unless a request is pending: two clients answering the same request
    /// send one link, not two.
    pub async fn add_grant(
        &self,
        conversation_id: &str,
        grant: &NewGrant,
        mail: Option<&NewMail>,
        now: i64,
        only_if_requested: bool,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let answered = sqlx::query(
            "UPDATE conversations SET link_requested_at = NULL \
             WHERE id = $1 AND ($2 = 0 OR link_requested_at IS NOT NULL)",
        )
        .bind(conversation_id)
        .bind(i64::from(only_if_requested))
        .execute(&mut *tx)
        .await?;
        if answered.rows_affected() == 0 {
            // The caller checked the conversation exists: nothing pending
            // (or it was deleted meanwhile; either way nothing to send).
            tx.rollback().await?;
            return Ok(false);
        }
        insert_grant(&mut tx, conversation_id, grant, now).await?;
        if let Some(mail) = mail {
            insert_mail(&mut tx, Some(conversation_id), mail, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

async fn insert_message(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    conversation_id: &str,
    seq: i64,
    message: &NewMessage,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO messages (conversation_id, seq, message_id, sender, ciphertext, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(conversation_id)
    .bind(seq)
    .bind(&message.message_id)
    .bind(i64::from(message.sender.as_byte()))
    .bind(&message.ciphertext)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::conflict_as(Unique::MessageId))?;
    Ok(())
}
