//! Times `POST /link-requests` for addresses that have a conversation and
//! for addresses that do not, interleaved, over loopback:
//!
//! ```sh
//! cargo build --release -p latchkey --example link_requests --bin latchkey
//! LATCHKEY_BIND=127.0.0.1:18080 LATCHKEY_LOG__FILTER=warn \
//!   LATCHKEY_RATE_LIMITS__LINK_REQUEST_PER_IP_PER_HOUR=100000000 \
//!   LATCHKEY_RATE_LIMITS__LINK_REQUEST_PER_ADDRESS_PER_HOUR=100000000 \
//!   LATCHKEY_RATE_LIMITS__IPV4_24_MULTIPLE=0 target/release/latchkey serve --dev &
//! target/release/examples/link_requests http://127.0.0.1:18080 5 2000
//! ```
//!
//! Arguments: server address, runs, requests per kind per run. It registers
//! a member and gives 20 guests a conversation with him, then each run
//! sends, one at a time on one kept-alive connection, four kinds of request
//! in rotation: a known address with the member's handle, the same without
//! a handle, an unknown address with the handle, and a known address with a
//! handle nobody has. Prints each kind's median and quartiles per run, and
//! the median of the run medians. The server's answer is the same for all;
//! the question is whether its time is.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, Instant};

use latchkey_client::{Guest, Member, ServerUrl};

const KNOWN: usize = 20;

/// One kind of request and what was measured of it.
struct Kind {
    name: &'static str,
    short: &'static str,
    times: Vec<Duration>,
    medians: Vec<f64>,
}

impl Kind {
    fn new(name: &'static str, short: &'static str) -> Kind {
        Kind {
            name,
            short,
            times: Vec::new(),
            medians: Vec::new(),
        }
    }

    /// The sample's value at `p` (0 to 1) of the way up, in ms.
    fn quantile(&self, p: f64) -> f64 {
        let at = ((self.times.len().saturating_sub(1)) as f64 * p).round() as usize;
        self.times
            .get(at)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let base = args.get(1).map_or("http://127.0.0.1:8080", String::as_str);
    let server = ServerUrl::parse(base)?;
    let runs: usize = args.get(2).map_or(Ok(5), |a| a.parse())?;
    let per_kind: usize = args.get(3).map_or(Ok(2000), |a| a.parse())?;

    let handle = format!("lr{}", std::process::id());
    Member::register(
        &server,
        &handle,
        "Bench",
        "bench@member.test",
        b"bench password",
    )
    .await?;
    for i in 0..KNOWN {
        let email = format!("known{i}@bench.test");
        Guest::contact(&server, &handle, &email, "", "hello", None).await?;
    }

    let client = reqwest::Client::new();
    let url = format!("{base}/api/v1/link-requests");
    let mut kinds = [
        Kind::new("known address, its member", "known+member"),
        Kind::new("known address, no handle", "known"),
        Kind::new("unknown address, a member", "unknown"),
        Kind::new("known address, no such member", "known+nobody"),
    ];
    println!("{per_kind} requests of each kind per run, in rotation; ms: median [q1, q3]");
    for run in 0..runs {
        for kind in &mut kinds {
            kind.times.clear();
        }
        for i in 0..per_kind {
            let known = format!("known{}@bench.test", i % KNOWN);
            for (n, kind) in kinds.iter_mut().enumerate() {
                let body = match n {
                    0 => serde_json::json!({ "email": known, "handle": handle }),
                    1 => serde_json::json!({ "email": known }),
                    2 => serde_json::json!({
                        "email": format!("r{run}n{i}@unknown.test"),
                        "handle": handle,
                    }),
                    _ => serde_json::json!({ "email": known, "handle": "nosuchmember" }),
                };
                let t = Instant::now();
                let answer = client.post(&url).json(&body).send().await?;
                let status = answer.status();
                answer.bytes().await?;
                kind.times.push(t.elapsed());
                if status.as_u16() != 202 {
                    return Err(format!("{} answered {status}", kind.name).into());
                }
            }
        }
        let mut line = format!("run {}:", run + 1);
        for kind in &mut kinds {
            kind.times.sort();
            let median = kind.quantile(0.5);
            kind.medians.push(median);
            line.push_str(&format!(
                "  {} {median:.3} [{:.3}, {:.3}]",
                kind.short,
                kind.quantile(0.25),
                kind.quantile(0.75)
            ));
        }
        println!("{line}");
    }
    for kind in &mut kinds {
        kind.medians.sort_by(f64::total_cmp);
        let m = &kind.medians;
        println!(
            "{:32} median of run medians {:.3} ms (runs {:.3} to {:.3})",
            kind.name,
            m.get(m.len() / 2).copied().unwrap_or(f64::NAN),
            m.first().copied().unwrap_or(f64::NAN),
            m.last().copied().unwrap_or(f64::NAN)
        );
    }
    Ok(())
}
