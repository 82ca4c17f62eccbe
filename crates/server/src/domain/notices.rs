//! The e-mails a change causes, sealed for the outbox: the guest's link
//! (the one moment the server holds a link key) and the member's
//! content-free notice. Sealed with the outbox key under the row's id, so a
//! payload cannot be replayed under another row.
//!
//! Each mail names the daily budgets it spends (per conversation, per
//! member, per recipient); the store counts them in the transaction that
//! queues it.

use latchkey_core::{ConversationId, LinkKey, OsRng};

use super::{ms, Context, DomainError};
use crate::i18n::Language;
use crate::mail::{LinkReason, MailPayload};
use crate::model::{MailBudget, MailScope};
use crate::random::random_hex;
use crate::store::{Conversation, Member, MemberId, NewMail, NoticeRecipient};

/// How far back the mail budgets count.
const BUDGET_WINDOW: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// Seals a payload into a new outbox row spending `budgets`.
fn seal(ctx: &Context, payload: &MailPayload, budgets: Vec<MailBudget>) -> NewMail {
    let id = random_hex();
    NewMail {
        payload_sealed: ctx
            .keys
            .outbox
            .seal(&mut OsRng, id.as_bytes(), &payload.to_bytes()),
        id,
        budgets,
        window_ms: ms(BUDGET_WINDOW),
    }
}

/// A budget keyed by an HMAC (the blind-index key) of `what`, never `what`
/// itself: the log outlives a deleted conversation, and without the secrets
/// file its rows must link to nothing. No address has a space in it, so
/// these keys never meet a guest's blind index.
fn keyed(ctx: &Context, scope: MailScope, what: &str, limit: u32) -> MailBudget {
    MailBudget {
        scope,
        key_hash: ctx.keys.blind_index.email(&format!("mail budget {what}")),
        limit,
    }
}

fn conversation_budget(ctx: &Context, id: &ConversationId) -> MailBudget {
    keyed(
        ctx,
        MailScope::Conversation,
        &format!("conversation {id}"),
        ctx.config.mail.per_conversation_per_day,
    )
}

/// The guest's link e-mail, to `to` (his address as he typed it), in
/// `conversation`, in his `language`. A first contact is the guest's doing, not the member's,
/// so it spends no member budget; every link spends the address's budget
/// (its blind index: all conversations with the address count together).
pub(crate) fn guest_link(
    ctx: &Context,
    to: &str,
    member: &Member,
    conversation: &ConversationId,
    link: &LinkKey,
    reason: LinkReason,
    language: Language,
) -> NewMail {
    let mail = &ctx.config.mail;
    let mut budgets = vec![
        conversation_budget(ctx, conversation),
        MailBudget {
            scope: MailScope::Recipient,
            key_hash: ctx.keys.blind_index.email(to),
            limit: mail.per_recipient_per_day,
        },
    ];
    if !matches!(reason, LinkReason::FirstContact) {
        budgets.push(keyed(
            ctx,
            MailScope::Member,
            &format!("member {}", member.id.to_hex()),
            mail.per_member_per_day,
        ));
    }
    seal(
        ctx,
        &MailPayload::GuestLink {
            to: to.to_owned(),
            member_name: member.display_name.as_str().to_owned(),
            fragment: link.expose_fragment().to_string(),
            reason,
            language,
        },
        budgets,
    )
}

/// The budget of a member's notices, as their recipient.
fn notice_budget(ctx: &Context, member: &MemberId) -> MailBudget {
    keyed(
        ctx,
        MailScope::Recipient,
        &format!("member notices {}", member.to_hex()),
        ctx.config.mail.per_recipient_per_day,
    )
}

/// The member's notice that his guest wrote in `conversation`, in the
/// language he last signed in with.
pub(crate) fn member_notice(
    ctx: &Context,
    member: &NoticeRecipient,
    conversation: &ConversationId,
) -> Result<NewMail, DomainError> {
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
            language: member.language,
        },
        vec![
            conversation_budget(ctx, conversation),
            notice_budget(ctx, &member.id),
        ],
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

/// A member's invitation, to `to`, with his enrollment `token`. Spends the
/// recipient's budget, so the site cannot flood one address.
pub(crate) fn invite(
    ctx: &Context,
    to: &str,
    name: &latchkey_api::DisplayName,
    token: &str,
    language: Language,
) -> NewMail {
    seal(
        ctx,
        &MailPayload::Invite {
            to: to.to_owned(),
            member_name: name.as_str().to_owned(),
            token: token.to_owned(),
            language,
        },
        vec![MailBudget {
            scope: MailScope::Recipient,
            key_hash: ctx.keys.blind_index.email(to),
            limit: ctx.config.mail.per_recipient_per_day,
        }],
    )
}
