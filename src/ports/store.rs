//! Where the index lives, split by use: each service holds only the ports it calls, and one
//! adapter (`PgStore`, `SqliteStore`, the in-memory store) implements them all.
//!
//! - [`PageStore`]: pages and their chunks, written atomically (ingest, the crawler's validators);
//! - [`SearchIndex`]: nearest-neighbour and full-text search (retrieval);
//! - [`SourceCatalog`]: sources with their counts, and deleting one (the sources service);
//! - [`EmbeddingCache`] and [`TextCache`]: embeddings and chat answers by content hash (ingest);
//! - [`StoreAdmin`]: binding to one embedding model, and liveness (the composition root).

use std::collections::HashMap;

use async_trait::async_trait;

use crate::domain::{Chunk, CodeExample, CodeHit, Hit, Page, SourceId, SourceInfo, Validators};

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

/// Pages and their chunks.
#[async_trait]
pub trait PageStore: Send + Sync + std::fmt::Debug {
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
}

/// Search over the stored chunks and code examples.
#[async_trait]
pub trait SearchIndex: Send + Sync + std::fmt::Debug {
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
    /// The chunks at these (url, chunk number) keys that exist, in no particular order, with no
    /// scores (graph retrieval ranks them itself).
    ///
    /// # Errors
    /// [`StoreError`] on database failure.
    async fn chunks_at(&self, keys: &[(String, i32)]) -> Result<Vec<Hit>, StoreError>;
}

/// The sources (sites) stored, with their counts.
#[async_trait]
pub trait SourceCatalog: Send + Sync + std::fmt::Debug {
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
}

/// Embeddings remembered by (model, text hash), so unchanged text is never embedded twice.
#[async_trait]
pub trait EmbeddingCache: Send + Sync + std::fmt::Debug {
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
}

/// Cached chat-model answers by (kind, key hash).
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

/// What the composition root asks of a store before serving.
#[async_trait]
pub trait StoreAdmin: Send + Sync + std::fmt::Debug {
    /// Bind the store to one embedding model and dimension, or fail if it already holds another.
    ///
    /// # Errors
    /// [`StoreError::EmbeddingMismatch`] when the stored model differs.
    async fn ensure_embedding_space(&self, model: &str, dimensions: usize) -> Result<(), StoreError>;
    /// Cheap liveness check of the database.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database does not answer.
    async fn ping(&self) -> Result<(), StoreError>;
    /// How many of this build's migrations the database has not applied (readiness: a replica
    /// of a newer release waits for the migration job).
    ///
    /// # Errors
    /// [`StoreError`] when the database does not answer.
    async fn pending_migrations(&self) -> Result<usize, StoreError>;
}

/// Every store port at once: what one database adapter offers the composition root, which hands
/// each service only its part (trait upcasting: `Arc<dyn Store>` to `Arc<dyn PageStore>`).
pub trait Store:
    PageStore
    + SearchIndex
    + SourceCatalog
    + EmbeddingCache
    + TextCache
    + StoreAdmin
    + super::JobQueue
    + super::WebhookLog
    + super::ApiKeys
{
}

impl<T> Store for T where
    T: PageStore
        + SearchIndex
        + SourceCatalog
        + EmbeddingCache
        + TextCache
        + StoreAdmin
        + super::JobQueue
        + super::WebhookLog
        + super::ApiKeys
{
}
