//! The shared test vectors: how they are made and how they are checked.
//!
//! The files in `crates/core/tests/vectors/` are JSON, one per area, each
//! `{ "description": …, "cases": [ { "op": …, … } ] }` with bytes in hex. Every
//! case is recomputed from its inputs, with randomness replaced by the bytes
//! the case names (a nonce, an HPKE ephemeral `ikm`) or, for OPAQUE, by a
//! ChaCha20 stream from a named seed. The native tests and the WebAssembly
//! build in Chromium run the same [`run_file`] over the same files.
//!
//! Not for production: enabled only by the `testkit` feature.
#![allow(clippy::indexing_slicing)]

mod identity_proof;
mod passkey;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::epoch::EpochChain;
use crate::message::Message as Plain;
use crate::server::{FieldPurpose, RootSecret};
use crate::{
    ConversationId, ConversationKey, GuestIntroduction, IdentityPublic, IdentitySecret,
    KeyEncryptionKey, LinkKey, MessageContext, MessageId, RecoveryKey, Role, SealedConversationKey,
    SealedIdentity, WrappedConversationKey,
};

/// The vector files, by name, in a fixed order.
pub const FILES: &[&str] = &[
    "link",
    "grant",
    "identity",
    "hpke",
    "message",
    "plaintext",
    "kek",
    "server",
    "epoch",
    "opaque",
    "identity-proof",
    "passkey",
];

/// Randomness that replays given bytes, for operations whose randomness is
/// part of the vector. Asking for more than it holds is reported by
/// [`FixedRng::finish`], not by a panic.
#[derive(Debug)]
pub struct FixedRng {
    bytes: Vec<u8>,
    used: usize,
    overrun: bool,
}

impl FixedRng {
    /// Replays `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        FixedRng {
            bytes,
            used: 0,
            overrun: false,
        }
    }

    /// Fails unless every byte was used, and no more.
    pub fn finish(self) -> Result<(), String> {
        if self.overrun || self.used != self.bytes.len() {
            return Err(format!(
                "randomness: {} bytes given, {} asked for{}",
                self.bytes.len(),
                self.used,
                if self.overrun { " (and more)" } else { "" }
            ));
        }
        Ok(())
    }
}

