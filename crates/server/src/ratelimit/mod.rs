//! Request budgets: a fixed window per (budget, key), counted
//!
//! - on PostgreSQL, in the database, so every instance behind the load
//!   balancer spends the same budget (one upsert per budgeted request);
//! - on SQLite (one instance), in memory.
//!
//! Memory is bounded either way: the in-memory windows are capped per
//! budget, and a full budget forgets its oldest window rather than refusing
//! a new key (see [`local`]). A per-client budget is also counted per
//! network, IPv4 /24 or IPv6 /48, with a larger budget: one allocation
//! cannot mint itself unlimited fresh budgets (an IPv6 /48 holds 65,536
//! /64s), while a neighbour's fair share is left alone.

mod local;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::ms;
use crate::model::Timestamp;
use crate::secrets::ServerKeys;
use crate::store::{BudgetCount, Store};
use local::LocalCounter;

/// What a budget counts the requests of.
#[derive(Clone, Copy, Debug)]
pub enum BudgetKey<'a> {
    /// A client address: counted per IPv4 address or IPv6 /64, and again
    /// per IPv4 /24 or IPv6 /48 against the network's budget.
    Client(IpAddr),
    /// Anything else (a guest address's blind index, a session's token
    /// hash): counted as it is.
    Bytes(&'a [u8]),
}

/// A client address as a budget key. Taken by reference like the byte
/// keys, so every call site reads the same (`&client.bytes()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientBudgetKey(pub IpAddr);

impl From<&ClientBudgetKey> for BudgetKey<'static> {
    fn from(key: &ClientBudgetKey) -> Self {
        BudgetKey::Client(key.0)
    }
}

impl<'a> From<&'a [u8]> for BudgetKey<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        BudgetKey::Bytes(bytes)
    }
}

impl<'a> From<&'a Vec<u8>> for BudgetKey<'a> {
    fn from(bytes: &'a Vec<u8>) -> Self {
        BudgetKey::Bytes(bytes)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for BudgetKey<'a> {
    fn from(bytes: &'a [u8; N]) -> Self {
        BudgetKey::Bytes(bytes)
    }
}

/// The limiter's own settings (the budgets themselves are the callers').
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// In-memory windows kept per budget; beyond, the oldest is forgotten.
    pub max_keys_per_bucket: usize,
    /// An IPv4 /24 may spend this many times a single address's budget
    /// (0: no network budget).
    pub ipv4_24_multiple: u32,
    /// An IPv6 /48 may spend this many times a single /64's budget (0: no
    /// network budget).
    pub ipv6_48_multiple: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_keys_per_bucket: 50_000,
            ipv4_24_multiple: 16,
            ipv6_48_multiple: 8,
        }
    }
}

/// Which counter of a budget: the key's own, or its network's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Scope {
    Key,
    Network,
}

/// One counter to spend from: a budget, a key and its limit.
#[derive(Clone, Debug)]
struct Count {
    bucket: &'static str,
    scope: Scope,
    /// The key's canonical bytes (an address's masked octets).
    key: Vec<u8>,
    limit: u32,
}

/// Budgets by key.
#[derive(Debug)]
pub struct RateLimiter {
    limits: Limits,
    local: LocalCounter,
    shared: Option<Shared>,
}

/// The database's counters, for instances that share one.
#[derive(Debug)]
struct Shared {
    store: Store,
    keys: Arc<ServerKeys>,
    /// The fallback to memory is logged once a minute while it lasts, not
    /// once per request while the database is away.
    fallback_warning: Throttle,
}

/// Says yes at most once per period.
#[derive(Debug)]
struct Throttle {
    every: Duration,
    last: Mutex<Option<Instant>>,
}

impl Throttle {
    fn new(every: Duration) -> Throttle {
        Throttle {
            every,
            last: Mutex::new(None),
        }
    }

    /// Whether the period since the last yes is over; if so, this is one.
    fn due(&self, now: Instant) -> bool {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|at| now.duration_since(at) < self.every) {
            return false;
        }
        *last = Some(now);
        true
    }
}

impl RateLimiter {
    /// Counts in this instance's memory (one instance, SQLite; tests).
    pub fn in_memory(limits: Limits) -> RateLimiter {
        RateLimiter {
            limits,
            local: LocalCounter::new(limits.max_keys_per_bucket),
            shared: None,
        }
    }

    /// Counts in the database when it is shared by instances (PostgreSQL),
    /// in memory otherwise. The stored keys are keyed hashes under the
    /// blind-index key: the database never holds a client address.
    pub fn for_store(limits: Limits, store: &Store, keys: Arc<ServerKeys>) -> RateLimiter {
        RateLimiter {
            shared: store.shares_budgets().then(|| Shared {
                store: store.clone(),
                keys,
                fallback_warning: Throttle::new(Duration::from_secs(60)),
            }),
            ..RateLimiter::in_memory(limits)
        }
    }

