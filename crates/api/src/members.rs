//! Members: registration and login (OPAQUE: the server never sees a
//! password), the profile, password change and recovery.

use crate::wire::bodies;
use crate::{DisplayName, Email, Handle, LoginId, B64};

bodies! {
    /// Step 1 of registration.
    pub struct RegisterStart {
        pub handle: Handle,
        /// OPAQUE registration request (33 bytes).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{42}$"))]
        pub request: B64,
        /// Needed when the operator set `registration_code`; otherwise omit it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub registration_code: Option<String>,
        /// An invitation's enrollment token (from the link's fragment) in place of a registration code: the handle must be the invited one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub invite: Option<String>,
    }

    /// The server's answer to registration step 1.
    pub struct RegisterStarted {
        /// OPAQUE registration response (65 bytes).
        pub response: B64,
        /// The server's one-time X25519 challenge `E` (32 bytes): prove with the new identity key.
        pub identity_challenge: B64,
        /// Pass back unchanged in step 2, within 10 minutes (81 bytes, opaque to the client).
        pub registration_token: B64,
    }

    /// The server's OPAQUE registration response.
    pub struct OpaqueResponse {
        /// OPAQUE registration response (65 bytes).
        pub response: B64,
    }

    /// Step 2 of registration.
    pub struct RegisterFinish {
        /// Needed when the operator set `registration_code`; otherwise omit it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub registration_code: Option<String>,
        /// An invitation's enrollment token (from the link's fragment) in place of a registration code: the handle must be the invited one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub invite: Option<String>,
        pub handle: Handle,
        pub display_name: DisplayName,
        /// The member's address, for notices. Stored sealed; never shown to guests.
        pub email: Email,
        /// OPAQUE registration upload (193 bytes): the password file.
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{255}[AQgw]$"))]
        pub upload: B64,
        /// The member's X25519 identity public key (32 bytes, canonical).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"))]
        pub identity_public: B64,
        /// The identity private key sealed under the member's key-encryption key (73 bytes).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{95}[AQgw]$"))]
        pub sealed_identity: B64,
        /// From step 1, unchanged (81 bytes).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{106}$"))]
        pub registration_token: B64,
        /// Proof of holding `identity_public`'s private key: HMAC over step 1's challenge, the key and the handle (32 bytes; docs/protocol.md §4.2.1).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"))]
        pub identity_proof: B64,
        /// The private key sealed under the recovery key's KEK; with `recovery_proof`, or neither.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{95}[AQgw]$"))]
        pub recovery_sealed_identity: Option<B64>,
        /// `RecoveryKey::proof()` (32 bytes); the server stores its SHA-256.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"))]
        pub recovery_proof: Option<B64>,
    }

    /// What a member sees of himself.
    pub struct MemberView {
        pub handle: Handle,
        pub display_name: DisplayName,
        /// X25519 identity public key (32 bytes).
        pub identity_public: B64,
        /// The key's fingerprint: 80 bits in Crockford base32, four groups of four.
        pub fingerprint: String,
        /// The private key, sealed under the key his password gives (73 bytes); only the member can open it. Absent when he has no password (he set up his key with a passkey).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "typescript", ts(optional))]
        pub sealed_identity: Option<B64>,
        /// The sites (`scheme://host[:port]`) whose pages may show his contact form in a frame, `/embed/m/HANDLE` (the server's `embed.allowed_origins`); empty: no site may.
        pub embed_origins: Vec<String>,
    }

    /// What anyone may see of a member: his contact page.
    pub struct PublicMember {
        pub handle: Handle,
        pub display_name: DisplayName,
        /// X25519 identity public key (32 bytes): seal conversation keys to it.
        pub identity_public: B64,
        /// The key's fingerprint: 80 bits in Crockford base32, four groups of four.
        pub fingerprint: String,
        /// False while the site has disabled him: the contact page says he takes no messages.
        pub accepts_messages: bool,
    }

    /// Step 1 of login.
    pub struct LoginStart {
        pub handle: Handle,
        /// OPAQUE login request, KE1 (97 bytes).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{127}[AQgw]$"))]
        pub request: B64,
    }

    /// The server's answer to step 1.
    pub struct LoginStarted {
        /// Pass to step 2 within 60 seconds.
        pub login_id: LoginId,
        /// OPAQUE login response, KE2 (321 bytes).
        pub response: B64,
    }

    /// Step 2 of login.
    pub struct LoginFinish {
        /// From step 1.
        pub login_id: LoginId,
        /// OPAQUE login finalization, KE3 (65 bytes).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{84}[AEIMQUYcgkosw048]$"))]
        pub finalization: B64,
    }

    /// A new display name.
    pub struct ProfileUpdate {
        pub display_name: DisplayName,
    }

    /// Step 1 of a password change.
    pub struct PasswordStart {
        /// OPAQUE registration request for the new password (33 bytes).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{42}$"))]
        pub request: B64,
    }

    /// Step 2 of a password change.
    pub struct PasswordFinish {
        /// OPAQUE registration upload for the new password (193 bytes).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{255}[AQgw]$"))]
        pub upload: B64,
        /// The same private key, re-sealed under the new key-encryption key (73 bytes).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{95}[AQgw]$"))]
        pub sealed_identity: B64,
    }

    /// Step 1 of recovery with the printed recovery key.
    pub struct RecoverStart {
        pub handle: Handle,
        /// `RecoveryKey::proof()`: 32 bytes.
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"))]
        pub recovery_proof: B64,
        /// OPAQUE registration request for the new password.
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{42}$"))]
        pub request: B64,
    }

    /// The server's answer to step 1 of recovery.
    pub struct RecoverStarted {
        /// OPAQUE registration response.
        pub response: B64,
        /// The member's X25519 public key.
        pub identity_public: B64,
        /// The private key sealed under the recovery key's KEK.
        pub recovery_sealed_identity: B64,
    }

    /// Step 2 of recovery.
    pub struct RecoverFinish {
        pub handle: Handle,
        /// `RecoveryKey::proof()`: 32 bytes.
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"))]
        pub recovery_proof: B64,
        /// OPAQUE registration upload.
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{255}[AQgw]$"))]
        pub upload: B64,
        /// The same private key, sealed under the new password's KEK.
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{95}[AQgw]$"))]
        pub sealed_identity: B64,
    }

    /// A new recovery key (the old one stops working).
    pub struct NewRecovery {
        /// The private key sealed under the new recovery key's KEK.
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{95}[AQgw]$"))]
        pub recovery_sealed_identity: B64,
        /// The new recovery key's proof (32 bytes).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"))]
        pub recovery_proof: B64,
    }
}
