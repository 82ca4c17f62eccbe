//! Grants: one per link. The row holds SHA-256(grant id) and the
//! conversation key wrapped under the link; it is destroyed after the grace
//! window or at expiry, leaving only the hash in `spent_grants` so that the
//! link answers "used up" rather than "unknown".

use super::{flag, Store, StoreError, Unique};

/// Why a grant exists: coalescing treats them differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantKind {
    /// The guest's first link, mailed when he writes to a member.
    FirstContact,
    /// A link with a member's message.
    Message,
    /// A link answering the guest's new-link request.
    Requested,
    /// A link the member hands over himself (never e-mailed).
    Manual,
}

impl GrantKind {
    fn as_str(self) -> &'static str {
        match self {
            GrantKind::FirstContact => "first_contact",
            GrantKind::Message => "message",
            GrantKind::Requested => "requested",
            GrantKind::Manual => "manual",
        }
    }
}

/// A grant to store.
#[derive(Clone, Debug)]
pub struct NewGrant {
    /// Why it exists.
    pub kind: GrantKind,
    /// SHA-256 of the grant id.
    pub id_hash: Vec<u8>,
    /// The conversation key wrapped under the link key.
    pub wrapped_key: Vec<u8>,
    /// The link goes out by e-mail (else the member delivers it himself).
    pub emailed: bool,
    /// When an unredeemed link dies.
    pub expires_at: i64,
}

/// A redeemable grant.
#[derive(Clone, Debug)]
pub struct Redeemed {
    /// Its conversation.
    pub conversation_id: String,
    /// The wrapped conversation key.
    pub wrapped_key: Vec<u8>,
}

/// What a link is worth right now.
#[derive(Clone, Debug)]
pub enum GrantState {
    /// It opens its conversation.
    Valid(Redeemed),
    /// Redeemed and past its grace window.
    Used,
    /// Never redeemed, past its time.
    Expired,
    /// No such link (or its conversation was deleted).
    Unknown,
}

pub(super) async fn insert_grant(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    conversation_id: &str,
    grant: &NewGrant,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO grants (id_hash, conversation_id, wrapped_key, emailed, kind, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&grant.id_hash)
    .bind(conversation_id)
    .bind(&grant.wrapped_key)
    .bind(flag(grant.emailed))
    .bind(grant.kind.as_str())
    .bind(now)
    .bind(grant.expires_at)
    .execute(&mut **tx)
    .await
    .map_err(StoreError::conflict_as(Unique::Grant))?;
    Ok(())
}

type GrantRow = (String, Vec<u8>, i64, Option<i64>);

impl Store {
    /// Looks at a grant without changing anything (the landing page, before
    /// the guest clicks).
    pub async fn peek_grant(
        &self,
        id_hash: &[u8],
        now: i64,
        grace_ms: i64,
    ) -> Result<GrantState, StoreError> {
        let row: Option<GrantRow> = sqlx::query_as(
            "SELECT conversation_id, wrapped_key, expires_at, redeemed_at FROM grants \
             WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(judge(row, now, grace_ms)),
            None => self.spent_state(id_hash).await,
        }
    }

    /// Redeems a grant: the first redeem starts the grace window and confirms
    /// the guest's address; later ones inside the window answer the same.
    /// A dead grant is destroyed on the spot.
    pub async fn redeem_grant(
        &self,
        id_hash: &[u8],
        now: i64,
        grace_ms: i64,
        spent_memory_ms: i64,
    ) -> Result<GrantState, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Stamps the first redeem; on PostgreSQL this also locks the row.
        sqlx::query(
            "UPDATE grants SET redeemed_at = $2 \
             WHERE id_hash = $1 AND redeemed_at IS NULL AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let row: Option<GrantRow> = sqlx::query_as(
            "SELECT conversation_id, wrapped_key, expires_at, redeemed_at FROM grants \
             WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            drop(tx);
            return self.spent_state(id_hash).await;
        };
        let state = judge(row, now, grace_ms);
        match &state {
            GrantState::Valid(redeemed) => {
                sqlx::query("UPDATE conversations SET confirmed = 1 WHERE id = $1")
                    .bind(&redeemed.conversation_id)
                    .execute(&mut *tx)
                    .await?;
            }
            GrantState::Used | GrantState::Expired => {
                destroy_grant(
                    &mut tx,
                    id_hash,
                    &state,
                    now.saturating_add(spent_memory_ms),
                )
                .await?;
            }
            GrantState::Unknown => {}
        }
        tx.commit().await?;
        if matches!(state, GrantState::Used | GrantState::Expired) {
            self.scrub_wal().await?;
        }
        Ok(state)
    }

    async fn spent_state(&self, id_hash: &[u8]) -> Result<GrantState, StoreError> {
        let spent: Option<(String,)> =
            sqlx::query_as("SELECT reason FROM spent_grants WHERE id_hash = $1")
                .bind(id_hash)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match spent.as_ref().map(|(r,)| r.as_str()) {
            Some("expired") => GrantState::Expired,
            Some(_) => GrantState::Used,
            None => GrantState::Unknown,
        })
    }
}

fn judge(
    (conversation_id, wrapped_key, expires_at, redeemed_at): GrantRow,
    now: i64,
    grace_ms: i64,
) -> GrantState {
    match redeemed_at {
        Some(at) if at.saturating_add(grace_ms) > now => GrantState::Valid(Redeemed {
            conversation_id,
            wrapped_key,
        }),
        Some(_) => GrantState::Used,
        None if expires_at > now => GrantState::Valid(Redeemed {
            conversation_id,
            wrapped_key,
        }),
        None => GrantState::Expired,
    }
}

/// Deletes a dead grant and remembers its hash only.
pub(super) async fn destroy_grant(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id_hash: &[u8],
    state: &GrantState,
    forget_at: i64,
) -> Result<(), StoreError> {
    let reason = match state {
        GrantState::Expired => "expired",
        _ => "used",
    };
    sqlx::query("DELETE FROM grants WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO spent_grants (id_hash, reason, forget_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id_hash) DO NOTHING",
    )
    .bind(id_hash)
    .bind(reason)
    .bind(forget_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
