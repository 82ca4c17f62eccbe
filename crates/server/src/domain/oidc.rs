//! Signing in with the site's accounts: latchkey as an OpenID Connect
//! relying party (authorization code flow with PKCE, a nonce and a state).
//!
//! The `openidconnect` crate does the protocol: discovery (the document's
//! issuer must be the configured one, exactly), the PKCE pair, the token
//! request (client_secret_basic, or _post if the provider takes only
//! that), and the ID token's checks (signature by the provider's JWKS,
//! issuer, audience, expiry, nonce). Written by hand these are easy to get
//! subtly wrong; the crate is the maintained, usual choice.
//!
//! What stays here: the attempt kept on the server between the redirect and
//! the callback (sealed, one use, ten minutes), the claim mapping, and what
//! a sign-in leads to. The provider proves who the member is; it never
//! sees nor gives his key. A first sign-in therefore makes an invitation
//! (as the site's backend would, without mail) and sends him to enroll,
//! where he sets up his key; the link (issuer, subject) → member id is made
//! at once, so the next sign-in finds him. The database keeps the pair as
//! a keyed hash only ([`account_hash`]).
//!
//! Codes, tokens and the client secret are never logged: failures are
//! logged by kind only.

use latchkey_api::{AuthMethods, DisplayName, Email, ErrorCode, Handle};
use latchkey_core::server::BlindIndexKey;
use latchkey_core::OsRng;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::sessions::{self, SessionToken};
use super::{admin, invites, ClientKey, Context, DomainError};
use crate::random::{random_hex, random_token};
use crate::store::{Invite, MemberId, SessionOwner, Store, StoreError, Timestamp, Unique};

/// How long the provider may take between the redirect and the callback.
const ATTEMPT_MS: i64 = 10 * 60 * 1000;
/// How long a first sign-in's enrollment link works.
const ENROLL_MS: i64 = 30 * 60 * 1000;
/// The sealing context of an attempt (with its id), apart from the login
/// states the same key seals.
const ATTEMPT_CONTEXT: &str = "latchkey oidc attempt ";

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Why a sign-in through the provider failed: the word the sign-in page
/// gets in `oidc_error`, which it shows in the member's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// No attempt, a used one (a replayed callback), or another state.
    State,
    /// The provider answered with an error, or refused the code.
    Provider,
    /// The ID token did not verify.
    Token,
    /// Discovery failed, or named another issuer.
    Issuer,
    /// No usable handle among the claims.
    Claims,
    /// Another member has the handle the claims give.
    HandleTaken,
    /// The site disabled the member.
    Disabled,
    /// Something on our side; logged.
    Internal,
}

impl Failure {
    /// The word in the redirect.
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::State => "state",
            Failure::Provider => "provider",
            Failure::Token => "token",
            Failure::Issuer => "issuer",
            Failure::Claims => "claims",
            Failure::HandleTaken => "handle_taken",
            Failure::Disabled => "disabled",
            Failure::Internal => "internal",
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "oidc: store");
        Failure::Internal
    }
}

impl From<DomainError> for Failure {
    fn from(e: DomainError) -> Self {
        match e.code() {
            ErrorCode::MemberDisabled => Failure::Disabled,
            code => {
                // The page only says "internal"; the cause (no secret in a
                // domain error's message) is for the operator.
                tracing::error!(code = code.as_str(), error = %e, "oidc: sign-in failed");
                Failure::Internal
            }
        }
    }
}

/// The sign-in methods the server offers.
pub fn methods(ctx: &Context) -> AuthMethods {
    AuthMethods {
        local_passwords: ctx.config.auth.local_passwords,
        oidc: ctx
            .config
            .oidc
            .enabled()
            .then(|| ctx.config.oidc.display_name.clone()),
    }
}

/// Registration and password sign-in, unless the operator turned them off.
pub fn check_local_passwords(ctx: &Context) -> Result<(), DomainError> {
    if ctx.config.auth.local_passwords {
        Ok(())
    } else {
        Err(DomainError::new(
            ErrorCode::PasswordsDisabled,
            "Accounts with a password are turned off here. Sign in with the site's account.",
        ))
    }
}

fn not_configured() -> DomainError {
    DomainError::new(
        ErrorCode::OidcNotConfigured,
        "Signing in with the site's accounts is not set up here.",
    )
}

/// What the server keeps between the redirect and the callback.
#[derive(Serialize, Deserialize)]
struct Attempt {
    state: String,
    nonce: String,
    verifier: String,
}

