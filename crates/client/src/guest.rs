//! The guest's side: no account, only links.

use latchkey_api::endpoints as ops;
use latchkey_api::{
    Email, GrantId, GrantInput, GrantRef, Handle, LinkFragment, LinkRequest, LinkRequested,
    MessageInput, Peeked, PostMessage, PostedView, RedeemRequest, RedeemedView, StartConversation,
    Started, B64,
};
use latchkey_core::{
    ConversationId, ConversationKey, GuestIntroduction, IdentityPublic, LinkKey, Message,
    MessageContext, MessageId, OsRng, Role, WrappedConversationKey,
};

use crate::http::Http;
use crate::member::fetch_all;
use crate::{now_ms, ClientError, Notification, PublicMember, ReceivedMessage, ServerUrl};

/// What a link shows before it is used.
#[derive(Clone, Debug)]
pub struct Peek {
    /// Who the conversation is with.
    pub member: PublicMember,
}

/// A guest with an open conversation (after redeeming a link).
pub struct Guest {
    http: Http,
    conversation: ConversationId,
    key: ConversationKey,
    member: PublicMember,
}

impl std::fmt::Debug for Guest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guest")
            .field("conversation", &self.conversation)
            .finish_non_exhaustive()
    }
}

/// Takes the key out of a link: the whole `https://…/open#k1.…` or just the
/// fragment.
fn link_key(link: &str) -> Result<LinkKey, ClientError> {
    let fragment = link.rsplit_once('#').map_or(link, |(_, f)| f).trim();
    LinkKey::parse_fragment(fragment)
        .map_err(|e| ClientError::Usage(format!("this is not a latchkey link: {e}")))
}

impl Guest {
    /// Writes to a member from his contact page: a new conversation whose
    /// key only the member (and the guest's links) can open. The guest's
    /// link arrives by e-mail. If `expected_fingerprint` is given, the
    /// member's key must have it.
    pub async fn contact(
        server: &ServerUrl,
        handle: &str,
        guest_email: &str,
        guest_name: &str,
        body: &str,
        expected_fingerprint: Option<&str>,
    ) -> Result<(ConversationId, PublicMember), ClientError> {
        let handle = Handle::parse(handle)?;
        let guest_email = Email::parse(guest_email)?;
        let http = Http::new(server)?;
        let view: latchkey_api::PublicMember = http
            .call(&ops::GET_MEMBER, &[("handle", handle.as_str())], &())
            .await?;
        let member_key = IdentityPublic::from_slice(&view.identity_public.0)?;
        let fingerprint = member_key.fingerprint().to_string();
        if fingerprint != view.fingerprint
            || expected_fingerprint.is_some_and(|expected| expected != fingerprint)
        {
            return Err(ClientError::Protocol(
                "the member's key does not have the expected fingerprint".into(),
            ));
        }
        let conversation = ConversationId::generate(&mut OsRng);
        let key = ConversationKey::generate(&mut OsRng);
        let sealed = key.seal_to_member(&mut OsRng, &member_key, &conversation)?;
        let message_id = MessageId::generate(&mut OsRng);
        let ciphertext = key.encrypt_message(
            &mut OsRng,
            &MessageContext {
                conversation,
                message: message_id,
                sender: Role::Guest,
            },
            &Message {
                sent_at_ms: now_ms(),
                body: body.to_owned(),
                introduction: Some(GuestIntroduction {
                    email: guest_email.as_str().to_owned(),
                    display_name: guest_name.to_owned(),
                }),
            },
        )?;
        let link = LinkKey::generate(&mut OsRng);
        let wrapped = link.wrap(&mut OsRng, &conversation, &key);
        let request = StartConversation {
            guest_email,
            conversation_id: conversation.into(),
            sealed_key: B64(sealed.as_bytes().to_vec()),
            message: MessageInput {
                message_id: message_id.into(),
                ciphertext: B64(ciphertext),
            },
            grant: GrantInput {
                grant_id: GrantId(link.grant_id()),
                wrapped_key: B64(wrapped.as_bytes().to_vec()),
            },
            link: LinkFragment(link),
        };
        let started: Started = http
            .call(
                &ops::START_CONVERSATION,
                &[("handle", handle.as_str())],
                &request,
            )
            .await?;
        if started.conversation_id.0 != conversation {
            return Err(ClientError::Protocol(
                "the server stored the conversation under another id".into(),
            ));
        }
        Ok((conversation, view.into()))
    }

