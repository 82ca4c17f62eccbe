//! Unlocking the identity with a passkey (docs/protocol.md §4.9.1). WebAuthn's
//! `prf` extension gives the member's browser 32 bytes that only this
//! passkey, on its authenticator, can produce again for the same input
//! ([`PASSKEY_PRF_INPUT`]). They become a key-encryption key bound to the
//! member's handle and the credential id, so a sealed copy stored for one
//! passkey or one member cannot be opened as another's. The sealed identity
//! has the format of every other ([`crate::SealedIdentity`]).

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::kdf::KEK_PASSKEY;
use crate::secret::secret_bytes;
use crate::{Error, KeyEncryptionKey, PROTOCOL_VERSION};

/// What the browser asks the authenticator to evaluate:
/// `extensions: { prf: { eval: { first: PASSKEY_PRF_INPUT } } }`. WebAuthn
/// hashes it with its own context (`"WebAuthn PRF" || 0x00 || input`)
/// before the authenticator sees it.
pub const PASSKEY_PRF_INPUT: &[u8] = b"latchkey/v1/passkey-prf";

/// The longest credential id WebAuthn allows.
const MAX_CREDENTIAL_ID: usize = 1023;
const MAX_HANDLE: usize = 255;

secret_bytes! {
    /// The 32 bytes the authenticator's PRF returned (`prf.results.first`).
    /// Exists only in the member's Web Worker, for the moment of a sealing
    /// or an unlock.
    pub struct PasskeyPrfOutput([u8; 32]);
}

impl PasskeyPrfOutput {
    /// Takes the PRF result; anything but 32 bytes is `malformed`.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        <[u8; 32]>::try_from(bytes)
            .map(PasskeyPrfOutput)
            .map_err(|_| Error::Malformed {
                what: "passkey PRF output",
                reason: "expected 32 bytes",
            })
    }
}

impl KeyEncryptionKey {
    /// `HKDF-SHA256(salt = "latchkey/v1/passkey-kek", ikm = prf,
    /// info = "latchkey/v1/passkey-kek" || 0x00 || version ||
    /// u16(len handle) || handle || u16(len credential id) || credential id)`.
    /// `handle` is the canonical (lower-case) handle; the credential id is
    /// its raw bytes (1 to 1023), not its base64url text.
    #[allow(clippy::expect_used)] // a constant length, not input: cannot fail
    pub fn from_passkey(
        prf: &PasskeyPrfOutput,
        handle: &str,
        credential_id: &[u8],
    ) -> Result<Self, Error> {
        if handle.is_empty() || handle.len() > MAX_HANDLE {
            return Err(Error::Malformed {
                what: "passkey handle",
                reason: "expected 1 to 255 bytes",
            });
        }
        if credential_id.is_empty() || credential_id.len() > MAX_CREDENTIAL_ID {
            return Err(Error::Malformed {
                what: "passkey credential id",
                reason: "expected 1 to 1023 bytes",
            });
        }
        let mut info =
            Vec::with_capacity(KEK_PASSKEY.len() + 6 + handle.len() + credential_id.len());
        info.extend_from_slice(KEK_PASSKEY.as_bytes());
        info.push(0);
        info.push(PROTOCOL_VERSION);
        for field in [handle.as_bytes(), credential_id] {
            // Both lengths were checked above to fit.
            let len = u16::try_from(field.len()).unwrap_or(u16::MAX);
            info.extend_from_slice(&len.to_be_bytes());
            info.extend_from_slice(field);
        }
        let mut okm = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(KEK_PASSKEY.as_bytes()), &prf.0)
            .expand(&info, okm.as_mut())
            .expect("32 bytes is within HKDF-SHA256's output limit of 8160");
        Ok(KeyEncryptionKey(*okm))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IdentitySecret, OsRng};

    #[test]
    fn a_copy_opens_only_for_its_own_credential_and_handle() {
        let prf = PasskeyPrfOutput([7; 32]);
        let identity = IdentitySecret::generate(&mut OsRng);
        let kek = KeyEncryptionKey::from_passkey(&prf, "ann", b"cred-1").unwrap();
        let sealed = kek.seal_identity(&mut OsRng, &identity);
        assert!(kek.open_identity(&sealed, &identity.public()).is_ok());
        for (handle, cred) in [
            ("ann", &b"cred-2"[..]),
            ("bob", b"cred-1"),
            ("an", b"ncred-1"),
        ] {
            let other = KeyEncryptionKey::from_passkey(&prf, handle, cred).unwrap();
            assert!(other.open_identity(&sealed, &identity.public()).is_err());
        }
        let other_prf =
            KeyEncryptionKey::from_passkey(&PasskeyPrfOutput([8; 32]), "ann", b"cred-1").unwrap();
        assert!(other_prf
            .open_identity(&sealed, &identity.public())
            .is_err());
    }

    #[test]
    fn bad_lengths_are_malformed() {
        let prf = PasskeyPrfOutput([7; 32]);
        assert!(KeyEncryptionKey::from_passkey(&prf, "", b"c").is_err());
        assert!(KeyEncryptionKey::from_passkey(&prf, "ann", b"").is_err());
        assert!(KeyEncryptionKey::from_passkey(&prf, "ann", &[0; 1024]).is_err());
        assert!(PasskeyPrfOutput::from_slice(&[0; 31]).is_err());
    }
}
