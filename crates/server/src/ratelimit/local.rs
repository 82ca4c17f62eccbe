//! Budgets counted in this instance's memory: one bounded map of fixed
//! windows per budget. A full map forgets its oldest window to make room;
//! it never refuses a key for want of room. Forgetting a window only ever
//! gives its key a fresh budget, so a flood of distinct keys can make the
//! limiter more lenient for a while, never lock an honest client out.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Count, Scope};

/// Windows by budget, each budget with its own cap.
#[derive(Debug)]
pub(super) struct LocalCounter {
    buckets: Mutex<HashMap<(&'static str, Scope), Bucket>>,
    cap: usize,
    /// Keys are kept as a 64-bit hash under a per-process random key: the
    /// map holds no address, and an attacker cannot aim collisions. Two
    /// keys that do collide share a budget, which costs nobody service.
    hasher: RandomState,
}

/// One budget's windows, and their starts in order, oldest first.
#[derive(Debug, Default)]
struct Bucket {
    windows: HashMap<u64, Window>,
    /// Every live window's start, in the order they began (all windows of
    /// a budget last the same period, so this is also the order they end
    /// in). An entry whose window was replaced is skipped when reached.
    order: VecDeque<(Instant, u64)>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    count: u32,
}

impl LocalCounter {
    /// At most `cap` windows per budget (at least one).
    pub(super) fn new(cap: usize) -> LocalCounter {
        LocalCounter {
            buckets: Mutex::new(HashMap::new()),
            cap: cap.max(1),
            hasher: RandomState::new(),
        }
    }

    /// Counts one request against each of `counts` in turn, stopping at the
    /// first that is over: a refused request spends nothing further along,
    /// so one busy address cannot use up its whole network's budget.
    /// `Err(seconds)` says when to try again.
    pub(super) fn check(
        &self,
        counts: &[Count],
        period: Duration,
        now: Instant,
    ) -> Result<(), u64> {
        let Ok(mut buckets) = self.buckets.lock() else {
            // Poisoned by a panic elsewhere (logged there). Refusing would
            // take the whole service down with it.
            return Ok(());
        };
        for count in counts {
            let key = self.hasher.hash_one(&count.key);
            buckets
                .entry((count.bucket, count.scope))
                .or_default()
                .hit(key, count.limit, period, now, self.cap)?;
        }
        Ok(())
    }

    /// Whether each of `counts` has room for one more request, counting
    /// nothing. `Err(seconds)` says when the first full one ends.
    pub(super) fn left(&self, counts: &[Count], period: Duration, now: Instant) -> Result<(), u64> {
        let Ok(buckets) = self.buckets.lock() else {
            // Poisoned: as in `check`, serve rather than refuse.
            return Ok(());
        };
        for count in counts {
            if count.limit == 0 {
                return Err(period.as_secs().max(1));
            }
            let key = self.hasher.hash_one(&count.key);
            let window = buckets
                .get(&(count.bucket, count.scope))
                .and_then(|bucket| bucket.windows.get(&key));
            if let Some(window) = window {
                let age = now.saturating_duration_since(window.started);
                if age < period && window.count >= count.limit {
                    return Err(period.saturating_sub(age).as_secs().max(1));
                }
            }
        }
        Ok(())
    }

    /// Windows held, over all budgets.
    #[cfg(test)]
    pub(super) fn windows(&self) -> usize {
        self.buckets
            .lock()
            .map(|b| b.values().map(|b| b.windows.len().max(b.order.len())).sum())
            .unwrap_or(0)
    }
}

impl Bucket {
    fn hit(
        &mut self,
        key: u64,
        limit: u32,
        period: Duration,
        now: Instant,
        cap: usize,
    ) -> Result<(), u64> {
        self.forget_expired(period, now);
        if let Some(window) = self.windows.get_mut(&key) {
            let age = now.saturating_duration_since(window.started);
            if age < period {
                if window.count >= limit {
                    return Err(period.saturating_sub(age).as_secs().max(1));
                }
                window.count += 1;
                return Ok(());
            }
        }
        if limit == 0 {
            return Err(period.as_secs().max(1));
        }
        self.make_room(cap);
        self.windows.insert(
            key,
            Window {
                started: now,
                count: 1,
            },
        );
        self.order.push_back((now, key));
        if self.order.len() > cap.saturating_mul(2) {
            self.compact();
        }
        Ok(())
    }

