//! Sessions: the cookie holds a random token, the database its SHA-256.
//! A member's session spans his conversations; a guest's opens one.

use latchkey_api::ErrorCode;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{ms, Context, DomainError};
use crate::random::random_token;
use crate::store::{Session, SessionOwner, Timestamp};

/// A new session's token: the cookie value. Shown to the client once, never
/// stored or logged.
pub struct SessionToken(Zeroizing<String>);

impl SessionToken {
    /// The token, for the `Set-Cookie` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

/// The two kinds of session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// A member's.
    Member,
    /// A guest's, for one conversation.
    Guest,
}

/// SHA-256 of a session token, as stored.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Opens a session for `owner`, with the life times its kind has.
pub async fn open(ctx: &Context, owner: SessionOwner) -> Result<SessionToken, DomainError> {
    let sessions = &ctx.config.sessions;
    let (idle, absolute) = match owner {
        SessionOwner::Member(_) => (sessions.member_idle, sessions.member_absolute),
        SessionOwner::Guest(_) => (sessions.guest_idle, sessions.guest_absolute),
    };
    let token = SessionToken(Zeroizing::new(random_token()));
    let hash = token_hash(token.expose());
    ctx.store
        .create_session(&hash, &owner, Timestamp::now(), ms(idle), ms(absolute))
        .await?;
    // A member disabled after his sign-in was checked but before this
    // session existed would keep it: disabling ends only the sessions it
    // finds. Looking again once the session is stored closes that gap (a
    // disable from now on finds it).
    if let SessionOwner::Member(member) = &owner {
        if ctx.store.member_disabled(member).await? {
            ctx.store.delete_session(&hash).await?;
            return Err(super::accounts::disabled());
        }
    }
    Ok(token)
}

/// The live session a cookie's token names; its idle clock restarts.
pub async fn authenticate(
    ctx: &Context,
    token: &str,
    kind: SessionKind,
) -> Result<Session, DomainError> {
    ctx.store
        .touch_session(&token_hash(token), Timestamp::now())
        .await?
        .ok_or_else(|| ended(kind))
}

/// No cookie of the kind needed.
pub fn missing(kind: SessionKind) -> DomainError {
    DomainError::new(
        ErrorCode::NotSignedIn,
        match kind {
            SessionKind::Member => "Sign in first.",
            SessionKind::Guest => "Open your link first: this needs a guest session.",
        },
    )
}

fn ended(kind: SessionKind) -> DomainError {
    DomainError::new(
        ErrorCode::NotSignedIn,
        match kind {
            SessionKind::Member => "Your session has ended. Sign in again.",
            SessionKind::Guest => "Your session has ended. Ask for a new link.",
        },
    )
}

/// Ends the sessions these token hashes name.
pub async fn end(ctx: &Context, token_hashes: &[Vec<u8>]) -> Result<(), DomainError> {
    for hash in token_hashes {
        ctx.store.delete_session(hash).await?;
    }
    Ok(())
}
