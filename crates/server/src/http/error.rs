//! The one error type of the HTTP layer. Every error is JSON
//! `{"error": code, "message": text}` with the status its code has in the
//! contract; a 5xx says nothing about its cause, which goes to the log.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_api::{ErrorBody, ErrorCode};

use crate::domain::DomainError;

/// An answer other than success.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    /// An error with this code and a message saying what to fix.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// 500. The cause is logged here and never shown.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        DomainError::internal(cause).into()
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        ApiError {
            code: error.code(),
            message: error.message().to_owned(),
            retry_after_secs: error.retry_after_secs(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (
            status,
            Json(ErrorBody {
                error: self.code.as_str().to_owned(),
                message: self.message,
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
