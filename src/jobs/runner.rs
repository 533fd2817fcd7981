//! Running a job: one `match` from the spec to the service call that does the work. Whoever
//! claims a job (the process that accepted it, or a worker) runs it through a [`JobRunner`].

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;

use super::spec::{JobOutput, JobSpec};
use crate::codegraph::CodeGraph;
use crate::crawl::Crawler;
use crate::domain::target;
use crate::error::{Error, Result};
use crate::progress::ProgressSink;

/// Runs job specs.
#[async_trait]
pub trait JobRunner: Send + Sync + Debug {
    /// Refuse at once a spec this runner could never run (an invalid URL, a browser crawl with
    /// no browser installed), before it is recorded.
    ///
    /// # Errors
    /// `BadInput` saying what to fix.
    fn check(&self, spec: &JobSpec) -> Result<()>;

    /// Do the work `spec` describes, reporting progress (and running totals) to `progress`.
    ///
    /// # Errors
    /// What the service doing the work answers; cancellation is the caller's (drop the future).
    async fn run(&self, spec: &JobSpec, progress: &dyn ProgressSink) -> Result<JobOutput>;
}

/// The runner over the crawl and code graph services.
#[derive(Debug)]
pub struct ServiceRunner {
    crawler: Arc<Crawler>,
    code: Option<Arc<CodeGraph>>,
    /// Jobs run on workers that have a browser (an API replica has none of its own).
    browser_on_workers: bool,
}

impl ServiceRunner {
    pub fn new(crawler: Arc<Crawler>) -> Self {
        Self { crawler, code: None, browser_on_workers: false }
    }

    /// Do not refuse browser crawls for lack of a local browser: the workers render.
    #[must_use]
    pub fn with_browser_on_workers(mut self, yes: bool) -> Self {
        self.browser_on_workers = yes;
        self
    }

    /// Also run repository parses.
    #[must_use]
    pub fn with_code_graph(mut self, code: Option<Arc<CodeGraph>>) -> Self {
        self.code = code;
        self
    }

    fn code(&self) -> Result<&CodeGraph> {
        self.code.as_deref().ok_or_else(|| Error::unavailable("this server has no code graph store"))
    }
}

#[async_trait]
impl JobRunner for ServiceRunner {
    fn check(&self, spec: &JobSpec) -> Result<()> {
        match spec {
            JobSpec::SinglePage { url, .. } => target::parse_target(url).map(drop).map_err(Error::BadInput),
            JobSpec::StealthCrawl { .. } if !self.crawler.can_render() && !self.browser_on_workers => {
                Err(Error::bad_input(
                    "crawl_with_stealth_mode needs Chromium: install it (apt-get install chromium) or set \
                 CRAWLRAG_CHROMIUM_PATH",
                ))
            }
            JobSpec::SmartCrawl { .. }
            | JobSpec::StealthCrawl { .. }
            | JobSpec::GraphCrawl { .. }
            | JobSpec::MultiUrl { .. }
            | JobSpec::MemoryCrawl { .. } => Ok(()),
            JobSpec::ParseRepository { .. } => self.code().map(drop),
            JobSpec::ParseRepositories { request } => self.code().and_then(|_| request.check()),
        }
    }

    async fn run(&self, spec: &JobSpec, progress: &dyn ProgressSink) -> Result<JobOutput> {
        let crawler = &self.crawler;
        Ok(match spec {
            JobSpec::SmartCrawl { request } | JobSpec::StealthCrawl { request } | JobSpec::GraphCrawl { request } => {
                JobOutput::Site(crawler.smart_crawl(request, progress).await?)
            }
            JobSpec::SinglePage { url, chunk_size, plan } => {
                JobOutput::SinglePage(crawler.crawl_single_page(url, *chunk_size, plan, progress).await?)
            }
            JobSpec::MultiUrl { urls, max_concurrent, chunk_size, render } => {
                JobOutput::Multi(crawler.crawl_many(urls, *max_concurrent, *chunk_size, *render, progress).await?)
            }
            JobSpec::MemoryCrawl { request, threshold_mb } => {
                JobOutput::Memory(crawler.crawl_with_memory_monitoring(request, *threshold_mb, progress).await?)
            }
            JobSpec::ParseRepository { request } => {
                JobOutput::Repository(Box::new(self.code()?.parse_repository(request, progress).await?))
            }
            JobSpec::ParseRepositories { request } => {
                JobOutput::Repositories(self.code()?.parse_batch(request, progress).await?)
            }
        })
    }
}