impl RngCore for FixedRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for d in dest.iter_mut() {
            match self.bytes.get(self.used) {
                Some(b) => *d = *b,
                None => self.overrun = true,
            }
            self.used += 1;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for FixedRng {}

/// Parses a decrypted message plaintext, for fuzzing the decoder directly.
pub fn decode_plaintext(bytes: &[u8]) -> Result<(), crate::Error> {
    Plain::decode_padded(bytes).map(|_| ())
}

// ---------------------------------------------------------------- running

/// Checks every case of one vector file; returns how many cases passed.
pub fn run_file(name: &str, json: &str) -> Result<usize, String> {
    let file: Value = serde_json::from_str(json).map_err(|e| format!("{name}: {e}"))?;
    let cases = file["cases"]
        .as_array()
        .ok_or_else(|| format!("{name}: no cases"))?;
    if cases.is_empty() {
        return Err(format!("{name}: no cases"));
    }
    for (i, case) in cases.iter().enumerate() {
        let op = case["op"].as_str().unwrap_or("?");
        run_case(case).map_err(|e| format!("{name} case {i} ({op}): {e}"))?;
    }
    Ok(cases.len())
}

fn run_case(c: &Value) -> Result<(), String> {
    match str_of(c, "op")? {
        "link.encode" => check_link(c),
        "link.parse_error" => expect_err(
            LinkKey::parse_fragment(str_of(c, "fragment")?)
                .map(|_| ())
                .map_err(|e| e.code()),
            c,
        ),
        "grant.wrap" => check_grant(c),
        "grant.unwrap_error" => {
            let (lk, conversation) = (link_key(c)?, cid(c)?);
            let r = WrappedConversationKey::from_bytes(hex_of(c, "wrapped")?)
                .and_then(|w| lk.unwrap(&conversation, &w));
            expect_err(r.map(|_| ()).map_err(|e| e.code()), c)
        }
        "identity.derive" => check_identity(c),
        "hpke.seal" => check_hpke(c),
        "hpke.open_error" => {
            let sk = IdentitySecret::derive(&hex_of(c, "recipient_ikm")?);
            let conversation = cid(c)?;
            let r = SealedConversationKey::from_bytes(hex_of(c, "sealed")?)
                .and_then(|s| ConversationKey::open_sealed(&sk, &conversation, &s));
            expect_err(r.map(|_| ()).map_err(|e| e.code()), c)
        }
        "message.encrypt" => check_message(c),
        "message.decrypt_error" => {
            let ck = conversation_key(c)?;
            let r = ck.decrypt_message(&message_context(c)?, &hex_of(c, "ciphertext")?);
            expect_err(r.map(|_| ()).map_err(|e| e.code()), c)
        }
        "plaintext.decode_error" => expect_err(
            Plain::decode_padded(&hex_of(c, "encoded")?)
                .map(|_| ())
                .map_err(|e| e.code()),
            c,
        ),
        "kek.recovery" => check_recovery(c),
        "recovery.parse_error" => expect_err(
            RecoveryKey::parse(str_of(c, "text")?)
                .map(|_| ())
                .map_err(|e| e.code()),
            c,
        ),
        "kek.password" => {
            let export = crate::opaque::ExportKey(arr(&hex_of(c, "export_key")?)?);
            let kek = KeyEncryptionKey::from_export_key(&export);
            eq("kek", &kek.0, &hex_of(c, "kek")?)
        }
        "identity.seal" => check_identity_seal(c),
        "identity.open_error" => {
            let kek = KeyEncryptionKey(arr(&hex_of(c, "kek")?)?);
            let public =
                IdentityPublic::from_slice(&hex_of(c, "public_key")?).map_err(|e| e.to_string())?;
            let r = SealedIdentity::from_bytes(hex_of(c, "sealed")?)
                .and_then(|s| kek.open_identity(&s, &public));
            expect_err(r.map(|_| ()).map_err(|e| e.code()), c)
        }
        "server.field" => check_field(c),
        "server.field_error" => {
            let root = RootSecret(arr(&hex_of(c, "root")?)?);
            let purpose = purpose(str_of(c, "purpose")?)?;
            let r = root
                .field_key(purpose)
                .open(&hex_of(c, "context")?, &hex_of(c, "sealed")?);
            expect_err(r.map(|_| ()).map_err(|e| e.code()), c)
        }
        "server.blind_index" => check_blind_index(c),
        "epoch.chain" => check_epoch_chain(c),
        "epoch.seal" => check_epoch_seal(c),
        "epoch.open_error" => {
            let chain =
                EpochChain::from_file_bytes(&hex_of(c, "file")?).map_err(|e| e.to_string())?;
            let key = chain
                .key(u64_of(c, "epoch")?)
                .ok_or("the chain does not reach the epoch")?;
            let r = key.open_grant(
                &arr(&hex_of(c, "grant_storage_hash")?)?,
                &hex_of(c, "sealed")?,
            );
            expect_err(r.map(|_| ()).map_err(|e| e.code()), c)
        }
        "opaque.flow" => check_opaque(c),
        op if op.starts_with("identity_proof.") => identity_proof::run(op, c),
        op if op.starts_with("passkey.") => passkey::run(op, c),
        other => Err(format!("unknown op {other}")),
    }
}

fn check_link(c: &Value) -> Result<(), String> {
    let lk = link_key(c)?;
    eq_str("fragment", &lk.expose_fragment(), str_of(c, "fragment")?)?;
    let parsed = LinkKey::parse_fragment(str_of(c, "fragment")?).map_err(|e| e.to_string())?;
    eq("parsed link key", &parsed.0, &lk.0)?;
    let grant = lk.grant_id();
    eq("grant_id", &grant.0, &hex_of(c, "grant_id")?)?;
    eq_str(
        "grant_id_base64url",
        &grant.expose_base64url(),
        str_of(c, "grant_id_base64url")?,
    )?;
    eq(
        "grant_storage_hash",
        &grant.storage_hash(),
        &hex_of(c, "grant_storage_hash")?,
    )?;
    eq("wrap_key", lk.wrap_key().as_ref(), &hex_of(c, "wrap_key")?)
}

fn check_grant(c: &Value) -> Result<(), String> {
    let lk = link_key(c)?;
    let ck = conversation_key(c)?;
    let conversation = cid(c)?;
    let mut rng = FixedRng::new(hex_of(c, "nonce")?);
    let wrapped = lk.wrap(&mut rng, &conversation, &ck);
    rng.finish()?;
    eq("wrapped", wrapped.as_bytes(), &hex_of(c, "wrapped")?)?;
    let back = lk
        .unwrap(&conversation, &wrapped)
        .map_err(|e| e.to_string())?;
    eq("unwrapped", &back.0, &ck.0)
}

fn check_identity(c: &Value) -> Result<(), String> {
    let sk = IdentitySecret::derive(&hex_of(c, "ikm")?);
    eq(
        "secret_key",
        sk.to_bytes().as_ref(),
        &hex_of(c, "secret_key")?,
    )?;
    let pk = sk.public();
    eq("public_key", pk.as_bytes(), &hex_of(c, "public_key")?)?;
    eq_str(
        "fingerprint",
        &pk.fingerprint().to_string(),
        str_of(c, "fingerprint")?,
    )
}

fn check_hpke(c: &Value) -> Result<(), String> {
    let sk = IdentitySecret::derive(&hex_of(c, "recipient_ikm")?);
    eq(
        "recipient_public",
        sk.public().as_bytes(),
        &hex_of(c, "recipient_public")?,
    )?;
    let ck = conversation_key(c)?;
    let conversation = cid(c)?;
    let mut rng = FixedRng::new(hex_of(c, "ephemeral_ikm")?);
    let sealed = ck
        .seal_to_member(&mut rng, &sk.public(), &conversation)
        .map_err(|e| e.to_string())?;
    rng.finish()?;
    eq("sealed", sealed.as_bytes(), &hex_of(c, "sealed")?)?;
    let opened =
        ConversationKey::open_sealed(&sk, &conversation, &sealed).map_err(|e| e.to_string())?;
    eq("opened", &opened.0, &ck.0)
}

fn check_message(c: &Value) -> Result<(), String> {
    let ck = conversation_key(c)?;
    eq(
        "message_key",
        ck.message_key().as_ref(),
        &hex_of(c, "message_key")?,
    )?;
    let message = plain(c)?;
    let encoded = message.encode_padded().map_err(|e| e.to_string())?;
    eq("encoded", &encoded, &hex_of(c, "encoded")?)?;
    let context = message_context(c)?;
    let mut rng = FixedRng::new(hex_of(c, "nonce")?);
    let ciphertext = ck
        .encrypt_message(&mut rng, &context, &message)
        .map_err(|e| e.to_string())?;
    rng.finish()?;
    eq("ciphertext", &ciphertext, &hex_of(c, "ciphertext")?)?;
    let back = ck
        .decrypt_message(&context, &ciphertext)
        .map_err(|e| e.to_string())?;
    if back != message {
        return Err("decrypted message differs".into());
    }
    Ok(())
}

fn check_recovery(c: &Value) -> Result<(), String> {
    let key = RecoveryKey(arr(&hex_of(c, "recovery_key")?)?);
    eq_str(
        "printable",
        &key.expose_printable(),
        str_of(c, "printable")?,
    )?;
    for text in c["also_parses"].as_array().into_iter().flatten() {
        let text = text.as_str().ok_or("also_parses: not a string")?;
        let parsed = RecoveryKey::parse(text).map_err(|e| format!("{text}: {e}"))?;
        eq("parsed", &parsed.0, &key.0)?;
    }
    let kek = KeyEncryptionKey::from_recovery_key(&key);
    eq("kek", &kek.0, &hex_of(c, "kek")?)
}

fn check_identity_seal(c: &Value) -> Result<(), String> {
    let kek = KeyEncryptionKey(arr(&hex_of(c, "kek")?)?);
    let sk = IdentitySecret::derive(&hex_of(c, "identity_ikm")?);
    eq(
        "public_key",
        sk.public().as_bytes(),
        &hex_of(c, "public_key")?,
    )?;
    let mut rng = FixedRng::new(hex_of(c, "nonce")?);
    let sealed = kek.seal_identity(&mut rng, &sk);
    rng.finish()?;
    eq("sealed", sealed.as_bytes(), &hex_of(c, "sealed")?)?;
    let opened = kek
        .open_identity(&sealed, &sk.public())
        .map_err(|e| e.to_string())?;
    eq("opened", opened.to_bytes().as_ref(), sk.to_bytes().as_ref())
}

fn check_field(c: &Value) -> Result<(), String> {
    let root = RootSecret(arr(&hex_of(c, "root")?)?);
    let purpose = purpose(str_of(c, "purpose")?)?;
    let key = root.field_key(purpose);
    eq(
        "field_key",
        key.expose_for_testkit(),
        &hex_of(c, "field_key")?,
    )?;
    let context = hex_of(c, "context")?;
    let plaintext = hex_of(c, "plaintext")?;
    let mut rng = FixedRng::new(hex_of(c, "nonce")?);
    let sealed = key.seal(&mut rng, &context, &plaintext);
    rng.finish()?;
    eq("sealed", &sealed, &hex_of(c, "sealed")?)?;
    let opened = key.open(&context, &sealed).map_err(|e| e.to_string())?;
    eq("opened", &opened, &plaintext)
}

fn check_blind_index(c: &Value) -> Result<(), String> {
    let root = RootSecret(arr(&hex_of(c, "root")?)?);
    let key = root.blind_index_key();
    eq("blind_index_key", &key.0, &hex_of(c, "blind_index_key")?)?;
    let email = str_of(c, "email")?;
    eq_str(
        "normalized",
        &crate::server::normalize_email(email),
        str_of(c, "normalized")?,
    )?;
    eq("index", &key.email(email), &hex_of(c, "index")?)
}

fn u64_of(c: &Value, key: &str) -> Result<u64, String> {
    c[key]
        .as_u64()
        .ok_or_else(|| format!("missing number {key}"))
}

/// A chain read from its file: the keys of later epochs, the file after
/// forgetting, and that the forgotten epoch is gone.
fn check_epoch_chain(c: &Value) -> Result<(), String> {
    let mut chain = EpochChain::from_file_bytes(&hex_of(c, "file")?).map_err(|e| e.to_string())?;
    let first = u64_of(c, "first")?;
    if chain.first() != first {
        return Err(format!("first: got {}, want {first}", chain.first()));
    }
    let length = u64_of(c, "length_secs")?;
    if u64::from(chain.length_secs()) != length {
        return Err(format!(
            "length_secs: got {}, want {length}",
            chain.length_secs()
        ));
    }
    for key_case in c["keys"].as_array().ok_or("missing keys")? {
        let epoch = u64_of(key_case, "epoch")?;
        let key = chain
            .key(epoch)
            .ok_or("the chain does not reach the epoch")?;
        eq(
            "grant_key",
            key.expose_grant_key_for_testkit(),
            &hex_of(key_case, "grant_key")?,
        )?;
        eq("check", &key.check_value(), &hex_of(key_case, "check")?)?;
    }
    let forget_before = u64_of(c, "forget_before")?;
    chain.forget_before(forget_before);
    eq(
        "file_after",
        &chain.expose_file_bytes(),
        &hex_of(c, "file_after")?,
    )?;
    match chain.key(forget_before - 1) {
        None => Ok(()),
        Some(_) => Err("a forgotten epoch still has a key".into()),
    }
}

fn check_epoch_seal(c: &Value) -> Result<(), String> {
    let chain = EpochChain::from_file_bytes(&hex_of(c, "file")?).map_err(|e| e.to_string())?;
    let key = chain
        .key(u64_of(c, "epoch")?)
        .ok_or("the chain does not reach the epoch")?;
    let hash: [u8; 32] = arr(&hex_of(c, "grant_storage_hash")?)?;
    let wrapped =
        WrappedConversationKey::from_bytes(hex_of(c, "wrapped")?).map_err(|e| e.to_string())?;
    let mut rng = FixedRng::new(hex_of(c, "nonce")?);
    let sealed = key.seal_grant(&mut rng, &hash, &wrapped);
    rng.finish()?;
    eq("sealed", &sealed, &hex_of(c, "sealed")?)?;
    let opened = key.open_grant(&hash, &sealed).map_err(|e| e.to_string())?;
    eq("opened", opened.as_bytes(), wrapped.as_bytes())
}

/// The whole OPAQUE exchange, every random draw from one ChaCha20 stream in
/// the order the steps run; every message and the export key are compared.
fn check_opaque(c: &Value) -> Result<(), String> {
    let got = opaque_flow(
        &arr(&hex_of(c, "seed")?)?,
        str_of(c, "password")?,
        &hex_of(c, "credential_id")?,
    )?;
    for (name, value) in &got {
        eq(name, value, &hex_of(c, name)?)?;
    }
    // The wrong password must fail on the client, with the same server answer path.
    let wrong = str_of(c, "wrong_password")?;
    let mut rng = ChaCha20Rng::from_seed(arr(&hex_of(c, "seed")?)?);
    let setup = crate::opaque::ServerSetup::from_bytes(&hex_of(c, "server_setup")?)
        .map_err(|e| e.to_string())?;
    let file = crate::opaque::PasswordFile::from_bytes(hex_of(c, "password_file")?)
        .map_err(|e| e.to_string())?;
    let (client, request) =
        crate::opaque::ClientLogin::start(&mut rng, wrong.as_bytes()).map_err(|e| e.to_string())?;
    let (_, response) = crate::opaque::ServerLogin::start(
        &mut rng,
        &setup,
        Some(&file),
        &request,
        &hex_of(c, "credential_id")?,
    )
    .map_err(|e| e.to_string())?;
    match client.finish(&mut rng, wrong.as_bytes(), &response) {
        Err(crate::Error::LoginFailed) => Ok(()),
        Err(e) => Err(format!("wrong password: expected login_failed, got {e}")),
        Ok(_) => Err("wrong password was accepted".into()),
    }
}

fn opaque_flow(
    seed: &[u8; 32],
    password: &str,
    credential_id: &[u8],
) -> Result<Vec<(&'static str, Vec<u8>)>, String> {
    use crate::opaque::*;
    let s = |e: crate::Error| e.to_string();
    let mut rng = ChaCha20Rng::from_seed(*seed);
    let pw = password.as_bytes();
    let setup = ServerSetup::generate(&mut rng);
    let (reg, registration_request) = ClientRegistration::start(&mut rng, pw).map_err(s)?;
    let registration_response =
        server_registration_response(&setup, &registration_request, credential_id).map_err(s)?;
    let (registration_upload, export_at_registration) = reg
        .finish(&mut rng, pw, &registration_response)
        .map_err(s)?;
    let file = server_registration_finish(&registration_upload).map_err(s)?;
    let (login, login_request) = ClientLogin::start(&mut rng, pw).map_err(s)?;
    let (server, login_response) =
        ServerLogin::start(&mut rng, &setup, Some(&file), &login_request, credential_id)
            .map_err(s)?;
    let finished = login.finish(&mut rng, pw, &login_response).map_err(s)?;
    server.finish(&finished.finalization).map_err(s)?;
    if finished.export_key != export_at_registration {
        return Err("export key differs between registration and login".into());
    }
    let kek = KeyEncryptionKey::from_export_key(&finished.export_key);
    Ok(vec![
        ("server_setup", setup.expose_bytes().to_vec()),
        ("registration_request", registration_request),
        ("registration_response", registration_response),
        ("registration_upload", registration_upload),
        ("password_file", file.as_bytes().to_vec()),
        ("login_request", login_request),
        ("login_response", login_response),
        ("login_finalization", finished.finalization),
        ("export_key", finished.export_key.0.to_vec()),
        ("kek", kek.0.to_vec()),
    ])
}

// ---------------------------------------------------------------- helpers

fn str_of<'a>(c: &'a Value, key: &str) -> Result<&'a str, String> {
    c[key]
        .as_str()
        .ok_or_else(|| format!("missing string {key}"))
}

