//! In-memory rate limits: a token bucket per key for request rates, and a failure counter per key
//! for lockouts. Both are bounded in memory and safe to share between threads.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A token bucket: up to `burst` requests at once, refilled at `burst` tokens per `per` (one token
/// every `per / burst`). `Rate { burst: 10, per: 60s }` allows 10 in a row, then one every 6 s.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub burst: u32,
    pub per: Duration,
}

/// How long to wait before trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds for a `Retry-After` header: rounded up, so a client waiting that long is let
    /// through, and never 0, which clients read as "retry now".
    pub fn secs(&self) -> u64 {
        let secs = self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0);
        secs.max(1)
    }
}

/// Per-key token buckets, kept as GCRA "theoretical arrival times": one `Instant` per key instead of
/// a token count and a refill timestamp, and no floating point.
pub struct RateLimiter {
    /// Time to earn one token: `per / burst`.
    interval: Duration,
    /// How far ahead of `now` the arrival time may run: `burst - 1` intervals, so a full bucket
    /// admits exactly `burst` requests at once.
    tolerance: Duration,
    max_keys: usize,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    /// When the bucket will be full again; at or before `now` means it is full now.
    tat: Instant,
    touched: Instant,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("interval", &self.interval)
            .field("tolerance", &self.tolerance)
            .field("max_keys", &self.max_keys)
            .field("keys", &lock(&self.buckets).len())
            .finish()
    }
}

impl RateLimiter {
    /// # Panics
    /// If `rate.burst`, `rate.per` or `max_keys` is zero: such a limiter could admit nothing.
    pub fn new(rate: Rate, max_keys: usize) -> RateLimiter {
        assert!(rate.burst > 0, "a rate needs a burst of at least 1");
        assert!(!rate.per.is_zero(), "a rate needs a non-zero period");
        assert!(max_keys > 0, "a rate limiter needs room for at least one key");
        let interval = rate.per / rate.burst;
        RateLimiter { interval, tolerance: interval * (rate.burst - 1), max_keys, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token from `key`'s bucket, or says how long until one is available.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), RetryAfter> {
        let mut buckets = lock(&self.buckets);
        if let Some(bucket) = buckets.get_mut(key) {
            bucket.touched = bucket.touched.max(now);
            let tat = bucket.tat.max(now);
            let ahead = tat - now;
            if ahead > self.tolerance {
                return Err(RetryAfter(ahead - self.tolerance));
            }
            bucket.tat = tat + self.interval;
            return Ok(());
        }
        make_room(&mut buckets, self.max_keys, |b| b.tat <= now, |b| b.touched);
        buckets.insert(key.to_owned(), Bucket { tat: now + self.interval, touched: now });
        Ok(())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.buckets).len()
    }
}

/// Failures per key in a sliding window; once `max_failures` fall within `window`, the key is
/// blocked until the oldest of them leaves it.
pub struct FailureCounter {
    max_failures: u32,
    window: Duration,
    max_keys: usize,
    /// The most recent failures per key, oldest first; never more than `max_failures` of them,
    /// since older ones cannot change the answer.
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl std::fmt::Debug for FailureCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailureCounter")
            .field("max_failures", &self.max_failures)
            .field("window", &self.window)
            .field("max_keys", &self.max_keys)
            .field("keys", &lock(&self.failures).len())
            .finish()
    }
}

impl FailureCounter {
    /// # Panics
    /// If `max_failures` or `max_keys` is zero.
    pub fn new(max_failures: u32, window: Duration, max_keys: usize) -> FailureCounter {
        assert!(max_failures > 0, "a failure counter needs to allow at least one failure");
        assert!(max_keys > 0, "a failure counter needs room for at least one key");
        FailureCounter { max_failures, window, max_keys, failures: Mutex::new(HashMap::new()) }
    }

    /// `Some` when `key` already has `max_failures` failures within the window ending at `now`.
    pub fn blocked(&self, key: &str, now: Instant) -> Option<RetryAfter> {
        let mut failures = lock(&self.failures);
        let times = failures.get_mut(key)?;
        self.forget_expired(times, now);
        if times.is_empty() {
            failures.remove(key);
            return None;
        }
        if times.len() < self.max_failures as usize {
            return None;
        }
        let oldest = *times.front()?;
        Some(RetryAfter((oldest + self.window).saturating_duration_since(now)))
    }

