//! The admin API for the site's backend, against the real binary, a real
//! SMTP server and a fresh database (SQLite and PostgreSQL): tokens made,
//! listed and revoked with `latchkey admin token …`; every operation with
//! the right scope, the wrong one, a revoked or unknown token and bad
//! input; an invited member enrolling from his mail; a disabled member
//! who cannot sign in and whose contact page and links say so, until he is
//! re-enabled; and neither the log nor the database holding a token.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::process::{Command, Output};

use latchkey_client::{ClientError, Guest, Member};
use serde_json::{json, Value};
use support::{assert_absent, contract, unique, Database, MailServer, Server, Settings, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_on_sqlite() {
    admin_api(Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_on_postgres() {
    admin_api(Database::postgres().await).await;
}

/// `latchkey admin token …` on the server's database, as the operator runs it.
fn cli(db: &Database, server: &Server, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("admin")
        .arg("token")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LATCHKEY_DEV", "true")
        .env("LATCHKEY_DATABASE_URL", db.url())
        .env(
            "LATCHKEY_SECRETS_FILE",
            server.secrets_file().display().to_string(),
        )
        .output()
        .expect("latchkey runs")
}

fn create_token(db: &Database, server: &Server, name: &str, scopes: &str) -> String {
    let out = cli(db, server, &["create", "--name", name, "--scope", scopes]);
    assert!(
        out.status.success(),
        "token create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("lkadm_") && token.len() > 40, "{token}");
    token
}

/// The site's backend: plain HTTP with a bearer token, every answer checked
/// against the OpenAPI document.
struct Site {
    http: reqwest::Client,
    base: String,
}

impl Site {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}/api/v1{path}", self.base));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        contract::check_raw(method.as_str(), path, status, &bytes);
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, value)
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, token, None).await
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, token, body).await
    }

    async fn delete(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.call(reqwest::Method::DELETE, path, token, None).await
    }
}

fn error_of(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["error"].as_str().unwrap_or("(none)"))
}

fn refused(error: &ClientError) -> (Option<u16>, Option<&str>) {
    (error.status(), error.code())
}

