//! PostgreSQL's write path for posts: one writer task per [`Store`] with a
//! connection of its own, committing every post waiting for it in one
//! transaction (group commit), and answering each post only after that
//! transaction committed.
//!
//! Why: a post used to be a transaction of its own, and its first
//! statement (`UPDATE conversations ... RETURNING last_seq`) locked the
//! conversation's row until COMMIT. Every post to one conversation waited
//! for the previous one's commit (its WAL flush and a dozen round trips):
//! about 750 posts/s, however many connections. Here one transaction
//! carries up to [`MAX_BATCH`] posts, in a fixed number of statements:
//!
//! 1. `SELECT ... FOR NO KEY UPDATE` of the batch's conversations (in id
//!    order, so two instances' batches cannot deadlock), with what
//!    numbering, coalescing and events need of them and of their members;
//! 2. one look-up of every message id in the batch already stored (in a
//!    statement of its own, after the locks: under READ COMMITTED it sees
//!    what another instance committed while this one waited);
//! 3. then, in Rust: numbers, duplicates and conflicts (also between two
//!    posts of the batch), notice coalescing; a notice is sealed only when
//!    it goes out;
//! 4. one statement inserting every message and updating every
//!    conversation (`unnest` of arrays);
//! 5. only for a post whose mail goes out or that carries a grant: the
//!    locks of every budget the batch's mails spend, in one statement and
//!    one order (`outbox::lock_budgets_pg`); then the budgets
//!    (`outbox::queue_mail_pg`) and the grant, post by post, in order (a
//!    grant's coalescing must see the one before);
//! 6. one statement for the batch's events: the events lock, the
//!    notification and every event (`events::record_pg_batch`);
//! 7. COMMIT.
//!
//! Isolation: the expected failures of one post (unknown conversation, a
//! message id taken with other bytes, a notice that does not seal) are
//! found in steps 1–3 and leave that post out of the batch. Anything else
//! failing (a grant id collision, a database error) rolls the batch back,
//! and its posts are written again one by one, so only the post at fault
//! gets the error. A failed COMMIT fails every post of the batch.
//!
//! The row lock across instances: the conversation rows are still locked
//! from step 1 to COMMIT (the numbers must commit in order), but the lock
//! is taken once per batch, not once per post, and the transaction holds
//! no client think time: its statements run back to back, with no network
//! round trip to anything but the database. A second instance posting to
//! the same conversation waits for at most one batch's commit and then
//! writes its own whole batch; the rate is bounded by commits per second
//! times the batch size, not by commits per second. (Handing out numbers
//! from a sequence without the lock would let them commit out of order,
//! and readers page by number.)

use std::collections::HashMap;
use std::sync::Arc;

use latchkey_core::{ConversationId, Role};
use sqlx::postgres::{PgConnectOptions, PgConnection, Postgres};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{mpsc, oneshot};

use super::conversations::{NoticeRecipient, PostMail};
use super::events::{self, EventKind, PgEvent};
use super::outbox::{lock_budgets_pg, queue_mail_pg};
use super::{StoreError, Unique, WriteStats};
use crate::model::{GrantKind, MemberId, NewGrant, NewMail, Posted, Timestamp};
use crate::store::NewPost;

/// Most posts in one transaction: enough to amortise the commit, few
/// enough that the arrays stay small.
const MAX_BATCH: usize = 256;

/// Posts waiting for the writer before senders wait to queue.
const QUEUE: usize = 4 * MAX_BATCH;

/// One post, as [`super::Store::post_message`] takes it.
/// A post, as the writer receives it.
pub(super) type PostJob = NewPost;

type Answer = oneshot::Sender<Result<Posted, StoreError>>;

enum Command {
    Post(Box<PostJob>, Answer),
    Stop(oneshot::Sender<()>),
}

/// The handle of the writer task. Cheap to clone.
#[derive(Clone, Debug)]
pub(super) struct PgWriter {
    commands: mpsc::Sender<Command>,
}

