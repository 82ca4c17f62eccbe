//! The outbox: e-mails waiting to be sent, written in the same transaction
//! as what they announce. A worker claims a row with a lease, sends, then
//! deletes it; a failed send is retried later; a worker that dies mid-send
//! loses its lease and another worker sends the mail again (at least once).

use super::{Store, StoreError};

/// A mail to queue. The payload is sealed with the outbox key, its context
/// the row id, so a row's payload cannot be replayed under another id.
#[derive(Clone, Debug)]
pub struct NewMail {
    /// Row id (hex).
    pub id: String,
    /// Sealed payload (recipient, kind, link).
    pub payload_sealed: Vec<u8>,
}

/// A mail this worker holds the lease for.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClaimedMail {
    /// Row id.
    pub id: String,
    /// Sealed payload.
    pub payload_sealed: Vec<u8>,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// Proves the lease is still ours when completing.
    pub lease_token: String,
}

pub(super) async fn insert_mail(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    conversation_id: Option<&str>,
    mail: &NewMail,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO outbox (id, conversation_id, payload_sealed, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(&mail.id)
    .bind(conversation_id)
    .bind(&mail.payload_sealed)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Claims the oldest due mail whose lease (if any) has run out.
    pub async fn claim_mail(
        &self,
        now: i64,
        lease_ms: i64,
    ) -> Result<Option<ClaimedMail>, StoreError> {
        let token = crate::random::random_hex();
        let claimed = sqlx::query_as(&format!(
            "UPDATE outbox SET lease_token = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM outbox \
                         WHERE next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until <= $3) \
                         ORDER BY next_attempt_at LIMIT 1 {}) \
             RETURNING id, payload_sealed, attempts, lease_token",
            self.dialect.skip_locked()
        ))
        .bind(&token)
        .bind(now.saturating_add(lease_ms))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(claimed)
    }

    /// Deletes a sent mail, if our lease still holds. Returns false if
    /// another worker took the row over (it will send it again).
    pub async fn complete_mail(&self, mail: &ClaimedMail) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM outbox WHERE id = $1 AND lease_token = $2")
            .bind(&mail.id)
            .bind(&mail.lease_token)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives a failed mail back, to be tried again at `next_attempt_at`.
    pub async fn retry_mail(
        &self,
        mail: &ClaimedMail,
        next_attempt_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET lease_token = NULL, lease_until = NULL, next_attempt_at = $3 \
             WHERE id = $1 AND lease_token = $2",
        )
        .bind(&mail.id)
        .bind(&mail.lease_token)
        .bind(next_attempt_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
