//! Webhook signing keys, as the Standard Webhooks specification wants them
//! (`whsec_<base64 key>`, `webhook-signature: v1,<base64 HMAC-SHA256>`).
//!
//! No endpoint secret is stored anywhere. Each one is derived from the
//! server's root secret and the endpoint's id, so the running server can
//! sign for every endpoint while a stolen database (which holds the ids)
//! forges nothing. Rotating a secret is removing the endpoint and adding a
//! new one: a new id, so a new secret.

use base64ct::{Base64, Encoding};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::secret::secret_bytes;

/// HKDF label of the webhook key (from the root secret).
pub(crate) const WEBHOOK_KEY: &str = "latchkey/v1/server/webhook";
/// HMAC prefix of an endpoint's secret (before a 0x00 and the endpoint id).
const ENDPOINT_SECRET: &str = "latchkey/v1/webhook-endpoint";

secret_bytes! {
    /// Derives every webhook endpoint's secret:
    /// `HKDF(root, "latchkey/v1/server/webhook")`.
    pub struct WebhookKey([u8; 32]);
}

secret_bytes! {
    /// One endpoint's signing secret: the bytes behind its `whsec_…` text.
    pub struct EndpointSecret([u8; 32]);
}

#[allow(clippy::expect_used)] // HMAC accepts keys of every length
fn hmac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

impl WebhookKey {
    /// `HMAC-SHA256(webhook key, "latchkey/v1/webhook-endpoint" || 0x00 ||
    /// endpoint id)`. The id is the endpoint's text id as stored.
    pub fn endpoint_secret(&self, endpoint_id: &str) -> EndpointSecret {
        let mut mac = hmac(&self.0);
        mac.update(ENDPOINT_SECRET.as_bytes());
        mac.update(&[0]);
        mac.update(endpoint_id.as_bytes());
        EndpointSecret(mac.finalize().into_bytes().into())
    }
}

impl EndpointSecret {
    /// The secret as the receiver configures it: `whsec_` and the key in
    /// standard base64. Shown once, when the endpoint is made.
    pub fn expose_whsec(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::from("whsec_"));
        text.push_str(&Base64::encode_string(&self.0));
        text
    }

    /// The `webhook-signature` header's value for one delivery:
    /// `v1,` and the standard base64 of
    /// `HMAC-SHA256(key, "{msg_id}.{timestamp}.{body}")`, `timestamp` in
    /// seconds since the Unix epoch.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        sign_with(&self.0, msg_id, timestamp, body)
    }
}

/// The signature with a key of any length (the specification's example
/// key has 24 bytes; ours have 32).
fn sign_with(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = hmac(key);
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag: [u8; 32] = mac.finalize().into_bytes().into();
    format!("v1,{}", Base64::encode_string(&tag))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use base64ct::Encoding;

    use crate::server::RootSecret;

    /// The vector in docs/protocol.md §4.18: any other implementation of
    /// the derivation must give these texts.
    #[test]
    fn the_documented_vector() {
        let root = RootSecret::from_bytes([7; 32]);
        let secret = root
            .webhook_key()
            .endpoint_secret("00112233445566778899aabbccddeeff");
        assert_eq!(
            secret.expose_whsec().as_str(),
            "whsec_bJ0H98cQtu0ltxAELHqk4WI20H8Z0wS+LVKAzO6ZYxg="
        );
        assert_eq!(
            secret.sign(
                "0123456789abcdef0123456789abcdef",
                1_700_000_000,
                br#"{"type":"member.disabled"}"#
            ),
            "v1,NGQtg9J0c+9rB50iCXHqDNCR/sQT6l/7EXe1u1Rw0+0="
        );
    }

    /// The Standard Webhooks specification's own example: secret
    /// `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`, id `msg_p5jXN8AQM9LWM0D4loKWxJek`,
    /// timestamp 1614265330, body `{"test": 2432232314}`.
    #[test]
    fn the_specification_example() {
        let mut key = [0u8; 32];
        let key = base64ct::Base64::decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &mut key).unwrap();
        assert_eq!(
            super::sign_with(
                key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
