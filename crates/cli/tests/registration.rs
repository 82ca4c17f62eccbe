//! Registration ties step 2 to step 1 and proves the identity key: against
//! the real binary, on SQLite and on PostgreSQL. A finish without a start,
//! with a made-up, altered, expired or other handle's token, or with a
//! proof made by another key is refused with its own 4xx; an identity key
//! already registered is refused with 409 under any handle; and a refusal
//! stores nothing.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use base64ct::{Base64UrlUnpadded, Encoding};
use latchkey_client::Member;
use latchkey_core::opaque::ClientRegistration;
use latchkey_core::server::{FieldPurpose, RootSecret, ServerSecrets};
use latchkey_core::{
    IdentityChallenge, IdentityChallengePublic, IdentitySecret, KeyEncryptionKey, OsRng, RngCore,
};
use serde_json::{json, Value};
use support::{unique, Database, MailServer, Server, Settings};

const PASSWORD: &[u8] = b"a fine password";

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

fn unb64(value: &Value) -> Vec<u8> {
    Base64UrlUnpadded::decode_vec(value.as_str().unwrap()).unwrap()
}

/// POSTs JSON; every answer is checked against the OpenAPI document.
async fn post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1{path}", server.base))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    support::contract::check_raw("POST", path, status, &bytes);
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// Step 1 for `handle`, and a complete, valid step 2 body for a fresh key
/// (the caller breaks what it wants to test).
struct Attempt {
    handle: String,
    identity: IdentitySecret,
    challenge: IdentityChallengePublic,
    body: Value,
}

