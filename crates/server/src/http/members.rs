//! Members: registration, login, sign-out, the profile, password change
//! and recovery. Each handler extracts, calls the domain, maps the result.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use latchkey_api::{
    Handle, LoginFinish, LoginStart, LoginStarted, MemberView, NewRecovery, OpaqueResponse,
    PasswordFinish, PasswordStart, ProfileUpdate, PublicMember, RecoverFinish, RecoverStart,
    RecoverStarted, RegisterFinish, RegisterStart, RegisterStarted, B64,
};

use super::error::ApiError;
use super::extract::{set_cookie, ApiJson, ApiPath, ClientIp, MemberSession, SessionCookies};
use super::language::RequestLanguage;
use super::{views, AppState};
use crate::domain::sessions::{SessionKind, SessionToken};
use crate::domain::{accounts, oidc, recovery, sessions};
use crate::store::Member;

/// A member view with the cookie of his new session.
pub(super) fn signed_in(
    state: &AppState,
    status: StatusCode,
    member: &Member,
    token: &SessionToken,
) -> Result<Response, ApiError> {
    Ok((
        status,
        AppendHeaders([(
            header::SET_COOKIE,
            set_cookie(state, SessionKind::Member, Some(token.expose())),
        )]),
        Json(views::member(
            member,
            &state.ctx.config.embed.allowed_origins,
        )?),
    )
        .into_response())
}

pub(super) async fn register_start(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(body): ApiJson<RegisterStart>,
) -> Result<Json<RegisterStarted>, ApiError> {
    // An invitation (the site's own word, or a first sign-in with the
    // site's account) registers even with local passwords off.
    if body.invite.is_none() {
        oidc::check_local_passwords(&state.ctx)?;
    }
    let started = accounts::register_start(
        &state.ctx,
        client,
        body.registration_code.as_deref(),
        body.invite.as_deref(),
        &body.handle,
        &body.request.0,
    )
    .await?;
    Ok(Json(RegisterStarted {
        response: B64(started.response),
        identity_challenge: B64(started.identity.challenge.as_bytes().to_vec()),
        registration_token: B64(started.identity.token),
    }))
}

pub(super) async fn register_finish(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    RequestLanguage(language): RequestLanguage,
    ApiJson(body): ApiJson<RegisterFinish>,
) -> Result<Response, ApiError> {
    if body.invite.is_none() {
        oidc::check_local_passwords(&state.ctx)?;
    }
    let (member, token) = accounts::register_finish(&state.ctx, client, body, language).await?;
    signed_in(&state, StatusCode::CREATED, &member, &token)
}

pub(super) async fn login_start(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    signed_in: Result<MemberSession, ApiError>,
    ApiJson(body): ApiJson<LoginStart>,
) -> Result<Json<LoginStarted>, ApiError> {
    let signed_in = signed_in.ok().map(|s| s.member);
    accounts::check_password_login(&state.ctx, signed_in, &body.handle).await?;
    let challenge =
        accounts::login_start(&state.ctx, client, &body.handle, &body.request.0).await?;
    Ok(Json(LoginStarted {
        login_id: challenge.login_id,
        response: B64(challenge.response),
    }))
}

pub(super) async fn login_finish(
    State(state): State<AppState>,
    RequestLanguage(language): RequestLanguage,
    ApiJson(body): ApiJson<LoginFinish>,
) -> Result<Response, ApiError> {
    let (member, token) =
        accounts::login_finish(&state.ctx, &body.login_id, &body.finalization.0, language).await?;
    signed_in(&state, StatusCode::OK, &member, &token)
}

/// Ends the member and the guest session the request carries (a guest on a
/// shared computer needs this too), and clears both cookies.
pub(super) async fn logout(
    State(state): State<AppState>,
    cookies: SessionCookies,
) -> Result<Response, ApiError> {
    sessions::end(&state.ctx, &cookies.token_hashes).await?;
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([
            (
                header::SET_COOKIE,
                set_cookie(&state, SessionKind::Member, None),
            ),
            (
                header::SET_COOKIE,
                set_cookie(&state, SessionKind::Guest, None),
            ),
        ]),
    )
        .into_response())
}

pub(super) async fn me(
    State(state): State<AppState>,
    session: MemberSession,
) -> Result<Json<MemberView>, ApiError> {
    let member = accounts::me(&state.ctx, session.member).await?;
    Ok(Json(views::member(
        &member,
        &state.ctx.config.embed.allowed_origins,
    )?))
}

pub(super) async fn update_me(
    State(state): State<AppState>,
    session: MemberSession,
    ApiJson(body): ApiJson<ProfileUpdate>,
) -> Result<Json<MemberView>, ApiError> {
    let member = accounts::rename(&state.ctx, session.member, &body.display_name).await?;
    Ok(Json(views::member(
        &member,
        &state.ctx.config.embed.allowed_origins,
    )?))
}

pub(super) async fn password_start(
    State(state): State<AppState>,
    session: MemberSession,
    ApiJson(body): ApiJson<PasswordStart>,
) -> Result<Json<OpaqueResponse>, ApiError> {
    let response = accounts::password_start(
        &state.ctx,
        &session.session,
        session.member,
        &body.request.0,
    )
    .await?;
    Ok(Json(OpaqueResponse {
        response: B64(response),
    }))
}

pub(super) async fn password_finish(
    State(state): State<AppState>,
    session: MemberSession,
    ApiJson(body): ApiJson<PasswordFinish>,
) -> Result<StatusCode, ApiError> {
    accounts::password_finish(
        &state.ctx,
        &session.session,
        session.member,
        &body.upload.0,
        &body.sealed_identity.0,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn public_member(
    State(state): State<AppState>,
    ApiPath(handle): ApiPath<Handle>,
) -> Result<Json<PublicMember>, ApiError> {
    let (member, accepts_messages) = accounts::contact_member(&state.ctx, &handle).await?;
    Ok(Json(views::contact_member(&member, accepts_messages)?))
}

pub(super) async fn recover_start(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(body): ApiJson<RecoverStart>,
) -> Result<Json<RecoverStarted>, ApiError> {
    let started = recovery::start(
        &state.ctx,
        client,
        &body.handle,
        &body.recovery_proof.0,
        &body.request.0,
    )
    .await?;
    Ok(Json(RecoverStarted {
        response: B64(started.response),
        identity_public: B64(started.identity_public),
        recovery_sealed_identity: B64(started.recovery_sealed_identity),
    }))
}

pub(super) async fn recover_finish(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(body): ApiJson<RecoverFinish>,
) -> Result<StatusCode, ApiError> {
    recovery::finish(
        &state.ctx,
        client,
        &body.handle,
        &body.recovery_proof.0,
        &body.upload.0,
        &body.sealed_identity.0,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn replace_recovery(
    State(state): State<AppState>,
    session: MemberSession,
    ApiJson(body): ApiJson<NewRecovery>,
) -> Result<StatusCode, ApiError> {
    recovery::replace(
        &state.ctx,
        &session.session,
        session.member,
        body.recovery_sealed_identity,
        body.recovery_proof,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