impl PgWriter {
    /// Starts the writer; it connects on its first post (and again after
    /// its connection broke).
    pub(super) fn start(options: PgConnectOptions, stats: Arc<WriteStats>) -> PgWriter {
        // Every statement planned for its arguments and the tables as they
        // are now. The connection lives as long as the server, and a plan
        // cached while `messages` was small (a sequential scan, cheapest
        // then) would otherwise stay until the next ANALYZE, which never
        // comes with autovacuum off. Planning costs a batch a few tenths
        // of a millisecond.
        let options = options.options([("plan_cache_mode", "force_custom_plan")]);
        let (commands, received) = mpsc::channel(QUEUE);
        tokio::spawn(run(
            Writer {
                options,
                connection: None,
                stats,
            },
            received,
        ));
        PgWriter { commands }
    }

    /// Writes one post; answers once its batch committed.
    pub(super) async fn post(&self, job: PostJob) -> Result<Posted, StoreError> {
        let (answer, answered) = oneshot::channel();
        self.commands
            .send(Command::Post(Box::new(job), answer))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answered.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Lets the posts queued so far commit, then closes the connection and
    /// ends the task. Later posts fail with [`StoreError::WriterGone`].
    pub(super) async fn stop(&self) {
        let (done, stopped) = oneshot::channel();
        if self.commands.send(Command::Stop(done)).await.is_ok() {
            // An error only means the task is gone already.
            let _ = stopped.await;
        }
    }
}

async fn run(mut writer: Writer, mut received: mpsc::Receiver<Command>) {
    let mut batch: Vec<(PostJob, Answer)> = Vec::new();
    while let Some(first) = received.recv().await {
        let mut stop = None;
        match first {
            Command::Post(job, answer) => batch.push((*job, answer)),
            Command::Stop(done) => stop = Some(done),
        }
        // Everything already waiting joins this batch: under load, posts
        // queue while the previous batch commits.
        while stop.is_none() && batch.len() < MAX_BATCH {
            match received.try_recv() {
                Ok(Command::Post(job, answer)) => batch.push((*job, answer)),
                Ok(Command::Stop(done)) => stop = Some(done),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            writer.write(std::mem::take(&mut batch)).await;
        }
        if let Some(done) = stop {
            writer.close().await;
            // An error only means the closing caller went away.
            let _ = done.send(());
            return;
        }
    }
    writer.close().await;
}

/// Why a batch did not commit.
enum Failure {
    /// Before COMMIT: nothing was written; its posts may be tried again.
    Statement(StoreError),
    /// COMMIT itself failed: whether it happened is unknown.
    Commit(StoreError),
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Failure {
        Failure::Statement(StoreError::Database(e))
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Statement(e)
    }
}

struct Writer {
    options: PgConnectOptions,
    connection: Option<PgConnection>,
    stats: Arc<WriteStats>,
}

impl Writer {
    async fn write(&mut self, batch: Vec<(PostJob, Answer)>) {
        let (jobs, answers): (Vec<PostJob>, Vec<Answer>) = batch.into_iter().unzip();
        match self.commit(&jobs).await {
            Ok(results) => {
                self.stats.committed(jobs.len());
                answer_all(answers, results);
            }
            Err(Failure::Commit(e)) => {
                self.connection = None;
                let text = e.to_string();
                for answer in answers {
                    // A dropped receiver: the request went away.
                    let _ = answer.send(Err(StoreError::Commit(text.clone())));
                }
            }
            Err(Failure::Statement(e)) if jobs.len() == 1 => {
                self.forget_broken(&e);
                answer_all(answers, vec![Err(e)]);
            }
            Err(Failure::Statement(e)) => {
                // One post's failure must not fail the others: each again
                // alone, so only the one at fault gets its error.
                self.forget_broken(&e);
                tracing::debug!(
                    posts = jobs.len(),
                    "post batch rolled back; writing one by one"
                );
                for (job, answer) in jobs.into_iter().zip(answers) {
                    let one = [job];
                    let result = match self.commit(&one).await {
                        Ok(mut results) => {
                            self.stats.committed(1);
                            results.pop().unwrap_or(Err(StoreError::WriterGone))
                        }
                        Err(Failure::Commit(e)) => {
                            self.connection = None;
                            Err(StoreError::Commit(e.to_string()))
                        }
                        Err(Failure::Statement(e)) => {
                            self.forget_broken(&e);
                            Err(e)
                        }
                    };
                    // A dropped receiver: the request went away.
                    let _ = answer.send(result);
                }
            }
        }
    }

    /// After an error that is not the database refusing a statement, the
    /// connection may be broken: the next batch connects afresh.
    fn forget_broken(&mut self, e: &StoreError) {
        if !matches!(
            e,
            StoreError::Database(sqlx::Error::Database(_))
                | StoreError::Conflict(_)
                | StoreError::NotFound(_)
                | StoreError::Corrupt { .. }
        ) {
            self.connection = None;
        }
    }

    async fn close(&mut self) {
        if let Some(connection) = self.connection.take() {
            if let Err(error) = connection.close().await {
                tracing::debug!(%error, "closing the post writer's connection");
            }
        }
    }

    /// Writes the posts in one transaction; one result per post, in order.
    async fn commit(
        &mut self,
        jobs: &[PostJob],
    ) -> Result<Vec<Result<Posted, StoreError>>, Failure> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            slot => slot.insert(self.options.connect().await?),
        };
        let mut tx = connection.begin().await?;
        let plan = plan(&mut tx, jobs).await?;
        store_messages(&mut tx, jobs, &plan).await?;
        let mails: Vec<&NewMail> = jobs
            .iter()
            .zip(&plan.posts)
            .filter_map(|(job, planned)| match (planned, &job.grant, &job.mail) {
                (
                    Planned::New {
                        notice: Some(mail), ..
                    },
                    _,
                    _,
                ) => Some(mail),
                (Planned::New { .. }, Some(grant), PostMail::Link(mail)) if grant.emailed => {
                    Some(mail)
                }
                _ => None,
            })
            .collect();
        lock_budgets_pg(&mut tx, &mails).await?;
        let mut results = Vec::with_capacity(jobs.len());
        let mut events = Vec::new();
        for (job, planned) in jobs.iter().zip(plan.posts) {
            let result = match planned {
                Planned::Done(result) => result,
                Planned::New { seq, notice, .. } => {
                    let posted = mail_and_grant(&mut tx, job, seq, notice).await?;
                    if let Some(c) = plan.conversations.get(&job.conversation_id.to_string()) {
                        events.push(PgEvent {
                            kind: EventKind::MessageCreated(job.message.sender),
                            member_id: c.member_id.clone(),
                            handle: c.handle.clone(),
                            conversation_id: Some(job.conversation_id.to_string()),
                            created_at: job.now,
                        });
                    }
                    Ok(posted)
                }
            };
            results.push(result);
        }
        events::record_pg_batch(&mut tx, &events).await?;
        tx.commit().await.map_err(|e| Failure::Commit(e.into()))?;
        Ok(results)
    }
}

