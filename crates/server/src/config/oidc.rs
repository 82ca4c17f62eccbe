//! The rules across the `oidc.*` and `auth.*` settings.

use super::{Config, ConfigError};

impl Config {
    pub(super) fn validate_oidc(&self) -> Result<(), ConfigError> {
        let oidc = &self.oidc;
        let Some(issuer) = &oidc.issuer else {
            if !self.auth.local_passwords {
                return Err(ConfigError::Invalid(
                    "auth.local_passwords = false leaves no way to sign in without \
                     oidc.issuer (the site's OpenID provider)"
                        .into(),
                ));
            }
            return Ok(());
        };
        let url = url::Url::parse(issuer)
            .map_err(|e| ConfigError::Invalid(format!("oidc.issuer: {e}")))?;
        // Tokens and the client secret travel to the provider: plain HTTP
        // only to this machine (a provider started by tests or for a trial).
        let loopback = match url.host() {
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if !(url.scheme() == "https" || url.scheme() == "http" && loopback) {
            return Err(ConfigError::Invalid(format!(
                "oidc.issuer must be an https:// address (http:// only on loopback), not {issuer}"
            )));
        }
        if oidc.client_id.as_deref().unwrap_or_default().is_empty() {
            return Err(ConfigError::Invalid(
                "oidc.issuer is set but oidc.client_id is not: register latchkey as a client \
                 at the provider (docs/integrate.md)"
                    .into(),
            ));
        }
        if !oidc.scopes.split_whitespace().all(|s| s.is_ascii()) {
            return Err(ConfigError::Invalid(
                "oidc.scopes: scope names are ASCII words separated by spaces".into(),
            ));
        }
        for (key, claim) in [
            ("oidc.claims.handle", &oidc.claims.handle),
            ("oidc.claims.display_name", &oidc.claims.display_name),
            ("oidc.claims.email", &oidc.claims.email),
        ] {
            if claim.trim().is_empty() {
                return Err(ConfigError::Invalid(format!("{key} must name a claim")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::load_env;
    use crate::config::SecretString;

    #[test]
    fn oidc_needs_a_client_and_a_safe_issuer() {
        let ok = load_env(&[
            ("LATCHKEY_OIDC__ISSUER", "https://id.example.org"),
            ("LATCHKEY_OIDC__CLIENT_ID", "latchkey"),
            ("LATCHKEY_OIDC__CLIENT_SECRET", "s3cret-value"),
            ("LATCHKEY_AUTH__LOCAL_PASSWORDS", "false"),
        ])
        .unwrap();
        assert!(ok.oidc.enabled() && !ok.auth.local_passwords);
        assert_eq!(ok.oidc.claims.handle, "preferred_username");
        assert_eq!(
            ok.oidc.client_secret.as_ref().map(SecretString::expose),
            Some("s3cret-value")
        );
        assert!(!format!("{ok:?}").contains("s3cret-value"));
        let no_client = load_env(&[("LATCHKEY_OIDC__ISSUER", "https://id.example.org")]);
        assert!(no_client.unwrap_err().to_string().contains("client_id"));
        let plain = load_env(&[
            ("LATCHKEY_OIDC__ISSUER", "http://id.example.org"),
            ("LATCHKEY_OIDC__CLIENT_ID", "latchkey"),
        ]);
        assert!(plain.unwrap_err().to_string().contains("https://"));
        let nobody = load_env(&[("LATCHKEY_AUTH__LOCAL_PASSWORDS", "false")]);
        assert!(nobody.unwrap_err().to_string().contains("oidc.issuer"));
    }
}
