//! A link opens only for the address it was sent to, against the real
//! binary on SQLite and on PostgreSQL: a mail scanner (or anyone else who
//! has the link) that redeems it with another address, or none it could
//! know, uses nothing up and changes no row; wrong tries are budgeted per
//! link and per client, and a spent budget refuses every address without
//! using the link. The guest's own address opens it as before, reloads in
//! the grace window included.
//!
//! The test plays a reverse proxy (`client_ip_header`) so that the wrong
//! tries can come from as many clients as it likes.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Duration;

use latchkey_client::{Delivery, Guest, Member};
use latchkey_core::LinkKey;
use serde_json::{json, Value};
use sqlx::Row;
use support::{assert_absent, unique, Database, MailServer, Server, Settings, PASSWORD};

/// Wrong tries per link per hour, and per client (set small, so that both
/// run out within the test).
const PER_LINK: usize = 4;
const PER_CLIENT: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanner_proof_on_sqlite() {
    proof(Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanner_proof_on_postgres() {
    proof(Database::postgres().await).await;
}

/// What one raw redeem got back.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Value,
    retry_after: Option<u64>,
    sets_cookie: bool,
}

impl Answer {
    fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}

fn key_of(link: &str) -> LinkKey {
    let fragment = link.rsplit_once('#').map(|(_, f)| f).unwrap();
    LinkKey::parse_fragment(fragment).unwrap()
}

/// `POST /grants/redeem` as the web page sends it, from `client` (the
/// address the test, as the proxy, forwards).
async fn redeem(server: &Server, link: &str, email: &str, client: &str) -> Answer {
    let body = json!({
        "grant_id": key_of(link).grant_id().expose_base64url().as_str(),
        "email": email,
    });
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/grants/redeem", server.base))
        .header("x-forwarded-for", client)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let sets_cookie = response.headers().contains_key("set-cookie");
    let bytes = response.bytes().await.unwrap();
    support::contract::check_raw("POST", "/grants/redeem", status, &bytes);
    Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap(),
        retry_after,
        sets_cookie,
    }
}

#[track_caller]
fn assert_wrong_address(answer: &Answer, what: &str) {
    assert_eq!(
        (answer.status, answer.error()),
        (403, "wrong_address"),
        "{what}: {answer:?}"
    );
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .contains("sent to another address"),
        "{what}: {answer:?}"
    );
    assert!(!answer.sets_cookie, "{what}: a refusal opens no session");
}

#[track_caller]
fn assert_rate_limited(answer: &Answer, what: &str) {
    assert_eq!(
        (answer.status, answer.error()),
        (429, "rate_limited"),
        "{what}: {answer:?}"
    );
    let wait = answer.retry_after.expect("Retry-After");
    assert!((1..=3600).contains(&wait), "{what}: Retry-After {wait}");
    assert!(!answer.sets_cookie, "{what}: a refusal opens no session");
}

/// The grant's `redeemed_at`: `Some(None)` while unused, `None` if the
/// row is gone.
async fn redeemed_at(db: &Database, link: &str) -> Option<Option<i64>> {
    let pool = db.pool().await;
    let row = sqlx::query("SELECT redeemed_at FROM grants WHERE id_hash = $1")
        .bind(key_of(link).grant_id().storage_hash().to_vec())
        .fetch_optional(&pool)
        .await
        .unwrap();
    pool.close().await;
    row.map(|row| row.get::<Option<i64>, _>(0))
}

/// Every row a redeem could touch (all but the budgets'), as text, sorted.
async fn rows(db: &Database) -> Vec<String> {
    let pool = db.pool().await;
    let mut out = Vec::new();
    for table in [
        "grants",
        "spent_grants",
        "conversations",
        "sessions",
        "messages",
    ] {
        for row in sqlx::query(&format!("SELECT * FROM {table}"))
            .fetch_all(&pool)
            .await
            .unwrap()
        {
            let cells: Vec<String> = (0..row.len())
                .map(|i| {
                    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                        format!("{v:?}")
                    } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                        format!("{v:?}")
                    } else {
                        format!("{:?}", row.try_get::<Option<Vec<u8>>, _>(i).unwrap())
                    }
                })
                .collect();
            out.push(format!("{table}: {}", cells.join(", ")));
        }
    }
    pool.close().await;
    out.sort();
    out
}

