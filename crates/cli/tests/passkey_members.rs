//! Members without a password, against the real binary on SQLite and on
//! PostgreSQL (docs/protocol.md §4.9.2): the site invites a member, he sets
//! up his key with a passkey (a PRF output made here as the authenticator
//! would give it; the server never sees it) and his recovery key, and signs
//! in with the passkey alone. Each failure is refused with its 4xx JSON and
//! changes nothing: a wrong proof, a replayed attempt, a passkey that is not
//! his, an attempt of the other kind, a password he does not have, the
//! removal of his last passkey. He can add a password later. No PRF output
//! or recovery secret is in the database or the log.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use latchkey_client::Member as ClientMember;
use latchkey_core::opaque::{ClientLogin, ClientRegistration};
use latchkey_core::{
    IdentityChallengePublic, IdentityPublic, IdentitySecret, KeyEncryptionKey, OsRng, RecoveryKey,
    SealedIdentity,
};
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use serde_json::{json, Value};
use support::passkey::{b64, unb64, Passkey};
use support::{Database, MailServer, Server, Settings};

/// One answer: status, body, and the session cookie it set, if any.
struct Answer {
    status: u16,
    body: Value,
    cookie: Option<String>,
}

impl Answer {
    fn error(&self) -> (u16, &str) {
        (self.status, self.body["error"].as_str().unwrap_or("(none)"))
    }
}

