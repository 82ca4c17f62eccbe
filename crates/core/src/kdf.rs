//! Every client-side derivation in the protocol: HKDF-SHA256 with an empty
//! salt and a fixed, versioned label as `info`, and the client-side
//! associated-data labels. (The server's own labels are in `server.rs`, the
//! OPAQUE context in `opaque.rs`.) `docs/protocol.md` lists them all.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

pub(crate) const MESSAGE_KEY: &str = "latchkey/v1/message-key";
pub(crate) const GRANT_ID: &str = "latchkey/v1/grant-id";
pub(crate) const GRANT_WRAP: &str = "latchkey/v1/grant-wrap";
#[cfg(feature = "opaque")]
pub(crate) const KEK_PASSWORD: &str = "latchkey/v1/kek/password";
pub(crate) const KEK_RECOVERY: &str = "latchkey/v1/kek/recovery";
pub(crate) const RECOVERY_PROOF: &str = "latchkey/v1/recovery-proof";
/// HKDF salt and info label of a passkey's KEK (the only derivation with a
/// salt: see `passkey.rs`).
pub(crate) const KEK_PASSKEY: &str = "latchkey/v1/passkey-kek";
/// HKDF info of the identity-proof key, and the AD label of its transcript.
pub(crate) const IDENTITY_PROOF: &str = "latchkey/v1/identity-proof";

/// Associated-data labels (see [`crate::encoding::associated_data`]).
pub(crate) const AD_MESSAGE: &str = "latchkey/v1/message";
pub(crate) const AD_GRANT: &str = "latchkey/v1/grant";
pub(crate) const AD_IDENTITY: &str = "latchkey/v1/identity";
/// HPKE `info` when sealing a conversation key to a member; also the label of
/// its associated data.
pub(crate) const HPKE_INFO_CONVERSATION_KEY: &str = "latchkey/v1/conversation-key";
/// Prefix hashed with a public key to make its fingerprint.
pub(crate) const FINGERPRINT: &str = "latchkey/v1/fingerprint";

/// HKDF-SHA256(salt = none, ikm, info = label) → 32 bytes.
#[allow(clippy::expect_used)] // a constant length, not input: cannot fail
pub(crate) fn derive32(ikm: &[u8], label: &str) -> Zeroizing<[u8; 32]> {
    let mut okm = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(None, ikm)
        .expand(label.as_bytes(), okm.as_mut())
        .expect("32 bytes is within HKDF-SHA256's output limit of 8160");
    okm
}
