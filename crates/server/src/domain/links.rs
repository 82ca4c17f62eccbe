//! Links: look before redeeming (the landing page), redeem (the guest's
//! click), ask for a new one, and the member's client adding one outside a
//! message.

use latchkey_api::{AddGrant, Email, ErrorCode, GrantId, GrantInput, Handle, Notification};
use latchkey_core::{ConversationId, WrappedConversationKey};

use super::access::{conversation_for, member_of, Participant};
use super::accounts;
use super::sessions::{self, SessionToken};
use super::{grants, ms, Budget, ClientKey, Context, DomainError, HOUR};
use crate::i18n::Language;
use crate::mail::LinkReason;
use crate::model::MailOutcome;
use crate::ratelimit::BudgetKey;
use crate::store::{
    GrantKind, GrantState, Member, MemberId, Redeemed, SessionOwner, SpentReason, StoreError,
    Timestamp,
};

/// What a dead (or unknown) link answers.
fn dead(state: &GrantState) -> DomainError {
    match state {
        GrantState::Spent(SpentReason::Used) => DomainError::new(
            ErrorCode::LinkUsed,
            "This link has been used and no longer works. Ask for a new link.",
        ),
        GrantState::Spent(SpentReason::Expired) => DomainError::new(
            ErrorCode::LinkExpired,
            "This link expired before it was used. Ask for a new link.",
        ),
        GrantState::Unknown | GrantState::Valid(_) => DomainError::new(
            ErrorCode::UnknownLink,
            "This link is not known here: it may be mistyped, or its conversation was deleted.",
        ),
    }
}

async fn member_behind(ctx: &Context, redeemed: &Redeemed) -> Result<Member, DomainError> {
    let conversation = ctx
        .store
        .conversation(&redeemed.conversation_id)
        .await?
        .ok_or_else(|| dead(&GrantState::Unknown))?;
    let member = member_of(ctx, &conversation).await?;
    // A disabled member's links say so (and stay unused until he is back).
    accounts::check_enabled(ctx, &member).await?;
    Ok(member)
}

/// Who wrote, without using the link: the landing page shows it before the
/// guest clicks. Changes nothing, so a mail scanner cannot burn the link.
pub async fn peek(
    ctx: &Context,
    client: ClientKey,
    grant: &GrantId,
) -> Result<Member, DomainError> {
    ctx.spend(ctx.redeem_budget(), &client.bytes()).await?;
    let state = ctx
        .store
        .peek_grant(
            &grant.0.storage_hash(),
            Timestamp::now(),
            ms(ctx.config.links.grace),
        )
        .await?;
    match state {
        GrantState::Valid(redeemed) => {
            // Says what a click would: a grant whose seal no longer opens
            // is as dead here as at redeem.
            unseal(ctx, &grant.0.storage_hash(), &redeemed)?;
            member_behind(ctx, &redeemed).await
        }
        other => Err(dead(&other)),
    }
}

/// A redeemed link: the wrapped key, whom it is with, and the guest's new
/// session.
#[derive(Debug)]
pub struct Opened {
    /// The grant's conversation (and its key as stored).
    pub redeemed: Redeemed,
    /// The conversation key wrapped under the link, out of its epoch seal.
    pub wrapped_key: WrappedConversationKey,
    /// The conversation's member.
    pub member: Member,
    /// The guest session, for this conversation only.
    pub session: SessionToken,
}

