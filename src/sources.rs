//! The sources service: what has been crawled (with each source's graph size), and forgetting a
//! source with everything stored under it, its graph included (and, for a parsed repository,
//! whose docs are stored under its key, its code graph). Knows the `SourceCatalog`, `GraphStore`
//! and `CodeGraphStore` ports.

use std::sync::Arc;

use tracing::instrument;

use crate::domain::{SourceId, SourceInfo};
use crate::error::{Error, Result};
use crate::ports::{CodeGraphStore, DeletedCounts, GraphDeleted, GraphStore, SourceCatalog, SourceGraphCounts};

#[derive(Debug)]
pub struct Sources {
    catalog: Arc<dyn SourceCatalog>,
    graph: Option<Arc<dyn GraphStore>>,
    code: Option<Arc<dyn CodeGraphStore>>,
}

/// A source with the size of its part of the graph.
#[derive(Debug, Clone)]
pub struct SourceListing {
    pub info: SourceInfo,
    pub entities: i64,
    pub relations: i64,
}

impl Sources {
    pub fn new(catalog: Arc<dyn SourceCatalog>) -> Self {
        Self { catalog, graph: None, code: None }
    }

    /// Also delete a parsed repository's code graph with the source of the same key.
    #[must_use]
    pub fn with_code_graph(self, code: Option<Arc<dyn CodeGraphStore>>) -> Self {
        Self { code, ..self }
    }

    /// Also count and delete each source's graph in `graph`.
    #[must_use]
    pub fn with_graph(self, graph: Option<Arc<dyn GraphStore>>) -> Self {
        Self { graph, ..self }
    }

    /// Every source with its counts.
    ///
    /// # Errors
    /// `Unavailable` when the database fails.
    pub async fn list(&self) -> Result<Vec<SourceInfo>> {
        Ok(self.catalog.list_sources().await?)
    }

    /// Every source with its counts and its graph's entity and relation counts.
    ///
    /// # Errors
    /// `Unavailable` when the database or the graph fails.
    pub async fn list_with_graph(&self) -> Result<Vec<SourceListing>> {
        let sources = self.catalog.list_sources().await?;
        let counts: Vec<SourceGraphCounts> = match &self.graph {
            Some(graph) => graph.source_counts().await?,
            None => Vec::new(),
        };
        Ok(sources
            .into_iter()
            .map(|info| {
                let graph = counts.iter().find(|c| c.source == info.source_id);
                SourceListing {
                    entities: graph.map_or(0, |c| c.entities),
                    relations: graph.map_or(0, |c| c.relations),
                    info,
                }
            })
            .collect())
    }

    /// Delete a source and everything stored under it.
    ///
    /// # Errors
    /// `NotFound` when no such source exists; `Unavailable` when the database fails.
    #[instrument(skip(self))]
    pub async fn delete(&self, source: &SourceId) -> Result<DeletedCounts> {
        // The graph first: a failure then leaves the chunks, and deleting again finishes the job.
        let graph = match &self.graph {
            Some(graph) => graph.delete_source(source).await?,
            None => GraphDeleted::default(),
        };
        tracing::debug!(?graph, "deleted the source's graph");
        let repository = match &self.code {
            Some(code) => code.delete_repository(source.as_str()).await?,
            None => false,
        };
        let counts = self.catalog.delete_source(source).await?;
        if counts.sources == 0 && !repository {
            return Err(Error::NotFound(format!(
                "no source '{source}' is stored; get_available_sources lists the source ids"
            )));
        }
        Ok(counts)
    }
}
