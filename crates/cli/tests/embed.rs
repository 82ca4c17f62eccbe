//! The contact form on the site's own pages (issue 11, item 3), over real
//! HTTP to the real binary: `/embed/m/HANDLE` may be framed by the origins
//! in `embed.allowed_origins` and by nothing else, every other answer keeps
//! `frame-ancestors 'none'` and `X-Frame-Options: DENY`, and an origin that
//! is not one stops the server naming the setting. The browser side (a
//! guest writing through the frame on another site) is
//! web/tests/embed.test.mjs.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::process::Command;

use latchkey_client::Member;
use support::{unique, Database, MailServer, Server, Settings, PASSWORD};

/// The policy of every answer, up to its `frame-ancestors`.
const POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
                      object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors ";

/// As written in the configuration: with a trailing slash, in capitals, a
/// default port; the server normalises them as browsers send origins.
const CONFIGURED: &str = "https://WWW.Example.org:443/, http://localhost:3000";
const ALLOWED: &str = "https://www.example.org http://localhost:3000";

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// The headers every page has, whatever may frame it.
    fn assert_common(&self, path: &str) {
        assert_eq!(
            self.header("referrer-policy"),
            Some("no-referrer"),
            "{path}"
        );
        assert_eq!(
            self.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            self.header("cross-origin-opener-policy"),
            Some("same-origin"),
            "{path}"
        );
    }

    fn assert_unframeable(&self, path: &str) {
        self.assert_common(path);
        assert_eq!(
            self.header("content-security-policy"),
            Some(format!("{POLICY}'none'").as_str()),
            "{path}"
        );
        assert_eq!(self.header("x-frame-options"), Some("DENY"), "{path}");
    }

    fn assert_framable_by_the_site(&self, path: &str) {
        self.assert_common(path);
        assert_eq!(
            self.header("content-security-policy"),
            Some(format!("{POLICY}{ALLOWED}").as_str()),
            "{path}"
        );
        assert_eq!(self.header("x-frame-options"), None, "{path}");
    }
}

async fn get(server: &Server, path: &str, language: &str) -> Answer {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", server.base))
        .header("accept-language", language)
        .send()
        .await
        .unwrap();
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

/// A server with `origins` as `embed.allowed_origins`; the database and the
/// mail server it uses must live as long as it does.
async fn server_with(origins: Option<&str>) -> (Database, MailServer, Server) {
    let mail = MailServer::start().await;
    let settings = Settings {
        extra_env: origins
            .map(|o| ("LATCHKEY_EMBED__ALLOWED_ORIGINS".to_owned(), o.to_owned()))
            .into_iter()
            .collect(),
        ..Settings::default()
    };
    let db = Database::sqlite();
    let server = Server::start(&db, &mail, &settings).await;
    (db, mail, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_embed_page_may_be_framed_and_only_by_the_listed_sites() {
    let (_db, _mail, server) = server_with(Some(CONFIGURED)).await;
    let handle = unique("em-");
    let address = format!("{handle}@member.test");
    Member::register(&server.url, &handle, "Emma", &address, PASSWORD.as_bytes())
        .await
        .unwrap();

    // The member's form, in any case of the handle, as the contact page.
    for path in [
        format!("/embed/m/{handle}"),
        format!("/embed/m/{}", handle.to_uppercase()),
    ] {
        let page = get(&server, &path, "en").await;
        assert_eq!(page.status, 200, "{path}");
        assert!(page.body.contains("/assets/guest.js"), "{}", page.body);
        page.assert_framable_by_the_site(&path);
    }
    let german = get(&server, &format!("/embed/m/{handle}"), "de-DE,de;q=0.9").await;
    assert!(
        german.body.contains("<html lang=\"de\">"),
        "{}",
        german.body
    );

    // A handle nobody has, or no handle at all: the 404 page in the
    // browser's language (framable, so the site shows it, not a blocked
    // frame).
    for path in ["/embed/m/nobody-here", "/embed/m/no%20such", "/embed/m/-x-"] {
        let page = get(&server, path, "de").await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page.body.contains("<html lang=\"de\">"), "{}", page.body);
        assert!(
            page.body
                .contains("Unter dieser Adresse gibt es keine Seite"),
            "{}",
            page.body
        );
        page.assert_framable_by_the_site(path);
    }

    // Everything else, pages, assets, the API and its errors, the 404s:
    // no frame anywhere.
    for path in [
        format!("/m/{handle}"),
        "/open".to_owned(),
        "/signin".to_owned(),
        "/".to_owned(),
        "/assets/guest.js".to_owned(),
        "/api/v1/health".to_owned(),
        format!("/api/v1/members/{handle}"),
        "/api/v1/no-such-thing".to_owned(),
        "/embed".to_owned(),
        format!("/embed/m/{handle}/more"),
        "/nothing-here".to_owned(),
    ] {
        let answer = get(&server, &path, "en").await;
        assert!(
            [200, 404].contains(&answer.status),
            "{path}: {}",
            answer.status
        );
        answer.assert_unframeable(&path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_allowed_origins_there_is_no_embed_page() {
    let (_db, _mail, server) = server_with(None).await;
    let handle = unique("em-");
    let address = format!("{handle}@member.test");
    Member::register(&server.url, &handle, "Emma", &address, PASSWORD.as_bytes())
        .await
        .unwrap();
    let page = get(&server, &format!("/embed/m/{handle}"), "en").await;
    assert_eq!(page.status, 404);
    page.assert_unframeable("/embed/m/HANDLE");
    let contact = get(&server, &format!("/m/{handle}"), "en").await;
    assert_eq!(contact.status, 200);
    contact.assert_unframeable("/m/HANDLE");
}

#[test]
fn an_origin_that_is_not_one_stops_the_server_naming_the_setting() {
    for (value, why) in [
        (
            "https://www.example.org/contact",
            "no path, query or fragment",
        ),
        ("https://*.example.org", "no wildcards"),
        ("www.example.org", "must start with https:// or http://"),
        (
            "https://www.example.org, 'self'",
            "must start with https://",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .env_clear()
            .env("LATCHKEY_EMBED__ALLOWED_ORIGINS", value)
            .arg("serve")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{value}: {stderr}");
        assert!(
            stderr.starts_with("error: configuration: LATCHKEY_EMBED__ALLOWED_ORIGINS: "),
            "{value}: {stderr}"
        );
        assert!(
            stderr.contains("in embed.allowed_origins is not an origin"),
            "{stderr}"
        );
        assert!(stderr.contains(why), "{value}: {stderr}");
        assert!(stderr.contains("e.g. https://www.example.org"), "{stderr}");
    }

    // In the file, the message names the key and the file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("latchkey.toml");
    std::fs::write(
        &file,
        "[embed]\nallowed_origins = [\"https://x.example/?a\"]\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .env_clear()
        .arg("serve")
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("`embed.allowed_origins` in "), "{stderr}");
    assert!(stderr.contains("no path, query or fragment"), "{stderr}");
}
