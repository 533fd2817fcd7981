//! `ChatModel` for any OpenAI-compatible `/chat/completions` endpoint (OpenAI, Ollama, vLLM),
//! through [`ProviderClient`] (timeouts, concurrency limit, retries, circuit breaker).

use async_trait::async_trait;
use serde_json::json;
use tracing::instrument;

use super::provider_http::{ProviderClient, ProviderConfig};
use crate::ports::{ChatModel, ModelError};

pub const DEFAULT_CHAT_MODEL: &str = "gpt-4.1-nano";

#[derive(Debug)]
pub struct OpenAiChat {
    client: ProviderClient,
    model: String,
    model_id: String,
}

impl OpenAiChat {
    /// # Errors
    /// [`ModelError::Unavailable`] when the HTTP client cannot be built.
    pub fn new(provider: ProviderConfig, model: &str) -> Result<Self, ModelError> {
        Ok(Self {
            client: ProviderClient::new(provider)?,
            model: model.to_owned(),
            model_id: format!("openai:{model}"),
        })
    }
}

#[async_trait]
impl ChatModel for OpenAiChat {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    #[instrument(skip_all, fields(model = %self.model))]
    async fn complete(&self, system: &str, user: &str, max_tokens: u32) -> Result<String, ModelError> {
        let body = json!({
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "max_tokens": max_tokens,
            "temperature": 0.2,
        });
        let answer = self.client.post_json("/chat/completions", &body).await?;
        let text = answer["choices"][0]["message"]["content"].as_str().ok_or_else(|| {
            ModelError::Malformed(format!("{} answered without choices[0].message.content", self.client.base_url()))
        })?;
        Ok(text.trim().to_owned())
    }
}
