//! `perform_rag_query` and `search_code_examples`: parameters, results, and fitting a response
//! into the client's token budget.

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use crate::domain::{CodeHit, Hit, SourceId};
use crate::retrieve::{RagQuery, SearchMode};

pub(crate) const DEFAULT_MATCH_COUNT: usize = 5;
pub(crate) const DEFAULT_MAX_CONTENT_LENGTH: usize = 1000;
/// Default response budget: clients reject tool results over about 25k tokens.
pub(crate) const DEFAULT_MAX_RESPONSE_TOKENS: usize = 20_000;
/// Conservative characters-per-token estimate (code and non-English text run below 4).
const CHARS_PER_TOKEN: usize = 3;

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct PerformRagQueryParams {
    /// The question or keywords to search for.
    pub query: String,
    /// Only search this source (a `source_id` from get_available_sources, e.g. `docs.example.com`).
    /// `source` is accepted as an alias. Default: all sources.
    #[serde(default, alias = "source")]
    pub source_filter: Option<String>,
    /// Number of results to return, 1-100. Default 5.
    #[serde(default)]
    pub match_count: Option<usize>,
    /// Results to skip, for paging. Default 0.
    #[serde(default)]
    pub offset: Option<usize>,
    /// Characters of each result's content to return. Default 1000.
    #[serde(default)]
    pub max_content_length: Option<usize>,
    /// Return each chunk's whole content regardless of max_content_length. Default false.
    #[serde(default)]
    pub include_full_content: Option<bool>,
    /// Upper bound on the whole response's size in tokens; result contents are trimmed to fit
    /// (and marked) rather than failing. Default 20000.
    #[serde(default)]
    pub max_response_tokens: Option<usize>,
    /// `vector` (semantic) or `hybrid` (semantic + full-text keywords, fused by reciprocal rank;
    /// best for exact identifiers and error codes). Default: hybrid when USE_HYBRID_SEARCH=true,
    /// else vector.
    #[serde(default)]
    pub mode: Option<SearchMode>,
    /// Rerank the candidates with the cross-encoder / rerank service (slower, more precise).
    /// Default: USE_RERANKING. Fails plainly when no reranker is available.
    #[serde(default)]
    pub rerank: Option<bool>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RagResult {
    pub url: String,
    pub content: String,
    /// True when `content` was cut to max_content_length.
    pub content_truncated: bool,
    pub metadata: serde_json::Value,
    pub source_id: String,
    /// Cosine similarity between the query and the chunk, -1..1 (null for keyword-only hits).
    pub similarity: Option<f64>,
    /// Rank in the full-text list (hybrid mode), 1 = best.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword_rank: Option<usize>,
    /// Reciprocal-rank-fusion score that ordered the results (hybrid mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rrf_score: Option<f64>,
    /// The reranker's relevance score that ordered the results (when reranked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerank_score: Option<f64>,
}

impl RagResult {
    pub(crate) fn from_hit(hit: Hit, max_chars: Option<usize>) -> Self {
        let (content, content_truncated) = match max_chars {
            Some(max) if hit.content.chars().count() > max => (hit.content.chars().take(max).collect(), true),
            _ => (hit.content, false),
        };
        Self {
            url: hit.url,
            content,
            content_truncated,
            metadata: hit.metadata,
            source_id: hit.source_id.to_string(),
            similarity: hit.similarity,
            keyword_rank: hit.keyword_rank,
            rrf_score: hit.rrf_score,
            rerank_score: hit.rerank_score,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct PerformRagQueryOutput {
    pub success: bool,
    pub query: String,
    pub source_filter: Option<String>,
    /// How results were ranked: `vector` (cosine similarity) or `hybrid` (vector + keywords, RRF).
    pub search_mode: SearchMode,
    /// The reranker that ordered the results, when they were reranked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reranked_by: Option<String>,
    pub results: Vec<RagResult>,
    pub count: usize,
    /// True when contents were trimmed to keep the response within max_response_tokens.
    pub response_truncated: bool,
}

/// Trim result contents so the serialized response stays within `max_tokens`: every result keeps
/// an equal share of the room left after the fixed fields; shorter results give their unused share
/// to longer ones. Returns whether anything was cut.
pub(crate) fn fit_to_budget(results: &mut [RagResult], max_tokens: usize) -> bool {
    let budget = max_tokens.saturating_mul(CHARS_PER_TOKEN);
    let size = |r: &RagResult| serde_json::to_string(r).map_or(0, |s| s.chars().count());
    let total: usize = results.iter().map(size).sum();
    if total <= budget || results.is_empty() {
        return false;
    }
    let fixed: usize = results.iter().map(|r| size(r) - r.content.chars().count()).sum::<usize>() + 512;
    let mut room = budget.saturating_sub(fixed);
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by_key(|&i| results[i].content.chars().count());
    let mut left = results.len();
    for i in order {
        let share = room / left.max(1);
        let len = results[i].content.chars().count();
        if len > share {
            results[i].content = results[i].content.chars().take(share).collect();
            results[i].content_truncated = true;
        }
        room = room.saturating_sub(len.min(share));
        left -= 1;
    }
    true
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct SearchCodeExamplesParams {
    /// What the code should do, e.g. "open a websocket with a timeout".
    pub query: String,
    /// Only search this source (see get_available_sources). `source` is accepted as an alias.
    /// Default: all sources.
    #[serde(default, alias = "source")]
    pub source_id: Option<String>,
    /// Number of results, 1-100. Default 5.
    #[serde(default)]
    pub match_count: Option<usize>,
    /// Rerank the candidates (default: USE_RERANKING).
    #[serde(default)]
    pub rerank: Option<bool>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CodeResult {
    pub url: String,
    pub code: String,
    pub summary: String,
    /// language, context_before, context_after, example_index, char_count.
    pub metadata: serde_json::Value,
    pub source_id: String,
    pub similarity: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerank_score: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct SearchCodeExamplesOutput {
    pub success: bool,
    pub query: String,
    pub source_filter: Option<String>,
    pub search_mode: SearchMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reranked_by: Option<String>,
    pub results: Vec<CodeResult>,
    pub count: usize,
}

impl PerformRagQueryParams {
    /// The retriever's query for these parameters (an empty source filter means all sources).
    pub(crate) fn query(&self) -> RagQuery {
        RagQuery {
            query: self.query.clone(),
            source: self.source().map(SourceId::from),
            match_count: self.match_count.unwrap_or(DEFAULT_MATCH_COUNT),
            offset: self.offset.unwrap_or(0),
            mode: self.mode,
            rerank: self.rerank,
        }
    }

    fn source(&self) -> Option<String> {
        self.source_filter.clone().filter(|s| !s.trim().is_empty())
    }
}

impl PerformRagQueryOutput {
    /// Shape the hits: contents cut to max_content_length, then the whole response fitted into
    /// max_response_tokens.
    pub(crate) fn new(p: PerformRagQueryParams, mode: SearchMode, hits: Vec<Hit>, reranker: Option<&str>) -> Self {
        let max_chars = (!p.include_full_content.unwrap_or(false))
            .then(|| p.max_content_length.unwrap_or(DEFAULT_MAX_CONTENT_LENGTH));
        let mut results: Vec<RagResult> = hits.into_iter().map(|h| RagResult::from_hit(h, max_chars)).collect();
        let response_truncated =
            fit_to_budget(&mut results, p.max_response_tokens.unwrap_or(DEFAULT_MAX_RESPONSE_TOKENS).max(500));
        Self {
            success: true,
            source_filter: p.source(),
            query: p.query,
            search_mode: mode,
            reranked_by: reranked_by(results.iter().map(|r| r.rerank_score), reranker),
            count: results.len(),
            results,
            response_truncated,
        }
    }
}

impl SearchCodeExamplesParams {
    pub(crate) fn query(&self) -> RagQuery {
        RagQuery {
            query: self.query.clone(),
            source: self.source().map(SourceId::from),
            match_count: self.match_count.unwrap_or(DEFAULT_MATCH_COUNT),
            offset: 0,
            mode: Some(SearchMode::Vector),
            rerank: self.rerank,
        }
    }

    fn source(&self) -> Option<String> {
        self.source_id.clone().filter(|s| !s.trim().is_empty())
    }
}

impl SearchCodeExamplesOutput {
    pub(crate) fn new(p: SearchCodeExamplesParams, hits: Vec<CodeHit>, reranker: Option<&str>) -> Self {
        let results: Vec<CodeResult> = hits
            .into_iter()
            .map(|h| CodeResult {
                url: h.url,
                code: h.code,
                summary: h.summary,
                metadata: h.metadata,
                source_id: h.source_id.to_string(),
                similarity: h.similarity,
                rerank_score: h.rerank_score,
            })
            .collect();
        Self {
            success: true,
            source_filter: p.source(),
            query: p.query,
            search_mode: SearchMode::Vector,
            reranked_by: reranked_by(results.iter().map(|r| r.rerank_score), reranker),
            count: results.len(),
            results,
        }
    }
}

/// Which reranker ordered the results, if any result carries a rerank score.
fn reranked_by(mut scores: impl Iterator<Item = Option<f64>>, reranker: Option<&str>) -> Option<String> {
    scores.any(|s| s.is_some()).then(|| reranker.map(str::to_owned)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(chars: usize) -> RagResult {
        RagResult {
            url: "https://x.y/".into(),
            content: "x".repeat(chars),
            content_truncated: false,
            metadata: serde_json::json!({"headers": "# A"}),
            source_id: "x.y".into(),
            similarity: Some(0.5),
            keyword_rank: None,
            rrf_score: None,
            rerank_score: None,
        }
    }

    #[test]
    fn responses_are_trimmed_to_the_budget_and_say_so() {
        let mut small = vec![result(100), result(200)];
        assert!(!fit_to_budget(&mut small, 20_000));
        assert!(small.iter().all(|r| !r.content_truncated));

        let mut big = vec![result(50), result(90_000), result(90_000)];
        assert!(fit_to_budget(&mut big, 20_000));
        let total: usize = big.iter().map(|r| serde_json::to_string(r).unwrap().len()).sum();
        assert!(total <= 20_000 * CHARS_PER_TOKEN, "{total}");
        assert!(!big[0].content_truncated, "short results keep their content");
        assert!(big[1].content_truncated && big[2].content_truncated);
        assert!(big[1].content.len().abs_diff(big[2].content.len()) <= 1, "long results share the room evenly");
    }
}