/// A sign-in sent to the provider.
#[derive(Debug)]
pub struct Started {
    /// Where the browser goes: the provider's authorization endpoint.
    pub redirect: String,
    /// Names the attempt; the browser keeps it in a cookie.
    pub attempt_id: String,
}

/// The HTTP client for the provider: no redirects (a token or discovery
/// request must not be sent on elsewhere), short timeouts.
fn http_client() -> Result<reqwest::Client, Failure> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| {
            tracing::error!(error = %e, "oidc: http client");
            Failure::Internal
        })
}

/// Discovers the provider (each time: its keys rotate, and a sign-in is
/// rare enough) and makes the client.
async fn client(ctx: &Context, http: &reqwest::Client) -> Result<Client, Failure> {
    let oidc = &ctx.config.oidc;
    let issuer = oidc.issuer.clone().unwrap_or_default();
    let issuer = IssuerUrl::new(issuer).map_err(|_| Failure::Issuer)?;
    let metadata = CoreProviderMetadata::discover_async(issuer, http)
        .await
        .map_err(|e| {
            // Discovery errors carry URLs and the provider's document, not
            // secrets.
            tracing::warn!(error = %e, "oidc: discovery failed");
            Failure::Issuer
        })?;
    let post_only = metadata
        .token_endpoint_auth_methods_supported()
        .is_some_and(|m| {
            m.contains(&CoreClientAuthMethod::ClientSecretPost)
                && !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
        });
    let redirect = RedirectUrl::new(format!(
        "{}/api/v1/oidc/callback",
        ctx.config.public_url.trim_end_matches('/')
    ))
    .map_err(|_| Failure::Internal)?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(oidc.client_id.clone().unwrap_or_default()),
        oidc.client_secret
            .as_ref()
            .map(|s| ClientSecret::new(s.expose().to_owned())),
    )
    .set_redirect_uri(redirect);
    Ok(if post_only {
        client.set_auth_type(AuthType::RequestBody)
    } else {
        client
    })
}

/// Step 1: the provider's authorization URL, the attempt kept sealed.
/// Counted in the client's login budget: each start stores a row and
/// costs a request to the provider.
pub async fn start(
    ctx: &Context,
    client: ClientKey,
) -> Result<Result<Started, Failure>, DomainError> {
    if !ctx.config.oidc.enabled() {
        return Err(not_configured());
    }
    ctx.spend(ctx.login_budget(), &client.bytes()).await?;
    Ok(start_attempt(ctx).await)
}

async fn start_attempt(ctx: &Context) -> Result<Started, Failure> {
    let http = http_client()?;
    let client = client(ctx, &http).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            || CsrfToken::new(random_token()),
            || Nonce::new(random_token()),
        )
        .set_pkce_challenge(challenge);
    for scope in ctx.config.oidc.scopes.split_whitespace() {
        if scope != "openid" {
            request = request.add_scope(Scope::new(scope.to_owned()));
        }
    }
    let (url, state, nonce) = request.url();
    let attempt = Attempt {
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
    };
    let plain =
        zeroize::Zeroizing::new(serde_json::to_vec(&attempt).map_err(|_| Failure::Internal)?);
    let id = random_hex();
    let sealed = ctx.keys.login_state.seal(
        &mut OsRng,
        format!("{ATTEMPT_CONTEXT}{id}").as_bytes(),
        &plain,
    );
    ctx.store
        .put_oidc_attempt(&id, &sealed, Timestamp::now().plus_ms(ATTEMPT_MS))
        .await?;
    Ok(Started {
        redirect: url.to_string(),
        attempt_id: id,
    })
}

/// What the provider sent back in the callback's query.
#[derive(Debug, Default)]
pub struct Callback {
    /// The authorization code.
    pub code: Option<String>,
    /// The state the attempt sent.
    pub state: Option<String>,
    /// The provider's error, if it refused.
    pub error: Option<String>,
}

/// Where a finished sign-in leads.
#[derive(Debug)]
pub enum Finished {
    /// A known member: his new session.
    SignedIn(SessionToken),
    /// A first sign-in: the enrollment token (for `/enroll#TOKEN`), where
    /// he sets up his key.
    Enroll(String),
}

/// Step 2: the callback. `attempt_id` is the cookie's.
pub async fn finish(
    ctx: &Context,
    attempt_id: Option<&str>,
    callback: Callback,
) -> Result<Result<Finished, Failure>, DomainError> {
    if !ctx.config.oidc.enabled() {
        return Err(not_configured());
    }
    Ok(finish_attempt(ctx, attempt_id, callback).await)
}

