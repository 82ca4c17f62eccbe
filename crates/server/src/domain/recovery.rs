//! Password recovery with the printed recovery key. At registration (or
//! later, from the settings) the client sends the private key sealed under
//! the recovery key's KEK and a proof derived from the recovery key; the
//! server keeps the sealed key and SHA-256 of the proof. A member who lost
//! his password proves the recovery key, gets the sealed key back, and sets
//! a new password with the same private key: no message is lost.

use latchkey_api::{ErrorCode, Handle, B64};
use sha2::{Digest, Sha256};

use super::passwords::{
    check_sealed_identity, password_file, registration_response, require_recent_sign_in,
};
use super::{ClientKey, Context, DomainError};
use crate::store::{Member, MemberId, MemberRecovery, Session};

/// What to store of a recovery pair from a client: both or neither.
pub(crate) fn checked_recovery(
    sealed: Option<B64>,
    proof: Option<B64>,
) -> Result<Option<MemberRecovery>, DomainError> {
    match (sealed, proof) {
        (None, None) => Ok(None),
        (Some(sealed), Some(proof)) => stored(sealed, proof).map(Some),
        _ => Err(DomainError::new(
            ErrorCode::InvalidRecovery,
            "Send recovery_sealed_identity and recovery_proof together, or neither.",
        )),
    }
}

/// The sealed identity must have its shape and the proof 32 bytes; only the
/// proof's hash is kept.
pub(crate) fn stored(sealed: B64, proof: B64) -> Result<MemberRecovery, DomainError> {
    check_sealed_identity(&sealed.0)?;
    if proof.0.len() != 32 {
        return Err(DomainError::new(
            ErrorCode::InvalidRecoveryProof,
            "A recovery proof is 32 bytes.",
        ));
    }
    Ok(MemberRecovery {
        sealed_identity: sealed.0,
        verifier: Sha256::digest(&proof.0).to_vec(),
    })
}

fn recovery_failed() -> DomainError {
    DomainError::new(
        ErrorCode::RecoveryFailed,
        "This recovery key does not belong to this handle (or the account has none).",
    )
}

/// The member whose recovery verifier the proof matches, with his recovery
/// part. An unknown handle and a wrong key get the same answer.
async fn member_by_proof(
    ctx: &Context,
    handle: &Handle,
    proof: &[u8],
) -> Result<(Member, MemberRecovery), DomainError> {
    let member = ctx.store.member_by_handle(handle).await?;
    let given = Sha256::digest(proof).to_vec();
    match member {
        Some(mut m) => match m.recovery.take() {
            Some(r) if r.verifier == given => Ok((m, r)),
            _ => Err(recovery_failed()),
        },
        None => Err(recovery_failed()),
    }
}

/// What the member's client needs to set a new password.
#[derive(Debug)]
pub struct RecoveryStarted {
    /// The OPAQUE registration response for the new password.
    pub response: Vec<u8>,
    /// The member's public key.
    pub identity_public: Vec<u8>,
    /// The private key sealed under the recovery key's KEK.
    pub recovery_sealed_identity: Vec<u8>,
}

/// Step 1: prove the recovery key; get the OPAQUE response for the new
/// password and the private key sealed under the recovery key.
pub async fn start(
    ctx: &Context,
    client: ClientKey,
    handle: &Handle,
    proof: &[u8],
    request: &[u8],
) -> Result<RecoveryStarted, DomainError> {
    ctx.spend(ctx.login_budget(), &client.bytes()).await?;
    let (member, recovery) = member_by_proof(ctx, handle, proof).await?;
    Ok(RecoveryStarted {
        response: registration_response(ctx, request, member.handle.as_str())?,
        identity_public: member.identity_public,
        recovery_sealed_identity: recovery.sealed_identity,
    })
}

/// Step 2: the new password file and the re-sealed key. Every session of
/// the member ends; he signs in with the new password.
pub async fn finish(
    ctx: &Context,
    client: ClientKey,
    handle: &Handle,
    proof: &[u8],
    upload: &[u8],
    sealed_identity: &[u8],
) -> Result<(), DomainError> {
    ctx.spend(ctx.login_budget(), &client.bytes()).await?;
    let (member, _) = member_by_proof(ctx, handle, proof).await?;
    let file = password_file(upload)?;
    check_sealed_identity(sealed_identity)?;
    ctx.store
        .set_password(&member.id, file.as_bytes(), sealed_identity, &[])
        .await?;
    tracing::info!(member = %member.id, "password reset with the recovery key");
    Ok(())
}

/// A new recovery key from the settings (the old one stops working). Needs
/// a recent sign-in, as a password change does.
pub async fn replace(
    ctx: &Context,
    session: &Session,
    member: MemberId,
    sealed: B64,
    proof: B64,
) -> Result<(), DomainError> {
    require_recent_sign_in(session)?;
    let recovery = stored(sealed, proof)?;
    ctx.store
        .set_recovery(&member, &recovery.sealed_identity, &recovery.verifier)
        .await?;
    Ok(())
}
