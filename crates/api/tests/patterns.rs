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

/// Blobs the core really makes match the document's field patterns (size
/// and version byte), so the document is not a guess about the protocol.
#[test]
fn real_blobs_match_their_field_patterns() {
    use base64ct::{Base64UrlUnpadded, Encoding};
    use latchkey_core::opaque::{ClientLogin, ClientRegistration};
    use latchkey_core::server::{FieldPurpose, RootSecret};
    use latchkey_core::{
        ConversationKey, IdentityChallenge, IdentitySecret, KeyEncryptionKey, LinkKey, OsRng,
        RecoveryKey,
    };

    let doc = document();
    let field = |schema: &str, name: &str| {
        let text = doc["components"]["schemas"][schema]["properties"][name]["pattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{schema}.{name} has no pattern"));
        Regex::new(text).unwrap()
    };
    let check = |schema: &str, name: &str, bytes: &[u8]| {
        let text = Base64UrlUnpadded::encode_string(bytes);
        assert!(
            field(schema, name).is_match(&text),
            "{schema}.{name}: {text}"
        );
        let mut other = bytes.to_vec();
        other[0] ^= 0x80;
        let text = Base64UrlUnpadded::encode_string(&other);
        assert!(
            !field(schema, name).is_match(&text)
                || name == "identity_public"
                || name == "recovery_proof"
                || name == "identity_proof",
            "{schema}.{name} takes another first byte: {text}"
        );
    };
    let (_, request) = ClientRegistration::start(&mut OsRng, b"password").unwrap();
    check("RegisterStart", "request", &request);
    check("PasswordStart", "request", &request);
    let (_, ke1) = ClientLogin::start(&mut OsRng, b"password").unwrap();
    check("LoginStart", "request", &ke1);
    let identity = IdentitySecret::generate(&mut OsRng);
    check(
        "RegisterFinish",
        "identity_public",
        identity.public().as_bytes(),
    );
    let recovery = RecoveryKey::generate(&mut OsRng);
    let sealed =
        KeyEncryptionKey::from_recovery_key(&recovery).seal_identity(&mut OsRng, &identity);
    check("RegisterFinish", "sealed_identity", sealed.as_bytes());
    let challenge = IdentityChallenge::generate(&mut OsRng);
    let proof = identity.prove(&challenge.public(), "ann").unwrap();
    check("RegisterFinish", "identity_proof", proof.as_bytes());
    // The token as the server makes it: the sealed challenge, then the
    // expiry (8 bytes).
    let key = RootSecret::generate(&mut OsRng).field_key(FieldPurpose::RegistrationState);
    let mut token = challenge.seal(&mut OsRng, &key, b"context").unwrap();
    token.extend_from_slice(&u64::MAX.to_be_bytes());
    check("RegisterFinish", "registration_token", &token);
    check("NewRecovery", "recovery_sealed_identity", sealed.as_bytes());
    check("NewRecovery", "recovery_proof", &*recovery.proof());
    let conversation = latchkey_core::ConversationId::generate(&mut OsRng);
    let key = ConversationKey::generate(&mut OsRng);
    let sealed_key = key
        .seal_to_member(&mut OsRng, &identity.public(), &conversation)
        .unwrap();
    check("StartConversation", "sealed_key", sealed_key.as_bytes());
    let wrapped = LinkKey::generate(&mut OsRng).wrap(&mut OsRng, &conversation, &key);
    check("GrantInput", "wrapped_key", wrapped.as_bytes());
    check("AddGrant", "wrapped_key", wrapped.as_bytes());
}
