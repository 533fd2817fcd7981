//! The GraphRAG tools' parameters and results: `crawl_with_graph_extraction`, `graphrag_query`,
//! `get_entity_context` and `query_document_graph`, with the anchor's names and fields plus
//! crawlrag's (modes, scores, aliases, hops).

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use super::crawl::{SiteCrawlParams, SiteCrawlResult};
use super::jobs::{JobResult, count};
use crate::crawl::Render;
use crate::domain::{GraphExtraction, JobProgress, SourceId};
use crate::graphrag::{EntityContext, GraphAnswer, GraphMode, GraphQuery, RankedChunk, RankedEntity, RankedRelation};
use crate::jobs::{JobOutput, JobSpec, Wait};
use crate::ports::{DocumentRef, EntityRecord, GraphRow, RelationRecord};

/// Relation types the anchor reports as "dependencies".
const DEPENDENCY_TYPES: [&str; 3] = ["REQUIRES", "DEPENDS_ON", "PREREQUISITE_FOR"];

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct GraphCrawlParams {
    #[serde(flatten)]
    pub site: SiteCrawlParams,
    /// Extract entities into the graph. Default true.
    #[serde(default)]
    pub extract_entities: Option<bool>,
    /// Extract relationships between entities. Default true.
    #[serde(default)]
    pub extract_relationships: Option<bool>,
    /// `auto` (default), `http` or `browser`.
    #[serde(default)]
    pub render: Option<Render>,
}

