//! The admin API for the site's backend, authenticated by a bearer token
//! (no cookies, so no `Origin` check), and the enrollment page's peek at
//! its invitation. Each handler extracts, calls `domain::admin`, maps.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_api::endpoints::{SCOPE_MEMBERS_READ, SCOPE_MEMBERS_WRITE};
use latchkey_api::{
    AdminMember, AdminMemberList, EnrollPeek, Enrollment, Handle, InviteRequest, Invited,
};

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ClientIp};
use super::AppState;
use crate::domain::admin::{self, Caller, Entry};
use crate::domain::DomainError;

/// A scope an admin operation needs, as a type, so the token is checked by
/// an extractor that runs before the body is read.
pub trait Scope {
    /// The scope's name.
    const NAME: &'static str;
}

/// `members:read`.
#[derive(Debug)]
pub struct Read;
impl Scope for Read {
    const NAME: &'static str = SCOPE_MEMBERS_READ;
}

/// `members:write`.
#[derive(Debug)]
pub struct Write;
impl Scope for Write {
    const NAME: &'static str = SCOPE_MEMBERS_WRITE;
}

/// The caller of an admin operation, whose token has scope `S`.
#[derive(Debug)]
pub struct Admin<S>(Caller, PhantomData<S>);

impl<S: Scope + Send + Sync> FromRequestParts<AppState> for Admin<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        let caller = admin::authenticate(&state.ctx, bearer, S::NAME).await?;
        Ok(Admin(caller, PhantomData))
    }
}

fn view(state: &AppState, entry: Entry) -> AdminMember {
    AdminMember {
        contact_url: format!(
            "{}/m/{}",
            state.ctx.config.public_url.trim_end_matches('/'),
            entry.handle.as_str()
        ),
        handle: entry.handle,
        display_name: entry.display_name,
        status: entry.status,
        created_at: entry.created_at.as_ms(),
    }
}

pub(super) async fn list(
    State(state): State<AppState>,
    Admin(caller, _): Admin<Read>,
) -> Result<Json<AdminMemberList>, ApiError> {
    let entries = admin::list(&state.ctx, &caller).await?;
    Ok(Json(AdminMemberList {
        members: entries.into_iter().map(|e| view(&state, e)).collect(),
    }))
}

pub(super) async fn get(
    State(state): State<AppState>,
    Admin(caller, _): Admin<Read>,
    ApiPath(handle): ApiPath<Handle>,
) -> Result<Json<AdminMember>, ApiError> {
    let entry = admin::get(&state.ctx, &caller, &handle).await?;
    Ok(Json(view(&state, entry)))
}

pub(super) async fn invite(
    State(state): State<AppState>,
    Admin(caller, _): Admin<Write>,
    ApiJson(body): ApiJson<InviteRequest>,
) -> Result<Response, ApiError> {
    let language = admin::invite_language(body.language.as_deref())?;
    let invited = admin::invite(
        &state.ctx,
        &caller,
        body.handle,
        body.display_name,
        &body.email,
        body.send_email.unwrap_or(false),
        language,
    )
    .await?;
    let enrollment_url = format!(
        "{}/enroll#{}",
        state.ctx.config.public_url.trim_end_matches('/'),
        invited.token.expose()
    );
    Ok((
        StatusCode::CREATED,
        Json(Invited {
            member: view(&state, invited.entry),
            enrollment_url,
            expires_at: invited.expires_at.as_ms(),
            emailed: invited.emailed,
            language: invited.language.tag().to_owned(),
        }),
    )
        .into_response())
}

pub(super) async fn disable(
    State(state): State<AppState>,
    Admin(caller, _): Admin<Write>,
    ApiPath(handle): ApiPath<Handle>,
) -> Result<Json<AdminMember>, ApiError> {
    let entry = admin::set_disabled(&state.ctx, &caller, &handle, true).await?;
    Ok(Json(view(&state, entry)))
}

pub(super) async fn enable(
    State(state): State<AppState>,
    Admin(caller, _): Admin<Write>,
    ApiPath(handle): ApiPath<Handle>,
) -> Result<Json<AdminMember>, ApiError> {
    let entry = admin::set_disabled(&state.ctx, &caller, &handle, false).await?;
    Ok(Json(view(&state, entry)))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    Admin(caller, _): Admin<Write>,
    ApiPath(handle): ApiPath<Handle>,
) -> Result<StatusCode, ApiError> {
    admin::delete(&state.ctx, &caller, &handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn enroll_peek(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(body): ApiJson<EnrollPeek>,
) -> Result<Json<Enrollment>, ApiError> {
    let (invite, email) = admin::enrollment(&state.ctx, client, &body.invite).await?;
    let email = email
        .map(|email| {
            latchkey_api::Email::parse(&email).map_err(|e| {
                ApiError::from(DomainError::internal(&format_args!(
                    "stored invite address: {e}"
                )))
            })
        })
        .transpose()?;
    Ok(Json(Enrollment {
        handle: invite.handle,
        display_name: invite.display_name,
        email,
    }))
}
