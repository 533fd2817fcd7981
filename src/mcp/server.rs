//! `RagServer`: the MCP tool surface, served as one value over stdio, streamable HTTP and legacy
//! SSE. The tools live per group in `tools/` (each a one-to-three-line delegation to a service);
//! this file holds what they share: the server value, the wrapper every tool body runs in, and
//! the job-answer path of the crawl tools.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use rmcp::handler::server::tool::ToolRouter;
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, tool_handler};
use tracing::{Instrument, info_span};

use super::dto::jobs::{JobAnswerOutput, JobResult};
use super::errors::ToolError;
use super::progress::McpProgress;
use super::schema;
use crate::app::App;
use crate::error::{Error, Result};
use crate::jobs::{JobOwner, JobRequest, JobSpec, Wait};

#[derive(Clone, Debug)]
pub struct RagServer {
    pub(super) app: Arc<App>,
    /// Every tool group, merged; `#[tool_handler]` dispatches through it.
    tool_router: ToolRouter<Self>,
}

impl RagServer {
    pub fn new(app: Arc<App>) -> Self {
        let mut tool_router = Self::crawl_router()
            + Self::search_router()
            + Self::graph_router()
            + Self::code_router()
            + Self::sources_router()
            + Self::jobs_router();
        for route in tool_router.map.values_mut() {
            route.attr.input_schema = schema::standardized(&route.attr.input_schema);
            route.attr.output_schema = route.attr.output_schema.as_ref().map(schema::standardized);
        }
        Self { app, tool_router }
    }

    /// Run `spec` as a job through the jobs service and answer in the job envelope.
    pub(super) async fn job<T: JobResult>(
        &self,
        tool: &'static str,
        job: Result<(JobSpec, Wait)>,
        webhook_url: Option<String>,
        ctx: &RequestContext<RoleServer>,
    ) -> std::result::Result<JobAnswerOutput<T>, ToolError> {
        run_tool(tool, ctx, async {
            let (spec, wait) = job?;
            let target = spec.target();
            let request = JobRequest::new(spec, webhook_url).owned_by(job_owner(ctx));
            let answer = self.app.jobs.answer(request, wait, Arc::new(McpProgress::from_context(ctx))).await?;
            JobAnswerOutput::from_answer(answer, &target)
        })
        .await
    }
}

/// The caller a job belongs to: over HTTP, rmcp hands the tool the request's `http` parts, in
/// whose extensions the transport put the [`JobOwner`] (authenticated callers only); stdio has
/// none.
fn job_owner(ctx: &RequestContext<RoleServer>) -> Option<JobOwner> {
    ctx.extensions.get::<http::request::Parts>().and_then(|parts| parts.extensions.get::<JobOwner>()).cloned()
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

#[tool_handler(
    router = self.tool_router,
    name = "crawlrag",
    instructions = "crawlrag crawls web pages into a searchable index. Use crawl_single_page to add a page, \
        smart_crawl_url to add a whole site, sitemap or llms.txt, \
        get_available_sources to see what is indexed, and perform_rag_query to retrieve relevant chunks. \
        crawl_with_graph_extraction also builds a knowledge graph of the pages' entities, which graphrag_query \
        and get_entity_context answer from."
)]
impl ServerHandler for RagServer {}
