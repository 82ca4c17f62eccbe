//! What the integration tests stand on: a real SMTP server (maildev), a
//! fresh database (SQLite file or a new PostgreSQL database), and the real
//! `latchkey` binary as a child process on port 0.

// Test code: a broken expectation is a panic with a message.
#![allow(
    dead_code,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use latchkey_client::ServerUrl;
use serde::Deserialize;

pub mod contract;
pub mod passkey;
pub mod relay;

pub const PASSWORD: &str = "correct horse battery staple";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `latchkey admin ARGS` on the server's database and secrets file, as the
/// operator runs it (with `env` added: the server's own settings where the
/// command must see them).
pub fn admin(
    db: &Database,
    server: &Server,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("admin")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LATCHKEY_DEV", "true")
        .env("LATCHKEY_DATABASE_URL", db.url())
        .env(
            "LATCHKEY_SECRETS_FILE",
            server.secrets_file().display().to_string(),
        )
        .envs(env.iter().copied())
        .output()
        .expect("latchkey runs")
}

/// A new admin API token (`latchkey admin token create`), as printed once.
pub fn admin_token(
    db: &Database,
    server: &Server,
    name: &str,
    scopes: &str,
    env: &[(&str, &str)],
) -> String {
    let out = admin(
        db,
        server,
        &["token", "create", "--name", name, "--scope", scopes],
        env,
    );
    assert!(
        out.status.success(),
        "token create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A random suffix so that runs never share addresses or databases.
pub fn unique(prefix: &str) -> String {
    use latchkey_core::RngCore;
    let mut bytes = [0u8; 6];
    latchkey_core::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

// ------------------------------------------------------------------ mail

/// A maildev process: a real SMTP server that keeps what it receives.
pub struct MailServer {
    child: Child,
    pub smtp_port: u16,
    web_port: u16,
    _dir: tempfile::TempDir,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Mail {
    pub subject: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub html: String,
    pub envelope: Envelope,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Envelope {
    pub to: Vec<Address>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Address {
    pub address: String,
}

impl Mail {
    pub fn to(&self) -> String {
        self.envelope
            .to
            .first()
            .map(|a| a.address.clone())
            .unwrap_or_default()
    }

    /// The `…/open#k1.…` link in the text body.
    pub fn link(&self) -> Option<String> {
        self.text
            .split_whitespace()
            .find(|w| w.contains("/open#k1."))
            .map(str::to_owned)
    }
}

impl MailServer {
    pub async fn start() -> MailServer {
        Self::start_on(free_port()).await
    }

    /// On a given SMTP port (a test can point the server at it first).
    pub async fn start_on(smtp_port: u16) -> MailServer {
        let bin = repo_root().join("web/node_modules/.bin/maildev");
        assert!(
            bin.exists(),
            "{} is missing: run scripts/setup (npm ci in web/)",
            bin.display()
        );
        // A port free_port() found may be taken by another test's server
        // before maildev binds it: then maildev exits, and whatever holds
        // the port answers instead. Only a live maildev answering 200 on
        // its API counts; otherwise try again on fresh ports.
        for _attempt in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            let web_port = free_port();
            let child = Command::new(&bin)
                .args([
                    "--smtp",
                    &smtp_port.to_string(),
                    "--web",
                    &web_port.to_string(),
                ])
                .args(["--ip", "127.0.0.1", "--web-ip", "127.0.0.1", "--silent"])
                .arg("--mail-directory")
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("maildev starts");
            let mut server = MailServer {
                child,
                smtp_port,
                web_port,
                _dir: dir,
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if !matches!(server.child.try_wait(), Ok(None)) {
                    break; // exited: a port was taken
                }
                let answered = matches!(
                    reqwest::get(server.api()).await,
                    Ok(r) if r.status().is_success()
                );
                if answered && std::net::TcpStream::connect(("127.0.0.1", smtp_port)).is_ok() {
                    return server;
                }
                assert!(Instant::now() < deadline, "maildev did not come up");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        panic!("maildev exited five times: its ports were taken");
    }

    fn api(&self) -> String {
        format!("http://127.0.0.1:{}/api/email", self.web_port)
    }

    pub async fn all(&self) -> Vec<Mail> {
        reqwest::get(self.api())
            .await
            .expect("maildev answers")
            .json()
            .await
            .expect("maildev JSON")
    }

    /// Mails to `to`, oldest first.
    pub async fn to(&self, to: &str) -> Vec<Mail> {
        self.all()
            .await
            .into_iter()
            .filter(|m| m.to() == to)
            .collect()
    }

    /// Waits until `to` has received `count` mails; returns them all.
    pub async fn wait_for(&self, to: &str, count: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mails = self.to(to).await;
            if mails.len() >= count {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "{to} received {} mail(s), expected {count}",
                mails.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The newest link mailed to `to`, waiting for the `count`th mail.
    pub async fn link(&self, to: &str, count: usize) -> String {
        let mails = self.wait_for(to, count).await;
        mails
            .get(count - 1)
            .and_then(Mail::link)
            .unwrap_or_else(|| panic!("mail {count} to {to} has no link"))
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the server under test sends mail.
pub trait SmtpPort {
    fn smtp_port(&self) -> u16;
}

impl SmtpPort for MailServer {
    fn smtp_port(&self) -> u16 {
        self.smtp_port
    }
}

/// A port where no SMTP server listens (yet).
pub struct NoMailServer(pub u16);

impl SmtpPort for NoMailServer {
    fn smtp_port(&self) -> u16 {
        self.0
    }
}

// -------------------------------------------------------------- database

pub enum Database {
    Sqlite { dir: tempfile::TempDir },
    Postgres { admin_url: String, name: String },
}

pub fn postgres_admin_url() -> String {
    std::env::var("LATCHKEY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl Database {
    pub fn sqlite() -> Database {
        Database::Sqlite {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A new, empty PostgreSQL database. Fails (never skips) if PostgreSQL
    /// is unreachable: the test command is responsible for starting it.
    pub async fn postgres() -> Database {
        let admin_url = postgres_admin_url();
        let name = unique("latchkey_test_");
        run_psql(&admin_url, &format!("CREATE DATABASE {name}"));
        Database::Postgres { admin_url, name }
    }

    pub fn url(&self) -> String {
        match self {
            Database::Sqlite { dir } => format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("data/latchkey.db").display()
            ),
            Database::Postgres { admin_url, name } => {
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(b, _)| b);
                format!("{base}/{name}")
            }
        }
    }

    /// A connection pool of the thief's (or the test's) own, as sqlx sees
    /// the database: only what is committed.
    pub async fn pool(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(&self.url())
            .await
            .expect("database answers")
    }

    /// One integer from a query (`SELECT COUNT(*) …`).
    pub async fn count(&self, sql: &str) -> i64 {
        let pool = self.pool().await;
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.expect(sql);
        pool.close().await;
        n
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Database::Postgres { .. })
    }

    /// Every byte a thief would take: the SQLite file with its WAL and
    /// shared-memory files, or a `pg_dump` of the database.
    pub fn steal(&self) -> Vec<u8> {
        match self {
            Database::Sqlite { dir } => {
                let mut bytes = Vec::new();
                for entry in std::fs::read_dir(dir.path().join("data")).expect("data dir") {
                    let path = entry.expect("entry").path();
                    bytes.extend(std::fs::read(&path).expect("read db file"));
                }
                bytes
            }
            Database::Postgres { .. } => {
                let output = Command::new("pg_dump")
                    .arg(self.url())
                    .output()
                    .expect("pg_dump runs");
                assert!(
                    output.status.success(),
                    "pg_dump failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                output.stdout
            }
        }
    }
}

fn run_psql(url: &str, sql: &str) {
    let output = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        output.status.success(),
        "PostgreSQL at {url} refused `{sql}`: {} (the test command starts PostgreSQL; is it running?)",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Database::Postgres { admin_url, name } = self {
            let _ = Command::new("psql")
                .args([
                    admin_url.as_str(),
                    "-c",
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ])
                .output();
        }
    }
}

// ---------------------------------------------------------------- server

/// How a test wants the server configured (beyond database and mail).
#[derive(Clone)]
pub struct Settings {
    pub ttl_secs: u64,
    pub grace_secs: u64,
    pub extra_env: Vec<(String, String)>,
    /// Start the server with the test's own environment (plus the settings
    /// above) instead of a cleared one, as a user's shell would: whatever
    /// `LATCHKEY_…` variables the README has him export reach `serve`.
    pub inherit_environment: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ttl_secs: 3600,
            grace_secs: 600,
            extra_env: Vec::new(),
            inherit_environment: false,
        }
    }
}

/// The `latchkey` binary serving one database, with its log in a file.
pub struct Server {
    child: Option<Child>,
    pub url: ServerUrl,
    pub base: String,
    env: Vec<(String, String)>,
    pub log: PathBuf,
    _keys: tempfile::TempDir,
    inherit_environment: bool,
}

impl Server {
    /// Writes a secrets file with `latchkey init` and starts serving.
    pub async fn start(db: &Database, mail: &impl SmtpPort, settings: &Settings) -> Server {
        let keys = tempfile::tempdir().expect("temp dir");
        let secrets = keys.path().join("secrets.key");
        // With the test's settings: the epoch file takes its epoch length
        // from them.
        let status = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .arg("init")
            .arg("--secrets-file")
            .arg(&secrets)
            .env("LATCHKEY_LINKS__TTL_SECS", settings.ttl_secs.to_string())
            .env(
                "LATCHKEY_LINKS__GRACE_SECS",
                settings.grace_secs.to_string(),
            )
            .envs(
                settings
                    .extra_env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .stdout(Stdio::null())
            .status()
            .expect("latchkey init runs");
        assert!(status.success(), "latchkey init failed");
        let log = keys.path().join("server.log");
        let mut env: Vec<(String, String)> = vec![
            // Dev mode only for cookies over plain HTTP on loopback; mail
            // goes through real SMTP.
            ("LATCHKEY_DEV", "true".into()),
            ("LATCHKEY_BIND", "127.0.0.1:0".into()),
            ("LATCHKEY_DATABASE_URL", db.url()),
            ("LATCHKEY_SECRETS_FILE", secrets.display().to_string()),
            ("LATCHKEY_MAIL__TRANSPORT", "smtp".into()),
            (
                "LATCHKEY_MAIL__FROM",
                "latchkey <noreply@latchkey.test>".into(),
            ),
            ("LATCHKEY_MAIL__SMTP__HOST", "127.0.0.1".into()),
            ("LATCHKEY_MAIL__SMTP__PORT", mail.smtp_port().to_string()),
            ("LATCHKEY_MAIL__SMTP__SECURITY", "none".into()),
            ("LATCHKEY_LINKS__TTL_SECS", settings.ttl_secs.to_string()),
            (
                "LATCHKEY_LINKS__GRACE_SECS",
                settings.grace_secs.to_string(),
            ),
            ("LATCHKEY_OUTBOX__POLL_MS", "100".into()),
            ("LATCHKEY_OUTBOX__SWEEP_SECS", "1".into()),
            (
                "LATCHKEY_LOG__FILTER",
                "debug,sqlx=info,hyper=info,h2=info,rustls=info,lettre=info".into(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        env.extend(settings.extra_env.iter().cloned());
        let mut server = Server {
            child: None,
            url: ServerUrl::parse("http://127.0.0.1:1").expect("placeholder"),
            base: String::new(),
            env,
            log,
            _keys: keys,
            inherit_environment: settings.inherit_environment,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        if !self.inherit_environment {
            command
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default());
        }
        let mut child = command
            .arg("serve")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("latchkey serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("listening on") => break line,
                Some(Ok(_)) => continue,
                _ => panic!(
                    "the server exited before listening; its log:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                ),
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe;
        // the lines go to a file, for tests that read them (the metrics
        // address).
        let mut later = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.later_stdout())
            .expect("stdout file");
        std::thread::spawn(move || {
            use std::io::Write;
            for line in lines.map_while(Result::ok) {
                let _ = writeln!(later, "{line}");
            }
        });
        let base = line.split_whitespace().last().expect("address").to_owned();
        // Every answer the client gets is checked against the OpenAPI
        // document.
        self.url = ServerUrl::parse(&base)
            .expect("server URL")
            .with_observer(contract::observer());
        self.base = base;
        self.child = Some(child);
    }

    /// The secrets file this server reads: for a test that must make what
    /// only the server can (an expired registration token, say).
    pub fn secrets_file(&self) -> PathBuf {
        self._keys.path().join("secrets.key")
    }

    /// The same server again, same database, keys and settings, on the port
    /// it had (links in earlier mails stay valid).
    pub fn restart(&mut self) {
        let port = self.base.rsplit(':').next().unwrap_or("0").to_owned();
        self.env.retain(|(k, _)| k != "LATCHKEY_BIND");
        self.env
            .push(("LATCHKEY_BIND".into(), format!("127.0.0.1:{port}")));
        self.spawn();
    }

    /// A second instance on the same database, keys and settings (its own
    /// port and log), as behind a load balancer.
    pub fn sibling(&self) -> Server {
        let log = self.log.with_extension("sibling.log");
        let mut env = self.env.clone();
        env.retain(|(k, _)| k != "LATCHKEY_BIND");
        env.push(("LATCHKEY_BIND".into(), "127.0.0.1:0".into()));
        let keys = tempfile::tempdir().expect("temp dir");
        let mut server = Server {
            child: None,
            url: self.url.clone(),
            base: String::new(),
            env,
            log,
            _keys: keys,
            inherit_environment: self.inherit_environment,
        };
        server.spawn();
        server
    }

    /// A new instance with this one's secrets file, epoch file and settings
    /// on another database (a restored copy): its own port and log.
    pub fn on_database(&self, database_url: String) -> Server {
        let log = self.log.with_extension("restored.log");
        let mut env = self.env.clone();
        env.retain(|(k, _)| k != "LATCHKEY_BIND" && k != "LATCHKEY_DATABASE_URL");
        env.push(("LATCHKEY_BIND".into(), "127.0.0.1:0".into()));
        env.push(("LATCHKEY_DATABASE_URL".into(), database_url));
        let mut server = Server {
            child: None,
            url: self.url.clone(),
            base: String::new(),
            env,
            log,
            _keys: tempfile::tempdir().expect("temp dir"),
            inherit_environment: self.inherit_environment,
        };
        server.spawn();
        server
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait: the graceful path.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Where the drained stdout lines go.
    fn later_stdout(&self) -> PathBuf {
        self._keys.path().join("stdout.txt")
    }

    /// The server's process id (to see what it listens on).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The first line printed after "listening on" that contains `needle`,
    /// waiting up to `wait` for it.
    pub fn stdout_line(&self, needle: &str, wait: Duration) -> Option<String> {
        let deadline = Instant::now() + wait;
        loop {
            let found = std::fs::read_to_string(self.later_stdout())
                .unwrap_or_default()
                .lines()
                .find(|l| l.contains(needle))
                .map(str::to_owned);
            if found.is_some() || Instant::now() >= deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

// ---------------------------------------------------------------- secrets

/// Every encoding a secret could leak in: raw, base64 (standard and URL,
/// padded or not), hex (both cases).
pub fn encodings(secret: &[u8]) -> Vec<Vec<u8>> {
    use base64ct::{Base64, Base64Unpadded, Base64Url, Base64UrlUnpadded, Encoding};
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        secret.to_vec(),
        Base64::encode_string(secret).into_bytes(),
        Base64Unpadded::encode_string(secret).into_bytes(),
        Base64Url::encode_string(secret).into_bytes(),
        Base64UrlUnpadded::encode_string(secret).into_bytes(),
        hex.clone().into_bytes(),
        hex.to_uppercase().into_bytes(),
    ]
}

/// Asserts that no encoding of any secret occurs in `haystack`.
pub fn assert_absent(what: &str, haystack: &[u8], secrets: &[(String, Vec<u8>)]) {
    for (name, secret) in secrets {
        for encoded in encodings(secret) {
            assert!(
                !contains(haystack, &encoded),
                "{what} contains {name} (as {:?})",
                String::from_utf8_lossy(&encoded)
            );
        }
    }
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(haystack, needle).is_some()
}