fn answer_all(answers: Vec<Answer>, results: Vec<Result<Posted, StoreError>>) {
    for (answer, result) in answers.into_iter().zip(results) {
        // A dropped receiver: the request went away.
        let _ = answer.send(result);
    }
}

/// A conversation of the batch as its lock read it, with its member.
#[derive(sqlx::FromRow)]
struct LockedRow {
    id: String,
    number: i64,
    last_seq: i64,
    member_notified_at: Option<i64>,
    member_id: String,
    handle: String,
    email_sealed: Vec<u8>,
    language: String,
}

/// A conversation of the batch, as locked, and as the batch leaves it.
struct Locked {
    /// The conversation's number, as its messages name it.
    number: i64,
    last_seq: i64,
    notified_at: Option<i64>,
    clear_link_request: bool,
    /// The language of the batch's last guest post in it, if any.
    guest_language: Option<&'static str>,
    /// Set once a post of the batch is stored in it.
    activity_at: Option<i64>,
    member_id: String,
    handle: String,
    email_sealed: Vec<u8>,
    language: String,
}

/// What the batch does with one post.
enum Planned {
    /// Answered without writing: a duplicate, a conflict, not found.
    Done(Result<Posted, StoreError>),
    /// Stored as `seq` in the conversation numbered `number`, with the
    /// member's notice if it goes out.
    New {
        seq: i64,
        number: i64,
        notice: Option<NewMail>,
    },
}

