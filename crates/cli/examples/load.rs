//! A load generator for a running server, over loopback:
//!
//! ```sh
//! cargo run --release -p latchkey -- serve --dev &     # or any server
//! cargo run --release -p latchkey --example load -- http://127.0.0.1:8080 8 10
//! ```
//!
//! Arguments: server address, concurrent guests, seconds. It registers a
//! member, gives each guest a conversation and a hand-delivered link, then
//! every guest replies as fast as the server answers (one encrypted POST per
//! message), and finally the member reads the largest conversation. Prints
//! throughput and latency percentiles.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, Instant};

use latchkey_client::{Delivery, Guest, Member, ServerUrl};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let server = ServerUrl::parse(args.get(1).map_or("http://127.0.0.1:8080", String::as_str))?;
    let guests: usize = args.get(2).map_or(Ok(8), |a| a.parse())?;
    let seconds: u64 = args.get(3).map_or(Ok(10), |a| a.parse())?;

    let handle = format!("load{}", std::process::id());
    let password = b"load test password";
    let member = Member::register(&server, &handle, "Load", "load@member.test", password).await?;
    let mut sessions = Vec::new();
    for i in 0..guests {
        let email = format!("guest{i}@load.test");
        let (conversation, _) = Guest::contact(&server, &handle, &email, "", "hello", None).await?;
        let link = member
            .new_link(&conversation, Delivery::Myself)
            .await?
            .ok_or("no link")?;
        sessions.push((conversation, Guest::open(&server, &link).await?));
    }

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    let started = Instant::now();
    for (_, guest) in sessions.drain(..) {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let t = Instant::now();
                match guest
                    .reply("a message of ordinary length, sent again and again")
                    .await
                {
                    Ok(_) => latencies.push(t.elapsed()),
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    println!(
        "guest replies: {} in {:.1} s = {:.0}/s with {guests} guests; latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms; {errors} errors",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.5).as_secs_f64() * 1000.0,
        pct(0.9).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
    );

    let biggest = member
        .conversations()
        .await?
        .into_iter()
        .max_by_key(|c| c.last_seq)
        .ok_or("no conversation")?;
    let t = Instant::now();
    let read = member.read(&biggest.id).await?;
    println!(
        "member reads and decrypts one conversation of {} messages in {:.1} ms",
        read.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}
