//! The one error type of the HTTP layer. Every error is JSON
//! `{"error": code, "message": text}`; a 5xx says nothing about its cause,
//! which goes to the log instead.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::store::{StoreError, Unique};

/// An answer other than success.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after_secs: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with this status, machine-readable code and human message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422: well-formed, but a value is not acceptable.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 404.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 401: no (valid) session.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "not_signed_in", message)
    }

    /// 403: a session, but not for this.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        ApiError {
            retry_after_secs: Some(retry_after_secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "Too many requests. Try again in {} seconds.",
                    retry_after_secs.max(1)
                ),
            )
        }
    }

    /// 500. The cause is logged here and never shown.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on the server. Try again later.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(Body {
                error: self.code,
                message: &self.message,
            }),
        )
            .into_response();
        if let Some(secs) = self.retry_after_secs {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(Unique::Handle) => Self::new(
                StatusCode::CONFLICT,
                "handle_taken",
                "This handle is taken. Choose another.",
            ),
            StoreError::Conflict(Unique::Conversation) => Self::new(
                StatusCode::CONFLICT,
                "conversation_exists",
                "A conversation with this id exists. Make a new id.",
            ),
            StoreError::Conflict(Unique::MessageId) => Self::new(
                StatusCode::CONFLICT,
                "message_id_taken",
                "Another message has this id. Make a new id.",
            ),
            StoreError::Conflict(Unique::Grant) => Self::new(
                StatusCode::CONFLICT,
                "grant_exists",
                "This grant exists already. Make a new link.",
            ),
            StoreError::NotFound(what) => Self::not_found("not_found", format!("No such {what}.")),
            other => Self::internal(&other),
        }
    }
}
