//! The checks behind `latchkey doctor`: what `serve` would trip over, found
//! before it starts, each said in plain words with what to do. They read
//! and connect but never write: no secrets or epoch file is made or moved
//! on, no migration applied, no mail sent.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use sqlx::Connection;

use crate::config::{Config, MailTransportKind, SmtpConfig, SmtpSecurity};
use crate::epochs::{self, EpochKeys};
use crate::mail::{MailError, Mailer};
use crate::model::Timestamp;
use crate::secrets::{self, SecretsError};
use crate::store::Store;

/// One check's outcome: `Ok` says what was found, `Err` what is wrong and
/// what to do about it. Neither carries a secret.
pub type Check = Result<String, String>;

/// How long the database may take to answer.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(10);

/// `public_url`: an https address of a host, no path, outside dev mode
/// (cookies are `Secure` there, and browsers keep them off plain HTTP).
pub fn check_public_url(config: &Config) -> Check {
    if config.public_url.is_empty() {
        return if config.dev {
            Ok("not set: dev mode uses the listening address".into())
        } else {
            Err(
                "public_url is not set, so e-mailed links would point at the listening \
                 address: set public_url (LATCHKEY_PUBLIC_URL) to the https:// address \
                 users open"
                    .into(),
            )
        };
    }
    let url = url::Url::parse(&config.public_url).map_err(|e| format!("public_url: {e}"))?;
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "public_url has a path, query or fragment ({}): latchkey is served at the root \
             of its host; give only https://HOST[:PORT]",
            url.path()
        ));
    }
    if url.scheme() != "https" && !config.dev {
        return Err(format!(
            "public_url is {}:// outside dev mode: sign-in cookies are Secure, so browsers \
             would not send them over plain HTTP and nobody could sign in; serve over https \
             (e.g. behind a TLS-terminating proxy) and set public_url to https://{}",
            url.scheme(),
            url.host_str().unwrap_or("HOST")
        ));
    }
    let cookies = if config.secure_cookies() {
        "Secure cookies"
    } else {
        "plain-HTTP cookies (dev mode)"
    };
    Ok(format!("{} ({cookies})", config.public_origin()))
}

/// The secrets file: where it is, who can read it, and whether it parses.
pub fn check_secrets_file(config: &Config) -> Check {
    let path = &config.secrets_file;
    secrets::check_location(path, config.database_url.expose()).map_err(|e| e.to_string())?;
    let bytes = match std::fs::read(path) {
        Ok(bytes) => zeroize::Zeroizing::new(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && config.dev => {
            return Ok(format!(
                "{} not there yet: serve --dev creates it",
                path.display()
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SecretsError::Missing(path.clone()).to_string())
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    latchkey_core::server::ServerSecrets::from_file_bytes(&bytes)
        .map_err(|_| SecretsError::Corrupt(path.clone()).to_string())?;
    owner_only(path)?;
    Ok(format!("{} (owner-only, valid)", path.display()))
}

/// Refuses a key file that its group or others may read or write.
fn owner_only(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "{} has mode {:04o}: users other than its owner may read or change it; make \
                 it its owner's only: chmod 600 {}",
                path.display(),
                mode & 0o7777,
                path.display()
            ));
        }
    }
    Ok(())
}

/// What is known of the database when the epoch file is checked.
#[derive(Debug)]
pub enum DatabaseState<'a> {
    /// A SQLite file that does not exist yet: the first start makes both.
    New,
    /// Reachable and fully migrated.
    Ready(&'a Store),
    /// Unreachable, or not fully migrated: nothing to compare with.
    Unknown,
}

