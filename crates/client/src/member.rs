//! The member's side.

use latchkey_core::opaque::{ClientLogin, ClientRegistration};
use latchkey_core::{
    ConversationId, ConversationKey, IdentityPublic, IdentitySecret, KeyEncryptionKey, LinkKey,
    Message, MessageContext, MessageId, OsRng, RecoveryKey, Role, SealedConversationKey,
    SealedIdentity,
};
use serde_json::json;
use zeroize::Zeroizing;

use crate::api::{self, Empty, GrantInput, Http, B64};
use crate::{decrypt_all, now_ms, ClientError, Notification, ReceivedMessage, ServerUrl};

/// How the guest learns of a new message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The server e-mails him a link (it sees the link key until sent).
    Email,
    /// The member passes the link on himself; the server never sees it.
    Myself,
    /// No link at all (the guest will see it with his current session).
    None,
}

/// What sending did.
#[derive(Debug)]
pub struct Sent {
    /// The message's sequence number.
    pub seq: i64,
    /// What became of the guest's e-mail.
    pub notification: Notification,
    /// With [`Delivery::Myself`]: the full link to hand over.
    pub link: Option<Zeroizing<String>>,
}

/// A conversation in the inbox.
#[derive(Clone, Debug)]
pub struct Conversation {
    /// Its id.
    pub id: ConversationId,
    /// The guest has opened a link (his address is confirmed).
    pub confirmed: bool,
    /// Messages the member has not read.
    pub unread: i64,
    /// The guest asked for a new link.
    pub link_requested: bool,
    /// Newest message's sequence number.
    pub last_seq: i64,
    /// Time of the newest message (ms).
    pub last_activity_at: i64,
}

