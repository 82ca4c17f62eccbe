//! The one error type of the domain layer: an API error code (the
//! contract's [`ErrorCode`], so every code the server can answer is in one
//! enum) and a message a person can act on. An internal failure is logged
//! where it happens and says nothing about its cause.

use std::borrow::Cow;

use latchkey_api::ErrorCode;

use crate::store::{StoreError, Unique};

/// Why the domain refused or failed.
#[derive(Debug)]
pub struct DomainError {
    code: ErrorCode,
    message: Cow<'static, str>,
    retry_after_secs: Option<u64>,
}

impl DomainError {
    /// A refusal with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> DomainError {
        DomainError {
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// Over a budget: try again in `secs` seconds.
    pub fn rate_limited(secs: u64) -> DomainError {
        let secs = secs.max(1);
        DomainError {
            retry_after_secs: Some(secs),
            ..DomainError::new(
                ErrorCode::RateLimited,
                format!("Too many requests. Try again in {secs} seconds."),
            )
        }
    }

    /// The server failed. The cause goes to the log, never to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> DomainError {
        tracing::error!(error = %cause, "internal error");
        DomainError::new(
            ErrorCode::Internal,
            "Something went wrong on the server. Try again later.",
        )
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Seconds to wait, for a budget refusal.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after_secs
    }
}

impl std::fmt::Display for DomainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for DomainError {}

/// Constraint violations become the conflicts a client can act on, in this
/// one place.
impl From<StoreError> for DomainError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(Unique::Handle) => DomainError::new(
                ErrorCode::HandleTaken,
                "This handle is taken. Choose another.",
            ),
            StoreError::Conflict(Unique::IdentityKey) => DomainError::new(
                ErrorCode::IdentityKeyTaken,
                "Another member has this identity key: one key belongs to one member.",
            ),
            StoreError::Conflict(Unique::Conversation) => DomainError::new(
                ErrorCode::ConversationExists,
                "A conversation with this id exists. Make a new id.",
            ),
            StoreError::Conflict(Unique::MessageId) => DomainError::new(
                ErrorCode::MessageIdTaken,
                "Another message has this id. Make a new id.",
            ),
            StoreError::Conflict(Unique::Grant) => DomainError::new(
                ErrorCode::GrantExists,
                "This grant exists already. Make a new link.",
            ),
            StoreError::Conflict(Unique::Passkey) => DomainError::new(
                ErrorCode::PasskeyExists,
                "This passkey unlocks your key already.",
            ),
            StoreError::NotFound(what) => {
                DomainError::new(ErrorCode::NotFound, format!("No such {what}."))
            }
            other => DomainError::internal(&other),
        }
    }
}
