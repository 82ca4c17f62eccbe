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
//! the layering as a list of settings (`Config::settings`) instead.
//!
//! This file holds the shape: [`Config`], its sections and [`ConfigError`].
//! Beside it: `defaults` (the production and development profiles),
//! `settings` (the flat list of settings), `load` (the layering),
//! `suggest` ("did you mean"), `duration` (the duration syntax), `validate`
//! (the checks across values), `secret` ([`SecretString`]) and `ca_file`
//! (the mail relay's private certificate authorities).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

mod ca_file;
pub mod cli_vars;
mod defaults;
mod duration;
mod embed;
mod load;
mod network;
mod oidc;
mod secret;
mod settings;
mod suggest;
#[cfg(test)]
mod test_support;
mod validate;

pub use ca_file::read_ca_file;
pub use network::IpNetwork;
pub use secret::SecretString;

impl OidcConfig {
    /// Whether sign-in with the site's accounts is set up.
    pub fn enabled(&self) -> bool {
        self.issuer.is_some()
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
    /// The epoch file: the keys of the second seal on stored grants, erased
    /// as their links die (see [`Config::epoch_file_path`]). Unset: beside the
    /// secrets file, named like it with the extension `.epoch`. Never
    /// inside the database's folder, and best kept out of backups.
    pub epoch_file: Option<PathBuf>,
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
    /// Header carrying the client address when behind a reverse proxy:
    /// `x-forwarded-for` (or `x-real-ip`, any header of comma-separated
    /// addresses) or `forwarded` (RFC 7239, its `for=` parameters). Unset:
    /// the peer address, and no header is believed.
    pub client_ip_header: Option<String>,
    /// The networks of the reverse proxies (`10.0.0.0/8`, `fd00::/8`, an
    /// address alone). The header is believed only from a peer inside one,
    /// and is walked from the right only through addresses inside one.
    /// Default: loopback and the private ranges.
    #[serde(deserialize_with = "network::list")]
    pub trusted_proxies: Vec<IpNetwork>,
    /// How many proxies stand in front of the server, counting the one
    /// that connects to it: the client is at most this many entries from the
    /// header's right end. Default 1.
    pub trusted_proxy_hops: u32,
    /// When set, registering as a member needs this code (the operator
    /// hands it to the people who may become members).
    pub registration_code: Option<SecretString>,
    /// Who may register as a member: `open` (anyone), `closed` (nobody; the
    /// site's backend or the operator adds members), or unset: with a
    /// `registration_code`, those who have it; without one, anyone on a
    /// dev-mode or loopback server and nobody on a public one, so that a
    /// forgotten setting does not let strangers in (see
    /// [`Config::registration_policy`]).
    pub registration: Option<Registration>,
    /// The metrics endpoint.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Signing in with the site's accounts (OpenID Connect).
    pub oidc: OidcConfig,
    /// Which ways of signing in are open.
    pub auth: AuthConfig,
    /// Which sites may show the contact form in a frame.
    pub embed: EmbedConfig,
    /// Delivery of events to the site's backend.
    pub webhooks: WebhooksConfig,
    /// Server-Sent Events to open pages (`GET /api/v1/events`).
    pub events: EventsConfig,
}

/// Bounds on the event streams of open pages (see `docs/live.md`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    /// Streams one session may hold open; a new one beyond closes the
    /// oldest (a reloaded tab leaves its old stream to time out).
    pub max_per_session: usize,
    /// Streams this instance holds open; one more is refused with 503 and
    /// `Retry-After`.
    pub max_connections: usize,
    /// How often a stream sends a `: ping` comment and checks that its
    /// session still lives (`heartbeat_secs`): proxies keep the connection,
    /// and a signed-out session's stream ends within this.
    #[serde(rename = "heartbeat_secs", deserialize_with = "duration::secs")]
    pub heartbeat: Duration,
}

