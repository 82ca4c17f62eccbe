//! Conversations: first contact, the inbox, messages both ways, read marks,
//! deletion. Each handler extracts, calls the domain, maps the result.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use latchkey_api::{
    ConversationAnswer, ConversationId, ConversationPage, GuestConversationView, Handle, ListQuery,
    MessagePage, MessagesQuery, PostMessage, PostedView, ReadMark, ReadReceipts, StartConversation,
    Started,
};

use super::error::ApiError;
use super::extract::{
    set_cookie, ApiJson, ApiPath, ApiQuery, ClientIp, MemberSession, ParticipantSession,
};
use super::language::RequestLanguage;
use super::{views, AppState};
use crate::domain::access::Participant;
use crate::domain::conversations::{self, ConversationView};
use crate::domain::sessions::SessionKind;

pub(super) async fn start(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiPath(handle): ApiPath<Handle>,
    RequestLanguage(language): RequestLanguage,
    ApiJson(body): ApiJson<StartConversation>,
) -> Result<Response, ApiError> {
    let id = conversations::start(&state.ctx, client, &handle, body, language).await?;
    Ok((
        StatusCode::CREATED,
        Json(Started {
            conversation_id: id.into(),
        }),
    )
        .into_response())
}

pub(super) async fn list(
    State(state): State<AppState>,
    session: MemberSession,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ConversationPage>, ApiError> {
    let page = conversations::inbox(
        &state.ctx,
        session.member,
        query.before.as_deref(),
        query.limit,
    )
    .await?;
    Ok(Json(ConversationPage {
        conversations: page
            .items
            .into_iter()
            .map(views::conversation)
            .collect::<Result<_, _>>()?,
        next_before: page.next_before,
    }))
}

pub(super) async fn get(
    State(state): State<AppState>,
    session: ParticipantSession,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<Json<ConversationAnswer>, ApiError> {
    Ok(Json(
        match conversations::view(&state.ctx, session.who(), id.0).await? {
            ConversationView::Member(item) => {
                ConversationAnswer::Member(views::conversation(item)?)
            }
            ConversationView::Guest(conversation, member, read_receipts) => {
                ConversationAnswer::Guest(GuestConversationView {
                    id: conversation.id.into(),
                    member: views::public_member(&member)?,
                    last_seq: conversation.last_seq,
                    read_receipts,
                })
            }
        },
    ))
}

pub(super) async fn messages(
    State(state): State<AppState>,
    session: ParticipantSession,
    ApiPath(id): ApiPath<ConversationId>,
    ApiQuery(query): ApiQuery<MessagesQuery>,
) -> Result<Json<MessagePage>, ApiError> {
    let page =
        conversations::messages(&state.ctx, session.who(), id.0, query.after, query.limit).await?;
    Ok(Json(MessagePage {
        messages: page
            .messages
            .into_iter()
            .map(|(message, read_at)| {
                let mut view = views::message(message);
                view.read_at = read_at.map(|at| at.as_ms());
                view
            })
            .collect(),
        next_after: page.next_after,
    }))
}

/// 201 for a new message, 200 for one stored before (a safe retry).
pub(super) async fn post(
    State(state): State<AppState>,
    session: ParticipantSession,
    ApiPath(id): ApiPath<ConversationId>,
    RequestLanguage(language): RequestLanguage,
    ApiJson(body): ApiJson<PostMessage>,
) -> Result<Response, ApiError> {
    let posted = conversations::post(&state.ctx, &session.0, id.0, body, language).await?;
    let status = if posted.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(PostedView {
            seq: posted.seq,
            notification: posted.notification,
        }),
    )
        .into_response())
}

pub(super) async fn mark_read(
    State(state): State<AppState>,
    session: MemberSession,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<ReadMark>,
) -> Result<StatusCode, ApiError> {
    conversations::mark_read(&state.ctx, session.member, id.0, body.seq).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn member_read_receipts(
    State(state): State<AppState>,
    session: MemberSession,
) -> Result<Json<ReadReceipts>, ApiError> {
    Ok(Json(ReadReceipts {
        read_receipts: conversations::member_read_receipts(&state.ctx, session.member).await?,
    }))
}

pub(super) async fn set_member_read_receipts(
    State(state): State<AppState>,
    session: MemberSession,
    ApiJson(body): ApiJson<ReadReceipts>,
) -> Result<StatusCode, ApiError> {
    conversations::set_member_read_receipts(&state.ctx, session.member, body.read_receipts).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn set_read_receipts(
    State(state): State<AppState>,
    session: ParticipantSession,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<ReadReceipts>,
) -> Result<StatusCode, ApiError> {
    conversations::set_read_receipts(&state.ctx, session.who(), id.0, body.read_receipts).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A guest's session ends with his conversation; his cookie is cleared.
pub(super) async fn delete(
    State(state): State<AppState>,
    session: ParticipantSession,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<Response, ApiError> {
    let who = session.who();
    conversations::delete(&state.ctx, who, id.0).await?;
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
