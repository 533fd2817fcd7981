//! The generic cell rate algorithm (GCRA, ITU-T I.371; the form Brandur Leach describes for
//! `redis-cell` and `throttled`): a rate limit that stores ONE number per key, the theoretical
//! arrival time (TAT) of the next request if requests came exactly at the allowed rate. A
//! request is allowed when the TAT is at most `tolerance` ahead of now; allowing it pushes the
//! TAT one emission interval further. This file holds the arithmetic on explicit times; the
//! limiters (in process, or a Lua script on Redis's clock) only store the TAT.
//!
//! A quota of `N/period` lets a fresh key make `N` requests at once, then one every `period / N`
//! (a bucket of `N` refilled evenly); `burst=B` lets it make `B` more at once on top.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How many requests a key may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests per period.
    pub limit: u32,
    pub period: Duration,
    /// Requests allowed at once on top of `limit`.
    pub burst: u32,
}

impl Quota {
    /// Requests a fresh key may make at once: `limit + burst`.
    pub fn capacity(&self) -> u32 {
        self.limit.saturating_add(self.burst)
    }

    /// Time between two requests at the sustained rate, in microseconds (at least 1).
    pub fn interval_us(&self) -> i64 {
        let period = i64::try_from(self.period.as_micros()).unwrap_or(i64::MAX);
        (period / i64::from(self.limit.max(1))).max(1)
    }

    /// How far ahead of now the TAT may be for a request to pass: `(capacity - 1)` intervals.
    pub fn tolerance_us(&self) -> i64 {
        self.interval_us().saturating_mul(i64::from(self.capacity().saturating_sub(1)))
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.period.as_secs() {
            1 => "s".to_owned(),
            60 => "min".to_owned(),
            3600 => "hour".to_owned(),
            86_400 => "day".to_owned(),
            secs => format!("{secs}s"),
        };
        write!(f, "{}/{unit}", self.limit)?;
        if self.burst > 0 {
            write!(f, ",burst={}", self.burst)?;
        }
        Ok(())
    }
}

/// Why a quota string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaError {
    #[error("rate limit {0:?}: expected N/UNIT (UNIT: s, min, hour, day), e.g. 120/min or 10/s, optionally ,burst=B")]
    Shape(String),
    #[error("rate limit {0:?}: the count must be a whole number above 0 (use 0 or off to disable the limit)")]
    Count(String),
    #[error("rate limit {0:?}: unknown unit {1:?} (use s, min, hour or day)")]
    Unit(String, String),
    #[error("rate limit {0:?}: burst must be burst=B with B a whole number")]
    Burst(String),
}

/// Parse `N/UNIT[,burst=B]`; `0`, `off` (and the empty string) answer `None`: no limit.
///
/// # Errors
/// [`QuotaError`] saying what part of the text is wrong.
pub fn parse_quota(text: &str) -> Result<Option<Quota>, QuotaError> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed == "0" || trimmed.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let shape = || QuotaError::Shape(trimmed.to_owned());
    let (rate, burst) = match trimmed.split_once(',') {
        Some((rate, extra)) => {
            let value = extra.trim().strip_prefix("burst=").ok_or_else(|| QuotaError::Burst(trimmed.to_owned()))?;
            (rate, value.trim().parse::<u32>().map_err(|_| QuotaError::Burst(trimmed.to_owned()))?)
        }
        None => (trimmed, 0),
    };
    let (count, unit) = rate.split_once('/').ok_or_else(shape)?;
    let limit =
        count.trim().parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| QuotaError::Count(trimmed.to_owned()))?;
    let secs = match unit.trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "second" => 1,
        "m" | "min" | "minute" => 60,
        "h" | "hour" => 3600,
        "d" | "day" => 86_400,
        other => return Err(QuotaError::Unit(trimmed.to_owned(), other.to_owned())),
    };
    Ok(Some(Quota { limit, period: Duration::from_secs(secs), burst }))
}

impl FromStr for Quota {
    type Err = QuotaError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_quota(s)?.ok_or_else(|| QuotaError::Count(s.to_owned()))
    }
}

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The quota's capacity (`RateLimit-Limit`).
    pub limit: u32,
    /// Requests that would pass right now after this one.
    pub remaining: u32,
    /// When refused: how long until a request passes. Zero when allowed.
    pub retry_after: Duration,
    /// How long until the key is back to its full capacity.
    pub reset: Duration,
}

impl Decision {
    /// The decision given how far the TAT is ahead of now (`debt_us`, after the update when
    /// allowed). Shared by every limiter, so Redis's answer reads exactly like the local one.
    pub fn from_debt(allowed: bool, debt_us: i64, quota: &Quota) -> Self {
        let debt = debt_us.max(0);
        let interval = quota.interval_us();
        let capacity = i64::from(quota.capacity());
        let (remaining, retry_after) = if allowed {
            // The next k requests pass while debt + (k - 1) * interval <= tolerance.
            let room = (capacity * interval - debt) / interval;
            (u32::try_from(room.clamp(0, capacity)).unwrap_or(0), 0)
        } else {
            (0, debt - quota.tolerance_us())
        };
        Self { allowed, limit: quota.capacity(), remaining, retry_after: micros(retry_after), reset: micros(debt) }
    }
}

