//! Conversations: a guest's first contact, messages both ways, links made by
//! the member's client, deletion.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use latchkey_core::{
    check_message_ciphertext, GrantId, LinkKey, OsRng, Role, SealedConversationKey,
    WrappedConversationKey,
};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::{
    set_cookie, ApiJson, ApiPath, ApiQuery, ClientIp, Id, MemberSession, Participant,
    ParticipantSession, SessionKind, B64,
};
use super::members::PublicMember;
use super::validate::{email, handle};
use super::AppState;
use crate::mail::{LinkReason, MailPayload};
use crate::random::random_hex;
use crate::store::{
    Conversation, GrantKind, InboxEntry, Member, NewConversation, NewGrant, NewMail, NewMessage,
    Timestamp,
};
use crate::time::secs_ms;

const HOUR: Duration = Duration::from_secs(3600);

/// A message as posted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MessageInput {
    message_id: Id,
    ciphertext: B64,
}

/// A new link's server half: its grant id and the wrapped conversation key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GrantInput {
    grant_id: String,
    wrapped_key: B64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StartConversation {
    guest_email: String,
    conversation_id: Id,
    sealed_key: B64,
    message: MessageInput,
    grant: GrantInput,
    /// `k1.…`: the guest's first link, e-mailed to him (this also confirms
    /// his address).
    link: String,
}

#[derive(Serialize)]
pub(super) struct Started {
    conversation_id: Id,
}

impl AppState {
    fn check_message(&self, message: &MessageInput, sender: Role) -> Result<NewMessage, ApiError> {
        if message.ciphertext.0.len() > self.config.limits.max_ciphertext_bytes {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "message_too_large",
                format!(
                    "The message is too long: at most {} bytes of ciphertext.",
                    self.config.limits.max_ciphertext_bytes
                ),
            ));
        }
        check_message_ciphertext(&message.ciphertext.0)
            .map_err(|e| ApiError::invalid("invalid_ciphertext", e.to_string()))?;
        Ok(NewMessage {
            message_id: message.message_id.message()?,
            sender,
            ciphertext: message.ciphertext.0.clone(),
        })
    }

    /// Checks a grant and, if a link is given, that it is this grant's link.
    fn check_grant(
        &self,
        grant: &GrantInput,
        link: Option<&str>,
        kind_if_emailed: GrantKind,
        now: Timestamp,
    ) -> Result<(NewGrant, Option<LinkKey>), ApiError> {
        let grant_id = GrantId::parse_base64url(&grant.grant_id)
            .map_err(|e| ApiError::invalid("invalid_grant_id", e.to_string()))?;
        WrappedConversationKey::from_bytes(grant.wrapped_key.0.clone())
            .map_err(|e| ApiError::invalid("invalid_wrapped_key", e.to_string()))?;
        let link = link
            .map(|text| {
                LinkKey::parse_fragment(text).map_err(|e| {
                    ApiError::invalid("invalid_link", format!("The link is not valid: {e}."))
                })
            })
            .transpose()?;
        if let Some(link) = &link {
            if link.grant_id() != grant_id {
                return Err(ApiError::invalid(
                    "link_mismatch",
                    "The link does not belong to this grant.",
                ));
            }
        }
        Ok((
            NewGrant {
                kind: if link.is_some() {
                    kind_if_emailed
                } else {
                    GrantKind::Manual
                },
                id_hash: grant_id.storage_hash(),
                wrapped_key: grant.wrapped_key.0.clone(),
                emailed: link.is_some(),
                expires_at: now.plus_ms(secs_ms(self.config.links.ttl.as_secs())),
            },
            link,
        ))
    }

    fn seal_mail(&self, payload: &MailPayload) -> NewMail {
        let id = random_hex();
        NewMail {
            payload_sealed: self
                .keys
                .outbox
                .seal(&mut OsRng, id.as_bytes(), &payload.to_bytes()),
            id,
        }
    }

    async fn guest_link_mail(
        &self,
        conversation: &Conversation,
        link: &LinkKey,
        reason: LinkReason,
    ) -> Result<NewMail, ApiError> {
        let member = self.member_of(conversation).await?;
        Ok(self.seal_mail(&MailPayload::GuestLink {
            to: self.guest_address(conversation)?,
            member_name: member.display_name,
            fragment: link.expose_fragment().to_string(),
            reason,
        }))
    }

    /// The address the guest's links go to, opened from its sealed column.
    fn guest_address(&self, conversation: &Conversation) -> Result<String, ApiError> {
        // The sealing context is the id's hex text, not its 16 bytes.
        let address = self
            .keys
            .guest_email
            .open(
                conversation.id.to_string().as_bytes(),
                &conversation.guest_email_sealed,
            )
            .map_err(|e| ApiError::internal(&e))?;
        Ok(String::from_utf8_lossy(&address).into_owned())
    }

    async fn member_of(&self, conversation: &Conversation) -> Result<Member, ApiError> {
        self.store
            .member_by_id(&conversation.member_id)
            .await?
            .ok_or_else(|| ApiError::internal(&"conversation without member"))
    }

    /// The conversation, if this participant may act on it. A member who
    /// does not own it gets 404 (its existence is not his business); a
    /// guest whose session belongs to another one gets 403.
    async fn conversation_for(&self, who: &Participant, id: &Id) -> Result<Conversation, ApiError> {
        let not_found = || ApiError::not_found("unknown_conversation", "No such conversation.");
        let id = id.conversation()?;
        if let Participant::Guest(own) = who {
            if *own != id {
                return Err(ApiError::forbidden(
                    "wrong_conversation",
                    "Your session is for another conversation. Open this conversation's link.",
                ));
            }
        }
        let conversation = self.store.conversation(&id).await?.ok_or_else(not_found)?;
        match who {
            Participant::Member(member) if *member != conversation.member_id => Err(not_found()),
            _ => Ok(conversation),
        }
    }
}

