//! The client's address behind a reverse proxy, over real HTTP to the real
//! binary: the test plays the proxy (it connects from 127.0.0.1, inside the
//! default `trusted_proxies`) and writes `X-Forwarded-For` as nginx and
//! HAProxy do, with spoofed entries on the left. The login budget (30 a
//! minute per client) must hold per real client, whatever the client wrote.

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
use latchkey_core::opaque::ClientLogin;
use latchkey_core::OsRng;
use serde_json::{json, Value};
use support::{free_port, Database, NoMailServer, Server, Settings};

/// The login budget per client per minute (the default).
const BUDGET: usize = 30;

const PATH: &str = "/session/login/start";

/// One real login start (a well-formed OPAQUE request for a handle nobody
/// has; the server answers it like any other), with the given
/// forwarding header lines, in order, one header line each.
async fn login_start(server: &Server, forwarded: &[String]) -> u16 {
    let (_, request) = ClientLogin::start(&mut OsRng, b"a password").unwrap();
    let body = json!({
        "handle": "nobody-here",
        "request": Base64UrlUnpadded::encode_string(&request),
    });
    // reqwest appends a header given twice: two lines on the wire, as
    // HAProxy's `option forwardfor` leaves them.
    let mut builder = reqwest::Client::new()
        .post(format!("{}/api/v1{PATH}", server.base))
        .json(&body);
    for line in forwarded {
        builder = builder.header("x-forwarded-for", line);
    }
    let response = builder.send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    support::contract::check_raw("POST", PATH, status, &bytes);
    if status == 429 {
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["error"], "rate_limited", "{value}");
    }
    status
}

/// How a proxy in front of the server would forward one request of
/// `client`'s that arrived already carrying `spoof` (the request's index
/// `i` picks the style).
fn forwarded(i: usize, spoof: &str, client: &str) -> Vec<String> {
    match i % 3 {
        // nginx: `$proxy_add_x_forwarded_for` extends the client's line.
        0 => vec![format!("{spoof}, {client}")],
        // HAProxy `option forwardfor`: a line of its own after the client's.
        1 => vec![spoof.to_owned(), client.to_owned()],
        // A proxy that writes the client's port too, after two lines.
        _ => vec![
            spoof.to_owned(),
            format!("{spoof}, {}", with_port(client, i)),
        ],
    }
}

/// `client` as `IP:port` or `[v6]:port`, unless it has its port already.
fn with_port(client: &str, i: usize) -> String {
    let port = 40000 + i;
    match client.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => format!("{v4}:{port}"),
        Ok(std::net::IpAddr::V6(v6)) => format!("[{v6}]:{port}"),
        Err(_) => client.to_owned(),
    }
}

