//! The admin API for the site's backend: bearer tokens (made, listed and
//! revoked by the operator's `latchkey admin token …`, stored as SHA-256),
//! and what a token may do to members: list them, invite one, disable,
//! re-enable and delete one. Every call is logged with the token's name,
//! never the token.

use latchkey_api::endpoints::SCOPES;
use latchkey_api::{DisplayName, Email, ErrorCode, Handle, MemberStatus};
use latchkey_core::OsRng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::invites::{self, INVITE_TTL_MS};
use super::{accounts, notices, Context, DomainError};
use crate::i18n::Language;
use crate::random::random_token;
use crate::store::{ApiToken, Invite, MemberId, Store, Timestamp};

/// A new token: shown once by the CLI, never stored or logged.
pub struct TokenSecret(Zeroizing<String>);

impl TokenSecret {
    /// The token, to print once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSecret(***)")
    }
}

/// Tokens start with this, so a secret scanner (and a person) can tell one.
const TOKEN_PREFIX: &str = "lkadm_";

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Why the operator's token command refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The name does not fit.
    #[error("a token name has 1 to 64 characters: letters, digits, '-', '_' and '.'")]
    BadName,
    /// No scope, or one that does not exist.
    #[error("unknown scope {0:?}; the scopes are {scopes}", scopes = SCOPES.join(", "))]
    BadScope(String),
    /// The name is taken (names are never reused).
    #[error("a token named {0:?} exists (or existed); choose another name")]
    NameTaken(String),
    /// No live token has the name.
    #[error("no live token is named {0:?}")]
    Unknown(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

fn check_name(name: &str) -> Result<(), TokenError> {
    let fits = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if fits {
        Ok(())
    } else {
        Err(TokenError::BadName)
    }
}

/// Makes a token with these scopes (`members:read`, `members:write`).
pub async fn create_token(
    store: &Store,
    name: &str,
    scopes: &[String],
) -> Result<TokenSecret, TokenError> {
    check_name(name)?;
    let mut known: Vec<&'static str> = Vec::new();
    for scope in scopes {
        let scope = scope.trim();
        let found = SCOPES
            .iter()
            .find(|s| **s == scope)
            .ok_or_else(|| TokenError::BadScope(scope.to_owned()))?;
        if !known.contains(found) {
            known.push(found);
        }
    }
    if known.is_empty() {
        return Err(TokenError::BadScope(String::new()));
    }
    let secret = TokenSecret(Zeroizing::new(format!("{TOKEN_PREFIX}{}", random_token())));
    if !store
        .create_api_token(name, &token_hash(secret.expose()), &known, Timestamp::now())
        .await?
    {
        return Err(TokenError::NameTaken(name.to_owned()));
    }
    Ok(secret)
}

/// Every token (revoked ones too), by name.
pub async fn list_tokens(store: &Store) -> Result<Vec<ApiToken>, TokenError> {
    Ok(store.api_tokens().await?)
}

/// Revokes a token: it authenticates nothing from now on.
pub async fn revoke_token(store: &Store, name: &str) -> Result<(), TokenError> {
    if store.revoke_api_token(name, Timestamp::now()).await? {
        Ok(())
    } else {
        Err(TokenError::Unknown(name.to_owned()))
    }
}

/// The caller of an admin operation: the token's name, for the log.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The token's name.
    pub name: String,
}

fn bad_token() -> DomainError {
    DomainError::new(
        ErrorCode::BadToken,
        "Send a live admin API token: Authorization: Bearer <token>.",
    )
}

/// Checks a bearer token (or its absence) and the scope the operation
/// needs: 401 `bad_token`, 403 `missing_scope`.
pub async fn authenticate(
    ctx: &Context,
    bearer: Option<&str>,
    scope: &str,
) -> Result<Caller, DomainError> {
    let bearer = bearer.filter(|t| !t.is_empty()).ok_or_else(bad_token)?;
    let token = ctx
        .store
        .use_api_token(&token_hash(bearer), Timestamp::now())
        .await?
        .ok_or_else(bad_token)?;
    if !token.scopes.iter().any(|s| s == scope) {
        tracing::info!(token = %token.name, scope, "admin call without its scope");
        return Err(DomainError::new(
            ErrorCode::MissingScope,
            format!("This token lacks the scope {scope}."),
        ));
    }
    Ok(Caller { name: token.name })
}

