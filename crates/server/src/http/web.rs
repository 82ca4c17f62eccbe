//! The web pages, embedded at build time from web/dist/ (see build.rs):
//! the guest's contact page `/m/HANDLE` (and its framed form
//! `/embed/m/HANDLE`) and link page `/open`, the member's pages (the
//! addresses in web/routes.json), and their assets under `/assets/`.
//!
//! The two page shells are served in the request's language: `<html lang>`,
//! the shell's own words, and the texts the page's script shows, injected as
//! a JSON `<script>` (see `localize`). Each language's shell is made once,
//! when the router is built, and has its own entity tag.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use latchkey_api::{ErrorCode, Handle};

use super::language::RequestLanguage;
use super::{pages, AppState};
use crate::domain::accounts;
use crate::i18n::Language;
use crate::mail::html_escape;

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
        None => super::not_found::page_for(headers),
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

/// Which texts a shell's script gets: the `common.` keys and its own kind's.
const GUEST_PREFIXES: [&str; 2] = ["common.", "guest."];
const MEMBER_PREFIXES: [&str; 2] = ["common.", "member."];

/// The JSON a page's script reads from `<script id="texts">`.
#[derive(Serialize)]
struct PageTexts {
    lang: &'static str,
    /// (tag, own name) of every language, English first: the switcher's list.
    languages: Vec<(&'static str, &'static str)>,
    texts: BTreeMap<&'static str, &'static str>,
}

/// `shell` (web/pages/*.html) in `language`: `{{lang}}` becomes its tag,
/// `{{texts}}` the `<script type="application/json" id="texts">` holding the
/// texts with `prefixes`, and `{{key}}` the HTML-escaped text of `key` (the
/// shell's own words, `server.` keys). JSON is safe inside `<script>` once no
/// `<` is left to start `</script>` or `<!--`.
fn localize(shell: &str, language: Language, prefixes: &[&'static str]) -> String {
    let texts = PageTexts {
        lang: language.tag(),
        languages: Language::all().map(|l| (l.tag(), l.name())).collect(),
        // English first, overwritten by the language's own: a text a
        // catalogue lacks reads in English on the page too.
        texts: [Language::ENGLISH, language]
            .iter()
            .flat_map(|l| prefixes.iter().flat_map(|p| l.texts_with_prefix(p)))
            .collect(),
    };
    let json = script_safe_json(&texts);
    let mut out = String::with_capacity(shell.len() + json.len() + 64);
    let mut rest = shell;
    while let Some((before, after)) = rest.split_once("{{") {
        out.push_str(before);
        let Some((name, after)) = after.split_once("}}") else {
            out.push_str("{{");
            rest = after;
            continue;
        };
        match name {
            "lang" => out.push_str(language.tag()),
            "texts" => {
                out.push_str("<script type=\"application/json\" id=\"texts\">");
                out.push_str(&json);
                out.push_str("</script>");
            }
            key => out.push_str(&html_escape(language.raw(key))),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `value` as JSON with every `<` written `\u003c`: inside `<script>` no
/// text can then close the element or open a comment.
fn script_safe_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_default()
        .replace('<', "\\u003c")
}

/// A shell in one language, ready to send.
struct LocalPage {
    language: Language,
    body: Bytes,
    tag: HeaderValue,
}

/// Both shells in every language, or none while the pages are not built.
struct Shells {
    guest: Vec<LocalPage>,
    member: Vec<LocalPage>,
}

fn in_every_language(name: &str, prefixes: &[&'static str]) -> Vec<LocalPage> {
    let Some(shell) = asset(name).and_then(|(bytes, _)| std::str::from_utf8(bytes).ok()) else {
        return Vec::new();
    };
    Language::all()
        .filter_map(|language| {
            let html = localize(shell, language, prefixes);
            let tag = HeaderValue::from_str(&entity_tag(html.as_bytes())).ok()?;
            Some(LocalPage {
                language,
                body: Bytes::from(html),
                tag,
            })
        })
        .collect()
}

/// Made from constants only (the embedded files and catalogues), so one copy
/// serves every router; forced when the router is built, not by the first
/// visitor.
static SHELLS: LazyLock<Shells> = LazyLock::new(|| Shells {
    guest: in_every_language("guest.html", &GUEST_PREFIXES),
    member: in_every_language("member.html", &MEMBER_PREFIXES),
});

/// The same FNV-1a tag build.rs gives the files, of the localized bytes.
fn entity_tag(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("W/\"{hash:016x}-{}\"", bytes.len())
}

/// A shell in the request's language. Caches must keep one copy per
/// language, hence `Vary`; a browser that has this language's copy gets 304.
fn shell(pages: &[LocalPage], headers: &HeaderMap) -> Response {
    let language = RequestLanguage::of(headers);
    let Some(page) = pages
        .iter()
        .find(|p| p.language == language)
        .or_else(|| pages.first())
    else {
        return not_built();
    };
    let cache = [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::ETAG, page.tag.clone()),
        (
            header::VARY,
            HeaderValue::from_static("Accept-Language, Cookie"),
        ),
        // build.rs lets only tags of a-z, 0-9 and `-` name a catalogue.
        (
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(page.language.tag()),
        ),
    ];
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().as_bytes() == page.tag.as_bytes())
        });
    if unchanged {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        cache,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type("guest.html")),
        )],
        page.body.clone(),
    )
        .into_response()
}

