//! Conversations: a guest's first contact, the member's inbox, messages
//! both ways, read marks, deletion.

use std::sync::Arc;

use latchkey_api::{ErrorCode, Handle, MessageInput, Notification, PostMessage, StartConversation};
use latchkey_core::{check_message_ciphertext, ConversationId, OsRng, Role, SealedConversationKey};

use super::access::{
    check_guest_scope, check_member_owns, conversation_for, member_of, unknown_conversation,
    Participant,
};
use super::grants;
use super::notices::{self, guest_address};
use super::{accounts, ms, Budget, ClientKey, Context, DomainError, HOUR, MINUTE};
use crate::i18n::Language;
use crate::mail::LinkReason;
use crate::store::{
    Conversation, GrantKind, InboxEntry, Member, MemberId, NewConversation, NewMessage, NewPost,
    NoticeMaker, PostMail, Session, StoreError, StoredMessage, Timestamp,
};

/// A message's bytes, checked: at most the configured size, and the shape
/// of a padded message.
fn check_message(
    ctx: &Context,
    message: MessageInput,
    sender: Role,
) -> Result<NewMessage, DomainError> {
    let max = ctx.config.limits.max_ciphertext_bytes;
    if message.ciphertext.0.len() > max {
        return Err(DomainError::new(
            ErrorCode::MessageTooLarge,
            format!("The message is too long: at most {max} bytes of ciphertext."),
        ));
    }
    check_message_ciphertext(&message.ciphertext.0)
        .map_err(|e| DomainError::new(ErrorCode::InvalidCiphertext, e.to_string()))?;
    Ok(NewMessage {
        message_id: message.message_id.0,
        sender,
        ciphertext: message.ciphertext.0,
    })
}

/// A guest writes to a member for the first time: the conversation, its
/// first message, its first grant and the e-mail with his link, together.
/// His mails are in `language` (his request's) until he asks in another.
pub async fn start(
    ctx: &Context,
    client: ClientKey,
    handle: &Handle,
    input: StartConversation,
    language: Language,
) -> Result<ConversationId, DomainError> {
    let limits = &ctx.config.rate_limits;
    ctx.spend(
        Budget {
            name: "contact-ip",
            limit: limits.contact_per_ip_per_hour,
            period: HOUR,
        },
        &client.bytes(),
    )
    .await?;
    let member = accounts::public_member(ctx, handle).await?;
    accounts::check_enabled(ctx, &member).await?;
    let index = ctx.keys.blind_index.email(input.guest_email.as_str());
    ctx.spend(
        Budget {
            name: "contact-address",
            limit: limits.contact_per_address_per_hour,
            period: HOUR,
        },
        &index,
    )
    .await?;
    SealedConversationKey::from_bytes(input.sealed_key.0.clone())
        .map_err(|e| DomainError::new(ErrorCode::InvalidSealedKey, e.to_string()))?;
    let message = check_message(ctx, input.message, Role::Guest)?;
    let now = Timestamp::now();
    let checked = grants::check(
        ctx,
        input.grant,
        Some(input.link),
        GrantKind::FirstContact,
        now,
    )?;
    let link = checked
        .link
        .ok_or_else(|| DomainError::internal(&"a first contact's link parsed to nothing"))?;
    let id = input.conversation_id.0;
    let to = input.guest_email.as_str();
    let new = NewConversation {
        // Sealed as typed (mail goes where he said) under the id's hex
        // text; only the blind index is of the normalised form.
        guest_email_sealed: ctx.keys.guest_email.seal(
            &mut OsRng,
            id.to_string().as_bytes(),
            to.as_bytes(),
        ),
        guest_email_index: index.to_vec(),
        mail: notices::guest_link(
            ctx,
            to,
            &member,
            &id,
            &link,
            LinkReason::FirstContact,
            language,
        ),
        id,
        member_id: member.id,
        sealed_key: input.sealed_key.0,
        message,
        grant: checked.grant,
        guest_language: language,
    };
    let mailed = ctx.store.start_conversation(&new, now).await?;
    if mailed {
        tracing::info!(conversation = %new.id, "conversation started");
    } else {
        // The guest's link is not sent: this address, or this
        // conversation, has had its day's mail. The answer stays the same
        // (the contract's `Started` has no room for it); he can ask for a
        // new link later.
        tracing::warn!(conversation = %new.id, "conversation started; link mail capped");
    }
    Ok(id)
}

