//! The checks that need more than one value, or a range: values each
//! readable on its own that together make no working server.

use std::time::Duration;

use super::defaults::days;
use super::{Config, ConfigError, MailTransportKind, Registration};

impl Config {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !self.public_url.is_empty() {
            let url = url::Url::parse(&self.public_url)
                .map_err(|e| ConfigError::Invalid(format!("public_url: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(ConfigError::Invalid(
                    "public_url must be an http:// or https:// address with a host".into(),
                ));
            }
        }
        // About a century: larger values would overflow millisecond clocks.
        const MAX: Duration = days(100 * 365);
        let durations = [
            ("links.ttl_secs", self.links.ttl),
            ("links.grace_secs", self.links.grace),
            ("links.coalesce_secs", self.links.coalesce),
            ("links.epoch_secs", self.links.epoch),
            ("sessions.guest_idle_secs", self.sessions.guest_idle),
            ("sessions.guest_absolute_secs", self.sessions.guest_absolute),
            ("sessions.member_idle_secs", self.sessions.member_idle),
            (
                "sessions.member_absolute_secs",
                self.sessions.member_absolute,
            ),
            ("retention_secs", self.retention),
            ("mail.smtp.timeout_secs", self.mail.smtp.timeout),
            ("outbox.lease_secs", self.outbox.lease),
            ("outbox.poll_ms", self.outbox.poll),
            ("outbox.max_backoff_secs", self.outbox.max_backoff),
            ("outbox.sweep_secs", self.outbox.sweep),
            ("webhooks.retry_base_ms", self.webhooks.retry_base),
            ("webhooks.timeout_secs", self.webhooks.timeout),
            ("events.heartbeat_secs", self.events.heartbeat),
        ];
        for (name, value) in durations {
            if value > MAX {
                return Err(ConfigError::Invalid(format!(
                    "{name} is {}s; at most {}s (a century)",
                    value.as_secs(),
                    MAX.as_secs()
                )));
            }
        }
        for (name, value) in [
            ("links.ttl_secs", self.links.ttl),
            ("links.epoch_secs", self.links.epoch),
            ("sessions.guest_idle_secs", self.sessions.guest_idle),
            ("sessions.member_idle_secs", self.sessions.member_idle),
            ("outbox.sweep_secs", self.outbox.sweep),
            ("outbox.poll_ms", self.outbox.poll),
            ("webhooks.retry_base_ms", self.webhooks.retry_base),
            ("webhooks.timeout_secs", self.webhooks.timeout),
            ("events.heartbeat_secs", self.events.heartbeat),
        ] {
            if value.is_zero() {
                return Err(ConfigError::Invalid(format!("{name} must not be zero")));
            }
        }
        if self.events.max_per_session == 0 || self.events.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "events.max_per_session and events.max_connections must not be zero".into(),
            ));
        }
        if self.limits.max_page_size == 0 || self.limits.max_page_size > 10_000 {
            return Err(ConfigError::Invalid(
                "limits.max_page_size must be between 1 and 10000".into(),
            ));
        }
        if self.dev && !self.bind.ip().is_loopback() {
            return Err(ConfigError::Invalid(format!(
                "dev mode publishes every e-mail (and its link) at /dev/mail; bind it to a \
                 loopback address, not {}",
                self.bind
            )));
        }
        if self.mail.transport == MailTransportKind::Dev && !self.dev {
            return Err(ConfigError::Invalid(
                "mail.transport = \"dev\" keeps mail in memory and is only allowed in dev mode"
                    .into(),
            ));
        }
        if self.outbox.lease <= self.mail.smtp.timeout {
            return Err(ConfigError::Invalid(
                "outbox.lease_secs must be longer than mail.smtp.timeout_secs".into(),
            ));
        }
        if !(1..=64).contains(&self.mail.smtp.connections) {
            return Err(ConfigError::Invalid(
                "mail.smtp.connections must be between 1 and 64".into(),
            ));
        }
        if self.links.grace > self.links.ttl {
            return Err(ConfigError::Invalid(
                "links.grace_secs cannot exceed links.ttl_secs".into(),
            ));
        }
        // The epoch file's chain is walked from its oldest live epoch to now
        // to find a key: a few thousand steps at most.
        let live = self.links.ttl + self.links.grace;
        let epoch = self.links.epoch.as_secs();
        if epoch == 0 || live.as_secs() / epoch >= 9_999 {
            return Err(ConfigError::Invalid(
                "links.epoch_secs must be at least 1s, and more than \
                 (links.ttl_secs + links.grace_secs) / 10000"
                    .into(),
            ));
        }
        if self.limits.max_ciphertext_bytes >= self.limits.max_body_bytes {
            return Err(ConfigError::Invalid(
                "limits.max_ciphertext_bytes must be smaller than limits.max_body_bytes".into(),
            ));
        }
        if let Some(metrics) = self.metrics.bind {
            if metrics.port() != 0 && metrics == self.bind {
                return Err(ConfigError::Invalid(format!(
                    "metrics.bind is {metrics}, the address the site is served on; metrics \
                     need an address of their own (say 127.0.0.1:9100)"
                )));
            }
        }
        self.validate_client_ip()?;
        self.validate_registration()?;
        self.validate_ca_file()?;
        self.validate_oidc()?;
        Ok(())
    }

    /// `trusted_proxies` is checked entry by entry as it is read (a network
    /// that does not parse names the setting there); these are the rules
    /// across the three settings.
    fn validate_client_ip(&self) -> Result<(), ConfigError> {
        if !(1..=16).contains(&self.trusted_proxy_hops) {
            return Err(ConfigError::Invalid(format!(
                "trusted_proxy_hops is {}; it counts the reverse proxies in front of the \
                 server (the one that connects to it is 1) and must be between 1 and 16",
                self.trusted_proxy_hops
            )));
        }
        let Some(header) = &self.client_ip_header else {
            return Ok(());
        };
        if axum::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
            return Err(ConfigError::Invalid(format!(
                "client_ip_header {header:?} is not a header name (e.g. x-forwarded-for or \
                 forwarded)"
            )));
        }
        if self.trusted_proxies.is_empty() {
            return Err(ConfigError::Invalid(
                "client_ip_header is set but trusted_proxies is empty, so the header would \
                 never be believed: list the network your reverse proxy connects from"
                    .into(),
            ));
        }
        Ok(())
    }

    /// An open registration would make a configured code pointless: say
    /// so rather than ignore one of the two.
    fn validate_registration(&self) -> Result<(), ConfigError> {
        if self.registration == Some(Registration::Open) && self.registration_code.is_some() {
            return Err(ConfigError::Invalid(
                "registration = \"open\" and a registration_code contradict each other: \
                 remove the code to let anyone register, or remove `registration` to ask \
                 for the code"
                    .into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Config;
    use crate::config::test_support::{env, load_env, load_file};

    #[test]
    fn contradictions_are_refused() {
        let err = load_env(&[("LATCHKEY_MAIL__TRANSPORT", "dev")]).unwrap_err();
        assert!(err.to_string().contains("dev mode"), "{err}");
        let err = load_env(&[("LATCHKEY_PUBLIC_URL", "ftp://x")]).unwrap_err();
        assert!(err.to_string().contains("public_url"), "{err}");
        let err = Config::load_from(
            Config::dev_defaults(),
            None,
            env(&[("LATCHKEY_BIND", "0.0.0.0:8080")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
        let err = load_env(&[("LATCHKEY_LINKS__TTL_SECS", "99999999999999")]).unwrap_err();
        assert!(err.to_string().contains("century"), "{err}");
        let err = load_env(&[("LATCHKEY_LIMITS__MAX_PAGE_SIZE", "0")]).unwrap_err();
        assert!(err.to_string().contains("max_page_size"), "{err}");
        let err = load_env(&[("LATCHKEY_LINKS__TTL_SECS", "0s")]).unwrap_err();
        assert!(
            err.to_string().contains("links.ttl_secs must not be zero"),
            "{err}"
        );
        let err = load_env(&[("LATCHKEY_OUTBOX__LEASE_SECS", "20s")]).unwrap_err();
        assert!(err.to_string().contains("outbox.lease_secs"), "{err}");
        for connections in ["0", "65"] {
            let err = load_env(&[("LATCHKEY_MAIL__SMTP__CONNECTIONS", connections)]).unwrap_err();
            assert!(err.to_string().contains("mail.smtp.connections"), "{err}");
        }
        let config = load_env(&[("LATCHKEY_MAIL__SMTP__CONNECTIONS", "1")]).unwrap();
        assert_eq!(config.mail.smtp.connections, 1);
    }

    #[test]
    fn metrics_are_off_unless_given_an_address_of_their_own() {
        assert_eq!(load_env(&[]).unwrap().metrics.bind, None);
        let config = load_env(&[("LATCHKEY_METRICS__BIND", "127.0.0.1:9100")]).unwrap();
        assert_eq!(config.metrics.bind, Some(([127, 0, 0, 1], 9100).into()));
        let err = load_env(&[
            ("LATCHKEY_BIND", "127.0.0.1:8080"),
            ("LATCHKEY_METRICS__BIND", "127.0.0.1:8080"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("metrics.bind"), "{err}");
        let err = load_env(&[("LATCHKEY_METRICS__BIND", "localhost")]).unwrap_err();
        assert!(err.to_string().contains("LATCHKEY_METRICS__BIND"), "{err}");
    }

    #[test]
    fn proxy_settings_are_read_and_their_mistakes_named() {
        let config = load_env(&[]).unwrap();
        assert_eq!(config.client_ip_header, None);
        assert_eq!(config.trusted_proxy_hops, 1);
        assert!(config
            .trusted_proxies
            .iter()
            .any(|n| n.to_string() == "127.0.0.0/8"));
        let config = load_env(&[
            ("LATCHKEY_CLIENT_IP_HEADER", "X-Forwarded-For"),
            (
                "LATCHKEY_TRUSTED_PROXIES",
                "10.0.0.0/8, fd00::/8 192.0.2.10",
            ),
            ("LATCHKEY_TRUSTED_PROXY_HOPS", "2"),
        ])
        .unwrap();
        let networks: Vec<String> = config
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(networks, ["10.0.0.0/8", "fd00::/8", "192.0.2.10/32"]);
        assert_eq!(config.trusted_proxy_hops, 2);
        let config =
            load_file("client_ip_header = \"forwarded\"\ntrusted_proxies = [\"172.16.0.0/12\"]\n")
                .unwrap();
        assert_eq!(config.trusted_proxies.len(), 1);

        // A network that does not parse names the setting and the entry.
        let err = load_env(&[("LATCHKEY_TRUSTED_PROXIES", "10.0.0.0/8,10.1.2.3/8")]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("LATCHKEY_TRUSTED_PROXIES"), "{text}");
        assert!(
            text.contains("10.1.2.3/8") && text.contains("10.0.0.0/8"),
            "{text}"
        );
        let err = load_file("trusted_proxies = [\"10.0.0.0/33\"]\n").unwrap_err();
        assert!(err.to_string().contains("`trusted_proxies` in "), "{err}");
        let err = load_env(&[("LATCHKEY_TRUSTED_PROXY_HOPS", "0")]).unwrap_err();
        assert!(err.to_string().contains("trusted_proxy_hops"), "{err}");
        let err = load_env(&[("LATCHKEY_CLIENT_IP_HEADER", "x forwarded")]).unwrap_err();
        assert!(err.to_string().contains("not a header name"), "{err}");
        let err = load_env(&[
            ("LATCHKEY_CLIENT_IP_HEADER", "x-forwarded-for"),
            ("LATCHKEY_TRUSTED_PROXIES", ""),
        ])
        .unwrap_err();
        assert!(
            err.to_string().contains("trusted_proxies is empty"),
            "{err}"
        );
        // Without the header the list is unused, and may be empty.
        assert!(load_env(&[("LATCHKEY_TRUSTED_PROXIES", "")]).is_ok());
    }

    #[test]
    fn registration_is_closed_on_a_public_server_unless_opened() {
        use super::super::RegistrationPolicy;
        let policy = |vars: &[(&str, &str)]| {
            crate::config::Config::load_from(
                Config::default(),
                None,
                vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            )
            .unwrap()
            .registration_policy()
        };
        let public = ("LATCHKEY_PUBLIC_URL", "https://chat.example.org");
        assert_eq!(policy(&[public]), RegistrationPolicy::Closed);
        assert_eq!(
            policy(&[("LATCHKEY_PUBLIC_URL", "http://127.0.0.1:8080")]),
            RegistrationPolicy::Open
        );
        assert_eq!(
            policy(&[public, ("LATCHKEY_REGISTRATION", "open")]),
            RegistrationPolicy::Open
        );
        assert_eq!(
            policy(&[public, ("LATCHKEY_REGISTRATION_CODE", "let-me-in")]),
            RegistrationPolicy::Code
        );
        assert_eq!(
            policy(&[
                ("LATCHKEY_PUBLIC_URL", "http://localhost:8080"),
                ("LATCHKEY_REGISTRATION", "closed")
            ]),
            RegistrationPolicy::Closed
        );
        let dev =
            crate::config::Config::load_from(Config::dev_defaults(), None, Vec::new()).unwrap();
        assert_eq!(dev.registration_policy(), RegistrationPolicy::Open);
        let err = crate::config::Config::load_from(
            Config::default(),
            None,
            [
                ("LATCHKEY_REGISTRATION".to_owned(), "open".to_owned()),
                ("LATCHKEY_REGISTRATION_CODE".to_owned(), "x".to_owned()),
            ],
        )
        .unwrap_err();
        assert!(err.to_string().contains("contradict"), "{err}");
        assert!(!err.to_string().contains("\"x\""), "{err}");
    }
}
