//! `SealedIdentity::from_bytes` + `KeyEncryptionKey::open_identity`: the
//! member's sealed identity secret, stored by the server and sent back at
//! login, so the server chooses these bytes. Must refuse any of them without a
//! panic. The KEK (from kek.json's recovery key) and the expected public key
//! are those of a vector, so the seed opens.
#![no_main]

use std::sync::OnceLock;

use latchkey_core::{IdentityPublic, KeyEncryptionKey, SealedIdentity};
use latchkey_core_fuzz::recovery_kek_and_identity;
use libfuzzer_sys::fuzz_target;

static KEK: OnceLock<(KeyEncryptionKey, IdentityPublic)> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let (kek, expected) = KEK.get_or_init(recovery_kek_and_identity);
    if let Ok(sealed) = SealedIdentity::from_bytes(data.to_vec()) {
        assert_eq!(sealed.as_bytes(), data);
        if let Ok(identity) = kek.open_identity(&sealed, expected) {
            assert!(identity.public() == *expected);
        }
    }
});
