//! Signing in with the site's accounts: the sign-in methods, and the two
//! browser navigations of the OpenID Connect flow. These answer redirects,
//! not JSON, since a person's browser follows them; a failure goes back to
//! the sign-in page with a word (`oidc_error`) the page explains in the
//! member's language.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_api::AuthMethods;

use super::error::ApiError;
use super::extract::{set_cookie, ClientIp};
use super::AppState;
use crate::domain::oidc::{self, Callback, Failure, Finished};
use crate::domain::sessions::SessionKind;

/// How long the attempt's cookie lives (the attempt itself: ten minutes).
const ATTEMPT_COOKIE_SECS: u32 = 600;

pub(super) async fn methods(State(state): State<AppState>) -> Json<AuthMethods> {
    Json(oidc::methods(&state.ctx))
}

/// The attempt's cookie. `SameSite=Lax`, not `Strict`: it must come back
/// with the provider's redirect, a navigation from another site.
fn attempt_cookie_name(state: &AppState) -> &'static str {
    if state.ctx.config.secure_cookies() {
        "__Host-latchkey-oidc"
    } else {
        "latchkey-oidc"
    }
}

fn attempt_cookie(state: &AppState, id: Option<&str>) -> String {
    let secure = if state.ctx.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let name = attempt_cookie_name(state);
    match id {
        Some(id) => format!(
            "{name}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={ATTEMPT_COOKIE_SECS}{secure}"
        ),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A 303 to `location`, with these cookies.
fn see_other(location: &str, cookies: &[String]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    for c in cookies {
        if let Ok(value) = HeaderValue::from_str(c) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    // The answer carries a session cookie or a provider's URL: no cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn failed(state: &AppState, failure: Failure) -> Response {
    see_other(
        &format!("/signin?oidc_error={}", failure.as_str()),
        &[attempt_cookie(state, None)],
    )
}

pub(super) async fn start(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
) -> Result<Response, ApiError> {
    Ok(match oidc::start(&state.ctx, client).await? {
        Ok(started) => see_other(
            &started.redirect,
            &[attempt_cookie(&state, Some(&started.attempt_id))],
        ),
        Err(failure) => failed(&state, failure),
    })
}

pub(super) async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    // Read by hand: providers add parameters of their own (`iss`,
    // `session_state`), which a strict query type would refuse.
    let mut callback = Callback::default();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match &*key {
            "code" => callback.code = Some(value.into_owned()),
            "state" => callback.state = Some(value.into_owned()),
            "error" => callback.error = Some(value.into_owned()),
            _ => {}
        }
    }
    let attempt = cookie(&headers, attempt_cookie_name(&state));
    Ok(match oidc::finish(&state.ctx, attempt, callback).await? {
        Ok(Finished::SignedIn(token)) => see_other(
            "/",
            &[
                attempt_cookie(&state, None),
                set_cookie(&state, SessionKind::Member, Some(token.expose())),
            ],
        ),
        // The token in the fragment, as in an invitation's e-mail: the
        // browser keeps it, no server log sees it.
        Ok(Finished::Enroll(token)) => {
            see_other(&format!("/enroll#{token}"), &[attempt_cookie(&state, None)])
        }
        Err(failure) => failed(&state, failure),
    })
}
