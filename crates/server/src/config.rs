//! Configuration: built-in defaults, then an optional TOML file, then
//! `LATCHKEY_*` environment variables (`__` separates sections, so
//! `LATCHKEY_MAIL__SMTP__HOST` sets `mail.smtp.host`). A variable ending in
//! `_FILE` names a file whose contents become the value, for secrets kept out
//! of the environment (`LATCHKEY_MAIL__SMTP__PASSWORD_FILE`).
//!
//! Unknown keys are errors, not warnings: a mistyped setting that is silently
//! ignored is worse than a server that refuses to start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// The whole configuration. Passed by value to whoever needs a part of it;
/// nothing reads it from a global.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The address guests and members use, e.g. `https://chat.example.org`.
    /// Links in e-mails start with it; cookie-authenticated writes must come
    /// from its origin. Empty: `http://` and the bound address (for local
    /// use and tests on port 0).
    pub public_url: String,
    /// Where the HTTP server listens. Port 0 picks a free port.
    pub bind: SocketAddr,
    /// `sqlite://PATH?mode=rwc` (default) or `postgres://USER@HOST/DB`. May
    /// carry a database password, so it prints as `***`.
    pub database_url: SecretString,
    /// The secrets file written by `latchkey init`. Never inside the
    /// database's folder.
    pub secrets_file: PathBuf,
    /// Development mode: creates a missing secrets file, keeps mail in a
    /// `/dev/mail` page and prints links to the console. Never in production.
    pub dev: bool,
    /// Log filter (tracing `EnvFilter` syntax) and format.
    pub log: LogConfig,
    /// How e-mail leaves the server.
    pub mail: MailConfig,
    /// Link life times.
    pub links: LinkConfig,
    /// Session life times.
    pub sessions: SessionConfig,
    /// Idle conversations older than this are deleted (0 keeps them forever).
    pub retention_secs: u64,
    /// Size limits.
    pub limits: LimitConfig,
    /// Per-client and per-address request budgets.
    pub rate_limits: RateLimitConfig,
    /// The notification worker.
    pub outbox: OutboxConfig,
    /// Header carrying the client address when behind a reverse proxy (e.g.
    /// `x-forwarded-for`; its last entry, the one the proxy added, is used).
    /// Unset: the peer address.
    pub client_ip_header: Option<String>,
    /// When set, registering as a member needs this code (the operator
    /// hands it to the people who may become members). Unset: anyone may
    /// register.
    pub registration_code: Option<SecretString>,
}

/// A configured secret: printed as `***`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Logging.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// E.g. `info` or `latchkey_server=debug,info`.
    pub filter: String,
    /// One JSON object per line instead of human-readable text.
    pub json: bool,
}

/// Mail transport.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// `dev` keeps mail in memory (dev mode only); `smtp` sends it.
    pub transport: MailTransportKind,
    /// The `From:` address.
    pub from: String,
    /// SMTP relay settings (used when `transport = "smtp"`).
    pub smtp: SmtpConfig,
}

/// Which transport delivers mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransportKind {
    /// In memory, shown at `/dev/mail`; links printed to the console.
    Dev,
    /// A real SMTP relay.
    Smtp,
}

/// SMTP relay settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Relay host name.
    pub host: String,
    /// Relay port.
    pub port: u16,
    /// `none` (plain, loopback only), `starttls` or `tls`.
    pub security: SmtpSecurity,
    /// User name, if the relay wants one.
    pub username: Option<String>,
    /// Password (better: `LATCHKEY_MAIL__SMTP__PASSWORD_FILE`).
    pub password: Option<SecretString>,
    /// Seconds before a send attempt is abandoned.
    pub timeout_secs: u64,
}

/// Transport security towards the SMTP relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain text. Only sensible for a relay on loopback.
    None,
    /// Plain connection upgraded with STARTTLS (required, not opportunistic).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// Link life times.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// An unredeemed link dies after this long.
    pub ttl_secs: u64,
    /// After the first redeem the link still works this long (reloads).
    pub grace_secs: u64,
    /// While an e-mailed link is unredeemed and younger than this, a new
    /// message sends no second e-mail: the earlier link shows everything.
    /// 0 turns coalescing off.
    pub coalesce_secs: u64,
}

/// Session life times.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// A guest session ends after this long without a request.
    pub guest_idle_secs: u64,
    /// A guest session ends this long after it began, whatever happens.
    pub guest_absolute_secs: u64,
    /// A member session ends after this long without a request.
    pub member_idle_secs: u64,
    /// A member session ends this long after it began.
    pub member_absolute_secs: u64,
}

/// Size limits.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitConfig {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest message ciphertext, in bytes.
    pub max_ciphertext_bytes: usize,
    /// Most items in one page of a list.
    pub max_page_size: u32,
}

