//! `latchkey doctor` against each problem it claims to find, and a healthy
//! setup: the real binary, with the variables the README has an operator
//! set, on an installation made with `latchkey init` and `latchkey migrate`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::relay::{Relay, RelayMode, TestCa};
use support::{free_port, MailServer, SmtpPort};

/// An installation in a folder of its own: secrets and epoch file at the
/// top, the SQLite database in `data/`, mail to a relay on loopback.
struct Install {
    root: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Install {
    /// Made by `init`, not yet migrated.
    fn new(smtp_port: u16) -> Install {
        let root = tempfile::tempdir().unwrap();
        let env = vec![
            (
                "LATCHKEY_DATABASE_URL".into(),
                format!(
                    "sqlite://{}?mode=rwc",
                    root.path().join("data/latchkey.db").display()
                ),
            ),
            (
                "LATCHKEY_SECRETS_FILE".into(),
                root.path().join("secrets.key").display().to_string(),
            ),
            (
                "LATCHKEY_PUBLIC_URL".into(),
                "https://chat.example.org".into(),
            ),
            ("LATCHKEY_MAIL__TRANSPORT".into(), "smtp".into()),
            ("LATCHKEY_MAIL__FROM".into(), "latchkey@example.org".into()),
            ("LATCHKEY_MAIL__SMTP__HOST".into(), "127.0.0.1".into()),
            ("LATCHKEY_MAIL__SMTP__PORT".into(), smtp_port.to_string()),
            ("LATCHKEY_MAIL__SMTP__SECURITY".into(), "none".into()),
            ("LATCHKEY_MAIL__SMTP__TIMEOUT_SECS".into(), "5".into()),
        ];
        let install = Install { root, env };
        let init = install.run(&["init"]);
        assert!(init.status.success(), "{}", text(&init.stderr));
        install
    }

    /// Made by `init` and `migrate`.
    fn migrated(smtp_port: u16) -> Install {
        let install = Install::new(smtp_port);
        let migrate = install.run(&["migrate"]);
        assert!(migrate.status.success(), "{}", text(&migrate.stderr));
        install
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    fn set(&mut self, name: &str, value: &str) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.into(), value.into()));
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        for (name, _) in std::env::vars() {
            if name.starts_with("LATCHKEY_") {
                command.env_remove(name);
            }
        }
        command
            .args(args)
            .envs(self.env.iter().cloned())
            .current_dir(self.root.path())
            .output()
            .unwrap()
    }

    /// Runs `doctor`; returns its exit code and output.
    fn doctor(&self) -> (i32, String) {
        let output = self.run(&["doctor"]);
        let stdout = text(&output.stdout);
        eprintln!("{stdout}{}", text(&output.stderr));
        (output.status.code().unwrap(), stdout)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The only line marked PROBLEM; it must be the `what` check's.
fn the_problem(stdout: &str, what: &str) -> String {
    let problems: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("PROBLEM"))
        .collect();
    assert_eq!(problems.len(), 1, "one problem expected:\n{stdout}");
    assert!(
        problems[0].starts_with(&format!("PROBLEM  {what}: ")),
        "{stdout}"
    );
    problems[0].to_owned()
}

/// The names of the SQLite migrations (`0006_mail_log`), in order: what
/// this build applies.
fn migrations() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/migrations/sqlite");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "sql"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The files under `dir`, but SQLite's own `-wal` and `-shm` files, which
/// come and go with any connection.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(self::files(&path));
        } else if path
            .extension()
            .is_none_or(|e| e != "db-shm" && e != "db-wal")
        {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[tokio::test]
async fn a_healthy_installation_passes_and_nothing_is_written() {
    let mail = MailServer::start().await;
    let install = Install::migrated(SmtpPort::smtp_port(&mail));
    let keys_before = [
        std::fs::read(install.path("secrets.key")).unwrap(),
        std::fs::read(install.path("secrets.epoch")).unwrap(),
    ];
    let files_before = files(install.root.path());
    let (code, stdout) = install.doctor();
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        6,
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("all {} migrations applied", migrations().len())),
        "{stdout}"
    );
    assert!(stdout.contains("matches the database"), "{stdout}");
    assert!(stdout.ends_with("all checks passed\n"), "{stdout}");
    let keys_after = [
        std::fs::read(install.path("secrets.key")).unwrap(),
        std::fs::read(install.path("secrets.epoch")).unwrap(),
    ];
    assert_eq!(keys_before, keys_after);
    assert_eq!(files_before, files(install.root.path()));
}

#[tokio::test]
async fn a_configuration_that_does_not_load_stops_it_with_code_3() {
    let mut install = Install::new(free_port());
    install.set("LATCHKEY_LINKS__TTL", "1d");
    let (code, stdout) = install.doctor();
    assert_eq!(code, 3);
    the_problem(&stdout, "configuration");
}

