//! Webhook delivery: every app instance runs one [`Deliverer`], which
//! claims an endpoint that has events after its cursor (a lease in the
//! database, so instances on one database share the work and never send
//! to one endpoint at once), POSTs them one at a time and in order, signed
//! as the Standard Webhooks specification says, and moves the cursor after
//! each 2xx answer. A failure leaves the cursor where it is and waits
//! `webhooks.retry_base_ms` · 2^(failures − 1), at most an hour, before the
//! same event is tried again. A crash after the receiver's answer and before
//! the cursor moved sends that event again: at least once, with the same
//! `webhook-id`, which receivers use to drop repeats.
//!
//! The body names the event's type, its time, the member's handle and the
//! conversation's id, and one detail (who wrote a message, why a
//! conversation went): never a message, an address, a key or a link.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::model::Timestamp;
use crate::secrets::ServerKeys;
use crate::store::{DeletedBy, Event, EventKind, Store, StoreError};

/// How much longer than one send (`webhooks.timeout_secs`) a claim on an
/// endpoint lasts: renewed before each send, it never runs out mid-send,
/// and an instance killed mid-send holds the endpoint only this long.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// How long one claim keeps sending events before giving the endpoint
/// back (so other endpoints get their turn).
const SEND_FOR: Duration = Duration::from_secs(30);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// What one step did; tests drive delivery with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// No endpoint had a due event.
    Idle,
    /// Events went out and were acknowledged.
    Delivered,
    /// An attempt failed; the endpoint waits for its next try.
    Failed,
}

/// The webhook sender of one instance.
#[derive(Clone, Debug)]
pub struct Deliverer {
    store: Store,
    keys: Arc<ServerKeys>,
    config: Arc<Config>,
    metrics: Metrics,
    client: reqwest::Client,
}

/// Why one attempt failed, as a short class: stored and logged, never
/// the receiver's words.
fn error_class(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else {
        "request"
    }
}

impl Deliverer {
    /// A sender over these parts.
    pub fn new(
        store: Store,
        keys: Arc<ServerKeys>,
        config: Arc<Config>,
        metrics: Metrics,
    ) -> Result<Deliverer, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.webhooks.timeout)
            // A redirect is a failure to look into, not a place to send
            // signed events to.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("latchkey-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Deliverer {
            store,
            keys,
            config,
            metrics,
            client,
        })
    }

    /// Claims one endpoint and sends it what is due, for up to
    /// [`SEND_FOR`].
    pub async fn deliver_one(&self) -> Result<Delivery, StoreError> {
        let started = tokio::time::Instant::now();
        let lease_ms = millis(self.config.webhooks.timeout + LEASE_MARGIN);
        let Some(claimed) = self.store.claim_webhook(Timestamp::now(), lease_ms).await? else {
            return Ok(Delivery::Idle);
        };
        let endpoint = &claimed.endpoint;
        let secret = self.keys.webhooks.endpoint_secret(&endpoint.id);
        let mut cursor = endpoint.cursor_seq;
        let mut attempts = endpoint.attempts;
        let mut delivered = false;
        while started.elapsed() < SEND_FOR {
            let Some(event) = self.store.event_after(cursor).await? else {
                break;
            };
            let body = body(&event);
            let timestamp = Timestamp::now().as_ms().div_euclid(1000);
            let sent = self
                .client
                .post(&endpoint.url)
                .header("content-type", "application/json")
                .header("webhook-id", &event.event_id)
                .header("webhook-timestamp", timestamp.to_string())
                .header(
                    "webhook-signature",
                    secret.sign(&event.event_id, timestamp, body.as_bytes()),
                )
                .body(body)
                .send()
                .await;
            let failure = match sent {
                Ok(answer) if answer.status().is_success() => None,
                Ok(answer) => Some(format!("http_{}", answer.status().as_u16())),
                Err(error) => Some(error_class(&error).to_owned()),
            };
            if let Some(class) = failure {
                attempts += 1;
                let wait = backoff(self.config.webhooks.retry_base, attempts);
                self.metrics.webhook_failed();
                tracing::warn!(
                    webhook = %endpoint.id,
                    event = event.seq,
                    attempts,
                    retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    error = %class,
                    "webhook not delivered"
                );
                let next = Timestamp::now().plus_ms(millis(wait));
                self.store.webhook_failed(&claimed, &class, next).await?;
                return Ok(Delivery::Failed);
            }
            self.metrics.webhook_delivered();
            tracing::debug!(webhook = %endpoint.id, event = event.seq, "webhook delivered");
            if !self
                .store
                .webhook_delivered(&claimed, event.seq, Timestamp::now(), lease_ms)
                .await?
            {
                tracing::warn!(webhook = %endpoint.id, "webhook lease lost or endpoint removed");
                return Ok(Delivery::Delivered);
            }
            cursor = event.seq;
            attempts = 0;
            delivered = true;
        }
        self.store.release_webhook(&claimed).await?;
        Ok(if delivered {
            Delivery::Delivered
        } else {
            Delivery::Idle
        })
    }

    /// Runs until `shutdown` turns true: sends as events come, looks for
    /// work every `outbox.poll_ms` while there is none.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let poll = self.config.outbox.poll;
        loop {
            if *shutdown.borrow() {
                return;
            }
            // Cut short by the shutdown: a send in flight is abandoned;
            // its lease runs out and the event goes again (at least once).
            let outcome = tokio::select! {
                outcome = self.deliver_one() => outcome,
                _ = shutdown.changed() => return,
            };
            if let Err(error) = &outcome {
                tracing::error!(%error, "webhook delivery");
            }
            if !matches!(outcome, Ok(Delivery::Delivered)) {
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
}

/// Whole milliseconds of a duration, saturated.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// `base` · 2^(attempts − 1), at most [`MAX_BACKOFF`].
fn backoff(base: Duration, attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 31)).unwrap_or(31);
    base.saturating_mul(2u32.saturating_pow(exponent))
        .min(MAX_BACKOFF)
}

/// The JSON body of an event: its type, its time, and handles and ids.
pub fn body(event: &Event) -> String {
    let mut data = serde_json::Map::new();
    data.insert("member".into(), json!(event.handle.as_str()));
    if let Some(conversation) = &event.conversation_id {
        data.insert("conversation".into(), json!(conversation.to_string()));
    }
    match event.kind {
        EventKind::MessageCreated(sender) => {
            let sender = match sender {
                latchkey_core::Role::Guest => "guest",
                latchkey_core::Role::Member => "member",
            };
            data.insert("sender".into(), json!(sender));
        }
        EventKind::ConversationDeleted(by) => {
            let by = match by {
                DeletedBy::Member => "member",
                DeletedBy::Retention => "retention",
                DeletedBy::MemberDeleted => "member_deleted",
            };
            data.insert("reason".into(), json!(by));
        }
        EventKind::LinkOpened | EventKind::LinkRequested | EventKind::MemberDisabled => {}
    }
    json!({
        "type": event.kind.name(),
        "timestamp": event.created_at.rfc3339_millis(),
        "data": data,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::backoff;

    #[test]
    fn backoff_doubles_from_the_base_up_to_an_hour() {
        let base = Duration::from_secs(5);
        assert_eq!(backoff(base, 1), Duration::from_secs(5));
        assert_eq!(backoff(base, 2), Duration::from_secs(10));
        assert_eq!(backoff(base, 4), Duration::from_secs(40));
        assert_eq!(backoff(base, 40), Duration::from_secs(3600));
        assert_eq!(backoff(base, 0), Duration::from_secs(5));
    }
}
