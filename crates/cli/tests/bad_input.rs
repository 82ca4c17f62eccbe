//! Bad input over raw HTTP: each gets the right 4xx with a JSON body that
//! says what was wrong, and nothing is stored. Also the security headers.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use base64ct::{Base64UrlUnpadded, Encoding};
use latchkey_core::opaque::ClientRegistration;
use latchkey_core::{
    ConversationId, ConversationKey, IdentityChallengePublic, IdentityPublic, IdentitySecret,
    KeyEncryptionKey, LinkKey, Message, MessageContext, MessageId, OsRng, Role,
};
use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{assert_absent, unique, Database, MailServer, Server, Settings};

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

struct Api {
    http: reqwest::Client,
    jar: Arc<Jar>,
    base: String,
    origin: Option<String>,
}

impl Api {
    fn new(base: &str) -> Api {
        let jar = Arc::new(Jar::default());
        Api {
            http: reqwest::Client::builder()
                .cookie_provider(jar.clone())
                .build()
                .unwrap(),
            jar,
            base: base.to_owned(),
            origin: Some(base.to_owned()),
        }
    }

    /// The session tokens this client holds (cookie values).
    fn tokens(&self) -> Vec<String> {
        let url = reqwest::Url::parse(&self.base).unwrap();
        let Some(header) = self.jar.cookies(&url) else {
            return Vec::new();
        };
        header
            .to_str()
            .unwrap()
            .split(';')
            .filter_map(|pair| pair.trim().split_once('=').map(|(_, v)| v.to_owned()))
            .collect()
    }

    async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}/api/v1{path}", self.base))
            .body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        if let Some(origin) = &self.origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        support::contract::check_raw(method.as_str(), path, status.as_u16(), &bytes);
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("{path}: not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        (status, headers, value)
    }

    async fn send(&self, method: Method, path: &str, body: &Value) -> (StatusCode, Value) {
        let (status, _, value) = self
            .raw(
                method,
                path,
                Some("application/json"),
                serde_json::to_vec(body).unwrap(),
            )
            .await;
        (status, value)
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, body).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (status, _, value) = self.raw(Method::GET, path, None, Vec::new()).await;
        (status, value)
    }
}

/// Asserts an error answer: status, code, and a message a person can read.
#[track_caller]
fn expect_error(answer: (StatusCode, Value), status: u16, code: &str) {
    let (got, body) = answer;
    assert_eq!(
        got.as_u16(),
        status,
        "expected {status} {code}, got {got} {body}"
    );
    assert_eq!(body["error"], code, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.len() > 10, "the message says nothing: {body}");
}

/// Registers a member over raw HTTP; returns his public key.
async fn register(api: &Api, handle: &str) -> IdentityPublic {
    register_with_cookie(api, handle).await.0
}

