//! Webhooks (issue 11, item 1), against the real binary, a real SMTP server
//! and a fresh database (SQLite and PostgreSQL): endpoints added, listed
//! and removed with `latchkey admin webhook …` and the admin API (bad
//! input refused with a message, a token without `webhooks:manage`
//! refused); the five kinds of event arriving at a receiver on loopback
//! with the Standard Webhooks headers, bodies without any message, address
//! or link; a failing receiver retried with growing waits; a server killed
//! with -9 mid-delivery sending every event after its restart (at least
//! once); and no endpoint secret in the log or the database. (The
//! signatures are checked by an independent implementation in
//! web/tests/webhooks.test.mjs.)

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::{HashMap, HashSet, VecDeque};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use latchkey_client::{request_link, Delivery, Guest, Member};
use serde_json::{json, Value};
use support::{assert_absent, contract, unique, Database, MailServer, Server, Settings, PASSWORD};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_on_sqlite() {
    webhooks(Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_on_postgres() {
    webhooks(Database::postgres().await).await;
}

// ------------------------------------------------------------ receiver

/// How the receiver answers a request.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// 204 at once.
    Ok,
    /// This status at once.
    Fail(u16),
    /// 200, after this long.
    Slow(Duration),
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Arrival {
    at: Instant,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Arrival {
    fn id(&self) -> &str {
        &self.headers["webhook-id"]
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A site's backend on loopback: records every request, answers as told
/// (the queued answers first, then the default).
#[derive(Clone)]
struct Receiver {
    port: u16,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    queued: Arc<Mutex<VecDeque<Answer>>>,
    default: Arc<Mutex<Answer>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            port: listener.local_addr().unwrap().port(),
            arrivals: Arc::default(),
            queued: Arc::default(),
            default: Arc::new(Mutex::new(Answer::Ok)),
        };
        let shared = receiver.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(shared.clone().serve(stream));
            }
        });
        receiver
    }

    async fn serve(self, mut stream: tokio::net::TcpStream) {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let path = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .unwrap_or("")
            .to_owned();
        let headers: HashMap<String, String> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = buffer[head_end + 4..].to_vec();
        while body.len() < length {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
        self.arrivals.lock().unwrap().push(Arrival {
            at: Instant::now(),
            path,
            headers,
            body,
        });
        let answer = self
            .queued
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(*self.default.lock().unwrap());
        let status = match answer {
            Answer::Ok => 204,
            Answer::Fail(status) => status,
            Answer::Slow(wait) => {
                tokio::time::sleep(wait).await;
                200
            }
        };
        let _ = stream
            .write_all(
                format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await;
        let _ = stream.shutdown().await;
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn arrivals(&self) -> Vec<Arrival> {
        self.arrivals.lock().unwrap().clone()
    }

    fn answer(&self, default: Answer, queued: &[Answer]) {
        *self.default.lock().unwrap() = default;
        *self.queued.lock().unwrap() = queued.iter().copied().collect();
    }

    /// Waits (up to 20 s) until `done` holds for the arrivals so far.
    async fn wait_until(&self, what: &str, done: impl Fn(&[Arrival]) -> bool) -> Vec<Arrival> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let arrivals = self.arrivals();
            if done(&arrivals) {
                return arrivals;
            }
            assert!(
                Instant::now() < deadline,
                "waited in vain for {what}; arrived: {:#?}",
                arrivals
                    .iter()
                    .map(|a| String::from_utf8_lossy(&a.body).into_owned())
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The distinct events arrived so far, in the order of their first arrival.
fn events(arrivals: &[Arrival]) -> Vec<Value> {
    let mut seen = HashSet::new();
    arrivals
        .iter()
        .filter(|a| seen.insert(a.id().to_owned()))
        .map(Arrival::json)
        .collect()
}

fn types(arrivals: &[Arrival]) -> Vec<String> {
    events(arrivals)
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

// ------------------------------------------------------------ operator and site

/// `latchkey admin …` on the server's database, as the operator runs it.
fn cli(db: &Database, server: &Server, args: &[&str]) -> Output {
    support::admin(db, server, args, &[])
}

fn token(db: &Database, server: &Server, name: &str, scopes: &str) -> String {
    support::admin_token(db, server, name, scopes, &[])
}

/// The site's backend calling the admin API; every answer checked against
/// the OpenAPI document.
async fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method.clone(), format!("{}/api/v1{path}", server.base))
        .header("Authorization", format!("Bearer {token}"));
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

fn secret_bytes(whsec: &str) -> Vec<u8> {
    use base64ct::{Base64, Encoding};
    Base64::decode_vec(whsec.strip_prefix("whsec_").unwrap()).unwrap()
}

// ------------------------------------------------------------ the story

async fn webhooks(db: Database) {
    let mail = MailServer::start().await;
    let settings = Settings {
        extra_env: vec![
            ("LATCHKEY_WEBHOOKS__RETRY_BASE_MS".into(), "300".into()),
            ("LATCHKEY_WEBHOOKS__TIMEOUT_SECS".into(), "2".into()),
            ("LATCHKEY_METRICS__BIND".into(), "127.0.0.1:0".into()),
        ],
        ..Settings::default()
    };
    let mut server = Server::start(&db, &mail, &settings).await;
    let url = server.url.clone();
    let receiver = Receiver::start().await;
    let run = unique("");

    // --- The operator adds an endpoint; the secret is printed once.
    for (args, says) in [
        (
            vec!["webhook", "add", "--url", "http://example.org/hook"],
            "only for a loopback address",
        ),
        (
            vec!["webhook", "add", "--url", "ftp://127.0.0.1/x"],
            "is not https",
        ),
        (
            vec!["webhook", "add", "--url", "https://me:pw@example.org/x"],
            "user name or password",
        ),
        (
            vec!["webhook", "remove", "00000000000000000000000000000000"],
            "No webhook endpoint has this id",
        ),
    ] {
        let out = cli(&db, &server, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let out = cli(
        &db,
        &server,
        &["webhook", "add", "--url", &receiver.url("/hook")],
    );
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8(out.stdout).unwrap();
    let mut lines = printed.lines();
    let (id, whsec) = (
        lines.next().unwrap().to_owned(),
        lines.next().unwrap().to_owned(),
    );
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    assert!(whsec.starts_with("whsec_"), "{whsec}");
    assert_eq!(secret_bytes(&whsec).len(), 32);
    let listed = String::from_utf8(cli(&db, &server, &["webhook", "list"]).stdout).unwrap();
    assert!(
        listed.contains(&format!("{id}\t{}\t", receiver.url("/hook"))),
        "{listed}"
    );
    assert!(!listed.contains(&whsec), "{listed}");

    // --- The site's backend manages endpoints with the admin API.
    let reader = token(&db, &server, "site-reader", "members:read");
    let manager = token(&db, &server, "site-hooks", "webhooks:manage,members:write");
    let refused = call(
        &server,
        reqwest::Method::GET,
        "/admin/webhooks",
        &reader,
        None,
    )
    .await;
    assert_eq!(refused.0, 403, "{refused:?}");
    assert_eq!(refused.1["error"], "missing_scope");
    let refused = call(
        &server,
        reqwest::Method::POST,
        "/admin/webhooks",
        &reader,
        Some(json!({"url": receiver.url("/api")})),
    )
    .await;
    assert_eq!(refused.0, 403, "{refused:?}");
    for bad in ["http://example.org/hook", "https://example.org/#x", "hook"] {
        let answer = call(
            &server,
            reqwest::Method::POST,
            "/admin/webhooks",
            &manager,
            Some(json!({ "url": bad })),
        )
        .await;
        assert_eq!(answer.0, 422, "{bad}: {answer:?}");
        assert_eq!(answer.1["error"], "invalid_webhook_url", "{bad}");
        assert!(
            answer.1["message"].as_str().unwrap().contains("https://"),
            "{answer:?}"
        );
    }
    let added = call(
        &server,
        reqwest::Method::POST,
        "/admin/webhooks",
        &manager,
        Some(json!({"url": receiver.url("/api")})),
    )
    .await;
    assert_eq!(added.0, 201, "{added:?}");
    let api_id = added.1["webhook"]["id"].as_str().unwrap().to_owned();
    let api_whsec = added.1["secret"].as_str().unwrap().to_owned();
    assert!(api_whsec.starts_with("whsec_") && api_whsec != whsec);
    let listed = call(
        &server,
        reqwest::Method::GET,
        "/admin/webhooks",
        &manager,
        None,
    )
    .await;
    assert_eq!(listed.0, 200);
    let ids: Vec<&str> = listed.1["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str(), api_id.as_str()]);
    assert!(!listed.1.to_string().contains("whsec_"));
    let path = format!("/admin/webhooks/{api_id}");
    let removed = call(&server, reqwest::Method::DELETE, &path, &manager, None).await;
    assert_eq!(removed.0, 204, "{removed:?}");
    let again = call(&server, reqwest::Method::DELETE, &path, &manager, None).await;
    assert_eq!(
        (again.0, again.1["error"].as_str()),
        (404, Some("unknown_webhook"))
    );
    let log = server.log_text();
    let added_line = log
        .lines()
        .find(|l| l.contains("admin: webhook endpoint added"))
        .unwrap();
    assert!(added_line.contains("site-hooks"), "{added_line}");

    // --- Every kind of event arrives, in order, content-free.
    let bob_email = format!("bob-{run}@member.test");
    let bob = Member::register(&url, "bob", "Bob Builder", &bob_email, PASSWORD.as_bytes())
        .await
        .unwrap();
    let ann = format!("ann-{run}@guest.test");
    let (conversation, _) =
        Guest::contact(&url, "bob", &ann, "Ann", "hello Bob, secret plans", None)
            .await
            .unwrap();
    let link = mail.link(&ann, 1).await;
    let guest = Guest::open(&url, &link, &ann).await.unwrap();
    bob.send(&conversation, "the reply text", Delivery::None)
        .await
        .unwrap();
    request_link(&url, &ann, Some("bob")).await.unwrap();
    let arrived = receiver
        .wait_until("four events", |a| events(a).len() >= 4)
        .await;
    assert_eq!(
        types(&arrived),
        [
            "message.created",
            "link.opened",
            "message.created",
            "link.requested"
        ]
    );
    let first = &arrived[0];
    assert_eq!(first.path, "/hook");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let sent_at: i64 = first.headers["webhook-timestamp"].parse().unwrap();
    assert!((now - sent_at).abs() < 60, "{sent_at} vs {now}");
    let signature = &first.headers["webhook-signature"];
    assert!(
        signature.starts_with("v1,") && signature.len() == 47,
        "{signature}"
    );
    assert_eq!(first.headers["content-type"], "application/json");
    let conversation_text = conversation.to_string();
    assert_eq!(
        events(&arrived)[..4],
        [
            json!({"type": "message.created", "timestamp": events(&arrived)[0]["timestamp"],
                   "data": {"member": "bob", "conversation": conversation_text, "sender": "guest"}}),
            json!({"type": "link.opened", "timestamp": events(&arrived)[1]["timestamp"],
                   "data": {"member": "bob", "conversation": conversation_text}}),
            json!({"type": "message.created", "timestamp": events(&arrived)[2]["timestamp"],
                   "data": {"member": "bob", "conversation": conversation_text, "sender": "member"}}),
            json!({"type": "link.requested", "timestamp": events(&arrived)[3]["timestamp"],
                   "data": {"member": "bob", "conversation": conversation_text}}),
        ]
    );
    let stamp = events(&arrived)[0]["timestamp"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        stamp.len() == 24 && stamp.ends_with('Z') && stamp.contains('T'),
        "{stamp}"
    );

    // --- A receiver that fails is retried, with growing waits, under one id.
    receiver.answer(
        Answer::Ok,
        &[Answer::Fail(500), Answer::Fail(503), Answer::Fail(500)],
    );
    bob.send(&conversation, "a second message", Delivery::None)
        .await
        .unwrap();
    let arrived = receiver
        .wait_until("four attempts at the fifth event", |a| {
            a.iter()
                .filter(|x| x.id() == a.last().unwrap().id())
                .count()
                >= 4
        })
        .await;
    let fifth = arrived.last().unwrap().id().to_owned();
    let attempts: Vec<Instant> = arrived
        .iter()
        .filter(|a| a.id() == fifth)
        .map(|a| a.at)
        .collect();
    let gaps: Vec<Duration> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] >= Duration::from_millis(300), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(600), "{gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(1200), "{gaps:?}");
    assert!(gaps[1] > gaps[0] && gaps[2] > gaps[1], "{gaps:?}");
    // Once acknowledged, the endpoint's failures are forgotten.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let listed = call(
            &server,
            reqwest::Method::GET,
            "/admin/webhooks",
            &manager,
            None,
        )
        .await;
        let endpoint = &listed.1["webhooks"][0];
        if endpoint["failed_attempts"] == 0 {
            assert!(endpoint.get("last_error").is_none(), "{listed:?}");
            break;
        }
        assert_eq!(endpoint["last_error"].as_str().unwrap()[..5], *"http_");
        assert!(Instant::now() < deadline, "{listed:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The metrics count both, and nothing waits now.
    let metrics = server
        .stdout_line("metrics listening on", Duration::from_secs(5))
        .unwrap();
    let scrape = reqwest::get(metrics.split_whitespace().last().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        scrape
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing:\n{scrape}"))
    };
    assert_eq!(value("latchkey_webhooks_delivered_total"), 5.0, "{scrape}");
    assert_eq!(value("latchkey_webhook_failures_total"), 3.0, "{scrape}");
    assert_eq!(
        value("latchkey_webhook_oldest_undelivered_age_seconds"),
        0.0
    );

    // --- The last two kinds: the member deletes the conversation, the site
    // disables him.
    bob.delete(&conversation).await.unwrap();
    let disabled = call(
        &server,
        reqwest::Method::POST,
        "/admin/members/bob/disable",
        &manager,
        None,
    )
    .await;
    assert_eq!(disabled.0, 200, "{disabled:?}");
    let arrived = receiver
        .wait_until("seven events", |a| events(a).len() >= 7)
        .await;
    let all = events(&arrived);
    assert_eq!(
        all[5],
        json!({"type": "conversation.deleted", "timestamp": all[5]["timestamp"],
               "data": {"member": "bob", "conversation": conversation_text, "reason": "member"}})
    );
    assert_eq!(
        all[6],
        json!({"type": "member.disabled", "timestamp": all[6]["timestamp"],
               "data": {"member": "bob"}})
    );
    let enabled = call(
        &server,
        reqwest::Method::POST,
        "/admin/members/bob/enable",
        &manager,
        None,
    )
    .await;
    assert_eq!(enabled.0, 200);
    // Disabling ended his sessions.
    let bob = Member::login(&url, "bob", PASSWORD.as_bytes())
        .await
        .unwrap();

    // --- kill -9 while the receiver is still answering: the event in
    // flight and those queued behind it all arrive after the restart.
    let before = events(&receiver.arrivals()).len();
    receiver.answer(Answer::Slow(Duration::from_millis(1500)), &[]);
    let (conversation2, _) = Guest::contact(&url, "bob", &ann, "Ann", "first after", None)
        .await
        .unwrap();
    bob.send(&conversation2, "queued one", Delivery::None)
        .await
        .unwrap();
    bob.send(&conversation2, "queued two", Delivery::None)
        .await
        .unwrap();
    let in_flight = receiver
        .wait_until("the first event after the kill's set-up", |a| {
            events(a).len() > before
        })
        .await
        .last()
        .unwrap()
        .id()
        .to_owned();
    server.kill9();
    receiver.answer(Answer::Ok, &[]);
    server.restart();
    let arrived = receiver
        .wait_until("three more events after the restart", |a| {
            events(a).len() >= before + 3
        })
        .await;
    let after: Vec<Value> = events(&arrived)[before..].to_vec();
    assert_eq!(
        after
            .iter()
            .map(|e| e["data"]["sender"].clone())
            .collect::<Vec<_>>(),
        [json!("guest"), json!("member"), json!("member")]
    );
    assert!(
        arrived.iter().filter(|a| a.id() == in_flight).count() >= 2,
        "the event in flight at the kill is sent again"
    );

    // --- Two instances on one PostgreSQL database share the endpoint: the
    // lease lets one send at a time, so nothing goes twice without a crash.
    if db.is_postgres() {
        let mut sibling = server.sibling();
        // Slow answers: the other instance polls many times while one sends.
        receiver.answer(Answer::Slow(Duration::from_millis(300)), &[]);
        let before = receiver.arrivals().len();
        for i in 0..6 {
            bob.send(&conversation2, &format!("from both {i}"), Delivery::None)
                .await
                .unwrap();
        }
        receiver
            .wait_until("six events through two instances", |a| {
                events(&a[before..]).len() >= 6
            })
            .await;
        // Time for a second copy, should one be on its way.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let arrived = receiver.arrivals();
        assert_eq!(
            arrived.len() - before,
            6,
            "each event once: {:#?}",
            events(&arrived[before..])
        );
        sibling.stop();
        receiver.answer(Answer::Ok, &[]);
    }

    // --- What never leaves: message text, addresses, links, keys.
    let raw: Vec<u8> = receiver
        .arrivals()
        .iter()
        .flat_map(|a| a.body.clone())
        .collect();
    for never in [
        "hello Bob",
        "secret plans",
        "the reply text",
        "a second message",
        "queued one",
        ann.as_str(),
        bob_email.as_str(),
        "Ann",
        "Bob Builder",
        "@",
        link.as_str(),
    ] {
        assert!(
            !support::contains(&raw, never.as_bytes()),
            "a webhook body carries {never:?}"
        );
    }
    for event in events(&receiver.arrivals()) {
        let data = event["data"].as_object().unwrap();
        for key in data.keys() {
            assert!(
                ["member", "conversation", "sender", "reason"].contains(&key.as_str()),
                "{event}"
            );
        }
    }

    // --- No endpoint secret in the log or the database.
    server.stop();
    let secrets = [
        ("the CLI endpoint's secret".to_owned(), secret_bytes(&whsec)),
        (
            "the API endpoint's secret".to_owned(),
            secret_bytes(&api_whsec),
        ),
        ("the whsec text".to_owned(), whsec.clone().into_bytes()),
        // Version byte, then the root secret every key derives from.
        (
            "the root secret".to_owned(),
            std::fs::read(server.secrets_file()).unwrap()[1..33].to_vec(),
        ),
    ];
    assert_absent("the server log", server.log_text().as_bytes(), &secrets);
    assert_absent("the database", &db.steal(), &secrets);
    drop(guest);
}
