//! Request extractors whose rejections speak our error format, and the
//! sessions a request carries. The client's address is in `client_ip`.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use latchkey_api::{tagged_field_error, ErrorCode};
use serde::de::DeserializeOwned;

pub use super::client_ip::ClientIp;
use super::error::ApiError;
use super::AppState;
use crate::domain::access::Participant;
use crate::domain::sessions::{self, token_hash, SessionKind};
use crate::store::{MemberId, Session, SessionOwner};

/// A serde error as an answer: a field that broke its rule (its message
/// tagged by the contract crate) answers with that rule's code, anything
/// else with `fallback`.
fn field_error(fallback: ErrorCode, what: &str, path: &str, message: &str) -> ApiError {
    match tagged_field_error(message) {
        Some((code, text)) => ApiError::new(code, text.to_owned()),
        None if path.is_empty() || path == "." => ApiError::new(
            fallback,
            format!("{what} does not fit this request: {message}"),
        ),
        None => ApiError::new(
            fallback,
            format!("{what} does not fit this request: {path}: {message}"),
        ),
    }
}

/// serde_json puts the position after the message; the position is noise
/// to a client that sent one line of JSON.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// A JSON body; malformed JSON is 400, a wrong type or value 422 (with the
/// field rule's own code where it has one), a missing content type 415 and
/// an oversized body 413, each with a message naming what was wrong.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::new(
                ErrorCode::NotJson,
                "Send the body as JSON with Content-Type: application/json.",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e: BytesRejection| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        ErrorCode::BodyTooLarge,
                        "The request body is larger than this server accepts.",
                    )
                } else {
                    ApiError::new(ErrorCode::UnreadableBody, e.body_text())
                }
            })?;
        let reject = |path: &str, inner: serde_json::Error| {
            let message = without_position(&inner);
            match inner.classify() {
                serde_json::error::Category::Data => {
                    field_error(ErrorCode::InvalidField, "The body", path, &message)
                }
                _ => ApiError::new(
                    ErrorCode::MalformedJson,
                    format!("The body is not valid JSON: {message}"),
                ),
            }
        };
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|e| reject(&e.path().to_string(), e.into_inner()))?;
        deserializer.end().map_err(|e| reject("", e))?;
        Ok(ApiJson(value))
    }
}

/// A path parameter; a malformed one is 400, one that breaks a field rule
/// (a handle) answers with that rule's code.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e: PathRejection| {
                let text = e.body_text();
                let tagged = text.find('[').and_then(|at| text.get(at..));
                match tagged.and_then(tagged_field_error) {
                    Some((code, text)) => ApiError::new(code, text.to_owned()),
                    None => ApiError::new(ErrorCode::InvalidPath, text),
                }
            })
    }
}

/// A query string; a malformed one is 400.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e: QueryRejection| ApiError::new(ErrorCode::InvalidQuery, e.body_text()))
    }
}

/// Cookie names. With `Secure`, the `__Host-` prefix also pins the cookie
/// to this host and path `/`.
pub fn cookie_name(state: &AppState, kind: SessionKind) -> &'static str {
    match (state.ctx.config.secure_cookies(), kind) {
        (true, SessionKind::Member) => "__Host-latchkey-member",
        (true, SessionKind::Guest) => "__Host-latchkey-guest",
        (false, SessionKind::Member) => "latchkey-member",
        (false, SessionKind::Guest) => "latchkey-guest",
    }
}

/// `Set-Cookie` value for a new session (or, with `None`, one that clears it).
pub fn set_cookie(state: &AppState, kind: SessionKind, token: Option<&str>) -> String {
    let secure = if state.ctx.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    match token {
        Some(token) => format!(
            "{}={token}; Path=/; HttpOnly; SameSite=Strict{secure}",
            cookie_name(state, kind)
        ),
        None => format!(
            "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}",
            cookie_name(state, kind)
        ),
    }
}

fn cookie_value<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Cookie-authenticated writes must come from our own origin: SameSite is
/// the first defence against cross-site requests, this the second.
fn check_origin(parts: &Parts, state: &AppState) -> Result<(), ApiError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    if origin == Some(&*state.origin) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::BadOrigin,
            "This request must come from the site's own pages (the Origin header does not match).",
        ))
    }
}

async fn session(parts: &Parts, state: &AppState, kind: SessionKind) -> Result<Session, ApiError> {
    let Some(token) = cookie_value(parts, cookie_name(state, kind)) else {
        return Err(sessions::missing(kind).into());
    };
    check_origin(parts, state)?;
    Ok(sessions::authenticate(&state.ctx, token, kind).await?)
}

/// A signed-in member and the session that proves it.
#[derive(Debug)]
pub struct MemberSession {
    /// Who.
    pub member: MemberId,
    /// The session (its sign-in time matters for a password change).
    pub session: Session,
}

impl FromRequestParts<AppState> for MemberSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let session = session(parts, state, SessionKind::Member).await?;
        match session.owner {
            SessionOwner::Member(member) => Ok(MemberSession { member, session }),
            SessionOwner::Guest(_) => Err(sessions::missing(SessionKind::Member).into()),
        }
    }
}

/// The session of whoever acts on a conversation: its member, or its guest.
#[derive(Debug)]
pub struct ParticipantSession(pub Session);

impl ParticipantSession {
    /// Who, without the session.
    pub fn who(&self) -> Participant {
        Participant::from(&self.0)
    }
}

impl FromRequestParts<AppState> for ParticipantSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // A browser may hold both cookies (a member testing his own contact
        // page); the member session wins if it is valid. A write from
        // another origin is refused whichever cookie it carries.
        if cookie_value(parts, cookie_name(state, SessionKind::Member)).is_some() {
            check_origin(parts, state)?;
            if let Ok(s) = session(parts, state, SessionKind::Member).await {
                if let SessionOwner::Member(_) = s.owner {
                    return Ok(ParticipantSession(s));
                }
            }
        }
        Ok(ParticipantSession(
            session(parts, state, SessionKind::Guest).await?,
        ))
    }
}

/// Whatever session cookies a request carries, for signing out. A write
/// that carries any must come from our origin.
#[derive(Debug)]
pub struct SessionCookies {
    /// Token hashes of the member and guest cookies present.
    pub token_hashes: Vec<Vec<u8>>,
}

impl FromRequestParts<AppState> for SessionCookies {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token_hashes: Vec<Vec<u8>> = [SessionKind::Member, SessionKind::Guest]
            .into_iter()
            .filter_map(|kind| cookie_value(parts, cookie_name(state, kind)))
            .map(token_hash)
            .collect();
        if !token_hashes.is_empty() {
            check_origin(parts, state)?;
        }
        Ok(SessionCookies { token_hashes })
    }
}