/// The same, with the `Set-Cookie` header of the answer.
async fn register_with_cookie(api: &Api, handle: &str) -> (IdentityPublic, String) {
    let password = b"a fine password";
    let (state, request) = ClientRegistration::start(&mut OsRng, password).unwrap();
    let (status, started) = api
        .post(
            "/members/register/start",
            &json!({"handle": handle, "request": b64(&request)}),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    let response = Base64UrlUnpadded::decode_vec(started["response"].as_str().unwrap()).unwrap();
    let (upload, export) = state.finish(&mut OsRng, password, &response).unwrap();
    let identity = IdentitySecret::generate(&mut OsRng);
    let sealed = KeyEncryptionKey::from_export_key(&export).seal_identity(&mut OsRng, &identity);
    let challenge = Base64UrlUnpadded::decode_vec(started["identity_challenge"].as_str().unwrap())
        .map(|e| IdentityChallengePublic::from_slice(&e).unwrap())
        .unwrap();
    let proof = identity.prove(&challenge, handle).unwrap();
    let body = json!({
        "handle": handle, "display_name": "Member", "email": format!("{handle}@member.test"),
        "upload": b64(&upload), "identity_public": b64(identity.public().as_bytes()),
        "sealed_identity": b64(sealed.as_bytes()),
        "registration_token": started["registration_token"], "identity_proof": b64(proof.as_bytes()),
    });
    let (status, headers, answer) = api
        .raw(
            Method::POST,
            "/members/register/finish",
            Some("application/json"),
            serde_json::to_vec(&body).unwrap(),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let cookie = headers["set-cookie"].to_str().unwrap().to_owned();
    (identity.public(), cookie)
}

/// A valid first-contact body, and its link.
fn contact(member: &IdentityPublic, guest_email: &str) -> (Value, LinkKey) {
    let (body, link, _, _) = contact_with_key(member, guest_email);
    (body, link)
}

/// The same, with the conversation's id and key.
fn contact_with_key(
    member: &IdentityPublic,
    guest_email: &str,
) -> (Value, LinkKey, ConversationId, ConversationKey) {
    let conversation = ConversationId::generate(&mut OsRng);
    let key = ConversationKey::generate(&mut OsRng);
    let message_id = MessageId::generate(&mut OsRng);
    let ciphertext = key
        .encrypt_message(
            &mut OsRng,
            &MessageContext {
                conversation,
                message: message_id,
                sender: Role::Guest,
            },
            &Message {
                sent_at_ms: 1,
                body: "hello".into(),
                introduction: None,
            },
        )
        .unwrap();
    let link = LinkKey::generate(&mut OsRng);
    let body = json!({
        "guest_email": guest_email,
        "conversation_id": conversation.to_string(),
        "sealed_key": b64(key.seal_to_member(&mut OsRng, member, &conversation).unwrap().as_bytes()),
        "message": {"message_id": message_id.to_string(), "ciphertext": b64(&ciphertext)},
        "grant": {
            "grant_id": link.grant_id().expose_base64url().as_str(),
            "wrapped_key": b64(link.wrap(&mut OsRng, &conversation, &key).as_bytes()),
        },
        "link": link.expose_fragment().as_str(),
    });
    (body, link, conversation, key)
}

/// A valid guest message body for a conversation.
fn guest_message(conversation: ConversationId, key: &ConversationKey, text: &str) -> Value {
    let message_id = MessageId::generate(&mut OsRng);
    let ciphertext = key
        .encrypt_message(
            &mut OsRng,
            &MessageContext {
                conversation,
                message: message_id,
                sender: Role::Guest,
            },
            &Message {
                sent_at_ms: 2,
                body: text.into(),
                introduction: None,
            },
        )
        .unwrap();
    json!({"message_id": message_id.to_string(), "ciphertext": b64(&ciphertext)})
}

async fn row_counts(db: &Database) -> Vec<(String, i64)> {
    let mut counts = Vec::new();
    for table in [
        "members",
        "conversations",
        "messages",
        "grants",
        "spent_grants",
        "outbox",
    ] {
        let n = db.count(&format!("SELECT COUNT(*) FROM {table}")).await;
        counts.push((table.to_owned(), n));
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_4xx_and_stores_nothing() {
    let db = Database::sqlite();
    let mail = MailServer::start().await;
    let settings = Settings {
        extra_env: vec![
            ("LATCHKEY_LIMITS__MAX_BODY_BYTES".into(), "65536".into()),
            (
                "LATCHKEY_RATE_LIMITS__POSTS_PER_SESSION_PER_MINUTE".into(),
                "20".into(),
            ),
            (
                "LATCHKEY_LIMITS__MAX_CIPHERTEXT_BYTES".into(),
                "16384".into(),
            ),
            (
                "LATCHKEY_RATE_LIMITS__CONTACT_PER_ADDRESS_PER_HOUR".into(),
                "3".into(),
            ),
            (
                "LATCHKEY_RATE_LIMITS__CONTACT_PER_IP_PER_HOUR".into(),
                "1000".into(),
            ),
        ],
        ..Settings::default()
    };
    let server = Server::start(&db, &mail, &settings).await;
    let member = Api::new(&server.base);
    let handle = unique("m");
    let public = register(&member, &handle).await;
    let anon = Api::new(&server.base);
    let guest_email = format!("{}@guest.test", unique("g"));
    let (good, link, good_id, good_key) = contact_with_key(&public, &guest_email);
    let (status, body) = anon
        .post(&format!("/members/{handle}/conversations"), &good)
        .await;
    assert_eq!(status, 201, "{body}");
    let conversation = good["conversation_id"].as_str().unwrap().to_owned();
    let guest = Api::new(&server.base);
    let (status, body) = guest
        .post(
            "/grants/redeem",
            &json!({
                "grant_id": link.grant_id().expose_base64url().as_str(),
                "email": guest_email,
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    mail.wait_for(&guest_email, 1).await;
    let before = row_counts(&db).await;

    // The shape of the request.
    let start = "/members/register/start";
    expect_error(
        {
            let (s, _, v) = anon
                .raw(
                    Method::POST,
                    start,
                    Some("application/json"),
                    b"{\"handle\": ".to_vec(),
                )
                .await;
            (s, v)
        },
        400,
        "malformed_json",
    );
    expect_error(
        anon.post(start, &json!({"handle": 5, "request": "AA"}))
            .await,
        422,
        "invalid_field",
    );
    expect_error(
        anon.post(start, &json!({"handle": "ok-handle"})).await,
        422,
        "invalid_field",
    );
    expect_error(
        anon.post(
            start,
            &json!({"handle": "ok-handle", "request": "AA", "extra": 1}),
        )
        .await,
        422,
        "invalid_field",
    );
    let (status, bad_b64) = anon
        .post(start, &json!({"handle": "ok-handle", "request": "a+b/"}))
        .await;
    expect_error((status, bad_b64.clone()), 422, "invalid_field");
    assert!(
        bad_b64["message"].as_str().unwrap().contains("base64url"),
        "{bad_b64}"
    );
    expect_error(
        {
            let (s, _, v) = anon.raw(Method::POST, start, None, b"{}".to_vec()).await;
            (s, v)
        },
        415,
        "not_json",
    );
    expect_error(
        {
            let big =
                serde_json::to_vec(&json!({"handle": "x", "request": "A".repeat(70_000)})).unwrap();
            let (s, _, v) = anon
                .raw(Method::POST, start, Some("application/json"), big)
                .await;
            (s, v)
        },
        413,
        "body_too_large",
    );
    expect_error(
        anon.post(start, &json!({"handle": "-no-", "request": "AA"}))
            .await,
        422,
        "invalid_handle",
    );
    expect_error(
        anon.post(start, &json!({"handle": "okay", "request": "AA"}))
            .await,
        422,
        "invalid_opaque_message",
    );
    expect_error(anon.get("/no/such/thing").await, 404, "no_route");
    expect_error(
        anon.send(Method::PUT, "/grants/redeem", &json!({})).await,
        405,
        "method_not_allowed",
    );
    expect_error(
        anon.get("/conversations/not-an-id/messages").await,
        401,
        "not_signed_in",
    );
    expect_error(
        member.get("/conversations/not-an-id").await,
        400,
        "invalid_path",
    );
    expect_error(
        member.get("/conversations?before=nonsense").await,
        400,
        "invalid_cursor",
    );
    expect_error(
        member.get("/conversations?limit=many").await,
        400,
        "invalid_query",
    );

    // First contact: every part is checked before anything is stored.
    let path = format!("/members/{handle}/conversations");
    let mutate = |pointer: &str, value: Value| {
        let (mut body, _) = contact(&public, &format!("{}@guest.test", unique("x")));
        *body.pointer_mut(pointer).unwrap() = value;
        body
    };
    expect_error(
        anon.post("/members/nobody-here/conversations", &good).await,
        404,
        "unknown_member",
    );
    expect_error(
        anon.post(&path, &mutate("/guest_email", json!("not an address")))
            .await,
        422,
        "invalid_email",
    );
    expect_error(
        anon.post(&path, &mutate("/conversation_id", json!("12")))
            .await,
        422,
        "invalid_field",
    );
    expect_error(
        anon.post(&path, &mutate("/sealed_key", json!("AAAA")))
            .await,
        422,
        "invalid_sealed_key",
    );
    expect_error(
        anon.post(&path, &mutate("/message/ciphertext", json!("AQID")))
            .await,
        422,
        "invalid_ciphertext",
    );
    expect_error(
        anon.post(
            &path,
            &mutate("/message/ciphertext", json!(b64(&vec![1u8; 20_000]))),
        )
        .await,
        413,
        "message_too_large",
    );
    expect_error(
        anon.post(&path, &mutate("/grant/grant_id", json!("short")))
            .await,
        422,
        "invalid_grant_id",
    );
    expect_error(
        anon.post(&path, &mutate("/grant/wrapped_key", json!("AAAA")))
            .await,
        422,
        "invalid_wrapped_key",
    );
    for bad_link in ["k2.AAAA", "k1.!!!!", "k1.AAAA", "https://x/open", ""] {
        expect_error(
            anon.post(&path, &mutate("/link", json!(bad_link))).await,
            422,
            "invalid_link",
        );
    }
    let other = LinkKey::generate(&mut OsRng);
    expect_error(
        anon.post(
            &path,
            &mutate("/link", json!(other.expose_fragment().as_str())),
        )
        .await,
        422,
        "link_mismatch",
    );
    expect_error(anon.post(&path, &good).await, 409, "conversation_exists");

    // Links.
    expect_error(
        anon.post(
            "/grants/redeem",
            &json!({"grant_id": "nope", "email": guest_email}),
        )
        .await,
        422,
        "invalid_grant_id",
    );
    let unknown = LinkKey::generate(&mut OsRng);
    let unknown_id = json!({"grant_id": unknown.grant_id().expose_base64url().as_str()});
    let redeem_unknown = json!({
        "grant_id": unknown.grant_id().expose_base64url().as_str(),
        "email": guest_email,
    });
    expect_error(
        anon.post("/grants/redeem", &redeem_unknown).await,
        404,
        "unknown_link",
    );
    // Every redeem names the guest's address, in the contact form's rule.
    let live_id = link.grant_id().expose_base64url().as_str().to_owned();
    expect_error(
        anon.post("/grants/redeem", &json!({"grant_id": live_id}))
            .await,
        422,
        "invalid_field",
    );
    expect_error(
        anon.post(
            "/grants/redeem",
            &json!({"grant_id": live_id, "email": "not an address"}),
        )
        .await,
        422,
        "invalid_email",
    );
    expect_error(
        anon.post("/grants/peek", &unknown_id).await,
        404,
        "unknown_link",
    );

    // Sessions and ownership.
    let messages = format!("/conversations/{conversation}/messages");
    let random_conversation = ConversationId::generate(&mut OsRng).to_string();
    expect_error(anon.get(&messages).await, 401, "not_signed_in");
    let (status, body) = guest.get(&messages).await;
    assert_eq!(status, 200, "{body}");
    // A cookie-authenticated write must carry our Origin.
    let post = json!({"message_id": "0".repeat(32), "ciphertext": "AA"});
    for origin in [None, Some("https://evil.example".to_owned())] {
        let elsewhere = Api {
            http: guest.http.clone(),
            jar: guest.jar.clone(),
            base: server.base.clone(),
            origin,
        };
        expect_error(elsewhere.post(&messages, &post).await, 403, "bad_origin");
    }
    let member_elsewhere = Api {
        http: member.http.clone(),
        jar: member.jar.clone(),
        base: server.base.clone(),
        origin: Some("https://evil.example".to_owned()),
    };
    expect_error(
        member_elsewhere.post(&messages, &post).await,
        403,
        "bad_origin",
    );
    expect_error(
        member_elsewhere.post("/session/logout", &json!({})).await,
        403,
        "bad_origin",
    );
    expect_error(
        guest
            .get(&format!("/conversations/{random_conversation}/messages"))
            .await,
        403,
        "wrong_conversation",
    );
    expect_error(
        member
            .get(&format!("/conversations/{random_conversation}"))
            .await,
        404,
        "unknown_conversation",
    );
    let stranger = Api::new(&server.base);
    register(&stranger, &unique("s")).await;
    expect_error(stranger.get(&messages).await, 404, "unknown_conversation");
    expect_error(
        stranger
            .send(
                Method::DELETE,
                &format!("/conversations/{conversation}"),
                &json!(null),
            )
            .await,
        404,
        "unknown_conversation",
    );
    expect_error(
        guest
            .post(
                &messages,
                &json!({"message_id": "a".repeat(32), "ciphertext": "AQID"}),
            )
            .await,
        422,
        "invalid_ciphertext",
    );
    let (guest_post, _) = contact(&public, "unused@guest.test");
    let mut with_grant = json!({
        "message_id": "b".repeat(32),
        "ciphertext": guest_post["message"]["ciphertext"],
        "grant": guest_post["grant"],
    });
    expect_error(
        guest.post(&messages, &with_grant).await,
        422,
        "guest_cannot_grant",
    );
    with_grant["grant"] = Value::Null;
    // A well-formed link: what is wrong is only that its grant is missing.
    let stray = LinkKey::generate(&mut OsRng);
    with_grant["link"] = json!(stray.expose_fragment().as_str());
    expect_error(
        member.post(&messages, &with_grant).await,
        422,
        "link_without_grant",
    );

    // Budgets: the fourth contact from one address within the hour.
    let limited = format!("{}@guest.test", unique("r"));
    for _ in 0..3 {
        let (status, answer) = anon.post(&path, &contact(&public, &limited).0).await;
        assert_eq!(status, 201, "{answer}");
    }
    let fourth = serde_json::to_vec(&contact(&public, &limited).0).unwrap();
    let (status, headers, value) = anon
        .raw(Method::POST, &path, Some("application/json"), fourth)
        .await;
    expect_error((status, value), 429, "rate_limited");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((3000..=3600).contains(&retry), "Retry-After {retry}");

    // Nothing above stored anything (the three accepted contacts aside).
    let after = row_counts(&db).await;
    let expected: Vec<(String, i64)> = before
        .iter()
        .map(|(table, n)| {
            let added = match table.as_str() {
                "members" => 1,
                "conversations" | "messages" | "grants" => 3,
                _ => 0,
            };
            (table.clone(), n + added)
        })
        .collect();
    let without_outbox = |rows: Vec<(String, i64)>| -> Vec<(String, i64)> {
        rows.into_iter().filter(|(t, _)| t != "outbox").collect()
    };
    assert_eq!(
        without_outbox(after),
        without_outbox(expected),
        "bad requests stored rows"
    );
    // Nor queued mail: once the outbox drains, exactly the first contact's
    // and the three accepted contacts' links went out.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while db.count("SELECT COUNT(*) FROM outbox").await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the outbox did not drain"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(mail.all().await.len(), 4, "a bad request queued mail");

    // Pages of messages: every message once, in order, whatever the size.
    for i in 0..4 {
        let (status, body) = guest
            .post(
                &messages,
                &guest_message(good_id, &good_key, &format!("m{i}")),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let mut seqs = Vec::new();
    let mut after = 0;
    loop {
        let (status, page) = guest
            .get(&format!("{messages}?after={after}&limit=2"))
            .await;
        assert_eq!(status, 200, "{page}");
        let batch = page["messages"].as_array().unwrap();
        assert!(batch.len() <= 2);
        seqs.extend(batch.iter().map(|m| m["seq"].as_i64().unwrap()));
        match page["next_after"].as_i64() {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = if cursor.is_empty() {
            "/conversations?limit=1".to_owned()
        } else {
            format!("/conversations?limit=1&before={cursor}")
        };
        let (status, page) = member.get(&path).await;
        assert_eq!(status, 200, "{page}");
        ids.extend(
            page["conversations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned()),
        );
        match page["next_before"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(ids.len(), 4, "{ids:?}");
    // The member sees where each guest's links go (the address the server
    // sealed), whatever the introduction inside the message says.
    let (_, page) = member.get("/conversations?limit=10").await;
    let listed: Vec<&str> = page["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["guest_email"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&guest_email.as_str()), "{listed:?}");
    assert_eq!(ids[0], good_id.to_string(), "most recently active first");
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 4);

    // A session's posting budget (20 a minute here) ends in 429.
    let mut accepted = 0;
    let refused = loop {
        let (status, body) = guest
            .post(&messages, &guest_message(good_id, &good_key, "flood"))
            .await;
        if status != 201 {
            break (status, body);
        }
        accepted += 1;
        assert!(accepted <= 20, "no budget per session");
    };
    expect_error(refused, 429, "rate_limited");

    // Session tokens are stored hashed: the database never holds one.
    let tokens: Vec<(String, Vec<u8>)> = [&member, &guest, &stranger]
        .iter()
        .flat_map(|api| api.tokens())
        .enumerate()
        .map(|(i, t)| (format!("session token {i}"), t.into_bytes()))
        .collect();
    assert_eq!(tokens.len(), 3, "three sessions");
    assert_absent("the database", &db.steal(), &tokens);
    assert_absent("the server log", server.log_text().as_bytes(), &tokens);

    // Signing out deletes the session on the server, not just the cookie
    // in this client: the old token, replayed, is refused.
    let leaving = Api::new(&server.base);
    register(&leaving, &unique("l")).await;
    let token = leaving.tokens().pop().unwrap();
    let (status, _) = leaving.post("/session/logout", &json!({})).await;
    assert_eq!(status, 204);
    let replay = reqwest::Client::new()
        .get(format!("{}/api/v1/me", server.base))
        .header("cookie", format!("latchkey-member={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);

    // Security headers, on the API and on pages.
    for path in ["/api/v1/health", "/", "/no-such-page"] {
        let response = reqwest::get(format!("{}{path}", server.base))
            .await
            .unwrap();
        let h = response.headers();
        assert_eq!(
            h["content-security-policy"],
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        if path.starts_with("/api/") {
            assert_eq!(h["cache-control"], "no-store");
        }
    }
    let (status, headers, _) = member.raw(Method::GET, "/health", None, Vec::new()).await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "no-store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_tls_cookies_are_host_only_and_secure_and_hsts_is_sent() {
    let db = Database::sqlite();
    let mail = MailServer::start().await;
    let settings = Settings {
        extra_env: vec![(
            "LATCHKEY_PUBLIC_URL".into(),
            "https://chat.example.test".into(),
        )],
        ..Settings::default()
    };
    let server = Server::start(&db, &mail, &settings).await;
    let api = Api::new(&server.base);
    let (_, cookie) = register_with_cookie(&api, "bob").await;
    assert!(cookie.starts_with("__Host-latchkey-member="), "{cookie}");
    for attribute in ["; Path=/", "; HttpOnly", "; SameSite=Strict", "; Secure"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let (_, headers, _) = api.raw(Method::GET, "/health", None, Vec::new()).await;
    assert_eq!(
        headers["strict-transport-security"],
        "max-age=63072000; includeSubDomains"
    );
    // Links in e-mails use the public address.
    let (body, _) = contact(
        &register(&Api::new(&server.base), "carol").await,
        "ann@guest.test",
    );
    let (status, answer) = api.post("/members/carol/conversations", &body).await;
    assert_eq!(status, 201, "{answer}");
    let link = mail.link("ann@guest.test", 1).await;
    assert!(
        link.starts_with("https://chat.example.test/open#k1."),
        "{link}"
    );
}

/// The contract check is no rubber stamp: what the document does not
/// describe is refused, what it does is accepted.
#[test]
fn the_contract_check_refuses_what_the_document_does_not_describe() {
    use latchkey_api::endpoints::{GET_ME, LOGOUT, PEEK_GRANT, REQUEST_LINK};
    let contract = support::contract::contract();
    let me = json!({
        "handle": "bob", "display_name": "Bob", "identity_public": b64(&[1; 32]),
        "fingerprint": "ABCD-EFGH-JKMN-PQRS", "sealed_identity": b64(&[2; 73]),
        "embed_origins": ["https://www.example.org"],
    });
    let bytes = |v: &Value| serde_json::to_vec(v).unwrap();
    contract.check(&GET_ME, 200, &bytes(&me)).unwrap();
    let mut missing = me.clone();
    // (sealed_identity may be absent: a member without a password.)
    missing.as_object_mut().unwrap().remove("fingerprint");
    let mut extra = me.clone();
    extra["admin"] = json!(true);
    let mut malformed = me.clone();
    malformed["identity_public"] = json!("not base64url!");
    for (what, body) in [
        ("missing", missing),
        ("extra", extra),
        ("malformed", malformed),
    ] {
        let problem = contract.check(&GET_ME, 200, &bytes(&body)).unwrap_err();
        assert!(problem.contains("schema"), "{what}: {problem}");
    }
    assert!(contract
        .check(&GET_ME, 201, &bytes(&me))
        .unwrap_err()
        .contains("not documented"));
    let error = |code: &str| bytes(&json!({"error": code, "message": "Something was wrong."}));
    contract
        .check(&PEEK_GRANT, 410, &error("link_used"))
        .unwrap();
    let problem = contract
        .check(&PEEK_GRANT, 410, &error("link_gone"))
        .unwrap_err();
    assert!(
        problem.contains("\"link_gone\" is not documented"),
        "{problem}"
    );
    // A code the API has, but not for this operation and status.
    let problem = contract
        .check(&REQUEST_LINK, 404, &error("unknown_member"))
        .unwrap_err();
    assert!(problem.contains("not documented"), "{problem}");
    let problem = contract
        .check(&PEEK_GRANT, 404, &error("unknown_conversation"))
        .unwrap_err();
    assert!(problem.contains("not documented"), "{problem}");
    let problem = contract
        .check(&PEEK_GRANT, 410, &bytes(&json!({"error": "link_used"})))
        .unwrap_err();
    assert!(problem.contains("schema"), "{problem}");
    contract.check(&LOGOUT, 204, b"").unwrap();
    assert!(contract.check(&LOGOUT, 204, b"{}").is_err());

    // Raw requests find their operation by path template.
    use support::contract::check_raw;
    let messages = format!("/conversations/{}/messages?after=0", "0f".repeat(16));
    let page = bytes(&json!({"messages": [], "next_after": null}));
    check_raw("GET", &messages, 200, &page);
    check_raw("GET", "/no/such/thing", 404, &error("no_route"));
    check_raw("PUT", "/grants/redeem", 405, &error("method_not_allowed"));
    for (method, path, status, body) in [
        (
            "GET",
            messages.as_str(),
            200,
            bytes(&json!({"next_after": null})),
        ),
        ("GET", messages.as_str(), 404, error("unknown_link")),
        ("POST", messages.as_str(), 200, page.clone()),
        ("GET", "/no/such/thing", 404, error("not_found")),
        ("PUT", "/grants/redeem", 404, error("no_route")),
    ] {
        let refused = std::panic::catch_unwind(|| check_raw(method, path, status, &body));
        assert!(refused.is_err(), "{method} {path} {status} passed");
    }
}
