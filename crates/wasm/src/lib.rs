//! The browser's view of `latchkey-core`, through wasm-bindgen.
//!
//! Two bundles are built from this crate: the guest bundle (default features:
//! links, conversation keys, messages) and the member bundle (feature
//! `member`: also OPAQUE, identity keys and recovery keys). Keys stay inside
//! WebAssembly memory as opaque handles; JavaScript sees bytes only for
//! ciphertexts, and a secret only where it must leave (the link fragment, the
//! recovery key shown once).
//!
//! Errors are thrown as `Error("<code>: <message>")`, with the codes of
//! `latchkey_core::Error::code`.
#![forbid(unsafe_code)]
// The exported types are handles for JavaScript, which never sees Rust's Debug;
// leaving it out also keeps plaintexts away from any accidental formatting.
#![allow(missing_debug_implementations)]

use latchkey_core::{
    ConversationId, ConversationKey, GuestIntroduction, IdentityPublic, LinkKey, Message,
    MessageContext, MessageId, OsRng, Role, WrappedConversationKey,
};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

/// Talc instead of the standard library's dlmalloc: smaller, and faster.
/// The bundles run on the page's (or the worker's) one thread.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(feature = "member")]
mod member;
#[cfg(feature = "testkit")]
mod testkit;

fn js_error(e: latchkey_core::Error) -> JsError {
    JsError::new(&format!("{}: {e}", e.code()))
}

fn bad_input(what: &str) -> JsError {
    JsError::new(&format!("malformed: {what}"))
}

fn role(name: &str) -> Result<Role, JsError> {
    match name {
        "member" => Ok(Role::Member),
        "guest" => Ok(Role::Guest),
        _ => Err(bad_input("role must be \"member\" or \"guest\"")),
    }
}

fn conversation_id(hex: &str) -> Result<ConversationId, JsError> {
    hex.parse().map_err(js_error)
}

fn message_id(hex: &str) -> Result<MessageId, JsError> {
    hex.parse().map_err(js_error)
}

/// The key fingerprint of a member's public key (32 bytes), e.g. `7KQ3 M2XD 9FJA 0WCE`.
#[wasm_bindgen]
pub fn fingerprint(public_key: &[u8]) -> Result<String, JsError> {
    let key = IdentityPublic::from_slice(public_key).map_err(js_error)?;
    Ok(key.fingerprint().to_string())
}

/// A one-time link key, parsed from a URL fragment or freshly made.
#[wasm_bindgen]
pub struct Link {
    key: LinkKey,
}

#[wasm_bindgen]
impl Link {
    /// Parses the fragment without its `#`, e.g. `k1.…`. The error says what
    /// is wrong (prefix, version, length, alphabet).
    pub fn parse(fragment: &str) -> Result<Link, JsError> {
        LinkKey::parse_fragment(fragment)
            .map(|key| Link { key })
            .map_err(|e| js_error(e.into()))
    }

    /// Parses the fragment given as its characters' bytes (ASCII, without
    /// the `#`): a buffer the page can wipe, unlike a string. The copy made
    /// here is wiped before returning, whatever the outcome.
    #[wasm_bindgen(js_name = parseBytes)]
    pub fn parse_bytes(fragment: Vec<u8>) -> Result<Link, JsError> {
        // Owned, so this copy (in WebAssembly memory) is ours to wipe.
        let fragment = Zeroizing::new(fragment);
        let text =
            core::str::from_utf8(&fragment).map_err(|_| bad_input("the link is not text"))?;
        Link::parse(text)
    }

    /// What to send the server to redeem this link (base64url).
    #[wasm_bindgen(js_name = grantId)]
    pub fn grant_id(&self) -> String {
        self.key.grant_id().expose_base64url().to_string()
    }

    /// The fragment (`k1.…`), to put after `#` in the link. Secret.
    #[wasm_bindgen(js_name = exposeFragment)]
    pub fn expose_fragment(&self) -> String {
        self.key.expose_fragment().to_string()
    }

    /// Opens the conversation key the server returned for this grant.
    pub fn open(&self, conversation: &str, wrapped: Vec<u8>) -> Result<Conversation, JsError> {
        let id = conversation_id(conversation)?;
        let wrapped = WrappedConversationKey::from_bytes(wrapped).map_err(js_error)?;
        let key = self.key.unwrap(&id, &wrapped).map_err(js_error)?;
        Ok(Conversation { id, key })
    }
}

/// A new grant: the link to e-mail (or hand over) and what the server stores.
#[wasm_bindgen]
pub struct NewGrant {
    link: Link,
    wrapped: Vec<u8>,
}

#[wasm_bindgen]
impl NewGrant {
    /// The grant id the server will know this grant by (base64url).
    #[wasm_bindgen(js_name = grantId)]
    pub fn grant_id(&self) -> String {
        self.link.grant_id()
    }

