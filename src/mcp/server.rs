//! `RagServer`: the MCP tool surface. Each tool converts its DTO, calls one service, and shapes
//! the result; rules live in the services. The same server value is served over stdio,
//! streamable HTTP and legacy SSE.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use rmcp::handler::server::tool::ToolRouter;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, tool, tool_handler, tool_router};
use tracing::{Instrument, info_span};

use super::crawl_tools::{JobAnswer, crawl_request};
use super::dto::{
    CodeResult, CrawlJobOutput, CrawlSinglePageOutput, CrawlSinglePageParams, DEFAULT_MATCH_COUNT,
    DEFAULT_MAX_CONTENT_LENGTH, DEFAULT_MAX_RESPONSE_TOKENS, DeleteSourceOutput, DeleteSourceParams,
    GetAvailableSourcesOutput, JobIdParams, ListCrawlJobsOutput, ListCrawlJobsParams, PerformRagQueryOutput,
    PerformRagQueryParams, RagResult, SearchCodeExamplesOutput, SearchCodeExamplesParams, SmartCrawlUrlOutput,
    SmartCrawlUrlParams, fit_to_budget,
};
use super::errors::ToolError;
use crate::app::App;
use crate::crawl::PagePlan;
use crate::crawl::site::CrawlRequest;
use crate::domain::{SourceId, target};
use crate::error::{Error, Result};
use crate::retrieve::{RagQuery, SearchMode};

#[derive(Clone, Debug)]
pub struct RagServer {
    pub(super) app: Arc<App>,
    /// Every tool group, merged; `#[tool_handler]` dispatches through it.
    tool_router: ToolRouter<Self>,
}

impl RagServer {
    pub fn new(app: Arc<App>) -> Self {
        Self {
            app,
            tool_router: Self::tool_router() + Self::crawl_router() + Self::job_router() + Self::admin_router(),
        }
    }
}

/// Run a tool body with a tracing span, metrics, and cancellation by the client.
pub(super) async fn run_tool<T>(
    tool: &'static str,
    ctx: &RequestContext<RoleServer>,
    body: impl Future<Output = Result<T>>,
) -> std::result::Result<T, ToolError> {
    let started = Instant::now();
    let outcome = tokio::select! {
        result = body.instrument(info_span!("tool", tool)) => result,
        () = ctx.ct.cancelled() => Err(Error::Cancelled),
    };
    let outcome = outcome.map_err(ToolError::from);
    let status = match &outcome {
        Ok(_) => "ok",
        Err(e) => e.kind(),
    };
    metrics::counter!("crawlrag_tool_calls_total", "tool" => tool, "outcome" => status).increment(1);
    metrics::histogram!("crawlrag_tool_call_seconds", "tool" => tool).record(started.elapsed().as_secs_f64());
    outcome
}

