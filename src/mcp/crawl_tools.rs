//! The crawl tools beyond smart_crawl_url (stealth, multi-URL, memory-aware) and what every crawl
//! tool shares: running as a job that answers in the foreground or goes on in the background.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use serde::Serialize;

use super::dto::{
    CrawlOptions, MemoryCrawlOutput, MemoryCrawlParams, MultiUrlOutput, MultiUrlParams, SmartCrawlUrlOutput,
    StealthCrawlParams,
};
use super::errors::ToolError;
use super::progress::McpProgress;
use super::server::{RagServer, run_tool};
use crate::crawl::Render;
use crate::crawl::memory::DEFAULT_MEMORY_THRESHOLD_MB;
use crate::crawl::multi::parse_urls;
use crate::crawl::site::{CrawlRequest, DEFAULT_MAX_CONCURRENT, DEFAULT_MAX_DEPTH, DEFAULT_MAX_PAGES};
use crate::domain::JobProgress;
use crate::error::{Error, Result};
use crate::jobs::{JobSink, Waited};
use crate::ports::RenderOptions;

const DEFAULT_EXTRA_WAIT_SECS: f64 = 2.0;
const MAX_EXTRA_WAIT_SECS: f64 = 30.0;
const DEFAULT_MULTI_URL_CONCURRENCY: usize = 5;

/// How a crawl job answered the tool call.
pub(super) enum JobAnswer<T> {
    /// Finished within the foreground wait: (job id, result).
    Done(String, T),
    /// Goes on in the background: (job id, progress so far, what to tell the client).
    Running(String, JobProgress, String),
}

/// A site crawl request from the shared tool parameters.
pub(super) fn crawl_request(
    url: String,
    max_depth: Option<usize>,
    max_concurrent: Option<usize>,
    chunk_size: Option<usize>,
    options: &CrawlOptions,
) -> CrawlRequest {
    CrawlRequest {
        max_depth: max_depth.unwrap_or(DEFAULT_MAX_DEPTH),
        max_concurrent: max_concurrent.unwrap_or(DEFAULT_MAX_CONCURRENT),
        max_pages: options.max_pages.unwrap_or(DEFAULT_MAX_PAGES),
        chunk_size,
        scope: options.scope.unwrap_or_default(),
        include: options.include_patterns.clone().unwrap_or_default(),
        exclude: options.exclude_patterns.clone().unwrap_or_default(),
        ..CrawlRequest::new(url)
    }
}

impl RagServer {
    /// Run `work` as a job: answer at once when `background`, else wait up to the foreground
    /// limit and then answer with the job id while the work goes on.
    pub(super) async fn run_job<T, F, Fut>(
        &self,
        tool: &'static str,
        target: &str,
        background: Option<bool>,
        ctx: &RequestContext<RoleServer>,
        work: F,
    ) -> Result<JobAnswer<T>>
    where
        T: Serialize + Send + 'static,
        F: FnOnce(Arc<JobSink>) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let handle = self.app.jobs.start(tool, target, work).await?;
        let job_id = handle.job_id.clone();
        if background.unwrap_or(false) {
            let message = "crawling in the background; poll get_crawl_job with this job_id".to_owned();
            return Ok(JobAnswer::Running(job_id, JobProgress::default(), message));
        }
        let wait = self.app.jobs.config().foreground_wait;
        Ok(match handle.wait(wait, Arc::new(McpProgress::from_context(ctx))).await {
            Waited::Finished(outcome) => JobAnswer::Done(job_id, outcome?),
            Waited::StillRunning(progress) => JobAnswer::Running(
                job_id,
                progress,
                format!(
                    "still crawling after {}s; the crawl goes on as a background job: poll get_crawl_job with \
                     this job_id (cancel_crawl_job stops it)",
                    wait.as_secs()
                ),
            ),
        })
    }

    /// A site crawl (smart_crawl_url, stealth) as a job.
    pub(super) async fn site_crawl(
        &self,
        tool: &'static str,
        request: CrawlRequest,
        background: Option<bool>,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<SmartCrawlUrlOutput> {
        let url = request.url.clone();
        let app = Arc::clone(&self.app);
        let answer = self
            .run_job(tool, &url, background, ctx, move |sink| async move {
                app.crawler.smart_crawl(&request, sink.as_ref()).await
            })
            .await?;
        Ok(match answer {
            JobAnswer::Done(id, report) => SmartCrawlUrlOutput::completed(id, report),
            JobAnswer::Running(id, progress, message) => SmartCrawlUrlOutput::running(id, url, progress, message),
        })
    }
}

