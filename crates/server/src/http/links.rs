//! Links: look before redeeming, redeem (the guest's click), ask for a new
//! one, and the member's client adding one. Each handler extracts, calls
//! the domain, maps the result.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use latchkey_api::{
    AddGrant, ConversationId, GrantAdded, GrantRef, LinkRequest, LinkRequested, Peeked,
    RedeemRequest, RedeemedView, B64,
};

use super::error::ApiError;
use super::extract::{set_cookie, ApiJson, ApiPath, ClientIp, MemberSession};
use super::language::RequestLanguage;
use super::{views, AppState};
use crate::domain::links;
use crate::domain::sessions::SessionKind;

/// The grant id travels in a body, never in a URL: it opens the
/// conversation's key wrap, and URLs end up in logs.
pub(super) async fn peek(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(body): ApiJson<GrantRef>,
) -> Result<Json<Peeked>, ApiError> {
    let member = links::peek(&state.ctx, client, &body.grant_id).await?;
    Ok(Json(Peeked {
        member: views::public_member(&member)?,
    }))
}

/// The guest's address travels with the grant id: a wrong one uses
/// nothing up.
pub(super) async fn redeem(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(body): ApiJson<RedeemRequest>,
) -> Result<Response, ApiError> {
    let opened = links::redeem(&state.ctx, client, &body.grant_id, &body.email).await?;
    Ok((
        AppendHeaders([(
            header::SET_COOKIE,
            set_cookie(&state, SessionKind::Guest, Some(opened.session.expose())),
        )]),
        Json(RedeemedView {
            conversation_id: opened.redeemed.conversation_id.into(),
            wrapped_key: B64(opened.wrapped_key.as_bytes().to_vec()),
            member: views::public_member(&opened.member)?,
        }),
    )
        .into_response())
}

/// The same answer whether or not the address has a conversation here.
pub(super) async fn request(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    RequestLanguage(language): RequestLanguage,
    ApiJson(body): ApiJson<LinkRequest>,
) -> Result<Response, ApiError> {
    links::request(
        &state.ctx,
        client,
        &body.email,
        body.handle.as_ref(),
        language,
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(LinkRequested {
            message: links::LINK_REQUESTED.to_owned(),
        }),
    )
        .into_response())
}

pub(super) async fn add(
    State(state): State<AppState>,
    session: MemberSession,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<AddGrant>,
) -> Result<Response, ApiError> {
    let notification = links::add(&state.ctx, session.member, id.0, body).await?;
    Ok((StatusCode::CREATED, Json(GrantAdded { notification })).into_response())
}