/// A guest writes to a member for the first time.
pub(super) async fn start(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiPath(handle_text): ApiPath<String>,
    ApiJson(body): ApiJson<StartConversation>,
) -> Result<Response, ApiError> {
    let limits = &state.config.rate_limits;
    state
        .limiter
        .check(
            "contact-ip",
            ip.0.to_string().as_bytes(),
            limits.contact_per_ip_per_hour,
            HOUR,
        )
        .map_err(ApiError::rate_limited)?;
    let handle = handle(&handle_text)?;
    let member = state
        .store
        .member_by_handle(&handle)
        .await?
        .ok_or_else(|| ApiError::not_found("unknown_member", "No member has this handle."))?;
    let guest_email = email(&body.guest_email)?;
    let index = state.keys.blind_index.email(&guest_email);
    state
        .limiter
        .check(
            "contact-address",
            &index,
            limits.contact_per_address_per_hour,
            HOUR,
        )
        .map_err(ApiError::rate_limited)?;
    SealedConversationKey::from_bytes(body.sealed_key.0.clone())
        .map_err(|e| ApiError::invalid("invalid_sealed_key", e.to_string()))?;
    let message = state.check_message(&body.message, Role::Guest)?;
    let now = Timestamp::now();
    let (grant, link) =
        state.check_grant(&body.grant, Some(&body.link), GrantKind::FirstContact, now)?;
    let link = link.ok_or_else(|| ApiError::internal(&"link parsed to nothing"))?;
    let conversation_id = body.conversation_id.conversation()?;
    let mail = state.seal_mail(&MailPayload::GuestLink {
        to: guest_email.clone(),
        member_name: member.display_name.clone(),
        fragment: link.expose_fragment().to_string(),
        reason: LinkReason::FirstContact,
    });
    // Sealed as typed (mail goes where he said); only the blind index is
    // computed on the normalised form.
    let new = NewConversation {
        guest_email_sealed: state.keys.guest_email.seal(
            &mut OsRng,
            // The id's hex text, as guest_address opens it.
            conversation_id.to_string().as_bytes(),
            guest_email.as_bytes(),
        ),
        guest_email_index: index.to_vec(),
        id: conversation_id,
        member_id: member.id,
        sealed_key: body.sealed_key.0,
        message,
        grant,
        mail,
    };
    state.store.start_conversation(&new, now).await?;
    tracing::info!(conversation = %new.id, "conversation started");
    Ok((
        StatusCode::CREATED,
        Json(Started {
            conversation_id: body.conversation_id,
        }),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    before: Option<String>,
    limit: Option<u32>,
}

/// A conversation in the member's inbox.
#[derive(Serialize)]
pub(super) struct ConversationView {
    id: String,
    sealed_key: B64,
    /// The address the guest's links go to (the one `confirmed` is about).
    /// The address inside his introduction is whatever his browser wrote;
    /// the member's client compares the two.
    guest_email: String,
    confirmed: bool,
    last_seq: i64,
    unread: i64,
    link_requested: bool,
    created_at: i64,
    last_activity_at: i64,
}

impl ConversationView {
    fn of(state: &AppState, entry: &InboxEntry) -> Result<ConversationView, ApiError> {
        let row = &entry.conversation;
        Ok(ConversationView {
            guest_email: state.guest_address(row)?,
            id: row.id.to_string(),
            sealed_key: B64(row.sealed_key.clone()),
            confirmed: row.confirmed,
            last_seq: row.last_seq,
            unread: entry.unread,
            link_requested: row.link_requested_at.is_some(),
            created_at: row.created_at.as_ms(),
            last_activity_at: row.last_activity_at.as_ms(),
        })
    }
}

#[derive(Serialize)]
pub(super) struct ConversationPage {
    conversations: Vec<ConversationView>,
    /// Pass as `before` for the next page; null on the last page.
    next_before: Option<String>,
}

fn page_size(state: &AppState, asked: Option<u32>) -> u32 {
    asked
        .unwrap_or(50)
        .clamp(1, state.config.limits.max_page_size)
}

/// The member's conversations, most recently active first.
pub(super) async fn list(
    State(state): State<AppState>,
    session: MemberSession,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ConversationPage>, ApiError> {
    let limit = page_size(&state, query.limit);
    let before = query
        .before
        .as_deref()
        .map(|cursor| {
            cursor
                .split_once('.')
                .and_then(|(at, id)| {
                    let id = Id::parse(id)?.conversation().ok()?;
                    Some((Timestamp::from_ms(at.parse::<i64>().ok()?), id))
                })
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_cursor",
                        "`before` is not a cursor this server gave.",
                    )
                })
        })
        .transpose()?;
    let rows = state
        .store
        .conversations_of(
            &session.member_id,
            before.as_ref().map(|(at, id)| (*at, id)),
            limit + 1,
        )
        .await?;
    let more = rows.len() > limit as usize;
    let conversations = rows
        .iter()
        .take(limit as usize)
        .map(|row| ConversationView::of(&state, row))
        .collect::<Result<Vec<_>, _>>()?;
    let next_before = more
        .then(|| conversations.last())
        .flatten()
        .map(|c| format!("{}.{}", c.last_activity_at, c.id));
    Ok(Json(ConversationPage {
        conversations,
        next_before,
    }))
}

