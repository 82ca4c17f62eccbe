//! Members: OPAQUE registration and login (the server never sees a
//! password), sign-out, the profile, password change, and the public
//! profile a contact page shows.

use latchkey_api::{DisplayName, Email, ErrorCode, Handle, LoginId, RegisterFinish};
use latchkey_core::opaque::{PasswordFile, ServerLogin};
use latchkey_core::{IdentityPublic, OsRng};
use sha2::{Digest, Sha256};

use super::identity_proofs::{self, IdentityChallengeIssued};
use super::invites;
use super::passwords::{
    check_sealed_identity, password_file, registration_response, require_recent_sign_in,
};
use super::recovery::checked_recovery;
use super::sessions::{self, SessionToken};
use super::{Budget, ClientKey, Context, DomainError, MINUTE};
use crate::config::RegistrationPolicy;
use crate::i18n::Language;
use crate::random::random_hex;
use crate::store::{Member, MemberId, MemberPassword, Session, SessionOwner, Timestamp};

/// How long the server waits between the two login requests.
const LOGIN_WINDOW_MS: i64 = 60_000;

/// Who may register is the configuration's policy: anyone, those with the
/// operator's code, or nobody (a public server with neither setting).
fn check_registration_code(ctx: &Context, given: Option<&str>) -> Result<(), DomainError> {
    match ctx.config.registration_policy() {
        RegistrationPolicy::Open => Ok(()),
        RegistrationPolicy::Closed => Err(DomainError::new(
            ErrorCode::RegistrationClosed,
            "Registration is closed here: the site's operator adds members.",
        )),
        RegistrationPolicy::Code => {
            let code = ctx.config.registration_code.as_ref().map(|c| c.expose());
            // Compared as digests: equal-length, and no early exit on the
            // secret.
            let digest = |text: &str| Sha256::digest(text.as_bytes());
            if given.zip(code).is_some_and(|(g, c)| digest(g) == digest(c)) {
                Ok(())
            } else {
                Err(DomainError::new(
                    ErrorCode::RegistrationClosed,
                    "Registering here needs a registration code from the site's operator.",
                ))
            }
        }
    }
}

/// What step 1 of registration answers.
#[derive(Debug)]
pub struct RegistrationStarted {
    /// The OPAQUE response to the blinded password.
    pub response: Vec<u8>,
    /// The identity challenge and the token that carries it to step 2.
    pub identity: IdentityChallengeIssued,
}

/// Step 1 of registration: the OPAQUE response to the blinded password,
/// and a challenge for the new identity key.
pub async fn register_start(
    ctx: &Context,
    client: ClientKey,
    registration_code: Option<&str>,
    invite: Option<&str>,
    handle: &Handle,
    request: &[u8],
) -> Result<RegistrationStarted, DomainError> {
    ctx.spend(ctx.login_budget(), &client.bytes()).await?;
    match invite {
        // An invitation is the site's own word: no registration code.
        Some(token) => {
            invites::live(ctx, token, Some(handle)).await?;
        }
        None => {
            check_registration_code(ctx, registration_code)?;
            invites::check_not_reserved(ctx, handle).await?;
        }
    }
    Ok(RegistrationStarted {
        response: registration_response(ctx, request, handle.as_str())?,
        identity: identity_proofs::issue(ctx, handle)?,
    })
}

/// Step 2 of registration: checks step 1's token and the proof of holding
/// the identity key, then stores the password file, the public key and the
/// sealed private key; the member is signed in. His notices are in
/// `language` (his request's) until he signs in with another.
pub async fn register_finish(
    ctx: &Context,
    client: ClientKey,
    input: RegisterFinish,
    language: Language,
) -> Result<(Member, SessionToken), DomainError> {
    ctx.spend(ctx.login_budget(), &client.bytes()).await?;
    let invite = match input.invite.as_deref() {
        Some(token) => Some(invites::live(ctx, token, Some(&input.handle)).await?),
        None => {
            check_registration_code(ctx, input.registration_code.as_deref())?;
            invites::check_not_reserved(ctx, &input.handle).await?;
            None
        }
    };
    let file = password_file(&input.upload.0)?;
    let identity = IdentityPublic::from_slice(&input.identity_public.0)
        .map_err(|e| DomainError::new(ErrorCode::InvalidPublicKey, e.to_string()))?;
    identity_proofs::check(
        ctx,
        &input.handle,
        &input.registration_token.0,
        &identity,
        &input.identity_proof.0,
    )?;
    check_sealed_identity(&input.sealed_identity.0)?;
    let recovery = checked_recovery(input.recovery_sealed_identity, input.recovery_proof)?;
    // An invited member gets the id his invitation reserved.
    let id = invite
        .as_ref()
        .map_or_else(MemberId::generate, |invite| invite.member_id);
    let member = Member {
        email_sealed: seal_member_email(ctx, &id, &input.email),
        id,
        handle: input.handle,
        display_name: input.display_name,
        password: Some(MemberPassword {
            file: file.as_bytes().to_vec(),
            sealed_identity: input.sealed_identity.0,
        }),
        identity_public: input.identity_public.0,
        created_at: Timestamp::now(),
        recovery,
        language,
    };
    match input.invite.as_deref() {
        Some(token) => {
            if !ctx
                .store
                .enroll(&member, None, &invites::token_hash(token), Timestamp::now())
                .await?
            {
                return Err(invites::invalid());
            }
            tracing::info!(member = %member.id, "invited member enrolled");
        }
        None => {
            ctx.store.create_member(&member).await?;
            tracing::info!(member = %member.id, "member registered");
        }
    }
    let token = sessions::open(ctx, SessionOwner::Member(member.id)).await?;
    Ok((member, token))
}

