//! The language a request asks for: the `lang` cookie (the pages'
//! switcher), else `Accept-Language`, else English (`crate::i18n`). Pages
//! are served in it, and the guest's and member's e-mails remember it.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use crate::i18n::{cookie_value, Language};

/// The request's language. Never refuses a request: anything unreadable
/// counts as not said.
#[derive(Clone, Copy, Debug)]
pub struct RequestLanguage(pub Language);

impl RequestLanguage {
    /// The language `headers` ask for.
    pub fn of(headers: &HeaderMap) -> Language {
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| cookie_value(v, "lang"));
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        Language::negotiate(cookie, accept)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestLanguage {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestLanguage(RequestLanguage::of(&parts.headers)))
    }
}
