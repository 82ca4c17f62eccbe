//! A passkey as the authenticator and the member's worker see it: a
//! credential id and the PRF output the authenticator gives for
//! latchkey's PRF input (random here; the server never sees it), and the
//! KEK the worker makes from them (docs/protocol.md §4.9.1).

use base64ct::{Base64UrlUnpadded, Encoding};
use latchkey_core::{IdentitySecret, KeyEncryptionKey, OsRng, PasskeyPrfOutput, RngCore};
use serde_json::{json, Value};

/// Unpadded base64url, as the API writes bytes.
pub fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// The bytes of a base64url JSON string.
pub fn unb64(value: &Value) -> Vec<u8> {
    Base64UrlUnpadded::decode_vec(value.as_str().unwrap()).unwrap()
}

pub struct Passkey {
    pub credential_id: Vec<u8>,
    pub prf: [u8; 32],
}

impl Passkey {
    /// A new passkey with a credential id of `credential_len` bytes.
    pub fn new(credential_len: usize) -> Passkey {
        let mut credential_id = vec![0u8; credential_len];
        OsRng.fill_bytes(&mut credential_id);
        let mut prf = [0u8; 32];
        OsRng.fill_bytes(&mut prf);
        Passkey { credential_id, prf }
    }

    /// The KEK this passkey gives `handle`.
    pub fn kek(&self, handle: &str) -> KeyEncryptionKey {
        KeyEncryptionKey::from_passkey(
            &PasskeyPrfOutput::from_slice(&self.prf).unwrap(),
            handle,
            &self.credential_id,
        )
        .unwrap()
    }

    /// An `AddPasskey` body: `identity` sealed under this passkey for `handle`.
    pub fn body(&self, handle: &str, identity: &IdentitySecret, label: &str) -> Value {
        let sealed = self.kek(handle).seal_identity(&mut OsRng, identity);
        json!({
            "credential_id": b64(&self.credential_id),
            "label": label,
            "sealed_identity": b64(sealed.as_bytes()),
        })
    }
}
