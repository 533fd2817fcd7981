//! The crawl tools' parameters and result fields (the anchor's names, plus crawlrag's), and
//! their conversion to job specs. The result fields travel inside [`JobAnswerOutput`].

use std::time::Duration;

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use super::jobs::{JobResult, count};
use crate::crawl::memory_aware::{DEFAULT_MEMORY_THRESHOLD_MB, MemoryStats};
use crate::crawl::multi::{UrlOutcome, parse_urls};
use crate::crawl::site::{
    CrawlRequest, CrawlType, DEFAULT_MAX_CONCURRENT, DEFAULT_MAX_DEPTH, DEFAULT_MAX_PAGES, PageFailure,
};
use crate::crawl::url::Scope;
use crate::crawl::{LinkCounts, PagePlan, Render};
use crate::domain::JobProgress;
use crate::error::{Error, Result};
use crate::jobs::{JobOutput, JobSpec, Wait};
use crate::ports::RenderOptions;

const DEFAULT_EXTRA_WAIT_SECS: f64 = 2.0;
const MAX_EXTRA_WAIT_SECS: f64 = 30.0;
const DEFAULT_MULTI_URL_CONCURRENCY: usize = 5;

fn wait(background: Option<bool>) -> Wait {
    if background.unwrap_or(false) { Wait::Background } else { Wait::Foreground }
}

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
    /// Post the job's end (`job.completed`, `job.failed`, ...) to this http(s) URL, signed when the
    /// server has CRAWLRAG_WEBHOOK_SECRET; retried about 6 times over a minute. Private addresses
    /// are refused.
    #[serde(default)]
    pub webhook_url: Option<String>,
}

impl CrawlSinglePageParams {
    pub(crate) fn into_job(self) -> (JobSpec, Wait) {
        let plan = PagePlan::new(self.render.unwrap_or_default());
        (JobSpec::SinglePage { url: self.url, chunk_size: self.chunk_size, plan }, wait(self.background))
    }
}

/// `crawl_single_page`'s result fields.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct SinglePageResult {
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
    pub links_count: LinkCounts,
}

impl JobResult for SinglePageResult {
    fn from_output(output: JobOutput) -> Option<Self> {
        let JobOutput::SinglePage(r) = output else { return None };
        Some(Self {
            url: r.url,
            source_id: r.source_id.to_string(),
            title: r.title,
            unchanged: r.unchanged,
            chunks_stored: r.chunks_stored,
            code_examples_stored: r.code_examples_stored,
            content_length: r.content_length,
            total_word_count: r.total_word_count,
            links_count: r.links_count,
        })
    }

    fn running(target: &str, _progress: &JobProgress) -> Self {
        Self {
            url: target.to_owned(),
            source_id: String::new(),
            title: None,
            unchanged: false,
            chunks_stored: 0,
            code_examples_stored: 0,
            content_length: 0,
            total_word_count: 0,
            links_count: LinkCounts::default(),
        }
    }
}

/// The parameters every site crawl tool shares.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct SiteCrawlParams {
    /// What to crawl: a web page (its site is crawled breadth-first), a sitemap (sitemap.xml, any
    /// XML urlset, a sitemap index, or .xml.gz), or a text/Markdown file (llms.txt, *.txt, *.md).
    pub url: String,
    /// Link levels to follow; 1 = only the start page. Default 3.
    #[serde(default)]
    pub max_depth: Option<usize>,
    /// Pages fetched at the same time, 1-100 (browser tabs are capped by CRAWLRAG_BROWSER_TABS).
    /// Default 10.
    #[serde(default)]
    pub max_concurrent: Option<usize>,
    /// Maximum chunk size in characters. Default: what fits the embedding model.
    #[serde(default)]
    pub chunk_size: Option<usize>,
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
    /// Post the job's end (`job.completed`, `job.failed`, ...) to this http(s) URL, signed when the
    /// server has CRAWLRAG_WEBHOOK_SECRET; retried about 6 times over a minute. Private addresses
    /// are refused.
    #[serde(default)]
    pub webhook_url: Option<String>,
}

