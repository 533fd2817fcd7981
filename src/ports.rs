//! The traits at the boundary (ports) and the errors they speak. Services hold
//! `Arc<dyn Port>`; only `adapters/` implement them with driver crates.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use url::Url;

use crate::domain::{
    Chunk, CodeExample, CodeHit, Hit, JobProgress, JobRecord, JobState, Page, SourceId, SourceInfo, Validators,
};

// ---------------------------------------------------------------- fetch

/// What a fetch is for: it decides which content types are accepted and how the body comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// HTML, plain text or Markdown, decoded to text; binary bodies are refused.
    Page,
    /// XML, gzip or text (sitemaps, robots.txt), returned as raw bytes.
    Raw,
}

/// A fetched HTTP body that passed the size and content-type checks.
#[derive(Debug, Clone)]
pub struct FetchedBody {
    /// URL after redirects.
    pub final_url: Url,
    /// MIME type without parameters, lowercase (e.g. `text/html`).
    pub content_type: String,
    /// Decoded text for [`Accept::Page`]; lossy UTF-8 of the bytes for [`Accept::Raw`].
    pub text: String,
    /// The raw body for [`Accept::Raw`]; empty for pages.
    pub bytes: Vec<u8>,
    pub validators: Validators,
}

/// The outcome of a conditional fetch.
#[derive(Debug, Clone)]
#[expect(clippy::large_enum_variant, reason = "returned once per fetch, never stored in bulk")]
pub enum Fetched {
    Body(FetchedBody),
    /// The server answered 304: the stored copy is current.
    NotModified,
}

/// Why a fetch failed; every variant reads as an actionable sentence.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("invalid URL '{url}': {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("refused to fetch {url}: {reason} (set CRAWLRAG_ALLOW_PRIVATE_NETWORKS=true to allow private targets)")]
    Blocked { url: String, reason: String },
    #[error("could not connect to {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("timed out after {0:?} fetching {1}")]
    Timeout(Duration, String),
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16, retry_after: Option<Duration> },
    #[error("redirect loop at {0}")]
    RedirectLoop(String),
    #[error("too many redirects (more than {max}) starting at {url}")]
    TooManyRedirects { url: String, max: usize },
    #[error("{url} has content type '{content_type}', which is not a text page (HTML, plain text or Markdown)")]
    UnsupportedContentType { url: String, content_type: String },
    #[error("{url} is larger than the page size cap of {cap} bytes")]
    TooLarge { url: String, cap: usize },
    #[error("fetching {url} failed: {reason}")]
    Other { url: String, reason: String },
}

/// Fetches one URL's text body.
#[async_trait]
pub trait Fetcher: Send + Sync + std::fmt::Debug {
    /// # Errors
    /// A [`FetchError`] naming the URL and what went wrong.
    async fn fetch(&self, url: &Url, accept: Accept) -> Result<FetchedBody, FetchError>;

    /// Fetch unless the page is unchanged since `known` (If-None-Match / If-Modified-Since).
    ///
    /// # Errors
    /// As [`Fetcher::fetch`].
    async fn fetch_if_changed(&self, url: &Url, accept: Accept, known: &Validators) -> Result<Fetched, FetchError> {
        let _ = known;
        self.fetch(url, accept).await.map(Fetched::Body)
    }
}

/// How a browser render behaves beyond loading the page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Hide common automation fingerprints (navigator.webdriver, headless user agent, languages,
    /// plugins, WebGL vendor) before any page script runs.
    pub stealth: bool,
    /// Wait until this CSS selector matches before reading the page.
    pub wait_for_selector: Option<String>,
    /// Extra time to wait after the page settled (for late content).
    pub extra_wait: Duration,
}

/// Renders a page in a real browser (JavaScript executed) and returns the live DOM as HTML.
#[async_trait]
pub trait Renderer: Send + Sync + std::fmt::Debug {
    /// # Errors
    /// A [`FetchError`] naming the URL and what went wrong (refused target, timeout, browser
    /// failure, a `wait_for_selector` that never appeared).
    async fn render(&self, url: &Url, options: &RenderOptions) -> Result<FetchedBody, FetchError>;
}

// ---------------------------------------------------------------- embed

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

// ---------------------------------------------------------------- store

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database is unavailable: {0}")]
    Unavailable(String),
    #[error(
        "the database holds embeddings from model '{stored_model}' ({stored_dim} dimensions) but crawlrag is configured \
         with '{model}' ({dim} dimensions); use the same embedding model, or point DATABASE_URL (or CRAWLRAG_PG_SCHEMA) \
         at a fresh database"
    )]
    EmbeddingMismatch { stored_model: String, stored_dim: usize, model: String, dim: usize },
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Query(String),
}

/// A page with its embedded chunks, written atomically.
#[derive(Debug, Clone)]
pub struct PageWrite<'a> {
    pub page: &'a Page,
    pub chunks: &'a [Chunk],
    pub embeddings: &'a [Vec<f32>],
    pub content_hash: &'a str,
    /// Summary used when the source is first created.
    pub source_summary: &'a str,
    /// Code examples of the page (empty when extraction is off), with their embeddings.
    pub code_examples: &'a [CodeExample],
    pub code_embeddings: &'a [Vec<f32>],
}

