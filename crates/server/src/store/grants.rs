//! Grants: one per link. The row holds SHA-256(grant id) and the
//! conversation key wrapped under the link; it is destroyed after the grace
//! window or at expiry, leaving only the hash in `spent_grants` so that the
//! link answers "used up" rather than "unknown".

use latchkey_core::{ConversationId, Role};
use sqlx::any::AnyRow;

use super::decode::Columns;
use super::events::{self, conversation_subject, EventKind};
use super::receipts::record_mark;
use super::{flag, Store, StoreError, Unique};
use crate::model::{
    GrantState, NewGrant, Redeemed, SealedGrant, SpentReason, Timestamp, UnsealedGrant,
};

pub(super) async fn insert_grant(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    conversation_id: &ConversationId,
    grant: &NewGrant,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        // A link carries the conversation as it stands when it is made
        // (this transaction's message included): its first redeem is the
        // guest's read mark up to there.
        "INSERT INTO grants (id_hash, conversation_id, wrapped_key, emailed, kind, created_at, \
         expires_at, epoch, carries_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
         (SELECT last_seq FROM conversations WHERE id = $2))",
    )
    .bind(grant.id_hash.as_slice())
    .bind(conversation_id.to_string())
    .bind(&grant.sealed_key)
    .bind(flag(grant.emailed))
    .bind(grant.kind.as_str())
    .bind(now.as_ms())
    .bind(grant.expires_at.as_ms())
    .bind(epoch_column(grant.epoch)?)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::conflict_as(Unique::Grant))?;
    Ok(())
}

/// A live grant row, as far as judging it needs.
struct GrantRow {
    redeemed: Redeemed,
    expires_at: Timestamp,
    redeemed_at: Option<Timestamp>,
}

/// A grant with its conversation's guest address index, in one query: the
/// redeem compares the address before it stamps anything.
const SELECT_GRANT: &str = "SELECT g.conversation_id, g.wrapped_key, g.epoch, g.expires_at, \
     g.redeemed_at, c.guest_email_index FROM grants g \
     JOIN conversations c ON c.id = g.conversation_id WHERE g.id_hash = $1";

/// Epochs are counted from 1970 in spans of a second or more: far inside
/// both types.
pub(super) fn epoch_column(epoch: u64) -> Result<i64, StoreError> {
    i64::try_from(epoch).map_err(|_| StoreError::Corrupt {
        table: "grants",
        column: "epoch",
        problem: "is beyond 2^63",
    })
}

fn grant_row(row: &AnyRow) -> Result<GrantRow, StoreError> {
    let c = Columns::of("grants", row);
    let epoch = c.opt_count("epoch")?;
    Ok(GrantRow {
        redeemed: Redeemed {
            conversation_id: c.conversation_id("conversation_id")?,
            sealed_key: c.bytes("wrapped_key")?,
            epoch,
            guest_email_index: c.hash32("guest_email_index")?,
        },
        expires_at: c.time("expires_at")?,
        redeemed_at: c.opt_time("redeemed_at")?,
    })
}

impl Store {
    /// Looks at a grant without changing anything (the landing page, before
    /// the guest clicks; the redeem, before it compares the address).
    pub async fn peek_grant(
        &self,
        id_hash: &[u8],
        now: Timestamp,
        grace_ms: i64,
    ) -> Result<GrantState, StoreError> {
        let row = sqlx::query(SELECT_GRANT)
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(judge(grant_row(&row)?, now, grace_ms)),
            None => self.spent_state(id_hash).await,
        }
    }

    /// Redeems a grant for the guest whose address has `guest_email_index`:
    /// the first redeem starts the grace window and confirms the guest's
    /// address; later ones inside the window answer the same. A dead grant
    /// is destroyed on the spot. The domain compares the address first;
    /// the stamp compares it again, so no grant is ever stamped used for
    /// another address (the returned state then carries the stored index,
    /// which does not match).
    pub async fn redeem_grant(
        &self,
        id_hash: &[u8],
        guest_email_index: &[u8; 32],
        now: Timestamp,
        grace_ms: i64,
        spent_memory_ms: i64,
    ) -> Result<GrantState, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Stamps the first redeem; on PostgreSQL this also locks the row.
        // Stamping it is opening the link: the event.
        let stamped = sqlx::query(
            "UPDATE grants SET redeemed_at = $2 \
             WHERE id_hash = $1 AND redeemed_at IS NULL AND expires_at > $2 \
             AND conversation_id IN \
             (SELECT id FROM conversations WHERE guest_email_index = $3)",
        )
        .bind(id_hash)
        .bind(now.as_ms())
        .bind(guest_email_index.as_slice())
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(SELECT_GRANT)
            .bind(id_hash)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            drop(tx);
            return self.spent_state(id_hash).await;
        };
        let state = judge(grant_row(&row)?, now, grace_ms);
        match &state {
            // Another address (only if the domain's comparison was
            // skipped): nothing stamped above, nothing confirmed here.
            GrantState::Valid(redeemed) if redeemed.guest_email_index != *guest_email_index => {}
            GrantState::Valid(redeemed) => {
                sqlx::query("UPDATE conversations SET confirmed = $2 WHERE id = $1")
                    .bind(redeemed.conversation_id.to_string())
                    .bind(flag(true))
                    .execute(&mut *tx)
                    .await?;
                if stamped.rows_affected() == 1 {
                    // Opening the link is the guest reading what it carried.
                    let carried: (i64,) =
                        sqlx::query_as("SELECT carries_seq FROM grants WHERE id_hash = $1")
                            .bind(id_hash)
                            .fetch_one(&mut *tx)
                            .await?;
                    record_mark(
                        &mut tx,
                        &redeemed.conversation_id,
                        Role::Guest,
                        carried.0,
                        now,
                    )
                    .await?;
                    if let Some(subject) =
                        conversation_subject(&mut tx, &redeemed.conversation_id).await?
                    {
                        events::record(
                            &mut tx,
                            self.dialect,
                            &[(EventKind::LinkOpened, subject)],
                            now,
                        )
                        .await?;
                    }
                }
            }
            GrantState::Spent(reason) => {
                destroy_grant(&mut tx, id_hash, *reason, now.plus_ms(spent_memory_ms)).await?;
            }
            GrantState::Unknown => {}
        }
        tx.commit().await?;
        if matches!(state, GrantState::Spent(_)) {
            self.scrub_wal().await?;
        }
        Ok(state)
    }

    async fn spent_state(&self, id_hash: &[u8]) -> Result<GrantState, StoreError> {
        let spent = sqlx::query("SELECT reason FROM spent_grants WHERE id_hash = $1")
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = spent else {
            return Ok(GrantState::Unknown);
        };
        let c = Columns::of("spent_grants", &row);
        let reason = SpentReason::parse(&c.text("reason")?)
            .ok_or_else(|| c.corrupt("reason", "is neither 'used' nor 'expired'"))?;
        Ok(GrantState::Spent(reason))
    }
}

