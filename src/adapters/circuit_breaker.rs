//! A circuit breaker for remote providers: after `threshold` consecutive failures the circuit
//! opens and calls fail fast for `cooldown` instead of piling retries onto a provider that is down;
//! after the cooldown one call may try again (half-open) and a success closes the circuit.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub const DEFAULT_FAILURE_THRESHOLD: u32 = 3;
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct State {
    consecutive_failures: u32,
    open_until: Option<Instant>,
}

#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    cooldown: Duration,
    /// A std Mutex: held only for a few field updates, never across an await.
    state: Mutex<State>,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self { threshold: threshold.max(1), cooldown, state: Mutex::new(State::default()) }
    }

    /// `Err(time left)` while the circuit is open.
    pub fn check(&self) -> Result<(), Duration> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match state.open_until {
            Some(until) if until > Instant::now() => Err(until - Instant::now()),
            _ => Ok(()),
        }
    }

    pub fn record_success(&self) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = State::default();
    }

    pub fn record_failure(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.consecutive_failures += 1;
        if state.consecutive_failures >= self.threshold {
            state.open_until = Some(Instant::now() + self.cooldown);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_closes_after_success() {
        let breaker = CircuitBreaker::new(2, Duration::from_millis(50));
        breaker.record_failure();
        assert!(breaker.check().is_ok(), "one failure keeps it closed");
        breaker.record_failure();
        assert!(breaker.check().is_err(), "open after two");
        std::thread::sleep(Duration::from_millis(60));
        assert!(breaker.check().is_ok(), "half-open after the cooldown");
        breaker.record_failure();
        assert!(breaker.check().is_err(), "a failed trial re-opens at once");
        std::thread::sleep(Duration::from_millis(60));
        breaker.record_success();
        breaker.record_failure();
        assert!(breaker.check().is_ok(), "a success resets the count");
    }
}
