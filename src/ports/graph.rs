//! The graph port: where GraphRAG entities, their relations and the chunks mentioning them live.
//! One trait, several backends (the embedded tables in the SQL store, FalkorDB, Bolt servers).
//!
//! A page's graph is written and replaced as a unit ([`PageGraph`]): mentions and relations
//! carry the page they came from, so a re-crawl replaces exactly what the page said before
//! (counts never grow) and deleting a source removes exactly its part. Entities are shared
//! across sources (one "Tokio" node however many sites mention it) and deleted when nothing
//! mentions them any more.

use async_trait::async_trait;

use crate::domain::SourceId;
use crate::domain::entity::{EntityMention, EntityRelation, EntityType};

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The graph database does not answer.
    #[error("graph database is unavailable: {0}")]
    Unavailable(String),
    /// A user query was refused before the database (a write clause in a read-only tool).
    #[error("{0}")]
    Refused(String),
    /// The backend cannot do this (e.g. Cypher on the embedded tables); the text says what can.
    #[error("{0}")]
    Unsupported(String),
    /// The database rejected a user's query (syntax, unknown function): fix the query.
    #[error("the graph database rejected the query: {0}")]
    Invalid(String),
    #[error("graph query failed: {0}")]
    Query(String),
    #[error("graph query timed out after {0} ms")]
    Timeout(u64),
}

/// One row of a read-only query, as JSON (nodes, relationships and paths rendered as objects).
pub type GraphRow = serde_json::Map<String, serde_json::Value>;

/// What one entity of a page is, as that page saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityFacts {
    pub key: String,
    pub name: String,
    pub entity_type: EntityType,
    /// The best sentence of the page about it (may be empty).
    pub description: String,
    /// How good `description` is; an entity keeps the best description any page gave it.
    pub description_score: f32,
    /// Embedding of the name; written once, when the entity first appears.
    pub embedding: Vec<f32>,
}

/// Everything one page contributes to the graph, replaced as a unit.
#[derive(Debug, Clone)]
pub struct PageGraph<'a> {
    pub url: &'a str,
    pub source: &'a SourceId,
    pub title: Option<&'a str>,
    pub content_hash: &'a str,
    /// Mentions per chunk; index = chunk number.
    pub chunk_mentions: &'a [Vec<EntityMention>],
    pub relations: &'a [EntityRelation],
    /// One entry per distinct entity key mentioned.
    pub entities: &'a [EntityFacts],
    /// Pages this page links to (same site).
    pub links: &'a [String],
}

/// An entity as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EntityRecord {
    pub key: String,
    pub name: String,
    pub entity_type: String,
    pub description: String,
    /// Other spellings pages used for it.
    pub aliases: Vec<String>,
    pub mention_count: i64,
}

/// A relation between two entities, summed over every page that supports it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RelationRecord {
    pub source: String,
    pub target: String,
    /// `CO_OCCURS` for co-occurrence, or a chat model's relation type.
    pub relation_type: String,
    /// Sum of the supporting pages' weights.
    pub weight: f64,
    /// Chunks that mention both.
    pub count: i64,
}

/// A chunk that mentions some of the entities asked about.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkMentions {
    pub url: String,
    pub chunk_number: i32,
    /// Keys of the asked entities it mentions.
    pub keys: Vec<String>,
}

/// A document (page) that mentions an entity.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DocumentRef {
    pub url: String,
    pub title: Option<String>,
    pub source_id: String,
    pub mentions: i64,
}

/// Graph sizes of one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceGraphCounts {
    pub source: SourceId,
    pub entities: i64,
    pub relations: i64,
}

/// What deleting a source's graph removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct GraphDeleted {
    pub documents: u64,
    pub mentions: u64,
    pub relations: u64,
    /// Entities no page mentions any more.
    pub entities: u64,
}

/// Where entities, relations and (later) code symbols live.
#[async_trait]
pub trait GraphStore: Send + Sync + std::fmt::Debug {
    /// Which backend answers (`embedded`, `falkordb`, `bolt`), for readiness and errors.
    fn backend(&self) -> &'static str;

