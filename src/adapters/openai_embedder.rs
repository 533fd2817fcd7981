//! `Embedder` for any OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, Azure-style proxies,
//! Ollama, vLLM, TEI), through async-openai: batching, concurrent batches up to a limit, a request
//! timeout, async-openai's retries with exponential backoff on 429/5xx/network errors, and a
//! circuit breaker that fails fast while the provider is down. 4xx other than 429 give up at once.

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::embeddings::{CreateEmbeddingRequestArgs, EmbeddingInput};
use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use tracing::{instrument, warn};

use super::circuit_breaker::{CircuitBreaker, DEFAULT_COOLDOWN, DEFAULT_FAILURE_THRESHOLD};
use crate::ports::{EmbedError, Embedder};

pub use crate::domain::defaults::{
    DEFAULT_OPENAI_BASE_URL, DEFAULT_OPENAI_BATCH_SIZE, DEFAULT_OPENAI_DIMENSIONS, DEFAULT_OPENAI_MODEL,
};
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 4;
/// OpenAI's limits: 8,191 tokens per input, 300,000 tokens per request (kept below).
pub const DEFAULT_MAX_INPUT_TOKENS: usize = 8191;
pub const DEFAULT_MAX_BATCH_TOKENS: usize = 250_000;
/// Conservative characters-per-token estimate (code and non-English text run below 4).
const CHARS_PER_TOKEN: usize = 3;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct OpenAiEmbedderConfig {
    pub base_url: String,
    /// Never logged; `Debug` prints it redacted.
    pub api_key: String,
    pub model: String,
    pub dimensions: usize,
    pub batch_size: usize,
    /// Requests in flight at once.
    pub max_concurrent_requests: usize,
    /// Largest input the model accepts, in tokens.
    pub max_input_tokens: usize,
    /// Most tokens one request may carry (batches are cut to stay under it).
    pub max_batch_tokens: usize,
    /// Consecutive failed requests that open the circuit breaker.
    pub breaker_threshold: u32,
    /// How long an open circuit fails fast.
    pub breaker_cooldown: Duration,
}

impl Default for OpenAiEmbedderConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_OPENAI_BASE_URL.to_owned(),
            api_key: String::new(),
            model: DEFAULT_OPENAI_MODEL.to_owned(),
            dimensions: DEFAULT_OPENAI_DIMENSIONS,
            batch_size: DEFAULT_OPENAI_BATCH_SIZE,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_input_tokens: DEFAULT_MAX_INPUT_TOKENS,
            max_batch_tokens: DEFAULT_MAX_BATCH_TOKENS,
            breaker_threshold: DEFAULT_FAILURE_THRESHOLD,
            breaker_cooldown: DEFAULT_COOLDOWN,
        }
    }
}

impl std::fmt::Debug for OpenAiEmbedderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbedderConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("model", &self.model)
            .field("dimensions", &self.dimensions)
            .field("batch_size", &self.batch_size)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct OpenAiEmbedder {
    client: Client<OpenAIConfig>,
    config: OpenAiEmbedderConfig,
    model_id: String,
    breaker: CircuitBreaker,
}

impl OpenAiEmbedder {
    /// # Errors
    /// [`EmbedError::Load`] when the HTTP client cannot be built.
    pub fn new(config: OpenAiEmbedderConfig) -> Result<Self, EmbedError> {
        let http =
            reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build().map_err(|e| EmbedError::Load(e.to_string()))?;
        let api =
            OpenAIConfig::new().with_api_base(config.base_url.trim_end_matches('/')).with_api_key(&config.api_key);
        let model_id = format!("openai:{}", config.model);
        let breaker = CircuitBreaker::new(config.breaker_threshold, config.breaker_cooldown);
        Ok(Self { client: Client::build(http, api), config, model_id, breaker })
    }

