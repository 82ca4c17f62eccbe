//! Registration's proof that the registrant holds his identity key
//! (docs/protocol.md §4.2.1), and the token that carries the server's
//! challenge from step 1 to step 2 without a table.
//!
//! The token is `sealed challenge (73) || expires_at_ms (u64, 8)`; the
//! challenge is sealed under the registration-state key with the context
//! `expires_at_ms || handle`, so a token altered in its expiry, presented
//! for another handle, made by another server or made up does not open.
//!
//! A token is not single-use, and need not be: the proof is bound to the
//! token's challenge, the key and the handle; a replay can only register
//! that handle with that key again, which the unique handle and the unique
//! identity key both refuse (409). Within its 10 minutes a token gives its
//! holder nothing that step 1 does not give anyone.

use latchkey_api::{ErrorCode, Handle};
use latchkey_core::{
    Error as CoreError, IdentityChallenge, IdentityChallengePublic, IdentityProof, IdentityPublic,
    OsRng,
};

use super::{Context, DomainError};
use crate::store::Timestamp;

/// How long the client has between step 1 and step 2: Argon2id, key
/// generation and a person filling a form fit in it easily.
const REGISTRATION_WINDOW_MS: i64 = 10 * 60 * 1000;

const EXPIRY_LEN: usize = 8;

/// What step 1 gives the client for step 2.
#[derive(Debug)]
pub struct IdentityChallengeIssued {
    /// `E`, to prove against.
    pub challenge: IdentityChallengePublic,
    /// The sealed challenge and its expiry, to pass back unchanged.
    pub token: Vec<u8>,
}

/// The sealing context: the expiry (fixed length) first, the handle last.
fn context(expires_at: u64, handle: &Handle) -> Vec<u8> {
    let mut context = expires_at.to_be_bytes().to_vec();
    context.extend_from_slice(handle.as_str().as_bytes());
    context
}

/// A fresh challenge for a registration of `handle`, and its token.
pub(crate) fn issue(
    ctx: &Context,
    handle: &Handle,
) -> Result<IdentityChallengeIssued, DomainError> {
    let expires_at = u64::try_from(Timestamp::now().plus_ms(REGISTRATION_WINDOW_MS).as_ms())
        .map_err(|_| DomainError::internal(&"the clock is before 1970"))?;
    let challenge = IdentityChallenge::generate(&mut OsRng);
    let mut token = challenge
        .seal(
            &mut OsRng,
            &ctx.keys.registration_state,
            &context(expires_at, handle),
        )
        .map_err(|e| DomainError::internal(&e))?;
    token.extend_from_slice(&expires_at.to_be_bytes());
    Ok(IdentityChallengeIssued {
        challenge: challenge.public(),
        token,
    })
}

fn invalid_token() -> DomainError {
    DomainError::new(
        ErrorCode::InvalidRegistrationToken,
        "This registration token is not one this server gave for this handle. Start the registration again.",
    )
}

/// Checks that `token` is this server's, for `handle`, not expired, and
/// that `proof` proves `identity` against its challenge.
pub(crate) fn check(
    ctx: &Context,
    handle: &Handle,
    token: &[u8],
    identity: &IdentityPublic,
    proof: &[u8],
) -> Result<(), DomainError> {
    if token.len() != IdentityChallenge::SEALED_LEN + EXPIRY_LEN {
        return Err(invalid_token());
    }
    let (sealed, expiry) = token.split_at(IdentityChallenge::SEALED_LEN);
    let expires_at = u64::from_be_bytes(expiry.try_into().map_err(|_| invalid_token())?);
    // Opened before the expiry is believed: the expiry is authenticated as
    // part of the context.
    let challenge = IdentityChallenge::open(
        &ctx.keys.registration_state,
        &context(expires_at, handle),
        sealed,
    )
    .map_err(|_| invalid_token())?;
    let now = u64::try_from(Timestamp::now().as_ms()).unwrap_or(0);
    if now > expires_at {
        return Err(DomainError::new(
            ErrorCode::RegistrationExpired,
            "More than 10 minutes passed since the registration started. Start again.",
        ));
    }
    let invalid_proof = || {
        DomainError::new(
            ErrorCode::InvalidIdentityProof,
            "The identity proof does not show that this registration holds the identity key's private half.",
        )
    };
    let proof = IdentityProof::from_slice(proof).map_err(|_| invalid_proof())?;
    challenge
        .verify(identity, handle.as_str(), &proof)
        .map_err(|e| match e {
            // A low-order key: anyone could "prove" it, and nobody can
            // encrypt to it.
            CoreError::Malformed { .. } => {
                DomainError::new(ErrorCode::InvalidPublicKey, e.to_string())
            }
            _ => invalid_proof(),
        })
}