/// A member's address as stored: sealed with the member-email key, the
/// id's hex text as the sealing context.
pub(super) fn seal_member_email(ctx: &Context, id: &MemberId, email: &Email) -> Vec<u8> {
    ctx.keys.member_email.seal(
        &mut OsRng,
        id.to_hex().as_bytes(),
        email.as_str().as_bytes(),
    )
}

/// The server's half of a login in progress.
#[derive(Debug)]
pub struct LoginChallenge {
    /// Names the attempt in step 2.
    pub login_id: LoginId,
    /// OPAQUE KE2.
    pub response: Vec<u8>,
}

/// Whether a password login may start. With `auth.local_passwords` off a
/// password signs nobody in, but it still unlocks the key of a member the
/// site already signed in: the unlock page logs in again with the
/// password, carrying his session. Without that, a member who set up his
/// key with a password at enrollment could never use it.
pub async fn check_password_login(
    ctx: &Context,
    signed_in: Option<MemberId>,
    handle: &Handle,
) -> Result<(), DomainError> {
    if ctx.config.auth.local_passwords {
        return Ok(());
    }
    let refused = || {
        DomainError::new(
            ErrorCode::PasswordsDisabled,
            "Signing in with a password is turned off here. Sign in with the site's account; your password then unlocks your key.",
        )
    };
    let Some(member) = signed_in else {
        return Err(refused());
    };
    match ctx.store.member_by_id(&member).await? {
        Some(m) if m.handle == *handle => Ok(()),
        _ => Err(refused()),
    }
}

/// Every sign-in with a handle (password or passkey) spends the client's
/// login budget and the handle's, known or not (the same answer either
/// way): many addresses guessing one member's password share the second.
/// Not spent by registration or recovery, which have their own checks.
pub(super) async fn spend_sign_in_budgets(
    ctx: &Context,
    client: ClientKey,
    handle: &Handle,
) -> Result<(), DomainError> {
    ctx.spend(ctx.login_budget(), &client.bytes()).await?;
    ctx.spend(
        Budget {
            name: "login-handle",
            limit: ctx.config.rate_limits.login_per_handle_per_minute,
            period: MINUTE,
        },
        handle.as_str().as_bytes(),
    )
    .await
}

/// Step 1 of login. An unknown handle gets an answer indistinguishable from
/// a real one; the login then fails at step 2 as for a wrong password.
pub async fn login_start(
    ctx: &Context,
    client: ClientKey,
    handle: &Handle,
    request: &[u8],
) -> Result<LoginChallenge, DomainError> {
    spend_sign_in_budgets(ctx, client, handle).await?;
    let member = ctx.store.member_by_handle(handle).await?;
    // A member without a password gets the unknown handle's answer.
    let file = member
        .as_ref()
        .and_then(|m| m.password.as_ref())
        .map(|p| PasswordFile::from_bytes(p.file.clone()))
        .transpose()
        .map_err(|e| DomainError::internal(&e))?;
    let (server_login, response) = ServerLogin::start(
        &mut OsRng,
        &ctx.keys.opaque,
        file.as_ref(),
        request,
        handle.as_str().as_bytes(),
    )
    .map_err(|e| DomainError::new(ErrorCode::InvalidOpaqueMessage, e.to_string()))?;
    let id = random_hex();
    let sealed = ctx
        .keys
        .login_state
        .seal(&mut OsRng, id.as_bytes(), &server_login.expose_state());
    ctx.store
        .put_login_attempt(
            &id,
            handle.as_str(),
            &sealed,
            Timestamp::now().plus_ms(LOGIN_WINDOW_MS),
        )
        .await?;
    let login_id = LoginId::parse(&id).ok_or_else(|| DomainError::internal(&"login id"))?;
    Ok(LoginChallenge { login_id, response })
}

