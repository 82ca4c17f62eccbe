//! The metrics endpoint's router (served on `metrics.bind`, a listener of
//! its own) and the layer that counts every request of the site's router.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::metrics::Metrics;
use crate::store::Store;

/// The media type of what [`Metrics::render`] writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Counts a request under its route template (`/api/v1/members/{handle}`,
/// or the fallback's fixed name), never its raw path, with its status and
/// time.
pub(super) async fn count_request(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.request(
        &method,
        &super::route_name(route, &response),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

#[derive(Clone, Debug)]
struct ScrapeState {
    metrics: Metrics,
    store: Store,
}

/// `GET /metrics` and nothing else.
pub fn metrics_router(metrics: Metrics, store: Store) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(ScrapeState { metrics, store })
}

async fn scrape(State(state): State<ScrapeState>) -> Response {
    match state.metrics.render(&state.store).await {
        Ok(text) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            text,
        )
            .into_response(),
        Err(error) => {
            // The scraper marks the target down; the reason is in the log.
            tracing::error!(%error, "metrics scrape");
            (StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable\n").into_response()
        }
    }
}
