//! `Embedder` for any OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, Azure-style proxies,
//! Ollama, vLLM, TEI), through async-openai: batching, a request timeout, and retries with
//! capped exponential backoff and jitter on 429/5xx/network errors. 4xx other than 429 give up.

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::embeddings::{CreateEmbeddingRequestArgs, EmbeddingInput};
use async_trait::async_trait;
use tracing::{instrument, warn};

use crate::ports::{EmbedError, Embedder};

pub const DEFAULT_OPENAI_MODEL: &str = "text-embedding-3-small";
pub const DEFAULT_OPENAI_DIMENSIONS: usize = 1536;
pub const DEFAULT_OPENAI_BATCH_SIZE: usize = 100;
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_ATTEMPTS: u32 = 4;
const MAX_BACKOFF: Duration = Duration::from_secs(8);

#[derive(Clone)]
pub struct OpenAiEmbedderConfig {
    pub base_url: String,
    /// Never logged; `Debug` prints it redacted.
    pub api_key: String,
    pub model: String,
    pub dimensions: usize,
    pub batch_size: usize,
}

impl std::fmt::Debug for OpenAiEmbedderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbedderConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("model", &self.model)
            .field("dimensions", &self.dimensions)
            .field("batch_size", &self.batch_size)
            .finish()
    }
}

#[derive(Debug)]
pub struct OpenAiEmbedder {
    client: Client<OpenAIConfig>,
    config: OpenAiEmbedderConfig,
    model_id: String,
}

/// What to do after a failed attempt (conventions C8).
#[derive(Debug, PartialEq, Eq)]
enum Retry {
    GiveUp,
    After(Duration),
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
        Ok(Self { client: Client::build(http, api), config, model_id })
    }

    async fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        // The API rejects empty strings; a single space embeds "nothing" harmlessly.
        let input: Vec<String> =
            texts.iter().map(|t| if t.trim().is_empty() { " ".to_owned() } else { t.clone() }).collect();
        let mut request = CreateEmbeddingRequestArgs::default();
        request.model(self.config.model.clone()).input(EmbeddingInput::StringArray(input));
        if !self.config.model.starts_with("text-embedding-ada") {
            request.dimensions(u32::try_from(self.config.dimensions).unwrap_or(u32::MAX));
        }
        let request = request.build().map_err(|e| EmbedError::Rejected(e.to_string()))?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let err = match self.client.embeddings().create(request.clone()).await {
                Ok(response) => {
                    return self
                        .check(response.data.into_iter().map(|d| (d.index, d.embedding)).collect(), texts.len());
                }
                Err(err) => err,
            };
            match retry_policy(&err, attempt) {
                Retry::After(delay) if attempt < MAX_ATTEMPTS => {
                    warn!(attempt, ?delay, error = %err, "embedding request failed, retrying");
                    tokio::time::sleep(delay).await;
                }
                Retry::After(_) => return Err(EmbedError::Unavailable(format!("{err} (after {attempt} attempts)"))),
                Retry::GiveUp => return Err(EmbedError::Rejected(err.to_string())),
            }
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

/// Sort a failure into give-up or retry-after (exponential backoff with jitter, capped).
#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "variants depend on async-openai features; the rest are client-side"
)]
fn retry_policy(err: &OpenAIError, attempt: u32) -> Retry {
    let retryable = match err {
        OpenAIError::ApiError(api) => api.status_code.as_u16() == 429 || api.status_code.is_server_error(),
        OpenAIError::Reqwest(e) => {
            e.is_timeout() || e.is_connect() || e.status().is_some_and(|s| s.as_u16() == 429 || s.is_server_error())
        }
        OpenAIError::JSONDeserialize(..) => true,
        _ => false,
    };
    if !retryable {
        return Retry::GiveUp;
    }
    let base = Duration::from_millis(250).saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
    let jitter = Duration::from_millis(u64::from(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos() % 250).unwrap_or(0),
    ));
    Retry::After((base + jitter).min(MAX_BACKOFF))
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
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.config.batch_size.max(1)) {
            out.extend(self.embed_batch(batch).await?);
        }
        Ok(out)
    }
}
