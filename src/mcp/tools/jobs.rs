//! The job tools: report on, list and cancel the jobs the crawl tools start.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};

use crate::mcp::dto::jobs::{CrawlJobOutput, JobIdParams, ListCrawlJobsOutput, ListCrawlJobsParams};
use crate::mcp::errors::ToolError;
use crate::mcp::server::{RagServer, run_tool};

#[tool_router(router = jobs_router, vis = "pub(crate)")]
impl RagServer {
    #[tool(
        description = "Report on a crawl job: state (queued, running, succeeded, failed, cancelled, interrupted), \
        pages done/queued/failed, chunks stored, the error if any, and the crawl's full result once it succeeded.",
        annotations(read_only_hint = true)
    )]
    async fn get_crawl_job(
        &self,
        Parameters(p): Parameters<JobIdParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<CrawlJobOutput>, ToolError> {
        let jobs = &self.app.jobs;
        let (job, attempts) = run_tool("get_crawl_job", &ctx, async {
            let job = jobs.get(&p.job_id).await?;
            let attempts = jobs.webhook_attempts(&job.job_id).await?;
            Ok((job, attempts))
        })
        .await?;
        Ok(Json(CrawlJobOutput::new(job).with_webhooks(&attempts)))
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
        Ok(Json(ListCrawlJobsOutput::new(jobs)))
    }

    #[tool(
        description = "Cancel a crawl job (on whichever server runs it; a queued job never starts). Pages already \
        stored stay stored.",
        annotations(destructive_hint = false, idempotent_hint = true)
    )]
    async fn cancel_crawl_job(
        &self,
        Parameters(p): Parameters<JobIdParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<CrawlJobOutput>, ToolError> {
        let job = run_tool("cancel_crawl_job", &ctx, self.app.jobs.cancel(&p.job_id)).await?;
        Ok(Json(CrawlJobOutput::new(job)))
    }
}
