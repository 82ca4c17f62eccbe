//! Passkeys that unlock the member's key (docs/protocol.md §4.9.1). The
//! server checks no WebAuthn signature: a passkey here opens nothing on the
//! server, it only keeps the identity sealed under the key its PRF gives,
//! one copy per passkey.

use crate::wire::bodies;
use crate::B64;

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
}
