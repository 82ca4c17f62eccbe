//! Webhook endpoints and their delivery state. Each endpoint has a cursor
//! (the last event it acknowledged) and receives the events after it one at
//! a time, in order. An instance claims an endpoint with a lease before
//! sending, so two instances never send to one endpoint at once; the cursor
//! moves only after a 2xx answer, so a crash between the answer and the
//! update sends that event again (at least once: receivers drop repeats by
//! `webhook-id`).

use super::decode::Columns;
use super::{Store, StoreError};
use crate::model::Timestamp;

const COLUMNS: &str = "id, url, created_at, cursor_seq, attempts, next_attempt_at, last_error";

/// An endpoint as the operator sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// Random, 16 bytes in hex; its secret is derived from it.
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// When it was added.
    pub created_at: Timestamp,
    /// The last event it acknowledged.
    pub cursor_seq: i64,
    /// Failed attempts at the event after the cursor.
    pub attempts: i64,
    /// Not before this is the event after the cursor tried again.
    pub next_attempt_at: Timestamp,
    /// The last failure's class (`http_500`, `timeout`, …), if the last
    /// attempt failed.
    pub last_error: Option<String>,
}

/// An endpoint this instance holds the lease of.
#[derive(Clone, Debug)]
pub struct ClaimedEndpoint {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// The lease's token: every update checks it.
    pub lease_token: String,
}

fn endpoint(row: &sqlx::any::AnyRow) -> Result<WebhookEndpoint, StoreError> {
    let c = Columns::of("webhook_endpoints", row);
    Ok(WebhookEndpoint {
        id: c.text("id")?,
        url: c.text("url")?,
        created_at: c.time("created_at")?,
        cursor_seq: c.count("cursor_seq")?,
        attempts: c.count("attempts")?,
        next_attempt_at: c.time("next_attempt_at")?,
        last_error: c.opt_text("last_error")?,
    })
}

impl Store {
    /// Adds an endpoint. It receives the events from now on: its cursor
    /// starts at the newest event.
    pub async fn add_webhook(
        &self,
        id: &str,
        url: &str,
        now: Timestamp,
    ) -> Result<WebhookEndpoint, StoreError> {
        let row = sqlx::query(&format!(
            "INSERT INTO webhook_endpoints (id, url, created_at, cursor_seq, next_attempt_at) \
             VALUES ($1, $2, $3, (SELECT COALESCE(MAX(seq), 0) FROM events), $3) \
             RETURNING {COLUMNS}"
        ))
        .bind(id)
        .bind(url)
        .bind(now.as_ms())
        .fetch_one(&self.pool)
        .await?;
        endpoint(&row)
    }

    /// Every endpoint, oldest first.
    pub async fn webhooks(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM webhook_endpoints ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(endpoint)
        .collect()
    }

    /// Removes an endpoint; returns whether it existed. A delivery in
    /// flight finishes, and its cursor update then finds no row.
    pub async fn remove_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Claims the endpoint that has waited longest among those with an
    /// event after their cursor, due, and not leased by another instance.
    pub async fn claim_webhook(
        &self,
        now: Timestamp,
        lease_ms: i64,
    ) -> Result<Option<ClaimedEndpoint>, StoreError> {
        let token = crate::random::random_hex();
        let claimed = sqlx::query(&format!(
            "UPDATE webhook_endpoints SET claim_token = $1, claimed_until = $2 \
             WHERE id = (SELECT id FROM webhook_endpoints w \
                         WHERE next_attempt_at <= $3 \
                         AND (claimed_until IS NULL OR claimed_until <= $3) \
                         AND EXISTS (SELECT 1 FROM events e WHERE e.seq > w.cursor_seq) \
                         ORDER BY next_attempt_at LIMIT 1 {}) \
             AND (claimed_until IS NULL OR claimed_until <= $3) \
             RETURNING {COLUMNS}",
            self.dialect.skip_locked()
        ))
        .bind(&token)
        .bind(now.plus_ms(lease_ms).as_ms())
        .bind(now.as_ms())
        .fetch_optional(&self.pool)
        .await?;
        claimed
            .map(|row| {
                Ok(ClaimedEndpoint {
                    endpoint: endpoint(&row)?,
                    lease_token: token.clone(),
                })
            })
            .transpose()
    }

