//! A member's long-term X25519 identity key pair (the HPKE recipient key).

use core::fmt;

use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, Serializable};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::{Error, Fingerprint, IdentityChallengePublic, IdentityProof};

pub(crate) type Suite = X25519HkdfSha256;

/// A member's private identity key. It exists in clear only in the member's
/// browser or CLI, after unsealing with a [`crate::KeyEncryptionKey`].
///
/// Not `Clone`; zeroized on drop (by x25519-dalek); `Debug` prints `***`.
pub struct IdentitySecret(<Suite as Kem>::PrivateKey);

impl IdentitySecret {
    /// A fresh key pair: 32 random bytes through HPKE's `DeriveKeyPair`.
    pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
        let mut ikm = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(ikm.as_mut());
        Self::derive(ikm.as_ref())
    }

    /// RFC 9180 `DeriveKeyPair(ikm)` for DHKEM(X25519, HKDF-SHA256).
    pub(crate) fn derive(ikm: &[u8]) -> Self {
        IdentitySecret(Suite::derive_keypair(ikm).0)
    }

    /// The 32 private-key bytes, for sealing under a key-encryption key.
    pub(crate) fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes().into())
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        <Suite as Kem>::PrivateKey::from_bytes(bytes)
            .map(IdentitySecret)
            .map_err(|_| Error::Malformed {
                what: "identity secret",
                reason: "expected 32 bytes",
            })
    }

    pub(crate) fn hpke_key(&self) -> &<Suite as Kem>::PrivateKey {
        &self.0
    }

    /// The matching public key.
    pub fn public(&self) -> IdentityPublic {
        IdentityPublic(Suite::sk_to_pk(&self.0).to_bytes().into())
    }

    /// Proves to the server that sent `challenge` that this is the private
    /// half of the key registered under `handle` (the canonical, lower-case
    /// handle the server checks); see [`crate::IdentityChallenge`]. Refuses
    /// a low-order challenge, for which the proof would not depend on this
    /// key (`malformed`).
    pub fn prove(
        &self,
        challenge: &IdentityChallengePublic,
        handle: &str,
    ) -> Result<IdentityProof, Error> {
        crate::identity_proof::prove(self, challenge, handle)
    }
}

impl fmt::Debug for IdentitySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentitySecret(***)")
    }
}

/// A member's public identity key, published on the contact page.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdentityPublic(pub(crate) [u8; 32]);

impl IdentityPublic {
    /// Wraps 32 bytes, which must be the canonical encoding of an X25519
    /// public key (a little-endian u < 2^255 − 19), as every key this crate
    /// makes is: X25519 reduces other encodings, so such a key would seal to a
    /// different key than its fingerprint names. (A low-order point is refused
    /// later, when sealing.)
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, Error> {
        if !is_canonical_u(&bytes) {
            return Err(Error::Malformed {
                what: "identity public key",
                reason: "not a canonical X25519 public key",
            });
        }
        Ok(IdentityPublic(bytes))
    }

    /// Parses a byte slice of exactly 32 bytes (see [`IdentityPublic::from_bytes`]).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let bytes = <[u8; 32]>::try_from(bytes).map_err(|_| Error::Malformed {
            what: "identity public key",
            reason: "expected 32 bytes",
        })?;
        Self::from_bytes(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The fingerprint a guest can compare with what the member reads aloud.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(self)
    }

    pub(crate) fn hpke_key(&self) -> Result<<Suite as Kem>::PublicKey, Error> {
        <Suite as Kem>::PublicKey::from_bytes(&self.0).map_err(|_| Error::Malformed {
            what: "identity public key",
            reason: "expected 32 bytes",
        })
    }
}

/// `u < p = 2^255 − 19`, read little-endian. The only values with the top bit
/// clear that are not below p are p … 2^255 − 1: byte 31 = 0x7f, bytes 1–30 =
/// 0xff and byte 0 ≥ 0xed.
pub(crate) fn is_canonical_u(bytes: &[u8; 32]) -> bool {
    let [low, middle @ .., high] = bytes;
    if high & 0x80 != 0 {
        return false;
    }
    let at_or_above_p = *high == 0x7f && middle.iter().all(|&b| b == 0xff) && *low >= 0xed;
    !at_or_above_p
}

impl fmt::Debug for IdentityPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityPublic({})", self.fingerprint())
    }
}