    /// Counts one request against `limit` per `period` for `key` in
    /// `bucket` (and, for a client, against its network's budget).
    /// `Err(seconds)` says when to try again.
    pub async fn check(
        &self,
        bucket: &'static str,
        key: BudgetKey<'_>,
        limit: u32,
        period: Duration,
    ) -> Result<(), u64> {
        let counts = self.counts(bucket, key, limit);
        if let Some(shared) = &self.shared {
            if let Some(answer) = shared.check(&counts, period).await {
                return answer;
            }
        }
        self.local.check(&counts, period, Instant::now())
    }

    /// Whether `key` has any of `limit` left in `bucket` this period (and,
    /// for a client, whether its network has), spending nothing: for
    /// budgets that count only failures, which must still refuse a
    /// success once spent. `Err(seconds)` says when to try again.
    pub async fn left(
        &self,
        bucket: &'static str,
        key: BudgetKey<'_>,
        limit: u32,
        period: Duration,
    ) -> Result<(), u64> {
        let counts = self.counts(bucket, key, limit);
        if let Some(shared) = &self.shared {
            if let Some(answer) = shared.left(&counts, period).await {
                return answer;
            }
        }
        self.local.left(&counts, period, Instant::now())
    }

    /// The key's own counter, then its network's if it has one.
    fn counts(&self, bucket: &'static str, key: BudgetKey<'_>, limit: u32) -> Vec<Count> {
        let own = |key: Vec<u8>| Count {
            bucket,
            scope: Scope::Key,
            key,
            limit,
        };
        let network = |key: Vec<u8>, multiple: u32| Count {
            bucket,
            scope: Scope::Network,
            key,
            limit: limit.saturating_mul(multiple),
        };
        match key {
            BudgetKey::Bytes(bytes) => vec![own(bytes.to_vec())],
            BudgetKey::Client(ip) => {
                // The HTTP layer already keys IPv6 by /64 and unmaps
                // IPv4-mapped addresses; doing it again here keeps the
                // limiter's promise whoever calls it.
                let (address, net, multiple) = match ip.to_canonical() {
                    IpAddr::V4(v4) => {
                        let [a, b, c, d] = v4.octets();
                        (
                            vec![a, b, c, d],
                            vec![a, b, c],
                            self.limits.ipv4_24_multiple,
                        )
                    }
                    IpAddr::V6(v6) => {
                        let octets = v6.octets();
                        let prefix = |bits: usize| octets.iter().take(bits / 8).copied().collect();
                        (prefix(64), prefix(48), self.limits.ipv6_48_multiple)
                    }
                };
                let mut counts = vec![own(address)];
                if multiple > 0 {
                    counts.push(network(net, multiple));
                }
                counts
            }
        }
    }
}

impl Shared {
    /// The database's answer; `None` when the database failed, and the
    /// caller counts in memory instead: a degraded budget beats none, and
    /// beats refusing everyone.
    async fn check(&self, counts: &[Count], period: Duration) -> Option<Result<(), u64>> {
        let window = Window::now(period);
        let hashed = self.hashed(counts);
        let rows = BudgetCount::all(&hashed);
        let spent = self
            .store
            .spend_budget(&rows, window.start, window.end)
            .await;
        self.answer(spent, &window)
    }

    /// [`Shared::check`] without spending.
    async fn left(&self, counts: &[Count], period: Duration) -> Option<Result<(), u64>> {
        let window = Window::now(period);
        let hashed = self.hashed(counts);
        let rows = BudgetCount::all(&hashed);
        let left = self.store.budget_left(&rows, window.start).await;
        self.answer(left, &window)
    }

    /// Each counter's keyed hash, stored name and limit.
    fn hashed(&self, counts: &[Count]) -> Vec<([u8; 32], String, i64)> {
        counts
            .iter()
            .map(|c| (self.key_hash(c), stored_bucket(c), i64::from(c.limit)))
            .collect()
    }

    /// The database's yes or no as the limiter's answer.
    fn answer(
        &self,
        passed: Result<bool, crate::store::StoreError>,
        window: &Window,
    ) -> Option<Result<(), u64>> {
        match passed {
            Ok(true) => Some(Ok(())),
            Ok(false) => {
                let left_ms = window.end.as_ms().saturating_sub(window.now.as_ms());
                let secs = u64::try_from(left_ms.saturating_add(999) / 1000).unwrap_or(1);
                Some(Err(secs.max(1)))
            }
            Err(e) => {
                if self.fallback_warning.due(Instant::now()) {
                    tracing::warn!(
                        error = %e,
                        "shared budget unavailable; counted in memory (logged once a minute \
                         while it lasts)"
                    );
                }
                None
            }
        }
    }

