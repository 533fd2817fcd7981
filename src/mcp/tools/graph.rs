//! The GraphRAG tools: graph a crawl, graph-enriched retrieval, an entity's neighbourhood, and
//! read-only Cypher.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};

use crate::error::{Error, Result};
use crate::graphrag::GraphRag;
use crate::mcp::dto::graph::{
    EntityContextOutput, EntityContextParams, GraphCrawlParams, GraphCrawlResult, GraphRagQueryOutput,
    GraphRagQueryParams, QueryDocumentGraphOutput, QueryDocumentGraphParams,
};
use crate::mcp::dto::jobs::JobAnswerOutput;
use crate::mcp::errors::ToolError;
use crate::mcp::server::{RagServer, run_tool};

/// Rows `query_document_graph` returns when the call does not say.
const DEFAULT_ROW_LIMIT: usize = 100;
const DEFAULT_MAX_HOPS: u32 = 2;

impl RagServer {
    fn graphrag(&self) -> Result<&GraphRag> {
        self.app.graphrag.as_ref().ok_or_else(|| Error::unavailable("this server was built without a graph store"))
    }
}

#[tool_router(router = graph_router, vis = "pub(crate)")]
impl RagServer {
    #[tool(description = "Crawl a page (or, with max_depth > 1, its site; sitemaps and llms.txt too), store its \
        chunks like smart_crawl_url, and extract every chunk's entities (Concept, Technology, Configuration, \
        Person, Organization, Product) and the relationships between them into the knowledge graph that \
        graphrag_query and get_entity_context use. Re-crawling replaces a page's part of the graph. Returns the \
        crawl's fields plus crawl_results {documents_stored, total_words} and graph_extraction {entities_found, \
        entities_stored, relationships_found, relationships_stored, extraction_time}.")]
    async fn crawl_with_graph_extraction(
        &self,
        Parameters(p): Parameters<GraphCrawlParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<JobAnswerOutput<GraphCrawlResult>>, ToolError> {
        let webhook_url = p.site.webhook_url.clone();
        self.job("crawl_with_graph_extraction", Ok(p.into_job()), webhook_url, &ctx).await.map(Json)
    }

    #[tool(
        description = "Answer a question from the crawled content and its knowledge graph: the entities \
        nearest the query, their relationships, and the chunks that mention them, fused with plain chunk search \
        (mode mix, the default; also naive, local, global, hybrid). Returns entities, relationships and results \
        (chunks) with the scores that ranked them, pagination, sources, and an answer written by the chat model \
        when MODEL_CHOICE is set (else null). Kept under max_response_tokens.",
        annotations(read_only_hint = true)
    )]
    async fn graphrag_query(
        &self,
        Parameters(p): Parameters<GraphRagQueryParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<GraphRagQueryOutput>, ToolError> {
        let query = p.query();
        let answer = run_tool("graphrag_query", &ctx, async { self.graphrag()?.query(&query).await }).await?;
        Ok(Json(GraphRagQueryOutput::new(&query, answer)))
    }

    #[tool(
        description = "Everything the knowledge graph knows about one entity: its type, description and \
        aliases, the entities within max_hops relationships (1-3, default 2) with their hop counts, the \
        relationships among them with types and weights, and the documents that mention it. Names are resolved \
        loosely (case, plurals, prefixes); an unknown name answers with the closest ones.",
        annotations(read_only_hint = true)
    )]
    async fn get_entity_context(
        &self,
        Parameters(p): Parameters<EntityContextParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<EntityContextOutput>, ToolError> {
        let hops = p.max_hops.unwrap_or(DEFAULT_MAX_HOPS);
        let context =
            run_tool("get_entity_context", &ctx, async { self.graphrag()?.entity_context(&p.entity_name, hops).await })
                .await?;
        Ok(Json(EntityContextOutput::new(context, hops)))
    }

    #[tool(
        description = "Run a read-only openCypher query on the document knowledge graph (nodes Document, Chunk, \
        Entity {key, name, type, description}; relationships HAS_CHUNK, MENTIONS, RELATED {type, weight}, \
        LINKS_TO). Writes (CREATE, MERGE, SET, DELETE, REMOVE, DROP, LOAD CSV, writing procedures) are refused \
        before the database; at most row_limit rows (default 100) come back, nodes and paths as JSON. Needs \
        FalkorDB or a Bolt server: the embedded store answers with how to configure one.",
        annotations(read_only_hint = true)
    )]
    async fn query_document_graph(
        &self,
        Parameters(p): Parameters<QueryDocumentGraphParams>,
        ctx: RequestContext<RoleServer>,
    ) -> std::result::Result<Json<QueryDocumentGraphOutput>, ToolError> {
        let limit = p.row_limit.unwrap_or(DEFAULT_ROW_LIMIT);
        let (records, backend) = run_tool("query_document_graph", &ctx, async {
            let graphrag = self.graphrag()?;
            Ok((graphrag.read_query(&p.cypher_query, limit).await?, graphrag.backend()))
        })
        .await?;
        Ok(Json(QueryDocumentGraphOutput {
            success: true,
            record_count: records.len(),
            records,
            backend: backend.to_owned(),
        }))
    }
}