async fn start(extra_env: &[(&str, &str)]) -> (Database, Server) {
    let db = Database::sqlite();
    // These tests count the per-address budget; the per-handle one (every
    // request here names the same handle) is lifted unless a test sets it.
    let mut env: Vec<(String, String)> = vec![(
        "LATCHKEY_RATE_LIMITS__LOGIN_PER_HANDLE_PER_MINUTE".into(),
        "100000".into(),
    )];
    env.extend(
        extra_env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let settings = Settings {
        extra_env: env,
        ..Settings::default()
    };
    let server = Server::start(&db, &NoMailServer(free_port()), &settings).await;
    (db, server)
}

#[tokio::test]
async fn behind_a_proxy_each_real_client_has_its_own_budget() {
    let (_db, server) = start(&[("LATCHKEY_CLIENT_IP_HEADER", "x-forwarded-for")]).await;
    let client = "203.0.113.7";
    // Every request claims another address on the left; the proxy's entry
    // on the right is always the same client.
    for i in 0..BUDGET {
        let spoof = format!("198.51.100.{i}");
        let status = login_start(&server, &forwarded(i, &spoof, client)).await;
        assert_eq!(status, 200, "login start {} of {client}", i + 1);
    }
    for (i, spoof) in ["198.51.100.99", "127.0.0.1", "garbage", "[2001:db8::1]:1"]
        .into_iter()
        .enumerate()
    {
        let status = login_start(&server, &forwarded(i, spoof, client)).await;
        assert_eq!(status, 429, "{client} spoofing {spoof} beat its budget");
    }

    // Another real client (another /24 and another /48, so no wider budget
    // is shared) has its own budget, even claiming to be the first one.
    let other = "[2001:db8:7:1::9]:51000";
    for i in 0..BUDGET {
        let status = login_start(&server, &forwarded(i, client, other)).await;
        assert_eq!(status, 200, "login start {} of {other}", i + 1);
    }
    assert_eq!(
        login_start(&server, &forwarded(0, client, other)).await,
        429
    );
    // Its /64 is one client.
    let neighbour = "2001:db8:7:1::abcd";
    assert_eq!(
        login_start(&server, &[neighbour.to_owned()]).await,
        429,
        "{neighbour} shares the /64 of {other}"
    );
    let third = "192.0.2.200:8443";
    assert_eq!(login_start(&server, &[third.to_owned()]).await, 200);

    // No header: the proxy's own address, a budget of its own. An entry
    // that is no address where the client should be counts there too.
    for i in 0..BUDGET {
        let lines = match i % 3 {
            0 => vec![],
            1 => vec![format!("{client}, not-an-address")],
            _ => vec![client.to_owned(), "203.0.113.7:99999".to_owned()],
        };
        assert_eq!(login_start(&server, &lines).await, 200, "request {i}");
    }
    assert_eq!(login_start(&server, &[]).await, 429);

    // The debug-level log names no forwarded address and no header value.
    let log = std::fs::read_to_string(&server.log).unwrap();
    for secret in [client, "198.51.100.", "2001:db8:7", "not-an-address"] {
        assert!(!log.contains(secret), "the log shows {secret}");
    }
    assert!(
        log.contains("is no address where the client"),
        "the fallback is not logged"
    );
}

#[tokio::test]
async fn a_header_from_a_peer_outside_trusted_proxies_is_ignored() {
    // The proxy is elsewhere; this test connects from 127.0.0.1, like a
    // client reaching the server directly, and writes the header itself.
    let (_db, server) = start(&[
        ("LATCHKEY_CLIENT_IP_HEADER", "x-forwarded-for"),
        ("LATCHKEY_TRUSTED_PROXIES", "192.0.2.1, 2001:db8:ffff::/48"),
    ])
    .await;
    for i in 0..BUDGET {
        let lines = forwarded(i, "198.51.100.1", &format!("203.0.113.{i}"));
        assert_eq!(login_start(&server, &lines).await, 200, "request {i}");
    }
    let lines = vec!["203.0.113.250".to_owned()];
    assert_eq!(
        login_start(&server, &lines).await,
        429,
        "a direct client chose its budget with the header"
    );
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert_eq!(
        log.matches("outside trusted_proxies").count(),
        BUDGET + 1,
        "once as a warning, then at debug"
    );
    let warnings = log
        .lines()
        .filter(|line| line.contains("WARN") && line.contains("outside trusted_proxies"));
    assert_eq!(warnings.count(), 1, "{log}");
    assert!(
        !log.contains("203.0.113."),
        "the log shows a forwarded address"
    );
}

/// One handle's login budget is shared by every address: ten clients each
/// well inside their own budget get ten tries at one handle in a minute,
/// the eleventh is refused whoever sends it (the handle here is unknown: a
/// known one answers the same).
#[tokio::test]
async fn a_handle_has_one_login_budget_whatever_the_address() {
    let (_db, server) = start(&[
        ("LATCHKEY_CLIENT_IP_HEADER", "x-forwarded-for"),
        ("LATCHKEY_RATE_LIMITS__LOGIN_PER_HANDLE_PER_MINUTE", "10"),
    ])
    .await;
    for i in 0..10 {
        let client = format!("198.51.{i}.1");
        assert_eq!(login_start(&server, &[client]).await, 200, "try {i}");
    }
    assert_eq!(
        login_start(&server, &["192.0.2.200".to_owned()]).await,
        429,
        "an eleventh address still names the same handle"
    );
}
