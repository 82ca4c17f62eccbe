//! Configuration: built-in defaults, then an optional TOML file, then
//! `LATCHKEY_*` environment variables (`__` separates sections, so
//! `LATCHKEY_MAIL__SMTP__HOST` sets `mail.smtp.host`). A variable ending in
//! `_FILE` names a file whose contents become the value, for secrets kept out
//! of the environment (`LATCHKEY_MAIL__SMTP__PASSWORD_FILE`).
//!
//! Unknown keys are errors, not warnings: a mistyped setting that is silently
//! ignored is worse than a server that refuses to start. The variables of
//! the command-line client ([`cli_vars`]) share the `LATCHKEY_` prefix and
//! are skipped by name, so that one shell can run both.
//!
//! Durations take a unit (`30s`, `10m`, `12h`, `7d`, `500ms`, or combined:
//! `1h30m`); a bare number counts in the unit the setting's name ends with
//! (`links.ttl_secs = 604800`, `outbox.poll_ms = 500`).
//!
//! Nothing here is `Serialize`: the secrets are not, so the defaults reach
//! the layering as a list of settings ([`Config::settings`]) instead.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Value};
use figment::Figment;
use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

/// The `LATCHKEY_…` variables that are not server settings. Configuration
/// loading skips exactly these; every other `LATCHKEY_…` variable must be a
/// setting. The command-line client takes its variable names from here, and
/// a test checks that no name here is also a setting.
pub mod cli_vars {
    /// `--config` of `init`, `serve` and `migrate`: the TOML file.
    pub const CONFIG: &str = "LATCHKEY_CONFIG";
    /// `--server` of the member and guest commands.
    pub const SERVER: &str = "LATCHKEY_SERVER";
    /// `--handle` of the member commands.
    pub const HANDLE: &str = "LATCHKEY_HANDLE";
    /// The member's password (asked on the terminal when unset).
    pub const PASSWORD: &str = "LATCHKEY_PASSWORD";
    /// `member recover`: the recovery key (asked when unset).
    pub const RECOVERY_KEY: &str = "LATCHKEY_RECOVERY_KEY";
    /// `member add --code`: the registration code to register with. Not
    /// `LATCHKEY_REGISTRATION_CODE`: that one is the server's setting (the
    /// code it demands), and one variable read by both would quietly make a
    /// member's `serve --dev` demand the code he meant to give elsewhere.
    pub const MEMBER_CODE: &str = "LATCHKEY_MEMBER_CODE";

    /// Every variable of the command-line client.
    pub const ALL: &[&str] = &[CONFIG, SERVER, HANDLE, PASSWORD, RECOVERY_KEY, MEMBER_CODE];

    /// Variables of the project's test tools (a developer may keep them
    /// exported while running the server).
    pub const TEST_TOOLS: &[&str] = &["LATCHKEY_TEST_POSTGRES_URL", "LATCHKEY_WRITE_VECTORS"];

    /// Whether configuration loading leaves `name` alone.
    pub fn is_not_a_setting(name: &str) -> bool {
        ALL.contains(&name) || TEST_TOOLS.contains(&name)
    }
}

/// The whole configuration. Passed by value to whoever needs a part of it;
/// nothing reads it from a global.
#[derive(Debug, Deserialize)]
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
    /// Idle conversations older than this are deleted (zero keeps them
    /// forever). Setting `retention_secs`.
    #[serde(rename = "retention_secs", deserialize_with = "duration::secs")]
    pub retention: Duration,
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

/// A configured secret: not `Clone`, not `Serialize`, printed as `***`,
/// wiped from memory when dropped.
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// A secret from its text (tests, and defaults built in code).
    pub fn new(text: impl Into<String>) -> SecretString {
        SecretString(Zeroizing::new(text.into()))
    }

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

