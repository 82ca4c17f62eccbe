//! New-link requests: queued by the request, folded into conversations
//! later.
//!
//! The request answers the same whatever it names, and it must also take
//! the same time: a request that marked conversations at once wrote only
//! when the address had one, which a stopwatch could tell (issue 13, item
//! 5). So a request is one insert into `link_requests`, the same statement
//! for every address and handle, known or not; the matching happens in
//! [`Store::fold_link_requests`], apart from any guest's request: on the
//! worker's every pass, and before anything reads or clears a conversation's
//! request flag, so the member's client never sees a request late.

use std::collections::BTreeMap;

use latchkey_api::Handle;

use super::decode::Columns;
use super::events::{self, conversation_subject, EventKind};
use super::{Store, StoreError};
use crate::model::{Language, Timestamp};

impl Store {
    /// Records a new-link request for the conversations of this guest
    /// address (with this member, if a handle is given), asked in
    /// `language` (the link mails use it from then on). Nothing is looked
    /// up: the statement and the row are the same whether or not the address
    /// or the handle exist.
    pub async fn request_links(
        &self,
        guest_email_index: &[u8],
        handle: Option<&Handle>,
        language: Language,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO link_requests (guest_email_index, handle, requested_at, language) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(guest_email_index)
        .bind(handle.map(Handle::as_str))
        .bind(now.as_ms())
        .bind(language.tag())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks the queued requests on the conversations they name and empties
    /// the queue. A request naming no conversation (or a handle nobody has)
    /// is simply dropped here, unseen by the guest who sent it.
    pub async fn fold_link_requests(&self) -> Result<(), StoreError> {
        // Nearly always nothing waits: a read that finds nothing must not
        // take SQLite's write lock.
        let waiting: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM link_requests LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        if waiting.is_none() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        // Taking the rows by deleting them: on SQLite the first statement
        // writes, so the transaction holds the write lock from the start;
        // on PostgreSQL two folds never both take a row (the second waits,
        // then finds it gone), so a request is marked once and cannot come
        // back after the member answered it.
        let taken: Vec<(Vec<u8>, Option<String>, i64, String)> = sqlx::query_as(
            "DELETE FROM link_requests \
             RETURNING guest_email_index, handle, requested_at, language",
        )
        .fetch_all(&mut *tx)
        .await?;
        // One update per address and handle, however often it was asked,
        // in the language of the latest request.
        let mut latest: BTreeMap<(Vec<u8>, Option<String>), (i64, String)> = BTreeMap::new();
        for (index, handle, at, language) in taken {
            let slot = latest
                .entry((index, handle))
                .or_insert((at, language.clone()));
            if at >= slot.0 {
                *slot = (at, language);
            }
        }
        let mut marked = Vec::new();
        for ((index, handle), (at, language)) in latest {
            // No handle: a real NULL, which matches every member. A handle
            // nobody has matches no member id.
            let rows = sqlx::query(
                "UPDATE conversations SET link_requested_at = $2, guest_language = $4 \
                 WHERE guest_email_index = $1 \
                 AND ($3 IS NULL OR member_id IN (SELECT id FROM members WHERE handle = $3)) \
                 RETURNING id",
            )
            .bind(index)
            .bind(at)
            .bind(handle)
            .bind(language)
            .fetch_all(&mut *tx)
            .await?;
            for row in &rows {
                // One event per conversation, however many requests named it.
                let id = Columns::of("conversations", row).conversation_id("id")?;
                if !marked.contains(&id) {
                    marked.push(id);
                }
            }
        }
        // Each marked conversation's event, here rather than at the request:
        // the request must not look anything up (see above), and only here
        // is it known whom it concerns.
        let mut requested = Vec::with_capacity(marked.len());
        for id in &marked {
            if let Some(subject) = conversation_subject(&mut tx, id).await? {
                requested.push((EventKind::LinkRequested, subject));
            }
        }
        events::record(&mut tx, self.dialect, &requested, Timestamp::now()).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MemberId;

    const BOB: &str = "b0b0000000000000000000000000000b";
    const CAROL: &str = "ca201000000000000000000000000ca2";

    /// A store with two members (bob, carol) and one conversation each with
    /// the guest whose address index is `[1; 32]`.
    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        for (id, handle) in [(BOB, "bob"), (CAROL, "carol")] {
            sqlx::query(
                "INSERT INTO members (id, handle, display_name, email_sealed, \
                 identity_public, created_at) \
                 VALUES ($1, $2, $2, x'00', $3, 0)",
            )
            .bind(id)
            .bind(handle)
            .bind(id.as_bytes().to_vec())
            .execute(&store.pool)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO conversations (id, member_id, sealed_key, guest_email_sealed, \
                 guest_email_index, created_at, last_activity_at) \
                 VALUES ($1, $1, x'00', x'00', $2, 0, 0)",
            )
            .bind(id)
            .bind(vec![1u8; 32])
            .execute(&store.pool)
            .await
            .unwrap();
        }
        (dir, store)
    }