fn hex_of(c: &Value, key: &str) -> Result<Vec<u8>, String> {
    hex::decode(str_of(c, key)?).map_err(|e| format!("{key}: {e}"))
}

fn arr<const N: usize>(bytes: &[u8]) -> Result<[u8; N], String> {
    bytes
        .try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", bytes.len()))
}

fn eq(name: &str, got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "{name}: got {}, want {}",
            hex::encode(got),
            hex::encode(want)
        ))
    }
}

fn eq_str(name: &str, got: &str, want: &str) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{name}: got {got:?}, want {want:?}"))
    }
}

fn expect_err(result: Result<(), &'static str>, c: &Value) -> Result<(), String> {
    let want = str_of(c, "error")?;
    match result {
        Ok(()) => Err(format!("accepted; expected error {want}")),
        Err(got) if got == want => Ok(()),
        Err(got) => Err(format!("error {got}, expected {want}")),
    }
}

fn link_key(c: &Value) -> Result<LinkKey, String> {
    Ok(LinkKey(arr(&hex_of(c, "link_key")?)?))
}

fn conversation_key(c: &Value) -> Result<ConversationKey, String> {
    Ok(ConversationKey(arr(&hex_of(c, "conversation_key")?)?))
}

fn cid(c: &Value) -> Result<ConversationId, String> {
    Ok(ConversationId::from_bytes(arr(&hex_of(
        c,
        "conversation_id",
    )?)?))
}

