//! Metrics (issue 14): with `metrics.bind` set, the real binary serves
//! `GET /metrics` there, and only there, in the Prometheus text format;
//! unset, nothing more listens. The scrape is read by an independent
//! parser, PyPI's `prometheus_client` (installed by scripts/setup), and no
//! label value may carry an address, a handle or an id.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use latchkey_client::{Guest, Member};
use serde::Deserialize;
use support::{unique, Database, MailServer, Server, Settings, PASSWORD};

/// Every family the README lists.
const FAMILIES: [&str; 13] = [
    "latchkey_http_requests",
    "latchkey_http_request_duration_seconds",
    "latchkey_mail_sent",
    "latchkey_mail_failures",
    "latchkey_rate_limit_rejections",
    "latchkey_swept_grants",
    "latchkey_swept_conversations",
    "latchkey_epoch_keys_erased",
    "latchkey_outbox_depth",
    "latchkey_outbox_oldest_pending_age_seconds",
    "latchkey_sessions_active",
    "latchkey_db_pool_connections",
    "latchkey_db_pool_idle_connections",
];

#[derive(Debug, Deserialize)]
struct Family {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    samples: Vec<Sample>,
}

#[derive(Debug, Deserialize)]
struct Sample {
    name: String,
    labels: std::collections::BTreeMap<String, String>,
    value: f64,
}

/// The parser's Python, from the venv scripts/setup makes.
fn parser_python() -> PathBuf {
    let python =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/prometheus-client/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup (it installs PyPI's prometheus_client there)",
        python.display()
    );
    python
}

/// Parses a scrape with `prometheus_client`'s OpenMetrics parser (strict:
/// it insists on types, names, escaping and the closing `# EOF`).
fn parse(text: &str) -> Vec<Family> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scrape.txt");
    std::fs::write(&file, text).unwrap();
    let script = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
text = open(sys.argv[1], encoding="utf-8").read()
print(json.dumps([
    {"name": f.name, "type": f.type,
     "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]}
    for f in text_string_to_metric_families(text)
]))
"#;
    let output = Command::new(parser_python())
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "prometheus_client refused the scrape: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn scrape(url: &str) -> String {
    let response = reqwest::get(url).await.expect("metrics answer");
    assert_eq!(response.status(), 200);
    let kind = response.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    response.text().await.unwrap()
}