/// Request budgets (per app instance).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// New conversations per client address per hour.
    pub contact_per_ip_per_hour: u32,
    /// New conversations per guest e-mail address per hour.
    pub contact_per_address_per_hour: u32,
    /// "Send me a new link" requests per client address per hour.
    pub link_request_per_ip_per_hour: u32,
    /// "Send me a new link" requests per guest address per hour.
    pub link_request_per_address_per_hour: u32,
    /// Login and registration attempts per client address per minute.
    pub login_per_ip_per_minute: u32,
    /// Link redemptions per client address per minute.
    pub redeem_per_ip_per_minute: u32,
    /// Messages per session (member or guest) per minute.
    pub posts_per_session_per_minute: u32,
}

/// The notification worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxConfig {
    /// A claimed row is another worker's to retry after this long. Must
    /// exceed the SMTP timeout, or a slow send could be sent twice.
    pub lease_secs: u64,
    /// How often an idle worker looks for work, in milliseconds.
    pub poll_ms: u64,
    /// Longest wait between two attempts at one e-mail.
    pub max_backoff_secs: u64,
    /// How often expired links, sessions and idle conversations are swept.
    pub sweep_secs: u64,
}

const DAY: u64 = 24 * 60 * 60;

impl Default for Config {
    fn default() -> Self {
        Config {
            public_url: String::new(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: SecretString("sqlite://latchkey-data/latchkey.db?mode=rwc".into()),
            secrets_file: PathBuf::from("latchkey-secrets.key"),
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
                    timeout_secs: 20,
                },
            },
            links: LinkConfig {
                ttl_secs: 7 * DAY,
                grace_secs: 10 * 60,
                coalesce_secs: DAY,
            },
            sessions: SessionConfig {
                guest_idle_secs: 30 * 60,
                guest_absolute_secs: 12 * 60 * 60,
                member_idle_secs: 7 * DAY,
                member_absolute_secs: 30 * DAY,
            },
            retention_secs: 365 * DAY,
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
                redeem_per_ip_per_minute: 30,
                posts_per_session_per_minute: 120,
            },
            outbox: OutboxConfig {
                lease_secs: 60,
                poll_ms: 500,
                max_backoff_secs: 3600,
                sweep_secs: 30,
            },
            client_ip_header: None,
            registration_code: None,
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file, the environment or a `*_FILE` variable could not be read or
    /// did not fit the schema.
    #[error("configuration: {0}")]
    Load(String),
    /// The values are readable but contradict each other.
    #[error("configuration: {0}")]
    Invalid(String),
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
            database_url: SecretString("sqlite://latchkey-dev/data/latchkey.db?mode=rwc".into()),
            ..Config::default()
        }
    }

    /// Layers defaults (the dev profile if `dev`), `file` (if given) and the
    /// process environment.
    pub fn load(file: Option<&Path>, dev: bool) -> Result<Config, ConfigError> {
        let defaults = if dev {
            Config::dev_defaults()
        } else {
            Config::default()
        };
        Self::load_from(defaults, file, std::env::vars())
    }

    /// As [`Config::load`], with the defaults and environment given
    /// explicitly (tests).
    pub fn load_from(
        defaults: Config,
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(defaults));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Load(format!(
                    "the file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        let mut values: Vec<(String, String)> = Vec::new();
        for (name, value) in env {
            let Some(key) = name.strip_prefix("LATCHKEY_") else {
                continue;
            };
            let is_setting = |k: &str| {
                Figment::from(Serialized::defaults(Config::default()))
                    .find_value(&k.to_lowercase().replace("__", "."))
                    .is_ok()
            };
            // `X_FILE` reads X from a file, unless `x_file` is itself a
            // setting (`secrets_file`).
            if let Some(key) = key
                .strip_suffix("_FILE")
                .filter(|k| !is_setting(&format!("{k}_FILE")))
            {
                let contents = std::fs::read_to_string(&value)
                    .map_err(|e| ConfigError::Load(format!("{name}: cannot read {value}: {e}")))?;
                values.push((key.to_owned(), contents.trim_end_matches('\n').to_owned()));
            } else {
                values.push((key.to_owned(), value));
            }
        }
        // Not figment's Env provider: it reads the process environment, and
        // tests (and `*_FILE` values) need an explicit list.
        for (key, value) in values {
            let path = key.to_lowercase().replace("__", ".");
            figment = figment.merge(Serialized::default(&path, parse_scalar(&path, &value)));
        }
        let config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.public_url.is_empty() {
            return self.validate_rest();
        }
        let url = url::Url::parse(&self.public_url)
            .map_err(|e| ConfigError::Invalid(format!("public_url: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(ConfigError::Invalid(
                "public_url must be an http:// or https:// address with a host".into(),
            ));
        }
        self.validate_rest()
    }

    fn validate_rest(&self) -> Result<(), ConfigError> {
        // About a century: larger values would overflow millisecond clocks.
        const MAX_SECS: u64 = 100 * 365 * DAY;
        let durations = [
            ("links.ttl_secs", self.links.ttl_secs),
            ("links.grace_secs", self.links.grace_secs),
            ("links.coalesce_secs", self.links.coalesce_secs),
            ("sessions.guest_idle_secs", self.sessions.guest_idle_secs),
            (
                "sessions.guest_absolute_secs",
                self.sessions.guest_absolute_secs,
            ),
            ("sessions.member_idle_secs", self.sessions.member_idle_secs),
            (
                "sessions.member_absolute_secs",
                self.sessions.member_absolute_secs,
            ),
            ("retention_secs", self.retention_secs),
            ("outbox.lease_secs", self.outbox.lease_secs),
            ("outbox.max_backoff_secs", self.outbox.max_backoff_secs),
            ("outbox.sweep_secs", self.outbox.sweep_secs),
        ];
        for (name, value) in durations {
            if value > MAX_SECS {
                return Err(ConfigError::Invalid(format!(
                    "{name} is {value}; at most {MAX_SECS} (a century)"
                )));
            }
        }
        for (name, value) in [
            ("links.ttl_secs", self.links.ttl_secs),
            ("sessions.guest_idle_secs", self.sessions.guest_idle_secs),
            ("sessions.member_idle_secs", self.sessions.member_idle_secs),
            ("outbox.sweep_secs", self.outbox.sweep_secs),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid(format!("{name} must be at least 1")));
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
        if self.outbox.lease_secs <= self.mail.smtp.timeout_secs {
            return Err(ConfigError::Invalid(
                "outbox.lease_secs must be longer than mail.smtp.timeout_secs".into(),
            ));
        }
        if self.links.grace_secs > self.links.ttl_secs {
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

    /// `scheme://host[:port]` of [`Config::public_url`], as browsers send it
    /// in `Origin`.
    pub fn public_origin(&self) -> String {
        url::Url::parse(&self.public_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default()
    }

    /// Whether cookies get the `Secure` attribute: always, except for a
    /// plain-HTTP public address in dev mode.
    pub fn secure_cookies(&self) -> bool {
        !(self.dev && self.public_url.starts_with("http://"))
    }
}

/// Environment values are strings; a setting whose default is a number or a
/// boolean must reach serde as one. The default's type decides, so that a
/// numeric-looking password stays a string.
fn parse_scalar(path: &str, value: &str) -> figment::value::Value {
    use figment::value::Value;
    let defaults = Figment::from(Serialized::defaults(Config::default()));
    match defaults.find_value(path) {
        Ok(Value::Num(..)) => value
            .parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(value.to_owned())),
        Ok(Value::Bool(..)) => match value {
            "true" | "1" => Value::from(true),
            "false" | "0" => Value::from(false),
            _ => Value::from(value.to_owned()),
        },
        _ => Value::from(value.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_valid_without_dev_mail() {
        let config = Config::load_from(Config::default(), None, env(&[])).unwrap();
        assert_eq!(config.links.ttl_secs, 7 * DAY);
        assert_eq!(config.links.grace_secs, 600);
    }

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.toml");
        std::fs::write(
            &path,
            "public_url = \"https://chat.example.org\"\n[links]\ngrace_secs = 60\n",
        )
        .unwrap();
        let secret = dir.path().join("smtp-password");
        std::fs::write(&secret, "hunter2\n").unwrap();
        let config = Config::load_from(
            Config::default(),
            Some(&path),
            env(&[
                ("LATCHKEY_LINKS__GRACE_SECS", "30"),
                ("LATCHKEY_MAIL__SMTP__HOST", "relay.example.org"),
                ("LATCHKEY_MAIL__SMTP__USERNAME", "12345"),
                (
                    "LATCHKEY_MAIL__SMTP__PASSWORD_FILE",
                    secret.to_str().unwrap(),
                ),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(config.public_url, "https://chat.example.org");
        assert_eq!(config.links.grace_secs, 30);
        assert_eq!(config.mail.smtp.host, "relay.example.org");
        assert_eq!(config.mail.smtp.username.as_deref(), Some("12345"));
        assert_eq!(
            config.mail.smtp.password.as_ref().map(SecretString::expose),
            Some("hunter2")
        );
        assert!(!format!("{config:?}").contains("hunter2"));
        assert_eq!(config.public_origin(), "https://chat.example.org");
    }

    #[test]
    fn unknown_keys_and_contradictions_are_refused() {
        let err = Config::load_from(
            Config::default(),
            None,
            env(&[("LATCHKEY_LINKS__GRACE", "1")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("grace"), "{err}");
        let err = Config::load_from(
            Config::default(),
            None,
            env(&[("LATCHKEY_MAIL__TRANSPORT", "dev")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("dev mode"), "{err}");
        let err = Config::load_from(
            Config::default(),
            None,
            env(&[("LATCHKEY_PUBLIC_URL", "ftp://x")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("public_url"), "{err}");
        let err = Config::load_from(
            Config::dev_defaults(),
            None,
            env(&[("LATCHKEY_BIND", "0.0.0.0:8080")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
        let err = Config::load_from(
            Config::default(),
            None,
            env(&[("LATCHKEY_LINKS__TTL_SECS", "99999999999999")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("century"), "{err}");
        let err = Config::load_from(
            Config::default(),
            None,
            env(&[("LATCHKEY_LIMITS__MAX_PAGE_SIZE", "0")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("max_page_size"), "{err}");
    }
}