/// Connects to the database (`None` for a SQLite file not made yet: the
/// check creates no file) and reports its migrations.
pub async fn check_database(config: &Config) -> (Check, Option<Store>) {
    let url = config.database_url.expose();
    if let Some(file) = secrets::sqlite_path(url) {
        if !file.exists() {
            return (
                Ok(format!(
                    "no database at {} yet: `latchkey migrate` (or the first serve) creates it",
                    file.display()
                )),
                None,
            );
        }
    }
    let connected = tokio::time::timeout(DATABASE_TIMEOUT, async {
        // One connection first: the pool would retry a refused connection
        // until its timeout and then report only that it timed out.
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(url).await?.close().await?;
        let store = Store::connect(url).await?;
        store.ping().await?;
        Ok::<_, crate::store::StoreError>(store)
    })
    .await;
    let store = match connected {
        Ok(Ok(store)) => store,
        Ok(Err(e)) => {
            return (
                Err(format!(
                    "cannot reach the database ({e}): is it running, and is database_url \
                     (LATCHKEY_DATABASE_URL) right?"
                )),
                None,
            )
        }
        Err(_) => {
            return (
                Err(format!(
                    "the database did not answer within {}s: is it running, and is \
                     database_url (LATCHKEY_DATABASE_URL) right?",
                    DATABASE_TIMEOUT.as_secs()
                )),
                None,
            )
        }
    };
    let status = match store.migration_status().await {
        Ok(status) => status,
        Err(e) => return (Err(format!("cannot read its migrations: {e}")), None),
    };
    if !status.unknown.is_empty() {
        let versions: Vec<String> = status.unknown.iter().map(i64::to_string).collect();
        return (
            Err(format!(
                "the database has migrations this latchkey does not know ({}): a newer \
                 version migrated it; run that version (or restore a backup made before)",
                versions.join(", ")
            )),
            None,
        );
    }
    if !status.pending.is_empty() {
        return (
            Err(format!(
                "reachable, but {} migration(s) are not applied yet ({}): run `latchkey \
                 migrate` (serve also applies them when it starts)",
                status.pending.len(),
                status.pending.join(", ")
            )),
            None,
        );
    }
    (
        Ok(format!(
            "reachable, all {} migrations applied",
            status.applied.len()
        )),
        Some(store),
    )
}

/// The epoch file: where it is, that it opens and can be rewritten, and
/// that it is the chain the database knows (see
/// [`epochs::matches_database`]). Never created here.
pub async fn check_epoch_file(config: &Config, database: DatabaseState<'_>) -> Check {
    let path = config.epoch_file_path();
    secrets::check_epoch_location(&path, config.database_url.expose())
        .map_err(|e| e.to_string())?;
    if std::path::absolute(&path).ok() == std::path::absolute(&config.secrets_file).ok() {
        return Err(SecretsError::EpochFileIsSecretsFile(path).to_string());
    }
    let now = Timestamp::now();
    let Some(keys) = EpochKeys::open_read_only(&path, &config.epoch_settings(), now)
        .map_err(|e| e.to_string())?
    else {
        let may_create = match database {
            DatabaseState::New => true,
            DatabaseState::Ready(store) => store
                .epoch_check()
                .await
                .map_err(|e| format!("cannot read the database's epoch record: {e}"))?
                .is_none(),
            DatabaseState::Unknown => {
                return Err(format!(
                    "no epoch file at {}, and without the database there is no telling \
                     whether serve may make one: fix the database first",
                    path.display()
                ))
            }
        };
        return if may_create {
            Ok(format!(
                "{} not there yet: the first serve creates it (copy it to every other \
                 instance before they start)",
                path.display()
            ))
        } else {
            Err(SecretsError::MissingEpochFile(path).to_string())
        };
    };
    owner_only(&path)?;
    if let Err(e) = std::fs::OpenOptions::new().write(true).open(&path) {
        return Err(format!(
            "{} cannot be opened for writing ({e}): serve rewrites it as epochs pass; make \
             it writable by the user latchkey runs as (or move epoch_file somewhere writable)",
            path.display()
        ));
    }
    match database {
        DatabaseState::Ready(store) => match epochs::matches_database(store, &keys, now).await {
            Ok(true) => Ok(format!(
                "{} ({}s epochs, matches the database)",
                path.display(),
                keys.length_secs()
            )),
            Ok(false) => Err(SecretsError::EpochMismatch(path).to_string()),
            Err(e) => Err(format!("cannot compare it with the database: {e}")),
        },
        DatabaseState::New => Ok(format!(
            "{} ({}s epochs; the database is new)",
            path.display(),
            keys.length_secs()
        )),
        // The database line says what is wrong with it; the file itself is
        // not at fault.
        DatabaseState::Unknown => Ok(format!(
            "{} ({}s epochs; compared with the database once the database line is ok)",
            path.display(),
            keys.length_secs()
        )),
    }
}

