//! Webhooks on job ends: when a job with a `webhook_url` ends, [`Webhooks::deliver`] posts one
//! delivery (`job.completed`, `job.failed`, `job.cancelled`, `job.interrupted`) through the
//! [`WebhookSender`] port, signed with `CRAWLRAG_WEBHOOK_SECRET` when set, retried on network
//! errors, 5xx, 408 and 429 with exponential backoff and jitter (`domain::webhook`), under one
//! delivery id, and records every attempt through the [`WebhookLog`] port. Deliveries run on the
//! jobs service's task tracker, after the job's end is recorded, so they never delay its answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::domain::Secret;
use crate::domain::target::TrustedHosts;
use crate::domain::webhook::{
    AttemptOutcome, DEFAULT_BASE_DELAY, MAX_ATTEMPTS, backoff, check_webhook_url, retryable, signature,
};
use crate::error::{Error, Result};
use crate::ports::{WebhookAttempt, WebhookError, WebhookLog, WebhookRequest, WebhookSender};

/// Webhook settings.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Signs every delivery when set (`CRAWLRAG_WEBHOOK_SECRET`).
    pub secret: Option<Secret>,
    /// The first retry's delay (1 s; tests use a few milliseconds).
    pub base_delay: Duration,
    pub max_attempts: u32,
    /// The submit-time check of literal IPs follows the same allowances as delivery.
    pub allow_private_networks: bool,
    pub trusted_hosts: TrustedHosts,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            secret: None,
            base_delay: DEFAULT_BASE_DELAY,
            max_attempts: MAX_ATTEMPTS,
            allow_private_networks: false,
            trusted_hosts: TrustedHosts::default(),
        }
    }
}

/// What one delivery says about a job's end.
#[derive(Debug, Clone)]
pub struct JobEvent {
    pub job_id: String,
    pub tool: String,
    pub target: String,
    pub event: &'static str,
    /// The job's stored result, or `{"error": ...}`.
    pub data: serde_json::Value,
}

#[derive(Serialize)]
struct Payload<'a> {
    delivery_id: &'a str,
    event: &'a str,
    job_id: &'a str,
    tool: &'a str,
    target: &'a str,
    created_at: chrono::DateTime<Utc>,
    data: &'a serde_json::Value,
}

/// The webhook service.
#[derive(Debug)]
pub struct Webhooks {
    sender: Arc<dyn WebhookSender>,
    log: Arc<dyn WebhookLog>,
    config: WebhookConfig,
    /// Cancelled at shutdown: attempts in flight finish, no retry is scheduled.
    stop: CancellationToken,
}

impl Webhooks {
    pub fn new(sender: Arc<dyn WebhookSender>, log: Arc<dyn WebhookLog>, config: WebhookConfig) -> Self {
        Self { sender, log, config, stop: CancellationToken::new() }
    }

    /// Check a webhook URL when its job is submitted.
    ///
    /// # Errors
    /// `BadInput` naming what is wrong (scheme, host, a literal private or metadata IP).
    pub fn check_url(&self, raw: &str) -> Result<String> {
        check_webhook_url(raw, self.config.allow_private_networks, &self.config.trusted_hosts)
            .map(String::from)
            .map_err(Error::bad_input)
    }

    /// Every attempt of a job's deliveries, oldest first.
    ///
    /// # Errors
    /// `Unavailable` when the database fails.
    pub async fn attempts(&self, job_id: &str) -> Result<Vec<WebhookAttempt>> {
        Ok(self.log.webhook_attempts(job_id).await?)
    }

    /// Stop scheduling retries (shutdown).
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Send one delivery of `event` to `url`, retrying as the rules say; answers the last outcome.
    pub async fn deliver(&self, url: &str, event: &JobEvent) -> AttemptOutcome {
        let delivery_id = uuid::Uuid::new_v4().to_string();
        let payload = Payload {
            delivery_id: &delivery_id,
            event: event.event,
            job_id: &event.job_id,
            tool: &event.tool,
            target: &event.target,
            created_at: Utc::now(),
            data: &event.data,
        };
        let body = match serde_json::to_vec(&payload) {
            Ok(body) => body,
            Err(e) => {
                warn!(error = %e, "a webhook payload could not be serialized");
                return AttemptOutcome::Failed;
            }
        };
        let max_attempts = self.config.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let signed =
                self.config.secret.as_ref().map(|secret| signature(secret.expose(), Utc::now().timestamp(), &body));
            let request = WebhookRequest {
                url,
                delivery_id: &delivery_id,
                event: event.event,
                body: &body,
                signature: signed.as_deref(),
            };
            let started = Instant::now();
            let sent = self.sender.send(request).await;
            let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let last = attempt >= max_attempts || self.stop.is_cancelled();
            let (status, error, outcome, retry_after) = match sent {
                Ok(reply) if (200..300).contains(&reply.status) => {
                    (Some(reply.status), None, AttemptOutcome::Delivered, None)
                }
                Ok(reply) => {
                    let again = retryable(Some(reply.status)) && !last;
                    let outcome = if again { AttemptOutcome::Retrying } else { AttemptOutcome::Failed };
                    (Some(reply.status), Some(format!("HTTP {}", reply.status)), outcome, reply.retry_after)
                }
                Err(WebhookError::Refused(reason)) => (None, Some(reason), AttemptOutcome::Refused, None),
                Err(WebhookError::Network(reason)) => {
                    let outcome = if last { AttemptOutcome::Failed } else { AttemptOutcome::Retrying };
                    (None, Some(reason), outcome, None)
                }
            };
            metrics::counter!("crawlrag_webhook_attempts_total", "outcome" => outcome.as_str()).increment(1);
            let record = WebhookAttempt {
                delivery_id: delivery_id.clone(),
                job_id: event.job_id.clone(),
                url: url.to_owned(),
                event: event.event.to_owned(),
                attempt,
                status_code: status,
                error,
                outcome: outcome.as_str().to_owned(),
                duration_ms,
                attempted_at: Utc::now(),
            };
            if let Err(e) = self.log.record_attempt(&record).await {
                warn!(error = %e, "could not record a webhook attempt");
            }
            match outcome {
                AttemptOutcome::Retrying => {}
                AttemptOutcome::Delivered | AttemptOutcome::Failed | AttemptOutcome::Refused => {
                    info!(%delivery_id, attempt, outcome = outcome.as_str(), "webhook delivery ended");
                    return outcome;
                }
            }
            let delay = backoff(
                self.config.base_delay,
                attempt,
                f64::from(uuid::Uuid::new_v4().as_bytes()[0]) / 255.0,
                retry_after,
            );
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.stop.cancelled() => {
                    info!(%delivery_id, attempt, "shutting down: the webhook is not retried");
                    return AttemptOutcome::Retrying;
                }
            }
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::adapters::memory::MemoryStore;
    use crate::ports::WebhookReply;

