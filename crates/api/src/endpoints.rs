//! Every operation of `/api/v1`: method, path, who may call it, what it
//! takes, what it answers and which error codes it can answer with. The
//! server's router is built from this table (a test checks it routes exactly
//! these), the client calls through it, and the OpenAPI document is
//! generated from it.

use crate::ErrorCode::{self, *};

/// The HTTP methods the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

impl Method {
    /// Upper case, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// Which session an operation needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// None: anyone may call it.
    Anyone,
    /// A signed-in member.
    Member,
    /// The conversation's member or its guest.
    Participant,
    /// None needed; any session cookie it carries is ended (sign-out).
    OptionalCookies,
    /// The site's backend: `Authorization: Bearer <token>` with this scope
    /// (no cookies, so no `Origin` check).
    AdminToken(&'static str),
}

/// A cookie the answer sets or clears.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cookie {
    /// Opens a member session.
    SetMember,
    /// Opens a guest session for one conversation.
    SetGuest,
    /// Clears both session cookies.
    ClearBoth,
    /// Clears the guest's cookie (when a guest asked).
    ClearGuest,
}

/// One success answer.
#[derive(Clone, Copy, Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body's schema name, or none (204).
    pub body: Option<&'static str>,
    /// What it means.
    pub description: &'static str,
    /// A cookie it sets or clears.
    pub cookie: Option<Cookie>,
    /// The body's media type when it is not JSON (an event stream).
    pub media: Option<&'static str>,
}

/// One operation.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    /// The method.
    pub method: Method,
    /// The path under `/api/v1`, with `{name}` parameters (`{id}` is a
    /// conversation id, `{handle}` a handle).
    pub path: &'static str,
    /// The OpenAPI `operationId`.
    pub operation_id: &'static str,
    /// One line.
    pub summary: &'static str,
    /// What it does and what the server sees.
    pub description: &'static str,
    /// Who may call it.
    pub auth: Auth,
    /// The query's schema name (each property one parameter).
    pub query: Option<&'static str>,
    /// The JSON body's schema name.
    pub request: Option<&'static str>,
    /// The success answers.
    pub replies: &'static [Reply],
    /// The error codes specific to it; [`Endpoint::errors`] adds those every
    /// operation of its shape can answer.
    pub specific_errors: &'static [ErrorCode],
}

impl Endpoint {
    /// Every error code this operation can answer with, sorted.
    pub fn errors(&self) -> Vec<ErrorCode> {
        let mut codes: Vec<ErrorCode> = self.specific_errors.to_vec();
        if self.request.is_some() {
            codes.extend([
                MalformedJson,
                UnreadableBody,
                BodyTooLarge,
                NotJson,
                InvalidField,
            ]);
        }
        if self.path.contains('{') {
            codes.push(InvalidPath);
        }
        if self.query.is_some() {
            codes.push(InvalidQuery);
        }
        if matches!(self.auth, Auth::Member | Auth::Participant) {
            codes.push(NotSignedIn);
        }
        if matches!(self.auth, Auth::AdminToken(_)) {
            codes.extend([BadToken, MissingScope]);
        }
        let writes = self.method != Method::Get;
        if writes && !matches!(self.auth, Auth::Anyone | Auth::AdminToken(_)) {
            codes.push(BadOrigin);
        }
        codes.push(Internal);
        codes.sort();
        codes.dedup();
        codes
    }

