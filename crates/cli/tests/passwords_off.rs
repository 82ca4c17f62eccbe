//! `auth.local_passwords = false`, against the real binary: a password
//! signs nobody in, but it still unlocks the key of a member the site
//! signed in. A member invited by the site sets up his key with a
//! password; afterwards a password login without his session is refused
//! (`passwords_disabled`), with another member's session too, and with
//! his own session it runs and opens his key, as the unlock page does it.
//! (Signing in through the site itself is tested in web/tests/oidc.test.mjs
//! against a real provider; here the provider is never reached: discovery
//! happens at the first sign-in.)

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use latchkey_core::opaque::{ClientLogin, ClientRegistration};
use latchkey_core::{
    IdentityChallengePublic, IdentityPublic, IdentitySecret, KeyEncryptionKey, OsRng,
    SealedIdentity,
};
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use serde_json::{json, Value};
use support::passkey::{b64, unb64};
use support::{Database, MailServer, Server, Settings};

const PASSWORD: &[u8] = b"only unlocks, never signs in";

/// Status, body and the session cookie an answer set.
async fn post(
    server: &Server,
    cookie: Option<&str>,
    path: &str,
    body: &Value,
) -> (u16, Value, Option<String>) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/api/v1{path}", server.base))
        .header(ORIGIN, server.base.trim_end_matches('/'))
        .json(body);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| !c.ends_with('='));
    let bytes = response.bytes().await.unwrap();
    support::contract::check_raw("POST", path, status, &bytes);
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        cookie,
    )
}

/// An invited member enrolls with a password, as the enrollment page does;
/// his session cookie and his identity.
async fn enroll(server: &Server, token: &str, handle: &str) -> (String, IdentitySecret) {
    let invited = reqwest::Client::new()
        .post(format!("{}/api/v1/admin/members", server.base))
        .header("Authorization", format!("Bearer {token}"))
        .json(&json!({"handle": handle, "display_name": handle, "email": format!("{handle}@member.test")}))
        .send()
        .await
        .unwrap();
    assert_eq!(invited.status().as_u16(), 201);
    let invited: Value = invited.json().await.unwrap();
    let invite = invited["enrollment_url"]
        .as_str()
        .unwrap()
        .split_once('#')
        .unwrap()
        .1
        .to_owned();
    let (registration, request) = ClientRegistration::start(&mut OsRng, PASSWORD).unwrap();
    let (status, started, _) = post(
        server,
        None,
        "/members/register/start",
        &json!({"handle": handle, "request": b64(&request), "invite": invite}),
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
    let (status, body, cookie) = post(
        server,
        None,
        "/members/register/finish",
        &json!({
            "invite": invite, "handle": handle, "display_name": handle,
            "email": format!("{handle}@member.test"), "upload": b64(&upload),
            "identity_public": b64(identity.public().as_bytes()),
            "sealed_identity": b64(sealed.as_bytes()),
            "registration_token": started["registration_token"],
            "identity_proof": b64(proof.as_bytes()),
        }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (cookie.expect("a session cookie"), identity)
}

/// A password login as the unlock page runs it, with `cookie` if any:
/// step 1's answer, and on success the key the password opened.
async fn password_login(
    server: &Server,
    cookie: Option<&str>,
    handle: &str,
) -> Result<IdentitySecret, (u16, String)> {
    let (login, ke1) = ClientLogin::start(&mut OsRng, PASSWORD).unwrap();
    let (status, started, _) = post(
        server,
        cookie,
        "/session/login/start",
        &json!({"handle": handle, "request": b64(&ke1)}),
    )
    .await;
    if status != 200 {
        return Err((
            status,
            started["error"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    let finished = login
        .finish(&mut OsRng, PASSWORD, &unb64(&started["response"]))
        .unwrap();
    let (status, view, _) = post(
        server,
        cookie,
        "/session/login/finish",
        &json!({"login_id": started["login_id"], "finalization": b64(&finished.finalization)}),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    let public = IdentityPublic::from_slice(&unb64(&view["identity_public"])).unwrap();
    let sealed = SealedIdentity::from_bytes(unb64(&view["sealed_identity"])).unwrap();
    Ok(KeyEncryptionKey::from_export_key(&finished.export_key)
        .open_identity(&sealed, &public)
        .unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_passwords_off_a_password_only_unlocks() {
    let db = Database::sqlite();
    let mail = MailServer::start().await;
    let settings = Settings {
        extra_env: [
            ("LATCHKEY_AUTH__LOCAL_PASSWORDS", "false"),
            // Never reached: discovery happens at the first sign-in.
            ("LATCHKEY_OIDC__ISSUER", "http://127.0.0.1:9"),
            ("LATCHKEY_OIDC__CLIENT_ID", "latchkey"),
            ("LATCHKEY_OIDC__CLIENT_SECRET", "unused"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        ..Settings::default()
    };
    let server = Server::start(&db, &mail, &settings).await;
    // The command needs the server's auth settings too (passwords off
    // needs an issuer).
    let token = support::admin_token(
        &db,
        &server,
        "site",
        "members:write",
        &[
            ("LATCHKEY_AUTH__LOCAL_PASSWORDS", "false"),
            ("LATCHKEY_OIDC__ISSUER", "http://127.0.0.1:9"),
            ("LATCHKEY_OIDC__CLIENT_ID", "latchkey"),
            ("LATCHKEY_OIDC__CLIENT_SECRET", "unused"),
        ],
    );

    let (sam_cookie, sam) = enroll(&server, &token, "sam").await;
    let (tess_cookie, _) = enroll(&server, &token, "tess").await;

    // No session: a password signs nobody in.
    let refused = password_login(&server, None, "sam").await.err();
    assert_eq!(refused, Some((403, "passwords_disabled".to_owned())));
    // Another member's session does not open sam's password login.
    let refused = password_login(&server, Some(&tess_cookie), "sam")
        .await
        .err();
    assert_eq!(refused, Some((403, "passwords_disabled".to_owned())));
    // His own session: the password opens his key.
    let opened = password_login(&server, Some(&sam_cookie), "sam")
        .await
        .expect("his password unlocks");
    assert_eq!(opened.public().as_bytes(), sam.public().as_bytes());
}
