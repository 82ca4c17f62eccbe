//! Counters and gauges for operators, rendered in the Prometheus text
//! format (its OpenMetrics 1.0 flavour). One [`Metrics`] per app instance,
//! passed to whoever records (no global registry: tests build as many as
//! they like).
//!
//! Labels are chosen from small fixed sets: a route template, a method, a
//! status code, a budget's name, a failure kind. Never a handle, an address,
//! an id or a token: a scrape may travel further than the database does.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::mail::MailError;
use crate::model::Timestamp;
use crate::store::{Store, StoreError, Swept};

/// Why a scrape has no answer.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// The gauges read at scrape time could not be read.
    #[error("reading the gauges: {0}")]
    Store(#[from] StoreError),
    /// The text could not be written (it goes to a `String`, so this is a
    /// bug in the encoder).
    #[error("encoding the metrics")]
    Encode(#[from] std::fmt::Error),
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BudgetLabels {
    budget: &'static str,
}

/// 1 ms to about 33 s, doubling: an OPAQUE login (Argon2) sits in the
/// middle, a health check at the bottom.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

type FloatGauge = Gauge<f64, AtomicU64>;

#[derive(Debug)]
struct Families {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    mail_sent: Counter,
    mail_failures: Family<KindLabels, Counter>,
    rate_limited: Family<BudgetLabels, Counter>,
    swept_grants: Counter,
    swept_conversations: Counter,
    epoch_keys_erased: Counter,
    webhooks_delivered: Counter,
    webhook_failures: Counter,
    webhook_oldest: FloatGauge,
    outbox_depth: Gauge,
    outbox_oldest: FloatGauge,
    sessions_active: Gauge,
    event_streams: Gauge,
    pool_size: Gauge,
    pool_idle: Gauge,
    write_batches: Gauge,
    batched_writes: Gauge,
}

/// The metrics of one app instance. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Metrics {
    families: Arc<Families>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every family, registered and at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "latchkey_http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latency: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "latchkey_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            latency.clone(),
        );
        let mail_sent = Counter::default();
        registry.register(
            "latchkey_mail_sent",
            "Mails handed to the relay",
            mail_sent.clone(),
        );
        let mail_failures = Family::<KindLabels, Counter>::default();
        // Every kind from the start, at zero: a rate over a series that
        // appears with its first failure misses that failure.
        for kind in FAILURE_KINDS {
            drop(mail_failures.get_or_create(&KindLabels { kind }));
        }
        registry.register(
            "latchkey_mail_failures",
            "Failed mail hand-overs, by kind (smtp_transient, smtp_permanent, timeout, \
             address, build, unreadable)",
            mail_failures.clone(),
        );
        let rate_limited = Family::<BudgetLabels, Counter>::default();
        registry.register(
            "latchkey_rate_limit_rejections",
            "Requests refused with 429, by the budget they were over",
            rate_limited.clone(),
        );
        let swept_grants = Counter::default();
        registry.register(
            "latchkey_swept_grants",
            "Grants deleted by the sweep (dead links)",
            swept_grants.clone(),
        );
        let swept_conversations = Counter::default();
        registry.register(
            "latchkey_swept_conversations",
            "Conversations deleted by the sweep (idle past the retention time)",
            swept_conversations.clone(),
        );
        let epoch_keys_erased = Counter::default();
        registry.register(
            "latchkey_epoch_keys_erased",
            "Epoch keys erased from the epoch file",
            epoch_keys_erased.clone(),
        );
        let webhooks_delivered = Counter::default();
        registry.register(
            "latchkey_webhooks_delivered",
            "Events a webhook endpoint acknowledged with a 2xx answer",
            webhooks_delivered.clone(),
        );
        let webhook_failures = Counter::default();
        registry.register(
            "latchkey_webhook_failures",
            "Failed webhook attempts (an answer other than 2xx, a timeout, no connection)",
            webhook_failures.clone(),
        );
        let webhook_oldest = FloatGauge::default();
        registry.register(
            "latchkey_webhook_oldest_undelivered_age_seconds",
            "Age of the oldest event some webhook endpoint has not acknowledged (0 when none)",
            webhook_oldest.clone(),
        );
        let outbox_depth = Gauge::default();
        registry.register(
            "latchkey_outbox_depth",
            "Mails waiting in the outbox (every instance's)",
            outbox_depth.clone(),
        );
        let outbox_oldest = FloatGauge::default();
        registry.register(
            "latchkey_outbox_oldest_pending_age_seconds",
            "Age of the oldest mail waiting in the outbox (0 when empty)",
            outbox_oldest.clone(),
        );
        let sessions_active = Gauge::default();
        registry.register(
            "latchkey_sessions_active",
            "Sessions neither idle nor expired (members' and guests')",
            sessions_active.clone(),
        );
        let event_streams = Gauge::default();
        registry.register(
            "latchkey_event_streams",
            "Server-Sent Event streams this instance holds open",
            event_streams.clone(),
        );
        let pool_size = Gauge::default();
        registry.register(
            "latchkey_db_pool_connections",
            "Open database connections of this instance",
            pool_size.clone(),
        );
        let pool_idle = Gauge::default();
        registry.register(
            "latchkey_db_pool_idle_connections",
            "Open database connections of this instance not in use",
            pool_idle.clone(),
        );
        let write_batches = Gauge::default();
        registry.register(
            "latchkey_db_write_batches",
            "Transactions committed by this instance's group-commit writer since it started",
            write_batches.clone(),
        );
        let batched_writes = Gauge::default();
        registry.register(
            "latchkey_db_batched_writes",
            "Writes those transactions held (divided by the batches: the mean batch size)",
            batched_writes.clone(),
        );
        Metrics {
            families: Arc::new(Families {
                registry,
                requests,
                latency,
                mail_sent,
                mail_failures,
                rate_limited,
                swept_grants,
                swept_conversations,
                epoch_keys_erased,
                webhooks_delivered,
                webhook_failures,
                webhook_oldest,
                outbox_depth,
                outbox_oldest,
                sessions_active,
                event_streams,
                pool_size,
                pool_idle,
                write_batches,
                batched_writes,
            }),
        }
    }

    /// One answered request. `route` is the matched route template (never
    /// the raw path, which carries handles and ids).
    pub fn request(&self, method: &axum::http::Method, route: &str, status: u16, took: Duration) {
        let method = method_label(method);
        let families = &self.families;
        families
            .requests
            .get_or_create(&RequestLabels {
                method,
                route: route.to_owned(),
                status,
            })
            .inc();
        families
            .latency
            .get_or_create(&RouteLabels {
                method,
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// A mail handed to the relay.
    pub fn mail_sent(&self) {
        self.families.mail_sent.inc();
    }

    /// A failed hand-over.
    pub fn mail_failed(&self, error: &MailError) {
        self.families
            .mail_failures
            .get_or_create(&KindLabels {
                kind: failure_kind(error),
            })
            .inc();
    }

    /// A request refused for being over `budget` (a budget's fixed name).
    pub fn rate_limited(&self, budget: &'static str) {
        self.families
            .rate_limited
            .get_or_create(&BudgetLabels { budget })
            .inc();
    }

    /// What one sweep deleted.
    pub fn swept(&self, swept: Swept) {
        self.families.swept_grants.inc_by(swept.grants);
        self.families
            .swept_conversations
            .inc_by(swept.conversations);
    }

    /// Epoch keys erased from the epoch file.
    pub fn epoch_keys_erased(&self, count: u64) {
        self.families.epoch_keys_erased.inc_by(count);
    }

    /// An event a webhook endpoint acknowledged.
    pub fn webhook_delivered(&self) {
        self.families.webhooks_delivered.inc();
    }

    /// A failed webhook attempt.
    pub fn webhook_failed(&self) {
        self.families.webhook_failures.inc();
    }

    /// How many event streams are open now.
    pub fn event_streams(&self, open: usize) {
        self.families
            .event_streams
            .set(i64::try_from(open).unwrap_or(i64::MAX));
    }

    /// The text a scrape gets: the counters, and the gauges read from the
    /// store now.
    pub async fn render(&self, store: &Store) -> Result<String, ScrapeError> {
        let now = Timestamp::now();
        let gauges = store.gauges(now).await?;
        let families = &self.families;
        families.outbox_depth.set(gauges.outbox_depth);
        let oldest_ms = gauges.outbox_oldest_created_at.map_or(0, |created| {
            now.as_ms().saturating_sub(created.as_ms()).max(0)
        });
        // Milliseconds well below 2^53: exact as a float.
        families.outbox_oldest.set(oldest_ms as f64 / 1000.0);
        let webhook_ms = gauges.webhook_oldest_undelivered.map_or(0, |created| {
            now.as_ms().saturating_sub(created.as_ms()).max(0)
        });
        families.webhook_oldest.set(webhook_ms as f64 / 1000.0);
        families.sessions_active.set(gauges.sessions_active);
        families.pool_size.set(i64::from(gauges.pool_size));
        families
            .pool_idle
            .set(i64::try_from(gauges.pool_idle).unwrap_or(i64::MAX));
        families
            .write_batches
            .set(i64::try_from(gauges.write_batches).unwrap_or(i64::MAX));
        families
            .batched_writes
            .set(i64::try_from(gauges.batched_writes).unwrap_or(i64::MAX));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &families.registry)?;
        Ok(text)
    }
}

/// The methods the API and pages answer; anything else is one label, so a
/// client cannot grow the families with made-up methods.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

const FAILURE_KINDS: [&str; 8] = [
    "address",
    "build",
    "smtp_permanent",
    "smtp_transient",
    "timeout",
    "unreadable",
    "tls_certificate",
    "tls",
];

/// A failure's kind: what an operator acts on, without the relay's text
/// (which may quote an address).
fn failure_kind(error: &MailError) -> &'static str {
    match error {
        MailError::Address => "address",
        MailError::Build => "build",
        MailError::Smtp {
            permanent: true, ..
        } => "smtp_permanent",
        MailError::Smtp {
            permanent: false, ..
        } => "smtp_transient",
        MailError::Timeout => "timeout",
        MailError::Unreadable => "unreadable",
        MailError::Certificate { .. } => "tls_certificate",
        MailError::Tls { .. } => "tls",
    }
}

#[cfg(test)]
mod tests {
    use super::{failure_kind, method_label, FAILURE_KINDS};
    use crate::mail::MailError;

    #[test]
    fn labels_come_from_fixed_sets() {
        let odd = axum::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "other");
        for error in [
            MailError::Address,
            MailError::Build,
            MailError::Timeout,
            MailError::Unreadable,
        ] {
            assert!(FAILURE_KINDS.contains(&failure_kind(&error)));
        }
        assert_eq!(
            failure_kind(&MailError::Smtp {
                permanent: false,
                code: Some("451".into())
            }),
            "smtp_transient"
        );
    }
}
