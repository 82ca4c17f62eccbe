//! Proof that a registrant holds the private half of the identity key he
//! registers, so nobody can register someone else's published key (and so
//! show a guest that member's fingerprint) under his own handle.
//!
//! X25519 and HMAC only, no signatures: the server makes an ephemeral key
//! pair `(e, E)` per registration and sends `E`; the member answers with
//! `HMAC(HKDF(X25519(sk, E)), transcript)`; the server recomputes it from
//! `X25519(e, pk)`. Only the holders of `sk` or `e` can compute it, and `e`
//! never leaves the server except sealed to itself ([`IdentityChallenge::seal`]).
//! The transcript binds the challenge, the public key and the handle, so a
//! proof cannot be moved to another registration, key or handle.

use core::fmt;

use hmac::{Hmac, Mac};
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::encoding::associated_data;
use crate::identity::is_canonical_u;
use crate::kdf::{derive32, IDENTITY_PROOF};
use crate::secret::secret_bytes;
use crate::{Error, IdentityPublic, IdentitySecret};

const CHALLENGE_WHAT: &str = "identity challenge";

secret_bytes! {
    /// The server's ephemeral X25519 secret `e` for one registration.
    /// Server side only; it leaves memory only sealed under the server's
    /// registration-state key.
    pub struct IdentityChallenge([u8; 32]);
}

/// The challenge `E = X25519(e, 9)` the server sends the registrant.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IdentityChallengePublic([u8; 32]);

/// `HMAC-SHA256(HKDF(z, "latchkey/v1/identity-proof"), transcript)`: 32
/// bytes, not secret (it proves one thing, once).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IdentityProof([u8; 32]);

impl IdentityChallenge {
    /// Length of a sealed challenge ([`IdentityChallenge::seal`]).
    #[cfg(feature = "server")]
    pub const SEALED_LEN: usize = crate::aead::OVERHEAD + 32;

    /// A fresh challenge: 32 random bytes used as an X25519 scalar
    /// (clamped when used, RFC 7748).
    pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
        let mut challenge = IdentityChallenge([0u8; 32]);
        rng.fill_bytes(&mut challenge.0);
        challenge
    }

    /// What the registrant proves against.
    pub fn public(&self) -> IdentityChallengePublic {
        let secret = StaticSecret::from(self.0);
        IdentityChallengePublic(PublicKey::from(&secret).to_bytes())
    }

    /// Checks that `proof` was made by the holder of `identity`'s private
    /// key, for this challenge and this `handle`. Every mismatch is the one
    /// [`Error::IdentityProofFailed`]; a low-order public key (for which
    /// anyone could compute the proof) is refused as `malformed`.
    pub fn verify(
        &self,
        identity: &IdentityPublic,
        handle: &str,
        proof: &IdentityProof,
    ) -> Result<(), Error> {
        let shared = shared_secret(&self.0, identity.as_bytes()).ok_or(Error::Malformed {
            what: "identity public key",
            reason: "not a usable X25519 public key",
        })?;
        let expected = proof_from_shared(&shared, &self.public(), identity, handle);
        if bool::from(expected.0.ct_eq(&proof.0)) {
            Ok(())
        } else {
            Err(Error::IdentityProofFailed)
        }
    }

    /// Seals the challenge under the server's registration-state key, bound
    /// to `context` (the server binds the handle and the expiry), so that
    /// the server can keep no state between the two registration requests.
    /// `0x01 || nonce (24) || ct (32) || tag (16)`: 73 bytes.
    #[cfg(feature = "server")]
    pub fn seal(
        &self,
        rng: &mut (impl CryptoRng + RngCore),
        key: &crate::server::FieldKey,
        context: &[u8],
    ) -> Result<Vec<u8>, Error> {
        check_purpose(key)?;
        Ok(key.seal(rng, context, &self.0))
    }

    /// Opens what [`IdentityChallenge::seal`] made with the same key and
    /// context. Another context (handle, expiry), key or a forged blob is
    /// `decryption_failed`.
    #[cfg(feature = "server")]
    pub fn open(
        key: &crate::server::FieldKey,
        context: &[u8],
        sealed: &[u8],
    ) -> Result<Self, Error> {
        check_purpose(key)?;
        crate::encoding::check_blob(sealed, "sealed registration state", Self::SEALED_LEN)?;
        let plaintext = key.open(context, sealed)?;
        let bytes =
            <[u8; 32]>::try_from(plaintext.as_slice()).map_err(|_| Error::DecryptionFailed)?;
        Ok(IdentityChallenge(bytes))
    }
}