async fn start(server: &Server, handle: &str) -> Attempt {
    let (registration, request) = ClientRegistration::start(&mut OsRng, PASSWORD).unwrap();
    let (status, started) = post(
        server,
        "/members/register/start",
        &json!({"handle": handle, "request": b64(&request)}),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let (upload, export) = registration
        .finish(&mut OsRng, PASSWORD, &unb64(&started["response"]))
        .unwrap();
    let challenge = IdentityChallengePublic::from_slice(&unb64(&started["identity_challenge"]))
        .expect("a canonical challenge");
    let identity = IdentitySecret::generate(&mut OsRng);
    let sealed = KeyEncryptionKey::from_export_key(&export).seal_identity(&mut OsRng, &identity);
    let proof = identity.prove(&challenge, handle).unwrap();
    let body = json!({
        "handle": handle, "display_name": "Member", "email": format!("{handle}@member.test"),
        "upload": b64(&upload), "identity_public": b64(identity.public().as_bytes()),
        "sealed_identity": b64(sealed.as_bytes()),
        "registration_token": started["registration_token"],
        "identity_proof": b64(proof.as_bytes()),
    });
    Attempt {
        handle: handle.to_owned(),
        identity,
        challenge,
        body,
    }
}

/// Members and sessions: what a registration would have written.
async fn stored(db: &Database) -> (i64, i64) {
    (
        db.count("SELECT COUNT(*) FROM members").await,
        db.count("SELECT COUNT(*) FROM sessions").await,
    )
}

/// A finish that must be refused with `status` and `code`, storing nothing.
async fn refused(server: &Server, db: &Database, body: &Value, status: u16, code: &str) {
    let before = stored(db).await;
    let (got, answer) = post(server, "/members/register/finish", body).await;
    assert_eq!(
        (got, answer["error"].as_str()),
        (status, Some(code)),
        "{answer}"
    );
    assert!(
        answer["message"].as_str().unwrap_or_default().len() > 10,
        "the message says nothing: {answer}"
    );
    assert_eq!(
        stored(db).await,
        before,
        "a refused registration stored something"
    );
}

/// A token as only the server can make it: the challenge sealed under its
/// registration-state key, with the expiry and the handle as context.
fn server_token(server: &Server, handle: &str, expires_at_ms: u64) -> (IdentityChallenge, Vec<u8>) {
    let secrets = ServerSecrets::from_file_bytes(&std::fs::read(server.secrets_file()).unwrap())
        .expect("the server's secrets file");
    token_under(&secrets.root, handle, expires_at_ms)
}

fn token_under(
    root: &RootSecret,
    handle: &str,
    expires_at_ms: u64,
) -> (IdentityChallenge, Vec<u8>) {
    let key = root.field_key(FieldPurpose::RegistrationState);
    let mut context = expires_at_ms.to_be_bytes().to_vec();
    context.extend_from_slice(handle.as_bytes());
    let challenge = IdentityChallenge::generate(&mut OsRng);
    let mut token = challenge.seal(&mut OsRng, &key, &context).unwrap();
    token.extend_from_slice(&expires_at_ms.to_be_bytes());
    (challenge, token)
}

fn now_ms() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

async fn registration_is_tied_to_its_start_and_proves_the_key(db: Database) {
    let mail = MailServer::start().await;
    let server = Server::start(&db, &mail, &Settings::default()).await;

    // The Rust client (the CLI's `member add`) registers as before.
    let ann = Member::register(
        &server.url,
        &unique("ann"),
        "Ann",
        "ann@member.test",
        PASSWORD,
    )
    .await
    .expect("a normal registration");
    drop(ann);
    assert_eq!(stored(&db).await.0, 1);

    let handle = unique("m");
    let attempt = start(&server, &handle).await;

    // No step 1: the fields are missing, or the token is made up.
    let mut without = attempt.body.clone();
    without
        .as_object_mut()
        .unwrap()
        .remove("registration_token");
    refused(&server, &db, &without, 422, "invalid_field").await;
    let mut without = attempt.body.clone();
    without.as_object_mut().unwrap().remove("identity_proof");
    refused(&server, &db, &without, 422, "invalid_field").await;
    let mut made_up = attempt.body.clone();
    let mut random = vec![0u8; 81];
    OsRng.fill_bytes(&mut random);
    random[0] = 1;
    made_up["registration_token"] = json!(b64(&random));
    refused(&server, &db, &made_up, 422, "invalid_registration_token").await;
    let mut short = attempt.body.clone();
    short["registration_token"] = json!(b64(&unb64(&attempt.body["registration_token"])[..80]));
    refused(&server, &db, &short, 422, "invalid_registration_token").await;

    // A token another server (another root secret) made.
    let (other_challenge, other_token) = token_under(
        &RootSecret::generate(&mut OsRng),
        &handle,
        now_ms() + 60_000,
    );
    let mut elsewhere = attempt.body.clone();
    elsewhere["registration_token"] = json!(b64(&other_token));
    elsewhere["identity_proof"] = json!(b64(attempt
        .identity
        .prove(&other_challenge.public(), &handle)
        .unwrap()
        .as_bytes()));
    refused(&server, &db, &elsewhere, 422, "invalid_registration_token").await;

    // The token's expiry moved later by hand: it is authenticated.
    let mut later = attempt.body.clone();
    let mut token = unb64(&attempt.body["registration_token"]);
    let n = token.len();
    token[n - 8..].copy_from_slice(&(now_ms() + 3_600_000).to_be_bytes());
    later["registration_token"] = json!(b64(&token));
    refused(&server, &db, &later, 422, "invalid_registration_token").await;

    // Another handle's token (and a proof for that handle).
    let other = start(&server, &unique("o")).await;
    let mut swapped = attempt.body.clone();
    swapped["registration_token"] = other.body["registration_token"].clone();
    swapped["identity_proof"] = json!(b64(attempt
        .identity
        .prove(&other.challenge, &handle)
        .unwrap()
        .as_bytes()));
    refused(&server, &db, &swapped, 422, "invalid_registration_token").await;

    // A genuine token whose ten minutes are over.
    let (old_challenge, old_token) = server_token(&server, &handle, now_ms() - 1);
    let mut expired = attempt.body.clone();
    expired["registration_token"] = json!(b64(&old_token));
    expired["identity_proof"] = json!(b64(attempt
        .identity
        .prove(&old_challenge.public(), &handle)
        .unwrap()
        .as_bytes()));
    refused(&server, &db, &expired, 410, "registration_expired").await;

    // The proof: made with another key, for another handle, or altered.
    let impostor = IdentitySecret::generate(&mut OsRng);
    let mut forged = attempt.body.clone();
    forged["identity_proof"] = json!(b64(impostor
        .prove(&attempt.challenge, &handle)
        .unwrap()
        .as_bytes()));
    refused(&server, &db, &forged, 422, "invalid_identity_proof").await;
    let mut elsewhere = attempt.body.clone();
    elsewhere["identity_proof"] = json!(b64(attempt
        .identity
        .prove(&attempt.challenge, "someone-else")
        .unwrap()
        .as_bytes()));
    refused(&server, &db, &elsewhere, 422, "invalid_identity_proof").await;
    let mut flipped = attempt.body.clone();
    let mut proof = unb64(&attempt.body["identity_proof"]);
    proof[0] ^= 1;
    flipped["identity_proof"] = json!(b64(&proof));
    refused(&server, &db, &flipped, 422, "invalid_identity_proof").await;
    let mut short = attempt.body.clone();
    short["identity_proof"] = json!(b64(&proof[..31]));
    refused(&server, &db, &short, 422, "invalid_identity_proof").await;
    // A low-order key, for which anyone could make the proof.
    let mut low = attempt.body.clone();
    low["identity_public"] = json!(b64(&[0u8; 32]));
    refused(&server, &db, &low, 422, "invalid_public_key").await;

    // All of that refused, the genuine body still registers.
    let (status, answer) = post(&server, "/members/register/finish", &attempt.body).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["handle"], json!(attempt.handle));
    assert_eq!(stored(&db).await.0, 2);

    // Replayed, it is refused: its handle and its key are both taken (which
    // one the database names first differs: PostgreSQL the handle, SQLite
    // the key).
    let before = stored(&db).await;
    let (status, answer) = post(&server, "/members/register/finish", &attempt.body).await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        ["handle_taken", "identity_key_taken"].contains(&answer["error"].as_str().unwrap()),
        "{answer}"
    );
    assert_eq!(stored(&db).await, before);

    // The same key under a second handle, with a valid proof for it (the
    // key's holder registering twice): one key, one member.
    let second = start(&server, &unique("s")).await;
    let mut twice = second.body.clone();
    twice["identity_public"] = attempt.body["identity_public"].clone();
    twice["identity_proof"] = json!(b64(attempt
        .identity
        .prove(&second.challenge, &second.handle)
        .unwrap()
        .as_bytes()));
    refused(&server, &db, &twice, 409, "identity_key_taken").await;
    // And its own key still registers that handle.
    let (status, answer) = post(&server, "/members/register/finish", &second.body).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(stored(&db).await.0, 3);
    assert_eq!(
        db.count("SELECT COUNT(DISTINCT identity_public) FROM members")
            .await,
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_proves_the_key_on_sqlite() {
    registration_is_tied_to_its_start_and_proves_the_key(Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_proves_the_key_on_postgres() {
    registration_is_tied_to_its_start_and_proves_the_key(Database::postgres().await).await;
}
