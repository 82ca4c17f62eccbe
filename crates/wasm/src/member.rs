//! Member-only functions: OPAQUE registration and login, the identity key
//! pair, key-encryption keys and recovery keys. Argon2 runs inside the
//! `finish` calls: call them from a Web Worker.

use latchkey_core::opaque::{ClientLogin, ClientRegistration};
use latchkey_core::{
    ConversationKey, IdentityChallengePublic, IdentityPublic, IdentitySecret, KeyEncryptionKey,
    OsRng, PasskeyPrfOutput, RecoveryKey, SealedConversationKey, SealedIdentity, PASSKEY_PRF_INPUT,
};
use wasm_bindgen::prelude::*;
use zeroize::Zeroize;

use crate::{conversation_id, js_error, Conversation};

fn already_taken() -> JsError {
    JsError::new("malformed: the key was already taken from this result")
}

/// A member's identity key pair, unsealed.
#[wasm_bindgen]
pub struct Identity {
    secret: IdentitySecret,
}

#[wasm_bindgen]
impl Identity {
    /// A fresh identity, made once at registration.
    pub fn generate() -> Identity {
        Identity {
            secret: IdentitySecret::generate(&mut OsRng),
        }
    }

    /// The public key (32 bytes), to publish.
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> Vec<u8> {
        self.secret.public().as_bytes().to_vec()
    }

    /// The public key's fingerprint, to read aloud.
    #[wasm_bindgen(getter)]
    pub fn fingerprint(&self) -> String {
        self.secret.public().fingerprint().to_string()
    }

    /// Proves to the server, at registration, that this identity is held
    /// here: `challenge` is step 1's `identity_challenge` (32 bytes),
    /// `handle` the canonical (trimmed, lower-case) handle registered.
    pub fn prove(&self, challenge: &[u8], handle: &str) -> Result<Vec<u8>, JsError> {
        let challenge = IdentityChallengePublic::from_slice(challenge).map_err(js_error)?;
        let proof = self.secret.prove(&challenge, handle).map_err(js_error)?;
        Ok(proof.as_bytes().to_vec())
    }

    /// Opens the conversation key a guest sealed to this member.
    #[wasm_bindgen(js_name = openConversation)]
    pub fn open_conversation(
        &self,
        conversation: &str,
        sealed: Vec<u8>,
    ) -> Result<Conversation, JsError> {
        let id = conversation_id(conversation)?;
        let sealed = SealedConversationKey::from_bytes(sealed).map_err(js_error)?;
        let key = ConversationKey::open_sealed(&self.secret, &id, &sealed).map_err(js_error)?;
        Ok(Conversation { id, key })
    }
}

/// A key-encryption key: seals and opens the member's identity.
#[wasm_bindgen]
pub struct Kek {
    key: KeyEncryptionKey,
}

#[wasm_bindgen]
impl Kek {
    /// The KEK of one passkey (docs/protocol.md §4.9.1): `prf` is the
    /// authenticator's `prf.results.first` (32 bytes), wiped here (the
    /// caller's array too: wasm-bindgen copies a `&mut [u8]` back);
    /// `handle` canonical; `credentialId` the raw credential id.
    #[wasm_bindgen(js_name = fromPasskey)]
    pub fn from_passkey(
        prf: &mut [u8],
        handle: &str,
        credential_id: &[u8],
    ) -> Result<Kek, JsError> {
        let output = PasskeyPrfOutput::from_slice(prf);
        prf.zeroize();
        let key = KeyEncryptionKey::from_passkey(&output.map_err(js_error)?, handle, credential_id)
            .map_err(js_error)?;
        Ok(Kek { key })
    }

    /// Seals the identity for storage on the server.
    #[wasm_bindgen(js_name = sealIdentity)]
    pub fn seal_identity(&self, identity: &Identity) -> Vec<u8> {
        self.key
            .seal_identity(&mut OsRng, &identity.secret)
            .as_bytes()
            .to_vec()
    }

    /// Opens a sealed identity, which must belong to `public_key`.
    #[wasm_bindgen(js_name = openIdentity)]
    pub fn open_identity(&self, sealed: Vec<u8>, public_key: &[u8]) -> Result<Identity, JsError> {
        let sealed = SealedIdentity::from_bytes(sealed).map_err(js_error)?;
        let expected = IdentityPublic::from_slice(public_key).map_err(js_error)?;
        let secret = self
            .key
            .open_identity(&sealed, &expected)
            .map_err(js_error)?;
        Ok(Identity { secret })
    }
}

