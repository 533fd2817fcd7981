//! Tool parameters and results, compatible with mcp-crawl4ai-rag v1.3 (same names and fields),
//! plus the fields crawlrag adds. Every parameter documents its default; the docs become the
//! JSON Schema descriptions clients show to models.

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use crate::crawl::memory::MemoryStats;
use crate::crawl::multi::{MultiReport, UrlOutcome};
use crate::crawl::site::{CrawlReport, PageFailure};
use crate::crawl::url::Scope;
use crate::crawl::{Render, SinglePageReport};
use crate::domain::{Hit, JobProgress, JobRecord, JobState, SourceInfo};
use crate::retrieve::SearchMode;

/// A job counter as a result field.
fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

pub(crate) const DEFAULT_MATCH_COUNT: usize = 5;
pub(crate) const DEFAULT_MAX_CONTENT_LENGTH: usize = 1000;
/// Default response budget: clients reject tool results over about 25k tokens.
pub(crate) const DEFAULT_MAX_RESPONSE_TOKENS: usize = 20_000;
/// Conservative characters-per-token estimate (code and non-English text run below 4).
const CHARS_PER_TOKEN: usize = 3;

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct CrawlSinglePageParams {
    /// The http(s) URL of the page to crawl and index.
    pub url: String,
    /// Maximum chunk size in characters. Default: what fits the embedding model's window
    /// (about 1000 characters for the local model, 5000 for OpenAI-compatible models).
    #[serde(default)]
    pub chunk_size: Option<usize>,
    /// `auto` (default: HTTP, then headless Chromium if the page is a script-only shell), `http`,
    /// or `browser` (always render JavaScript).
    #[serde(default)]
    pub render: Option<Render>,
    /// Return a job_id at once and crawl in the background (poll get_crawl_job). Default false.
    #[serde(default)]
    pub background: Option<bool>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct LinksCount {
    pub internal: usize,
    pub external: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CrawlSinglePageOutput {
    pub success: bool,
    /// The crawl job (get_crawl_job reports on it).
    pub job_id: String,
    /// `completed`, or `running` when the crawl goes on in the background (the counts are then 0).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The URL stored (after redirects).
    pub url: String,
    pub source_id: String,
    pub title: Option<String>,
    /// True when the page's content was already stored unchanged (nothing re-embedded).
    pub unchanged: bool,
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
            job_id: String::new(),
            status: "completed".into(),
            message: None,
            url: r.url,
            source_id: r.source_id.to_string(),
            title: r.title,
            unchanged: r.unchanged,
            chunks_stored: r.chunks_stored,
            code_examples_stored: r.code_examples_stored,
            content_length: r.content_length,
            total_word_count: r.total_word_count,
            links_count: LinksCount { internal: r.links.internal.len(), external: r.links.external.len() },
        }
    }
}

