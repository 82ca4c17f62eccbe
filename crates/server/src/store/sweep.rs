//! Periodic clean-up: dead grants, sessions, login and sign-in attempts,
//! invitations nobody took up, forgotten spent-grant hashes, mail-log rows
//! past their window, events every webhook endpoint has, and conversations
//! idle past the retention time.

use super::decode::Columns;
use super::events::DeletedBy;
use super::grants::destroy_grant;
use super::webhooks::sweep_events;
use super::{Store, StoreError};
use crate::model::{SpentReason, Timestamp};

/// How long a provider account may stay linked to a member-to-be with no
/// invitation (a first sign-in links, then invites; an enrollment takes
/// at most its invitation's half hour).
const ORPHAN_OIDC_ACCOUNT_MS: i64 = 24 * 60 * 60 * 1000;

/// How long an event is kept after every webhook endpoint acknowledged it:
/// a later reader resuming from a number it saw (a page's event stream)
/// finds the events after it for this long.
const EVENT_KEEP_MS: i64 = 24 * 60 * 60 * 1000;

/// How long an event waits for an endpoint that does not acknowledge it.
/// Past this it is deleted all the same (the endpoint misses it), so an
/// endpoint that is down for good cannot grow the table without end.
const EVENT_GIVE_UP_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// What one sweep removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Grants past their grace window or expiry.
    pub grants: u64,
    /// Conversations idle past the retention time.
    pub conversations: u64,
    /// Events every webhook endpoint has (or that are too old to keep).
    pub events: u64,
}

impl Store {
    /// Runs one sweep. `retention_ms` 0 keeps conversations forever.
    pub async fn sweep(
        &self,
        now: Timestamp,
        grace_ms: i64,
        spent_memory_ms: i64,
        retention_ms: i64,
    ) -> Result<Swept, StoreError> {
        let mut swept = Swept::default();
        let dead = sqlx::query(
            "SELECT id_hash, redeemed_at FROM grants \
             WHERE (redeemed_at IS NOT NULL AND redeemed_at <= $1) \
                OR (redeemed_at IS NULL AND expires_at <= $2)",
        )
        .bind(now.minus_ms(grace_ms).as_ms())
        .bind(now.as_ms())
        .fetch_all(&self.pool)
        .await?;
        for row in dead {
            let c = Columns::of("grants", &row);
            let id_hash = c.bytes("id_hash")?;
            let reason = if c.opt_time("redeemed_at")?.is_some() {
                SpentReason::Used
            } else {
                SpentReason::Expired
            };
            let mut tx = self.pool.begin().await?;
            destroy_grant(&mut tx, &id_hash, reason, now.plus_ms(spent_memory_ms)).await?;
            tx.commit().await?;
            swept.grants += 1;
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM spent_grants WHERE forget_at <= $1")
            .bind(now.as_ms())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at + idle_ms <= $1")
            .bind(now.as_ms())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM login_attempts WHERE expires_at <= $1")
            .bind(now.as_ms())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM oidc_attempts WHERE expires_at <= $1")
            .bind(now.as_ms())
            .execute(&mut *tx)
            .await?;
        // An invitation nobody took up keeps a name and a sealed address
        // only until it could no longer be used; a provider account linked
        // to a member that never enrolled goes with it, a day after it was
        // linked (a first sign-in links before it invites).
        sqlx::query("DELETE FROM invites WHERE expires_at <= $1")
            .bind(now.as_ms())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM oidc_accounts WHERE created_at <= $1 \
             AND member_id NOT IN (SELECT id FROM members) \
             AND member_id NOT IN (SELECT member_id FROM invites)",
        )
        .bind(now.minus_ms(ORPHAN_OIDC_ACCOUNT_MS).as_ms())
        .execute(&mut *tx)
        .await?;
        // Mail counted in no budget any more: what a thief could learn from
        // the log (when someone got mail) is kept no longer than it is used.
        sqlx::query("DELETE FROM mail_log WHERE forget_at <= $1")
            .bind(now.as_ms())
            .execute(&mut *tx)
            .await?;
        swept.events = sweep_events(&mut tx, now, EVENT_KEEP_MS, EVENT_GIVE_UP_MS).await?;
        tx.commit().await?;
        // Ended budget windows (outside the transaction: instances keep
        // upserting into this table, and its rows need no company).
        self.sweep_budgets(now).await?;
        if retention_ms > 0 {
            let cutoff = now.minus_ms(retention_ms);
            let idle = sqlx::query("SELECT id FROM conversations WHERE last_activity_at <= $1")
                .bind(cutoff.as_ms())
                .fetch_all(&self.pool)
                .await?;
            for row in idle {
                let id = Columns::of("conversations", &row).conversation_id("id")?;
                if self
                    .delete_conversation_idle_since(&id, cutoff, DeletedBy::Retention)
                    .await?
                {
                    swept.conversations += 1;
                }
            }
        }
        // Also clears what sent mail and ended sessions left in the WAL.
        self.scrub_wal().await?;
        Ok(swept)
    }
}