#[cfg(unix)]
#[tokio::test]
async fn a_world_readable_secrets_file() {
    use std::os::unix::fs::PermissionsExt;
    let mail = MailServer::start().await;
    let install = Install::migrated(SmtpPort::smtp_port(&mail));
    let secrets = install.path("secrets.key");
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, stdout) = install.doctor();
    assert_eq!(code, 1);
    let line = the_problem(&stdout, "secrets file");
    assert!(
        line.contains("mode 0644") && line.contains("chmod 600"),
        "{line}"
    );
}

#[tokio::test]
async fn secrets_inside_the_database_folder() {
    let mail = MailServer::start().await;
    let mut install = Install::migrated(SmtpPort::smtp_port(&mail));
    let inside = install.path("data/secrets.key");
    std::fs::rename(install.path("secrets.key"), &inside).unwrap();
    install.set("LATCHKEY_SECRETS_FILE", &inside.display().to_string());
    let epoch = install.path("secrets.epoch").display().to_string();
    install.set("LATCHKEY_EPOCH_FILE", &epoch);
    let (code, stdout) = install.doctor();
    assert_eq!(code, 1);
    let line = the_problem(&stdout, "secrets file");
    assert!(
        line.contains("must not be inside the database's folder"),
        "{line}"
    );
}

#[tokio::test]
async fn an_unreachable_database() {
    let mail = MailServer::start().await;
    let mut install = Install::new(SmtpPort::smtp_port(&mail));
    let url = format!("postgres://latchkey@127.0.0.1:{}/latchkey", free_port());
    install.set("LATCHKEY_DATABASE_URL", &url);
    let started = Instant::now();
    let (code, stdout) = install.doctor();
    assert_eq!(code, 1);
    assert!(started.elapsed() < Duration::from_secs(10));
    let line = the_problem(&stdout, "database");
    assert!(line.contains("cannot reach the database"), "{line}");
    assert!(line.contains("Connection refused"), "{line}");
    assert!(line.contains("LATCHKEY_DATABASE_URL"), "{line}");
}

#[tokio::test]
async fn a_database_migrated_by_an_older_binary() {
    let mail = MailServer::start().await;
    let install = Install::new(SmtpPort::smtp_port(&mail));
    // What an older latchkey left: the first five migrations.
    let url = install.env[0].1.clone();
    sqlx::any::install_default_drivers();
    std::fs::create_dir_all(install.path("data")).unwrap();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/migrations/sqlite");
    let mut older = sqlx::migrate::Migrator::new(dir).await.unwrap();
    older.migrations = std::borrow::Cow::Owned(older.migrations[..5].to_vec());
    older.run(&pool).await.unwrap();
    pool.close().await;

    let (code, stdout) = install.doctor();
    assert_eq!(code, 1);
    let line = the_problem(&stdout, "database");
    let all = migrations();
    assert!(
        line.contains(&format!(
            "{} migration(s) are not applied yet",
            all.len() - 5
        )),
        "{line}"
    );
    assert!(
        line.contains("0006_mail_log") && line.contains(all.last().unwrap()),
        "{line}"
    );
    assert!(line.contains("latchkey migrate"), "{line}");
    // Doing what it says helps.
    assert!(install.run(&["migrate"]).status.success());
    let (code, stdout) = install.doctor();
    assert_eq!(code, 0, "{stdout}");
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_binary() {
    let mail = MailServer::start().await;
    let install = Install::migrated(SmtpPort::smtp_port(&mail));
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&install.env[0].1).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
         execution_time) VALUES (9999, 'from the future', 1, x'00', 1)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let (code, stdout) = install.doctor();
    assert_eq!(code, 1);
    let line = the_problem(&stdout, "database");
    assert!(line.contains("does not know (9999)"), "{line}");
}

#[tokio::test]
async fn an_unreachable_relay() {
    let install = Install::migrated(free_port());
    let (code, stdout) = install.doctor();
    assert_eq!(code, 1);
    let line = the_problem(&stdout, "mail relay");
    assert!(line.contains("cannot connect to the relay"), "{line}");
}

#[tokio::test]
async fn a_relay_without_starttls_when_starttls_is_required() {
    let mail = MailServer::start().await;
    let mut install = Install::migrated(SmtpPort::smtp_port(&mail));
    install.set("LATCHKEY_MAIL__SMTP__SECURITY", "starttls");
    let (code, stdout) = install.doctor();
    assert_eq!(code, 1);
    let line = the_problem(&stdout, "mail relay");
    assert!(line.contains("does not offer STARTTLS"), "{line}");
}

