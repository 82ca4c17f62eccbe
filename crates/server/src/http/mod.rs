//! The HTTP layer: routes, shared state, security headers, request logs.
//! Handlers are thin: they extract a request, call one domain function and
//! map its result to the contract's views. The API's routes come from the
//! contract's operation table, so the router cannot serve an operation the
//! document lacks, nor miss one it has.

mod admin;
mod client_ip;
mod conversations;
mod error;
mod events;
mod extract;
mod language;
mod links;
mod members;
mod metrics;
mod not_found;
mod oidc;
mod pages;
mod passkeys;
mod views;
mod web;
mod webhooks;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use latchkey_api::endpoints::{self as ops, Endpoint};
use latchkey_api::ErrorCode;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

pub use error::ApiError;
pub use metrics::metrics_router;

use crate::domain::Context;
use crate::mail::DevMailbox;

/// What every handler may use. No globals: tests build as many as they like.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The domain's dependencies: store, keys, configuration, budgets.
    pub ctx: Context,
    /// `scheme://host[:port]` that cookie-authenticated writes must come from.
    pub origin: Arc<str>,
    /// The dev mailbox, in dev mode with the dev transport.
    pub dev_mailbox: Option<DevMailbox>,
    /// Which client-address fallbacks were logged already.
    pub ip_warnings: Arc<client_ip::FallbackWarnings>,
    /// The live events of open pages.
    pub live: crate::live::Hub,
}

/// The routes of `/api/v1`, as (method, path) pairs: a test checks they are
/// exactly the contract's operations.
pub fn api_routes() -> Vec<(&'static str, &'static str)> {
    api().1
}

fn api() -> (Router<AppState>, Vec<(&'static str, &'static str)>) {
    let mut routes = Routes::default();
    routes
        .add(&ops::HEALTH, pages::ready)
        .add(&ops::HEALTH_LIVE, pages::live)
        .add(&ops::HEALTH_READY, pages::ready)
        .add(&ops::OPENAPI, pages::openapi)
        .add(&ops::REGISTER_START, members::register_start)
        .add(&ops::REGISTER_FINISH, members::register_finish)
        .add(&ops::GET_MEMBER, members::public_member)
        .add(&ops::START_CONVERSATION, conversations::start)
        .add(&ops::LOGIN_START, members::login_start)
        .add(&ops::LOGIN_FINISH, members::login_finish)
        .add(&ops::PASSKEY_LOGIN_START, passkeys::sign_in_start)
        .add(&ops::PASSKEY_LOGIN_FINISH, passkeys::sign_in_finish)
        .add(&ops::LOGOUT, members::logout)
        .add(&ops::AUTH_METHODS, oidc::methods)
        .add(&ops::OIDC_START, oidc::start)
        .add(&ops::OIDC_CALLBACK, oidc::callback)
        .add(&ops::GET_ME, members::me)
        .add(&ops::UPDATE_ME, members::update_me)
        .add(&ops::PASSWORD_START, members::password_start)
        .add(&ops::PASSWORD_FINISH, members::password_finish)
        .add(&ops::REPLACE_RECOVERY, members::replace_recovery)
        .add(&ops::RECOVER_START, members::recover_start)
        .add(&ops::RECOVER_FINISH, members::recover_finish)
        .add(&ops::LIST_PASSKEYS, passkeys::list)
        .add(&ops::ADD_PASSKEY, passkeys::add)
        .add(&ops::DELETE_PASSKEY, passkeys::remove)
        .add(&ops::LIST_CONVERSATIONS, conversations::list)
        .add(&ops::GET_CONVERSATION, conversations::get)
        .add(&ops::DELETE_CONVERSATION, conversations::delete)
        .add(&ops::LIST_MESSAGES, conversations::messages)
        .add(&ops::POST_MESSAGE, conversations::post)
        .add(&ops::MARK_READ, conversations::mark_read)
        .add(&ops::EVENTS, events::stream)
        .add(
            &ops::GET_MEMBER_READ_RECEIPTS,
            conversations::member_read_receipts,
        )
        .add(
            &ops::MEMBER_READ_RECEIPTS,
            conversations::set_member_read_receipts,
        )
        .add(
            &ops::CONVERSATION_READ_RECEIPTS,
            conversations::set_read_receipts,
        )
        .add(&ops::ADD_GRANT, links::add)
        .add(&ops::PEEK_GRANT, links::peek)
        .add(&ops::REDEEM_GRANT, links::redeem)
        .add(&ops::REQUEST_LINK, links::request)
        .add(&ops::ENROLL_PEEK, admin::enroll_peek)
        .add(&ops::ENROLL_START, passkeys::enroll_start)
        .add(&ops::ENROLL_PASSKEY, passkeys::enroll)
        .add(&ops::ADMIN_LIST_MEMBERS, admin::list)
        .add(&ops::ADMIN_INVITE, admin::invite)
        .add(&ops::ADMIN_GET_MEMBER, admin::get)
        .add(&ops::ADMIN_DELETE_MEMBER, admin::delete)
        .add(&ops::ADMIN_DISABLE_MEMBER, admin::disable)
        .add(&ops::ADMIN_ENABLE_MEMBER, admin::enable)
        .add(&ops::ADMIN_LIST_WEBHOOKS, webhooks::list)
        .add(&ops::ADMIN_ADD_WEBHOOK, webhooks::add)
        .add(&ops::ADMIN_REMOVE_WEBHOOK, webhooks::remove);
    let Routes { by_path, list } = routes;
    let mut router = Router::new();
    for (path, method_router) in by_path {
        router = router.route(path, method_router);
    }
    (router, list)
}