/// Sum of a family's samples named `sample` whose labels include `with`.
fn total(families: &[Family], sample: &str, with: &[(&str, &str)]) -> f64 {
    families
        .iter()
        .flat_map(|f| &f.samples)
        .filter(|s| s.name == sample)
        .filter(|s| {
            with.iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

/// The TCP ports `pid` listens on, from /proc (the test machine is Linux).
fn listening_ports(pid: u32) -> Vec<u16> {
    let mut inodes = Vec::new();
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
    {
        if let Ok(target) = std::fs::read_link(fd.path()) {
            let target = target.to_string_lossy().into_owned();
            if let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|t| t.strip_suffix(']'))
            {
                inodes.push(inode.to_owned());
            }
        }
    }
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for row in text.lines().skip(1) {
            let cols: Vec<&str> = row.split_whitespace().collect();
            // local_address, state (0A is LISTEN), inode.
            if cols.len() > 9 && cols[3] == "0A" && inodes.iter().any(|i| i == cols[9]) {
                let port = cols[1].rsplit(':').next().unwrap();
                ports.push(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    ports.sort_unstable();
    ports
}

fn port_of(url: &str) -> u16 {
    url.trim_end_matches("/metrics")
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_their_own_address() {
    let db = Database::sqlite();
    let mail = MailServer::start().await;
    let server = Server::start(
        &db,
        &mail,
        &Settings {
            extra_env: [
                ("LATCHKEY_METRICS__BIND", "127.0.0.1:0"),
                // Two first contacts from one address an hour: the burst
                // below meets the budget.
                ("LATCHKEY_RATE_LIMITS__CONTACT_PER_ADDRESS_PER_HOUR", "2"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .to_vec(),
            ..Settings::default()
        },
    )
    .await;
    let line = server
        .stdout_line("metrics listening on", Duration::from_secs(10))
        .expect("the server prints the metrics address");
    let url = line.split_whitespace().last().unwrap().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/metrics"),
        "{line}"
    );
    let site_port = port_of(&server.base);
    assert_eq!(
        listening_ports(server.pid().unwrap()),
        {
            let mut both = vec![site_port, port_of(&url)];
            both.sort_unstable();
            both
        },
        "the site and the metrics endpoint, nothing else"
    );

    // Load: two members, first contacts until the budget says no, and raw
    // paths carrying a handle and a hex id.
    let run = unique("");
    let handles = ["metra", "metrb"];
    let mut secrets: Vec<String> = Vec::new();
    for handle in handles {
        let email = format!("{handle}-{run}@member.test");
        Member::register(
            &server.url,
            handle,
            "Metric Member",
            &email,
            PASSWORD.as_bytes(),
        )
        .await
        .unwrap();
        secrets.push(email);
    }
    let guest = format!("guest-{run}@guest.test");
    secrets.push(guest.clone());
    let mut refused = 0;
    for n in 0..4 {
        if Guest::contact(
            &server.url,
            "metra",
            &guest,
            "Guest",
            &format!("hello {n}"),
            None,
        )
        .await
        .is_err()
        {
            refused += 1;
        }
    }
    assert_eq!(refused, 2, "the address budget of two refuses the rest");
    let hex_id = "0123456789abcdef0123456789abcdef";
    let http = reqwest::Client::new();
    for path in [
        "/m/metrb".to_owned(),
        format!("/api/v1/conversations/{hex_id}"),
        format!("/no/such/{hex_id}"),
    ] {
        http.get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
    }
    // The site itself has no /metrics.
    let site = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(site.status(), 404, "metrics are not on the site's address");

    // The worker sends the two links; the counter follows the hand-over.
    mail.wait_for(&guest, 2).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let (text, families) = loop {
        let text = scrape(&url).await;
        let families = parse(&text);
        if total(&families, "latchkey_mail_sent_total", &[]) >= 2.0 || Instant::now() > deadline {
            break (text, families);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
    for family in FAMILIES {
        assert!(
            names.contains(&family),
            "{family} missing from the scrape:\n{text}"
        );
    }
    let kind = |name: &str| &families.iter().find(|f| f.name == name).unwrap().kind;
    assert_eq!(kind("latchkey_http_requests"), "counter");
    assert_eq!(kind("latchkey_http_request_duration_seconds"), "histogram");
    assert_eq!(kind("latchkey_outbox_depth"), "gauge");

    assert_eq!(
        total(&families, "latchkey_mail_sent_total", &[]),
        2.0,
        "{text}"
    );
    assert_eq!(
        total(
            &families,
            "latchkey_rate_limit_rejections_total",
            &[("budget", "contact-address")]
        ),
        2.0,
        "{text}"
    );
    let register = total(
        &families,
        "latchkey_http_requests_total",
        &[
            ("route", "/api/v1/members/register/finish"),
            ("method", "POST"),
        ],
    );
    assert!(
        register >= 2.0,
        "two registrations counted by template:\n{text}"
    );
    assert!(
        total(
            &families,
            "latchkey_http_requests_total",
            &[("status", "429")]
        ) >= 2.0,
        "the refusals counted with their status:\n{text}"
    );
    assert!(
        total(
            &families,
            "latchkey_http_requests_total",
            &[("route", "/m/{handle}"), ("status", "200")]
        ) >= 1.0,
        "the member page counted under its template:\n{text}"
    );
    assert!(
        total(
            &families,
            "latchkey_http_request_duration_seconds_count",
            &[]
        ) >= 8.0,
        "{text}"
    );
    assert!(
        total(&families, "latchkey_sessions_active", &[]) >= 2.0,
        "{text}"
    );
    assert!(
        total(&families, "latchkey_db_pool_connections", &[]) >= 1.0,
        "{text}"
    );
    assert_eq!(
        total(&families, "latchkey_outbox_depth", &[]),
        0.0,
        "{text}"
    );

    // No label value names anyone: no address, no handle, no hex id, no
    // raw path.
    for sample in families.iter().flat_map(|f| &f.samples) {
        for value in sample.labels.values() {
            assert!(!value.contains('@'), "an address in a label: {value}");
            for handle in handles {
                assert!(!value.contains(handle), "a handle in a label: {value}");
            }
            let longest_hex = value
                .split(|c: char| !c.is_ascii_hexdigit())
                .map(str::len)
                .max()
                .unwrap_or(0);
            assert!(longest_hex < 16, "an id in a label: {value}");
        }
    }
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "{secret} in the scrape");
    }
    assert!(!text.contains(hex_id), "a raw path in the scrape");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_metrics_unless_asked() {
    let db = Database::sqlite();
    let mail = MailServer::start().await;
    let server = Server::start(&db, &mail, &Settings::default()).await;
    assert_eq!(
        server.stdout_line("metrics", Duration::from_secs(2)),
        None,
        "no metrics address printed"
    );
    assert_eq!(
        listening_ports(server.pid().unwrap()),
        vec![port_of(&server.base)],
        "the site's listener is the only one"
    );
    let site = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap();
    assert_eq!(site.status(), 404);
}
