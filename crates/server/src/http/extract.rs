//! Request extractors whose rejections speak our error format, the wire
//! types for bytes, and sessions from cookies.

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use base64ct::{Base64UrlUnpadded, Encoding};
use latchkey_core::{ConversationId, MessageId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::AppState;
use crate::store::{MemberId, Session, SessionOwner, Timestamp};

/// A JSON body; malformed JSON is 400, a wrong type or value 422, a missing
/// content type 415 and an oversized body 413, each with a message naming
/// what was wrong.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
                    "malformed_json",
                    format!("The body is not valid JSON: {}", e.body_text()),
                ),
                JsonRejection::JsonDataError(e) => ApiError::invalid(
                    "invalid_field",
                    format!("The body does not fit this request: {}", e.body_text()),
                ),
                JsonRejection::MissingJsonContentType(_) => ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "not_json",
                    "Send the body as JSON with Content-Type: application/json.",
                ),
                JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body_too_large",
                        "The request body is larger than this server accepts.",
                    )
                }
                other => ApiError::bad_request("unreadable_body", other.body_text()),
            }),
        }
    }
}

/// A path parameter; a malformed one is 400.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e: PathRejection| ApiError::bad_request("invalid_path", e.body_text()))
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
            .map_err(|e: QueryRejection| ApiError::bad_request("invalid_query", e.body_text()))
    }
}

/// Bytes on the wire: unpadded base64url, as in links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct B64(pub Vec<u8>);

impl Serialize for B64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&Base64UrlUnpadded::encode_string(&self.0))
    }
}

impl<'de> Deserialize<'de> for B64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Base64UrlUnpadded::decode_vec(&text)
            .map(B64)
            .map_err(|_| serde::de::Error::custom("not unpadded base64url"))
    }
}

/// A 16-byte id (conversation, message) as 32 lower-case hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Id(pub String);

impl Id {
    /// Checks the text form.
    pub fn parse(text: &str) -> Option<Id> {
        (text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Id(text.to_owned()))
    }

    /// As a conversation id. Every `Id` is one (32 hex digits); the error
    /// is for the type system only.
    pub fn conversation(&self) -> Result<ConversationId, ApiError> {
        self.0
            .parse()
            .map_err(|_| ApiError::bad_request("invalid_id", "An id is 32 hexadecimal digits."))
    }

    /// As a message id (see [`Id::conversation`]).
    pub fn message(&self) -> Result<MessageId, ApiError> {
        self.0
            .parse()
            .map_err(|_| ApiError::bad_request("invalid_id", "An id is 32 hexadecimal digits."))
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Id::parse(&text)
            .ok_or_else(|| serde::de::Error::custom("an id is 32 lower-case hexadecimal digits"))
    }
}

/// Cookie names. With `Secure`, the `__Host-` prefix also pins the cookie
/// to this host and path `/`.
pub fn cookie_name(state: &AppState, kind: SessionKind) -> &'static str {
    match (state.config.secure_cookies(), kind) {
        (true, SessionKind::Member) => "__Host-latchkey-member",
        (true, SessionKind::Guest) => "__Host-latchkey-guest",
        (false, SessionKind::Member) => "latchkey-member",
        (false, SessionKind::Guest) => "latchkey-guest",
    }
}

/// The two kinds of session cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// A member's.
    Member,
    /// A guest's, for one conversation.
    Guest,
}

/// `Set-Cookie` value for a new session (or, with `None`, one that clears it).
pub fn set_cookie(state: &AppState, kind: SessionKind, token: Option<&str>) -> String {
    let secure = if state.config.secure_cookies() {
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

/// SHA-256 of a session token, as stored.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
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
        Err(ApiError::forbidden(
            "bad_origin",
            "This request must come from the site's own pages (the Origin header does not match).",
        ))
    }
}

async fn session(parts: &Parts, state: &AppState, kind: SessionKind) -> Result<Session, ApiError> {
    let Some(token) = cookie_value(parts, cookie_name(state, kind)) else {
        return Err(ApiError::unauthorized(match kind {
            SessionKind::Member => "Sign in first.",
            SessionKind::Guest => "Open your link first: this needs a guest session.",
        }));
    };
    check_origin(parts, state)?;
    state
        .store
        .touch_session(&token_hash(token), Timestamp::now())
        .await?
        .ok_or_else(|| {
            ApiError::unauthorized(match kind {
                SessionKind::Member => "Your session has ended. Sign in again.",
                SessionKind::Guest => "Your session has ended. Ask for a new link.",
            })
        })
}

