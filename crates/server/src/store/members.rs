//! Members and their pending logins.

use super::{Store, StoreError, Unique};

/// A member as stored.
#[derive(Clone, sqlx::FromRow)]
pub struct MemberRow {
    /// Internal id (hex).
    pub id: String,
    /// Public, unique, lower-case.
    pub handle: String,
    /// Shown to guests.
    pub display_name: String,
    /// E-mail address, sealed with the member-email key (context: id).
    pub email_sealed: Vec<u8>,
    /// OPAQUE password file.
    pub password_file: Vec<u8>,
    /// X25519 public key.
    pub identity_public: Vec<u8>,
    /// Private key sealed under the member's KEK (opaque to the server).
    pub sealed_identity: Vec<u8>,
    /// Registration time.
    pub created_at: i64,
    /// Private key sealed under the recovery key's KEK, if he made one.
    pub recovery_sealed_identity: Option<Vec<u8>>,
    /// SHA-256 of the recovery proof.
    pub recovery_verifier: Option<Vec<u8>>,
}

impl std::fmt::Debug for MemberRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberRow")
            .field("id", &self.id)
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "id, handle, display_name, email_sealed, password_file, identity_public, \
                       sealed_identity, created_at, recovery_sealed_identity, recovery_verifier";

impl Store {
    /// Stores a new member. A taken handle is [`StoreError::Conflict`].
    pub async fn create_member(&self, member: &MemberRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO members (id, handle, display_name, email_sealed, password_file, \
             identity_public, sealed_identity, created_at, recovery_sealed_identity, \
             recovery_verifier) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&member.id)
        .bind(&member.handle)
        .bind(&member.display_name)
        .bind(&member.email_sealed)
        .bind(&member.password_file)
        .bind(&member.identity_public)
        .bind(&member.sealed_identity)
        .bind(member.created_at)
        .bind(&member.recovery_sealed_identity)
        .bind(&member.recovery_verifier)
        .execute(&self.pool)
        .await
        .map_err(StoreError::conflict_as(Unique::Handle))?;
        Ok(())
    }

    /// The member with this handle.
    pub async fn member_by_handle(&self, handle: &str) -> Result<Option<MemberRow>, StoreError> {
        Ok(
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM members WHERE handle = $1"))
                .bind(handle)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The member with this id.
    pub async fn member_by_id(&self, id: &str) -> Result<Option<MemberRow>, StoreError> {
        Ok(
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM members WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Changes the display name.
    pub async fn set_display_name(&self, id: &str, display_name: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE members SET display_name = $1 WHERE id = $2")
            .bind(display_name)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Replaces the password file and the re-sealed private key together, and
    /// ends every other session of the member.
    pub async fn set_password(
        &self,
        id: &str,
        password_file: &[u8],
        sealed_identity: &[u8],
        keep_session: &[u8],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE members SET password_file = $1, sealed_identity = $2 WHERE id = $3")
            .bind(password_file)
            .bind(sealed_identity)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE member_id = $1 AND token_hash <> $2")
            .bind(id)
            .bind(keep_session)
            .execute(&mut *tx)
            .await?;
        // A login begun against the old password file must not finish.
        sqlx::query(
            "DELETE FROM login_attempts WHERE handle = (SELECT handle FROM members WHERE id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the recovery key's sealed identity and verifier.
    pub async fn set_recovery(
        &self,
        id: &str,
        recovery_sealed_identity: &[u8],
        recovery_verifier: &[u8],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE members SET recovery_sealed_identity = $1, recovery_verifier = $2 WHERE id = $3",
        )
        .bind(recovery_sealed_identity)
        .bind(recovery_verifier)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Parks OPAQUE server state between the two login requests.
    pub async fn put_login_attempt(
        &self,
        id: &str,
        handle: &str,
        state_sealed: &[u8],
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO login_attempts (id, handle, state_sealed, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(handle)
        .bind(state_sealed)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes (reads and deletes) a parked login, so each can finish once.
    /// Returns the handle and sealed state if it exists and has not expired.
    pub async fn take_login_attempt(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let row: Option<(String, Vec<u8>, i64)> = sqlx::query_as(
            "DELETE FROM login_attempts WHERE id = $1 RETURNING handle, state_sealed, expires_at",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .filter(|(_, _, expires_at)| *expires_at > now)
            .map(|(handle, state, _)| (handle, state)))
    }
}