impl<'de> Deserialize<'de> for SecretString {
    /// A string; a TOML number is taken as its digits, so that a numeric
    /// code never reaches an "invalid type: found 1234" error message.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = SecretString;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SecretString, E> {
                Ok(SecretString::new(v))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<SecretString, E> {
                Ok(SecretString(Zeroizing::new(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SecretString, E> {
                Ok(SecretString::new(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<SecretString, E> {
                Ok(SecretString::new(v.to_string()))
            }
        }
        deserializer.deserialize_any(Text)
    }
}

/// Logging.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// E.g. `info` or `latchkey_server=debug,info`.
    pub filter: String,
    /// One JSON object per line instead of human-readable text.
    pub json: bool,
}

/// Mail transport.
#[derive(Debug, Deserialize)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransportKind {
    /// In memory, shown at `/dev/mail`; links printed to the console.
    Dev,
    /// A real SMTP relay.
    Smtp,
}

impl MailTransportKind {
    /// The name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            MailTransportKind::Dev => "dev",
            MailTransportKind::Smtp => "smtp",
        }
    }
}

/// SMTP relay settings.
#[derive(Debug, Deserialize)]
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
    /// A send attempt is abandoned after this long. Setting `timeout_secs`.
    #[serde(rename = "timeout_secs", deserialize_with = "duration::secs")]
    pub timeout: Duration,
}

/// Transport security towards the SMTP relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain text. Only sensible for a relay on loopback.
    None,
    /// Plain connection upgraded with STARTTLS (required, not opportunistic).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl SmtpSecurity {
    /// The name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpSecurity::None => "none",
            SmtpSecurity::Starttls => "starttls",
            SmtpSecurity::Tls => "tls",
        }
    }
}

/// Link life times. The settings keep their `_secs` names; each takes a
/// duration with a unit too.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// An unredeemed link dies after this long (`ttl_secs`).
    #[serde(rename = "ttl_secs", deserialize_with = "duration::secs")]
    pub ttl: Duration,
    /// After the first redeem the link still works this long, for reloads
    /// (`grace_secs`).
    #[serde(rename = "grace_secs", deserialize_with = "duration::secs")]
    pub grace: Duration,
    /// While an e-mailed link is unredeemed and younger than this, a new
    /// message sends no second e-mail: the earlier link shows everything.
    /// Zero turns coalescing off (`coalesce_secs`).
    #[serde(rename = "coalesce_secs", deserialize_with = "duration::secs")]
    pub coalesce: Duration,
}

/// Session life times.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// A guest session ends after this long without a request.
    #[serde(rename = "guest_idle_secs", deserialize_with = "duration::secs")]
    pub guest_idle: Duration,
    /// A guest session ends this long after it began, whatever happens.
    #[serde(rename = "guest_absolute_secs", deserialize_with = "duration::secs")]
    pub guest_absolute: Duration,
    /// A member session ends after this long without a request.
    #[serde(rename = "member_idle_secs", deserialize_with = "duration::secs")]
    pub member_idle: Duration,
    /// A member session ends this long after it began.
    #[serde(rename = "member_absolute_secs", deserialize_with = "duration::secs")]
    pub member_absolute: Duration,
}

/// Size limits.
#[derive(Clone, Debug, Deserialize)]
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
#[derive(Clone, Debug, Deserialize)]
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
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxConfig {
    /// A claimed row is another worker's to retry after this long. Must
    /// exceed the SMTP timeout, or a slow send could be sent twice.
    #[serde(rename = "lease_secs", deserialize_with = "duration::secs")]
    pub lease: Duration,
    /// How often an idle worker looks for work (`poll_ms`: a bare number
    /// counts milliseconds).
    #[serde(rename = "poll_ms", deserialize_with = "duration::millis")]
    pub poll: Duration,
    /// Longest wait between two attempts at one e-mail.
    #[serde(rename = "max_backoff_secs", deserialize_with = "duration::secs")]
    pub max_backoff: Duration,
    /// How often expired links, sessions and idle conversations are swept.
    #[serde(rename = "sweep_secs", deserialize_with = "duration::secs")]
    pub sweep: Duration,
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(60 * 60);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// `n` days.
const fn days(n: u64) -> Duration {
    Duration::from_secs(n * 24 * 60 * 60)
}

impl Default for Config {
    fn default() -> Self {
        Config {
            public_url: String::new(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: SecretString::new("sqlite://latchkey-data/latchkey.db?mode=rwc"),
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
                    timeout: Duration::from_secs(20),
                },
            },
            links: LinkConfig {
                ttl: days(7),
                grace: 10 * MINUTE,
                coalesce: DAY,
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
                redeem_per_ip_per_minute: 30,
                posts_per_session_per_minute: 120,
            },
            outbox: OutboxConfig {
                lease: MINUTE,
                poll: Duration::from_millis(500),
                max_backoff: HOUR,
                sweep: Duration::from_secs(30),
            },
            client_ip_header: None,
            registration_code: None,
        }
    }
}