/// Only the registration-state key may hold a challenge, so a sealed
/// challenge cannot be confused with any other sealed field.
#[cfg(feature = "server")]
fn check_purpose(key: &crate::server::FieldKey) -> Result<(), Error> {
    if key.purpose() == crate::server::FieldPurpose::RegistrationState {
        Ok(())
    } else {
        Err(Error::Malformed {
            what: "sealed registration state",
            reason: "a field key of another purpose",
        })
    }
}

impl IdentityChallengePublic {
    /// Wraps 32 bytes, which must be a canonical X25519 public key (as every
    /// challenge a server makes is).
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, Error> {
        if !is_canonical_u(&bytes) {
            return Err(Error::Malformed {
                what: CHALLENGE_WHAT,
                reason: "not a canonical X25519 public key",
            });
        }
        Ok(IdentityChallengePublic(bytes))
    }

    /// Parses a byte slice of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let bytes = <[u8; 32]>::try_from(bytes).map_err(|_| Error::Malformed {
            what: CHALLENGE_WHAT,
            reason: "expected 32 bytes",
        })?;
        Self::from_bytes(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for IdentityChallengePublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityChallengePublic({:02x?})", &self.0[..4])
    }
}

impl IdentityProof {
    /// Wraps the 32 bytes a registrant sent.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        IdentityProof(bytes)
    }

    /// Parses a byte slice of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        <[u8; 32]>::try_from(bytes)
            .map(IdentityProof)
            .map_err(|_| Error::Malformed {
                what: "identity proof",
                reason: "expected 32 bytes",
            })
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for IdentityProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityProof({:02x?})", &self.0[..4])
    }
}

/// [`IdentitySecret::prove`].
pub(crate) fn prove(
    identity: &IdentitySecret,
    challenge: &IdentityChallengePublic,
    handle: &str,
) -> Result<IdentityProof, Error> {
    let shared =
        shared_secret(&identity.to_bytes(), challenge.as_bytes()).ok_or(Error::Malformed {
            what: CHALLENGE_WHAT,
            reason: "not a usable X25519 public key",
        })?;
    Ok(proof_from_shared(
        &shared,
        challenge,
        &identity.public(),
        handle,
    ))
}

/// `X25519(secret, public)`, or `None` when it is all zeros (a low-order
/// `public`): then the result does not depend on the secret at all.
fn shared_secret(secret: &[u8; 32], public: &[u8; 32]) -> Option<Zeroizing<[u8; 32]>> {
    let shared = StaticSecret::from(*secret).diffie_hellman(&PublicKey::from(*public));
    shared
        .was_contributory()
        .then(|| Zeroizing::new(shared.to_bytes()))
}

/// `AD("latchkey/v1/identity-proof", E (32) || pk (32) || handle)`: two
/// fixed fields, the one variable field last.
pub(crate) fn transcript(
    challenge: &IdentityChallengePublic,
    identity: &IdentityPublic,
    handle: &str,
) -> Vec<u8> {
    associated_data(
        IDENTITY_PROOF,
        &[challenge.as_bytes(), identity.as_bytes(), handle.as_bytes()],
    )
}

#[allow(clippy::expect_used)] // HMAC accepts keys of every length
fn proof_from_shared(
    shared: &[u8; 32],
    challenge: &IdentityChallengePublic,
    identity: &IdentityPublic,
    handle: &str,
) -> IdentityProof {
    let key = derive32(shared, IDENTITY_PROOF);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_ref())
        .expect("HMAC accepts keys of any length");
    mac.update(&transcript(challenge, identity, handle));
    IdentityProof(mac.finalize().into_bytes().into())
}

/// `z` and the proof key, for the vectors (so another implementation can
/// check its X25519 and HKDF step by step).
#[cfg(feature = "testkit")]
#[allow(clippy::type_complexity)]
pub(crate) fn proof_key_for_testkit(
    identity: &IdentitySecret,
    challenge: &IdentityChallengePublic,
) -> Option<(Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>)> {
    shared_secret(&identity.to_bytes(), challenge.as_bytes()).map(|z| {
        let key = derive32(z.as_ref(), IDENTITY_PROOF);
        (z, key)
    })
}

