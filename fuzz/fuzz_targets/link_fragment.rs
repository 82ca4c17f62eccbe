//! `LinkKey::parse_fragment`: the text after `#` in an e-mailed link, typed or
//! pasted by anyone. It must never panic, and it claims to be strict: whatever
//! it accepts must be the one canonical spelling of that key, so
//! `expose_fragment()` has to give back exactly the input.
#![no_main]

use latchkey_core::LinkKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = LinkKey::parse_fragment(text) {
        assert_eq!(
            key.expose_fragment().as_str(),
            text,
            "parse_fragment accepted a non-canonical fragment"
        );
    }
});