/// A configuration that cannot be used. The messages name the variable, or
/// the key and the file, that is wrong; never a value of a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A `LATCHKEY_…` variable or a key in the file that is no setting.
    #[error("configuration: {0}")]
    Unknown(String),
    /// The file, the environment or a `*_FILE` variable could not be read or
    /// did not fit the schema.
    #[error("configuration: {0}")]
    Load(String),
    /// The values are readable but contradict each other.
    #[error("configuration: {0}")]
    Invalid(String),
}

/// How a setting's text from the environment becomes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Flag,
    /// A duration; a bare number counts in this unit.
    Duration(Unit),
}

/// One setting: its dotted key, its kind, and its default (none for an
/// optional setting that is unset).
#[derive(Debug)]
struct Setting {
    key: &'static str,
    kind: Kind,
    default: Option<Value>,
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
    fn variable(&self) -> String {
        variable_of(self.key)
    }
}

/// `mail.smtp.host` → `LATCHKEY_MAIL__SMTP__HOST`.
fn variable_of(key: &str) -> String {
    format!("LATCHKEY_{}", key.replace('.', "__").to_uppercase())
}

/// Where a value came from, for error messages.
fn origin_text(origins: &BTreeMap<String, String>, key: &str) -> String {
    origins
        .get(key)
        .cloned()
        .unwrap_or_else(|| format!("{key} (default)"))
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

    /// Layers defaults (the dev profile if `dev`), `file` (if given) and the
    /// process environment.
    pub fn load(file: Option<&Path>, dev: bool) -> Result<Config, ConfigError> {
        let defaults = if dev {
            Config::dev_defaults()
        } else {
            Config::default()
        };
        // `vars()` would panic on a name or value that is not UTF-8.
        let env = std::env::vars_os().filter_map(|(name, value)| {
            let name = name.into_string().ok()?;
            Some((name, value.to_string_lossy().into_owned()))
        });
        Self::load_from(defaults, file, env)
    }

    /// As [`Config::load`], with the defaults and environment given
    /// explicitly (tests).
    pub fn load_from(
        defaults: Config,
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let settings = defaults.settings();
        drop(defaults);
        let find = |key: &str| settings.iter().find(|s| s.key == key);
        let mut tree = Dict::new();
        for setting in &settings {
            if let Some(value) = &setting.default {
                insert(&mut tree, setting.key, value.clone());
            }
        }
        // Where each non-default value came from, by key.
        let mut origins: BTreeMap<String, String> = BTreeMap::new();
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Load(format!(
                    "the file {} does not exist",
                    path.display()
                )));
            }
            let data: Dict = Figment::from(Toml::file(path))
                .extract()
                .map_err(|e| ConfigError::Load(format!("{}: {}", path.display(), e.kind)))?;
            let mut leaves = Vec::new();
            flatten(&data, "", &settings, &mut leaves).map_err(|key| {
                ConfigError::Unknown(format!(
                    "`{key}` in {} is not a setting{}",
                    path.display(),
                    suggestion(&key, settings.iter().map(|s| s.key.to_owned()), "`")
                ))
            })?;
            for (key, value) in leaves {
                origins.insert(key.clone(), format!("`{key}` in {}", path.display()));
                insert(&mut tree, &key, value);
            }
        }
        // Not figment's Env provider: it reads the process environment, and
        // tests (and `*_FILE` values) need an explicit list.
        for (name, value) in env {
            if !name.starts_with("LATCHKEY_") || cli_vars::is_not_a_setting(&name) {
                continue;
            }
            let key_of = |name: &str| {
                name.trim_start_matches("LATCHKEY_")
                    .to_lowercase()
                    .replace("__", ".")
            };
            let (setting, value) = if let Some(setting) = find(&key_of(&name)) {
                (setting, value)
            } else if let Some(setting) = name.strip_suffix("_FILE").and_then(|n| find(&key_of(n)))
            {
                let contents = std::fs::read_to_string(&value)
                    .map_err(|e| ConfigError::Load(format!("{name}: cannot read {value}: {e}")))?;
                (setting, contents.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                let candidates = settings
                    .iter()
                    .map(Setting::variable)
                    .chain(cli_vars::ALL.iter().map(|&v| v.to_owned()));
                return Err(ConfigError::Unknown(format!(
                    "{name} is not a setting{}",
                    suggestion(&name, candidates, "")
                )));
            };
            let value = env_value(&name, setting.kind, value)?;
            origins.insert(setting.key.to_owned(), name);
            insert(&mut tree, setting.key, value);
        }
        let config: Config = Figment::from(Serialized::defaults(tree))
            .extract()
            .map_err(|errors| {
                let first = errors.into_iter().next();
                let text = first.map_or_else(String::new, |e| {
                    let key = e.path.join(".");
                    format!("{}: {}", origin_text(&origins, &key), e.kind)
                });
                ConfigError::Load(text)
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Every setting with its default from `self`. Destructured without
    /// `..`: a field added to the structs and not here does not compile.
    fn settings(&self) -> Vec<Setting> {
        let Config {
            public_url,
            bind,
            database_url,
            secrets_file,
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
                        },
                },
            links:
                LinkConfig {
                    ttl,
                    grace,
                    coalesce,
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
                    redeem_per_ip_per_minute,
                    posts_per_session_per_minute,
                },
            outbox:
                OutboxConfig {
                    lease,
                    poll,
                    max_backoff,
                    sweep,
                },
            client_ip_header,
            registration_code,
        } = self;
        let secs = |key, value: &Duration| Setting::duration(key, Unit::Secs, *value);
        vec![
            Setting::text("public_url", public_url),
            Setting::text("bind", &bind.to_string()),
            Setting::text("database_url", database_url.expose()),
            Setting::text("secrets_file", &secrets_file.to_string_lossy()),
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
            secs("links.ttl_secs", ttl),
            secs("links.grace_secs", grace),
            secs("links.coalesce_secs", coalesce),
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
                "rate_limits.redeem_per_ip_per_minute",
                *redeem_per_ip_per_minute,
            ),
            Setting::number(
                "rate_limits.posts_per_session_per_minute",
                *posts_per_session_per_minute,
            ),
            secs("outbox.lease_secs", lease),
            Setting::duration("outbox.poll_ms", Unit::Millis, *poll),
            secs("outbox.max_backoff_secs", max_backoff),
            secs("outbox.sweep_secs", sweep),
            Setting::optional_text("client_ip_header", client_ip_header.as_deref()),
            Setting::optional_text(
                "registration_code",
                registration_code.as_ref().map(SecretString::expose),
            ),
        ]
    }

    fn validate(&self) -> Result<(), ConfigError> {
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

/// Puts `value` at the dotted `key`, making the sections on the way.
fn insert(tree: &mut Dict, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            tree.insert(key.to_owned(), value);
        }
        Some((section, rest)) => {
            let entry = tree
                .entry(section.to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, dict) = entry {
                insert(dict, rest, value);
            }
        }
    }
}