/// Webhook delivery. The endpoints are in the database (`latchkey admin
/// webhook add`); this is how patiently they are retried.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// The wait after the first failed attempt at an event; it doubles with
    /// each further failure, up to an hour (`retry_base_ms`: a bare number
    /// counts milliseconds).
    #[serde(rename = "retry_base_ms", deserialize_with = "duration::millis")]
    pub retry_base: Duration,
    /// How long a receiver has to answer one delivery (`timeout_secs`). An
    /// endpoint an instance was sending to when it died waits this long
    /// and 5 s more before another instance (or the restarted one) sends.
    #[serde(rename = "timeout_secs", deserialize_with = "duration::secs")]
    pub timeout: Duration,
}

/// The contact form in the site's own pages: `/embed/m/HANDLE` may be
/// framed by these origins, and no page by any other.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedConfig {
    /// `scheme://host[:port]` of each site whose pages may frame the form,
    /// as browsers send it (checked and normalised when read). Empty (the
    /// default): no page may, and `/embed/…` does not exist.
    #[serde(deserialize_with = "embed::origins")]
    pub allowed_origins: Vec<String>,
}

/// Signing in with the site's accounts: latchkey as an OpenID Connect
/// relying party of the site's provider. Off while `issuer` is unset.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The provider's issuer URL, exactly as its discovery document
    /// (`<issuer>/.well-known/openid-configuration`) names it.
    pub issuer: Option<String>,
    /// The client id the provider gave latchkey.
    pub client_id: Option<String>,
    /// The client secret (better: `LATCHKEY_OIDC__CLIENT_SECRET_FILE`).
    pub client_secret: Option<SecretString>,
    /// The scopes asked for, separated by spaces (`openid` is always asked).
    pub scopes: String,
    /// The site's name on the sign-in button: "Sign in with <name>".
    pub display_name: String,
    /// Which ID-token claims become the member's handle, name and address.
    pub claims: OidcClaims,
}

/// The ID-token claims a new member's profile is taken from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcClaims {
    /// Becomes the handle, normalised (default `preferred_username`).
    pub handle: String,
    /// Becomes the display name (default `name`).
    pub display_name: String,
    /// Becomes the notice address (default `email`).
    pub email: String,
}

/// Which ways of signing in are open.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Handle-and-password accounts: registration and password sign-in.
    /// `false` (with OpenID Connect set up) leaves the site's accounts only.
    pub local_passwords: bool,
}

/// The metrics endpoint: Prometheus text on a listener of its own, apart
/// from the public one, so that a reverse proxy never publishes it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Where `GET /metrics` is served. Unset (the default): nowhere.
    pub bind: Option<SocketAddr>,
}

/// The `registration` setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    /// Anyone may register.
    Open,
    /// Nobody may register.
    Closed,
}

impl Registration {
    /// The word in the configuration.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Registration::Open => "open",
            Registration::Closed => "closed",
        }
    }
}

/// Who may register, as [`Config::registration_policy`] decides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationPolicy {
    /// Anyone.
    Open,
    /// Those who give the registration code.
    Code,
    /// Nobody.
    Closed,
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
    /// Mails per conversation per day (its guest's links and its member's
    /// notices). 0: no cap.
    pub per_conversation_per_day: u32,
    /// Links per member per day that his messages and his client have
    /// e-mailed to his guests. 0: no cap.
    pub per_member_per_day: u32,
    /// Mails per recipient per day: one guest address (over all its
    /// conversations, first contacts included), or one member's notices.
    /// 0: no cap.
    pub per_recipient_per_day: u32,
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
    /// A PEM file of certificate authorities trusted for the relay's
    /// certificate besides the public ones (an internal relay's private
    /// CA), with `starttls` and `tls`. Read and checked at start.
    pub ca_file: Option<PathBuf>,
    /// How many mails the outbox hands to the relay at once, each on its
    /// own connection (1: one after another).
    pub connections: u16,
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
    /// Stored grants are sealed per epoch of this length; an epoch's key is
    /// erased once its last link is dead (`ttl` + `grace` + one epoch after
    /// the epoch ends). Shorter: used links die sooner in old copies of the
    /// epoch file, which is rewritten once per epoch. Applies to a new
    /// epoch file; an existing one keeps its length (`epoch_secs`).
    #[serde(rename = "epoch_secs", deserialize_with = "duration::secs")]
    pub epoch: Duration,
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

