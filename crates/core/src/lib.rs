//! The latchkey protocol: every key, link and ciphertext, with no I/O.
//!
//! A member of a website and a guest who has only an e-mail address exchange
//! end-to-end-encrypted messages. This crate holds all of the cryptography,
//! compiled natively (server, CLI, tests) and to WebAssembly (browser). The
//! byte-level specification is `docs/protocol.md`; this crate is its reference
//! implementation, pinned by the shared vectors in `tests/vectors/`.
//!
//! The pieces, in the order a conversation uses them:
//!
//! - [`IdentitySecret`] / [`IdentityPublic`]: a member's X25519 key pair, with
//!   a [`Fingerprint`] short enough to read aloud; at registration the member
//!   proves he holds the secret half ([`IdentitySecret::prove`] against the
//!   server's [`IdentityChallenge`]).
//! - [`ConversationKey`]: 32 random bytes per conversation. It reaches the
//!   member sealed with HPKE ([`ConversationKey::seal_to_member`]) and the guest
//!   wrapped under a one-time link ([`LinkKey::wrap`]).
//! - [`Message`]: the versioned, padded plaintext; encrypted with
//!   [`ConversationKey::encrypt_message`], bound to its place by [`MessageContext`].
//! - [`LinkKey`]: the secret in the e-mailed link's fragment (`#k1.…`), from which
//!   the browser derives the [`GrantId`] it shows the server.
//! - [`KeyEncryptionKey`] and [`RecoveryKey`]: protect a member's identity secret
//!   under the password (via OPAQUE's export key), a printed recovery key, or a
//!   passkey's WebAuthn PRF output ([`PasskeyPrfOutput`]).
//! - [`opaque`] (feature `opaque`): password registration and login where the
//!   server never sees the password.
//! - [`server`] (feature `server`): the server's own sealing and blind index,
//!   keyed from one root secret.
//! - [`webhook`] (feature `server`): each webhook endpoint's signing secret,
//!   derived from the root secret, and the Standard Webhooks signature.
//! - [`epoch`] (feature `server`): the epoch keys that seal stored grants a
//!   second time, erased on a schedule so old database copies open nothing.
//!
//! Every function that needs randomness takes it as an argument; pass
//! [`OsRng`]. Every blob starts with a version byte. Every decryption failure is
//! the one coarse [`Error::DecryptionFailed`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod aead;
mod conversation;
mod encoding;
#[cfg(feature = "server")]
pub mod epoch;
mod error;
mod fingerprint;
mod identity;
mod identity_proof;
mod ids;
mod kdf;
mod keyprotect;
mod link;
mod message;
#[cfg(feature = "opaque")]
pub mod opaque;
mod passkey;
mod secret;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "testkit")]
pub mod testkit;
#[cfg(feature = "server")]
pub mod webhook;

pub use conversation::{check_message_ciphertext, ConversationKey, SealedConversationKey};
pub use error::{Error, LinkError};
pub use fingerprint::Fingerprint;
pub use identity::{IdentityPublic, IdentitySecret};
pub use identity_proof::{IdentityChallenge, IdentityChallengePublic, IdentityProof};
pub use ids::{ConversationId, MessageId, Role};
pub use keyprotect::{KeyEncryptionKey, RecoveryKey, SealedIdentity};
pub use link::{GrantId, LinkKey, WrappedConversationKey};
pub use message::{GuestIntroduction, Message, MessageContext};
pub use passkey::{PasskeyPrfOutput, PASSKEY_PRF_INPUT};
pub use rand_core::{CryptoRng, OsRng, RngCore};

/// The one protocol version this crate speaks. It is the first byte of every
/// blob and the digit in the link prefix `k1.`.
pub const PROTOCOL_VERSION: u8 = 1;
