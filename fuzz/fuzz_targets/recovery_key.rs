//! `RecoveryKey::parse`: what a member types back from the printed
//! `LKR1-XXXX-…` sheet (any case, spaces, hyphens, Crockford look-alikes). It
//! must never panic, and any key it accepts must print to a form that parses
//! back to the same key (the printable form is a fixed point).
#![no_main]

use latchkey_core::RecoveryKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = RecoveryKey::parse(text) {
        let printable = key.expose_printable();
        let again = RecoveryKey::parse(&printable).expect("the printable form must parse");
        assert_eq!(again.expose_printable().as_str(), printable.as_str());
        assert!(again == key, "printable form parses to another key");
    }
});
