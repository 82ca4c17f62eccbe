//! The web pages, embedded at build time from web/dist/ (see build.rs):
//! the guest's contact page `/m/HANDLE` and link page `/open`, the member's
//! pages (the addresses in web/routes.json), and their assets under
//! `/assets/`.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::{pages, AppState};

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
async fn member_page(headers: HeaderMap) -> Response {
    file("member.html", &headers)
}

/// One route per member page address. The addresses come from
/// web/routes.json (read by build.rs), the file the browser's router is
/// built from: one list instead of two that a test would have to compare,
/// so a page the browser knows can never be a 404 here. Every address
/// answers the shell, or 503 while the pages are not built; `/` then shows
/// the server's own home page instead.
pub(super) fn member_pages() -> Router<AppState> {
    let built = asset("member.html").is_some();
    MEMBER_PAGE_ROUTES
        .iter()
        .fold(Router::new(), |router, &path| match path {
            "/" if !built => router.route(path, get(pages::home)),
            _ => router.route(path, get(member_page)),
        })
}

#[cfg(test)]
mod tests {
    use super::MEMBER_PAGE_ROUTES;

    #[test]
    fn the_member_pages_the_server_links_to_are_in_the_route_table() {
        // Home, sign-in, the inbox (member notification mails link to it), a
        // conversation.
        for path in ["/", "/signin", "/inbox", "/conversations/{id}"] {
            assert!(
                MEMBER_PAGE_ROUTES.contains(&path),
                "{path} is not in web/routes.json"
            );
        }
    }
}