    /// HMAC under the blind-index key of the counter's name and key: the
    /// input has no `@`, so it is never a guest address's index.
    fn key_hash(&self, count: &Count) -> [u8; 32] {
        let hex: String = count.key.iter().map(|b| format!("{b:02x}")).collect();
        self.keys
            .blind_index
            .email(&format!("budget:{}:{hex}", stored_bucket(count)))
    }
}

/// The clock-aligned window a shared counter counts in.
struct Window {
    now: Timestamp,
    start: Timestamp,
    end: Timestamp,
}

impl Window {
    fn now(period: Duration) -> Window {
        let period_ms = ms(period).max(1);
        let now = Timestamp::now();
        // Windows are aligned to the clock, so every instance names the
        // same window without asking the others.
        let start = Timestamp::from_ms(now.as_ms() - now.as_ms().rem_euclid(period_ms));
        Window {
            now,
            start,
            end: start.plus_ms(period_ms),
        }
    }
}

impl<'a> BudgetCount<'a> {
    /// The rows for [`Store::spend_budget`] and [`Store::budget_left`].
    fn all(hashed: &'a [([u8; 32], String, i64)]) -> Vec<BudgetCount<'a>> {
        hashed
            .iter()
            .map(|(key_hash, bucket, limit)| BudgetCount {
                bucket,
                key_hash,
                limit: *limit,
            })
            .collect()
    }
}

/// The counter's name in the database: the budget's, `/net` for the
/// network's.
fn stored_bucket(count: &Count) -> String {
    match count.scope {
        Scope::Key => count.bucket.to_owned(),
        Scope::Network => format!("{}/net", count.bucket),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn the_fallback_warning_comes_once_a_minute() {
        let throttle = Throttle::new(Duration::from_secs(60));
        let start = Instant::now();
        assert!(throttle.due(start));
        assert!(!throttle.due(start + Duration::from_secs(1)));
        assert!(!throttle.due(start + Duration::from_secs(59)));
        assert!(throttle.due(start + Duration::from_secs(60)));
        assert!(!throttle.due(start + Duration::from_secs(61)));
    }

    const MINUTE: Duration = Duration::from_secs(60);

    fn v6(prefix48: [u16; 3], subnet: u16) -> BudgetKey<'static> {
        let [a, b, c] = prefix48;
        BudgetKey::Client(IpAddr::V6(Ipv6Addr::new(a, b, c, subnet, 0, 0, 0, 1)))
    }

    fn v4(a: u8, b: u8, c: u8, d: u8) -> BudgetKey<'static> {
        BudgetKey::Client(IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
    }

    /// The flood of issue 13: far more distinct keys than the limiter
    /// keeps, from many IPv4 networks, from the /64s of one /48 and from
    /// many /48s. Memory stays at its cap, a client never seen before is
    /// served, and a budget the flood did not touch keeps its windows.
    #[tokio::test]
    async fn a_flood_of_250_000_keys_neither_fills_the_limiter_nor_locks_anyone_out() {
        let limits = Limits::default();
        let limiter = RateLimiter::in_memory(limits);
        let login = 30;
        // Someone used up his redeem budget before the flood.
        let victim = v4(198, 51, 100, 7);
        for _ in 0..login {
            assert!(limiter
                .check("redeem-ip", victim, login, MINUTE)
                .await
                .is_ok());
        }
        assert!(limiter
            .check("redeem-ip", victim, login, MINUTE)
            .await
            .is_err());

        let mut planted = 0u32;
        // 100,000 IPv4 addresses over 400 /24s.
        for i in 0..100_000u32 {
            let [_, b, c, d] = i.to_be_bytes();
            let _ = limiter
                .check("login-ip", v4(10, b, c, d), login, MINUTE)
                .await;
            planted += 1;
        }
        // 65,536 /64s of one /48: the network's budget stops them after
        // 8 × 30, but each still reaches the per-/64 counter.
        for subnet in 0..=u16::MAX {
            let _ = limiter
                .check("login-ip", v6([0x2001, 0xdb8, 1], subnet), login, MINUTE)
                .await;
            planted += 1;
        }
        // The flooded /48 is over its network budget, even from a /64 it
        // never used (until 50,000 newer /48 windows push it out below).
        assert!(limiter
            .check("login-ip", v6([0x2001, 0xdb8, 1], 0xffff), login, MINUTE)
            .await
            .is_err());
        // 84,464 /48s, one /64 each.
        for i in 0..84_464u32 {
            let [_, _, hi, lo] = i.to_be_bytes();
            let net = [0x2001, 0x0db9 + u16::from(hi), u16::from(lo)];
            let _ = limiter.check("login-ip", v6(net, 0), login, MINUTE).await;
            planted += 1;
        }
        assert_eq!(planted, 250_000);

        // Bounded: per budget at most the cap, per counter kind (the
        // addresses' and the networks' of login, and redeem's two).
        let windows = limiter.local.windows();
        assert!(
            windows <= 4 * limits.max_keys_per_bucket,
            "{windows} windows kept"
        );
        // A new, honest client is served, over IPv4 and IPv6, every time
        // his budget allows.
        for _ in 0..login {
            assert!(limiter
                .check("login-ip", v4(203, 0, 113, 5), login, MINUTE)
                .await
                .is_ok());
            assert!(limiter
                .check("login-ip", v6([0x2a00, 0x1450, 0x4001], 7), login, MINUTE)
                .await
                .is_ok());
        }
        // And the flood in login-ip did not evict redeem-ip's windows.
        assert!(limiter
            .check("redeem-ip", victim, login, MINUTE)
            .await
            .is_err());
        assert!(limiter.local.windows() <= 4 * limits.max_keys_per_bucket);
    }

    /// `left` answers as the next `check` would, and spends nothing.
    #[tokio::test]
    async fn left_looks_without_spending() {
        let limiter = RateLimiter::in_memory(Limits {
            ipv4_24_multiple: 2,
            ..Limits::default()
        });
        let key = BudgetKey::Bytes(b"link");
        for _ in 0..10 {
            assert!(limiter.left("w", key, 2, MINUTE).await.is_ok());
        }
        assert!(limiter.check("w", key, 2, MINUTE).await.is_ok());
        assert!(limiter.left("w", key, 2, MINUTE).await.is_ok());
        assert!(limiter.check("w", key, 2, MINUTE).await.is_ok());
        let wait = limiter.left("w", key, 2, MINUTE).await.unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(limiter.left("w", key, 0, MINUTE).await.is_err());
        // A client whose network is full has nothing left either.
        for d in 1..=2 {
            for _ in 0..2 {
                assert!(limiter
                    .check("w", v4(192, 0, 2, d), 2, MINUTE)
                    .await
                    .is_ok());
            }
        }
        assert!(limiter
            .left("w", v4(192, 0, 2, 3), 2, MINUTE)
            .await
            .is_err());
        assert!(limiter.left("w", v4(192, 0, 3, 3), 2, MINUTE).await.is_ok());
    }

    #[tokio::test]
    async fn addresses_of_one_network_share_its_larger_budget() {
        let limiter = RateLimiter::in_memory(Limits {
            ipv4_24_multiple: 3,
            ..Limits::default()
        });
        // Each address may spend 2; the /24 together 6.
        for d in 1..=3 {
            for _ in 0..2 {
                assert!(limiter
                    .check("b", v4(192, 0, 2, d), 2, MINUTE)
                    .await
                    .is_ok());
            }
        }
        assert!(limiter
            .check("b", v4(192, 0, 2, 4), 2, MINUTE)
            .await
            .is_err());
        assert!(limiter
            .check("b", v4(192, 0, 3, 4), 2, MINUTE)
            .await
            .is_ok());
        // Byte keys have no network.
        for _ in 0..2 {
            assert!(limiter
                .check("b", BudgetKey::Bytes(b"x"), 2, MINUTE)
                .await
                .is_ok());
        }
        assert!(limiter
            .check("b", BudgetKey::Bytes(b"x"), 2, MINUTE)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn one_ipv6_64_is_one_client_and_a_mapped_ipv4_is_ipv4() {
        let limiter = RateLimiter::in_memory(Limits::default());
        let a = BudgetKey::Client("2001:db8:1:2::1".parse().unwrap());
        let b = BudgetKey::Client("2001:db8:1:2:ffff::9".parse().unwrap());
        assert!(limiter.check("b", a, 1, MINUTE).await.is_ok());
        assert!(limiter.check("b", b, 1, MINUTE).await.is_err());
        let mapped = BudgetKey::Client("::ffff:192.0.2.1".parse().unwrap());
        assert!(limiter
            .check("c", v4(192, 0, 2, 1), 1, MINUTE)
            .await
            .is_ok());
        assert!(limiter.check("c", mapped, 1, MINUTE).await.is_err());
    }
}
