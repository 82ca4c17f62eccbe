//! How fast the outbox empties into a local SMTP relay.
//!
//! ```sh
//! cargo build --release -p latchkey --bin latchkey --example outbox_drain
//! target/release/examples/outbox_drain --mails 5000 --runs 3 --connections 1,4
//! ```
//!
//! For each run, relay and `mail.smtp.connections` value (interleaved, so
//! that a change in the machine's load touches every cell alike), it starts
//! a relay (aiosmtpd that accepts and forgets, `counting_relay.py`, and
//! maildev, which keeps every mail), then the server on a fresh SQLite
//! database with its outbox worker held back (a poll interval of an hour),
//! has a member send `--mails` messages to a guest, each announced by mail
//! (coalescing and mail caps off, the posting budget lifted), and stops it: the
//! mails wait in the outbox. Then it starts the server again, as an
//! operator would, and times the outbox from its first sent mail to its
//! last (the rows' count in the database, read every 5 ms). Prints mails per
//! minute per cell, the median and spread over runs, and the load average.
//!
//! Options: `--mails K` (5000), `--runs R` (3), `--connections 1,4` (`old`
//! leaves the setting out, for a binary from before it existed),
//! `--relays aiosmtpd,maildev`, `--delay-ms MS` (0: aiosmtpd takes that
//! long over each mail, as a relay across a network would), `--binary PATH`
//! (default: the `latchkey` beside this example's folder, i.e. the same
//! profile's build).

#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/support/counting_relay.rs"]
#[allow(dead_code)]
mod counting_relay;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey_client::{Delivery, Guest, Member, ServerUrl};

type Failure = Box<dyn std::error::Error + Send + Sync>;

struct Options {
    mails: usize,
    runs: usize,
    connections: Vec<String>,
    relays: Vec<String>,
    delay: Duration,
    binary: PathBuf,
}

