//! The operator's copies of a SQLite database: `backup` (while the server
//! runs) and `restore` (into a stopped or new installation). PostgreSQL has
//! its own tools, `pg_dump` and `pg_restore`: these commands say so rather
//! than drive them, since the right dump for an installation (its format,
//! version, credentials and where they come from) is the database
//! operator's call, not ours.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use latchkey_server::secrets::sqlite_path;
use latchkey_server::store::{check_sqlite_copy, CopyCheck, Store};

use crate::admin::ServerArgs;
use crate::error::CliError;

const POSTGRES_BACKUP: &str = "the database is PostgreSQL: back it up with pg_dump \
     (pg_dump --format=custom --file=FILE \"$LATCHKEY_DATABASE_URL\"), consistent while the \
     server runs; see Backups in the README";
const POSTGRES_RESTORE: &str = "the database is PostgreSQL: restore it with pg_restore \
     (pg_restore --no-owner --dbname=\"$LATCHKEY_DATABASE_URL\" FILE into an empty database); \
     see Backups in the README";

/// `latchkey backup`.
#[derive(clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The copy to write (mode 0600); refused if it exists.
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
}

/// `latchkey restore`.
#[derive(clap::Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// A copy written by `latchkey backup`.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// Replace an existing database (stop the server first).
    #[arg(long)]
    force: bool,
}

/// The configured SQLite file, or why there is none.
fn sqlite_file(database_url: &str, postgres: &str) -> Result<PathBuf, CliError> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        return Err(CliError::Usage(postgres.into()));
    }
    sqlite_path(database_url)
        .ok_or_else(|| CliError::Config("database_url names no SQLite file (sqlite://PATH)".into()))
}

/// Creates `path` empty, owner-only, failing if it exists.
fn create_new_owner_only(path: &Path) -> Result<File, CliError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::Usage(format!(
                "{} already exists; refusing to overwrite it",
                path.display()
            ))
        } else {
            CliError::io(path.display().to_string())(e)
        }
    })
}

/// Flushes a file's folder, so that a new name in it survives a crash.
fn sync_folder(file: &Path) -> Result<(), CliError> {
    let folder = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(folder)
        .and_then(|f| f.sync_all())
        .map_err(CliError::io(folder.display().to_string()))
}

fn refuse_unsound(path: &Path, check: &CopyCheck) -> Result<(), CliError> {
    if check.is_sound() {
        return Ok(());
    }
    let mut problems = Vec::new();
    if !check.has_migrations {
        problems.push("it is not a latchkey database (no migration table)".to_owned());
    }
    if !check.unknown_migrations.is_empty() {
        problems.push(format!(
            "it has migrations this latchkey does not know ({:?}): a newer version made it, \
             restore it with that version",
            check.unknown_migrations
        ));
    }
    if !check.integrity.is_empty() {
        problems.push(format!(
            "PRAGMA integrity_check found {} problem(s), the first: {}",
            check.integrity.len(),
            check.integrity.first().map_or("", String::as_str)
        ));
    }
    Err(CliError::Failed(
        format!(
            "{} is not a sound copy: {}",
            path.display(),
            problems.join("; ")
        )
        .into(),
    ))
}

/// Removes SQLite's companion files of a database (WAL, shared memory,
/// rollback journal), if there.
fn remove_companions(path: &Path) {
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// Removes a file and its companions, if there.
fn remove_with_companions(path: &Path) {
    let _ = std::fs::remove_file(path);
    remove_companions(path);
}

/// Writes a consistent copy of the running installation's SQLite database.
pub async fn backup(args: BackupArgs) -> Result<(), CliError> {
    let config = args.server.load()?;
    let url = config.database_url.expose();
    let database = sqlite_file(url, POSTGRES_BACKUP)?;
    // Connecting with the configured URL would create a missing database.
    if !database.is_file() {
        return Err(CliError::Config(
            format!("no database at {}", database.display()).into(),
        ));
    }
    let target = args.to.to_str().ok_or_else(|| {
        CliError::Usage("--to must be a path in UTF-8 (SQLite takes it as text)".into())
    })?;
    // Made here, empty and owner-only, so that nobody else's file is
    // replaced and the copy is never readable by others; VACUUM INTO
    // fills an empty file.
    let file = create_new_owner_only(&args.to)?;
    let written = async {
        let store = Store::connect(url).await?;
        let copied = store.vacuum_into(target).await;
        store.close().await;
        copied?;
        file.sync_all()
            .map_err(CliError::io(args.to.display().to_string()))?;
        sync_folder(&args.to)?;
        let check = check_sqlite_copy(&args.to).await?;
        refuse_unsound(&args.to, &check)
    }
    .await;
    if let Err(error) = written {
        remove_with_companions(&args.to);
        return Err(error);
    }
    let bytes = std::fs::metadata(&args.to)
        .map_err(CliError::io(args.to.display().to_string()))?
        .len();
    println!(
        "wrote {} ({bytes} bytes, checked): keep it with a copy of the secrets file, never \
         with the epoch file",
        args.to.display()
    );
    Ok(())
}

/// Puts a checked copy in place of the configured SQLite database.
pub async fn restore(args: RestoreArgs) -> Result<(), CliError> {
    let config = args.server.load()?;
    let database = sqlite_file(config.database_url.expose(), POSTGRES_RESTORE)?;
    if database.exists() && !args.force {
        return Err(CliError::Usage(format!(
            "{} exists; refusing to replace it (stop the server, then add --force)",
            database.display()
        )));
    }
    if !args.from.is_file() {
        return Err(CliError::Usage(format!(
            "no backup at {}",
            args.from.display()
        )));
    }
    if let Some(folder) = database.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(CliError::io(folder.display().to_string()))?;
    }
    // The copy is checked where it will live, under a temporary name, and
    // only then takes the database's: a failed restore leaves the old
    // database (or none) as it was.
    let mut name = database.as_os_str().to_owned();
    name.push(format!(".restoring-{}", std::process::id()));
    let staged = PathBuf::from(name);
    let result = async {
        let mut file = create_new_owner_only(&staged)?;
        let mut source =
            File::open(&args.from).map_err(CliError::io(args.from.display().to_string()))?;
        std::io::copy(&mut source, &mut file)
            .map_err(CliError::io(staged.display().to_string()))?;
        file.flush()
            .and_then(|()| file.sync_all())
            .map_err(CliError::io(staged.display().to_string()))?;
        let check = check_sqlite_copy(&staged).await?;
        refuse_unsound(&args.from, &check)?;
        let io = CliError::io(database.display().to_string());
        if args.force {
            // The old database's WAL belongs to it: replayed over the
            // restored file it would corrupt it.
            remove_companions(&database);
            std::fs::rename(&staged, &database).map_err(io)?;
        } else {
            // A link, not a rename: it fails if a database appeared
            // meanwhile instead of replacing it.
            std::fs::hard_link(&staged, &database).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    CliError::Usage(format!(
                        "{} appeared meanwhile; refusing to replace it",
                        database.display()
                    ))
                } else {
                    io(e)
                }
            })?;
        }
        sync_folder(&database)
    }
    .await;
    remove_with_companions(&staged);
    result?;
    println!(
        "restored {} into {}: start the server with the same secrets file and this \
         installation's epoch file",
        args.from.display(),
        database.display()
    );
    Ok(())
}
