//! Prepares a running server for `scripts/bench` (wrk), through the API
//! only, and prints what wrk needs as `KEY=VALUE` lines:
//!
//! ```sh
//! bench_prep prepare SERVER [CIPHERTEXT_BYTES]
//! bench_prep fill SERVER CONVERSATION COOKIE TARGET CIPHERTEXT_BYTES
//! ```
//!
//! `prepare` registers a member, then four guests write to him from his
//! contact page as the web page does (each a first message, so each a new
//! conversation): `READ1` keeps its one message, `READ50` gets 49 more,
//! `POST` is where wrk posts and `MILLION` where `scripts/bench --million`
//! fills. For each the member hands the guest a link, and the guest opens
//! it with his address: the session cookie that redeem sets is printed as
//! `NAME=VALUE`, ready for a `Cookie:` header. Also printed: the server's
//! origin (its `Origin` rule for cookie writes), a static asset of the
//! embedded pages that answers 200, and a ciphertext of the asked size
//! (`41 + 256·k` bytes and the protocol's version byte first, the shape
//! the server checks; random bytes after it) as unpadded base64url for
//! wrk's post bodies.
//!
//! `fill` posts to a conversation until its `last_seq` reaches `TARGET`
//! (after a wrk run that stopped a little short), and prints `LAST_SEQ=N`.
//!
//! The redeem is done here with reqwest rather than `Guest::open`, which
//! keeps its cookie inside the client's jar.

#![allow(clippy::print_stdout)]

use base64ct::{Base64UrlUnpadded, Encoding};
use latchkey_api::{Email, GrantId, RedeemRequest};
use latchkey_client::{Delivery, Guest, Member, ServerUrl};
use latchkey_core::{LinkKey, MessageId, OsRng, RngCore, PROTOCOL_VERSION};

type Error = Box<dyn std::error::Error>;

/// The asset wrk fetches for the ceiling: small, embedded, served by the
/// same binary (no gzip unless asked; wrk does not ask).
const STATIC_ASSET: &str = "/assets/style.css";

/// The ciphertext size of the issue's measurements: a 1 KiB message.
const DEFAULT_CIPHERTEXT_BYTES: usize = 41 + 4 * 256;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["prepare", server] => prepare(server, DEFAULT_CIPHERTEXT_BYTES).await,
        ["prepare", server, bytes] => prepare(server, ciphertext_size(bytes)?).await,
        ["fill", server, conversation, cookie, target, bytes] => {
            let bench = Bench::new(server)?;
            let last = bench
                .fill(
                    conversation,
                    cookie,
                    target.parse()?,
                    ciphertext_size(bytes)?,
                )
                .await?;
            println!("LAST_SEQ={last}");
            Ok(())
        }
        _ => Err(
            "usage: bench_prep prepare SERVER [CIPHERTEXT_BYTES]\n       \
                  bench_prep fill SERVER CONVERSATION COOKIE TARGET CIPHERTEXT_BYTES"
                .into(),
        ),
    }
}

/// A ciphertext size the server takes: 41 + 256·k bytes, k ≥ 1.
fn ciphertext_size(text: &str) -> Result<usize, Error> {
    let n: usize = text.parse()?;
    if n < 41 + 256 || !(n - 41).is_multiple_of(256) {
        return Err(format!("ciphertext size {n}: must be 41 + 256·k bytes, k ≥ 1").into());
    }
    Ok(n)
}

async fn prepare(server: &str, ciphertext_bytes: usize) -> Result<(), Error> {
    let bench = Bench::new(server)?;
    let api = ServerUrl::parse(server)?;

    // The ceiling's asset must be there: a release binary built before
    // `scripts/build-web` serves 503 for every page and asset.
    let asset = bench.http.get(bench.url(STATIC_ASSET)).send().await?;
    if !asset.status().is_success() {
        return Err(format!(
            "{STATIC_ASSET} answers {}: build the pages (scripts/build-web) before the binary",
            asset.status()
        )
        .into());
    }

    let handle = format!("bench{}", std::process::id());
    let member = Member::register(
        &api,
        &handle,
        "Bench",
        "bench@member.test",
        b"bench password, not a secret",
    )
    .await?;
    // A first message of about the size of the posts: its ciphertext is
    // padded to a multiple of 256 bytes like theirs.
    let first = "A first message of ordinary length for the benchmark. ".repeat(15);

    println!("ORIGIN={}", bench.origin);
    println!("STATIC={STATIC_ASSET}");
    println!("CIPHERTEXT={}", base64url(&ciphertext(ciphertext_bytes)));
    for (name, messages) in [("READ1", 1), ("READ50", 50), ("POST", 1), ("MILLION", 1)] {
        let email = format!(
            "{}.{}@guest.test",
            name.to_ascii_lowercase(),
            std::process::id()
        );
        let (conversation, _) = Guest::contact(&api, &handle, &email, "", &first, None).await?;
        let link = member
            .new_link(&conversation, Delivery::Myself)
            .await?
            .ok_or("the server made no link")?;
        let cookie = bench.redeem(&link, &email).await?;
        let id = conversation.to_string();
        bench.fill(&id, &cookie, messages, ciphertext_bytes).await?;
        // What wrk will be answered: the whole conversation in one page.
        let (count, bytes) = bench.page(&id, &cookie).await?;
        if count != messages {
            return Err(format!("{name}: the page holds {count} messages, not {messages}").into());
        }
        println!("{name}_CONVERSATION={id}");
        println!("{name}_PAGE_BYTES={bytes}");
        println!("{name}_PATH=/api/v1/conversations/{id}/messages");
        println!("{name}_COOKIE={cookie}");
    }
    Ok(())
}

