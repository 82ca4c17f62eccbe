//! A member and guest client for the latchkey HTTP API. All cryptography
//! happens here, on the client: the server receives ciphertexts, sealed keys
//! and grant ids, and (only when the member lets it e-mail a link) a link key.
//!
//! - [`Member`]: register, sign in, read the inbox, read and send messages,
//!   make links (e-mailed or delivered by hand), fulfil guests' new-link
//!   requests, change the password, delete conversations.
//! - [`Guest`]: write to a member from his contact page, open a link, read,
//!   reply, delete; and [`request_link`] for a guest whose link is used up.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod guest;
mod http;
mod member;

pub use error::ClientError;
pub use guest::{request_link, Guest, Peek};
pub use http::{Exchange, Observer};
pub use member::{Conversation, Delivery, Member, Sent};

use latchkey_core::{ConversationId, ConversationKey, Message, MessageContext, Role};

/// What became of the e-mail a post could cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notification {
    /// An e-mail is queued: the guest's new link, or the member's notice.
    Queued,
    /// No e-mail: an earlier, still unused one covers this message.
    Coalesced,
    /// No e-mail: the server's daily mail cap for this conversation, member
    /// or recipient is reached. The message (and grant) are stored.
    Capped,
    /// None was asked for (no link, a hand-delivered link, a repeated post).
    None,
}

impl std::fmt::Display for Notification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Notification::Queued => "e-mail queued",
            Notification::Coalesced => "no e-mail: the guest's earlier link is still unused",
            Notification::Capped => {
                "no e-mail: the server's daily e-mail limit is reached (the message is stored)"
            }
            Notification::None => "no e-mail",
        })
    }
}

impl From<latchkey_api::Notification> for Notification {
    fn from(wire: latchkey_api::Notification) -> Self {
        match wire {
            latchkey_api::Notification::Queued => Notification::Queued,
            latchkey_api::Notification::Coalesced => Notification::Coalesced,
            latchkey_api::Notification::Capped => Notification::Capped,
            latchkey_api::Notification::None => Notification::None,
        }
    }
}

/// A member as a contact page shows him.
#[derive(Clone, Debug)]
pub struct PublicMember {
    /// His handle.
    pub handle: String,
    /// His display name.
    pub display_name: String,
    /// His key's fingerprint, to compare out of band.
    pub fingerprint: String,
}

impl From<latchkey_api::PublicMember> for PublicMember {
    fn from(view: latchkey_api::PublicMember) -> Self {
        PublicMember {
            handle: view.handle.as_str().to_owned(),
            display_name: view.display_name.as_str().to_owned(),
            fingerprint: view.fingerprint,
        }
    }
}

/// A decrypted message.
#[derive(Clone, Debug)]
pub struct ReceivedMessage {
    /// Order in the conversation (assigned by the server).
    pub seq: i64,
    /// Who wrote it.
    pub sender: Role,
    /// The author's clock at sending (ms since the Unix epoch).
    pub sent_at_ms: u64,
    /// The text.
    pub body: String,
    /// The guest's address and name, on his first message only (as his
    /// browser wrote them: the address his links go to is the server's).
    pub introduction: Option<(String, String)>,
}

/// Where to reach the server.
#[derive(Clone)]
pub struct ServerUrl {
    pub(crate) url: url::Url,
    pub(crate) observer: Option<Observer>,
    /// Sent as `Accept-Language`: the server writes this client's e-mails
    /// (a guest's links, a member's notices) in it.
    pub(crate) language: Option<String>,
}

impl std::fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerUrl")
            .field("url", &self.url.as_str())
            .field("observed", &self.observer.is_some())
            .finish()
    }
}

impl ServerUrl {
    /// Parses `http(s)://host[:port]`.
    pub fn parse(text: &str) -> Result<ServerUrl, ClientError> {
        let url = url::Url::parse(text)
            .map_err(|e| ClientError::Usage(format!("server address {text:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientError::Usage(
                "the server address must start with http:// or https://".into(),
            ));
        }
        Ok(ServerUrl {
            url,
            observer: None,
            language: None,
        })
    }

    /// The same server, with `observer` shown every answer (its operation,
    /// status and body) before the client reads it. For tests that check
    /// the server against its contract; a client in use sets none.
    pub fn with_observer(self, observer: Observer) -> ServerUrl {
        ServerUrl {
            observer: Some(observer),
            ..self
        }
    }

    /// The same server, asked for e-mails in `accept_language` (an
    /// `Accept-Language` value: `de`, `de-DE,de;q=0.9`), as a browser asks.
    pub fn with_language(self, accept_language: &str) -> ServerUrl {
        ServerUrl {
            language: Some(accept_language.to_owned()),
            ..self
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Decrypts one page of messages of a conversation.
fn decrypt_all(
    key: &ConversationKey,
    conversation: &ConversationId,
    messages: Vec<latchkey_api::MessageView>,
) -> Result<Vec<ReceivedMessage>, ClientError> {
    messages
        .into_iter()
        .map(|m| {
            let sender = Role::from(m.sender);
            let context = MessageContext {
                conversation: *conversation,
                message: m.message_id.0,
                sender,
            };
            let message: Message = key.decrypt_message(&context, &m.ciphertext.0)?;
            Ok(ReceivedMessage {
                seq: m.seq,
                sender,
                sent_at_ms: message.sent_at_ms,
                body: message.body.clone(),
                // Only the guest's first message introduces him; an
                // introduction anywhere else is ignored, not shown.
                introduction: message
                    .introduction
                    .as_ref()
                    .filter(|_| m.seq == 1 && sender == Role::Guest)
                    .map(|i| (i.email.clone(), i.display_name.clone())),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn run<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    /// Refused before any request (nothing listens on port 1): the
    /// client's rule is the contract's, the one the server applies.
    #[test]
    fn handles_addresses_and_names_are_checked_by_the_contract_rule() {
        let server = ServerUrl::parse("http://127.0.0.1:1").unwrap();
        for handle in ["-bob", "bob-", "ab", "bo b"] {
            let error = run(Member::login(&server, handle, b"pw")).unwrap_err();
            let ClientError::Usage(message) = error else {
                panic!("{handle}: {error}");
            };
            assert!(message.contains("not at either end"), "{message}");
        }
        let error = run(request_link(&server, "not an address", None)).unwrap_err();
        assert!(matches!(error, ClientError::Usage(_)), "{error}");
        let error = run(Member::register(&server, "bob", "", "b@x.org", b"pw")).unwrap_err();
        assert!(matches!(error, ClientError::Usage(_)), "{error}");
        let error = run(Guest::contact(&server, "bob", "ann", "Ann", "hi", None)).unwrap_err();
        assert!(matches!(error, ClientError::Usage(_)), "{error}");
    }
}
