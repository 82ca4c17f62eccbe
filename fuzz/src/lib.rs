//! Fixed keys and contexts shared by the fuzz targets.
//!
//! Every key is the one a case of `crates/core/tests/vectors/*.json` uses, built
//! through the public API (`generate` fed by `testkit::FixedRng`, which replays
//! the vector's bytes), so the seed corpus made by `fuzz/seeds.py` from those
//! vectors contains inputs that decrypt: the fuzzer starts from the success
//! path, not only from the rejection paths.
//!
//! Nothing here is secret: these are published test-vector keys.

use latchkey_core::server::{FieldPurpose, RootSecret};
use latchkey_core::testkit::FixedRng;
use latchkey_core::{
    ConversationId, ConversationKey, IdentityPublic, IdentitySecret, KeyEncryptionKey, LinkKey,
    MessageContext, MessageId, RecoveryKey, Role,
};

/// Decodes a hex literal of this file. Only ever called on the constants below.
fn hex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd hex literal");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex literal"))
        .collect()
}

fn hex16(text: &str) -> [u8; 16] {
    hex(text).try_into().expect("16-byte hex literal")
}

fn hex32(text: &str) -> [u8; 32] {
    hex(text).try_into().expect("32-byte hex literal")
}

/// hpke.json: the recipient (`recipient_ikm`) and conversation of `hpke.seal`.
pub fn hpke_recipient() -> (IdentitySecret, ConversationId) {
    let mut rng = FixedRng::new(hex(
        "7ab3d9f3d2f7afcb263d96350830c14820c698ee3eb69970028bca8d0aac3f69",
    ));
    (
        IdentitySecret::generate(&mut rng),
        ConversationId::from_bytes(hex16("5066173ddbbfcb8ca36bf8a9f8e4dd9c")),
    )
}

/// grant.json: the link key and conversation of `grant.wrap`.
pub fn grant_link() -> (LinkKey, ConversationId) {
    let mut rng = FixedRng::new(hex(
        "fbf2c10f92de7e54435e862e039fd2b2be4c87ac44012eee5a5dfb3aaa25c9fc",
    ));
    (
        LinkKey::generate(&mut rng),
        ConversationId::from_bytes(hex16("26537b752b8944c23a03937cda928e0e")),
    )
}

/// message.json: the conversation key and the five contexts of `message.encrypt`.
pub fn message_key_and_contexts() -> (ConversationKey, Vec<MessageContext>) {
    let mut rng = FixedRng::new(hex(
        "950e11b426aece1a183d05bcea38735c974e90d766bd01c8b5854bae6702a154",
    ));
    let key = ConversationKey::generate(&mut rng);
    let conversation = ConversationId::from_bytes(hex16("a6ed6d054ed7ae8f7deea848baf0415c"));
    let contexts = [
        ("1c3526580f69e05580d8d96b0acca85d", Role::Guest),
        ("ba18c6cf4f13cdd0ebc77c96745e03d0", Role::Member),
        ("d13785ec1a0c4b78c2b3f096f12271e8", Role::Guest),
        ("6b6f5d718b78923cb37359075ce4ffc9", Role::Member),
        ("d989e742469c3909d50b2c905fb44ddb", Role::Guest),
    ]
    .into_iter()
    .map(|(id, sender)| MessageContext {
        conversation,
        message: MessageId::from_bytes(hex16(id)),
        sender,
    })
    .collect();
    (key, contexts)
}

/// kek.json: the recovery-key KEK and the identity of the second `identity.seal`.
pub fn recovery_kek_and_identity() -> (KeyEncryptionKey, IdentityPublic) {
    let recovery = RecoveryKey::generate(&mut FixedRng::new(hex(
        "bc009fb13780b59bba53d019930cd0e88d1405fd",
    )));
    let identity = IdentitySecret::generate(&mut FixedRng::new(hex(
        "b808a6232fae72a8855edd420d095bc741920e04b1bd6672b3e54ec8bbbcecbe",
    )));
    (
        KeyEncryptionKey::from_recovery_key(&recovery),
        identity.public(),
    )
}

/// server.json: the root secret, and each purpose with the context its vector uses.
pub fn server_root_and_fields() -> (RootSecret, [(FieldPurpose, Vec<u8>); 3]) {
    (
        RootSecret::from_bytes(hex32(
            "25950f5cbc73be00675b277c1152fa70316ee4efa9aa35720bfc85f5e5a1bf28",
        )),
        [
            (FieldPurpose::OutboxLinkKey, hex("6f7574626f78203432")),
            (
                FieldPurpose::GuestEmail,
                hex("d63bd3eb8cd7ed5d692ecc7a01c7534a"),
            ),
            (FieldPurpose::LoginState, hex("6d656d6265722037")),
        ],
    )
}

/// opaque.json: the ChaCha20 seed, password and credential id of `opaque.flow`.
pub fn opaque_flow_inputs() -> ([u8; 32], &'static [u8], Vec<u8>) {
    (
        hex32("9cecfb65fa0bb74120ae1e657aa68ee298935450d9fcbf819fabb6bc79f8a0d0"),
        b"correct horse battery staple",
        hex("27576c575e5f1d9b182344485d7d2199"),
    )
}