/// The file's values as (dotted key, value), each key a setting; `Err` is
/// the first key that is none.
fn flatten(
    dict: &Dict,
    prefix: &str,
    settings: &[Setting],
    out: &mut Vec<(String, Value)>,
) -> Result<(), String> {
    for (name, value) in dict {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let section = format!("{key}.");
        if settings.iter().any(|s| s.key == key) {
            out.push((key, value.clone()));
        } else if let (Value::Dict(_, inner), true) =
            (value, settings.iter().any(|s| s.key.starts_with(&section)))
        {
            flatten(inner, &key, settings, out)?;
        } else {
            return Err(key);
        }
    }
    Ok(())
}

/// A value from the environment as its setting's kind needs it: the
/// setting decides, so that a numeric-looking password stays text.
fn env_value(name: &str, kind: Kind, text: String) -> Result<Value, ConfigError> {
    match kind {
        Kind::Text | Kind::Duration(_) => Ok(Value::from(text)),
        Kind::Number => {
            text.trim().parse::<u64>().map(Value::from).map_err(|_| {
                ConfigError::Load(format!("{name} must be a whole number, not {text:?}"))
            })
        }
        Kind::Flag => match text.trim() {
            "true" | "1" => Ok(Value::from(true)),
            "false" | "0" => Ok(Value::from(false)),
            _ => Err(ConfigError::Load(format!(
                "{name} must be true or false, not {text:?}"
            ))),
        },
    }
}