fn message_context(c: &Value) -> Result<MessageContext, String> {
    Ok(MessageContext {
        conversation: cid(c)?,
        message: MessageId::from_bytes(arr(&hex_of(c, "message_id")?)?),
        sender: match str_of(c, "sender")? {
            "member" => Role::Member,
            "guest" => Role::Guest,
            other => return Err(format!("unknown sender {other}")),
        },
    })
}

fn plain(c: &Value) -> Result<Plain, String> {
    let introduction = match (c.get("intro_email"), c.get("intro_name")) {
        (Some(email), Some(name)) => Some(GuestIntroduction {
            email: email.as_str().ok_or("intro_email")?.to_owned(),
            display_name: name.as_str().ok_or("intro_name")?.to_owned(),
        }),
        (None, None) => None,
        _ => return Err("intro_email and intro_name go together".into()),
    };
    Ok(Plain {
        sent_at_ms: c["sent_at_ms"].as_u64().ok_or("missing sent_at_ms")?,
        body: str_of(c, "body")?.to_owned(),
        introduction,
    })
}

fn purpose(name: &str) -> Result<FieldPurpose, String> {
    match name {
        "outbox-link-key" => Ok(FieldPurpose::OutboxLinkKey),
        "guest-email" => Ok(FieldPurpose::GuestEmail),
        "member-email" => Ok(FieldPurpose::MemberEmail),
        "login-state" => Ok(FieldPurpose::LoginState),
        other => Err(format!("unknown purpose {other}")),
    }
}

// ---------------------------------------------------------------- generating

/// Deterministic stand-in for random inputs: `SHA-256(label || i)` blocks.
fn bytes(label: &str, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 32);
    let mut i = 0u32;
    while out.len() < n {
        out.extend_from_slice(
            &Sha256::new()
                .chain_update(label.as_bytes())
                .chain_update(i.to_be_bytes())
                .finalize(),
        );
        i += 1;
    }
    out.truncate(n);
    out
}

fn h(b: &[u8]) -> Value {
    Value::String(hex::encode(b))
}

fn flip(mut b: Vec<u8>, at: usize) -> Vec<u8> {
    let i = at.min(b.len() - 1);
    b[i] ^= 0x01;
    b
}

fn with_version(mut b: Vec<u8>, v: u8) -> Vec<u8> {
    b[0] = v;
    b
}

fn case(op: &str, fields: Value) -> Value {
    let mut m = Map::new();
    m.insert("op".into(), Value::String(op.into()));
    if let Value::Object(f) = fields {
        m.extend(f);
    }
    Value::Object(m)
}

fn file(description: &str, cases: Vec<Value>) -> Value {
    json!({ "description": description, "cases": cases })
}

