//! The member's side.

use latchkey_api::endpoints as ops;
use latchkey_api::{
    AddGrant, ConversationAnswer, ConversationPage, DisplayName, Email, GrantAdded, GrantId,
    GrantInput, Handle, LinkFragment, ListQuery, LoginFinish, LoginStart, LoginStarted, MemberView,
    MessagePage, MessagesQuery, NewRecovery, OpaqueResponse, PasswordFinish, PasswordStart,
    PostMessage, PostedView, ProfileUpdate, ReadMark, RecoverFinish, RecoverStart, RecoverStarted,
    RegisterFinish, RegisterStart, RegisterStarted, B64,
};
use latchkey_core::opaque::{ClientLogin, ClientRegistration};
use latchkey_core::{
    ConversationId, ConversationKey, IdentityChallengePublic, IdentityPublic, IdentitySecret,
    KeyEncryptionKey, LinkKey, Message, MessageContext, MessageId, OsRng, RecoveryKey, Role,
    SealedConversationKey, SealedIdentity,
};
use zeroize::Zeroizing;

use crate::http::Http;
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
    handle: Handle,
    display_name: DisplayName,
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
        Self::register_as(
            server,
            registration_code,
            None,
            handle,
            display_name,
            email,
            password,
        )
        .await
    }

    /// Enrolls a member the site invited: registration with the token of
    /// his enrollment link (`/enroll#TOKEN`) in place of a code.
    pub async fn enroll(
        server: &ServerUrl,
        invite: &str,
        handle: &str,
        display_name: &str,
        email: &str,
        password: &[u8],
    ) -> Result<Member, ClientError> {
        Self::register_as(
            server,
            None,
            Some(invite),
            handle,
            display_name,
            email,
            password,
        )
        .await
    }

    async fn register_as(
        server: &ServerUrl,
        registration_code: Option<&str>,
        invite: Option<&str>,
        handle: &str,
        display_name: &str,
        email: &str,
        password: &[u8],
    ) -> Result<Member, ClientError> {
        let invite = invite.map(str::to_owned);
        let handle = Handle::parse(handle)?;
        let display_name = DisplayName::parse(display_name)?;
        let email = Email::parse(email)?;
        let registration_code = registration_code.map(str::to_owned);
        let http = Http::new(server)?;
        let (registration, request) = ClientRegistration::start(&mut OsRng, password)?;
        let started: RegisterStarted = http
            .call(
                &ops::REGISTER_START,
                &[],
                &RegisterStart {
                    handle: handle.clone(),
                    request: B64(request),
                    registration_code: registration_code.clone(),
                    invite: invite.clone(),
                },
            )
            .await?;
        let (upload, export_key) =
            registration.finish(&mut OsRng, password, &started.response.0)?;
        let kek = KeyEncryptionKey::from_export_key(&export_key);
        let identity = IdentitySecret::generate(&mut OsRng);
        let public = identity.public();
        // Shows the server that this client holds the key it registers
        // (bound to the canonical handle the server checks).
        let challenge = IdentityChallengePublic::from_slice(&started.identity_challenge.0)?;
        let proof = identity.prove(&challenge, handle.as_str())?;
        let sealed = kek.seal_identity(&mut OsRng, &identity);
        let recovery = RecoveryKey::generate(&mut OsRng);
        let recovery_sealed =
            KeyEncryptionKey::from_recovery_key(&recovery).seal_identity(&mut OsRng, &identity);
        let view: MemberView = http
            .call(
                &ops::REGISTER_FINISH,
                &[],
                &RegisterFinish {
                    registration_code,
                    invite,
                    handle,
                    display_name,
                    email,
                    upload: B64(upload),
                    identity_public: B64(public.as_bytes().to_vec()),
                    sealed_identity: B64(sealed.as_bytes().to_vec()),
                    registration_token: started.registration_token,
                    identity_proof: B64(proof.as_bytes().to_vec()),
                    recovery_sealed_identity: Some(B64(recovery_sealed.as_bytes().to_vec())),
                    recovery_proof: Some(B64(recovery.proof().to_vec())),
                },
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
        let handle = Handle::parse(handle)?;
        let http = Http::new(server)?;
        let (view, export_key) = authenticate(&http, &handle, password).await?;
        let kek = KeyEncryptionKey::from_export_key(&export_key);
        let public = IdentityPublic::from_slice(&view.identity_public.0)?;
        // A password sign-in succeeded, so the member has a password and
        // the copy of his key sealed under it.
        let sealed = view.sealed_identity.ok_or_else(|| {
            ClientError::Protocol(
                "the server sent no password-sealed key after a password sign-in".into(),
            )
        })?;
        let identity = kek.open_identity(&SealedIdentity::from_bytes(sealed.0)?, &public)?;
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
        let handle = Handle::parse(handle)?;
        let recovery = RecoveryKey::parse(recovery_key)?;
        let proof = B64(recovery.proof().to_vec());
        let http = Http::new(server)?;
        let (registration, request) = ClientRegistration::start(&mut OsRng, new_password)?;
        let started: RecoverStarted = http
            .call(
                &ops::RECOVER_START,
                &[],
                &RecoverStart {
                    handle: handle.clone(),
                    recovery_proof: proof.clone(),
                    request: B64(request),
                },
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
        let () = http
            .call(
                &ops::RECOVER_FINISH,
                &[],
                &RecoverFinish {
                    handle: handle.clone(),
                    recovery_proof: proof,
                    upload: B64(upload),
                    sealed_identity: B64(sealed.as_bytes().to_vec()),
                },
            )
            .await?;
        Self::login(server, handle.as_str(), new_password).await
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
        let () = self
            .http
            .call(
                &ops::REPLACE_RECOVERY,
                &[],
                &NewRecovery {
                    recovery_sealed_identity: B64(sealed.as_bytes().to_vec()),
                    recovery_proof: B64(recovery.proof().to_vec()),
                },
            )
            .await?;
        Ok(recovery)
    }

    /// The member's handle.
    pub fn handle(&self) -> &str {
        self.handle.as_str()
    }

    /// The member's display name.
    pub fn display_name(&self) -> &str {
        self.display_name.as_str()
    }

    /// The fingerprint of his key.
    pub fn fingerprint(&self) -> String {
        self.public.fingerprint().to_string()
    }

    /// Changes the display name guests see.
    pub async fn set_display_name(&mut self, display_name: &str) -> Result<(), ClientError> {
        let display_name = DisplayName::parse(display_name)?;
        let view: MemberView = self
            .http
            .call(&ops::UPDATE_ME, &[], &ProfileUpdate { display_name })
            .await?;
        self.display_name = view.display_name;
        Ok(())
    }

    /// Every conversation, most recently active first.
    pub async fn conversations(&self) -> Result<Vec<Conversation>, ClientError> {
        let mut out = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let query = ListQuery {
                before: before.take(),
                limit: Some(100),
            };
            let page: ConversationPage = self
                .http
                .call(&ops::LIST_CONVERSATIONS, &[], &query)
                .await?;
            for c in page.conversations {
                out.push(Conversation {
                    id: c.id.0,
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
        let id = conversation.to_string();
        let answer: ConversationAnswer = self
            .http
            .call(&ops::GET_CONVERSATION, &[("id", &id)], &())
            .await?;
        let ConversationAnswer::Member(view) = answer else {
            return Err(ClientError::Protocol(
                "the server showed the member a guest's view".into(),
            ));
        };
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
            let id = conversation.to_string();
            let () = self
                .http
                .call(&ops::MARK_READ, &[("id", &id)], &ReadMark { seq: last.seq })
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
            grant_id: GrantId(link.grant_id()),
            wrapped_key: B64(link.wrap(&mut OsRng, conversation, key).as_bytes().to_vec()),
        };
        (link, grant)
    }

    /// Where a new link goes: to the server to e-mail it, or back to the
    /// caller as the full address to hand over.
    fn deliver(
        &self,
        link: LinkKey,
        delivery: Delivery,
    ) -> (Option<LinkFragment>, Option<Zeroizing<String>>) {
        if delivery == Delivery::Email {
            (Some(LinkFragment(link)), None)
        } else {
            let base = self.server.url.as_str().trim_end_matches('/');
            let full = format!("{base}/open#{}", link.expose_fragment().as_str());
            (None, Some(Zeroizing::new(full)))
        }
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
        let (grant, link, own_link) = match delivery {
            Delivery::None => (None, None, None),
            Delivery::Email | Delivery::Myself => {
                let (link, grant) = self.new_grant(&key, conversation);
                let (fragment, own_link) = self.deliver(link, delivery);
                (Some(grant), fragment, own_link)
            }
        };
        let request = PostMessage {
            message_id: message_id.into(),
            ciphertext: B64(ciphertext),
            grant,
            link,
        };
        let id = conversation.to_string();
        let posted: PostedView = self
            .http
            .call(&ops::POST_MESSAGE, &[("id", &id)], &request)
            .await?;
        Ok(Sent {
            seq: posted.seq,
            notification: posted.notification.into(),
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
        let (own_link, _) = self.add_link(conversation, delivery, false).await?;
        Ok(own_link)
    }

    async fn add_link(
        &self,
        conversation: &ConversationId,
        delivery: Delivery,
        answers_request: bool,
    ) -> Result<(Option<Zeroizing<String>>, Notification), ClientError> {
        let key = self.key(conversation).await?;
        let (link, grant) = self.new_grant(&key, conversation);
        let (fragment, own_link) = self.deliver(link, delivery);
        let request = AddGrant {
            grant_id: grant.grant_id,
            wrapped_key: grant.wrapped_key,
            link: fragment,
            answers_request,
        };
        let id = conversation.to_string();
        let added: GrantAdded = self
            .http
            .call(&ops::ADD_GRANT, &[("id", &id)], &request)
            .await?;
        Ok((own_link, added.notification.into()))
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
        let id = conversation.to_string();
        self.http
            .call(&ops::DELETE_CONVERSATION, &[("id", &id)], &())
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
        let started: OpaqueResponse = self
            .http
            .call(
                &ops::PASSWORD_START,
                &[],
                &PasswordStart {
                    request: B64(request),
                },
            )
            .await?;
        let (upload, export_key) =
            registration.finish(&mut OsRng, new_password, &started.response.0)?;
        let sealed = KeyEncryptionKey::from_export_key(&export_key)
            .seal_identity(&mut OsRng, &self.identity);
        self.http
            .call(
                &ops::PASSWORD_FINISH,
                &[],
                &PasswordFinish {
                    upload: B64(upload),
                    sealed_identity: B64(sealed.as_bytes().to_vec()),
                },
            )
            .await
    }

    /// The session's live events (`GET /events`, Server-Sent Events),
    /// resuming after `last_event_id` when given.
    pub async fn events(
        &self,
        last_event_id: Option<i64>,
    ) -> Result<reqwest::Response, ClientError> {
        self.http.open_stream(&ops::EVENTS, last_event_id).await
    }

    /// Ends the session.
    pub async fn logout(self) -> Result<(), ClientError> {
        self.http.call(&ops::LOGOUT, &[], &()).await
    }
}

/// The two OPAQUE login steps on `http` (whose cookie jar then holds the
/// new session). A wrong password and an unknown handle both end in
/// [`ClientError::LoginFailed`].
async fn authenticate(
    http: &Http,
    handle: &Handle,
    password: &[u8],
) -> Result<(MemberView, latchkey_core::opaque::ExportKey), ClientError> {
    let (login, request) = ClientLogin::start(&mut OsRng, password)?;
    let started: LoginStarted = http
        .call(
            &ops::LOGIN_START,
            &[],
            &LoginStart {
                handle: handle.clone(),
                request: B64(request),
            },
        )
        .await?;
    let finish = login
        .finish(&mut OsRng, password, &started.response.0)
        .map_err(|_| ClientError::LoginFailed)?;
    let view: MemberView = http
        .call(
            &ops::LOGIN_FINISH,
            &[],
            &LoginFinish {
                login_id: started.login_id,
                finalization: B64(finish.finalization),
            },
        )
        .await
        .map_err(|e| match e.code() {
            Some("login_failed") => ClientError::LoginFailed,
            _ => e,
        })?;
    Ok((view, finish.export_key))
}

pub(crate) async fn fetch_all(
    http: &Http,
    key: &ConversationKey,
    conversation: &ConversationId,
) -> Result<Vec<ReceivedMessage>, ClientError> {
    let id = conversation.to_string();
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let query = MessagesQuery {
            after: Some(after),
            limit: Some(200),
        };
        let page: MessagePage = http
            .call(&ops::LIST_MESSAGES, &[("id", &id)], &query)
            .await?;
        out.extend(decrypt_all(key, conversation, page.messages)?);
        match page.next_after {
            Some(next) => after = next,
            None => return Ok(out),
        }
    }
}
