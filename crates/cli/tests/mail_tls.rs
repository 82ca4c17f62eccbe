//! Mail through relays that speak TLS (issue 9 item 6): the real binary
//! sends a guest's link through a relay that refuses MAIL before STARTTLS
//! and through one that speaks TLS from the first byte, each with a
//! certificate a test authority signed and `mail.smtp.ca_file` naming that
//! authority; a relay whose certificate this server must not trust is
//! refused with one clear log line, the mail waits in the outbox, and goes
//! out once the relay has a right certificate.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64ct::{Base64UrlUnpadded, Encoding};
use latchkey_client::{Guest, Member};
use support::relay::{Identity, Relay, RelayMail, RelayMode, TestCa};
use support::{assert_absent, unique, Database, Server, Settings, PASSWORD};

/// The names a relay on loopback is reached by.
const LOOPBACK: &[&str] = &["IP:127.0.0.1", "DNS:localhost"];

/// The server's settings: mail to the relay with `security`, trusting
/// `ca_file`; a retry at most a second after a failure.
fn settings(security: &str, ca_file: &TestCa) -> Settings {
    Settings {
        extra_env: [
            ("LATCHKEY_MAIL__SMTP__SECURITY", security),
            (
                "LATCHKEY_MAIL__SMTP__CA_FILE",
                ca_file.cert.to_str().unwrap(),
            ),
            ("LATCHKEY_MAIL__SMTP__TIMEOUT_SECS", "5"),
            ("LATCHKEY_OUTBOX__MAX_BACKOFF_SECS", "1"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec(),
        ..Settings::default()
    }
}

/// What a person does: a member registers, a guest writes to him. Returns
/// the guest's and the member's addresses.
async fn guest_writes(server: &Server) -> (String, String) {
    let run = unique("");
    let member = format!("tina-{run}@member.test");
    Member::register(&server.url, "tina", "Tina", &member, PASSWORD.as_bytes())
        .await
        .unwrap();
    let guest = format!("gus-{run}@guest.test");
    Guest::contact(&server.url, "tina", &guest, "Gus", "hello over TLS", None)
        .await
        .unwrap();
    (guest, member)
}

/// The link mail `guest` received at `relay`: over TLS, with its link.
async fn link_mail(relay: &Relay, guest: &str) -> (RelayMail, String) {
    let mail = relay.wait_for(guest, 1).await.remove(0);
    assert!(
        mail.tls.as_deref().is_some_and(|v| v.starts_with("TLSv1.")),
        "the mail came in plain text: {mail:?}"
    );
    let link = mail.link().expect("the mail has the link");
    assert!(link.contains("/open#k1."), "{link}");
    (mail, link)
}

/// The relay's replies to a client that asks to send without TLS:
/// the greeting, EHLO, then MAIL FROM.
fn plain_mail_reply(port: u16) -> String {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    // One reply: lines until the one whose code is followed by a space.
    let mut reply = || {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            text.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] == b' ' {
                return text;
            }
        }
    };
    reply();
    writer.write_all(b"EHLO test.invalid\r\n").unwrap();
    let ehlo = reply();
    assert!(ehlo.contains("STARTTLS"), "{ehlo}");
    writer.write_all(b"MAIL FROM:<a@test.invalid>\r\n").unwrap();
    reply()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_requires_starttls_gets_the_link() {
    let ca = TestCa::new("latchkey test CA");
    let relay = Relay::start(RelayMode::StartTls, &ca.issue("relay", LOOPBACK));
    // The relay really refuses plain text: the mail below came over TLS
    // or not at all.
    let refused = plain_mail_reply(relay.port);
    assert!(refused.starts_with("530 "), "{refused}");

    let db = Database::sqlite();
    let server = Server::start(&db, &relay, &settings("starttls", &ca)).await;
    let (guest, _) = guest_writes(&server).await;
    let (mail, _) = link_mail(&relay, &guest).await;
    assert_eq!(mail.to, [guest]);
    assert!(mail.from.contains("noreply@latchkey.test"), "{mail:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_implicit_tls_relay_gets_the_link() {
    let ca = TestCa::new("latchkey test CA");
    let relay = Relay::start(RelayMode::Tls, &ca.issue("relay", LOOPBACK));
    let db = Database::sqlite();
    let server = Server::start(&db, &relay, &settings("tls", &ca)).await;
    let (guest, _) = guest_writes(&server).await;
    let (mail, _) = link_mail(&relay, &guest).await;
    assert_eq!(mail.to, [guest]);
}

/// Waits until a line of the server's log has `needle`; returns it.
async fn log_line(server: &Server, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = server.log_text();
        if let Some(line) = log.lines().find(|l| l.contains(needle)) {
            return line.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no line with {needle:?} in the server's log:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Attempts of the queued mails, most first.
async fn queued_attempts(db: &Database) -> Vec<i64> {
    let pool = db.pool().await;
    let rows: Vec<(i64,)> = sqlx::query_as("SELECT attempts FROM outbox ORDER BY attempts DESC")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.into_iter().map(|(n,)| n).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_with_a_certificate_this_server_must_not_trust_is_refused_and_the_mail_waits() {
    let ca = TestCa::new("latchkey test CA");
    let stranger = TestCa::new("someone else's CA");
    // Wrong in two ways, one after the other, each as the operator would
    // meet it: signed by an authority not in ca_file, then signed by the
    // right one for another host.
    let wrong: [(Identity, &str); 2] = [
        (stranger.issue("relay", LOOPBACK), "UnknownIssuer"),
        (
            ca.issue("elsewhere", &["DNS:relay.invalid"]),
            "not valid for name \"127.0.0.1\"",
        ),
    ];
    let mut relay = Relay::start(RelayMode::StartTls, &wrong[0].0);
    let port = relay.port;
    let db = Database::sqlite();
    let server = Server::start(&db, &relay, &settings("starttls", &ca)).await;
    let (guest, member) = guest_writes(&server).await;

    for (n, (identity, reason)) in wrong.iter().enumerate() {
        if n > 0 {
            relay.stop();
            relay = Relay::start_on(port, RelayMode::StartTls, identity);
        }
        let line = log_line(&server, reason).await;
        eprintln!("{line}");
        assert!(
            line.contains("WARN")
                && line.contains("mail relay's TLS certificate was refused: ")
                && line.contains("the mail stays queued"),
            "{line}"
        );
        assert!(relay.received().is_empty(), "{:?}", relay.received());
        // Still queued, and tried again (after its backoff), not dropped.
        let attempts = queued_attempts(&db).await;
        assert!(!attempts.is_empty(), "the mail left the outbox");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let now = queued_attempts(&db).await;
            assert!(!now.is_empty(), "the mail left the outbox");
            if now[0] > attempts[0] {
                break;
            }
            assert!(Instant::now() < deadline, "no retry: {now:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = server.log_text();
        assert!(log.contains("retry_in_secs"), "{log}");
        assert!(!log.contains("mail dropped"), "{log}");
    }

    // The relay gets a right certificate: the waiting mail goes out.
    relay.stop();
    let relay = Relay::start_on(port, RelayMode::StartTls, &ca.issue("relay", LOOPBACK));
    let (_, link) = link_mail(&relay, &guest).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !queued_attempts(&db).await.is_empty() {
        assert!(Instant::now() < deadline, "the outbox did not drain");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // No line of the log holds the link's key or an address.
    let fragment = link.rsplit_once('#').unwrap().1;
    let mut key = [0u8; 32];
    Base64UrlUnpadded::decode(fragment.strip_prefix("k1.").unwrap(), &mut key).unwrap();
    let log = server.log_text();
    assert_absent(
        "the server log",
        log.as_bytes(),
        &[
            ("the link key".into(), key.to_vec()),
            ("the guest's address".into(), guest.clone().into_bytes()),
            ("the member's address".into(), member.clone().into_bytes()),
        ],
    );
    assert!(!log.contains(fragment), "the log has the link");
}
