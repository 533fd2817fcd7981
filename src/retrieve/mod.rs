//! The retriever service: embed the question, search the store, shape hits. Knows only the
//! `Embedder` and `Store` ports. (Hybrid search, reranking and graph enrichment come later.)

use std::sync::Arc;

use tracing::instrument;

use crate::domain::{Hit, SourceId, SourceInfo};
use crate::error::{Error, Result};
use crate::ports::{Embedder, Store, VectorQuery};

/// Most results one query may ask for.
pub const MAX_MATCH_COUNT: usize = 100;
/// Deepest page of results one query may ask for.
pub const MAX_OFFSET: usize = 10_000;

/// A search as the tools describe it.
#[derive(Debug, Clone)]
pub struct RagQuery {
    pub query: String,
    pub source: Option<SourceId>,
    pub match_count: usize,
    pub offset: usize,
}

#[derive(Debug)]
pub struct Retriever {
    embedder: Arc<dyn Embedder>,
    store: Arc<dyn Store>,
}

impl Retriever {
    pub fn new(embedder: Arc<dyn Embedder>, store: Arc<dyn Store>) -> Self {
        Self { embedder, store }
    }

    /// Chunks nearest to the query, best first.
    ///
    /// # Errors
    /// `BadInput` for an empty query or out-of-range counts; `Unavailable` when a dependency fails.
    #[instrument(skip(self), fields(tool = "perform_rag_query"))]
    pub async fn search(&self, query: &RagQuery) -> Result<Vec<Hit>> {
        if query.query.trim().is_empty() {
            return Err(Error::bad_input("query is empty; ask a question or give keywords"));
        }
        if !(1..=MAX_MATCH_COUNT).contains(&query.match_count) {
            return Err(Error::bad_input(format!(
                "match_count must be between 1 and {MAX_MATCH_COUNT}, got {}",
                query.match_count
            )));
        }
        if query.offset > MAX_OFFSET {
            return Err(Error::bad_input(format!("offset must be at most {MAX_OFFSET}, got {}", query.offset)));
        }
        let mut vectors = self.embedder.embed(std::slice::from_ref(&query.query)).await?;
        let embedding = vectors.pop().ok_or_else(|| Error::Internal("embedder returned no vector".into()))?;
        let hits = self
            .store
            .search_vector(VectorQuery {
                embedding: &embedding,
                source: query.source.as_ref(),
                limit: query.match_count,
                offset: query.offset,
            })
            .await?;
        Ok(hits)
    }

    /// Every source in the index.
    ///
    /// # Errors
    /// `Unavailable` when the database fails.
    pub async fn sources(&self) -> Result<Vec<SourceInfo>> {
        Ok(self.store.list_sources().await?)
    }
}