struct Plan {
    posts: Vec<Planned>,
    conversations: HashMap<String, Locked>,
}

/// A message as the unique index knows it: the conversation's number and
/// the message id's bytes.
type MessageKey<'a> = (i64, &'a [u8]);

/// Steps 1–3 of the module comment.
async fn plan(tx: &mut PgConnection, jobs: &[PostJob]) -> Result<Plan, Failure> {
    let mut ids: Vec<String> = jobs.iter().map(|j| j.conversation_id.to_string()).collect();
    ids.sort_unstable();
    ids.dedup();
    // NO KEY UPDATE, the lock an UPDATE takes: inserts that only
    // reference the row (a session, a read mark) do not wait for it.
    let locked: Vec<LockedRow> = sqlx::query_as(
        "SELECT c.id, c.number, c.last_seq, c.member_notified_at, m.id AS member_id, m.handle, \
             m.email_sealed, m.language FROM conversations c JOIN members m ON m.id = c.member_id \
             WHERE c.id = ANY($1) ORDER BY c.id FOR NO KEY UPDATE OF c",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let mut conversations: HashMap<String, Locked> = locked
        .into_iter()
        .map(|row| {
            (
                row.id,
                Locked {
                    number: row.number,
                    last_seq: row.last_seq,
                    notified_at: row.member_notified_at,
                    clear_link_request: false,
                    guest_language: None,
                    activity_at: None,
                    member_id: row.member_id,
                    handle: row.handle,
                    email_sealed: row.email_sealed,
                    language: row.language,
                },
            )
        })
        .collect();

    let (keys, message_ids): (Vec<i64>, Vec<&[u8]>) = jobs
        .iter()
        .filter_map(|j| {
            let c = conversations.get(&j.conversation_id.to_string())?;
            Some((c.number, j.message.message_id.as_bytes().as_slice()))
        })
        .unzip();
    let stored: Vec<(i64, Vec<u8>, i64, Vec<u8>)> = if keys.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(
            // One index look-up per key, whatever the planner thinks of
            // the table (LIMIT keeps the subquery from being flattened
            // into a join it could run as a scan).
            "SELECT k.conversation, k.message_id, m.seq, m.ciphertext \
             FROM unnest($1::int8[], $2::bytea[]) AS k(conversation, message_id) \
             CROSS JOIN LATERAL (SELECT seq, ciphertext FROM messages \
             WHERE conversation = k.conversation AND message_id = k.message_id \
             LIMIT 1) AS m",
        )
        .bind(&keys)
        .bind(&message_ids)
        .fetch_all(&mut *tx)
        .await?
    };
    // Every message id the batch has seen: stored ones, then its own.
    let mut seen: HashMap<MessageKey<'_>, (i64, &[u8])> = stored
        .iter()
        .map(|(c, m, seq, bytes)| ((*c, m.as_slice()), (*seq, bytes.as_slice())))
        .collect();

    let mut posts = Vec::with_capacity(jobs.len());
    for job in jobs {
        let id = job.conversation_id.to_string();
        let Some(c) = conversations.get_mut(&id) else {
            posts.push(Planned::Done(Err(StoreError::NotFound("conversation"))));
            continue;
        };
        let key = (c.number, job.message.message_id.as_bytes().as_slice());
        if let Some((seq, bytes)) = seen.get(&key) {
            posts.push(Planned::Done(if *bytes == job.message.ciphertext {
                Ok(Posted {
                    seq: *seq,
                    duplicate: true,
                    mail_queued: false,
                    mail_capped: false,
                })
            } else {
                Err(StoreError::Conflict(Unique::MessageId))
            }));
            continue;
        }
        let seq = c.last_seq + 1;
        // As the single post did it: a member's message clears the notice
        // claim; a guest's (without grant) claims it unless coalesced.
        let mut notified_at = c.notified_at;
        if job.message.sender == Role::Member {
            notified_at = None;
        }
        let mut notice = None;
        if let Some(language) = job.guest_language {
            c.guest_language = Some(language.tag());
        }
        if let Some(grant) = &job.grant {
            if grant.emailed {
                c.clear_link_request = true;
            }
        } else if let PostMail::Notice(make_notice) = &job.mail {
            let cutoff = job.now.minus_ms(job.coalesce_ms).as_ms();
            let claimed = job.coalesce_ms == 0 || notified_at.is_none_or(|at| at <= cutoff);
            if claimed {
                let recipient = NoticeRecipient {
                    id: MemberId::parse(&c.member_id).ok_or(StoreError::Corrupt {
                        table: "members",
                        column: "id",
                        problem: "is not 32 lower-case hex digits",
                    })?,
                    email_sealed: c.email_sealed.clone(),
                    language: crate::i18n::stored(&c.language),
                };
                match make_notice(&recipient) {
                    Ok(mail) => notice = Some(mail),
                    Err(e) => {
                        // This post fails, as alone: nothing of it stays.
                        posts.push(Planned::Done(Err(e)));
                        continue;
                    }
                }
                notified_at = Some(job.now.as_ms());
            }
        }
        c.last_seq = seq;
        c.notified_at = notified_at;
        c.activity_at = Some(job.now.as_ms());
        seen.insert(key, (seq, &job.message.ciphertext));
        posts.push(Planned::New {
            seq,
            number: c.number,
            notice,
        });
    }
    Ok(Plan {
        posts,
        conversations,
    })
}

