//! Request budgets per client address and per guest address: a fixed
//! window per key, in memory, per app instance. Several instances behind a
//! load balancer each keep their own count, so the effective budget is the
//! configured one times the number of instances.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys kept at most. Beyond it, expired windows are pruned (at most once a
/// second); if the map is still full, new keys are refused until windows
/// expire. This bounds memory whatever an attacker sends.
const MAX_KEYS: usize = 200_000;

/// Budgets by key.
#[derive(Debug)]
pub struct RateLimiter {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    windows: HashMap<(&'static str, Vec<u8>), Window>,
    last_prune: Instant,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    period: Duration,
    count: u32,
}

impl Window {
    fn expired(&self, now: Instant) -> bool {
        now.duration_since(self.started) >= self.period
    }
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter {
            state: Mutex::new(State {
                windows: HashMap::new(),
                last_prune: Instant::now(),
            }),
        }
    }
}

impl RateLimiter {
    /// Counts one request against `limit` per `period` for `key` in
    /// `bucket`. `Err(seconds)` says when to try again.
    pub fn check(
        &self,
        bucket: &'static str,
        key: &[u8],
        limit: u32,
        period: Duration,
    ) -> Result<(), u64> {
        let now = Instant::now();
        let Ok(mut state) = self.state.lock() else {
            // Poisoned by a panic elsewhere (logged there). Refusing would
            // take the whole service down with it.
            return Ok(());
        };
        let full = state.windows.len() >= MAX_KEYS;
        if full && now.duration_since(state.last_prune) >= Duration::from_secs(1) {
            state.windows.retain(|_, w| !w.expired(now));
            state.last_prune = now;
        }
        let id = (bucket, key.to_vec());
        if !state.windows.contains_key(&id) && state.windows.len() >= MAX_KEYS {
            return Err(period.as_secs().clamp(1, 60));
        }
        let window = state.windows.entry(id).or_insert(Window {
            started: now,
            period,
            count: 0,
        });
        if window.expired(now) {
            *window = Window {
                started: now,
                period,
                count: 0,
            };
        }
        if window.count >= limit {
            let left = window
                .period
                .saturating_sub(now.duration_since(window.started));
            return Err(left.as_secs().max(1));
        }
        window.count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_per_key_and_bucket() {
        let limiter = RateLimiter::default();
        let hour = Duration::from_secs(3600);
        assert!(limiter.check("a", b"k", 2, hour).is_ok());
        assert!(limiter.check("a", b"k", 2, hour).is_ok());
        let retry = limiter.check("a", b"k", 2, hour).unwrap_err();
        assert!((3590..=3600).contains(&retry));
        assert!(limiter.check("a", b"other", 2, hour).is_ok());
        assert!(limiter.check("b", b"k", 2, hour).is_ok());
    }

    #[test]
    fn window_reopens() {
        let limiter = RateLimiter::default();
        let tiny = Duration::from_millis(20);
        assert!(limiter.check("a", b"k", 1, tiny).is_ok());
        assert!(limiter.check("a", b"k", 1, tiny).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limiter.check("a", b"k", 1, tiny).is_ok());
    }

    #[test]
    fn a_full_map_keeps_live_budgets_and_refuses_new_keys() {
        let limiter = RateLimiter::default();
        let hour = Duration::from_secs(3600);
        assert!(limiter.check("hourly", b"victim", 1, hour).is_ok());
        for i in 0..MAX_KEYS {
            let _ = limiter.check("minute", &i.to_be_bytes(), 5, Duration::from_secs(60));
        }
        // The hourly window survived the flood...
        assert!(limiter.check("hourly", b"victim", 1, hour).is_err());
        // ...and a new key waits rather than growing the map.
        assert!(limiter
            .check("minute", b"new", 5, Duration::from_secs(60))
            .is_err());
    }
}