/// A vector search request.
#[derive(Debug, Clone)]
pub struct VectorQuery<'a> {
    pub embedding: &'a [f32],
    pub source: Option<&'a SourceId>,
    pub limit: usize,
    pub offset: usize,
}

/// A full-text search request.
#[derive(Debug, Clone)]
pub struct KeywordQuery<'a> {
    pub text: &'a str,
    pub source: Option<&'a SourceId>,
    pub limit: usize,
}

/// What a delete removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeletedCounts {
    pub sources: u64,
    pub pages: u64,
    pub chunks: u64,
    pub code_examples: u64,
}

/// Where chunks, pages and sources live.
#[async_trait]
pub trait Store: JobStore + TextCache + Send + Sync + std::fmt::Debug {
    /// Bind the store to one embedding model and dimension, or fail if it already holds another.
    ///
    /// # Errors
    /// [`StoreError::EmbeddingMismatch`] when the stored model differs.
    async fn ensure_embedding_space(&self, model: &str, dimensions: usize) -> Result<(), StoreError>;
    /// Replace all chunks of `write.page.url` in one transaction and update its source.
    ///
    /// # Errors
    /// [`StoreError`] on database failure; nothing is changed then.
    async fn replace_page(&self, write: PageWrite<'_>) -> Result<(), StoreError>;
    /// The content hash stored for a page URL, if the page is stored.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn page_hash(&self, url: &str) -> Result<Option<String>, StoreError>;
    /// The HTTP validators stored for a page URL, if the page is stored.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn page_validators(&self, url: &str) -> Result<Option<Validators>, StoreError>;
    /// Delete one page with its chunks and code examples (a page gone from its site).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn delete_page(&self, url: &str) -> Result<DeletedCounts, StoreError>;
    /// Cached embeddings of texts by (model, text hash); only the hashes found are returned.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn cached_embeddings(&self, model: &str, hashes: &[String]) -> Result<HashMap<String, Vec<f32>>, StoreError>;
    /// Remember embeddings by (model, text hash); existing entries are kept.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn cache_embeddings(&self, model: &str, entries: &[(String, Vec<f32>)]) -> Result<(), StoreError>;
    /// Nearest chunks by cosine similarity, best first.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn search_vector(&self, query: VectorQuery<'_>) -> Result<Vec<Hit>, StoreError>;
    /// Nearest code examples by cosine similarity, best first.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn search_code(&self, query: VectorQuery<'_>) -> Result<Vec<CodeHit>, StoreError>;
    /// Best full-text matches for `query.text` (any of its words), best first.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn search_keyword(&self, query: KeywordQuery<'_>) -> Result<Vec<Hit>, StoreError>;
    /// All sources with their counts, by source id.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn list_sources(&self) -> Result<Vec<SourceInfo>, StoreError>;
    /// Delete a source and everything stored under it, in one transaction.
    ///
    /// # Errors
    /// [`StoreError`] on database failure; nothing is deleted then.
    async fn delete_source(&self, source: &SourceId) -> Result<DeletedCounts, StoreError>;
    /// Cheap liveness check of the database.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database does not answer.
    async fn ping(&self) -> Result<(), StoreError>;
}

// ---------------------------------------------------------------- jobs

/// Where crawl jobs live, so every replica sees the same jobs (implemented by each store).
#[async_trait]
pub trait JobStore: Send + Sync + std::fmt::Debug {
    /// Record a new running job.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn insert_job(&self, job_id: &str, tool: &str, target: &str) -> Result<(), StoreError>;
    /// Write a running job's progress (its heartbeat); answers whether a cancel was requested.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn heartbeat_job(&self, job_id: &str, progress: &JobProgress) -> Result<bool, StoreError>;
    /// Record how a job ended.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn finish_job(&self, job_id: &str, end: JobEnd<'_>) -> Result<(), StoreError>;
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn get_job(&self, job_id: &str) -> Result<Option<JobRecord>, StoreError>;
    /// The newest jobs first.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn list_jobs(&self, limit: usize) -> Result<Vec<JobRecord>, StoreError>;
    /// Ask whichever process runs the job to stop; answers whether a running job was found.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn request_job_cancel(&self, job_id: &str) -> Result<bool, StoreError>;
    /// Mark running jobs without a heartbeat for `stale_after` as interrupted; answers how many.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn interrupt_stale_jobs(&self, stale_after: Duration) -> Result<u64, StoreError>;
}

/// How a job ended, for [`JobStore::finish_job`].
#[derive(Debug, Clone, Copy)]
pub struct JobEnd<'a> {
    pub state: JobState,
    pub progress: &'a JobProgress,
    pub error: Option<&'a str>,
    pub result: Option<&'a serde_json::Value>,
}

// ---------------------------------------------------------------- rerank and chat

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

/// Cached chat-model answers by (kind, key hash), implemented by each store.
#[async_trait]
pub trait TextCache: Send + Sync + std::fmt::Debug {
    /// The cached values of the keys found.
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn cached_texts(&self, kind: &str, keys: &[String]) -> Result<HashMap<String, String>, StoreError>;
    /// Remember values (existing keys keep their value).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn cache_texts(&self, kind: &str, entries: &[(String, String)]) -> Result<(), StoreError>;
}
