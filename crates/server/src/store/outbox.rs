//! The outbox: e-mails waiting to be sent, written in the same transaction
//! as what they announce. A worker claims a row with a lease, sends, then
//! deletes it; a failed send is retried later; a worker that dies mid-send
//! loses its lease and another worker sends the mail again (at least once).

use latchkey_core::ConversationId;

use super::decode::Columns;
use super::{Dialect, Store, StoreError};
use crate::model::{ClaimedMail, MailBudget, NewMail, Timestamp};

/// A budget's mails in its window: scope, key hash, since.
pub(super) const COUNT_MAIL_LOG: &str = "SELECT COUNT(*) AS sent FROM mail_log \
                                         WHERE scope = $1 AND key_hash = $2 AND sent_at > $3";

/// One mail against a budget: scope, key hash, now, forget at.
pub(super) const LOG_MAIL: &str =
    "INSERT INTO mail_log (scope, key_hash, sent_at, forget_at) VALUES ($1, $2, $3, $4)";

/// A mail into the outbox, due now: id, conversation, sealed payload, now.
pub(super) const QUEUE_MAIL: &str = "INSERT INTO outbox (id, conversation_id, payload_sealed, \
                                     next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $4)";

/// Queues a mail if every budget it spends has room, and logs it against
/// each; returns whether it was queued. Runs inside the caller's business
/// transaction, so every instance sharing the database counts the same
/// rows, and a mail over a budget leaves what it announced stored.
pub(super) async fn queue_mail(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    dialect: Dialect,
    conversation_id: Option<&ConversationId>,
    mail: &NewMail,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let mut budgets: Vec<&MailBudget> = mail.budgets.iter().filter(|b| b.limit > 0).collect();
    if dialect == Dialect::Postgres {
        // Under READ COMMITTED two transactions could both count the last
        // free place and both take it. A transaction-scoped advisory lock
        // per key serialises them; taken in one order everywhere, so two
        // mails sharing keys cannot deadlock. (SQLite needs none: every
        // caller's first statement writes, which takes the one write lock.)
        budgets.sort_by_key(|b| lock_id(b));
        for budget in &budgets {
            sqlx::query("SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock($1)) AS l")
                .bind(lock_id(budget))
                .execute(&mut **tx)
                .await?;
        }
    }
    let since = now.minus_ms(mail.window_ms);
    for budget in &budgets {
        let (sent,): (i64,) = sqlx::query_as(COUNT_MAIL_LOG)
            .bind(budget.scope.as_str())
            .bind(budget.key_hash.as_slice())
            .bind(since.as_ms())
            .fetch_one(&mut **tx)
            .await?;
        if sent >= i64::from(budget.limit) {
            return Ok(false);
        }
    }
    for budget in &budgets {
        sqlx::query(LOG_MAIL)
            .bind(budget.scope.as_str())
            .bind(budget.key_hash.as_slice())
            .bind(now.as_ms())
            .bind(now.plus_ms(mail.window_ms).as_ms())
            .execute(&mut **tx)
            .await?;
    }
    insert_mail(tx, conversation_id, mail, now).await?;
    Ok(true)
}

