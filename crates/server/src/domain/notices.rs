//! The e-mails a change causes, sealed for the outbox: the guest's link
//! (the one moment the server holds a link key) and the member's
//! content-free notice. Sealed with the outbox key under the row's id, so a
//! payload cannot be replayed under another row.

use latchkey_core::{LinkKey, OsRng};

use super::{Context, DomainError};
use crate::mail::{LinkReason, MailPayload};
use crate::random::random_hex;
use crate::store::{Conversation, Member, NewMail};

/// Seals a payload into a new outbox row.
fn seal(ctx: &Context, payload: &MailPayload) -> NewMail {
    let id = random_hex();
    NewMail {
        payload_sealed: ctx
            .keys
            .outbox
            .seal(&mut OsRng, id.as_bytes(), &payload.to_bytes()),
        id,
    }
}

/// The guest's link e-mail, to `to` (his address as he typed it).
pub(crate) fn guest_link(
    ctx: &Context,
    to: &str,
    member: &Member,
    link: &LinkKey,
    reason: LinkReason,
) -> NewMail {
    seal(
        ctx,
        &MailPayload::GuestLink {
            to: to.to_owned(),
            member_name: member.display_name.as_str().to_owned(),
            fragment: link.expose_fragment().to_string(),
            reason,
        },
    )
}

/// The member's notice that his guest wrote.
pub(crate) fn member_notice(ctx: &Context, member: &Member) -> Result<NewMail, DomainError> {
    let to = ctx
        .keys
        .member_email
        // The id's hex text is the sealing context.
        .open(member.id.to_hex().as_bytes(), &member.email_sealed)
        .map_err(|e| DomainError::internal(&e))?;
    Ok(seal(
        ctx,
        &MailPayload::MemberNotice {
            to: String::from_utf8_lossy(&to).into_owned(),
        },
    ))
}

/// The address a conversation's links go to, opened from its sealed column
/// (the id's hex text is the context).
pub(crate) fn guest_address(
    ctx: &Context,
    conversation: &Conversation,
) -> Result<String, DomainError> {
    let address = ctx
        .keys
        .guest_email
        .open(
            conversation.id.to_string().as_bytes(),
            &conversation.guest_email_sealed,
        )
        .map_err(|e| DomainError::internal(&e))?;
    Ok(String::from_utf8_lossy(&address).into_owned())
}