/// A conversation as its member sees it: the entry and the address his
/// guest's links go to.
#[derive(Debug)]
pub struct InboxItem {
    /// The conversation with its unread count.
    pub entry: InboxEntry,
    /// Opened from its sealed column.
    pub guest_email: String,
}

/// One page of the inbox.
#[derive(Debug)]
pub struct InboxPage {
    /// Most recently active first.
    pub items: Vec<InboxItem>,
    /// The cursor of the next page; none on the last.
    pub next_before: Option<String>,
}

fn page_size(ctx: &Context, asked: Option<u32>) -> u32 {
    asked
        .unwrap_or(50)
        .clamp(1, ctx.config.limits.max_page_size)
}

/// An inbox cursor is `LAST_ACTIVITY_MS.CONVERSATION_ID` of a page's last
/// conversation.
fn parse_cursor(text: &str) -> Result<(Timestamp, ConversationId), DomainError> {
    text.split_once('.')
        .and_then(|(at, id)| {
            let id = latchkey_api::ConversationId::parse(id)?.0;
            Some((Timestamp::from_ms(at.parse::<i64>().ok()?), id))
        })
        .ok_or_else(|| {
            DomainError::new(
                ErrorCode::InvalidCursor,
                "`before` is not a cursor this server gave.",
            )
        })
}

fn inbox_item(ctx: &Context, entry: InboxEntry) -> Result<InboxItem, DomainError> {
    Ok(InboxItem {
        guest_email: guest_address(ctx, &entry.conversation)?,
        entry,
    })
}

/// The member's conversations, most recently active first.
pub async fn inbox(
    ctx: &Context,
    member: MemberId,
    before: Option<&str>,
    limit: Option<u32>,
) -> Result<InboxPage, DomainError> {
    let limit = page_size(ctx, limit);
    let before = before.map(parse_cursor).transpose()?;
    let mut rows = ctx
        .store
        .conversations_of(
            &member,
            before.as_ref().map(|(at, id)| (*at, id)),
            limit + 1,
        )
        .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let items = rows
        .into_iter()
        .map(|entry| inbox_item(ctx, entry))
        .collect::<Result<Vec<_>, _>>()?;
    let next_before = items.last().filter(|_| more).map(|item| {
        let c = &item.entry.conversation;
        format!("{}.{}", c.last_activity_at.as_ms(), c.id)
    });
    Ok(InboxPage { items, next_before })
}

/// One conversation, as the participant asking sees it.
#[derive(Debug)]
pub enum ConversationView {
    /// Its member's view.
    Member(InboxItem),
    /// Its guest's view: the conversation, whom he writes with, and his
    /// read-receipt switch.
    Guest(Conversation, Member, bool),
}

/// One conversation: the member's view, or the guest's.
pub async fn view(
    ctx: &Context,
    who: Participant,
    id: ConversationId,
) -> Result<ConversationView, DomainError> {
    let conversation = conversation_for(ctx, who, id).await?;
    match who {
        Participant::Member(_) => {
            let entry = ctx
                .store
                .inbox_entry(&conversation.id)
                .await?
                .ok_or_else(|| {
                    DomainError::new(ErrorCode::UnknownConversation, "No such conversation.")
                })?;
            Ok(ConversationView::Member(inbox_item(ctx, entry)?))
        }
        Participant::Guest(_) => {
            let member = member_of(ctx, &conversation).await?;
            let receipts = ctx.store.guest_read_receipts(&conversation.id).await?;
            Ok(ConversationView::Guest(conversation, member, receipts))
        }
    }
}