/// A signed-in member, holding his private key in memory.
pub struct Member {
    http: Http,
    server: ServerUrl,
    handle: String,
    display_name: String,
    identity: IdentitySecret,
    public: IdentityPublic,
    /// Made at registration; handed out once by `take_recovery_key`.
    recovery: Option<RecoveryKey>,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl Member {
    /// Registers a new member and signs him in. The password never leaves
    /// this process; the server gets an OPAQUE record, the public key, and
    /// the private key sealed under a key only the password gives.
    pub async fn register(
        server: &ServerUrl,
        handle: &str,
        display_name: &str,
        email: &str,
        password: &[u8],
    ) -> Result<Member, ClientError> {
        Self::register_with_code(server, None, handle, display_name, email, password).await
    }

    /// As [`Member::register`], on a server whose operator hands out a
    /// registration code.
    pub async fn register_with_code(
        server: &ServerUrl,
        registration_code: Option<&str>,
        handle: &str,
        display_name: &str,
        email: &str,
        password: &[u8],
    ) -> Result<Member, ClientError> {
        let http = Http::new(server)?;
        let (registration, request) = ClientRegistration::start(&mut OsRng, password)?;
        let started: api::OpaqueResponse = http
            .post(
                "members/register/start",
                &json!({
                    "handle": handle,
                    "request": B64(request),
                    "registration_code": registration_code,
                }),
            )
            .await?;
        let (upload, export_key) =
            registration.finish(&mut OsRng, password, &started.response.0)?;
        let kek = KeyEncryptionKey::from_export_key(&export_key);
        let identity = IdentitySecret::generate(&mut OsRng);
        let public = identity.public();
        let sealed = kek.seal_identity(&mut OsRng, &identity);
        let recovery = RecoveryKey::generate(&mut OsRng);
        let recovery_sealed =
            KeyEncryptionKey::from_recovery_key(&recovery).seal_identity(&mut OsRng, &identity);
        let view: api::MemberView = http
            .post(
                "members/register/finish",
                &json!({
                    "registration_code": registration_code,
                    "handle": handle,
                    "display_name": display_name,
                    "email": email,
                    "upload": B64(upload),
                    "identity_public": B64(public.as_bytes().to_vec()),
                    "sealed_identity": B64(sealed.as_bytes().to_vec()),
                    "recovery_sealed_identity": B64(recovery_sealed.as_bytes().to_vec()),
                    "recovery_proof": B64(recovery.proof().to_vec()),
                }),
            )
            .await?;
        Ok(Member {
            http,
            server: server.clone(),
            handle: view.handle,
            display_name: view.display_name,
            identity,
            public,
            recovery: Some(recovery),
        })
    }

    /// Signs in and unseals the private key.
    pub async fn login(
        server: &ServerUrl,
        handle: &str,
        password: &[u8],
    ) -> Result<Member, ClientError> {
        let http = Http::new(server)?;
        let (view, export_key) = authenticate(&http, handle, password).await?;
        let kek = KeyEncryptionKey::from_export_key(&export_key);
        let public = IdentityPublic::from_slice(&view.identity_public.0)?;
        let identity = kek.open_identity(
            &SealedIdentity::from_bytes(view.sealed_identity.0)?,
            &public,
        )?;
        Ok(Member {
            http,
            server: server.clone(),
            handle: view.handle,
            display_name: view.display_name,
            identity,
            public,
            recovery: None,
        })
    }

    /// Sets a new password with the recovery key printed at registration,
    /// when the old password is lost; then signs in with it. The private key
    /// stays the same, so every conversation stays readable.
    pub async fn recover(
        server: &ServerUrl,
        handle: &str,
        recovery_key: &str,
        new_password: &[u8],
    ) -> Result<Member, ClientError> {
        let recovery = RecoveryKey::parse(recovery_key)?;
        let proof = B64(recovery.proof().to_vec());
        let http = Http::new(server)?;
        let (registration, request) = ClientRegistration::start(&mut OsRng, new_password)?;
        let started: api::RecoverStarted = http
            .post(
                "members/recover/start",
                &json!({ "handle": handle, "recovery_proof": proof, "request": B64(request) }),
            )
            .await?;
        let public = IdentityPublic::from_slice(&started.identity_public.0)?;
        let identity = KeyEncryptionKey::from_recovery_key(&recovery).open_identity(
            &SealedIdentity::from_bytes(started.recovery_sealed_identity.0)?,
            &public,
        )?;
        let (upload, export_key) =
            registration.finish(&mut OsRng, new_password, &started.response.0)?;
        let sealed =
            KeyEncryptionKey::from_export_key(&export_key).seal_identity(&mut OsRng, &identity);
        let _: Empty = http
            .post(
                "members/recover/finish",
                &json!({
                    "handle": handle,
                    "recovery_proof": proof,
                    "upload": B64(upload),
                    "sealed_identity": B64(sealed.as_bytes().to_vec()),
                }),
            )
            .await?;
        Self::login(server, handle, new_password).await
    }

    /// The recovery key made at registration, once. Print it for the
    /// member: it is the only way back in without the password.
    pub fn take_recovery_key(&mut self) -> Option<RecoveryKey> {
        self.recovery.take()
    }

    /// Replaces the recovery key (the old one stops working). Signs in again
    /// with the current password first, as the server wants.
    pub async fn new_recovery_key(
        &self,
        current_password: &[u8],
    ) -> Result<RecoveryKey, ClientError> {
        authenticate(&self.http, &self.handle, current_password).await?;
        let recovery = RecoveryKey::generate(&mut OsRng);
        let sealed = KeyEncryptionKey::from_recovery_key(&recovery)
            .seal_identity(&mut OsRng, &self.identity);
        let _: Empty = self
            .http
            .send(
                reqwest::Method::PUT,
                "me/recovery",
                &json!({
                    "recovery_sealed_identity": B64(sealed.as_bytes().to_vec()),
                    "recovery_proof": B64(recovery.proof().to_vec()),
                }),
            )
            .await?;
        Ok(recovery)
    }

    /// The member's handle.
    pub fn handle(&self) -> &str {
        &self.handle
    }

    /// The member's display name.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The fingerprint of his key.
    pub fn fingerprint(&self) -> String {
        self.public.fingerprint().to_string()
    }

    /// Changes the display name guests see.
    pub async fn set_display_name(&mut self, display_name: &str) -> Result<(), ClientError> {
        let view: api::MemberView = self
            .http
            .send(
                reqwest::Method::PATCH,
                "me",
                &json!({ "display_name": display_name }),
            )
            .await?;
        self.display_name = view.display_name;
        Ok(())
    }

    /// Every conversation, most recently active first.
    pub async fn conversations(&self) -> Result<Vec<Conversation>, ClientError> {
        let mut out = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let path = match &before {
                Some(cursor) => format!("conversations?limit=100&before={cursor}"),
                None => "conversations?limit=100".to_owned(),
            };
            let page: api::ConversationPage = self.http.get(&path).await?;
            for c in page.conversations {
                out.push(Conversation {
                    id: parse_id(&c.id)?,
                    confirmed: c.confirmed,
                    unread: c.unread,
                    link_requested: c.link_requested,
                    last_seq: c.last_seq,
                    last_activity_at: c.last_activity_at,
                });
            }
            match page.next_before {
                Some(next) => before = Some(next),
                None => return Ok(out),
            }
        }
    }

