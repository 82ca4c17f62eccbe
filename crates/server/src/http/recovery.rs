//! Password recovery with the printed recovery key. At registration (or
//! later, from the settings) the client sends the private key sealed under
//! the recovery key's KEK and a proof derived from the recovery key; the
//! server keeps the sealed key and SHA-256 of the proof. A member who lost
//! his password proves the recovery key, gets the sealed key back, and sets
//! a new password with the same private key: no message is lost.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::extract::{ApiJson, ClientIp, MemberSession, B64};
use super::members::{
    check_sealed_identity, password_file, registration_response, require_recent_sign_in,
};
use super::validate::handle;
use super::AppState;
use crate::store::Member;

/// What the server keeps of a recovery key.
pub(super) struct StoredRecovery {
    /// The private key sealed under the recovery key's KEK.
    pub sealed: Vec<u8>,
    /// SHA-256 of the proof.
    pub verifier: Vec<u8>,
}

/// Checks a recovery pair from a client: both or neither.
pub(super) fn check_recovery(
    sealed: Option<B64>,
    proof: Option<B64>,
) -> Result<Option<StoredRecovery>, ApiError> {
    match (sealed, proof) {
        (None, None) => Ok(None),
        (Some(sealed), Some(proof)) => stored_recovery(sealed, proof).map(Some),
        _ => Err(ApiError::invalid(
            "invalid_recovery",
            "Send recovery_sealed_identity and recovery_proof together, or neither.",
        )),
    }
}

/// What to store of a recovery pair: the sealed identity must have the
/// right shape and the proof 32 bytes; only the proof's hash is kept.
fn stored_recovery(sealed: B64, proof: B64) -> Result<StoredRecovery, ApiError> {
    check_sealed_identity(&sealed)?;
    if proof.0.len() != 32 {
        return Err(ApiError::invalid(
            "invalid_recovery_proof",
            "A recovery proof is 32 bytes.",
        ));
    }
    Ok(StoredRecovery {
        sealed: sealed.0,
        verifier: Sha256::digest(&proof.0).to_vec(),
    })
}

fn recovery_failed() -> ApiError {
    ApiError::forbidden(
        "recovery_failed",
        "This recovery key does not belong to this handle (or the account has none).",
    )
}

/// The member whose recovery verifier the proof matches. An unknown handle
/// and a wrong key get the same answer.
async fn member_by_proof(
    state: &AppState,
    handle_text: &str,
    proof: &B64,
) -> Result<Member, ApiError> {
    let handle = handle(handle_text)?;
    let member = state.store.member_by_handle(&handle).await?;
    let given = Sha256::digest(&proof.0).to_vec();
    match member {
        Some(m)
            if m.recovery
                .as_ref()
                .is_some_and(|r| r.verifier == given.as_slice()) =>
        {
            Ok(m)
        }
        _ => Err(recovery_failed()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RecoverStart {
    handle: String,
    recovery_proof: B64,
    /// OPAQUE registration request for the new password.
    request: B64,
}

#[derive(Serialize)]
pub(super) struct RecoverStarted {
    response: B64,
    identity_public: B64,
    recovery_sealed_identity: B64,
}

/// Step 1: prove the recovery key; get the OPAQUE response for the new
/// password and the private key sealed under the recovery key.
pub(super) async fn start(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<RecoverStart>,
) -> Result<Json<RecoverStarted>, ApiError> {
    state.limit_login(ip)?;
    let member = member_by_proof(&state, &body.handle, &body.recovery_proof).await?;
    let response = registration_response(&state, &body.request, &member.handle)?;
    Ok(Json(RecoverStarted {
        response: B64(response),
        identity_public: B64(member.identity_public),
        recovery_sealed_identity: B64(member
            .recovery
            .map(|r| r.sealed_identity)
            .unwrap_or_default()),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RecoverFinish {
    handle: String,
    recovery_proof: B64,
    upload: B64,
    /// The same private key, sealed under the new password's KEK.
    sealed_identity: B64,
}

/// Step 2: the new password file and the re-sealed key. Every session of
/// the member ends; he signs in with the new password.
pub(super) async fn finish(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<RecoverFinish>,
) -> Result<StatusCode, ApiError> {
    state.limit_login(ip)?;
    let member = member_by_proof(&state, &body.handle, &body.recovery_proof).await?;
    let file = password_file(&body.upload)?;
    check_sealed_identity(&body.sealed_identity)?;
    state
        .store
        .set_password(&member.id, file.as_bytes(), &body.sealed_identity.0, &[])
        .await?;
    tracing::info!(member = %member.id, "password reset with the recovery key");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewRecovery {
    recovery_sealed_identity: B64,
    recovery_proof: B64,
}

/// A new recovery key from the settings (the old one stops working). Needs
/// a recent sign-in, as a password change does.
pub(super) async fn replace(
    State(state): State<AppState>,
    session: MemberSession,
    ApiJson(body): ApiJson<NewRecovery>,
) -> Result<StatusCode, ApiError> {
    require_recent_sign_in(&session)?;
    let recovery = stored_recovery(body.recovery_sealed_identity, body.recovery_proof)?;
    state
        .store
        .set_recovery(&session.member_id, &recovery.sealed, &recovery.verifier)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