/// One page of messages.
#[derive(Debug)]
pub struct MessagesPage {
    /// Oldest first, each with its read receipt (see [`read_times`]).
    pub messages: Vec<(StoredMessage, Option<Timestamp>)>,
    /// The `after` of the next page; none on the last.
    pub next_after: Option<i64>,
}

/// Messages in order, after sequence number `after`. The access check of
/// [`conversation_for`], the conversation, the page and its receipts come
/// from one read of the store.
pub async fn messages(
    ctx: &Context,
    who: Participant,
    id: ConversationId,
    after: Option<i64>,
    limit: Option<u32>,
) -> Result<MessagesPage, DomainError> {
    check_guest_scope(who, id)?;
    let limit = page_size(ctx, limit);
    let page = ctx
        .store
        .conversation_page(&id, after.unwrap_or(0).max(0), limit + 1, role_of(who))
        .await?
        .ok_or_else(unknown_conversation)?;
    check_member_owns(who, &page.conversation)?;
    let mut messages = page.messages;
    let more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    let next_after = messages.last().filter(|_| more).map(|m| m.seq);
    let read = read_times(role_of(who), &messages, page.marks.as_deref());
    Ok(MessagesPage {
        messages: messages.into_iter().zip(read).collect(),
        next_after,
    })
}

/// The role a participant writes as.
fn role_of(who: Participant) -> Role {
    match who {
        Participant::Member(_) => Role::Member,
        Participant::Guest(_) => Role::Guest,
    }
}

/// Read receipts of a page, one per message: on the asker's own messages
/// only, and only while both sides have receipts on (reciprocal, as in
/// common messengers: nobody sees the other's reading while hiding his
/// own; the store gives no `marks` then). A message was read at the first
/// of the other side's marks that reaches its seq: for the guest, a link's
/// first opening (it carried everything up to its making); for the
/// member, his read mark.
fn read_times(
    mine: Role,
    messages: &[StoredMessage],
    marks: Option<&[(i64, Timestamp)]>,
) -> Vec<Option<Timestamp>> {
    let Some(marks) = marks else {
        return vec![None; messages.len()];
    };
    messages
        .iter()
        .map(|m| {
            (m.sender == mine)
                .then(|| {
                    marks
                        .iter()
                        .find(|(seq, _)| *seq >= m.seq)
                        .map(|(_, at)| *at)
                })
                .flatten()
        })
        .collect()
}

/// Whether the member has read receipts on.
pub async fn member_read_receipts(ctx: &Context, member: MemberId) -> Result<bool, DomainError> {
    Ok(ctx.store.member_read_receipts(&member).await?)
}

/// Turns the member's read receipts on or off, for all his conversations.
pub async fn set_member_read_receipts(
    ctx: &Context,
    member: MemberId,
    on: bool,
) -> Result<(), DomainError> {
    ctx.store.set_member_read_receipts(&member, on).await?;
    Ok(())
}

/// The caller's switch from within a conversation: the guest's for this
/// conversation; a member's for all of his.
pub async fn set_read_receipts(
    ctx: &Context,
    who: Participant,
    id: ConversationId,
    on: bool,
) -> Result<(), DomainError> {
    let conversation = conversation_for(ctx, who, id).await?;
    match who {
        Participant::Member(member) => set_member_read_receipts(ctx, member, on).await,
        Participant::Guest(_) => {
            ctx.store
                .set_guest_read_receipts(&conversation.id, on)
                .await?;
            Ok(())
        }
    }
}

/// What posting did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostOutcome {
    /// The message's sequence number.
    pub seq: i64,
    /// What became of its e-mail.
    pub notification: Notification,
    /// It was stored before (same id, same bytes): nothing changed.
    pub duplicate: bool,
}

