//! Passkeys that unlock the member's key (docs/protocol.md §4.9.1), set it
//! up at enrollment, and sign in with it (§4.9.2). The server checks no
//! WebAuthn signature: it keeps the identity sealed under the key each
//! passkey's PRF gives, one copy per passkey, and a passkey sign-in proves
//! the identity key that copy opens, against a one-time challenge.

use crate::wire::bodies;
use crate::{DisplayName, Email, Handle, LoginId, B64};

bodies! {
    /// One passkey of the signed-in member.
    pub struct PasskeyView {
        /// The WebAuthn credential id (1 to 1023 bytes), as the browser gave it.
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])?$", min_length = 2, max_length = 1364))]
        pub credential_id: B64,
        /// The member's name for it ("Laptop"), 1 to 64 characters.
        pub label: String,
        /// The identity private key sealed under this passkey's KEK (73 bytes).
        pub sealed_identity: B64,
        /// When it was added (ms since 1970).
        pub created_at: i64,
    }

    /// The signed-in member's passkeys, oldest first.
    pub struct PasskeyList {
        pub passkeys: Vec<PasskeyView>,
    }

    /// A passkey to add: its credential id, a label, and the identity sealed
    /// under the KEK its PRF gave.
    pub struct AddPasskey {
        /// The WebAuthn credential id (1 to 1023 bytes).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])?$", min_length = 2, max_length = 1364))]
        pub credential_id: B64,
        /// 1 to 64 characters, no control characters.
        #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"))]
        pub label: String,
        /// The identity private key sealed under the passkey's KEK (73 bytes).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{95}[AQgw]$"))]
        pub sealed_identity: B64,
    }

    /// Passkey enrollment, step 1: the invitation names the handle.
    pub struct EnrollStart {
        /// The token from the enrollment link's fragment (43 characters of base64url).
        #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{43}$"))]
        pub invite: String,
    }

    /// The server's answer to passkey enrollment step 1.
    pub struct EnrollStarted {
        /// The invited handle, which the proof binds.
        pub handle: Handle,
        /// The server's one-time X25519 challenge `E` (32 bytes): prove with the new identity key.
        pub identity_challenge: B64,
        /// Pass back unchanged in step 2, within 10 minutes (81 bytes, opaque to the client).
        pub registration_token: B64,
    }

    /// Passkey enrollment, step 2: the member's key, sealed under his new
    /// passkey and under his recovery key; no password.
    pub struct EnrollPasskey {
        /// The token from the enrollment link's fragment.
        #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{43}$"))]
        pub invite: String,
        pub display_name: DisplayName,
        /// The member's address, for notices. Stored sealed; never shown to guests.
        pub email: Email,
        /// The member's X25519 identity public key (32 bytes, canonical).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"))]
        pub identity_public: B64,
        /// From step 1, unchanged (81 bytes).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{106}$"))]
        pub registration_token: B64,
        /// Proof of holding `identity_public`'s private key against step 1's challenge, for the invited handle (32 bytes; docs/protocol.md §4.2.1).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"))]
        pub identity_proof: B64,
        /// The new passkey: its credential id, a label, and the private key sealed under its KEK.
        pub passkey: AddPasskey,
        /// The private key sealed under the recovery key's KEK (73 bytes). Required: with no password, the recovery key is the only way back when the passkeys are lost.
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^A[Q-Za-f][A-Za-z0-9_-]{95}[AQgw]$"))]
        pub recovery_sealed_identity: B64,
        /// `RecoveryKey::proof()` (32 bytes); the server stores its SHA-256.
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"))]
        pub recovery_proof: B64,
    }

    /// Passkey sign-in, step 1.
    pub struct PasskeyLoginStart {
        pub handle: Handle,
    }

    /// One passkey's sealed copy of the private key, for sign-in.
    pub struct PasskeyCopy {
        /// The WebAuthn credential id, for `allowCredentials`.
        pub credential_id: B64,
        /// The identity private key sealed under this passkey's KEK (73 bytes).
        pub sealed_identity: B64,
    }

    /// The server's answer to passkey sign-in step 1.
    pub struct PasskeyLoginStarted {
        /// Pass to step 2 within 60 seconds; each attempt finishes once.
        pub login_id: LoginId,
        /// The server's one-time X25519 challenge `E` (32 bytes): prove with the unlocked identity key.
        pub identity_challenge: B64,
        /// The member's identity public key (32 bytes): what the opened copy must match.
        pub identity_public: B64,
        /// Every passkey the member has, oldest first (at least one).
        pub passkeys: Vec<PasskeyCopy>,
    }

    /// Passkey sign-in, step 2.
    pub struct PasskeyLoginFinish {
        /// From step 1.
        pub login_id: LoginId,
        /// The passkey that opened the copy (it must still be the member's).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])?$", min_length = 2, max_length = 1364))]
        pub credential_id: B64,
        /// Proof of holding the identity key against step 1's challenge, for this handle (32 bytes; docs/protocol.md §4.9.2).
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"))]
        pub identity_proof: B64,
    }
}