    /// Moves the cursor past `seq` (acknowledged), clears the retry state
    /// and renews the lease for `lease_ms`, so the next event follows at
    /// once. Returns false if the lease is lost (or the endpoint removed).
    pub async fn webhook_delivered(
        &self,
        claimed: &ClaimedEndpoint,
        seq: i64,
        now: Timestamp,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET cursor_seq = $3, attempts = 0, last_error = NULL, \
             next_attempt_at = $4, claimed_until = $5 \
             WHERE id = $1 AND claim_token = $2 AND cursor_seq < $3",
        )
        .bind(&claimed.endpoint.id)
        .bind(&claimed.lease_token)
        .bind(seq)
        .bind(now.as_ms())
        .bind(now.plus_ms(lease_ms).as_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a failed attempt and gives the endpoint back until
    /// `next_attempt_at`.
    pub async fn webhook_failed(
        &self,
        claimed: &ClaimedEndpoint,
        error_class: &str,
        next_attempt_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE webhook_endpoints SET attempts = attempts + 1, last_error = $3, \
             next_attempt_at = $4, claim_token = NULL, claimed_until = NULL \
             WHERE id = $1 AND claim_token = $2",
        )
        .bind(&claimed.endpoint.id)
        .bind(&claimed.lease_token)
        .bind(error_class)
        .bind(next_attempt_at.as_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives the lease back (nothing more to send now).
    pub async fn release_webhook(&self, claimed: &ClaimedEndpoint) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE webhook_endpoints SET claim_token = NULL, claimed_until = NULL \
             WHERE id = $1 AND claim_token = $2",
        )
        .bind(&claimed.endpoint.id)
        .bind(&claimed.lease_token)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// When the oldest event some endpoint has not acknowledged was
    /// written; none when every endpoint is up to date (or there is none).
    pub async fn oldest_undelivered_event(&self) -> Result<Option<Timestamp>, StoreError> {
        let (oldest,): (i64,) = sqlx::query_as(
            "SELECT COALESCE(MIN(created_at), -1) FROM events \
             WHERE seq > (SELECT COALESCE(MIN(cursor_seq), (SELECT COALESCE(MAX(seq), 0) FROM events)) \
                          FROM webhook_endpoints)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((oldest >= 0).then(|| Timestamp::from_ms(oldest)))
    }
}

/// Deletes the events every endpoint has acknowledged that are older
/// than `keep_ms` (a later reader resuming from a recent number still
/// finds them), and every event older than `give_up_ms`, acknowledged
/// or not, so that an endpoint that never answers does not keep the
/// table growing: it then misses those. Returns how many went.
pub(super) async fn sweep_events(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    now: Timestamp,
    keep_ms: i64,
    give_up_ms: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM events WHERE created_at <= $2 OR (created_at <= $1 \
         AND seq <= (SELECT COALESCE(MIN(cursor_seq), (SELECT COALESCE(MAX(seq), 0) FROM events)) \
                     FROM webhook_endpoints))",
    )
    .bind(now.minus_ms(keep_ms).as_ms())
    .bind(now.minus_ms(give_up_ms).as_ms())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::events::{record, EventKind, Subject};
    use crate::store::MemberId;

    const BOB: &str = "b0b0000000000000000000000000000b";
    const HOUR: i64 = 60 * 60 * 1000;

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        (dir, store)
    }