/// The mail relay: connects, greets, upgrades to TLS as configured (the
/// certificate checked for the host by the same transport the server
/// sends with), logs in if configured, and says NOOP. Sends no mail.
pub async fn check_relay(config: &Config) -> Check {
    let mail = &config.mail;
    if mail.transport == MailTransportKind::Dev {
        return Ok("dev mailbox: mail stays in memory, at /dev/mail".into());
    }
    let smtp = &mail.smtp;
    let at = format!("{}:{}", smtp.host, smtp.port);
    if smtp.security == SmtpSecurity::None && !is_loopback(&smtp.host, smtp.port).await {
        return Err(format!(
            "mail.smtp.security = none sends mail (and its links) to {at} in plain text; \
             that is only allowed for a relay on this machine (loopback): use starttls or tls"
        ));
    }
    let transport = match Mailer::from_config(mail) {
        Ok(Mailer::Smtp { transport, .. }) => transport,
        Ok(Mailer::Dev(_)) => return Ok("dev mailbox".into()),
        Err(e) => return Err(format!("mail settings: {e}")),
    };
    let limit = smtp.timeout + Duration::from_secs(1);
    let tested = match tokio::time::timeout(limit, transport.test_connection()).await {
        Ok(tested) => tested,
        Err(_) => {
            return Err(format!(
                "the relay at {at} did not answer within {}s: check mail.smtp.host and \
                 mail.smtp.port, and that a firewall lets this machine through",
                limit.as_secs()
            ))
        }
    };
    let security = smtp.security.as_str();
    let trust = match &smtp.ca_file {
        Some(path) if smtp.security != SmtpSecurity::None => format!(
            "; its certificate checked against the public authorities and {}",
            path.display()
        ),
        _ => String::new(),
    };
    match tested {
        Ok(true) => Ok(format!("{at} answers (security = {security}{trust})")),
        Ok(false) => Err(format!(
            "the relay at {at} accepted the connection but not a NOOP: check that it is an \
             SMTP relay"
        )),
        Err(e) => Err(relay_problem(&e, &at, smtp)),
    }
}

/// Plain words for a failed relay test. Only lettre's own text and TLS
/// errors are shown: a relay's reply text is not (it could hold anything).
/// TLS failures are told apart as the outbox worker tells them
/// ([`MailError::from_smtp`]).
fn relay_problem(error: &lettre::transport::smtp::Error, at: &str, smtp: &SmtpConfig) -> String {
    let host = &smtp.host;
    // The innermost cause says it best ("Connection refused", "invalid
    // peer certificate: …"); lettre wraps it once or twice.
    let mut cause: &(dyn std::error::Error + 'static) = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let cause = cause.to_string();
    if error.is_client() && cause.contains("STARTTLS") {
        return format!(
            "the relay at {at} does not offer STARTTLS, which mail.smtp.security = starttls \
             requires: enable STARTTLS on the relay, or use its TLS port with security = tls"
        );
    }
    let wrong_port = if smtp.security == SmtpSecurity::Tls {
        " (and check that this port speaks TLS from the first byte; else use starttls)"
    } else {
        ""
    };
    match MailError::from_smtp(error) {
        MailError::Certificate { reason } => {
            let authorities = match &smtp.ca_file {
                Some(path) => format!(
                    "a public certificate authority or one in mail.smtp.ca_file ({})",
                    path.display()
                ),
                None => "a public certificate authority; for a relay with a private one, set \
                         mail.smtp.ca_file to its PEM file"
                    .into(),
            };
            return format!(
                "TLS with the relay at {at} failed, its certificate was refused: {reason}. \
                 Its certificate must be valid for {host} (else set mail.smtp.host to the name \
                 on it) and signed by {authorities}{wrong_port}"
            );
        }
        MailError::Tls { reason } => {
            return format!("TLS with the relay at {at} failed ({reason}){wrong_port}");
        }
        _ => {}
    }
    if error.is_tls() {
        return format!("TLS with the relay at {at} failed ({cause}){wrong_port}");
    }
    if error.is_timeout() {
        return format!("the relay at {at} timed out: check mail.smtp.host and mail.smtp.port");
    }
    if let Some(code) = error.status() {
        return format!(
            "the relay at {at} refused the connection test (reply code {code}): if it \
             requires a login, check mail.smtp.username and mail.smtp.password"
        );
    }
    format!(
        "cannot connect to the relay at {at} ({cause}): is it running, and are \
         mail.smtp.host and mail.smtp.port right?"
    )
}

/// Whether `host` names this machine only.
async fn is_loopback(host: &str, port: u16) -> bool {
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return ip.is_loopback();
    }
    match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())
        }
        Err(_) => false,
    }
}