/// A member or a pending invitation, as the admin API shows it.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Handle.
    pub handle: Handle,
    /// Display name.
    pub display_name: DisplayName,
    /// Where he stands.
    pub status: MemberStatus,
    /// Registration or invitation time.
    pub created_at: Timestamp,
}

fn invited(invite: &Invite) -> Entry {
    Entry {
        handle: invite.handle.clone(),
        display_name: invite.display_name.clone(),
        status: MemberStatus::Invited,
        created_at: invite.created_at,
    }
}

/// Every member and live invitation, by handle.
pub async fn list(ctx: &Context, caller: &Caller) -> Result<Vec<Entry>, DomainError> {
    let mut entries: Vec<Entry> = ctx
        .store
        .members_with_state()
        .await?
        .into_iter()
        .map(|(member, disabled_at)| Entry {
            handle: member.handle,
            display_name: member.display_name,
            status: if disabled_at.is_some() {
                MemberStatus::Disabled
            } else {
                MemberStatus::Active
            },
            created_at: member.created_at,
        })
        .collect();
    entries.extend(
        ctx.store
            .invites(Timestamp::now())
            .await?
            .iter()
            .map(invited),
    );
    entries.sort_by(|a, b| a.handle.as_str().cmp(b.handle.as_str()));
    tracing::info!(token = %caller.name, count = entries.len(), "admin: members listed");
    Ok(entries)
}

fn unknown() -> DomainError {
    DomainError::new(ErrorCode::UnknownMember, "No member has this handle.")
}

/// The member or live invitation with this handle.
pub async fn get(ctx: &Context, caller: &Caller, handle: &Handle) -> Result<Entry, DomainError> {
    tracing::info!(token = %caller.name, handle = %handle.as_str(), "admin: member read");
    entry(ctx, handle).await
}

async fn entry(ctx: &Context, handle: &Handle) -> Result<Entry, DomainError> {
    if let Some(member) = ctx.store.member_by_handle(handle).await? {
        let disabled = ctx.store.member_disabled(&member.id).await?;
        return Ok(Entry {
            handle: member.handle,
            display_name: member.display_name,
            status: if disabled {
                MemberStatus::Disabled
            } else {
                MemberStatus::Active
            },
            created_at: member.created_at,
        });
    }
    let invite = ctx
        .store
        .invite_by_handle(handle, Timestamp::now())
        .await?
        .ok_or_else(unknown)?;
    Ok(invited(&invite))
}

/// A new invitation: its entry, the enrollment token (a secret: it goes
/// into the answer's link and the mail, nowhere else) and its expiry.
#[derive(Debug)]
pub struct NewInvite {
    /// The invited member.
    pub entry: Entry,
    /// The enrollment token.
    pub token: TokenSecret,
    /// When the link stops working.
    pub expires_at: Timestamp,
    /// Whether its mail was queued.
    pub emailed: bool,
    /// The language it is written in.
    pub language: Language,
}

/// The language an invitation asks for (a language tag), matched as a
/// browser's `Accept-Language` is: `de-AT` finds `de`, and a language the
/// server has no texts for is English (the answer names the language
/// used). No tag is English, the server's default. A tag that is not one
/// (`de;q=1`, `??`) is refused, so that a caller's mistake is not quietly
/// English.
pub fn invite_language(tag: Option<&str>) -> Result<Language, DomainError> {
    let Some(tag) = tag else {
        return Ok(Language::default());
    };
    let well_formed = tag.len() <= 35
        && tag.split('-').enumerate().all(|(i, part)| {
            (1..=8).contains(&part.len())
                && if i == 0 {
                    part.bytes().all(|b| b.is_ascii_alphabetic())
                } else {
                    part.bytes().all(|b| b.is_ascii_alphanumeric())
                }
        });
    if !well_formed {
        return Err(DomainError::new(
            ErrorCode::InvalidField,
            "language: not a language tag (like de or de-AT).",
        ));
    }
    Ok(Language::negotiate(None, Some(tag)))
}