/// A conversation as its guest sees it.
#[derive(Serialize)]
pub(super) struct GuestConversationView {
    id: String,
    member: PublicMember,
    last_seq: i64,
}

/// One conversation: the member's view, or the guest's.
pub(super) async fn get(
    State(state): State<AppState>,
    who: Participant,
    ApiPath(id): ApiPath<Id>,
) -> Result<Response, ApiError> {
    let conversation = state.conversation_for(&who, &id).await?;
    Ok(match who {
        Participant::Member(_) => {
            let entry = state
                .store
                .inbox_entry(&conversation.id)
                .await?
                .ok_or_else(|| {
                    ApiError::not_found("unknown_conversation", "No such conversation.")
                })?;
            Json(ConversationView::of(&state, &entry)?).into_response()
        }
        Participant::Guest(_) => {
            let member = state.member_of(&conversation).await?;
            Json(GuestConversationView {
                id: conversation.id.to_string(),
                member: PublicMember::of(&member),
                last_seq: conversation.last_seq,
            })
            .into_response()
        }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MessagesQuery {
    after: Option<i64>,
    limit: Option<u32>,
}

#[derive(Serialize)]
pub(super) struct MessageView {
    seq: i64,
    message_id: String,
    sender: &'static str,
    ciphertext: B64,
    created_at: i64,
}

#[derive(Serialize)]
pub(super) struct MessagePage {
    messages: Vec<MessageView>,
    /// Pass as `after` for the next page; null on the last page.
    next_after: Option<i64>,
}

/// Messages in order, after sequence number `after`.
pub(super) async fn messages(
    State(state): State<AppState>,
    who: Participant,
    ApiPath(id): ApiPath<Id>,
    ApiQuery(query): ApiQuery<MessagesQuery>,
) -> Result<Json<MessagePage>, ApiError> {
    let conversation = state.conversation_for(&who, &id).await?;
    let limit = page_size(&state, query.limit);
    let rows = state
        .store
        .messages(&conversation.id, query.after.unwrap_or(0).max(0), limit + 1)
        .await?;
    let more = rows.len() > limit as usize;
    let messages: Vec<MessageView> = rows
        .into_iter()
        .take(limit as usize)
        .map(|m| MessageView {
            seq: m.seq,
            message_id: m.message_id.to_string(),
            sender: match m.sender {
                Role::Member => "member",
                Role::Guest => "guest",
            },
            ciphertext: B64(m.ciphertext),
            created_at: m.created_at.as_ms(),
        })
        .collect();
    let next_after = more.then(|| messages.last().map(|m| m.seq)).flatten();
    Ok(Json(MessagePage {
        messages,
        next_after,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PostMessage {
    message_id: Id,
    ciphertext: B64,
    /// Member only: a new link for the guest.
    grant: Option<GrantInput>,
    /// Member only, with `grant`: the link to e-mail. Without it the member
    /// delivers the link himself and the server never sees it.
    link: Option<String>,
}

/// What became of the notification.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Notification {
    /// An e-mail is queued (the guest's link, or the member's notice).
    Queued,
    /// No e-mail: an earlier one still covers this message.
    Coalesced,
    /// No e-mail asked for (the member delivers the link himself, or no
    /// grant was sent).
    None,
}

#[derive(Serialize)]
pub(super) struct PostedView {
    seq: i64,
    notification: Notification,
}

/// Posts a message (member or guest). The server assigns its order.
pub(super) async fn post(
    State(state): State<AppState>,
    session: ParticipantSession,
    ApiPath(id): ApiPath<Id>,
    ApiJson(body): ApiJson<PostMessage>,
) -> Result<Response, ApiError> {
    state
        .limiter
        .check(
            "posts-session",
            &session.token_hash,
            state.config.rate_limits.posts_per_session_per_minute,
            Duration::from_secs(60),
        )
        .map_err(ApiError::rate_limited)?;
    let who = session.who;
    let conversation = state.conversation_for(&who, &id).await?;
    let sender = match who {
        Participant::Member(_) => Role::Member,
        Participant::Guest(_) => Role::Guest,
    };
    let message = state.check_message(
        &MessageInput {
            message_id: body.message_id,
            ciphertext: body.ciphertext,
        },
        sender,
    )?;
    let now = Timestamp::now();
    let (grant, mail) = match &who {
        Participant::Guest(_) => {
            if body.grant.is_some() || body.link.is_some() {
                return Err(ApiError::invalid(
                    "guest_cannot_grant",
                    "Only the member makes links.",
                ));
            }
            let member = state.member_of(&conversation).await?;
            let to = state
                .keys
                .member_email
                // The id's hex text is the sealing context.
                .open(member.id.to_hex().as_bytes(), &member.email_sealed)
                .map_err(|e| ApiError::internal(&e))?;
            let mail = state.seal_mail(&MailPayload::MemberNotice {
                to: String::from_utf8_lossy(&to).into_owned(),
            });
            (None, Some(mail))
        }
        Participant::Member(_) => match &body.grant {
            None if body.link.is_some() => {
                return Err(ApiError::invalid(
                    "link_without_grant",
                    "A link needs its grant.",
                ))
            }
            None => (None, None),
            Some(grant) => {
                let (grant, link) =
                    state.check_grant(grant, body.link.as_deref(), GrantKind::Message, now)?;
                let mail = match &link {
                    Some(link) => Some(
                        state
                            .guest_link_mail(&conversation, link, LinkReason::NewMessage)
                            .await?,
                    ),
                    None => None,
                };
                (Some(grant), mail)
            }
        },
    };
    let posted = state
        .store
        .post_message(
            &conversation.id,
            &message,
            grant.as_ref(),
            mail.as_ref(),
            now,
            secs_ms(state.config.links.coalesce.as_secs()),
        )
        .await?;
    let notification = if posted.mail_queued {
        Notification::Queued
    } else if mail.is_some() && !posted.duplicate {
        Notification::Coalesced
    } else {
        Notification::None
    };
    let status = if posted.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(PostedView {
            seq: posted.seq,
            notification,
        }),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReadMark {
    seq: i64,
}

/// The member has read up to `seq`.
pub(super) async fn mark_read(
    State(state): State<AppState>,
    session: MemberSession,
    ApiPath(id): ApiPath<Id>,
    ApiJson(body): ApiJson<ReadMark>,
) -> Result<StatusCode, ApiError> {
    let conversation = state
        .conversation_for(&Participant::Member(session.member_id), &id)
        .await?;
    state
        .store
        .mark_read(&conversation.id, body.seq.clamp(0, conversation.last_seq))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AddGrant {
    grant_id: String,
    wrapped_key: B64,
    /// The link to e-mail; absent when the member delivers it himself.
    link: Option<String>,
    /// This answers the guest's new-link request: store and send nothing
    /// unless one is pending (another client may have answered it).
    #[serde(default)]
    answers_request: bool,
}

#[derive(Serialize)]
pub(super) struct GrantAdded {
    notification: Notification,
}

/// A link made by the member's client outside a message: a guest's
/// new-link request fulfilled, or a link to deliver by hand.
pub(super) async fn add_grant(
    State(state): State<AppState>,
    session: MemberSession,
    ApiPath(id): ApiPath<Id>,
    ApiJson(body): ApiJson<AddGrant>,
) -> Result<Response, ApiError> {
    let conversation = state
        .conversation_for(&Participant::Member(session.member_id), &id)
        .await?;
    let now = Timestamp::now();
    let (grant, link) = state.check_grant(
        &GrantInput {
            grant_id: body.grant_id,
            wrapped_key: body.wrapped_key,
        },
        body.link.as_deref(),
        GrantKind::Requested,
        now,
    )?;
    let mail = match &link {
        Some(link) => Some(
            state
                .guest_link_mail(&conversation, link, LinkReason::Requested)
                .await?,
        ),
        None => None,
    };
    let stored = state
        .store
        .add_grant(
            &conversation.id,
            &grant,
            mail.as_ref(),
            now,
            body.answers_request,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(GrantAdded {
            notification: if stored && mail.is_some() {
                Notification::Queued
            } else {
                Notification::None
            },
        }),
    )
        .into_response())
}

/// Destroys a conversation (its member or its guest). A guest's session
/// ends with it.
pub(super) async fn delete(
    State(state): State<AppState>,
    who: Participant,
    ApiPath(id): ApiPath<Id>,
) -> Result<Response, ApiError> {
    let conversation = state.conversation_for(&who, &id).await?;
    state.store.delete_conversation(&conversation.id).await?;
    tracing::info!(conversation = %conversation.id, "conversation deleted");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if matches!(who, Participant::Guest(_)) {
        response = (
            AppendHeaders([(
                header::SET_COOKIE,
                set_cookie(&state, SessionKind::Guest, None),
            )]),
            response,
        )
            .into_response();
    }
    Ok(response)
}