fn options() -> Result<Options, Failure> {
    let here = std::env::current_exe()?;
    let mut options = Options {
        mails: 5000,
        runs: 3,
        connections: vec!["1".into(), "4".into()],
        relays: vec!["aiosmtpd".into(), "maildev".into()],
        delay: Duration::ZERO,
        // target/<profile>/examples/outbox_drain → target/<profile>/latchkey
        binary: here
            .parent()
            .and_then(Path::parent)
            .map(|dir| dir.join("latchkey"))
            .ok_or("no binary folder")?,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let list = || value.split(',').map(str::to_owned).collect::<Vec<_>>();
        match flag.as_str() {
            "--mails" => options.mails = value.parse()?,
            "--runs" => options.runs = value.parse()?,
            "--connections" => options.connections = list(),
            "--relays" => options.relays = list(),
            "--delay-ms" => options.delay = Duration::from_millis(value.parse()?),
            "--binary" => options.binary = value.into(),
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    if !options.binary.exists() {
        return Err(format!(
            "{} is missing: cargo build --release -p latchkey --bin latchkey",
            options.binary.display()
        )
        .into());
    }
    Ok(options)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn free_port() -> Result<u16, Failure> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// A relay process: the counting aiosmtpd, or maildev.
enum Relay {
    /// Held for its `Drop`, which stops it.
    Counting {
        _relay: counting_relay::CountingRelay,
    },
    Maildev {
        child: Child,
        _dir: tempfile::TempDir,
    },
}

impl Relay {
    fn start(kind: &str, port: u16, delay: Duration) -> Result<Relay, Failure> {
        match kind {
            "aiosmtpd" => Ok(Relay::Counting {
                _relay: counting_relay::CountingRelay::start(&repo_root(), port, delay)?,
            }),
            "maildev" => {
                let dir = tempfile::tempdir()?;
                let child = Command::new(repo_root().join("web/node_modules/.bin/maildev"))
                    .args([
                        "--smtp",
                        &port.to_string(),
                        "--web",
                        &free_port()?.to_string(),
                    ])
                    .args(["--ip", "127.0.0.1", "--web-ip", "127.0.0.1", "--silent"])
                    .arg("--mail-directory")
                    .arg(dir.path())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()?;
                let deadline = Instant::now() + Duration::from_secs(30);
                while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                    if Instant::now() > deadline {
                        return Err("maildev did not come up".into());
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Ok(Relay::Maildev { child, _dir: dir })
            }
            other => Err(format!("unknown relay {other}").into()),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Relay::Maildev { child, .. } = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A server process; stopped (SIGTERM, then waited for) on drop.
struct Server {
    child: Child,
    url: ServerUrl,
}

impl Server {
    fn start(binary: &Path, env: &[(String, String)], log_path: &Path) -> Result<Server, Failure> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)?;
        let mut child = Command::new(binary)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("listening on") => {
                    break line
                        .split_whitespace()
                        .last()
                        .ok_or("no address")?
                        .to_owned()
                }
                Some(Ok(_)) => continue,
                _ => {
                    let log = std::fs::read_to_string(log_path).unwrap_or_default();
                    return Err(format!("the server exited before listening:\n{log}").into());
                }
            }
        };
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Ok(Server {
            child,
            url: ServerUrl::parse(&address)?,
        })
    }

    fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
        }
    }
}

/// One cell of one run: mails per minute, and the load average before.
async fn drain(
    options: &Options,
    relay_kind: &str,
    connections: &str,
) -> Result<(f64, usize, String), Failure> {
    let smtp_port = free_port()?;
    let _relay = Relay::start(relay_kind, smtp_port, options.delay)?;
    let dir = tempfile::tempdir()?;
    let secrets = dir.path().join("secrets.key");
    // The server wants its secrets outside the database's folder.
    let data = dir.path().join("data");
    std::fs::create_dir(&data)?;
    let database = format!("sqlite://{}?mode=rwc", data.join("latchkey.db").display());
    let status = Command::new(&options.binary)
        .arg("init")
        .arg("--secrets-file")
        .arg(&secrets)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err("latchkey init failed".into());
    }
    let mut env: Vec<(String, String)> = [
        // Dev mode for cookies over plain HTTP on loopback; mail goes
        // through real SMTP.
        ("LATCHKEY_DEV", "true"),
        ("LATCHKEY_BIND", "127.0.0.1:0"),
        ("LATCHKEY_MAIL__TRANSPORT", "smtp"),
        ("LATCHKEY_MAIL__FROM", "latchkey <noreply@latchkey.test>"),
        ("LATCHKEY_MAIL__SMTP__HOST", "127.0.0.1"),
        ("LATCHKEY_MAIL__SMTP__SECURITY", "none"),
        // One mail per message, every one queued.
        ("LATCHKEY_LINKS__COALESCE_SECS", "0"),
        ("LATCHKEY_MAIL__PER_CONVERSATION_PER_DAY", "0"),
        ("LATCHKEY_MAIL__PER_MEMBER_PER_DAY", "0"),
        ("LATCHKEY_MAIL__PER_RECIPIENT_PER_DAY", "0"),
        (
            "LATCHKEY_RATE_LIMITS__POSTS_PER_SESSION_PER_MINUTE",
            "1000000",
        ),
        ("LATCHKEY_LOG__FILTER", "warn"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.push(("LATCHKEY_DATABASE_URL".into(), database.clone()));
    env.push((
        "LATCHKEY_SECRETS_FILE".into(),
        secrets.display().to_string(),
    ));
    env.push(("LATCHKEY_MAIL__SMTP__PORT".into(), smtp_port.to_string()));
    if connections != "old" {
        env.push((
            "LATCHKEY_MAIL__SMTP__CONNECTIONS".into(),
            connections.into(),
        ));
    }
    let log = dir.path().join("server.log");

    // Fill the outbox with the worker held back.
    let mut holding = env.clone();
    holding.push(("LATCHKEY_OUTBOX__POLL_MS".into(), "3600000".into()));
    let server = Server::start(&options.binary, &holding, &log)?;
    let password = b"correct horse battery staple";
    let bob = Member::register(&server.url, "bob", "Bob", "bob@member.test", password).await?;
    let (conversation, _) =
        Guest::contact(&server.url, "bob", "guest@guest.test", "G", "hello", None).await?;
    let bob = Arc::new(bob);
    let writers = 8;
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let bob = bob.clone();
        let count = options.mails / writers + usize::from(writer < options.mails % writers);
        tasks.push(tokio::spawn(async move {
            for i in 0..count {
                bob.send(&conversation, &format!("m {writer}-{i}"), Delivery::Email)
                    .await?;
            }
            Ok::<(), latchkey_client::ClientError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    server.stop();

    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&database)
        .await?;
    let outbox = || async {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox")
            .fetch_one(&pool)
            .await?;
        Ok::<i64, sqlx::Error>(n)
    };
    let queued = outbox().await?;
    let load = load_average();
    let server = Server::start(&options.binary, &env, &log)?;
    let mut first = None;
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let left = outbox().await?;
        let now = Instant::now();
        if first.is_none() && left < queued {
            first = Some((now, queued - left));
        }
        if left == 0 {
            break;
        }
        if now > deadline {
            return Err(format!("{left} mails still queued after 30 minutes").into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let last = Instant::now();
    server.stop();
    let (first_at, first_count) = first.ok_or("nothing was sent")?;
    // From the first poll that saw a mail gone: the mails gone by then are
    // not counted either.
    let sent = usize::try_from(queued)? - usize::try_from(first_count)?;
    let secs = last.duration_since(first_at).as_secs_f64().max(1e-3);
    Ok((sent as f64 * 60.0 / secs, usize::try_from(queued)?, load))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let middle = |i: usize| values.get(i).copied().unwrap_or(0.0);
    if n % 2 == 1 {
        middle(n / 2)
    } else {
        (middle((n / 2).saturating_sub(1)) + middle(n / 2)) / 2.0
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Failure> {
    let options = options()?;
    println!(
        "outbox drain: {} mails, {} runs, aiosmtpd delay {:?}, binary {}, load average at start {}",
        options.mails,
        options.runs,
        options.delay,
        options.binary.display(),
        load_average()
    );
    let mut cells: Vec<(String, String, Vec<f64>)> = Vec::new();
    for relay in &options.relays {
        for connections in &options.connections {
            cells.push((relay.clone(), connections.clone(), Vec::new()));
        }
    }
    for run in 1..=options.runs {
        for (relay, connections, rates) in &mut cells {
            let (rate, queued, load) = drain(&options, relay, connections).await?;
            println!(
                "run {run}: {relay:8} connections {connections:>3}: {queued} mails, \
                 {rate:8.0} mails/min (load before: {load})"
            );
            rates.push(rate);
        }
    }
    println!("\n| relay | connections | mails/min median | min – max |");
    println!("|---|---|---|---|");
    for (relay, connections, rates) in &mut cells {
        let low = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let high = rates.iter().copied().fold(0.0, f64::max);
        println!(
            "| {relay} | {connections} | {:.0} | {low:.0} – {high:.0} |",
            median(rates)
        );
    }
    println!("load average at the end: {}", load_average());
    Ok(())
}