/// Makes every vector file from fixed inputs. `(name, pretty JSON)` pairs.
#[allow(clippy::too_many_lines)]
pub fn generate() -> Result<Vec<(&'static str, String)>, String> {
    let mut out = Vec::new();
    let mut push = |name: &'static str, v: Value| -> Result<(), String> {
        let text = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?;
        out.push((name, text + "\n"));
        Ok(())
    };

    // link
    let mut cases = Vec::new();
    for i in 0..3 {
        let lk = LinkKey(arr(&bytes(&format!("link {i}"), 32))?);
        let g = lk.grant_id();
        cases.push(case(
            "link.encode",
            json!({
                "link_key": h(&lk.0), "fragment": lk.expose_fragment().as_str(),
                "grant_id": h(&g.0), "grant_id_base64url": g.expose_base64url().as_str(),
                "grant_storage_hash": h(&g.storage_hash()), "wrap_key": h(lk.wrap_key().as_ref()),
            }),
        ));
    }
    let good = LinkKey(arr(&bytes("link 0", 32))?)
        .expose_fragment()
        .to_string();
    let body = &good[3..];
    for (fragment, error) in [
        (String::new(), "wrong_prefix"),
        (format!("#{good}"), "wrong_prefix"),
        (format!("K1.{body}"), "wrong_prefix"),
        (format!("k1{body}"), "wrong_prefix"),
        (format!("k.{body}"), "wrong_prefix"),
        (format!("kx.{body}"), "wrong_prefix"),
        (format!("k01.{body}"), "wrong_prefix"),
        (format!("k2.{body}"), "unsupported_link_version"),
        (format!("k0.{body}"), "unsupported_link_version"),
        (format!("k1.{}", &body[..42]), "wrong_length"),
        (format!("k1.{body}A"), "wrong_length"),
        (format!("k1.{body}="), "wrong_length"),
        ("k1.".to_string(), "wrong_length"),
        (format!("k1.{}+", &body[..42]), "bad_alphabet"),
        (format!("k1.{}/", &body[..42]), "bad_alphabet"),
        (format!("k1. {}", &body[1..]), "bad_alphabet"),
        (format!("k1.{}é", &body[..41]), "bad_alphabet"),
        (format!("k1.{}B", &body[..42]), "non_canonical"),
        (format!("k1.{}_", &body[..42]), "non_canonical"),
    ] {
        cases.push(case(
            "link.parse_error",
            json!({ "fragment": fragment, "error": error }),
        ));
    }
    push(
        "link",
        file(
            "Link keys: fragment encoding, grant id and wrap key derivation, strict parsing.",
            cases,
        ),
    )?;

    // grant
    let mut cases = Vec::new();
    let lk = LinkKey(arr(&bytes("grant link", 32))?);
    let ck = ConversationKey(arr(&bytes("grant ck", 32))?);
    let conv = ConversationId::from_bytes(arr(&bytes("grant conversation", 16))?);
    let nonce: [u8; 24] = arr(&bytes("grant nonce", 24))?;
    let wrapped = lk.wrap_with_nonce(&nonce, &conv, &ck).as_bytes().to_vec();
    cases.push(case(
        "grant.wrap",
        json!({ "link_key": h(&lk.0), "conversation_id": h(conv.as_bytes()),
                "conversation_key": h(&ck.0), "nonce": h(&nonce), "wrapped": h(&wrapped) }),
    ));
    let other_conv = bytes("other conversation", 16);
    let other_lk = bytes("other link", 32);
    for (lk_b, conv_b, w, error) in [
        (
            lk.0.to_vec(),
            conv.as_bytes().to_vec(),
            flip(wrapped.clone(), 30),
            "decryption_failed",
        ),
        (
            lk.0.to_vec(),
            conv.as_bytes().to_vec(),
            flip(wrapped.clone(), 5),
            "decryption_failed",
        ),
        (
            lk.0.to_vec(),
            conv.as_bytes().to_vec(),
            flip(wrapped.clone(), 72),
            "decryption_failed",
        ),
        (
            lk.0.to_vec(),
            other_conv.clone(),
            wrapped.clone(),
            "decryption_failed",
        ),
        (
            other_lk.clone(),
            conv.as_bytes().to_vec(),
            wrapped.clone(),
            "decryption_failed",
        ),
        (
            lk.0.to_vec(),
            conv.as_bytes().to_vec(),
            wrapped[..40].to_vec(),
            "malformed",
        ),
        (
            lk.0.to_vec(),
            conv.as_bytes().to_vec(),
            Vec::new(),
            "malformed",
        ),
        (
            lk.0.to_vec(),
            conv.as_bytes().to_vec(),
            with_version(wrapped.clone(), 2),
            "unsupported_version",
        ),
    ] {
        cases.push(case(
            "grant.unwrap_error",
            json!({ "link_key": h(&lk_b), "conversation_id": h(&conv_b), "wrapped": h(&w), "error": error }),
        ));
    }
    push(
        "grant",
        file(
            "Conversation key wrapped under a link key's wrap key.",
            cases,
        ),
    )?;

    // identity
    let mut cases = Vec::new();
    for i in 0..3 {
        let ikm = bytes(&format!("identity {i}"), 32);
        let sk = IdentitySecret::derive(&ikm);
        cases.push(case(
            "identity.derive",
            json!({ "ikm": h(&ikm), "secret_key": h(sk.to_bytes().as_ref()),
                    "public_key": h(sk.public().as_bytes()),
                    "fingerprint": sk.public().fingerprint().to_string() }),
        ));
    }
    push(
        "identity",
        file(
            "Member identity keys (RFC 9180 DeriveKeyPair, DHKEM(X25519, HKDF-SHA256)) and fingerprints.",
            cases,
        ),
    )?;

    // hpke
    let mut cases = Vec::new();
    let r_ikm = bytes("hpke recipient", 32);
    let sk = IdentitySecret::derive(&r_ikm);
    let ck = ConversationKey(arr(&bytes("hpke ck", 32))?);
    let conv = ConversationId::from_bytes(arr(&bytes("hpke conversation", 16))?);
    let e_ikm = bytes("hpke ephemeral", 32);
    let sealed = ck
        .seal_to_member(&mut FixedRng::new(e_ikm.clone()), &sk.public(), &conv)
        .map_err(|e| e.to_string())?
        .as_bytes()
        .to_vec();
    cases.push(case(
        "hpke.seal",
        json!({ "recipient_ikm": h(&r_ikm), "recipient_public": h(sk.public().as_bytes()),
                "conversation_id": h(conv.as_bytes()), "conversation_key": h(&ck.0),
                "ephemeral_ikm": h(&e_ikm), "sealed": h(&sealed) }),
    ));
    let other_ikm = bytes("hpke other recipient", 32);
    for (ikm, conv_b, s, error) in [
        (
            r_ikm.clone(),
            conv.as_bytes().to_vec(),
            flip(sealed.clone(), 3),
            "decryption_failed",
        ),
        (
            r_ikm.clone(),
            conv.as_bytes().to_vec(),
            flip(sealed.clone(), 40),
            "decryption_failed",
        ),
        (
            r_ikm.clone(),
            conv.as_bytes().to_vec(),
            flip(sealed.clone(), 80),
            "decryption_failed",
        ),
        (
            r_ikm.clone(),
            other_conv.clone(),
            sealed.clone(),
            "decryption_failed",
        ),
        (
            other_ikm,
            conv.as_bytes().to_vec(),
            sealed.clone(),
            "decryption_failed",
        ),
        (
            r_ikm.clone(),
            conv.as_bytes().to_vec(),
            sealed[..50].to_vec(),
            "malformed",
        ),
        (
            r_ikm.clone(),
            conv.as_bytes().to_vec(),
            with_version(sealed.clone(), 9),
            "unsupported_version",
        ),
    ] {
        cases.push(case(
            "hpke.open_error",
            json!({ "recipient_ikm": h(&ikm), "conversation_id": h(&conv_b), "sealed": h(&s), "error": error }),
        ));
    }
    push(
        "hpke",
        file(
            "Conversation key sealed to a member: HPKE base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305.",
            cases,
        ),
    )?;

    // message
    let mut cases = Vec::new();
    let ck = ConversationKey(arr(&bytes("message ck", 32))?);
    let conv = ConversationId::from_bytes(arr(&bytes("message conversation", 16))?);
    let samples: Vec<(Role, Plain)> = vec![
        (
            Role::Guest,
            Plain {
                sent_at_ms: 1_795_000_000_000,
                body: "Hello! Is the flat on Rue Cler still free in March?".into(),
                introduction: Some(GuestIntroduction {
                    email: "ann.guest@example.org".into(),
                    display_name: "Ann Guest".into(),
                }),
            },
        ),
        (
            Role::Member,
            Plain {
                sent_at_ms: 1_795_000_360_000,
                body: "Yes — from the 3rd. <script>alert(1)</script> stays text.".into(),
                introduction: None,
            },
        ),
        (
            Role::Guest,
            Plain {
                sent_at_ms: 0,
                body: String::new(),
                introduction: None,
            },
        ),
        (
            Role::Member,
            Plain {
                // 2^53 − 1: the largest that JSON readers built on doubles keep exact.
                sent_at_ms: 9_007_199_254_740_991,
                // 243 bytes of body make the encoding exactly 257 bytes: two blocks.
                body: "x".repeat(243),
                introduction: None,
            },
        ),
        (
            Role::Guest,
            Plain {
                sent_at_ms: 1_795_000_720_000,
                body: "Grüße aus Köln 🌧️ — 1 KiB follows: ".to_string() + &"ab".repeat(512),
                introduction: Some(GuestIntroduction {
                    email: "Zoë@Example.ORG".into(),
                    display_name: String::new(),
                }),
            },
        ),
    ];
    let mut first: Option<Value> = None;
    for (i, (role, msg)) in samples.iter().enumerate() {
        let mid = MessageId::from_bytes(arr(&bytes(&format!("message id {i}"), 16))?);
        let nonce: [u8; 24] = arr(&bytes(&format!("message nonce {i}"), 24))?;
        let context = MessageContext {
            conversation: conv,
            message: mid,
            sender: *role,
        };
        let encoded = msg.encode_padded().map_err(|e| e.to_string())?;
        let ct = ck
            .encrypt_message_with_nonce(&nonce, &context, msg)
            .map_err(|e| e.to_string())?;
        let mut fields = json!({
            "conversation_key": h(&ck.0), "message_key": h(ck.message_key().as_ref()),
            "conversation_id": h(conv.as_bytes()), "message_id": h(mid.as_bytes()),
            "sender": role_name(*role), "nonce": h(&nonce),
            "sent_at_ms": msg.sent_at_ms, "body": msg.body,
            "encoded": h(&encoded), "ciphertext": h(&ct),
        });
        if let Some(intro) = &msg.introduction {
            fields["intro_email"] = Value::String(intro.email.clone());
            fields["intro_name"] = Value::String(intro.display_name.clone());
        }
        if first.is_none() {
            first = Some(fields.clone());
        }
        cases.push(case("message.encrypt", fields));
    }
    let base = first.ok_or("no message sample")?;
    let ct =
        hex::decode(base["ciphertext"].as_str().ok_or("ciphertext")?).map_err(|e| e.to_string())?;
    let mutations: Vec<(&str, Value, &str)> = vec![
        ("ciphertext", h(&flip(ct.clone(), 40)), "decryption_failed"),
        ("ciphertext", h(&flip(ct.clone(), 2)), "decryption_failed"),
        (
            "ciphertext",
            h(&flip(ct.clone(), ct.len() - 1)),
            "decryption_failed",
        ),
        ("conversation_id", h(&other_conv), "decryption_failed"),
        (
            "message_id",
            h(&bytes("other message", 16)),
            "decryption_failed",
        ),
        (
            "sender",
            Value::String("member".into()),
            "decryption_failed",
        ),
        (
            "conversation_key",
            h(&bytes("other ck", 32)),
            "decryption_failed",
        ),
        ("ciphertext", h(&ct[..ct.len() - 16]), "decryption_failed"),
        ("ciphertext", h(&ct[..30]), "malformed"),
        ("ciphertext", h(&[]), "malformed"),
        (
            "ciphertext",
            h(&with_version(ct.clone(), 2)),
            "unsupported_version",
        ),
        (
            "ciphertext",
            h(&with_version(ct.clone(), 0)),
            "unsupported_version",
        ),
    ];
    for (field, value, error) in mutations {
        let mut c = json!({
            "conversation_key": base["conversation_key"], "conversation_id": base["conversation_id"],
            "message_id": base["message_id"], "sender": base["sender"], "ciphertext": base["ciphertext"],
            "error": error,
        });
        c[field] = value;
        cases.push(case("message.decrypt_error", c));
    }
    push(
        "message",
        file(
            "Messages: padded plaintext, XChaCha20-Poly1305 under HKDF(CK, message-key), associated data binding conversation, message id and sender.",
            cases,
        ),
    )?;

    // plaintext
    let good = samples[0]
        .1
        .encode_padded()
        .map_err(|e| e.to_string())?
        .to_vec();
    let mut not_zero = good.clone();
    let last = not_zero.len() - 1;
    not_zero[last] = 1;
    let mut bad_flag = samples[1]
        .1
        .encode_padded()
        .map_err(|e| e.to_string())?
        .to_vec();
    let flag_at = 1 + 8 + 4 + samples[1].1.body.len();
    bad_flag[flag_at] = 2;
    let mut bad_utf8 = good.clone();
    bad_utf8[13] = 0xff;
    let mut long_body = good.clone();
    long_body[9..13].copy_from_slice(&1_000_000u32.to_be_bytes());
    let mut extra_block = samples[1]
        .1
        .encode_padded()
        .map_err(|e| e.to_string())?
        .to_vec();
    extra_block.extend_from_slice(&[0u8; 256]);
    let mut cases = Vec::new();
    for (encoded, error) in [
        (with_version(good.clone(), 2), "unsupported_version"),
        (good[..255].to_vec(), "malformed"),
        (Vec::new(), "malformed"),
        (not_zero, "malformed"),
        (bad_flag, "malformed"),
        (bad_utf8, "malformed"),
        (long_body, "malformed"),
        (extra_block, "malformed"),
    ] {
        cases.push(case(
            "plaintext.decode_error",
            json!({ "encoded": h(&encoded), "error": error }),
        ));
    }
    push(
        "plaintext",
        file(
            "Message plaintexts that must be rejected after decryption.",
            cases,
        ),
    )?;

    // kek
    let mut cases = Vec::new();
    let export = bytes("export key", 64);
    let kek_pw = KeyEncryptionKey::from_export_key(&crate::opaque::ExportKey(arr(&export)?));
    cases.push(case(
        "kek.password",
        json!({ "export_key": h(&export), "kek": h(&kek_pw.0) }),
    ));
    let rk = RecoveryKey(arr(&bytes("recovery", 20))?);
    let printable = rk.expose_printable().to_string();
    let sloppy = printable.to_lowercase().replace('-', " ");
    let no_dashes = printable.replace('-', "");
    let kek_rec = KeyEncryptionKey::from_recovery_key(&rk);
    cases.push(case(
        "kek.recovery",
        json!({ "recovery_key": h(&rk.0), "printable": printable,
                "also_parses": [sloppy, no_dashes, format!("  {printable}\n")],
                "kek": h(&kek_rec.0) }),
    ));
    for text in [
        "",
        "LKR1",
        &printable[..printable.len() - 1],
        &format!("{printable}X"),
        &printable.replace("LKR1", "LKR2"),
        &format!("{}U", &printable[..printable.len() - 1]),
    ] {
        cases.push(case(
            "recovery.parse_error",
            json!({ "text": text, "error": "invalid_recovery_key" }),
        ));
    }
    let id_ikm = bytes("sealed identity", 32);
    let sk = IdentitySecret::derive(&id_ikm);
    for (kek, label) in [(&kek_pw, "password"), (&kek_rec, "recovery")] {
        let nonce: [u8; 24] = arr(&bytes(&format!("identity nonce {label}"), 24))?;
        let sealed = kek.seal_identity_with_nonce(&nonce, &sk);
        cases.push(case(
            "identity.seal",
            json!({ "kek": h(&kek.0), "identity_ikm": h(&id_ikm), "public_key": h(sk.public().as_bytes()),
                    "nonce": h(&nonce), "sealed": h(sealed.as_bytes()) }),
        ));
    }
    let sealed = kek_pw
        .seal_identity_with_nonce(&arr(&bytes("identity nonce password", 24))?, &sk)
        .as_bytes()
        .to_vec();
    let other_pub = IdentitySecret::derive(&bytes("other identity", 32)).public();
    for (kek, public, s, error) in [
        (&kek_rec, sk.public(), sealed.clone(), "decryption_failed"),
        (&kek_pw, other_pub, sealed.clone(), "decryption_failed"),
        (
            &kek_pw,
            sk.public(),
            flip(sealed.clone(), 50),
            "decryption_failed",
        ),
        (&kek_pw, sk.public(), sealed[..60].to_vec(), "malformed"),
        (
            &kek_pw,
            sk.public(),
            with_version(sealed.clone(), 3),
            "unsupported_version",
        ),
    ] {
        cases.push(case(
            "identity.open_error",
            json!({ "kek": h(&kek.0), "public_key": h(public.as_bytes()), "sealed": h(&s), "error": error }),
        ));
    }
    push(
        "kek",
        file(
            "Key-encryption keys from the OPAQUE export key and from the recovery key; the identity secret sealed under them.",
            cases,
        ),
    )?;

    // server
    let mut cases = Vec::new();
    let root_b = bytes("server root", 32);
    let root = RootSecret(arr(&root_b)?);
    for (purpose_name, purpose_v, context, plaintext) in [
        (
            "outbox-link-key",
            FieldPurpose::OutboxLinkKey,
            b"outbox 42".to_vec(),
            bytes("outbox lk", 32),
        ),
        (
            "guest-email",
            FieldPurpose::GuestEmail,
            bytes("conversation", 16),
            b"ann.guest@example.org".to_vec(),
        ),
        (
            "login-state",
            FieldPurpose::LoginState,
            b"member 7".to_vec(),
            bytes("state", 100),
        ),
    ] {
        let key = root.field_key(purpose_v);
        let nonce: [u8; 24] = arr(&bytes(&format!("field nonce {purpose_name}"), 24))?;
        let sealed = key.seal_with_nonce(&nonce, &context, &plaintext);
        cases.push(case(
            "server.field",
            json!({ "root": h(&root_b), "purpose": purpose_name, "field_key": h(key.expose_for_testkit()),
                    "context": h(&context), "plaintext": h(&plaintext), "nonce": h(&nonce), "sealed": h(&sealed) }),
        ));
        if purpose_v == FieldPurpose::GuestEmail {
            for (p, ctx, s, error) in [
                (
                    "guest-email",
                    bytes("other conversation", 16),
                    sealed.clone(),
                    "decryption_failed",
                ),
                (
                    "outbox-link-key",
                    context.clone(),
                    sealed.clone(),
                    "decryption_failed",
                ),
                (
                    "guest-email",
                    context.clone(),
                    flip(sealed.clone(), 30),
                    "decryption_failed",
                ),
                (
                    "guest-email",
                    context.clone(),
                    sealed[..20].to_vec(),
                    "malformed",
                ),
                (
                    "guest-email",
                    context.clone(),
                    with_version(sealed.clone(), 2),
                    "unsupported_version",
                ),
            ] {
                cases.push(case(
                    "server.field_error",
                    json!({ "root": h(&root_b), "purpose": p, "context": h(&ctx), "sealed": h(&s), "error": error }),
                ));
            }
        }
    }
    for email in [
        "ann.guest@example.org",
        "  Ann.Guest@Example.ORG\n",
        "ZOË@example.org",
    ] {
        let key = root.blind_index_key();
        cases.push(case(
            "server.blind_index",
            json!({ "root": h(&root_b), "blind_index_key": h(&key.0), "email": email,
                    "normalized": crate::server::normalize_email(email).as_str(), "index": h(&key.email(email)) }),
        ));
    }
    push(
        "server",
        file(
            "Server-side helpers keyed from the root secret: sealed fields and the e-mail blind index.",
            cases,
        ),
    )?;

    // epoch
    let mut cases = Vec::new();
    let first = 493_000u64;
    let chain_bytes = {
        let mut file = vec![crate::PROTOCOL_VERSION];
        file.extend_from_slice(&3600u32.to_be_bytes());
        file.extend_from_slice(&first.to_be_bytes());
        file.extend_from_slice(&bytes("epoch chain", 32));
        file
    };
    let chain = EpochChain::from_file_bytes(&chain_bytes).map_err(|e| e.to_string())?;
    let mut keys = Vec::new();
    for epoch in [first, first + 1, first + 5] {
        let key = chain.key(epoch).ok_or("epoch out of reach")?;
        keys.push(
            json!({ "epoch": epoch, "grant_key": h(key.expose_grant_key_for_testkit()),
                          "check": h(&key.check_value()) }),
        );
    }
    let mut forgotten = EpochChain::from_file_bytes(&chain_bytes).map_err(|e| e.to_string())?;
    forgotten.forget_before(first + 2);
    cases.push(case(
        "epoch.chain",
        json!({ "file": h(&chain_bytes), "length_secs": 3600, "first": first, "keys": keys,
                "forget_before": first + 2, "file_after": h(&forgotten.expose_file_bytes()) }),
    ));
    let epoch = first + 1;
    let link = LinkKey(arr(&bytes("epoch link key", 32))?);
    let conversation = ConversationId::from_bytes(arr(&bytes("epoch conversation", 16))?);
    let ck = ConversationKey(arr(&bytes("epoch conversation key", 32))?);
    let wrapped = link.wrap_with_nonce(&arr(&bytes("epoch wrap nonce", 24))?, &conversation, &ck);
    let hash = link.grant_id().storage_hash();
    let nonce: [u8; 24] = arr(&bytes("epoch seal nonce", 24))?;
    let key = chain.key(epoch).ok_or("epoch out of reach")?;
    let sealed = key.seal_grant_with_nonce(&nonce, &hash, &wrapped);
    cases.push(case(
        "epoch.seal",
        json!({ "file": h(&chain_bytes), "epoch": epoch, "grant_storage_hash": h(&hash),
                "wrapped": h(wrapped.as_bytes()), "nonce": h(&nonce), "sealed": h(&sealed) }),
    ));
    let other_hash = Sha256::digest(b"another grant");
    for (e, grant_hash, s, error) in [
        (
            epoch + 1,
            hash.to_vec(),
            sealed.clone(),
            "decryption_failed",
        ),
        (
            epoch,
            other_hash.to_vec(),
            sealed.clone(),
            "decryption_failed",
        ),
        (
            epoch,
            hash.to_vec(),
            flip(sealed.clone(), 60),
            "decryption_failed",
        ),
        (epoch, hash.to_vec(), sealed[..30].to_vec(), "malformed"),
        (
            epoch,
            hash.to_vec(),
            with_version(sealed.clone(), 2),
            "unsupported_version",
        ),
    ] {
        cases.push(case(
            "epoch.open_error",
            json!({ "file": h(&chain_bytes), "epoch": e, "grant_storage_hash": h(&grant_hash),
                    "sealed": h(&s), "error": error }),
        ));
    }
    push(
        "epoch",
        file(
            "Epoch keys (server side): the one-way chain kept in the epoch file, and the second seal it puts on every stored grant's wrapped key.",
            cases,
        ),
    )?;

    // opaque
    let seed = bytes("opaque seed", 32);
    let credential_id = bytes("member id", 16);
    let password = "correct horse battery staple";
    let mut fields = json!({
        "seed": h(&seed), "password": password, "wrong_password": "correct horse battery stapler",
        "credential_id": h(&credential_id),
    });
    for (name, value) in opaque_flow(&arr(&seed)?, password, &credential_id)? {
        fields[name] = h(&value);
    }
    push(
        "opaque",
        file(
            "OPAQUE (RFC 9807, ristretto255, 3DH-SHA512, Argon2id m=19456 t=2 p=1) registration and login; randomness: one ChaCha20Rng (rand_chacha 0.3) from `seed`, drawn in step order (server setup, registration start, registration finish, login start, server login start, login finish).",
            vec![case("opaque.flow", fields)],
        ),
    )?;

    push("identity-proof", identity_proof::generate()?)?;
    push("passkey", passkey::generate()?)?;

    Ok(out)
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Member => "member",
        Role::Guest => "guest",
    }
}