    /// What one attempt sent: delivery id, signature, body.
    type Sent = (String, Option<String>, Vec<u8>);

    /// Answers a programmed sequence and remembers what it was sent.
    #[derive(Debug, Default)]
    struct Scripted {
        replies: Mutex<Vec<std::result::Result<WebhookReply, WebhookError>>>,
        seen: Mutex<Vec<Sent>>,
    }

    #[async_trait]
    impl WebhookSender for Scripted {
        async fn send(&self, request: WebhookRequest<'_>) -> std::result::Result<WebhookReply, WebhookError> {
            self.seen.lock().unwrap().push((
                request.delivery_id.to_owned(),
                request.signature.map(str::to_owned),
                request.body.to_vec(),
            ));
            let mut replies = self.replies.lock().unwrap();
            if replies.is_empty() { Ok(WebhookReply { status: 200, retry_after: None }) } else { replies.remove(0) }
        }
    }

    fn status(code: u16) -> std::result::Result<WebhookReply, WebhookError> {
        Ok(WebhookReply { status: code, retry_after: None })
    }

    async fn run(
        replies: Vec<std::result::Result<WebhookReply, WebhookError>>,
    ) -> (AttemptOutcome, Vec<String>, Arc<Scripted>) {
        let sender = Arc::new(Scripted { replies: Mutex::new(replies), ..Scripted::default() });
        let store = Arc::new(MemoryStore::new());
        let config = WebhookConfig {
            secret: Some(Secret::new("k")),
            base_delay: Duration::from_millis(1),
            ..WebhookConfig::default()
        };
        let hooks = Webhooks::new(Arc::clone(&sender) as Arc<dyn WebhookSender>, Arc::clone(&store) as _, config);
        let event = JobEvent {
            job_id: "j1".into(),
            tool: "crawl_single_page".into(),
            target: "https://x.y/".into(),
            event: "job.completed",
            data: serde_json::json!({"chunks_stored": 3}),
        };
        let outcome = hooks.deliver("https://hooks.x.y/in", &event).await;
        let outcomes = hooks.attempts("j1").await.unwrap().into_iter().map(|a| a.outcome).collect();
        (outcome, outcomes, sender)
    }

    #[tokio::test]
    async fn server_errors_are_retried_under_one_delivery_id() {
        let (outcome, outcomes, sender) = run(vec![status(500), status(503), status(200)]).await;
        assert_eq!(outcome, AttemptOutcome::Delivered);
        assert_eq!(outcomes, ["retrying", "retrying", "delivered"]);
        let seen = sender.seen.lock().unwrap();
        assert!(seen.iter().all(|(id, ..)| id == &seen[0].0));
        let (_, signature, body) = &seen[2];
        let t: i64 = signature.as_deref().unwrap()[2..12].parse().unwrap();
        assert_eq!(signature.as_deref(), Some(crate::domain::webhook::signature("k", t, body).as_str()));
        let payload: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(payload["delivery_id"], seen[0].0.as_str());
        assert_eq!(payload["data"]["chunks_stored"], 3);
    }

    #[tokio::test]
    async fn client_errors_are_final_but_408_429_and_network_errors_retry() {
        let (outcome, outcomes, _) = run(vec![status(404)]).await;
        assert_eq!((outcome, outcomes), (AttemptOutcome::Failed, vec!["failed".to_owned()]));
        let (outcome, outcomes, _) =
            run(vec![status(408), status(429), Err(WebhookError::Network("reset".into())), status(204)]).await;
        assert_eq!(outcome, AttemptOutcome::Delivered);
        assert_eq!(outcomes, ["retrying", "retrying", "retrying", "delivered"]);
        let (outcome, outcomes, _) = run(vec![Err(WebhookError::Refused("loopback".into()))]).await;
        assert_eq!((outcome, outcomes), (AttemptOutcome::Refused, vec!["refused".to_owned()]));
        let (outcome, outcomes, _) = run((0..8).map(|_| status(500)).collect()).await;
        assert_eq!(outcome, AttemptOutcome::Failed);
        assert_eq!(outcomes.len(), MAX_ATTEMPTS as usize);
        assert_eq!(outcomes.last().map(String::as_str), Some("failed"));
    }
}