impl SiteCrawlParams {
    pub(super) fn into_request(self, render: Render) -> (CrawlRequest, Wait) {
        let request = CrawlRequest {
            max_depth: self.max_depth.unwrap_or(DEFAULT_MAX_DEPTH),
            max_concurrent: self.max_concurrent.unwrap_or(DEFAULT_MAX_CONCURRENT),
            max_pages: self.max_pages.unwrap_or(DEFAULT_MAX_PAGES),
            chunk_size: self.chunk_size,
            scope: self.scope.unwrap_or_default(),
            include: self.include_patterns.unwrap_or_default(),
            exclude: self.exclude_patterns.unwrap_or_default(),
            render,
            ..CrawlRequest::new(self.url)
        };
        (request, wait(self.background))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct SmartCrawlUrlParams {
    #[serde(flatten)]
    pub site: SiteCrawlParams,
    /// `auto` (default: HTTP, then headless Chromium for script-only pages), `http` or `browser`.
    #[serde(default)]
    pub render: Option<Render>,
}

impl SmartCrawlUrlParams {
    pub(crate) fn into_job(self) -> (JobSpec, Wait) {
        let (request, wait) = self.site.into_request(self.render.unwrap_or_default());
        (JobSpec::SmartCrawl { request }, wait)
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct StealthCrawlParams {
    #[serde(flatten)]
    pub site: SiteCrawlParams,
    /// CSS selector to wait for on each page before reading it (e.g. `#content`). Default: none.
    #[serde(default)]
    pub wait_for_selector: Option<String>,
    /// Seconds to wait after each page settled, 0-30. Default 2.
    #[serde(default)]
    pub extra_wait: Option<f64>,
}

impl StealthCrawlParams {
    /// # Errors
    /// `BadInput` for an `extra_wait` out of range.
    pub(crate) fn into_job(self) -> Result<(JobSpec, Wait)> {
        let extra_wait = self.extra_wait.unwrap_or(DEFAULT_EXTRA_WAIT_SECS);
        if !(0.0..=MAX_EXTRA_WAIT_SECS).contains(&extra_wait) {
            return Err(Error::bad_input(format!(
                "extra_wait must be between 0 and {MAX_EXTRA_WAIT_SECS} seconds, got {extra_wait}"
            )));
        }
        let (request, wait) = self.site.into_request(Render::Browser);
        let browser = RenderOptions {
            stealth: true,
            wait_for_selector: self.wait_for_selector.filter(|s| !s.trim().is_empty()),
            extra_wait: Duration::from_secs_f64(extra_wait),
        };
        Ok((JobSpec::StealthCrawl { request: CrawlRequest { browser, ..request } }, wait))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct MemoryCrawlParams {
    #[serde(flatten)]
    pub site: SiteCrawlParams,
    /// Resident memory (MB) above which concurrency is halved; it climbs back below 80%. Default 500.
    #[serde(default)]
    pub memory_threshold_mb: Option<f64>,
    /// `auto` (default), `http` or `browser`.
    #[serde(default)]
    pub render: Option<Render>,
}

impl MemoryCrawlParams {
    pub(crate) fn into_job(self) -> (JobSpec, Wait) {
        let (request, wait) = self.site.into_request(self.render.unwrap_or_default());
        let threshold_mb = self.memory_threshold_mb.unwrap_or(DEFAULT_MEMORY_THRESHOLD_MB);
        (JobSpec::MemoryCrawl { request, threshold_mb }, wait)
    }
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
    /// Post the job's end (`job.completed`, `job.failed`, ...) to this http(s) URL, signed when the
    /// server has CRAWLRAG_WEBHOOK_SECRET; retried about 6 times over a minute. Private addresses
    /// are refused.
    #[serde(default)]
    pub webhook_url: Option<String>,
}

impl MultiUrlParams {
    /// # Errors
    /// `BadInput` naming what is wrong with `urls_json`.
    pub(crate) fn into_job(self) -> Result<(JobSpec, Wait)> {
        let spec = JobSpec::MultiUrl {
            urls: parse_urls(&self.urls_json)?,
            max_concurrent: self.max_concurrent.unwrap_or(DEFAULT_MULTI_URL_CONCURRENCY),
            chunk_size: self.chunk_size,
            render: self.render.unwrap_or_default(),
        };
        Ok((spec, wait(self.background)))
    }
}

/// `crawl_with_multi_url_config`'s result fields.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct MultiUrlResult {
    /// One entry per URL, in the order given (empty while the job runs).
    pub results: Vec<UrlOutcome>,
    pub urls_succeeded: usize,
    pub urls_failed: usize,
    pub chunks_stored: usize,
}

impl JobResult for MultiUrlResult {
    fn from_output(output: JobOutput) -> Option<Self> {
        let JobOutput::Multi(r) = output else { return None };
        Some(Self {
            results: r.results,
            urls_succeeded: r.urls_succeeded,
            urls_failed: r.urls_failed,
            chunks_stored: r.chunks_stored,
        })
    }

    fn running(_target: &str, progress: &JobProgress) -> Self {
        Self {
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

/// The result fields of every site crawl tool.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct SiteCrawlResult {
    pub url: String,
    /// `sitemap`, `txt_file` or `webpage` (null while the job runs).
    pub crawl_type: Option<CrawlType>,
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

impl SiteCrawlResult {
    pub(super) fn from_report(r: crate::crawl::site::CrawlReport) -> Self {
        Self {
            url: r.url,
            crawl_type: Some(r.crawl_type),
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
}

impl JobResult for SiteCrawlResult {
    fn from_output(output: JobOutput) -> Option<Self> {
        let JobOutput::Site(r) = output else { return None };
        Some(Self::from_report(r))
    }

    fn running(target: &str, progress: &JobProgress) -> Self {
        Self {
            url: target.to_owned(),
            crawl_type: None,
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

/// `crawl_with_memory_monitoring`'s result fields: a site crawl's, plus memory statistics.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct MemoryCrawlResult {
    #[serde(flatten)]
    pub crawl: SiteCrawlResult,
    /// Resident memory over the crawl (absent while the crawl goes on as a job).
    pub memory_stats: Option<MemoryStats>,
}

impl JobResult for MemoryCrawlResult {
    fn from_output(output: JobOutput) -> Option<Self> {
        let JobOutput::Memory(r) = output else { return None };
        Some(Self { crawl: SiteCrawlResult::from_report(r.crawl), memory_stats: Some(r.memory_stats) })
    }

    fn running(target: &str, progress: &JobProgress) -> Self {
        Self { crawl: SiteCrawlResult::running(target, progress), memory_stats: None }
    }
}
