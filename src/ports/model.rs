//! Models: the embedder every index needs, and the optional reranker and chat model.

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("embedding model could not be loaded: {0}")]
    Load(String),
    #[error("embedding provider is unavailable: {0}")]
    Unavailable(String),
    #[error("embedding provider rejected the request: {0}")]
    Rejected(String),
    #[error("embedding failed: {0}")]
    Internal(String),
}

/// Turns texts into unit-length vectors of a fixed dimension.
#[async_trait]
pub trait Embedder: Send + Sync + std::fmt::Debug {
    /// Model identity recorded in the database (`meta`), e.g. `local:all-MiniLM-L6-v2`.
    fn model_id(&self) -> &str;
    fn dimensions(&self) -> usize;
    /// Chunk size (characters) that fits the model's input window; the default `chunk_size`.
    fn preferred_chunk_chars(&self) -> usize;
    /// Embed `texts` in order; one vector per text.
    ///
    /// # Errors
    /// [`EmbedError`] when the model or provider fails.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model or provider cannot be loaded or reached; retrying later may work.
    #[error("{0}")]
    Unavailable(String),
    /// The request was refused (bad model name, bad key, input too long).
    #[error("{0}")]
    Rejected(String),
    /// The provider answered something that is not the expected wire format.
    #[error("{0}")]
    Malformed(String),
}

/// Scores how well each document answers a query (cross-encoders, `/rerank` services).
#[async_trait]
pub trait Reranker: Send + Sync + std::fmt::Debug {
    /// What is reranking (reported with results).
    fn model_id(&self) -> &str;

    /// One relevance score per document, in the documents' order; higher is better.
    ///
    /// # Errors
    /// A [`ModelError`] saying whether to retry.
    async fn rerank(&self, query: &str, documents: &[String]) -> Result<Vec<f64>, ModelError>;
}

/// A chat model (OpenAI-compatible `/chat/completions`) for contextual embeddings and summaries.
#[async_trait]
pub trait ChatModel: Send + Sync + std::fmt::Debug {
    fn model_id(&self) -> &str;

    /// The assistant's answer to `system` + `user`, at most `max_tokens` long.
    ///
    /// # Errors
    /// A [`ModelError`] saying whether to retry.
    async fn complete(&self, system: &str, user: &str, max_tokens: u32) -> Result<String, ModelError>;
}
