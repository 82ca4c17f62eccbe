//! The secrets file (root key + OPAQUE server setup) and the keys the server
//! derives from it. The file lives beside the database, never inside its
//! folder: a copy of the database folder alone must be useless.

use std::io::Write;
use std::path::{Path, PathBuf};

use latchkey_core::opaque::ServerSetup;
use latchkey_core::server::{BlindIndexKey, FieldKey, FieldPurpose, ServerSecrets};
use latchkey_core::webhook::WebhookKey;
use latchkey_core::OsRng;

use crate::epochs::EpochKeys;

/// Why the secrets file could not be written or used.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// No file at the configured path.
    #[error(
        "no secrets file at {0}: run `latchkey init --secrets-file {0}` first (or serve with --dev)"
    )]
    Missing(PathBuf),
    /// `init` refuses to overwrite keys: that would orphan every password.
    #[error("{0} already exists; refusing to overwrite server keys")]
    Exists(PathBuf),
    /// The file sits in the database's folder.
    #[error("the secrets file {0} must not be inside the database's folder {1}")]
    InsideDatabaseFolder(PathBuf, PathBuf),
    /// The file exists but is not a latchkey secrets file.
    #[error("{0} is not a valid latchkey secrets file")]
    Corrupt(PathBuf),
    /// The epoch file exists but is not one.
    #[error(
        "{0} is not a valid latchkey epoch file. If it is damaged beyond repair, every link not \
         yet used is lost with it: delete it, and clear the database's epoch_check row \
         (DELETE FROM epoch_check) so that a new chain is accepted; guests then ask for new links"
    )]
    CorruptEpochFile(PathBuf),
    /// The epoch file's epochs are so short that too many are alive at once.
    #[error(
        "{path} has epochs of {length_secs}s, so {live} would be alive at once with these link \
         life times (at most 10000): make a new epoch file with a longer links.epoch_secs"
    )]
    EpochsTooShort {
        /// The file.
        path: PathBuf,
        /// Its epoch length.
        length_secs: u32,
        /// How many epochs would be alive.
        live: i64,
    },
    /// The database has seen an epoch file, and this one is missing.
    #[error(
        "no epoch file at {0}, but this database's links were sealed with one: copy it from \
         another instance (or restore it). If every copy is lost, the links not yet used are \
         lost with it: clear the database's epoch_check row (DELETE FROM epoch_check) and start \
         again; guests then ask for new links"
    )]
    MissingEpochFile(PathBuf),
    /// The epoch file and the secrets file are one path.
    #[error("the epoch file {0} is the secrets file: give epoch_file a path of its own")]
    EpochFileIsSecretsFile(PathBuf),
    /// Another instance on this database uses another epoch file.
    #[error(
        "{0} is not the epoch file the other instances on this database use: copy theirs here \
         (all instances need the same file, copied once when they are set up)"
    )]
    EpochMismatch(PathBuf),
    /// The epoch file sits in the database's folder.
    #[error("the epoch file {0} must not be inside the database's folder {1}")]
    EpochFileInsideDatabaseFolder(PathBuf, PathBuf),
    /// The file system said no.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Every key the server uses: those derived once at start from the secrets
/// file, and the epoch keys, which move on as time passes.
pub struct ServerKeys {
    /// OPAQUE server setup (its long-term key pair and OPRF seed).
    pub opaque: ServerSetup,
    /// Seals outbox e-mails (recipient and link key) until they are sent.
    pub outbox: FieldKey,
    /// Seals guest e-mail addresses.
    pub guest_email: FieldKey,
    /// Seals member e-mail addresses.
    pub member_email: FieldKey,
    /// Seals OPAQUE login state between the two login requests.
    pub login_state: FieldKey,
    /// Seals a registration's identity challenge into the token the client
    /// carries from step 1 to step 2.
    pub registration_state: FieldKey,
    /// Blind index of guest addresses (rate limits, new-link requests).
    pub blind_index: BlindIndexKey,
    /// Derives each webhook endpoint's signing secret (stored nowhere).
    pub webhooks: WebhookKey,
    /// The second seal on stored grants, from the epoch file.
    pub epochs: EpochKeys,
}

impl std::fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKeys(***)")
    }
}

impl ServerKeys {
    fn from_secrets(secrets: ServerSecrets, epochs: EpochKeys) -> ServerKeys {
        ServerKeys {
            epochs,
            outbox: secrets.root.field_key(FieldPurpose::OutboxLinkKey),
            guest_email: secrets.root.field_key(FieldPurpose::GuestEmail),
            member_email: secrets.root.field_key(FieldPurpose::MemberEmail),
            login_state: secrets.root.field_key(FieldPurpose::LoginState),
            registration_state: secrets.root.field_key(FieldPurpose::RegistrationState),
            blind_index: secrets.root.blind_index_key(),
            webhooks: secrets.root.webhook_key(),
            opaque: secrets.opaque,
        }
    }

