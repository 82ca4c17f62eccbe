//! The member's passkeys: list, add, remove. Each handler extracts, calls
//! the domain, maps the result.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use base64ct::{Base64UrlUnpadded, Encoding};
use latchkey_api::{AddPasskey, PasskeyList, PasskeyView, B64};

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, MemberSession};
use super::AppState;
use crate::domain::passkeys;
use crate::store::Passkey;

fn view(passkey: Passkey) -> Result<PasskeyView, ApiError> {
    let credential_id = Base64UrlUnpadded::decode_vec(&passkey.credential_id)
        .map_err(|_| ApiError::internal(&"stored credential id is not base64url"))?;
    Ok(PasskeyView {
        credential_id: B64(credential_id),
        label: passkey.label,
        sealed_identity: B64(passkey.sealed_identity),
        created_at: passkey.created_at.as_ms(),
    })
}

pub(super) async fn list(
    State(state): State<AppState>,
    session: MemberSession,
) -> Result<Json<PasskeyList>, ApiError> {
    let passkeys = passkeys::list(&state.ctx, session.member)
        .await?
        .into_iter()
        .map(view)
        .collect::<Result<_, _>>()?;
    Ok(Json(PasskeyList { passkeys }))
}

pub(super) async fn add(
    State(state): State<AppState>,
    session: MemberSession,
    ApiJson(body): ApiJson<AddPasskey>,
) -> Result<(StatusCode, Json<PasskeyView>), ApiError> {
    let passkey = passkeys::add(&state.ctx, session.member, body).await?;
    Ok((StatusCode::CREATED, Json(view(passkey)?)))
}

pub(super) async fn remove(
    State(state): State<AppState>,
    session: MemberSession,
    ApiPath(credential_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    passkeys::remove(&state.ctx, &session.session, session.member, &credential_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
