//! The document's patterns say what `parse` accepts, so a generated
//! "valid" request is valid (an API fuzzer found 11 operations where the
//! old hand-written document was looser than the server). Where the rule
//! cannot be a pattern (a display name's trimmed length), the pattern never
//! refuses what `parse` accepts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use latchkey_api::openapi::document;
use latchkey_api::{ConversationId, DisplayName, Email, GrantId, Handle, LinkFragment, B64};
use proptest::prelude::*;
use regex::Regex;

/// The schema's pattern, compiled. The document uses `\uXXXX` as JSON
/// Schema's (ECMA-262) dialect does; Rust's regex spells it `\x{XXXX}`.
fn pattern(schema: &str) -> Regex {
    static DOC: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(document);
    let doc = &*DOC;
    let text = doc["components"]["schemas"][schema]["pattern"]
        .as_str()
        .unwrap_or_else(|| panic!("{schema} has no pattern"));
    let rust = Regex::new(r"\\u([0-9A-Fa-f]{4})")
        .unwrap()
        .replace_all(text, r"\x{$1}");
    Regex::new(&rust).unwrap_or_else(|e| panic!("{schema}: {e}"))
}

fn accepts<T: serde::de::DeserializeOwned>(text: &str) -> bool {
    serde_json::from_value::<T>(serde_json::Value::String(text.to_owned())).is_ok()
}

proptest! {
    #[test]
    fn base64url(text in "[A-Za-z0-9_=+/-]{0,12}") {
        prop_assert_eq!(pattern("B64").is_match(&text), accepts::<B64>(&text), "{}", text);
    }

    #[test]
    fn grant_ids(text in "[A-Za-z0-9_=+/-]{41,44}") {
        prop_assert_eq!(pattern("GrantId").is_match(&text), accepts::<GrantId>(&text), "{}", text);
    }

    #[test]
    fn link_fragments(text in "k[0-9]\\.[A-Za-z0-9_=+/-]{42,44}") {
        prop_assert_eq!(
            pattern("LinkFragment").is_match(&text),
            accepts::<LinkFragment>(&text),
            "{}", text
        );
    }

    #[test]
    fn conversation_ids(text in "[0-9a-fA-G]{31,33}") {
        prop_assert_eq!(
            pattern("ConversationId").is_match(&text),
            accepts::<ConversationId>(&text),
            "{}", text
        );
    }

    #[test]
    fn handles(text in "[ a-zA-Z0-9_-]{0,36}") {
        prop_assert_eq!(pattern("Handle").is_match(&text), Handle::parse(&text).is_ok(), "{}", text);
    }

    #[test]
    fn emails(text in "[ a-zA-Z0-9@._+<>!-]{0,24}|[a-z.]{1,8}@[a-z0-9-]{1,8}(\\.[a-z0-9-]{0,4}){0,3}") {
        prop_assert_eq!(pattern("Email").is_match(&text), Email::parse(&text).is_ok(), "{}", text);
    }

    #[test]
    fn display_names_the_server_takes_match(text in "\\PC{0,90}|[a\u{7}\u{202E} ]{0,5}") {
        if DisplayName::parse(&text).is_ok() {
            prop_assert!(pattern("DisplayName").is_match(&text), "{:?}", text);
        } else if text.trim().chars().count() <= 80 && !text.trim().is_empty() {
            prop_assert!(!pattern("DisplayName").is_match(&text), "{:?}", text);
        }
    }
}

#[test]
fn a_canonical_grant_id_matches_and_a_noncanonical_one_does_not() {
    let canonical = format!("{}A", "A".repeat(42));
    let noncanonical = format!("{}B", "A".repeat(42));
    assert!(pattern("GrantId").is_match(&canonical) && accepts::<GrantId>(&canonical));
    assert!(!pattern("GrantId").is_match(&noncanonical) && !accepts::<GrantId>(&noncanonical));
}