// ---------------------------------------------------------------- stolen data

/// What a thief finds in a stolen database, ready to attack: the stolen-
/// database test fills it from a dump and tries every 32-byte window of
/// every stored value as each kind of key.
#[derive(Debug, Default)]
pub struct Loot {
    /// Message ciphertexts with their place (for the associated data).
    pub messages: Vec<(MessageContext, Vec<u8>)>,
    /// Wrapped conversation keys (grants) as stored, with their
    /// conversation: sealed under an epoch key, so no link key alone opens
    /// them.
    pub wrapped_keys: Vec<(ConversationId, Vec<u8>)>,
    /// The same grants with what opening their epoch seal needs besides the
    /// epoch file: the epoch and the grant id's storage hash.
    pub epoch_grants: Vec<EpochGrant>,
    /// HPKE-sealed conversation keys with their conversation.
    pub sealed_keys: Vec<(ConversationId, Vec<u8>)>,
    /// Sealed member identities with their public key.
    pub sealed_identities: Vec<(IdentityPublic, Vec<u8>)>,
}

/// A stored grant as the epoch seal binds it.
#[derive(Debug)]
pub struct EpochGrant {
    /// Its conversation.
    pub conversation: ConversationId,
    /// The epoch it was sealed in.
    pub epoch: u64,
    /// SHA-256 of its grant id.
    pub id_hash: [u8; 32],
    /// The sealed wrapped key.
    pub sealed: Vec<u8>,
}

