//! Jobs as data: every long operation is a [`JobSpec`] value, serialized into the queue, so the
//! process that accepts a job need not be the one that runs it. Its outcome is a [`JobOutput`],
//! stored as the job's result in the shape the tool returns.

use serde::{Deserialize, Serialize};

use crate::codegraph::batch::{BatchReport, BatchRequest};
use crate::codegraph::{ParseReport, ParseRequest};
use crate::crawl::memory_aware::MemoryCrawlReport;
use crate::crawl::multi::{MultiReport, UrlSpec};
use crate::crawl::site::{CrawlReport, CrawlRequest};
use crate::crawl::{PagePlan, Render, SinglePageReport};

/// One long operation, with everything needed to run it anywhere.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobSpec {
    /// `smart_crawl_url`: a site, sitemap or text file.
    SmartCrawl { request: CrawlRequest },
    /// `crawl_with_stealth_mode`: a site crawl with every page rendered in a disguised browser.
    StealthCrawl { request: CrawlRequest },
    /// `crawl_single_page`.
    SinglePage { url: String, chunk_size: Option<usize>, plan: PagePlan },
    /// `crawl_with_multi_url_config`: many single pages, each with its content profile.
    MultiUrl { urls: Vec<UrlSpec>, max_concurrent: usize, chunk_size: Option<usize>, render: Render },
    /// `crawl_with_graph_extraction`: a crawl (one page by default, a site when asked) whose
    /// pages' entities and relations go into the graph.
    GraphCrawl { request: CrawlRequest },
    /// `crawl_with_memory_monitoring`: a site crawl whose concurrency follows memory use.
    MemoryCrawl { request: CrawlRequest, threshold_mb: f64 },
    /// `parse_github_repository`: one repository into the code graph.
    ParseRepository { request: ParseRequest },
    /// `parse_github_repositories_batch`: many repositories, retried on transient failures.
    ParseRepositories { request: BatchRequest },
}

/// The stored spec's field holding the job's webhook URL (beside the [`JobSpec`]'s own fields,
/// which decoding ignores, so specs stored before webhooks existed still read).
pub const WEBHOOK_FIELD: &str = "webhook_url";

/// A job as a front end asks for it: the spec and where to post its end.
#[derive(Debug, Clone)]
pub struct JobRequest {
    pub spec: JobSpec,
    /// Checked at submit (`http`/`https`, no literal private IP unless allowed).
    pub webhook_url: Option<String>,
    /// Who submits it, with their cap; `None` (stdio, the CLI, open HTTP): no owner, no cap.
    pub owner: Option<JobOwner>,
}

/// The caller a job belongs to, as the HTTP transport identified them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOwner {
    /// The authenticated caller's id (`key:<id>`), recorded with the job.
    pub id: String,
    /// Jobs this caller may have queued or running at once; `None`: no cap.
    pub max_active: Option<u32>,
}

impl JobRequest {
    pub fn new(spec: JobSpec, webhook_url: Option<String>) -> Self {
        Self { spec, webhook_url: webhook_url.filter(|url| !url.trim().is_empty()), owner: None }
    }

    /// The same request, owned by `owner`.
    #[must_use]
    pub fn owned_by(mut self, owner: Option<JobOwner>) -> Self {
        self.owner = owner;
        self
    }
}

impl From<JobSpec> for JobRequest {
    fn from(spec: JobSpec) -> Self {
        Self { spec, webhook_url: None, owner: None }
    }
}

impl From<&JobSpec> for JobRequest {
    fn from(spec: &JobSpec) -> Self {
        Self::from(spec.clone())
    }
}

/// What a finished job produced.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum JobOutput {
    Site(CrawlReport),
    SinglePage(SinglePageReport),
    Multi(MultiReport),
    Memory(MemoryCrawlReport),
    Repository(Box<ParseReport>),
    Repositories(BatchReport),
}