fn method_filter(method: ops::Method) -> MethodFilter {
    match method {
        ops::Method::Get => MethodFilter::GET,
        ops::Method::Post => MethodFilter::POST,
        ops::Method::Patch => MethodFilter::PATCH,
        ops::Method::Put => MethodFilter::PUT,
        ops::Method::Delete => MethodFilter::DELETE,
    }
}

/// Collects routes so that the router and the listed routes are one.
#[derive(Default)]
struct Routes {
    by_path: Vec<(&'static str, MethodRouter<AppState>)>,
    list: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn add<H, T>(&mut self, endpoint: &'static Endpoint, handler: H) -> &mut Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        let (path, filter) = (endpoint.path, method_filter(endpoint.method));
        self.list.push((endpoint.method.as_str(), path));
        match self.by_path.iter_mut().find(|(p, _)| *p == path) {
            Some((_, existing)) => {
                let merged = std::mem::take(existing).on(filter, handler);
                *existing = merged;
            }
            None => self.by_path.push((path, on(filter, handler))),
        }
        self
    }
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let config = state.ctx.config.clone();
    let (api, _) = api();
    let api = api
        .fallback(pages::no_route)
        .method_not_allowed_fallback(pages::wrong_method)
        .layer(middleware::from_fn_with_state(
            state.live.clone(),
            events::wake_after_write,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    // Pages and assets are compressed; API answers are not (they are small,
    // and compressing secrets beside attacker-chosen text invites BREACH).
    let web = Router::new()
        .route("/open", link_page())
        .route("/m/{handle}", axum::routing::get(web::guest_page))
        .merge(web::member_pages())
        .merge(embed_route(&config.embed.allowed_origins))
        .route("/assets/{*path}", axum::routing::get(web::assets))
        // Browsers ask for it on every site; there is none, and saying so
        // without a 404 keeps their consoles clean.
        .route(
            "/favicon.ico",
            axum::routing::get(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .layer(CompressionLayer::new());
    let mut app = Router::new().nest("/api/v1", api).merge(web);
    if state.dev_mailbox.is_some() {
        app = app.route("/dev/mail", axum::routing::get(pages::dev_mail));
    }
    // A link whose `#` a mail gateway percent-encoded lands here too.
    let link_page = link_page().layer(CompressionLayer::new());
    let mut app = app
        .fallback(move |State(state): State<AppState>, request: Request| {
            not_found::fallback(link_page, state, request)
        })
        .layer(DefaultBodyLimit::max(config.limits.max_body_bytes))
        .layer(middleware::from_fn(log_request))
        .layer(middleware::from_fn_with_state(
            state.ctx.metrics.clone(),
            metrics::count_request,
        ))
        .layer(middleware::from_fn_with_state(
            FramePolicy::new(&config.embed.allowed_origins),
            frame_headers,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // A window that opened ours cannot reach into it (nor change the
        // fragment of a link page).
        .layer(SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ));
    if config.public_url.starts_with("https://") {
        app = app.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        ));
    }
    app.with_state(state)
}

/// The Content-Security-Policy of every answer but the embed page's.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Who may frame what: no site may frame any page of ours, except that the
/// sites in `embed.allowed_origins` may frame the embed route's contact
/// form.
#[derive(Clone)]
struct FramePolicy {
    /// The embed route's policy, while any origin is allowed: [`CSP`] with
    /// the origins as its `frame-ancestors`.
    embedded: Option<HeaderValue>,
}

impl FramePolicy {
    fn new(allowed_origins: &[String]) -> FramePolicy {
        // The origins were checked and normalised when the configuration
        // was read: ASCII, no spaces, commas or semicolons.
        let embedded = CSP
            .strip_suffix("'none'")
            .filter(|_| !allowed_origins.is_empty())
            .and_then(|head| {
                HeaderValue::from_str(&format!("{head}{}", allowed_origins.join(" "))).ok()
            });
        FramePolicy { embedded }
    }
}

/// The Content-Security-Policy and X-Frame-Options of every answer,
/// overriding whatever a handler set. An answer the embed route marked
/// [`web::Framable`] gets the allowed origins as its `frame-ancestors`
/// and no X-Frame-Options: browsers that know `frame-ancestors` ignore
/// that header beside it, but one that knows only it would obey its
/// `DENY`, and `ALLOW-FROM` is obeyed by none today.
async fn frame_headers(
    State(policy): State<FramePolicy>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let framable = response.extensions().get::<web::Framable>().is_some();
    let headers = response.headers_mut();
    match (&policy.embedded, framable) {
        (Some(embedded), true) => {
            headers.insert(header::CONTENT_SECURITY_POLICY, embedded.clone());
            headers.remove(header::X_FRAME_OPTIONS);
        }
        _ => {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            );
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        }
    }
    response
}

/// `/embed/m/{handle}`, the contact form for frames in the site's own
/// pages; no route at all (the 404 page) while no site may frame it.
fn embed_route(allowed_origins: &[String]) -> Router<AppState> {
    if allowed_origins.is_empty() {
        return Router::new();
    }
    Router::new().route("/embed/m/{handle}", axum::routing::get(web::embed_page))
}

/// `/open`: the link page.
fn link_page() -> MethodRouter<AppState> {
    axum::routing::get(web::guest_page)
}

/// One line per request, named by the matched route and never by the raw
/// URL (which could carry ids a log reader has no business with, or, for a
/// link a mail gateway rewrote to `/open%23k1.…`, the link's key). An
/// answer of the fallback is named by the fixed template it set.
async fn log_request(request: Request, next: Next) -> Response {
    let method: Method = request.method().clone();
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let route = route_name(matched, &response);
    let status = response.status();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if status.is_server_error() {
        tracing::error!(%method, %route, status = status.as_u16(), ms, "request");
    } else {
        tracing::info!(%method, %route, status = status.as_u16(), ms, "request");
    }
    response
}

/// What the request log and the metrics call a request: its matched route,
/// or the fixed template the fallback set on its answer.
fn route_name(matched: Option<String>, response: &Response) -> String {
    matched.unwrap_or_else(|| {
        let fallback = response.extensions().get::<not_found::FallbackRoute>();
        fallback.map_or("(unmatched)", |f| f.0).to_owned()
    })
}

/// 404 for an unknown API path.
fn no_route_error() -> ApiError {
    ApiError::new(
        ErrorCode::NoRoute,
        "There is no such API endpoint. See /api/v1/openapi.json.",
    )
}

/// 405 with our error body.
fn wrong_method_error() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "This endpoint does not take this method. See /api/v1/openapi.json.",
    )
}
