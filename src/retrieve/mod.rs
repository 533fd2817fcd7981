//! The retriever service: embed the question, search the store, shape hits. Knows only the
//! `Embedder` and `Store` ports. (Hybrid search, reranking and graph enrichment come later.)

use std::sync::Arc;

use tracing::instrument;

use std::collections::HashMap;

use crate::domain::fusion::{RRF_K, reciprocal_rank_fusion};
use crate::domain::{CodeHit, Hit, SourceId, SourceInfo};
use crate::error::{Error, Result};
use crate::ports::{Embedder, KeywordQuery, Store, VectorQuery};

/// Most results one query may ask for.
pub const MAX_MATCH_COUNT: usize = 100;
/// Deepest page of results one query may ask for.
pub const MAX_OFFSET: usize = 10_000;

/// How results are ranked.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Cosine similarity of embeddings.
    Vector,
    /// Vector and full-text lists fused by reciprocal rank.
    Hybrid,
}

/// A search as the tools describe it.
#[derive(Debug, Clone)]
pub struct RagQuery {
    pub query: String,
    pub source: Option<SourceId>,
    pub match_count: usize,
    pub offset: usize,
    /// `None`: the configured default.
    pub mode: Option<SearchMode>,
}

/// Settings of the retriever.
#[derive(Debug, Clone, Copy)]
pub struct RetrieveConfig {
    /// Mode used when a query does not choose one (the anchor's `USE_HYBRID_SEARCH`).
    pub default_mode: SearchMode,
}

impl Default for RetrieveConfig {
    fn default() -> Self {
        Self { default_mode: SearchMode::Vector }
    }
}

/// Candidates taken from each list before fusing, per result wanted.
const HYBRID_CANDIDATES_PER_RESULT: usize = 4;
const HYBRID_MIN_CANDIDATES: usize = 20;

#[derive(Debug)]
pub struct Retriever {
    embedder: Arc<dyn Embedder>,
    store: Arc<dyn Store>,
    config: RetrieveConfig,
}

impl Retriever {
    pub fn new(embedder: Arc<dyn Embedder>, store: Arc<dyn Store>, config: RetrieveConfig) -> Self {
        Self { embedder, store, config }
    }

    /// Like [`Retriever::search`], also saying which mode ranked the results.
    ///
    /// # Errors
    /// As [`Retriever::search`].
    pub async fn search_with_mode(&self, query: &RagQuery) -> Result<(SearchMode, Vec<Hit>)> {
        let mode = query.mode.unwrap_or(self.config.default_mode);
        Ok((mode, self.search(query).await?))
    }

    /// Chunks nearest to the query, best first.
    ///
    /// # Errors
    /// `BadInput` for an empty query or out-of-range counts; `Unavailable` when a dependency fails.
    #[instrument(skip(self), fields(tool = "perform_rag_query"))]
    pub async fn search(&self, query: &RagQuery) -> Result<Vec<Hit>> {
        validate(query)?;
        let mut vectors = self.embedder.embed(std::slice::from_ref(&query.query)).await?;
        let embedding = vectors.pop().ok_or_else(|| Error::Internal("embedder returned no vector".into()))?;
        match query.mode.unwrap_or(self.config.default_mode) {
            SearchMode::Vector => Ok(self
                .store
                .search_vector(VectorQuery {
                    embedding: &embedding,
                    source: query.source.as_ref(),
                    limit: query.match_count,
                    offset: query.offset,
                })
                .await?),
            SearchMode::Hybrid => self.search_hybrid(query, &embedding).await,
        }
    }

    /// Both lists, fused by reciprocal rank; the source filter applies to both sides.
    async fn search_hybrid(&self, query: &RagQuery, embedding: &[f32]) -> Result<Vec<Hit>> {
        let wanted = query.match_count + query.offset;
        let candidates = (wanted * HYBRID_CANDIDATES_PER_RESULT).max(HYBRID_MIN_CANDIDATES);
        let (vector, keyword) = tokio::try_join!(
            self.store.search_vector(VectorQuery {
                embedding,
                source: query.source.as_ref(),
                limit: candidates,
                offset: 0
            }),
            self.store.search_keyword(KeywordQuery {
                text: &query.query,
                source: query.source.as_ref(),
                limit: candidates
            }),
        )?;
        let key = |h: &Hit| (h.url.clone(), h.chunk_index);
        let fused =
            reciprocal_rank_fusion(&[vector.iter().map(key).collect(), keyword.iter().map(key).collect()], RRF_K);
        let mut by_key: HashMap<(String, i32), Hit> = HashMap::new();
        for hit in keyword {
            by_key.insert(key(&hit), hit);
        }
        for hit in vector {
            // Prefer the vector copy (it has the similarity) and keep the keyword rank.
            let rank = by_key.get(&key(&hit)).and_then(|k| k.keyword_rank);
            by_key.insert(key(&hit), Hit { keyword_rank: rank, ..hit });
        }
        Ok(fused
            .into_iter()
            .skip(query.offset)
            .take(query.match_count)
            .filter_map(|(k, score)| by_key.remove(&k).map(|hit| Hit { rrf_score: Some(score), ..hit }))
            .collect())
    }

    /// Code examples nearest to the query, best first.
    ///
    /// # Errors
    /// `BadInput` for an empty query or out-of-range counts; `Unavailable` when a dependency fails.
    #[instrument(skip(self), fields(tool = "search_code_examples"))]
    pub async fn search_code(&self, query: &RagQuery) -> Result<Vec<CodeHit>> {
        validate(query)?;
        let mut vectors = self.embedder.embed(std::slice::from_ref(&query.query)).await?;
        let embedding = vectors.pop().ok_or_else(|| Error::Internal("embedder returned no vector".into()))?;
        Ok(self
            .store
            .search_code(VectorQuery {
                embedding: &embedding,
                source: query.source.as_ref(),
                limit: query.match_count,
                offset: query.offset,
            })
            .await?)
    }

    /// Every source in the index.
    ///
    /// # Errors
    /// `Unavailable` when the database fails.
    pub async fn sources(&self) -> Result<Vec<SourceInfo>> {
        Ok(self.store.list_sources().await?)
    }
}

fn validate(query: &RagQuery) -> Result<()> {
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
    Ok(())
}