/// `/assets/…`.
pub(super) async fn assets(Path(path): Path<String>, headers: HeaderMap) -> Response {
    file(&format!("assets/{path}"), &headers)
}

/// The guest pages: one shell; the script reads the address.
pub(super) async fn guest_page(headers: HeaderMap) -> Response {
    shell(&SHELLS.guest, &headers)
}

/// Marks an answer that the site's own pages may frame: the router's
/// security headers give it `frame-ancestors` with `embed.allowed_origins`
/// instead of `'none'`, and no `X-Frame-Options`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Framable;

/// `/embed/m/HANDLE` (routed only while `embed.allowed_origins` lists a
/// site): the contact page, for a frame in the site's own pages; the
/// script sees the address and leaves out everything but the form. A
/// handle no member has is the 404 page (framable too, so the site shows
/// "not found" rather than a blocked frame); a disabled member's page says
/// he takes no messages, as `/m/HANDLE` does.
pub(super) async fn embed_page(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    headers: HeaderMap,
) -> Response {
    let unknown = match Handle::parse(&handle) {
        // Any case, as on `/m/HANDLE`; nothing the page's script would not
        // read as a handle (spaces the parser trims, say).
        Ok(parsed) if parsed.as_str() == handle.to_ascii_lowercase() => {
            match accounts::public_member(&state.ctx, &parsed).await {
                Ok(_) => false,
                Err(e) => e.code() == ErrorCode::UnknownMember,
            }
        }
        _ => true,
    };
    // A store that fails to answer is no proof the member is gone: the
    // page's own request for him then says what went wrong.
    let mut response = if unknown {
        super::not_found::page_for(&headers)
    } else {
        shell(&SHELLS.guest, &headers)
    };
    response.extensions_mut().insert(Framable);
    response
}

/// The member pages: one shell; the script reads the address.
async fn member_page(headers: HeaderMap) -> Response {
    shell(&SHELLS.member, &headers)
}

/// One route per member page address. The addresses come from
/// web/routes.json (read by build.rs), the file the browser's router is
/// built from: one list instead of two that a test would have to compare,
/// so a page the browser knows can never be a 404 here. Every address
/// answers the shell, or 503 while the pages are not built; `/` then shows
/// the server's own home page instead.
pub(super) fn member_pages() -> Router<AppState> {
    LazyLock::force(&SHELLS);
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
    use super::*;

    const GUEST_SHELL: &str = include_str!("../../../../web/pages/guest.html");
    const MEMBER_SHELL: &str = include_str!("../../../../web/pages/member.html");

    /// The JSON between `<script type="application/json" id="texts">` and
    /// `</script>`.
    fn injected(html: &str) -> serde_json::Value {
        let start = "<script type=\"application/json\" id=\"texts\">";
        let (_, rest) = html.split_once(start).unwrap();
        let (json, _) = rest.split_once("</script>").unwrap();
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn each_shell_gets_its_language_and_only_its_kinds_texts() {
        let de = Language::from_tag("de").unwrap();
        for (shell, own, other) in [
            (GUEST_SHELL, "guest.", "member."),
            (MEMBER_SHELL, "member.", "guest."),
        ] {
            let prefixes = if own == "guest." {
                GUEST_PREFIXES
            } else {
                MEMBER_PREFIXES
            };
            let html = localize(shell, de, &prefixes);
            assert!(html.contains("<html lang=\"de\">"), "{html}");
            assert!(!html.contains("{{"), "a placeholder is left: {html}");
            let head = html.split_once("</head>").unwrap().0;
            let json = injected(head);
            assert_eq!(json["lang"], "de");
            assert_eq!(json["languages"][0], serde_json::json!(["en", "English"]));
            assert!(json["languages"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!(["de", "Deutsch"])));
            let texts = json["texts"].as_object().unwrap();
            for key in texts.keys() {
                assert!(key.starts_with("common.") || key.starts_with(own), "{key}");
            }
            let expected = ["common.", own]
                .iter()
                .map(|p| de.texts_with_prefix(p).count())
                .sum::<usize>();
            assert_eq!(texts.len(), expected);
            assert!(!texts
                .keys()
                .any(|k| k.starts_with(other) || k.starts_with("mail.")));
            // The shell's own words are in German.
            assert!(html.contains(&html_escape(de.raw("server.shell.loading"))));
        }
    }

    #[test]
    fn injected_json_cannot_end_the_script_element() {
        // A text with markup, as a translator might write one.
        let text = "a </script><!-- b <\\/script>";
        let json = script_safe_json(&text);
        assert!(!json.contains('<'), "{json}");
        let back: String = serde_json::from_str(&json).unwrap();
        assert_eq!(back, text);
    }

    #[test]
    fn shell_words_are_escaped_and_unknown_braces_stay() {
        assert_eq!(
            localize("<p>{{no.such.key}}</p> {{ x", Language::ENGLISH, &[]),
            "<p>no.such.key</p> {{ x"
        );
    }

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
