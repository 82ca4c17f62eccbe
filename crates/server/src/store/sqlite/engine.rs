//! SQLite connections of our own: one writer thread with group commit, and
//! readers called in place.
//!
//! SQLite takes one writer at a time. With a pool of writers, the ones that
//! find the lock taken sleep in the busy handler (1, 2, 5 … 100 ms) while
//! the lock sits idle, and every statement is a hand-off to the driver's
//! worker thread. Here all writes of the hot path go to one thread that
//! owns the write connection: it takes every job waiting, runs them in one
//! transaction (each inside a savepoint, so one failing job undoes only
//! itself), commits once — one fsync for the batch — and only then answers
//! each job. While it commits, the next jobs queue up and form the next
//! batch, so batches grow with load and a lone write waits for nobody.
//!
//! Reads run on the caller's thread, on a connection taken from a small
//! pool: a read of the hot path is a few indexed statements on cached
//! pages, cheaper than handing it to another thread and back. WAL keeps
//! them from ever waiting for the writer.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use crate::store::{StoreError, WriteStats};

/// Jobs waiting beyond this make the caller wait to queue (back-pressure).
const QUEUE: usize = 4096;
/// At most this many jobs share a transaction: bounds how long the first
/// of them waits for the commit.
const MAX_BATCH: usize = 512;
/// Idle read connections kept; more are opened under load and closed after.
const IDLE_READERS: usize = 8;

/// The pragmas of every connection, sqlx's included (the page size is set
/// once, when the file is made: `page_size.rs`). WAL: readers never block
/// the writer.
/// synchronous FULL: a commit is on disk before it is acknowledged (with
/// group commit, one fsync serves the whole batch). secure_delete: a
/// destroyed row is overwritten, not just unlinked. foreign_keys: deleting
/// a conversation cascades. busy_timeout: the rest of the store still
/// writes through sqlx's pool and takes the lock in turn.
/// wal_autocheckpoint: at 512 pages, the 4 MiB it was with 4 KiB pages
/// (the default counts 1,000 pages, whatever their size).
/// journal_size_limit: after a checkpoint, a WAL grown by a burst is cut
/// back to 64 MiB instead of keeping its largest size for good.
pub(crate) const PRAGMAS: &str = "PRAGMA journal_mode = WAL; \
                                  PRAGMA synchronous = FULL; PRAGMA secure_delete = ON; \
                                  PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                                  PRAGMA wal_autocheckpoint = 512; \
                                  PRAGMA journal_size_limit = 67108864;";

/// What a job hands back after running: whether to keep its writes, and
/// how to answer once the batch's fate is known (`true`: committed).
type Reply = Box<dyn FnOnce(bool) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>;

/// The writer thread and the read connections of one database file.
pub(crate) struct SqliteEngine {
    path: PathBuf,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteEngine").finish_non_exhaustive()
    }
}

/// How every connection of ours opens the file (`page_size.rs` too): it
/// may be made, and each connection stays on one thread at a time.
pub(super) const OPEN_FLAGS: OpenFlags = OpenFlags::SQLITE_OPEN_READ_WRITE
    .union(OpenFlags::SQLITE_OPEN_CREATE)
    .union(OpenFlags::SQLITE_OPEN_NO_MUTEX);

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, OPEN_FLAGS)?;
    conn.execute_batch(PRAGMAS)?;
    // Statements are few and repeated: keep all of them prepared.
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl SqliteEngine {
    /// Opens the writer (starting its thread) on the file at `path`.
    pub(crate) fn start(path: &Path, stats: Arc<WriteStats>) -> Result<SqliteEngine, StoreError> {
        let conn = open(path)?;
        let (send, receive) = mpsc::channel(QUEUE);
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_loop(conn, receive, &stats))
            .map_err(|e| StoreError::Commit(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteEngine {
            path: path.to_path_buf(),
            jobs: Mutex::new(Some(send)),
            writer: Mutex::new(Some(writer)),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Runs `job` in the writer's next transaction; answers once that has
    /// committed (or with the job's own error, its writes undone).
    pub(crate) async fn write<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = job(conn);
            let keep = result.is_ok();
            let reply: Reply = Box::new(move |committed| {
                let _gone = answer.send(match result {
                    Ok(_) if !committed => Err(StoreError::Commit(
                        "the batch was rolled back; nothing of it was stored".into(),
                    )),
                    other => other,
                });
            });
            (keep, reply)
        });
        let sender = self
            .jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(StoreError::WriterGone)?;
        sender.send(job).await.map_err(|_| StoreError::WriterGone)?;
        // A job dropped unanswered never ran (its batch failed first) or
        // panicked (undone).
        answered.await.map_err(|_| {
            StoreError::Commit("the write did not run; nothing of it was stored".into())
        })?
    }

    /// Runs `read` on a read connection, here and now, in one read
    /// transaction.
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = open(&self.path)?;
                // A reader never writes; say so to SQLite too.
                conn.execute_batch("PRAGMA query_only = ON;")?;
                conn
            }
        };
        // One read transaction for all of `read`: its statements see one
        // snapshot, and the database's locks are taken once, not once a
        // statement (each is a few fcntl calls, contended between threads).
        conn.prepare_cached("BEGIN")?.execute([])?;
        let result = read(&conn);
        if let Err(e) = conn
            .prepare_cached("COMMIT")
            .and_then(|mut end| end.execute([]))
        {
            // A connection stuck in its transaction must not go back.
            tracing::warn!(error = %e, "a read transaction did not end; connection dropped");
            return result;
        }
        let mut readers = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        if readers.len() < IDLE_READERS {
            readers.push(conn);
        }
        result
    }

    /// Stops the writer after the jobs already queued, and closes every
    /// connection.
    pub(crate) fn close(&self) {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = writer {
            if writer.join().is_err() {
                tracing::error!("the SQLite writer thread panicked");
            }
        }
        self.readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// The writer thread: a batch per turn until every sender is gone.
fn write_loop(conn: Connection, mut jobs: mpsc::Receiver<Job>, stats: &WriteStats) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = jobs.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let jobs_in_batch = batch.len();
        if commit_batch(&conn, batch.drain(..)) {
            stats.committed(jobs_in_batch);
        }
    }
}

