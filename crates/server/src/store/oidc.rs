//! Sign-ins through the site's OpenID provider: attempts on their way
//! through the provider, and the link from a member to his account there
//! (kept as a keyed hash of the account, see migration 0015).

use super::{Store, StoreError};
use crate::model::{MemberId, Timestamp};

// An account at the provider is named by `hash`, the HMAC of the pair
// (issuer, subject) under the blind-index key (`domain::oidc::account_hash`),
// which the database keeps; the pair itself only finds a link still kept in
// clear.

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
    /// not exist yet: an invitation waits for him to enroll), found by the
    /// account's keyed hash. A link still in the clear form 0012 wrote is
    /// hashed on the way (see migration 0015).
    pub async fn oidc_member_id(
        &self,
        hash: &[u8; 32],
        issuer: &str,
        subject: &str,
    ) -> Result<Option<MemberId>, StoreError> {
        let find = || async {
            sqlx::query_as::<_, (String,)>(
                "SELECT member_id FROM oidc_accounts WHERE account_hash = $1",
            )
            .bind(hash.to_vec())
            .fetch_optional(&self.pool)
            .await
        };
        let mut row = find().await?;
        if row.is_none() && self.hash_oidc_account(hash, issuer, subject).await? {
            row = find().await?;
        }
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
    /// earlier link of the account (in either form) or of the member.
    pub async fn link_oidc(
        &self,
        hash: &[u8; 32],
        issuer: &str,
        subject: &str,
        member: &MemberId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM oidc_accounts WHERE account_hash = $1 \
             OR (issuer = $2 AND subject = $3) OR member_id = $4",
        )
        .bind(hash.to_vec())
        .bind(issuer)
        .bind(subject)
        .bind(member.to_hex())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO oidc_accounts (account_hash, member_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(hash.to_vec())
        .bind(member.to_hex())
        .bind(now.as_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The provider accounts still in clear (written before migration
    /// 0015), for the server to hash at start.
    pub async fn clear_oidc_accounts(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT issuer, subject FROM oidc_accounts WHERE account_hash IS NULL")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Replaces the clear form of the account (issuer, subject), if it has
    /// one, by its hash. True if a row changed.
    pub async fn hash_oidc_account(
        &self,
        hash: &[u8; 32],
        issuer: &str,
        subject: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE oidc_accounts SET account_hash = $1, issuer = NULL, subject = NULL \
             WHERE issuer = $2 AND subject = $3",
        )
        .bind(hash.to_vec())
        .bind(issuer)
        .bind(subject)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use latchkey_core::server::RootSecret;

    use super::super::Store;
    use crate::domain::oidc::{account_hash, hash_clear_accounts};
    use crate::model::{MemberId, Timestamp};

    const ISSUER: &str = "https://id.example.org";
    const ANN: &str = "a0000000000000000000000000000a00";
    const BEN: &str = "b0000000000000000000000000000b00";

    /// Links written by the code of 0012 (in clear) survive 0015, are
    /// found, and are hashed: at the next sign-in, or all at start.
    #[tokio::test]
    async fn links_kept_in_clear_are_carried_forward_and_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("db").display());
        let store = Store::connect(&url).await.unwrap();
        let mut before = sqlx::migrate::Migrator::new(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/migrations/sqlite"
        )))
        .await
        .unwrap();
        before.migrations = Cow::Owned(
            before
                .migrations
                .iter()
                .filter(|m| m.version < 15)
                .cloned()
                .collect(),
        );
        before.run(&store.pool).await.unwrap();
        // Case matters in a subject: "Ann-1" and "ann-1" are two accounts.
        for (subject, member) in [("Ann-1", ANN), ("ben@example.org", BEN)] {
            sqlx::query(
                "INSERT INTO oidc_accounts (issuer, subject, member_id, created_at) \
                 VALUES ($1, $2, $3, 5)",
            )
            .bind(ISSUER)
            .bind(subject)
            .bind(member)
            .execute(&store.pool)
            .await
            .unwrap();
        }
        store.migrate().await.unwrap();
        assert_eq!(store.clear_oidc_accounts().await.unwrap().len(), 2);

        let key = RootSecret::from_bytes([3; 32]).blind_index_key();
        let ann = account_hash(&key, ISSUER, "Ann-1");
        let found = store.oidc_member_id(&ann, ISSUER, "Ann-1").await.unwrap();
        assert_eq!(found.map(|m| m.to_hex()).as_deref(), Some(ANN));
        let other_case = account_hash(&key, ISSUER, "ann-1");
        assert_eq!(
            store
                .oidc_member_id(&other_case, ISSUER, "ann-1")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store.clear_oidc_accounts().await.unwrap(),
            vec![(ISSUER.to_owned(), "ben@example.org".to_owned())]
        );

        // At start: the rest, so that no address waits in clear for a
        // sign-in that may never come.
        assert_eq!(hash_clear_accounts(&store, &key).await.unwrap(), 1);
        assert_eq!(hash_clear_accounts(&store, &key).await.unwrap(), 0);
        let clear: (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM oidc_accounts WHERE issuer IS NOT NULL OR subject IS NOT NULL",
        )
        .fetch_one(&store.pool)
        .await
        .unwrap();
        assert_eq!(clear.0, 0);
        let ben = account_hash(&key, ISSUER, "ben@example.org");
        let found = store
            .oidc_member_id(&ben, ISSUER, "ben@example.org")
            .await
            .unwrap();
        assert_eq!(found.map(|m| m.to_hex()).as_deref(), Some(BEN));

        // A new link is only a hash, and replaces the member's old one.
        let new = account_hash(&key, ISSUER, "ann-2");
        let ann_id = MemberId::parse(ANN).unwrap();
        store
            .link_oidc(&new, ISSUER, "ann-2", &ann_id, Timestamp::now())
            .await
            .unwrap();
        assert_eq!(
            store.oidc_member_id(&ann, ISSUER, "Ann-1").await.unwrap(),
            None
        );
        assert_eq!(
            store.oidc_member_id(&new, ISSUER, "ann-2").await.unwrap(),
            Some(ann_id)
        );

        // One form or the other, never both, never half.
        for (hash, issuer, subject) in [
            (Some(vec![1u8; 32]), Some(ISSUER), Some("x")),
            (None, Some(ISSUER), None),
            (Some(vec![1u8; 31]), None, None),
            (None, Some(""), Some("x")),
        ] {
            let wrong = sqlx::query(
                "INSERT INTO oidc_accounts (account_hash, issuer, subject, member_id, created_at) \
                 VALUES ($1, $2, $3, 'c0000000000000000000000000000c00', 0)",
            )
            .bind(hash)
            .bind(issuer)
            .bind(subject)
            .execute(&store.pool)
            .await;
            assert!(wrong.is_err(), "{issuer:?} {subject:?}");
        }
    }
}
