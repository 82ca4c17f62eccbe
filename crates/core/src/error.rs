use core::fmt;

/// Everything that can go wrong in the protocol core.
///
/// Deliberately coarse where detail would help an attacker: a wrong key, a
/// tampered byte and associated data from another place all give
/// [`Error::DecryptionFailed`]. Shape errors (lengths, versions) carry detail
/// because they are visible to anyone holding the blob anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Authentication failed: wrong key, tampered bytes, or a blob that belongs
    /// to another conversation, message, sender or purpose.
    DecryptionFailed,
    /// The blob names a protocol version this build does not speak.
    UnsupportedVersion {
        /// What kind of blob it was.
        what: &'static str,
        /// The version byte found.
        found: u8,
    },
    /// The blob is too short, too long or otherwise not of its format.
    Malformed {
        /// What kind of blob it was.
        what: &'static str,
        /// What was wrong, in words.
        reason: &'static str,
    },
    /// A link fragment could not be parsed.
    Link(LinkError),
    /// A recovery key was not of the printed form (`LKR1-XXXX-…`).
    InvalidRecoveryKey,
    /// Password registration or login did not complete (wrong password, or a
    /// corrupted message). Deliberately says no more.
    LoginFailed,
    /// A proof of holding an identity key did not verify: another key,
    /// handle or challenge, or altered bytes. Deliberately says no more.
    IdentityProofFailed,
}

/// Why a link fragment (`k1.<43 base64url characters>`) was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkError {
    /// It does not start with `k<digits>.`.
    WrongPrefix,
    /// It starts with `k<n>.` for a version other than 1.
    UnsupportedVersion(u32),
    /// The key part is not exactly 43 characters.
    WrongLength(usize),
    /// The key part contains a character outside `A–Z a–z 0–9 - _`.
    BadAlphabet,
    /// The last character carries bits that a 32-byte key cannot have.
    NonCanonical,
}

impl Error {
    /// A stable, machine-readable name for the error (used in test vectors and
    /// in API error bodies).
    pub fn code(&self) -> &'static str {
        match self {
            Error::DecryptionFailed => "decryption_failed",
            Error::UnsupportedVersion { .. } => "unsupported_version",
            Error::Malformed { .. } => "malformed",
            Error::Link(e) => e.code(),
            Error::InvalidRecoveryKey => "invalid_recovery_key",
            Error::LoginFailed => "login_failed",
            Error::IdentityProofFailed => "identity_proof_failed",
        }
    }
}

impl LinkError {
    /// A stable, machine-readable name for the error.
    pub fn code(&self) -> &'static str {
        match self {
            LinkError::WrongPrefix => "wrong_prefix",
            LinkError::UnsupportedVersion(_) => "unsupported_link_version",
            LinkError::WrongLength(_) => "wrong_length",
            LinkError::BadAlphabet => "bad_alphabet",
            LinkError::NonCanonical => "non_canonical",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::DecryptionFailed => f.write_str("decryption failed"),
            Error::UnsupportedVersion { what, found } => {
                write!(f, "unsupported {what} version {found}")
            }
            Error::Malformed { what, reason } => write!(f, "malformed {what}: {reason}"),
            Error::Link(e) => write!(f, "invalid link: {e}"),
            Error::InvalidRecoveryKey => f.write_str(
                "invalid recovery key: expected LKR1- followed by 32 letters and digits",
            ),
            Error::LoginFailed => f.write_str("password check failed"),
            Error::IdentityProofFailed => f.write_str("identity key proof failed"),
        }
    }
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::WrongPrefix => f.write_str("it does not start with k1."),
            LinkError::UnsupportedVersion(v) => {
                write!(f, "link version {v} is not supported (expected k1.)")
            }
            LinkError::WrongLength(n) => {
                write!(f, "the key part has {n} characters, expected 43")
            }
            LinkError::BadAlphabet => {
                f.write_str("the key part has a character outside A-Z a-z 0-9 - _")
            }
            LinkError::NonCanonical => f.write_str("the key part is not canonical base64url"),
        }
    }
}

impl std::error::Error for Error {}
impl std::error::Error for LinkError {}

impl From<LinkError> for Error {
    fn from(e: LinkError) -> Self {
        Error::Link(e)
    }
}