    async fn count(store: &Store, sql: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&store.pool).await.unwrap();
        n
    }

    async fn requested(store: &Store) -> Vec<String> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT member_id FROM conversations WHERE link_requested_at IS NOT NULL \
             ORDER BY member_id",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        rows.into_iter().map(|(id,)| id).collect()
    }

    fn handle(text: &str) -> Handle {
        Handle::parse(text).unwrap()
    }

    #[tokio::test]
    async fn every_request_writes_one_queued_row_and_touches_no_conversation() {
        let (_dir, store) = store().await;
        let known = [1u8; 32];
        let unknown = [2u8; 32];
        let (bob, nobody) = (handle("bob"), handle("nobody"));
        let requests: [(&[u8], Option<&Handle>); 5] = [
            (&known, Some(&bob)),
            (&known, None),
            (&unknown, Some(&bob)),
            (&unknown, None),
            (&known, Some(&nobody)),
        ];
        for (i, (index, handle)) in requests.into_iter().enumerate() {
            store
                .request_links(index, handle, Language::ENGLISH, Timestamp::from_ms(1000))
                .await
                .unwrap();
            // The same effect whatever the request names: one more row in
            // the queue, and no conversation changed.
            assert_eq!(
                count(&store, "SELECT COUNT(*) FROM link_requests").await,
                i as i64 + 1
            );
            assert!(requested(&store).await.is_empty());
        }
        store.fold_link_requests().await.unwrap();
        assert_eq!(count(&store, "SELECT COUNT(*) FROM link_requests").await, 0);
        assert_eq!(requested(&store).await, [BOB, CAROL]);
        // One event per marked conversation, written by the fold.
        let events = store.events_after(0, 10).await.unwrap();
        let mut whose: Vec<String> = events
            .iter()
            .map(|e| e.handle.as_str().to_owned())
            .collect();
        whose.sort();
        assert_eq!(whose, ["bob", "carol"]);
        assert!(events
            .iter()
            .all(|e| e.kind == super::EventKind::LinkRequested));
    }

    #[tokio::test]
    async fn a_fold_marks_only_what_the_request_names() {
        let (_dir, store) = store().await;
        let now = Timestamp::from_ms(5000);
        // Unknown address, or a handle nobody has: nothing marked, queue emptied.
        store
            .request_links(&[2u8; 32], None, Language::ENGLISH, now)
            .await
            .unwrap();
        store
            .request_links(&[1u8; 32], Some(&handle("nobody")), Language::ENGLISH, now)
            .await
            .unwrap();
        store.fold_link_requests().await.unwrap();
        assert!(requested(&store).await.is_empty());
        assert_eq!(count(&store, "SELECT COUNT(*) FROM link_requests").await, 0);
        // A handle: that member's conversation only.
        store
            .request_links(&[1u8; 32], Some(&handle("carol")), Language::ENGLISH, now)
            .await
            .unwrap();
        // Reading the inbox folds first: the member never sees it late.
        let inbox = store
            .conversations_of(&MemberId::parse(CAROL).unwrap(), None, 10)
            .await
            .unwrap();
        assert_eq!(inbox[0].conversation.link_requested_at, Some(now));
        assert_eq!(requested(&store).await, [CAROL]);
    }

    #[tokio::test]
    async fn a_fold_gives_the_conversation_the_latest_requests_language() {
        let (_dir, store) = store().await;
        let german = Language::from_tag("de").unwrap();
        let bob = handle("bob");
        store
            .request_links(&[1u8; 32], Some(&bob), german, Timestamp::from_ms(2000))
            .await
            .unwrap();
        store
            .request_links(
                &[1u8; 32],
                Some(&bob),
                Language::ENGLISH,
                Timestamp::from_ms(1000),
            )
            .await
            .unwrap();
        store.fold_link_requests().await.unwrap();
        let id = BOB.parse::<latchkey_core::ConversationId>().unwrap();
        let bobs = store.conversation(&id).await.unwrap().unwrap();
        assert_eq!(bobs.guest_language, german);
        // Carol's conversation was not named: still the default.
        let id = CAROL.parse::<latchkey_core::ConversationId>().unwrap();
        let carols = store.conversation(&id).await.unwrap().unwrap();
        assert_eq!(carols.guest_language, Language::ENGLISH);
    }
}
