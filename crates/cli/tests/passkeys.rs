//! Passkeys against the real binary, on SQLite and on PostgreSQL: a member
//! adds the identity sealed under a passkey's KEK (made here as the
//! member's worker makes it, from a PRF output the server never sees),
//! lists it back and opens it with the same PRF output alone; a second
//! passkey works beside it; bad input is refused with its 4xx JSON and
//! stores nothing; removing a passkey needs a recent sign-in and deletes
//! its copy; and no PRF output is in the database or the log.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use latchkey_core::opaque::ClientRegistration;
use latchkey_core::{
    IdentityChallengePublic, IdentityPublic, IdentitySecret, KeyEncryptionKey, OsRng,
    SealedIdentity,
};
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use serde_json::{json, Value};
use support::passkey::{b64, unb64, Passkey};
use support::{unique, Database, MailServer, Server, Settings};

const PASSWORD: &[u8] = b"a fine password";

/// A signed-in member, as the browser holds him: the session cookie and
/// (in the worker) the unsealed identity.
struct SignedIn {
    handle: String,
    cookie: String,
    identity: IdentitySecret,
}

/// One request with the member's cookie (and the site's Origin, as the
/// pages send it); every answer is checked against the OpenAPI document.
async fn call(
    server: &Server,
    member: Option<&SignedIn>,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method.clone(), format!("{}/api/v1{path}", server.base))
        .header(ORIGIN, server.base.trim_end_matches('/'));
    if let Some(member) = member {
        request = request.header(COOKIE, &member.cookie);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    support::contract::check_raw(method.as_str(), path, status, &bytes);
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, value)
}

/// Registers a member with a password, as sign-up does, keeping the cookie.
async fn sign_up(server: &Server, handle: &str) -> SignedIn {
    let (registration, request) = ClientRegistration::start(&mut OsRng, PASSWORD).unwrap();
    let (status, started) = call(
        server,
        None,
        reqwest::Method::POST,
        "/members/register/start",
        Some(&json!({"handle": handle, "request": b64(&request)})),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let (upload, export) = registration
        .finish(&mut OsRng, PASSWORD, &unb64(&started["response"]))
        .unwrap();
    let challenge =
        IdentityChallengePublic::from_slice(&unb64(&started["identity_challenge"])).unwrap();
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
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/members/register/finish", server.base))
        .header(ORIGIN, server.base.trim_end_matches('/'))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| !c.ends_with('='))
        .expect("a session cookie");
    SignedIn {
        handle: handle.to_owned(),
        cookie,
        identity,
    }
}

