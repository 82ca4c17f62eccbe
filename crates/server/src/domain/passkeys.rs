//! Passkeys that unlock a member's key (docs/protocol.md §4.9.1). The server
//! keeps, per passkey, the identity sealed under the KEK its PRF output
//! gives in the member's browser; it checks the blob's shape, never a
//! WebAuthn signature, and never sees the PRF output.

use base64ct::{Base64UrlUnpadded, Encoding};
use latchkey_api::{AddPasskey, ErrorCode};

use super::passwords::{check_sealed_identity, require_recent_sign_in};
use super::{Context, DomainError};
use crate::model::MemberId;
use crate::store::{Passkey, PasskeyRemoval, Session, Timestamp};

/// WebAuthn's longest credential id.
const MAX_CREDENTIAL_ID: usize = 1023;
const MAX_LABEL: usize = 64;
/// Enough for every device a person owns; a bound on what one session can
/// make the server store.
const MAX_PASSKEYS: i64 = 20;

fn invalid(message: &'static str) -> DomainError {
    DomainError::new(ErrorCode::InvalidPasskey, message)
}

/// The member's passkeys, oldest first.
pub async fn list(ctx: &Context, member: MemberId) -> Result<Vec<Passkey>, DomainError> {
    Ok(ctx.store.passkeys_of(&member).await?)
}

/// A passkey from a client, checked: the credential id's length, the label
/// and the sealed identity's shape.
pub(crate) fn checked(body: AddPasskey) -> Result<Passkey, DomainError> {
    if body.credential_id.0.is_empty() || body.credential_id.0.len() > MAX_CREDENTIAL_ID {
        return Err(invalid("A passkey's credential id has 1 to 1023 bytes."));
    }
    let label = body.label.trim();
    let length = label.chars().count();
    if length == 0 || length > MAX_LABEL || label.chars().any(char::is_control) {
        return Err(invalid(
            "A passkey's label has 1 to 64 characters and no control characters.",
        ));
    }
    check_sealed_identity(&body.sealed_identity.0)?;
    Ok(Passkey {
        credential_id: credential_text(&body.credential_id.0),
        label: label.to_owned(),
        sealed_identity: body.sealed_identity.0,
        created_at: Timestamp::now(),
    })
}

/// A credential id as stored: unpadded base64url.
pub(crate) fn credential_text(credential_id: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(credential_id)
}

/// Adds a passkey to the signed-in member's.
pub async fn add(
    ctx: &Context,
    member: MemberId,
    body: AddPasskey,
) -> Result<Passkey, DomainError> {
    let passkey = checked(body)?;
    if ctx.store.passkey_count(&member).await? >= MAX_PASSKEYS {
        return Err(invalid(
            "You have 20 passkeys already: remove one before adding another.",
        ));
    }
    ctx.store.add_passkey(&member, &passkey).await?;
    tracing::info!(member = %member, "passkey added");
    Ok(passkey)
}

/// Removes a passkey and its sealed copy; needs a recent sign-in, as other
/// changes to what unlocks the key do.
pub async fn remove(
    ctx: &Context,
    session: &Session,
    member: MemberId,
    credential_id: &str,
) -> Result<(), DomainError> {
    require_recent_sign_in(session)?;
    let unknown = || {
        DomainError::new(
            ErrorCode::UnknownPasskey,
            "You have no passkey with this credential id.",
        )
    };
    // Canonical text only, as stored: decode and encode again.
    let bytes = Base64UrlUnpadded::decode_vec(credential_id).map_err(|_| unknown())?;
    if bytes.is_empty() || bytes.len() > MAX_CREDENTIAL_ID {
        return Err(unknown());
    }
    match ctx
        .store
        .delete_passkey(&member, &credential_text(&bytes))
        .await?
    {
        PasskeyRemoval::Removed => {
            tracing::info!(member = %member, "passkey removed");
            Ok(())
        }
        PasskeyRemoval::Unknown => Err(unknown()),
        PasskeyRemoval::Last => Err(DomainError::new(
            ErrorCode::LastPasskey,
            "This is your last passkey and you have no password: add a password or another passkey before you remove it.",
        )),
    }
}
