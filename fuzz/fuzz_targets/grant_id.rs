//! The identifiers a client sends in requests: `GrantId::parse_base64url` (the
//! redeem body) and the `FromStr` of `ConversationId` / `MessageId` (URL path
//! segments). All are attacker-controlled text reaching the server first. None
//! may panic, and each accepted value must print back to its input (grant ids:
//! exactly; ids: lower-cased, since either case of hex is accepted).
#![no_main]

use latchkey_core::{ConversationId, GrantId, MessageId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(grant) = GrantId::parse_base64url(text) {
        assert_eq!(grant.expose_base64url().as_str(), text);
    }
    if let Ok(id) = text.parse::<ConversationId>() {
        assert_eq!(id.to_string(), text.to_ascii_lowercase());
    }
    if let Ok(id) = text.parse::<MessageId>() {
        assert_eq!(id.to_string(), text.to_ascii_lowercase());
    }
});
