//! A new link's server half, checked: its grant id, the wrapped
//! conversation key, and (when the server is to e-mail it) the link itself,
//! which must be this grant's. The wrapped key is stored sealed under the
//! current epoch's key (`crate::epochs`), and opened at redeem.

use latchkey_api::{ErrorCode, GrantInput, LinkFragment};
use latchkey_core::{LinkKey, WrappedConversationKey};

use super::access::member_of;
use super::notices::{self, guest_address};
use super::{ms, Context, DomainError};
use crate::mail::LinkReason;
use crate::store::{Conversation, GrantKind, NewGrant, NewMail, Timestamp};

/// A checked grant, and its link when it is to be e-mailed.
pub(crate) struct CheckedGrant {
    /// What the store keeps.
    pub grant: NewGrant,
    /// The link key to e-mail; none when the member delivers it himself.
    pub link: Option<LinkKey>,
}

impl CheckedGrant {
    /// The e-mail that takes this grant's link to the conversation's guest;
    /// none when the member delivers the link himself.
    pub(crate) async fn mail(
        &self,
        ctx: &Context,
        conversation: &Conversation,
        reason: LinkReason,
    ) -> Result<Option<NewMail>, DomainError> {
        let Some(link) = &self.link else {
            return Ok(None);
        };
        let member = member_of(ctx, conversation).await?;
        let to = guest_address(ctx, conversation)?;
        Ok(Some(notices::guest_link(
            ctx,
            &to,
            &member,
            &conversation.id,
            link,
            reason,
            conversation.guest_language,
        )))
    }
}

/// Checks a grant and its optional link. An e-mailed grant is of
/// `kind_if_emailed`; one without a link is the member's to hand over.
pub(crate) fn check(
    ctx: &Context,
    grant: GrantInput,
    link: Option<LinkFragment>,
    kind_if_emailed: GrantKind,
    now: Timestamp,
) -> Result<CheckedGrant, DomainError> {
    let wrapped = WrappedConversationKey::from_bytes(grant.wrapped_key.0)
        .map_err(|e| DomainError::new(ErrorCode::InvalidWrappedKey, e.to_string()))?;
    let link = link.map(|LinkFragment(key)| key);
    if let Some(link) = &link {
        if link.grant_id() != grant.grant_id.0 {
            return Err(DomainError::new(
                ErrorCode::LinkMismatch,
                "The link does not belong to this grant.",
            ));
        }
    }
    let id_hash = grant.grant_id.0.storage_hash();
    let (epoch, sealed_key) = ctx
        .keys
        .epochs
        .seal(now, &id_hash, &wrapped)
        .ok_or_else(|| {
            DomainError::internal(&"the epoch file's chain does not reach the current epoch")
        })?;
    Ok(CheckedGrant {
        grant: NewGrant {
            kind: if link.is_some() {
                kind_if_emailed
            } else {
                GrantKind::Manual
            },
            id_hash,
            sealed_key,
            epoch,
            emailed: link.is_some(),
            expires_at: now.plus_ms(ms(ctx.config.links.ttl)),
        },
        link,
    })
}