/// Request budgets (shared by the instances on PostgreSQL).
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
    /// Login attempts per handle per minute, from all addresses together
    /// (whether or not a member has the handle, so the answer tells
    /// nothing): a guesser spread over many addresses still gets few tries.
    pub login_per_handle_per_minute: u32,
    /// Link redemptions per client address per minute.
    pub redeem_per_ip_per_minute: u32,
    /// Redeems with a wrong e-mail address per link per hour. Once spent,
    /// the link answers 429 to every address until the hour is over:
    /// otherwise the answer to the next guess would still tell right from
    /// wrong.
    pub wrong_address_per_link_per_hour: u32,
    /// Redeems with a wrong e-mail address per client address per hour,
    /// over all links (spent, they refuse this client every address too).
    pub wrong_address_per_ip_per_hour: u32,
    /// Messages per session (member or guest) per minute.
    pub posts_per_session_per_minute: u32,
    /// An IPv4 /24 may spend this many times one address's budget, over
    /// all its addresses (0: no network budget).
    pub ipv4_24_multiple: u32,
    /// An IPv6 /48 may spend this many times one /64's budget, over all
    /// its /64s (0: no network budget).
    pub ipv6_48_multiple: u32,
    /// Windows each budget keeps in memory (SQLite; on PostgreSQL the
    /// fallback); when full, the oldest is forgotten, never a key refused.
    pub max_keys_per_bucket: usize,
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

impl Config {
    /// The epoch file: `epoch_file`, or the secrets file's path with the
    /// extension `.epoch`.
    pub fn epoch_file_path(&self) -> PathBuf {
        self.epoch_file
            .clone()
            .unwrap_or_else(|| self.secrets_file.with_extension("epoch"))
    }

    /// What the configuration says about epoch keys.
    pub fn epoch_settings(&self) -> crate::epochs::EpochSettings {
        crate::epochs::EpochSettings {
            new_length: self.links.epoch,
            link_ttl: self.links.ttl,
            link_grace: self.links.grace,
        }
    }

    /// `scheme://host[:port]` of [`Config::public_url`], as browsers send it
    /// in `Origin`.
    pub fn public_origin(&self) -> String {
        url::Url::parse(&self.public_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default()
    }

    /// Who may register. An explicit `registration` wins; otherwise a
    /// configured code is needed; otherwise a server only this machine can
    /// reach (dev mode, or a loopback `public_url`) is open and any other is
    /// closed.
    pub fn registration_policy(&self) -> RegistrationPolicy {
        match (self.registration, &self.registration_code) {
            (Some(Registration::Closed), _) => RegistrationPolicy::Closed,
            (Some(Registration::Open), _) => RegistrationPolicy::Open,
            (None, Some(_)) => RegistrationPolicy::Code,
            (None, None) if self.dev || self.public_url_is_loopback() => RegistrationPolicy::Open,
            (None, None) => RegistrationPolicy::Closed,
        }
    }

    fn public_url_is_loopback(&self) -> bool {
        url::Url::parse(&self.public_url)
            .ok()
            .and_then(|u| match u.host()? {
                url::Host::Domain(name) => Some(name.eq_ignore_ascii_case("localhost")),
                url::Host::Ipv4(ip) => Some(ip.is_loopback()),
                url::Host::Ipv6(ip) => Some(ip.is_loopback()),
            })
            .unwrap_or(false)
    }

    /// Whether cookies get the `Secure` attribute: always, except for a
    /// plain-HTTP public address in dev mode.
    pub fn secure_cookies(&self) -> bool {
        !(self.dev && self.public_url.starts_with("http://"))
    }
}
