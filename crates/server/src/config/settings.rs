//! Every setting as a flat list: its dotted key, how its text from the
//! environment is read, and its default. The layering starts from this list,
//! since the configuration itself cannot be serialized.

use std::time::Duration;

use figment::value::Value;

use super::duration::Unit;
use super::{
    AuthConfig, Config, EmbedConfig, EventsConfig, IpNetwork, LimitConfig, LinkConfig, LogConfig,
    MailConfig, MetricsConfig, OidcClaims, OidcConfig, OutboxConfig, RateLimitConfig, Registration,
    SecretString, SessionConfig, SmtpConfig, WebhooksConfig,
};

/// How a setting's text from the environment becomes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Text,
    Number,
    Flag,
    /// A duration; a bare number counts in this unit.
    Duration(Unit),
}

/// One setting: its dotted key, its kind, and its default (none for an
/// optional setting that is unset).
#[derive(Debug)]
pub(super) struct Setting {
    pub(super) key: &'static str,
    pub(super) kind: Kind,
    pub(super) default: Option<Value>,
}

impl Setting {
    fn text(key: &'static str, value: &str) -> Setting {
        Setting::optional_text(key, Some(value))
    }

    fn optional_text(key: &'static str, value: Option<&str>) -> Setting {
        Setting {
            key,
            kind: Kind::Text,
            default: value.map(Value::from),
        }
    }

    /// A list of networks. From the environment it is text, the networks
    /// separated by commas; the setting's reader splits it.
    fn networks(key: &'static str, value: &[IpNetwork]) -> Setting {
        let items: Vec<String> = value.iter().map(IpNetwork::to_string).collect();
        Setting {
            key,
            kind: Kind::Text,
            default: Some(Value::from(items)),
        }
    }

    /// A list of texts (origins): like [`Setting::networks`], commas
    /// between the items in the variable.
    fn texts(key: &'static str, value: &[String]) -> Setting {
        Setting {
            key,
            kind: Kind::Text,
            default: Some(Value::from(value.to_vec())),
        }
    }

    fn number(key: &'static str, value: impl Into<u64>) -> Setting {
        Setting {
            key,
            kind: Kind::Number,
            default: Some(Value::from(value.into())),
        }
    }

    fn size(key: &'static str, value: usize) -> Setting {
        Setting::number(key, u64::try_from(value).unwrap_or(u64::MAX))
    }

    fn flag(key: &'static str, value: bool) -> Setting {
        Setting {
            key,
            kind: Kind::Flag,
            default: Some(Value::from(value)),
        }
    }

    fn duration(key: &'static str, unit: Unit, value: Duration) -> Setting {
        Setting {
            key,
            kind: Kind::Duration(unit),
            // Exact whatever the unit; the parser reads it back.
            default: Some(Value::from(format!("{}ms", value.as_millis()))),
        }
    }

    /// The environment variable that sets it.
    pub(super) fn variable(&self) -> String {
        variable_of(self.key)
    }
}

/// `mail.smtp.host` → `LATCHKEY_MAIL__SMTP__HOST`.
fn variable_of(key: &str) -> String {
    format!("LATCHKEY_{}", key.replace('.', "__").to_uppercase())
}