    pub fn fail(&self, key: &str, now: Instant) {
        let mut failures = lock(&self.failures);
        if !failures.contains_key(key) {
            let window = self.window;
            make_room(
                &mut failures,
                self.max_keys,
                |times| times.back().is_none_or(|&t| now.saturating_duration_since(t) >= window),
                |times| times.back().copied().unwrap_or(now),
            );
        }
        let times = failures.entry(key.to_owned()).or_default();
        self.forget_expired(times, now);
        if times.len() == self.max_failures as usize {
            times.pop_front();
        }
        times.push_back(now);
    }

    /// Forgets `key`'s failures, e.g. after a successful login.
    pub fn clear(&self, key: &str) {
        lock(&self.failures).remove(key);
    }

    fn forget_expired(&self, times: &mut VecDeque<Instant>, now: Instant) {
        while times.front().is_some_and(|&t| now.saturating_duration_since(t) >= self.window) {
            times.pop_front();
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.failures).len()
    }
}

/// The maps hold plain counters that every method leaves consistent, so a panic elsewhere while
/// the lock was held is no reason to stop limiting.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Makes space for one more key when `map` is at `max_keys`: first drops idle entries, then the
/// least recently touched. It frees a sixteenth of the capacity at once so that a flood of new keys
/// pays for the O(n) sweep only every `max_keys / 16` insertions.
fn make_room<V>(
    map: &mut HashMap<String, V>,
    max_keys: usize,
    idle: impl Fn(&V) -> bool,
    touched: impl Fn(&V) -> Instant,
) {
    if map.len() < max_keys {
        return;
    }
    map.retain(|_, v| !idle(v));
    let target = max_keys - (max_keys / 16).max(1);
    if map.len() <= target {
        return;
    }
    let mut ages: Vec<Instant> = map.values().map(&touched).collect();
    let excess = map.len() - target;
    let (_, &mut cutoff, _) = ages.select_nth_unstable(excess - 1);
    // Entries touched at exactly `cutoff` may be more than needed; remove only `excess` of them.
    let mut left = excess;
    map.retain(|_, v| {
        if left > 0 && touched(v) <= cutoff {
            left -= 1;
            false
        } else {
            true
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn limiter(burst: u32, per_secs: u64, max_keys: usize) -> RateLimiter {
        RateLimiter::new(Rate { burst, per: Duration::from_secs(per_secs) }, max_keys)
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(RetryAfter(Duration::ZERO).secs(), 1);
        assert_eq!(RetryAfter(Duration::from_millis(1)).secs(), 1);
        assert_eq!(RetryAfter(SEC).secs(), 1);
        assert_eq!(RetryAfter(Duration::from_millis(1001)).secs(), 2);
        assert_eq!(RetryAfter(Duration::from_secs(60)).secs(), 60);
    }

    #[test]
    fn a_full_bucket_admits_exactly_its_burst() {
        let limiter = limiter(5, 60, 100);
        let now = Instant::now();
        for _ in 0..5 {
            assert_eq!(limiter.check("k", now), Ok(()));
        }
        assert_eq!(limiter.check("k", now), Err(RetryAfter(Duration::from_secs(12))));
    }

    #[test]
    fn a_bucket_refills_one_token_per_interval() {
        let limiter = limiter(5, 60, 100);
        let t0 = Instant::now();
        for _ in 0..5 {
            limiter.check("k", t0).expect("burst");
        }
        let early = t0 + Duration::from_secs(11);
        assert_eq!(limiter.check("k", early), Err(RetryAfter(SEC)));
        let later = t0 + Duration::from_secs(12);
        assert_eq!(limiter.check("k", later), Ok(()));
        assert_eq!(limiter.check("k", later), Err(RetryAfter(Duration::from_secs(12))));
    }

    #[test]
    fn a_bucket_refills_fully_after_the_period_but_no_further() {
        let limiter = limiter(3, 30, 100);
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.check("k", t0).expect("burst");
        }
        let t1 = t0 + Duration::from_secs(300);
        for _ in 0..3 {
            assert_eq!(limiter.check("k", t1), Ok(()));
        }
        assert!(limiter.check("k", t1).is_err());
    }

    #[test]
    fn keys_have_separate_buckets() {
        let limiter = limiter(1, 60, 100);
        let now = Instant::now();
        assert_eq!(limiter.check("a", now), Ok(()));
        assert!(limiter.check("a", now).is_err());
        assert_eq!(limiter.check("b", now), Ok(()));
    }

    #[test]
    fn a_burst_of_one_allows_one_request_per_period() {
        let limiter = limiter(1, 10, 100);
        let t0 = Instant::now();
        assert_eq!(limiter.check("k", t0), Ok(()));
        assert_eq!(limiter.check("k", t0 + 4 * SEC), Err(RetryAfter(6 * SEC)));
        assert_eq!(limiter.check("k", t0 + 10 * SEC), Ok(()));
    }

    #[test]
    fn a_clock_reading_from_the_past_does_not_panic_or_refill() {
        let limiter = limiter(1, 10, 100);
        let t0 = Instant::now() + Duration::from_secs(100);
        assert_eq!(limiter.check("k", t0), Ok(()));
        assert!(limiter.check("k", t0 - 5 * SEC).is_err());
    }

    #[test]
    fn the_limiter_never_holds_more_than_max_keys() {
        let limiter = limiter(2, 60, 32);
        let now = Instant::now();
        for i in 0..1000 {
            limiter.check(&format!("key-{i}"), now + Duration::from_millis(i)).expect("a new key has a full bucket");
            assert!(limiter.len() <= 32);
        }
    }

    #[test]
    fn idle_keys_are_dropped_before_busy_ones() {
        let limiter = limiter(2, 60, 4);
        let t0 = Instant::now();
        // "busy" has spent its burst; the others used one token and are full again a minute later.
        limiter.check("busy", t0).expect("first");
        limiter.check("busy", t0).expect("second");
        for key in ["idle-1", "idle-2", "idle-3"] {
            limiter.check(key, t0).expect("first");
        }
        let t1 = t0 + Duration::from_secs(45);
        limiter.check("new", t1).expect("a new key has a full bucket");
        assert_eq!(limiter.len(), 2);
        assert!(limiter.check("busy", t1).is_ok(), "busy refilled one token by now");
        assert!(limiter.check("busy", t1).is_err(), "but it was not forgotten and refilled completely");
    }

    #[test]
    fn when_no_key_is_idle_the_least_recently_touched_go_first() {
        let limiter = limiter(1, 3600, 4);
        let t0 = Instant::now();
        for (i, key) in ["a", "b", "c", "d"].into_iter().enumerate() {
            limiter.check(key, t0 + SEC * i as u32).expect("first");
        }
        // Touching "a" again, even though refused, makes "b" the oldest.
        assert!(limiter.check("a", t0 + 10 * SEC).is_err());
        limiter.check("e", t0 + 11 * SEC).expect("a new key has a full bucket");
        assert_eq!(limiter.len(), 4);
        assert!(limiter.check("a", t0 + 12 * SEC).is_err(), "a is still limited");
        assert!(limiter.check("b", t0 + 12 * SEC).is_ok(), "b was evicted and starts afresh");
    }

    #[test]
    fn limiters_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RateLimiter>();
        assert_send_sync::<FailureCounter>();
        let limiter = std::sync::Arc::new(limiter(100, 60, 10));
        let now = Instant::now();
        let admitted: usize = (0..4)
            .map(|_| {
                let limiter = limiter.clone();
                std::thread::spawn(move || (0..50).filter(|_| limiter.check("shared", now).is_ok()).count())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .sum();
        assert_eq!(admitted, 100);
    }

    #[test]
    fn the_twentieth_attempt_after_nineteen_failures_is_blocked_until_the_window_passes() {
        let counter = FailureCounter::new(19, Duration::from_secs(60), 100);
        let t0 = Instant::now();
        for i in 0..19 {
            let now = t0 + SEC * i;
            assert_eq!(counter.blocked("ip", now), None, "attempt {}", i + 1);
            counter.fail("ip", now);
        }
        let twentieth = t0 + 20 * SEC;
        assert_eq!(counter.blocked("ip", twentieth), Some(RetryAfter(40 * SEC)));
        assert_eq!(counter.blocked("ip", t0 + 60 * SEC), None);
    }

    #[test]
    fn the_window_slides_with_the_oldest_failure() {
        let counter = FailureCounter::new(3, Duration::from_secs(60), 100);
        let t0 = Instant::now();
        counter.fail("k", t0);
        counter.fail("k", t0 + 30 * SEC);
        counter.fail("k", t0 + 50 * SEC);
        assert_eq!(counter.blocked("k", t0 + 55 * SEC), Some(RetryAfter(5 * SEC)));
        // The first failure has left the window; two remain.
        assert_eq!(counter.blocked("k", t0 + 60 * SEC), None);
        counter.fail("k", t0 + 61 * SEC);
        assert_eq!(counter.blocked("k", t0 + 61 * SEC), Some(RetryAfter(29 * SEC)));
    }

    #[test]
    fn clearing_a_key_forgets_its_failures() {
        let counter = FailureCounter::new(2, Duration::from_secs(60), 100);
        let now = Instant::now();
        counter.fail("k", now);
        counter.fail("k", now);
        assert!(counter.blocked("k", now).is_some());
        counter.clear("k");
        assert_eq!(counter.blocked("k", now), None);
        counter.clear("never-seen");
    }

    #[test]
    fn failures_are_counted_per_key() {
        let counter = FailureCounter::new(1, Duration::from_secs(60), 100);
        let now = Instant::now();
        counter.fail("a", now);
        assert!(counter.blocked("a", now).is_some());
        assert_eq!(counter.blocked("b", now), None);
    }

    #[test]
    fn failing_while_blocked_keeps_only_the_latest_failures() {
        let counter = FailureCounter::new(2, Duration::from_secs(60), 100);
        let t0 = Instant::now();
        for i in 0..10 {
            counter.fail("k", t0 + SEC * i);
        }
        assert_eq!(lock(&counter.failures)["k"].len(), 2);
        assert_eq!(counter.blocked("k", t0 + 10 * SEC), Some(RetryAfter(58 * SEC)));
    }

    #[test]
    fn the_failure_counter_never_holds_more_than_max_keys() {
        let counter = FailureCounter::new(5, Duration::from_secs(60), 16);
        let now = Instant::now();
        for i in 0..500 {
            counter.fail(&format!("key-{i}"), now + Duration::from_millis(i));
            assert!(counter.len() <= 16);
        }
    }

    #[test]
    fn expired_failures_are_evicted_before_recent_ones() {
        let counter = FailureCounter::new(2, Duration::from_secs(60), 3);
        let t0 = Instant::now();
        counter.fail("recent", t0 + 50 * SEC);
        counter.fail("recent", t0 + 50 * SEC);
        counter.fail("old-1", t0);
        counter.fail("old-2", t0);
        counter.fail("new", t0 + 70 * SEC);
        assert_eq!(counter.len(), 2);
        assert!(counter.blocked("recent", t0 + 70 * SEC).is_some());
    }

    #[test]
    fn make_room_removes_exactly_the_oldest_when_nothing_is_idle() {
        let t0 = Instant::now();
        let mut map: HashMap<String, Instant> = (0..32).map(|i| (format!("k{i:02}"), t0 + SEC * i)).collect();
        make_room(&mut map, 32, |_| false, |t| *t);
        assert_eq!(map.len(), 30);
        assert!(!map.contains_key("k00") && !map.contains_key("k01"));
        assert!(map.contains_key("k02"));
    }

    #[test]
    fn make_room_handles_many_entries_touched_at_the_same_instant() {
        let t0 = Instant::now();
        let mut map: HashMap<String, Instant> = (0..32).map(|i| (format!("k{i}"), t0)).collect();
        make_room(&mut map, 32, |_| false, |t| *t);
        assert_eq!(map.len(), 30);
    }
}