#[tool_router(router = crawl_router, vis = "pub(super)")]
impl RagServer {
    #[tool(description = "Crawl like smart_crawl_url, but every page is rendered in headless Chromium with common \
        automation fingerprints hidden (navigator.webdriver, headless user agent, languages, plugins, WebGL \
        vendor), for sites that serve bots an empty or blocked page. Optionally waits for a CSS selector and an \
        extra delay on each page. Same result fields as smart_crawl_url.")]
    async fn crawl_with_stealth_mode(
        &self,
        Parameters(p): Parameters<StealthCrawlParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<SmartCrawlUrlOutput>, ToolError> {
        let output = run_tool("crawl_with_stealth_mode", &ctx, async {
            let extra_wait = p.extra_wait.unwrap_or(DEFAULT_EXTRA_WAIT_SECS);
            if !(0.0..=MAX_EXTRA_WAIT_SECS).contains(&extra_wait) {
                return Err(Error::bad_input(format!(
                    "extra_wait must be between 0 and {MAX_EXTRA_WAIT_SECS} seconds, got {extra_wait}"
                )));
            }
            if !self.app.crawler.can_render() {
                return Err(Error::bad_input(
                    "crawl_with_stealth_mode needs Chromium: install it (apt-get install chromium) or set \
                     CRAWLRAG_CHROMIUM_PATH",
                ));
            }
            let request = crawl_request(p.url, p.max_depth, p.max_concurrent, p.chunk_size, &p.options);
            let browser = RenderOptions {
                stealth: true,
                wait_for_selector: p.wait_for_selector.filter(|s| !s.trim().is_empty()),
                extra_wait: Duration::from_secs_f64(extra_wait),
            };
            let request = CrawlRequest { render: Render::Browser, browser, ..request };
            self.site_crawl("crawl_with_stealth_mode", request, p.options.background, &ctx).await
        })
        .await?;
        Ok(Json(output))
    }

    #[tool(description = "Crawl a list of pages at once (urls_json: a JSON array of URLs, or of {url, content_type} \
        objects), each extracted with a profile for its kind of content: documentation (docs containers, every \
        line kept), article (article body, short blocks such as share buttons dropped) or general. The profile \
        follows the URL (/docs/, /blog/ ...) unless given. Returns one result per URL with its profile, chunks \
        stored or error.")]
    async fn crawl_with_multi_url_config(
        &self,
        Parameters(p): Parameters<MultiUrlParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<MultiUrlOutput>, ToolError> {
        let output = run_tool("crawl_with_multi_url_config", &ctx, async {
            let specs = parse_urls(&p.urls_json)?;
            let target = format!("{} URLs", specs.len());
            let app = Arc::clone(&self.app);
            let concurrency = p.max_concurrent.unwrap_or(DEFAULT_MULTI_URL_CONCURRENCY);
            let (chunk_size, render) = (p.chunk_size, p.render.unwrap_or_default());
            let answer = self
                .run_job("crawl_with_multi_url_config", &target, p.background, &ctx, move |sink| async move {
                    app.crawler.crawl_many(&specs, concurrency, chunk_size, render, sink.as_ref()).await
                })
                .await?;
            Ok(match answer {
                JobAnswer::Done(id, report) => MultiUrlOutput::completed(id, report),
                JobAnswer::Running(id, progress, message) => MultiUrlOutput::running(id, progress, message),
            })
        })
        .await?;
        Ok(Json(output))
    }

    #[tool(description = "Crawl like smart_crawl_url while sampling the server's resident memory: above \
        memory_threshold_mb the number of pages fetched at once is halved (down to 1), below 80% of it it climbs \
        back. Returns smart_crawl_url's fields plus memory_stats {start_mb, end_mb, peak_mb, delta_mb, avg_mb, \
        threshold_mb, elapsed_seconds, min_concurrency, concurrency_changes}.")]
    async fn crawl_with_memory_monitoring(
        &self,
        Parameters(p): Parameters<MemoryCrawlParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<MemoryCrawlOutput>, ToolError> {
        let output = run_tool("crawl_with_memory_monitoring", &ctx, async {
            let request = crawl_request(p.url, p.max_depth, p.max_concurrent, p.chunk_size, &p.options);
            let request = CrawlRequest { render: p.render.unwrap_or_default(), ..request };
            let threshold = p.memory_threshold_mb.unwrap_or(DEFAULT_MEMORY_THRESHOLD_MB);
            let url = request.url.clone();
            let app = Arc::clone(&self.app);
            let answer = self
                .run_job("crawl_with_memory_monitoring", &url, p.options.background, &ctx, move |sink| async move {
                    app.crawler.crawl_with_memory_monitoring(&request, threshold, sink.as_ref()).await
                })
                .await?;
            Ok(match answer {
                JobAnswer::Done(id, (report, stats)) => {
                    MemoryCrawlOutput { crawl: SmartCrawlUrlOutput::completed(id, report), memory_stats: Some(stats) }
                }
                JobAnswer::Running(id, progress, message) => MemoryCrawlOutput {
                    crawl: SmartCrawlUrlOutput::running(id, url, progress, message),
                    memory_stats: None,
                },
            })
        })
        .await?;
        Ok(Json(output))
    }
}