    /// The link's fragment (`k1.…`). Secret: it goes into the link only.
    #[wasm_bindgen(js_name = exposeFragment)]
    pub fn expose_fragment(&self) -> String {
        self.link.expose_fragment()
    }

    /// The conversation key wrapped for this grant, to upload.
    #[wasm_bindgen(getter)]
    pub fn wrapped(&self) -> Vec<u8> {
        self.wrapped.clone()
    }
}

/// A decrypted message.
#[wasm_bindgen(getter_with_clone)]
pub struct DecryptedMessage {
    /// Sender's clock, ms since the Unix epoch.
    #[wasm_bindgen(js_name = sentAt)]
    pub sent_at: f64,
    /// The text (render as text, never as HTML).
    pub body: String,
    /// The guest's address, in his first message only.
    #[wasm_bindgen(js_name = introEmail)]
    pub intro_email: Option<String>,
    /// The guest's name, in his first message only.
    #[wasm_bindgen(js_name = introName)]
    pub intro_name: Option<String>,
}

/// An encrypted message, ready to upload.
#[wasm_bindgen(getter_with_clone)]
pub struct EncryptedMessage {
    /// The message id (32 hex digits) it is bound to.
    #[wasm_bindgen(js_name = messageId)]
    pub message_id: String,
    /// The ciphertext.
    pub ciphertext: Vec<u8>,
}

/// One conversation's key and id, held inside WebAssembly memory.
#[wasm_bindgen]
pub struct Conversation {
    id: ConversationId,
    key: ConversationKey,
}

#[wasm_bindgen]
impl Conversation {
    /// A new conversation (fresh id and key), as a guest starts one.
    pub fn create() -> Conversation {
        Conversation {
            id: ConversationId::generate(&mut OsRng),
            key: ConversationKey::generate(&mut OsRng),
        }
    }

    /// The conversation id (32 hex digits).
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.id.to_string()
    }

    /// Seals the conversation key to a member's public key (32 bytes).
    #[wasm_bindgen(js_name = sealToMember)]
    pub fn seal_to_member(&self, member_public_key: &[u8]) -> Result<Vec<u8>, JsError> {
        let member = IdentityPublic::from_slice(member_public_key).map_err(js_error)?;
        self.key
            .seal_to_member(&mut OsRng, &member, &self.id)
            .map(|sealed| sealed.as_bytes().to_vec())
            .map_err(js_error)
    }

    /// Encrypts a message under a fresh message id. `sender` is `"member"` or
    /// `"guest"`; the introduction goes in the guest's first message only.
    pub fn encrypt(
        &self,
        sender: &str,
        sent_at: f64,
        body: String,
        intro_email: Option<String>,
        intro_name: Option<String>,
    ) -> Result<EncryptedMessage, JsError> {
        if !(sent_at.is_finite() && sent_at >= 0.0) {
            return Err(bad_input("sentAt must be a non-negative number of ms"));
        }
        let introduction = match (intro_email, intro_name) {
            (Some(email), name) => Some(GuestIntroduction {
                email,
                display_name: name.unwrap_or_default(),
            }),
            (None, Some(_)) => return Err(bad_input("a name needs an e-mail address")),
            (None, None) => None,
        };
        let message = Message {
            sent_at_ms: sent_at as u64,
            body,
            introduction,
        };
        let id = MessageId::generate(&mut OsRng);
        let context = MessageContext {
            conversation: self.id,
            message: id,
            sender: role(sender)?,
        };
        let ciphertext = self
            .key
            .encrypt_message(&mut OsRng, &context, &message)
            .map_err(js_error)?;
        Ok(EncryptedMessage {
            message_id: id.to_string(),
            ciphertext,
        })
    }

    /// Decrypts a message with its id and sender as the server listed them;
    /// if either was altered, decryption fails.
    pub fn decrypt(
        &self,
        message_id: &str,
        sender: &str,
        ciphertext: &[u8],
    ) -> Result<DecryptedMessage, JsError> {
        let context = MessageContext {
            conversation: self.id,
            message: self::message_id(message_id)?,
            sender: role(sender)?,
        };
        let message = self
            .key
            .decrypt_message(&context, ciphertext)
            .map_err(js_error)?;
        Ok(DecryptedMessage {
            sent_at: message.sent_at_ms as f64,
            body: message.body.clone(),
            intro_email: message.introduction.as_ref().map(|i| i.email.clone()),
            intro_name: message
                .introduction
                .as_ref()
                .map(|i| i.display_name.clone()),
        })
    }

    /// A fresh link key and the conversation key wrapped under it.
    #[wasm_bindgen(js_name = newGrant)]
    pub fn new_grant(&self) -> NewGrant {
        let key = LinkKey::generate(&mut OsRng);
        let wrapped = key.wrap(&mut OsRng, &self.id, &self.key);
        NewGrant {
            link: Link { key },
            wrapped: wrapped.as_bytes().to_vec(),
        }
    }
}
