//! The few non-API answers: health, the OpenAPI document, fallbacks, the
//! home page and (dev mode) the mailbox.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;

use latchkey_api::ErrorCode;

use super::error::ApiError;
use super::AppState;
use crate::mail::html_escape;

/// How long readiness waits for the database: a balancer's probe gives up
/// after a few seconds, and a pool waiting for a dead database would wait
/// longer (its acquire timeout).
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

fn healthy() -> Response {
    Json(latchkey_api::Health {
        status: "ok".into(),
    })
    .into_response()
}

/// Liveness: the process serves. Asks nothing of the database, so that a
/// supervisor does not restart instances for a database outage.
pub(super) async fn live() -> Response {
    healthy()
}

/// Readiness (also `/api/v1/health`): 200 when the database answers and
/// this binary's migrations are applied; 503 `not_ready` otherwise.
pub(super) async fn ready(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = &state.ctx.store;
    let checked = tokio::time::timeout(READY_TIMEOUT, async {
        store.ping().await?;
        store.is_migrated().await
    })
    .await;
    match checked {
        Ok(Ok(true)) => Ok(healthy()),
        Ok(Ok(false)) => Err(ApiError::new(
            ErrorCode::NotReady,
            "The database's migrations are not all applied.",
        )),
        Ok(Err(error)) => {
            // The cause (no secret in it) for the operator, not the caller.
            tracing::warn!(%error, "not ready: the database failed");
            Err(ApiError::new(
                ErrorCode::NotReady,
                "The database does not answer.",
            ))
        }
        Err(_) => {
            tracing::warn!("not ready: the database did not answer in time");
            Err(ApiError::new(
                ErrorCode::NotReady,
                "The database does not answer.",
            ))
        }
    }
}

/// `/api/v1/openapi.json`.
pub(super) async fn openapi() -> Response {
    // Generated from the contract crate and committed there.
    (
        [(header::CONTENT_TYPE, "application/json")],
        latchkey_api::OPENAPI_JSON,
    )
        .into_response()
}

/// Unknown API path.
pub(super) async fn no_route() -> ApiError {
    super::no_route_error()
}

/// Known API path, wrong method.
pub(super) async fn wrong_method() -> ApiError {
    super::wrong_method_error()
}

/// Unknown page: the site's styled one.
pub(super) fn not_found_page(headers: &HeaderMap) -> Response {
    super::not_found::page_for(headers)
}

/// `/`: what this server is. The web app replaces it.
pub(super) async fn home(State(state): State<AppState>) -> Html<String> {
    let dev = if state.dev_mailbox.is_some() {
        "<p>Development mode: e-mails are kept at <a href=\"/dev/mail\">/dev/mail</a>.</p>"
    } else {
        ""
    };
    Html(page(
        "latchkey",
        &format!(
            "<p>End-to-end encrypted messages between members and guests who have only an \
             e-mail address.</p><p>The API is described at \
             <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>.</p>{dev}"
        ),
    ))
}

/// Whether a `Host` header names this machine: `localhost`, `127.0.0.1`
/// (or any 127/8 address) or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or(rest, |(inside, _)| inside),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `/dev/mail` (dev mode only): every e-mail the server sent, newest first.
/// It shows live links, so it answers only under a loopback `Host` (a page
/// elsewhere that rebinds its own name to 127.0.0.1 gets a 404, not the
/// links) and is never cached.
pub(super) async fn dev_mail(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(mailbox) = &state.dev_mailbox else {
        return not_found_page(&headers);
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if !host.is_some_and(is_loopback_host) {
        return not_found_page(&headers);
    }
    let mut body = String::from("<p>Development mode: these e-mails were not sent anywhere.</p>");
    let mails = mailbox.all();
    if mails.is_empty() {
        body.push_str("<p>No e-mail yet.</p>");
    }
    for mail in mails.iter().rev() {
        body.push_str(&format!(
            "<article><h2>{}</h2><p>To: {}</p><pre>{}</pre></article>",
            html_escape(&mail.subject),
            html_escape(&mail.to),
            linkify(&html_escape(&mail.text)),
        ));
    }
    (
        [(header::CACHE_CONTROL, "no-store")],
        Html(page("Dev mailbox", &body)),
    )
        .into_response()
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title></head><body><main><h1>{t}</h1>{body}</main></body></html>",
        t = html_escape(title)
    )
}

/// Makes the (already escaped) link lines clickable.
fn linkify(escaped: &str) -> String {
    escaped
        .lines()
        .map(|line| {
            if line.starts_with("http://") || line.starts_with("https://") {
                format!("<a href=\"{line}\">{line}</a>")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn only_loopback_hosts_see_the_dev_mailbox() {
        for host in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.1.2.3:1",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "10.0.0.1",
            "[2001:db8::1]:80",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