impl JobSpec {
    /// The tool the job belongs to (recorded with it, shown by `list_crawl_jobs`).
    pub fn tool(&self) -> &'static str {
        match self {
            Self::SmartCrawl { .. } => "smart_crawl_url",
            Self::StealthCrawl { .. } => "crawl_with_stealth_mode",
            Self::GraphCrawl { .. } => "crawl_with_graph_extraction",
            Self::SinglePage { .. } => "crawl_single_page",
            Self::MultiUrl { .. } => "crawl_with_multi_url_config",
            Self::MemoryCrawl { .. } => "crawl_with_memory_monitoring",
            Self::ParseRepository { .. } => "parse_github_repository",
            Self::ParseRepositories { .. } => "parse_github_repositories_batch",
        }
    }

    /// What the job works on, in a few words.
    pub fn target(&self) -> String {
        match self {
            Self::SmartCrawl { request }
            | Self::StealthCrawl { request }
            | Self::GraphCrawl { request }
            | Self::MemoryCrawl { request, .. } => request.url.clone(),
            Self::SinglePage { url, .. } => url.clone(),
            Self::MultiUrl { urls, .. } => format!("{} URLs", urls.len()),
            Self::ParseRepository { request } => request.url.clone(),
            Self::ParseRepositories { request } => format!("{} repositories", request.urls.len()),
        }
    }

    /// Read a stored result back as this kind of job's output.
    ///
    /// # Errors
    /// The decoding error when the stored value is not this job's output.
    pub fn decode_output(&self, value: serde_json::Value) -> Result<JobOutput, serde_json::Error> {
        Ok(match self {
            Self::SmartCrawl { .. } | Self::StealthCrawl { .. } | Self::GraphCrawl { .. } => {
                JobOutput::Site(serde_json::from_value(value)?)
            }
            Self::SinglePage { .. } => JobOutput::SinglePage(serde_json::from_value(value)?),
            Self::MultiUrl { .. } => JobOutput::Multi(serde_json::from_value(value)?),
            Self::MemoryCrawl { .. } => JobOutput::Memory(serde_json::from_value(value)?),
            Self::ParseRepository { .. } => JobOutput::Repository(serde_json::from_value(value)?),
            Self::ParseRepositories { .. } => JobOutput::Repositories(serde_json::from_value(value)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crawl::url::Scope;

    #[test]
    fn specs_round_trip_through_json() {
        let request = CrawlRequest { max_pages: 7, scope: Scope::Domain, ..CrawlRequest::new("https://x.y/docs/") };
        let specs = [
            JobSpec::SmartCrawl { request: request.clone() },
            JobSpec::MemoryCrawl { request, threshold_mb: 250.0 },
            JobSpec::SinglePage {
                url: "https://x.y/a".into(),
                chunk_size: Some(800),
                plan: PagePlan::new(Render::Http),
            },
            JobSpec::MultiUrl {
                urls: vec![UrlSpec::Plain("https://x.y/b".into())],
                max_concurrent: 3,
                chunk_size: None,
                render: Render::Auto,
            },
            JobSpec::ParseRepository {
                request: ParseRequest { url: "https://github.com/a/b".into(), reference: Some("v1".into()) },
            },
            JobSpec::ParseRepositories {
                request: BatchRequest { urls: vec!["/srv/a".into()], max_concurrent: 2, max_retries: 1 },
            },
        ];
        for spec in specs {
            let json = serde_json::to_value(&spec).unwrap();
            let back: JobSpec = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(serde_json::to_value(&back).unwrap(), json);
            assert_eq!(back.tool(), spec.tool());
            assert_eq!(back.target(), spec.target());
        }
        let mut with_hook = serde_json::to_value(JobSpec::SinglePage {
            url: "https://x.y/a".into(),
            chunk_size: None,
            plan: PagePlan::new(Render::Http),
        })
        .unwrap();
        with_hook[WEBHOOK_FIELD] = "https://hooks.x.y/".into();
        let back: JobSpec = serde_json::from_value(with_hook).unwrap();
        assert_eq!(back.tool(), "crawl_single_page", "the webhook beside a spec's fields does not disturb it");
        let stored = serde_json::json!({"kind": "smart_crawl", "request": {"url": "https://x.y/"}});
        assert!(serde_json::from_value::<JobSpec>(stored).is_err(), "a spec missing fields is refused, not guessed");
    }
}
