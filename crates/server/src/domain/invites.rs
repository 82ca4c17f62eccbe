//! Invitations: the one-time enrollment link the site's backend has made
//! for a member-to-be. Its token is 32 random bytes in the link's fragment;
//! the database keeps its SHA-256. Registration takes the token in place of
//! a registration code, for the invited handle only.

use latchkey_api::{ErrorCode, Handle};
use sha2::{Digest, Sha256};

use super::{Context, DomainError};
use crate::store::{Invite, Timestamp};

/// How long an enrollment link works.
pub const INVITE_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// SHA-256 of an enrollment token, as stored.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// What a dead, unknown or mistyped enrollment link answers.
pub fn invalid() -> DomainError {
    DomainError::new(
        ErrorCode::InvalidInvite,
        "This enrollment link is not known here, was used, or expired. Ask the site for a new invitation.",
    )
}

/// The live invitation `token` names; with `handle`, only if it is his.
pub async fn live(
    ctx: &Context,
    token: &str,
    handle: Option<&Handle>,
) -> Result<Invite, DomainError> {
    let invite = ctx
        .store
        .invite_by_token(&token_hash(token), Timestamp::now())
        .await?
        .ok_or_else(invalid)?;
    match handle {
        Some(handle) if *handle != invite.handle => Err(invalid()),
        _ => Ok(invite),
    }
}

/// Registration without an invitation may not take a handle a live
/// invitation reserves.
pub async fn check_not_reserved(ctx: &Context, handle: &Handle) -> Result<(), DomainError> {
    match ctx.store.invite_by_handle(handle, Timestamp::now()).await? {
        Some(_) => Err(DomainError::new(
            ErrorCode::HandleTaken,
            "This handle is taken. Choose another.",
        )),
        None => Ok(()),
    }
}
