//! Tool parameters and results, compatible with mcp-crawl4ai-rag v1.3 (same names and fields),
//! plus the fields crawlrag adds. Every parameter documents its default; the docs become the
//! JSON Schema descriptions clients show to models.

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use crate::crawl::SinglePageReport;
use crate::domain::{Hit, SourceInfo};

pub(crate) const DEFAULT_MATCH_COUNT: usize = 5;
pub(crate) const DEFAULT_MAX_CONTENT_LENGTH: usize = 1000;

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct CrawlSinglePageParams {
    /// The http(s) URL of the page to crawl and index.
    pub url: String,
    /// Maximum chunk size in characters. Default: what fits the embedding model's window
    /// (about 1000 characters for the local model, 5000 for OpenAI-compatible models).
    #[serde(default)]
    pub chunk_size: Option<usize>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct LinksCount {
    pub internal: usize,
    pub external: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CrawlSinglePageOutput {
    pub success: bool,
    /// The URL stored (after redirects).
    pub url: String,
    pub source_id: String,
    pub title: Option<String>,
    pub chunks_stored: usize,
    pub code_examples_stored: usize,
    /// Characters of Markdown extracted from the page.
    pub content_length: usize,
    pub total_word_count: usize,
    pub links_count: LinksCount,
}

impl From<SinglePageReport> for CrawlSinglePageOutput {
    fn from(r: SinglePageReport) -> Self {
        Self {
            success: true,
            url: r.url,
            source_id: r.source_id.to_string(),
            title: r.title,
            chunks_stored: r.chunks_stored,
            code_examples_stored: r.code_examples_stored,
            content_length: r.content_length,
            total_word_count: r.total_word_count,
            links_count: LinksCount { internal: r.links.internal.len(), external: r.links.external.len() },
        }
    }
}

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
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RagResult {
    pub url: String,
    pub content: String,
    /// True when `content` was cut to max_content_length.
    pub content_truncated: bool,
    pub metadata: serde_json::Value,
    pub source_id: String,
    /// Cosine similarity between the query and the chunk, -1..1.
    pub similarity: f64,
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
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct PerformRagQueryOutput {
    pub success: bool,
    pub query: String,
    pub source_filter: Option<String>,
    /// How results were ranked: `vector` (cosine similarity).
    pub search_mode: String,
    pub results: Vec<RagResult>,
    pub count: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct SourceOutput {
    pub source_id: String,
    pub summary: Option<String>,
    pub total_words: i64,
    pub pages: i64,
    pub chunks: i64,
    /// RFC 3339 timestamp.
    pub created_at: String,
    /// RFC 3339 timestamp of the last crawl that touched this source.
    pub updated_at: String,
}

impl From<SourceInfo> for SourceOutput {
    fn from(s: SourceInfo) -> Self {
        Self {
            source_id: s.source_id.to_string(),
            summary: s.summary,
            total_words: s.total_words,
            pages: s.pages,
            chunks: s.chunks,
            created_at: s.created_at.to_rfc3339(),
            updated_at: s.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct GetAvailableSourcesOutput {
    pub success: bool,
    pub sources: Vec<SourceOutput>,
    pub count: usize,
}
