//! Members whose key a passkey guards (docs/protocol.md §4.9.2): an
//! invited member sets up his key with a passkey instead of a password,
//! and a member with a passkey signs in with it.
//!
//! The server checks no WebAuthn signature. A passkey sign-in proves
//! instead what the passkey protects: the identity key. The browser opens
//! the passkey's sealed copy with the KEK its PRF output gives and answers
//! a one-time X25519 challenge with the identity proof of §4.2.1. Only the
//! holder of the authenticator (or of the key itself, who can read every
//! message anyway) can do that. The challenge's secret is parked in
//! `login_attempts`, sealed under the registration-state key: a password
//! login's attempt (sealed under the login-state key) does not open as
//! this one, nor this one as a password login's, and each attempt is taken
//! once.

use latchkey_api::{EnrollPasskey, ErrorCode, Handle, LoginId};
use latchkey_core::{
    IdentityChallenge, IdentityChallengePublic, IdentityProof, IdentityPublic, OsRng,
};

use super::accounts::{
    check_enabled, login_failed, seal_member_email, sign_in, spend_sign_in_budgets,
};
use super::identity_proofs::{self, IdentityChallengeIssued};
use super::recovery::stored;
use super::sessions::{self, SessionToken};
use super::{invites, passkeys, ClientKey, Context, DomainError};
use crate::i18n::Language;
use crate::random::random_hex;
use crate::store::{Member, Passkey, SessionOwner, Timestamp};

/// How long the browser has between the two sign-in requests: one touch
/// of the authenticator.
const SIGN_IN_WINDOW_MS: i64 = 60_000;

/// Step 1 of enrollment with a passkey: the invited handle and a
/// challenge for the new identity key (registration's, without OPAQUE).
pub async fn enroll_start(
    ctx: &Context,
    client: ClientKey,
    invite: &str,
) -> Result<(Handle, IdentityChallengeIssued), DomainError> {
    ctx.spend(ctx.login_budget(), &client.bytes()).await?;
    let invite = invites::live(ctx, invite, None).await?;
    let issued = identity_proofs::issue(ctx, &invite.handle)?;
    Ok((invite.handle, issued))
}

/// Step 2: checks the proof of the identity key and stores the member with
/// his passkey and recovery key and no password; the invitation is used
/// up and he is signed in.
pub async fn enroll(
    ctx: &Context,
    client: ClientKey,
    input: EnrollPasskey,
    language: Language,
) -> Result<(Member, SessionToken), DomainError> {
    ctx.spend(ctx.login_budget(), &client.bytes()).await?;
    let invite = invites::live(ctx, &input.invite, None).await?;
    let identity = IdentityPublic::from_slice(&input.identity_public.0)
        .map_err(|e| DomainError::new(ErrorCode::InvalidPublicKey, e.to_string()))?;
    identity_proofs::check(
        ctx,
        &invite.handle,
        &input.registration_token.0,
        &identity,
        &input.identity_proof.0,
    )?;
    let passkey = passkeys::checked(input.passkey)?;
    // Required: with no password, the recovery key is the way back when
    // every passkey is lost.
    let recovery = stored(input.recovery_sealed_identity, input.recovery_proof)?;
    let member = Member {
        email_sealed: seal_member_email(ctx, &invite.member_id, &input.email),
        id: invite.member_id,
        handle: invite.handle,
        display_name: input.display_name,
        password: None,
        identity_public: input.identity_public.0,
        created_at: Timestamp::now(),
        recovery: Some(recovery),
        language,
    };
    let token_hash = invites::token_hash(&input.invite);
    if !ctx
        .store
        .enroll(&member, Some(&passkey), &token_hash, Timestamp::now())
        .await?
    {
        return Err(invites::invalid());
    }
    tracing::info!(member = %member.id, "invited member enrolled with a passkey");
    let token = sessions::open(ctx, SessionOwner::Member(member.id)).await?;
    Ok((member, token))
}

