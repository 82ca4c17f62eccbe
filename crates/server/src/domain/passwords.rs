//! OPAQUE and the sealed identity: the checks registration, password change
//! and recovery share. The server never sees a password; it answers OPAQUE
//! messages and stores a password file and a key sealed by the client.

use latchkey_api::ErrorCode;
use latchkey_core::opaque::{
    server_registration_finish, server_registration_response, PasswordFile,
};
use latchkey_core::SealedIdentity;

use super::{Context, DomainError};
use crate::store::{Session, Timestamp};

/// A password change or a new recovery key needs a sign-in this recent: a
/// stolen session cookie alone must not be able to replace the password
/// (and with it, through a garbage sealed key, destroy the member's private
/// key).
const REAUTH_WINDOW_MS: i64 = 5 * 60 * 1000;

fn invalid_opaque(e: latchkey_core::Error) -> DomainError {
    DomainError::new(ErrorCode::InvalidOpaqueMessage, e.to_string())
}

/// The OPAQUE registration response for `handle` (registration, password
/// change and recovery all answer the same way).
pub(crate) fn registration_response(
    ctx: &Context,
    request: &[u8],
    handle: &str,
) -> Result<Vec<u8>, DomainError> {
    server_registration_response(&ctx.keys.opaque, request, handle.as_bytes())
        .map_err(invalid_opaque)
}

/// The password file a client's OPAQUE registration upload makes.
pub(crate) fn password_file(upload: &[u8]) -> Result<PasswordFile, DomainError> {
    server_registration_finish(upload).map_err(invalid_opaque)
}

/// Refuses bytes that are not a sealed identity.
pub(crate) fn check_sealed_identity(sealed: &[u8]) -> Result<(), DomainError> {
    SealedIdentity::from_bytes(sealed.to_vec())
        .map(|_| ())
        .map_err(|e| DomainError::new(ErrorCode::InvalidSealedIdentity, e.to_string()))
}

/// Refuses a session whose sign-in is older than five minutes.
pub(crate) fn require_recent_sign_in(session: &Session) -> Result<(), DomainError> {
    if Timestamp::now()
        .as_ms()
        .saturating_sub(session.created_at.as_ms())
        <= REAUTH_WINDOW_MS
    {
        Ok(())
    } else {
        Err(DomainError::new(
            ErrorCode::ReauthenticationRequired,
            "Sign in again with your current password, then change it within five minutes.",
        ))
    }
}