pub(super) fn login_failed() -> DomainError {
    DomainError::new(
        ErrorCode::LoginFailed,
        "Wrong handle or password, or the login took too long. Try again.",
    )
}

/// Step 2 of login: checks the client's proof and opens a session. His
/// notices are in `language` (this sign-in's) from now on.
pub async fn login_finish(
    ctx: &Context,
    login_id: &LoginId,
    finalization: &[u8],
    language: Language,
) -> Result<(Member, SessionToken), DomainError> {
    let (handle, sealed) = ctx
        .store
        .take_login_attempt(login_id.as_str(), Timestamp::now())
        .await?
        .ok_or_else(login_failed)?;
    // A passkey sign-in's attempt (sealed under another key) does not open
    // here: it is a failed login like any other.
    let state = ctx
        .keys
        .login_state
        .open(login_id.as_str().as_bytes(), &sealed)
        .map_err(|_| login_failed())?;
    let server_login = ServerLogin::from_state(&state).map_err(|e| DomainError::internal(&e))?;
    server_login
        .finish(finalization)
        .map_err(|_| login_failed())?;
    // The attempt stored the canonical handle it was started with.
    let handle = Handle::parse(&handle).map_err(|_| login_failed())?;
    let member = ctx
        .store
        .member_by_handle(&handle)
        .await?
        .ok_or_else(login_failed)?;
    sign_in(ctx, member, language, "password").await
}

/// Opens a session for a member who proved himself (`how`: for the log),
/// unless the site disabled him. His notices are in `language` from now on.
pub(super) async fn sign_in(
    ctx: &Context,
    mut member: Member,
    language: Language,
    how: &'static str,
) -> Result<(Member, SessionToken), DomainError> {
    check_enabled(ctx, &member).await?;
    if member.language != language {
        ctx.store.set_member_language(&member.id, language).await?;
        member.language = language;
    }
    tracing::info!(member = %member.id, how, "member signed in");
    let token = sessions::open(ctx, SessionOwner::Member(member.id)).await?;
    Ok((member, token))
}

/// The member a session belongs to.
pub async fn me(ctx: &Context, member: MemberId) -> Result<Member, DomainError> {
    ctx.store
        .member_by_id(&member)
        .await?
        .ok_or_else(|| DomainError::new(ErrorCode::NotSignedIn, "This account no longer exists."))
}

/// Changes the display name.
pub async fn rename(
    ctx: &Context,
    member: MemberId,
    name: &DisplayName,
) -> Result<Member, DomainError> {
    ctx.store.set_display_name(&member, name).await?;
    me(ctx, member).await
}

/// Step 1 of a password change: as registration, for the signed-in member.
pub async fn password_start(
    ctx: &Context,
    session: &Session,
    member: MemberId,
    request: &[u8],
) -> Result<Vec<u8>, DomainError> {
    require_recent_sign_in(session)?;
    let member = me(ctx, member).await?;
    registration_response(ctx, request, member.handle.as_str())
}

/// Step 2 of a password change: the new password file and the private key
/// re-sealed under the new KEK, together. Other sessions end.
pub async fn password_finish(
    ctx: &Context,
    session: &Session,
    member: MemberId,
    upload: &[u8],
    sealed_identity: &[u8],
) -> Result<(), DomainError> {
    require_recent_sign_in(session)?;
    let file = password_file(upload)?;
    check_sealed_identity(sealed_identity)?;
    ctx.store
        .set_password(
            &member,
            file.as_bytes(),
            sealed_identity,
            &session.token_hash,
        )
        .await?;
    tracing::info!(member = %member, "password changed");
    Ok(())
}

/// The member with this handle, for his contact page.
pub async fn public_member(ctx: &Context, handle: &Handle) -> Result<Member, DomainError> {
    ctx.store
        .member_by_handle(handle)
        .await?
        .ok_or_else(|| DomainError::new(ErrorCode::UnknownMember, "No member has this handle."))
}

/// A member the site disabled cannot sign in (by any method) and takes no
/// messages: 403 `member_disabled`.
pub async fn check_enabled(ctx: &Context, member: &Member) -> Result<(), DomainError> {
    if ctx.store.member_disabled(&member.id).await? {
        return Err(disabled());
    }
    Ok(())
}

/// What a disabled member (and whoever writes to him) is told.
pub(crate) fn disabled() -> DomainError {
    DomainError::new(
        ErrorCode::MemberDisabled,
        "This member is disabled by the site: no sign-in, no messages.",
    )
}

/// The member with this handle and whether he takes messages, for his
/// contact page.
pub async fn contact_member(ctx: &Context, handle: &Handle) -> Result<(Member, bool), DomainError> {
    let member = public_member(ctx, handle).await?;
    let disabled = ctx.store.member_disabled(&member.id).await?;
    Ok((member, !disabled))
}