/// What the page asks the passkey's PRF to evaluate (`prf.eval.first`).
#[wasm_bindgen(js_name = passkeyPrfInput)]
pub fn passkey_prf_input() -> Vec<u8> {
    PASSKEY_PRF_INPUT.to_vec()
}

/// A recovery key (`LKR1-…`), shown once at registration.
#[wasm_bindgen]
pub struct Recovery {
    key: RecoveryKey,
}

#[wasm_bindgen]
impl Recovery {
    /// A fresh recovery key.
    pub fn generate() -> Recovery {
        Recovery {
            key: RecoveryKey::generate(&mut OsRng),
        }
    }

    /// Parses what the member typed (case, spaces and dashes do not matter).
    pub fn parse(text: &str) -> Result<Recovery, JsError> {
        RecoveryKey::parse(text)
            .map(|key| Recovery { key })
            .map_err(js_error)
    }

    /// The printable form. Secret: show it once.
    #[wasm_bindgen(js_name = exposePrintable)]
    pub fn expose_printable(&self) -> String {
        self.key.expose_printable().to_string()
    }

    /// Proof of holding this key, for the server (which keeps its hash).
    pub fn proof(&self) -> Vec<u8> {
        self.key.proof().to_vec()
    }

    /// The key-encryption key this recovery key gives.
    pub fn kek(&self) -> Kek {
        Kek {
            key: KeyEncryptionKey::from_recovery_key(&self.key),
        }
    }
}

/// OPAQUE registration, client side: `start` → send `request` → `finish` with
/// the server's response → send `upload`, keep the KEK.
#[wasm_bindgen]
pub struct Registration {
    state: ClientRegistration,
    request: Vec<u8>,
}

#[wasm_bindgen]
impl Registration {
    /// Blinds the password.
    pub fn start(password: &str) -> Result<Registration, JsError> {
        let (state, request) =
            ClientRegistration::start(&mut OsRng, password.as_bytes()).map_err(js_error)?;
        Ok(Registration { state, request })
    }

    /// The first message, for the server.
    #[wasm_bindgen(getter)]
    pub fn request(&self) -> Vec<u8> {
        self.request.clone()
    }

    /// Finishes with the server's response (runs Argon2: seconds on slow phones).
    pub fn finish(self, password: &str, response: &[u8]) -> Result<PasswordResult, JsError> {
        let (upload, export_key) = self
            .state
            .finish(&mut OsRng, password.as_bytes(), response)
            .map_err(js_error)?;
        Ok(PasswordResult {
            message: upload,
            kek: Some(KeyEncryptionKey::from_export_key(&export_key)),
        })
    }
}

/// OPAQUE login, client side: `start` → send `request` → `finish` with the
/// server's response → send `message`, keep the KEK.
#[wasm_bindgen]
pub struct Login {
    state: ClientLogin,
    request: Vec<u8>,
}

#[wasm_bindgen]
impl Login {
    /// Blinds the password and starts the key exchange.
    pub fn start(password: &str) -> Result<Login, JsError> {
        let (state, request) =
            ClientLogin::start(&mut OsRng, password.as_bytes()).map_err(js_error)?;
        Ok(Login { state, request })
    }

    /// The first message, for the server.
    #[wasm_bindgen(getter)]
    pub fn request(&self) -> Vec<u8> {
        self.request.clone()
    }

    /// Finishes with the server's response. A wrong password (or an unknown
    /// member) throws `login_failed`.
    pub fn finish(self, password: &str, response: &[u8]) -> Result<PasswordResult, JsError> {
        let done = self
            .state
            .finish(&mut OsRng, password.as_bytes(), response)
            .map_err(js_error)?;
        Ok(PasswordResult {
            message: done.finalization,
            kek: Some(KeyEncryptionKey::from_export_key(&done.export_key)),
        })
    }
}

/// The outcome of a registration or login: the last message for the server,
/// and the password's key-encryption key.
#[wasm_bindgen]
pub struct PasswordResult {
    message: Vec<u8>,
    kek: Option<KeyEncryptionKey>,
}

#[wasm_bindgen]
impl PasswordResult {
    /// The message to send to the server (registration upload or login finalization).
    #[wasm_bindgen(getter)]
    pub fn message(&self) -> Vec<u8> {
        self.message.clone()
    }

    /// Moves the key-encryption key out (once).
    #[wasm_bindgen(js_name = takeKek)]
    pub fn take_kek(&mut self) -> Result<Kek, JsError> {
        self.kek
            .take()
            .map(|key| Kek { key })
            .ok_or_else(already_taken)
    }
}
