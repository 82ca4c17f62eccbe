//! Random identifiers the server makes: row ids and session tokens.

use base64ct::{Base64UrlUnpadded, Encoding};
use latchkey_core::{OsRng, RngCore};

/// 16 random bytes as 32 lower-case hex digits: row ids, lease tokens.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 random bytes as unpadded base64url: session tokens (stored hashed).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    Base64UrlUnpadded::encode_string(&bytes)
}
