//! Exponential backoff with jitter, shared by every retry loop that waits between attempts
//! (repository batches, webhook deliveries): the delay doubles per attempt, and a random quarter
//! more keeps many retries from arriving together.

use std::time::Duration;

/// The delay before attempt `attempt + 1` (attempt counts from 1): `base * 2^(attempt-1)` plus
/// `jitter` (0..1) of up to 25% more.
pub fn exponential(base: Duration, attempt: u32, jitter: f64) -> Duration {
    let exp = base.saturating_mul(1_u32 << attempt.saturating_sub(1).min(16));
    exp.mul_f64(1.0 + 0.25 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_at_most_a_quarter_of_jitter() {
        let base = Duration::from_millis(100);
        assert_eq!(exponential(base, 1, 0.0), base);
        assert_eq!(exponential(base, 3, 0.0), base * 4);
        assert_eq!(exponential(base, 3, 1.0), base * 5);
        assert_eq!(exponential(base, 2, 7.0), exponential(base, 2, 1.0), "jitter is clamped");
    }
}
