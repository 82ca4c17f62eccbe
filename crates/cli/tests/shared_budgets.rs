//! Two instances on one PostgreSQL spend one budget: the per-client login
//! budget (30 a minute by default) lets 30 requests through over both, and
//! the next is 429 on either. The database holds the counters only under
//! keyed hashes, never the client's address.

// Test code: a broken expectation is a panic with a message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use base64ct::{Base64UrlUnpadded, Encoding};
use latchkey_core::opaque::ClientLogin;
use latchkey_core::OsRng;
use serde_json::json;
use support::{free_port, Database, NoMailServer, Server, Settings};

/// `POST /session/login/start` for an unknown handle (answered like a
/// known one): its status and `Retry-After`.
async fn login_start(http: &reqwest::Client, base: &str) -> (u16, Option<String>) {
    let (_, request) = ClientLogin::start(&mut OsRng, b"not the password").unwrap();
    let path = "/session/login/start";
    let response = http
        .post(format!("{base}/api/v1{path}"))
        .json(&json!({
            "handle": "nobody",
            "request": Base64UrlUnpadded::encode_string(&request),
        }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.bytes().await.unwrap();
    support::contract::check_raw("POST", path, status, &body);
    (status, retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_postgres_enforce_one_budget() {
    let db = Database::postgres().await;
    // The per-address budget is what this counts; the per-handle one
    // (every request names one handle) is lifted above it.
    let settings = Settings {
        extra_env: vec![(
            "LATCHKEY_RATE_LIMITS__LOGIN_PER_HANDLE_PER_MINUTE".into(),
            "1000".into(),
        )],
        ..Settings::default()
    };
    let a = Server::start(&db, &NoMailServer(free_port()), &settings).await;
    let b = a.sibling();
    let http = reqwest::Client::new();
    let budget = 30;

    // A minute's window could turn over mid-test and refill the budget:
    // start just after a turn (windows are aligned to the clock).
    let into_minute = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if into_minute > 40 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - into_minute)).await;
    }

    for i in 0..budget {
        let server = if i % 2 == 0 { &a } else { &b };
        let (status, _) = login_start(&http, &server.base).await;
        assert_eq!(status, 200, "request {} of {budget}", i + 1);
    }
    for server in [&a, &b] {
        let (status, retry) = login_start(&http, &server.base).await;
        assert_eq!(status, 429, "over the shared budget on {}", server.base);
        let secs: u64 = retry.expect("Retry-After").parse().unwrap();
        assert!((1..=60).contains(&secs), "Retry-After {secs}");
    }

    // One counter for the address, one for its /24 and one for the handle,
    // each a 32-byte keyed hash; the address itself is nowhere in the
    // database. (The two refused requests spent nothing past the address.)
    let pool = db.pool().await;
    let rows: Vec<(String, Vec<u8>, i64)> =
        sqlx::query_as("SELECT bucket, key_hash, hits FROM budgets ORDER BY bucket")
            .fetch_all(&pool)
            .await
            .unwrap();
    let buckets: Vec<(&str, usize, i64)> = rows
        .iter()
        .map(|(bucket, key, hits)| (bucket.as_str(), key.len(), *hits))
        .collect();
    assert_eq!(
        buckets,
        [
            ("login-handle", 32, 30),
            ("login-ip", 32, 30),
            ("login-ip/net", 32, 30)
        ],
        "{rows:?}"
    );
    let dump = db.steal();
    for needle in [&b"127.0.0.1"[..], &[127, 0, 0, 1][..], b"7f000001"] {
        assert!(
            !support::contains(&dump, needle),
            "the client address is in the database"
        );
    }
}