async fn finish_attempt(
    ctx: &Context,
    attempt_id: Option<&str>,
    callback: Callback,
) -> Result<Finished, Failure> {
    // The attempt is used up whatever follows: a callback finishes once.
    let attempt = match attempt_id.filter(|id| is_attempt_id(id)) {
        Some(id) => match ctx.store.take_oidc_attempt(id, Timestamp::now()).await? {
            Some(sealed) => {
                let plain = ctx
                    .keys
                    .login_state
                    .open(format!("{ATTEMPT_CONTEXT}{id}").as_bytes(), &sealed)
                    .map_err(|_| Failure::State)?;
                serde_json::from_slice::<Attempt>(&plain).map_err(|_| Failure::State)?
            }
            None => return Err(Failure::State),
        },
        None => return Err(Failure::State),
    };
    let given = callback.state.unwrap_or_default();
    // Compared as digests: no early exit on the secret.
    if Sha256::digest(given.as_bytes()) != Sha256::digest(attempt.state.as_bytes()) {
        return Err(Failure::State);
    }
    if let Some(error) = callback.error {
        tracing::info!(error = %error.chars().take(64).collect::<String>(), "oidc: the provider refused");
        return Err(Failure::Provider);
    }
    let code = callback.code.ok_or(Failure::Provider)?;
    let http = http_client()?;
    let client = client(ctx, &http).await?;
    let response = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|_| Failure::Issuer)?
        .set_pkce_verifier(PkceCodeVerifier::new(attempt.verifier))
        .request_async(&http)
        .await
        .map_err(|e| {
            // The provider's error code only: a parse error could quote
            // the body, and the body holds tokens.
            let kind = match &e {
                openidconnect::RequestTokenError::ServerResponse(r) => r.error().to_string(),
                openidconnect::RequestTokenError::Request(_) => "request".into(),
                openidconnect::RequestTokenError::Parse(..) => "unreadable answer".into(),
                openidconnect::RequestTokenError::Other(_) => "other".into(),
            };
            tracing::warn!(error = %kind, "oidc: the token request failed");
            Failure::Provider
        })?;
    let id_token = response.id_token().ok_or(Failure::Token)?;
    let verifier = client.id_token_verifier().set_allowed_algs([
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::RsaSsaPssSha256,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        CoreJwsSigningAlgorithm::EcdsaP384Sha384,
        CoreJwsSigningAlgorithm::EdDsa,
    ]);
    let claims = id_token
        .claims(&verifier, &Nonce::new(attempt.nonce))
        .map_err(|e| {
            tracing::warn!(error = %e, "oidc: the ID token did not verify");
            Failure::Token
        })?;
    let issuer = claims.issuer().as_str().to_owned();
    let subject = claims.subject().as_str().to_owned();
    // The mapped claims by name, from the token just verified.
    let payload = token_payload(&id_token.to_string()).ok_or(Failure::Token)?;
    signed_in(ctx, &issuer, &subject, &payload).await
}

/// The name the database keeps for an account at the provider:
/// HMAC-SHA256 under the blind-index key, never the pair itself (a subject
/// may be the member's address, or an id that follows him from site to
/// site). The blind index normalises case, so the pair goes in as
/// lower-case hex, each part on its own: the subject's case matters, and
/// no two pairs give the same text. No address has a space in it, so this
/// text never meets an address's blind index.
pub fn account_hash(key: &BlindIndexKey, issuer: &str, subject: &str) -> [u8; 32] {
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    key.email(&format!("oidc account {} {}", hex(issuer), hex(subject)))
}

/// Hashes the provider accounts still kept in clear (linked before
/// migration 0015), at start, before any sign-in. Each would also be
/// hashed at its next sign-in; this leaves none waiting for one.
pub async fn hash_clear_accounts(store: &Store, key: &BlindIndexKey) -> Result<usize, StoreError> {
    let clear = store.clear_oidc_accounts().await?;
    for (issuer, subject) in &clear {
        store
            .hash_oidc_account(&account_hash(key, issuer, subject), issuer, subject)
            .await?;
    }
    if !clear.is_empty() {
        tracing::info!(
            accounts = clear.len(),
            "hashed provider accounts kept in clear"
        );
    }
    Ok(clear.len())
}

