//! The retriever service: embed the question, search the store (vector, or hybrid fused by
//! reciprocal rank), optionally rerank the candidates with a `Reranker`, shape hits. Knows only the
//! `Embedder`, `SearchIndex` and `Reranker` ports.

use std::sync::Arc;

use tracing::instrument;

use std::collections::HashMap;

use crate::domain::fusion::{RRF_K, reciprocal_rank_fusion};
use crate::domain::{CodeHit, Hit, SourceId};
use crate::error::{Error, Result};
use crate::ports::{Embedder, KeywordQuery, Reranker, SearchIndex, VectorQuery};

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
    /// Rerank the candidates with the reranker; `None`: the configured default.
    pub rerank: Option<bool>,
}

/// Settings of the retriever.
#[derive(Debug, Clone, Copy)]
pub struct RetrieveConfig {
    /// Mode used when a query does not choose one (the anchor's `USE_HYBRID_SEARCH`).
    pub default_mode: SearchMode,
    /// Rerank unless a query says otherwise (the anchor's `USE_RERANKING`).
    pub rerank_by_default: bool,
}

impl Default for RetrieveConfig {
    fn default() -> Self {
        Self { default_mode: SearchMode::Vector, rerank_by_default: false }
    }
}

/// Candidates handed to the reranker per result wanted (it reorders, it cannot add).
const RERANK_CANDIDATES_PER_RESULT: usize = 4;
const RERANK_MIN_CANDIDATES: usize = 20;

/// Candidates taken from each list before fusing, per result wanted.
const HYBRID_CANDIDATES_PER_RESULT: usize = 4;
const HYBRID_MIN_CANDIDATES: usize = 20;

#[derive(Debug)]
pub struct Retriever {
    embedder: Arc<dyn Embedder>,
    index: Arc<dyn SearchIndex>,
    reranker: Option<Arc<dyn Reranker>>,
    config: RetrieveConfig,
}

impl Retriever {
    pub fn new(embedder: Arc<dyn Embedder>, index: Arc<dyn SearchIndex>, config: RetrieveConfig) -> Self {
        Self { embedder, index, reranker: None, config }
    }

    /// Rerank with `reranker` when queries ask for it.
    #[must_use]
    pub fn with_reranker(self, reranker: Option<Arc<dyn Reranker>>) -> Self {
        Self { reranker, ..self }
    }

    /// Whether `query` is to be reranked, and by what; a plain error when asked with none.
    fn reranker_for(&self, query: &RagQuery) -> Result<Option<&Arc<dyn Reranker>>> {
        if !query.rerank.unwrap_or(self.config.rerank_by_default) {
            return Ok(None);
        }
        self.reranker.as_ref().map(Some).ok_or_else(|| {
            Error::bad_input(
                "reranking was asked for, but no reranker is available: set CRAWLRAG_RERANK_MODEL_PATH to a \
                 cross-encoder folder (e.g. cross-encoder/ms-marco-MiniLM-L-6-v2) or CRAWLRAG_RERANK_URL to a \
                 /rerank service, or query with rerank=false",
            )
        })
    }

    /// The id of the reranker, if one is configured.
    pub fn reranker_id(&self) -> Option<&str> {
        self.reranker.as_ref().map(|r| r.model_id())
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
        let embedding = self.embed_query(&query.query).await?;
        self.search_embedded(query, &embedding).await
    }

    /// The query's embedding (one call to the embedder).
    ///
    /// # Errors
    /// `Unavailable` when the embedder fails.
    pub async fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        let mut vectors = self.embedder.embed(&[text.to_owned()]).await?;
        vectors.pop().ok_or_else(|| Error::Internal("embedder returned no vector".into()))
    }

    /// [`Retriever::search`] with the query already embedded (graph retrieval embeds once and
    /// searches chunks and entities with the same vector).
    ///
    /// # Errors
    /// As [`Retriever::search`].
    pub async fn search_embedded(&self, query: &RagQuery, embedding: &[f32]) -> Result<Vec<Hit>> {
        validate(query)?;
        let reranker = self.reranker_for(query)?;
        // With a reranker, fetch a wider first page of candidates and let it choose.
        let first_pass = match reranker {
            Some(_) => RagQuery { match_count: rerank_candidates(query), offset: 0, ..query.clone() },
            None => query.clone(),
        };
        let hits = match first_pass.mode.unwrap_or(self.config.default_mode) {
            SearchMode::Vector => {
                self.index
                    .search_vector(VectorQuery {
                        embedding,
                        source: first_pass.source.as_ref(),
                        limit: first_pass.match_count,
                        offset: first_pass.offset,
                    })
                    .await?
            }
            SearchMode::Hybrid => self.search_hybrid(&first_pass, embedding).await?,
        };
        match reranker {
            Some(reranker) => {
                let texts: Vec<String> = hits.iter().map(|h| h.content.clone()).collect();
                let scores = reranker.rerank(&query.query, &texts).await?;
                Ok(reorder(hits, scores, query, |hit, score| Hit { rerank_score: Some(score), ..hit }))
            }
            None => Ok(hits),
        }
    }

    /// Both lists, fused by reciprocal rank; the source filter applies to both sides.
    async fn search_hybrid(&self, query: &RagQuery, embedding: &[f32]) -> Result<Vec<Hit>> {
        let wanted = query.match_count + query.offset;
        let candidates = (wanted * HYBRID_CANDIDATES_PER_RESULT).max(HYBRID_MIN_CANDIDATES);
        let (vector, keyword) = tokio::try_join!(
            self.index.search_vector(VectorQuery {
                embedding,
                source: query.source.as_ref(),
                limit: candidates,
                offset: 0
            }),
            self.index.search_keyword(KeywordQuery {
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
        let reranker = self.reranker_for(query)?;
        let mut vectors = self.embedder.embed(std::slice::from_ref(&query.query)).await?;
        let embedding = vectors.pop().ok_or_else(|| Error::Internal("embedder returned no vector".into()))?;
        let (limit, offset) = match reranker {
            Some(_) => (rerank_candidates(query), 0),
            None => (query.match_count, query.offset),
        };
        let hits = self
            .index
            .search_code(VectorQuery { embedding: &embedding, source: query.source.as_ref(), limit, offset })
            .await?;
        match reranker {
            Some(reranker) => {
                let texts: Vec<String> = hits.iter().map(|h| format!("{}\n\n{}", h.summary, h.code)).collect();
                let scores = reranker.rerank(&query.query, &texts).await?;
                Ok(reorder(hits, scores, query, |hit, score| CodeHit { rerank_score: Some(score), ..hit }))
            }
            None => Ok(hits),
        }
    }
}

fn rerank_candidates(query: &RagQuery) -> usize {
    ((query.offset + query.match_count) * RERANK_CANDIDATES_PER_RESULT).clamp(RERANK_MIN_CANDIDATES, MAX_MATCH_COUNT)
}

/// Order hits by the reranker's scores (best first), then take the page the query asked for.
fn reorder<T>(hits: Vec<T>, scores: Vec<f64>, query: &RagQuery, scored: impl Fn(T, f64) -> T) -> Vec<T> {
    let mut ranked: Vec<(T, f64)> = hits.into_iter().zip(scores).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.into_iter().skip(query.offset).take(query.match_count).map(|(hit, score)| scored(hit, score)).collect()
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