/// One GCRA step: `stored_tat` (None for a key never seen or expired) at `now_us`. Answers the
/// decision and, when allowed, the TAT to store (a refusal stores nothing).
pub fn check(stored_tat: Option<i64>, now_us: i64, quota: &Quota) -> (Decision, Option<i64>) {
    let tat = stored_tat.unwrap_or(now_us).max(now_us);
    if tat - now_us > quota.tolerance_us() {
        return (Decision::from_debt(false, tat - now_us, quota), None);
    }
    let new_tat = tat.saturating_add(quota.interval_us());
    (Decision::from_debt(true, new_tat - now_us, quota), Some(new_tat))
}

fn micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us.max(0)).unwrap_or(0))
}

/// Whole seconds, rounded up (HTTP's `Retry-After` and `RateLimit-Reset`).
pub fn ceil_secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000;

    fn quota(text: &str) -> Quota {
        text.parse().unwrap()
    }

    /// Run `times` (µs) through one key; answers who passed.
    fn run(q: &Quota, times: &[i64]) -> Vec<bool> {
        let mut tat = None;
        times
            .iter()
            .map(|now| {
                let (decision, new_tat) = check(tat, *now, q);
                tat = new_tat.or(tat);
                decision.allowed
            })
            .collect()
    }

    #[test]
    fn a_fresh_key_gets_exactly_its_limit_at_once() {
        let q = quota("5/min");
        assert_eq!(run(&q, &[0; 7]), [true, true, true, true, true, false, false]);
    }

    #[test]
    fn burst_adds_to_the_limit() {
        let q = quota("2/s,burst=3");
        assert_eq!(q.capacity(), 5);
        assert_eq!(run(&q, &[0; 6]), [true, true, true, true, true, false]);
    }

    #[test]
    fn the_bucket_refills_one_request_per_interval() {
        // 5/min: one request every 12 s once the bucket is empty.
        let q = quota("5/min");
        let mut tat = None;
        for _ in 0..5 {
            tat = check(tat, 0, &q).1.or(tat);
        }
        let (refused, none) = check(tat, 11 * SEC, &q);
        assert!(!refused.allowed && none.is_none());
        assert_eq!(refused.retry_after, Duration::from_secs(1));
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.reset, Duration::from_secs(49));
        let (allowed, _) = check(tat, 12 * SEC, &q);
        assert!(allowed.allowed);
        assert_eq!(allowed.remaining, 0);
    }

    #[test]
    fn remaining_counts_down_and_reset_says_when_the_bucket_is_full() {
        let q = quota("3/s");
        let (first, tat) = check(None, 0, &q);
        assert_eq!((first.limit, first.remaining), (3, 2));
        assert_eq!(first.reset, Duration::from_micros(333_333));
        let (second, tat) = check(tat, 0, &q);
        assert_eq!(second.remaining, 1);
        let (third, _) = check(tat, 0, &q);
        assert_eq!(third.remaining, 0);
        assert!(third.allowed);
    }

    #[test]
    fn an_idle_key_is_as_good_as_new() {
        let q = quota("2/s");
        assert_eq!(run(&q, &[0, 0, 0, 10 * SEC, 10 * SEC, 10 * SEC]), [true, true, false, true, true, false]);
    }

    #[test]
    fn steady_traffic_at_the_rate_always_passes() {
        let q = quota("10/s");
        let times: Vec<i64> = (0..100).map(|i| i * SEC / 10).collect();
        assert!(run(&q, &times).iter().all(|ok| *ok));
    }

    #[test]
    fn quotas_parse_with_units_and_burst() {
        assert_eq!(quota("120/min"), Quota { limit: 120, period: Duration::from_secs(60), burst: 0 });
        assert_eq!(quota("10/s"), Quota { limit: 10, period: Duration::from_secs(1), burst: 0 });
        assert_eq!(quota("1000/hour"), Quota { limit: 1000, period: Duration::from_secs(3600), burst: 0 });
        assert_eq!(quota(" 120/min, burst=20 "), Quota { limit: 120, period: Duration::from_secs(60), burst: 20 });
        assert_eq!(quota("5/day").period, Duration::from_secs(86_400));
        assert_eq!(parse_quota("off"), Ok(None));
        assert_eq!(parse_quota("0"), Ok(None));
        assert_eq!(quota("120/min,burst=20").to_string(), "120/min,burst=20");
    }

    #[test]
    fn bad_quotas_say_what_is_wrong() {
        assert!(matches!(parse_quota("120"), Err(QuotaError::Shape(_))));
        assert!(matches!(parse_quota("0/min"), Err(QuotaError::Count(_))));
        assert!(matches!(parse_quota("x/min"), Err(QuotaError::Count(_))));
        assert!(matches!(parse_quota("5/week"), Err(QuotaError::Unit(_, unit)) if unit == "week"));
        assert!(matches!(parse_quota("5/min,20"), Err(QuotaError::Burst(_))));
        assert!(matches!(parse_quota("5/min,burst=-1"), Err(QuotaError::Burst(_))));
        let message = parse_quota("5/week").unwrap_err().to_string();
        assert!(message.contains("s, min, hour or day"), "{message}");
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(Duration::from_secs(12)), 12);
        assert_eq!(ceil_secs(Duration::from_millis(12_001)), 13);
        assert_eq!(ceil_secs(Duration::ZERO), 0);
    }
}
