//! Live events to open pages (issue 11, items 1 and 4), against the real
//! binary: `GET /api/v1/events` as Server-Sent Events. A guest's message
//! reaches the member's open stream and the member's reply the guest's; a
//! stream resumed with `Last-Event-ID` gets exactly what it missed; a
//! guest's stream shows only his conversation; sign-out ends a stream at
//! the next heartbeat; the per-session limit closes the oldest stream and
//! the per-instance limit answers 503 with `Retry-After`; and on
//! PostgreSQL an event written through one instance reaches a stream
//! connected to another within a second or two (LISTEN/NOTIFY: the
//! fallback poll alone takes 5 s).

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{Duration, Instant};

use latchkey_client::{Delivery, Guest, Member};
use serde_json::Value;
use support::{contract, unique, Database, MailServer, Server, Settings, PASSWORD};

/// One event as received.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Received {
    id: i64,
    event: String,
    data: Value,
}

/// Reads a `text/event-stream` body block by block.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

enum Next {
    Event(Received),
    Ended,
    Quiet,
}

impl Stream {
    async fn open(response: reqwest::Response) -> Stream {
        assert_eq!(response.status(), 200, "the stream opens");
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        Stream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (comments and the retry line skipped), the end of
    /// the stream, or nothing within `wait`.
    async fn next(&mut self, wait: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(at) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..at + 2).collect();
                let (mut id, mut event, mut data) = (None, None, None);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.parse::<i64>().unwrap());
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = Some(serde_json::from_str(v).unwrap());
                    }
                }
                if let (Some(id), Some(event), Some(data)) = (id, event, data) {
                    return Next::Event(Received { id, event, data });
                }
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return Next::Quiet,
                Ok(Ok(Some(bytes))) => self.buffer.push_str(std::str::from_utf8(&bytes).unwrap()),
                Ok(Ok(None) | Err(_)) => return Next::Ended,
            }
        }
    }

    async fn event(&mut self, what: &str) -> Received {
        match self.next(Duration::from_secs(5)).await {
            Next::Event(e) => e,
            Next::Ended => panic!("{what}: the stream ended"),
            Next::Quiet => panic!("{what}: nothing came within 5 s"),
        }
    }

    async fn quiet(&mut self, what: &str, wait: Duration) {
        match self.next(wait).await {
            Next::Quiet => {}
            Next::Event(e) => panic!("{what}: an event came: {e:?}"),
            Next::Ended => panic!("{what}: the stream ended"),
        }
    }

    async fn ends(&mut self, what: &str, wait: Duration) {
        loop {
            match self.next(wait).await {
                Next::Ended => return,
                Next::Event(_) => continue,
                Next::Quiet => panic!("{what}: the stream is still open after {wait:?}"),
            }
        }
    }
}

fn message(e: &Received, conversation: &str, sender: &str) {
    assert_eq!(e.event, "message.created", "{e:?}");
    assert_eq!(e.data["conversation"], conversation, "{e:?}");
    assert_eq!(e.data["sender"], sender, "{e:?}");
}

