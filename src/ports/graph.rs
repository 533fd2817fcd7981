//! The graph port, sketched for the GraphRAG and code-graph work: one trait, several backends
//! (the embedded tables, FalkorDB, Bolt servers), one body of shared queries. Nothing implements
//! it yet; the shape records what the services will ask of a graph.

use async_trait::async_trait;

use crate::domain::SourceId;

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The graph database does not answer.
    #[error("graph database is unavailable: {0}")]
    Unavailable(String),
    /// A user query was refused before the database (a write clause in a read-only tool).
    #[error("{0}")]
    Refused(String),
    #[error("graph query failed: {0}")]
    Query(String),
}

/// One row of a read-only query, as JSON (nodes, relationships and paths rendered as objects).
pub type GraphRow = serde_json::Map<String, serde_json::Value>;

/// Where entities, relations and code symbols live.
#[async_trait]
pub trait GraphStore: Send + Sync + std::fmt::Debug {
    /// Which backend answers (`embedded`, `falkordb`, `bolt`), for readiness and errors.
    fn backend(&self) -> &'static str;
    /// Run a user's read-only query under a row limit.
    ///
    /// # Errors
    /// [`GraphError::Refused`] for anything that could write; others on database failure.
    async fn read_query(&self, query: &str, row_limit: usize) -> Result<Vec<GraphRow>, GraphError>;
    /// Delete everything a source contributed (its documents, mentions, orphaned entities).
    ///
    /// # Errors
    /// [`GraphError`] on database failure.
    async fn delete_source(&self, source: &SourceId) -> Result<u64, GraphError>;
    /// Cheap liveness check.
    ///
    /// # Errors
    /// [`GraphError::Unavailable`] when the database does not answer.
    async fn ping(&self) -> Result<(), GraphError>;
}