#[tool_router]
impl RagServer {
    #[tool(description = "Crawl one web page, convert it to Markdown, split it into chunks, embed them and store \
        them for retrieval. Re-crawling a URL replaces its chunks. Returns chunks_stored, content_length, \
        total_word_count and links_count; fails with a clear error for invalid, unreachable, private, binary, \
        oversized or redirect-looping URLs.")]
    async fn crawl_single_page(
        &self,
        Parameters(p): Parameters<CrawlSinglePageParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<CrawlSinglePageOutput>, ToolError> {
        let output = run_tool("crawl_single_page", &ctx, async {
            // A bad URL is refused now, not reported later by a background job.
            target::parse_target(&p.url).map_err(Error::BadInput)?;
            let app = Arc::clone(&self.app);
            let (url, chunk_size, plan) = (p.url.clone(), p.chunk_size, PagePlan::new(p.render.unwrap_or_default()));
            let answer = self
                .run_job("crawl_single_page", &p.url, p.background, &ctx, move |sink| async move {
                    let report = app.crawler.crawl_single_page(&url, chunk_size, &plan, sink.as_ref()).await?;
                    Ok(CrawlSinglePageOutput::from(report))
                })
                .await?;
            Ok(match answer {
                JobAnswer::Done(job_id, output) => CrawlSinglePageOutput { job_id, ..output },
                JobAnswer::Running(job_id, _, message) => {
                    CrawlSinglePageOutput::running(job_id, p.url.clone(), message)
                }
            })
        })
        .await?;
        Ok(Json(output))
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
    ) -> std::result::Result<Json<SmartCrawlUrlOutput>, ToolError> {
        let request = crawl_request(p.url, p.max_depth, p.max_concurrent, p.chunk_size, &p.options);
        let request = CrawlRequest { render: p.render.unwrap_or_default(), ..request };
        let output =
            run_tool("smart_crawl_url", &ctx, self.site_crawl("smart_crawl_url", request, p.options.background, &ctx))
                .await?;
        Ok(Json(output))
    }

    #[tool(description = "Search the crawled content for the chunks most relevant to a query (semantic vector \
        or hybrid semantic + keyword search), optionally within one source (see get_available_sources). Returns results with url, content \
        (cut to max_content_length unless include_full_content), metadata (headers, chunk_index) and similarity.")]
    async fn perform_rag_query(
        &self,
        Parameters(p): Parameters<PerformRagQueryParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<PerformRagQueryOutput>, ToolError> {
        let source_filter = p.source_filter.filter(|s| !s.trim().is_empty());
        let query = RagQuery {
            query: p.query.clone(),
            source: source_filter.clone().map(SourceId::from),
            match_count: p.match_count.unwrap_or(DEFAULT_MATCH_COUNT),
            offset: p.offset.unwrap_or(0),
            mode: p.mode,
            rerank: p.rerank,
        };
        let (mode, hits) = run_tool("perform_rag_query", &ctx, self.app.retriever.search_with_mode(&query)).await?;
        let max_chars = (!p.include_full_content.unwrap_or(false))
            .then(|| p.max_content_length.unwrap_or(DEFAULT_MAX_CONTENT_LENGTH));
        let mut results: Vec<RagResult> = hits.into_iter().map(|h| RagResult::from_hit(h, max_chars)).collect();
        let response_truncated =
            fit_to_budget(&mut results, p.max_response_tokens.unwrap_or(DEFAULT_MAX_RESPONSE_TOKENS).max(500));
        Ok(Json(PerformRagQueryOutput {
            success: true,
            query: p.query,
            source_filter,
            search_mode: mode,
            reranked_by: reranked_by(results.iter().map(|r| r.rerank_score), self.app.retriever.reranker_id()),
            count: results.len(),
            results,
            response_truncated,
        }))
    }

    #[tool(description = "Search the code examples extracted from crawled pages (fenced blocks of 300+ characters, \
        stored with their language, surrounding prose and a summary; extraction runs when the server has \
        USE_AGENTIC_RAG=true). Returns url, code, summary, metadata and similarity, best first.")]
    async fn search_code_examples(
        &self,
        Parameters(p): Parameters<SearchCodeExamplesParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<SearchCodeExamplesOutput>, ToolError> {
        let source_filter = p.source_id.filter(|s| !s.trim().is_empty());
        let query = RagQuery {
            query: p.query.clone(),
            source: source_filter.clone().map(SourceId::from),
            match_count: p.match_count.unwrap_or(DEFAULT_MATCH_COUNT),
            offset: 0,
            mode: Some(SearchMode::Vector),
            rerank: p.rerank,
        };
        let hits = run_tool("search_code_examples", &ctx, self.app.retriever.search_code(&query)).await?;
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
        Ok(Json(SearchCodeExamplesOutput {
            success: true,
            query: p.query,
            source_filter,
            search_mode: SearchMode::Vector,
            reranked_by: reranked_by(results.iter().map(|r| r.rerank_score), self.app.retriever.reranker_id()),
            count: results.len(),
            results,
        }))
    }

    #[tool(description = "List the sources (sites) that have been crawled, with their summary, word, page and \
        chunk counts and timestamps. Use a source_id as perform_rag_query's source_filter.")]
    async fn get_available_sources(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<GetAvailableSourcesOutput>, ToolError> {
        let sources = run_tool("get_available_sources", &ctx, self.app.retriever.sources()).await?;
        Ok(Json(GetAvailableSourcesOutput {
            success: true,
            count: sources.len(),
            sources: sources.into_iter().map(Into::into).collect(),
        }))
    }
}

#[tool_router(router = job_router)]
impl RagServer {
    #[tool(
        description = "Report on a crawl job: state (running, succeeded, failed, cancelled, interrupted), pages \
        done/queued/failed, chunks stored, the error if any, and the crawl's full result once it succeeded.",
        annotations(read_only_hint = true)
    )]
    async fn get_crawl_job(
        &self,
        Parameters(p): Parameters<JobIdParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<CrawlJobOutput>, ToolError> {
        let job = run_tool("get_crawl_job", &ctx, self.app.jobs.get(&p.job_id)).await?;
        Ok(Json(CrawlJobOutput { success: true, job: job.into() }))
    }

    #[tool(
        description = "List recent crawl jobs, newest first, with their state and progress.",
        annotations(read_only_hint = true)
    )]
    async fn list_crawl_jobs(
        &self,
        Parameters(p): Parameters<ListCrawlJobsParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<ListCrawlJobsOutput>, ToolError> {
        let jobs = run_tool("list_crawl_jobs", &ctx, self.app.jobs.list(p.limit.unwrap_or(20))).await?;
        Ok(Json(ListCrawlJobsOutput {
            success: true,
            count: jobs.len(),
            jobs: jobs.into_iter().map(Into::into).collect(),
        }))
    }

    #[tool(
        description = "Cancel a running crawl job (on whichever server runs it). Pages already stored stay stored.",
        annotations(destructive_hint = false, idempotent_hint = true)
    )]
    async fn cancel_crawl_job(
        &self,
        Parameters(p): Parameters<JobIdParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<CrawlJobOutput>, ToolError> {
        let job = run_tool("cancel_crawl_job", &ctx, self.app.jobs.cancel(&p.job_id)).await?;
        Ok(Json(CrawlJobOutput { success: true, job: job.into() }))
    }
}