    /// The path with its `{name}` parameters filled in.
    pub fn path_with(&self, params: &[(&str, &str)]) -> String {
        let mut path = self.path.to_owned();
        for (name, value) in params {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        path
    }
}

const fn ok(status: u16, body: &'static str, description: &'static str) -> Reply {
    Reply {
        status,
        body: Some(body),
        description,
        cookie: None,
        media: None,
    }
}

const fn no_content(description: &'static str) -> Reply {
    Reply {
        status: 204,
        body: None,
        description,
        cookie: None,
        media: None,
    }
}

/// A `text/event-stream` answer that stays open; `body` names the schema
/// of each event's `data`.
const fn event_stream(body: &'static str, description: &'static str) -> Reply {
    Reply {
        status: 200,
        body: Some(body),
        description,
        cookie: None,
        media: Some("text/event-stream"),
    }
}

const fn with_cookie(reply: Reply, cookie: Cookie) -> Reply {
    Reply {
        cookie: Some(cookie),
        ..reply
    }
}

/// `GET /health`.
pub const HEALTH: Endpoint = Endpoint {
    method: Method::Get,
    path: "/health",
    operation_id: "getHealth",
    summary: "Health check (readiness)",
    description: "The same answer as `/health/ready`, kept for the checks written before it: 200 when the database answers and its migrations are applied, 503 `not_ready` otherwise.",
    auth: Auth::Anyone,
    query: None,
    request: None,
    replies: &[ok(200, "Health", "The server and its database answer.")],
    specific_errors: &[NotReady],
};

/// `GET /health/live`.
pub const HEALTH_LIVE: Endpoint = Endpoint {
    method: Method::Get,
    path: "/health/live",
    operation_id: "getHealthLive",
    summary: "Liveness",
    description: "Answers 200 while the process serves HTTP, whatever the database does. For a supervisor deciding whether to restart the process; a balancer should ask `/health/ready`.",
    auth: Auth::Anyone,
    query: None,
    request: None,
    replies: &[ok(200, "Health", "The process serves.")],
    specific_errors: &[],
};

/// `GET /health/ready`.
pub const HEALTH_READY: Endpoint = Endpoint {
    method: Method::Get,
    path: "/health/ready",
    operation_id: "getHealthReady",
    summary: "Readiness",
    description: "Answers 200 when the database answers (within two seconds) and this binary's migrations are applied to it; 503 `not_ready` otherwise. For load balancers: send traffic only to instances that answer 200.",
    auth: Auth::Anyone,
    query: None,
    request: None,
    replies: &[ok(200, "Health", "The database answers and is migrated.")],
    specific_errors: &[NotReady],
};

/// `GET /openapi.json`.
pub const OPENAPI: Endpoint = Endpoint {
    method: Method::Get,
    path: "/openapi.json",
    operation_id: "getOpenApi",
    summary: "This document",
    description: "The OpenAPI 3.1 description of `/api/v1`, this document.",
    auth: Auth::Anyone,
    query: None,
    request: None,
    replies: &[ok(200, "OpenApiDocument", "The OpenAPI document.")],
    specific_errors: &[],
};

/// `POST /members/register/start`.
pub const REGISTER_START: Endpoint = Endpoint {
    method: Method::Post,
    path: "/members/register/start",
    operation_id: "registerStart",
    summary: "Registration, step 1",
    description: "Sends the OPAQUE registration request (the blinded password) for a chosen handle and gets the server's OPAQUE response, a one-time X25519 challenge for the new identity key, and a registration token for step 2 (the challenge's secret sealed to the server with the handle and a 10-minute expiry). The server never sees the password. Nothing is stored yet, and a taken handle is only refused at step 2. Counts against the per-address login budget.",
    auth: Auth::Anyone,
    query: None,
    request: Some("RegisterStart"),
    replies: &[ok(
        200,
        "RegisterStarted",
        "The OPAQUE registration response, the identity challenge and the registration token.",
    )],
    specific_errors: &[
        RegistrationClosed,
        PasswordsDisabled,
        HandleTaken,
        InvalidInvite,
        InvalidHandle,
        InvalidOpaqueMessage,
        RateLimited,
    ],
};

/// `POST /members/register/finish`.
pub const REGISTER_FINISH: Endpoint = Endpoint {
    method: Method::Post,
    path: "/members/register/finish",
    operation_id: "registerFinish",
    summary: "Registration, step 2",
    description: "Stores the member: the OPAQUE registration upload (password file), the identity public key, and the private key sealed under a key only the member's password (or recovery key) opens. The e-mail address is stored sealed. It needs step 1's registration token (same handle, within 10 minutes) and a proof, made with the identity private key against step 1's challenge, that the registrant holds that key; an identity key another member has is refused. The new member is signed in: the answer sets the member session cookie.",
    auth: Auth::Anyone,
    query: None,
    request: Some("RegisterFinish"),
    replies: &[with_cookie(
        ok(201, "MemberView", "The member is registered and signed in."),
        Cookie::SetMember,
    )],
    specific_errors: &[
        RegistrationClosed,
        PasswordsDisabled,
        HandleTaken,
        InvalidInvite,
        IdentityKeyTaken,
        RegistrationExpired,
        InvalidRegistrationToken,
        InvalidIdentityProof,
        InvalidHandle,
        InvalidDisplayName,
        InvalidEmail,
        InvalidOpaqueMessage,
        InvalidPublicKey,
        InvalidSealedIdentity,
        InvalidRecovery,
        InvalidRecoveryProof,
        RateLimited,
    ],
};

/// `GET /members/{handle}`.
pub const GET_MEMBER: Endpoint = Endpoint {
    method: Method::Get,
    path: "/members/{handle}",
    operation_id: "getMember",
    summary: "A member's public profile",
    description: "What a contact page shows: the member's display name, public identity key and its fingerprint. Guests compare the fingerprint with the member out of band.",
    auth: Auth::Anyone,
    query: None,
    request: None,
    replies: &[ok(200, "PublicMember", "The member's public profile.")],
    specific_errors: &[UnknownMember, InvalidHandle],
};

/// `POST /members/{handle}/conversations`.
pub const START_CONVERSATION: Endpoint = Endpoint {
    method: Method::Post,
    path: "/members/{handle}/conversations",
    operation_id: "startConversation",
    summary: "A guest's first contact",
    description: "A guest writes to a member for the first time. The guest's browser makes the conversation id, the conversation key sealed to the member's public key, the encrypted first message, and a first link (its grant id and the conversation key wrapped under it). The server stores all of it and e-mails the link to the guest's address; opening it confirms the address. Rate-limited per client address and per guest address.",
    auth: Auth::Anyone,
    query: None,
    request: Some("StartConversation"),
    replies: &[ok(201, "Started", "The conversation exists; the link e-mail is queued.")],
    specific_errors: &[
        MemberDisabled,
        UnknownMember,
        ConversationExists,
        MessageTooLarge,
        InvalidHandle,
        InvalidEmail,
        InvalidSealedKey,
        InvalidCiphertext,
        InvalidGrantId,
        InvalidWrappedKey,
        InvalidLink,
        LinkMismatch,
        RateLimited,
    ],
};

/// `POST /session/login/start`.
pub const LOGIN_START: Endpoint = Endpoint {
    method: Method::Post,
    path: "/session/login/start",
    operation_id: "loginStart",
    summary: "Login, step 1",
    description: "Sends the OPAQUE login request (KE1) and gets the server's response (KE2) and a `login_id` for step 2, valid for 60 seconds. An unknown handle (or a member without a password) gets an answer indistinguishable from a real one; the login then fails at step 2 exactly as for a wrong password. With `auth.local_passwords = false` a password signs nobody in: only a request carrying the member session of this handle's member (signed in through the site) may start one, and the password then unlocks his key (`passwords_disabled` otherwise). Counts against the per-address login budget.",
    auth: Auth::Anyone,
    query: None,
    request: Some("LoginStart"),
    replies: &[ok(200, "LoginStarted", "The OPAQUE login response and the id of this attempt.")],
    specific_errors: &[PasswordsDisabled, InvalidHandle, InvalidOpaqueMessage, RateLimited],
};

/// `POST /session/login/finish`.
pub const LOGIN_FINISH: Endpoint = Endpoint {
    method: Method::Post,
    path: "/session/login/finish",
    operation_id: "loginFinish",
    summary: "Login, step 2",
    description: "Sends the OPAQUE finalization (KE3), proof that the client knew the password. On success the answer sets the member session cookie and carries the sealed private key, which the client opens with a key derived from the OPAQUE export key. Each `login_id` can be finished once.",
    auth: Auth::Anyone,
    query: None,
    request: Some("LoginFinish"),
    replies: &[with_cookie(ok(200, "MemberView", "Signed in."), Cookie::SetMember)],
    specific_errors: &[MemberDisabled, LoginFailed],
};

/// `POST /session/passkey/start`.
pub const PASSKEY_LOGIN_START: Endpoint = Endpoint {
    method: Method::Post,
    path: "/session/passkey/start",
    operation_id: "passkeyLoginStart",
    summary: "Passkey sign-in, step 1",
    description: "For a handle, gets the member's passkeys with their sealed copies of the private key, his identity public key, a one-time X25519 challenge and a `login_id` valid for 60 seconds (docs/protocol.md §4.9.2). The browser asks one of the passkeys for its PRF output, opens that passkey's copy in the member's worker and proves the key in step 2. The copies open only with a passkey's PRF output, which never leaves the browser. Handles are public (contact pages), so an unknown handle and one with no passkey both answer `no_passkey`. Counts against the per-address login budget.",
    auth: Auth::Anyone,
    query: None,
    request: Some("PasskeyLoginStart"),
    replies: &[ok(200, "PasskeyLoginStarted", "The passkeys, the challenge and the id of this attempt.")],
    specific_errors: &[PasswordsDisabled, MemberDisabled, NoPasskey, InvalidHandle, RateLimited],
};

/// `POST /session/passkey/finish`.
pub const PASSKEY_LOGIN_FINISH: Endpoint = Endpoint {
    method: Method::Post,
    path: "/session/passkey/finish",
    operation_id: "passkeyLoginFinish",
    summary: "Passkey sign-in, step 2",
    description: "Sends the proof, made with the identity private key the passkey's copy opened, against step 1's challenge. The passkey must still be the member's. On success the answer sets the member session cookie. Each `login_id` can be finished once; a wrong proof, a removed passkey or an attempt older than 60 seconds is `login_failed`.",
    auth: Auth::Anyone,
    query: None,
    request: Some("PasskeyLoginFinish"),
    replies: &[with_cookie(ok(200, "MemberView", "Signed in."), Cookie::SetMember)],
    specific_errors: &[MemberDisabled, LoginFailed],
};

/// `POST /session/logout`.
pub const LOGOUT: Endpoint = Endpoint {
    method: Method::Post,
    path: "/session/logout",
    operation_id: "logout",
    summary: "Sign out",
    description: "Ends the member session and the guest session this request carries (either, both or none), and clears both cookies. Other sessions stay open. Needs no session; with a session cookie the request must come from the server's origin.",
    auth: Auth::OptionalCookies,
    query: None,
    request: None,
    replies: &[with_cookie(no_content("Signed out."), Cookie::ClearBoth)],
    specific_errors: &[],
};

/// `GET /auth/methods`.
pub const AUTH_METHODS: Endpoint = Endpoint {
    method: Method::Get,
    path: "/auth/methods",
    operation_id: "getAuthMethods",
    summary: "The ways of signing in",
    description: "Whether handle-and-password accounts are open, and the site's name when members may sign in with the site's accounts (OpenID Connect).",
    auth: Auth::Anyone,
    query: None,
    request: None,
    replies: &[ok(200, "AuthMethods", "The sign-in methods.")],
    specific_errors: &[],
};

/// `GET /oidc/start`.
pub const OIDC_START: Endpoint = Endpoint {
    method: Method::Get,
    path: "/oidc/start",
    operation_id: "startOidcSignIn",
    summary: "Sign in with the site's account (a browser navigation)",
    description: "Redirects the browser to the site's OpenID provider (authorization code flow with PKCE, a nonce and a state). The state, nonce and PKCE verifier stay on the server, sealed, for ten minutes; an HttpOnly cookie names them. If the provider cannot be reached or its discovery document names another issuer, redirects to the sign-in page with `oidc_error`.",
    auth: Auth::Anyone,
    query: None,
    request: None,
    replies: &[Reply {
        status: 303,
        body: None,
        description: "To the provider's authorization endpoint, or back to `/signin?oidc_error=…`.",
        cookie: None,
        media: None,
    }],
    specific_errors: &[OidcNotConfigured, RateLimited],
};

/// `GET /oidc/callback`.
pub const OIDC_CALLBACK: Endpoint = Endpoint {
    method: Method::Get,
    path: "/oidc/callback",
    operation_id: "finishOidcSignIn",
    summary: "The provider's redirect back (a browser navigation)",
    description: "Takes the provider's `code` and `state` (or `error`), checks the state against the attempt the cookie names (each attempt finishes once), exchanges the code with the PKCE verifier and the client secret, and verifies the ID token (signature by the provider's keys, issuer, audience, expiry, nonce). A known member (by issuer and subject) gets a member session and is sent to `/`. A first sign-in makes an invitation from the site's claims (handle, name, address; valid 30 minutes, no mail) and sends him to `/enroll#TOKEN` to set up his key; the account at the site is linked to that member at once. Anything wrong sends him to `/signin?oidc_error=<reason>`: `state` (wrong, missing or used: a replayed callback), `provider` (the provider refused, or the code was used), `token` (the ID token did not verify), `issuer` (discovery failed or named another issuer), `claims` (no usable handle, name or address), `handle_taken`, `disabled`.",
    auth: Auth::Anyone,
    query: None,
    request: None,
    replies: &[Reply {
        status: 303,
        body: None,
        description: "To the member app (signed in), to `/enroll#TOKEN` (first sign-in), or to `/signin?oidc_error=…`.",
        cookie: Some(Cookie::SetMember),
        media: None,
    }],
    specific_errors: &[OidcNotConfigured],
};

/// `GET /me`.
pub const GET_ME: Endpoint = Endpoint {
    method: Method::Get,
    path: "/me",
    operation_id: "getMe",
    summary: "The signed-in member",
    description: "The signed-in member's profile, public key and sealed private key.",
    auth: Auth::Member,
    query: None,
    request: None,
    replies: &[ok(200, "MemberView", "The member.")],
    specific_errors: &[],
};

/// `PATCH /me`.
pub const UPDATE_ME: Endpoint = Endpoint {
    method: Method::Patch,
    path: "/me",
    operation_id: "updateMe",
    summary: "Change the display name",
    description: "Changes the display name guests see. The handle cannot change.",
    auth: Auth::Member,
    query: None,
    request: Some("ProfileUpdate"),
    replies: &[ok(200, "MemberView", "The updated member.")],
    specific_errors: &[InvalidDisplayName],
};

/// `POST /me/password/start`.
pub const PASSWORD_START: Endpoint = Endpoint {
    method: Method::Post,
    path: "/me/password/start",
    operation_id: "passwordStart",
    summary: "Password change, step 1",
    description: "As registration step 1, for the signed-in member: the OPAQUE registration request for the new password. Nothing changes yet. Requires a sign-in (login) less than five minutes old, so that a stolen session cookie alone cannot replace the password.",
    auth: Auth::Member,
    query: None,
    request: Some("PasswordStart"),
    replies: &[ok(200, "OpaqueResponse", "The OPAQUE registration response.")],
    specific_errors: &[ReauthenticationRequired, InvalidOpaqueMessage],
};

/// `POST /me/password/finish`.
pub const PASSWORD_FINISH: Endpoint = Endpoint {
    method: Method::Post,
    path: "/me/password/finish",
    operation_id: "passwordFinish",
    summary: "Password change, step 2",
    description: "Replaces the password file and the sealed private key (re-sealed under the key derived from the new password) together. Every other session of the member ends; this one stays. Requires a sign-in (login) less than five minutes old, so that a stolen session cookie alone cannot replace the password.",
    auth: Auth::Member,
    query: None,
    request: Some("PasswordFinish"),
    replies: &[no_content("The password is changed.")],
    specific_errors: &[ReauthenticationRequired, InvalidOpaqueMessage, InvalidSealedIdentity],
};

/// `PUT /me/recovery`.
pub const REPLACE_RECOVERY: Endpoint = Endpoint {
    method: Method::Put,
    path: "/me/recovery",
    operation_id: "replaceRecovery",
    summary: "Replace the recovery key",
    description: "Stores the private key sealed under a new recovery key's KEK and the SHA-256 of its proof; the old recovery key stops working. Requires a sign-in less than five minutes old.",
    auth: Auth::Member,
    query: None,
    request: Some("NewRecovery"),
    replies: &[no_content("Replaced.")],
    specific_errors: &[ReauthenticationRequired, InvalidSealedIdentity, InvalidRecoveryProof],
};

/// `POST /members/recover/start`.
pub const RECOVER_START: Endpoint = Endpoint {
    method: Method::Post,
    path: "/members/recover/start",
    operation_id: "recoverStart",
    summary: "Start a password reset with the recovery key",
    description: "Proves the recovery key (its proof, whose SHA-256 the server stored) and starts OPAQUE registration of a new password. The answer carries the member's public key and the private key sealed under the recovery key's KEK, which the client opens. A wrong key and an unknown handle get the same 403.",
    auth: Auth::Anyone,
    query: None,
    request: Some("RecoverStart"),
    replies: &[ok(200, "RecoverStarted", "Proof accepted.")],
    specific_errors: &[RecoveryFailed, InvalidHandle, InvalidOpaqueMessage, RateLimited],
};

/// `POST /members/recover/finish`.
pub const RECOVER_FINISH: Endpoint = Endpoint {
    method: Method::Post,
    path: "/members/recover/finish",
    operation_id: "recoverFinish",
    summary: "Finish a password reset with the recovery key",
    description: "Stores the new password file and the same private key sealed under the new password's KEK, after checking the recovery proof again. Every session of the member ends; he then signs in with the new password. No message or conversation key changes.",
    auth: Auth::Anyone,
    query: None,
    request: Some("RecoverFinish"),
    replies: &[no_content("New password set.")],
    specific_errors: &[
        RecoveryFailed,
        InvalidHandle,
        InvalidOpaqueMessage,
        InvalidSealedIdentity,
        RateLimited,
    ],
};

/// `GET /conversations`.
pub const LIST_CONVERSATIONS: Endpoint = Endpoint {
    method: Method::Get,
    path: "/conversations",
    operation_id: "listConversations",
    summary: "The member's inbox",
    description: "The signed-in member's conversations, most recently active first, one page at a time. Pass `next_before` from one page as `before` to get the next.",
    auth: Auth::Member,
    query: Some("ListQuery"),
    request: None,
    replies: &[ok(200, "ConversationPage", "A page of conversations.")],
    specific_errors: &[InvalidCursor],
};

/// `GET /conversations/{id}`.
pub const GET_CONVERSATION: Endpoint = Endpoint {
    method: Method::Get,
    path: "/conversations/{id}",
    operation_id: "getConversation",
    summary: "One conversation",
    description: "A conversation as its member sees it (with the conversation key sealed to him), or as its guest sees it (with the member's public profile). A member asking for another member's conversation gets 404.",
    auth: Auth::Participant,
    query: None,
    request: None,
    replies: &[ok(200, "ConversationAnswer", "The member's or the guest's view.")],
    specific_errors: &[WrongConversation, UnknownConversation],
};

/// `DELETE /conversations/{id}`.
pub const DELETE_CONVERSATION: Endpoint = Endpoint {
    method: Method::Delete,
    path: "/conversations/{id}",
    operation_id: "deleteConversation",
    summary: "Delete a conversation",
    description: "Destroys the conversation for both sides: every message, link, guest session and pending e-mail. Either its member or its guest may do it; a guest's cookie is cleared in the answer.",
    auth: Auth::Participant,
    query: None,
    request: None,
    replies: &[with_cookie(no_content("Deleted."), Cookie::ClearGuest)],
    specific_errors: &[WrongConversation, UnknownConversation],
};

/// `GET /conversations/{id}/messages`.
pub const LIST_MESSAGES: Endpoint = Endpoint {
    method: Method::Get,
    path: "/conversations/{id}/messages",
    operation_id: "listMessages",
    summary: "Read messages",
    description: "Messages in the order the server gave them, oldest first, after sequence number `after`. Pass `next_after` from one page as `after` to get the next. The ciphertexts are opaque to the server.",
    auth: Auth::Participant,
    query: Some("MessagesQuery"),
    request: None,
    replies: &[ok(200, "MessagePage", "A page of messages.")],
    specific_errors: &[WrongConversation, UnknownConversation],
};

/// `POST /conversations/{id}/messages`.
pub const POST_MESSAGE: Endpoint = Endpoint {
    method: Method::Post,
    path: "/conversations/{id}/messages",
    operation_id: "postMessage",
    summary: "Post a message",
    description: "Posts an encrypted message; the server assigns its sequence number. A guest's message queues a content-free notice to the member. A member's message may carry a new link for the guest: `grant` with `link` to have the server e-mail it, or `grant` alone to deliver the link himself. Posting the same id with the same bytes again changes nothing and answers 200.",
    auth: Auth::Participant,
    query: None,
    request: Some("PostMessage"),
    replies: &[
        ok(200, "PostedView", "The same message (id and bytes) was already stored; nothing changed and no e-mail was queued."),
        ok(201, "PostedView", "Stored."),
    ],
    specific_errors: &[
        WrongConversation,
        UnknownConversation,
        NotFound,
        MessageIdTaken,
        GrantExists,
        MessageTooLarge,
        InvalidCiphertext,
        GuestCannotGrant,
        LinkWithoutGrant,
        InvalidGrantId,
        InvalidWrappedKey,
        InvalidLink,
        LinkMismatch,
        RateLimited,
    ],
};

/// `POST /conversations/{id}/read`.
pub const MARK_READ: Endpoint = Endpoint {
    method: Method::Post,
    path: "/conversations/{id}/read",
    operation_id: "markRead",
    summary: "Mark as read",
    description: "The member has read up to `seq` (clamped to the conversation's messages; the mark never moves back). The next guest message notifies him by e-mail again. With read receipts on, the time of a mark that moves forward is kept (in the same transaction) as the read time of the guest's messages up to `seq`.",
    auth: Auth::Member,
    query: None,
    request: Some("ReadMark"),
    replies: &[no_content("Recorded.")],
    specific_errors: &[UnknownConversation],
};

/// `GET /me/read-receipts`.
pub const GET_MEMBER_READ_RECEIPTS: Endpoint = Endpoint {
    method: Method::Get,
    path: "/me/read-receipts",
    operation_id: "getMemberReadReceipts",
    summary: "The member's read-receipt switch",
    description: "Whether the member has read receipts on (they are unless he turned them off).",
    auth: Auth::Member,
    query: None,
    request: None,
    replies: &[ok(200, "ReadReceipts", "His switch.")],
    specific_errors: &[],
};

/// `PUT /me/read-receipts`.
pub const MEMBER_READ_RECEIPTS: Endpoint = Endpoint {
    method: Method::Put,
    path: "/me/read-receipts",
    operation_id: "setMemberReadReceipts",
    summary: "Set the member's read-receipt switch",
    description: "Turns the member's read receipts on or off for all his conversations. Receipts are reciprocal, as in common messengers: a message's `read_at` shows only while both the member and that conversation's guest have them on, so nobody sees the other's reading while hiding his own. Off also forgets the marks of his reading stored so far; nothing new is stored while it is off.",
    auth: Auth::Member,
    query: None,
    request: Some("ReadReceipts"),
    replies: &[no_content("Recorded.")],
    specific_errors: &[],
};

/// `PUT /conversations/{id}/read-receipts`.
pub const CONVERSATION_READ_RECEIPTS: Endpoint = Endpoint {
    method: Method::Put,
    path: "/conversations/{id}/read-receipts",
    operation_id: "setReadReceipts",
    summary: "The caller's read-receipt switch",
    description: "The guest turns his read receipts on this conversation on or off (his current choice is `read_receipts` of the guest's view). A member calling it sets his own switch for all his conversations, as `setMemberReadReceipts`. Off forgets the stored marks of that side's reading and stores none while off; receipts show only while both sides have them on.",
    auth: Auth::Participant,
    query: None,
    request: Some("ReadReceipts"),
    replies: &[no_content("Recorded.")],
    specific_errors: &[WrongConversation, UnknownConversation],
};

/// `GET /events`.
pub const EVENTS: Endpoint = Endpoint {
    method: Method::Get,
    path: "/events",
    operation_id: "streamEvents",
    summary: "Live events (Server-Sent Events)",
    description: "A `text/event-stream` that stays open: for a member, the events of his conversations and his own `member.disabled`; for a guest, those of his one conversation. Each event has `id:` (its sequence number), `event:` (`message.created`, `link.opened`, `link.requested`, `conversation.deleted`, `member.disabled`) and `data:` (`LiveEventData`: metadata only, never a message). Send `Last-Event-ID` to resume after that number (EventSource does so on its own reconnects); without it the stream starts with the next event. A `: ping` comment comes every `events.heartbeat_secs` (25 s). The stream ends when the session ends, after the event that ended it, when the client falls far behind (reconnect with `Last-Event-ID`), and when a newer stream of the same session would exceed `events.max_per_session` (the oldest is closed). See `docs/live.md`.",
    auth: Auth::Participant,
    query: None,
    request: None,
    replies: &[event_stream("LiveEventData", "The stream; it stays open.")],
    specific_errors: &[StreamsFull],
};

/// `POST /conversations/{id}/grants`.
pub const ADD_GRANT: Endpoint = Endpoint {
    method: Method::Post,
    path: "/conversations/{id}/grants",
    operation_id: "addGrant",
    summary: "Add a link",
    description: "A new link for the guest made by the member's client outside a message: to fulfil the guest's request for a new link (with `link`, which the server e-mails), or to deliver by hand (without `link`). Clears a pending link request.",
    auth: Auth::Member,
    query: None,
    request: Some("AddGrant"),
    replies: &[ok(201, "GrantAdded", "The link is stored.")],
    specific_errors: &[
        UnknownConversation,
        NotFound,
        GrantExists,
        InvalidGrantId,
        InvalidWrappedKey,
        InvalidLink,
        LinkMismatch,
    ],
};

/// `POST /grants/peek`.
pub const PEEK_GRANT: Endpoint = Endpoint {
    method: Method::Post,
    path: "/grants/peek",
    operation_id: "peekGrant",
    summary: "Look at a link",
    description: "Who a link is from, without using it: the landing page shows this before the guest clicks, so a mail scanner that fetches the page cannot burn the link. Changes nothing. Shares the per-address redeem budget.",
    auth: Auth::Anyone,
    query: None,
    request: Some("GrantRef"),
    replies: &[ok(200, "Peeked", "The link works; this is the member.")],
    specific_errors: &[
        MemberDisabled,
        UnknownLink,
        LinkUsed,
        LinkExpired,
        InvalidGrantId,
        RateLimited,
    ],
};

/// `POST /grants/redeem`.
pub const REDEEM_GRANT: Endpoint = Endpoint {
    method: Method::Post,
    path: "/grants/redeem",
    operation_id: "redeemGrant",
    summary: "Open a link",
    description: "Uses a link, given the e-mail address it was sent to (every time, reloads too): the first redeem starts its grace window (10 minutes by default, for reloads) and confirms the guest's address; with the guest's read receipts on, it also marks as read by him every message the link carried (all up to the newest when it was made). A wrong address uses nothing up and answers `wrong_address`; wrong tries are rate-limited per link and per client, and while either budget is spent every address answers `rate_limited`. The answer carries the wrapped conversation key, which only the link key in the URL fragment unwraps, and sets a guest session cookie for this conversation only.",
    auth: Auth::Anyone,
    query: None,
    request: Some("RedeemRequest"),
    replies: &[with_cookie(
        ok(200, "RedeemedView", "The link works; a guest session is open."),
        Cookie::SetGuest,
    )],
    specific_errors: &[
        MemberDisabled,
        UnknownLink,
        LinkUsed,
        LinkExpired,
        WrongAddress,
        InvalidGrantId,
        InvalidEmail,
        RateLimited,
    ],
};

/// `POST /link-requests`.
pub const REQUEST_LINK: Endpoint = Endpoint {
    method: Method::Post,
    path: "/link-requests",
    operation_id: "requestLink",
    summary: "Ask for a new link",
    description: "\"Send me a new link\": marks the conversations of this guest address (with one member, if `handle` is given) so the member's client makes and sends a new link when he is next online. The answer is the same whether or not the address or the member exists. Rate-limited per client address and per guest address.",
    auth: Auth::Anyone,
    query: None,
    request: Some("LinkRequest"),
    replies: &[ok(202, "LinkRequested", "Recorded, if there is anything to record.")],
    specific_errors: &[InvalidEmail, InvalidHandle, RateLimited],
};

/// The admin API's scope for reading members.
pub const SCOPE_MEMBERS_READ: &str = "members:read";
/// The admin API's scope for inviting, disabling, re-enabling and deleting members.
pub const SCOPE_MEMBERS_WRITE: &str = "members:write";
/// The admin API's scope for adding, listing and removing webhook endpoints.
pub const SCOPE_WEBHOOKS_MANAGE: &str = "webhooks:manage";
/// Every scope an admin API token can have.
pub const SCOPES: &[&str] = &[
    SCOPE_MEMBERS_READ,
    SCOPE_MEMBERS_WRITE,
    SCOPE_WEBHOOKS_MANAGE,
];

/// `POST /enroll/peek`.
pub const ENROLL_PEEK: Endpoint = Endpoint {
    method: Method::Post,
    path: "/enroll/peek",
    operation_id: "peekEnrollment",
    summary: "Whom an enrollment link is for",
    description: "The enrollment page sends the token from its link's fragment and gets the invited handle, name and address, to fill in the registration (which then sends the token as `invite` in place of a registration code). Changes nothing. Rate-limited per client address.",
    auth: Auth::Anyone,
    query: None,
    request: Some("EnrollPeek"),
    replies: &[ok(200, "Enrollment", "The invitation is live.")],
    specific_errors: &[InvalidInvite, RateLimited],
};

/// `POST /enroll/start`.
pub const ENROLL_START: Endpoint = Endpoint {
    method: Method::Post,
    path: "/enroll/start",
    operation_id: "enrollStart",
    summary: "Passkey enrollment, step 1",
    description: "For an invited member who sets up his key with a passkey instead of a password: sends the token from the enrollment link's fragment and gets the invited handle, a one-time X25519 challenge for the new identity key and a registration token for step 2 (as registration step 1 gives, without OPAQUE). Changes nothing. Counts against the per-address login budget.",
    auth: Auth::Anyone,
    query: None,
    request: Some("EnrollStart"),
    replies: &[ok(200, "EnrollStarted", "The handle, the identity challenge and the registration token.")],
    specific_errors: &[InvalidInvite, RateLimited],
};

/// `POST /enroll/passkey`.
pub const ENROLL_PASSKEY: Endpoint = Endpoint {
    method: Method::Post,
    path: "/enroll/passkey",
    operation_id: "enrollWithPasskey",
    summary: "Passkey enrollment, step 2",
    description: "Stores the invited member with no password: the identity public key, the private key sealed under his new passkey's KEK (docs/protocol.md §4.9.1) and under his recovery key (required: it is the way back when every passkey is lost). It needs step 1's registration token and a proof, made with the identity private key against step 1's challenge, that he holds that key. The invitation is used up and the member is signed in: the answer sets the member session cookie. He signs in later with the passkey (`/session/passkey/start`) or the site's account, and can add a password in his settings.",
    auth: Auth::Anyone,
    query: None,
    request: Some("EnrollPasskey"),
    replies: &[with_cookie(
        ok(201, "MemberView", "The member is enrolled and signed in."),
        Cookie::SetMember,
    )],
    specific_errors: &[
        InvalidInvite,
        IdentityKeyTaken,
        RegistrationExpired,
        InvalidRegistrationToken,
        InvalidIdentityProof,
        InvalidDisplayName,
        InvalidEmail,
        InvalidPublicKey,
        InvalidSealedIdentity,
        InvalidPasskey,
        InvalidRecoveryProof,
        RateLimited,
    ],
};

/// `GET /admin/members`.
pub const ADMIN_LIST_MEMBERS: Endpoint = Endpoint {
    method: Method::Get,
    path: "/admin/members",
    operation_id: "adminListMembers",
    summary: "List members (admin API)",
    description: "Every member and pending invitation, by handle, with his status and contact page. Needs a token with `members:read`.",
    auth: Auth::AdminToken(SCOPE_MEMBERS_READ),
    query: None,
    request: None,
    replies: &[ok(200, "AdminMemberList", "The members.")],
    specific_errors: &[],
};

/// `POST /admin/members`.
pub const ADMIN_INVITE: Endpoint = Endpoint {
    method: Method::Post,
    path: "/admin/members",
    operation_id: "adminInviteMember",
    summary: "Invite a member (admin API)",
    description: "Reserves the handle and makes a one-time enrollment link (valid for 7 days) where the member sets up his password and key; until then he has none and takes no messages. The link is in the answer and, with `send_email`, also e-mailed to him through the outbox. Needs `members:write`.",
    auth: Auth::AdminToken(SCOPE_MEMBERS_WRITE),
    query: None,
    request: Some("InviteRequest"),
    replies: &[ok(201, "Invited", "Invited; hand the link to him (or it was e-mailed).")],
    specific_errors: &[HandleTaken, InvalidHandle, InvalidEmail, InvalidDisplayName],
};

/// `GET /admin/members/{handle}`.
pub const ADMIN_GET_MEMBER: Endpoint = Endpoint {
    method: Method::Get,
    path: "/admin/members/{handle}",
    operation_id: "adminGetMember",
    summary: "One member and his contact URL (admin API)",
    description: "The member (or pending invitation) with this handle: status and contact page URL. Needs `members:read`.",
    auth: Auth::AdminToken(SCOPE_MEMBERS_READ),
    query: None,
    request: None,
    replies: &[ok(200, "AdminMember", "The member.")],
    specific_errors: &[UnknownMember, InvalidHandle],
};

/// `DELETE /admin/members/{handle}`.
pub const ADMIN_DELETE_MEMBER: Endpoint = Endpoint {
    method: Method::Delete,
    path: "/admin/members/{handle}",
    operation_id: "adminDeleteMember",
    summary: "Delete a member (admin API)",
    description: "Destroys the member with every conversation, message, link and session of his (a pending invitation: the invitation). Cannot be undone. Needs `members:write`.",
    auth: Auth::AdminToken(SCOPE_MEMBERS_WRITE),
    query: None,
    request: None,
    replies: &[no_content("Deleted.")],
    specific_errors: &[UnknownMember, InvalidHandle],
};

/// `POST /admin/members/{handle}/disable`.
pub const ADMIN_DISABLE_MEMBER: Endpoint = Endpoint {
    method: Method::Post,
    path: "/admin/members/{handle}/disable",
    operation_id: "adminDisableMember",
    summary: "Disable a member (admin API)",
    description: "He can no longer sign in and his sessions end; his contact page says he takes no messages, and his guests' links answer `member_disabled`. Nothing is deleted; re-enabling restores all. Needs `members:write`.",
    auth: Auth::AdminToken(SCOPE_MEMBERS_WRITE),
    query: None,
    request: None,
    replies: &[ok(200, "AdminMember", "Disabled (or already was).")],
    specific_errors: &[UnknownMember, InvalidHandle],
};

/// `POST /admin/members/{handle}/enable`.
pub const ADMIN_ENABLE_MEMBER: Endpoint = Endpoint {
    method: Method::Post,
    path: "/admin/members/{handle}/enable",
    operation_id: "adminEnableMember",
    summary: "Re-enable a member (admin API)",
    description: "Undoes a disable: he signs in and takes messages again, and his guests' links work. Needs `members:write`.",
    auth: Auth::AdminToken(SCOPE_MEMBERS_WRITE),
    query: None,
    request: None,
    replies: &[ok(200, "AdminMember", "Enabled (or already was).")],
    specific_errors: &[UnknownMember, InvalidHandle],
};

/// `GET /admin/webhooks`.
pub const ADMIN_LIST_WEBHOOKS: Endpoint = Endpoint {
    method: Method::Get,
    path: "/admin/webhooks",
    operation_id: "adminListWebhooks",
    summary: "List webhook endpoints (admin API)",
    description: "Every webhook endpoint, with how its delivery goes (the last event it acknowledged, failed attempts, the last failure's class). Never a secret. Needs `webhooks:manage`.",
    auth: Auth::AdminToken(SCOPE_WEBHOOKS_MANAGE),
    query: None,
    request: None,
    replies: &[ok(200, "WebhookList", "The endpoints.")],
    specific_errors: &[],
};

/// `POST /admin/webhooks`.
pub const ADMIN_ADD_WEBHOOK: Endpoint = Endpoint {
    method: Method::Post,
    path: "/admin/webhooks",
    operation_id: "adminAddWebhook",
    summary: "Add a webhook endpoint (admin API)",
    description: "The server POSTs every event from now on to this URL (metadata only: docs/webhooks.md), signed with the secret in the answer, which is shown this once (the server derives it again when it signs; no copy is stored). Events are sent one at a time, in order, until a 2xx answer; failures are retried with a growing wait. Rotating the secret is adding a new endpoint and removing the old one. Needs `webhooks:manage`.",
    auth: Auth::AdminToken(SCOPE_WEBHOOKS_MANAGE),
    query: None,
    request: Some("AddWebhook"),
    replies: &[ok(201, "WebhookAdded", "Added; configure the receiver with the secret.")],
    specific_errors: &[InvalidWebhookUrl],
};

/// `DELETE /admin/webhooks/{webhook_id}`.
pub const ADMIN_REMOVE_WEBHOOK: Endpoint = Endpoint {
    method: Method::Delete,
    path: "/admin/webhooks/{webhook_id}",
    operation_id: "adminRemoveWebhook",
    summary: "Remove a webhook endpoint (admin API)",
    description:
        "Nothing more is sent to it (a delivery in flight finishes). Needs `webhooks:manage`.",
    auth: Auth::AdminToken(SCOPE_WEBHOOKS_MANAGE),
    query: None,
    request: None,
    replies: &[no_content("Removed.")],
    specific_errors: &[UnknownWebhook],
};

/// `GET /me/passkeys`.
pub const LIST_PASSKEYS: Endpoint = Endpoint {
    method: Method::Get,
    path: "/me/passkeys",
    operation_id: "listPasskeys",
    summary: "The member's passkeys",
    description: "Every passkey that unlocks the signed-in member's key, with the private key sealed under each one's KEK (docs/protocol.md §4.9.1). The server checks no WebAuthn signature and never sees a PRF output.",
    auth: Auth::Member,
    query: None,
    request: None,
    replies: &[ok(200, "PasskeyList", "The passkeys, oldest first.")],
    specific_errors: &[],
};

/// `POST /me/passkeys`.
pub const ADD_PASSKEY: Endpoint = Endpoint {
    method: Method::Post,
    path: "/me/passkeys",
    operation_id: "addPasskey",
    summary: "Add a passkey",
    description: "Stores the private key sealed under a new passkey's KEK, with its credential id and label. The client seals it in the member's Web Worker from the passkey's PRF output; the server sees neither.",
    auth: Auth::Member,
    query: None,
    request: Some("AddPasskey"),
    replies: &[ok(201, "PasskeyView", "Added.")],
    specific_errors: &[InvalidPasskey, InvalidSealedIdentity, PasskeyExists],
};

/// `DELETE /me/passkeys/{credential_id}`.
pub const DELETE_PASSKEY: Endpoint = Endpoint {
    method: Method::Delete,
    path: "/me/passkeys/{credential_id}",
    operation_id: "deletePasskey",
    summary: "Remove a passkey",
    description: "Deletes the passkey's sealed copy of the private key, so that it unlocks nothing any more. Requires a sign-in less than five minutes old. A member with no password cannot remove his last passkey (`last_passkey`).",
    auth: Auth::Member,
    query: None,
    request: None,
    replies: &[no_content("Removed.")],
    specific_errors: &[ReauthenticationRequired, UnknownPasskey, LastPasskey],
};

/// Every operation, in the order of the reference.
pub const ALL: &[&Endpoint] = &[
    &HEALTH,
    &HEALTH_LIVE,
    &HEALTH_READY,
    &OPENAPI,
    &REGISTER_START,
    &REGISTER_FINISH,
    &GET_MEMBER,
    &START_CONVERSATION,
    &LOGIN_START,
    &LOGIN_FINISH,
    &PASSKEY_LOGIN_START,
    &PASSKEY_LOGIN_FINISH,
    &LOGOUT,
    &AUTH_METHODS,
    &OIDC_START,
    &OIDC_CALLBACK,
    &GET_ME,
    &UPDATE_ME,
    &PASSWORD_START,
    &PASSWORD_FINISH,
    &REPLACE_RECOVERY,
    &RECOVER_START,
    &RECOVER_FINISH,
    &LIST_PASSKEYS,
    &ADD_PASSKEY,
    &DELETE_PASSKEY,
    &LIST_CONVERSATIONS,
    &GET_CONVERSATION,
    &DELETE_CONVERSATION,
    &LIST_MESSAGES,
    &POST_MESSAGE,
    &MARK_READ,
    &EVENTS,
    &GET_MEMBER_READ_RECEIPTS,
    &MEMBER_READ_RECEIPTS,
    &CONVERSATION_READ_RECEIPTS,
    &ADD_GRANT,
    &PEEK_GRANT,
    &REDEEM_GRANT,
    &REQUEST_LINK,
    &ENROLL_PEEK,
    &ENROLL_START,
    &ENROLL_PASSKEY,
    &ADMIN_LIST_MEMBERS,
    &ADMIN_INVITE,
    &ADMIN_GET_MEMBER,
    &ADMIN_DELETE_MEMBER,
    &ADMIN_DISABLE_MEMBER,
    &ADMIN_ENABLE_MEMBER,
    &ADMIN_LIST_WEBHOOKS,
    &ADMIN_ADD_WEBHOOK,
    &ADMIN_REMOVE_WEBHOOK,
];

/// The operation at this method and path template.
pub fn find(method: Method, path: &str) -> Option<&'static Endpoint> {
    ALL.iter()
        .copied()
        .find(|e| e.method == method && e.path == path)
}