impl GraphCrawlParams {
    pub(crate) fn into_job(mut self) -> (JobSpec, Wait) {
        // The anchor graphs one URL; crawlrag graphs a site when max_depth asks for it.
        self.site.max_depth = self.site.max_depth.or(Some(1));
        let graph = GraphExtraction {
            entities: self.extract_entities.unwrap_or(true),
            relationships: self.extract_relationships.unwrap_or(true),
        };
        let (request, wait) = self.site.into_request(self.render.unwrap_or_default());
        (JobSpec::GraphCrawl { request: crate::crawl::site::CrawlRequest { graph: Some(graph), ..request } }, wait)
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CrawlCounts {
    /// Chunks stored.
    pub documents_stored: usize,
    pub total_words: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct GraphExtractionCounts {
    pub entities_found: usize,
    pub entities_stored: usize,
    pub relationships_found: usize,
    pub relationships_stored: usize,
    /// Seconds spent extracting and writing the graph, as `"N.NNs"`.
    pub extraction_time: String,
}

/// `crawl_with_graph_extraction`'s result: a site crawl's fields plus the anchor's.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct GraphCrawlResult {
    #[serde(flatten)]
    pub crawl: SiteCrawlResult,
    pub source_id: Option<String>,
    pub crawl_results: CrawlCounts,
    pub graph_extraction: GraphExtractionCounts,
    /// The first page stored (its URL is its id in the graph).
    pub document_id: Option<String>,
}

impl JobResult for GraphCrawlResult {
    fn from_output(output: JobOutput) -> Option<Self> {
        let JobOutput::Site(r) = output else { return None };
        let crawl_results = CrawlCounts { documents_stored: r.chunks_stored, total_words: r.words_stored };
        #[expect(clippy::cast_precision_loss, reason = "milliseconds shown in seconds")]
        let graph_extraction = GraphExtractionCounts {
            entities_found: r.entities_stored,
            entities_stored: r.entities_stored,
            relationships_found: r.relations_stored,
            relationships_stored: r.relations_stored,
            extraction_time: format!("{:.2}s", r.graph_millis as f64 / 1000.0),
        };
        let source_id = r.sources_updated.iter().next().cloned();
        let document_id = r.urls_crawled.first().cloned();
        Some(Self { crawl: SiteCrawlResult::from_report(r), source_id, crawl_results, graph_extraction, document_id })
    }

    fn running(target: &str, progress: &JobProgress) -> Self {
        Self {
            crawl: SiteCrawlResult::running(target, progress),
            source_id: None,
            crawl_results: CrawlCounts { documents_stored: count(progress.chunks_stored), total_words: 0 },
            graph_extraction: GraphExtractionCounts {
                entities_found: 0,
                entities_stored: 0,
                relationships_found: 0,
                relationships_stored: 0,
                extraction_time: "0.00s".into(),
            },
            document_id: None,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct GraphRagQueryParams {
    /// The question or keywords.
    pub query: String,
    /// Use the entity graph (default true); false is plain chunk search.
    #[serde(default)]
    pub use_graph_enrichment: Option<bool>,
    /// Most entities in the context, 1-100. Default 15.
    #[serde(default)]
    pub max_entities: Option<usize>,
    /// Only this source (see get_available_sources).
    #[serde(default)]
    pub source_filter: Option<String>,
    /// Documents to skip (pagination). Default 0.
    #[serde(default)]
    pub offset: Option<usize>,
    /// Documents (chunks) to return, 1-50. Default 10.
    #[serde(default)]
    pub max_documents: Option<usize>,
    /// Characters kept of each document. Default 1000.
    #[serde(default)]
    pub max_content_length: Option<usize>,
    /// Size budget of the whole answer in tokens, up to 20000 (the default).
    #[serde(default)]
    pub max_response_tokens: Option<usize>,
    /// `naive` (chunk search only), `local` (entities near the query, their relations and
    /// chunks), `global` (relations whose both ends match the query), `hybrid` (local + global)
    /// or `mix` (default: hybrid fused with chunk search, never worse than perform_rag_query).
    #[serde(default)]
    pub mode: Option<GraphMode>,
}

impl GraphRagQueryParams {
    pub(crate) fn query(&self) -> GraphQuery {
        GraphQuery {
            query: self.query.clone(),
            mode: self.mode.unwrap_or_default(),
            use_graph: self.use_graph_enrichment.unwrap_or(true),
            max_entities: self.max_entities.unwrap_or(15),
            source: self
                .source_filter
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| SourceId::from(s.to_owned())),
            offset: self.offset.unwrap_or(0),
            // The anchor caps these instead of refusing.
            max_documents: self.max_documents.unwrap_or(10).min(crate::graphrag::MAX_DOCUMENTS),
            max_content_length: self.max_content_length.unwrap_or(1000),
            max_response_tokens: self.max_response_tokens.unwrap_or(20_000).min(crate::graphrag::MAX_RESPONSE_TOKENS),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct EntityOutput {
    pub key: String,
    pub name: String,
    #[serde(rename = "type")]
    pub entity_type: String,
    pub description: String,
    pub aliases: Vec<String>,
    pub mention_count: i64,
}

impl From<EntityRecord> for EntityOutput {
    fn from(e: EntityRecord) -> Self {
        Self {
            key: e.key,
            name: e.name,
            entity_type: e.entity_type,
            description: e.description,
            aliases: e.aliases,
            mention_count: e.mention_count,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ScoredEntityOutput {
    #[serde(flatten)]
    pub entity: EntityOutput,
    /// Similarity of its name to the query (1 when the query names it).
    pub score: f32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RelationshipOutput {
    pub from: String,
    pub to: String,
    #[serde(rename = "type")]
    pub relation_type: String,
    /// Evidence: normalised co-occurrence summed over the pages that support it.
    pub weight: f64,
    /// Chunks mentioning both.
    pub count: i64,
    /// The score that ranked it in this answer (absent outside graphrag_query).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

impl From<RankedRelation> for RelationshipOutput {
    fn from(r: RankedRelation) -> Self {
        Self {
            from: r.source_name,
            to: r.target_name,
            relation_type: r.relation.relation_type,
            weight: r.relation.weight,
            count: r.relation.count,
            score: Some(r.score),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct GraphDocumentOutput {
    pub url: String,
    pub chunk_index: i32,
    pub source_id: String,
    pub content: String,
    /// Headers and chunk metadata as stored.
    pub metadata: serde_json::Value,
    /// Cosine similarity to the query, when chunk search found it.
    pub similarity: Option<f64>,
    /// Rank in plain chunk search (1 = best), when it found it.
    pub search_rank: Option<usize>,
    /// Keys of the query's entities the chunk mentions.
    pub entities: Vec<String>,
    /// The fused score the documents are ordered by.
    pub score: f64,
}

impl From<RankedChunk> for GraphDocumentOutput {
    fn from(c: RankedChunk) -> Self {
        Self {
            url: c.hit.url,
            chunk_index: c.hit.chunk_index,
            source_id: c.hit.source_id.to_string(),
            content: c.hit.content,
            metadata: c.hit.metadata,
            similarity: c.hit.similarity,
            search_rank: c.search_rank,
            entities: c.entities,
            score: c.score,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Dependency {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct GraphEnrichment {
    pub entities_found: usize,
    /// Names of the entities in the context.
    pub concepts: Vec<String>,
    /// Relations of a dependency type (REQUIRES, DEPENDS_ON, PREREQUISITE_FOR).
    pub dependencies: Vec<Dependency>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Pagination {
    pub offset: usize,
    pub requested_documents: usize,
    pub returned_documents: usize,
    pub total_available: usize,
    pub has_more: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct SourceRelevance {
    pub url: String,
    pub relevance: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct GraphRagQueryOutput {
    pub success: bool,
    pub query: String,
    pub mode: GraphMode,
    /// Written by the chat model (MODEL_CHOICE) from the context; null without one, the
    /// structured context below being the answer.
    pub answer: Option<String>,
    pub graph_enrichment_used: bool,
    pub graph_enrichment: Option<GraphEnrichment>,
    pub entities: Vec<ScoredEntityOutput>,
    pub relationships: Vec<RelationshipOutput>,
    /// The documents (chunks), best first.
    pub results: Vec<GraphDocumentOutput>,
    pub pagination: Pagination,
    pub sources: Vec<SourceRelevance>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl GraphRagQueryOutput {
    pub(crate) fn new(q: &GraphQuery, answer: GraphAnswer) -> Self {
        let enrichment = answer.graph_used.then(|| GraphEnrichment {
            entities_found: answer.entities.len(),
            concepts: answer.entities.iter().map(|e| e.entity.name.clone()).collect(),
            dependencies: answer
                .relations
                .iter()
                .filter(|r| DEPENDENCY_TYPES.contains(&r.relation.relation_type.as_str()))
                .map(|r| Dependency { from: r.source_name.clone(), to: r.target_name.clone() })
                .collect(),
        });
        let mut sources: Vec<SourceRelevance> = Vec::new();
        for c in &answer.chunks {
            if !sources.iter().any(|s| s.url == c.hit.url) {
                sources.push(SourceRelevance { url: c.hit.url.clone(), relevance: c.score });
            }
        }
        let returned = answer.chunks.len();
        Self {
            success: true,
            query: q.query.clone(),
            mode: answer.mode,
            answer: answer.answer,
            graph_enrichment_used: answer.graph_used,
            graph_enrichment: enrichment,
            entities: answer
                .entities
                .into_iter()
                .map(|RankedEntity { entity, score }| ScoredEntityOutput { entity: entity.into(), score })
                .collect(),
            relationships: answer.relations.into_iter().map(Into::into).collect(),
            results: answer.chunks.into_iter().map(Into::into).collect(),
            pagination: Pagination {
                offset: q.offset,
                requested_documents: q.max_documents,
                returned_documents: returned,
                total_available: answer.total_available,
                has_more: q.offset + returned < answer.total_available,
            },
            sources,
            warnings: answer.warnings,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct EntityContextParams {
    /// The entity's name (any spelling: case, plurals and a leading article are folded; a
    /// prefix finds the most mentioned entity it starts).
    pub entity_name: String,
    /// Relations to follow outward, 1-3. Default 2.
    #[serde(default)]
    pub max_hops: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RelatedEntityOutput {
    pub key: String,
    pub name: String,
    #[serde(rename = "type")]
    pub entity_type: String,
    pub description: String,
    /// The type of its heaviest relation within the neighbourhood.
    pub relationship: Option<String>,
    /// Relations between it and the entity asked about.
    pub hops: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct EntityDocumentOutput {
    /// The document's URL (its id in the graph).
    pub id: String,
    pub url: String,
    pub title: Option<String>,
    pub source_id: String,
    pub mentions: i64,
}

impl From<DocumentRef> for EntityDocumentOutput {
    fn from(d: DocumentRef) -> Self {
        Self { id: d.url.clone(), url: d.url, title: d.title, source_id: d.source_id, mentions: d.mentions }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct EntityStats {
    pub related_entities_count: usize,
    pub relationships_count: usize,
    pub documents_count: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct EntityContextOutput {
    pub success: bool,
    pub entity: EntityOutput,
    pub max_hops: u32,
    pub related_entities: Vec<RelatedEntityOutput>,
    pub relationships: Vec<RelationshipOutput>,
    pub documents: Vec<EntityDocumentOutput>,
    pub stats: EntityStats,
}

impl EntityContextOutput {
    pub(crate) fn new(context: EntityContext, max_hops: u32) -> Self {
        let names: std::collections::HashMap<String, String> = context
            .related
            .iter()
            .map(|(e, _)| (e.key.clone(), e.name.clone()))
            .chain([(context.entity.key.clone(), context.entity.name.clone())])
            .collect();
        let heaviest = |key: &str| {
            context.relations.iter().find(|r| r.source == key || r.target == key).map(|r| r.relation_type.clone())
        };
        let related_entities: Vec<RelatedEntityOutput> = context
            .related
            .iter()
            .map(|(e, hops)| RelatedEntityOutput {
                key: e.key.clone(),
                name: e.name.clone(),
                entity_type: e.entity_type.clone(),
                description: e.description.clone(),
                relationship: heaviest(&e.key),
                hops: *hops,
            })
            .collect();
        let relationships: Vec<RelationshipOutput> =
            context.relations.into_iter().map(|r| relationship(r, &names)).collect();
        let documents: Vec<EntityDocumentOutput> = context.documents.into_iter().map(Into::into).collect();
        Self {
            success: true,
            stats: EntityStats {
                related_entities_count: related_entities.len(),
                relationships_count: relationships.len(),
                documents_count: documents.len(),
            },
            entity: context.entity.into(),
            max_hops,
            related_entities,
            relationships,
            documents,
        }
    }
}

fn relationship(r: RelationRecord, names: &std::collections::HashMap<String, String>) -> RelationshipOutput {
    let name = |key: &str| names.get(key).cloned().unwrap_or_else(|| key.to_owned());
    RelationshipOutput {
        from: name(&r.source),
        to: name(&r.target),
        relation_type: r.relation_type,
        weight: r.weight,
        count: r.count,
        score: None,
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct QueryDocumentGraphParams {
    /// A read-only openCypher query (MATCH ... RETURN). Writes, schema changes and procedures
    /// that write are refused.
    pub cypher_query: String,
    /// Most rows returned, 1-1000. Default 100.
    #[serde(default)]
    pub row_limit: Option<usize>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct QueryDocumentGraphOutput {
    pub success: bool,
    pub record_count: usize,
    /// Rows as JSON objects; nodes, relationships and paths as nested objects.
    pub records: Vec<GraphRow>,
    /// Which graph backend answered.
    pub backend: String,
}
