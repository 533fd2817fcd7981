//! Search results and source listings as the services return them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::SourceId;

/// One retrieved chunk with the score that ranked it.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub url: String,
    pub chunk_index: i32,
    pub content: String,
    /// Chunk metadata as stored (headers, header_path, chunk_index, counts, ...).
    pub metadata: serde_json::Value,
    pub source_id: SourceId,
    /// Cosine similarity in [-1, 1] (1 = identical direction); `None` for keyword-only hits.
    pub similarity: Option<f64>,
    /// 1-based rank in the full-text result list, when the hit came from keyword search.
    pub keyword_rank: Option<usize>,
    /// Reciprocal rank fusion score, in hybrid mode.
    pub rrf_score: Option<f64>,
    /// The reranker's relevance score, when results were reranked (higher is better).
    pub rerank_score: Option<f64>,
}

/// A crawled source with its summary and size.
#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    pub source_id: SourceId,
    pub summary: Option<String>,
    pub total_words: i64,
    pub pages: i64,
    pub chunks: i64,
    pub code_examples: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One retrieved code example.
#[derive(Debug, Clone, Serialize)]
pub struct CodeHit {
    pub url: String,
    pub code: String,
    pub summary: String,
    /// language, context_before/after, example index, ...
    pub metadata: serde_json::Value,
    pub source_id: SourceId,
    pub similarity: f64,
    /// The reranker's relevance score, when results were reranked.
    pub rerank_score: Option<f64>,
}
