//! Group commit of posts on PostgreSQL (issue 12, item 1), against the
//! real binary: many concurrent posts to one conversation share
//! transactions (the metrics count fewer commits than posts), and one post
//! that fails in a batch fails alone: a message id taken with other bytes
//! answers 409, its repeat with the same bytes 200, and every other post
//! is stored, numbered 1..n without a gap.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding};
use latchkey_api::{Email, GrantId, RedeemRequest};
use latchkey_client::{Delivery, Guest, Member};
use latchkey_core::{LinkKey, MessageId, OsRng, RngCore, PROTOCOL_VERSION};
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use support::{free_port, unique, Database, NoMailServer, Server, Settings, PASSWORD};

/// Posts fired at once.
const POSTS: usize = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_commit_in_batches_and_fail_alone() {
    let db = Database::postgres().await;
    let mail = NoMailServer(free_port());
    let server = Server::start(
        &db,
        &mail,
        &Settings {
            extra_env: [
                ("LATCHKEY_METRICS__BIND", "127.0.0.1:0"),
                (
                    "LATCHKEY_RATE_LIMITS__POSTS_PER_SESSION_PER_MINUTE",
                    "100000",
                ),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .to_vec(),
            ..Settings::default()
        },
    )
    .await;
    let metrics = server
        .stdout_line("metrics listening on", Duration::from_secs(10))
        .expect("the server prints the metrics address")
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned();

    // A member, a guest's first contact (message 1), and the guest's
    // session through a link handed over by the member.
    let handle = unique("batch");
    let member = Member::register(
        &server.url,
        &handle,
        "Batch",
        "m@member.test",
        PASSWORD.as_bytes(),
    )
    .await
    .unwrap();
    let email = format!("{}@guest.test", unique("guest"));
    let (conversation, _) = Guest::contact(&server.url, &handle, &email, "", "first", None)
        .await
        .unwrap();
    let link = member
        .new_link(&conversation, Delivery::Myself)
        .await
        .unwrap()
        .expect("a link to hand over");
    let origin = server.base.trim_end_matches('/').to_owned();
    let http = reqwest::Client::new();
    let cookie = redeem(&http, &server.base, &origin, &link, &email).await;
    let url = format!(
        "{}/api/v1/conversations/{conversation}/messages",
        server.base.trim_end_matches('/')
    );

    // One message stored before the burst (message 2): the burst repeats
    // its id, once with other bytes and once with the same.
    let taken = MessageId::generate(&mut OsRng).to_string();
    let taken_bytes = ciphertext();
    assert_eq!(
        post(&http, &url, &cookie, &origin, &taken, &taken_bytes).await,
        201
    );

    let mut burst = tokio::task::JoinSet::new();
    for n in 0..POSTS {
        let (http, url, cookie, origin) =
            (http.clone(), url.clone(), cookie.clone(), origin.clone());
        let (id, bytes, expected) = match n {
            40 => (taken.clone(), ciphertext(), 409),
            80 => (taken.clone(), taken_bytes.clone(), 200),
            _ => (
                MessageId::generate(&mut OsRng).to_string(),
                ciphertext(),
                201,
            ),
        };
        burst.spawn(async move {
            (
                post(&http, &url, &cookie, &origin, &id, &bytes).await,
                expected,
            )
        });
    }
    let mut stored = 0;
    while let Some(done) = burst.join_next().await {
        let (status, expected) = done.unwrap();
        assert_eq!(status, expected);
        if status == 201 {
            stored += 1;
        }
    }
    assert_eq!(stored, POSTS - 2);

    // Every post stored, numbered without a gap: 1 (first contact), 2,
    // then the burst's.
    let id = conversation.to_string();
    let expected = i64::try_from(stored + 2).unwrap();
    assert_eq!(
        db.count(&format!(
            "SELECT COUNT(*) FROM messages m JOIN conversations c \
             ON c.number = m.conversation WHERE c.id = '{id}'"
        ))
        .await,
        expected
    );
    assert_eq!(
        db.count(&format!(
            "SELECT MAX(seq) FROM messages m JOIN conversations c \
             ON c.number = m.conversation WHERE c.id = '{id}'"
        ))
        .await,
        expected
    );
    assert_eq!(
        db.count(&format!(
            "SELECT last_seq FROM conversations WHERE id = '{id}'"
        ))
        .await,
        expected
    );
    // One event per stored message, in the messages' order.
    assert_eq!(
        db.count(&format!(
            "SELECT COUNT(*) FROM events WHERE conversation_id = decode('{id}', 'hex') \
             AND kind IN (1, 2)"
        ))
        .await,
        expected
    );

    // Fewer commits than posts: batches of more than one.
    let text = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
    let batches = metric(&text, "latchkey_db_write_batches");
    let writes = metric(&text, "latchkey_db_batched_writes");
    assert!(writes >= stored as u64, "{writes} batched writes");
    assert!(
        writes > batches,
        "{writes} posts in {batches} commits: no batch held two"
    );
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| {
            let (key, value) = line.split_once(' ')?;
            (key == name).then(|| value.trim().parse().ok())?
        })
        .unwrap_or_else(|| panic!("no {name} in the metrics:\n{text}"))
}

/// Bytes of the shape the server takes: the version byte, 41 + 256 bytes.
fn ciphertext() -> Vec<u8> {
    let mut bytes = vec![0; 41 + 256];
    OsRng.fill_bytes(&mut bytes);
    bytes[0] = PROTOCOL_VERSION;
    bytes
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    cookie: &str,
    origin: &str,
    message_id: &str,
    bytes: &[u8],
) -> u16 {
    http.post(url)
        .header(COOKIE, cookie)
        .header(ORIGIN, origin)
        .json(&serde_json::json!({
            "message_id": message_id,
            "ciphertext": Base64UrlUnpadded::encode_string(bytes),
        }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Opens a hand-delivered link as its guest; returns his session cookie.
async fn redeem(
    http: &reqwest::Client,
    base: &str,
    origin: &str,
    link: &str,
    email: &str,
) -> String {
    let fragment = link.rsplit_once('#').map_or(link, |(_, f)| f);
    let key = LinkKey::parse_fragment(fragment).unwrap();
    let answer = http
        .post(format!(
            "{}/api/v1/grants/redeem",
            base.trim_end_matches('/')
        ))
        .header(ORIGIN, origin)
        .json(&RedeemRequest {
            grant_id: GrantId(key.grant_id()),
            email: Email::parse(email).unwrap(),
        })
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "redeem: {}", answer.status());
    answer
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| {
            pair.trim_start_matches("__Host-")
                .starts_with("latchkey-guest=")
        })
        .expect("a guest cookie")
        .to_owned()
}