impl Config {
    /// Every setting with its default from `self`. Destructured without
    /// `..`: a field added to the structs and not here does not compile.
    pub(super) fn settings(&self) -> Vec<Setting> {
        let Config {
            public_url,
            bind,
            database_url,
            secrets_file,
            epoch_file,
            dev,
            log: LogConfig { filter, json },
            mail:
                MailConfig {
                    transport,
                    from,
                    smtp:
                        SmtpConfig {
                            host,
                            port,
                            security,
                            username,
                            password,
                            timeout,
                            ca_file,
                            connections,
                        },
                    per_conversation_per_day,
                    per_member_per_day,
                    per_recipient_per_day,
                },
            links:
                LinkConfig {
                    ttl,
                    grace,
                    coalesce,
                    epoch,
                },
            sessions:
                SessionConfig {
                    guest_idle,
                    guest_absolute,
                    member_idle,
                    member_absolute,
                },
            retention,
            limits:
                LimitConfig {
                    max_body_bytes,
                    max_ciphertext_bytes,
                    max_page_size,
                },
            rate_limits:
                RateLimitConfig {
                    contact_per_ip_per_hour,
                    contact_per_address_per_hour,
                    link_request_per_ip_per_hour,
                    link_request_per_address_per_hour,
                    login_per_ip_per_minute,
                    login_per_handle_per_minute,
                    redeem_per_ip_per_minute,
                    wrong_address_per_link_per_hour,
                    wrong_address_per_ip_per_hour,
                    posts_per_session_per_minute,
                    ipv4_24_multiple,
                    ipv6_48_multiple,
                    max_keys_per_bucket,
                },
            outbox:
                OutboxConfig {
                    lease,
                    poll,
                    max_backoff,
                    sweep,
                },
            client_ip_header,
            trusted_proxies,
            trusted_proxy_hops,
            registration_code,
            registration,
            metrics: MetricsConfig { bind: metrics_bind },
            oidc:
                OidcConfig {
                    issuer,
                    client_id,
                    client_secret,
                    scopes,
                    display_name: oidc_display_name,
                    claims:
                        OidcClaims {
                            handle: handle_claim,
                            display_name: display_name_claim,
                            email: email_claim,
                        },
                },
            auth: AuthConfig { local_passwords },
            embed: EmbedConfig { allowed_origins },
            webhooks:
                WebhooksConfig {
                    retry_base,
                    timeout: webhook_timeout,
                },
            events:
                EventsConfig {
                    max_per_session,
                    max_connections,
                    heartbeat: event_heartbeat,
                },
        } = self;
        let secs = |key, value: &Duration| Setting::duration(key, Unit::Secs, *value);
        vec![
            Setting::text("public_url", public_url),
            Setting::text("bind", &bind.to_string()),
            Setting::text("database_url", database_url.expose()),
            Setting::text("secrets_file", &secrets_file.to_string_lossy()),
            Setting::optional_text(
                "epoch_file",
                epoch_file.as_ref().map(|p| p.to_string_lossy()).as_deref(),
            ),
            Setting::flag("dev", *dev),
            Setting::text("log.filter", filter),
            Setting::flag("log.json", *json),
            Setting::text("mail.transport", transport.as_str()),
            Setting::text("mail.from", from),
            Setting::text("mail.smtp.host", host),
            Setting::number("mail.smtp.port", *port),
            Setting::text("mail.smtp.security", security.as_str()),
            Setting::optional_text("mail.smtp.username", username.as_deref()),
            Setting::optional_text(
                "mail.smtp.password",
                password.as_ref().map(SecretString::expose),
            ),
            secs("mail.smtp.timeout_secs", timeout),
            Setting::optional_text(
                "mail.smtp.ca_file",
                ca_file.as_ref().map(|p| p.to_string_lossy()).as_deref(),
            ),
            Setting::number("mail.smtp.connections", *connections),
            Setting::number("mail.per_conversation_per_day", *per_conversation_per_day),
            Setting::number("mail.per_member_per_day", *per_member_per_day),
            Setting::number("mail.per_recipient_per_day", *per_recipient_per_day),
            secs("links.ttl_secs", ttl),
            secs("links.grace_secs", grace),
            secs("links.coalesce_secs", coalesce),
            secs("links.epoch_secs", epoch),
            secs("sessions.guest_idle_secs", guest_idle),
            secs("sessions.guest_absolute_secs", guest_absolute),
            secs("sessions.member_idle_secs", member_idle),
            secs("sessions.member_absolute_secs", member_absolute),
            secs("retention_secs", retention),
            Setting::size("limits.max_body_bytes", *max_body_bytes),
            Setting::size("limits.max_ciphertext_bytes", *max_ciphertext_bytes),
            Setting::number("limits.max_page_size", *max_page_size),
            Setting::number(
                "rate_limits.contact_per_ip_per_hour",
                *contact_per_ip_per_hour,
            ),
            Setting::number(
                "rate_limits.contact_per_address_per_hour",
                *contact_per_address_per_hour,
            ),
            Setting::number(
                "rate_limits.link_request_per_ip_per_hour",
                *link_request_per_ip_per_hour,
            ),
            Setting::number(
                "rate_limits.link_request_per_address_per_hour",
                *link_request_per_address_per_hour,
            ),
            Setting::number(
                "rate_limits.login_per_ip_per_minute",
                *login_per_ip_per_minute,
            ),
            Setting::number(
                "rate_limits.login_per_handle_per_minute",
                *login_per_handle_per_minute,
            ),
            Setting::number(
                "rate_limits.redeem_per_ip_per_minute",
                *redeem_per_ip_per_minute,
            ),
            Setting::number(
                "rate_limits.wrong_address_per_link_per_hour",
                *wrong_address_per_link_per_hour,
            ),
            Setting::number(
                "rate_limits.wrong_address_per_ip_per_hour",
                *wrong_address_per_ip_per_hour,
            ),
            Setting::number(
                "rate_limits.posts_per_session_per_minute",
                *posts_per_session_per_minute,
            ),
            Setting::number("rate_limits.ipv4_24_multiple", *ipv4_24_multiple),
            Setting::number("rate_limits.ipv6_48_multiple", *ipv6_48_multiple),
            Setting::size("rate_limits.max_keys_per_bucket", *max_keys_per_bucket),
            secs("outbox.lease_secs", lease),
            Setting::duration("outbox.poll_ms", Unit::Millis, *poll),
            secs("outbox.max_backoff_secs", max_backoff),
            secs("outbox.sweep_secs", sweep),
            Setting::optional_text("client_ip_header", client_ip_header.as_deref()),
            Setting::networks("trusted_proxies", trusted_proxies),
            Setting::number("trusted_proxy_hops", *trusted_proxy_hops),
            Setting::optional_text(
                "registration_code",
                registration_code.as_ref().map(SecretString::expose),
            ),
            Setting::optional_text("registration", registration.map(Registration::as_str)),
            Setting::optional_text(
                "metrics.bind",
                metrics_bind.map(|a| a.to_string()).as_deref(),
            ),
            Setting::optional_text("oidc.issuer", issuer.as_deref()),
            Setting::optional_text("oidc.client_id", client_id.as_deref()),
            Setting::optional_text(
                "oidc.client_secret",
                client_secret.as_ref().map(SecretString::expose),
            ),
            Setting::text("oidc.scopes", scopes),
            Setting::text("oidc.display_name", oidc_display_name),
            Setting::text("oidc.claims.handle", handle_claim),
            Setting::text("oidc.claims.display_name", display_name_claim),
            Setting::text("oidc.claims.email", email_claim),
            Setting::flag("auth.local_passwords", *local_passwords),
            Setting::texts("embed.allowed_origins", allowed_origins),
            Setting::duration("webhooks.retry_base_ms", Unit::Millis, *retry_base),
            secs("webhooks.timeout_secs", webhook_timeout),
            Setting::size("events.max_per_session", *max_per_session),
            Setting::size("events.max_connections", *max_connections),
            secs("events.heartbeat_secs", event_heartbeat),
        ]
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Config, SecretString};
    use crate::config::test_support::env;
    use crate::config::{LinkConfig, OutboxConfig};

    #[test]
    fn defaults_survive_the_layering() {
        // Every default, including optional ones, comes back as it went in.
        let base = Config::default();
        let defaults = Config {
            registration_code: Some(SecretString::new("0042")),
            client_ip_header: Some("x-forwarded-for".into()),
            trusted_proxies: ["192.0.2.0/24", "2001:db8::/32"]
                .iter()
                .map(|n| n.parse().unwrap())
                .collect(),
            trusted_proxy_hops: 3,
            links: LinkConfig {
                grace: Duration::from_secs(61),
                ..base.links
            },
            outbox: OutboxConfig {
                poll: Duration::from_millis(1234),
                ..base.outbox
            },
            ..base
        };
        let expected = format!("{defaults:?}");
        let config = Config::load_from(defaults, None, env(&[])).unwrap();
        assert_eq!(format!("{config:?}"), expected);
        assert_eq!(
            config.registration_code.as_ref().map(SecretString::expose),
            Some("0042")
        );
    }
}
