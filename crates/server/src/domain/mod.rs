//! The domain layer: what the server decides. It takes parsed, typed input
//! (the contract's types: a `Handle`, a `MessageId`, a `LinkFragment`),
//! checks it against the rules (access, budgets, the shape of every blob),
//! writes through the store in one transaction where things belong
//! together, and answers with typed results. It knows nothing of HTTP:
//! `http/` extracts a request, calls one function here and maps the result.
//!
//! One module per concern; each depends only on those listed before it in
//! this file, so there are no import cycles:
//! [`error`], [`sessions`], [`notices`], [`passwords`],
//! [`identity_proofs`], [`invites`], [`access`], [`grants`], then the entry points
//! [`accounts`], [`recovery`], [`passkeys`], [`conversations`], [`links`],
//! [`admin`] (the site's backend), [`webhooks`] (its event endpoints) and
//! [`oidc`] (sign-in with the site's accounts).

pub mod access;
pub mod accounts;
pub mod admin;
pub mod conversations;
pub mod error;
pub mod grants;
pub mod identity_proofs;
pub mod invites;
pub mod links;
pub mod notices;
pub mod oidc;
pub mod passkey_accounts;
pub mod passkeys;
pub mod passwords;
pub mod recovery;
pub mod sessions;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

pub use error::DomainError;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::ratelimit::{BudgetKey, ClientBudgetKey, RateLimiter};
use crate::secrets::ServerKeys;
use crate::store::Store;

/// Everything a domain function may use. No globals: tests build as many as
/// they like. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Context {
    /// Storage.
    pub store: Store,
    /// Keys from the secrets file.
    pub keys: Arc<ServerKeys>,
    /// Configuration.
    pub config: Arc<Config>,
    /// Request budgets.
    pub limiter: Arc<RateLimiter>,
    /// Counters for operators (rate-limit rejections, here).
    pub metrics: Metrics,
}

/// One request budget: a name (it keys the counter) and its size.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    name: &'static str,
    limit: u32,
    period: Duration,
}

pub(crate) const MINUTE: Duration = Duration::from_secs(60);
pub(crate) const HOUR: Duration = Duration::from_secs(3600);

impl Context {
    /// Counts one request against `budget` for `key` (a client's
    /// [`ClientKey::bytes`], or bytes such as a blind index); over it is
    /// 429. Call it only with parsed input, so a malformed request spends
    /// nothing and plants no key. On PostgreSQL this is one statement: the
    /// budget is every instance's.
    pub(crate) async fn spend<'k>(
        &self,
        budget: Budget,
        key: impl Into<BudgetKey<'k>>,
    ) -> Result<(), DomainError> {
        self.limiter
            .check(budget.name, key.into(), budget.limit, budget.period)
            .await
            .map_err(|retry_after| {
                self.metrics.rate_limited(budget.name);
                DomainError::rate_limited(retry_after)
            })
    }

    /// Registration, login start and recovery, per client address.
    pub(crate) fn login_budget(&self) -> Budget {
        Budget {
            name: "login-ip",
            limit: self.config.rate_limits.login_per_ip_per_minute,
            period: MINUTE,
        }
    }

    /// Link peeks and redeems, per client address.
    pub(crate) fn redeem_budget(&self) -> Budget {
        Budget {
            name: "redeem-ip",
            limit: self.config.rate_limits.redeem_per_ip_per_minute,
            period: MINUTE,
        }
    }
}

/// Milliseconds of a configured duration, as stored times count them.
pub(crate) fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The client's budget key: its address (one per IPv4 address, one per
/// IPv6 /64), as the HTTP layer found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientKey(pub std::net::IpAddr);

impl ClientKey {
    /// What [`Context::spend`] counts for this client: its address, and
    /// its network (IPv4 /24, IPv6 /48) against the network's budget.
    fn bytes(&self) -> ClientBudgetKey {
        ClientBudgetKey(self.0)
    }
}
