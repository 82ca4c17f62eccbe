//! Members: OPAQUE registration and login (the server never sees a
//! password), sessions, profile, password change, and the public profile a
//! contact page shows.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use latchkey_core::opaque::{
    server_registration_finish, server_registration_response, PasswordFile, ServerLogin,
};
use latchkey_core::{IdentityPublic, OsRng, SealedIdentity};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::extract::{
    set_cookie, token_hash, ApiJson, ApiPath, ClientIp, MemberSession, SessionCookies, SessionKind,
    B64,
};
use super::validate::{display_name, email, handle};
use super::AppState;
use crate::random::{random_hex, random_token};
use crate::store::{Member, MemberId, MemberRecovery, SessionOwner, Timestamp};
use crate::time::{now_ms, secs_ms};

/// The OPAQUE registration response for `handle` (registration, password
/// change and recovery all answer the same way).
pub(super) fn registration_response(
    state: &AppState,
    request: &B64,
    handle: &str,
) -> Result<Vec<u8>, ApiError> {
    server_registration_response(&state.keys.opaque, &request.0, handle.as_bytes())
        .map_err(|e| ApiError::invalid("invalid_opaque_message", e.to_string()))
}

/// The password file a client's OPAQUE registration upload makes.
pub(super) fn password_file(upload: &B64) -> Result<PasswordFile, ApiError> {
    server_registration_finish(&upload.0)
        .map_err(|e| ApiError::invalid("invalid_opaque_message", e.to_string()))
}

/// Refuses bytes that are not a sealed identity.
pub(super) fn check_sealed_identity(sealed: &B64) -> Result<(), ApiError> {
    SealedIdentity::from_bytes(sealed.0.clone())
        .map(|_| ())
        .map_err(|e| ApiError::invalid("invalid_sealed_identity", e.to_string()))
}

/// How long the server waits between the two login requests.
const LOGIN_WINDOW_MS: i64 = 60_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RegisterStart {
    handle: String,
    request: B64,
    registration_code: Option<String>,
}

#[derive(Serialize)]
pub(super) struct OpaqueResponse {
    response: B64,
}

/// With a configured registration code, only those who have it register.
fn check_registration_code(state: &AppState, given: Option<&str>) -> Result<(), ApiError> {
    let Some(code) = &state.config.registration_code else {
        return Ok(());
    };
    // Compared as digests: equal-length, and no early exit on the secret.
    let digest = |text: &str| Sha256::digest(text.as_bytes());
    if given.is_some_and(|g| digest(g) == digest(code.expose())) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "registration_closed",
            "Registering here needs a registration code from the site's operator.",
        ))
    }
}