async fn proof(db: Database) {
    let mail = MailServer::start().await;
    let settings = Settings {
        grace_secs: 3,
        extra_env: vec![
            ("LATCHKEY_CLIENT_IP_HEADER".into(), "x-forwarded-for".into()),
            (
                "LATCHKEY_RATE_LIMITS__WRONG_ADDRESS_PER_LINK_PER_HOUR".into(),
                PER_LINK.to_string(),
            ),
            (
                "LATCHKEY_RATE_LIMITS__WRONG_ADDRESS_PER_IP_PER_HOUR".into(),
                PER_CLIENT.to_string(),
            ),
        ],
        ..Settings::default()
    };
    let server = Server::start(&db, &mail, &settings).await;
    let url = &server.url;
    let run = unique("");
    let bob = Member::register(
        url,
        "bob",
        "Bob",
        &format!("bob-{run}@member.test"),
        PASSWORD.as_bytes(),
    )
    .await
    .unwrap();
    let guest = |name: &str| format!("{name}-{run}@guest.test");
    let ann = guest("ann");
    let (conversation, _) = Guest::contact(url, "bob", &ann, "Ann", "hello", None)
        .await
        .unwrap();
    let link = mail.link(&ann, 1).await;
    let mut typed = vec![ann.clone()];

    // A scanner clicks through the link page with junk in the field, or
    // with an address it found elsewhere in the mail: refused, and not a
    // row changes. Its junk again and again, more often than the link's
    // budget, costs one try: the right address below still opens.
    let before = rows(&db).await;
    let junk = ["scanner@mailsecurity.test", "bob@member.test"];
    for (i, junk) in junk.iter().chain([&junk[0]; PER_LINK + 2]).enumerate() {
        let client = "198.51.100.1";
        let answer = redeem(&server, &link, junk, client).await;
        assert_wrong_address(&answer, &format!("wrong address {}", i + 1));
    }
    typed.extend(junk.map(str::to_owned));
    assert_eq!(rows(&db).await, before, "a wrong address changed a row");
    assert_eq!(redeemed_at(&db, &link).await, Some(None), "grant unused");
    assert!(!bob.conversations().await.unwrap()[0].confirmed);
    assert_eq!(mail.to(&ann).await.len(), 1, "no mail either");

    // The guest's own address opens it (written as he likes), and the
    // member sees the address confirmed.
    let session = Guest::open(url, &link, &ann.to_uppercase()).await.unwrap();
    assert_eq!(session.conversation(), conversation);
    assert_eq!(session.read().await.unwrap()[0].body, "hello");
    assert!(matches!(redeemed_at(&db, &link).await, Some(Some(_))));
    assert!(bob.conversations().await.unwrap()[0].confirmed);

    // A reload inside the grace window needs the address too (and Ann's
    // link has had three wrong tries now, one short of its budget).
    let reload_wrong = redeem(&server, &link, &guest("eve"), "198.51.100.1").await;
    assert_wrong_address(&reload_wrong, "a reload with another address");
    typed.push(guest("eve"));
    let reload = redeem(&server, &link, &ann, "198.51.100.1").await;
    assert_eq!(reload.status, 200, "{reload:?}");
    assert!(reload.sets_cookie, "a guest session");
    Guest::open(url, &link, &ann).await.unwrap();

    // The link's budget: wrong tries from any number of clients add up;
    // past it, every address is refused for a while (else the answer would
    // still tell a right guess from a wrong one), and the link stays
    // unused.
    let carl = guest("carl");
    let (carl_conversation, _) = Guest::contact(url, "bob", &carl, "Carl", "hi", None)
        .await
        .unwrap();
    let carl_link = mail.link(&carl, 1).await;
    // Only Carl's rows: the sweep may retire Ann's grant meanwhile.
    let carl_id = carl_conversation.to_string();
    let carl_rows = || async {
        let all = rows(&db).await;
        all.into_iter()
            .filter(|row| row.contains(&carl_id))
            .collect::<Vec<_>>()
    };
    let carl_before = carl_rows().await;
    assert!(carl_before.iter().any(|row| row.starts_with("grants:")));
    for i in 0..PER_LINK {
        let client = format!("203.0.{i}.9");
        let wrong = guest(&format!("guess{i}"));
        let answer = redeem(&server, &carl_link, &wrong, &client).await;
        assert_wrong_address(&answer, &format!("guess {} at carl's link", i + 1));
        typed.push(wrong);
    }
    let over = redeem(&server, &carl_link, &guest("guess"), "203.0.50.9").await;
    assert_rate_limited(&over, "a guess past the link's budget");
    let right = redeem(&server, &carl_link, &carl, "203.0.60.9").await;
    assert_rate_limited(&right, "the right address past the link's budget");
    assert_eq!(carl_rows().await, carl_before, "the budget changed a row");
    assert_eq!(redeemed_at(&db, &carl_link).await, Some(None));
    // Looking at the link still works: it is not used up.
    assert_eq!(
        Guest::peek(url, &carl_link)
            .await
            .unwrap()
            .member
            .display_name,
        "Bob"
    );

    // The client's budget: one client's wrong tries add up over links;
    // past it, that client is refused every address, while the link stays
    // open to other clients.
    let client = "192.0.2.50";
    let dan = guest("dan");
    let erin = guest("erin");
    for who in [&dan, &erin] {
        Guest::contact(url, "bob", who, "G", "hi", None)
            .await
            .unwrap();
    }
    let dan_link = mail.link(&dan, 1).await;
    let erin_link = mail.link(&erin, 1).await;
    for (i, target) in std::iter::repeat_n(&dan_link, PER_LINK)
        .chain(std::iter::repeat_n(&erin_link, PER_CLIENT - PER_LINK))
        .enumerate()
    {
        let wrong = guest(&format!("nobody{i}"));
        let answer = redeem(&server, target, &wrong, client).await;
        assert_wrong_address(&answer, &format!("wrong try {} of {client}", i + 1));
        typed.push(wrong);
    }
    let over = redeem(&server, &erin_link, &guest("nobody"), client).await;
    assert_rate_limited(&over, "a guess past the client's budget");
    let right = redeem(&server, &erin_link, &erin, client).await;
    assert_rate_limited(&right, "the right address past the client's budget");
    assert_eq!(redeemed_at(&db, &erin_link).await, Some(None));
    let elsewhere = redeem(&server, &erin_link, &erin, "192.0.3.50").await;
    assert_eq!(elsewhere.status, 200, "another client: {elsewhere:?}");

    // After the grace window the used link answers as it always did, and
    // the member's next message brings a new link the guest opens.
    tokio::time::sleep(Duration::from_millis(settings.grace_secs * 1000 + 1500)).await;
    let used = Guest::open(url, &link, &ann).await.unwrap_err();
    assert_eq!((used.status(), used.code()), (Some(410), Some("link_used")));
    bob.send(&conversation, "a reply", Delivery::Email)
        .await
        .unwrap();
    let next = mail.link(&ann, 2).await;
    let wrong = redeem(&server, &next, &guest("eve"), "198.51.100.2").await;
    assert_wrong_address(&wrong, "the new link with another address");
    let bodies: Vec<String> = Guest::open(url, &next, &ann)
        .await
        .unwrap()
        .read()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies, ["hello", "a reply"]);

    // No address anybody typed reaches the log or the database in clear.
    let secrets: Vec<(String, Vec<u8>)> = typed
        .iter()
        .map(|t| (format!("the typed address {t}"), t.clone().into_bytes()))
        .collect();
    assert_absent("the server log", server.log_text().as_bytes(), &secrets);
    assert_absent("the stolen database", &db.steal(), &secrets);
}