    /// One batch behind the circuit breaker: fail fast while the provider is known to be down.
    async fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if let Err(left) = self.breaker.check() {
            return Err(EmbedError::Unavailable(format!(
                "{} is failing; not calling it for another {:.0?} (circuit open)",
                self.config.base_url, left
            )));
        }
        let outcome = self.embed_batch_with_retries(texts).await;
        match &outcome {
            Ok(_) | Err(EmbedError::Rejected(_)) => self.breaker.record_success(),
            Err(EmbedError::Unavailable(_) | EmbedError::Internal(_) | EmbedError::Load(_)) => {
                self.breaker.record_failure()
            }
        }
        outcome
    }

    async fn embed_batch_with_retries(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        // The API rejects empty strings; a single space embeds "nothing" harmlessly.
        let input: Vec<String> =
            texts.iter().map(|t| if t.trim().is_empty() { " ".to_owned() } else { t.clone() }).collect();
        let mut request = CreateEmbeddingRequestArgs::default();
        request.model(self.config.model.clone()).input(EmbeddingInput::StringArray(input));
        if !self.config.model.starts_with("text-embedding-ada") {
            request.dimensions(u32::try_from(self.config.dimensions).unwrap_or(u32::MAX));
        }
        let request = request.build().map_err(|e| EmbedError::Rejected(e.to_string()))?;
        // async-openai's own retry layer already retries 429 (not insufficient_quota), 5xx and
        // connect errors with exponential backoff; a second loop here would multiply requests.
        match self.client.embeddings().create(request).await {
            Ok(response) => {
                self.check(response.data.into_iter().map(|d| (d.index, d.embedding)).collect(), texts.len())
            }
            Err(err) if is_provider_failure(&err) => {
                warn!(error = %err, "embedding provider failed after retries");
                Err(EmbedError::Unavailable(err.to_string()))
            }
            Err(err) => Err(EmbedError::Rejected(err.to_string())),
        }
    }

    fn check(&self, mut data: Vec<(u32, Vec<f32>)>, expected: usize) -> Result<Vec<Vec<f32>>, EmbedError> {
        data.sort_by_key(|(index, _)| *index);
        if data.len() != expected {
            return Err(EmbedError::Internal(format!(
                "provider returned {} embeddings for {expected} inputs",
                data.len()
            )));
        }
        if let Some((_, bad)) = data.iter().find(|(_, v)| v.len() != self.config.dimensions) {
            return Err(EmbedError::Rejected(format!(
                "provider returned {}-dimensional vectors but CRAWLRAG_EMBEDDING_DIMENSIONS is {}",
                bad.len(),
                self.config.dimensions
            )));
        }
        Ok(data.into_iter().map(|(_, v)| v).collect())
    }
}

/// Whether a failure is the provider's (down, overloaded, unreachable: may work later) rather
/// than the request's (bad model, bad key: will fail again).
#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "variants depend on async-openai features; the rest are client-side"
)]
fn is_provider_failure(err: &OpenAIError) -> bool {
    match err {
        OpenAIError::ApiError(api) => api.status_code.as_u16() == 429 || api.status_code.is_server_error(),
        OpenAIError::Reqwest(e) => {
            e.is_timeout() || e.is_connect() || e.status().is_some_and(|s| s.as_u16() == 429 || s.is_server_error())
        }
        OpenAIError::JSONDeserialize(..) => true,
        _ => false,
    }
}

fn estimated_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(CHARS_PER_TOKEN).max(1)
}

/// Consecutive batches of at most `max_texts` texts and (estimated) `max_tokens` tokens each.
fn token_batches(texts: &[String], max_texts: usize, max_tokens: usize) -> Vec<&[String]> {
    let mut batches = Vec::new();
    let (mut start, mut tokens) = (0, 0);
    for (i, text) in texts.iter().enumerate() {
        let cost = estimated_tokens(text);
        if i > start && (i - start >= max_texts.max(1) || tokens + cost > max_tokens) {
            batches.push(&texts[start..i]);
            (start, tokens) = (i, 0);
        }
        tokens += cost;
    }
    if start < texts.len() {
        batches.push(&texts[start..]);
    }
    batches
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimensions(&self) -> usize {
        self.config.dimensions
    }

    fn preferred_chunk_chars(&self) -> usize {
        // The anchor's default; 8k-token models take it whole.
        5000
    }

    #[instrument(skip_all, fields(texts = texts.len(), model = %self.config.model))]
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if let Some((i, tokens)) = texts
            .iter()
            .map(|t| estimated_tokens(t))
            .enumerate()
            .find(|(_, tokens)| *tokens > self.config.max_input_tokens)
        {
            return Err(EmbedError::Rejected(format!(
                "text {i} is about {tokens} tokens, over {}'s {}-token input limit; use a smaller chunk_size",
                self.config.model, self.config.max_input_tokens
            )));
        }
        // Batches run concurrently up to the limit; `buffered` keeps their order. (The futures are
        // created up front: a mapping closure here trips a higher-ranked lifetime limitation.)
        let pending: Vec<_> = token_batches(texts, self.config.batch_size, self.config.max_batch_tokens)
            .into_iter()
            .map(|batch| self.embed_batch(batch))
            .collect();
        let batches: Vec<Vec<Vec<f32>>> =
            futures::stream::iter(pending).buffered(self.config.max_concurrent_requests.max(1)).try_collect().await?;
        Ok(batches.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_both_the_text_and_the_token_limits() {
        let texts: Vec<String> =
            ["a".repeat(300), "b".repeat(300), "c".repeat(300), "d".repeat(30)].into_iter().collect();
        let sizes = |b: Vec<&[String]>| b.iter().map(|s| s.len()).collect::<Vec<_>>();
        assert_eq!(sizes(token_batches(&texts, 100, 1_000_000)), vec![4]);
        assert_eq!(sizes(token_batches(&texts, 2, 1_000_000)), vec![2, 2]);
        // 100 tokens each (300 chars / 3): at most two per 250-token batch.
        assert_eq!(sizes(token_batches(&texts, 100, 250)), vec![2, 2]);
        // A single text over the batch budget still goes alone, never dropped.
        assert_eq!(sizes(token_batches(&texts, 100, 50)), vec![1, 1, 1, 1]);
        assert!(token_batches(&[], 10, 10).is_empty());
    }
}
