//! Politeness shared by every process crawling: per-host request slots (an in-flight cap) and a
//! minimum gap between request starts, held in one place (Redis is the adapter) so three workers
//! are as polite to a host as one. A refused request learns how long to wait: callers sleep that
//! long (or do other work), they never spin.

use std::time::Duration;

use async_trait::async_trait;

use super::BrokerError;

/// One granted request slot; give it back with [`HostGate::release`]. A slot whose holder died is
/// freed by itself after the `hold` it was granted with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSlot {
    pub host: String,
    pub token: String,
}

/// The answer to a slot request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Granted(HostSlot),
    /// Ask again after this long (the gap has not passed, or the host is at its in-flight cap).
    Wait(Duration),
}

/// How one host may be crawled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPolicy {
    /// Most requests in flight to the host at once, over every process.
    pub max_in_flight: usize,
    /// Least time between two request starts (robots.txt `Crawl-delay`, or the configured floor).
    pub gap: Duration,
    /// How long a slot lives if its holder never releases it (a crashed worker).
    pub hold: Duration,
}

#[async_trait]
pub trait HostGate: Send + Sync + std::fmt::Debug {
    /// Ask for a request slot on `host` (`host:port`).
    ///
    /// # Errors
    /// [`BrokerError`] when the engine fails.
    async fn try_acquire(&self, host: &str, policy: HostPolicy) -> Result<Admission, BrokerError>;

    /// Give a slot back (idempotent: a slot already expired is no error).
    ///
    /// # Errors
    /// [`BrokerError`] when the engine fails.
    async fn release(&self, slot: &HostSlot) -> Result<(), BrokerError>;
}
