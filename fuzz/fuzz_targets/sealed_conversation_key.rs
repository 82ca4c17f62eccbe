//! `SealedConversationKey::from_bytes` + `ConversationKey::open_sealed`: the
//! HPKE blob the server hands a member for each conversation. The server (or
//! whoever writes its database) chooses these bytes, including the encapsulated
//! X25519 key, so low-order points and every length must be refused without a
//! panic. The member key is the one of hpke.json, so its seed opens.
#![no_main]

use std::sync::OnceLock;

use latchkey_core::{ConversationId, ConversationKey, IdentitySecret, SealedConversationKey};
use latchkey_core_fuzz::hpke_recipient;
use libfuzzer_sys::fuzz_target;

static MEMBER: OnceLock<(IdentitySecret, ConversationId)> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let (member, conversation) = MEMBER.get_or_init(hpke_recipient);
    if let Ok(sealed) = SealedConversationKey::from_bytes(data.to_vec()) {
        assert_eq!(sealed.as_bytes(), data);
        let _ = ConversationKey::open_sealed(member, conversation, &sealed);
    }
});
