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

mod api;
mod error;
mod guest;
mod member;

pub use error::ClientError;
pub use guest::{request_link, Guest, Peek};
pub use member::{Conversation, Delivery, Member, Sent};

use latchkey_core::{ConversationId, ConversationKey, Message, MessageContext, MessageId, Role};

/// What became of the e-mail a post could cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notification {
    /// An e-mail is queued: the guest's new link, or the member's notice.
    Queued,
    /// No e-mail: an earlier, still unused one covers this message.
    Coalesced,
    /// None was asked for (no link, a hand-delivered link, a repeated post).
    None,
}

impl std::fmt::Display for Notification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Notification::Queued => "e-mail queued",
            Notification::Coalesced => "no e-mail: the guest's earlier link is still unused",
            Notification::None => "no e-mail",
        })
    }
}

impl Notification {
    pub(crate) fn parse(text: &str) -> Result<Notification, ClientError> {
        match text {
            "queued" => Ok(Notification::Queued),
            "coalesced" => Ok(Notification::Coalesced),
            "none" => Ok(Notification::None),
            other => Err(ClientError::Protocol(format!(
                "unknown notification outcome {other:?}"
            ))),
        }
    }
}

/// Checks a handle before it goes into a URL path (the server checks it
/// again): 3–32 of `a-z`, `0-9`, `-`.
pub(crate) fn checked_handle(handle: &str) -> Result<String, ClientError> {
    let handle = handle.trim().to_ascii_lowercase();
    if (3..=32).contains(&handle.len())
        && handle
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Ok(handle)
    } else {
        Err(ClientError::Usage(
            "a handle has 3 to 32 characters: letters a-z, digits and '-'".into(),
        ))
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
#[derive(Clone, Debug)]
pub struct ServerUrl(pub(crate) url::Url);

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
        Ok(ServerUrl(url))
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
    messages: Vec<api::MessageView>,
) -> Result<Vec<ReceivedMessage>, ClientError> {
    messages
        .into_iter()
        .map(|m| {
            let sender = match m.sender.as_str() {
                "member" => Role::Member,
                _ => Role::Guest,
            };
            let message_id: MessageId = m.message_id.parse().map_err(|_| {
                ClientError::Protocol("the server sent a malformed message id".into())
            })?;
            let context = MessageContext {
                conversation: *conversation,
                message: message_id,
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