    async fn key(&self, conversation: &ConversationId) -> Result<ConversationKey, ClientError> {
        let view: api::ConversationView = self
            .http
            .get(&format!("conversations/{conversation}"))
            .await?;
        Ok(ConversationKey::open_sealed(
            &self.identity,
            conversation,
            &SealedConversationKey::from_bytes(view.sealed_key.0)?,
        )?)
    }

    /// Every message of a conversation, decrypted, oldest first; marks them
    /// read.
    pub async fn read(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<ReceivedMessage>, ClientError> {
        let key = self.key(conversation).await?;
        let messages = fetch_all(&self.http, &key, conversation).await?;
        if let Some(last) = messages.last() {
            let _: Empty = self
                .http
                .post(
                    &format!("conversations/{conversation}/read"),
                    &json!({ "seq": last.seq }),
                )
                .await?;
        }
        Ok(messages)
    }

    fn new_grant(
        &self,
        key: &ConversationKey,
        conversation: &ConversationId,
    ) -> (LinkKey, GrantInput) {
        let link = LinkKey::generate(&mut OsRng);
        let grant = GrantInput {
            grant_id: link.grant_id().expose_base64url().to_string(),
            wrapped_key: B64(link.wrap(&mut OsRng, conversation, key).as_bytes().to_vec()),
        };
        (link, grant)
    }

    fn full_link(&self, link: &LinkKey) -> Zeroizing<String> {
        let base = self.server.0.as_str().trim_end_matches('/');
        Zeroizing::new(format!("{base}/open#{}", link.expose_fragment().as_str()))
    }

    /// Sends a message, with a new link for the guest as `delivery` says.
    pub async fn send(
        &self,
        conversation: &ConversationId,
        body: &str,
        delivery: Delivery,
    ) -> Result<Sent, ClientError> {
        let key = self.key(conversation).await?;
        let message_id = MessageId::generate(&mut OsRng);
        let ciphertext = key.encrypt_message(
            &mut OsRng,
            &MessageContext {
                conversation: *conversation,
                message: message_id,
                sender: Role::Member,
            },
            &Message {
                sent_at_ms: now_ms(),
                body: body.to_owned(),
                introduction: None,
            },
        )?;
        let mut grant = None;
        let mut fragment = None;
        let mut own_link = None;
        if delivery != Delivery::None {
            let (link, input) = self.new_grant(&key, conversation);
            grant = Some(input);
            if delivery == Delivery::Email {
                fragment = Some(link.expose_fragment());
            } else {
                own_link = Some(self.full_link(&link));
            }
        }
        let request = api::PostMessage {
            message_id: message_id.to_string(),
            ciphertext: B64(ciphertext),
            grant,
            link: fragment.as_ref().map(|f| f.as_str()),
        };
        let posted: api::PostedView = self
            .http
            .post(&format!("conversations/{conversation}/messages"), &request)
            .await?;
        Ok(Sent {
            seq: posted.seq,
            notification: Notification::parse(&posted.notification)?,
            link: own_link,
        })
    }

    /// A new link to the conversation, without a message: e-mailed by the
    /// server, or returned to hand over.
    pub async fn new_link(
        &self,
        conversation: &ConversationId,
        delivery: Delivery,
    ) -> Result<Option<Zeroizing<String>>, ClientError> {
        let (link, _) = self.add_link(conversation, delivery, false).await?;
        Ok((delivery != Delivery::Email).then(|| self.full_link(&link)))
    }

    async fn add_link(
        &self,
        conversation: &ConversationId,
        delivery: Delivery,
        answers_request: bool,
    ) -> Result<(LinkKey, Notification), ClientError> {
        let key = self.key(conversation).await?;
        let (link, grant) = self.new_grant(&key, conversation);
        let fragment = (delivery == Delivery::Email).then(|| link.expose_fragment());
        let request = api::AddGrant {
            grant,
            link: fragment.as_ref().map(|f| f.as_str()),
            answers_request,
        };
        let added: api::GrantAdded = self
            .http
            .post(&format!("conversations/{conversation}/grants"), &request)
            .await?;
        Ok((link, Notification::parse(&added.notification)?))
    }

    /// Answers every pending "send me a new link" request with an e-mailed
    /// link. Returns how many it sent (a request another client answered
    /// meanwhile is not answered twice).
    pub async fn fulfil_link_requests(&self) -> Result<usize, ClientError> {
        let mut done = 0;
        for conversation in self.conversations().await? {
            if conversation.link_requested {
                let (_, sent) = self
                    .add_link(&conversation.id, Delivery::Email, true)
                    .await?;
                if sent == Notification::Queued {
                    done += 1;
                }
            }
        }
        Ok(done)
    }

    /// Destroys a conversation.
    pub async fn delete(&self, conversation: &ConversationId) -> Result<(), ClientError> {
        self.http
            .delete(&format!("conversations/{conversation}"))
            .await
    }

    /// Changes the password: first a fresh sign-in with the current one
    /// (the server wants proof, not just a session), then a new OPAQUE record
    /// and the private key re-sealed under the new password's key, in one
    /// step. Messages are untouched; other sessions end.
    pub async fn change_password(
        &self,
        current_password: &[u8],
        new_password: &[u8],
    ) -> Result<(), ClientError> {
        authenticate(&self.http, &self.handle, current_password).await?;
        let (registration, request) = ClientRegistration::start(&mut OsRng, new_password)?;
        let started: api::OpaqueResponse = self
            .http
            .post("me/password/start", &json!({ "request": B64(request) }))
            .await?;
        let (upload, export_key) =
            registration.finish(&mut OsRng, new_password, &started.response.0)?;
        let sealed = KeyEncryptionKey::from_export_key(&export_key)
            .seal_identity(&mut OsRng, &self.identity);
        let _: Empty = self
            .http
            .post(
                "me/password/finish",
                &json!({ "upload": B64(upload), "sealed_identity": B64(sealed.as_bytes().to_vec()) }),
            )
            .await?;
        Ok(())
    }

    /// Ends the session.
    pub async fn logout(self) -> Result<(), ClientError> {
        let _: Empty = self.http.post("session/logout", &json!({})).await?;
        Ok(())
    }
}

/// The two OPAQUE login steps on `http` (whose cookie jar then holds the
/// new session). A wrong password and an unknown handle both end in
/// [`ClientError::LoginFailed`].
async fn authenticate(
    http: &Http,
    handle: &str,
    password: &[u8],
) -> Result<(api::MemberView, latchkey_core::opaque::ExportKey), ClientError> {
    let (login, request) = ClientLogin::start(&mut OsRng, password)?;
    let started: api::LoginStarted = http
        .post(
            "session/login/start",
            &json!({ "handle": handle, "request": B64(request) }),
        )
        .await?;
    let finish = login
        .finish(&mut OsRng, password, &started.response.0)
        .map_err(|_| ClientError::LoginFailed)?;
    let view: api::MemberView = http
        .post(
            "session/login/finish",
            &json!({
                "login_id": started.login_id,
                "finalization": B64(finish.finalization),
            }),
        )
        .await
        .map_err(|e| match e.code() {
            Some("login_failed") => ClientError::LoginFailed,
            _ => e,
        })?;
    Ok((view, finish.export_key))
}

pub(crate) fn parse_id(text: &str) -> Result<ConversationId, ClientError> {
    text.parse()
        .map_err(|_| ClientError::Protocol("the server sent a malformed conversation id".into()))
}

pub(crate) async fn fetch_all(
    http: &Http,
    key: &ConversationKey,
    conversation: &ConversationId,
) -> Result<Vec<ReceivedMessage>, ClientError> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page: api::MessagePage = http
            .get(&format!(
                "conversations/{conversation}/messages?after={after}&limit=200"
            ))
            .await?;
        out.extend(decrypt_all(key, conversation, page.messages)?);
        match page.next_after {
            Some(next) => after = next,
            None => return Ok(out),
        }
    }
}