    /// Replace what `graph.url` contributed with `graph`, atomically where the backend can.
    ///
    /// # Errors
    /// [`GraphError`] on database failure.
    async fn replace_page(&self, graph: PageGraph<'_>) -> Result<(), GraphError>;

    /// The content hash the page's graph was built from, if the page is in the graph.
    ///
    /// # Errors
    /// [`GraphError`] on database failure.
    async fn page_hash(&self, url: &str) -> Result<Option<String>, GraphError>;

    /// Forget one page's contribution (a page gone from its site).
    ///
    /// # Errors
    /// [`GraphError`] on database failure.
    async fn delete_page(&self, url: &str) -> Result<GraphDeleted, GraphError>;

    /// Delete everything a source contributed (its documents, mentions, relations, orphaned
    /// entities).
    ///
    /// # Errors
    /// [`GraphError`] on database failure.
    async fn delete_source(&self, source: &SourceId) -> Result<GraphDeleted, GraphError>;

    /// Entities whose name vectors are nearest `embedding` (cosine, best first), optionally only
    /// those a source mentions.
    ///
    /// # Errors
    /// [`GraphError`] on database failure.
    async fn nearest_entities(
        &self,
        embedding: &[f32],
        source: Option<&SourceId>,
        limit: usize,
    ) -> Result<Vec<(EntityRecord, f32)>, GraphError>;

    /// The entities with these keys (those that exist), in no particular order.
    ///
    /// # Errors
    /// [`GraphError`] on database failure.
    async fn entities(&self, keys: &[String]) -> Result<Vec<EntityRecord>, GraphError>;

    /// Entities whose key starts with `prefix` (alias resolution), most mentioned first.
    ///
    /// # Errors
    /// [`GraphError`] on database failure.
    async fn entities_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<EntityRecord>, GraphError>;

    /// Relations touching any of `keys`, heaviest first, optionally only those a source supports.
    ///
    /// # Errors
    /// [`GraphError`] on database failure.
    async fn relations_of(
        &self,
        keys: &[String],
        source: Option<&SourceId>,
        limit: usize,
    ) -> Result<Vec<RelationRecord>, GraphError>;

    /// Entities within `max_hops` relations of `key` (`key` itself excluded), nearest first,
    /// at most `limit`. Answers owned keys with their hop counts.
    ///
    /// # Errors
    /// [`GraphError`] on database failure.
    async fn neighbourhood(&self, key: &str, max_hops: u32, limit: usize) -> Result<Vec<(String, u32)>, GraphError>;

    /// Chunks mentioning the most of `keys`, best first, optionally within a source.
    ///
    /// # Errors
    /// [`GraphError`] on database failure.
    async fn chunks_mentioning(
        &self,
        keys: &[String],
        source: Option<&SourceId>,
        limit: usize,
    ) -> Result<Vec<ChunkMentions>, GraphError>;

    /// Documents mentioning `key`, most mentions first.
    ///
    /// # Errors
    /// [`GraphError`] on database failure.
    async fn documents_mentioning(&self, key: &str, limit: usize) -> Result<Vec<DocumentRef>, GraphError>;

    /// Entity and relation counts of every source with a graph.
    ///
    /// # Errors
    /// [`GraphError`] on database failure.
    async fn source_counts(&self) -> Result<Vec<SourceGraphCounts>, GraphError>;

    /// Run a user's read-only query under a row limit and a timeout.
    ///
    /// # Errors
    /// [`GraphError::Refused`] for anything that could write, [`GraphError::Unsupported`] on a
    /// backend without a query language; others on database failure.
    async fn read_query(&self, query: &str, row_limit: usize) -> Result<Vec<GraphRow>, GraphError>;

    /// Cheap liveness check.
    ///
    /// # Errors
    /// [`GraphError::Unavailable`] when the database does not answer.
    async fn ping(&self) -> Result<(), GraphError>;
}