/// Step 4: every new message, and every conversation it changed, in one
/// statement.
async fn store_messages(
    tx: &mut PgConnection,
    jobs: &[PostJob],
    plan: &Plan,
) -> Result<(), Failure> {
    let mut numbers = Vec::new();
    let mut seqs = Vec::new();
    let mut message_ids: Vec<&[u8]> = Vec::new();
    let mut senders = Vec::new();
    let mut ciphertexts: Vec<&[u8]> = Vec::new();
    let mut created = Vec::new();
    for (job, planned) in jobs.iter().zip(&plan.posts) {
        if let Planned::New { seq, number, .. } = planned {
            numbers.push(*number);
            seqs.push(*seq);
            message_ids.push(job.message.message_id.as_bytes());
            senders.push(i64::from(job.message.sender.as_byte()));
            ciphertexts.push(&job.message.ciphertext);
            created.push(job.now.as_ms());
        }
    }
    if seqs.is_empty() {
        return Ok(());
    }
    let mut touched = Vec::new();
    let mut last_seqs = Vec::new();
    let mut activity = Vec::new();
    let mut notified = Vec::new();
    let mut clear_link = Vec::new();
    let mut languages = Vec::new();
    for (id, c) in &plan.conversations {
        if let Some(at) = c.activity_at {
            touched.push(id.as_str());
            last_seqs.push(c.last_seq);
            activity.push(at);
            notified.push(c.notified_at);
            clear_link.push(c.clear_link_request);
            languages.push(c.guest_language);
        }
    }
    sqlx::query::<Postgres>(
        "WITH stored AS (INSERT INTO messages (conversation, seq, message_id, sender, \
         ciphertext, created_at) \
         SELECT * FROM unnest($1::int8[], $2::int8[], $3::bytea[], $4::int8[], $5::bytea[], \
         $6::int8[])) \
         UPDATE conversations c SET last_seq = u.last_seq, last_activity_at = u.activity, \
         member_notified_at = u.notified, \
         link_requested_at = CASE WHEN u.clear_link THEN NULL ELSE c.link_requested_at END, \
         guest_language = COALESCE(u.language, c.guest_language) \
         FROM unnest($7::text[], $8::int8[], $9::int8[], $10::int8[], $11::bool[], \
         $12::text[]) AS u(id, last_seq, activity, notified, clear_link, language) \
         WHERE c.id = u.id",
    )
    .bind(&numbers)
    .bind(&seqs)
    .bind(&message_ids)
    .bind(&senders)
    .bind(&ciphertexts)
    .bind(&created)
    .bind(&touched)
    .bind(&last_seqs)
    .bind(&activity)
    .bind(&notified)
    .bind(&clear_link)
    .bind(&languages)
    .execute(&mut *tx)
    .await
    .map_err(|e| match &e {
        // The look-up under the row locks rules this out; should another
        // writer not take them, the post is refused as a single one was.
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(Unique::MessageId)
        }
        _ => StoreError::Database(e),
    })?;
    Ok(())
}

