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
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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
    assert!(stdout.contains("all 9 migrations applied"), "{stdout}");
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
    assert!(
        line.contains("4 migration(s) are not applied yet"),
        "{line}"
    );
    assert!(
        line.contains("0006_mail_log") && line.contains("0009_"),
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

/// aiosmtpd offering STARTTLS with a self-signed certificate made for
/// another host.
struct TlsRelay {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl TlsRelay {
    fn start() -> TlsRelay {
        let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/aiosmtpd/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/setup",
            python.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=relay.invalid"])
            .args(["-addext", "subjectAltName=DNS:relay.invalid"])
            .arg("-keyout")
            .arg(dir.path().join("key.pem"))
            .arg("-out")
            .arg(dir.path().join("cert.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs (scripts/setup installs it)");
        assert!(made.success());
        let port = free_port();
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .arg("--tlscert")
            .arg(dir.path().join("cert.pem"))
            .arg("--tlskey")
            .arg(dir.path().join("key.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        TlsRelay {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for TlsRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_relay_whose_certificate_is_not_valid_for_its_host() {
    let relay = TlsRelay::start();
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
