//! Sign-ins through the site's OpenID provider: attempts on their way
//! through the provider, and the link from a member to his account there.

use super::{Store, StoreError};
use crate::model::{MemberId, Timestamp};

impl Store {
    /// Parks a sign-in's sealed state (state, nonce, PKCE verifier) until
    /// the provider sends the browser back.
    pub async fn put_oidc_attempt(
        &self,
        id: &str,
        state_sealed: &[u8],
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO oidc_attempts (id, state_sealed, expires_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(state_sealed)
            .bind(expires_at.as_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Takes (reads and deletes) a parked sign-in, so that each finishes at
    /// most once; `None` if unknown, used or expired.
    pub async fn take_oidc_attempt(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<(Vec<u8>, i64)> = sqlx::query_as(
            "DELETE FROM oidc_attempts WHERE id = $1 RETURNING state_sealed, expires_at",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .filter(|(_, expires_at)| *expires_at > now.as_ms())
            .map(|(state, _)| state))
    }

    /// The member id linked to this account at the provider (his row may
    /// not exist yet: an invitation waits for him to enroll).
    pub async fn oidc_member_id(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<MemberId>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT member_id FROM oidc_accounts WHERE issuer = $1 AND subject = $2",
        )
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(hex,)| {
            MemberId::parse(&hex).ok_or(StoreError::Corrupt {
                table: "oidc_accounts",
                column: "member_id",
                problem: "is not a member id",
            })
        })
        .transpose()
    }

    /// Links an account at the provider to a member id, replacing an
    /// earlier link of the account.
    pub async fn link_oidc(
        &self,
        issuer: &str,
        subject: &str,
        member: &MemberId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM oidc_accounts WHERE (issuer = $1 AND subject = $2) OR member_id = $3",
        )
        .bind(issuer)
        .bind(subject)
        .bind(member.to_hex())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO oidc_accounts (issuer, subject, member_id, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(issuer)
        .bind(subject)
        .bind(member.to_hex())
        .bind(now.as_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
