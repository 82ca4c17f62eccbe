//! The server's own cryptography, all keyed from one 32-byte root secret that
//! lives in the secrets file beside (never inside) the database:
//!
//! - [`FieldKey`]: seals a database field (an outbox row's link key, a guest's
//!   e-mail address) so that a stolen database reveals nothing.
//! - [`BlindIndexKey`]: a keyed hash of a normalised e-mail address, so the
//!   server can find a guest's conversations by address without storing it.
//!
//! These protect against a database thief, not against the running server,
//! which must send e-mail and so must read addresses while it does.

use hmac::{Hmac, Mac};
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::encoding::{associated_data, Reader};
use crate::kdf::derive32;
use crate::secret::secret_bytes;
use crate::{aead, Error};

secret_bytes! {
    /// The server's root secret. Every server sub-key is derived from it.
    pub struct RootSecret([u8; 32]);
}

/// Seals database fields of one [`FieldPurpose`], which it carries, so a key
/// cannot seal under another purpose's label.
#[derive(Debug)]
pub struct FieldKey {
    key: SubKey,
    purpose: FieldPurpose,
}

secret_bytes! {
    /// A derived server sub-key.
    struct SubKey([u8; 32]);
}

secret_bytes! {
    /// Computes blind indexes of e-mail addresses.
    pub struct BlindIndexKey([u8; 32]);
}

/// What a sealed field holds. Each purpose has its own key and its own
/// associated-data label, so a field cannot be moved to another column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldPurpose {
    /// An e-mail waiting in the outbox: its recipient and, for a guest, the
    /// link key.
    OutboxLinkKey,
    /// A guest's e-mail address.
    GuestEmail,
    /// A member's e-mail address, for content-free notices.
    MemberEmail,
    /// OPAQUE login state kept between the two login requests.
    LoginState,
    /// A registration's identity challenge, sealed into the token the
    /// client carries from the first registration request to the second.
    RegistrationState,
}

impl FieldPurpose {
    fn key_label(self) -> &'static str {
        match self {
            FieldPurpose::OutboxLinkKey => "latchkey/v1/server/outbox-link-key",
            FieldPurpose::GuestEmail => "latchkey/v1/server/guest-email",
            FieldPurpose::MemberEmail => "latchkey/v1/server/member-email",
            FieldPurpose::LoginState => "latchkey/v1/server/login-state",
            FieldPurpose::RegistrationState => "latchkey/v1/server/registration-state",
        }
    }

    fn ad_label(self) -> &'static str {
        match self {
            FieldPurpose::OutboxLinkKey => "latchkey/v1/field/outbox-link-key",
            FieldPurpose::GuestEmail => "latchkey/v1/field/guest-email",
            FieldPurpose::MemberEmail => "latchkey/v1/field/member-email",
            FieldPurpose::LoginState => "latchkey/v1/field/login-state",
            FieldPurpose::RegistrationState => "latchkey/v1/field/registration-state",
        }
    }

    fn what(self) -> &'static str {
        match self {
            FieldPurpose::OutboxLinkKey => "sealed outbox link key",
            FieldPurpose::GuestEmail => "sealed guest e-mail",
            FieldPurpose::MemberEmail => "sealed member e-mail",
            FieldPurpose::LoginState => "sealed login state",
            FieldPurpose::RegistrationState => "sealed registration state",
        }
    }
}

const BLIND_INDEX: &str = "latchkey/v1/server/blind-index";

impl RootSecret {
    /// A fresh root secret, made once by `latchkey init`.
    pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
        let mut key = RootSecret([0u8; 32]);
        rng.fill_bytes(&mut key.0);
        key
    }

    /// Wraps the bytes read from the secrets file.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        RootSecret(bytes)
    }

    /// The bytes, for writing the secrets file only.
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `HKDF(root, "latchkey/v1/server/<purpose>")`.
    pub fn field_key(&self, purpose: FieldPurpose) -> FieldKey {
        FieldKey {
            key: SubKey(*derive32(&self.0, purpose.key_label())),
            purpose,
        }
    }

    /// `HKDF(root, "latchkey/v1/server/blind-index")`.
    pub fn blind_index_key(&self) -> BlindIndexKey {
        BlindIndexKey(*derive32(&self.0, BLIND_INDEX))
    }

    /// `HKDF(root, "latchkey/v1/server/webhook")`: derives each webhook
    /// endpoint's signing secret (see [`crate::webhook`]).
    pub fn webhook_key(&self) -> crate::webhook::WebhookKey {
        crate::webhook::WebhookKey(*derive32(&self.0, crate::webhook::WEBHOOK_KEY))
    }
}