fn judge(row: GrantRow, now: Timestamp, grace_ms: i64) -> GrantState {
    match row.redeemed_at {
        Some(at) if at.plus_ms(grace_ms) > now => GrantState::Valid(row.redeemed),
        Some(_) => GrantState::Spent(SpentReason::Used),
        None if row.expires_at > now => GrantState::Valid(row.redeemed),
        None => GrantState::Spent(SpentReason::Expired),
    }
}

/// Deletes a dead grant and remembers its hash only.
pub(super) async fn destroy_grant(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id_hash: &[u8],
    reason: SpentReason,
    forget_at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM grants WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO spent_grants (id_hash, reason, forget_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id_hash) DO NOTHING",
    )
    .bind(id_hash)
    .bind(reason.as_str())
    .bind(forget_at.as_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Grants stored before epoch keys (no epoch yet).
    pub async fn unsealed_grants(&self) -> Result<Vec<UnsealedGrant>, StoreError> {
        let rows = sqlx::query("SELECT id_hash, wrapped_key FROM grants WHERE epoch IS NULL")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let c = Columns::of("grants", row);
                Ok(UnsealedGrant {
                    id_hash: c.hash32("id_hash")?,
                    wrapped_key: c.bytes("wrapped_key")?,
                })
            })
            .collect()
    }

    /// Stores a grant's wrapped key sealed under `epoch`; does nothing if
    /// another instance sealed it first.
    pub async fn seal_grant(
        &self,
        id_hash: &[u8; 32],
        epoch: u64,
        sealed_key: &[u8],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE grants SET wrapped_key = $2, epoch = $3 WHERE id_hash = $1 AND epoch IS NULL",
        )
        .bind(id_hash.as_slice())
        .bind(sealed_key)
        .bind(epoch_column(epoch)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records the check value of the epoch file's key for `epoch`, unless
    /// a later epoch's is recorded already.
    pub async fn record_epoch_check(
        &self,
        epoch: u64,
        check_value: &[u8; 32],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO epoch_check (singleton, epoch, check_value) VALUES (1, $1, $2) \
             ON CONFLICT (singleton) DO UPDATE SET epoch = excluded.epoch, \
             check_value = excluded.check_value WHERE epoch_check.epoch < excluded.epoch",
        )
        .bind(epoch_column(epoch)?)
        .bind(check_value.as_slice())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The unexpired grant sealed in the latest epoch, if there is one.
    pub async fn newest_live_sealed_grant(
        &self,
        now: Timestamp,
    ) -> Result<Option<SealedGrant>, StoreError> {
        let row = sqlx::query(
            "SELECT id_hash, epoch, wrapped_key FROM grants \
             WHERE epoch IS NOT NULL AND expires_at > $1 ORDER BY epoch DESC LIMIT 1",
        )
        .bind(now.as_ms())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let c = Columns::of("grants", &row);
        Ok(Some(SealedGrant {
            id_hash: c.hash32("id_hash")?,
            epoch: c
                .opt_count("epoch")?
                .ok_or_else(|| c.corrupt("epoch", "is NULL"))?,
            sealed_key: c.bytes("wrapped_key")?,
        }))
    }

    /// The recorded epoch and check value, if any.
    pub async fn epoch_check(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let row = sqlx::query("SELECT epoch, check_value FROM epoch_check WHERE singleton = 1")
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let c = Columns::of("epoch_check", &row);
        let epoch = c
            .opt_count("epoch")?
            .ok_or_else(|| c.corrupt("epoch", "is NULL"))?;
        Ok(Some((epoch, c.bytes("check_value")?)))
    }
}
