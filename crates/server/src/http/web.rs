//! The web pages, embedded at build time from web/dist/ (see build.rs):
//! the guest's contact page `/m/HANDLE` and link page `/open`, the member's
//! pages (`/`, `/signup`, `/signin`, `/recover`, `/inbox`, `/conversations/ID`,
//! `/settings`), and their assets under `/assets/`.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

fn asset(name: &str) -> Option<(&'static [u8], &'static str)> {
    WEB_ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, bytes, tag)| (*bytes, *tag))
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn file(name: &str, headers: &HeaderMap) -> Response {
    match asset(name) {
        Some((bytes, tag)) => {
            // Names carry no content hash, so browsers revalidate every
            // time; an unchanged file then costs a 304, not its bytes.
            let cache = [
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                (header::ETAG, HeaderValue::from_static(tag)),
            ];
            let unchanged = headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
            if unchanged {
                return (StatusCode::NOT_MODIFIED, cache).into_response();
            }
            (
                cache,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(content_type(name)),
                )],
                bytes,
            )
                .into_response()
        }
        None if WEB_ASSETS.is_empty() => not_built(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn not_built() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>latchkey</title>\
             </head><body><main><h1>The web pages are not built into this binary</h1><p>Run \
             <code>scripts/build-web</code>, then build the server again (or use \
             <code>scripts/run</code>).</p></main></body></html>",
        ),
    )
        .into_response()
}

/// `/assets/…`.
pub(super) async fn assets(Path(path): Path<String>, headers: HeaderMap) -> Response {
    file(&format!("assets/{path}"), &headers)
}

/// The guest pages: one shell; the script reads the address.
pub(super) async fn guest_page(headers: HeaderMap) -> Response {
    file("guest.html", &headers)
}

/// The member pages: one shell; the script reads the address.
pub(super) async fn member_page(headers: HeaderMap) -> Response {
    file("member.html", &headers)
}

/// `/`: the member shell once built, else the server's own home page.
pub(super) fn has_member_pages() -> bool {
    asset("member.html").is_some()
}