impl FieldKey {
    /// Seals `plaintext`, bound to this key's purpose and to `context` (e.g.
    /// the row's id), so a sealed value copied to another row or column does
    /// not open.
    pub fn seal(
        &self,
        rng: &mut (impl CryptoRng + RngCore),
        context: &[u8],
        plaintext: &[u8],
    ) -> Vec<u8> {
        aead::seal(
            rng,
            &self.key.0,
            &field_ad(self.purpose, context),
            plaintext,
        )
    }

    /// Opens what [`FieldKey::seal`] made with the same purpose and context.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        let ad = field_ad(self.purpose, context);
        aead::open(&self.key.0, self.purpose.what(), &ad, sealed)
    }

    /// What this key seals.
    pub fn purpose(&self) -> FieldPurpose {
        self.purpose
    }

    #[cfg(feature = "testkit")]
    pub(crate) fn expose_for_testkit(&self) -> &[u8; 32] {
        &self.key.0
    }

    #[cfg(feature = "testkit")]
    pub(crate) fn seal_with_nonce(
        &self,
        nonce: &[u8; aead::NONCE_LEN],
        context: &[u8],
        plaintext: &[u8],
    ) -> Vec<u8> {
        aead::seal_with_nonce(
            &self.key.0,
            nonce,
            &field_ad(self.purpose, context),
            plaintext,
        )
    }
}

/// The context is the last field, so its length needs no prefix.
fn field_ad(purpose: FieldPurpose, context: &[u8]) -> Vec<u8> {
    associated_data(purpose.ad_label(), &[context])
}

/// Lower-cases and trims an address, so that `Ann@Example.org ` and
/// `ann@example.org` are one guest. (Local parts are case-sensitive in theory
/// and never in practice.)
pub fn normalize_email(address: &str) -> Zeroizing<String> {
    Zeroizing::new(address.trim().to_lowercase())
}

impl BlindIndexKey {
    /// `HMAC-SHA256(key, normalize_email(address))`.
    #[allow(clippy::expect_used)] // HMAC accepts keys of every length
    pub fn email(&self, address: &str) -> [u8; 32] {
        let normalized = normalize_email(address);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC accepts keys of any length");
        mac.update(normalized.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// Everything in the secrets file:
/// `version || root secret (32) || OPAQUE server setup (version || …)`.
#[cfg(feature = "opaque")]
#[derive(Debug)]
pub struct ServerSecrets {
    /// Root of every server sub-key.
    pub root: RootSecret,
    /// OPAQUE's long-term server secrets.
    pub opaque: crate::opaque::ServerSetup,
}

#[cfg(feature = "opaque")]
impl ServerSecrets {
    /// Fresh secrets for a new installation.
    pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
        ServerSecrets {
            root: RootSecret::generate(rng),
            opaque: crate::opaque::ServerSetup::generate(rng),
        }
    }

    /// The file's bytes. Secret: write with mode 0600.
    pub fn expose_file_bytes(&self) -> Zeroizing<Vec<u8>> {
        let setup = self.opaque.expose_bytes();
        let mut out = Zeroizing::new(Vec::with_capacity(1 + 32 + setup.len()));
        out.push(crate::PROTOCOL_VERSION);
        out.extend_from_slice(&self.root.0);
        out.extend_from_slice(&setup);
        out
    }

    /// Reads the file's bytes.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = Reader::new(bytes, "secrets file");
        reader.version()?;
        let root = RootSecret(reader.array()?);
        let opaque = crate::opaque::ServerSetup::from_bytes(reader.rest())?;
        Ok(ServerSecrets { root, opaque })
    }
}
