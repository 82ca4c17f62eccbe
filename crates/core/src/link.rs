//! The one-time link: `https://HOST/open#k1.<43 characters>`.
//!
//! The fragment carries a 32-byte link key. The browser derives from it a
//! grant id (shown to the server, which keeps only its SHA-256) and a wrap key
//! (never leaves the browser) that opens the conversation key stored with the
//! grant.

use base64ct::{Base64UrlUnpadded, Encoding};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::encoding::{associated_data, check_blob};
use crate::kdf::{derive32, AD_GRANT, GRANT_ID, GRANT_WRAP};
use crate::secret::secret_bytes;
use crate::{aead, ConversationId, ConversationKey, Error, LinkError};

secret_bytes! {
    /// The secret in a link's fragment. Lives in the e-mail (and, until the
    /// mail is handed to the relay, sealed in the server's outbox).
    pub struct LinkKey([u8; 32]);
}

secret_bytes! {
    /// What the guest's browser shows the server to redeem a link. A bearer
    /// credential until the grant is used up: the server stores only its
    /// SHA-256 ([`GrantId::storage_hash`]).
    pub struct GrantId([u8; 32]);
}

const PREFIX_V1: &str = "k1.";
const ENCODED_LEN: usize = 43;
const WRAPPED_WHAT: &str = "wrapped conversation key";
const WRAPPED_LEN: usize = aead::OVERHEAD + 32;

impl LinkKey {
    /// A fresh random link key, one per notification.
    pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
        let mut key = LinkKey([0u8; 32]);
        rng.fill_bytes(&mut key.0);
        key
    }

    /// The fragment, `k1.` + base64url without padding (46 characters). This is
    /// the secret itself: put it only in the link's `#fragment`.
    pub fn expose_fragment(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(PREFIX_V1.len() + ENCODED_LEN));
        out.push_str(PREFIX_V1);
        out.push_str(&Base64UrlUnpadded::encode_string(&self.0));
        out
    }

    /// Parses a fragment (without the `#`) strictly, saying what is wrong.
    pub fn parse_fragment(fragment: &str) -> Result<LinkKey, LinkError> {
        let (version, encoded) = split_prefix(fragment)?;
        if version != 1 {
            return Err(LinkError::UnsupportedVersion(version));
        }
        if encoded.len() != ENCODED_LEN {
            return Err(LinkError::WrongLength(encoded.len()));
        }
        if !encoded
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        {
            return Err(LinkError::BadAlphabet);
        }
        let mut key = LinkKey([0u8; 32]);
        // Length and alphabet are right, so the only failure left is spare bits
        // set in the last character.
        Base64UrlUnpadded::decode(encoded, &mut key.0).map_err(|_| LinkError::NonCanonical)?;
        Ok(key)
    }

    /// `HKDF(LK, "latchkey/v1/grant-id")`: sent to the server to redeem.
    pub fn grant_id(&self) -> GrantId {
        GrantId(*derive32(&self.0, GRANT_ID))
    }

    pub(crate) fn wrap_key(&self) -> Zeroizing<[u8; 32]> {
        derive32(&self.0, GRANT_WRAP)
    }

    /// Wraps a conversation key for the grant this link opens.
    pub fn wrap(
        &self,
        rng: &mut (impl CryptoRng + RngCore),
        conversation: &ConversationId,
        key: &ConversationKey,
    ) -> WrappedConversationKey {
        let mut nonce = [0u8; aead::NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        self.wrap_with_nonce(&nonce, conversation, key)
    }

    pub(crate) fn wrap_with_nonce(
        &self,
        nonce: &[u8; aead::NONCE_LEN],
        conversation: &ConversationId,
        key: &ConversationKey,
    ) -> WrappedConversationKey {
        WrappedConversationKey(aead::seal_with_nonce(
            &self.wrap_key(),
            nonce,
            &grant_ad(conversation),
            &key.0,
        ))
    }

    /// Opens what [`LinkKey::wrap`] made for the same conversation.
    pub fn unwrap(
        &self,
        conversation: &ConversationId,
        wrapped: &WrappedConversationKey,
    ) -> Result<ConversationKey, Error> {
        let plaintext = aead::open(
            &self.wrap_key(),
            WRAPPED_WHAT,
            &grant_ad(conversation),
            &wrapped.0,
        )?;
        ConversationKey::from_slice(&plaintext).ok_or(Error::DecryptionFailed)
    }
}

/// Splits `k<digits>.<rest>` into the version number and the rest.
fn split_prefix(fragment: &str) -> Result<(u32, &str), LinkError> {
    let after_k = fragment.strip_prefix('k').ok_or(LinkError::WrongPrefix)?;
    let (digits, encoded) = after_k.split_once('.').ok_or(LinkError::WrongPrefix)?;
    // One canonical spelling per version: no empty, over-long or zero-padded numbers.
    if digits.is_empty()
        || digits.len() > 9
        || (digits.len() > 1 && digits.starts_with('0'))
        || !digits.bytes().all(|c| c.is_ascii_digit())
    {
        return Err(LinkError::WrongPrefix);
    }
    let version = digits.parse().map_err(|_| LinkError::WrongPrefix)?;
    Ok((version, encoded))
}

fn grant_ad(conversation: &ConversationId) -> Vec<u8> {
    associated_data(AD_GRANT, &[conversation.as_bytes()])
}

impl GrantId {
    /// Wraps 32 bytes received from a client.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        GrantId(bytes)
    }

    /// Parses the base64url (no padding) form a client sends.
    pub fn parse_base64url(text: &str) -> Result<GrantId, Error> {
        let mut id = GrantId([0u8; 32]);
        match Base64UrlUnpadded::decode(text, &mut id.0) {
            Ok(decoded) if decoded.len() == 32 => Ok(id),
            _ => Err(Error::Malformed {
                what: "grant id",
                reason: "expected 43 base64url characters",
            }),
        }
    }

    /// The base64url form, to send to the server in a redeem request body.
    pub fn expose_base64url(&self) -> Zeroizing<String> {
        Zeroizing::new(Base64UrlUnpadded::encode_string(&self.0))
    }

    /// `SHA-256(grant id)`: what the server stores and looks grants up by. A
    /// stolen database therefore cannot be used to redeem.
    pub fn storage_hash(&self) -> [u8; 32] {
        Sha256::digest(self.0).into()
    }
}

/// A conversation key wrapped for one grant: `version || nonce (24) || ciphertext (48)`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WrappedConversationKey(Vec<u8>);

impl WrappedConversationKey {
    /// Checks the version and length of stored or received bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, Error> {
        check_blob(&bytes, WRAPPED_WHAT, WRAPPED_LEN)?;
        Ok(WrappedConversationKey(bytes))
    }

    /// The bytes to store or send.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}
