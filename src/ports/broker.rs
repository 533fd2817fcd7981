//! Work delivery between processes: the queue engine (Redis Streams with one consumer group per
//! lane is the adapter). Delivery is at least once: an entry stays pending for its consumer until
//! acknowledged, and an entry idle longer than the visibility timeout (its consumer died) is
//! delivered again to another. Entries delivered too often (poison work) go to the lane's
//! dead-letter stream instead. What an entry means lives in the payload; the broker never reads it.

use std::time::Duration;

use async_trait::async_trait;

/// A stream of one kind of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// Whole jobs (a job id); the job's spec and state live in the database.
    Jobs,
    /// One page of a distributed crawl (job id, URL, depth).
    Pages,
}

impl Lane {
    pub const ALL: [Self; 2] = [Self::Jobs, Self::Pages];

    /// The lane's name in keys and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jobs => "jobs",
            Self::Pages => "pages",
        }
    }
}

/// One delivered entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The broker's id for the entry (acknowledge and extend with it).
    pub id: String,
    pub payload: serde_json::Value,
    /// How many times the entry has been delivered, this time included (1 = first delivery).
    pub deliveries: u64,
}

/// A lane's backlog, for metrics and autoscaling.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaneStats {
    /// Entries in the stream (delivered or not, until trimmed).
    pub length: u64,
    /// Entries delivered and not yet acknowledged.
    pub pending: u64,
    /// Entries not yet delivered to any consumer.
    pub lag: u64,
    /// Entries in the dead-letter stream.
    pub dead: u64,
    /// Consumers the group knows.
    pub consumers: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The engine cannot be reached (connect, timeout, restarted).
    #[error("queue engine unavailable: {0}")]
    Unavailable(String),
    /// The engine answered with an error.
    #[error("queue engine error: {0}")]
    Command(String),
    /// A payload that is not valid JSON (written by something else).
    #[error("unreadable queue entry {id}: {reason}")]
    Payload { id: String, reason: String },
}

#[async_trait]
pub trait WorkBroker: Send + Sync + std::fmt::Debug {
    /// Append entries to a lane (one round trip for the batch).
    ///
    /// # Errors
    /// [`BrokerError`] when the engine fails; then none or some were appended (delivery is at
    /// least once, so callers republish what they are unsure of).
    async fn publish(&self, lane: Lane, payloads: &[serde_json::Value]) -> Result<(), BrokerError>;

    /// Up to `max` entries for `consumer`: first entries another consumer left idle longer than
    /// the visibility timeout (entries delivered more than the allowed number of times go to the
    /// dead-letter stream instead), then new ones, waiting up to `wait` when there are none.
    ///
    /// # Errors
    /// [`BrokerError`] when the engine fails.
    async fn receive(
        &self,
        lane: Lane,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>, BrokerError>;

    /// The entry is done: it is never delivered again.
    ///
    /// # Errors
    /// [`BrokerError`] when the engine fails.
    async fn ack(&self, lane: Lane, id: &str) -> Result<(), BrokerError>;

    /// `consumer` still works on these entries: reset their idle time (a heartbeat), so they are
    /// not delivered to another consumer.
    ///
    /// # Errors
    /// [`BrokerError`] when the engine fails.
    async fn extend(&self, lane: Lane, consumer: &str, ids: &[String]) -> Result<(), BrokerError>;

    /// Move an entry to the lane's dead-letter stream with `reason`, and acknowledge it.
    ///
    /// # Errors
    /// [`BrokerError`] when the engine fails.
    async fn dead_letter(&self, lane: Lane, delivery: &Delivery, reason: &str) -> Result<(), BrokerError>;

    /// The lane's backlog.
    ///
    /// # Errors
    /// [`BrokerError`] when the engine fails.
    async fn stats(&self, lane: Lane) -> Result<LaneStats, BrokerError>;

    /// Drop consumers that hold no entry and were handed none for `idle_over` (workers that were
    /// scaled away or died, and idle ones); answers how many. Harmless for a live one: the engine
    /// lists a consumer only once it is handed work, and re-creates it then.
    ///
    /// # Errors
    /// [`BrokerError`] when the engine fails.
    async fn forget_idle_consumers(&self, lane: Lane, idle_over: Duration) -> Result<u64, BrokerError>;

    /// Whether the engine answers (readiness).
    ///
    /// # Errors
    /// [`BrokerError`] when it does not.
    async fn ping(&self) -> Result<(), BrokerError>;
}
