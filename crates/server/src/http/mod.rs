//! The HTTP layer: routes, shared state, security headers, request logs.

mod conversations;
mod error;
mod extract;
mod grants;
mod members;
mod pages;
mod recovery;
mod validate;
mod web;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

pub use error::ApiError;

use crate::config::Config;
use crate::mail::DevMailbox;
use crate::ratelimit::RateLimiter;
use crate::secrets::ServerKeys;
use crate::store::Store;
use extract::ClientIp;

/// What every handler may use. No globals: tests build as many as they like.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Storage.
    pub store: Store,
    /// Keys from the secrets file.
    pub keys: Arc<ServerKeys>,
    /// Configuration.
    pub config: Arc<Config>,
    /// Request budgets.
    pub limiter: Arc<RateLimiter>,
    /// `scheme://host[:port]` that cookie-authenticated writes must come from.
    pub origin: Arc<str>,
    /// The dev mailbox, in dev mode with the dev transport.
    pub dev_mailbox: Option<DevMailbox>,
}

impl AppState {
    fn limit_login(&self, ip: ClientIp) -> Result<(), ApiError> {
        self.limiter
            .check(
                "login-ip",
                ip.0.to_string().as_bytes(),
                self.config.rate_limits.login_per_ip_per_minute,
                Duration::from_secs(60),
            )
            .map_err(ApiError::rate_limited)
    }
}

/// The routes of `/api/v1`, as (method, path) pairs: the OpenAPI document
/// must list exactly these (a test checks it).
pub fn api_routes() -> Vec<(&'static str, &'static str)> {
    api().1
}

fn api() -> (Router<AppState>, Vec<(&'static str, &'static str)>) {
    let mut routes = Routes::default();
    routes
        .add(Verb::Get, "/health", pages::health)
        .add(Verb::Get, "/openapi.json", pages::openapi)
        .add(
            Verb::Post,
            "/members/register/start",
            members::register_start,
        )
        .add(
            Verb::Post,
            "/members/register/finish",
            members::register_finish,
        )
        .add(Verb::Get, "/members/{handle}", members::public_member)
        .add(
            Verb::Post,
            "/members/{handle}/conversations",
            conversations::start,
        )
        .add(Verb::Post, "/session/login/start", members::login_start)
        .add(Verb::Post, "/session/login/finish", members::login_finish)
        .add(Verb::Post, "/session/logout", members::logout)
        .add(Verb::Get, "/me", members::me)
        .add(Verb::Patch, "/me", members::update_me)
        .add(Verb::Post, "/me/password/start", members::password_start)
        .add(Verb::Post, "/me/password/finish", members::password_finish)
        .add(Verb::Put, "/me/recovery", recovery::replace)
        .add(Verb::Post, "/members/recover/start", recovery::start)
        .add(Verb::Post, "/members/recover/finish", recovery::finish)
        .add(Verb::Get, "/conversations", conversations::list)
        .add(Verb::Get, "/conversations/{id}", conversations::get)
        .add(Verb::Delete, "/conversations/{id}", conversations::delete)
        .add(
            Verb::Get,
            "/conversations/{id}/messages",
            conversations::messages,
        )
        .add(
            Verb::Post,
            "/conversations/{id}/messages",
            conversations::post,
        )
        .add(
            Verb::Post,
            "/conversations/{id}/read",
            conversations::mark_read,
        )
        .add(
            Verb::Post,
            "/conversations/{id}/grants",
            conversations::add_grant,
        )
        .add(Verb::Post, "/grants/peek", grants::peek)
        .add(Verb::Post, "/grants/redeem", grants::redeem)
        .add(Verb::Post, "/link-requests", grants::request_link);
    let Routes { by_path, list } = routes;
    let mut router = Router::new();
    for (path, method_router) in by_path {
        router = router.route(path, method_router);
    }
    (router, list)
}

/// The HTTP methods the API uses.
#[derive(Clone, Copy)]
enum Verb {
    Get,
    Post,
    Patch,
    Put,
    Delete,
}

impl Verb {
    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Patch => MethodFilter::PATCH,
            Verb::Put => MethodFilter::PUT,
            Verb::Delete => MethodFilter::DELETE,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Patch => "PATCH",
            Verb::Put => "PUT",
            Verb::Delete => "DELETE",
        }
    }
}

/// Collects routes so that the router and the documented list are one.
#[derive(Default)]
struct Routes {
    by_path: Vec<(&'static str, MethodRouter<AppState>)>,
    list: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn add<H, T>(&mut self, verb: Verb, path: &'static str, handler: H) -> &mut Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        self.list.push((verb.name(), path));
        match self.by_path.iter_mut().find(|(p, _)| *p == path) {
            Some((_, existing)) => {
                let merged = std::mem::take(existing).on(verb.filter(), handler);
                *existing = merged;
            }
            None => self.by_path.push((path, on(verb.filter(), handler))),
        }
        self
    }
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let (api, _) = api();
    let api = api
        .fallback(pages::no_route)
        .method_not_allowed_fallback(pages::wrong_method)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    // Pages and assets are compressed; API answers are not (they are small,
    // and compressing secrets beside attacker-chosen text invites BREACH).
    let web = Router::new()
        .route("/open", axum::routing::get(web::guest_page))
        .route("/m/{handle}", axum::routing::get(web::guest_page))
        .merge(web::member_pages())
        .route("/assets/{*path}", axum::routing::get(web::assets))
        // Browsers ask for it on every site; there is none, and saying so
        // without a 404 keeps their consoles clean.
        .route(
            "/favicon.ico",
            axum::routing::get(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .layer(tower_http::compression::CompressionLayer::new());
    let mut app = Router::new().nest("/api/v1", api).merge(web);
    if state.dev_mailbox.is_some() {
        app = app.route("/dev/mail", axum::routing::get(pages::dev_mail));
    }
    let mut app = app
        .fallback(pages::not_found_page)
        .layer(DefaultBodyLimit::max(config.limits.max_body_bytes))
        .layer(middleware::from_fn(log_request))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; \
                 base-uri 'none'; frame-ancestors 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
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

/// One line per request, named by the matched route and never by the raw
/// URL (which could carry ids a log reader has no business with).
async fn log_request(request: Request, next: Next) -> Response {
    let method: Method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if status.is_server_error() {
        tracing::error!(%method, %route, status = status.as_u16(), ms, "request");
    } else {
        tracing::info!(%method, %route, status = status.as_u16(), ms, "request");
    }
    response
}

/// 404 for an unknown API path.
fn no_route_error() -> ApiError {
    ApiError::not_found(
        "no_route",
        "There is no such API endpoint. See /api/v1/openapi.json.",
    )
}

/// 405 with our error body.
fn wrong_method_error() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This endpoint does not take this method. See /api/v1/openapi.json.",
    )
}