/// `"; did you mean X?"` for the candidate closest to `given`, if one is
/// close enough: a few edits away, or `given` cut short.
fn suggestion(given: &str, candidates: impl Iterator<Item = String>, quote: &str) -> String {
    let given_upper = given.to_uppercase();
    candidates
        .filter_map(|candidate| {
            let upper = candidate.to_uppercase();
            let distance = edit_distance(&given_upper, &upper);
            let extends = upper.starts_with(&given_upper) || given_upper.starts_with(&upper);
            let same_name = leaf(&upper) == leaf(&given_upper);
            (distance <= 3 || (extends && distance <= 8) || same_name)
                .then_some((distance, candidate))
        })
        .min()
        .map(|(_, candidate)| format!("; did you mean {quote}{candidate}{quote}?"))
        .unwrap_or_default()
}

/// The last part of a key or variable: `HOST` of `LATCHKEY_MAIL__SMTP__HOST`.
fn leaf(name: &str) -> &str {
    let name = name.strip_prefix("LATCHKEY_").unwrap_or(name);
    let after_section = name.rsplit("__").next().unwrap_or(name);
    after_section.rsplit('.').next().unwrap_or(after_section)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous.get(j).copied().unwrap_or(usize::MAX);
            let delete = previous.get(j + 1).copied().unwrap_or(usize::MAX);
            let insert = current.get(j).copied().unwrap_or(usize::MAX);
            let cost = usize::from(ca != *cb);
            current.push(
                substitute
                    .saturating_add(cost)
                    .min(delete.saturating_add(1))
                    .min(insert.saturating_add(1)),
            );
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

/// What a bare number counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Secs,
    Millis,
}

/// Durations in the configuration: `30s`, `10m`, `12h`, `7d`, `500ms`,
/// `1h30m`, or a bare number in the setting's unit.
mod duration {
    use std::time::Duration;

    use serde::Deserializer;

    use super::Unit;