impl CrawlSinglePageOutput {
    /// A page crawl that goes on as a background job.
    pub(crate) fn running(job_id: String, url: String, message: String) -> Self {
        Self {
            success: true,
            job_id,
            status: "running".into(),
            message: Some(message),
            url,
            source_id: String::new(),
            title: None,
            unchanged: false,
            chunks_stored: 0,
            code_examples_stored: 0,
            content_length: 0,
            total_word_count: 0,
            links_count: LinksCount { internal: 0, external: 0 },
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

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct SourceOutput {
    pub source_id: String,
    pub summary: Option<String>,
    pub total_words: i64,
    pub pages: i64,
    pub chunks: i64,
    pub code_examples: i64,
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
            code_examples: s.code_examples,
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

/// Options every site crawl tool shares.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub(crate) struct CrawlOptions {
    /// Most pages to crawl. Default 500.
    #[serde(default)]
    pub max_pages: Option<usize>,
    /// Only crawl URLs matching one of these patterns (`*` matches anything; a pattern without
    /// `*` matches as a substring). Default: every URL in scope.
    #[serde(default)]
    pub include_patterns: Option<Vec<String>>,
    /// Skip URLs matching any of these patterns (same syntax). Default: none.
    #[serde(default)]
    pub exclude_patterns: Option<Vec<String>>,
    /// How far links may lead: `prefix` (default: same host, under the start URL's folder),
    /// `host` (same host) or `domain` (the host's domain and subdomains).
    #[serde(default)]
    pub scope: Option<Scope>,
    /// Return a job_id at once and crawl in the background (poll get_crawl_job). Default false:
    /// wait for the crawl, but a crawl still running after about 45 s goes on as a job anyway.
    #[serde(default)]
    pub background: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct SmartCrawlUrlParams {
    /// What to crawl: a web page (its site is crawled breadth-first), a sitemap (sitemap.xml, any
    /// XML urlset, a sitemap index, or .xml.gz), or a text/Markdown file (llms.txt, *.txt, *.md).
    pub url: String,
    /// Link levels to follow; 1 = only the start page. Default 3.
    #[serde(default)]
    pub max_depth: Option<usize>,
    /// Pages fetched at the same time, 1-100. Default 10.
    #[serde(default)]
    pub max_concurrent: Option<usize>,
    /// Maximum chunk size in characters. Default: what fits the embedding model.
    #[serde(default)]
    pub chunk_size: Option<usize>,
    /// `auto` (default: HTTP, then headless Chromium for script-only pages), `http` or `browser`.
    #[serde(default)]
    pub render: Option<Render>,
    #[serde(flatten)]
    pub options: CrawlOptions,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct StealthCrawlParams {
    /// The page (or sitemap / text file) to crawl, as for smart_crawl_url.
    pub url: String,
    /// Link levels to follow; 1 = only the start page. Default 3.
    #[serde(default)]
    pub max_depth: Option<usize>,
    /// Pages fetched at the same time, 1-100 (browser tabs are capped by CRAWLRAG_BROWSER_TABS). Default 10.
    #[serde(default)]
    pub max_concurrent: Option<usize>,
    /// Maximum chunk size in characters. Default: what fits the embedding model.
    #[serde(default)]
    pub chunk_size: Option<usize>,
    /// CSS selector to wait for on each page before reading it (e.g. `#content`). Default: none.
    #[serde(default)]
    pub wait_for_selector: Option<String>,
    /// Seconds to wait after each page settled, 0-30. Default 2.
    #[serde(default)]
    pub extra_wait: Option<f64>,
    #[serde(flatten)]
    pub options: CrawlOptions,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct MemoryCrawlParams {
    /// What to crawl, as for smart_crawl_url.
    pub url: String,
    /// Link levels to follow; 1 = only the start page. Default 3.
    #[serde(default)]
    pub max_depth: Option<usize>,
    /// Most pages fetched at the same time, 1-100; lowered while memory is above the threshold. Default 10.
    #[serde(default)]
    pub max_concurrent: Option<usize>,
    /// Maximum chunk size in characters. Default: what fits the embedding model.
    #[serde(default)]
    pub chunk_size: Option<usize>,
    /// Resident memory (MB) above which concurrency is halved; it climbs back below 80%. Default 500.
    #[serde(default)]
    pub memory_threshold_mb: Option<f64>,
    /// `auto` (default), `http` or `browser`.
    #[serde(default)]
    pub render: Option<Render>,
    #[serde(flatten)]
    pub options: CrawlOptions,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct MultiUrlParams {
    /// A JSON array of URLs, or of objects `{"url": ..., "content_type": "documentation" |
    /// "article" | "general"}`. Without a content_type the URL decides (`/docs/` → documentation,
    /// `/blog/` → article, else general).
    pub urls_json: String,
    /// URLs crawled at the same time, 1-100. Default 5.
    #[serde(default)]
    pub max_concurrent: Option<usize>,
    /// Maximum chunk size in characters. Default: what fits the embedding model.
    #[serde(default)]
    pub chunk_size: Option<usize>,
    /// `auto` (default), `http` or `browser`.
    #[serde(default)]
    pub render: Option<Render>,
    /// Return a job_id at once and crawl in the background. Default false.
    #[serde(default)]
    pub background: Option<bool>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct MemoryCrawlOutput {
    #[serde(flatten)]
    pub crawl: SmartCrawlUrlOutput,
    /// Resident memory over the crawl (absent while the crawl goes on as a job).
    pub memory_stats: Option<MemoryStats>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct MultiUrlOutput {
    pub success: bool,
    pub job_id: String,
    /// `completed`, or `running` when the crawl goes on in the background.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// One entry per URL, in the order given.
    pub results: Vec<UrlOutcome>,
    pub urls_succeeded: usize,
    pub urls_failed: usize,
    pub chunks_stored: usize,
}

impl MultiUrlOutput {
    pub(crate) fn completed(job_id: String, r: MultiReport) -> Self {
        Self {
            success: true,
            job_id,
            status: "completed".into(),
            message: None,
            results: r.results,
            urls_succeeded: r.urls_succeeded,
            urls_failed: r.urls_failed,
            chunks_stored: r.chunks_stored,
        }
    }

    pub(crate) fn running(job_id: String, progress: JobProgress, message: String) -> Self {
        Self {
            success: true,
            job_id,
            status: "running".into(),
            message: Some(message),
            results: Vec::new(),
            urls_succeeded: count(progress.pages_done),
            urls_failed: count(progress.pages_failed),
            chunks_stored: count(progress.chunks_stored),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct PageFailureOutput {
    pub url: String,
    pub error: String,
}

impl From<PageFailure> for PageFailureOutput {
    fn from(f: PageFailure) -> Self {
        Self { url: f.url, error: f.error }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct SmartCrawlUrlOutput {
    pub success: bool,
    /// The crawl job (get_crawl_job reports on it; cancel_crawl_job stops it).
    pub job_id: String,
    /// `completed`, or `running` when the crawl goes on in the background (the counts are then
    /// the progress so far).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub url: String,
    /// `sitemap`, `txt_file` or `webpage`.
    pub crawl_type: String,
    pub pages_crawled: usize,
    /// Pages unchanged since the last crawl (not re-embedded).
    pub pages_unchanged: usize,
    pub chunks_stored: usize,
    pub code_examples_stored: usize,
    pub sources_updated: Vec<String>,
    /// The first 100 URLs stored (pages_crawled has the full count).
    pub urls_crawled: Vec<String>,
    /// Pages that could not be stored, with the reason (first 100; pages_failed counts all).
    pub failed: Vec<PageFailureOutput>,
    pub pages_failed: usize,
    /// Pages left out on purpose: robots.txt, patterns, traps, page budget (first 100).
    pub skipped: Vec<PageFailureOutput>,
    pub pages_skipped: usize,
}

impl SmartCrawlUrlOutput {
    pub(crate) fn completed(job_id: String, r: CrawlReport) -> Self {
        let crawl_type =
            serde_json::to_value(r.crawl_type).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        Self {
            success: true,
            job_id,
            status: "completed".into(),
            message: None,
            url: r.url,
            crawl_type,
            pages_crawled: r.pages_crawled,
            pages_unchanged: r.pages_unchanged,
            chunks_stored: r.chunks_stored,
            code_examples_stored: r.code_examples_stored,
            sources_updated: r.sources_updated.into_iter().collect(),
            urls_crawled: r.urls_crawled,
            failed: r.failed.into_iter().map(Into::into).collect(),
            pages_failed: r.pages_failed,
            skipped: r.skipped.into_iter().map(Into::into).collect(),
            pages_skipped: r.pages_skipped,
        }
    }

    /// A crawl that goes on as a background job, with its progress so far.
    pub(crate) fn running(job_id: String, url: String, progress: JobProgress, message: String) -> Self {
        Self {
            success: true,
            job_id,
            status: "running".into(),
            message: Some(message),
            url,
            crawl_type: String::new(),
            pages_crawled: count(progress.pages_done),
            pages_unchanged: 0,
            chunks_stored: count(progress.chunks_stored),
            code_examples_stored: 0,
            sources_updated: Vec::new(),
            urls_crawled: Vec::new(),
            failed: Vec::new(),
            pages_failed: count(progress.pages_failed),
            skipped: Vec::new(),
            pages_skipped: 0,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct JobIdParams {
    /// A job id returned by a crawl tool or list_crawl_jobs.
    pub job_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct ListCrawlJobsParams {
    /// Most jobs to list, newest first, 1-50. Default 20.
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct JobOutput {
    pub job_id: String,
    pub tool: String,
    pub target: String,
    /// `running`, `succeeded`, `failed`, `cancelled`, or `interrupted` (the server running it
    /// stopped before it finished).
    pub state: JobState,
    pub pages_done: u64,
    pub pages_queued: u64,
    pub pages_failed: u64,
    pub chunks_stored: u64,
    pub error: Option<String>,
    /// The crawl tool's full result once the job succeeded.
    pub result: Option<serde_json::Value>,
    pub cancel_requested: bool,
    /// RFC 3339 timestamps.
    pub created_at: String,
    pub updated_at: String,
}

impl From<JobRecord> for JobOutput {
    fn from(j: JobRecord) -> Self {
        Self {
            job_id: j.job_id,
            tool: j.tool,
            target: j.target,
            state: j.state,
            pages_done: j.progress.pages_done,
            pages_queued: j.progress.pages_queued,
            pages_failed: j.progress.pages_failed,
            chunks_stored: j.progress.chunks_stored,
            error: j.error,
            result: j.result,
            cancel_requested: j.cancel_requested,
            created_at: j.created_at.to_rfc3339(),
            updated_at: j.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CrawlJobOutput {
    pub success: bool,
    pub job: JobOutput,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ListCrawlJobsOutput {
    pub success: bool,
    pub count: usize,
    pub jobs: Vec<JobOutput>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct DeleteSourceParams {
    /// The source to delete, as listed by get_available_sources (e.g. `docs.example.com`).
    pub source_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct DeleteSourceOutput {
    pub success: bool,
    pub source_id: String,
    pub pages_deleted: u64,
    pub chunks_deleted: u64,
    pub code_examples_deleted: u64,
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
