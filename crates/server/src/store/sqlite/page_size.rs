//! The database file's page size (issue 12, item 3).
//!
//! A 1 KiB message takes about 1.1 KB of row. SQLite's default 4 KiB page
//! holds three such rows and loses the rest: about 250 bytes a message, a
//! fifth of the file. An 8 KiB page holds seven and loses about 60 bytes a
//! row; 32 KiB pages would lose about 20. But every page a batch touches
//! is written whole to the WAL, and a post touches several (the message's,
//! both indexes', the event's, the conversation's). `scripts/bench`
//! measured posts at 10,725 req/s (c64) with 8 KiB pages and 4,936 with
//! 32 KiB, for 40 bytes a message less (docs/benchmarks.md, "Compact
//! storage"). 8 KiB it is.
//!
//! The size is set when the file is made, and afterwards only by a
//! `VACUUM` outside WAL mode, which needs the file to itself. So the store
//! makes a new file itself ([`create`]; sqlx would make it with its
//! default), and the two commands that migrate (`serve`, `migrate`)
//! rebuild an older one ([`convert`]) before they connect. Nothing else
//! rebuilds: `doctor` and `backup` leave the file as they found it.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use super::engine::OPEN_FLAGS;
use super::PRAGMAS;
use crate::store::StoreError;

/// The page size every database file is brought to.
pub(crate) const PAGE_SIZE: u32 = 8 * 1024;

/// What [`convert`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Converted {
    /// No file, or the page size is [`PAGE_SIZE`] already.
    Nothing,
    /// Rebuilt from pages of this size.
    From { old: u32, took: Duration },
    /// Another process has the file open (it stays in WAL mode): left as
    /// it is, for a later start.
    Busy,
}

/// Makes the file at `path`, if there is none, with [`PAGE_SIZE`] pages
/// (and in WAL mode, which writes its first page).
pub(crate) fn create(path: &Path) -> Result<(), StoreError> {
    if path.exists() {
        return Ok(());
    }
    let conn = Connection::open_with_flags(path, OPEN_FLAGS)?;
    // Before WAL mode, which writes the file's first page.
    conn.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE};"))?;
    conn.execute_batch(PRAGMAS)?;
    Ok(())
}

/// Rebuilds the file at `path` with [`PAGE_SIZE`] pages if it has others.
/// Needs about the file's size again in free space while it runs, and
/// takes the time of copying the file (seconds for a gigabyte).
pub(crate) fn convert(path: &Path) -> Result<Converted, StoreError> {
    if !path.exists() {
        return Ok(Converted::Nothing);
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Short: a store already running on the file is what it waits for.
    conn.busy_timeout(Duration::from_secs(1))?;
    let old: u32 = conn.query_row("PRAGMA page_size", [], |row| row.get(0))?;
    if old == PAGE_SIZE {
        return Ok(Converted::Nothing);
    }
    let started = Instant::now();
    // Leaving WAL mode needs every other connection gone; when one is not,
    // SQLite keeps WAL and says so in the answer.
    // SQLite keeps WAL, or answers busy.
    let mode = conn.query_row("PRAGMA journal_mode = DELETE", [], |row| {
        row.get::<_, String>(0)
    });
    match mode {
        Ok(mode) if mode.eq_ignore_ascii_case("delete") => {}
        Ok(_) => return Ok(Converted::Busy),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            return Ok(Converted::Busy)
        }
        Err(e) => return Err(e.into()),
    }
    let rebuilt = conn.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE}; VACUUM;"));
    // Back to WAL whatever the VACUUM did: the rest of the store needs it.
    conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
        row.get::<_, String>(0)
    })?;
    rebuilt?;
    Ok(Converted::From {
        old,
        took: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_size(path: &Path) -> u32 {
        Connection::open(path)
            .unwrap()
            .query_row("PRAGMA page_size", [], |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn a_4k_database_is_rebuilt_with_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; \
                 CREATE TABLE t (x BLOB); \
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) \
                 INSERT INTO t SELECT randomblob(1000) FROM n;",
            )
            .unwrap();
        }
        assert_eq!(page_size(&path), 4096);
        assert!(matches!(
            convert(&path).unwrap(),
            Converted::From { old: 4096, .. }
        ));
        assert_eq!(page_size(&path), PAGE_SIZE);
        let conn = Connection::open(&path).unwrap();
        let (rows, mode): (i64, String) = (
            conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
                .unwrap(),
            conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap(),
        );
        assert_eq!((rows, mode.as_str()), (300, "wal"));
        drop(conn);
        assert_eq!(convert(&path).unwrap(), Converted::Nothing);
    }

    #[test]
    fn a_database_another_connection_holds_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("held.db");
        let held = Connection::open(&path).unwrap();
        held.execute_batch(
            "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE t (x); \
             INSERT INTO t VALUES (1); BEGIN; SELECT * FROM t;",
        )
        .unwrap();
        assert_eq!(convert(&path).unwrap(), Converted::Busy);
        assert_eq!(page_size(&path), 4096);
        drop(held);
    }

    #[test]
    fn the_wal_checkpoints_at_4_mib_of_pages() {
        let pages = 4 * 1024 * 1024 / PAGE_SIZE;
        assert!(
            PRAGMAS.contains(&format!("PRAGMA wal_autocheckpoint = {pages};")),
            "{PRAGMAS}"
        );
    }

    #[test]
    fn a_new_file_is_made_with_the_page_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        assert_eq!(convert(&path).unwrap(), Converted::Nothing);
        assert!(!path.exists(), "convert makes no file");
        create(&path).unwrap();
        assert_eq!(page_size(&path), PAGE_SIZE);
        assert_eq!(convert(&path).unwrap(), Converted::Nothing);
    }
}
