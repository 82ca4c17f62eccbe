//! Webhook endpoints of the site's backend: added, listed and removed by
//! the operator (`latchkey admin webhook …`) or the admin API
//! (`webhooks:manage`). Each endpoint's secret is derived from the secrets
//! file and its id (`latchkey_core::webhook`): shown once when it is made,
//! stored nowhere. Delivery is `crate::webhooks`.
//!
//! These take the store and the webhook key rather than a [`super::Context`],
//! so that the CLI, which has no running server, shares them.

use latchkey_api::ErrorCode;
use latchkey_core::webhook::WebhookKey;
use zeroize::Zeroizing;

use super::DomainError;
use crate::model::Timestamp;
use crate::store::{Store, WebhookEndpoint};

/// A new endpoint and its secret (the `whsec_…` text).
pub struct NewWebhook {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// Its signing secret. Show it once; never log it.
    pub secret: Zeroizing<String>,
}

impl std::fmt::Debug for NewWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWebhook")
            .field("endpoint", &self.endpoint)
            .field("secret", &"***")
            .finish()
    }
}

fn bad_url(why: &str) -> DomainError {
    DomainError::new(
        ErrorCode::InvalidWebhookUrl,
        format!(
            "{why}. A webhook URL is https://HOST/PATH, or http:// to a loopback address \
             (127.0.0.1, [::1], localhost) for tests."
        ),
    )
}

/// Checks a receiver's URL: HTTPS (the body and the signature travel in
/// it), or plain HTTP to this machine only. No user name or password (it
/// would be stored and listed) and no fragment (never sent).
pub fn check_url(text: &str) -> Result<url::Url, DomainError> {
    let text = text.trim();
    if !(8..=2000).contains(&text.len()) {
        return Err(bad_url("The URL must have 8 to 2000 characters"));
    }
    let url = url::Url::parse(text).map_err(|e| bad_url(&format!("That is not a URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad_url("The URL must not carry a user name or password"));
    }
    if url.fragment().is_some() {
        return Err(bad_url("The URL must not have a fragment (#…)"));
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => return Err(bad_url("The URL has no host")),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(bad_url("Plain http:// is only for a loopback address")),
        other => Err(bad_url(&format!("The scheme {other}: is not https:"))),
    }
}

/// Adds an endpoint that receives the events from now on. `who` (the
/// token's name, or `cli`) goes to the log; the URL does not (it may carry
/// a receiver's token in its path).
pub async fn add(
    store: &Store,
    key: &WebhookKey,
    url: &str,
    who: &str,
) -> Result<NewWebhook, DomainError> {
    let url = check_url(url)?;
    let id = crate::random::random_hex();
    let endpoint = store
        .add_webhook(&id, url.as_str(), Timestamp::now())
        .await?;
    let secret = key.endpoint_secret(&id).expose_whsec();
    tracing::info!(token = %who, webhook = %id, "admin: webhook endpoint added");
    Ok(NewWebhook { endpoint, secret })
}

/// Every endpoint, oldest first.
pub async fn list(store: &Store) -> Result<Vec<WebhookEndpoint>, DomainError> {
    Ok(store.webhooks().await?)
}

/// Removes an endpoint by id.
pub async fn remove(store: &Store, id: &str, who: &str) -> Result<(), DomainError> {
    let id = id.trim();
    let well_formed = id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !well_formed || !store.remove_webhook(id).await? {
        return Err(DomainError::new(
            ErrorCode::UnknownWebhook,
            "No webhook endpoint has this id: list them to see their ids.",
        ));
    }
    tracing::info!(token = %who, webhook = %id, "admin: webhook endpoint removed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn https_anywhere_http_only_to_this_machine() {
        for good in [
            "https://example.org/hooks",
            "https://example.org:8443/a?b=c",
            "http://127.0.0.1:9000/hook",
            "http://[::1]:9000/",
            "http://localhost/x",
        ] {
            assert!(check_url(good).is_ok(), "{good}");
        }
        for bad in [
            "http://example.org/hooks",
            "http://10.0.0.1/",
            "ftp://example.org/x",
            "https://user:pw@example.org/",
            "https://example.org/#frag",
            "not a url at all",
            "https:/",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
