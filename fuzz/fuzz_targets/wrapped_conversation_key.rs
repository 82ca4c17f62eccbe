//! `WrappedConversationKey::from_bytes` + `LinkKey::unwrap`: the blob a guest's
//! browser receives when it redeems a link; a malicious server chooses it. Any
//! bytes must give a clean error. The link key is the one of grant.json, so
//! its seed unwraps.
#![no_main]

use std::sync::OnceLock;

use latchkey_core::{ConversationId, LinkKey, WrappedConversationKey};
use latchkey_core_fuzz::grant_link;
use libfuzzer_sys::fuzz_target;

static LINK: OnceLock<(LinkKey, ConversationId)> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let (link, conversation) = LINK.get_or_init(grant_link);
    if let Ok(wrapped) = WrappedConversationKey::from_bytes(data.to_vec()) {
        assert_eq!(wrapped.as_bytes(), data);
        let _ = link.unwrap(conversation, &wrapped);
    }
});