/// Redeems a link for the guest who names the address it was sent to: the
/// first time starts its grace window and confirms the guest's address.
/// A wrong address changes nothing but the wrong-address budgets, so a mail
/// scanner clicking through the link page cannot use the link up.
pub async fn redeem(
    ctx: &Context,
    client: ClientKey,
    grant: &GrantId,
    email: &Email,
) -> Result<Opened, DomainError> {
    ctx.spend(ctx.redeem_budget(), &client.bytes()).await?;
    let links = &ctx.config.links;
    let id_hash = grant.0.storage_hash();
    let index = ctx.keys.blind_index.email(email.as_str());
    // The address and the seal first, read-only: a wrong address, or a
    // grant whose epoch is gone (or whose seal does not open), is refused
    // before the redeem stamps it used and confirms the guest's address.
    // Neither the index nor the seal changes once stored.
    if let GrantState::Valid(stored) = ctx
        .store
        .peek_grant(&id_hash, Timestamp::now(), ms(links.grace))
        .await?
    {
        check_address(ctx, client, &id_hash, &stored, &index).await?;
        unseal(ctx, &id_hash, &stored)?;
        member_behind(ctx, &stored).await?;
    }
    let state = ctx
        .store
        .redeem_grant(
            &id_hash,
            &index,
            Timestamp::now(),
            ms(links.grace),
            ms(links.ttl),
        )
        .await?;
    let GrantState::Valid(redeemed) = state else {
        return Err(dead(&state));
    };
    // Only a grant stored between the two reads gets here unchecked (its
    // link cannot have been mailed yet); the store stamped it only for its
    // own address.
    if redeemed.guest_email_index != index {
        return Err(wrong_address());
    }
    let wrapped_key = unseal(ctx, &id_hash, &redeemed)?;
    let member = member_behind(ctx, &redeemed).await?;
    let session = sessions::open(ctx, SessionOwner::Guest(redeemed.conversation_id)).await?;
    tracing::info!(conversation = %redeemed.conversation_id, "link redeemed");
    Ok(Opened {
        redeemed,
        wrapped_key,
        member,
        session,
    })
}

fn wrong_address() -> DomainError {
    DomainError::new(
        ErrorCode::WrongAddress,
        "This link was sent to another address. Type the address the e-mail with the link \
         came to.",
    )
}

/// Wrong addresses per link: keyed by the grant id's storage hash (never
/// the id, which opens the key wrap), so a guesser holding one link gets a
/// few tries, however many clients he uses.
fn wrong_address_per_link(ctx: &Context) -> Budget {
    Budget {
        name: "wrong-address-link",
        limit: ctx.config.rate_limits.wrong_address_per_link_per_hour,
        period: HOUR,
    }
}

/// Wrong addresses per client, over every link it tries.
fn wrong_address_per_client(ctx: &Context) -> Budget {
    Budget {
        name: "wrong-address-ip",
        limit: ctx.config.rate_limits.wrong_address_per_ip_per_hour,
        period: HOUR,
    }
}

/// Which wrong addresses a link has been tried with this hour (one window
/// per link and address, keyed by the address's blind index): the same
/// one again costs no try, so a scanner that submits its junk over and
/// over spends the link's budget once per distinct junk.
const WRONG_ADDRESS_SEEN: &str = "wrong-address-seen";

/// Lets the redeem go on only for the address the link was sent to. A
/// wrong one spends a try from the client's budget, then (if it had one)
/// from the link's, and is refused: a client past its own budget locks no
/// link for others. A wrong address this link was already refused for
/// this hour is refused again at no cost: its answer tells nothing new.
/// The right one passes only while both budgets have tries left. Were it
/// let through past them, the answer would still tell a right guess from a
/// wrong one and the budgets would stop no guesser. A guest whose link a
/// guesser has locked waits out the hour; he loses nothing.
async fn check_address(
    ctx: &Context,
    client: ClientKey,
    id_hash: &[u8; 32],
    stored: &Redeemed,
    index: &[u8; 32],
) -> Result<(), DomainError> {
    // A plain comparison: the index is an HMAC under a server key, so
    // whoever types an address does not know the index he compares, and
    // the time a mismatch takes tells him nothing he could use.
    if stored.guest_email_index == *index {
        left(ctx, wrong_address_per_link(ctx), id_hash).await?;
        return left(ctx, wrong_address_per_client(ctx), &client.bytes()).await;
    }
    let mut pair = [0u8; 64];
    pair[..32].copy_from_slice(id_hash);
    pair[32..].copy_from_slice(index);
    let seen = ctx
        .limiter
        .left(WRONG_ADDRESS_SEEN, BudgetKey::Bytes(&pair), 1, HOUR)
        .await
        .is_err();
    if !seen {
        ctx.spend(wrong_address_per_client(ctx), &client.bytes())
            .await?;
        ctx.spend(wrong_address_per_link(ctx), id_hash).await?;
        // Remembered only once counted: a try refused for a spent budget
        // must not come back later as a free "wrong".
        let _ = ctx
            .limiter
            .check(WRONG_ADDRESS_SEEN, BudgetKey::Bytes(&pair), 1, HOUR)
            .await;
    }
    tracing::info!("link redeem with a wrong address refused");
    Err(wrong_address())
}

