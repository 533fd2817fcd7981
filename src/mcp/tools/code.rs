//! The code graph tools: parse repositories (one, or a batch) into the code knowledge graph,
//! check AI-written scripts against it, and query it.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};

use crate::codegraph::CodeGraph;
use crate::error::{Error, Result};
use crate::mcp::dto::code::{
    CheckScriptOutput, CheckScriptParams, ParseBatchParams, ParseBatchResult, ParseRepositoryParams,
    ParseRepositoryResult, QueryKnowledgeGraphOutput, QueryKnowledgeGraphParams,
};
use crate::mcp::dto::jobs::JobAnswerOutput;
use crate::mcp::errors::ToolError;
use crate::mcp::server::{RagServer, run_tool};

impl RagServer {
    fn code(&self) -> Result<&CodeGraph> {
        self.app.code.as_deref().ok_or_else(|| Error::unavailable("this server was built without a code graph store"))
    }
}

#[tool_router(router = code_router, vis = "pub(crate)")]
impl RagServer {
    #[tool(description = "Parse a code repository into the code knowledge graph: Python, JavaScript, TypeScript, \
        Rust and Go files become classes (structs, traits, interfaces), methods, functions and attributes with \
        their parameters, return types, visibility and line spans, plus inheritance and import edges. Takes a \
        GitHub URL, any git URL, a file:// URL or a local path, and an optional ref (branch, tag or commit). \
        Re-parsing replaces the repository's previous graph; its README and docs are indexed for \
        perform_rag_query under its repository_key. Returns statistics {files_processed, classes_created, \
        methods_created, functions_created, attributes_created}, the commit, and languages.")]
    async fn parse_github_repository(
        &self,
        Parameters(p): Parameters<ParseRepositoryParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<JobAnswerOutput<ParseRepositoryResult>>, ToolError> {
        let webhook_url = p.webhook_url.clone();
        self.job("parse_github_repository", Ok(p.into_job()), webhook_url, &ctx).await.map(Json)
    }

    #[tool(description = "Parse several repositories into the code knowledge graph, max_concurrent (default 3) \
        at a time, retrying each transient failure up to max_retries (default 2) times with exponential backoff \
        and jitter. repo_urls_json is a JSON array of URLs or paths. Returns per-repository results, a summary, \
        aggregate_statistics, and retry_urls listing the ones that still failed.")]
    async fn parse_github_repositories_batch(
        &self,
        Parameters(p): Parameters<ParseBatchParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<JobAnswerOutput<ParseBatchResult>>, ToolError> {
        let webhook_url = p.webhook_url.clone();
        self.job("parse_github_repositories_batch", p.into_job(), webhook_url, &ctx).await.map(Json)
    }

    #[tool(
        description = "Check an AI-written Python, JavaScript or TypeScript script for hallucinated APIs against \
        the parsed repositories: imports, classes, functions, methods (inherited ones included), attributes, \
        argument counts and keyword names. Give script_content (the text) or script_path (a file inside the \
        server's CRAWLRAG_SCRIPT_ROOTS). Code from packages that were never parsed is reported as uncertain, not \
        as a hallucination. Returns overall_confidence, validation_summary, hallucinations_detected (type, line, \
        description, closest real names), recommendations and libraries_analyzed.",
        annotations(read_only_hint = true)
    )]
    async fn check_ai_script_hallucinations(
        &self,
        Parameters(p): Parameters<CheckScriptParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<CheckScriptOutput>, ToolError> {
        let outcome =
            run_tool("check_ai_script_hallucinations", &ctx, async { self.code()?.check(p.into_request()).await })
                .await?;
        Ok(Json(CheckScriptOutput::new(outcome)))
    }

    #[tool(
        description = "Explore the code knowledge graph: `repos` (parsed repositories), `explore <repo>` (its \
        statistics), `classes [repo]`, `class <name>` (methods with parameters, attributes, bases), \
        `method <name> [class]`, or `query <cypher>` (read-only openCypher on the graph database: nodes \
        CodeRepository, CodeFile, CodeSymbol with labels Class/Method/Function/Attribute; relationships CONTAINS, \
        DEFINES, HAS_MEMBER, INHERITS, IMPLEMENTS, IMPORTS; writes are refused; needs FalkorDB or a Bolt server).",
        annotations(read_only_hint = true)
    )]
    async fn query_knowledge_graph(
        &self,
        Parameters(p): Parameters<QueryKnowledgeGraphParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<QueryKnowledgeGraphOutput>, ToolError> {
        let answer = run_tool("query_knowledge_graph", &ctx, async { self.code()?.command(&p.command).await }).await?;
        Ok(Json(QueryKnowledgeGraphOutput::new(answer)))
    }
}
