//! The domain's results as the contract's views: the one place where a
//! stored member, conversation or message becomes what the wire shows.

use latchkey_api as api;
use latchkey_core::IdentityPublic;

use super::error::ApiError;
use crate::domain::conversations::InboxItem;
use crate::store::{Member, StoredMessage};

fn fingerprint(public: &[u8]) -> String {
    IdentityPublic::from_slice(public)
        .map(|p| p.fingerprint().to_string())
        .unwrap_or_default()
}

/// Stored text passed its rule on the way in; if it no longer does, the
/// row is damaged and the answer is a 500, not a guess.
fn stored<T>(parsed: Result<T, api::FieldError>) -> Result<T, ApiError> {
    parsed.map_err(|e| ApiError::internal(&format_args!("stored value breaks its rule: {e}")))
}

/// What a member sees of himself; `embed_origins`, the sites that may
/// frame his contact form, comes from the configuration.
pub fn member(member: &Member, embed_origins: &[String]) -> Result<api::MemberView, ApiError> {
    Ok(api::MemberView {
        handle: member.handle.clone(),
        display_name: member.display_name.clone(),
        identity_public: api::B64(member.identity_public.clone()),
        fingerprint: fingerprint(&member.identity_public),
        sealed_identity: member
            .password
            .as_ref()
            .map(|p| api::B64(p.sealed_identity.clone())),
        embed_origins: embed_origins.to_vec(),
    })
}

/// What anyone may see of a member.
pub fn public_member(member: &Member) -> Result<api::PublicMember, ApiError> {
    contact_member(member, true)
}

/// What his contact page shows of a member: whether he takes messages too
/// (a disabled member does not).
pub fn contact_member(
    member: &Member,
    accepts_messages: bool,
) -> Result<api::PublicMember, ApiError> {
    Ok(api::PublicMember {
        accepts_messages,
        handle: member.handle.clone(),
        display_name: member.display_name.clone(),
        identity_public: api::B64(member.identity_public.clone()),
        fingerprint: fingerprint(&member.identity_public),
    })
}

/// A conversation as its member sees it.
pub fn conversation(item: InboxItem) -> Result<api::ConversationView, ApiError> {
    let c = item.entry.conversation;
    Ok(api::ConversationView {
        id: c.id.into(),
        sealed_key: api::B64(c.sealed_key),
        guest_email: stored(api::Email::parse(&item.guest_email))?,
        confirmed: c.confirmed,
        last_seq: c.last_seq,
        unread: item.entry.unread,
        link_requested: c.link_requested_at.is_some(),
        created_at: c.created_at.as_ms(),
        last_activity_at: c.last_activity_at.as_ms(),
    })
}

/// A stored message.
pub fn message(m: StoredMessage) -> api::MessageView {
    api::MessageView {
        seq: m.seq,
        message_id: m.message_id.into(),
        sender: m.sender.into(),
        ciphertext: api::B64(m.ciphertext),
        created_at: m.created_at.as_ms(),
        // Set by the caller: a receipt depends on who asks.
        read_at: None,
    }
}
