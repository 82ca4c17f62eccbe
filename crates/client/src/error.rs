//! The client's one error type.

/// What went wrong, from the caller's point of view.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error (its code and message).
    #[error("{message} ({status} {code})")]
    Api {
        /// HTTP status.
        status: u16,
        /// Machine-readable code, e.g. `link_used`.
        code: String,
        /// The server's explanation.
        message: String,
    },
    /// Wrong handle or password: the client could not finish the login, or
    /// the server refused its proof. The two are indistinguishable on
    /// purpose (no account enumeration).
    #[error("wrong handle or password")]
    LoginFailed,
    /// The server could not be reached or answered something unreadable.
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    /// A cryptographic check failed (wrong password, tampered data, ...).
    #[error("{0}")]
    Crypto(#[from] latchkey_core::Error),
    /// The server's answer breaks the protocol.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The caller asked for something impossible (bad link, bad address).
    #[error("{0}")]
    Usage(String),
}

impl ClientError {
    /// The server's error code, if this is an API error.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status, if this is an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A handle, address or name the contract's rule refuses: the caller's to
/// fix, with the rule's own words.
impl From<latchkey_api::FieldError> for ClientError {
    fn from(error: latchkey_api::FieldError) -> Self {
        ClientError::Usage(error.message.to_owned())
    }
}