/// Plain HTTP to the server, without a cookie jar: the cookie is ours to
/// hand to wrk.
struct Bench {
    http: reqwest::Client,
    base: reqwest::Url,
    origin: String,
}

impl Bench {
    fn new(server: &str) -> Result<Bench, Error> {
        let base = reqwest::Url::parse(server)?;
        Ok(Bench {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()?,
            origin: base.origin().ascii_serialization(),
            base,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.as_str().trim_end_matches('/'))
    }

    /// Opens a hand-delivered link as the guest it was made for and returns
    /// the session cookie (`NAME=VALUE`) the server sets.
    async fn redeem(&self, link: &str, email: &str) -> Result<String, Error> {
        let fragment = link.rsplit_once('#').map_or(link, |(_, f)| f);
        let key = LinkKey::parse_fragment(fragment)?;
        let request = RedeemRequest {
            grant_id: GrantId(key.grant_id()),
            email: Email::parse(email)?,
        };
        let answer = self
            .http
            .post(self.url("/api/v1/grants/redeem"))
            .header(reqwest::header::ORIGIN, &self.origin)
            .json(&request)
            .send()
            .await?;
        if !answer.status().is_success() {
            return Err(format!("redeem answered {}", answer.status()).into());
        }
        // `latchkey-guest` on a dev-mode server over HTTP,
        // `__Host-latchkey-guest` otherwise.
        answer
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .find(|pair| {
                pair.trim_start_matches("__Host-")
                    .starts_with("latchkey-guest=")
            })
            .map(str::to_owned)
            .ok_or_else(|| "redeem set no guest cookie".into())
    }

    /// The conversation's `last_seq`, as its guest sees it.
    async fn last_seq(&self, conversation: &str, cookie: &str) -> Result<i64, Error> {
        let answer = self
            .http
            .get(self.url(&format!("/api/v1/conversations/{conversation}")))
            .header(reqwest::header::COOKIE, cookie)
            .send()
            .await?;
        if !answer.status().is_success() {
            return Err(format!("reading the conversation answered {}", answer.status()).into());
        }
        let view: serde_json::Value = answer.json().await?;
        view.get("last_seq")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| "the conversation has no last_seq".into())
    }

    /// The first page of messages as the guest reads it: how many, and
    /// the answer's size in bytes.
    async fn page(&self, conversation: &str, cookie: &str) -> Result<(i64, usize), Error> {
        let answer = self
            .http
            .get(self.url(&format!("/api/v1/conversations/{conversation}/messages")))
            .header(reqwest::header::COOKIE, cookie)
            .send()
            .await?;
        if !answer.status().is_success() {
            return Err(format!("reading the messages answered {}", answer.status()).into());
        }
        let body = answer.bytes().await?;
        let page: serde_json::Value = serde_json::from_slice(&body)?;
        let count = page
            .get("messages")
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len);
        Ok((i64::try_from(count)?, body.len()))
    }

    /// Posts as the guest (bytes of the right shape, fresh ids) until the
    /// conversation holds `target` messages; returns its `last_seq`.
    async fn fill(
        &self,
        conversation: &str,
        cookie: &str,
        target: i64,
        ciphertext_bytes: usize,
    ) -> Result<i64, Error> {
        let url = self.url(&format!("/api/v1/conversations/{conversation}/messages"));
        let mut last = self.last_seq(conversation, cookie).await?;
        while last < target {
            let body = serde_json::json!({
                "message_id": MessageId::generate(&mut OsRng).to_string(),
                "ciphertext": base64url(&ciphertext(ciphertext_bytes)),
            });
            let answer = self
                .http
                .post(&url)
                .header(reqwest::header::COOKIE, cookie)
                .header(reqwest::header::ORIGIN, &self.origin)
                .json(&body)
                .send()
                .await?;
            if answer.status().as_u16() != 201 {
                let status = answer.status();
                return Err(format!("a post answered {status}: {}", answer.text().await?).into());
            }
            last += 1;
        }
        self.last_seq(conversation, cookie).await
    }
}

/// What the server takes for a message: the version byte, then bytes
/// (it cannot open them, so it checks only the length).
fn ciphertext(n: usize) -> Vec<u8> {
    let mut bytes = vec![0; n];
    OsRng.fill_bytes(&mut bytes);
    if let Some(first) = bytes.first_mut() {
        *first = PROTOCOL_VERSION;
    }
    bytes
}

/// Unpadded base64url, the API's encoding of bytes.
fn base64url(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}
