//! Every error code the API answers with. The server maps its failures to
//! these and nothing else; the OpenAPI document lists them per operation and
//! `docs/api.md` carries the table [`ErrorCode::markdown_table`] makes.

use serde::{Deserialize, Serialize};

/// The body of every error answer: `{"error": code, "message": text}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// Machine-readable: one of the codes listed for the operation.
    pub error: String,
    /// For people, in English. A 500 never says what went wrong.
    pub message: String,
}

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = ($status:literal, $code:literal, $description:literal), )*) => {
        /// A machine-readable error code with its HTTP status.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in the order of the table.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as it appears in the `error` field.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The HTTP status it is answered with.
            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// What it means, for the reference documentation.
            pub fn description(self) -> &'static str {
                match self { $(ErrorCode::$variant => $description,)* }
            }
        }
    };
}

error_codes! {
    /// The body is not JSON.
    MalformedJson = (400, "malformed_json", "the body is not valid JSON"),
    /// The body could not be read.
    UnreadableBody = (400, "unreadable_body", "the body could not be read"),
    /// A path parameter is malformed.
    InvalidPath = (400, "invalid_path", "a path parameter is malformed (a conversation id is 32 lower-case hex digits)"),
    /// The query string is malformed.
    InvalidQuery = (400, "invalid_query", "the query string has an unknown parameter or a value of the wrong type"),
    /// `before` is not a cursor this server gave.
    InvalidCursor = (400, "invalid_cursor", "`before` is not a cursor this server gave"),
    /// No (live) session.
    NotSignedIn = (401, "not_signed_in", "no session cookie of the kind needed, or the session has ended"),
    /// The login did not verify.
    LoginFailed = (401, "login_failed", "wrong handle or password (or a passkey that is no longer the member's, or a wrong proof of his key), or the login took longer than a minute"),
    /// No admin API token, or not a live one.
    BadToken = (401, "bad_token", "the admin API needs `Authorization: Bearer <token>` with a token `latchkey admin token create` made and nobody revoked"),
    /// A cookie-authenticated write from elsewhere.
    BadOrigin = (403, "bad_origin", "a cookie-authenticated write whose `Origin` header is missing or is not the server's public origin"),
    /// The address does not fit the link.
    WrongAddress = (403, "wrong_address", "the e-mail address is not the one the link was sent to; nothing was used up (wrong tries are rate-limited per link and per client)"),
    /// A guest session used on another conversation.
    WrongConversation = (403, "wrong_conversation", "the guest session belongs to another conversation"),
    /// The sign-in is too old for this.
    ReauthenticationRequired = (403, "reauthentication_required", "this needs a sign-in less than five minutes old"),
    /// Registration needs the operator's code.
    RegistrationClosed = (403, "registration_closed", "registration is closed here, or the site's registration code is missing or wrong"),
    /// The recovery key does not fit.
    RecoveryFailed = (403, "recovery_failed", "the recovery key does not belong to this handle (or the account has none)"),
    /// The admin token lacks the scope.
    MissingScope = (403, "missing_scope", "the admin API token lacks the scope this operation needs (`members:read`, `members:write` or `webhooks:manage`)"),
    /// The member is disabled.
    MemberDisabled = (403, "member_disabled", "the member is disabled by the site: he cannot sign in and takes no messages"),
    /// Not a live enrollment link.
    InvalidInvite = (403, "invalid_invite", "the enrollment link is not known here, was used, or expired: ask the site for a new invitation"),
    /// The operator turned handle-and-password accounts off.
    PasswordsDisabled = (403, "passwords_disabled", "handle-and-password accounts are turned off here (`auth.local_passwords = false`): sign in with the site's account"),
    /// No OpenID provider is configured.
    OidcNotConfigured = (404, "oidc_not_configured", "signing in with the site's accounts is not set up here (`oidc.issuer` is unset)"),
    /// No such API endpoint.
    NoRoute = (404, "no_route", "there is no such API endpoint"),
    /// No member has this handle.
    UnknownMember = (404, "unknown_member", "no member has this handle"),
    /// No such conversation (or not the member's).
    UnknownConversation = (404, "unknown_conversation", "no such conversation, or (for a member) not one of his"),
    /// The link is not known.
    UnknownLink = (404, "unknown_link", "the link is not known: mistyped, or its conversation was deleted"),
    /// No such passkey (or not the member's).
    UnknownPasskey = (404, "unknown_passkey", "the signed-in member has no passkey with this credential id"),
    /// Passkey sign-in for a handle with no passkey.
    NoPasskey = (404, "no_passkey", "no member with this handle has a passkey set up here: sign in with the password or the site's account"),
    /// No such webhook endpoint.
    UnknownWebhook = (404, "unknown_webhook", "no webhook endpoint has this id"),
    /// The row went away while the request was handled.
    NotFound = (404, "not_found", "what the request needs was deleted while it was being handled"),
    /// The endpoint does not take this method.
    MethodNotAllowed = (405, "method_not_allowed", "the endpoint exists but does not take this method"),
    /// The handle is taken.
    HandleTaken = (409, "handle_taken", "another member has this handle"),
    /// The identity key is another member's.
    IdentityKeyTaken = (409, "identity_key_taken", "another member has registered this identity public key"),
    /// The passkey is added already.
    PasskeyExists = (409, "passkey_exists", "a passkey with this credential id is stored already"),
    /// The last way to unlock besides the recovery key.
    LastPasskey = (409, "last_passkey", "the member has no password, and this is his last passkey: add a password or another passkey before removing it"),
    /// The conversation id is taken.
    ConversationExists = (409, "conversation_exists", "a conversation with this id exists"),
    /// Another message has this id.
    MessageIdTaken = (409, "message_id_taken", "another message in this conversation has this id with different bytes"),
    /// The grant exists.
    GrantExists = (409, "grant_exists", "a grant with this id exists"),
    /// The link was used.
    LinkUsed = (410, "link_used", "the link was redeemed and its grace window is over"),
    /// The link expired unused.
    LinkExpired = (410, "link_expired", "the link expired before it was used"),
    /// The registration took too long.
    RegistrationExpired = (410, "registration_expired", "registration step 1 was more than 10 minutes ago: start again"),
    /// The body is too large.
    BodyTooLarge = (413, "body_too_large", "the body exceeds `limits.max_body_bytes` (256 KiB by default)"),
    /// The ciphertext is too large.
    MessageTooLarge = (413, "message_too_large", "the ciphertext exceeds `limits.max_ciphertext_bytes` (128 KiB by default)"),
    /// Not sent as JSON.
    NotJson = (415, "not_json", "the request lacks `Content-Type: application/json`"),
    /// A field does not fit the request.
    InvalidField = (422, "invalid_field", "the JSON does not fit this request: a field is missing, unknown, or has the wrong type or form"),
    /// Not a handle.
    InvalidHandle = (422, "invalid_handle", "a handle has 3 to 32 characters: `a-z`, `0-9` and `-`, not at either end"),
    /// Not a URL a webhook may go to.
    InvalidWebhookUrl = (422, "invalid_webhook_url", "a webhook URL is `https://…`, or `http://` to a loopback address (for tests), with a host and no user name, password or fragment"),
    /// Not an e-mail address.
    InvalidEmail = (422, "invalid_email", "not an e-mail address"),
    /// Not a display name.
    InvalidDisplayName = (422, "invalid_display_name", "a display name has 1 to 80 characters and no control or text-direction characters"),
    /// An OPAQUE message does not parse.
    InvalidOpaqueMessage = (422, "invalid_opaque_message", "an OPAQUE message does not parse"),
    /// Not an X25519 public key.
    InvalidPublicKey = (422, "invalid_public_key", "`identity_public` is not a 32-byte X25519 public key"),
    /// Not a sealed identity.
    InvalidSealedIdentity = (422, "invalid_sealed_identity", "a sealed identity does not have its version byte and length"),
    /// Not a sealed conversation key.
    InvalidSealedKey = (422, "invalid_sealed_key", "`sealed_key` is not an HPKE-sealed conversation key"),
    /// Not a message ciphertext.
    InvalidCiphertext = (422, "invalid_ciphertext", "the ciphertext does not have the version byte and length of a padded message"),
    /// Not a grant id.
    InvalidGrantId = (422, "invalid_grant_id", "`grant_id` is not 43 characters of canonical base64url (32 bytes)"),
    /// Not a passkey's credential id or label.
    InvalidPasskey = (422, "invalid_passkey", "a passkey's credential id has 1 to 1023 bytes, its label 1 to 64 characters and no control characters; a member has at most 20"),
    /// Not a wrapped conversation key.
    InvalidWrappedKey = (422, "invalid_wrapped_key", "`wrapped_key` is not a 73-byte wrapped conversation key"),
    /// Not a link fragment.
    InvalidLink = (422, "invalid_link", "`link` is not a `k1.` fragment"),
    /// The link is not the grant's.
    LinkMismatch = (422, "link_mismatch", "`link` does not derive `grant_id`"),
    /// Guests make no links.
    GuestCannotGrant = (422, "guest_cannot_grant", "a guest sent `grant` or `link`; only the member makes links"),
    /// A link without its grant.
    LinkWithoutGrant = (422, "link_without_grant", "`link` was sent without `grant`"),
    /// One recovery field without the other.
    InvalidRecovery = (422, "invalid_recovery", "only one of `recovery_sealed_identity` and `recovery_proof` was sent"),
    /// Not a recovery proof.
    InvalidRecoveryProof = (422, "invalid_recovery_proof", "a recovery proof is 32 bytes"),
    /// Not a registration token of this server for this handle.
    InvalidRegistrationToken = (422, "invalid_registration_token", "`registration_token` is not what this server's registration step 1 gave for this handle"),
    /// The identity proof does not verify.
    InvalidIdentityProof = (422, "invalid_identity_proof", "`identity_proof` does not show that the registrant holds the private half of `identity_public` (for this handle and this registration)"),
    /// Over budget.
    RateLimited = (429, "rate_limited", "over a request budget; `Retry-After` says how many seconds to wait"),
    /// The server failed.
    Internal = (500, "internal", "the server failed; the cause is in its log, never in the answer"),
    /// No room for another event stream.
    StreamsFull = (503, "streams_full", "this instance holds as many event streams as it may (`events.max_connections`); `Retry-After` says how many seconds to wait"),
    /// Not ready to serve.
    NotReady = (503, "not_ready", "the database does not answer, or its migrations are not all applied: send traffic elsewhere and ask again"),
}

impl ErrorCode {
    /// The code named by `text`, if it is one.
    pub fn parse(text: &str) -> Option<ErrorCode> {
        Self::ALL.iter().copied().find(|c| c.as_str() == text)
    }

    /// The table of `docs/api.md`: status, then the codes with that status.
    pub fn markdown_table() -> String {
        let mut out = String::from("| status | code | meaning |\n|---|---|---|\n");
        for code in Self::ALL {
            out.push_str(&format!(
                "| {} | `{}` | {} |\n",
                code.status(),
                code.as_str(),
                code.description()
            ));
        }
        out
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field that deserialised to the wrong form says which code it deserves:
/// its serde error message is `[code] message`. The server's JSON extractor
/// finds the tag and answers with that code; any other serde error is
/// `invalid_field`.
pub(crate) fn field_error<E: serde::de::Error>(code: ErrorCode, message: &str) -> E {
    E::custom(format_args!("[{code}] {message}"))
}

/// Splits a tagged field error (see [`field_error`]) into its code and
/// message.
pub fn tagged_field_error(message: &str) -> Option<(ErrorCode, &str)> {
    let rest = message.strip_prefix('[')?;
    let (code, text) = rest.split_once("] ")?;
    Some((ErrorCode::parse(code)?, text))
}
