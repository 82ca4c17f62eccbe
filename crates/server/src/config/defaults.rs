//! The built-in defaults: [`Config::default`], the production profile, and
//! [`Config::dev_defaults`], the development profile.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{
    AuthConfig, Config, EmbedConfig, EventsConfig, IpNetwork, LimitConfig, LinkConfig, LogConfig,
    MailConfig, MailTransportKind, MetricsConfig, OidcClaims, OidcConfig, OutboxConfig,
    RateLimitConfig, SecretString, SessionConfig, SmtpConfig, SmtpSecurity, WebhooksConfig,
};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(60 * 60);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// `n` days.
pub(super) const fn days(n: u64) -> Duration {
    Duration::from_secs(n * 24 * 60 * 60)
}

impl Default for Config {
    fn default() -> Self {
        Config {
            public_url: String::new(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: SecretString::new("sqlite://latchkey-data/latchkey.db?mode=rwc"),
            secrets_file: PathBuf::from("latchkey-secrets.key"),
            epoch_file: None,
            dev: false,
            log: LogConfig {
                filter: "info".into(),
                json: false,
            },
            mail: MailConfig {
                transport: MailTransportKind::Smtp,
                from: "latchkey <latchkey@localhost>".into(),
                smtp: SmtpConfig {
                    host: "127.0.0.1".into(),
                    port: 25,
                    security: SmtpSecurity::Starttls,
                    username: None,
                    password: None,
                    timeout: Duration::from_secs(20),
                    ca_file: None,
                    // A relay on the same network answers a mail in well
                    // under a millisecond of its own work; four keep a
                    // small one busy without looking like a flood.
                    connections: 4,
                },
                // Far above a real day: coalescing already sends a guest
                // one link until he uses it, and a member one notice until
                // he reads. These stop a member (or a flood of first
                // contacts) turning the server into a mail cannon.
                per_conversation_per_day: 40,
                per_member_per_day: 200,
                per_recipient_per_day: 40,
            },
            links: LinkConfig {
                ttl: days(7),
                grace: 10 * MINUTE,
                coalesce: DAY,
                epoch: HOUR,
            },
            sessions: SessionConfig {
                guest_idle: 30 * MINUTE,
                guest_absolute: 12 * HOUR,
                member_idle: days(7),
                member_absolute: days(30),
            },
            retention: days(365),
            limits: LimitConfig {
                max_body_bytes: 256 * 1024,
                max_ciphertext_bytes: 128 * 1024,
                max_page_size: 200,
            },
            rate_limits: RateLimitConfig {
                contact_per_ip_per_hour: 20,
                contact_per_address_per_hour: 5,
                link_request_per_ip_per_hour: 20,
                link_request_per_address_per_hour: 3,
                login_per_ip_per_minute: 30,
                login_per_handle_per_minute: 10,
                redeem_per_ip_per_minute: 30,
                wrong_address_per_link_per_hour: 5,
                wrong_address_per_ip_per_hour: 20,
                posts_per_session_per_minute: 120,
                ipv4_24_multiple: 16,
                ipv6_48_multiple: 8,
                max_keys_per_bucket: 50_000,
            },
            outbox: OutboxConfig {
                lease: MINUTE,
                poll: Duration::from_millis(500),
                max_backoff: HOUR,
                sweep: Duration::from_secs(30),
            },
            client_ip_header: None,
            trusted_proxies: IpNetwork::private_ranges(),
            trusted_proxy_hops: 1,
            registration_code: None,
            registration: None,
            // Off: an operator chooses where metrics may be read.
            metrics: MetricsConfig { bind: None },
            oidc: OidcConfig {
                issuer: None,
                client_id: None,
                client_secret: None,
                scopes: "openid profile email".into(),
                display_name: "your site".into(),
                claims: OidcClaims {
                    handle: "preferred_username".into(),
                    display_name: "name".into(),
                    email: "email".into(),
                },
            },
            auth: AuthConfig {
                local_passwords: true,
            },
            // Off: the operator names the sites that may frame the form.
            embed: EmbedConfig::default(),
            webhooks: WebhooksConfig {
                retry_base: Duration::from_secs(5),
                timeout: Duration::from_secs(10),
            },
            events: EventsConfig {
                max_per_session: 4,
                max_connections: 2_000,
                heartbeat: Duration::from_secs(25),
            },
        }
    }
}

impl Config {
    /// The development profile: dev mode, dev mailbox, and data and keys in
    /// `./latchkey-dev/` (keys beside the data folder, not in it).
    pub fn dev_defaults() -> Config {
        let defaults = Config::default();
        Config {
            dev: true,
            mail: MailConfig {
                transport: MailTransportKind::Dev,
                ..defaults.mail
            },
            secrets_file: PathBuf::from("latchkey-dev/secrets.key"),
            database_url: SecretString::new("sqlite://latchkey-dev/data/latchkey.db?mode=rwc"),
            ..Config::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Config, MailTransportKind};
    use crate::config::test_support::{env, load_env};

    #[test]
    fn defaults_are_valid_without_dev_mail() {
        let config = load_env(&[]).unwrap();
        assert_eq!(config.links.ttl, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(config.links.grace, Duration::from_secs(600));
        assert_eq!(config.outbox.poll, Duration::from_millis(500));
        let dev = Config::load_from(Config::dev_defaults(), None, env(&[])).unwrap();
        assert!(dev.dev);
        assert_eq!(dev.mail.transport, MailTransportKind::Dev);
    }
}