    async fn event(store: &Store, at: Timestamp) {
        let mut tx = store.pool.begin().await.unwrap();
        let subject = Subject {
            member_id: MemberId::parse(BOB).unwrap(),
            handle: "bob".into(),
            conversation_id: None,
        };
        record(
            &mut tx,
            store.dialect,
            &[(EventKind::MemberDisabled, subject)],
            at,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    async fn sweep(store: &Store, now: Timestamp) -> u64 {
        let mut tx = store.pool.begin().await.unwrap();
        let swept = sweep_events(&mut tx, now, 24 * HOUR, 7 * 24 * HOUR)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        swept
    }

    #[tokio::test]
    async fn one_instance_at_a_time_and_the_cursor_moves_on_success_only() {
        let (_dir, store) = store().await;
        let t0 = Timestamp::from_ms(10 * HOUR);
        event(&store, t0).await;
        // A new endpoint starts after what happened before it.
        let endpoint = store
            .add_webhook(BOB, "https://example.org/h", t0)
            .await
            .unwrap();
        assert_eq!(endpoint.cursor_seq, 1);
        assert!(store.claim_webhook(t0, 1000).await.unwrap().is_none());
        event(&store, t0).await;
        event(&store, t0).await;
        let claimed = store.claim_webhook(t0, 1000).await.unwrap().unwrap();
        // Leased: no second instance gets it until the lease runs out.
        assert!(store
            .claim_webhook(t0.plus_ms(999), 1000)
            .await
            .unwrap()
            .is_none());
        let next = store
            .event_after(claimed.endpoint.cursor_seq)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(next.seq, 2);
        assert!(store
            .webhook_delivered(&claimed, 2, t0, 1000)
            .await
            .unwrap());
        store
            .webhook_failed(&claimed, "http_500", t0.plus_ms(5000))
            .await
            .unwrap();
        let listed = &store.webhooks().await.unwrap()[0];
        assert_eq!((listed.cursor_seq, listed.attempts), (2, 1));
        assert_eq!(listed.last_error.as_deref(), Some("http_500"));
        // Not due before its next attempt, then free to claim.
        assert!(store
            .claim_webhook(t0.plus_ms(4999), 1000)
            .await
            .unwrap()
            .is_none());
        let again = store
            .claim_webhook(t0.plus_ms(5000), 1000)
            .await
            .unwrap()
            .unwrap();
        // The old lease's token no longer moves anything.
        assert!(!store
            .webhook_delivered(&claimed, 3, t0, 1000)
            .await
            .unwrap());
        assert!(store.webhook_delivered(&again, 3, t0, 1000).await.unwrap());
        assert_eq!(store.webhooks().await.unwrap()[0].attempts, 0);
        assert_eq!(store.oldest_undelivered_event().await.unwrap(), None);
    }

    #[tokio::test]
    async fn the_sweep_keeps_what_an_endpoint_lacks_and_numbers_never_go_back() {
        let (_dir, store) = store().await;
        let t0 = Timestamp::from_ms(10 * HOUR);
        store
            .add_webhook(BOB, "https://example.org/h", t0)
            .await
            .unwrap();
        for _ in 0..3 {
            event(&store, t0).await;
        }
        assert_eq!(store.oldest_undelivered_event().await.unwrap(), Some(t0));
        // A day later: nothing went out, so nothing goes.
        assert_eq!(sweep(&store, t0.plus_ms(25 * HOUR)).await, 0);
        let claimed = store.claim_webhook(t0, 1000).await.unwrap().unwrap();
        assert!(store
            .webhook_delivered(&claimed, 2, t0, 1000)
            .await
            .unwrap());
        // Acknowledged but recent: kept for a reader resuming from it.
        assert_eq!(sweep(&store, t0.plus_ms(HOUR)).await, 0);
        assert_eq!(sweep(&store, t0.plus_ms(25 * HOUR)).await, 2);
        // A week on, even what the endpoint never took goes.
        assert_eq!(sweep(&store, t0.plus_ms(8 * 24 * HOUR)).await, 1);
        assert!(store.events_after(0, 10).await.unwrap().is_empty());
        event(&store, t0).await;
        assert_eq!(store.events_after(0, 10).await.unwrap()[0].seq, 4);
    }
}
