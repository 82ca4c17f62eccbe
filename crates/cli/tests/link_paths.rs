//! Links as mail gateways and mail programs deliver them: with the `#`
//! percent-encoded once or twice (`/open%23k1.…`, `/open%2523k1.…`, as
//! Microsoft Safe Links can), and with characters glued to the key's end.
//! Each answers what `/open` answers; any other unknown page gets the styled
//! 404 page, an unknown API path the API's JSON 404. The server logs at
//! its most verbose level, and neither its log nor its console shows the
//! key in any spelling.

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

use base64ct::{Base64UrlUnpadded, Encoding};
use latchkey_client::{Guest, Member};
use reqwest::header::{self, HeaderMap};
use support::{assert_absent, unique, Database, MailServer, Server, Settings, PASSWORD};

/// A GET without following redirects; `gzip`: accepting gzip, as a
/// browser does (the body then stays compressed).
async fn get(base: &str, path: &str, gzip: bool) -> (u16, HeaderMap, Vec<u8>) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let accept = if gzip { "gzip" } else { "identity" };
    let response = client
        .get(format!("{base}{path}"))
        .header(header::ACCEPT_ENCODING, accept)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(&name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Every character percent-encoded, in upper or lower case hex.
fn percent_encoded(text: &str, upper: bool) -> String {
    text.bytes()
        .map(|b| {
            if upper {
                format!("%{b:02X}")
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewritten_and_decorated_links_open_the_link_page_and_stay_out_of_the_log() {
    let mail = MailServer::start().await;
    let db = Database::sqlite();
    let settings = Settings {
        // Every target, every level: whatever any layer would log.
        extra_env: vec![("LATCHKEY_LOG__FILTER".into(), "trace".into())],
        ..Settings::default()
    };
    let server = Server::start(&db, &mail, &settings).await;
    let base = server.base.clone();

    // A real link, from a real mail.
    let run = unique("");
    let ann = format!("ann-{run}@guest.test");
    Member::register(
        &server.url,
        "bob",
        "Bob Builder",
        &format!("bob-{run}@member.test"),
        PASSWORD.as_bytes(),
    )
    .await
    .unwrap();
    Guest::contact(&server.url, "bob", &ann, "Ann", "Hello", None)
        .await
        .unwrap();
    let link = mail.link(&ann, 1).await;
    let fragment = link.rsplit_once('#').unwrap().1.to_owned();
    let key_text = fragment.strip_prefix("k1.").unwrap().to_owned();
    assert_eq!(key_text.len(), 43, "{link}");

    let (status, open_headers, open_body) = get(&base, "/open", true).await;
    assert_eq!(status, 200);
    for decorated in [
        format!("/open%23{fragment}"),
        format!("/open%2523{fragment}"),
        format!("/open%23{fragment}%3E"),
        format!("/open%23{fragment}."),
        format!("/open%23{fragment})"),
        format!("/open%2523{fragment}%22"),
        format!("/open%23{fragment}?utm_source=gateway"),
    ] {
        let (status, headers, body) = get(&base, &decorated, true).await;
        assert_eq!(status, 200, "{decorated}");
        assert_eq!(body, open_body, "{decorated} is not the link page");
        for name in [
            header::CONTENT_TYPE,
            header::CONTENT_ENCODING,
            header::ETAG,
            header::CACHE_CONTROL,
            header::CONTENT_SECURITY_POLICY,
            header::REFERRER_POLICY,
            header::X_CONTENT_TYPE_OPTIONS,
            header::X_FRAME_OPTIONS,
        ] {
            assert_eq!(
                header_text(&headers, name.clone()),
                header_text(&open_headers, name.clone()),
                "{name} of {decorated}"
            );
        }
        assert_eq!(header_text(&headers, header::CONTENT_ENCODING), "gzip");
    }

    // Any other unknown page, one with the key in it too: the styled 404.
    for junk in [
        "/nothing-here".to_owned(),
        "/open/more".to_owned(),
        "/assets/nothing-here.js".to_owned(),
        format!("/opened%23{fragment}"),
        format!("/{key_text}"),
    ] {
        let (status, headers, body) = get(&base, &junk, false).await;
        let body = String::from_utf8(body).unwrap();
        assert_eq!(status, 404, "{junk}");
        assert!(
            header_text(&headers, header::CONTENT_TYPE).starts_with("text/html"),
            "{junk}"
        );
        assert!(
            body.contains("<link rel=\"stylesheet\" href=\"/assets/style.css\">"),
            "{junk}: {body}"
        );
        assert!(body.contains("<a href=\"/\">"), "{junk}: {body}");
        assert!(body.contains("<h1>"), "{junk}: {body}");
        assert!(!body.contains(&key_text), "{junk} shows the key");
        assert_eq!(
            header_text(&headers, header::CONTENT_SECURITY_POLICY),
            header_text(&open_headers, header::CONTENT_SECURITY_POLICY),
            "{junk}"
        );
        assert_eq!(header_text(&headers, header::X_FRAME_OPTIONS), "DENY");
    }

    // An unknown API path, inside /api/v1 or not: the API's JSON 404.
    for junk in [
        format!("/api/v1/nothing/{key_text}"),
        format!("/api/{key_text}"),
        "/api".to_owned(),
    ] {
        let (status, headers, body) = get(&base, &junk, false).await;
        assert_eq!(status, 404, "{junk}");
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"], "no_route", "{junk}: {body}");
        assert_eq!(header_text(&headers, header::CACHE_CONTROL), "no-store");
        assert_eq!(
            header_text(&headers, header::CONTENT_ENCODING),
            "",
            "{junk}"
        );
    }

    // The log saw all of it at its most verbose, named by fixed templates.
    let log = server.log_text();
    assert!(log.contains("DEBUG"), "the log is not verbose:\n{log}");
    for template in ["/open%23{link}", "(not found)", "/api/{unknown}"] {
        assert!(
            log.contains(template),
            "no request logged as {template}:\n{log}"
        );
    }
    // And the key in none of its spellings: as text, percent-encoded, and
    // as bytes (raw, base64 in every variant, hex).
    let mut key = [0u8; 32];
    Base64UrlUnpadded::decode(&key_text, &mut key).unwrap();
    let spellings = [
        key_text.clone(),
        percent_encoded(&key_text, true),
        percent_encoded(&key_text, false),
        percent_encoded(&fragment, true),
    ];
    for spelling in &spellings {
        assert!(!log.contains(spelling.as_str()), "the log shows the key");
        assert!(
            server.stdout_line(spelling, Duration::ZERO).is_none(),
            "the console shows the key"
        );
    }
    assert_absent(
        "the log",
        log.as_bytes(),
        &[("link key".into(), key.to_vec())],
    );
}