/// Invites a member: reserves the handle, seals the address under the id
/// his member row will have, and (with `send_email`) queues the link's
/// mail in the same transaction.
pub async fn invite(
    ctx: &Context,
    caller: &Caller,
    handle: Handle,
    display_name: DisplayName,
    email: &Email,
    send_email: bool,
    language: Language,
) -> Result<NewInvite, DomainError> {
    let member_id = MemberId::generate();
    let now = Timestamp::now();
    let invite = Invite {
        email_sealed: ctx.keys.member_email.seal(
            &mut OsRng,
            member_id.to_hex().as_bytes(),
            email.as_str().as_bytes(),
        ),
        member_id,
        handle,
        display_name,
        created_by: caller.name.clone(),
        created_at: now,
        expires_at: now.plus_ms(INVITE_TTL_MS),
    };
    let token = TokenSecret(Zeroizing::new(random_token()));
    let mail = send_email.then(|| {
        notices::invite(
            ctx,
            email.as_str(),
            &invite.display_name,
            token.expose(),
            language,
        )
    });
    let emailed = ctx
        .store
        .create_invite(
            &invite,
            &invites::token_hash(token.expose()),
            mail.as_ref(),
            now,
        )
        .await?;
    tracing::info!(
        token = %caller.name,
        member = %invite.member_id,
        emailed,
        language = language.tag(),
        "admin: member invited"
    );
    Ok(NewInvite {
        entry: invited(&invite),
        token,
        expires_at: invite.expires_at,
        emailed,
        language,
    })
}

/// Disables a member (`true`) or re-enables him (`false`).
pub async fn set_disabled(
    ctx: &Context,
    caller: &Caller,
    handle: &Handle,
    disabled: bool,
) -> Result<Entry, DomainError> {
    let member = accounts::public_member(ctx, handle).await?;
    ctx.store
        .set_member_disabled(&member.id, disabled.then(Timestamp::now))
        .await?;
    tracing::info!(
        token = %caller.name,
        member = %member.id,
        disabled,
        "admin: member {}",
        if disabled { "disabled" } else { "enabled" }
    );
    entry(ctx, handle).await
}

/// Deletes a member with all his conversations, or withdraws an invitation.
pub async fn delete(ctx: &Context, caller: &Caller, handle: &Handle) -> Result<(), DomainError> {
    if let Some(member) = ctx.store.member_by_handle(handle).await? {
        ctx.store.delete_member(&member.id).await?;
        tracing::info!(token = %caller.name, member = %member.id, "admin: member deleted");
        return Ok(());
    }
    if ctx.store.delete_invite(handle).await? {
        tracing::info!(token = %caller.name, "admin: invitation withdrawn");
        return Ok(());
    }
    Err(unknown())
}

/// Whom an enrollment link is for: handle, name and address (opened from
/// its seal; `None` for the empty address of an invitation that has none,
/// see [`NO_ADDRESS`]), so the page can fill in the registration.
pub async fn enrollment(
    ctx: &Context,
    client: super::ClientKey,
    token: &str,
) -> Result<(Invite, Option<String>), DomainError> {
    ctx.spend(ctx.login_budget(), &client.bytes()).await?;
    let invite = invites::live(ctx, token, None).await?;
    let email = ctx
        .keys
        .member_email
        .open(invite.member_id.to_hex().as_bytes(), &invite.email_sealed)
        .map_err(|e| DomainError::internal(&e))?;
    Ok((
        invite,
        (email.as_slice() != NO_ADDRESS).then(|| String::from_utf8_lossy(&email).into_owned()),
    ))
}

/// What an invitation seals in place of an address when it has none (a
/// first sign-in whose provider has not verified the member's address):
/// the empty text, which no address is. The enrollment page then asks him
/// for it; his own entry there is what becomes his notice address, as for
/// every enrollment.
pub const NO_ADDRESS: &[u8] = b"";

#[cfg(test)]
mod tests {
    use super::invite_language;

    #[test]
    fn an_invitation_language_is_a_tag_matched_like_a_browser_s() {
        let tag = |t: Option<&str>| invite_language(t).map(|l| l.tag());
        assert_eq!(tag(None).unwrap(), "en");
        assert_eq!(tag(Some("de")).unwrap(), "de");
        assert_eq!(tag(Some("DE-at")).unwrap(), "de");
        assert_eq!(tag(Some("fr")).unwrap(), "en");
        assert_eq!(tag(Some("zh-Hant-TW")).unwrap(), "en");
        for bad in [
            "",
            "de;q=1",
            "de,en",
            "-de",
            "de-",
            "d e",
            "12",
            "toolonglanguage",
        ] {
            assert!(tag(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