/// A signed-in member.
#[derive(Debug)]
pub struct MemberSession {
    /// The member's internal id.
    pub member_id: MemberId,
    /// The session's token hash.
    pub token_hash: Vec<u8>,
    /// When he signed in.
    pub created_at: i64,
}

impl FromRequestParts<AppState> for MemberSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let s = session(parts, state, SessionKind::Member).await?;
        match s.owner {
            SessionOwner::Member(member_id) => Ok(MemberSession {
                member_id,
                token_hash: s.token_hash,
                created_at: s.created_at.as_ms(),
            }),
            SessionOwner::Guest(_) => Err(ApiError::unauthorized("Sign in first.")),
        }
    }
}

/// Whoever may act on a conversation: its member, or its guest.
#[derive(Debug)]
pub enum Participant {
    /// A signed-in member (any conversation; ownership checked later).
    Member(MemberId),
    /// A guest, for this one conversation.
    Guest(ConversationId),
}

/// A [`Participant`] with the token hash of the session that proved it
/// (for per-session budgets).
#[derive(Debug)]
pub struct ParticipantSession {
    /// Who.
    pub who: Participant,
    /// SHA-256 of the session token.
    pub token_hash: Vec<u8>,
}

impl FromRequestParts<AppState> for Participant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(ParticipantSession::from_request_parts(parts, state)
            .await?
            .who)
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
                if let SessionOwner::Member(id) = s.owner {
                    return Ok(ParticipantSession {
                        who: Participant::Member(id),
                        token_hash: s.token_hash,
                    });
                }
            }
        }
        let s = session(parts, state, SessionKind::Guest).await?;
        let who = match s.owner {
            SessionOwner::Guest(conversation) => Participant::Guest(conversation),
            SessionOwner::Member(id) => Participant::Member(id),
        };
        Ok(ParticipantSession {
            who,
            token_hash: s.token_hash,
        })
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

/// The client's address, for rate limits.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(name) = &state.config.client_ip_header {
            // The last entry is the one our own proxy appended; the earlier
            // ones are whatever the client chose to send.
            let forwarded = parts
                .headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok());
            if let Some(ip) = forwarded {
                return Ok(ClientIp::budget_key(ip));
            }
        }
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| ClientIp::budget_key(addr.ip()))
            .ok_or_else(|| ApiError::internal(&"no peer address on the request"))
    }
}

impl ClientIp {
    /// One budget per IPv4 address, and per IPv6 /64: one subscriber
    /// usually holds a whole /64.
    fn budget_key(ip: IpAddr) -> ClientIp {
        match ip {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
                let mut octets = v6.octets();
                for b in octets.iter_mut().skip(8) {
                    *b = 0;
                }
                ClientIp(IpAddr::from(octets))
            }
            IpAddr::V6(v6) => ClientIp(v6.to_ipv4_mapped().map_or(ip, IpAddr::V4)),
            v4 => ClientIp(v4),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn bytes_round_trip_as_base64url(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let json = serde_json::to_string(&B64(bytes.clone())).unwrap();
            let back: B64 = serde_json::from_str(&json).unwrap();
            proptest::prop_assert_eq!(back.0, bytes);
        }

        #[test]
        fn any_string_is_judged_as_bytes_or_refused(text in "\\PC*") {
            let json = serde_json::to_string(&text).unwrap();
            let _ = serde_json::from_str::<B64>(&json);
            if let Ok(id) = serde_json::from_str::<Id>(&json) {
                proptest::prop_assert_eq!(id.0.len(), 32);
            }
        }
    }

    #[test]
    fn ipv6_clients_share_a_budget_per_64() {
        let a = ClientIp::budget_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = ClientIp::budget_key("2001:db8:1:2:bbbb::9".parse().unwrap());
        let c = ClientIp::budget_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a.0, b.0);
        assert_ne!(a.0, c.0);
        let mapped = ClientIp::budget_key("::ffff:192.0.2.7".parse().unwrap());
        assert_eq!(mapped.0.to_string(), "192.0.2.7");
    }

    #[test]
    fn ids_are_32_lower_case_hex_digits() {
        assert!(Id::parse(&"a".repeat(32)).is_some());
        for bad in [
            "",
            "A".repeat(32).as_str(),
            &"a".repeat(31),
            &"g".repeat(32),
        ] {
            assert!(Id::parse(bad).is_none(), "{bad}");
        }
    }
}
