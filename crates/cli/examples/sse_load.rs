//! Memory under many open event streams (issue 11, item 4): starts a
//! `latchkey serve --dev` (the binary given, normally the release build)
//! on a fresh directory, opens `STREAMS` Server-Sent Event streams for
//! `SECONDS`, while guests write to the member every half second (each
//! message one event on every stream) and heartbeats run every 5 s, and
//! prints the server's resident memory before, at its peak (`VmHWM`) and
//! after the streams closed, from `/proc/PID/status`:
//!
//! ```sh
//! cargo build --release -p latchkey
//! cargo run --release -p latchkey --example sse_load -- target/release/latchkey 1000 20
//! ```
//!
//! The streams belong to ten member sessions of one member (a hundred
//! each: `events.max_per_session` is raised for the run), since a session
//! costs a sign-in (Argon2) and a stream's cost does not depend on whose
//! it is.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey_client::{Guest, Member, ServerUrl};

type Error = Box<dyn std::error::Error>;

const SESSIONS: usize = 10;
const PASSWORD: &[u8] = b"a long load-test passphrase";

/// `VmRSS` and `VmHWM` of a process, in KiB.
fn memory(pid: u32) -> Result<(u64, u64), Error> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> Result<u64, Error> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))?;
        Ok(line
            .split_whitespace()
            .nth(1)
            .ok_or("malformed status line")?
            .parse()?)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let binary = args
        .next()
        .ok_or("usage: sse_load BINARY [STREAMS] [SECONDS]")?;
    let streams: usize = args.next().map_or(Ok(1000), |s| s.parse())?;
    let seconds: u64 = args.next().map_or(Ok(20), |s| s.parse())?;
    let per_session = streams.div_ceil(SESSIONS);

    let dir = tempfile::tempdir()?;
    let budget = "1000000";
    let mut child = Command::new(&binary)
        .arg("serve")
        .arg("--dev")
        .current_dir(dir.path())
        .env("LATCHKEY_BIND", "127.0.0.1:0")
        .env("LATCHKEY_LOG__FILTER", "warn")
        .env("LATCHKEY_EVENTS__MAX_PER_SESSION", per_session.to_string())
        .env(
            "LATCHKEY_EVENTS__MAX_CONNECTIONS",
            (streams + 10).to_string(),
        )
        .env("LATCHKEY_EVENTS__HEARTBEAT_SECS", "5")
        .env("LATCHKEY_RATE_LIMITS__LOGIN_PER_IP_PER_MINUTE", budget)
        .env("LATCHKEY_RATE_LIMITS__LOGIN_PER_HANDLE_PER_MINUTE", budget)
        .env("LATCHKEY_RATE_LIMITS__CONTACT_PER_IP_PER_HOUR", budget)
        .env("LATCHKEY_RATE_LIMITS__CONTACT_PER_ADDRESS_PER_HOUR", budget)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().ok_or("the server exited before listening")??;
        if line.contains("listening on") {
            break line
                .split_whitespace()
                .last()
                .ok_or("no address")?
                .to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    let url = ServerUrl::parse(&base)?;

    let first = Member::register(&url, "load", "Load", "load@member.test", PASSWORD).await?;
    let mut members = vec![first];
    for _ in 1..SESSIONS {
        members.push(Member::login(&url, "load", PASSWORD).await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (before, _) = memory(pid)?;

    let events = Arc::new(AtomicU64::new(0));
    let pings = Arc::new(AtomicU64::new(0));
    let ended = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    let mut refused = 0;
    for member in members.iter().cycle().take(streams) {
        let response = member.events(None).await?;
        if response.status() != 200 {
            refused += 1;
            continue;
        }
        let (events, pings, ended) = (events.clone(), pings.clone(), ended.clone());
        tasks.push(tokio::spawn(async move {
            let mut response = response;
            while let Ok(Some(chunk)) = response.chunk().await {
                let text = String::from_utf8_lossy(&chunk);
                let count = |needle: &str| text.matches(needle).count() as u64;
                events.fetch_add(count("event: message.created"), Ordering::Relaxed);
                pings.fetch_add(count(": ping"), Ordering::Relaxed);
            }
            ended.fetch_add(1, Ordering::Relaxed);
        }));
    }
    let opened_in = started.elapsed();
    let (open_rss, _) = memory(pid)?;

    let mut written = 0u64;
    let mut peak_rss = open_rss;
    let until = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < until {
        Guest::contact(
            &url,
            "load",
            &format!("g{written}@guest.test"),
            "G",
            "hello",
            None,
        )
        .await?;
        written += 1;
        peak_rss = peak_rss.max(memory(pid)?.0);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, hwm) = memory(pid)?;
    let ended_early = ended.load(Ordering::Relaxed);
    for task in &tasks {
        task.abort();
    }
    drop(members);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (after, _) = memory(pid)?;
    let metrics = reqwest::get(format!("{base}/api/v1/health"))
        .await?
        .status();

    println!(
        "streams opened:       {} of {streams} ({refused} refused) in {opened_in:.1?}",
        tasks.len()
    );
    println!("messages written:     {written} (one event each on every stream)");
    println!("events received:      {}", events.load(Ordering::Relaxed));
    println!("heartbeats received:  {}", pings.load(Ordering::Relaxed));
    println!("streams ended early:  {ended_early}");
    println!("server RSS before:    {}", mib(before));
    println!("server RSS, all open: {}", mib(open_rss));
    println!("server RSS peak seen: {}", mib(peak_rss));
    println!("server VmHWM:         {}", mib(hwm));
    println!(
        "server RSS after:     {} (streams closed; health {metrics})",
        mib(after)
    );
    child.kill()?;
    child.wait()?;
    Ok(())
}
