//! The conversation key: sealed to the member with HPKE, and the key from
//! which every message key of the conversation is derived.

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::encoding::{associated_data, check_blob, Reader};
use crate::identity::Suite;
use crate::kdf::{derive32, AD_MESSAGE, HPKE_INFO_CONVERSATION_KEY, MESSAGE_KEY};
use crate::message::{Message, MessageContext};
use crate::secret::secret_bytes;
use crate::{aead, ConversationId, Error, IdentityPublic, IdentitySecret, PROTOCOL_VERSION};

secret_bytes! {
    /// 32 random bytes shared by the member and the guest of one conversation.
    /// Never stored in clear: the server holds it only sealed to the member
    /// ([`SealedConversationKey`]) and wrapped under link keys.
    pub struct ConversationKey([u8; 32]);
}

const ENC_LEN: usize = 32;
const SEALED_LEN: usize = 1 + ENC_LEN + 32 + aead::TAG_LEN;
const SEALED_WHAT: &str = "sealed conversation key";
const MESSAGE_WHAT: &str = "encrypted message";

impl ConversationKey {
    /// A fresh random key, made by whoever starts the conversation.
    pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
        let mut key = ConversationKey([0u8; 32]);
        rng.fill_bytes(&mut key.0);
        key
    }

    /// HPKE-seals this key to a member (RFC 9180 base mode,
    /// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305), with
    /// `info = "latchkey/v1/conversation-key"` and associated data binding the
    /// version and the conversation id.
    ///
    /// Fails only if `member` is not a usable X25519 key (a low-order point).
    pub fn seal_to_member(
        &self,
        rng: &mut (impl CryptoRng + RngCore),
        member: &IdentityPublic,
        conversation: &ConversationId,
    ) -> Result<SealedConversationKey, Error> {
        let recipient = member.hpke_key()?;
        let aad = hpke_aad(conversation);
        let (enc, ciphertext) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, Suite, _>(
            &OpModeS::Base,
            &recipient,
            HPKE_INFO_CONVERSATION_KEY.as_bytes(),
            &self.0,
            &aad,
            rng,
        )
        .map_err(|_| Error::Malformed {
            what: "identity public key",
            reason: "not a usable X25519 public key",
        })?;
        let mut blob = Vec::with_capacity(SEALED_LEN);
        blob.push(PROTOCOL_VERSION);
        blob.extend_from_slice(&enc.to_bytes());
        blob.extend_from_slice(&ciphertext);
        Ok(SealedConversationKey(blob))
    }

    /// Opens a key sealed by [`ConversationKey::seal_to_member`].
    pub fn open_sealed(
        member: &IdentitySecret,
        conversation: &ConversationId,
        sealed: &SealedConversationKey,
    ) -> Result<ConversationKey, Error> {
        let mut reader = Reader::new(&sealed.0, SEALED_WHAT);
        reader.version()?;
        let enc = <Suite as Kem>::EncappedKey::from_bytes(reader.take(ENC_LEN)?)
            .map_err(|_| Error::DecryptionFailed)?;
        let plaintext = Zeroizing::new(
            hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Suite>(
                &OpModeR::Base,
                member.hpke_key(),
                &enc,
                HPKE_INFO_CONVERSATION_KEY.as_bytes(),
                reader.rest(),
                &hpke_aad(conversation),
            )
            .map_err(|_| Error::DecryptionFailed)?,
        );
        ConversationKey::from_slice(&plaintext).ok_or(Error::DecryptionFailed)
    }

    pub(crate) fn from_slice(bytes: &[u8]) -> Option<ConversationKey> {
        let mut key = ConversationKey([0u8; 32]);
        if bytes.len() != key.0.len() {
            return None;
        }
        key.0.copy_from_slice(bytes);
        Some(key)
    }

    pub(crate) fn message_key(&self) -> Zeroizing<[u8; 32]> {
        derive32(&self.0, MESSAGE_KEY)
    }

    /// Encrypts a message: the plaintext is encoded and padded to a multiple of
    /// 256 bytes, then sealed with XChaCha20-Poly1305 under the conversation's
    /// message key, bound to `context` (conversation, message id, sender).
    ///
    /// Fails only if a field is longer than its length prefix allows.
    pub fn encrypt_message(
        &self,
        rng: &mut (impl CryptoRng + RngCore),
        context: &MessageContext,
        message: &Message,
    ) -> Result<Vec<u8>, Error> {
        let mut nonce = [0u8; aead::NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        self.encrypt_message_with_nonce(&nonce, context, message)
    }

    pub(crate) fn encrypt_message_with_nonce(
        &self,
        nonce: &[u8; aead::NONCE_LEN],
        context: &MessageContext,
        message: &Message,
    ) -> Result<Vec<u8>, Error> {
        let plaintext = message.encode_padded()?;
        Ok(aead::seal_with_nonce(
            &self.message_key(),
            nonce,
            &message_ad(context),
            &plaintext,
        ))
    }

    /// Decrypts a message made by [`ConversationKey::encrypt_message`] for the
    /// same `context`. Any other context, key or byte gives
    /// [`Error::DecryptionFailed`].
    pub fn decrypt_message(
        &self,
        context: &MessageContext,
        ciphertext: &[u8],
    ) -> Result<Message, Error> {
        let plaintext = aead::open(
            &self.message_key(),
            MESSAGE_WHAT,
            &message_ad(context),
            ciphertext,
        )?;
        Message::decode_padded(&plaintext)
    }
}

/// Checks the shape of a message ciphertext without any key: a known version
/// and a length that only a padded plaintext gives. A server uses it to
/// refuse garbage before storing it; it proves nothing about the content.
pub fn check_message_ciphertext(bytes: &[u8]) -> Result<(), Error> {
    let mut reader = Reader::new(bytes, MESSAGE_WHAT);
    reader.version()?;
    let body = bytes.len().saturating_sub(aead::OVERHEAD);
    if body == 0 || !body.is_multiple_of(crate::message::PADDING_BLOCK) {
        return Err(Error::Malformed {
            what: MESSAGE_WHAT,
            reason: "its length is not that of a padded message",
        });
    }
    Ok(())
}

fn hpke_aad(conversation: &ConversationId) -> Vec<u8> {
    associated_data(HPKE_INFO_CONVERSATION_KEY, &[conversation.as_bytes()])
}

fn message_ad(context: &MessageContext) -> Vec<u8> {
    associated_data(
        AD_MESSAGE,
        &[
            context.conversation.as_bytes(),
            context.message.as_bytes(),
            &[context.sender.as_byte()],
        ],
    )
}

/// A conversation key sealed to a member: `version || enc (32) || ciphertext (48)`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SealedConversationKey(Vec<u8>);

impl SealedConversationKey {
    /// Checks the version and length of stored or received bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, Error> {
        check_blob(&bytes, SEALED_WHAT, SEALED_LEN)?;
        Ok(SealedConversationKey(bytes))
    }

    /// The bytes to store or send.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}
