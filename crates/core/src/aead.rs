//! XChaCha20-Poly1305 with the one blob layout every symmetric ciphertext in
//! the protocol shares: `version (1) || nonce (24) || ciphertext || tag (16)`.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
#[cfg(feature = "server")]
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::encoding::Reader;
use crate::{Error, PROTOCOL_VERSION};

pub(crate) const NONCE_LEN: usize = 24;
pub(crate) const TAG_LEN: usize = 16;
/// Bytes a sealed blob adds to its plaintext.
pub(crate) const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// Encrypts under a fresh random nonce.
#[cfg(feature = "server")]
pub(crate) fn seal(
    rng: &mut (impl CryptoRng + RngCore),
    key: &[u8; 32],
    associated_data: &[u8],
    plaintext: &[u8],
) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    seal_with_nonce(key, &nonce, associated_data, plaintext)
}

/// Encrypts under the given nonce. Only [`seal`] and the test vectors call this:
/// a repeated nonce under one key would break confidentiality.
#[allow(clippy::expect_used)] // callers hold every plaintext in memory: far below the limit
pub(crate) fn seal_with_nonce(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    associated_data: &[u8],
    plaintext: &[u8],
) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let payload = Payload {
        msg: plaintext,
        aad: associated_data,
    };
    let ciphertext = cipher
        .encrypt(XNonce::from_slice(nonce), payload)
        .expect("XChaCha20-Poly1305 fails only beyond 256 GiB of plaintext");
    let mut blob = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    blob.push(PROTOCOL_VERSION);
    blob.extend_from_slice(nonce);
    blob.extend_from_slice(&ciphertext);
    blob
}

/// Decrypts a blob made by [`seal`]. Shape problems are reported as such;
/// every cryptographic failure is the one [`Error::DecryptionFailed`].
pub(crate) fn open(
    key: &[u8; 32],
    what: &'static str,
    associated_data: &[u8],
    blob: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut reader = Reader::new(blob, what);
    reader.version()?;
    let nonce: [u8; NONCE_LEN] = reader.array()?;
    let ciphertext = reader.rest();
    if ciphertext.len() < TAG_LEN {
        return Err(Error::Malformed {
            what,
            reason: "truncated",
        });
    }
    let cipher = XChaCha20Poly1305::new(key.into());
    let payload = Payload {
        msg: ciphertext,
        aad: associated_data,
    };
    cipher
        .decrypt(XNonce::from_slice(&nonce), payload)
        .map(Zeroizing::new)
        .map_err(|_| Error::DecryptionFailed)
}
