//! The query tools: semantic / hybrid chunk search and code-example search.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};

use crate::mcp::dto::search::{
    PerformRagQueryOutput, PerformRagQueryParams, SearchCodeExamplesOutput, SearchCodeExamplesParams,
};
use crate::mcp::errors::ToolError;
use crate::mcp::server::{RagServer, run_tool};

#[tool_router(router = search_router, vis = "pub(crate)")]
impl RagServer {
    #[tool(
        description = "Search the crawled content for the chunks most relevant to a query (semantic vector or \
        hybrid semantic + keyword search), optionally within one source (see get_available_sources). Returns \
        results with url, content (cut to max_content_length unless include_full_content), metadata (headers, \
        chunk_index) and similarity.",
        annotations(read_only_hint = true)
    )]
    async fn perform_rag_query(
        &self,
        Parameters(p): Parameters<PerformRagQueryParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<PerformRagQueryOutput>, ToolError> {
        let retriever = &self.app.retriever;
        let (mode, hits) = run_tool("perform_rag_query", &ctx, retriever.search_with_mode(&p.query())).await?;
        Ok(Json(PerformRagQueryOutput::new(p, mode, hits, retriever.reranker_id())))
    }

    #[tool(
        description = "Search the code examples extracted from crawled pages (fenced blocks of 300+ characters, \
        stored with their language, surrounding prose and a summary; extraction runs when the server has \
        USE_AGENTIC_RAG=true). Returns url, code, summary, metadata and similarity, best first.",
        annotations(read_only_hint = true)
    )]
    async fn search_code_examples(
        &self,
        Parameters(p): Parameters<SearchCodeExamplesParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<SearchCodeExamplesOutput>, ToolError> {
        let retriever = &self.app.retriever;
        let hits = run_tool("search_code_examples", &ctx, retriever.search_code(&p.query())).await?;
        Ok(Json(SearchCodeExamplesOutput::new(p, hits, retriever.reranker_id())))
    }
}
