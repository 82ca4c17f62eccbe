//! Protecting a member's identity secret at rest: sealed under a
//! key-encryption key (KEK) that comes either from the password (OPAQUE's
//! export key) or from a printed recovery key. Changing the password re-seals
//! the same identity secret; no message is touched.

use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::encoding::{associated_data, base32_decode, base32_encode, check_blob};
use crate::kdf::{derive32, AD_IDENTITY, KEK_RECOVERY, RECOVERY_PROOF};
use crate::secret::secret_bytes;
use crate::{aead, Error, IdentityPublic, IdentitySecret};

secret_bytes! {
    /// Seals and unseals a member's [`IdentitySecret`]. Exists only in the
    /// member's browser or CLI memory.
    pub struct KeyEncryptionKey([u8; 32]);
}

secret_bytes! {
    /// 160 random bits, shown once at registration as
    /// `LKR1-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX` (Crockford base32), which
    /// unseal the identity secret when the password is lost.
    pub struct RecoveryKey([u8; 20]);
}

const SEALED_WHAT: &str = "sealed identity";
const SEALED_LEN: usize = aead::OVERHEAD + 32;
const RECOVERY_PREFIX: &str = "LKR1";

impl KeyEncryptionKey {
    /// `HKDF(export_key, "latchkey/v1/kek/password")`.
    #[cfg(feature = "opaque")]
    pub fn from_export_key(export_key: &crate::opaque::ExportKey) -> Self {
        KeyEncryptionKey(*derive32(&export_key.0, crate::kdf::KEK_PASSWORD))
    }

    /// `HKDF(recovery key, "latchkey/v1/kek/recovery")`.
    pub fn from_recovery_key(recovery: &RecoveryKey) -> Self {
        KeyEncryptionKey(*derive32(&recovery.0, KEK_RECOVERY))
    }

    /// Seals the identity secret, bound to its own public key.
    pub fn seal_identity(
        &self,
        rng: &mut (impl CryptoRng + RngCore),
        identity: &IdentitySecret,
    ) -> SealedIdentity {
        let mut nonce = [0u8; aead::NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        self.seal_identity_with_nonce(&nonce, identity)
    }

    pub(crate) fn seal_identity_with_nonce(
        &self,
        nonce: &[u8; aead::NONCE_LEN],
        identity: &IdentitySecret,
    ) -> SealedIdentity {
        let public = identity.public();
        SealedIdentity(aead::seal_with_nonce(
            &self.0,
            nonce,
            &identity_ad(&public),
            identity.to_bytes().as_ref(),
        ))
    }

    /// Unseals an identity secret, which must belong to `expected` (the public
    /// key on record); a swapped or altered blob fails.
    pub fn open_identity(
        &self,
        sealed: &SealedIdentity,
        expected: &IdentityPublic,
    ) -> Result<IdentitySecret, Error> {
        let plaintext = aead::open(&self.0, SEALED_WHAT, &identity_ad(expected), &sealed.0)?;
        let identity = IdentitySecret::from_bytes(&plaintext)?;
        if identity.public() != *expected {
            return Err(Error::DecryptionFailed);
        }
        Ok(identity)
    }
}

fn identity_ad(public: &IdentityPublic) -> Vec<u8> {
    associated_data(AD_IDENTITY, &[public.as_bytes()])
}

impl RecoveryKey {
    /// A fresh recovery key.
    pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
        let mut key = RecoveryKey([0u8; 20]);
        rng.fill_bytes(&mut key.0);
        key
    }

    /// The printable form, to show once. This is the secret itself.
    pub fn expose_printable(&self) -> Zeroizing<String> {
        let body = Zeroizing::new(base32_encode(&self.0));
        let mut out = Zeroizing::new(String::with_capacity(RECOVERY_PREFIX.len() + 40));
        out.push_str(RECOVERY_PREFIX);
        for group in body.as_bytes().chunks(4) {
            out.push('-');
            out.extend(group.iter().map(|&b| char::from(b)));
        }
        out
    }

    /// What proves to the server that the client holds this recovery key,
    /// without giving the key away: `HKDF(key, "latchkey/v1/recovery-proof")`.
    /// The server stores only its SHA-256, so the stored value proves
    /// nothing, and the proof opens nothing (the KEK comes from another
    /// label).
    pub fn proof(&self) -> Zeroizing<[u8; 32]> {
        derive32(&self.0, RECOVERY_PROOF)
    }

    /// Parses what a person typed back: case, spaces and hyphens are ignored,
    /// and Crockford's look-alikes (O for 0, I and L for 1) are accepted.
    pub fn parse(text: &str) -> Result<RecoveryKey, Error> {
        let compact: Zeroizing<String> = Zeroizing::new(
            text.chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        );
        let body = compact
            .strip_prefix(RECOVERY_PREFIX)
            .ok_or(Error::InvalidRecoveryKey)?;
        base32_decode::<20>(body)
            .map(RecoveryKey)
            .ok_or(Error::InvalidRecoveryKey)
    }
}

/// An identity secret sealed under a KEK: `version || nonce (24) || ciphertext (48)`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SealedIdentity(Vec<u8>);

impl SealedIdentity {
    /// Checks the version and length of stored or received bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, Error> {
        check_blob(&bytes, SEALED_WHAT, SEALED_LEN)?;
        Ok(SealedIdentity(bytes))
    }

    /// The bytes to store or send.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}
