//! Webhook ports: [`WebhookSender`] posts one signed delivery attempt to a receiver (after the
//! SSRF check of the address it dials), and [`WebhookLog`] records every attempt beside the job
//! so `get_crawl_job` can show what was delivered.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// One attempt to send: the body is already serialized so every retry sends the same bytes.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    pub url: &'a str,
    pub delivery_id: &'a str,
    pub event: &'a str,
    pub body: &'a [u8],
    /// The `X-Crawlrag-Signature` header, when a signing secret is configured.
    pub signature: Option<&'a str>,
}

/// What the receiver answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookReply {
    pub status: u16,
    /// Its `Retry-After`, in seconds, when given.
    pub retry_after: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The target resolves to (or is) an address webhooks are never sent to.
    #[error("webhook target refused: {0}")]
    Refused(String),
    /// Nothing answered: DNS, connect, TLS, timeout.
    #[error("webhook not delivered: {0}")]
    Network(String),
}

#[async_trait]
pub trait WebhookSender: Send + Sync + std::fmt::Debug {
    /// Post one attempt; any HTTP status is a reply (the caller decides about retries).
    ///
    /// # Errors
    /// [`WebhookError::Refused`] for a forbidden target, [`WebhookError::Network`] otherwise.
    async fn send(&self, request: WebhookRequest<'_>) -> Result<WebhookReply, WebhookError>;
}

/// One recorded attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookAttempt {
    pub delivery_id: String,
    pub job_id: String,
    pub url: String,
    pub event: String,
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    /// `delivered`, `retrying`, `failed` or `refused`.
    pub outcome: String,
    pub duration_ms: u64,
    pub attempted_at: DateTime<Utc>,
}

#[async_trait]
pub trait WebhookLog: Send + Sync + std::fmt::Debug {
    /// Record one attempt (`attempted_at` is the store's clock).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn record_attempt(&self, attempt: &WebhookAttempt) -> Result<(), StoreError>;
    /// Every attempt for a job's deliveries, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn webhook_attempts(&self, job_id: &str) -> Result<Vec<WebhookAttempt>, StoreError>;
}