/// Refuses, as [`Context::spend`] would, once `budget` is spent for `key`,
/// without spending from it.
async fn left<'k>(
    ctx: &Context,
    budget: Budget,
    key: impl Into<BudgetKey<'k>>,
) -> Result<(), DomainError> {
    ctx.limiter
        .left(budget.name, key.into(), budget.limit, budget.period)
        .await
        .map_err(|retry_after| {
            ctx.metrics.rate_limited(budget.name);
            DomainError::rate_limited(retry_after)
        })
}

/// Takes a redeemed grant's wrapped key out of its epoch seal. An epoch
/// already erased means the grant outlived every link's life time (the
/// configured ones were shortened since): it answers as expired.
fn unseal(
    ctx: &Context,
    id_hash: &[u8; 32],
    redeemed: &Redeemed,
) -> Result<WrappedConversationKey, DomainError> {
    let corrupt = |problem| {
        DomainError::from(StoreError::Corrupt {
            table: "grants",
            column: "wrapped_key",
            problem,
        })
    };
    let Some(epoch) = redeemed.epoch else {
        // Stored before epoch keys and not yet sealed (an older instance
        // still runs beside this one).
        return WrappedConversationKey::from_bytes(redeemed.sealed_key.clone())
            .map_err(|_| corrupt("is not a wrapped key"));
    };
    let Some(key) = ctx.keys.epochs.key(epoch) else {
        return Err(dead(&GrantState::Spent(SpentReason::Expired)));
    };
    key.open_grant(id_hash, &redeemed.sealed_key)
        .map_err(|_| corrupt("does not open under its epoch's key"))
}

/// The one answer to every new-link request.
pub const LINK_REQUESTED: &str = "If this address has a conversation here, a new link will be \
                                  e-mailed to it as soon as the member is online.";

/// "Send me a new link": recorded for the member's client to fulfil. The
/// outcome, and the work done before answering, are the same whether or not
/// the address has a conversation here or the handle a member. The link
/// comes in `language` (the request's), as do his later mails.
pub async fn request(
    ctx: &Context,
    client: ClientKey,
    email: &Email,
    handle: Option<&Handle>,
    language: Language,
) -> Result<(), DomainError> {
    let limits = &ctx.config.rate_limits;
    ctx.spend(
        Budget {
            name: "link-request-ip",
            limit: limits.link_request_per_ip_per_hour,
            period: HOUR,
        },
        &client.bytes(),
    )
    .await?;
    let index = ctx.keys.blind_index.email(email.as_str());
    ctx.spend(
        Budget {
            name: "link-request-address",
            limit: limits.link_request_per_address_per_hour,
            period: HOUR,
        },
        &index,
    )
    .await?;
    // Queued whatever it names, known or not, with no look-up first: the
    // same statement, so the same time (the store folds it in later).
    ctx.store
        .request_links(&index, handle, language, Timestamp::now())
        .await?;
    Ok(())
}

/// A link made by the member's client outside a message: a guest's new-link
/// request fulfilled, or a link to deliver by hand. With `answers_request`,
/// nothing is stored or sent unless a request is pending (another client
/// may have answered it).
pub async fn add(
    ctx: &Context,
    member: MemberId,
    id: ConversationId,
    input: AddGrant,
) -> Result<Notification, DomainError> {
    let conversation = conversation_for(ctx, Participant::Member(member), id).await?;
    let now = Timestamp::now();
    let checked = grants::check(
        ctx,
        GrantInput {
            grant_id: input.grant_id,
            wrapped_key: input.wrapped_key,
        },
        input.link,
        GrantKind::Requested,
        now,
    )?;
    let mail = checked
        .mail(ctx, &conversation, LinkReason::Requested)
        .await?;
    let outcome = ctx
        .store
        .add_grant(
            &conversation.id,
            &checked.grant,
            mail.as_ref(),
            now,
            input.answers_request,
            ms(ctx.config.links.coalesce),
        )
        .await?;
    Ok(match outcome {
        MailOutcome::Queued => Notification::Queued,
        MailOutcome::Coalesced => Notification::Coalesced,
        MailOutcome::Capped => {
            tracing::warn!(conversation = %conversation.id, "link stored; its mail capped");
            Notification::Capped
        }
        MailOutcome::Nothing => Notification::None,
    })
}
