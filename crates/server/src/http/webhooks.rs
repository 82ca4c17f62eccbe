//! The admin API's webhook endpoints (`/admin/webhooks`, scope
//! `webhooks:manage`). Each handler extracts, calls `domain::webhooks`,
//! maps. The secret is in one answer, the one that makes the endpoint.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_api::endpoints::SCOPE_WEBHOOKS_MANAGE;
use latchkey_api::{AddWebhook, WebhookAdded, WebhookList, WebhookView};

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath};
use super::AppState;
use crate::domain::admin::{self, Caller};
use crate::domain::webhooks;
use crate::store::WebhookEndpoint;

/// The caller, whose token has `webhooks:manage` (checked before the body
/// is read).
#[derive(Debug)]
pub struct Manager(Caller);

impl FromRequestParts<AppState> for Manager {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        let caller = admin::authenticate(&state.ctx, bearer, SCOPE_WEBHOOKS_MANAGE).await?;
        Ok(Manager(caller))
    }
}

fn view(endpoint: WebhookEndpoint) -> WebhookView {
    WebhookView {
        next_attempt_at: (endpoint.attempts > 0).then(|| endpoint.next_attempt_at.as_ms()),
        id: endpoint.id,
        url: endpoint.url,
        created_at: endpoint.created_at.as_ms(),
        delivered_through: endpoint.cursor_seq,
        failed_attempts: endpoint.attempts,
        last_error: endpoint.last_error,
    }
}

pub(super) async fn list(
    State(state): State<AppState>,
    Manager(_): Manager,
) -> Result<Json<WebhookList>, ApiError> {
    let endpoints = webhooks::list(&state.ctx.store).await?;
    Ok(Json(WebhookList {
        webhooks: endpoints.into_iter().map(view).collect(),
    }))
}

pub(super) async fn add(
    State(state): State<AppState>,
    Manager(caller): Manager,
    ApiJson(body): ApiJson<AddWebhook>,
) -> Result<Response, ApiError> {
    let added = webhooks::add(
        &state.ctx.store,
        &state.ctx.keys.webhooks,
        &body.url,
        &caller.name,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookAdded {
            secret: added.secret.as_str().to_owned(),
            webhook: view(added.endpoint),
        }),
    )
        .into_response())
}

pub(super) async fn remove(
    State(state): State<AppState>,
    Manager(caller): Manager,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    webhooks::remove(&state.ctx.store, &id, &caller.name).await?;
    Ok(StatusCode::NO_CONTENT)
}
