//! Passkeys (migration 0013): per member, the identity sealed under each
//! passkey's KEK, keyed by the credential id's base64url text.

use sqlx::any::AnyRow;

use super::decode::Columns;
use super::{Store, StoreError, Unique};
use crate::model::{MemberId, Timestamp};

/// One stored passkey.
#[derive(Clone, PartialEq, Eq)]
pub struct Passkey {
    /// The credential id, unpadded base64url (as the browser encodes it).
    pub credential_id: String,
    /// The member's name for it.
    pub label: String,
    /// The identity sealed under this passkey's KEK (opaque to the server).
    pub sealed_identity: Vec<u8>,
    /// When it was added.
    pub created_at: Timestamp,
}

/// Sealed keys stay out of logs.
impl std::fmt::Debug for Passkey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passkey")
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

fn passkey(row: &AnyRow) -> Result<Passkey, StoreError> {
    let c = Columns::of("member_passkeys", row);
    Ok(Passkey {
        credential_id: c.text("credential_id")?,
        label: c.text("label")?,
        sealed_identity: c.bytes("sealed_identity")?,
        created_at: c.time("created_at")?,
    })
}

impl Store {
    /// The member's passkeys, oldest first.
    pub async fn passkeys_of(&self, member: &MemberId) -> Result<Vec<Passkey>, StoreError> {
        sqlx::query(
            "SELECT credential_id, label, sealed_identity, created_at FROM member_passkeys \
             WHERE member_id = $1 ORDER BY created_at, credential_id",
        )
        .bind(member.to_hex())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(passkey)
        .collect()
    }

    /// How many passkeys the member has.
    pub async fn passkey_count(&self, member: &MemberId) -> Result<i64, StoreError> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM member_passkeys WHERE member_id = $1")
                .bind(member.to_hex())
                .fetch_one(&self.pool)
                .await?;
        Ok(n)
    }

    /// Stores a passkey; its credential id must be new for this member.
    pub async fn add_passkey(&self, member: &MemberId, key: &Passkey) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_passkey(&mut conn, member, key).await
    }

    /// Deletes a passkey (its sealed copy with it), unless it is the last
    /// way to unlock the member's key besides his recovery key: no password
    /// and no other passkey. One statement decides and deletes.
    pub async fn delete_passkey(
        &self,
        member: &MemberId,
        credential_id: &str,
    ) -> Result<PasskeyRemoval, StoreError> {
        let done = sqlx::query(
            "DELETE FROM member_passkeys WHERE member_id = $1 AND credential_id = $2 \
             AND (EXISTS (SELECT 1 FROM member_passwords WHERE member_id = $1) \
                  OR (SELECT COUNT(*) FROM member_passkeys WHERE member_id = $1) > 1)",
        )
        .bind(member.to_hex())
        .bind(credential_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() > 0 {
            return Ok(PasskeyRemoval::Removed);
        }
        let kept = self
            .passkeys_of(member)
            .await?
            .iter()
            .any(|p| p.credential_id == credential_id);
        Ok(if kept {
            PasskeyRemoval::Last
        } else {
            PasskeyRemoval::Unknown
        })
    }
}

/// What [`Store::delete_passkey`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyRemoval {
    /// Deleted.
    Removed,
    /// The member has no passkey with this credential id.
    Unknown,
    /// Kept: the member has no password and no other passkey.
    Last,
}

/// Inserts a passkey row, alone or in the caller's transaction (an invited
/// member's enrollment with a passkey).
pub(super) async fn insert_passkey(
    conn: &mut sqlx::AnyConnection,
    member: &MemberId,
    key: &Passkey,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO member_passkeys (member_id, credential_id, label, sealed_identity, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(member.to_hex())
    .bind(&key.credential_id)
    .bind(&key.label)
    .bind(&key.sealed_identity)
    .bind(key.created_at.as_ms())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as(Unique::Passkey))?;
    Ok(())
}
