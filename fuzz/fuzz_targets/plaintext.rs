//! The padded message-plaintext decoder (`Message::decode_padded`, reached
//! through `testkit::decode_plaintext`). Behind the AEAD only the holder of the
//! conversation key can feed it, but that is the other party of the
//! conversation: a hostile guest or member controls these bytes completely
//! (lengths, UTF-8, flags, padding). A fuzzer cannot forge AEAD tags, so this
//! decoder is fuzzed directly. It must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = latchkey_core::testkit::decode_plaintext(data);
});
