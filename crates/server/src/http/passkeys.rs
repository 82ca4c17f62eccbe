//! Passkeys: the member's list, add and remove; enrollment with a passkey;
//! passkey sign-in. Each handler extracts, calls the domain, maps the
//! result.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use base64ct::{Base64UrlUnpadded, Encoding};
use latchkey_api::{
    AddPasskey, EnrollPasskey, EnrollStart, EnrollStarted, PasskeyCopy, PasskeyList,
    PasskeyLoginFinish, PasskeyLoginStart, PasskeyLoginStarted, PasskeyView, B64,
};

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ClientIp, MemberSession};
use super::language::RequestLanguage;
use super::members::signed_in;
use super::AppState;
use crate::domain::{oidc, passkey_accounts, passkeys};
use crate::store::Passkey;

fn credential_bytes(passkey: &Passkey) -> Result<Vec<u8>, ApiError> {
    Base64UrlUnpadded::decode_vec(&passkey.credential_id)
        .map_err(|_| ApiError::internal(&"stored credential id is not base64url"))
}

fn view(passkey: Passkey) -> Result<PasskeyView, ApiError> {
    Ok(PasskeyView {
        credential_id: B64(credential_bytes(&passkey)?),
        label: passkey.label,
        sealed_identity: B64(passkey.sealed_identity),
        created_at: passkey.created_at.as_ms(),
    })
}

pub(super) async fn list(
    State(state): State<AppState>,
    session: MemberSession,
) -> Result<Json<PasskeyList>, ApiError> {
    let passkeys = passkeys::list(&state.ctx, session.member)
        .await?
        .into_iter()
        .map(view)
        .collect::<Result<_, _>>()?;
    Ok(Json(PasskeyList { passkeys }))
}

pub(super) async fn add(
    State(state): State<AppState>,
    session: MemberSession,
    ApiJson(body): ApiJson<AddPasskey>,
) -> Result<(StatusCode, Json<PasskeyView>), ApiError> {
    let passkey = passkeys::add(&state.ctx, session.member, body).await?;
    Ok((StatusCode::CREATED, Json(view(passkey)?)))
}

pub(super) async fn remove(
    State(state): State<AppState>,
    session: MemberSession,
    ApiPath(credential_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    passkeys::remove(&state.ctx, &session.session, session.member, &credential_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn enroll_start(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(body): ApiJson<EnrollStart>,
) -> Result<Json<EnrollStarted>, ApiError> {
    let (handle, issued) = passkey_accounts::enroll_start(&state.ctx, client, &body.invite).await?;
    Ok(Json(EnrollStarted {
        handle,
        identity_challenge: B64(issued.challenge.as_bytes().to_vec()),
        registration_token: B64(issued.token),
    }))
}

pub(super) async fn enroll(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    RequestLanguage(language): RequestLanguage,
    ApiJson(body): ApiJson<EnrollPasskey>,
) -> Result<Response, ApiError> {
    let (member, token) = passkey_accounts::enroll(&state.ctx, client, body, language).await?;
    signed_in(&state, StatusCode::CREATED, &member, &token)
}

pub(super) async fn sign_in_start(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(body): ApiJson<PasskeyLoginStart>,
) -> Result<Json<PasskeyLoginStarted>, ApiError> {
    // A local way in: off with passwords, so that a site that signs its
    // members in itself keeps that door the only one.
    oidc::check_local_passwords(&state.ctx)?;
    let started = passkey_accounts::sign_in_start(&state.ctx, client, &body.handle).await?;
    let passkeys = started
        .passkeys
        .iter()
        .map(|p| {
            Ok(PasskeyCopy {
                credential_id: B64(credential_bytes(p)?),
                sealed_identity: B64(p.sealed_identity.clone()),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(PasskeyLoginStarted {
        login_id: started.login_id,
        identity_challenge: B64(started.challenge.as_bytes().to_vec()),
        identity_public: B64(started.identity_public),
        passkeys,
    }))
}

pub(super) async fn sign_in_finish(
    State(state): State<AppState>,
    RequestLanguage(language): RequestLanguage,
    ApiJson(body): ApiJson<PasskeyLoginFinish>,
) -> Result<Response, ApiError> {
    let (member, token) = passkey_accounts::sign_in_finish(
        &state.ctx,
        &body.login_id,
        &body.credential_id.0,
        &body.identity_proof.0,
        language,
    )
    .await?;
    signed_in(&state, StatusCode::OK, &member, &token)
}
