//! JSON over HTTP to a paid model provider (OpenAI-compatible chat, `/rerank` services) as real
//! APIs demand: a request timeout, a limit on requests in flight, retries with exponential backoff
//! and jitter on 429/5xx/network errors honouring `Retry-After`, and a circuit breaker that fails
//! fast while the provider is down. Other 4xx answers are the request's fault and are not retried.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde_json::Value;
use tokio::sync::Semaphore;
use tracing::{debug, warn};

use super::circuit_breaker::{CircuitBreaker, DEFAULT_COOLDOWN, DEFAULT_FAILURE_THRESHOLD};
use crate::ports::ModelError;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4;
const MAX_ATTEMPTS: u32 = 4;
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct ProviderConfig {
    pub base_url: String,
    /// Sent as a bearer token; never logged.
    pub api_key: Option<String>,
    pub timeout: Duration,
    pub max_in_flight: usize,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("max_in_flight", &self.max_in_flight)
            .finish()
    }
}

#[derive(Debug)]
pub struct ProviderClient {
    http: reqwest::Client,
    config: ProviderConfig,
    gate: Semaphore,
    breaker: CircuitBreaker,
}

enum Attempt {
    Done(Value),
    Retry { wait: Option<Duration>, error: String },
    Fail(ModelError),
}

impl ProviderClient {
    /// # Errors
    /// [`ModelError::Unavailable`] when the HTTP client cannot be built.
    pub fn new(config: ProviderConfig) -> Result<Self, ModelError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| ModelError::Unavailable(format!("cannot build the HTTP client: {e}")))?;
        let gate = Semaphore::new(config.max_in_flight.max(1));
        Ok(Self { http, config, gate, breaker: CircuitBreaker::new(DEFAULT_FAILURE_THRESHOLD, DEFAULT_COOLDOWN) })
    }

    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// POST `body` to `{base_url}{path}` and return the JSON answer.
    ///
    /// # Errors
    /// `Unavailable` when the provider keeps failing (or its circuit is open), `Rejected` for a
    /// 4xx answer, `Malformed` for a body that is not JSON.
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<Value, ModelError> {
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        if let Err(left) = self.breaker.check() {
            return Err(ModelError::Unavailable(format!(
                "{} is failing; not calling it for another {left:.0?} (circuit open)",
                self.config.base_url
            )));
        }
        let mut last_error = String::new();
        for attempt in 1..=MAX_ATTEMPTS {
            let outcome = {
                let _permit = self.gate.acquire().await.map_err(|e| ModelError::Unavailable(e.to_string()))?;
                self.attempt(&url, body).await
            };
            match outcome {
                Attempt::Done(value) => {
                    self.breaker.record_success();
                    return Ok(value);
                }
                Attempt::Fail(err) => {
                    if matches!(err, ModelError::Malformed(_)) {
                        self.breaker.record_failure();
                    } else {
                        self.breaker.record_success();
                    }
                    return Err(err);
                }
                Attempt::Retry { wait, error } => {
                    last_error = error;
                    if attempt < MAX_ATTEMPTS {
                        let wait = wait.unwrap_or_else(|| backoff(attempt)).min(MAX_RETRY_WAIT);
                        debug!(%url, attempt, ?wait, error = %last_error, "retrying provider call");
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }
        self.breaker.record_failure();
        warn!(%url, error = %last_error, "provider failed after retries");
        Err(ModelError::Unavailable(format!("{url} failed after {MAX_ATTEMPTS} attempts: {last_error}")))
    }

    async fn attempt(&self, url: &str, body: &Value) -> Attempt {
        let mut request = self.http.post(url).json(body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) if e.is_timeout() => {
                return Attempt::Retry { wait: None, error: format!("no answer within {:?}", self.config.timeout) };
            }
            Err(e) => return Attempt::Retry { wait: None, error: format!("cannot reach {url}: {e}") },
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let text = match response.text().await {
            Ok(text) => text,
            Err(e) => return Attempt::Retry { wait: None, error: format!("reading the answer failed: {e}") },
        };
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Attempt::Retry { wait: retry_after, error: format!("HTTP {status}: {}", excerpt(&text)) };
        }
        if !status.is_success() {
            return Attempt::Fail(ModelError::Rejected(format!("{url} answered HTTP {status}: {}", excerpt(&text))));
        }
        match serde_json::from_str(&text) {
            Ok(value) => Attempt::Done(value),
            Err(e) => {
                Attempt::Fail(ModelError::Malformed(format!("{url} answered invalid JSON ({e}): {}", excerpt(&text))))
            }
        }
    }
}

/// 0.5 s, 1 s, 2 s ... plus up to 250 ms of jitter so clients do not retry in lockstep.
fn backoff(attempt: u32) -> Duration {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos() % 250))
        .unwrap_or(0);
    Duration::from_millis(500 * 2u64.pow(attempt.saturating_sub(1)) + jitter)
}

/// The provider's error message, without flooding logs or clients.
fn excerpt(text: &str) -> String {
    let message = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().or_else(|| v["error"].as_str()).map(str::to_owned));
    let text = message.unwrap_or_else(|| text.to_owned());
    text.chars().take(300).collect()
}
