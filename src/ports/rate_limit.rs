//! Rate limiting: one GCRA step per request on a named key (`domain::gcra`), stored in process
//! or shared by every replica (Redis).

use async_trait::async_trait;

use crate::domain::gcra::{Decision, Quota};

/// The limiter's store could not answer (Redis down, a script error).
#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    #[error("rate limit store unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait RateLimiter: Send + Sync + std::fmt::Debug {
    /// Count one request on `key` against `quota` and answer whether it passes.
    ///
    /// # Errors
    /// [`RateLimitError`] when the shared store cannot answer; the caller decides whether to
    /// let the request through (fail open) or refuse it.
    async fn check(&self, key: &str, quota: &Quota) -> Result<Decision, RateLimitError>;
}
