//! Who may act on a conversation: its member, or its guest.

use latchkey_api::ErrorCode;
use latchkey_core::ConversationId;

use super::{Context, DomainError};
use crate::store::{Conversation, Member, MemberId, Session, SessionOwner};

/// Whoever acts on a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Participant {
    /// A signed-in member (any conversation; ownership checked here).
    Member(MemberId),
    /// A guest, for this one conversation.
    Guest(ConversationId),
}

impl From<&Session> for Participant {
    fn from(session: &Session) -> Self {
        match session.owner {
            SessionOwner::Member(id) => Participant::Member(id),
            SessionOwner::Guest(id) => Participant::Guest(id),
        }
    }
}

pub(crate) fn unknown_conversation() -> DomainError {
    DomainError::new(ErrorCode::UnknownConversation, "No such conversation.")
}

/// A guest acts only on the conversation his session is for (403 for
/// another).
pub(crate) fn check_guest_scope(who: Participant, id: ConversationId) -> Result<(), DomainError> {
    match who {
        Participant::Guest(own) if own != id => Err(DomainError::new(
            ErrorCode::WrongConversation,
            "Your session is for another conversation. Open this conversation's link.",
        )),
        _ => Ok(()),
    }
}

/// A member acts only on his own conversations; another's is 404 (its
/// existence is not his business).
pub(crate) fn check_member_owns(
    who: Participant,
    conversation: &Conversation,
) -> Result<(), DomainError> {
    match who {
        Participant::Member(member) if member != conversation.member_id => {
            Err(unknown_conversation())
        }
        _ => Ok(()),
    }
}

/// The conversation, if this participant may act on it. A member who does
/// not own it gets 404 (its existence is not his business); a guest whose
/// session belongs to another one gets 403.
pub(crate) async fn conversation_for(
    ctx: &Context,
    who: Participant,
    id: ConversationId,
) -> Result<Conversation, DomainError> {
    check_guest_scope(who, id)?;
    let conversation = ctx
        .store
        .conversation(&id)
        .await?
        .ok_or_else(unknown_conversation)?;
    check_member_owns(who, &conversation)?;
    Ok(conversation)
}

/// The member a conversation belongs to.
pub(crate) async fn member_of(
    ctx: &Context,
    conversation: &Conversation,
) -> Result<Member, DomainError> {
    ctx.store
        .member_by_id(&conversation.member_id)
        .await?
        .ok_or_else(|| DomainError::internal(&"conversation without member"))
}