    /// Drops the windows that have ended (they are at the front).
    fn forget_expired(&mut self, period: Duration, now: Instant) {
        while let Some(&(started, _)) = self.order.front() {
            if now.saturating_duration_since(started) < period {
                break;
            }
            self.pop_oldest();
        }
    }

    /// Forgets the oldest windows until one more fits: the oldest is the
    /// nearest to its end, so forgetting it gives away the least.
    fn make_room(&mut self, cap: usize) {
        while self.windows.len() >= cap && !self.order.is_empty() {
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        if let Some((started, key)) = self.order.pop_front() {
            if self.windows.get(&key).is_some_and(|w| w.started == started) {
                self.windows.remove(&key);
            }
        }
    }

    /// Drops the entries of replaced windows from the order (a window is
    /// replaced in place only when a budget's period changed, so this is
    /// rare; it keeps the order bounded all the same).
    fn compact(&mut self) {
        let windows = &self.windows;
        self.order
            .retain(|(started, key)| windows.get(key).is_some_and(|w| w.started == *started));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(bucket: &'static str, key: &[u8], limit: u32) -> Count {
        Count {
            bucket,
            scope: Scope::Key,
            key: key.to_vec(),
            limit,
        }
    }

    #[test]
    fn budget_per_key_and_bucket() {
        let counter = LocalCounter::new(100);
        let hour = Duration::from_secs(3600);
        let now = Instant::now();
        assert!(counter.check(&[count("a", b"k", 2)], hour, now).is_ok());
        assert!(counter.check(&[count("a", b"k", 2)], hour, now).is_ok());
        let retry = counter
            .check(&[count("a", b"k", 2)], hour, now)
            .unwrap_err();
        assert_eq!(retry, 3600);
        assert!(counter.check(&[count("a", b"other", 2)], hour, now).is_ok());
        assert!(counter.check(&[count("b", b"k", 2)], hour, now).is_ok());
    }

    #[test]
    fn window_reopens() {
        let counter = LocalCounter::new(100);
        let minute = Duration::from_secs(60);
        let now = Instant::now();
        assert!(counter.check(&[count("a", b"k", 1)], minute, now).is_ok());
        assert_eq!(
            counter.check(
                &[count("a", b"k", 1)],
                minute,
                now + Duration::from_secs(45)
            ),
            Err(15)
        );
        assert!(counter
            .check(&[count("a", b"k", 1)], minute, now + minute)
            .is_ok());
    }

    #[test]
    fn a_full_bucket_forgets_its_oldest_window_and_serves_the_new_key() {
        let counter = LocalCounter::new(10);
        let minute = Duration::from_secs(60);
        let start = Instant::now();
        for i in 0..10u32 {
            let at = start + Duration::from_millis(u64::from(i));
            assert!(counter
                .check(&[count("a", &i.to_be_bytes(), 1)], minute, at)
                .is_ok());
        }
        let later = start + Duration::from_secs(1);
        assert!(counter
            .check(&[count("a", b"new", 1)], minute, later)
            .is_ok());
        assert_eq!(counter.windows(), 10);
        // Key 0 began first and was forgotten: it has a fresh budget. Key 9
        // is still remembered and over.
        assert!(counter
            .check(&[count("a", &9u32.to_be_bytes(), 1)], minute, later)
            .is_err());
        assert!(counter
            .check(&[count("a", &0u32.to_be_bytes(), 1)], minute, later)
            .is_ok());
    }

    #[test]
    fn a_refused_request_spends_nothing_further_along() {
        let counter = LocalCounter::new(10);
        let minute = Duration::from_secs(60);
        let now = Instant::now();
        let pair = |key: &[u8]| {
            [
                count("a", key, 1),
                Count {
                    scope: Scope::Network,
                    ..count("a", b"net", 2)
                },
            ]
        };
        assert!(counter.check(&pair(b"one"), minute, now).is_ok());
        for _ in 0..5 {
            assert!(counter.check(&pair(b"one"), minute, now).is_err());
        }
        // The network has spent one of its two: a neighbour is served.
        assert!(counter.check(&pair(b"two"), minute, now).is_ok());
        assert!(counter.check(&pair(b"three"), minute, now).is_err());
    }
}