/// Step 1 of registration: the OPAQUE response to the blinded password.
pub(super) async fn register_start(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<RegisterStart>,
) -> Result<Json<OpaqueResponse>, ApiError> {
    state.limit_login(ip)?;
    check_registration_code(&state, body.registration_code.as_deref())?;
    let handle = handle(&body.handle)?;
    let response = registration_response(&state, &body.request, &handle)?;
    Ok(Json(OpaqueResponse {
        response: B64(response),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RegisterFinish {
    registration_code: Option<String>,
    handle: String,
    display_name: String,
    email: String,
    upload: B64,
    identity_public: B64,
    sealed_identity: B64,
    /// The private key sealed under the recovery key's KEK (with the proof).
    recovery_sealed_identity: Option<B64>,
    /// `RecoveryKey::proof()`; the server keeps its SHA-256.
    recovery_proof: Option<B64>,
}

/// What a member sees of himself; the sealed identity only he can open.
#[derive(Serialize)]
pub(super) struct MemberView {
    handle: String,
    display_name: String,
    identity_public: B64,
    fingerprint: String,
    sealed_identity: B64,
}

impl MemberView {
    fn of(member: &Member) -> MemberView {
        MemberView {
            handle: member.handle.clone(),
            display_name: member.display_name.clone(),
            identity_public: B64(member.identity_public.clone()),
            fingerprint: fingerprint(&member.identity_public),
            sealed_identity: B64(member.sealed_identity.clone()),
        }
    }
}

fn fingerprint(public: &[u8]) -> String {
    IdentityPublic::from_slice(public)
        .map(|p| p.fingerprint().to_string())
        .unwrap_or_default()
}

/// Step 2 of registration: store the password file, the public key and the
/// sealed private key; the member is signed in.
pub(super) async fn register_finish(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<RegisterFinish>,
) -> Result<Response, ApiError> {
    state.limit_login(ip)?;
    check_registration_code(&state, body.registration_code.as_deref())?;
    let handle = handle(&body.handle)?;
    let display_name = display_name(&body.display_name)?;
    let email = email(&body.email)?;
    let password_file = password_file(&body.upload)?;
    IdentityPublic::from_slice(&body.identity_public.0)
        .map_err(|e| ApiError::invalid("invalid_public_key", e.to_string()))?;
    check_sealed_identity(&body.sealed_identity)?;
    let recovery =
        super::recovery::check_recovery(body.recovery_sealed_identity, body.recovery_proof)?;
    let id = MemberId::generate();
    let member = Member {
        recovery: recovery.map(|r| MemberRecovery {
            sealed_identity: r.sealed,
            verifier: r.verifier,
        }),
        // The sealing context is the id's hex text.
        email_sealed: state.keys.member_email.seal(
            &mut OsRng,
            id.to_hex().as_bytes(),
            email.as_bytes(),
        ),
        id,
        handle,
        display_name,
        password_file: password_file.as_bytes().to_vec(),
        identity_public: body.identity_public.0,
        sealed_identity: body.sealed_identity.0,
        created_at: Timestamp::now(),
    };
    state.store.create_member(&member).await?;
    tracing::info!(member = %member.id, "member registered");
    let cookie = start_member_session(&state, &member.id).await?;
    Ok((
        StatusCode::CREATED,
        AppendHeaders([(header::SET_COOKIE, cookie)]),
        Json(MemberView::of(&member)),
    )
        .into_response())
}

async fn start_member_session(state: &AppState, member_id: &MemberId) -> Result<String, ApiError> {
    let token = random_token();
    let sessions = &state.config.sessions;
    state
        .store
        .create_session(
            &token_hash(&token),
            &SessionOwner::Member(*member_id),
            Timestamp::now(),
            secs_ms(sessions.member_idle.as_secs()),
            secs_ms(sessions.member_absolute.as_secs()),
        )
        .await?;
    Ok(set_cookie(state, SessionKind::Member, Some(&token)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginStart {
    handle: String,
    request: B64,
}

#[derive(Serialize)]
pub(super) struct LoginStarted {
    login_id: String,
    response: B64,
}

/// Step 1 of login. An unknown handle gets an answer indistinguishable from
/// a real one; the login then fails at step 2 as for a wrong password.
pub(super) async fn login_start(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<LoginStart>,
) -> Result<Json<LoginStarted>, ApiError> {
    state.limit_login(ip)?;
    let handle = handle(&body.handle)?;
    let member = state.store.member_by_handle(&handle).await?;
    let file = member
        .as_ref()
        .map(|m| PasswordFile::from_bytes(m.password_file.clone()))
        .transpose()
        .map_err(|e| ApiError::internal(&e))?;
    let (server_login, response) = ServerLogin::start(
        &mut OsRng,
        &state.keys.opaque,
        file.as_ref(),
        &body.request.0,
        handle.as_bytes(),
    )
    .map_err(|e| ApiError::invalid("invalid_opaque_message", e.to_string()))?;
    let login_id = random_hex();
    let sealed = state.keys.login_state.seal(
        &mut OsRng,
        login_id.as_bytes(),
        &server_login.expose_state(),
    );
    state
        .store
        .put_login_attempt(
            &login_id,
            &handle,
            &sealed,
            Timestamp::now().plus_ms(LOGIN_WINDOW_MS),
        )
        .await?;
    Ok(Json(LoginStarted {
        login_id,
        response: B64(response),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginFinish {
    login_id: String,
    finalization: B64,
}

fn login_failed() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "login_failed",
        "Wrong handle or password, or the login took too long. Try again.",
    )
}

/// Step 2 of login: check the client's proof, open a session, hand over
/// the sealed private key.
pub(super) async fn login_finish(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LoginFinish>,
) -> Result<Response, ApiError> {
    let (handle, sealed) = state
        .store
        .take_login_attempt(&body.login_id, Timestamp::now())
        .await?
        .ok_or_else(login_failed)?;
    let server_state = state
        .keys
        .login_state
        .open(body.login_id.as_bytes(), &sealed)
        .map_err(|e| ApiError::internal(&e))?;
    let server_login =
        ServerLogin::from_state(&server_state).map_err(|e| ApiError::internal(&e))?;
    server_login
        .finish(&body.finalization.0)
        .map_err(|_| login_failed())?;
    let member = state
        .store
        .member_by_handle(&handle)
        .await?
        .ok_or_else(login_failed)?;
    tracing::info!(member = %member.id, "member signed in");
    let cookie = start_member_session(&state, &member.id).await?;
    Ok((
        AppendHeaders([(header::SET_COOKIE, cookie)]),
        Json(MemberView::of(&member)),
    )
        .into_response())
}

/// Signs out: ends the member and the guest session the request carries
/// (a guest on a shared computer needs this too), and clears both cookies.
pub(super) async fn logout(
    State(state): State<AppState>,
    cookies: SessionCookies,
) -> Result<Response, ApiError> {
    for hash in &cookies.token_hashes {
        state.store.delete_session(hash).await?;
    }
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

/// A password change needs a sign-in this recent: a stolen session cookie
/// alone must not be able to replace the password (and with it, through a
/// garbage sealed key, destroy the member's private key).
const REAUTH_WINDOW_MS: i64 = 5 * 60 * 1000;

pub(super) fn require_recent_sign_in(session: &MemberSession) -> Result<(), ApiError> {
    if now_ms().saturating_sub(session.created_at) <= REAUTH_WINDOW_MS {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "reauthentication_required",
            "Sign in again with your current password, then change it within five minutes.",
        ))
    }
}

async fn load_member(state: &AppState, session: &MemberSession) -> Result<Member, ApiError> {
    state
        .store
        .member_by_id(&session.member_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("This account no longer exists."))
}

/// The signed-in member.
pub(super) async fn me(
    State(state): State<AppState>,
    session: MemberSession,
) -> Result<Json<MemberView>, ApiError> {
    Ok(Json(MemberView::of(&load_member(&state, &session).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProfileUpdate {
    display_name: String,
}

/// Changes the display name.
pub(super) async fn update_me(
    State(state): State<AppState>,
    session: MemberSession,
    ApiJson(body): ApiJson<ProfileUpdate>,
) -> Result<Json<MemberView>, ApiError> {
    let name = display_name(&body.display_name)?;
    state
        .store
        .set_display_name(&session.member_id, &name)
        .await?;
    Ok(Json(MemberView::of(&load_member(&state, &session).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordStart {
    request: B64,
}

/// Step 1 of a password change: as registration, for the signed-in member.
pub(super) async fn password_start(
    State(state): State<AppState>,
    session: MemberSession,
    ApiJson(body): ApiJson<PasswordStart>,
) -> Result<Json<OpaqueResponse>, ApiError> {
    require_recent_sign_in(&session)?;
    let member = load_member(&state, &session).await?;
    let response = registration_response(&state, &body.request, &member.handle)?;
    Ok(Json(OpaqueResponse {
        response: B64(response),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordFinish {
    upload: B64,
    sealed_identity: B64,
}

/// Step 2 of a password change: the new password file and the private key
/// re-sealed under the new KEK, together. Other sessions end.
pub(super) async fn password_finish(
    State(state): State<AppState>,
    session: MemberSession,
    ApiJson(body): ApiJson<PasswordFinish>,
) -> Result<StatusCode, ApiError> {
    require_recent_sign_in(&session)?;
    let file = password_file(&body.upload)?;
    check_sealed_identity(&body.sealed_identity)?;
    state
        .store
        .set_password(
            &session.member_id,
            file.as_bytes(),
            &body.sealed_identity.0,
            &session.token_hash,
        )
        .await?;
    tracing::info!(member = %session.member_id, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

/// What a contact page shows of a member.
#[derive(Serialize)]
pub(super) struct PublicMember {
    handle: String,
    display_name: String,
    identity_public: B64,
    fingerprint: String,
}

impl PublicMember {
    pub(super) fn of(member: &Member) -> PublicMember {
        PublicMember {
            handle: member.handle.clone(),
            display_name: member.display_name.clone(),
            identity_public: B64(member.identity_public.clone()),
            fingerprint: fingerprint(&member.identity_public),
        }
    }
}

/// A member's public key and fingerprint, for his contact page.
pub(super) async fn public_member(
    State(state): State<AppState>,
    ApiPath(handle_text): ApiPath<String>,
) -> Result<Json<PublicMember>, ApiError> {
    let handle = handle(&handle_text)?;
    let member = state
        .store
        .member_by_handle(&handle)
        .await?
        .ok_or_else(|| ApiError::not_found("unknown_member", "No member has this handle."))?;
    Ok(Json(PublicMember::of(&member)))
}