#[tool_router(router = admin_router)]
impl RagServer {
    #[tool(
        description = "Delete a crawled source and everything stored under it (pages, chunks, code examples). \
        Irreversible; the source can be crawled again later.",
        annotations(destructive_hint = true, idempotent_hint = true)
    )]
    async fn delete_source(
        &self,
        Parameters(p): Parameters<DeleteSourceParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<DeleteSourceOutput>, ToolError> {
        let source = SourceId::from(p.source_id.trim().to_owned());
        let counts = run_tool("delete_source", &ctx, self.app.pipeline.delete_source(&source)).await?;
        Ok(Json(DeleteSourceOutput {
            success: true,
            source_id: source.to_string(),
            pages_deleted: counts.pages,
            chunks_deleted: counts.chunks,
            code_examples_deleted: counts.code_examples,
        }))
    }
}

#[tool_handler(
    router = self.tool_router,
    name = "crawlrag",
    instructions = "crawlrag crawls web pages into a searchable index. Use crawl_single_page to add a page, \
        smart_crawl_url to add a whole site, sitemap or llms.txt, \
        get_available_sources to see what is indexed, and perform_rag_query to retrieve relevant chunks."
)]
impl ServerHandler for RagServer {}

/// Which reranker ordered the results, if any result carries a rerank score.
fn reranked_by(mut scores: impl Iterator<Item = Option<f64>>, reranker: Option<&str>) -> Option<String> {
    scores.any(|s| s.is_some()).then(|| reranker.map(str::to_owned)).flatten()
}
