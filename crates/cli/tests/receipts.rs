//! Read receipts (issue 11, item 2), against the real binary and a fresh
//! database (SQLite and PostgreSQL): a member's message shows `read_at`
//! once the guest opens a link that carried it, not before and not on a
//! later message; a guest's message once the member's read mark reaches
//! it; either side's switch off hides every receipt (they are reciprocal)
//! and forgets and stores no marks of his reading; bad input is a 4xx;
//! and the new rows hold sequence numbers and times, nothing else.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use latchkey_client::{Delivery, Guest, Member, ServerUrl};
use latchkey_core::opaque::ClientLogin;
use latchkey_core::{LinkKey, OsRng};
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use reqwest::Method;
use serde_json::{json, Value};
use support::passkey::{b64, unb64};
use support::{unique, Database, MailServer, Server, Settings, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_on_sqlite() {
    receipts(Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_on_postgres() {
    receipts(Database::postgres().await).await;
}

/// One API call with a session cookie (or none); the answer is checked
/// against the contract. Returns the status, the JSON body and any new
/// session cookie.
async fn call(
    server: &Server,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, Option<String>) {
    let mut request = reqwest::Client::new()
        .request(method.clone(), format!("{}/api/v1{path}", server.base))
        .header(ORIGIN, server.base.trim_end_matches('/'));
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    if let Some(body) = body {
        request = request.json(&body);
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
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        cookie,
    )
}

/// A second session of the member, signed in with his password over raw
/// HTTP, to see the JSON his pages see.
async fn member_cookie(server: &Server, handle: &str) -> String {
    let (login, ke1) = ClientLogin::start(&mut OsRng, PASSWORD.as_bytes()).unwrap();
    let (status, started, _) = call(
        server,
        Method::POST,
        "/session/login/start",
        None,
        Some(json!({"handle": handle, "request": b64(&ke1)})),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let finished = login
        .finish(
            &mut OsRng,
            PASSWORD.as_bytes(),
            &unb64(&started["response"]),
        )
        .unwrap();
    let (status, view, cookie) = call(
        server,
        Method::POST,
        "/session/login/finish",
        None,
        Some(json!({"login_id": started["login_id"], "finalization": b64(&finished.finalization)})),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    cookie.expect("a member session cookie")
}

/// Opens a link as the guest's page does; his session cookie.
async fn open_link(server: &Server, link: &str, email: &str) -> String {
    let fragment = link.rsplit_once('#').unwrap().1;
    let key = LinkKey::parse_fragment(fragment).unwrap();
    let request = latchkey_api::RedeemRequest {
        grant_id: latchkey_api::GrantId(key.grant_id()),
        email: latchkey_api::Email::parse(email).unwrap(),
    };
    let (status, body, cookie) = call(
        server,
        Method::POST,
        "/grants/redeem",
        None,
        Some(serde_json::to_value(&request).unwrap()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    cookie.expect("a guest session cookie")
}

/// `read_at` of every message as this session sees them, by seq.
async fn read_times(server: &Server, cookie: &str, conversation: &str) -> Vec<(i64, Option<i64>)> {
    let (status, page, _) = call(
        server,
        Method::GET,
        &format!("/conversations/{conversation}/messages"),
        Some(cookie),
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["seq"].as_i64().unwrap(), m["read_at"].as_i64()))
        .collect()
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn read_at(times: &[(i64, Option<i64>)], seq: i64) -> Option<i64> {
    times.iter().find(|(s, _)| *s == seq).unwrap().1
}

async fn receipts(db: Database) {
    let mail = MailServer::start().await;
    let server = Server::start(&db, &mail, &Settings::default()).await;
    let url = ServerUrl::parse(&server.base).unwrap();
    let run = unique("r");
    let bob = Member::register(
        &url,
        "bob",
        "Bob Builder",
        &format!("bob-{run}@member.test"),
        PASSWORD.as_bytes(),
    )
    .await
    .unwrap();
    let bob_page = member_cookie(&server, "bob").await;
    let ann = format!("ann-{run}@guest.test");
    let (conversation, _) = Guest::contact(&url, "bob", &ann, "Ann", "hello Bob", None)
        .await
        .unwrap();
    let id = conversation.to_string();
    mail.link(&ann, 1).await;

    // seq 2: Bob's reply, with a mailed link that carries it.
    let started = now_ms();
    bob.send(&conversation, "the reply", Delivery::Email)
        .await
        .unwrap();
    let link = mail.link(&ann, 2).await;
    let times = read_times(&server, &bob_page, &id).await;
    assert_eq!(
        times,
        [(1, None), (2, None)],
        "not read before the link is opened"
    );

    // The guest opens it: Bob's message is read; the guest's own is not
    // Bob's to see a receipt on.
    let ann_page = open_link(&server, &link, &ann).await;
    let times = read_times(&server, &bob_page, &id).await;
    let opened = read_at(&times, 2).expect("read once the link was opened");
    assert!(opened >= started && opened <= now_ms(), "{opened}");
    assert_eq!(read_at(&times, 1), None);

    // seq 3, after the link: not carried, so not read; opening the same
    // link again (inside its grace window) reads nothing new.
    bob.send(&conversation, "a later word", Delivery::None)
        .await
        .unwrap();
    let ann_again = open_link(&server, &link, &ann).await;
    let times = read_times(&server, &bob_page, &id).await;
    assert_eq!(read_at(&times, 3), None, "a later message is not read");
    assert_eq!(read_at(&times, 2), Some(opened), "the first opening counts");

    // The guest's side: his messages are read when Bob's read mark reaches
    // them, and he sees no receipt on Bob's messages.
    let guest = Guest::open(&url, &link, &ann).await.unwrap();
    let (reply_seq, _) = guest.reply("thanks").await.unwrap();
    assert_eq!(reply_seq, 4);
    let times = read_times(&server, &ann_page, &id).await;
    assert_eq!(times, [(1, None), (2, None), (3, None), (4, None)]);
    let (status, _, _) = call(
        &server,
        Method::POST,
        &format!("/conversations/{id}/read"),
        Some(&bob_page),
        Some(json!({"seq": 1})),
    )
    .await;
    assert_eq!(status, 204);
    let times = read_times(&server, &ann_again, &id).await;
    let first_read = read_at(&times, 1).expect("read by the member's mark");
    assert_eq!(read_at(&times, 4), None, "the mark stopped before it");
    let (status, _, _) = call(
        &server,
        Method::POST,
        &format!("/conversations/{id}/read"),
        Some(&bob_page),
        Some(json!({"seq": 4})),
    )
    .await;
    assert_eq!(status, 204);
    let times = read_times(&server, &ann_page, &id).await;
    assert_eq!(
        read_at(&times, 1),
        Some(first_read),
        "the first mark counts"
    );
    assert!(read_at(&times, 4).unwrap() >= first_read);
    assert_eq!(read_at(&times, 2), None, "not the guest's message");

    // The new rows: sequence numbers and times, nothing else.
    let pool = db.pool().await;
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT conversation_id, reader, seq, read_at FROM read_marks ORDER BY reader, seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(),
        [(1, 1), (1, 4), (2, 2)],
        "{rows:?}"
    );
    assert!(rows.iter().all(|r| r.0 == id));
    let columns = db
        .count("SELECT COUNT(*) FROM read_marks WHERE read_at IS NULL OR seq < 1")
        .await;
    assert_eq!(columns, 0);

    // The guest's switch: shown to him as on; off hides every receipt on
    // both sides and forgets his marks; links opened meanwhile store none.
    let (status, view, _) = call(
        &server,
        Method::GET,
        &format!("/conversations/{id}"),
        Some(&ann_page),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(view["read_receipts"], true);
    let (status, _, _) = call(
        &server,
        Method::PUT,
        &format!("/conversations/{id}/read-receipts"),
        Some(&ann_page),
        Some(json!({"read_receipts": false})),
    )
    .await;
    assert_eq!(status, 204);
    let times = read_times(&server, &bob_page, &id).await;
    assert!(times.iter().all(|(_, at)| at.is_none()), "{times:?}");
    let times = read_times(&server, &ann_page, &id).await;
    assert!(
        times.iter().all(|(_, at)| at.is_none()),
        "reciprocal: {times:?}"
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM read_marks WHERE reader = 2")
            .await,
        0
    );
    bob.send(&conversation, "another", Delivery::Email)
        .await
        .unwrap();
    let third = mail.link(&ann, 3).await;
    open_link(&server, &third, &ann).await;
    assert_eq!(
        db.count("SELECT COUNT(*) FROM read_marks WHERE reader = 2")
            .await,
        0
    );
    // On again: Bob's marks show to the guest again; nothing of the
    // guest's reading while off comes back.
    let (status, _, _) = call(
        &server,
        Method::PUT,
        &format!("/conversations/{id}/read-receipts"),
        Some(&ann_page),
        Some(json!({"read_receipts": true})),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        read_at(&read_times(&server, &ann_page, &id).await, 1),
        Some(first_read)
    );
    assert!(read_times(&server, &bob_page, &id)
        .await
        .iter()
        .all(|(_, at)| at.is_none()));

    // The member's switch: on by default; off hides the guest's receipts,
    // forgets his marks and stores none on his next read.
    let (status, switch, _) = call(
        &server,
        Method::GET,
        "/me/read-receipts",
        Some(&bob_page),
        None,
    )
    .await;
    assert_eq!((status, switch), (200, json!({"read_receipts": true})));
    let (status, _, _) = call(
        &server,
        Method::PUT,
        "/me/read-receipts",
        Some(&bob_page),
        Some(json!({"read_receipts": false})),
    )
    .await;
    assert_eq!(status, 204);
    let (_, switch, _) = call(
        &server,
        Method::GET,
        "/me/read-receipts",
        Some(&bob_page),
        None,
    )
    .await;
    assert_eq!(switch, json!({"read_receipts": false}));
    assert_eq!(
        db.count("SELECT COUNT(*) FROM read_marks WHERE reader = 1")
            .await,
        0
    );
    let (reply_seq, _) = guest.reply("one more").await.unwrap();
    let (status, _, _) = call(
        &server,
        Method::POST,
        &format!("/conversations/{id}/read"),
        Some(&bob_page),
        Some(json!({"seq": reply_seq})),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM read_marks WHERE reader = 1")
            .await,
        0
    );
    assert!(read_times(&server, &ann_page, &id)
        .await
        .iter()
        .all(|(_, at)| at.is_none()));

    // Bad input: a 4xx with a code, never a change.
    for body in [
        json!({"read_receipts": "yes"}),
        json!({}),
        json!({"on": true}),
    ] {
        let (status, answer, _) = call(
            &server,
            Method::PUT,
            "/me/read-receipts",
            Some(&bob_page),
            Some(body),
        )
        .await;
        assert!((400..500).contains(&status), "{status} {answer}");
        assert!(answer["message"].as_str().unwrap().len() > 10, "{answer}");
    }
    let (status, answer, _) = call(
        &server,
        Method::PUT,
        "/me/read-receipts",
        None,
        Some(json!({"read_receipts": true})),
    )
    .await;
    assert_eq!(status, 401, "{answer}");
    let (other, _) = Guest::contact(&url, "bob", &ann, "Ann", "another topic", None)
        .await
        .unwrap();
    let (status, answer, _) = call(
        &server,
        Method::PUT,
        &format!("/conversations/{other}/read-receipts"),
        Some(&ann_page),
        Some(json!({"read_receipts": false})),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (403, Some("wrong_conversation"))
    );
    let (status, answer, _) = call(
        &server,
        Method::PUT,
        &format!("/conversations/{}/read-receipts", "0f".repeat(16)),
        Some(&bob_page),
        Some(json!({"read_receipts": true})),
    )
    .await;
    assert_eq!(status, 404, "{answer}");
    let (_, switch, _) = call(
        &server,
        Method::GET,
        "/me/read-receipts",
        Some(&bob_page),
        None,
    )
    .await;
    assert_eq!(
        switch,
        json!({"read_receipts": false}),
        "bad input changed nothing"
    );
}