/// Posts a message (member or guest); the server assigns its order. A
/// guest's message notifies the member; a member's may carry a new link.
/// A guest writing in another `language` (his request's) gets his next
/// mails in it.
pub async fn post(
    ctx: &Context,
    session: &Session,
    id: ConversationId,
    input: PostMessage,
    language: Language,
) -> Result<PostOutcome, DomainError> {
    ctx.spend(
        Budget {
            name: "posts-session",
            limit: ctx.config.rate_limits.posts_per_session_per_minute,
            period: MINUTE,
        },
        &session.token_hash,
    )
    .await?;
    let who = Participant::from(session);
    let sender = role_of(who);
    let message = check_message(
        ctx,
        MessageInput {
            message_id: input.message_id,
            ciphertext: input.ciphertext,
        },
        sender,
    )?;
    let now = Timestamp::now();
    let (grant, mail, guest_language) = match (who, input.grant, input.link) {
        (Participant::Guest(_), None, None) => {
            // His session is for this conversation (it exists while the
            // session does): no look-up before the write. The member's
            // notice is made by the store only if coalescing lets it go:
            // most guest messages in a row are covered by the one before.
            check_guest_scope(who, id)?;
            let notice_ctx = ctx.clone();
            let notice: Arc<NoticeMaker> = Arc::new(move |recipient| {
                notices::member_notice(&notice_ctx, recipient, &id).map_err(|_| {
                    StoreError::Corrupt {
                        table: "members",
                        column: "email_sealed",
                        problem: "does not open with the member-email key",
                    }
                })
            });
            (None, PostMail::Notice(notice), Some(language))
        }
        (Participant::Guest(_), _, _) => {
            return Err(DomainError::new(
                ErrorCode::GuestCannotGrant,
                "Only the member makes links.",
            ))
        }
        (Participant::Member(_), None, Some(_)) => {
            return Err(DomainError::new(
                ErrorCode::LinkWithoutGrant,
                "A link needs its grant.",
            ))
        }
        (Participant::Member(_), None, None) => {
            conversation_for(ctx, who, id).await?;
            (None, PostMail::None, None)
        }
        (Participant::Member(_), Some(grant), link) => {
            let conversation = conversation_for(ctx, who, id).await?;
            let checked = grants::check(ctx, grant, link, GrantKind::Message, now)?;
            let mail = checked
                .mail(ctx, &conversation, LinkReason::NewMessage)
                .await?;
            (
                Some(checked.grant),
                mail.map_or(PostMail::None, PostMail::Link),
                None,
            )
        }
    };
    let mail_asked = !matches!(mail, PostMail::None);
    let posted = ctx
        .store
        .post_message(NewPost {
            conversation_id: id,
            message,
            grant,
            mail,
            guest_language,
            now,
            coalesce_ms: ms(ctx.config.links.coalesce),
        })
        .await
        .map_err(|e| match e {
            // Deleted between the session's check and the write.
            StoreError::NotFound("conversation") => unknown_conversation(),
            other => other.into(),
        })?;
    let notification = if posted.mail_queued {
        Notification::Queued
    } else if posted.mail_capped {
        tracing::warn!(conversation = %id, "message stored; its mail capped");
        Notification::Capped
    } else if mail_asked && !posted.duplicate {
        Notification::Coalesced
    } else {
        Notification::None
    };
    Ok(PostOutcome {
        seq: posted.seq,
        notification,
        duplicate: posted.duplicate,
    })
}

/// The member has read up to `seq`.
pub async fn mark_read(
    ctx: &Context,
    member: MemberId,
    id: ConversationId,
    seq: i64,
) -> Result<(), DomainError> {
    let conversation = conversation_for(ctx, Participant::Member(member), id).await?;
    ctx.store
        .mark_read(
            &conversation.id,
            seq.clamp(0, conversation.last_seq),
            Timestamp::now(),
        )
        .await?;
    Ok(())
}

/// Destroys a conversation (its member or its guest), with every message,
/// grant, session and pending e-mail.
pub async fn delete(
    ctx: &Context,
    who: Participant,
    id: ConversationId,
) -> Result<(), DomainError> {
    let conversation = conversation_for(ctx, who, id).await?;
    ctx.store.delete_conversation(&conversation.id).await?;
    tracing::info!(conversation = %conversation.id, "conversation deleted");
    Ok(())
}
