//! Request budgets per client address and per guest address: a fixed
//! window per key, in memory, per app instance. Several instances behind a
//! load balancer each keep their own count, so the effective budget is the
//! configured one times the number of instances.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Budgets by key.
#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<(&'static str, Vec<u8>), Window>>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    count: u32,
}

impl RateLimiter {
    /// Counts one request against `limit` per `period` for `key` in
    /// `bucket`. `Err(seconds)` says when the window reopens.
    pub fn check(
        &self,
        bucket: &'static str,
        key: &[u8],
        limit: u32,
        period: Duration,
    ) -> Result<(), u64> {
        let now = Instant::now();
        let Ok(mut windows) = self.windows.lock() else {
            // A poisoned lock means a panic elsewhere; failing open keeps
            // the service up, and the panic is logged where it happened.
            return Ok(());
        };
        if windows.len() > 100_000 {
            windows.retain(|_, w| now.duration_since(w.started) < period);
        }
        let window = windows.entry((bucket, key.to_vec())).or_insert(Window {
            started: now,
            count: 0,
        });
        if now.duration_since(window.started) >= period {
            *window = Window {
                started: now,
                count: 0,
            };
        }
        if window.count >= limit {
            let left = period.saturating_sub(now.duration_since(window.started));
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
}