    /// Who a link is from, without using it up.
    pub async fn peek(server: &ServerUrl, link: &str) -> Result<Peek, ClientError> {
        let key = link_key(link)?;
        let http = Http::new(server)?;
        let grant = GrantRef {
            grant_id: GrantId(key.grant_id()),
        };
        let peeked: Peeked = http.call(&ops::PEEK_GRANT, &[], &grant).await?;
        Ok(Peek {
            member: peeked.member.into(),
        })
    }

    /// Redeems a link: opens a guest session and unwraps the conversation
    /// key. `email` is the address the link was sent to: the server opens
    /// the link for nobody else (a wrong one uses nothing up). The link key
    /// itself never reaches the server.
    pub async fn open(server: &ServerUrl, link: &str, email: &str) -> Result<Guest, ClientError> {
        let email = Email::parse(email)?;
        let link = link_key(link)?;
        let http = Http::new(server)?;
        let request = RedeemRequest {
            grant_id: GrantId(link.grant_id()),
            email,
        };
        let redeemed: RedeemedView = http.call(&ops::REDEEM_GRANT, &[], &request).await?;
        let conversation = redeemed.conversation_id.0;
        let key = link.unwrap(
            &conversation,
            &WrappedConversationKey::from_bytes(redeemed.wrapped_key.0)?,
        )?;
        Ok(Guest {
            http,
            conversation,
            key,
            member: redeemed.member.into(),
        })
    }

    /// The conversation's id.
    pub fn conversation(&self) -> ConversationId {
        self.conversation
    }

    /// The member on the other side.
    pub fn member(&self) -> &PublicMember {
        &self.member
    }

    /// Every message, decrypted, oldest first.
    pub async fn read(&self) -> Result<Vec<ReceivedMessage>, ClientError> {
        fetch_all(&self.http, &self.key, &self.conversation).await
    }

    /// Replies; the member gets a content-free e-mail. Returns the message's
    /// sequence number and what became of the notice.
    pub async fn reply(&self, body: &str) -> Result<(i64, Notification), ClientError> {
        let message_id = MessageId::generate(&mut OsRng);
        let ciphertext = self.key.encrypt_message(
            &mut OsRng,
            &MessageContext {
                conversation: self.conversation,
                message: message_id,
                sender: Role::Guest,
            },
            &Message {
                sent_at_ms: now_ms(),
                body: body.to_owned(),
                introduction: None,
            },
        )?;
        let request = PostMessage {
            message_id: message_id.into(),
            ciphertext: B64(ciphertext),
            grant: None,
            link: None,
        };
        let id = self.conversation.to_string();
        let posted: PostedView = self
            .http
            .call(&ops::POST_MESSAGE, &[("id", &id)], &request)
            .await?;
        Ok((posted.seq, Notification::from(posted.notification)))
    }

    /// The session's live events (`GET /events`, Server-Sent Events),
    /// resuming after `last_event_id` when given.
    pub async fn events(
        &self,
        last_event_id: Option<i64>,
    ) -> Result<reqwest::Response, ClientError> {
        self.http.open_stream(&ops::EVENTS, last_event_id).await
    }

    /// Ends the guest session (on a shared computer); the link that opened
    /// it may still work within its grace window.
    pub async fn sign_out(&self) -> Result<(), ClientError> {
        self.http.call(&ops::LOGOUT, &[], &()).await
    }

    /// Destroys the conversation, for both sides.
    pub async fn delete(self) -> Result<(), ClientError> {
        let id = self.conversation.to_string();
        self.http
            .call(&ops::DELETE_CONVERSATION, &[("id", &id)], &())
            .await
    }
}

/// "Send me a new link": the same answer whether or not the address is
/// known. The member's client fulfils it when he is next online.
pub async fn request_link(
    server: &ServerUrl,
    email: &str,
    handle: Option<&str>,
) -> Result<(), ClientError> {
    let request = LinkRequest {
        email: Email::parse(email)?,
        handle: handle.map(Handle::parse).transpose()?,
    };
    let http = Http::new(server)?;
    let _: LinkRequested = http.call(&ops::REQUEST_LINK, &[], &request).await?;
    Ok(())
}
