//! `IdentityPublic::from_slice`: a member's public key as a guest's browser
//! receives it (contact page, API), so whoever serves the page chooses it. It
//! must accept only canonical X25519 encodings, without a panic; an accepted
//! key must print a fingerprint and then either take a sealed conversation key
//! or be refused with an error (low-order points) — never a panic.
#![no_main]

use std::sync::OnceLock;

use latchkey_core::{ConversationId, ConversationKey, IdentityPublic};
use latchkey_core_fuzz::hpke_recipient;
use libfuzzer_sys::fuzz_target;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

static KEY: OnceLock<(ConversationKey, ConversationId)> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let (key, conversation) = KEY.get_or_init(|| {
        let mut rng = ChaCha20Rng::from_seed([3; 32]);
        (ConversationKey::generate(&mut rng), hpke_recipient().1)
    });
    if let Ok(public) = IdentityPublic::from_slice(data) {
        assert_eq!(public.as_bytes().as_slice(), data);
        let _ = public.fingerprint().to_string();
        let mut rng = ChaCha20Rng::from_seed([9; 32]);
        let _ = key.seal_to_member(&mut rng, &public, conversation);
    }
});