/// What step 1 of a passkey sign-in answers.
#[derive(Debug)]
pub struct PasskeySignIn {
    /// Names the attempt in step 2.
    pub login_id: LoginId,
    /// `E`, to prove the identity key against.
    pub challenge: IdentityChallengePublic,
    /// The member's public key, which the opened copy must match.
    pub identity_public: Vec<u8>,
    /// His passkeys with their sealed copies.
    pub passkeys: Vec<Passkey>,
}

fn no_passkey() -> DomainError {
    DomainError::new(
        ErrorCode::NoPasskey,
        "No passkey is set up for this handle here. Sign in with your password or the site's account.",
    )
}

/// The sealing context of an attempt's challenge: what it is for, its id
/// and the handle.
fn attempt_context(id: &str, handle: &Handle) -> Vec<u8> {
    [
        b"passkey sign-in\0".as_slice(),
        id.as_bytes(),
        b"\0",
        handle.as_str().as_bytes(),
    ]
    .concat()
}

/// Step 1 of a passkey sign-in. Handles are public (contact pages), so
/// an unknown one may say so: `no_passkey`, as for a member without one.
pub async fn sign_in_start(
    ctx: &Context,
    client: ClientKey,
    handle: &Handle,
) -> Result<PasskeySignIn, DomainError> {
    spend_sign_in_budgets(ctx, client, handle).await?;
    let member = ctx
        .store
        .member_by_handle(handle)
        .await?
        .ok_or_else(no_passkey)?;
    check_enabled(ctx, &member).await?;
    let passkeys = ctx.store.passkeys_of(&member.id).await?;
    if passkeys.is_empty() {
        return Err(no_passkey());
    }
    let id = random_hex();
    let challenge = IdentityChallenge::generate(&mut OsRng);
    let sealed = challenge
        .seal(
            &mut OsRng,
            &ctx.keys.registration_state,
            &attempt_context(&id, handle),
        )
        .map_err(|e| DomainError::internal(&e))?;
    ctx.store
        .put_login_attempt(
            &id,
            handle.as_str(),
            &sealed,
            Timestamp::now().plus_ms(SIGN_IN_WINDOW_MS),
        )
        .await?;
    let login_id = LoginId::parse(&id).ok_or_else(|| DomainError::internal(&"login id"))?;
    Ok(PasskeySignIn {
        login_id,
        challenge: challenge.public(),
        identity_public: member.identity_public,
        passkeys,
    })
}

/// Step 2: the passkey must still be the member's and the proof must show
/// his identity key against this attempt's challenge. Every failure is the
/// one `login_failed`.
pub async fn sign_in_finish(
    ctx: &Context,
    login_id: &LoginId,
    credential_id: &[u8],
    proof: &[u8],
    language: Language,
) -> Result<(Member, SessionToken), DomainError> {
    let (handle, sealed) = ctx
        .store
        .take_login_attempt(login_id.as_str(), Timestamp::now())
        .await?
        .ok_or_else(login_failed)?;
    let handle = Handle::parse(&handle).map_err(|_| login_failed())?;
    let challenge = IdentityChallenge::open(
        &ctx.keys.registration_state,
        &attempt_context(login_id.as_str(), &handle),
        &sealed,
    )
    .map_err(|_| login_failed())?;
    let member = ctx
        .store
        .member_by_handle(&handle)
        .await?
        .ok_or_else(login_failed)?;
    let credential = passkeys::credential_text(credential_id);
    let his = ctx
        .store
        .passkeys_of(&member.id)
        .await?
        .iter()
        .any(|p| p.credential_id == credential);
    if !his {
        return Err(login_failed());
    }
    let identity = IdentityPublic::from_slice(&member.identity_public)
        .map_err(|e| DomainError::internal(&e))?;
    let proof = IdentityProof::from_slice(proof).map_err(|_| login_failed())?;
    challenge
        .verify(&identity, handle.as_str(), &proof)
        .map_err(|_| login_failed())?;
    sign_in(ctx, member, language, "passkey").await
}