fn settings(max_per_session: usize, max_connections: usize) -> Settings {
    Settings {
        extra_env: vec![
            ("LATCHKEY_EVENTS__HEARTBEAT_SECS".into(), "1".into()),
            (
                "LATCHKEY_EVENTS__MAX_PER_SESSION".into(),
                max_per_session.to_string(),
            ),
            (
                "LATCHKEY_EVENTS__MAX_CONNECTIONS".into(),
                max_connections.to_string(),
            ),
        ],
        ..Settings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_reach_open_streams_within_limits() {
    let db = Database::sqlite();
    let mail = MailServer::start().await;
    let server = Server::start(&db, &mail, &settings(2, 4)).await;
    let url = server.url.clone();
    let run = unique("live");

    // Without a session: 401, as documented.
    let anonymous = reqwest::get(format!("{}/api/v1/events", server.base))
        .await
        .unwrap();
    let status = anonymous.status().as_u16();
    assert_eq!(status, 401);
    contract::check_raw("GET", "/events", status, &anonymous.bytes().await.unwrap());

    let bob = Member::register(
        &url,
        "bob",
        "Bob",
        &format!("bob-{run}@m.test"),
        PASSWORD.as_bytes(),
    )
    .await
    .unwrap();
    let ann = format!("ann-{run}@g.test");
    let (conversation, _) = Guest::contact(&url, "bob", &ann, "Ann", "first", None)
        .await
        .unwrap();
    let guest = Guest::open(&url, &mail.link(&ann, 1).await, &ann)
        .await
        .unwrap();
    let id = conversation.to_string();

    let mut member = Stream::open(bob.events(None).await.unwrap()).await;
    let mut own = Stream::open(guest.events(None).await.unwrap()).await;
    // A first connection starts at the newest event: nothing old comes.
    member
        .quiet("a new stream", Duration::from_millis(300))
        .await;

    // The guest writes: the member's stream has it (and the guest's own).
    guest.reply("are you there?").await.unwrap();
    let first = member.event("guest's message at the member").await;
    message(&first, &id, "guest");
    message(
        &own.event("guest's message at the guest").await,
        &id,
        "guest",
    );

    // The member replies: the guest's stream has it.
    bob.send(&conversation, "yes", Delivery::None)
        .await
        .unwrap();
    message(
        &own.event("member's reply at the guest").await,
        &id,
        "member",
    );
    let second = member.event("member's reply at the member").await;
    message(&second, &id, "member");

    // Another guest's conversation: the member sees it, Ann's stream not.
    let carl = format!("carl-{run}@g.test");
    let (other, _) = Guest::contact(&url, "bob", &carl, "Carl", "hi", None)
        .await
        .unwrap();
    let third = member.event("another conversation's message").await;
    message(&third, &other.to_string(), "guest");
    bob.send(&conversation, "again", Delivery::None)
        .await
        .unwrap();
    let fourth = member.event("the member's second reply").await;
    let next_for_ann = own.event("the next event of Ann's conversation").await;
    message(&next_for_ann, &id, "member");
    assert_eq!(
        next_for_ann.id, fourth.id,
        "Ann's stream skipped Carl's event"
    );

    // Resumed after the first: exactly the three after it, in order.
    let mut resumed = Stream::open(bob.events(Some(first.id)).await.unwrap()).await;
    for expected in [&second, &third, &fourth] {
        assert_eq!(&resumed.event("a missed event").await, expected);
    }
    resumed.quiet("no repeat", Duration::from_millis(300)).await;

    // A third stream of one session (at most 2): the oldest closes.
    let mut newest = Stream::open(bob.events(None).await.unwrap()).await;
    member
        .ends("the oldest stream", Duration::from_secs(2))
        .await;

    // Four open now (resumed, newest, Ann's, and Carl's); a fifth: 503.
    let carl_guest = Guest::open(&url, &mail.link(&carl, 1).await, &carl)
        .await
        .unwrap();
    let mut carls = Stream::open(carl_guest.events(None).await.unwrap()).await;
    let full = carl_guest.events(None).await.unwrap();
    let status = full.status().as_u16();
    assert_eq!(status, 503);
    assert_eq!(full.headers()["retry-after"], "10");
    contract::check_raw("GET", "/events", status, &full.bytes().await.unwrap());

    // A full instance still takes a stream that replaces its session's
    // oldest.
    let mut replacing = Stream::open(bob.events(None).await.unwrap()).await;
    resumed
        .ends("the replaced stream", Duration::from_secs(2))
        .await;

    // Carl deletes his conversation: his stream says so, then ends (his
    // session went with it).
    carl_guest.delete().await.unwrap();
    let deleted = carls.event("his conversation deleted").await;
    assert_eq!(deleted.event, "conversation.deleted");
    assert_eq!(deleted.data["conversation"], other.to_string());
    carls
        .ends(
            "a deleted conversation's guest stream",
            Duration::from_secs(2),
        )
        .await;

    // Sign-out: Ann's stream ends at the next heartbeat (1 s here).
    guest.sign_out().await.unwrap();
    own.ends("a signed-out guest's stream", Duration::from_secs(3))
        .await;
    // The member's streams live on: Carl's opened link, then heartbeats.
    let opened = newest.event("Carl opened his link").await;
    assert_eq!(opened.event, "link.opened");
    assert_eq!(opened.data["conversation"], other.to_string());
    for stream in [&mut newest, &mut replacing] {
        let gone = stream.event("Carl's conversation deleted").await;
        assert_eq!(gone.event, "conversation.deleted");
    }
    newest
        .quiet("still open", Duration::from_millis(1500))
        .await;
    bob.logout().await.unwrap();
    replacing
        .ends("a signed-out member's other stream", Duration::from_secs(3))
        .await;
    newest
        .ends("a signed-out member's stream", Duration::from_secs(3))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_through_one_instance_reaches_a_stream_on_another() {
    let db = Database::postgres().await;
    let mail = MailServer::start().await;
    let a = Server::start(&db, &mail, &settings(4, 100)).await;
    let b = a.sibling();
    let run = unique("live");
    Member::register(
        &a.url,
        "bob",
        "Bob",
        &format!("bob-{run}@m.test"),
        PASSWORD.as_bytes(),
    )
    .await
    .unwrap();
    let bob_on_b = Member::login(&b.url, "bob", PASSWORD.as_bytes())
        .await
        .unwrap();
    let mut stream = Stream::open(bob_on_b.events(None).await.unwrap()).await;
    let ann = format!("ann-{run}@g.test");
    let (conversation, _) = Guest::contact(&a.url, "bob", &ann, "Ann", "hello", None)
        .await
        .unwrap();
    message(
        &stream.event("a message written through A").await,
        &conversation.to_string(),
        "guest",
    );
    // B's hub just read the table, so its fallback poll is 5 s away: a
    // second event within 2 s came by NOTIFY.
    let carl = format!("carl-{run}@g.test");
    let started = Instant::now();
    let (other, _) = Guest::contact(&a.url, "bob", &carl, "Carl", "hello", None)
        .await
        .unwrap();
    let event = stream.event("a second message written through A").await;
    let took = started.elapsed();
    message(&event, &other.to_string(), "guest");
    assert!(took < Duration::from_secs(2), "took {took:?}: no NOTIFY?");
}
