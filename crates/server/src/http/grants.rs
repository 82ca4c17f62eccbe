//! Links: look before redeeming, redeem (the guest's click), and ask for a
//! new one.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use latchkey_core::GrantId;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::{set_cookie, token_hash, ApiJson, ClientIp, SessionKind, B64};
use super::members::PublicMember;
use super::validate::{email, handle};
use super::AppState;
use crate::random::random_token;
use crate::store::{GrantState, Redeemed, SessionOwner, SpentReason, Timestamp};
use crate::time::secs_ms;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// The grant id travels in a body, never in a URL: it opens the
/// conversation's key wrap, and URLs end up in logs.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GrantRef {
    grant_id: String,
}

#[derive(Serialize)]
pub(super) struct Peeked {
    member: PublicMember,
}

#[derive(Serialize)]
pub(super) struct RedeemedView {
    conversation_id: String,
    wrapped_key: B64,
    member: PublicMember,
}

fn parse(grant: &GrantRef) -> Result<[u8; 32], ApiError> {
    GrantId::parse_base64url(&grant.grant_id)
        .map(|id| id.storage_hash())
        .map_err(|e| ApiError::invalid("invalid_grant_id", e.to_string()))
}

fn dead(state: &GrantState) -> ApiError {
    match state {
        GrantState::Spent(SpentReason::Used) => ApiError::new(
            StatusCode::GONE,
            "link_used",
            "This link has been used and no longer works. Ask for a new link.",
        ),
        GrantState::Spent(SpentReason::Expired) => ApiError::new(
            StatusCode::GONE,
            "link_expired",
            "This link expired before it was used. Ask for a new link.",
        ),
        GrantState::Unknown | GrantState::Valid(_) => ApiError::not_found(
            "unknown_link",
            "This link is not known here: it may be mistyped, or its conversation was deleted.",
        ),
    }
}

impl AppState {
    fn limit_redeem(&self, ip: ClientIp) -> Result<(), ApiError> {
        self.limiter
            .check(
                "redeem-ip",
                ip.0.to_string().as_bytes(),
                self.config.rate_limits.redeem_per_ip_per_minute,
                MINUTE,
            )
            .map_err(ApiError::rate_limited)
    }

    async fn public_member_of(&self, redeemed: &Redeemed) -> Result<PublicMember, ApiError> {
        let conversation = self
            .store
            .conversation(&redeemed.conversation_id)
            .await?
            .ok_or_else(|| dead(&GrantState::Unknown))?;
        let member = self
            .store
            .member_by_id(&conversation.member_id)
            .await?
            .ok_or_else(|| ApiError::internal(&"conversation without member"))?;
        Ok(PublicMember::of(&member))
    }
}

/// Who wrote, without using the link: the landing page shows it before the
/// guest clicks. Changes nothing, so a mail scanner cannot burn the link.
pub(super) async fn peek(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<GrantRef>,
) -> Result<Json<Peeked>, ApiError> {
    state.limit_redeem(ip)?;
    let hash = parse(&body)?;
    match state
        .store
        .peek_grant(
            &hash,
            Timestamp::now(),
            secs_ms(state.config.links.grace.as_secs()),
        )
        .await?
    {
        GrantState::Valid(redeemed) => Ok(Json(Peeked {
            member: state.public_member_of(&redeemed).await?,
        })),
        other => Err(dead(&other)),
    }
}

/// Redeems a link: the first time starts its grace window; the answer
/// carries the wrapped conversation key and a guest session cookie for this
/// conversation only.
pub(super) async fn redeem(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<GrantRef>,
) -> Result<Response, ApiError> {
    state.limit_redeem(ip)?;
    let hash = parse(&body)?;
    let config = &state.config;
    let outcome = state
        .store
        .redeem_grant(
            &hash,
            Timestamp::now(),
            secs_ms(config.links.grace.as_secs()),
            secs_ms(config.links.ttl.as_secs()),
        )
        .await?;
    let GrantState::Valid(redeemed) = outcome else {
        return Err(dead(&outcome));
    };
    let member = state.public_member_of(&redeemed).await?;
    let token = random_token();
    state
        .store
        .create_session(
            &token_hash(&token),
            &SessionOwner::Guest(redeemed.conversation_id),
            Timestamp::now(),
            secs_ms(config.sessions.guest_idle.as_secs()),
            secs_ms(config.sessions.guest_absolute.as_secs()),
        )
        .await?;
    tracing::info!(conversation = %redeemed.conversation_id, "link redeemed");
    Ok((
        AppendHeaders([(
            header::SET_COOKIE,
            set_cookie(&state, SessionKind::Guest, Some(&token)),
        )]),
        Json(RedeemedView {
            conversation_id: redeemed.conversation_id.to_string(),
            wrapped_key: B64(redeemed.wrapped_key),
            member,
        }),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LinkRequest {
    email: String,
    /// Only conversations with this member; all of them if absent.
    handle: Option<String>,
}

#[derive(Serialize)]
pub(super) struct LinkRequested {
    message: &'static str,
}

/// "Send me a new link": recorded for the member's client to fulfil. The
/// answer is the same whether or not the address has a conversation here.
pub(super) async fn request_link(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<LinkRequest>,
) -> Result<Response, ApiError> {
    let limits = &state.config.rate_limits;
    state
        .limiter
        .check(
            "link-request-ip",
            ip.0.to_string().as_bytes(),
            limits.link_request_per_ip_per_hour,
            HOUR,
        )
        .map_err(ApiError::rate_limited)?;
    let address = email(&body.email)?;
    let member_handle = body.handle.as_deref().map(handle).transpose()?;
    let index = state.keys.blind_index.email(&address);
    state
        .limiter
        .check(
            "link-request-address",
            &index,
            limits.link_request_per_address_per_hour,
            HOUR,
        )
        .map_err(ApiError::rate_limited)?;
    // Outer None: an unknown member, nothing to mark (same answer).
    // Inner None: every conversation of this address.
    let target = match member_handle {
        None => Some(None),
        Some(h) => state.store.member_by_handle(&h).await?.map(|m| Some(m.id)),
    };
    if let Some(member_id) = target {
        state
            .store
            .request_links(&index, member_id.as_ref(), Timestamp::now())
            .await?;
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(LinkRequested {
            message: "If this address has a conversation here, a new link will be e-mailed \
                      to it as soon as the member is online.",
        }),
    )
        .into_response())
}