/// Takes the budget locks of every mail a transaction may queue, in one
/// statement and one order (see [`queue_mail`]), for the post writer
/// (`pg_writer.rs`): a batch queues several mails, and taking each one's
/// locks in turn would not be one order across the batch (two instances'
/// batches could deadlock). Locking a mail that is then not queued only
/// serialises a little more.
pub(super) async fn lock_budgets_pg(
    tx: &mut sqlx::PgConnection,
    mails: &[&NewMail],
) -> Result<(), StoreError> {
    let mut ids: Vec<i64> = mails
        .iter()
        .flat_map(|m| m.budgets.iter().filter(|b| b.limit > 0).map(lock_id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(());
    }
    // unnest walks the sorted array in order, one lock per element.
    sqlx::query::<sqlx::Postgres>(
        "SELECT COUNT(pg_advisory_xact_lock(k)) AS locked FROM unnest($1::int8[]) AS k",
    )
    .bind(&ids)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// [`queue_mail`] on PostgreSQL's own connection, for the post writer
/// (`pg_writer.rs`), which runs outside sqlx's `Any` driver: the same
/// counts and rows, in one statement (a count per budget, then the log
/// rows and the mail only if none is spent). The caller holds the budget
/// locks ([`lock_budgets_pg`]).
pub(super) async fn queue_mail_pg(
    tx: &mut sqlx::PgConnection,
    conversation_id: Option<&ConversationId>,
    mail: &NewMail,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let budgets: Vec<&MailBudget> = mail.budgets.iter().filter(|b| b.limit > 0).collect();
    let scopes: Vec<&str> = budgets.iter().map(|b| b.scope.as_str()).collect();
    let keys: Vec<&[u8]> = budgets.iter().map(|b| b.key_hash.as_slice()).collect();
    let limits: Vec<i64> = budgets.iter().map(|b| i64::from(b.limit)).collect();
    let (queued,): (i64,) = sqlx::query_as(
        "WITH b AS (SELECT * FROM unnest($1::text[], $2::bytea[], $3::int8[]) \
           AS b(scope, key_hash, spend_limit)), \
         spent AS (SELECT 1 FROM b WHERE (SELECT COUNT(*) FROM mail_log l \
           WHERE l.scope = b.scope AND l.key_hash = b.key_hash AND l.sent_at > $4) \
           >= b.spend_limit LIMIT 1), \
         logged AS (INSERT INTO mail_log (scope, key_hash, sent_at, forget_at) \
           SELECT scope, key_hash, $5, $6 FROM b WHERE NOT EXISTS (SELECT 1 FROM spent)), \
         queued AS (INSERT INTO outbox (id, conversation_id, payload_sealed, \
           next_attempt_at, created_at) SELECT $7, $8, $9, $5, $5 \
           WHERE NOT EXISTS (SELECT 1 FROM spent) RETURNING 1) \
         SELECT COUNT(*) FROM queued",
    )
    .bind(&scopes)
    .bind(&keys)
    .bind(&limits)
    .bind(now.minus_ms(mail.window_ms).as_ms())
    .bind(now.as_ms())
    .bind(now.plus_ms(mail.window_ms).as_ms())
    .bind(&mail.id)
    .bind(conversation_id.map(ToString::to_string))
    .bind(&mail.payload_sealed)
    .fetch_one(&mut *tx)
    .await?;
    Ok(queued == 1)
}

/// The advisory-lock number of a budget's key: its first eight bytes, the
/// scope mixed in (the hash is uniform, so collisions only serialise).
fn lock_id(budget: &MailBudget) -> i64 {
    let [a, b, c, d, e, f, g, h, ..] = budget.key_hash;
    i64::from_be_bytes([a, b, c, d, e, f, g, h]) ^ budget.scope as i64
}

async fn insert_mail(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    conversation_id: Option<&ConversationId>,
    mail: &NewMail,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(QUEUE_MAIL)
        .bind(&mail.id)
        .bind(conversation_id.map(ToString::to_string))
        .bind(&mail.payload_sealed)
        .bind(now.as_ms())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Claims the oldest due mail whose lease (if any) has run out.
    pub async fn claim_mail(
        &self,
        now: Timestamp,
        lease_ms: i64,
    ) -> Result<Option<ClaimedMail>, StoreError> {
        let token = crate::random::random_hex();
        let claimed = sqlx::query(&format!(
            "UPDATE outbox SET lease_token = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM outbox \
                         WHERE next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until <= $3) \
                         ORDER BY next_attempt_at LIMIT 1 {}) \
             RETURNING id, payload_sealed, attempts, lease_token",
            self.dialect.skip_locked()
        ))
        .bind(&token)
        .bind(now.plus_ms(lease_ms).as_ms())
        .bind(now.as_ms())
        .fetch_optional(&self.pool)
        .await?;
        claimed
            .map(|row| {
                let c = Columns::of("outbox", &row);
                Ok(ClaimedMail {
                    id: c.text("id")?,
                    payload_sealed: c.bytes("payload_sealed")?,
                    attempts: c.count("attempts")?,
                    lease_token: c.text("lease_token")?,
                })
            })
            .transpose()
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
        next_attempt_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET lease_token = NULL, lease_until = NULL, next_attempt_at = $3 \
             WHERE id = $1 AND lease_token = $2",
        )
        .bind(&mail.id)
        .bind(&mail.lease_token)
        .bind(next_attempt_at.as_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
