//! The source tools: what is indexed, and deleting a source.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};

use crate::mcp::dto::sources::{DeleteSourceOutput, DeleteSourceParams, GetAvailableSourcesOutput};
use crate::mcp::errors::ToolError;
use crate::mcp::server::{RagServer, run_tool};

#[tool_router(router = sources_router, vis = "pub(crate)")]
impl RagServer {
    #[tool(
        description = "List the sources (sites) that have been crawled, with their summary, word, page and \
        chunk counts, graph entity and relationship counts, and timestamps. Use a source_id as perform_rag_query's source_filter.",
        annotations(read_only_hint = true)
    )]
    async fn get_available_sources(
        &self,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<GetAvailableSourcesOutput>, ToolError> {
        let sources = run_tool("get_available_sources", &ctx, self.app.sources.list_with_graph()).await?;
        Ok(Json(GetAvailableSourcesOutput::new(sources)))
    }

    #[tool(
        description = "Delete a crawled source and everything stored under it (pages, chunks, code examples, and its part of the entity graph). \
        Irreversible; the source can be crawled again later.",
        annotations(destructive_hint = true, idempotent_hint = true)
    )]
    async fn delete_source(
        &self,
        Parameters(p): Parameters<DeleteSourceParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<DeleteSourceOutput>, ToolError> {
        let source = p.source();
        let counts = run_tool("delete_source", &ctx, self.app.sources.delete(&source)).await?;
        Ok(Json(DeleteSourceOutput::new(&source, counts)))
    }
}