async fn list(server: &Server, member: &SignedIn) -> Vec<Value> {
    let (status, body) = call(
        server,
        Some(member),
        reqwest::Method::GET,
        "/me/passkeys",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["passkeys"].as_array().unwrap().clone()
}

/// What unlocking with this passkey does in the worker: the member's
/// public key from `/me`, the copy stored for this credential, opened with
/// the PRF output alone.
async fn unlock(server: &Server, member: &SignedIn, passkey: &Passkey) -> Option<IdentitySecret> {
    let (_, me) = call(server, Some(member), reqwest::Method::GET, "/me", None).await;
    let public = IdentityPublic::from_slice(&unb64(&me["identity_public"])).unwrap();
    let id = b64(&passkey.credential_id);
    let stored = list(server, member)
        .await
        .into_iter()
        .find(|p| p["credential_id"] == id.as_str())?;
    let sealed = SealedIdentity::from_bytes(unb64(&stored["sealed_identity"])).unwrap();
    passkey
        .kek(&member.handle)
        .open_identity(&sealed, &public)
        .ok()
}

async fn refused(
    server: &Server,
    db: &Database,
    member: &SignedIn,
    body: Value,
    status: u16,
    code: &str,
) {
    let before = db.count("SELECT COUNT(*) FROM member_passkeys").await;
    let (got, answer) = call(
        server,
        Some(member),
        reqwest::Method::POST,
        "/me/passkeys",
        Some(&body),
    )
    .await;
    assert_eq!(
        (got, answer["error"].as_str()),
        (status, Some(code)),
        "{answer}"
    );
    assert!(
        answer["message"].as_str().unwrap_or_default().len() > 10,
        "{answer}"
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM member_passkeys").await,
        before,
        "a refused passkey was stored"
    );
}

async fn passkeys_unlock_and_removed_ones_do_not(db: Database) {
    let mail = MailServer::start().await;
    let server = Server::start(&db, &mail, &Settings::default()).await;
    let ann = sign_up(&server, &unique("ann")).await;
    let bob = sign_up(&server, &unique("bob")).await;

    // Signed out: nothing.
    let (status, answer) = call(&server, None, reqwest::Method::GET, "/me/passkeys", None).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("not_signed_in"))
    );
    assert!(list(&server, &ann).await.is_empty());

    // Two passkeys; each opens the identity with its own PRF output.
    let laptop = Passkey::new(16);
    let phone = Passkey::new(64);
    let (status, added) = call(
        &server,
        Some(&ann),
        reqwest::Method::POST,
        "/me/passkeys",
        Some(&laptop.body(&ann.handle, &ann.identity, "  Laptop ")),
    )
    .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["label"], "Laptop");
    let (status, _) = call(
        &server,
        Some(&ann),
        reqwest::Method::POST,
        "/me/passkeys",
        Some(&phone.body(&ann.handle, &ann.identity, "Phone")),
    )
    .await;
    assert_eq!(status, 201);
    let listed = list(&server, &ann).await;
    assert_eq!(listed.len(), 2);
    for passkey in [&laptop, &phone] {
        let opened = unlock(&server, &ann, passkey)
            .await
            .expect("the passkey unlocks");
        assert_eq!(opened.public(), ann.identity.public());
    }
    // Another member sees none of them, and a copy moved to his account
    // does not open for him (the KEK is bound to the handle).
    assert!(list(&server, &bob).await.is_empty());
    let mut moved = laptop.body(&ann.handle, &ann.identity, "Laptop");
    moved["label"] = json!("Moved");
    let (status, _) = call(
        &server,
        Some(&bob),
        reqwest::Method::POST,
        "/me/passkeys",
        Some(&moved),
    )
    .await;
    assert_eq!(status, 201, "a credential id is unique per member only");
    assert!(unlock(&server, &bob, &laptop).await.is_none());

    // Bad input: its own 4xx, nothing stored.
    refused(
        &server,
        &db,
        &ann,
        laptop.body(&ann.handle, &ann.identity, "Again"),
        409,
        "passkey_exists",
    )
    .await;
    refused(
        &server,
        &db,
        &ann,
        Passkey::new(8).body(&ann.handle, &ann.identity, "   "),
        422,
        "invalid_passkey",
    )
    .await;
    refused(
        &server,
        &db,
        &ann,
        Passkey::new(8).body(&ann.handle, &ann.identity, &"x".repeat(65)),
        422,
        "invalid_passkey",
    )
    .await;
    refused(
        &server,
        &db,
        &ann,
        Passkey::new(8).body(&ann.handle, &ann.identity, "tab\there"),
        422,
        "invalid_passkey",
    )
    .await;
    let mut long = Passkey::new(8).body(&ann.handle, &ann.identity, "Long");
    long["credential_id"] = json!(b64(&[7u8; 1024]));
    refused(&server, &db, &ann, long, 422, "invalid_passkey").await;
    let mut no_id = Passkey::new(8).body(&ann.handle, &ann.identity, "Empty");
    no_id["credential_id"] = json!("");
    refused(&server, &db, &ann, no_id, 422, "invalid_passkey").await;
    let mut short = Passkey::new(8).body(&ann.handle, &ann.identity, "Short");
    short["sealed_identity"] = json!(b64(&[1u8; 40]));
    refused(&server, &db, &ann, short, 422, "invalid_sealed_identity").await;
    let mut extra = Passkey::new(8).body(&ann.handle, &ann.identity, "Extra");
    extra["prf"] = json!(b64(&laptop.prf));
    refused(&server, &db, &ann, extra, 422, "invalid_field").await;

    // Removing: an unknown or malformed id is 404; an old sign-in is 403.
    let path = |p: &Passkey| format!("/me/passkeys/{}", b64(&p.credential_id));
    let (status, answer) = call(
        &server,
        Some(&ann),
        reqwest::Method::DELETE,
        &path(&Passkey::new(8)),
        None,
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (404, Some("unknown_passkey"))
    );
    let (status, answer) = call(
        &server,
        Some(&ann),
        reqwest::Method::DELETE,
        "/me/passkeys/not=base64",
        None,
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (404, Some("unknown_passkey")),
        "{answer}"
    );
    let pool = db.pool().await;
    sqlx::query("UPDATE sessions SET created_at = created_at - 600000")
        .execute(&pool)
        .await
        .unwrap();
    let (status, answer) = call(
        &server,
        Some(&ann),
        reqwest::Method::DELETE,
        &path(&laptop),
        None,
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (403, Some("reauthentication_required"))
    );
    assert!(
        unlock(&server, &ann, &laptop).await.is_some(),
        "a refused removal removed"
    );
    sqlx::query("UPDATE sessions SET created_at = created_at + 600000")
        .execute(&pool)
        .await
        .unwrap();
    let (status, _) = call(
        &server,
        Some(&ann),
        reqwest::Method::DELETE,
        &path(&laptop),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(
        unlock(&server, &ann, &laptop).await.is_none(),
        "a removed passkey still unlocks"
    );
    assert!(
        unlock(&server, &ann, &phone).await.is_some(),
        "the other passkey stopped working"
    );
    let (status, _) = call(
        &server,
        Some(&ann),
        reqwest::Method::DELETE,
        &path(&laptop),
        None,
    )
    .await;
    assert_eq!(status, 404);
    // Bob's copy under the same credential id is his, and stays.
    assert_eq!(list(&server, &bob).await.len(), 1);

    // The database and the log hold no PRF output, in any encoding (the
    // KEKs come only from them, and the rows hold sealed copies only).
    let secrets: Vec<(String, Vec<u8>)> = [("laptop", &laptop), ("phone", &phone)]
        .into_iter()
        .map(|(name, p)| (format!("{name} PRF output"), p.prf.to_vec()))
        .collect();
    let stolen = db.steal();
    support::assert_absent("the database", &stolen, &secrets);
    assert_eq!(db.count("SELECT COUNT(*) FROM member_passkeys").await, 2);
    let log = server.log_text();
    support::assert_absent("the log", log.as_bytes(), &secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_on_sqlite() {
    passkeys_unlock_and_removed_ones_do_not(Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_on_postgres() {
    passkeys_unlock_and_removed_ones_do_not(Database::postgres().await).await;
}
