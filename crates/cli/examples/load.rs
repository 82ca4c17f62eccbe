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
//! throughput, latency percentiles and the answers by status class (a flood
//! meets the per-session posting budget: 429).
//!
//! Beside the flood an honest client, once a second, does what a new guest
//! does: opens the member's contact page, makes a first contact from a fresh
//! address, redeems a hand-delivered link and posts one reply. It prints how
//! many of those steps were refused (429) or failed otherwise.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey_client::{ClientError, Delivery, Guest, Member, ServerUrl};

/// Answers by class: accepted, 429, other 4xx, 5xx, no answer at all.
#[derive(Default, Debug)]
struct Counts {
    ok: usize,
    too_many: usize,
    other_4xx: usize,
    server_5xx: usize,
    failed: usize,
}

impl Counts {
    fn status(&mut self, status: Option<u16>) {
        match status {
            Some(200..=399) => self.ok += 1,
            Some(429) => self.too_many += 1,
            Some(400..=499) => self.other_4xx += 1,
            Some(500..) => self.server_5xx += 1,
            _ => self.failed += 1,
        }
    }

    fn result<T>(&mut self, result: &Result<T, ClientError>) {
        match result {
            Ok(_) => self.ok += 1,
            Err(error) => self.status(error.status()),
        }
    }

    fn add(&mut self, other: &Counts) {
        self.ok += other.ok;
        self.too_many += other.too_many;
        self.other_4xx += other.other_4xx;
        self.server_5xx += other.server_5xx;
        self.failed += other.failed;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let base = args.get(1).map_or("http://127.0.0.1:8080", String::as_str);
    let server = ServerUrl::parse(base)?;
    let guests: usize = args.get(2).map_or(Ok(8), |a| a.parse())?;
    let seconds: u64 = args.get(3).map_or(Ok(10), |a| a.parse())?;

    let handle = format!("load{}", std::process::id());
    let password = b"load test password";
    let member = Member::register(&server, &handle, "Load", "load@member.test", password).await?;
    let setup = Instant::now();
    let mut sessions = Vec::new();
    for i in 0..guests {
        let email = format!("guest{i}@load.test");
        let (conversation, _) = Guest::contact(&server, &handle, &email, "", "hello", None).await?;
        let link = member
            .new_link(&conversation, Delivery::Myself)
            .await?
            .ok_or("no link")?;
        sessions.push((conversation, Guest::open(&server, &link, &email).await?));
    }
    println!(
        "setup: {guests} conversations and sessions in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    let member = Arc::new(member);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let honest = tokio::spawn(honest_client(
        server.clone(),
        format!("{base}/m/{handle}"),
        handle.clone(),
        member.clone(),
        deadline,
    ));
    let mut tasks = Vec::new();
    let started = Instant::now();
    for (_, guest) in sessions.drain(..) {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut counts = Counts::default();
            while Instant::now() < deadline {
                let t = Instant::now();
                let result = guest
                    .reply("a message of ordinary length, sent again and again")
                    .await;
                // Latency of every request the server answered, 429 included.
                if result.as_ref().err().is_none_or(|e| e.status().is_some()) {
                    latencies.push(t.elapsed());
                }
                counts.result(&result);
            }
            (latencies, counts)
        }));
    }
    let mut latencies = Vec::new();
    let mut counts = Counts::default();
    for task in tasks {
        let (l, c) = task.await?;
        latencies.extend(l);
        counts.add(&c);
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
        "guest replies: {} answers in {:.1} s = {:.0}/s with {guests} guests; latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.5).as_secs_f64() * 1000.0,
        pct(0.9).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
    );
    println!(
        "  accepted {} ({:.0}/s), 429 {}, other 4xx {}, 5xx {}, no answer {}",
        counts.ok,
        counts.ok as f64 / elapsed.as_secs_f64(),
        counts.too_many,
        counts.other_4xx,
        counts.server_5xx,
        counts.failed
    );
    let (rounds, steps) = honest.await?;
    for (name, c) in [
        "contact page",
        "first contact",
        "new link",
        "redeem",
        "reply",
    ]
    .iter()
    .zip(&steps)
    {
        println!(
            "honest client, {rounds} rounds, {name}: ok {}, 429 {}, other 4xx {}, 5xx {}, no answer {}",
            c.ok, c.too_many, c.other_4xx, c.server_5xx, c.failed
        );
    }

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

/// Once a second until the deadline, a new guest: the contact page, a first
/// contact from a fresh address, a hand-delivered link (the member's step),
/// its redemption and one reply. Counts each step's answers.
async fn honest_client(
    server: ServerUrl,
    page: String,
    handle: String,
    member: Arc<Member>,
    deadline: Instant,
) -> (usize, [Counts; 5]) {
    let mut steps: [Counts; 5] = Default::default();
    let mut rounds = 0;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while Instant::now() < deadline {
        tick.tick().await;
        rounds += 1;
        match reqwest::get(&page).await {
            Ok(answer) => steps[0].status(Some(answer.status().as_u16())),
            Err(_) => steps[0].failed += 1,
        }
        let email = format!("honest{rounds}.{}@load.test", std::process::id());
        let contact = Guest::contact(&server, &handle, &email, "", "hello", None).await;
        steps[1].result(&contact);
        let Ok((conversation, _)) = contact else {
            continue;
        };
        let link = member.new_link(&conversation, Delivery::Myself).await;
        steps[2].result(&link);
        let Ok(Some(link)) = link else { continue };
        let guest = Guest::open(&server, &link, &email).await;
        steps[3].result(&guest);
        let Ok(guest) = guest else { continue };
        steps[4].result(&guest.reply("an honest reply").await);
    }
    (rounds, steps)
}