/// The proof anyone can compute for a low-order key (z = 0), which the
/// check must refuse.
#[cfg(feature = "testkit")]
pub(crate) fn proof_from_zero_for_testkit(
    challenge: &IdentityChallengePublic,
    identity: &IdentityPublic,
    handle: &str,
) -> IdentityProof {
    proof_from_shared(&[0u8; 32], challenge, identity, handle)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::OsRng;

    fn member() -> IdentitySecret {
        IdentitySecret::generate(&mut OsRng)
    }

    #[test]
    fn the_key_holder_passes() {
        let (me, challenge) = (member(), IdentityChallenge::generate(&mut OsRng));
        let proof = me.prove(&challenge.public(), "ann").unwrap();
        assert_eq!(challenge.verify(&me.public(), "ann", &proof), Ok(()));
    }

    #[test]
    fn another_handle_key_or_challenge_fails() {
        let (me, other) = (member(), member());
        let challenge = IdentityChallenge::generate(&mut OsRng);
        let proof = me.prove(&challenge.public(), "ann").unwrap();
        let failed = Err(Error::IdentityProofFailed);
        assert_eq!(challenge.verify(&me.public(), "bob", &proof), failed);
        assert_eq!(challenge.verify(&other.public(), "ann", &proof), failed);
        let again = IdentityChallenge::generate(&mut OsRng);
        assert_eq!(again.verify(&me.public(), "ann", &proof), failed);
        // An impostor with his own key cannot prove someone else's.
        let forged = other.prove(&challenge.public(), "ann").unwrap();
        assert_eq!(challenge.verify(&me.public(), "ann", &forged), failed);
    }

    #[test]
    fn low_order_points_are_refused_on_both_sides() {
        let challenge = IdentityChallenge::generate(&mut OsRng);
        for low in [[0u8; 32], {
            let mut one = [0u8; 32];
            one[0] = 1;
            one
        }] {
            let public = IdentityPublic::from_bytes(low).unwrap();
            let zero_proof = proof_from_shared(&[0u8; 32], &challenge.public(), &public, "ann");
            assert!(matches!(
                challenge.verify(&public, "ann", &zero_proof),
                Err(Error::Malformed { .. })
            ));
            let e = IdentityChallengePublic::from_bytes(low).unwrap();
            assert!(matches!(
                member().prove(&e, "ann"),
                Err(Error::Malformed { .. })
            ));
        }
    }

    #[test]
    fn a_non_canonical_challenge_does_not_parse() {
        assert!(IdentityChallengePublic::from_bytes([0xff; 32]).is_err());
        assert!(IdentityChallengePublic::from_slice(&[1; 31]).is_err());
        assert!(IdentityProof::from_slice(&[1; 33]).is_err());
    }

    #[cfg(feature = "server")]
    #[test]
    fn a_sealed_challenge_opens_only_with_its_key_and_context() {
        use crate::server::{FieldPurpose, RootSecret};
        let root = RootSecret::generate(&mut OsRng);
        let key = root.field_key(FieldPurpose::RegistrationState);
        let challenge = IdentityChallenge::generate(&mut OsRng);
        let sealed = challenge.seal(&mut OsRng, &key, b"ctx ann").unwrap();
        assert_eq!(sealed.len(), IdentityChallenge::SEALED_LEN);
        let opened = IdentityChallenge::open(&key, b"ctx ann", &sealed).unwrap();
        assert_eq!(opened.public(), challenge.public());
        assert_eq!(
            IdentityChallenge::open(&key, b"ctx bob", &sealed).map(|_| ()),
            Err(Error::DecryptionFailed)
        );
        let other_root = RootSecret::generate(&mut OsRng);
        let other_key = other_root.field_key(FieldPurpose::RegistrationState);
        assert_eq!(
            IdentityChallenge::open(&other_key, b"ctx ann", &sealed).map(|_| ()),
            Err(Error::DecryptionFailed)
        );
        let login = root.field_key(FieldPurpose::LoginState);
        assert!(challenge.seal(&mut OsRng, &login, b"ctx ann").is_err());
        assert!(IdentityChallenge::open(&login, b"ctx ann", &sealed).is_err());
    }
}
