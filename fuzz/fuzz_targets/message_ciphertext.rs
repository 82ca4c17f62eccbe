//! `ConversationKey::decrypt_message`: every message ciphertext comes from the
//! server, i.e. from the other party or an attacker. The blob framing (version,
//! nonce, tag) must refuse any bytes without a panic. Tried under each of the
//! five contexts of message.json with its key, so every vector ciphertext in
//! the seed corpus decrypts and reaches the plaintext decoder.
#![no_main]

use std::sync::OnceLock;

use latchkey_core::{ConversationKey, MessageContext};
use latchkey_core_fuzz::message_key_and_contexts;
use libfuzzer_sys::fuzz_target;

static KEY: OnceLock<(ConversationKey, Vec<MessageContext>)> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let (key, contexts) = KEY.get_or_init(message_key_and_contexts);
    for context in contexts {
        let _ = key.decrypt_message(context, data);
    }
});