/// One request as the pages send it (the site's Origin, the member's
/// cookie if any); every answer is checked against the OpenAPI document.
async fn call(
    server: &Server,
    cookie: Option<&str>,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Answer {
    let mut request = reqwest::Client::new()
        .request(method.clone(), format!("{}/api/v1{path}", server.base))
        .header(ORIGIN, server.base.trim_end_matches('/'));
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    if let Some(body) = body {
        request = request.json(body);
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
    support::contract::check_raw(method.as_str(), path, status, &bytes);
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    if status >= 400 {
        assert!(
            body["message"].as_str().unwrap_or_default().len() > 10,
            "{path}: an error without a message: {body}"
        );
    }
    Answer {
        status,
        body,
        cookie,
    }
}

async fn post(server: &Server, cookie: Option<&str>, path: &str, body: &Value) -> Answer {
    call(server, cookie, reqwest::Method::POST, path, Some(body)).await
}

/// The site's backend invites `handle`; the token from the link's fragment.
async fn invite(server: &Server, token: &str, handle: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/admin/members", server.base))
        .header("Authorization", format!("Bearer {token}"))
        .json(&json!({
            "handle": handle,
            "display_name": "Quinn",
            "email": format!("{handle}@member.test"),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let answer: Value = response.json().await.unwrap();
    let url = answer["enrollment_url"].as_str().unwrap();
    url.split_once('#').unwrap().1.to_owned()
}

/// What the enrollment page's worker sends: a new key proved against the
/// challenge, sealed under the passkey and under the recovery key.
struct Enrollment {
    identity: IdentitySecret,
    recovery: RecoveryKey,
    body: Value,
}

fn enrollment(started: &Value, invite: &str, passkey: &Passkey) -> Enrollment {
    let handle = started["handle"].as_str().unwrap();
    let challenge =
        IdentityChallengePublic::from_slice(&unb64(&started["identity_challenge"])).unwrap();
    let identity = IdentitySecret::generate(&mut OsRng);
    let recovery = RecoveryKey::generate(&mut OsRng);
    let recovery_sealed =
        KeyEncryptionKey::from_recovery_key(&recovery).seal_identity(&mut OsRng, &identity);
    let proof = identity.prove(&challenge, handle).unwrap();
    let body = json!({
        "invite": invite,
        "display_name": "Quinn Q.",
        "email": "quinn@member.test",
        "identity_public": b64(identity.public().as_bytes()),
        "registration_token": started["registration_token"],
        "identity_proof": b64(proof.as_bytes()),
        "passkey": passkey.body(handle, &identity, "Phone"),
        "recovery_sealed_identity": b64(recovery_sealed.as_bytes()),
        "recovery_proof": b64(recovery.proof().as_slice()),
    });
    Enrollment {
        identity,
        recovery,
        body,
    }
}

/// Passkey sign-in as the page and worker do it: step 1, the copy of the
/// passkey the authenticator used, opened with its PRF output, the proof.
/// `None` where the copy does not open.
async fn passkey_sign_in(server: &Server, handle: &str, passkey: &Passkey) -> Option<Answer> {
    let started = post(
        server,
        None,
        "/session/passkey/start",
        &json!({"handle": handle}),
    )
    .await;
    assert_eq!(started.status, 200, "{}", started.body);
    let id = b64(&passkey.credential_id);
    let copy = started.body["passkeys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["credential_id"] == id.as_str())?
        .clone();
    let public = IdentityPublic::from_slice(&unb64(&started.body["identity_public"])).unwrap();
    let sealed = SealedIdentity::from_bytes(unb64(&copy["sealed_identity"])).unwrap();
    let identity = passkey.kek(handle).open_identity(&sealed, &public).ok()?;
    let challenge =
        IdentityChallengePublic::from_slice(&unb64(&started.body["identity_challenge"])).unwrap();
    let proof = identity.prove(&challenge, handle).unwrap();
    Some(
        post(
            server,
            None,
            "/session/passkey/finish",
            &json!({
                "login_id": started.body["login_id"],
                "credential_id": id,
                "identity_proof": b64(proof.as_bytes()),
            }),
        )
        .await,
    )
}

async fn passkey_members(db: Database) {
    let mail = MailServer::start().await;
    // Passkey sign-ins spend the handle's login budget (10 a minute), as
    // password logins do; this test makes more than ten.
    let settings = Settings {
        extra_env: vec![(
            "LATCHKEY_RATE_LIMITS__LOGIN_PER_HANDLE_PER_MINUTE".into(),
            "100".into(),
        )],
        ..Settings::default()
    };
    let server = Server::start(&db, &mail, &settings).await;
    let token = support::admin_token(&db, &server, "site", "members:write", &[]);
    let invite_token = invite(&server, &token, "quinn").await;

    // Step 1: an unknown invitation is refused; the real one names quinn.
    let bogus = post(
        &server,
        None,
        "/enroll/start",
        &json!({"invite": "A".repeat(43)}),
    )
    .await;
    assert_eq!(bogus.error(), (403, "invalid_invite"));
    let started = post(
        &server,
        None,
        "/enroll/start",
        &json!({"invite": invite_token}),
    )
    .await;
    assert_eq!(started.status, 200, "{}", started.body);
    assert_eq!(started.body["handle"], "quinn");

    // Step 2, refused: without the recovery key, with a proof for another
    // key; nothing is stored and the invitation stays live.
    let phone = Passkey::new(32);
    let enrolled = enrollment(&started.body, &invite_token, &phone);
    let mut no_recovery = enrolled.body.clone();
    no_recovery
        .as_object_mut()
        .unwrap()
        .remove("recovery_proof");
    let answer = post(&server, None, "/enroll/passkey", &no_recovery).await;
    assert_eq!(answer.error(), (422, "invalid_field"));
    let mut wrong_key = enrolled.body.clone();
    wrong_key["identity_public"] = json!(b64(IdentitySecret::generate(&mut OsRng)
        .public()
        .as_bytes()));
    let answer = post(&server, None, "/enroll/passkey", &wrong_key).await;
    assert_eq!(answer.error(), (422, "invalid_identity_proof"));
    let mut bad_passkey = enrolled.body.clone();
    bad_passkey["passkey"]["label"] = json!("");
    let answer = post(&server, None, "/enroll/passkey", &bad_passkey).await;
    assert_eq!(answer.error(), (422, "invalid_passkey"));
    assert_eq!(db.count("SELECT COUNT(*) FROM members").await, 0);
    assert_eq!(db.count("SELECT COUNT(*) FROM member_passkeys").await, 0);
    assert_eq!(db.count("SELECT COUNT(*) FROM invites").await, 1);

    // Step 2: enrolled and signed in, with no password; once only.
    let answer = post(&server, None, "/enroll/passkey", &enrolled.body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.body["handle"], "quinn");
    assert_eq!(answer.body["display_name"], "Quinn Q.");
    assert!(
        answer.body.get("sealed_identity").is_none(),
        "{}",
        answer.body
    );
    let first_cookie = answer.cookie.expect("a session cookie");
    let me = call(
        &server,
        Some(&first_cookie),
        reqwest::Method::GET,
        "/me",
        None,
    )
    .await;
    assert_eq!(me.status, 200);
    let again = post(&server, None, "/enroll/passkey", &enrolled.body).await;
    assert_eq!(again.error(), (403, "invalid_invite"));
    assert_eq!(db.count("SELECT COUNT(*) FROM member_passwords").await, 0);
    assert_eq!(db.count("SELECT COUNT(*) FROM member_passkeys").await, 1);

    // He has no password: every password is wrong, as for a stranger.
    let login = ClientMember::login(&server.url, "quinn", b"any password at all").await;
    assert!(
        matches!(login, Err(latchkey_client::ClientError::LoginFailed)),
        "{login:?}"
    );

    // The passkey signs him in.
    let signed_in = passkey_sign_in(&server, "quinn", &phone)
        .await
        .expect("the passkey's copy opens");
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert_eq!(
        signed_in.body["identity_public"],
        enrolled.body["identity_public"]
    );
    let cookie = signed_in.cookie.expect("a session cookie");
    let me = call(&server, Some(&cookie), reqwest::Method::GET, "/me", None).await;
    assert_eq!(me.body["handle"], "quinn");

    // Refused sign-ins: a replayed attempt, a wrong proof, a passkey that is
    // not his, a password login's attempt; unknown handles.
    let start = |handle: &'static str| {
        let server = &server;
        async move {
            post(
                server,
                None,
                "/session/passkey/start",
                &json!({"handle": handle}),
            )
            .await
        }
    };
    let attempt = start("quinn").await;
    let challenge =
        IdentityChallengePublic::from_slice(&unb64(&attempt.body["identity_challenge"])).unwrap();
    let good_proof = enrolled.identity.prove(&challenge, "quinn").unwrap();
    let stranger = IdentitySecret::generate(&mut OsRng);
    let finish = |credential: &[u8], proof: &[u8]| {
        json!({
            "login_id": attempt.body["login_id"],
            "credential_id": b64(credential),
            "identity_proof": b64(proof),
        })
    };
    let wrong = stranger.prove(&challenge, "quinn").unwrap();
    let answer = post(
        &server,
        None,
        "/session/passkey/finish",
        &finish(&phone.credential_id, wrong.as_bytes()),
    )
    .await;
    assert_eq!(answer.error(), (401, "login_failed"));
    // The attempt was taken by that failure: the right proof is late now.
    let answer = post(
        &server,
        None,
        "/session/passkey/finish",
        &finish(&phone.credential_id, good_proof.as_bytes()),
    )
    .await;
    assert_eq!(answer.error(), (401, "login_failed"));
    let attempt = start("quinn").await;
    let challenge =
        IdentityChallengePublic::from_slice(&unb64(&attempt.body["identity_challenge"])).unwrap();
    let proof = enrolled.identity.prove(&challenge, "quinn").unwrap();
    let not_his = Passkey::new(32);
    let answer = post(
        &server,
        None,
        "/session/passkey/finish",
        &json!({
            "login_id": attempt.body["login_id"],
            "credential_id": b64(&not_his.credential_id),
            "identity_proof": b64(proof.as_bytes()),
        }),
    )
    .await;
    assert_eq!(answer.error(), (401, "login_failed"));
    let (_, ke1) = ClientLogin::start(&mut OsRng, b"whatever").unwrap();
    let password_attempt = post(
        &server,
        None,
        "/session/login/start",
        &json!({"handle": "quinn", "request": b64(&ke1)}),
    )
    .await;
    assert_eq!(password_attempt.status, 200);
    let answer = post(
        &server,
        None,
        "/session/passkey/finish",
        &json!({
            "login_id": password_attempt.body["login_id"],
            "credential_id": b64(&phone.credential_id),
            "identity_proof": b64(proof.as_bytes()),
        }),
    )
    .await;
    assert_eq!(answer.error(), (401, "login_failed"));
    let passkey_attempt = start("quinn").await;
    let answer = post(
        &server,
        None,
        "/session/login/finish",
        &json!({"login_id": passkey_attempt.body["login_id"], "finalization": b64(&[1u8; 65])}),
    )
    .await;
    assert_eq!(answer.error(), (401, "login_failed"));
    assert_eq!(start("nobody").await.error(), (404, "no_passkey"));

    // His last passkey cannot go; with a second one, the first can.
    let path = |p: &Passkey| format!("/me/passkeys/{}", b64(&p.credential_id));
    let answer = call(
        &server,
        Some(&cookie),
        reqwest::Method::DELETE,
        &path(&phone),
        None,
    )
    .await;
    assert_eq!(answer.error(), (409, "last_passkey"));
    let laptop = Passkey::new(32);
    let added = post(
        &server,
        Some(&cookie),
        "/me/passkeys",
        &laptop.body("quinn", &enrolled.identity, "Laptop"),
    )
    .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let answer = call(
        &server,
        Some(&cookie),
        reqwest::Method::DELETE,
        &path(&phone),
        None,
    )
    .await;
    assert_eq!(answer.status, 204, "{}", answer.body);
    assert!(
        passkey_sign_in(&server, "quinn", &phone).await.is_none(),
        "a removed passkey's copy is still offered"
    );
    let answer = passkey_sign_in(&server, "quinn", &laptop).await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);

    // He adds a password (the password change, with no old one), and it
    // works beside the passkey.
    let password = b"quinn's new password";
    let (registration, request) = ClientRegistration::start(&mut OsRng, password).unwrap();
    let answer = post(
        &server,
        Some(&cookie),
        "/me/password/start",
        &json!({"request": b64(&request)}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let (upload, export) = registration
        .finish(&mut OsRng, password, &unb64(&answer.body["response"]))
        .unwrap();
    let sealed =
        KeyEncryptionKey::from_export_key(&export).seal_identity(&mut OsRng, &enrolled.identity);
    let answer = post(
        &server,
        Some(&cookie),
        "/me/password/finish",
        &json!({"upload": b64(&upload), "sealed_identity": b64(sealed.as_bytes())}),
    )
    .await;
    assert_eq!(answer.status, 204, "{}", answer.body);
    let member = ClientMember::login(&server.url, "quinn", password)
        .await
        .expect("the added password signs in");
    assert_eq!(
        member.fingerprint(),
        me.body["fingerprint"].as_str().unwrap()
    );
    let answer = passkey_sign_in(&server, "quinn", &laptop).await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);

    // A passkey-only member who lost his passkeys gets back in with his
    // recovery key: it sets a password, and the same key opens.
    let rory_invite = invite(&server, &token, "rory").await;
    let started = post(
        &server,
        None,
        "/enroll/start",
        &json!({"invite": rory_invite}),
    )
    .await;
    let rory = enrollment(&started.body, &rory_invite, &Passkey::new(16));
    let answer = post(&server, None, "/enroll/passkey", &rory.body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let recovered = ClientMember::recover(
        &server.url,
        "rory",
        &rory.recovery.expose_printable(),
        b"rory's recovered password",
    )
    .await
    .expect("the recovery key sets a password");
    assert_eq!(
        recovered.fingerprint(),
        answer.body["fingerprint"].as_str().unwrap()
    );
    ClientMember::login(&server.url, "rory", b"rory's recovered password")
        .await
        .expect("the recovered password signs in");

    // The site disables him: no passkey sign-in either.
    let disabled = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/admin/members/quinn/disable",
            server.base
        ))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert!(disabled.status().is_success());
    assert_eq!(start("quinn").await.error(), (403, "member_disabled"));

    // Neither PRF outputs nor the recovery key, in any encoding, reached the
    // database or the log.
    let mut secrets: Vec<(String, Vec<u8>)> = [("phone", &phone), ("laptop", &laptop)]
        .into_iter()
        .map(|(name, p)| (format!("{name} PRF output"), p.prf.to_vec()))
        .collect();
    secrets.push(("recovery proof".into(), enrolled.recovery.proof().to_vec()));
    secrets.push((
        "recovery key".into(),
        enrolled.recovery.expose_printable().as_bytes().to_vec(),
    ));
    secrets.push(("enrollment token".into(), invite_token.as_bytes().to_vec()));
    support::assert_absent("the database", &db.steal(), &secrets);
    support::assert_absent("the log", server.log_text().as_bytes(), &secrets);
    drop(first_cookie);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_members_on_sqlite() {
    passkey_members(Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_members_on_postgres() {
    passkey_members(Database::postgres().await).await;
}