#[tokio::test]
async fn plain_smtp_to_a_relay_elsewhere() {
    let mut install = Install::migrated(free_port());
    install.set("LATCHKEY_MAIL__SMTP__HOST", "192.0.2.1");
    let (code, stdout) = install.doctor();
    assert_eq!(code, 1);
    let line = the_problem(&stdout, "mail relay");
    assert!(
        line.contains("only allowed for a relay on this machine"),
        "{line}"
    );
}

#[tokio::test]
async fn a_relay_whose_certificate_is_not_valid_for_its_host() {
    // Signed by an authority of no one's, for another host.
    let ca = TestCa::new("latchkey doctor test CA");
    let relay = Relay::start(
        RelayMode::StartTls,
        &ca.issue("relay", &["DNS:relay.invalid"]),
    );
    let mut install = Install::migrated(relay.port);
    install.set("LATCHKEY_MAIL__SMTP__SECURITY", "starttls");
    let (code, stdout) = install.doctor();
    assert_eq!(code, 1);
    let line = the_problem(&stdout, "mail relay");
    assert!(line.contains("TLS with the relay"), "{line}");
    assert!(
        line.contains("certificate must be valid for 127.0.0.1"),
        "{line}"
    );
    assert!(line.contains("set mail.smtp.ca_file"), "{line}");

    // Trusting the authority is not enough: the name must match too.
    install.set("LATCHKEY_MAIL__SMTP__CA_FILE", ca.cert.to_str().unwrap());
    let (code, stdout) = install.doctor();
    assert_eq!(code, 1);
    let line = the_problem(&stdout, "mail relay");
    assert!(
        line.contains("not valid for name \"127.0.0.1\"") && line.contains("relay.invalid"),
        "{line}"
    );
}

/// An internal relay whose certificate a private authority signed: the
/// doctor trusts `mail.smtp.ca_file` as the server does, with STARTTLS and
/// with TLS from the first byte.
#[tokio::test]
async fn a_relay_signed_by_the_authority_in_ca_file() {
    let ca = TestCa::new("latchkey doctor test CA");
    let identity = ca.issue("relay", &["IP:127.0.0.1", "DNS:localhost"]);
    for (mode, security) in [(RelayMode::StartTls, "starttls"), (RelayMode::Tls, "tls")] {
        let relay = Relay::start(mode, &identity);
        let mut install = Install::migrated(relay.port);
        install.set("LATCHKEY_MAIL__SMTP__SECURITY", security);
        let (code, stdout) = install.doctor();
        assert_eq!(code, 1, "{security}");
        let line = the_problem(&stdout, "mail relay");
        assert!(line.contains("UnknownIssuer"), "{line}");
        assert!(line.contains("set mail.smtp.ca_file"), "{line}");

        let ca_file = ca.cert.to_str().unwrap();
        install.set("LATCHKEY_MAIL__SMTP__CA_FILE", ca_file);
        let (code, stdout) = install.doctor();
        assert_eq!(code, 0, "{stdout}");
        assert!(
            stdout.contains(&format!(
                "answers (security = {security}; its certificate checked against the public \
                 authorities and {ca_file})"
            )),
            "{stdout}"
        );
    }
}

/// A `ca_file` that is no file of certificates stops everything, as for
/// `serve`: named, not quoted.
#[tokio::test]
async fn a_ca_file_that_holds_no_certificate() {
    let mut install = Install::migrated(free_port());
    install.set("LATCHKEY_MAIL__SMTP__SECURITY", "starttls");
    // The relay's private key, chosen by mistake: its lines must appear
    // nowhere.
    let ca = TestCa::new("latchkey doctor test CA");
    let key = ca.issue("relay", &["IP:127.0.0.1"]).key;
    install.set("LATCHKEY_MAIL__SMTP__CA_FILE", key.to_str().unwrap());
    let (code, stdout) = install.doctor();
    assert_eq!(code, 3);
    let line = the_problem(&stdout, "configuration");
    assert!(
        line.contains("mail.smtp.ca_file: ") && line.contains("holds no PEM certificate"),
        "{line}"
    );
    let serve = install.run(&["serve"]);
    assert!(!serve.status.success());
    let said = format!("{stdout}{}", text(&serve.stderr));
    assert!(
        text(&serve.stderr).contains("mail.smtp.ca_file: "),
        "{}",
        text(&serve.stderr)
    );
    let pem = std::fs::read_to_string(&key).unwrap();
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!said.contains(line), "{said}");
    }
}

#[tokio::test]
async fn an_http_public_url_outside_dev_mode() {
    let mail = MailServer::start().await;
    let mut install = Install::migrated(SmtpPort::smtp_port(&mail));
    install.set("LATCHKEY_PUBLIC_URL", "http://chat.example.org");
    let (code, stdout) = install.doctor();
    assert_eq!(code, 1);
    let line = the_problem(&stdout, "public_url");
    assert!(
        line.contains("Secure") && line.contains("https://chat.example.org"),
        "{line}"
    );
}
