//! The checks that need more than one value, or a range: values each
//! readable on its own that together make no working server.

use std::time::Duration;

use super::defaults::days;
use super::{Config, ConfigError, MailTransportKind};

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
            ("sessions.guest_idle_secs", self.sessions.guest_idle),
            ("sessions.member_idle_secs", self.sessions.member_idle),
            ("outbox.sweep_secs", self.outbox.sweep),
            ("outbox.poll_ms", self.outbox.poll),
        ] {
            if value.is_zero() {
                return Err(ConfigError::Invalid(format!("{name} must not be zero")));
            }
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
        if self.links.grace > self.links.ttl {
            return Err(ConfigError::Invalid(
                "links.grace_secs cannot exceed links.ttl_secs".into(),
            ));
        }
        if self.limits.max_ciphertext_bytes >= self.limits.max_body_bytes {
            return Err(ConfigError::Invalid(
                "limits.max_ciphertext_bytes must be smaller than limits.max_body_bytes".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Config;
    use crate::config::test_support::{env, load_env};

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
    }
}