    /// Reads the secrets file; `epochs` come from the epoch file.
    pub fn load(path: &Path, epochs: EpochKeys) -> Result<ServerKeys, SecretsError> {
        Ok(ServerKeys::from_secrets(read(path)?, epochs))
    }
}

/// The webhook key alone, for `latchkey admin webhook add`, which shows a
/// new endpoint's secret and needs no epoch file for it.
pub fn webhook_key(path: &Path) -> Result<WebhookKey, SecretsError> {
    Ok(read(path)?.root.webhook_key())
}

/// Reads and decodes the secrets file.
fn read(path: &Path) -> Result<ServerSecrets, SecretsError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => zeroize::Zeroizing::new(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SecretsError::Missing(path.to_owned()))
        }
        Err(source) => {
            return Err(SecretsError::Io {
                path: path.to_owned(),
                source,
            })
        }
    };
    ServerSecrets::from_file_bytes(&bytes).map_err(|_| SecretsError::Corrupt(path.to_owned()))
}

/// Writes a new secrets file, readable by its owner only. Fails if the file
/// exists.
pub fn init(path: &Path) -> Result<(), SecretsError> {
    let secrets = ServerSecrets::generate(&mut OsRng);
    create_owner_only(path, &secrets.expose_file_bytes())
}

/// Writes a new key file (its folder made if need be), readable by its
/// owner only and flushed to disk. Fails if the file exists: that would
/// replace keys something depends on.
pub(crate) fn create_owner_only(path: &Path, bytes: &[u8]) -> Result<(), SecretsError> {
    let io = |source| SecretsError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            SecretsError::Exists(path.to_owned())
        } else {
            io(e)
        }
    })?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Refuses a secrets file inside the folder of a SQLite database (or below
/// it): whoever copies that folder would take the keys with the data.
pub fn check_location(secrets_file: &Path, database_url: &str) -> Result<(), SecretsError> {
    match database_folder_holding(secrets_file, database_url) {
        Some(db_dir) => Err(SecretsError::InsideDatabaseFolder(
            secrets_file.to_owned(),
            db_dir,
        )),
        None => Ok(()),
    }
}

/// Refuses an epoch file inside the folder of a SQLite database: a copy of
/// the folder would then hold the keys that old grants need.
pub fn check_epoch_location(epoch_file: &Path, database_url: &str) -> Result<(), SecretsError> {
    match database_folder_holding(epoch_file, database_url) {
        Some(db_dir) => Err(SecretsError::EpochFileInsideDatabaseFolder(
            epoch_file.to_owned(),
            db_dir,
        )),
        None => Ok(()),
    }
}

/// The SQLite database's folder, if `file` lies in it or below it.
fn database_folder_holding(file: &Path, database_url: &str) -> Option<PathBuf> {
    let db_path = sqlite_path(database_url)?;
    let db_dir = db_path.parent()?;
    let absolute = |p: &Path| {
        std::path::absolute(if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        })
        .unwrap_or_else(|_| p.to_owned())
    };
    let db_dir = absolute(db_dir);
    let file_dir = absolute(file.parent().unwrap_or(Path::new(".")));
    file_dir.starts_with(&db_dir).then_some(db_dir)
}

/// The file of a `sqlite:` URL, if it is one.
pub fn sqlite_path(database_url: &str) -> Option<PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let file = rest.split('?').next().unwrap_or(rest);
    (!file.is_empty() && file != ":memory:").then(|| PathBuf::from(file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epochs::EpochSettings;
    use crate::model::Timestamp;

    fn epochs(dir: &Path) -> EpochKeys {
        let hour = std::time::Duration::from_secs(3600);
        let settings = EpochSettings {
            new_length: hour,
            link_ttl: hour,
            link_grace: hour,
        };
        EpochKeys::open_or_create(&dir.join("epochs"), &settings, Timestamp::now(), true)
            .unwrap()
            .0
    }

    #[test]
    fn init_writes_an_owner_only_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/secrets.key");
        init(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(init(&path), Err(SecretsError::Exists(_))));
        ServerKeys::load(&path, epochs(dir.path())).unwrap();
    }

    #[test]
    fn missing_and_corrupt_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.key");
        let err = ServerKeys::load(&path, epochs(dir.path())).unwrap_err();
        assert!(err.to_string().contains("latchkey init"), "{err}");
        std::fs::write(&path, b"not keys").unwrap();
        assert!(matches!(
            ServerKeys::load(&path, epochs(dir.path())),
            Err(SecretsError::Corrupt(_))
        ));
    }

    #[test]
    fn secrets_beside_the_database_folder_only() {
        let inside = check_location(
            Path::new("data/secrets.key"),
            "sqlite://data/latchkey.db?mode=rwc",
        );
        assert!(matches!(
            inside,
            Err(SecretsError::InsideDatabaseFolder(..))
        ));
        check_location(
            Path::new("secrets.key"),
            "sqlite://data/latchkey.db?mode=rwc",
        )
        .unwrap();
        check_location(Path::new("secrets.key"), "postgres://db/latchkey").unwrap();
    }
}
