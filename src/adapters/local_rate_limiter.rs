//! `RateLimiter` in process: one TAT per key in a map, for a single replica (no `REDIS_URL`).
//! Memory stays bounded: keys whose TAT has passed are idle (their bucket is full again, so
//! forgetting them changes no decision) and are swept out; past `cap` keys the map keeps the
//! half with the most debt, the keys actually being limited.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::domain::gcra::{self, Decision, Quota};
use crate::ports::{RateLimitError, RateLimiter};

/// Keys tracked at most by default.
pub const DEFAULT_KEY_CAP: usize = 100_000;
/// How often idle keys are swept out.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct State {
    tats: HashMap<String, i64>,
    last_sweep: i64,
}

/// The in-process limiter.
#[derive(Debug)]
pub struct LocalRateLimiter {
    /// Monotonic origin of the µs clock (wall-clock jumps must not reset limits).
    origin: Instant,
    cap: usize,
    // A std Mutex: no await while held, and each step is a few map operations.
    state: Mutex<State>,
}

impl LocalRateLimiter {
    pub fn new(cap: usize) -> Self {
        Self {
            origin: Instant::now(),
            cap: cap.max(2),
            state: Mutex::new(State { tats: HashMap::new(), last_sweep: 0 }),
        }
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).tats.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn now_us(&self) -> i64 {
        i64::try_from(self.origin.elapsed().as_micros()).unwrap_or(i64::MAX)
    }

    /// One GCRA step at an explicit time (the clock is injectable for tests).
    pub fn check_at(&self, key: &str, quota: &Quota, now_us: i64) -> Decision {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let sweep_due = now_us - state.last_sweep >= i64::try_from(SWEEP_EVERY.as_micros()).unwrap_or(i64::MAX);
        if sweep_due || (state.tats.len() >= self.cap && !state.tats.contains_key(key)) {
            state.tats.retain(|_, tat| *tat > now_us);
            state.last_sweep = now_us;
        }
        if state.tats.len() >= self.cap && !state.tats.contains_key(key) {
            // Every key is busy: keep the half with the most debt.
            let mut tats: Vec<i64> = state.tats.values().copied().collect();
            let middle = tats.len() / 2;
            let (_, threshold, _) = tats.select_nth_unstable(middle);
            let threshold = *threshold;
            state.tats.retain(|_, tat| *tat > threshold);
        }
        let (decision, new_tat) = gcra::check(state.tats.get(key).copied(), now_us, quota);
        if let Some(tat) = new_tat {
            state.tats.insert(key.to_owned(), tat);
        }
        decision
    }
}

impl Default for LocalRateLimiter {
    fn default() -> Self {
        Self::new(DEFAULT_KEY_CAP)
    }
}

#[async_trait]
impl RateLimiter for LocalRateLimiter {
    async fn check(&self, key: &str, quota: &Quota) -> Result<Decision, RateLimitError> {
        Ok(self.check_at(key, quota, self.now_us()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_limited_separately() {
        let limiter = LocalRateLimiter::default();
        let quota: Quota = "2/min".parse().unwrap();
        let a: Vec<bool> = (0..3).map(|_| limiter.check_at("a", &quota, 0).allowed).collect();
        assert_eq!(a, [true, true, false]);
        assert!(limiter.check_at("b", &quota, 0).allowed);
    }

    #[test]
    fn idle_keys_are_swept_and_the_map_is_capped() {
        let limiter = LocalRateLimiter::new(100);
        let quota: Quota = "1/s".parse().unwrap();
        for i in 0..1_000 {
            limiter.check_at(&format!("k{i}"), &quota, 0);
        }
        assert!(limiter.len() <= 100, "{}", limiter.len());
        // Two minutes on, every bucket is full again: the sweep forgets them all.
        limiter.check_at("late", &quota, 120_000_000);
        assert_eq!(limiter.len(), 1);
    }

    #[test]
    fn a_busy_key_survives_the_cap() {
        let limiter = LocalRateLimiter::new(10);
        let quota: Quota = "1/hour".parse().unwrap();
        limiter.check_at("busy", &quota, 0);
        assert!(!limiter.check_at("busy", &quota, 0).allowed);
        let light: Quota = "1000/s".parse().unwrap();
        for i in 0..50 {
            limiter.check_at(&format!("k{i}"), &light, 0);
        }
        assert!(!limiter.check_at("busy", &quota, 1).allowed, "the cap forgot the key being limited");
    }
}
