//! The crawl tools: each turns its parameters into a job spec and answers through the jobs
//! service (foreground up to the wait limit, else the job id).

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};

use crate::mcp::dto::crawl::{
    CrawlSinglePageParams, MemoryCrawlParams, MemoryCrawlResult, MultiUrlParams, MultiUrlResult, SinglePageResult,
    SiteCrawlResult, SmartCrawlUrlParams, StealthCrawlParams,
};
use crate::mcp::dto::jobs::JobAnswerOutput;
use crate::mcp::errors::ToolError;
use crate::mcp::server::RagServer;

// Return types are spelled out (no alias): the tool macro reads the output schema from them.
#[tool_router(router = crawl_router, vis = "pub(crate)")]
impl RagServer {
    #[tool(description = "Crawl one web page, convert it to Markdown, split it into chunks, embed them and store \
        them for retrieval. Re-crawling a URL replaces its chunks. Returns chunks_stored, content_length, \
        total_word_count and links_count; fails with a clear error for invalid, unreachable, private, binary, \
        oversized or redirect-looping URLs.")]
    async fn crawl_single_page(
        &self,
        Parameters(p): Parameters<CrawlSinglePageParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<JobAnswerOutput<SinglePageResult>>, ToolError> {
        let webhook_url = p.webhook_url.clone();
        self.job("crawl_single_page", Ok(p.into_job()), webhook_url, &ctx).await.map(Json)
    }

    #[tool(description = "Crawl a whole target and store every page: a sitemap (all listed pages, sitemap indexes \
        followed), a text/Markdown file such as llms.txt (stored as-is), or a web page whose site is crawled \
        breadth-first up to max_depth link levels within scope, honouring robots.txt, per-host politeness and \
        max_pages. Returns crawl_type, pages_crawled, chunks_stored, urls_crawled, and every failed or skipped \
        page with its reason. Sends progress notifications; cancelling stops the crawl.")]
    async fn smart_crawl_url(
        &self,
        Parameters(p): Parameters<SmartCrawlUrlParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<JobAnswerOutput<SiteCrawlResult>>, ToolError> {
        let webhook_url = p.site.webhook_url.clone();
        self.job("smart_crawl_url", Ok(p.into_job()), webhook_url, &ctx).await.map(Json)
    }

    #[tool(description = "Crawl like smart_crawl_url, but every page is rendered in headless Chromium with common \
        automation fingerprints hidden (navigator.webdriver, headless user agent, languages, plugins, WebGL \
        vendor), for sites that serve bots an empty or blocked page. Optionally waits for a CSS selector and an \
        extra delay on each page. Same result fields as smart_crawl_url.")]
    async fn crawl_with_stealth_mode(
        &self,
        Parameters(p): Parameters<StealthCrawlParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<JobAnswerOutput<SiteCrawlResult>>, ToolError> {
        let webhook_url = p.site.webhook_url.clone();
        self.job("crawl_with_stealth_mode", p.into_job(), webhook_url, &ctx).await.map(Json)
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
    ) -> std::result::Result<Json<JobAnswerOutput<MultiUrlResult>>, ToolError> {
        let webhook_url = p.webhook_url.clone();
        self.job("crawl_with_multi_url_config", p.into_job(), webhook_url, &ctx).await.map(Json)
    }

    #[tool(description = "Crawl like smart_crawl_url while sampling the server's resident memory: above \
        memory_threshold_mb the number of pages fetched at once is halved (down to 1), below 80% of it it climbs \
        back. Returns smart_crawl_url's fields plus memory_stats {start_mb, end_mb, peak_mb, delta_mb, avg_mb, \
        threshold_mb, elapsed_seconds, min_concurrency, concurrency_changes}.")]
    async fn crawl_with_memory_monitoring(
        &self,
        Parameters(p): Parameters<MemoryCrawlParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<JobAnswerOutput<MemoryCrawlResult>>, ToolError> {
        let webhook_url = p.site.webhook_url.clone();
        self.job("crawl_with_memory_monitoring", Ok(p.into_job()), webhook_url, &ctx).await.map(Json)
    }
}