    /// For a `…_secs` setting: a bare number counts seconds, and the value
    /// must be whole seconds.
    pub fn secs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        deserializer.deserialize_any(Visitor(Unit::Secs))
    }

    /// For a `…_ms` setting: a bare number counts milliseconds.
    pub fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        deserializer.deserialize_any(Visitor(Unit::Millis))
    }

    struct Visitor(Unit);

    impl serde::de::Visitor<'_> for Visitor {
        type Value = Duration;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a duration such as 30s, 10m, 12h or 7d, or a number")
        }

        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Duration, E> {
            Ok(match self.0 {
                Unit::Secs => Duration::from_secs(n),
                Unit::Millis => Duration::from_millis(n),
            })
        }

        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Duration, E> {
            let n = u64::try_from(n)
                .map_err(|_| E::custom(format!("{n} is negative; a duration is not")))?;
            self.visit_u64(n)
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Duration, E> {
            parse(text, self.0).map_err(E::custom)
        }
    }

    /// Parses a duration; a bare number counts in `unit`.
    pub(super) fn parse(text: &str, unit: Unit) -> Result<Duration, String> {
        let trimmed = text.trim();
        let unit_name = match unit {
            Unit::Secs => "seconds",
            Unit::Millis => "milliseconds",
        };
        let bad = || {
            format!(
                "{text:?} is not a duration: write a number of {unit_name}, or a number with \
                 a unit (ms, s, m, h, d), e.g. 30s, 10m, 12h, 7d, 1h30m"
            )
        };
        if trimmed.is_empty() {
            return Err(bad());
        }
        if trimmed.bytes().all(|b| b.is_ascii_digit()) {
            let n: u64 = trimmed.parse().map_err(|_| bad())?;
            return Ok(match unit {
                Unit::Secs => Duration::from_secs(n),
                Unit::Millis => Duration::from_millis(n),
            });
        }
        let mut total = Duration::ZERO;
        let mut rest = trimmed;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let (number, after) = rest.split_at(digits);
            let letters = after
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(after.len());
            let (suffix, after) = after.split_at(letters);
            let n: u64 = number.parse().map_err(|_| bad())?;
            let part = match suffix {
                "ms" => Some(Duration::from_millis(n)),
                "s" => Some(Duration::from_secs(n)),
                "m" => n.checked_mul(60).map(Duration::from_secs),
                "h" => n.checked_mul(60 * 60).map(Duration::from_secs),
                "d" => n.checked_mul(24 * 60 * 60).map(Duration::from_secs),
                _ => return Err(bad()),
            };
            total = part
                .and_then(|p| total.checked_add(p))
                .ok_or_else(|| format!("{text:?} is too long a duration"))?;
            rest = after;
        }
        if unit == Unit::Secs && total.subsec_nanos() != 0 {
            return Err(format!(
                "{text:?} is not a whole number of seconds, which this setting counts"
            ));
        }
        Ok(total)
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

    fn load_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::load_from(Config::default(), None, env(pairs))
    }

    fn load_file(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.toml");
        std::fs::write(&path, text).unwrap();
        Config::load_from(Config::default(), Some(&path), env(&[]))
    }

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

    #[test]
    fn defaults_survive_the_layering() {
        // Every default, including optional ones, comes back as it went in.
        let base = Config::default();
        let defaults = Config {
            registration_code: Some(SecretString::new("0042")),
            client_ip_header: Some("x-forwarded-for".into()),
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
        assert_eq!(config.links.grace, Duration::from_secs(30));
        assert_eq!(config.mail.smtp.host, "relay.example.org");
        assert_eq!(config.mail.smtp.username.as_deref(), Some("12345"));
        assert_eq!(
            config.mail.smtp.password.as_ref().map(SecretString::expose),
            Some("hunter2")
        );
        assert!(!format!("{config:?}").contains("hunter2"));
        assert_eq!(config.public_origin(), "https://chat.example.org");
        // `secrets_file` ends in `_FILE` but is a setting of its own.
        let config = load_env(&[("LATCHKEY_SECRETS_FILE", "/keys/latchkey.key")]).unwrap();
        assert_eq!(config.secrets_file, PathBuf::from("/keys/latchkey.key"));
    }

    #[test]
    fn the_command_line_clients_variables_are_not_settings() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("latchkey.toml");
        std::fs::write(&file, "[links]\nttl_secs = \"2d\"\n").unwrap();
        // The README's walk-through, exported in the shell that runs serve.
        let config = Config::load_from(
            Config::default(),
            Some(&file),
            env(&[
                (cli_vars::SERVER, "http://127.0.0.1:8080"),
                (cli_vars::PASSWORD, "a long passphrase"),
                (cli_vars::HANDLE, "bob"),
                (cli_vars::CONFIG, file.to_str().unwrap()),
                (cli_vars::RECOVERY_KEY, "LKR1-…"),
                (cli_vars::MEMBER_CODE, "let me in"),
                ("LATCHKEY_TEST_POSTGRES_URL", "postgres://postgres@x/y"),
            ]),
        )
        .unwrap();
        assert_eq!(config.links.ttl, Duration::from_secs(2 * 24 * 3600));
        assert!(config.registration_code.is_none());
        // No client variable doubles as a setting: each has one reader.
        let settings = Config::default().settings();
        for name in cli_vars::ALL.iter().chain(cli_vars::TEST_TOOLS) {
            assert!(
                !settings.iter().any(|s| s.variable() == *name),
                "{name} is a setting too"
            );
        }
        // The server's registration code is a setting, not a client variable.
        let config = load_env(&[("LATCHKEY_REGISTRATION_CODE", "1234")]).unwrap();
        assert_eq!(
            config.registration_code.as_ref().map(SecretString::expose),
            Some("1234")
        );
    }

    #[test]
    fn unknown_variables_are_named_with_a_suggestion() {
        let err = load_env(&[("LATCHKEY_LINKS__GRACE", "1")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration: LATCHKEY_LINKS__GRACE is not a setting; did you mean \
             LATCHKEY_LINKS__GRACE_SECS?"
        );
        let err = load_env(&[("LATCHKEY_MAIL__SMTP__HOTS", "x")]).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("did you mean LATCHKEY_MAIL__SMTP__HOST?"),
            "{err}"
        );
        let err = load_env(&[("LATCHKEY_SEVRER", "x")]).unwrap_err();
        assert!(err.to_string().ends_with("LATCHKEY_SERVER?"), "{err}");
        let err = load_env(&[("LATCHKEY_WHATEVER_ELSE", "x")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration: LATCHKEY_WHATEVER_ELSE is not a setting"
        );
        // A section is not a setting; `_FILE` of a non-setting neither.
        let err = load_env(&[("LATCHKEY_MAIL__SMTP", "x")]).unwrap_err();
        assert!(
            err.to_string().contains("LATCHKEY_MAIL__SMTP is not"),
            "{err}"
        );
        let err = load_env(&[("LATCHKEY_PASSWORD_FILE", "/x")]).unwrap_err();
        assert!(
            err.to_string().contains("LATCHKEY_PASSWORD_FILE is not"),
            "{err}"
        );
        assert!(matches!(err, ConfigError::Unknown(_)));
        // Never a source location.
        assert!(!err.to_string().contains(".rs:"), "{err}");
    }

    #[test]
    fn unknown_keys_in_the_file_are_named_with_the_file() {
        let err = load_file("[links]\ngrace = 60\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("configuration: `links.grace` in ")
                && text.contains("latchkey.toml is not a setting")
                && text.ends_with("did you mean `links.grace_secs`?"),
            "{text}"
        );
        let err = load_file("[mail.smpt]\nhost = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("`mail.smpt`"), "{err}");
        let err = load_file("server = \"http://x\"\n").unwrap_err();
        assert!(err.to_string().contains("`server` in "), "{err}");
        let err = load_file("links = 5\n").unwrap_err();
        assert!(err.to_string().contains("`links` in "), "{err}");
        let err = load_file("[links\n").unwrap_err();
        assert!(err.to_string().contains("latchkey.toml"), "{err}");
        assert!(!err.to_string().contains(".rs:"), "{err}");
    }

    #[test]
    fn durations_take_units_in_the_file_and_the_environment() {
        let config = load_file(
            "retention_secs = \"30d\"\n[links]\nttl_secs = 604800\ngrace_secs = \"10m\"\n\
             [sessions]\nguest_idle_secs = \"1h30m\"\n[outbox]\npoll_ms = 250\nsweep_secs = \"45s\"\n",
        )
        .unwrap();
        assert_eq!(config.retention, Duration::from_secs(30 * 24 * 3600));
        assert_eq!(config.links.ttl, Duration::from_secs(604_800));
        assert_eq!(config.links.grace, Duration::from_secs(600));
        assert_eq!(config.sessions.guest_idle, Duration::from_secs(5400));
        assert_eq!(config.outbox.poll, Duration::from_millis(250));
        assert_eq!(config.outbox.sweep, Duration::from_secs(45));
        let config = load_env(&[
            ("LATCHKEY_LINKS__TTL_SECS", "7d"),
            ("LATCHKEY_LINKS__GRACE_SECS", "600"),
            ("LATCHKEY_SESSIONS__MEMBER_IDLE_SECS", "12h"),
            ("LATCHKEY_OUTBOX__POLL_MS", "2s"),
            ("LATCHKEY_MAIL__SMTP__TIMEOUT_SECS", "30s"),
        ])
        .unwrap();
        assert_eq!(config.links.ttl, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(config.links.grace, Duration::from_secs(600));
        assert_eq!(config.sessions.member_idle, Duration::from_secs(12 * 3600));
        assert_eq!(config.outbox.poll, Duration::from_secs(2));
        assert_eq!(config.mail.smtp.timeout, Duration::from_secs(30));
        // Zero coalescing stays possible.
        let config = load_env(&[("LATCHKEY_LINKS__COALESCE_SECS", "0")]).unwrap();
        assert!(config.links.coalesce.is_zero());
    }

    #[test]
    fn bad_durations_name_the_variable_or_key() {
        let err = load_env(&[("LATCHKEY_LINKS__TTL_SECS", "7 days")]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(
                "configuration: LATCHKEY_LINKS__TTL_SECS: \"7 days\" is not a duration"
            ),
            "{text}"
        );
        assert!(!text.contains(".rs:"), "{text}");
        let err = load_env(&[("LATCHKEY_LINKS__GRACE_SECS", "1500ms")]).unwrap_err();
        assert!(err.to_string().contains("whole number of seconds"), "{err}");
        let err = load_env(&[("LATCHKEY_LINKS__TTL_SECS", "99999999999999999999d")]).unwrap_err();
        assert!(
            err.to_string().contains("LATCHKEY_LINKS__TTL_SECS"),
            "{err}"
        );
        let err = load_file("[links]\nttl_secs = -5\n").unwrap_err();
        assert!(
            err.to_string().contains("`links.ttl_secs` in ")
                && err.to_string().contains("negative"),
            "{err}"
        );
        let err = load_file("[links]\nttl_secs = \"7x\"\n").unwrap_err();
        assert!(err.to_string().contains("`links.ttl_secs` in "), "{err}");
        for bad in ["", "d", "7", "1h30", "1.5h", "-3s"] {
            if bad == "7" {
                continue;
            }
            assert!(duration::parse(bad, Unit::Secs).is_err(), "{bad:?}");
        }
        assert_eq!(
            duration::parse("1d2h3m4s", Unit::Secs),
            Ok(Duration::from_secs(93_784))
        );
        assert_eq!(
            duration::parse("7", Unit::Millis),
            Ok(Duration::from_millis(7))
        );
    }

    #[test]
    fn bad_values_name_the_variable_and_hide_secrets() {
        let err = load_env(&[("LATCHKEY_MAIL__SMTP__PORT", "twenty-five")]).unwrap_err();
        assert!(
            err.to_string()
                .contains("LATCHKEY_MAIL__SMTP__PORT must be a whole number"),
            "{err}"
        );
        let err = load_env(&[("LATCHKEY_MAIL__SMTP__PORT", "70000")]).unwrap_err();
        assert!(
            err.to_string().contains("LATCHKEY_MAIL__SMTP__PORT: "),
            "{err}"
        );
        let err = load_env(&[("LATCHKEY_DEV", "yes")]).unwrap_err();
        assert!(err.to_string().contains("true or false"), "{err}");
        let err = load_env(&[("LATCHKEY_MAIL__SECURITY", "tls")]).unwrap_err();
        assert!(err.to_string().contains("SMTP__SECURITY?"), "{err}");
        // A numeric secret in the file is text, never "found 987654".
        let config = load_file("registration_code = 987654\n").unwrap();
        assert_eq!(
            config.registration_code.as_ref().map(SecretString::expose),
            Some("987654")
        );
        let err = load_file("registration_code = 987654\nbind = \"nowhere\"\n").unwrap_err();
        assert!(!err.to_string().contains("987654"), "{err}");
    }

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

    #[test]
    fn secrets_are_not_printed() {
        let config = load_env(&[
            ("LATCHKEY_DATABASE_URL", "postgres://u:pa55word@db/latchkey"),
            ("LATCHKEY_REGISTRATION_CODE", "open sesame"),
        ])
        .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("pa55word") && !debug.contains("open sesame"));
        assert_eq!(
            config.database_url.expose(),
            "postgres://u:pa55word@db/latchkey"
        );
    }
}