async fn admin_api(db: Database) {
    let mail = MailServer::start().await;
    let server = Server::start(&db, &mail, &Settings::default()).await;
    let url = &server.url;
    let site = Site {
        http: reqwest::Client::new(),
        base: server.base.clone(),
    };
    let run = unique("");

    // The operator makes two tokens; each is printed once.
    let reader = create_token(&db, &server, "site-reader", "members:read");
    let writer = create_token(&db, &server, "site-backend", "members:read,members:write");
    for (args, why) in [
        (
            vec!["create", "--name", "site-reader", "--scope", "members:read"],
            "name taken",
        ),
        (
            vec!["create", "--name", "x", "--scope", "members:everything"],
            "unknown scope",
        ),
        (
            vec!["create", "--name", "bad name", "--scope", "members:read"],
            "bad name",
        ),
        (vec!["revoke", "nobody"], "unknown token"),
    ] {
        let out = cli(&db, &server, &args);
        assert_eq!(out.status.code(), Some(2), "{why}: {out:?}");
    }
    let listed = String::from_utf8(cli(&db, &server, &["list"]).stdout).unwrap();
    assert!(listed.contains("site-reader\tmembers:read\t"), "{listed}");
    assert!(
        listed.contains("site-backend\tmembers:read,members:write\t"),
        "{listed}"
    );
    assert!(!listed.contains(&reader) && !listed.contains(&writer));

    // A member who registered himself, and a guest who wrote to him.
    let bob_email = format!("bob-{run}@member.test");
    let bob = Member::register(url, "bob", "Bob Builder", &bob_email, PASSWORD.as_bytes())
        .await
        .unwrap();
    let ann = format!("ann-{run}@guest.test");
    Guest::contact(url, "bob", &ann, "Ann", "hello Bob", None)
        .await
        .unwrap();
    let ann_link = mail.link(&ann, 1).await;

    // Reading: the member and his contact page.
    let listed = site.get("/admin/members", Some(&reader)).await;
    assert_eq!(listed.0, 200, "{listed:?}");
    assert_eq!(
        listed.1["members"],
        json!([{
            "handle": "bob",
            "display_name": "Bob Builder",
            "status": "active",
            "created_at": listed.1["members"][0]["created_at"],
            "contact_url": format!("{}/m/bob", server.base),
        }])
    );
    let one = site.get("/admin/members/bob", Some(&reader)).await;
    assert_eq!(one.1["contact_url"], format!("{}/m/bob", server.base));

    // Who may: no token, a stranger's, another scheme, the wrong scope.
    let fake = format!("lkadm_{}", "A".repeat(43));
    for token in [None, Some(fake.as_str()), Some("")] {
        let answer = site.get("/admin/members", token).await;
        assert_eq!(error_of(&answer), (401, "bad_token"), "{token:?}");
    }
    let basic = site
        .http
        .get(format!("{}/api/v1/admin/members", server.base))
        .header("Authorization", format!("Basic {writer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status().as_u16(), 401);
    let invite_body = json!({
        "handle": "carol",
        "display_name": "Carol Site",
        "email": format!("carol-{run}@member.test"),
        "send_email": true,
    });
    for answer in [
        site.post("/admin/members", Some(&reader), Some(invite_body.clone()))
            .await,
        site.post("/admin/members/bob/disable", Some(&reader), None)
            .await,
        site.delete("/admin/members/bob", Some(&reader)).await,
    ] {
        assert_eq!(error_of(&answer), (403, "missing_scope"), "{answer:?}");
    }

    // Bad input: each its clear 4xx, nothing stored.
    let unknown = site.get("/admin/members/nobody", Some(&reader)).await;
    assert_eq!(error_of(&unknown), (404, "unknown_member"));
    let bad_handle = site.get("/admin/members/B!B", Some(&reader)).await;
    assert_eq!(error_of(&bad_handle), (422, "invalid_handle"));
    for (body, code) in [
        (
            json!({"handle": "dave", "display_name": "D", "email": "not an address"}),
            "invalid_email",
        ),
        (
            json!({"handle": "-x-", "display_name": "D", "email": "d@x.test"}),
            "invalid_handle",
        ),
        (
            json!({"handle": "dave", "email": "d@x.test"}),
            "invalid_field",
        ),
        (
            json!({"handle": "dave", "display_name": "D", "email": "d@x.test", "admin": true}),
            "invalid_field",
        ),
        (
            json!({"handle": "dave", "display_name": "D", "email": "d@x.test", "language": "de;q=1"}),
            "invalid_field",
        ),
    ] {
        let answer = site.post("/admin/members", Some(&writer), Some(body)).await;
        assert_eq!(error_of(&answer), (422, code), "{answer:?}");
    }
    let taken = json!({"handle": "bob", "display_name": "B", "email": "b@x.test"});
    let answer = site
        .post("/admin/members", Some(&writer), Some(taken))
        .await;
    assert_eq!(error_of(&answer), (409, "handle_taken"));
    assert_eq!(db.count("SELECT COUNT(*) FROM invites").await, 0);

    // An invitation: the link in the answer and in his mail.
    let invited = site
        .post("/admin/members", Some(&writer), Some(invite_body.clone()))
        .await;
    assert_eq!(invited.0, 201, "{invited:?}");
    assert_eq!(invited.1["member"]["status"], "invited");
    assert_eq!(invited.1["emailed"], true);
    assert_eq!(invited.1["language"], "en");
    let enrollment_url = invited.1["enrollment_url"].as_str().unwrap().to_owned();
    let prefix = format!("{}/enroll#", server.base);
    assert!(enrollment_url.starts_with(&prefix), "{enrollment_url}");
    let invite_token = enrollment_url[prefix.len()..].to_owned();
    let carol_email = format!("carol-{run}@member.test");
    let invite_mail = mail.wait_for(&carol_email, 1).await.remove(0);
    assert!(
        invite_mail.text.contains(&enrollment_url),
        "{}",
        invite_mail.text
    );
    // No language asked for: the server's default, English.
    assert_eq!(invite_mail.subject, "You are invited to latchkey");
    let again = site
        .post("/admin/members", Some(&writer), Some(invite_body))
        .await;
    assert_eq!(error_of(&again), (409, "handle_taken"));
    // In his language: the site asks for de-AT, the server has German.
    let dora_email = format!("dora-{run}@member.test");
    let dora = site
        .post(
            "/admin/members",
            Some(&writer),
            Some(json!({
                "handle": "dora",
                "display_name": "Dora Site",
                "email": dora_email,
                "send_email": true,
                "language": "de-AT",
            })),
        )
        .await;
    assert_eq!(
        (dora.0, &dora.1["language"]),
        (201, &json!("de")),
        "{dora:?}"
    );
    let dora_mail = mail.wait_for(&dora_email, 1).await.remove(0);
    assert_eq!(dora_mail.subject, "Ihre Einladung zu latchkey");
    assert!(
        dora_mail.text.contains("Hallo Dora Site")
            && dora_mail.text.contains("läuft nach 7 Tagen ab")
            && dora_mail
                .text
                .contains(dora.1["enrollment_url"].as_str().unwrap()),
        "{}",
        dora_mail.text
    );
    assert!(dora_mail.html.contains("lang=\"de\""), "{}", dora_mail.html);
    // A language without texts here: English, and the answer says so.
    let erik = site
        .post(
            "/admin/members",
            Some(&writer),
            Some(json!({"handle": "erik", "display_name": "Erik", "email": "erik@x.test", "language": "fr"})),
        )
        .await;
    assert_eq!(
        (erik.0, &erik.1["language"]),
        (201, &json!("en")),
        "{erik:?}"
    );
    for handle in ["dora", "erik"] {
        let withdrawn = site
            .delete(&format!("/admin/members/{handle}"), Some(&writer))
            .await;
        assert_eq!(withdrawn.0, 204, "{withdrawn:?}");
    }
    // The handle is his: nobody else registers it.
    let grab = Member::register(url, "carol", "Not Carol", "x@x.test", PASSWORD.as_bytes())
        .await
        .unwrap_err();
    assert_eq!(refused(&grab), (Some(409), Some("handle_taken")));
    let listed = site.get("/admin/members", Some(&reader)).await;
    assert_eq!(listed.1["members"][1]["handle"], "carol");
    assert_eq!(listed.1["members"][1]["status"], "invited");

    // The enrollment page learns whom the link is for, then he registers
    // with it; it works once, and only for his handle.
    let peek = site
        .post("/enroll/peek", None, Some(json!({"invite": invite_token})))
        .await;
    assert_eq!(peek.0, 200, "{peek:?}");
    assert_eq!(peek.1["handle"], "carol");
    assert_eq!(peek.1["email"], carol_email);
    let wrong_handle = Member::enroll(url, &invite_token, "carolyn", "C", &carol_email, b"pw")
        .await
        .unwrap_err();
    assert_eq!(refused(&wrong_handle), (Some(403), Some("invalid_invite")));
    let carol = Member::enroll(
        url,
        &invite_token,
        "carol",
        "Carol Site",
        &carol_email,
        PASSWORD.as_bytes(),
    )
    .await
    .unwrap();
    let twice = Member::enroll(url, &invite_token, "carol", "C", &carol_email, b"pw")
        .await
        .unwrap_err();
    assert_eq!(refused(&twice), (Some(403), Some("invalid_invite")));
    let peek = site
        .post("/enroll/peek", None, Some(json!({"invite": invite_token})))
        .await;
    assert_eq!(error_of(&peek), (403, "invalid_invite"));
    // He is a member like any other: a guest writes to him.
    let one = site.get("/admin/members/carol", Some(&reader)).await;
    assert_eq!(one.1["status"], "active");
    Guest::contact(
        url,
        "carol",
        &ann,
        "Ann",
        "hello Carol",
        Some(&carol.fingerprint()),
    )
    .await
    .unwrap();
    assert_eq!(carol.conversations().await.unwrap().len(), 1);

    // Disabled: no sign-in, his session ended, no messages, and his
    // guest's link says so (without being used up).
    let disabled = site
        .post("/admin/members/bob/disable", Some(&writer), None)
        .await;
    assert_eq!(
        (disabled.0, &disabled.1["status"]),
        (200, &json!("disabled"))
    );
    let login = Member::login(url, "bob", PASSWORD.as_bytes())
        .await
        .unwrap_err();
    assert_eq!(refused(&login), (Some(403), Some("member_disabled")));
    let ended = bob.conversations().await.unwrap_err();
    assert_eq!(refused(&ended), (Some(401), Some("not_signed_in")));
    let page = site.get("/members/bob", None).await;
    assert_eq!(page.1["accepts_messages"], false);
    let write = Guest::contact(url, "bob", &ann, "Ann", "still there?", None)
        .await
        .unwrap_err();
    assert_eq!(refused(&write), (Some(403), Some("member_disabled")));
    let peeked = Guest::peek(url, &ann_link).await.unwrap_err();
    assert_eq!(refused(&peeked), (Some(403), Some("member_disabled")));
    let opened = Guest::open(url, &ann_link, &ann).await.unwrap_err();
    assert_eq!(refused(&opened), (Some(403), Some("member_disabled")));

    // Re-enabled: all as before, the link too.
    let enabled = site
        .post("/admin/members/bob/enable", Some(&writer), None)
        .await;
    assert_eq!(enabled.1["status"], "active");
    let bob = Member::login(url, "bob", PASSWORD.as_bytes())
        .await
        .unwrap();
    assert_eq!(
        site.get("/members/bob", None).await.1["accepts_messages"],
        true
    );
    let ann_session = Guest::open(url, &ann_link, &ann).await.unwrap();
    assert_eq!(ann_session.read().await.unwrap().len(), 1);
    assert_eq!(bob.conversations().await.unwrap().len(), 1);

    // Deleted: the member and his conversations are gone.
    let deleted = site.delete("/admin/members/carol", Some(&writer)).await;
    assert_eq!(deleted.0, 204);
    assert_eq!(
        error_of(&site.get("/admin/members/carol", Some(&reader)).await),
        (404, "unknown_member")
    );
    assert_eq!(
        error_of(&site.delete("/admin/members/carol", Some(&writer)).await),
        (404, "unknown_member")
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM members WHERE handle = 'carol'")
            .await,
        0
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM conversations").await, 1);

    // Revoked: the token stops working at once; the listing shows when.
    let out = cli(&db, &server, &["revoke", "site-reader"]);
    assert!(out.status.success(), "{out:?}");
    let answer = site.get("/admin/members", Some(&reader)).await;
    assert_eq!(error_of(&answer), (401, "bad_token"));
    let out = cli(&db, &server, &["revoke", "site-reader"]);
    assert_eq!(out.status.code(), Some(2));
    let listed = String::from_utf8(cli(&db, &server, &["list"]).stdout).unwrap();
    let reader_line = listed
        .lines()
        .find(|l| l.starts_with("site-reader"))
        .unwrap();
    assert!(!reader_line.ends_with("\t-"), "{reader_line}");

    // The log names the token, never shows it; the database keeps hashes.
    let log = server.log_text();
    assert!(log.contains("site-backend"), "the log names the token");
    let secrets: Vec<(String, Vec<u8>)> = vec![
        ("the read token".into(), reader.clone().into_bytes()),
        ("the write token".into(), writer.clone().into_bytes()),
        (
            "the enrollment token".into(),
            invite_token.clone().into_bytes(),
        ),
        (
            "the member's address".into(),
            carol_email.clone().into_bytes(),
        ),
    ];
    assert_absent("the server log", log.as_bytes(), &secrets);
    assert_absent("the stolen database", &db.steal(), &secrets[..3]);
}
