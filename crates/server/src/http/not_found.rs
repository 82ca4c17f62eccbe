//! What answers an address no route knows: a link whose `#` a mail gateway
//! percent-encoded (`/open%23k1.…`, or twice, `/open%2523k1.…`) gets the
//! link page, whose script repairs the address; an unknown `/api/` path
//! gets the API's JSON 404; anything else a styled "not found" page.
//!
//! Such a path holds a link key, so nothing here (nor the request log,
//! which names these answers by [`FallbackRoute`]) ever writes the path
//! down.

use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::MethodRouter;

use super::language::RequestLanguage;
use super::AppState;
use crate::i18n::Language;
use crate::mail::html_escape;

/// How the request log names an answer given without a matched route: a
/// fixed template, never the path itself (which may hold a link key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FallbackRoute(pub &'static str);

const REWRITTEN_LINK: FallbackRoute = FallbackRoute("/open%23{link}");
const UNKNOWN_API: FallbackRoute = FallbackRoute("/api/{unknown}");
const UNKNOWN_PAGE: FallbackRoute = FallbackRoute("(not found)");

/// The link page's address as a gateway that percent-encodes the `#` (once
/// or twice) rewrites it; the link key follows.
const REWRITTEN_PREFIXES: [&str; 2] = ["/open%23", "/open%2523"];

/// Whether `path` is a link whose `#` was percent-encoded.
fn is_rewritten_link(path: &str) -> bool {
    REWRITTEN_PREFIXES.iter().any(|prefix| {
        path.get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    })
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// The fallback of the whole site. `link_page` is what serves `/open`: a
/// rewritten link gets exactly its answer (headers, compression,
/// revalidation), as if the browser had asked for `/open`.
pub(super) async fn fallback(
    link_page: MethodRouter<AppState>,
    state: AppState,
    mut request: Request,
) -> Response {
    let path = request.uri().path();
    let (route, mut response) = if is_rewritten_link(path) {
        // The key goes no further than this function: the page's script
        // reads it from the browser's address bar.
        *request.uri_mut() = Uri::from_static("/open");
        (REWRITTEN_LINK, link_page.call(request, state).await)
    } else if is_api(path) {
        let mut response = super::no_route_error().into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        (UNKNOWN_API, response)
    } else {
        (UNKNOWN_PAGE, page_for(request.headers()))
    };
    response.extensions_mut().insert(route);
    response
}

/// The styled 404 page in the language `headers` ask for (as the pages
/// choose theirs).
pub fn page_for(headers: &HeaderMap) -> Response {
    page(RequestLanguage::of(headers))
}

/// The styled 404 page: the site's stylesheet, a way home; its texts are
/// the catalogue's `server.not_found.*`.
pub fn page(language: Language) -> Response {
    let text = |key: &str| html_escape(language.raw(key));
    let html = format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<title>{title}</title>\n\
         <link rel=\"stylesheet\" href=\"/assets/style.css\">\n</head>\n<body>\n<main>\n\
         <h1>{heading}</h1>\n<p>{explanation}</p>\n<p><a href=\"/\">{home}</a></p>\n\
         </main>\n</body>\n</html>\n",
        lang = language.tag(),
        title = text("server.not_found.title"),
        heading = text("server.not_found.heading"),
        explanation = text("server.not_found.explanation"),
        home = text("server.not_found.home"),
    );
    (
        StatusCode::NOT_FOUND,
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::VARY,
                HeaderValue::from_static("Accept-Language, Cookie"),
            ),
            // build.rs lets only tags of a-z, 0-9 and `-` name a catalogue.
            (
                header::CONTENT_LANGUAGE,
                HeaderValue::from_static(language.tag()),
            ),
        ],
        Html(html),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::{is_api, is_rewritten_link};

    #[test]
    fn rewritten_links_are_recognised_and_nothing_else() {
        for path in [
            "/open%23k1.abc",
            "/open%2523k1.abc",
            "/OPEN%23k1.abc",
            "/open%23",
            "/open%23k1.abc%3E",
        ] {
            assert!(is_rewritten_link(path), "{path}");
        }
        for path in [
            "/open",
            "/open/",
            "/opened%23k1.abc",
            "/open%2",
            "/x/open%23k1.abc",
            "/",
            "",
            "/öpen%23",
        ] {
            assert!(!is_rewritten_link(path), "{path}");
        }
    }

    #[test]
    fn api_paths_are_told_apart_from_pages() {
        assert!(is_api("/api"));
        assert!(is_api("/api/v2/x"));
        assert!(!is_api("/apiary"));
        assert!(!is_api("/open"));
    }
}