impl Loot {
    /// Tries `link_key` on every grant after opening its epoch seal with
    /// `chain` (the epoch file, stolen too). Returns a description of each
    /// grant it opened.
    pub fn try_link_with_epochs(&self, link_key: &[u8; 32], chain: &EpochChain) -> Vec<String> {
        let lk = LinkKey(*link_key);
        let mut opened = Vec::new();
        for grant in &self.epoch_grants {
            let Some(key) = chain.key(grant.epoch) else {
                continue;
            };
            if let Ok(wrapped) = key.open_grant(&grant.id_hash, &grant.sealed) {
                if lk.unwrap(&grant.conversation, &wrapped).is_ok() {
                    opened.push(format!(
                        "grant of {} (epoch {}) as link key with the epoch file",
                        grant.conversation, grant.epoch
                    ));
                }
            }
        }
        opened
    }

    /// Tries `candidate` as a conversation key on every message, as a link
    /// key on every grant, as a key-encryption key on every sealed identity,
    /// and as a member's private key (raw, and as key-pair seed) on every
    /// sealed conversation key. Returns a description of each success; an
    /// empty list means the bytes opened nothing.
    pub fn try_key(&self, candidate: &[u8; 32]) -> Vec<String> {
        let mut opened = Vec::new();
        let ck = ConversationKey(*candidate);
        for (context, ciphertext) in &self.messages {
            if ck.decrypt_message(context, ciphertext).is_ok() {
                opened.push(format!("message {} as conversation key", context.message));
            }
        }
        let lk = LinkKey(*candidate);
        for (conversation, wrapped) in &self.wrapped_keys {
            if let Ok(wrapped) = WrappedConversationKey::from_bytes(wrapped.clone()) {
                if lk.unwrap(conversation, &wrapped).is_ok() {
                    opened.push(format!("grant of {conversation} as link key"));
                }
            }
        }
        let kek = KeyEncryptionKey(*candidate);
        for (public, sealed) in &self.sealed_identities {
            if let Ok(sealed) = SealedIdentity::from_bytes(sealed.clone()) {
                if kek.open_identity(&sealed, public).is_ok() {
                    opened.push("sealed identity as key-encryption key".into());
                }
            }
        }
        let secrets = [
            IdentitySecret::from_bytes(candidate).ok(),
            Some(IdentitySecret::derive(candidate)),
        ];
        for secret in secrets.iter().flatten() {
            for (conversation, sealed) in &self.sealed_keys {
                if let Ok(sealed) = SealedConversationKey::from_bytes(sealed.clone()) {
                    if ConversationKey::open_sealed(secret, conversation, &sealed).is_ok() {
                        opened.push(format!("sealed key of {conversation} as identity"));
                    }
                }
            }
        }
        opened
    }
}
