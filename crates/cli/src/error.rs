//! One error type for every command, and the exit code each kind of
//! failure leaves for scripts.

use latchkey_client::ClientError;
use latchkey_server::app::StartError;
use latchkey_server::config::ConfigError;
use latchkey_server::secrets::SecretsError;
use latchkey_server::store::StoreError;

/// Exit codes, for `--help` and the README.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  any other failure (the server stopped with an error, a migration failed,
     an answer broke the protocol or did not decrypt, doctor found a problem)
  2  usage: bad arguments, a malformed conversation id, link or server address
  3  configuration: an unknown LATCHKEY_ variable or key, a bad value, a missing,
     misplaced or existing secrets file, bad mail settings
  4  authentication failed: wrong handle, password, recovery key,
     registration code, or (open) not the address the link was sent to
  5  the server refused the request (a used or expired link, a rate limit, ...)
  6  the server (or, for serve and migrate, the database) could not be reached
  7  local input/output: reading the terminal or standard input, files, the
     listening port";

/// Why a command failed. Displayed after `error: `; never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line asks for something impossible.
    #[error("{0}")]
    Usage(String),
    /// The configuration, or a file it names, is unusable.
    #[error(transparent)]
    Config(Box<dyn std::error::Error + Send + Sync>),
    /// Wrong handle, password, recovery key or registration code, or a
    /// link opened with another address than the one it was sent to.
    #[error(transparent)]
    Auth(ClientError),
    /// The server answered with an error.
    #[error(transparent)]
    Refused(ClientError),
    /// The server or the database did not answer.
    #[error(transparent)]
    Unreachable(Box<dyn std::error::Error + Send + Sync>),
    /// The terminal, standard input or a local file failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, e.g. "cannot read the password".
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Anything else.
    #[error(transparent)]
    Failed(Box<dyn std::error::Error + Send + Sync>),
}

impl CliError {
    /// The process exit code (see [`EXIT_CODES`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Failed(_) => 1,
            CliError::Usage(_) => 2,
            CliError::Config(_) => 3,
            CliError::Auth(_) => 4,
            CliError::Refused(_) => 5,
            CliError::Unreachable(_) => 6,
            CliError::Io { .. } => 7,
        }
    }

    /// A local I/O failure while doing `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let what = what.into();
        move |source| CliError::Io { what, source }
    }
}

impl From<ClientError> for CliError {
    fn from(error: ClientError) -> Self {
        match &error {
            ClientError::LoginFailed => CliError::Auth(error),
            ClientError::Api {
                status: 401 | 403, ..
            } => CliError::Auth(error),
            ClientError::Api { .. } => CliError::Refused(error),
            ClientError::Http(e) if e.is_connect() || e.is_timeout() || e.is_request() => {
                CliError::Unreachable(Box::new(error))
            }
            ClientError::Usage(message) => CliError::Usage(message.clone()),
            _ => CliError::Failed(Box::new(error)),
        }
    }
}

impl From<ConfigError> for CliError {
    fn from(error: ConfigError) -> Self {
        CliError::Config(Box::new(error))
    }
}

impl From<SecretsError> for CliError {
    fn from(error: SecretsError) -> Self {
        match error {
            SecretsError::Io { path, source } => CliError::Io {
                what: path.display().to_string(),
                source,
            },
            other => CliError::Config(Box::new(other)),
        }
    }
}

impl From<StoreError> for CliError {
    fn from(error: StoreError) -> Self {
        match &error {
            StoreError::UnsupportedUrl => CliError::Config(Box::new(error)),
            _ if is_connection_failure(&error) => CliError::Unreachable(Box::new(error)),
            _ => CliError::Failed(Box::new(error)),
        }
    }
}

impl From<StartError> for CliError {
    fn from(error: StartError) -> Self {
        match error {
            StartError::Config(e) => e.into(),
            StartError::Secrets(e) => e.into(),
            StartError::Store(e) => e.into(),
            StartError::Mail(_) => CliError::Config(Box::new(error)),
            StartError::Io(source) => CliError::Io {
                what: "listener".into(),
                source,
            },
        }
    }
}

/// Whether an error comes from a connection that could not be made.
fn is_connection_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::TimedOut
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkUnreachable
                    | ErrorKind::AddrNotAvailable
            );
        }
        cause = e.source();
    }
    false
}