/// One transaction for `batch`; answers every job after the commit.
/// Returns whether it committed.
fn commit_batch(conn: &Connection, batch: impl Iterator<Item = Job>) -> bool {
    let mut replies: Vec<Reply> = Vec::new();
    let mut healthy = run(conn, "BEGIN IMMEDIATE");
    for job in batch {
        // Once the transaction is broken, later jobs are dropped
        // unanswered: their callers learn that they did not run.
        if !healthy {
            continue;
        }
        if !run(conn, "SAVEPOINT job") {
            healthy = false;
            continue;
        }
        // A panic in a job (a bug) must not take the writer down with
        // every later write: its savepoint is undone, its caller sees the
        // writer's answer channel dropped.
        let outcome = catch_unwind(AssertUnwindSafe(|| job(conn)));
        let keep = match outcome {
            Ok((keep, reply)) => {
                replies.push(reply);
                keep
            }
            Err(_) => {
                tracing::error!("a write job panicked; its writes are undone");
                false
            }
        };
        healthy &= if keep {
            run(conn, "RELEASE job")
        } else {
            run(conn, "ROLLBACK TO job") && run(conn, "RELEASE job")
        };
    }
    let committed = healthy && run(conn, "COMMIT");
    if !committed {
        if let Err(e) = conn.execute_batch("ROLLBACK") {
            // No transaction left to roll back is the usual case here.
            tracing::debug!(error = %e, "rollback after a failed batch");
        }
        tracing::error!("a write batch did not commit; its callers get an error");
    }
    for reply in replies {
        reply(committed);
    }
    committed
}

/// Runs one statement of the batch's frame (kept prepared: they run for
/// every job); whether it succeeded.
fn run(conn: &Connection, sql: &str) -> bool {
    match conn
        .prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
    {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(error = %e, statement = sql, "the writer's transaction failed");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::sync::atomic::Ordering;

    use super::*;

    fn engine(dir: &tempfile::TempDir) -> (Arc<SqliteEngine>, Arc<WriteStats>) {
        let path = dir.path().join("t.db");
        let stats = Arc::<WriteStats>::default();
        let engine = SqliteEngine::start(&path, stats.clone()).unwrap();
        (Arc::new(engine), stats)
    }

    fn count(engine: &SqliteEngine) -> i64 {
        engine
            .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))?))
            .unwrap()
    }

    /// Concurrent writes share transactions; one that fails is undone
    /// alone, and its caller gets its own error; the others are stored.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_commit_in_batches_and_fail_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, stats) = engine(&dir);
        engine
            .write(|c| Ok(c.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")?))
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for n in 0..400i64 {
            let engine = engine.clone();
            tasks.push(tokio::spawn(async move {
                engine
                    .write(move |c| {
                        c.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
                        if n == 7 {
                            // Written, then refused: the savepoint undoes it.
                            return Err(StoreError::NotFound("seven"));
                        }
                        Ok(n)
                    })
                    .await
            }));
        }
        for (n, task) in tasks.into_iter().enumerate() {
            let result = task.await.unwrap();
            if n == 7 {
                assert!(matches!(result, Err(StoreError::NotFound("seven"))));
            } else {
                assert_eq!(result.unwrap(), i64::try_from(n).unwrap());
            }
        }
        assert_eq!(count(&engine), 399);
        let batches = stats.batches.load(Ordering::Relaxed);
        let writes = stats.writes.load(Ordering::Relaxed);
        assert_eq!(
            writes, 401,
            "every write, the failed one too, ran in a batch"
        );
        assert!(batches < writes, "{writes} writes in {batches} batches");
        engine.close();
    }

    /// A panicking job is undone and answered with an error; the writer
    /// goes on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_job_does_not_stop_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, _) = engine(&dir);
        engine
            .write(|c| Ok(c.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")?))
            .await
            .unwrap();
        let panicked = engine
            .write(|c| -> Result<(), StoreError> {
                c.execute("INSERT INTO t (n) VALUES (1)", [])?;
                panic!("a bug in a job");
            })
            .await;
        assert!(matches!(panicked, Err(StoreError::Commit(_))));
        engine
            .write(|c| Ok(c.execute("INSERT INTO t (n) VALUES (2)", [])?))
            .await
            .unwrap();
        assert_eq!(count(&engine), 1);
        engine.close();
        assert!(matches!(
            engine.write(|_| Ok(())).await,
            Err(StoreError::WriterGone)
        ));
    }
}