/// A sign-in id: 32 lower-case hex digits (anything else is no attempt).
fn is_attempt_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The claims of a JWT whose signature was checked already.
fn token_payload(jwt: &str) -> Option<serde_json::Value> {
    use base64ct::Encoding;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64ct::Base64UrlUnpadded::decode_vec(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

async fn signed_in(
    ctx: &Context,
    issuer: &str,
    subject: &str,
    claims: &serde_json::Value,
) -> Result<Finished, Failure> {
    let account = account_hash(&ctx.keys.blind_index, issuer, subject);
    let linked = ctx.store.oidc_member_id(&account, issuer, subject).await?;
    if let Some(id) = &linked {
        if let Some(member) = ctx.store.member_by_id(id).await? {
            if ctx.store.member_disabled(&member.id).await? {
                return Err(Failure::Disabled);
            }
            tracing::info!(member = %member.id, "member signed in with the site's account");
            let token = sessions::open(ctx, SessionOwner::Member(member.id)).await?;
            return Ok(Finished::SignedIn(token));
        }
    }
    // First sign-in (or an enrollment left unfinished): an invitation to
    // set up his key, under the id the link names.
    let profile = Profile::from_claims(&ctx.config.oidc.claims, claims).ok_or(Failure::Claims)?;
    let now = Timestamp::now();
    let member_id = match linked {
        Some(id) => {
            // His earlier invitation, under whatever handle the site's
            // user name gave then, makes way for this one.
            ctx.store.delete_invite_of(&id).await?;
            id
        }
        None => {
            // Linked first: should the invitation fail (a handle taken),
            // the next sign-in comes back to this same id instead of
            // leaving an invitation no link leads to. A link that never
            // gets a member is swept with the invitations.
            let id = MemberId::generate();
            ctx.store
                .link_oidc(&account, issuer, subject, &id, now)
                .await?;
            id
        }
    };
    // No verified address: the invitation carries none, and the
    // enrollment page asks him for it.
    let email = profile
        .email
        .as_ref()
        .map_or(admin::NO_ADDRESS, |e| e.as_str().as_bytes());
    let invite = Invite {
        member_id,
        handle: profile.handle,
        display_name: profile.display_name,
        email_sealed: ctx
            .keys
            .member_email
            .seal(&mut OsRng, member_id.to_hex().as_bytes(), email),
        created_by: "oidc".into(),
        created_at: now,
        expires_at: now.plus_ms(ENROLL_MS),
    };
    let token = random_token();
    match ctx
        .store
        .create_invite(&invite, &invites::token_hash(&token), None, now)
        .await
    {
        Ok(_) => {}
        Err(StoreError::Conflict(Unique::Handle)) => return Err(Failure::HandleTaken),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(member = %member_id, "first sign-in with the site's account: enrollment");
    Ok(Finished::Enroll(token))
}

/// A new member's profile, from the site's claims.
#[derive(Debug, PartialEq, Eq)]
struct Profile {
    handle: Handle,
    display_name: DisplayName,
    /// His address, only if the provider says it verified it.
    email: Option<Email>,
}

impl Profile {
    fn from_claims(
        names: &crate::config::OidcClaims,
        claims: &serde_json::Value,
    ) -> Option<Profile> {
        let text = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
        let handle = normalised_handle(text(&names.handle)?)?;
        let display_name = text(&names.display_name)
            .map(|n| n.split_whitespace().collect::<Vec<_>>().join(" "))
            .and_then(|n| DisplayName::parse(&n).ok())
            .or_else(|| DisplayName::parse(handle.as_str()).ok())?;
        // An address the provider has not verified is anybody's typing: it
        // must not become where his notices go unseen. Only an explicit
        // `email_verified: true` counts (some providers send the string
        // "true"); false, absent or anything else leaves the address out,
        // and the enrollment page asks him for one. A missing or
        // malformed address is left out the same way.
        let verified = match claims.get("email_verified") {
            Some(serde_json::Value::Bool(b)) => *b,
            Some(serde_json::Value::String(s)) => s == "true",
            _ => false,
        };
        let email = text(&names.email)
            .filter(|_| verified)
            .and_then(|e| Email::parse(e.trim()).ok());
        Some(Profile {
            handle,
            display_name,
            email,
        })
    }
}

/// A handle from the site's user name: the part before an `@`, lower case,
/// each run of other characters a `-`, no `-` at either end, at most 32
/// characters. `None` if what is left breaks the handle rule (too short).
fn normalised_handle(name: &str) -> Option<Handle> {
    let local = name.split('@').next().unwrap_or_default();
    let mut handle = String::new();
    for c in local.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            handle.push(c);
        } else if !handle.ends_with('-') && !handle.is_empty() {
            handle.push('-');
        }
    }
    let handle: String = handle.trim_end_matches('-').chars().take(32).collect();
    Handle::parse(handle.trim_end_matches('-')).ok()
}

#[cfg(test)]
mod tests {
    use super::{account_hash, normalised_handle, Profile};
    use crate::config::OidcClaims;
    use latchkey_core::server::RootSecret;

    #[test]
    fn accounts_are_hashed_apart_by_case_and_by_where_the_pair_splits() {
        let key = RootSecret::from_bytes([7; 32]).blind_index_key();
        let h = |i: &str, s: &str| account_hash(&key, i, s);
        let issuer = "https://id.example.org";
        assert_eq!(h(issuer, "Ab3"), h(issuer, "Ab3"));
        // Subjects are case-sensitive (the blind index of an address is not).
        assert_ne!(h(issuer, "Ab3"), h(issuer, "ab3"));
        assert_ne!(h("https://a.example", "bc"), h("https://a.exampleb", "c"));
        assert_ne!(h(issuer, "x"), h("https://other.example.org", "x"));
        // Another key, another hash: the database alone names no account.
        let other = RootSecret::from_bytes([8; 32]).blind_index_key();
        assert_ne!(h(issuer, "x"), account_hash(&other, issuer, "x"));
    }

    fn names() -> OidcClaims {
        OidcClaims {
            handle: "preferred_username".into(),
            display_name: "name".into(),
            email: "email".into(),
        }
    }

    #[test]
    fn handles_are_normalised() {
        let h = |s: &str| normalised_handle(s).map(|h| h.as_str().to_owned());
        assert_eq!(h("Alice").as_deref(), Some("alice"));
        assert_eq!(h("alice.smith@example.org").as_deref(), Some("alice-smith"));
        assert_eq!(h("  Bob  O'Neil ").as_deref(), Some("bob-o-neil"));
        assert_eq!(h("__x_y__").as_deref(), Some("x-y"));
        assert_eq!(h(&"a".repeat(40)).map(|s| s.len()), Some(32));
        assert_eq!(
            h(&format!("{}-b", "a".repeat(31))).as_deref(),
            Some(&*"a".repeat(31))
        );
        assert_eq!(h("jo"), None);
        assert_eq!(h("Ünïcode"), Some("n-code".into()));
        assert_eq!(h("@@@"), None);
    }

    #[test]
    fn claims_map_to_a_profile() {
        let claims = serde_json::json!({
            "sub": "248289761001",
            "preferred_username": "Jane.Doe",
            "name": "  Jane   Doe ",
            "email": "jane@example.org",
            "email_verified": true,
            "nickname": "jd-42",
        });
        let p = Profile::from_claims(&names(), &claims).unwrap();
        assert_eq!(p.handle.as_str(), "jane-doe");
        assert_eq!(p.display_name.as_str(), "Jane Doe");
        assert_eq!(p.email.unwrap().as_str(), "jane@example.org");
        let other = OidcClaims {
            handle: "nickname".into(),
            ..names()
        };
        assert_eq!(
            Profile::from_claims(&other, &claims)
                .unwrap()
                .handle
                .as_str(),
            "jd-42"
        );
        // No name: the handle stands in; no handle: no profile.
        let bare = serde_json::json!({"preferred_username": "jane", "email": "jane@example.org", "email_verified": "true"});
        assert_eq!(
            Profile::from_claims(&names(), &bare)
                .unwrap()
                .display_name
                .as_str(),
            "jane"
        );
        assert!(Profile::from_claims(
            &names(),
            &serde_json::json!({"email": "j@example.org", "email_verified": true})
        )
        .is_none());
        // An address the provider has not verified (false, absent, not
        // a yes), or none: a profile without one, for the page to ask.
        let email = |claims: serde_json::Value| {
            Profile::from_claims(&names(), &claims)
                .unwrap()
                .email
                .map(|e| e.as_str().to_owned())
        };
        assert_eq!(
            email(serde_json::json!({"preferred_username": "jane", "email": "jane@example.org", "email_verified": true})).as_deref(),
            Some("jane@example.org")
        );
        for verified in [
            serde_json::json!(false),
            serde_json::json!("false"),
            serde_json::json!(1),
            serde_json::json!(null),
        ] {
            let claims = serde_json::json!({"preferred_username": "jane", "email": "jane@example.org", "email_verified": verified});
            assert_eq!(email(claims), None, "email_verified: {verified}");
        }
        assert_eq!(
            email(serde_json::json!({"preferred_username": "jane", "email": "jane@example.org"})),
            None
        );
        assert_eq!(
            email(serde_json::json!({"preferred_username": "jane", "email_verified": true})),
            None
        );
        assert_eq!(
            email(
                serde_json::json!({"preferred_username": "jane", "email": "not an address", "email_verified": true})
            ),
            None
        );
    }
}