/// Step 5 for one stored post: its grant and its mail, as the single post
/// wrote them.
async fn mail_and_grant(
    tx: &mut PgConnection,
    job: &PostJob,
    seq: i64,
    notice: Option<NewMail>,
) -> Result<Posted, StoreError> {
    let mut posted = Posted {
        seq,
        duplicate: false,
        mail_queued: false,
        mail_capped: false,
    };
    let id = &job.conversation_id;
    if let Some(grant) = &job.grant {
        let coalesced = grant.emailed
            && job.coalesce_ms > 0
            && unused_link_since(tx, id, job.now, job.now.minus_ms(job.coalesce_ms)).await?;
        if !coalesced {
            let mut queued = false;
            if let (true, PostMail::Link(mail)) = (grant.emailed, &job.mail) {
                queued = queue_mail_pg(tx, Some(id), mail, job.now).await?;
                posted.mail_queued = queued;
                posted.mail_capped = !queued;
            }
            insert_grant(tx, id, grant, grant.emailed && queued, seq, job.now).await?;
        }
    } else if let Some(mail) = notice {
        // Over a budget the claim stays: he is told again once he reads
        // or the coalescing window passes, as if it had gone.
        let queued = queue_mail_pg(tx, Some(id), &mail, job.now).await?;
        posted.mail_queued = queued;
        posted.mail_capped = !queued;
    }
    Ok(posted)
}

/// As `conversations::unused_link_since`: whether an e-mailed link younger
/// than `since` is still unused and unexpired (first-contact links aside).
async fn unused_link_since(
    tx: &mut PgConnection,
    conversation_id: &ConversationId,
    now: Timestamp,
    since: Timestamp,
) -> Result<bool, StoreError> {
    let pending: Option<(i32,)> = sqlx::query_as(super::conversations::UNUSED_LINK_SINCE)
        .bind(conversation_id.to_string())
        .bind(now.as_ms())
        .bind(since.as_ms())
        .bind(GrantKind::FirstContact.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    Ok(pending.is_some())
}

/// As `grants::insert_grant`, with the number the link carries given: the
/// conversation's row holds the batch's last number, not this post's.
/// `emailed` is as stored: over a mail budget it was not e-mailed, and
/// must not count as a pending link that coalesces the next one.
async fn insert_grant(
    tx: &mut PgConnection,
    conversation_id: &ConversationId,
    grant: &NewGrant,
    emailed: bool,
    carries_seq: i64,
    now: Timestamp,
) -> Result<(), StoreError> {
    let epoch = i64::try_from(grant.epoch).map_err(|_| StoreError::Corrupt {
        table: "grants",
        column: "epoch",
        problem: "is beyond 2^63",
    })?;
    sqlx::query(
        "INSERT INTO grants (id_hash, conversation_id, wrapped_key, emailed, kind, created_at, \
         expires_at, epoch, carries_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(grant.id_hash.as_slice())
    .bind(conversation_id.to_string())
    .bind(&grant.sealed_key)
    .bind(super::flag(emailed))
    .bind(grant.kind.as_str())
    .bind(now.as_ms())
    .bind(grant.expires_at.as_ms())
    .bind(epoch)
    .bind(carries_seq)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::conflict_as(Unique::Grant))?;
    Ok(())
}
